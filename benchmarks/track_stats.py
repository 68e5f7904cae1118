"""Do a model's tracks drum like its corpus? Statistics of many generated tracks, against the corpus's.

    python benchmarks/track_stats.py runs/metallica/best.npz [--seeds 10] [--bars 32] [--diversity 1.0 ...]

For each diversity, --seeds tracks of --bars bars are sampled exactly as generate.py does
(no primer, the bar mask, 16-step bars unless --meter), and their statistics are pooled:
onsets per bar of each class, the empty-bar rate and the share of steps repeated from one
bar back. Beside them: the training corpus's figures (kept in the checkpoint), the ratio
of each class's onsets per bar to the corpus's, and the differences in points.

The spread of the figure itself: --bootstrap draws the same number of real excerpts
(--bars consecutive bars from --seeds random training songs, given as DATA) many times
and prints the 5th and 95th percentile of their ratios to the corpus: how far from 1.0
a track set of this size lands by chance, even when it is the corpus itself.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import encoding  # noqa: E402
import generate  # noqa: E402
import lstm_drums as M  # noqa: E402
import train  # noqa: E402

CLASSES = [name for _, name in encoding.DRUM_CLASSES]


def sample_tracks(ck, n_seeds, n_bars, diversity, bar_steps=16):
    """n_seeds tracks (lists of words) as generate.py samples them with seeds 1..n_seeds."""
    tracks = []
    for seed in range(1, n_seeds + 1):
        rng = np.random.default_rng([seed, int(round(diversity * 1000))])
        ids, _ = generate.sample_bars(ck["params"], ck["config"], encoding.to_ids([encoding.BAR]), n_bars,
                                   diversity, rng, bar_steps)
        tracks.append([encoding.VOCAB[i] for i in ids])
    return tracks


def compare(stats, corpus):
    """Ratios of onsets per bar (classes the corpus plays at least once a bar), and point differences."""
    per, ref = stats["onsets_per_bar"], corpus["onsets_per_bar"]
    ratios = {k: per[k] / ref[k] for k in CLASSES if ref[k] >= 1.0}
    hats = lambda s: s["onsets_per_bar"]["closed hi-hat"] + s["onsets_per_bar"]["open hi-hat"]
    ratios["hi-hats (closed + open)"] = hats(stats) / hats(corpus)
    return ratios, {"repeat": 100 * (stats["repeat_share"] - corpus["repeat_share"]),
                    "empty": 100 * (stats["empty_bar_rate"] - corpus["empty_bar_rate"])}


def bootstrap(songs, corpus, n_seeds, n_bars, rounds=300, seed=0):
    """Percentiles (5, 95) of the ratios of real excerpts of the same size to the corpus."""
    rng = np.random.default_rng(seed)
    by_song = [encoding.words_to_bars(w[:len(w) - w[::-1].index(encoding.BAR)]) for w in songs
               if encoding.BAR in w]
    draws = []
    for _ in range(rounds):
        excerpts = []
        for k in rng.integers(0, len(by_song), n_seeds):
            bars = by_song[k]
            start = int(rng.integers(0, max(1, len(bars) - n_bars)))
            excerpts.append(encoding.bars_to_words(bars[start:start + n_bars]))
        draws.append(compare(encoding.song_stats(excerpts), corpus)[0])
    return {k: np.percentile([d[k] for d in draws], [5, 95]) for k in draws[0]}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--bars", type=int, default=32)
    p.add_argument("--diversity", type=float, nargs="+", default=[1.0])
    p.add_argument("--bootstrap", nargs="+", metavar="DATA", help="training songs, for the spread by chance")
    p.add_argument("--compat", action="store_true", help="read --bootstrap MIDI with the original's rules")
    args = p.parse_args()
    ck = M.load_checkpoint(args.checkpoint, vocab=encoding.VOCAB)
    corpus = ck["extra"]["corpus"]["stats"]
    print(f"{args.checkpoint}: {ck['config'].get('inputs', 'word')} inputs; {args.seeds} seeds x {args.bars} bars")
    print(generate.stats_table([], corpus).splitlines()[1])
    for d in args.diversity:
        stats = encoding.song_stats(sample_tracks(ck, args.seeds, args.bars, d))
        ratios, points = compare(stats, corpus)
        print(generate.stats_table([{"diversity": d, **stats}], None).splitlines()[1])
        print("    onsets/bar vs corpus: " + ", ".join(f"{k} {r:.2f}x" for k, r in ratios.items())
              + f"; repeat {points['repeat']:+.1f} points, empty bars {points['empty']:+.1f} points")
    if args.bootstrap:
        songs = [w for _, w in train.load_songs(args.bootstrap, log=lambda *a: None, compat=args.compat)]
        spread = bootstrap(songs, corpus, args.seeds, args.bars)
        print(f"real excerpts of the same size ({args.seeds} x {args.bars} bars), 5th-95th percentile of the ratio: "
              + ", ".join(f"{k} {lo:.2f}-{hi:.2f}x" for k, (lo, hi) in spread.items()))


if __name__ == "__main__":
    main()
