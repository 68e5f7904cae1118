"""Do a model's tracks drum like its corpus? Statistics of many generated tracks, against the corpus's.

    python benchmarks/track_stats.py runs/metallica/best.npz [--seeds 10] [--bars 32] [--diversity 1.0 ...]

For each diversity, --seeds tracks of --bars bars are sampled exactly as generate.py does
(no primer, the bar mask, 16-step bars unless --meter), and their statistics are pooled:
onsets per bar of each class, the empty-bar rate and the share of steps repeated from one
bar back. Beside them: the training corpus's figures (kept in the checkpoint), the ratio
of each class's onsets per bar to the corpus's, and the differences in points. For a feel
model, per class that plays at least once a bar: the velocity's mean and spread, the accent
contrast (on the beats minus off them) and the offsets' spread, each as a ratio to the
corpus's, and the share of the hits at each velocity level against the corpus's.

The spread of the figure itself: --bootstrap draws the same number of real excerpts
(--bars consecutive bars from --seeds random training songs, given as DATA) many times
and prints the 5th and 95th percentile of their ratios to the corpus: how far from 1.0
a track set of this size lands by chance, even when it is the corpus itself.

Originality, with --bootstrap (the training songs): the share of the tracks' 1-, 2-, 4- and
8-bar phrases found verbatim in the training songs, and the longest copied run of bars;
with --valid (held-out songs) the same for them, the share real new music shares with the
training songs.

Whole songs, with --song: --seeds songs sampled as `generate.py --song` does (the cap:
--bars), how many the model ended itself, and their median length in bars against the
training songs' (--bootstrap).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import corpus  # noqa: E402
import encoding  # noqa: E402
import lstm_drums as lstm  # noqa: E402

CLASSES = list(encoding.CLASS_NAMES)


def sample_tracks(checkpoint, n_seeds, n_bars, how=lstm.Sampling(), with_feel=False):
    """n_seeds tracks (lists of words) as generate.py samples them with seeds 1..n_seeds, each
    drawn as `how` says (lstm_drums.Sampling: diversity, bar length, song, style, fills)
    (and with_feel: their feel ids too, (S, 18) each, or None without a feel model)."""
    tracks, feels = [], []
    for seed in range(1, n_seeds + 1):
        rng = np.random.default_rng([seed, int(round(how.diversity * 1000))])
        ids, feel = lstm.sample_bars(checkpoint["params"], checkpoint["config"], encoding.to_ids([encoding.BAR]),
                                     n_bars, rng, how)
        tracks.append([encoding.VOCAB[i] for i in ids])
        feels.append(feel)
    return (tracks, feels) if with_feel else tracks


def compare_feel(feel, corpus_feel, reference):
    """Per class the corpus plays at least once a bar: ratios of velocity mean and spread,
    accent contrast and offset spread to the corpus's, and the velocity levels' shares."""
    lines = []
    for name in CLASSES:
        ref, got = corpus_feel.get(name) or {}, feel.get(name) or {}
        if reference["onsets_per_bar"][name] < 1.0 or not got.get("hits"):
            continue
        ratio = lambda key: got[key] / ref[key] if ref.get(key) and got.get(key) is not None else float("nan")
        worst = max(abs(a - b) for a, b in zip(got["velocity_levels"], ref["velocity_levels"]))
        lines.append(f"    {name:<14} velocity mean {ratio('velocity_mean'):.2f}x, sd {ratio('velocity_sd'):.2f}x, "
                     f"accent contrast {got['accent_contrast'] if got['accent_contrast'] is not None else float('nan'):+.1f}"
                     f" vs {ref['accent_contrast'] if ref['accent_contrast'] is not None else float('nan'):+.1f} "
                     f"({ratio('accent_contrast'):.2f}x), offset sd {ratio('offset_sd_steps'):.2f}x; "
                     f"velocity levels {' '.join(f'{100 * x:.0f}' for x in got['velocity_levels'])} % vs "
                     f"{' '.join(f'{100 * x:.0f}' for x in ref['velocity_levels'])} % (worst {100 * worst:.1f} points)")
    return lines


def copy_line(stats):
    """copy_stats as one line: the copied share of each phrase length, and the longest copy."""
    return ", ".join(f"{n}-bar phrases {'-' if s is None else f'{100 * s:.1f}%'}" for n, s in
                     stats["copied_share"].items()) + f" copied; longest copied run {stats['longest_copy']} bars"


def compare(stats, reference):
    """Ratios of onsets per bar (classes the corpus plays at least once a bar), and point differences."""
    per, ref = stats["onsets_per_bar"], reference["onsets_per_bar"]
    ratios = {k: per[k] / ref[k] for k in CLASSES if ref[k] >= 1.0}
    hats = lambda s: s["onsets_per_bar"]["closed hi-hat"] + s["onsets_per_bar"]["open hi-hat"]
    ratios["hi-hats (closed + open)"] = hats(stats) / hats(reference)
    return ratios, {"repeat": 100 * (stats["repeat_share"] - reference["repeat_share"]),
                    "empty": 100 * (stats["empty_bar_rate"] - reference["empty_bar_rate"])}


FEEL_FIGURES = ("velocity_mean", "velocity_sd", "accent_contrast", "offset_sd_steps")


def bootstrap(songs, reference, n_seeds, n_bars, rounds=300, seed=0, feels=None, corpus_feel=None):
    """Percentiles (5, 95) of the ratios of real excerpts of the same size to the corpus (and,
    given the songs' feel ids and the corpus's feel, of each feel figure's ratio per class)."""
    rng = np.random.default_rng(seed)
    feels = feels or [None] * len(songs)
    by_song = []
    for w, f in zip(songs, feels):
        if encoding.BAR in w:
            ends = [i + 1 for i, x in enumerate(w) if x == encoding.BAR]   # each bar's end, BAR included
            by_song.append((w, f, [0] + ends))
    draws = []
    for _ in range(rounds):
        excerpts, excerpt_feels = [], []
        for k in rng.integers(0, len(by_song), n_seeds):
            w, f, lines = by_song[k]
            start = int(rng.integers(0, max(1, len(lines) - 1 - n_bars)))
            a, b = lines[start], lines[min(start + n_bars, len(lines) - 1)]
            excerpts.append(w[a:b])
            excerpt_feels.append(None if f is None else f[a:b])
        draw = compare(corpus.song_stats(excerpts), reference)[0]
        if corpus_feel and any(f is not None for f in excerpt_feels):
            stats = corpus.feel_stats(excerpts, excerpt_feels)
            for name in CLASSES:
                for key in FEEL_FIGURES:
                    got, ref = (stats.get(name) or {}).get(key), corpus_feel[name].get(key)
                    if reference["onsets_per_bar"][name] >= 1.0 and got is not None and ref:
                        draw[f"{name} {key}"] = got / ref
                if reference["onsets_per_bar"][name] >= 1.0 and (stats.get(name) or {}).get("hits"):
                    draw[f"{name} velocity levels, worst points"] = 100 * max(
                        abs(a - b) for a, b in zip(stats[name]["velocity_levels"], corpus_feel[name]["velocity_levels"]))
        draws.append(draw)
    keys = set().union(*draws)
    return {k: np.percentile([d[k] for d in draws if k in d], [5, 95]) for k in sorted(keys, key=str)}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--bars", type=int, default=32)
    p.add_argument("--diversity", type=float, nargs="+", default=[1.0])
    p.add_argument("--bootstrap", nargs="+", metavar="DATA", help="training songs, for the spread by chance")
    p.add_argument("--compat", action="store_true", help="read --bootstrap MIDI with the original's rules")
    p.add_argument("--valid", nargs="+", metavar="DATA", help="held-out songs: how much of them is in the training songs")
    p.add_argument("--song", action="store_true", help="whole songs (generate.py --song, --bars the cap): how "
                   "many end by themselves, and their length")
    args = p.parse_args()
    checkpoint = lstm.load_checkpoint(args.checkpoint, vocab=encoding.VOCAB)
    reference = checkpoint["extra"]["corpus"]["stats"]
    print(f"{args.checkpoint}: {checkpoint['config']['inputs']} inputs; {args.seeds} seeds x {args.bars} bars")
    print(corpus.stats_table([], reference).splitlines()[1])
    corpus_feel = checkpoint["extra"]["corpus"].get("feel_stats")
    load = lambda data: corpus.load_songs(data, log=lambda *a: None, compat=args.compat) if data else []
    training = [s.words for s in load(args.bootstrap)]
    if args.valid:
        valid = [s.words for s in load(args.valid)]
        print(f"    validation songs vs training songs: {copy_line(corpus.copy_stats(valid, training))}")
    if args.song:
        for d in args.diversity:
            songs = sample_tracks(checkpoint, args.seeds, args.bars, lstm.Sampling(d, song=True))
            ended = [w for w in songs if w[-1] == encoding.END]
            lengths = [w.count(encoding.BAR) for w in songs]
            real = [w.count(encoding.BAR) for w in training]
            print(f"    div {d:g}: {len(ended)} of {len(songs)} songs ended by the model (cap {args.bars} bars); "
                  f"median length {np.median(lengths):g} bars (of {sorted(lengths)})"
                  + (f", training songs' median {np.median(real):g} bars" if real else ""))
        return
    for d in args.diversity:
        tracks, feels = sample_tracks(checkpoint, args.seeds, args.bars, lstm.Sampling(d), with_feel=True)
        if training:
            print(f"    div {d:g} tracks vs training songs: {copy_line(corpus.copy_stats(tracks, training))}")
        stats = corpus.song_stats(tracks)
        ratios, points = compare(stats, reference)
        print(corpus.stats_table([{"diversity": d, **stats}], None).splitlines()[1])
        print("    onsets/bar vs corpus: " + ", ".join(f"{k} {r:.2f}x" for k, r in ratios.items())
              + f"; repeat {points['repeat']:+.1f} points, empty bars {points['empty']:+.1f} points")
        if corpus_feel and feels[0] is not None:
            print("\n".join(compare_feel(corpus.feel_stats(tracks, feels), corpus_feel, reference)))
    if args.bootstrap:
        loaded = load(args.bootstrap)
        spread = bootstrap([s.words for s in loaded], reference, args.seeds, args.bars,
                           feels=[s.feel for s in loaded], corpus_feel=corpus_feel)
        print(f"real excerpts of the same size ({args.seeds} x {args.bars} bars), 5th-95th percentile of the ratio: "
              + ", ".join(f"{k} {lo:.2f}-{hi:.2f}" + ("" if k.endswith("points") else "x")
                          for k, (lo, hi) in spread.items()))


if __name__ == "__main__":
    main()
