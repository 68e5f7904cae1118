"""Does a style model play the style asked for? A nearest-centroid classifier says.

    python benchmarks/style_classifier.py runs/styles/best.npz ../shared/data/groove [--seeds 10] [--bars 32]

The classifier: each track becomes one feature vector, each drum class's onset rate at each
of the 16 places of a 4/4 bar (9 x 16 numbers, averaged over the track's 16-step bars). A
style's centroid is the mean vector of its training songs (the beats of the Groove training
split; fills are a bar or two and play unlike the style's groove). A track is named the style
whose centroid is nearest (Euclidean).

It is scored twice, on the five most common styles of the training split:
  real       the first --bars bars of each validation beat of those styles: how often it
             names the true style of real music (the ceiling a model is judged against);
  generated  --seeds tracks of --bars bars per style, at --diversity, sampled as
             `generate.py --style S` samples them: how often it names the requested style.
The figure: generated / real. The same tracks' originality follows: the share of their 4-bar
phrases (and 1-, 2-, 8-bar) found verbatim in the training songs, beside the validation
songs' own share.

Fills on request (--fills K): the same tracks sampled again with a fill asked for every K-th
bar; per bar, the tom and snare onsets and all onsets, in the fill bars against the others,
beside the training split's fills against its beats (the same styles).
"""
import argparse
import collections
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import corpus  # noqa: E402
import encoding  # noqa: E402
import lstm_drums as lstm  # noqa: E402
from track_stats import copy_line, sample_tracks  # noqa: E402

PLACES = 16                                     # a 4/4 bar of 16th notes


def features(words):
    """A track's words -> (9 * 16,) each class's onset rate at each place of its 16-step bars
    (None if it has no 16-step bar)."""
    bars = [bar for bar in encoding.words_to_bars([w for w in words if w != encoding.END]) if len(bar) == PLACES]
    if not bars:
        return None
    steps = np.array(bars)                                           # (bars, 16) step masks
    hits = (steps[..., None] >> lstm.CLASS_SHIFTS) & 1               # (bars, 16, 9)
    return hits.mean(axis=0).T.reshape(-1)                           # (9 * 16,) class-major


def first_bars(words, n):
    """The words of a song's first n bars."""
    out, bars = [], 0
    for w in words:
        if bars == n or w == encoding.END:
            break
        out.append(w)
        bars += w == encoding.BAR
    return out


TOMS = [k for k, name in enumerate(encoding.CLASS_NAMES) if "tom" in name]
SNARE = [k for k, name in enumerate(encoding.CLASS_NAMES) if name == "snare"]


def bar_onsets(bars):
    """Mean onsets per bar of the toms, the snare, and all classes, over some bars of step masks."""
    if not bars:
        return float("nan"), float("nan"), float("nan")
    per = np.array([((np.array(bar)[:, None] >> lstm.CLASS_SHIFTS) & 1).sum(axis=0) for bar in bars])  # (bars, 9)
    return per[:, TOMS].sum(axis=1).mean(), per[:, SNARE].sum(axis=1).mean(), per.sum(axis=1).mean()


def centroid_classifier(train_beats, styles):
    """The nearest-centroid classifier of the training beats' bars: the style names and a
    function from a track's features to the name of the nearest style's centroid."""
    centroids = {}
    for name in styles:
        vectors = [v for v in (features(s.words) for s in train_beats if s.style == name) if v is not None]
        centroids[name] = np.mean(vectors, axis=0)
    names = list(centroids)
    table = np.stack([centroids[n] for n in names])                  # (styles, 144)
    return names, lambda v: names[int(np.argmin(((table - v) ** 2).sum(axis=1)))]


def recognition(checkpoint, args, names, classify, valid_beats):
    """Prints how often the classifier recognises the style of real excerpts and of tracks
    generated in each style; returns the generated tracks."""
    real = collections.defaultdict(list)
    for s in valid_beats:
        v = features(first_bars(s.words, args.bars))
        if v is not None:
            real[s.style].append(classify(v) == s.style)
    gen = collections.defaultdict(list)
    tracks = []
    for name in names:
        index = checkpoint["config"]["styles"].index(name)
        for words in sample_tracks(checkpoint, args.seeds, args.bars, lstm.Sampling(args.diversity, style=index)):
            tracks.append(words)
            gen[name].append(classify(features(words)) == name)
    print(f"{'style':<10} {'real excerpts':>16} {'generated':>16}")
    for name in names:
        r, g = real[name], gen[name]
        print(f"{name:<10} {sum(r):>4} of {len(r):<3} {np.mean(r) if r else float('nan'):5.0%} "
              f"{sum(g):>4} of {len(g):<3} {np.mean(g):5.0%}")
    r_all = np.mean([x for v in real.values() for x in v])
    g_all = np.mean([x for v in gen.values() for x in v])
    print(f"{'all':<10} {r_all:16.1%} {g_all:16.1%}   generated / real = {g_all / r_all:.2f}")
    return tracks


def fills_report(checkpoint, args, names, real):
    """Prints the onsets per bar of generated fill bars and other bars beside the training
    fills' and beats' (real: the training songs of the styles tested)."""
    as_bars = lambda words: encoding.words_to_bars([w for w in words if w != encoding.END])
    fill_bars, beat_bars = [], []
    for name in names:
        how = lstm.Sampling(args.diversity, style=checkpoint["config"]["styles"].index(name), fill_every=args.fills)
        for words in sample_tracks(checkpoint, args.seeds, args.bars, how):
            for k, bar in enumerate(as_bars(words)):
                (fill_bars if k % args.fills == args.fills - 1 else beat_bars).append(bar)
    real_fill = [bar for s in real if s.fill for bar in as_bars(s.words)]
    real_beat = [bar for s in real if not s.fill for bar in as_bars(s.words)]
    print(f"fills every {args.fills} bars: onsets per bar (toms, snare, all)")
    for label, bars in (("generated, fill bars", fill_bars), ("generated, other bars", beat_bars),
                        ("training fills", real_fill), ("training beats", real_beat)):
        toms, snare, total = bar_onsets(bars)
        print(f"  {label:<22} {len(bars):6d} bars: toms {toms:5.2f}, snare {snare:5.2f}, all {total:5.2f}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("groove", help="the Groove MIDI Dataset's folder (with info.csv)")
    p.add_argument("--styles", type=int, default=5, help="the most common styles to test (default 5)")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--bars", type=int, default=32)
    p.add_argument("--diversity", type=float, default=1.0)
    p.add_argument("--fills", type=int, default=0, metavar="K", help="also: a fill asked for every K-th bar")
    args = p.parse_args(argv)
    checkpoint = lstm.load_checkpoint(args.checkpoint, vocab=encoding.VOCAB)
    songs = corpus.load_songs([args.groove], log=lambda *a: None)
    train_songs = [s for s in songs if s.split == "train"]
    common = [name for name, _ in collections.Counter(s.style for s in train_songs).most_common(args.styles)]
    missing = [name for name in common if name not in (checkpoint["config"].get("styles") or [])]
    if missing:
        sys.exit(f"error: {args.checkpoint} does not know the style(s) {', '.join(missing)}")
    beats = lambda split: [s for s in songs if s.split == split and not s.fill and s.style in common]
    names, classify = centroid_classifier(beats("train"), common)
    print(f"{args.checkpoint}: styles {', '.join(names)}; centroids from "
          f"{len(beats('train'))} training beats; 16-step bars only")
    tracks = recognition(checkpoint, args, names, classify, beats("validation"))
    train_words = [s.words for s in train_songs]
    print("originality, generated (diversity %g): " % args.diversity + copy_line(corpus.copy_stats(tracks, train_words)))
    valid_words = [first_bars(s.words, args.bars) for s in beats("validation")]
    print("originality, validation beats (first %d bars): " % args.bars
          + copy_line(corpus.copy_stats(valid_words, train_words)))
    if args.fills:
        if not checkpoint["config"].get("fills"):
            sys.exit(f"error: {args.checkpoint} learned no fills")
        fills_report(checkpoint, args, names, [s for s in train_songs if s.style in common])


if __name__ == "__main__":
    main()
