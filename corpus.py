"""corpus.py: songs and collections of songs, the data that train.py learns from.

encoding.py turns one drum track into words and back; this module gathers them into songs and
sets of songs, with what the data says about each (its style, whether it is a fill, which split
it belongs to), and measures how a set of songs drums.

    >>> song = read_song("data/demo/waltz_3_4.mid")          # a MIDI file, or a line of a words file
    >>> song.words[:3], song.feel.shape[1], song.style
    (['0b100000001', '0b000000000', '0b000000000'], 18, None)

In it, top to bottom:
  Song, read_songs / read_song     one song (words, feel ids (S, 18), style, fill, split): the
                                   one reader of a words file (with its feel) or a MIDI file
  to_feel_ids / from_feel_ids      a song's feel as the model's ids (S, 18), and back
  style_name, read_info_csv        styles: folder names, NAME=PATH, a dataset's info.csv
  load_songs(inputs)               files and folders -> songs, each with its style
  split_songs, split_by_data       the validation songs: a seeded share, or the data's own split
  song_stats, feel_stats,          how a corpus or a track drums: onsets, repeats, velocities,
  copy_stats, stats_table          timing, the phrases copied from the training songs
  main                             python corpus.py DATA --split NAME -o OUT.txt: one split of a
                                   dataset, encoded as encoding.py encodes files

It imports the codec (encoding.py), never a script. References: Magenta's Groove MIDI Dataset
and its info.csv (Gillick et al., 2019).
"""
import argparse
import collections
import csv
import os
import sys

import numpy as np

import encoding
from encoding import BAR, END, CLASS_NAMES, CodecError, N_CLASSES, TAB_LABELS, WORD_ID, class_bit

# ----------------------------------------------------------------------------
# 1. A song, and the one way to read one

Song = collections.namedtuple("Song", "name words feel style fill split", defaults=(None, False, None))
Song.__doc__ = """One song: name, words (list of str), feel ids (S, 18) or None, style (str or None),
fill (bool: a fill, not a beat), split ('train', 'validation', 'test' or None: not said)."""


def is_words_file(path):
    """A words file (.txt), but not the feel file beside one (.feel.txt)."""
    return path.lower().endswith(".txt") and not path.lower().endswith(".feel.txt")


def read_songs(path, compat=False, all_channels=False, feel=True):
    """A words file (every line a song, with the feel file beside it if there is one and feel)
    or a MIDI file (one song) -> list of Song, named path:line or path; CodecError naming the
    file if it cannot be read."""
    if path.lower().endswith(".feel.txt"):
        raise CodecError(f"{path}: a feel file; give its words file (song.txt), whose feel is read with it")
    if is_words_file(path):
        pairs = encoding.read_words_file(path, feel)               # [(words, feel or None)]
        return [Song(f"{path}:{k}", words, None if levels is None else to_feel_ids(words, levels))
                for k, (words, levels) in enumerate(pairs, 1)]
    bars, levels, _ = encoding.encode_file(path, compat=compat, all_channels=all_channels)
    words = encoding.bars_to_words(bars)
    return [Song(path, words, to_feel_ids(words, levels))]


def read_song(path, line=1, compat=False):
    """One song of a file (read_songs): a MIDI file's, or line `line` of a words file's."""
    if not os.path.exists(path):
        raise CodecError(f"{path}: no such file")
    songs = read_songs(path, compat)
    if not 1 <= line <= len(songs):
        raise CodecError(f"{path}: line {line}, but the file holds {len(songs)} song(s)")
    return songs[line - 1]


def to_feel_ids(words, feel):
    """A song's feel (as encoding.midi_to_bars gives it) -> the feel ids the model reads, int8
    (S, 2 * 9), a row per word, parallel to encoding.to_ids(words): columns 0..8 the velocity
    level of class k's hit, 9..17 its offset level + 4 (0..8); -1 where class k does not play
    (and on every BAR row)."""
    steps = [levels for bar in feel for levels in list(bar) + [None]]   # None under each BAR
    steps += [None] * (len(words) == len(steps) + 1 and words[-1] == END)  # ... and under END
    if len(steps) != len(words):
        raise CodecError(f"the feel has {len(steps)} places for {len(words)} words")
    out = np.full((len(words), 2 * N_CLASSES), -1, dtype=np.int8)       # (S, 18)
    for n, (word, levels) in enumerate(zip(words, steps)):
        if levels:
            classes = [k for k in range(N_CLASSES) if WORD_ID[word] & class_bit(k)]
            for k, (v, o) in zip(classes, levels):
                out[n, k], out[n, N_CLASSES + k] = v, o + encoding.MAX_OFFSET
    return out


def from_feel_ids(words, feel_ids):
    """The mirror of to_feel_ids: words and their feel ids (S, 18) -> the song's feel (bars of
    steps of (velocity, offset) pairs). A hit with no level (-1) plays at level 6, on the grid."""
    feel, bar = [], []
    for word, row in zip(words, feel_ids):
        if word == END:
            break
        if word == BAR:
            feel.append(bar)
            bar = []
            continue
        mask = WORD_ID[word]
        bar.append(tuple((int(row[k]) if row[k] >= 0 else 6,
                          int(row[N_CLASSES + k]) - encoding.MAX_OFFSET if row[N_CLASSES + k] >= 0 else 0)
                         for k in range(N_CLASSES) if mask & class_bit(k)))
    return feel


# ----------------------------------------------------------------------------
# 2. Styles: where the data says them
#
# A song's style, where the data says it:
#   - NAME=PATH: every song under PATH is style NAME (metallica=../shared/data/metallica/midi);
#   - a folder with an info.csv in it or in its parent (the Groove MIDI Dataset's layout):
#     the primary style of each file's row (jazz for "jazz/funk"), whether it is a fill
#     (beat_type), and its split (train / validation / test);
#   - any other folder: the name of the subfolder below it that a file sits in
#     (mydrums/jazz/a.mid is jazz), or the folder's own name for a file directly in it;
#   - a file given by itself: no style (None).

INFO_COLUMNS = ("midi_filename", "style", "beat_type", "split")   # what load_songs reads from an info.csv
Label = collections.namedtuple("Label", "style fill split")       # what the data says of one song


def style_name(name, where):
    """A style's name as the data gives it, in lower case (encoding.is_style_name: 1-40 letters,
    digits, - and _); CodecError naming `where` otherwise."""
    low = name.strip().lower()
    if not encoding.is_style_name(low):
        raise CodecError(f"{where}: style name {name[:50]!r}: want 1-{encoding.MAX_STYLE_CHARS} letters, digits, "
                         "- and _ (rename it, or give NAME=PATH)")
    return low


def read_info_csv(path, columns=INFO_COLUMNS):
    """A dataset's info.csv -> {midi_filename (normalised): Label}, every row checked.

    columns: those the caller needs (midi_filename always); a style or beat_type column not
    asked for is not read (the Label says None, False)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise CodecError(f"{path}: cannot read ({e})") from None
    if not rows:
        raise CodecError(f"{path}: empty (want a header with {', '.join(columns)})")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in columns if c not in header]
    if missing:
        raise CodecError(f"{path}: no column {', '.join(missing)} (want {', '.join(columns)})")
    table = {}
    for n, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise CodecError(f"{path}:{n}: {len(row)} fields, the header has {len(header)}")
        table[os.path.normpath(row[header.index("midi_filename")].strip())] = \
            info_label(dict(zip(header, (cell.strip() for cell in row))), columns, f"{path}:{n}")
    return table


def info_label(row, columns, where):
    """One info.csv row (a dict by column) -> its Label, the columns asked for checked."""
    beat_type = row.get("beat_type", "beat") if "beat_type" in columns else "beat"
    if beat_type not in ("beat", "fill"):
        raise CodecError(f"{where}: beat_type {beat_type[:30]!r}, want beat or fill")
    style = style_name(row["style"].split("/")[0], where) if "style" in columns else None
    return Label(style, beat_type == "fill", row.get("split"))


def find_info_csv(folder):
    """The info.csv in a folder or in its parent, or None."""
    folder = os.path.abspath(folder)
    near = [os.path.join(d, "info.csv") for d in (folder, os.path.dirname(folder))]
    return next((p for p in near if os.path.isfile(p)), None)


def info_key(path, table):
    """The info.csv row that names a file: a row's midi_filename is the end of a path (the CSV's
    folder, or a folder below it, holds the files); None if no row does."""
    parts = os.path.normpath(path).split(os.sep)
    return next((os.path.join(*parts[k:]) for k in range(len(parts)) if os.path.join(*parts[k:]) in table), None)


def labels_from_info(paths, info_csv):
    """{path: Label} for MIDI paths from an info.csv; every file the CSV names must be among them."""
    table, labels = read_info_csv(info_csv), {}
    for path in paths:
        key = info_key(path, table)
        if key is not None:
            labels[path] = table[key]
    seen = {info_key(path, table) for path in labels}
    absent = [name for name in table if name not in seen]
    if absent:
        raise CodecError(f"{info_csv}: names {absent[0]}, which is not there"
                         + (f" (nor {len(absent) - 1} more)" if len(absent) > 1 else ""))
    return labels


def files_in_split(paths, info_csv, split):
    """The paths that a dataset's info.csv (read_info_csv: midi_filename, split) puts in one split."""
    table = read_info_csv(info_csv, ("midi_filename", "split"))
    if split not in {label.split for label in table.values()}:
        splits = sorted({label.split for label in table.values()})
        raise CodecError(f"{info_csv}: no file in split {split!r} (splits: {', '.join(splits)})")
    return [p for p in paths if info_key(p, table) is not None and table[info_key(p, table)].split == split]


def folder_style(path, folder):
    """The style of a file found under a folder: the subfolder below it that holds the file, or
    the folder's own name."""
    rel = os.path.relpath(path, folder).split(os.sep)
    name = rel[0] if len(rel) > 1 else os.path.basename(os.path.abspath(folder))
    return style_name(name, os.path.join(folder, name) if len(rel) > 1 else folder)


# ----------------------------------------------------------------------------
# 3. Collections: files and folders -> songs, each with its style

def load_songs(inputs, all_channels=False, log=print, compat=False):
    """MIDI files, folders (recursive) and word files (.txt, one song per line) -> a list of
    Song, each with its style where the data says it (section 2) and its feel ids (S, 18),
    parallel to its words (None for a words file without a feel file beside it).

    MIDI files are encoded in the default (metre-aware) mode, or with the original's rules
    if compat; a file that cannot be read is reported and skipped. Each song is a whole
    song: in the metre-aware mode it gets END after its last BAR, so that a model learns
    where songs end; the original's format (compat) has no END.
    """
    songs = []
    for item in inputs:
        style = None
        if "=" in item and not os.path.exists(item):        # NAME=PATH
            name, item = item.split("=", 1)
            style = style_name(name, name + "=" + item)
        songs += songs_of_item(item, style, compat, all_channels, log)
    return [set_end(song, not compat) for song in songs]     # metre-aware: every song ends; compat: none do


def songs_of_item(item, style, compat, all_channels, log):
    """The songs of one input: a file, or every words and MIDI file below a folder, labelled."""
    if not os.path.exists(item):
        raise CodecError(f"{item}: no such file or folder")
    if item.lower().endswith(".feel.txt"):
        raise CodecError(f"{item}: a feel file; give its words file (song.txt), whose feel is read with it")
    folder = item if os.path.isdir(item) else None
    info = find_info_csv(item) if folder and style is None else None

    def label(path):                                        # what a folder or NAME=PATH says
        return Label(style if style or not folder else folder_style(path, folder), False, None)
    word_files = [item] if is_words_file(item) else []
    if folder:
        for root, _, files in os.walk(item):
            word_files += sorted(os.path.join(root, f) for f in files if is_words_file(f))
    songs = [song._replace(**label(path)._asdict()) for path in word_files for song in read_songs(path)]
    if word_files and not folder:
        return songs
    midi_files = encoding.find_midi_files([item])
    if not midi_files and not word_files:
        raise CodecError(f"{item}: no MIDI (.mid) or word (.txt) files")
    labels = labels_from_info(midi_files, info) if info else {}
    for path in midi_files:
        try:
            song = read_songs(path, compat, all_channels)[0]
        except CodecError as e:
            log(f"skipped {e}")
            continue
        songs.append(song._replace(**labels.get(path, label(path))._asdict()))
    return songs


def set_end(song, end):
    """A Song ending in END after its last BAR (end) or without END (not end), the feel
    given a row for it or losing it."""
    words, feel = song.words, song.feel
    has = words[-1:] == [END]
    if end and not has and words[-1:] == [BAR]:
        feel = None if feel is None else np.concatenate([feel, np.full((1, feel.shape[1]), -1, feel.dtype)])
        return song._replace(words=words + [END], feel=feel)
    if not end and has:
        return song._replace(words=words[:-1], feel=None if feel is None else feel[:-1])
    return song


# ----------------------------------------------------------------------------
# 4. Splits: which songs train and which validate

MIN_SONGS_TO_HOLD_OUT = 10   # with fewer songs, the tail of every song is held out instead


def split_songs(songs, fraction, seed):
    """Hold out a seeded share of whole songs for validation: (train, valid).

    With fewer than MIN_SONGS_TO_HOLD_OUT songs, a held-out song would be a style the model
    never trained on (the demo's only 7/8 groove, say), so the last share of every song's
    bars is held out instead (split_tails).
    """
    if fraction <= 0:
        return songs, []
    if len(songs) < MIN_SONGS_TO_HOLD_OUT:
        return split_tails(songs, fraction)
    n_valid = min(len(songs) - 1, max(1, round(fraction * len(songs))))
    held = set(np.random.default_rng(seed).choice(len(songs), n_valid, replace=False).tolist())
    return ([s for k, s in enumerate(songs) if k not in held],
            [s for k, s in enumerate(songs) if k in held])


def split_tails(songs, fraction):
    """(train, valid): the head of every song trains and its last share of bars validates
    (each split falls on a BAR), without the song's END: such a run never learns where songs end."""
    train_part, valid_part = [], []
    for song in songs:
        words, feel = song.words, song.feel
        end = len(words) - (words[-1] == END)               # (a head does not end, nor does its tail:
        bars_at = [i + 1 for i, w in enumerate(words) if w == BAR]  # neither part has END)
        cut = next((b for b in bars_at if b >= (1 - fraction) * end), end)
        if cut >= end or cut < 2:
            train_part.append(song)                         # too short to split: all of it trains
            continue
        part = lambda a, b: None if feel is None else feel[a:b]
        train_part.append(song._replace(name=song.name + " (head)", words=words[:cut], feel=part(0, cut)))
        valid_part.append(song._replace(name=song.name + " (tail)", words=words[cut:end], feel=part(cut, end)))
    return train_part, valid_part


def split_by_data(songs, fraction, seed):
    """(train, valid, dropped): the songs whose data names a split go by it (train; validation;
    any other, such as test, is dropped), the rest are split by split_songs."""
    unsaid = [s for s in songs if s.split is None]
    train, valid = split_songs(unsaid, fraction, seed) if unsaid else ([], [])
    return (train + [s for s in songs if s.split == "train"], valid + [s for s in songs if s.split == "validation"],
            [s for s in songs if s.split not in (None, "train", "validation")])


# ----------------------------------------------------------------------------
# 5. Statistics: how a corpus or a track drums

def song_stats(songs_words, bar_steps=16):
    """Figures that describe drumming, for a list of songs (lists of words).

    well_formed_bars  share of bars of exactly bar_steps steps (16 = one bar of 4/4)
    bar_lengths       how many bars have each length (so the share can be taken for any length)
    onsets_per_bar    mean onsets per bar of each class, by name
    empty_bar_rate    share of bars with no onset
    repeat_share      share of steps equal to the step at the same place one bar back
    """
    n_bars = well_formed = empty = same = compared = 0
    onsets = np.zeros(N_CLASSES)
    lengths = collections.Counter()
    for words in songs_words:
        prev = None
        for bar in lenient_bars(words):
            n_bars += 1
            lengths[len(bar)] += 1
            well_formed += len(bar) == bar_steps
            empty += not any(bar)
            for k in range(N_CLASSES):
                onsets[k] += sum(1 for mask in bar if mask & class_bit(k))
            if prev is not None:
                n = min(len(bar), len(prev))
                same += sum(1 for a, b in zip(bar[:n], prev[:n]) if a == b)
                compared += n
            prev = bar
    per_bar = onsets / max(n_bars, 1)
    return {"bars": n_bars,
            "well_formed_bars": round(well_formed / max(n_bars, 1), 4),
            "onsets_per_bar": {name: round(float(x), 3) for name, x in zip(CLASS_NAMES, per_bar)},
            "empty_bar_rate": round(empty / max(n_bars, 1), 4),
            "repeat_share": round(same / max(compared, 1), 4),
            "bar_lengths": {str(n): c for n, c in sorted(lengths.items())}}




def feel_stats(songs_words, songs_feel):
    """How a corpus or a track plays its hits, per drum class (by name): for songs (lists of
    words) and their feel ids (to_feel_ids; None for a song without feel, skipped).

    hits             hits with feel
    velocity_mean    mean MIDI velocity (each level at the velocity it plays at), and
    velocity_sd      its standard deviation
    accent_contrast  mean velocity on the beats (places 0, 4, 8, ... of the bar) minus off them
    offset_sd_steps  standard deviation of the offsets, in steps (x 60000 / bpm / 4 for ms)
    velocity_levels  share of the hits at each of the 8 velocity levels
    """
    per_class = {k: ([], [], []) for k in range(N_CLASSES)}   # velocity, offset (steps), on a beat
    for words, feel in zip(songs_words, songs_feel):
        if feel is None:
            continue
        place = 0
        for word, row in zip(words, feel):
            if word == BAR:
                place = 0
                continue
            for k in range(N_CLASSES):
                if row[k] >= 0:
                    per_class[k][0].append(encoding.level_to_velocity(int(row[k])))
                    per_class[k][1].append((int(row[N_CLASSES + k]) - encoding.MAX_OFFSET) / encoding.OFFSET_LEVELS)
                    per_class[k][2].append(place % encoding.STEPS_PER_BEAT == 0)
            place += 1
    out = {}
    for name, (vel, off, beat) in zip(CLASS_NAMES, per_class.values()):
        vel, off, beat = np.array(vel, float), np.array(off, float), np.array(beat, bool)
        mean = lambda a: round(float(a.mean()), 3) if len(a) else None
        out[name] = {"hits": len(vel), "velocity_mean": mean(vel),
                     "velocity_sd": round(float(vel.std()), 3) if len(vel) else None,
                     "accent_contrast": round(float(vel[beat].mean() - vel[~beat].mean()), 3)
                     if beat.any() and (~beat).any() else None,
                     "offset_sd_steps": round(float(off.std()), 4) if len(off) else None,
                     "velocity_levels": [round(float(x), 4) for x in
                                         np.bincount(vel.astype(int) // encoding.VELOCITY_WIDTH, minlength=encoding.VELOCITY_LEVELS)
                                         / max(len(vel), 1)]}
    return out


def stats_table(results, corpus_stats):
    """The tracks' statistics beside the training corpus's, one row each."""
    short = dict(zip(CLASS_NAMES, TAB_LABELS))
    head = f"{'':>10} {'bars':>5} {'well-formed':>11} {'empty':>6} {'repeat':>6}  onsets/bar " + \
        " ".join(f"{label:>4}" for label in TAB_LABELS)
    rows = [head]
    named = [("corpus", corpus_stats)] if corpus_stats else []
    named += [(f"div {r['diversity']:g}", r) for r in results]
    for name, s in named:
        per = " ".join(f"{s['onsets_per_bar'][n]:4.1f}" for n in short)
        rows.append(f"{name:>10} {s['bars']:5d} {s['well_formed_bars']:11.0%} {s['empty_bar_rate']:6.0%} "
                    f"{s['repeat_share']:6.0%}  {'':>10} {per}")
    return "\n".join(rows)


def copy_stats(tracks_words, reference_words, lengths=(1, 2, 4, 8)):
    """How much of some tracks is copied from reference songs (a model's training songs):

    copied_share  for each n in lengths, the share of the tracks' n-bar phrases (every run
                  of n consecutive bars) found verbatim somewhere in the reference songs
    longest_copy  the longest run of consecutive bars of any track found verbatim in them
    """
    as_bars = lambda songs: [tuple(tuple(bar) for bar in lenient_bars(words)) for words in songs]
    tracks, refs = as_bars(tracks_words), as_bars(reference_words)

    def phrases(songs, n):
        return {song[i:i + n] for song in songs for i in range(len(song) - n + 1)}

    shares = {}
    for n in lengths:
        known = phrases(refs, n)
        windows = [song[i:i + n] for song in tracks for i in range(len(song) - n + 1)]
        shares[str(n)] = round(sum(w in known for w in windows) / len(windows), 4) if windows else None
    longest, n = 0, 1
    while any(len(song) >= n for song in tracks):             # grow n while some n-bar run is copied
        known = phrases(refs, n)
        if not any(song[i:i + n] in known for song in tracks for i in range(len(song) - n + 1)):
            break
        longest, n = n, n + 1
    return {"copied_share": shares, "longest_copy": longest}


def lenient_bars(words):
    """Words -> bars of masks, leniently: a BAR closes a bar; steps after the last BAR are dropped."""
    bars, bar = [], []
    for w in words:
        if w == BAR:
            if bar:
                bars.append(bar)
            bar = []
        elif w != END:
            bar.append(WORD_ID[w])
    return bars


# ----------------------------------------------------------------------------
# 6. Command line: one split of a dataset, encoded to words

def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Encode the MIDI files of one split (train, validation, test) of a dataset's info.csv "
                    "into a words corpus (one song per line) and its feel, as encoding.py encodes files.",
        epilog="example:\n  python corpus.py ../shared/data/groove/midi --split train -o groove_train.txt",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="MIDI files or folders (searched recursively)")
    parser.add_argument("--split", metavar="NAME", required=True, help="the split to encode")
    parser.add_argument("--info", metavar="CSV", help="the info.csv to read (columns midi_filename, split; "
                        "default: info.csv in the first INPUT or its parent folder)")
    parser.add_argument("-o", "--output", default="-", help="output file (default: standard output)")
    parser.add_argument("--compat", action="store_true", help="the original LSTMetallica rules (encoding.py)")
    parser.add_argument("--all-channels", action="store_true", help="notes from every MIDI channel")
    parser.add_argument("--flat", action="store_true", help="no feel file beside -o")
    args = parser.parse_args(argv)
    info = args.info or find_info_csv(args.inputs[0])
    if info is None:
        parser.error("--split needs --info CSV (no info.csv next to the first INPUT)")
    try:
        paths = files_in_split(encoding.find_midi_files(args.inputs), info, args.split)
        return encoding.encode_files(paths, args)
    except (CodecError, OSError) as e:
        print(encoding.error_line(e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
