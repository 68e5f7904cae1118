"""BLAS threads and a busy machine: the demo's training, idle and with one core kept busy.

    python benchmarks/bench_threads.py [--rounds 3] [--steps 300] [-- TRAIN_FLAGS...]

Runs `python train.py` (the demo grooves, or TRAIN_FLAGS) as a fresh process per run, with
the BLAS thread setting left to train.py ("default") or forced by OPENBLAS_NUM_THREADS=1 and
=2 ("override"), on an idle machine and beside a competing process that spins on one core.
The runs alternate within each round; printed per case: the median training words/s and
wall-clock seconds of the whole command, over the rounds. (The machine must be otherwise
idle for the "idle" column to mean anything.)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SETTINGS = {"default": None, "OPENBLAS_NUM_THREADS=1": "1", "OPENBLAS_NUM_THREADS=2": "2"}
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def run_train(threads, steps, flags):
    """One training run in a fresh process: (words/s, wall seconds, the threads it reported)."""
    env = {k: v for k, v in os.environ.items() if k not in BLAS_VARIABLES}
    if threads is not None:
        env["OPENBLAS_NUM_THREADS"] = threads
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, os.path.join(ROOT, "train.py"), "--steps", str(steps),
                               "--eval-every", str(10 * steps), "--out", out] + flags,
                              env=env, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t0
    said = [line for line in done.stdout.splitlines() if line.startswith("BLAS threads:")]
    return json.loads(done.stdout.strip().splitlines()[-1])["train_words_per_s"], wall, (said or ["?"])[0]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("flags", nargs="*", help="more train.py flags (after --)")
    args = p.parse_args()
    results = {}
    for load in ("idle", "one core busy"):
        spinner = None
        if load != "idle":
            spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(1.0)
        try:
            for r in range(args.rounds):
                names = list(SETTINGS) if r % 2 == 0 else list(SETTINGS)[::-1]
                for name in names:
                    words_per_s, wall, said = run_train(SETTINGS[name], args.steps, args.flags)
                    results.setdefault((load, name), []).append((words_per_s, wall))
                    print(f"  {load:14} {name:24} {words_per_s:7d} words/s {wall:6.1f} s   {said}", flush=True)
        finally:
            if spinner is not None:
                spinner.kill()
    print(f"\n{'machine':14} {'threads':24} {'words/s':>8} {'wall s':>7}   (medians of {args.rounds})")
    for (load, name), runs in results.items():
        print(f"{load:14} {name:24} {statistics.median(w for w, _ in runs):8.0f} "
              f"{statistics.median(s for _, s in runs):7.1f}")


if __name__ == "__main__":
    main()
