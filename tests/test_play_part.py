"""Playing the user's part: generate.py --humanize (every hit kept, the feel drawn) and --keep
(some drums kept step for step, the model writes the others), end to end on a small demo
model, each bad input refused in one line, and the kept drums never changed (a property)."""
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import corpus
import encoding
import generate
import lstm_drums as lstm
import train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "data", "demo")
BD_SD = encoding.class_bit(0) | encoding.class_bit(1)


@pytest.fixture(scope="module")
def demo_model(tmp_path_factory):
    """A small model of the demo grooves (look-back inputs and feel, train.py's defaults), and a
    flat part: the rock groove's first 8 bars as a drum machine plays it, every hit at 100."""
    folder = tmp_path_factory.mktemp("play")
    out = str(folder / "run")
    assert train.main([DEMO, "--steps", "150", "--hidden", "32", "--eval-every", "150", "--out", out]) == 0
    words = corpus.read_song(os.path.join(DEMO, "rock_8ths.mid")).words
    part = words[:len(words) - words[::-1].index(encoding.BAR)][:17 * 8]
    flat = str(folder / "flat.mid")
    bars = encoding.words_to_bars(part)
    encoding.write_atomic(flat, encoding.midi_to_bytes(encoding.bars_to_midi(bars, bpm=112)))
    return os.path.join(out, "best.npz"), flat


def tempo_of(path):
    """The first set_tempo of a MIDI file, in microseconds per beat."""
    return next(m.tempo for t in encoding.read_midi(path).tracks for m in t if m.type == "set_tempo")


def run(args, capsys):
    code = generate.main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def written(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_humanise_keeps_every_hit_and_plays_it(demo_model, tmp_path, capsys):
    ckpt, flat = demo_model
    out = str(tmp_path / "h")
    code, stdout, _ = run([ckpt, "--humanize", flat, "--out", out, "--seeds", "2"], capsys)
    assert code == 0 and "humanising" in stdout
    part = corpus.read_song(flat)
    takes = sorted(f for f in written(out) if f.endswith(".txt") and not f.endswith(".feel.txt"))
    assert len(takes) == 2 and len(written(out)) == 8             # two takes (seeds), words, feel, MIDI, WAV each
    feels = []
    for name in takes:
        song = corpus.read_song(os.path.join(out, name))
        assert song.words == part.words                            # which drums start on which step: all kept
        hit = song.feel[:, :encoding.N_CLASSES] >= 0
        assert (hit == (part.feel[:, :encoding.N_CLASSES] >= 0)).all()
        feels.append(song.feel)
        assert len(np.unique(song.feel[:, :encoding.N_CLASSES][hit])) > 1   # played: not one velocity
    assert not np.array_equal(*feels)                              # two seeds, two takes
    mid = next(f for f in written(out) if f.endswith(".mid"))     # at the part's own tempo (112 bpm here)
    tempos = [m.tempo for t in encoding.read_midi(os.path.join(out, mid)).tracks for m in t if m.type == "set_tempo"]
    assert tempos == [tempo_of(flat)]
    again = str(tmp_path / "again")
    assert run([ckpt, "--humanize", flat, "--out", again, "--seeds", "2"], capsys)[0] == 0
    assert written(again) == written(out)                          # seeded: the same files, the same names
    for name in written(out):
        assert open(os.path.join(out, name), "rb").read() == open(os.path.join(again, name), "rb").read()


def test_humanise_at_diversity_zero_is_the_likeliest_playing(demo_model, tmp_path, capsys):
    ckpt, flat = demo_model
    outs = [str(tmp_path / n) for n in "ab"]
    for seed, out in zip((1, 2), outs):
        assert run([ckpt, "--humanize", flat, "--diversity", "0", "--seed", str(seed), "--out", out], capsys)[0] == 0
    feel = [open(os.path.join(o, f)).read() for o in outs for f in written(o) if f.endswith(".feel.txt")]
    assert len(feel) == 2 and feel[0] == feel[1]                   # no draw left to the seed


def test_drums_around_a_kept_kick_and_snare(demo_model, tmp_path, capsys):
    ckpt, flat = demo_model
    out = str(tmp_path / "k")
    code, stdout, _ = run([ckpt, "--keep", "kick,snare", "--primer", flat, "--out", out], capsys)
    assert code == 0 and "around" in stdout
    part = corpus.read_song(flat)
    name = next(f for f in written(out) if f.endswith(".txt") and not f.endswith(".feel.txt"))
    song = corpus.read_song(os.path.join(out, name))
    ids, part_ids = encoding.to_ids(song.words), encoding.to_ids(part.words)
    steps = part_ids < encoding.BAR_ID
    assert len(ids) == len(part_ids) and (ids[~steps] == part_ids[~steps]).all()      # the same bars
    assert ((ids[steps] & BD_SD) == (part_ids[steps] & BD_SD)).all()                  # kick and snare kept
    assert (ids[steps] & ~BD_SD & 0x1FF).any()                                        # and drums written around
    kept = song.feel[:, :2] >= 0                                   # the kept hits keep the part's feel ...
    assert (song.feel[:, :2][kept] == part.feel[:, :2][kept]).all()
    redrawn = str(tmp_path / "r")                                  # ... unless --humanize draws theirs too
    assert run([ckpt, "--keep", "BD,SD", "--primer", flat, "--humanize", "--out", redrawn], capsys)[0] == 0
    song = corpus.read_song(os.path.join(redrawn, next(f for f in written(redrawn) if f.endswith(".feel.txt"))
                                         .replace(".feel.txt", ".txt")))
    assert not (song.feel[:, :2][song.feel[:, :2] >= 0] == 6).all()   # the flat part's level 6 is not all kept


@pytest.mark.parametrize("args, message", [
    (["--keep", "BD,XX"], "not a drum"),
    (["--keep", "BD,SD,HH,OH,FT,LT,MT,RD,CR"], "not all of them"),
    (["--keep", ",", ], "not none"),
    (["--humanize", "FLAT", "--style", "jazz"], "knows no styles"),
    (["--humanize", "FLAT", "--flat"], "--flat and --humanize"),
    (["--humanize", "FLAT", "--free"], "the part says the bars"),
    (["--humanize", "NOBARS"], "no bars to play"),
    (["--keep", "kick"], "give the part to play"),
    (["--humanize", "FLAT", "--seeds", "0"], "--seeds 0"),
    (["--keep", "BD,SD", "--particles", "0"], "--particles 0"),
])
def test_bad_parts_are_refused_in_one_line(demo_model, tmp_path, capsys, args, message):
    ckpt, flat = demo_model
    nobars = tmp_path / "nobars.txt"
    nobars.write_text("0b100000000 0b000000000\n")
    args = [{"FLAT": flat, "NOBARS": str(nobars)}.get(a, a) for a in args]
    if args[0] == "--keep":
        args += ["--primer", flat] if "kick" not in args else []
    out = str(tmp_path / "out")
    code, _, err = run([ckpt, *args, "--out", out], capsys)
    assert code == 1 and err.count("\n") == 1 and message in err, err
    assert written(out) == []                                      # nothing written


def test_humanise_needs_a_model_that_learned_feel(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert train.main([DEMO, "--steps", "5", "--hidden", "8", "--feel", "0", "--out", out]) == 0
    capsys.readouterr()
    flat = os.path.join(DEMO, "waltz_3_4.mid")
    code, _, err = run([os.path.join(out, "best.npz"), "--humanize", flat, "--out", str(tmp_path / "o")], capsys)
    assert code == 1 and "learned no feel" in err and err.count("\n") == 1


PART = st.lists(st.lists(st.integers(0, 511), min_size=1, max_size=20), min_size=1, max_size=6)


@settings(deadline=None, max_examples=40)
@given(PART, st.integers(1, 510), st.floats(0.0, 2.0), st.integers(0, 2**32 - 1), st.integers(0, 4))
def test_kept_drums_never_change(bars, keep, diversity, seed, particles):
    """Any part, any kept drums, any diversity, step by step (play_part) or with candidate takes
    (play_around): the kept classes are the part's at every step, and the bar lines stay where they are."""
    config = {"vocab_size": 514, "hidden": 6, "layers": 1, "inputs": "lookback", "feel": True}
    params = lstm.init_model(config, np.random.default_rng(seed % 7), np.float64)
    ids = np.array([w for bar in bars for w in bar + [lstm.BAR_ID]])
    rng, how = np.random.default_rng(seed), lstm.Sampling(diversity)
    new, feel_ids, _ = (lstm.play_around(params, config, ids, rng, how, keep, particles=particles) if particles
                        else lstm.play_part(params, config, ids, rng, how, keep=keep))
    steps = ids < lstm.BAR_ID
    assert (new[~steps] == ids[~steps]).all()
    assert ((new[steps] & keep) == (ids[steps] & keep)).all()
    assert ((feel_ids[:, :9] >= 0) == (lstm.word_bits(new) > 0)).all()  # every hit of the new words has feel


@pytest.mark.parametrize("inputs, memory", [("lookback", True), ("lookback", False), ("word", False)])
def test_one_candidate_take_is_play_part(inputs, memory):
    """play_around with one particle has nothing to weigh: it draws what play_part draws, the same
    words, feel and level estimates from the same seed."""
    config = {"vocab_size": 514, "hidden": 8, "layers": 2, "inputs": inputs, "feel": True, "feel_memory": memory}
    params = lstm.init_model(config, np.random.default_rng(3), np.float64)
    ids = np.array([w for bar in np.random.default_rng(4).integers(0, 512, (4, 8)) for w in [*bar, lstm.BAR_ID]])
    step = lstm.play_part(params, config, ids, np.random.default_rng(5), lstm.Sampling(0.8), keep=BD_SD)
    around = lstm.play_around(params, config, ids, np.random.default_rng(5), lstm.Sampling(0.8), keep=BD_SD, particles=1)
    for a, b in zip(step, around):
        np.testing.assert_array_equal(a, b)


def test_the_vote_by_hand():
    """Three takes' bars of two steps: A plays a hi-hat on both, B on the first, C a ride on both.
    F1(A, B) = 2 * 1 / (2 + 1) = 2/3, F1(A, C) = F1(B, C) = 0. Equal weights: A and B score
    (1 + 2/3) / 3 each, C 1/3: a tie, the first kept. Weights 0.1, 0.5, 0.4: A 0.1 + 0.5 * 2/3 = 0.43,
    B 0.1 * 2/3 + 0.5 = 0.57, C 0.4. Weights 0.2, 0.2, 0.6: A and B 0.33, C 0.6."""
    hat, ride = encoding.class_bit(2), encoding.class_bit(7)
    bars = np.array([[hat, hat], [hat, 0], [ride, ride]])
    assert lstm.vote(bars, np.ones(3) / 3) == 0
    assert lstm.vote(bars, np.array([0.1, 0.5, 0.4])) == 1
    assert lstm.vote(bars, np.array([0.2, 0.2, 0.6])) == 2
    assert lstm.vote(np.zeros((2, 3), int), np.array([0.5, 0.5])) == 0   # no onsets: agree fully


@settings(deadline=None, max_examples=100)
@given(st.lists(st.lists(st.integers(0, 511), min_size=4, max_size=4), min_size=1, max_size=8), st.integers(0, 2**32 - 1))
def test_the_vote_names_a_take_and_follows_a_sure_weight(bars, seed):
    """Whatever the bars and weights, the vote names one of the takes; with all the weight on one
    take, the bar it names is that take's (or an equal one before it: F1 1 only with an equal bar)."""
    bars = np.array(bars)
    w = np.random.default_rng(seed).random(len(bars))
    assert 0 <= lstm.vote(bars, w / w.sum()) < len(bars)
    sure = np.eye(len(bars))[-1]
    assert (bars[lstm.vote(bars, sure)] == bars[-1]).all()


def test_candidate_takes_explain_the_kept_part_better():
    """A model made by hand, in which a hi-hat now makes a kick next likely (p 0.98) and no hi-hat
    makes it unlikely (0.02), and which otherwise draws the hi-hat by a coin. Around a kept kick on
    every other step, step-by-step drawing plays a hi-hat before about half the kicks; the
    candidate takes weighted by the part, voting, keep the hi-hats where the part's kicks follow."""
    V, H = 514, 1
    words = np.arange(V)
    hat, kick = (words < lstm.BAR_ID) & (words & encoding.class_bit(2) > 0), (words & encoding.class_bit(0) > 0)
    params = {"Wx0": np.zeros((V, 4 * H)), "Wh0": np.zeros((H, 4 * H)), "b0": np.array([10.0, -10.0, 0.0, 10.0]),
              "Wy": np.zeros((H, V)), "by": np.zeros(V)}
    params["Wx0"][:, 2] = np.where(hat, 10.0, -10.0)        # g = +-1, i = o = 1, f = 0: h = tanh(+-1) = +-0.76
    params["Wy"][0] = np.where(kick, 5.1, 0.0)              # a kick word's logit +-3.9, every other word's 0
    params["by"] = -50.0 * (words >= lstm.BAR_ID)           # (BAR and END never): 256 words each side
    config = {"vocab_size": V, "hidden": H, "layers": 1, "inputs": "word", "feel": False}
    bar = [0, encoding.class_bit(0)] * 2 + [lstm.BAR_ID]     # kick on every other step
    ids = np.array(bar * 16)
    before_kick = np.flatnonzero(ids == encoding.class_bit(0)) - 1

    def share(K):                                           # hi-hats on the steps before the kicks
        return np.mean([hat[lstm.play_around(params, config, ids, np.random.default_rng(seed), lstm.Sampling(1.0),
                                             encoding.class_bit(0), particles=K)[0][before_kick]].mean()
                        for seed in range(5)])
    assert 0.35 < share(1) < 0.65                           # a coin
    assert share(32) > 0.9


def test_play_around_needs_kept_drums():
    config = {"vocab_size": 514, "hidden": 4, "layers": 1, "inputs": "lookback", "feel": True}
    params = lstm.init_model(config, np.random.default_rng(0), np.float64)
    with pytest.raises(ValueError, match="keep some"):
        lstm.play_around(params, config, np.array([0, lstm.BAR_ID]), np.random.default_rng(0), keep=0)


def test_level_estimates_by_hand():
    """Levels 0..3 at odds 0.1, 0.2, 0.15, 0.55: the mean level is 2.15; the running sum first
    reaches 1/2 at level 3, the median. The classes the word does not play stay nan."""
    z_v = np.log(np.array([[0.1, 0.2, 0.15, 0.55, 0, 0, 0, 0]]) + 1e-300)
    z_o = np.log(np.eye(9)[[4]] + 1e-300)                   # offset: all on the grid's level 4
    out = lstm.level_estimates(np.array([2]), z_v, z_o)
    np.testing.assert_allclose(out[:, 2], [2.15, 3.0])
    np.testing.assert_allclose(out[:, 9 + 2], [4.0, 4.0])
    assert np.isnan(np.delete(out, [2, 11], axis=1)).all()


@settings(deadline=None, max_examples=200)
@given(st.lists(st.floats(-8, 8), min_size=9, max_size=9))
def test_the_median_level_has_the_smallest_mean_absolute_error(logits):
    """Among the levels, the median estimate is one that minimises the expected |level - guess|,
    which is why play_part.py scores humanise by it (and the mean minimises the squared error)."""
    z = np.array([logits])
    mean, median = lstm.level_estimates(np.array([0]), z[:, :8], z)[:, 9]
    p = np.exp(lstm.log_softmax(z[0]))
    levels = np.arange(9)
    error = lambda guess: p @ np.abs(levels - guess)
    assert error(median) <= min(error(g) for g in levels) + 1e-9
    assert p @ (levels - mean) ** 2 <= min(p @ (levels - g) ** 2 for g in np.linspace(0, 8, 81)) + 1e-9


def fill_model(tmp_path):
    """A tiny untrained model that learned fills, its fill column's weights made large so that
    asking for a fill changes the likeliest words; saved as a checkpoint."""
    config = {"vocab_size": 514, "hidden": 8, "layers": 1, "inputs": "word", "fills": True}
    params = lstm.init_model(config, np.random.default_rng(0))
    params["Wx0"][-1] = np.random.default_rng(1).normal(0, 20, params["Wx0"].shape[1])   # the fill column's row
    path = str(tmp_path / "fills.npz")
    lstm.save_checkpoint(path, params, config, encoding.VOCAB)
    return path, params, config


def test_a_part_can_be_a_fill(demo_model, tmp_path, capsys):
    path, params, config = fill_model(tmp_path)
    part = encoding.to_ids(corpus.read_song(demo_model[1]).words)
    takes = [lstm.play_around(params, config, part, np.random.default_rng(0), lstm.Sampling(0.0, fill_every=k),
                              keep=BD_SD)[0] for k in (0, 1)]
    assert not np.array_equal(*takes)                              # every bar read as a fill
    steps = part < encoding.BAR_ID
    assert all(((t[steps] & BD_SD) == (part[steps] & BD_SD)).all() for t in takes)
    out = str(tmp_path / "out")
    code, stdout, _ = run([path, "--keep", "BD,SD", "--primer", demo_model[1], "--fills", "1", "--out", out], capsys)
    assert code == 0 and "a fill every 1 bars" in stdout and written(out)
