"""How well the model plays a user's part: humanising quantised takes, and writing the drums
around a kept kick and snare, measured against the real takes of an info.csv split.

    python benchmarks/play_part.py runs/groove/best.npz GROOVE_DIR [--split validation] [--takes 40]

Humanise. Each take's words are played flat (every hit velocity 100, on the grid) and the
model draws every hit's feel (lstm_drums.play_part), told the take's style as a user would
say it (generate.py --style; the error is also printed with the style hidden). Hit by hit
against the real take:
  - the mean absolute error of the model's velocity (MIDI units) and offset (ms, at the take's
    tempo), on its likeliest path (temperature 0), guessed as the mean level of its odds at
    temperature 1 and as their median (the guess a mean absolute error favours:
    lstm_drums.level_estimates), beside baselines on the same hits: the training hits' mean;
    the (class, place in the bar) table's mean, and its median; the same drum one bar back in
    the real take (else the table's mean);
  - over takes sampled at diversity 1.0 (--seeds each), each class's spread (standard
    deviation) of velocity and offset against the real takes'.
The real levels are compared as the codec keeps them (a velocity level played at its middle
velocity, an offset in ninths of a step), the same for the model and every baseline.

Drums around a part. Kick and snare are kept (--keep) and the model writes the rest, --draws
takes a part with --particles candidate takes each (lstm_drums.play_around; the kept hits keep
the take's feel, as generate.py --keep plays a part, or with --redraw-kept draw theirs too), at each of --keep-diversity (1.0 draws as a drummer might; 0 plays the likeliest
word at each step), told the take's style; against
the real take: the onset F1 of the hi-hats and the ride (same step, same class), beside a
baseline that plays, at each place in the bar, the most common hi-hat and ride pattern of the
take's style there in the training takes; the kept drums' identity (must be 100%); and the
written drums' onsets per bar against the real take's.

Speed: humanising a 32-bar take against generating 32 bars, and the drums around its kick and snare
with --particles candidate takes against step by step, alternated, medians.
"""
import argparse
import collections
import csv
import os
import statistics
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
import numpy as np  # noqa: E402

import corpus  # noqa: E402
import encoding  # noqa: E402
import lstm_drums as lstm  # noqa: E402

K = encoding.N_CLASSES
CLASS_OF = {name: k for k, name in enumerate(encoding.TAB_LABELS)}
WRITTEN = [CLASS_OF[c] for c in ("HH", "OH", "RD")]        # the drums scored around a kept part
VELOCITY = np.array([encoding.level_to_velocity(v) for v in range(lstm.VELOCITY_LEVELS)], float)  # level -> MIDI
OFFSET_STEPS = (np.arange(lstm.OFFSET_LEVELS) - lstm.OFFSET_LEVELS // 2) / lstm.OFFSET_LEVELS              # level -> steps


def takes_of(data, split, n_takes):
    """The songs of an info.csv split that have feel, with each one's tempo (bpm) from the CSV."""
    songs = [s for s in corpus.load_songs([data], log=lambda *a: None) if s.feel is not None]
    info = corpus.find_info_csv(data)
    with open(info, newline="", encoding="utf-8") as f:
        bpm = {os.path.normpath(r["midi_filename"]): float(r["bpm"]) for r in csv.DictReader(f)}
    tempo = lambda s: next((b for name, b in bpm.items() if os.path.normpath(s.name).endswith(name)), 120.0)
    train = [(s, tempo(s)) for s in songs if s.split == "train"]
    chosen = [(s, tempo(s)) for s in songs if s.split == split][:n_takes or None]
    return train, chosen


def hits(song):
    """(positions (n,), classes (n,), places (n,), velocity levels (n,), offset levels (n,)) of a song."""
    ids = encoding.to_ids(song.words)
    _, after = lstm.lookback_sources(ids, encoding.BAR_ID)        # row t: the place of word t + 1
    place = np.concatenate([[0], after[:-1]])                  # the place of word t itself
    t, k = np.nonzero(song.feel[:, :K] >= 0)
    return t, k, np.minimum(place[t], lstm.MAX_POSITION), song.feel[t, k], song.feel[t, K + k]


def flat(song):
    """A take's words as a drum machine plays them: no feel."""
    return encoding.to_ids(song.words)


def tables(train):
    """The (class, place) tables of the training hits: their mean and their median velocity (MIDI)
    and offset (steps), (2, K, places) each (the median as the model's: the first level whose
    running count reaches half), and the overall means (2,) that fill a cell no hit reached."""
    P = lstm.MAX_POSITION + 1
    counts = [np.zeros((K, P, lstm.VELOCITY_LEVELS)), np.zeros((K, P, lstm.OFFSET_LEVELS))]
    for song, _ in train:
        _, k, place, v, o = hits(song)
        np.add.at(counts[0], (k, place, v), 1)
        np.add.at(counts[1], (k, place, o), 1)
    mean, median, overall = np.zeros((2, K, P)), np.zeros((2, K, P)), np.zeros(2)
    for row, (c, value) in enumerate(zip(counts, (VELOCITY, OFFSET_STEPS))):
        n = c.sum(axis=2)                                   # (K, P) hits in each cell
        overall[row] = c.sum(axis=(0, 1)) @ value / n.sum()
        mean[row] = np.where(n > 0, c @ value / np.maximum(n, 1), overall[row])
        middle = (np.cumsum(c, axis=2) < n[..., None] / 2).sum(axis=2)
        median[row] = np.where(n > 0, value[np.minimum(middle, len(value) - 1)], overall[row])
    return mean, median, overall


def style_of(checkpoint, song):
    """The take's style as an index into the model's styles, as generate.py --style gives it (-1: none)."""
    styles = checkpoint["config"]["styles"]
    return styles.index(song.style) if song.style in styles else -1


def humanise_errors(checkpoint, train, takes):
    """Mean absolute errors (velocity MIDI, offset ms) of the model and each baseline, on every hit."""
    table, medians, means = tables(train)
    errors = collections.defaultdict(lambda: [[], []])
    for song, bpm in takes:
        ms = 60000.0 / bpm / encoding.STEPS_PER_BEAT           # one step, in ms
        estimates = {name: lstm.play_part(checkpoint["params"], checkpoint["config"], flat(song),
                                          np.random.default_rng(0), lstm.Sampling(diversity=0.0, style=style))[2]
                     for name, style in (("model", style_of(checkpoint, song)), ("model, style hidden", -1))}
        t, k, place, v, o = hits(song)
        real_v, real_o = VELOCITY[v], OFFSET_STEPS[o] * ms
        ids = encoding.to_ids(song.words)
        back = lstm.lookback_sources(np.concatenate([[encoding.BAR_ID], ids]), encoding.BAR_ID)[0][t, 0] - 1
        back_v = np.where(back >= 0, song.feel[np.maximum(back, 0), k], -1)
        back_o = np.where(back >= 0, song.feel[np.maximum(back, 0), K + k], -1)
        guesses = {                                         # (levels are linear in MIDI units and in steps)
            f"{name}, {how}": (np.interp(e[t, row, k], np.arange(lstm.VELOCITY_LEVELS), VELOCITY),
                               np.interp(e[t, row, K + k], np.arange(lstm.OFFSET_LEVELS), OFFSET_STEPS) * ms)
            for name, e in estimates.items() for row, how in enumerate(("mean", "median"))}
        guesses.update({
            "corpus mean": (np.full(len(t), means[0]), np.full(len(t), means[1] * ms)),
            "(class, place) mean": (table[0, k, place], table[1, k, place] * ms),
            "(class, place) median": (medians[0, k, place], medians[1, k, place] * ms),
            "one bar back": (np.where(back_v >= 0, VELOCITY[np.maximum(back_v, 0)], table[0, k, place]),
                             np.where(back_o >= 0, OFFSET_STEPS[np.maximum(back_o, 0)], table[1, k, place]) * ms),
        })
        for name, (gv, go) in guesses.items():
            errors[name][0].append(np.abs(gv - real_v))
            errors[name][1].append(np.abs(go - real_o))
    return {name: (float(np.concatenate(e[0]).mean()), float(np.concatenate(e[1]).mean()))
            for name, e in errors.items()}


def spreads(checkpoint, takes, seeds):
    """Per class: (real velocity SD, sampled velocity SD, real offset SD ms, sampled offset SD ms)."""
    real, drawn = collections.defaultdict(lambda: [[], []]), collections.defaultdict(lambda: [[], []])
    for n, (song, bpm) in enumerate(takes):
        ms = 60000.0 / bpm / encoding.STEPS_PER_BEAT
        _, k, _, v, o = hits(song)
        for kk, vv, oo in zip(k, v, o):
            real[kk][0].append(VELOCITY[vv])
            real[kk][1].append(OFFSET_STEPS[oo] * ms)
        for seed in range(seeds):
            ids, feel_ids, _ = lstm.play_part(checkpoint["params"], checkpoint["config"], flat(song), np.random.default_rng([seed, n]),
                                           lstm.Sampling(diversity=1.0, style=style_of(checkpoint, song)))
            t, kk = np.nonzero(feel_ids[:, :K] >= 0)
            for c, vv, oo in zip(kk, feel_ids[t, kk], feel_ids[t, K + kk]):
                drawn[c][0].append(VELOCITY[vv])
                drawn[c][1].append(OFFSET_STEPS[oo] * ms)
    return {k: (np.std(real[k][0]), np.std(drawn[k][0]), np.std(real[k][1]), np.std(drawn[k][1]), len(real[k][0]))
            for k in sorted(real) if len(real[k][0]) >= 30}


def style_place_patterns(train):
    """{(style, place): the most common (HH, OH, RD) bits at that place in the style's training takes}."""
    counts = collections.defaultdict(collections.Counter)
    for song, _ in train:
        place = 0
        for word in song.words:
            if word in (encoding.BAR, encoding.END):
                place = 0
                continue
            mask = encoding.WORD_ID[word]
            counts[song.style, min(place, lstm.MAX_POSITION)][tuple(bool(mask & encoding.class_bit(c)) for c in WRITTEN)] += 1
            place += 1
    return {key: c.most_common(1)[0][0] for key, c in counts.items()}


def onsets(ids, classes):
    """{(position, class)} of the given classes' onsets in word ids."""
    return {(t, c) for t, w in enumerate(ids) if w < encoding.BAR_ID for c in classes if w & encoding.class_bit(c)}


def f1(found, real):
    hit = len(found & real)
    return 2 * hit / (len(found) + len(real)) if found or real else 1.0


def baseline(ids, patterns, style):
    """{(position, class)} of the hi-hat and ride onsets the style-and-place baseline plays over a part's words."""
    base, place = set(), 0
    for t, w in enumerate(ids):
        if w >= encoding.BAR_ID:
            place = 0
            continue
        bits = patterns.get((style, min(place, lstm.MAX_POSITION)), (False,) * 3)
        base |= {(t, c) for c, on in zip(WRITTEN, bits) if on}
        place += 1
    return base


def around_part(checkpoint, train, takes, diversity, args):
    """Onset F1 of the written hi-hats and ride (model, style-and-place baseline), the kept drums'
    identity, and the written drums' onsets per bar (model / real); the model's figures over
    args.draws takes written around each part, with args.particles candidate takes each
    (lstm.play_around); the kept hits keep the take's feel, as generate.py plays a part, unless
    args.redraw_kept (--humanize). With args.tell_fills a fill take is played as generate.py
    --fills 1 plays a part (every bar a fill), and a second baseline knows fills too. Each F1 is a
    mean over the takes, and is given over the beats and over the fills apart too."""
    keep = sum(encoding.class_bit(CLASS_OF[n]) for n in args.keep.split(","))
    written = [k for k in range(K) if not keep & encoding.class_bit(k)]
    patterns = style_place_patterns(train)
    # the same counts keyed by (style, beat or fill) in place of the style: the baseline that knows fills
    fill_patterns = style_place_patterns([(s._replace(style=(s.style, s.fill)), t) for s, t in train])
    model_f1, base_f1, fill_f1, kept_same, steps, model_onsets, real_onsets = [], [], [], 0, 0, 0, 0
    for n, (song, _) in enumerate(takes):
        ids = flat(song)
        real = onsets(ids, WRITTEN)
        is_step = ids < encoding.BAR_ID
        how = lstm.Sampling(diversity=diversity, style=style_of(checkpoint, song),
                            fill_every=int(args.tell_fills and song.fill))
        model_f1.append(0.0)
        for draw in range(args.draws):
            new, _, _ = lstm.play_around(checkpoint["params"], checkpoint["config"], ids, np.random.default_rng([7, n, draw]),
                                         how, keep=keep, part_feel=None if args.redraw_kept else song.feel,
                                         particles=args.particles)
            kept_same += int(((new[is_step] & keep) == (ids[is_step] & keep)).sum())
            steps += int(is_step.sum())
            model_f1[-1] += f1(onsets(new, WRITTEN), real) / args.draws
            model_onsets += len(onsets(new, written))
            real_onsets += len(onsets(ids, written))
        base_f1.append(f1(baseline(ids, patterns, song.style), real))
        fill_f1.append(f1(baseline(ids, fill_patterns, (song.style, song.fill)), real))
    fills = np.array([song.fill for song, _ in takes])
    mean = lambda values: float(np.mean(values)) if len(values) else float("nan")
    figures = {}
    for name, values in (("model F1", model_f1), ("baseline F1", base_f1), ("baseline F1, fills told", fill_f1)):
        if name.endswith("told") and not args.tell_fills:
            continue
        values = np.array(values)
        figures.update({name: mean(values), f"{name}, beats": mean(values[~fills]), f"{name}, fills": mean(values[fills])})
    return {**figures,
            "kept identical": kept_same / max(steps, 1), "written onsets / real": model_onsets / max(real_onsets, 1)}


def speed(checkpoint, song, particles, rounds=7):
    """Median seconds to humanise a 32-bar take, to generate 32 bars, and to write the drums
    around its kick and snare step by step and with the candidate takes, alternated."""
    bars = encoding.words_to_bars(song.words)
    while len(bars) < 32:
        bars = bars + bars
    ids = encoding.to_ids(encoding.bars_to_words(bars[:32]))
    params, config, how = checkpoint["params"], checkpoint["config"], lstm.Sampling(diversity=1.0)
    keep = encoding.class_bit(CLASS_OF["BD"]) | encoding.class_bit(CLASS_OF["SD"])
    jobs = {"humanise": lambda rng: lstm.play_part(params, config, ids, rng, how),
            "generate": lambda rng: lstm.sample_bars(params, config, [encoding.BAR_ID], 32, rng, how),
            "around, step by step": lambda rng: lstm.play_around(params, config, ids, rng, how, keep, particles=1),
            "around, candidate takes": lambda rng: lstm.play_around(params, config, ids, rng, how, keep, particles=particles)}
    times = {name: [] for name in jobs}
    for r in range(rounds):
        for name in (list(jobs) if r % 2 == 0 else list(jobs)[::-1]):
            t0 = time.perf_counter()
            jobs[name](np.random.default_rng(r))
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("data", help="a folder with an info.csv (the Groove MIDI Dataset's layout)")
    p.add_argument("--split", default="validation", help="the takes to play (default validation)")
    p.add_argument("--takes", type=int, default=0, help="at most this many takes (default 0: all)")
    p.add_argument("--seeds", type=int, default=2, help="sampled takes per take for the spreads (default 2)")
    p.add_argument("--keep", default="BD,SD", help="the kept drums, by tab name (default BD,SD)")
    p.add_argument("--keep-diversity", type=float, nargs="+", default=[1.0, 0.5, 0.0],
                   help="the diversities to write the drums around the part at (default 1.0 0.5 0)")
    p.add_argument("--particles", type=int, default=32,
                   help="candidate takes around each part (lstm_drums.play_around; default 32, 1: step by step)")
    p.add_argument("--draws", type=int, default=2, help="takes written around each part (default 2)")
    p.add_argument("--skip-humanise", action="store_true", help="only the drums around the part")
    p.add_argument("--redraw-kept", action="store_true",
                   help="around the part, draw the kept hits' feel too (generate.py --keep --humanize); by default "
                        "they keep the take's, as generate.py --keep plays a part")
    p.add_argument("--tell-fills", action="store_true",
                   help="around the part, tell the model which takes are fills (generate.py --fills 1), and print "
                        "a style-fill-and-place baseline beside")
    args = p.parse_args(argv)
    checkpoint = lstm.load_checkpoint(args.checkpoint)
    train, takes = takes_of(args.data, args.split, args.takes)
    print(f"{args.checkpoint}: {len(takes)} {args.split} takes, {sum(len(hits(s)[0]) for s, _ in takes)} hits; "
          f"baselines from {len(train)} training takes")
    if not args.skip_humanise:
        print("\nhumanise, mean absolute error per hit (temperature 0's path; the model's mean and median levels;\n"
              "  ratios to the (class, place) table's mean, then to its median):")
        errors = humanise_errors(checkpoint, train, takes)
        for name, (v, o) in errors.items():
            (v_mean, o_mean), (v_median, o_median) = errors["(class, place) mean"], errors["(class, place) median"]
            print(f"  {name:<27} velocity {v:6.2f} ({v / v_mean:.3f}x, {v / v_median:.3f}x)   "
                  f"offset {o:6.2f} ms ({o / o_mean:.3f}x, {o / o_median:.3f}x)")
        print(f"\nhumanise at diversity 1.0, spread per class ({args.seeds} takes each), sampled / real:")
        for k, (rv, dv, ro, do, n) in spreads(checkpoint, takes, args.seeds).items():
            print(f"  {encoding.TAB_LABELS[k]}  velocity sd {dv:5.1f} / {rv:5.1f} = {dv / rv:4.2f}   "
                  f"offset sd {do:5.1f} / {ro:5.1f} ms = {do / ro:4.2f}   ({n} real hits)")
    for diversity in args.keep_diversity:
        print(f"\ndrums around {args.keep} (diversity {diversity:g}):")
        figures = around_part(checkpoint, train, takes, diversity, args)
        for name, value in figures.items():
            print(f"  {name:<30} {value:.4f}")
    if args.skip_humanise:
        return 0
    t = speed(checkpoint, takes[0][0], args.particles)
    print(f"\nspeed: humanise 32 bars {t['humanise']:.3f} s, generate 32 bars {t['generate']:.3f} s: "
          f"{t['humanise'] / t['generate']:.2f}x")
    print(f"  around the part, 32 bars: {args.particles} candidate takes {t['around, candidate takes']:.3f} s, "
          f"step by step {t['around, step by step']:.3f} s: "
          f"{t['around, candidate takes'] / t['around, step by step']:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
