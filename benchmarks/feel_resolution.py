"""How much of a drummer's feel do the feel levels keep? Quantisation error on real MIDI files.

    python benchmarks/feel_resolution.py ../shared/data/groove/midi --split validation

For every onset the codec keeps (the loudest note of a class on a step), its velocity and its
offset from the step are read from the file and quantised as encoding.py does, and at other
resolutions for comparison: velocity in 4, 8 (ours) or 16 equal levels, each played back at
its middle; the offset in K levels of 1/K of a step (K odd, so that 0 is a level; ours is 9).
Printed: the mean and largest error of each, the offset's in milliseconds at each file's own
tempo, and how the hits spread over our levels.
"""
import argparse
import collections
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import corpus  # noqa: E402
import encoding  # noqa: E402


def onsets(path):
    """[(velocity, offset in steps, ms per step)] of the onsets the codec keeps from one file."""
    mid = encoding.read_midi(path)
    tpb = mid.ticks_per_beat
    tempo = 500000                                              # the SMF default, 120 bpm
    loudest = {}
    for tick, msg in encoding._absolute_events(mid):
        if msg.type == "set_tempo" and tick == 0:
            tempo = msg.tempo
        if msg.type == "note_on" and msg.velocity > 0 and msg.channel == encoding.DRUM_CHANNEL:
            k = encoding.PITCH_TO_CLASS.get(msg.note)
            if k is None:
                continue
            step = encoding.tick_to_step(tick, tpb)
            if msg.velocity > loudest.get((step, k), (0, 0))[0]:
                loudest[(step, k)] = (msg.velocity, tick * encoding.STEPS_PER_BEAT / tpb - step)
    ms_per_step = tempo / 1000 / encoding.STEPS_PER_BEAT
    return [(v, off, ms_per_step) for v, off in loudest.values()]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("inputs", nargs="+", help="MIDI files or folders")
    p.add_argument("--split", help="only this split of the dataset's info.csv (next to the first input)")
    args = p.parse_args()
    paths = encoding.find_midi_files(args.inputs)
    if args.split:
        paths = corpus.files_in_split(paths, corpus.find_info_csv(args.inputs[0]), args.split)
    rows = [o for path in paths for o in onsets(path)]
    v = np.array([r[0] for r in rows], float)
    off = np.array([r[1] for r in rows])
    ms = np.array([r[2] for r in rows])
    print(f"{len(paths)} files, {len(rows)} onsets; {len(np.unique(v))} distinct velocities; "
          f"offsets: sd {off.std():.3f} steps = {np.median(ms) * off.std():.1f} ms at the median tempo")
    for n in (4, 8, 16):
        width = 128 / n
        level = np.minimum(v // width, n - 1)
        err = np.abs(v - (level * width + width / 2))
        mark = "  (ours)" if n == encoding.VELOCITY_LEVELS else ""
        print(f"velocity in {n:2d} levels of {width:4.1f}: error mean {err.mean():4.1f}, max {err.max():4.1f}{mark}")
    for k in (5, 7, 9, 13):
        level = np.floor(k * off + 0.5)
        err = np.abs(off - level / k) * ms
        mark = "  (ours)" if k == encoding.OFFSET_LEVELS else ""
        print(f"offset in {k:2d} levels of 1/{k:<2d} step: error mean {err.mean():4.1f} ms, max {err.max():5.1f} ms; "
              f"on the grid (level 0) {np.mean(level == 0):5.1%}{mark}")
    ours_v = collections.Counter(np.minimum(v // 16, 7).astype(int).tolist())
    ours_o = collections.Counter(np.floor(9 * off + 0.5).astype(int).tolist())
    print("share of hits per velocity level: " + " ".join(f"{k}:{ours_v[k] / len(v):.1%}" for k in range(8)))
    print("share of hits per offset level:   " + " ".join(f"{k:+d}:{ours_o[k] / len(v):.1%}" for k in range(-4, 5)))


if __name__ == "__main__":
    main()
