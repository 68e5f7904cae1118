"""encoding.py: the drum codec, MIDI <-> words, as in LSTMetallica (K. Choi, 2016).

A drum track becomes a song of words. Each 16th-note step is one word, `0b` and 9 characters,
one per drum class, `1` when a note of that class starts on the step; `BAR` closes each bar.

    >>> bars = [[0b100000001, 0, 0b001000000, 0, 0b010000000, 0, 0b001000000, 0]]
    >>> " ".join(bars_to_words(bars))  # one 2/4 bar: kick+crash, hat, snare, hat
    '0b100000001 0b000000000 0b001000000 0b000000000 0b010000000 0b000000000 0b001000000 0b000000000 BAR'
    >>> words_to_bars("0b100000000 0b000000000 BAR".split())
    [[256, 0]]

Inside the code a step is an int, a 9-bit mask: class k (0 = kick ... 8 = crash) is bit (8 - k), so
`format(mask, "#011b")` is the word and `int(word, 2)` reads it back; a song is a list of bars, a bar a
list of step masks. Two ways to read MIDI: --compat, the original's rules (480 ticks per beat whatever
the file says, every channel, BAR after every 16 steps: it rebuilds metallica_drums_text.txt byte for
byte); and the default: the file's ticks per beat, channel 10, BAR at its bar lines (3/4 = 12 steps).

In order: the constants (DRUM_CLASSES, the one table of drum classes; BAR, END, VOCAB); words
<-> bars and the drum tab (tests/drum_tabs.py reads one back); ticks <-> steps; feel levels and
text; MIDI -> bars; bars -> MIDI and write_atomic; the command line. Songs, styles, splits and
statistics live in corpus.py.

References: General MIDI 1 percussion key map (MIDI Manufacturers Association,
https://www.midi.org/specifications-old/item/gm-level-1-sound-set); Standard MIDI File 1.0 (time
signature meta event FF 58); K. Choi, J. Kim et al., "Text-based LSTM networks for automatic
music composition", 2016.
"""
import argparse
import collections
import io
import os
import sys
import tempfile
from fractions import Fraction

import mido
import numpy as np

# ----------------------------------------------------------------------------
# The format's constants

# The drum classes, in the order of the characters of a word: GM key number, name, drum-tab
# label. The one table: the word length, the vocabulary, the model's feel head and inputs,
# the tab and the synthesiser's voices (generate.py, by name) all follow it.
DRUM_CLASSES = (
    (36, "kick", "BD"), (38, "snare", "SD"), (42, "closed hi-hat", "HH"), (46, "open hi-hat", "OH"),
    (41, "low floor tom", "FT"), (45, "low tom", "LT"), (48, "hi-mid tom", "MT"), (51, "ride", "RD"),
    (49, "crash", "CR"),
)
N_CLASSES = len(DRUM_CLASSES)  # 9
CLASS_PITCHES = tuple(pitch for pitch, _, _ in DRUM_CLASSES)
CLASS_NAMES = tuple(name for _, name, _ in DRUM_CLASSES)
TAB_LABELS = tuple(label for _, _, label in DRUM_CLASSES)   # drum-tab rows, in class order

# GM percussion keys folded into the 9 classes (LSTMetallica's table, used as it is
# by --compat); any key not here and not a class pitch itself is dropped (and counted).
PITCH_FOLD = {
    35: 36, 37: 38, 40: 38, # acoustic bass drum -> bass drum 1; side stick, electric snare -> acoustic snare
    43: 41, 47: 45, 50: 48, # high floor, low-mid, high tom -> low floor, low, hi-mid tom
    44: 42,                 # pedal hi-hat -> closed hi-hat
    57: 49, 52: 49,         # crash 2, chinese cymbal -> crash 1
    59: 51, 53: 51, 55: 51, # ride 2, ride bell, splash -> ride 1
}
# The default mode adds the keys electronic kits send for zones of the same drums (Roland's
# TD-series map, as the Groove MIDI Dataset documents it) and hand clap for a backbeat. The rest
# (hand and latin percussion, GM level 2's effects and clicks) is dropped and counted.
EKIT_FOLD = {
    22: 42,                 # hi-hat closed, edge (TD-11) -> closed hi-hat
    26: 46,                 # hi-hat open, edge (TD-11) -> open hi-hat
    58: 41,                 # tom 3 rim (TD-11; GM's vibraslap) -> low floor tom, like tom 3 head (43)
    55: 49,                 # crash 1 edge (TD-11; GM's splash) -> crash, not ride as the original folds it
    39: 38,                 # hand clap -> snare
}
COMPAT_PITCH_TO_CLASS = {p: k for k, p in enumerate(CLASS_PITCHES)}
COMPAT_PITCH_TO_CLASS.update({p: COMPAT_PITCH_TO_CLASS[q] for p, q in PITCH_FOLD.items()})
PITCH_TO_CLASS = dict(COMPAT_PITCH_TO_CLASS)   # the default mode's map
PITCH_TO_CLASS.update({p: COMPAT_PITCH_TO_CLASS[q] for p, q in EKIT_FOLD.items()})

BAR = "BAR"
END = "END"                 # after a song's last BAR: the song ends here (learned by train.py; generate.py --song)
STEPS_PER_BEAT = 4          # a step is a 16th note; a MIDI "beat" is a quarter note
DRUM_CHANNEL = 9            # MIDI channel 10, counted from 0 as mido does
COMPAT_TICKS_PER_BEAT = 480 # the original assumed this for every file
COMPAT_STEPS_PER_BAR = 16   # ... and 4/4 for every bar
MAX_STEPS = 1 << 20         # 65,536 bars of 4/4 (9 hours at 120 bpm): beyond, the file is broken
MAX_BAR_STEPS = 256         # the longest bar we accept (64/4)
MAX_DENOMINATOR = 64        # the shortest beat we accept, a 64th note (a 1/64 bar is a quarter of a step)

# The 2^9 step words in mask order (STEP_WORDS[mask]); the vocabulary, the same for every corpus so that
# any song can be scored and any primer used: the step words (id = the mask), then BAR (512), END (513).
STEP_WORDS = tuple(format(mask, f"#0{2 + N_CLASSES}b") for mask in range(1 << N_CLASSES))
VOCAB = list(STEP_WORDS) + [BAR, END]
WORD_ID = {w: i for i, w in enumerate(VOCAB)}
BAR_ID = WORD_ID[BAR]            # 512
END_ID = WORD_ID[END]            # 513
SILENCE_ID = 0                   # '0b000000000': nothing starts on this step

# A style's name, as the data gives it (a folder, NAME=PATH, an info.csv row) and a checkpoint keeps it.
STYLE_CHARACTERS, MAX_STYLE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_"), 40


def is_style_name(name):
    """Whether name is a style's name (STYLE_CHARACTERS, 1 to MAX_STYLE_CHARS of them)."""
    return isinstance(name, str) and 1 <= len(name) <= MAX_STYLE_CHARS and set(name) <= STYLE_CHARACTERS


class CodecError(ValueError):
    """Bad input for the codec: a malformed word or song, or an unusable MIDI file."""


# ----------------------------------------------------------------------------
# Words <-> steps <-> bars

def class_bit(k):
    """The mask bit of drum class k (0 = kick is the leftmost character)."""
    return 1 << (N_CLASSES - 1 - k)


def to_ids(words):
    """Words -> int32 array of ids in VOCAB."""
    return np.array([WORD_ID[w] for w in words], dtype=np.int32)


def step_to_word(mask):
    """9-bit mask -> word, e.g. 0b100000001 (kick + crash) -> '0b100000001'."""
    if not (isinstance(mask, int) and 0 <= mask < (1 << N_CLASSES)):
        raise CodecError(f"not a {N_CLASSES}-bit step mask: {str(mask)[:40]}")
    return STEP_WORDS[mask]


def word_to_step(word):
    """Word -> 9-bit mask. Only '0b' + exactly 9 of '0'/'1' is a step word."""
    if not (isinstance(word, str) and len(word) == 2 + N_CLASSES and word.startswith("0b")
            and set(word[2:]) <= {"0", "1"}):
        shown = repr(word) if len(repr(word)) <= 40 else repr(word)[:36] + "...'"  # a token can be megabytes
        raise CodecError(f"not a step word (want '0b' + {N_CLASSES} of 0/1, or BAR): {shown}")
    return int(word[2:], 2)


def bars_to_words(bars):
    """Song (list of bars of step masks) -> list of words, BAR after each bar."""
    words = []
    for bar in bars:
        if len(bar) == 0:
            raise CodecError("a bar must hold at least one step")
        words += [step_to_word(mask) for mask in bar] + [BAR]
    return words


def words_to_bars(words):
    """List of words -> song. Every bar is 1+ step words closed by BAR; END, if there, is the
    last word, after a BAR (the song ends there: the bars are the same with or without it)."""
    check_end(words)
    bars, bar = [], []
    for word in words[:-1] if words and words[-1] == END else words:
        if word == BAR:
            if not bar:
                raise CodecError("empty bar: BAR must follow at least one step word")
            bars.append(bar)
            bar = []
        else:
            bar.append(word_to_step(word))
    if bar:
        raise CodecError(f"the song ends inside a bar ({len(bar)} steps after the last BAR)")
    return bars


def check_end(words):
    """CodecError unless END is absent, or the last word and right after a BAR."""
    if END in words:
        at = words.index(END)
        if at != len(words) - 1:
            raise CodecError(f"an END word in the middle of a song (word {at + 1} of {len(words)}): "
                             "END closes a song, after its last BAR")
        if at == 0 or words[at - 1] != BAR:
            raise CodecError("END must follow the song's last BAR")


def read_corpus(path):
    """A words file -> list of songs (lists of words), one per non-empty line (the original
    corpus, all on one line, is one song). CodecError names an unknown token or a misplaced END."""
    songs = []
    for line_no, words in enumerate(_token_lines(path, "words"), 1):
        try:
            for word in (w for w in words if w not in (BAR, END)):
                word_to_step(word)                                 # CodecError naming a bad token
            check_end(words)
        except CodecError as e:
            raise CodecError(f"{path}:{line_no}: {e}") from None
        if words:
            songs.append(words)
    return songs


def _token_lines(path, kind):
    """The lines of a text file, each split into its tokens; CodecError if it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            return [line.split() for line in f.read().splitlines()]
    except (OSError, UnicodeDecodeError) as e:
        raise CodecError(f"{path}: cannot read {kind} file ({e})") from None


def bars_to_tab(bars, feel=None, rest="-"):
    """Song -> drum tab text: a row per class (cymbals on top), a column per step. A hit is x;
    with the song's feel, an accent (velocity level 7, 112+) is X, a ghost note (level 2 or less) o.

    >>> tab = bars_to_tab([[0b100000001, 0b001000000, 0b010000000, 0b001000000]])
    >>> print(tab[tab.index("HH"):])                     # the last three rows of nine
    HH |-x-x|
    SD |--x-|
    BD |x---|
    """
    def cell(mask, levels, k):
        if not mask & class_bit(k):
            return rest
        if levels is None:
            return "x"
        v = levels[sum(1 for j in range(k) if mask & class_bit(j))][0]   # this class's place among the hits
        return "X" if v >= ACCENT_LEVEL else "o" if v <= GHOST_LEVEL else "x"

    feel = feel if feel is not None else [[None] * len(bar) for bar in bars]
    rows = []
    for k in reversed(range(N_CLASSES)):
        cells = ("".join(cell(mask, levels, k) for mask, levels in zip(bar, bar_feel))
                 for bar, bar_feel in zip(bars, feel))
        rows.append(f"{TAB_LABELS[k]} |" + "|".join(cells) + "|")
    return "\n".join(rows)


# ----------------------------------------------------------------------------
# Ticks <-> steps

def tick_to_step(tick, ticks_per_beat):
    """Nearest 16th step of a tick (int or Fraction), a tie rounding UP (round() would round
    ties to even, not the original's rule): floor(tick * 4 / tpb + 1/2); for tpb 480, (tick + 60) // 120."""
    return int((Fraction(tick) * STEPS_PER_BEAT / ticks_per_beat + Fraction(1, 2)) // 1)


def step_to_tick(step, ticks_per_beat):
    """Tick of a step, rounded to the nearest tick (exact when tpb % 4 == 0)."""
    return (2 * step * ticks_per_beat + STEPS_PER_BEAT) // (2 * STEPS_PER_BEAT)  # floor(step*tpb/4 + 1/2)


def bar_steps_to_time_signature(n_steps):
    """A bar of n 16th steps -> (numerator, denominator): 16 -> 4/4, 12 -> 3/4, 14 -> 7/8, 5 -> 5/16."""
    for denominator, steps_per_unit in ((4, 4), (8, 2), (16, 1)):
        if n_steps % steps_per_unit == 0:
            return n_steps // steps_per_unit, denominator
    raise AssertionError("unreachable")


# ----------------------------------------------------------------------------
# Feel: how hard each hit is played and how far off its step it lands

# A hit's feel is two small integers, its levels (the resolution is measured in docs/feel.md). Velocity
# 1..127 in 8 levels of 16, played back at the level's middle (8, 24, ..., 120). The offset from its step
# in ninths of a 16th, -4..+4: 0 is on the grid and +3 a triplet swing's late 16th, both exactly; a note
# is at most half a step from its nearest step, so -4..+4 covers every one.
VELOCITY_LEVELS = 8
VELOCITY_WIDTH = 128 // VELOCITY_LEVELS # 16 velocities a level
OFFSET_LEVELS = 9                       # -4..+4, in ninths of a step
MAX_OFFSET = OFFSET_LEVELS // 2         # 4
MIN_FEEL_TICKS_PER_BEAT = 96            # a ninth of a 16th is then 2.7 ticks or more: each level its own ticks
ACCENT_LEVEL, GHOST_LEVEL = 7, 2        # velocity 112+ is an accent, below 48 a ghost note (drum tabs: X, o)


def velocity_to_level(velocity):
    """MIDI velocity 1..127 -> level 0..7: 0-15 -> 0, 16-31 -> 1, ..., 112-127 -> 7."""
    return min(velocity // VELOCITY_WIDTH, VELOCITY_LEVELS - 1)


def level_to_velocity(level):
    """Level 0..7 -> the MIDI velocity it plays at, the middle of its range: 8, 24, ..., 120."""
    return VELOCITY_WIDTH * level + VELOCITY_WIDTH // 2


def tick_to_offset_level(tick, step, ticks_per_beat):
    """How far a note at `tick` lies from its step, in ninths of a step, rounded (ties up):
    the offset tick * 4 / tpb - step is in [-1/2, 1/2), so floor(9 * offset + 1/2) is in -4..+4;
    in integers (O = 9 offset levels, S = 4 steps a beat), (2 O S tick - 2 O step tpb + tpb) // (2 tpb)."""
    O, S = OFFSET_LEVELS, STEPS_PER_BEAT
    return (2 * O * S * tick - 2 * O * step * ticks_per_beat + ticks_per_beat) // (2 * ticks_per_beat)


def offset_level_to_ticks(level, ticks_per_beat):
    """Offset level -> ticks from the step, rounded: level/9 of a step is level * tpb / 36 ticks."""
    per_step = OFFSET_LEVELS * STEPS_PER_BEAT
    return (2 * level * ticks_per_beat + per_step) // (2 * per_step)


# The feel as text, in a file beside the words file (song.txt -> song.feel.txt), a token per
# word: a step's hits in class order, each its velocity level and signed offset, joined by ","
# (7+0 on the grid, 2-1 a ghost note a ninth early); "." a silent step, "|" under BAR and END.
FEEL_SILENT, FEEL_BAR = ".", "|"


def feel_to_tokens(feel, end=False):
    """A song's feel (bars of steps of (velocity, offset) pairs) -> a token per word (with end,
    a last "|" under the song's END).

    >>> feel_to_tokens([[((7, 0), (6, 0)), (), ((2, -1),), ()]])
    ['7+0,6+0', '.', '2-1', '.', '|']
    """
    tokens = []
    for bar in feel:
        tokens += [",".join(f"{v}{o:+d}" for v, o in levels) or FEEL_SILENT for levels in bar] + [FEEL_BAR]
    return tokens + [FEEL_BAR] * end


def tokens_to_feel(tokens, words):
    """Feel tokens -> the song's feel, checked against its words (a token per word, "|" under
    BAR, "." under a silent step, a pair per hit); CodecError names the word (from 1) that does not match."""
    if len(tokens) < len(words):
        raise CodecError(f"word {len(tokens) + 1} ({words[len(tokens)]}): the feel ends early ({len(tokens)} "
                         f"tokens for {len(words)} words)")
    if len(tokens) > len(words):
        raise CodecError(f"the feel runs on: {len(tokens)} tokens for {len(words)} words")
    feel, bar = [], []
    for n, (token, word) in enumerate(zip(tokens, words), 1):
        where = f"word {n} ({word}), feel {token[:20]!r}"
        if word in (BAR, END):
            if token != FEEL_BAR:
                raise CodecError(f"{where}: want '{FEEL_BAR}' under {word}")
            if word == BAR:
                feel.append(bar)
                bar = []
            continue
        mask = word_to_step(word)
        parts = [] if token == FEEL_SILENT else token.split(",")
        if len(parts) != bin(mask).count("1"):
            raise CodecError(f"{where}: {len(parts)} hit(s) of feel for a word with {bin(mask).count('1')}")
        if not all(len(part) == 3 and part[0] in "0123456789"[:VELOCITY_LEVELS] and part[1] in "+-"
                   and part[2] in "0123456789"[:MAX_OFFSET + 1] for part in parts):
            raise CodecError(f"{where}: want velocity 0-{VELOCITY_LEVELS - 1} and offset "
                             f"-{MAX_OFFSET}..+{MAX_OFFSET} per hit, e.g. 5+0 or 2-1")
        bar.append(tuple((int(part[0]), int(part[1:])) for part in parts))
    if bar:
        raise CodecError(f"the song ends inside a bar ({len(bar)} steps after the last BAR)")
    return feel


def feel_path(words_path):
    """Where the feel of a words file lives: song.txt -> song.feel.txt."""
    root, ext = os.path.splitext(words_path)
    return root + ".feel" + (ext or ".txt")


def read_feel(path, songs):
    """The feel file of a words file (read_corpus's songs) -> a feel per song; CodecError names the line."""
    lines = [tokens for tokens in _token_lines(path, "feel") if tokens]
    if len(lines) != len(songs):
        raise CodecError(f"{path}: {len(lines)} lines of feel for {len(songs)} songs"
                         + (" (the feel ends early)" if len(lines) < len(songs) else ""))
    feels = []
    for line_no, (tokens, words) in enumerate(zip(lines, songs), 1):
        try:
            feels.append(tokens_to_feel(tokens, words))
        except CodecError as e:
            raise CodecError(f"{path}:{line_no}: {e}") from None
    return feels


def read_words_file(path, feel=True):
    """A words file, with feel the feel file beside it if there is one -> [(words, feel or None)]."""
    songs = read_corpus(path)
    if not (feel and songs and os.path.exists(feel_path(path))):
        return [(words, None) for words in songs]
    return list(zip(songs, read_feel(feel_path(path), songs)))

# ----------------------------------------------------------------------------
# MIDI -> bars

MAX_MIDI_BYTES = 64 << 20   # 64 MiB: far beyond any drum part; a bigger file is refused unread


def read_midi(path_or_file):
    """Read a Standard MIDI File; any failure is a one-line CodecError. Beyond mido's checks, the
    header must say what the file holds: format 0 or 1, ticks per beat (not SMPTE, not 0), its tracks."""
    name = getattr(path_or_file, "name", path_or_file)
    try:
        if isinstance(path_or_file, (str, os.PathLike)):
            if os.path.getsize(path_or_file) > MAX_MIDI_BYTES:
                raise CodecError(f"{name}: larger than {MAX_MIDI_BYTES >> 20} MiB, not a drum part")
            with open(path_or_file, "rb") as f:
                data = f.read()
        else:
            data = path_or_file.read(MAX_MIDI_BYTES + 1)
        if not data:
            raise CodecError(f"{name}: empty file (0 bytes)")
        mid = mido.MidiFile(file=io.BytesIO(data))
    except CodecError:
        raise
    except Exception as e:  # mido raises OSError, EOFError, ValueError, KeyError, ...
        reason = (str(e) or type(e).__name__)[:200]
        raise CodecError(f"{name}: not a readable MIDI file ({reason})") from None
    mid.filename = name if isinstance(name, str) else None
    fmt, n_tracks, division = (int.from_bytes(data[k:k + 2], "big") for k in (8, 10, 12))
    for bad, reason in ((fmt == 2, "type 2 MIDI files (independent patterns) are not supported"),
                        (fmt > 2, f"MIDI file type {fmt} does not exist (0, 1 or 2)"),
                        (division & 0x8000, "SMPTE time division is not supported (need ticks per beat)"),
                        (division == 0, "the header gives 0 ticks per beat"),
                        (len(mid.tracks) != n_tracks, f"the header declares {n_tracks} track(s), the file holds "
                                                      f"{len(mid.tracks)}: truncated or corrupt")):
        if bad:
            raise CodecError(f"{name}: {reason}")
    return mid


def _absolute_events(mid):
    """Every message of every track with its absolute tick, merged by time."""
    events = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            events.append((tick, msg))
    events.sort(key=lambda e: e[0])  # stable: same-tick order within a track is kept
    return events


def _bar_lines(time_signatures, ticks_per_beat, end_step):
    """Bar-line steps [0, b1, ..., bn] with bn >= end_step, from time-signature events. A bar of
    num/den lasts num * 4/den beats; its lines fall at exact ticks, then round to steps like onsets
    (5/32 = 2.5 steps alternates 3 and 2, never drifting); a time signature inside a bar starts a
    new bar there; lines on one step merge. Bar line j after a signature at tick s is at s + j *
    num * 4 * tpb / den, so at step (8 s den + 32 j num tpb + tpb den) // (2 tpb den), in integers."""
    tpb = ticks_per_beat
    metre_at = {0: (4, 4)}                                  # SMF default metre
    for tick, num, den in sorted(time_signatures, key=lambda c: c[0]):
        metre_at[tick] = (num, den)                         # the last at a tick wins
    starts = sorted(metre_at)
    lines = [0]
    if end_step <= 0:
        return lines

    def add(step):
        if step > lines[-1]:
            if step - lines[-1] > MAX_BAR_STEPS:
                raise CodecError(f"a bar of {step - lines[-1]} steps (limit {MAX_BAR_STEPS})")
            lines.append(step)

    for k, s in enumerate(starts):
        num, den = metre_at[s]
        bar_ticks_x_den = num * 4 * tpb                     # one bar, in ticks, times den
        if k + 1 < len(starts):                             # bars up to the next signature,
            n = ((starts[k + 1] - s) * den - 1) // bar_ticks_x_den  # those strictly before it
        else:                                               # the last metre: up to end_step
            n = max(1, -(-(end_step * 2 * tpb * den - 8 * s * den - tpb * den) // (32 * num * tpb)))
        for j in range(1, n + 1):
            add((8 * s * den + 32 * j * num * tpb + tpb * den) // (2 * tpb * den))
            if lines[-1] >= end_step:
                return lines
        if k + 1 < len(starts):
            add(tick_to_step(starts[k + 1], tpb))           # a new signature starts a bar
            if lines[-1] >= end_step:
                return lines
    while lines[-1] < end_step:                             # (rounding left the last line short)
        n += 1
        add((8 * s * den + 32 * n * num * tpb + tpb * den) // (2 * tpb * den))
    return lines


def _read_hits(mid, tpb, pitch_to_class, take_all):
    """A MIDI file's onsets (note_on, velocity > 0) by step: (step, class) -> (velocity, offset level) of the
    loudest; its time signatures [(tick, num, den)]; its last tick; the report (onsets, notes dropped)."""
    hits, time_signatures, end_tick = {}, [], 0
    dropped, other_channels = collections.Counter(), collections.Counter()   # pitch, channel (1-based) -> notes
    for tick, msg in _absolute_events(mid):
        end_tick = max(end_tick, tick)
        if tick_to_step(tick, tpb) >= MAX_STEPS:   # (no tick in the text: it can have thousands of digits)
            raise CodecError(f"an event lies beyond {MAX_STEPS} steps ({MAX_STEPS // 16} bars of 4/4): "
                             "absurd delta time?")
        if msg.type == "time_signature":
            if not (1 <= msg.numerator and 1 <= msg.denominator <= MAX_DENOMINATOR):
                den = msg.denominator if msg.denominator <= 1024 else f"2^{msg.denominator.bit_length() - 1}"
                raise CodecError(f"time signature {msg.numerator}/{den} is not usable "
                                 f"(numerator at least 1, denominator at most {MAX_DENOMINATOR})")
            time_signatures.append((tick, msg.numerator, msg.denominator))
        if msg.type != "note_on" or msg.velocity == 0:
            continue
        if not take_all and msg.channel != DRUM_CHANNEL:
            other_channels[msg.channel + 1] += 1
            continue
        k = pitch_to_class.get(msg.note)
        if k is None:
            dropped[msg.note] += 1
            continue
        step = tick_to_step(tick, tpb)
        if msg.velocity > hits.get((step, k), (0,))[0]:
            hits[(step, k)] = (msg.velocity, tick_to_offset_level(tick, step, tpb))
    report = {"onsets": len(hits), "dropped": dict(sorted(dropped.items())),
              "other_channels": dict(sorted(other_channels.items()))}
    return hits, time_signatures, end_tick, report


def midi_to_bars(mid, compat=False, all_channels=False):
    """MIDI file -> (song as bars of step masks, its feel, report dict). The song starts at tick 0 and ends
    with the bar of the last onset, or (default mode) at the end of track if that is a later bar line, so
    trailing silent bars survive a round trip. feel[b][s]: a (velocity level, offset level) per hit of step
    s of bar b, in class order. compat: 480 ticks a beat, 16-step bars, every channel (else all_channels)."""
    tpb = COMPAT_TICKS_PER_BEAT if compat else mid.ticks_per_beat
    hits, time_signatures, end_tick, report = _read_hits(
        mid, tpb, COMPAT_PITCH_TO_CLASS if compat else PITCH_TO_CLASS, compat or all_channels)
    end_step = max((step + 1 for step, _ in hits), default=0)
    if compat:
        n_steps = -(-end_step // COMPAT_STEPS_PER_BAR) * COMPAT_STEPS_PER_BAR  # pad to a whole bar
        lines = list(range(0, n_steps + 1, COMPAT_STEPS_PER_BAR))
    else:                                  # up to the bar line after the last onset, or the end of track's
        eot_step = tick_to_step(end_tick, tpb)
        lines = _bar_lines(time_signatures, tpb, max(end_step, eot_step))
        end = next(b for b in lines if b >= end_step)
        end = eot_step if eot_step > end and eot_step in lines else end
        lines = lines[:lines.index(end) + 1]
    steps = [0] * lines[-1]
    for step, k in hits:
        steps[step] |= class_bit(k)
    step_feel = [tuple((velocity_to_level(hits[(s, k)][0]), hits[(s, k)][1])
                       for k in range(N_CLASSES) if mask & class_bit(k))
                 for s, mask in enumerate(steps)]
    bars = [steps[a:b] for a, b in zip(lines[:-1], lines[1:])]
    feel = [step_feel[a:b] for a, b in zip(lines[:-1], lines[1:])]
    report["bars"] = len(bars)
    return bars, feel, report


# ----------------------------------------------------------------------------
# Bars -> MIDI

MIN_BPM, MAX_BPM = 4.0, 1000.0   # a MIDI tempo is 1..2^24-1 microseconds per beat: 3.58..60,000,000 bpm


def check_bpm(bpm):
    """CodecError unless bpm is a tempo a MIDI file can hold and a player can play."""
    if not MIN_BPM <= bpm <= MAX_BPM:
        raise CodecError(f"tempo {bpm:g} bpm is out of range ({MIN_BPM:g}..{MAX_BPM:g})")


def bars_to_midi(bars, bpm=120.0, velocity=100, ticks_per_beat=480, feel=None):
    """Song -> type-0 mido.MidiFile, GM drums on channel 10: each hit a 32nd note; one tempo; a
    time signature at the start and wherever the bar length changes; end of track at the last
    bar line. feel: None (each hit on its step at `velocity`, a drum machine's grid), or the
    song's feel (midi_to_bars'): each hit at its level's velocity, moved by its offset (not before 0).
    """
    if not 4 <= ticks_per_beat <= 32767:
        raise CodecError(f"ticks per beat must be 4..32767, not {ticks_per_beat}")
    if feel is not None and ticks_per_beat < MIN_FEEL_TICKS_PER_BEAT:
        raise CodecError(f"feel needs at least {MIN_FEEL_TICKS_PER_BEAT} ticks per beat, not {ticks_per_beat}")
    if not 1 <= velocity <= 127:
        raise CodecError(f"velocity must be 1..127, not {velocity}")
    check_bpm(bpm)
    if feel is not None:                  # a pair of levels in range per hit: the feel must fit the words as text
        tokens_to_feel(feel_to_tokens(feel), bars_to_words(bars))
    note_ticks = max(1, ticks_per_beat // 8)  # a 32nd note
    events = []  # (tick, order, message); order puts note_off before note_on at one tick
    step, prev_len = 0, None
    for b, bar in enumerate(bars):
        if len(bar) != prev_len:
            if not 1 <= len(bar) <= MAX_BAR_STEPS:
                raise CodecError(f"a bar must hold 1..{MAX_BAR_STEPS} steps, not {len(bar)}")
            num, den = bar_steps_to_time_signature(len(bar))
            events.append((step_to_tick(step, ticks_per_beat), 0,
                           mido.MetaMessage("time_signature", numerator=num, denominator=den)))
            prev_len = len(bar)
        for s, mask in enumerate(bar):
            step_to_word(mask)  # validates the mask
            classes = [k for k in range(N_CLASSES) if mask & class_bit(k)]
            levels = feel[b][s] if feel is not None else [None] * len(classes)
            for k, level in zip(classes, levels):
                tick, vel = step_to_tick(step, ticks_per_beat), velocity
                if level is not None:
                    vel = level_to_velocity(level[0])
                    tick = max(0, tick + offset_level_to_ticks(level[1], ticks_per_beat))
                note = dict(channel=DRUM_CHANNEL, note=CLASS_PITCHES[k])
                events += [(tick, 2, mido.Message("note_on", velocity=vel, **note)),
                           (tick + note_ticks, 1, mido.Message("note_off", velocity=0, **note))]
            step += 1
    events.sort(key=lambda e: (e[0], e[1]))
    end_tick = max(step_to_tick(step, ticks_per_beat), events[-1][0] if events else 0)
    ticks = [0] + [tick for tick, _, _ in events]                 # delta times from absolute ticks
    track = mido.MidiTrack([mido.MetaMessage("track_name", name="Drums", time=0),
                            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0)])
    track += [msg.copy(time=tick - now) for now, (tick, _, msg) in zip(ticks, events)]
    track.append(mido.MetaMessage("end_of_track", time=end_tick - ticks[-1]))
    return mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat, tracks=[track])


def midi_to_bytes(mid):
    """The bytes of a Standard MIDI File, as mido would write it."""
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def write_atomic(path, data=None, write=None):
    """Write a whole file or none: a temporary file beside path, flushed to disk (fsync), renamed over path (a
    symlink is replaced). data: the bytes, or write(f) writes them; an OSError (a full disk) names path."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".tmp-",
                                   suffix=os.path.basename(path))
        with os.fdopen(fd, "wb") as f:
            if write is None:
                f.write(data)
            else:
                write(f)
            f.flush()
            os.fsync(f.fileno())                           # on disk before the rename makes it the file
        umask = os.umask(0)
        os.umask(umask)                                    # (read by setting it, so set it back)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it a normal file's mode
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(e, OSError) and not e.filename:
            raise OSError(e.errno, e.strerror, path) from None
        raise


def refuse_to_overwrite(output, inputs):
    """CodecError if the output file is one of the input files (it would be lost)."""
    if output == "-" or not os.path.exists(output):
        return
    for item in inputs:
        if os.path.exists(item) and os.path.samefile(output, item):
            raise CodecError(f"{output}: the output would overwrite an input file; choose another -o")


# ----------------------------------------------------------------------------
# Command line

def error_line(e):
    """The one line a command prints for an error it expects: 'error: ', (an OSError's file,) the reason."""
    if isinstance(e, OSError):
        return f"error: {e.filename}: {e.strerror or e}" if e.filename else f"error: {e.strerror or e}"
    return f"error: {e}"


def find_midi_files(inputs):
    """Expand files and folders (recursively) into a list of MIDI paths, sorted as the original
    joined its songs: by file name, case-insensitive."""
    paths = [item for item in inputs if not os.path.isdir(item)]
    for root, _, files in (walked for item in inputs if os.path.isdir(item) for walked in os.walk(item)):
        paths += [os.path.join(root, f) for f in files if f.lower().endswith((".mid", ".midi", ".smf"))]
    return sorted(paths, key=lambda p: (os.path.basename(p).lower(), p))


def encode_file(path, compat=False, all_channels=False):
    """One MIDI file -> (bars, feel, report); CodecError with a one-line reason if unusable."""
    mid = read_midi(path)
    try:
        bars, feel, report = midi_to_bars(mid, compat=compat, all_channels=all_channels)
    except CodecError as e:
        raise CodecError(f"{path}: {e}") from None             # the reason, after the file it is about
    if report["onsets"] == 0:
        if report["other_channels"]:
            chans = ", ".join(map(str, report["other_channels"]))
            raise CodecError(f"{path}: no notes on MIDI channel 10 (drums); notes on channel(s) "
                             f"{chans} ignored: try --all-channels")
        raise CodecError(f"{path}: no drum notes of the {N_CLASSES} classes")
    return bars, feel, report


def encode_files(paths, args):
    """MIDI files -> a words corpus in args.output (a file, and its feel unless --flat; or -): the exit code."""
    refuse_to_overwrite(args.output, paths)
    if not paths:
        raise CodecError("no MIDI files found in " + " ".join(args.inputs))
    songs, feels, failed, total = [], [], 0, collections.Counter()
    for path in paths:
        try:
            bars, feel, report = encode_file(path, compat=args.compat, all_channels=args.all_channels)
        except CodecError as e:
            print(f"FAILED {e}", file=sys.stderr)
            failed += 1
            continue
        dropped = ", ".join(f"{p}x{n}" for p, n in report["dropped"].items()) or "none"
        print(f"{path}: {report['bars']} bars, {report['onsets']} onsets kept, dropped by pitch: {dropped}",
              file=sys.stderr)
        songs.append(bars_to_words(bars))
        feels.append(feel_to_tokens(feel))
        total.update(bars=report["bars"], onsets=report["onsets"], dropped=sum(report["dropped"].values()))
    print(f"total: {len(songs)} songs, {total['bars']} bars, {total['onsets']} onsets kept, "
          f"{total['dropped']} notes dropped, {failed} files failed", file=sys.stderr)
    if not songs:
        return 1
    end = " " if args.compat else "\n"      # the original: every song and a space, all on one line
    join = lambda lines: "".join(" ".join(tokens) + end for tokens in lines)
    if args.output == "-":
        sys.stdout.write(join(songs))
    else:                                    # the words, and their feel beside them (song.txt, song.feel.txt)
        write_atomic(args.output, join(songs).encode("utf-8"))
        if not args.flat:
            write_atomic(feel_path(args.output), join(feels).encode("utf-8"))
    return 1 if failed else 0


def to_midi_main(args):
    if args.output == "-":
        raise CodecError("--to-midi needs -o OUT.mid")
    refuse_to_overwrite(args.output, [args.to_midi])
    songs = read_words_file(args.to_midi, feel=not args.flat)
    if not 1 <= args.line <= len(songs):
        raise CodecError(f"{args.to_midi}: --line {args.line}, but the file holds {len(songs)} song(s)")
    words, feel = songs[args.line - 1]
    bars = words_to_bars(words)
    write_atomic(args.output, midi_to_bytes(bars_to_midi(bars, bpm=args.bpm, velocity=args.velocity, feel=feel)))
    print(f"{args.output}: {len(bars)} bars at {args.bpm:g} bpm, "
          + (f"feel from {feel_path(args.to_midi)}" if feel else f"flat grid at velocity {args.velocity}"),
          file=sys.stderr)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Drum MIDI <-> LSTMetallica words. Encode MIDI files and folders into a "
                    "words corpus (one song per line) and its feel (velocity and timing, in "
                    "OUT.feel.txt beside -o OUT.txt), or turn a words file (and its feel) back into MIDI.",
        epilog="examples:\n"
               "  python encoding.py data/demo -o corpus.txt\n"
               "  python encoding.py --compat ../shared/data/metallica/midi -o metallica.txt\n"
               "  python encoding.py --to-midi song.txt -o song.mid --bpm 140\n"
               "one split of a dataset's info.csv: python corpus.py DATA --split train -o train.txt",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="*", metavar="INPUT", help="MIDI files or folders (searched recursively)")
    parser.add_argument("-o", "--output", default="-", help="output file (default: standard output for a corpus)")
    parser.add_argument("--compat", action="store_true", help="the original LSTMetallica rules: 480 ticks/beat, "
                        "BAR every 16 steps, one line")
    parser.add_argument("--all-channels", action="store_true", help="take notes from every MIDI channel, not only "
                        "channel 10")
    parser.add_argument("--to-midi", metavar="WORDS.txt", help="decode a words file into a MIDI file (-o)")
    parser.add_argument("--line", type=int, default=1, help="with --to-midi: which song (line) to decode (default 1)")
    parser.add_argument("--bpm", type=float, default=120.0, help="with --to-midi: tempo (default 120)")
    parser.add_argument("--velocity", type=int, default=100, help="with --to-midi and no feel: note velocity "
                        "1..127 (default 100)")
    parser.add_argument("--flat", action="store_true", help="no feel: do not write FILE.feel.txt beside -o "
                        "FILE.txt; with --to-midi, ignore WORDS.feel.txt (every hit on its step at --velocity)")
    args = parser.parse_args(argv)
    if not args.to_midi and not args.inputs:
        parser.error("give MIDI files or folders to encode, or --to-midi WORDS.txt")
    try:
        return to_midi_main(args) if args.to_midi else encode_files(find_midi_files(args.inputs), args)
    except (CodecError, OSError) as e:
        print(error_line(e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
