"""Time encoding the shared Metallica MIDI files (default and compat modes).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_encoding.py [--repeat 5]
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_encoding.py --groove [--repeat 3]

Reads ../shared/data/metallica/midi relative to the repo root; exits 0 with a
note when it is absent. Prints the median wall time of each mode over the
repeats (the modes alternate, so load on the machine hits both alike).
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
import encoding  # noqa: E402

MIDI = os.path.join(ROOT, "..", "shared", "data", "metallica", "midi")
GROOVE = os.path.join(ROOT, "..", "shared", "data", "groove", "midi")


def encode_all(paths, compat):
    words = 0
    for path in paths:
        bars, _, _ = encoding.encode_file(path, compat=compat)
        words += len(encoding.bars_to_words(bars))
    return words


def time_groove(repeat):
    """The Groove MIDI Dataset's 1,021 files: encoding them (default mode) against reading the
    word file that `corpus.py --split ...` writes from them once (what train.py does with each)."""
    paths = encoding.find_midi_files([GROOVE])
    times = {"encode 1,021 MIDI files": [], "read their word file": []}
    with tempfile.TemporaryDirectory() as folder:
        words_file = os.path.join(folder, "groove.txt")
        for _ in range(repeat):
            t0 = time.perf_counter()
            songs = [encoding.bars_to_words(encoding.encode_file(p)[0]) for p in paths]
            times["encode 1,021 MIDI files"].append(time.perf_counter() - t0)
            encoding.write_atomic(words_file, "".join(" ".join(w) + "\n" for w in songs).encode())
            t0 = time.perf_counter()
            encoding.read_corpus(words_file)
            times["read their word file"].append(time.perf_counter() - t0)
    for name, ts in times.items():
        print(f"groove: {name}: median {statistics.median(ts):.2f} s (min {min(ts):.2f}, max {max(ts):.2f}) "
              f"over {repeat} runs")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--groove", action="store_true", help="time the Groove MIDI Dataset (1,021 files) instead")
    args = parser.parse_args()
    if args.groove:
        if not os.path.isdir(GROOVE):
            print(f"skipped: {GROOVE} is absent")
            return 0
        time_groove(args.repeat)
        return 0
    if not os.path.isdir(MIDI):
        print(f"skipped: {MIDI} is absent")
        return 0
    paths = encoding.find_midi_files([MIDI])
    times = {"default": [], "compat": []}
    for _ in range(args.repeat):
        for mode in times:  # alternate the modes
            t0 = time.perf_counter()
            encode_all(paths, compat=(mode == "compat"))
            times[mode].append(time.perf_counter() - t0)
    for mode, ts in times.items():
        print(f"{mode:8s}: {len(paths)} files, median {statistics.median(ts):.2f} s "
              f"(min {min(ts):.2f}, max {max(ts):.2f}) over {args.repeat} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
