"""Tests of encoding.py: round trips proven by hypothesis, the original corpus rebuilt
word for word, real bar lines, and bad input turned into one clear line."""
import collections
import re
import io
import os
from fractions import Fraction

import mido
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import corpus
import encoding
from drum_tabs import tab_to_bars
from encoding import BAR, CodecError

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "metallica")
needs_shared = pytest.mark.skipif(not os.path.isdir(SHARED), reason="../shared/data/metallica is absent")

# Hypothesis: no per-example deadline (the machine is shared); derandomized so CI never flakes.
settings.register_profile("repo", deadline=None, derandomize=True, max_examples=150,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("repo")


def midi_roundtrip(mid):
    """Write a MidiFile to bytes and read it back, as a file on disk would be."""
    return encoding.read_midi(io.BytesIO(encoding.midi_to_bytes(mid)))


def make_midi(tracks, ticks_per_beat=480, type=1):
    """tracks: lists of (delta ticks, mido message or meta message)."""
    mid = mido.MidiFile(type=type, ticks_per_beat=ticks_per_beat)
    for events in tracks:
        track = mido.MidiTrack()
        for delta, msg in events:
            track.append(msg.copy(time=delta))
        mid.tracks.append(track)
    return mid


def hit(note, delta=0, channel=9, velocity=100):
    return delta, mido.Message("note_on", note=note, velocity=velocity, channel=channel)


def meter(num, den, delta=0):
    return delta, mido.MetaMessage("time_signature", numerator=num, denominator=den)


# ----------------------------------------------------------------------------
# Words <-> steps

def test_every_step_word_round_trips():
    # the whole domain: all 2^9 masks
    for mask in range(512):
        word = encoding.step_to_word(mask)
        assert len(word) == 11 and word.startswith("0b")
        assert encoding.word_to_step(word) == mask
    assert encoding.step_to_word(0b100000001) == "0b100000001"  # kick + crash
    assert encoding.class_bit(0) == 256 and encoding.class_bit(8) == 1


def test_the_documented_examples_hold():
    """The format's examples in encoding.py's docstrings (doctest) are run, so they stay true."""
    import doctest
    result = doctest.testmod(encoding)
    assert result.attempted >= 4 and result.failed == 0


def test_pitch_folding_table():
    compat = encoding.COMPAT_PITCH_TO_CLASS
    assert [compat[p] for p in encoding.CLASS_PITCHES] == list(range(9))
    assert compat[35] == 0                         # acoustic bass drum -> kick
    assert compat[52] == 8                         # china -> crash
    assert compat[55] == 7                         # splash -> ride (the original's choice)
    assert 54 not in compat                        # tambourine is dropped
    assert not {22, 26, 58, 39} & set(compat)      # the original knew no e-kit keys


def test_default_map_folds_the_e_kit_keys():
    default = encoding.PITCH_TO_CLASS
    assert [default[p] for p in encoding.CLASS_PITCHES] == list(range(9))
    assert default[22] == 2 and default[26] == 3   # hi-hat edges -> closed / open hi-hat
    assert default[58] == 4 and default[43] == 4   # tom 3 rim and head -> low floor tom
    assert default[55] == 8 and default[39] == 1   # crash 1 edge -> crash; hand clap -> snare
    assert 54 not in default and 56 not in default  # tambourine, cowbell: not the kit
    # every other key means the same in both maps
    assert {p: k for p, k in default.items() if p not in encoding.EKIT_FOLD} == \
        {p: k for p, k in encoding.COMPAT_PITCH_TO_CLASS.items() if p not in encoding.EKIT_FOLD}


def test_e_kit_keys_fold_in_default_mode_and_drop_in_compat():
    # 22 closed-hat edge, 26 open-hat edge, 58 tom-3 rim, on the first three 16ths (120 ticks at 480 tpb)
    mid = make_midi([[hit(22), hit(26, 120), hit(58, 120)]], 480)
    bars, _, report = encoding.midi_to_bars(mid)
    assert bars[0][:3] == [0b001000000, 0b000100000, 0b000010000] and report["dropped"] == {}
    bars, _, report = encoding.midi_to_bars(mid, compat=True)
    assert bars == [] and report["onsets"] == 0
    assert report["dropped"] == {22: 1, 26: 1, 58: 1}


def test_played_timing_rounds_to_the_grid():
    """A hit played just before a bar line lands on the next bar's first step; two hits of
    one class that round to the same step count once (480 ticks per beat, a step = 120)."""
    bar = 16 * 120
    mid = make_midi([[hit(36, 0), hit(42, bar - 20), hit(42, 15), hit(42, 20), hit(38, 20)]], 480)
    bars, _, report = encoding.midi_to_bars(mid)
    assert len(bars) == 2 and report["onsets"] == 3           # of 5 hits
    assert bars[0][0] == 0b100000000 and not any(bars[0][1:])          # bar 1: only the kick
    assert bars[1][0] == 0b011000000                                   # bar 2, step 1: hat + snare
    assert sum(1 for m in bars[1] if m & encoding.class_bit(2)) == 1   # the two hats are one onset


bars_strategy = st.lists(st.lists(st.integers(0, 511), min_size=1, max_size=64), max_size=12)


@given(bars_strategy)
@example([])                                   # the empty song
@example([[0] * 16, [0] * 16])                 # empty bars
@example([[511], [0] * 64])                    # shortest and longest bar
def test_words_steps_words_is_identity(bars):
    words = encoding.bars_to_words(bars)
    assert words.count(BAR) == len(bars)
    assert encoding.words_to_bars(words) == bars
    assert encoding.bars_to_words(encoding.words_to_bars(words)) == words


@given(bars_strategy,
       st.floats(min_value=20, max_value=400, allow_nan=False),
       st.integers(4, 9600))
@example([], 120.0, 480)
@example([[0] * 12, [0] * 3], 120.0, 480)      # trailing silent bars survive via end of track
@example([[1], [2, 0, 0]], 120.0, 5)           # a resolution that is not a multiple of 4
@example([[256]] * 3, 60.0, 4)                 # one tick per step
def test_words_midi_bytes_words_is_identity(bars, bpm, ticks_per_beat):
    words = encoding.bars_to_words(bars)
    mid = encoding.bars_to_midi(encoding.words_to_bars(words), bpm=bpm, ticks_per_beat=ticks_per_beat)
    back, _, report = encoding.midi_to_bars(midi_roundtrip(mid))
    assert encoding.bars_to_words(back) == words
    assert report["dropped"] == {}


@given(bars_strategy.filter(len))
def test_tab_round_trip(bars):
    assert tab_to_bars(encoding.bars_to_tab(bars)) == bars


# ----------------------------------------------------------------------------
# Arbitrary MIDI: one pass reaches a fixed point, no onset moves more than half a step

KEPT = sorted(set(encoding.PITCH_TO_CLASS) | set(encoding.COMPAT_PITCH_TO_CLASS))
message_strategy = st.one_of(
    st.builds(lambda d, n, c, v: (d, mido.Message("note_on", note=n, channel=c, velocity=v)),
              st.integers(0, 700), st.one_of(st.sampled_from(KEPT), st.integers(0, 127)),
              st.sampled_from([9, 9, 9, 0, 15]), st.integers(0, 127)),
    st.builds(lambda d, n, c: (d, mido.Message("note_off", note=n, channel=c)),
              st.integers(0, 700), st.sampled_from(KEPT), st.sampled_from([9, 0])),
    st.builds(lambda d, num, e: meter(num, 2 ** e, d),
              st.integers(0, 3000), st.integers(1, 16), st.integers(0, 5)),
)
midi_strategy = st.builds(
    make_midi,
    st.lists(st.lists(message_strategy, max_size=25), min_size=1, max_size=3),
    st.sampled_from([1, 3, 24, 96, 100, 192, 480, 960]),
)


def kept_onsets(mid, all_channels, compat=False):
    """[(beat as Fraction, class)] of every onset the encoder should keep."""
    out = []
    pitch_to_class = encoding.COMPAT_PITCH_TO_CLASS if compat else encoding.PITCH_TO_CLASS
    for tick, msg in encoding._absolute_events(mid):
        if (msg.type == "note_on" and msg.velocity > 0 and msg.note in pitch_to_class
                and (all_channels or msg.channel == encoding.DRUM_CHANNEL)):
            out.append((Fraction(tick, mid.ticks_per_beat), pitch_to_class[msg.note]))
    return out


@given(midi_strategy, st.booleans(), st.booleans())
@example(make_midi([[meter(5, 32), hit(36), hit(38, 300)]], 480), False, False)   # 2.5-step bars
@example(make_midi([[hit(36, 60)]], 480), False, False)                          # a tie rounds up
@example(make_midi([[meter(3, 4, 100), hit(42, 50)]], 3), False, False)          # metre change mid-bar
def test_encoding_is_a_fixed_point_and_moves_onsets_at_most_half_a_step(mid, compat, all_channels):
    bars, _, _ = encoding.midi_to_bars(midi_roundtrip(mid), compat=compat, all_channels=all_channels)
    decoded = midi_roundtrip(encoding.bars_to_midi(bars))
    again, _, _ = encoding.midi_to_bars(decoded, compat=compat, all_channels=all_channels)
    assert again == bars

    # Every kept onset is still there, of its class, within half a step (1/8 beat) of where it was.
    if compat:  # compat reads every file as 480 ticks per beat
        mid.ticks_per_beat = encoding.COMPAT_TICKS_PER_BEAT
    written = {(Fraction(tick, decoded.ticks_per_beat), encoding.PITCH_TO_CLASS[msg.note])
               for tick, msg in encoding._absolute_events(decoded) if msg.type == "note_on"}
    for beat, k in kept_onsets(mid, all_channels or compat, compat):
        step = encoding.tick_to_step(beat * 480, 480)
        assert abs(Fraction(step, 4) - beat) <= Fraction(1, 8)
        assert (Fraction(step, 4), k) in written
    # ... and nothing else was written.
    assert len(written) == len({(encoding.tick_to_step(b * 480, 480), k)
                                for b, k in kept_onsets(mid, all_channels or compat, compat)})


# ----------------------------------------------------------------------------
# Feel: each hit's velocity level and offset level

def test_feel_levels_by_hand():
    # velocity: 16 per level, played back at the middle of the level
    assert [encoding.velocity_to_level(v) for v in (1, 15, 16, 40, 80, 110, 127)] == [0, 0, 1, 2, 5, 6, 7]
    assert [encoding.level_to_velocity(k) for k in range(8)] == [8, 24, 40, 56, 72, 88, 104, 120]
    # offset, in ninths of a step: at 480 ticks per beat a step is 120 ticks, a ninth 13.3
    assert encoding.tick_to_offset_level(1200, 10, 480) == 0            # on step 10
    assert encoding.tick_to_offset_level(1240, 10, 480) == 3            # 40/120 = 1/3 late: triplet swing
    assert encoding.tick_to_offset_level(1141, 10, 480) == -4           # 59/120 early: 4.4 ninths
    assert encoding.tick_to_offset_level(1259, 10, 480) == 4            # 59/120 late
    assert [encoding.offset_level_to_ticks(k, 480) for k in (-4, -1, 0, 1, 3, 4)] == [-53, -13, 0, 13, 40, 53]


def feel_midi(notes, ticks_per_beat):
    """One track of drum notes (absolute tick, GM key, velocity), sorted by time."""
    events, now = [], 0
    for tick, note, velocity in sorted(notes):
        events.append(hit(note, tick - now, velocity=velocity))
        now = tick
    return make_midi([events], ticks_per_beat)


note_strategy = st.tuples(st.integers(0, 6000), st.sampled_from(encoding.CLASS_PITCHES), st.integers(1, 127))


@given(st.lists(note_strategy, min_size=1, max_size=40), st.sampled_from([96, 100, 192, 480, 960]))
@example([(60, 36, 127)], 480)                           # half a step late: rounds up to step 1, 4/9 early
@example([(0, 38, 1), (0, 38, 127)], 480)                # two hits of one class on one step: the louder
def test_midi_words_feel_midi_keeps_onsets_and_each_hit_within_half_a_level(notes, tpb):
    bars, feel, _ = encoding.midi_to_bars(midi_roundtrip(feel_midi(notes, tpb)))
    played = midi_roundtrip(encoding.bars_to_midi(bars, feel=feel))
    again, _, _ = encoding.midi_to_bars(played)
    assert again == bars                                                 # the same onsets
    # each (step, class): the loudest original note against the note played back
    loudest = {}
    for tick, note, velocity in notes:
        key = (encoding.tick_to_step(tick, tpb), encoding.PITCH_TO_CLASS[note])
        if velocity > loudest.get(key, (0, 0))[0]:
            loudest[key] = (velocity, Fraction(4 * tick, tpb) - key[0])  # offset in steps
    back = {}
    for tick, msg in encoding._absolute_events(played):
        if msg.type == "note_on":
            step = encoding.tick_to_step(tick, played.ticks_per_beat)
            back[(step, encoding.PITCH_TO_CLASS[msg.note])] = (
                msg.velocity, Fraction(4 * tick, played.ticks_per_beat) - step)
    assert back.keys() == loudest.keys()
    for key, (velocity, offset) in loudest.items():
        velocity_back, offset_back = back[key]
        assert abs(velocity_back - velocity) <= 8                        # half a level of 16
        # half a level (1/18 of a step) and half a tick of the written file's 480 per beat
        assert abs(offset_back - offset) <= Fraction(1, 18) + Fraction(1, 240), (key, offset, offset_back)


def feel_for(bars, draw_level):
    """A feel for bars: levels drawn for each hit; no hit before tick 0 (MIDI cannot hold one)."""
    feel, first = [], True
    for bar in bars:
        bar_feel = []
        for mask in bar:
            n = bin(mask).count("1")
            bar_feel.append(tuple((draw_level(st.integers(0, 7)),
                                   draw_level(st.integers(0 if first else -4, 4))) for _ in range(n)))
            first = False
        feel.append(bar_feel)
    return feel


@st.composite
def song_with_feel(draw):
    bars = draw(bars_strategy)
    return bars, feel_for(bars, draw)


@given(song_with_feel(), st.sampled_from([96, 97, 480, 960, 9600]))
@example(([[0b100000001, 0, 0b001000000]], [[((7, 0), (6, 4)), (), ((0, -4),)]]), 480)
@example(([[511]], [[tuple((k % 8, 4) for k in range(9))]]), 96)   # every class, 4/9 late, coarsest resolution
def test_words_feel_midi_words_feel_is_exact(song, tpb):
    bars, feel = song
    words, tokens = encoding.bars_to_words(bars), encoding.feel_to_tokens(feel)
    assert encoding.tokens_to_feel(tokens, words) == feel                # the text form is exact
    mid = midi_roundtrip(encoding.bars_to_midi(bars, feel=feel, ticks_per_beat=tpb))
    back, feel_back, _ = encoding.midi_to_bars(mid)
    assert (back, feel_back) == (bars, feel)


def test_feel_text_by_example(tmp_path):
    words = "0b100000001 0b000000000 0b010000000 BAR".split()
    feel = [[((7, 0), (6, 0)), (), ((2, -1),)]]
    assert encoding.feel_to_tokens(feel) == ["7+0,6+0", ".", "2-1", "|"]
    assert encoding.feel_path("corpus.txt") == "corpus.feel.txt"
    ids = corpus.to_feel_ids(words, feel)                              # (4 words, 18)
    assert ids[0, 0] == 7 and ids[0, 8] == 6 and ids[0, 9] == 4 and ids[0, 17] == 4   # kick, crash; offset 0 -> 4
    assert ids[2, 1] == 2 and ids[2, 10] == 3                            # snare: level 2, one ninth early
    assert (ids[1] == -1).all() and (ids[3] == -1).all()                 # silence and BAR


@pytest.mark.parametrize("tokens, message", [
    ("7+0,6+0 . 2-1", "ends early"),
    ("7+0,6+0 . 2-1 | .", "runs on"),
    ("7+0 . 2-1 |", "1 hit(s) of feel for a word with 2"),
    ("7+0,6+0 2+0 2-1 |", "1 hit(s) of feel for a word with 0"),  # a level for a drum that does not play
    ("7+0,8+0 . 2-1 |", "want velocity 0-7"),
    ("7+0,6+5 . 2-1 |", "want velocity 0-7"),
    ("7+0,6+0 . 2-1 .", "want '|' under BAR"),
    ("7+0,6+0 . 2x1 |", "word 3 (0b010000000)"),
])
def test_bad_feel_names_the_word(tokens, message):
    words = "0b100000001 0b000000000 0b010000000 BAR".split()
    with pytest.raises(CodecError, match=re.escape(message)):
        encoding.tokens_to_feel(tokens.split(), words)


def test_feel_file_beside_the_corpus_and_back_to_midi(tmp_path, capsys):
    bars = [[0b100000001, 0, 0b010000000, 0]]
    feel = [[((7, 0), (6, 0)), (), ((2, 3),), ()]]
    src = tmp_path / "in.mid"
    src.write_bytes(encoding.midi_to_bytes(encoding.bars_to_midi(bars, feel=feel)))
    assert encoding.main([str(src), "-o", str(tmp_path / "c.txt")]) == 0
    assert (tmp_path / "c.feel.txt").read_text() == "7+0,6+0 . 2+3 . |\n"
    assert encoding.main(["--to-midi", str(tmp_path / "c.txt"), "-o", str(tmp_path / "out.mid")]) == 0
    assert encoding.midi_to_bars(encoding.read_midi(str(tmp_path / "out.mid")))[:2] == (bars, feel)
    assert encoding.main(["--to-midi", str(tmp_path / "c.txt"), "-o", str(tmp_path / "flat.mid"), "--flat"]) == 0
    _, flat, _ = encoding.midi_to_bars(encoding.read_midi(str(tmp_path / "flat.mid")))
    assert flat == [[((6, 0), (6, 0)), (), ((6, 0),), ()]]                # velocity 100, on the grid
    # a feel file that does not fit its words: one line naming file, line and word; nothing written
    (tmp_path / "c.feel.txt").write_text("7+0,6+0 . 2+3 |\n")
    capsys.readouterr()
    assert encoding.main(["--to-midi", str(tmp_path / "c.txt"), "-o", str(tmp_path / "bad.mid")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "c.feel.txt:1: word 5 (BAR): the feel ends early" in err, err
    assert not (tmp_path / "bad.mid").exists()


# ----------------------------------------------------------------------------
# Malformed words raise the codec's own error

bad_word = st.one_of(
    st.text(max_size=14).filter(lambda w: w != BAR and not (
        len(w) == 11 and w.startswith("0b") and set(w[2:]) <= {"0", "1"})),
    st.text("01", min_size=0, max_size=16).filter(lambda b: len(b) != 9).map(lambda b: "0b" + b),
    st.text("012 _xb", min_size=9, max_size=9).filter(lambda b: not set(b) <= {"0", "1"}).map(lambda b: "0b" + b),
)


@given(bad_word)
@example("0b10000000")    # 8 characters
@example("0b1000000000")  # 10 characters
@example("0B100000000")   # capital B
@example("0b1_0000000")   # int() would accept the underscore
@example("0b１００００００００")  # full-width digits
@example("bar")
@example("")
def test_malformed_words_raise_codec_error(word):
    with pytest.raises(CodecError):
        encoding.word_to_step(word)
    with pytest.raises(CodecError):
        encoding.words_to_bars(["0b000000000", word, BAR])


@pytest.mark.parametrize("words", [[BAR], ["0b000000000", BAR, BAR], ["0b000000000"], ["0b100000000", BAR, "0b1"]])
def test_malformed_songs_raise_codec_error(words):
    with pytest.raises(CodecError):
        encoding.words_to_bars(words)


@pytest.mark.parametrize("bad", [-1, 512, 1.0, "1"])
def test_bad_masks_raise_codec_error(bad):
    with pytest.raises(CodecError):
        encoding.step_to_word(bad)


def test_read_corpus_names_the_bad_word(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("0b000000000 BAR\n\n0b100000000 0b12 BAR\n")
    with pytest.raises(CodecError, match=r"c.txt:3: .*'0b12'"):
        encoding.read_corpus(str(path))
    path.write_text("0b000000000 BAR\n\n0b100000000 BAR \n")
    assert encoding.read_corpus(str(path)) == [["0b000000000", BAR], ["0b100000000", BAR]]


# ----------------------------------------------------------------------------
# Default mode: real bar lines, channel 10, the file's own resolution

def test_bars_follow_time_signatures():
    # 480 ticks per beat; 3/4 = 3 beats = 12 steps; 7/8 = 3.5 beats = 14 steps; 12/8 = 6 beats = 24 steps
    mid = make_midi([[meter(3, 4), hit(36),
                      meter(7, 8, 3 * 480), hit(38),
                      meter(12, 8, 7 * 240), hit(49)]], 480)
    bars, _, report = encoding.midi_to_bars(mid)
    assert [len(b) for b in bars] == [12, 14, 24]
    assert [b[0] for b in bars] == [256, 128, 1]
    num_den = [(m.numerator, m.denominator) for m in encoding.bars_to_midi(bars).tracks[0]
               if m.type == "time_signature"]
    assert num_den == [(3, 4), (7, 8), (6, 4)]  # 24 steps written as 6/4: the same bar length
    compat, _, _ = encoding.midi_to_bars(mid, compat=True)
    assert [len(b) for b in compat] == [16, 16]  # the crash is on step 12 + 14 = 26: 27 steps, padded to 32


def test_ticks_to_steps_rounds_ties_up():
    # 480 ticks per beat: a step is 120 ticks, half a step 60.
    assert [encoding.tick_to_step(t, 480) for t in (0, 59, 60, 179, 180, 300)] == [0, 0, 1, 1, 2, 3]
    # round() would give 2 for tick 300 (2.5 steps, ties to even): the original rounds up.
    assert encoding.tick_to_step(300, 480) == (300 + 60) // 120
    assert [encoding.step_to_tick(s, 5) for s in range(5)] == [0, 1, 3, 4, 5]  # 1.25 ticks a step


def test_time_signature_inside_a_bar_starts_a_new_bar():
    # 4/4, then 3/4 after two beats (8 steps): the 4/4 bar is cut short at the change.
    mid = make_midi([[hit(36), meter(3, 4, 2 * 480), hit(38, 3 * 480)]], 480)
    bars, _, _ = encoding.midi_to_bars(mid)
    assert [len(b) for b in bars] == [8, 12, 12]


def test_bar_that_is_not_a_whole_number_of_steps_alternates():
    # 5/32 = 5/8 beat = 2.5 steps: bar lines at 0, 2.5, 5, 7.5, 10 round (ties up) to 0, 3, 5, 8, 10
    mid = make_midi([[meter(5, 32), hit(36), hit(36, 4 * 480)]], 480)  # last onset on step 16
    bars, _, _ = encoding.midi_to_bars(mid)
    assert [len(b) for b in bars] == [3, 2, 3, 2, 3, 2, 3]
    assert bars[-1] == [0, 256, 0]


def test_own_ticks_per_beat_and_drift():
    # 96 ticks per beat: a 16th is 24 ticks. compat would assume 480 and put this 4 beats early.
    mid = make_midi([[hit(36), hit(38, 96 * 4)]], 96)
    bars, _, _ = encoding.midi_to_bars(mid)
    assert bars == [[256] + [0] * 15, [128] + [0] * 15]


def test_tracks_merge_and_only_channel_10_by_default():
    mid = make_midi([[hit(36)], [hit(38, 120), hit(40, 120, channel=0)]], 480)
    bars, _, report = encoding.midi_to_bars(mid)
    assert bars[0][:3] == [256, 128, 0]
    assert report["other_channels"] == {1: 1}
    all_bars, _, _ = encoding.midi_to_bars(mid, all_channels=True)
    assert all_bars[0][:3] == [256, 128, 128]


def test_report_counts_dropped_pitches():
    mid = make_midi([[hit(36), hit(54), hit(54), hit(81, 10), hit(38, 0, velocity=0)]], 480)
    bars, _, report = encoding.midi_to_bars(mid)
    assert report == {"onsets": 1, "dropped": {54: 2, 81: 1}, "other_channels": {}, "bars": 1}


def test_written_midi_is_a_gm_drum_part():
    mid = midi_roundtrip(encoding.bars_to_midi([[256, 128]], bpm=90, velocity=77))
    notes = [m for m in mid.tracks[0] if m.type in ("note_on", "note_off")]
    assert {m.channel for m in notes} == {9}
    assert [(m.type, m.note) for m in notes] == [("note_on", 36), ("note_off", 36),
                                                 ("note_on", 38), ("note_off", 38)]
    assert notes[0].velocity == 77
    tempo = [m.tempo for m in mid.tracks[0] if m.type == "set_tempo"]
    assert tempo == [mido.bpm2tempo(90)]
    assert mid.tracks[0][-1].type == "end_of_track"
    assert mid.length == pytest.approx(2 * 60 / 90 / 4)  # two 16ths at 90 bpm


# ----------------------------------------------------------------------------
# The original corpus, word for word

@needs_shared
def test_compat_rebuilds_the_original_corpus(tmp_path):
    with open(os.path.join(SHARED, "metallica_drums_text.txt")) as f:
        gold = f.read()
    out = tmp_path / "corpus.txt"
    assert encoding.main(["--compat", os.path.join(SHARED, "midi"), "-o", str(out)]) == 0
    ours = out.read_text()
    # Each song is its segment of the original (in order, starting on a word), and our file is
    # exactly those segments joined: the full 57-song set would give the original file.
    pos, segments = 0, []
    for path in encoding.find_midi_files([os.path.join(SHARED, "midi")]):
        bars, _, _ = encoding.encode_file(path, compat=True)
        segment = " ".join(encoding.bars_to_words(bars)) + " "
        found = gold.find(segment, pos)
        assert found >= 0 and (found == 0 or gold[found - 1] == " "), path
        pos = found + len(segment)
        segments.append(segment)
    assert len(segments) == 45
    assert ours == "".join(segments)


@needs_shared
def test_default_mode_encodes_every_shared_song():
    folder = os.path.join(SHARED, "midi")
    lengths = set()
    for path in encoding.find_midi_files([folder]):
        bars, _, _ = encoding.encode_file(path)
        lengths.update(len(b) for b in bars)
    assert {12, 14, 16, 24} <= lengths  # 3/4, 7/8, 4/4, 12/8 (or 6/4) bars all occur


# ----------------------------------------------------------------------------
# Bad input: one line, non-zero exit, nothing half-written

def write(path, data):
    path.write_bytes(data)
    return str(path)


@pytest.fixture
def good_midi(tmp_path):
    return write(tmp_path / "good.mid", encoding.midi_to_bytes(encoding.bars_to_midi([[256] * 16])))


def bad_files(tmp_path):
    good = encoding.midi_to_bytes(encoding.bars_to_midi([[256, 128] * 8]))
    no_drums = make_midi([[(0, mido.Message("note_on", note=60, channel=0, velocity=90))]])
    only_tambourine = make_midi([[hit(54)]])
    type2 = make_midi([[hit(36)]], type=2)
    absurd = make_midi([[hit(36), hit(38, 0x0FFFFFFF)]], 24)
    return {
        "zero.mid": (b"", "empty file"),
        "text.mid": (b"hello, this is not MIDI\n" * 4, "not a readable MIDI file"),
        "truncated.mid": (good[:len(good) // 2], "not a readable MIDI file"),
        "nodrums.mid": (encoding.midi_to_bytes(no_drums), "--all-channels"),
        "tambourine.mid": (encoding.midi_to_bytes(only_tambourine), "no drum notes"),
        "type2.mid": (encoding.midi_to_bytes(type2), "type 2"),
        "absurd.mid": (encoding.midi_to_bytes(absurd), "absurd delta time"),
    }


def test_each_bad_file_is_one_line_and_nothing_is_written(tmp_path, capsys):
    for name, (data, reason) in bad_files(tmp_path).items():
        path = write(tmp_path / name, data)
        out = tmp_path / "out.txt"
        assert encoding.main([path, "-o", str(out)]) == 1, name
        err = capsys.readouterr().err.strip().splitlines()
        failed = [line for line in err if line.startswith("FAILED")]
        assert len(failed) == 1 and name in failed[0] and reason in failed[0], err
        assert "Traceback" not in "\n".join(err)
        assert not out.exists()


def test_a_failing_file_is_skipped_and_the_rest_encoded(tmp_path, good_midi, capsys):
    bad = write(tmp_path / "bad.mid", b"MThd garbage")
    out = tmp_path / "out.txt"
    assert encoding.main([bad, good_midi, "-o", str(out)]) == 1
    assert out.read_text() == " ".join(["0b100000000"] * 16 + [BAR]) + "\n"
    assert "total: 1 songs" in capsys.readouterr().err


def test_existing_output_survives_a_run_that_encodes_nothing(tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("precious")
    bad = write(tmp_path / "bad.mid", b"")
    assert encoding.main([bad, "-o", str(out)]) == 1
    assert out.read_text() == "precious"


def test_to_midi_round_trip_and_errors(tmp_path, capsys):
    words = tmp_path / "w.txt"
    words.write_text("0b100000001 0b001000000 0b010000000 BAR 0b000000000 BAR\n")
    out = tmp_path / "w.mid"
    assert encoding.main(["--to-midi", str(words), "-o", str(out), "--bpm", "140"]) == 0
    bars, _, _ = encoding.midi_to_bars(encoding.read_midi(str(out)))
    assert encoding.bars_to_words(bars) == words.read_text().split()
    capsys.readouterr()
    words.write_text("0b100000001 0b00100000 BAR\n")
    assert encoding.main(["--to-midi", str(words), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "0b00100000" in err and len(err.splitlines()) == 1


GROOVE = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "groove")


@pytest.mark.skipif(not os.path.isdir(GROOVE), reason="../shared/data/groove is absent")
def test_every_groove_file_encodes_with_no_key_dropped():
    """The Groove MIDI Dataset (a Roland TD-11 e-kit, 1,021 files): default mode keeps every hit
    (22, 26, 58 and 55 fold in); --compat drops the e-kit keys the original did not know."""
    paths = encoding.find_midi_files([os.path.join(GROOVE, "midi")])
    assert len(paths) == 1021
    dropped = collections.Counter()
    for path in paths:
        mid = encoding.read_midi(path)
        _, _, report = encoding.midi_to_bars(mid)
        assert report["dropped"] == {}, path
        assert report["onsets"] > 0, path
        if len(dropped) < 3:                              # compat, on the first files that show it
            dropped.update(encoding.midi_to_bars(mid, compat=True)[2]["dropped"])
    assert set(dropped) <= {22, 26, 58} and {22, 26} <= set(dropped)


def test_split_picks_files_by_an_info_csv(tmp_path):
    for name in ("a/1.mid", "a/2.mid", "b/3.mid"):
        os.makedirs(tmp_path / "midi" / os.path.dirname(name), exist_ok=True)
        encoding.bars_to_midi([[256] * 16]).save(str(tmp_path / "midi" / name))
    (tmp_path / "info.csv").write_text("midi_filename,split\na/1.mid,train\na/2.mid,validation\nb/3.mid,train\n")
    paths = encoding.find_midi_files([str(tmp_path / "midi")])
    kept = corpus.files_in_split(paths, str(tmp_path / "info.csv"), "train")
    assert [os.path.basename(p) for p in kept] == ["1.mid", "3.mid"]
    out = tmp_path / "train.txt"                                    # info.csv found next to the folder
    assert corpus.main([str(tmp_path / "midi"), "--split", "validation", "-o", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 1
    with pytest.raises(encoding.CodecError, match="no file in split 'test'"):
        corpus.files_in_split(paths, str(tmp_path / "info.csv"), "test")
