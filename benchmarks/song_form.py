"""Do a model's whole songs have form? The table of issue 29: generated songs against the real ones.

    python benchmarks/song_form.py CKPT DATA [--songs 20] [--diversity 1.0] [--seed 1] [--bars 512] [--style NAME]
                                             [--alike 1.0] [--form] [--draw N ...] [--sets N]

DATA is what the checkpoint was trained on (folders, MIDI or words files, as train.py reads them with
corpus.load_songs), split as train.py splits it (corpus.split_by_data with the run's valid_fraction and
seed, read from the checkpoint; 0.1 and 1337 for a checkpoint that does not say; a run given --valid held
out other songs, which this script does not know). --songs songs are
sampled as `generate.py --song` samples them: seeds SEED, SEED+1, ..., each from a lone BAR, 16-step
bars under the bar mask, until the model draws END or --bars bars (the cap); with the checkpoint's
form head with --form (lstm_drums section 12), and none shorter than
the shortest training song, if the checkpoint records it (train.py does). With --style the songs play
that style, and the real songs in the table are that style's, fills left out; without it the style inputs
are hidden (generate.py would draw one per song instead) and every real song counts.

Three columns (training songs, validation songs, generated songs), a row each:
  length in bars          median, range, and which generated songs are shorter than the shortest
                          training song or longer than the longest
  ended                   songs with END after their last bar (a real song: where its data ended it;
                          a generated one: ended by the model, not the cap)
  nearest identical bar   for each bar, the smallest d in 1..64 with the bar d back equal to it word
                          for word: the share of all bars with d in 1, 2-3, 4-7, 8-15, 16-64, or none
                          (a song's first bar has none)
  distinct bars / length  the number of different bars over the song's bars, median over the songs
                          (a bar counts if no earlier bar of the song is equal to it)
  crash in the last bar   share of the songs
  4-bar copies            share of the 4-bar phrases found verbatim in the training songs
                          (corpus.copy_stats; form must not come from copying whole songs)

A drummer seldom plays a bar exactly again (a ghost note, a hi-hat more or less), so on played takes
"equal word for word" finds little. --alike F (0 < F < 1) counts two bars as the same bar when they
have the same number of steps and share at least F of their hits: of the (step, drum) onsets in
either bar, the share in both (Jaccard). --alike 1, the default, is "equal word for word".

--sets N: also issue 29's targets, checked on each run of N generated songs (seeds SEED to SEED+N-1, and on),
a row each, y where one holds: at least 95% ended by the model (19 of 20), every length inside the training
songs' range, the median within 20% of theirs, each repeat bin within 5 points of theirs, distinct bars per
length within 0.1, a crash in the last bar in at least 60%, and 4-bar copies at most the validation songs'.
One set of 20 songs is a draw from the model's songs: the rows show how often a set meets them.

The figures are pure functions of songs as lists of bars (a bar: a tuple of step masks), so that
tests/test_song_form.py checks them on songs written by hand.
"""
import argparse
import functools
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import corpus  # noqa: E402
import encoding  # noqa: E402
import lstm_drums as lstm  # noqa: E402

MAX_BACK = 64                                             # look this many bars back for an identical bar
BINS = ((1, 1), (2, 3), (4, 7), (8, 15), (16, MAX_BACK))  # nearest identical bar, d bars back: first, last d
CRASH = encoding.class_bit(encoding.CLASS_NAMES.index("crash"))   # the crash's bit in a step mask
COPY_BARS = 4                                             # phrase length of the copy share
VALID_FRACTION, SPLIT_SEED = 0.1, 1337                    # train.py's defaults, for a checkpoint without its own


# ----------------------------------------------------------------------------
# The figures, on songs as lists of bars (each bar a tuple of step masks)

def song_bars(words):
    """A song's words -> its bars, each a tuple of step masks (END and a trailing partial bar dropped)."""
    return [tuple(bar) for bar in corpus.lenient_bars(words)]


@functools.lru_cache(maxsize=None)
def onsets(bar):
    """A bar's hits as a set of (step, drum bit) (kept per bar: songs compare each bar many times)."""
    return frozenset((j, 1 << b) for j, mask in enumerate(bar) for b in range(encoding.N_CLASSES) if mask >> b & 1)


def same_bar(alike=1.0):
    """A test (bar, bar) -> bool: equal word for word (alike 1), or of one length sharing at least
    `alike` of their onsets (shared / in either; two silent bars of one length are the same)."""
    if alike >= 1:
        return lambda a, b: a == b
    def test(a, b):
        if len(a) != len(b):
            return False
        x, y = onsets(a), onsets(b)
        return not (x or y) or len(x & y) >= alike * len(x | y)
    return test


def nearest_repeat(bars, max_back=MAX_BACK, alike=1.0):
    """For each bar, the smallest d in 1..max_back with bars[i - d] the same bar as bars[i], or None."""
    same = same_bar(alike)
    return [next((d for d in range(1, min(i, max_back) + 1) if same(bars[i - d], bars[i])), None)
            for i in range(len(bars))]


def bin_label(first, last):
    return f"{first}" if first == last else f"{first}-{last}"


def repeat_profile(songs, alike=1.0):
    """Songs (lists of bars) -> {bin label: share of all their bars whose nearest identical bar (or
    alike bar: same_bar) is that many bars back}, the bins of BINS and 'none' (none in the MAX_BACK before)."""
    counts = dict.fromkeys([bin_label(*b) for b in BINS] + ["none"], 0)
    for bars in songs:
        for d in nearest_repeat(bars, alike=alike):
            label = next((bin_label(a, b) for a, b in BINS if d is not None and a <= d <= b), "none")
            counts[label] += 1
    total = max(sum(counts.values()), 1)
    return {label: n / total for label, n in counts.items()}


def distinct_share(bars, alike=1.0):
    """The number of different bars in a song over its length in bars (1.0: no bar comes back): a
    bar is new if no earlier bar of the song is the same bar (same_bar)."""
    if not bars:
        return float("nan")
    if alike >= 1:
        return len(set(bars)) / len(bars)
    same, seen = same_bar(alike), []
    for bar in bars:
        if not any(same(old, bar) for old in seen):
            seen.append(bar)
    return len(seen) / len(bars)


def crash_in_last_bar(bars):
    """Whether a crash is played anywhere in the song's last bar."""
    return bool(bars) and any(mask & CRASH for mask in bars[-1])


def form_figures(songs_words, training_words=None, alike=1.0):
    """One column of the table, for songs given as lists of words: lengths (bars), how many end
    in END, the repeat profile, the median distinct share, the share with a crash in the last
    bar, and (given the training songs' words) the share of 4-bar phrases copied from them.
    alike: what counts as the same bar (same_bar)."""
    songs = [song_bars(words) for words in songs_words]
    copied = None
    if training_words is not None:
        copied = corpus.copy_stats(songs_words, training_words, (COPY_BARS,))["copied_share"][str(COPY_BARS)]
    return {"songs": len(songs), "lengths": [len(bars) for bars in songs],
            "ended": sum(1 for words in songs_words if words[-1:] == [encoding.END]),
            "repeat_profile": repeat_profile(songs, alike),
            "distinct_share": float(np.median([distinct_share(bars, alike) for bars in songs])) if songs else None,
            "crash_last_bar": float(np.mean([crash_in_last_bar(bars) for bars in songs])) if songs else None,
            "copied_4_bars": copied}


# ----------------------------------------------------------------------------
# The songs: the checkpoint's training and validation songs, and new ones

def split_as_trained(checkpoint, data, log, style=None):
    """The checkpoint's training and validation songs of DATA, split as train.py split them; with a
    style, only the songs of that style that are not fills (the generated songs are asked for no fill)."""
    trained = checkpoint["extra"].get("train_config") or {}
    fraction, seed = trained.get("valid_fraction", VALID_FRACTION), trained.get("seed", SPLIT_SEED)
    songs = corpus.load_songs(data, log=log)
    train_songs, valid_songs, _ = corpus.split_by_data(songs, fraction, seed)
    keep = lambda part: [s.words for s in part if style is None or (s.style == style and not s.fill)]
    return keep(train_songs), keep(valid_songs)


def sample_songs(checkpoint, n_songs, first_seed, how, cap):
    """n_songs songs (lists of words) as generate.py --song draws them: seeds first_seed, ...,
    each its own stream [seed, diversity x 1000], from a lone BAR, until END or cap bars."""
    songs = []
    for seed in range(first_seed, first_seed + n_songs):
        rng = np.random.default_rng([seed, int(round(how.diversity * 1000))])
        ids, _ = lstm.sample_bars(checkpoint["params"], checkpoint["config"], encoding.to_ids([encoding.BAR]),
                                  cap, rng, how)
        songs.append([encoding.VOCAB[i] for i in ids])
    return songs


def style_index(checkpoint, style):
    """--style NAME -> its index among the checkpoint's styles (-1: none asked for); ValueError if unknown."""
    styles = checkpoint["config"]["styles"]
    if style is None:
        return -1
    if style not in styles:
        raise ValueError(f"--style {style!r}: the checkpoint knows " + (", ".join(styles) or "no styles"))
    return styles.index(style)


# ----------------------------------------------------------------------------
# A song's form drawn as letters (--draw)

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def form_letters(bars, per_line=16):
    """A song's form drawn: each bar as a letter, equal bars the same letter (A the first bar, B the
    first bar unlike it, ...; '*' after the 52nd kind), bars in groups of four, per_line a line."""
    names = {}
    letters = [names.setdefault(bar, LETTERS[len(names)] if len(names) < len(LETTERS) else "*") for bar in bars]
    groups = [" ".join(letters[k:k + 4]) for k in range(0, len(letters), 4)]
    lines = ["   ".join(groups[k:k + per_line // 4]) for k in range(0, len(groups), per_line // 4)]
    return "\n".join(f"{1 + n * per_line:4d}  {line}" for n, line in enumerate(lines))


# ----------------------------------------------------------------------------
# The table

def length_cells(figures, shortest=None, longest=None):
    """The length rows of one column: median, range, the songs shorter than `shortest` bars and
    those longer than `longest` (given both: the generated column)."""
    n = sorted(figures["lengths"])
    if not n:
        return ["-", "-", "-", "-"]
    if shortest is None:
        return [f"{np.median(n):g}", f"{n[0]}-{n[-1]}", "-", "-"]
    short, long = [str(x) for x in n if x < shortest], [str(x) for x in n if x > longest]
    return [f"{np.median(n):g}", f"{n[0]}-{n[-1]}", ", ".join(short) or "none", ", ".join(long) or "none"]


def table(columns, names, cap, alike=1.0):
    """The markdown table: a column per figures dict (form_figures), headed by names; alike < 1
    names the repeat rows after it."""
    real = columns[0]["lengths"]                                   # the training songs'
    bounds = (min(real), max(real)) if real else (None, None)      # judged in the generated column only
    lengths = [length_cells(f, *(bounds if k == len(columns) - 1 else (None, None))) for k, f in enumerate(columns)]
    pct = lambda x: "-" if x is None else f"{100 * x:.1f}%"
    rows = [["songs"] + [str(f["songs"]) for f in columns],
            ["length in bars, median"] + [c[0] for c in lengths],
            ["length in bars, range"] + [c[1] for c in lengths],
            ["shorter than the shortest training song"] + [c[2] for c in lengths],
            ["longer than the longest training song"] + [c[3] for c in lengths],
            ["ended (END after the last bar)"] + [f"{f['ended']} of {f['songs']}" for f in columns],
            [f"cut at the cap of {cap} bars"] + ["-"] * (len(columns) - 1)
            + [str(columns[-1]["songs"] - columns[-1]["ended"])]]
    for label in columns[0]["repeat_profile"]:
        same = "identical bar" if alike >= 1 else f"bar sharing {100 * alike:g}% of its hits"
        name = f"no {same} in the 64 before" if label == "none" else f"nearest {same} {label} back"
        rows.append([name] + [pct(f["repeat_profile"][label]) for f in columns])
    rows += [["distinct bars / length (median)"] + ["-" if f["distinct_share"] is None else
                                                     f"{f['distinct_share']:.2f}" for f in columns],
             ["a crash in the last bar"] + [pct(f["crash_last_bar"]) for f in columns],
             [f"{COPY_BARS}-bar phrases found in the training songs"] + [pct(f["copied_4_bars"]) for f in columns]]
    lines = ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


TARGETS = ("ended", "range", "median", "bins", "distinct", "crash", "copies")   # issue 29's, in --sets' order


def targets_met(generated, training, validation):
    """Issue 29's targets for one set of generated songs, each True if it holds: form_figures of the
    set (with copies), of the training songs and of the validation songs (with copies)."""
    real, lengths = training["lengths"], generated["lengths"]
    bins = generated["repeat_profile"]
    return {"ended": generated["ended"] >= 0.95 * generated["songs"],
            "range": all(min(real) <= n <= max(real) for n in lengths),
            "median": abs(np.median(lengths) / np.median(real) - 1) <= 0.2,
            "bins": all(abs(bins[k] - training["repeat_profile"][k]) <= 0.05 + 1e-9 for k in bins),
            "distinct": abs(generated["distinct_share"] - training["distinct_share"]) <= 0.1 + 1e-9,
            "crash": generated["crash_last_bar"] >= 0.6,
            "copies": generated["copied_4_bars"] <= validation["copied_4_bars"]}


def sets_table(new_words, set_size, first_seed, train_words, columns, alike=1.0):
    """--sets' lines: issue 29's targets on each run of set_size generated songs (columns: the
    training and validation songs' form_figures), then how many sets meet them all."""
    training, validation = columns[0], columns[1]
    lines, all_met = [f"\nissue 29's targets on each {set_size} songs (y: holds): " + " ".join(TARGETS)], 0
    for start in range(0, len(new_words) - set_size + 1, set_size):
        figures = form_figures(new_words[start:start + set_size], train_words, alike)
        met = targets_met(figures, training, validation)
        all_met += all(met.values())
        lines.append(f"  seeds {first_seed + start}-{first_seed + start + set_size - 1}: "
                     + " ".join("y" if met[k] else "-" for k in TARGETS) + ("  all" if all(met.values()) else ""))
    return "\n".join(lines + [f"  {all_met} of {len(lines) - 1} sets meet them all"])


def sampling(checkpoint, args):
    """How the songs are drawn, as generate.py --song draws them: no song shorter than the shortest
    training song; with --form, no bar chosen again past the training songs' longest run (for a
    checkpoint from before train.py kept it: counted here in the training songs, every style, as
    train.py counts it)."""
    corpus_facts = checkpoint["extra"].get("corpus") or {}
    longest = corpus_facts.get("longest_run") if args.form else 0
    if args.form and not (type(longest) is int and longest > 0):       # (as generate.py reads it)
        every_style = split_as_trained(checkpoint, args.data, lambda *a: None)[0]
        longest = lstm.longest_run([encoding.to_ids(words) for words in every_style])
    return lstm.Sampling(args.diversity, 16, False, True, style_index(checkpoint, args.style), form=args.form,
                         min_bars=min(corpus_facts.get("song_bars") or [1]), max_run=longest)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", help="a train.py checkpoint")
    p.add_argument("data", nargs="+", metavar="DATA", help="the folders or files it was trained on")
    p.add_argument("--songs", type=int, default=20, help="songs to generate (default %(default)s)")
    p.add_argument("--diversity", type=float, default=1.0, help="sampling temperature (default %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="the first song's seed (default %(default)s)")
    p.add_argument("--bars", type=int, default=512, help="the cap, in bars (default %(default)s, as generate.py)")
    p.add_argument("--style", help="play this style, one the checkpoint knows (default: style hidden)")
    p.add_argument("--alike", type=float, default=1.0, metavar="F",
                   help="two bars are the same bar if they share F of their hits (default 1: word for word)")
    p.add_argument("--draw", type=int, nargs="+", default=[], metavar="N",
                   help="also draw the form of generated song N (1 = the first), a letter a bar")
    p.add_argument("--form", action="store_true",
                   help="with the checkpoint's form head choosing bars to play again (as generate.py --form)")
    p.add_argument("--sets", type=int, default=0, metavar="N",
                   help="also check issue 29's targets on each N generated songs, a row a set (default 0: not)")
    return p.parse_args(argv)


def main(argv=None, log=print):
    """Print the table; returns the three columns' figures (training, validation, generated), or
    None after printing an error line."""
    args = parse_args(argv)
    try:
        if args.songs < 1 or args.bars < 1:
            raise ValueError(f"--songs {args.songs}, --bars {args.bars}: want 1 or more")
        if not 0 < args.alike <= 1:
            raise ValueError(f"--alike {args.alike:g}: want a share above 0, at most 1")
        if args.sets < 0:
            raise ValueError(f"--sets {args.sets}: want 0 (none) or more songs a set")
        checkpoint = lstm.load_checkpoint(args.checkpoint, vocab=encoding.VOCAB)
        if args.form and not checkpoint["config"]["form_head"]:
            raise ValueError(f"{args.checkpoint}: --form: this model has no form head")
        train_words, valid_words = split_as_trained(checkpoint, args.data, lambda *a: None, args.style)
        how = sampling(checkpoint, args)
        if not train_words or not valid_words:
            raise ValueError(f"no training or no validation songs{' of style ' + args.style if args.style else ''}"
                             f" in {' '.join(args.data)}")
    except (ValueError, encoding.CodecError, OSError) as e:          # (CheckpointError is a ValueError)
        print(encoding.error_line(e), file=sys.stderr)
        return None
    new_words = sample_songs(checkpoint, args.songs, args.seed, how, args.bars)
    columns = [form_figures(train_words, alike=args.alike), form_figures(valid_words, train_words, args.alike),
               form_figures(new_words, train_words, args.alike)]
    log(f"{args.checkpoint} on {' '.join(args.data)}: {args.songs} songs at diversity {args.diversity:g}, "
        f"seeds {args.seed}-{args.seed + args.songs - 1}, cap {args.bars} bars"
        + (f", style {args.style}" if args.style else "") + (f", bars alike at {args.alike:g}" if args.alike < 1 else ""))
    log(table(columns, ["training songs", "validation songs", "generated songs"], args.bars, args.alike))
    for n in args.draw:                                            # a generated song's form, as letters
        if 1 <= n <= len(new_words):
            log(f"\nthe form of generated song {n} (seed {args.seed + n - 1}), a letter a bar, equal bars alike:\n"
                + form_letters(song_bars(new_words[n - 1])))
    if args.sets:
        log(sets_table(new_words, args.sets, args.seed, train_words, columns, args.alike))
    return columns


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
