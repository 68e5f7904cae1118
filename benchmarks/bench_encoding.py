"""Time encoding the shared Metallica MIDI files (default and compat modes).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_encoding.py [--repeat 5]

Reads ../shared/data/metallica/midi relative to the repo root; exits 0 with a
note when it is absent. Prints the median wall time of each mode over the
repeats (the modes alternate, so load on the machine hits both alike).
"""
import argparse
import os
import statistics
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
import encoding  # noqa: E402

MIDI = os.path.join(ROOT, "..", "shared", "data", "metallica", "midi")


def encode_all(paths, compat):
    words = 0
    for path in paths:
        bars, _ = encoding.encode_file(path, compat=compat)
        words += len(encoding.bars_to_words(bars))
    return words


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not os.path.isdir(MIDI):
        print(f"skipped: {MIDI} is absent")
        return 0
    paths = encoding.find_midi_files([MIDI])
    times = {"default": [], "compat": []}
    for _ in range(args.repeat):
        for mode in times:  # alternate the modes
            t0 = time.perf_counter()
            words = encode_all(paths, compat=(mode == "compat"))
            times[mode].append(time.perf_counter() - t0)
    for mode, ts in times.items():
        print(f"{mode:8s}: {len(paths)} files, median {statistics.median(ts):.2f} s "
              f"(min {min(ts):.2f}, max {max(ts):.2f}) over {args.repeat} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
