"""Tests of train.py and generate.py: the split, the statistics, evaluation and its baselines,
exact resume after a real Ctrl-C, the bar mask, the JSON last lines, and bad input.
Every model here is tiny and every run seeded, so the whole file takes seconds."""
import json
import os
import signal
import subprocess
import sys

import mido
import numpy as np
import pytest

import corpus
import encoding
import generate
import lstm_drums as lstm
import train
from drum_tabs import tab_to_bars

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TINY = ["--layers", "1", "--hidden", "16", "--batch", "4", "--seq", "8", "--log-every", "10"]
ROCK = "x-x-x-x-x-x-x-x-"  # hi-hat 8ths


def groove(n_bars, fill_every=4):
    """A rock beat as words: kick on 1 and 3, snare on 2 and 4, hats on 8ths, a tom fill."""
    bars = []
    for b in range(n_bars):
        tab = {"HH": ROCK, "BD": "x-------x-x-----", "SD": "----x-------x---"}
        if b % fill_every == fill_every - 1:
            tab["FT"] = "------------xxxx"
        bars += tab_to_bars("\n".join(f"{k} |{v}|" for k, v in tab.items()))
    return encoding.bars_to_words(bars)


@pytest.fixture
def words_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("".join(" ".join(groove(n)) + "\n" for n in (12, 8, 10, 9)))
    return str(path)


def groove_feel(words):
    """A drummer's feel for groove()'s words: hi-hat accents on the beats (level 7, else 3),
    the snare laid back a ninth of a step (level 6, +1), everything else level 5 on the grid."""
    feel, bar, place = [], [], 0
    for word in words:
        if word == "BAR":
            feel.append(bar)
            bar, place = [], 0
            continue
        mask = encoding.word_to_step(word)
        classes = [k for k in range(9) if mask & encoding.class_bit(k)]
        levels = {0: (5, 0), 1: (6, 1), 2: (7 if place % 4 == 0 else 3, 0)}
        bar.append(tuple(levels.get(k, (5, 0)) for k in classes))
        place += 1
    return feel


@pytest.fixture
def felt_corpus(tmp_path):
    """The words file with its feel file beside it (corpus.feel.txt)."""
    path = tmp_path / "felt.txt"
    songs = [groove(n) for n in (12, 8, 10, 9)]
    path.write_text("".join(" ".join(w) + "\n" for w in songs))
    (tmp_path / "felt.feel.txt").write_text(
        "".join(" ".join(encoding.feel_to_tokens(groove_feel(w))) + "\n" for w in songs))
    return str(path)


def run_train(argv, capsys):
    code = train.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


# ----------------------------------------------------------------------------
# Data, vocabulary, statistics

def test_vocabulary_is_fixed_and_ordered():
    assert len(encoding.VOCAB) == 514
    assert encoding.VOCAB[0] == "0b000000000" and encoding.VOCAB[0b100000001] == "0b100000001"
    assert encoding.VOCAB[511] == "0b111111111" and encoding.VOCAB[512] == "BAR" == encoding.VOCAB[encoding.BAR_ID]
    assert encoding.VOCAB[513] == "END" == encoding.VOCAB[encoding.END_ID]


def test_validation_holds_out_whole_songs_seeded():
    songs = [corpus.Song(f"s{k}", ["0b000000000"] * (k + 2) + ["BAR"], None) for k in range(20)]
    tr, va = corpus.split_songs(songs, 0.1, seed=5)
    assert len(va) == 2 and len(tr) == 18                      # round(0.1 * 20) whole songs
    assert sorted(tr + va) == sorted(songs)                    # nothing split or lost
    assert corpus.split_songs(songs, 0.1, seed=5) == (tr, va)   # seeded
    assert corpus.split_songs(songs, 0.1, seed=6) != (tr, va)


def test_a_single_song_is_split_at_a_bar_line():
    words = groove(20)                                         # 20 bars of 17 words
    feel = np.arange(len(words))[:, None] * np.ones(18, int)   # a feel that says which word it belongs to
    one = corpus.Song("one", words, feel, "rock")
    (name, head, head_feel, style, _, _), = corpus.split_songs([one], 0.1, seed=0)[0]
    (_, tail, tail_feel, _, _, _), = corpus.split_songs([one], 0.1, seed=0)[1]
    assert style == "rock"                                     # both parts keep the song's style
    assert head + tail == words and head[-1] == "BAR"
    assert len(tail) == 2 * 17                                 # the last 10% of 20 bars
    np.testing.assert_array_equal(np.concatenate([head_feel, tail_feel]), feel)  # cut with the words


def test_song_stats_by_hand():
    bars = tab_to_bars("HH |x-x-|x-x-|xx--|----|\nBD |x---|x---|x---|----|")
    s = corpus.song_stats([encoding.bars_to_words(bars)], bar_steps=4)
    assert s["bars"] == 4 and s["well_formed_bars"] == 1.0
    assert s["onsets_per_bar"]["closed hi-hat"] == 1.5         # (2 + 2 + 2 + 0) / 4
    assert s["onsets_per_bar"]["kick"] == 0.75
    assert s["empty_bar_rate"] == 0.25
    # bar 2 equals bar 1 (4 of 4), bar 3 differs from bar 2 at steps 1, 2 (2 of 4),
    # bar 4 differs from bar 3 at steps 0, 1 (2 of 4): 8 of 12
    assert s["repeat_share"] == round(8 / 12, 4)


def test_copy_stats_by_hand():
    a, b, c, d, x, y = ([m] * 4 for m in (256, 128, 64, 32, 1, 2))
    track = encoding.bars_to_words([a, b, c, d])               # bars A B C D
    training = encoding.bars_to_words([x, a, b, y, c])         # bars x A B y C
    stats = corpus.copy_stats([track], [training], lengths=(1, 2, 4, 8))
    assert stats["copied_share"] == {"1": 0.75, "2": round(1 / 3, 4), "4": 0.0, "8": None}  # A B C; AB of AB BC CD
    assert stats["longest_copy"] == 2                          # A B
    assert corpus.copy_stats([training], [training])["longest_copy"] == 5   # a song copies itself whole
    assert corpus.copy_stats([track], [])["copied_share"]["1"] == 0.0


def test_bar_back_points_one_bar_back_including_bar():
    ids = encoding.to_ids("0b100000000 0b000000000 BAR 0b100000000 0b010000000 BAR 0b001000000 BAR".split())
    # places:            0           1          2   0           1          2   0          1
    assert train.bar_back(ids).tolist() == [-1, -1, -1, 256, 0, 512, 256, 128]
    # a short bar after a long one: its BAR (place 1) looks at the long bar's place 1


def test_baselines_on_a_perfect_loop():
    ids = encoding.to_ids(groove(8, fill_every=100))              # the same bar 8 times
    counts = np.bincount(ids, minlength=514)
    base = train.baselines([ids], counts, repeat_rate=0.99)
    nats, acc = base["repeat one bar back"]
    assert acc > 0.85                                          # all but the first bar (16 of 135 words)
    assert nats < base["unigram"][0]


# ----------------------------------------------------------------------------
# Training, evaluation, resume

def test_training_run_learns_and_ends_with_json(tmp_path, words_file, capsys):
    out = str(tmp_path / "run")
    code, stdout, _ = run_train([words_file, "--out", out, "--steps", "400", "--eval-every", "100",
                                 "--dropout", "0", "--lr", "0.01"] + TINY, capsys)
    assert code == 0
    lines = stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert set(summary) >= {"best_val_nats_per_word", "train_words_per_s", "steps", "checkpoint"}
    assert summary["steps"] == 400 and summary["checkpoint"] == os.path.join(out, "best.npz")
    assert "ln V = ln 514 = 6.242" in stdout                   # the loss to expect at step 0
    assert any(line.startswith("step    400 |") and "ETA" in line for line in lines)
    assert summary["best_val_nats_per_word"] < 1.0             # unigram is ~1.6; we see ~0.7
    history = open(os.path.join(out, "history.csv")).read().splitlines()
    assert history[0] == "step,epoch,train_loss,val_nats_per_word,lr" and len(history) == 5

    code, stdout, _ = run_train(["--eval", summary["checkpoint"], words_file], capsys)
    assert code == 0
    result = json.loads(stdout.strip().splitlines()[-1])
    assert set(result) == {"nats_per_word", "perplexity", "accuracy", "event_accuracy",
                           "no_event_accuracy", "words"}
    assert result["words"] == sum(17 * n - 1 + 1 for n in (12, 8, 10, 9))   # all but each song's first word,
                                                                            # and each song's END
    assert result["perplexity"] == pytest.approx(np.exp(result["nats_per_word"]), rel=1e-3)
    assert "unigram" in stdout and "repeat one bar back" in stdout


def test_lookback_streams_start_each_song_afresh():
    """Songs joined into a stream: the row that predicts a song's first word has place 0
    and no look-back, the same row generation starts from ([BAR] and a fresh tracker)."""
    a, b = encoding.to_ids(groove(3)), encoding.to_ids(groove(2))
    config = lstm.model_config({"inputs": "lookback", "vocab_size": len(encoding.VOCAB)})
    rows = [train.model_inputs(s, config) for s in (a, b)]
    none = len(encoding.VOCAB)
    np.testing.assert_array_equal(rows[0][-1], [encoding.BAR_ID, none, none, 0])
    start, _ = lstm.input_reader(config)(encoding.BAR_ID)
    np.testing.assert_array_equal(rows[0][-1], start)
    np.testing.assert_array_equal(rows[0][:-1], lstm.lookback_inputs(a, encoding.BAR_ID, none)[:-1])
    streams = train.epoch_streams(rows, 0, 1, seed=0)             # (1, S, 4), in a seeded order
    assert streams.shape == (1, len(a) + len(b), 4)
    # with feel: the word's feel ids, then the feel one bar back, which is none on that last row
    feel = np.arange(len(a))[:, None] % 8 * np.ones(18, np.int8)
    feel[a == encoding.BAR_ID] = -1                               # a BAR has no feel
    with_feel = train.model_inputs(a, dict(config, feel=True), feel)  # (S, 4 + 18 + 18)
    assert with_feel.shape == (len(a), 40)
    np.testing.assert_array_equal(with_feel[:, :4], rows[0])
    np.testing.assert_array_equal(with_feel[:, 4:22], feel)
    assert (with_feel[-1, 22:] == -1).all()
    src = lstm.lookback_sources(a, encoding.BAR_ID)[0][20, 0]    # row 20 looks one bar back to ...
    assert src == 20 + 1 - 17 and (with_feel[20, 22:] == feel[src]).all()  # ... the word 17 before the next
    start_feel = lstm.input_reader(dict(config, feel=True))(encoding.BAR_ID)[1]
    np.testing.assert_array_equal(lstm.feel_inputs(with_feel[-1, 4:]), start_feel)  # all zeros: no feel


def test_score_songs_matches_step_by_step_sampling_logits():
    config = {"vocab_size": 514, "hidden": 8, "layers": 2}
    params = lstm.init_model(config, np.random.default_rng(0))
    songs = [encoding.to_ids(groove(2)), encoding.to_ids(groove(1))]  # different lengths: padding
    logp, hit, targets, feel = train.score_songs(params, config, songs, chunk=5)
    assert len(logp) == len(targets) == 33 + 16 and feel is None
    state, expect = lstm.zero_state(config, 1), []
    for t, w in enumerate(songs[1][:-1]):                      # the second song, from a zero state
        logits, state = lstm.step_fast(params, int(w), state)
        z = logits.astype(np.float64)
        expect.append(z[songs[1][t + 1]] - np.log(np.exp(z - z.max()).sum()) - z.max())
    np.testing.assert_allclose(logp[33:], expect, rtol=1e-5)


def test_score_songs_feel_matches_step_by_step():
    """The feel's figures of whole-song scoring equal the head's log-probabilities taken
    word by word, as generation feeds the model (look-back feel included)."""
    config = {"vocab_size": 514, "hidden": 8, "layers": 2, "inputs": "lookback", "feel": True}
    params = lstm.init_model(config, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    songs, feels = [], []
    for n_bars in (3, 1):
        words = groove(n_bars)
        bars = encoding.words_to_bars(words)
        feel = [[tuple((int(rng.integers(8)), int(rng.integers(-4, 5))) for _ in range(bin(m).count("1")))
                 for m in bar] for bar in bars]
        songs.append(encoding.to_ids(words))
        feels.append(corpus.to_feel_ids(words, feel))
    _, _, _, scored = train.score_songs(params, config, songs, chunk=7, songs_feel=feels)
    total, hits = 0.0, 0
    for ids, feel_ids in zip(songs, feels):
        read, state = lstm.input_reader(config), lstm.zero_state(config, 1)
        for t in range(len(ids) - 1):
            x, feel_x = read(ids[t], feel_ids[t])
            _, state = lstm.step_fast(params, x, state, feel_x)
            z, _ = lstm.feel_head_forward(state[0][-1], lstm.word_bits(ids[t + 1:t + 2]), params["Wf"], params["bf"])
            for k in np.flatnonzero(feel_ids[t + 1, :9] >= 0):
                z_v, z_o = lstm.level_blocks(z.astype(np.float64))           # (1, 9, 8), (1, 9, 9)
                v, off = feel_ids[t + 1, k], feel_ids[t + 1, 9 + k]             # the hit's levels
                total -= lstm.log_softmax(z_v[0, k])[v] + lstm.log_softmax(z_o[0, k])[off]
                hits += 1
    assert scored["hits"] == hits > 0
    assert np.isclose(scored["velocity"] + scored["offset"], total, rtol=1e-4)


def test_ctrl_c_then_resume_equals_an_uninterrupted_run(tmp_path, words_file):
    """A real SIGINT mid-run: the run saves last.npz and exits 130; resuming it to step S
    gives the same weights, bit for bit, as one run straight to step S."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    common = [sys.executable, os.path.join(ROOT, "train.py"), words_file, "--layers", "2", "--hidden", "16",
              "--batch", "4", "--seq", "8", "--dropout", "0.3", "--eval-every", "4", "--patience", "1",
              "--lr-decay", "0.7", "--lr", "0.06"]
    a = str(tmp_path / "a")
    proc = subprocess.Popen(common + ["--out", a, "--steps", "100000", "--log-every", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    for line in proc.stdout:
        if line.startswith("step     25 |"):
            proc.send_signal(signal.SIGINT)
            break
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert json.loads(rest.strip().splitlines()[-1])["interrupted"] is True
    assert "Traceback" not in err
    stopped = lstm.load_checkpoint(os.path.join(a, "last.npz"))["extra"]["step"]
    assert stopped >= 25
    target = str(stopped + 30)
    resumed = subprocess.run([sys.executable, os.path.join(ROOT, "train.py"), words_file,
                              "--resume", os.path.join(a, "last.npz"), "--steps", target],
                             capture_output=True, text=True, env=env)
    assert resumed.returncode == 0, resumed.stderr
    b = str(tmp_path / "b")
    straight = subprocess.run(common + ["--out", b, "--steps", target], capture_output=True, text=True, env=env)
    assert straight.returncode == 0, straight.stderr
    ra, rb = lstm.load_checkpoint(os.path.join(a, "last.npz")), lstm.load_checkpoint(os.path.join(b, "last.npz"))
    assert ra["extra"]["step"] == rb["extra"]["step"] == int(target)
    assert ra["extra"]["lr"] == rb["extra"]["lr"] < 0.06       # the plateau schedule came along too
    for k in ra["params"]:
        np.testing.assert_array_equal(ra["params"][k], rb["params"][k], err_msg=k)
    np.testing.assert_array_equal(ra["state"][0], rb["state"][0])


# ----------------------------------------------------------------------------
# Generation

@pytest.fixture
def checkpoint(tmp_path, words_file, capsys):
    out = str(tmp_path / "run")
    code, _, _ = run_train([words_file, "--out", out, "--steps", "60", "--eval-every", "30"] + TINY, capsys)
    assert code == 0
    return os.path.join(out, "best.npz")


def test_bar_mask_closes_every_bar_on_time():
    config = {"vocab_size": 514, "hidden": 8, "layers": 1}
    params = lstm.init_model(config, np.random.default_rng(0))
    params["by"][encoding.BAR_ID] = 50.0                           # a model that wants BAR at every step
    rng = np.random.default_rng(0)
    for steps in (16, 12, 14):
        ids, _ = lstm.sample_bars(params, config, [encoding.BAR_ID], 5, rng, lstm.Sampling(bar_steps=steps))
        bars = encoding.words_to_bars([encoding.VOCAB[i] for i in ids])
        assert [len(b) for b in bars] == [steps] * 5
    free, _ = lstm.sample_bars(params, config, [encoding.BAR_ID], 5, rng, lstm.Sampling(free=True))
    assert [len(b) for b in encoding.words_to_bars([encoding.VOCAB[i] for i in free])] == [1] * 5
    params["by"][encoding.BAR_ID] = -50.0                          # ... and one that never wants it
    free, _ = lstm.sample_bars(params, config, [encoding.BAR_ID], 2, rng, lstm.Sampling(free=True))
    assert [len(b) for b in encoding.words_to_bars([encoding.VOCAB[i] for i in free])] == [64, 64]


def test_generate_writes_midi_words_and_json(tmp_path, checkpoint, capsys):
    out = str(tmp_path / "gen")
    argv = [checkpoint, "--bars", "3", "--diversity", "0.5", "1.0", "--seed", "7", "--out", out, "--bpm", "140"]
    assert generate.main(argv) == 0
    stdout = capsys.readouterr().out
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert sorted(os.listdir(out)) == sorted(os.path.basename(f) for f in summary["files"])
    assert "CR |" in stdout and "BD |" in stdout                 # the drum tab
    for r in summary["outputs"]:
        assert r["bars"] == 3 and r["well_formed_bars"] == 1.0
        words = open(r["txt"]).read().split()
        mid = mido.MidiFile(r["mid"])
        notes = [m for m in mid.tracks[0] if m.type == "note_on"]
        assert notes and all(m.channel == 9 for m in notes)      # GM drums, MIDI channel 10
        assert round(mido.tempo2bpm(next(m.tempo for m in mid.tracks[0] if m.type == "set_tempo"))) == 140
        assert encoding.bars_to_words(encoding.midi_to_bars(mid)[0]) == words
        assert {m.velocity for m in notes} == {100} and "feel" not in r   # a model without feel: the grid
    # the training part's figures: with fewer than 10 songs the tail of each is held out (here the
    # last bar of the 12- and the 10-bar song; the 8- and 9-bar songs are too short to cut at 10%)
    assert summary["corpus"]["bars"] == 39 - 2
    first = {f: open(f, "rb").read() for f in summary["files"]}
    assert generate.main(argv) == 0                              # same seed, same tracks
    assert {f: open(f, "rb").read() for f in summary["files"]} == first


def song_checkpoint(path, end_bias, learned=True):
    """A small untrained model whose decoder bias makes END (after a bar) likely or unlikely."""
    config = {"vocab_size": 514, "hidden": 8, "layers": 1, "inputs": "lookback", "feel": True}
    params = lstm.init_model(config, np.random.default_rng(0))
    params["by"][encoding.END_ID] = end_bias
    unigram = [1] * 514
    unigram[encoding.END_ID] = 3 if learned else 0
    lstm.save_checkpoint(str(path), params, config, encoding.VOCAB, extra={"corpus": {"unigram": unigram}})
    return str(path)


def test_song_ends_when_the_model_says_or_at_the_cap(tmp_path, capsys):
    out = str(tmp_path / "g")
    ends = song_checkpoint(tmp_path / "ends.npz", 50.0)           # END as soon as it may be drawn
    assert generate.main([ends, "--song", "--diversity", "1", "--out", out]) == 0
    stdout = capsys.readouterr().out
    r = json.loads(stdout.strip().splitlines()[-1])["outputs"][0]
    words = open(r["txt"]).read().split()
    assert words[-2:] == ["BAR", "END"] and r["bars"] == 1 and r["ended"] == "the model ended it"
    assert "the model ended it" in stdout
    feel = encoding.read_feel(r["feel"], [words])[0]                # the feel file fits the words and END
    feel[0][0] = tuple((v, max(o, 0)) for v, o in feel[0][0])       # (MIDI cannot play a hit before tick 0)
    assert encoding.midi_to_bars(encoding.read_midi(r["mid"]))[1] == feel
    never = song_checkpoint(tmp_path / "never.npz", -50.0)        # END never wanted: the cap ends it
    assert generate.main([never, "--song", "--bars", "3", "--diversity", "1", "--out", out]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["outputs"][0]
    assert r["bars"] == 3 and r["ended"] == "cut at the cap of 3 bars" and "END" not in open(r["txt"]).read()
    assert generate.main([ends, "--bars", "4", "--diversity", "1", "--out", out]) == 0   # --bars: never END
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["outputs"][0]
    assert r["bars"] == 4 and "END" not in open(r["txt"]).read() and "ended" not in r


def test_song_needs_a_model_that_learned_song_ends(tmp_path, capsys):
    untaught = song_checkpoint(tmp_path / "c.npz", 0.0, learned=False)   # as --compat trains (no END)
    assert generate.main([untaught, "--song", "--out", str(tmp_path / "g")]) == 1
    err = capsys.readouterr().err
    assert "never learned where songs end" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "g").exists()


def test_end_closes_a_song_and_nowhere_else(tmp_path):
    words = "0b100000000 BAR 0b010000000 BAR END".split()
    assert encoding.words_to_bars(words) == encoding.words_to_bars(words[:-1]) == [[256], [128]]
    feel = [[((7, 0),)], [((2, 1),)]]
    assert encoding.feel_to_tokens(feel, end=True) == ["7+0", "|", "2+1", "|", "|"]
    assert encoding.tokens_to_feel(encoding.feel_to_tokens(feel, end=True), words) == feel
    assert (corpus.to_feel_ids(words, feel)[-1] == -1).all()       # END plays nothing
    for bad, message in ((words[:2] + ["END"] + words[2:-1], "END word in the middle"),
                         ("0b100000000 END".split(), "END must follow the song's last BAR")):
        with pytest.raises(encoding.CodecError, match=message):
            encoding.words_to_bars(bad)
    path = tmp_path / "s.txt"
    path.write_text(" ".join(words) + "\n" + " ".join(words[:2] + ["END"] + words[2:-1]) + "\n")
    with pytest.raises(encoding.CodecError, match="s.txt:2: an END word in the middle"):
        encoding.read_corpus(str(path))
    assert lstm.word_bits([encoding.END_ID, encoding.BAR_ID]).sum() == 0  # (END = 513 is not a crash + kick)


def test_train_appends_end_to_whole_songs_only(tmp_path):
    songs = corpus.load_songs([os.path.join(ROOT, "data", "demo", "waltz_3_4.mid")])
    assert songs[0][1][-2:] == ["BAR", "END"] and len(songs[0][2]) == len(songs[0][1])
    heads, tails = corpus.split_songs(songs, 0.1, seed=0)                # one song: its tail is held out
    assert "END" not in heads[0][1] and "END" not in tails[0][1]


def test_generate_with_a_primer_and_a_meter(tmp_path, checkpoint, capsys):
    primer = tmp_path / "primer.txt"
    primer.write_text(" ".join(groove(2)) + " 0b100000000")     # a trailing partial bar is dropped
    out = str(tmp_path / "gen")
    assert generate.main([checkpoint, "--primer", str(primer), "--meter", "7/8", "--bars", "2",
                          "--diversity", "0", "--out", out]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    words = open(summary["outputs"][0]["txt"]).read().split()
    assert [len(b) for b in encoding.words_to_bars(words)] == [14, 14]


def test_a_feel_model_learns_and_plays_feel_and_flat_drops_it(tmp_path, felt_corpus, capsys):
    out = str(tmp_path / "run")
    code, stdout, _ = run_train([felt_corpus, "--out", out, "--steps", "150", "--eval-every", "50",
                                 "--lr", "0.01"] + TINY, capsys)
    assert code == 0 and "and feel (inputs and head)" in stdout
    assert "feel baselines on the validation hits" in stdout
    last = [line for line in stdout.splitlines() if line.startswith("step 150: feel")][-1]
    velocity = float(last.split()[3])
    assert velocity < 0.5, last                                  # a uniform guess is ln 8 = 2.08; we see ~0.1
    best = os.path.join(out, "best.npz")
    gen = str(tmp_path / "gen")
    argv = [best, "--bars", "4", "--diversity", "0.5", "--out", gen]
    assert generate.main(argv) == 0
    stdout = capsys.readouterr().out
    r = json.loads(stdout.strip().splitlines()[-1])["outputs"][0]
    words = open(r["txt"]).read().split()
    feel = encoding.read_feel(r["feel"], [words])[0]             # the feel file fits its words
    mid = encoding.read_midi(r["mid"])
    assert encoding.midi_to_bars(mid)[:2] == (encoding.words_to_bars(words), feel)   # MIDI carries the feel
    hats = [v for bar in feel for step in bar for v, _ in step]
    assert len(set(hats)) > 1                                    # not one velocity for every hit
    assert "X" in stdout                                         # accents in the tab
    assert "vel  sd  acc  off ms" in stdout                      # the feel's statistics beside the corpus's
    assert generate.main(argv + ["--flat"]) == 0
    flat = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["outputs"][0]
    assert open(flat["txt"]).read().split() == words and "feel" not in flat   # the same words, no feel
    _, flat_feel, _ = encoding.midi_to_bars(encoding.read_midi(flat["mid"]))
    assert {lv for bar in flat_feel for step in bar for lv in step} == {(6, 0)}  # velocity 100, on the grid


def test_a_bad_feel_file_is_one_line_naming_file_line_and_word(tmp_path, felt_corpus, capsys):
    feel_file = tmp_path / "felt.feel.txt"
    lines = feel_file.read_text().splitlines()
    tokens = lines[1].split()
    tokens[2] = "9+0"                                            # velocity level 9 does not exist
    feel_file.write_text("\n".join([lines[0], " ".join(tokens)] + lines[2:]) + "\n")
    code, _, err = run_train([felt_corpus, "--out", str(tmp_path / "run")], capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "felt.feel.txt:2: word 3 (" in err and "want velocity 0-7" in err
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------
# Bad input: one line, exit 1, no traceback, nothing good overwritten

@pytest.mark.parametrize("make, message", [
    (lambda d: [str(d / "missing")], "no such file"),
    (lambda d: [_write(d / "bad.txt", "0b000000000 0b12 BAR\n")], "bad.txt:1: not a step word"),
    (lambda d: [_write(d / "empty.txt", "\n\n")], "no songs to train on"),
    (lambda d: [_write(d / "x.mid", "not midi")], "no songs to train on"),
])
def test_train_bad_data(tmp_path, capsys, make, message):
    code, _, err = run_train(make(tmp_path) + ["--out", str(tmp_path / "run")], capsys)
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def _write(path, text):
    path.write_text(text)
    return str(path)


def test_eval_and_generate_refuse_a_file_that_is_not_a_checkpoint(tmp_path, words_file, capsys):
    fake = _write(tmp_path / "fake.npz", "hello")
    code, _, err = run_train(["--eval", fake, words_file], capsys)
    assert code == 1 and "not a readable checkpoint" in err
    assert generate.main([fake, "--out", str(tmp_path / "g")]) == 1
    assert "not a readable checkpoint" in capsys.readouterr().err
    assert generate.main([str(tmp_path / "none.npz")]) == 1
    assert "no such checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--bars", "0"], "--bars 0"),
    (["--diversity", "1.0", "-0.5"], "--diversity"),
    (["--meter", "5/32"], "whole number of 16th notes"),
    (["--primer", "PRIMER"], "not a step word"),
])
def test_generate_bad_arguments(tmp_path, checkpoint, capsys, argv, message):
    primer = _write(tmp_path / "p.txt", "0b000000000 kick BAR")
    argv = [a.replace("PRIMER", primer) for a in argv]
    out = tmp_path / "gen"
    assert generate.main([checkpoint, "--out", str(out)] + argv) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists() or not os.listdir(out)


def test_a_diverging_run_keeps_the_good_checkpoint(tmp_path, words_file, checkpoint, capsys):
    out = os.path.dirname(checkpoint)
    before = {f: open(os.path.join(out, f), "rb").read() for f in ("best.npz", "last.npz")}
    code, _, err = run_train([words_file, "--out", out, "--steps", "50", "--lr", "1e38", "--clip", "0",
                              "--eval-every", "1000"] + TINY, capsys)
    assert code == 1 and "diverged" in err
    assert {f: open(os.path.join(out, f), "rb").read() for f in ("best.npz", "last.npz")} == before


def test_compat_flag_reads_midi_with_the_original_rules():
    demo = os.path.join(ROOT, "data", "demo", "seven_eight.mid")
    metre_aware = corpus.load_songs([demo])[0][1]
    compat = corpus.load_songs([demo], compat=True)[0][1]
    assert {len(bar) for bar in encoding.words_to_bars(metre_aware)} == {14}       # 7/8 bars
    assert {len(bar) for bar in encoding.words_to_bars(compat)} == {16}            # BAR every 16 steps
    assert metre_aware[-1] == "END" and "END" not in compat                        # song ends: metre-aware only
    steps = lambda words: [w for w in words if w not in ("BAR", "END")]
    assert steps(compat)[:len(steps(metre_aware))] == steps(metre_aware)           # the same steps


def test_a_run_stopped_between_evaluations_resumes_exactly(tmp_path, words_file, capsys):
    """The end-of-run evaluation (step 26, off the every-7 schedule) keeps a better best.npz but
    must not move the learning-rate schedule: stopping there and resuming equals one run."""
    common = [words_file, "--layers", "2", "--hidden", "16", "--batch", "4", "--seq", "8", "--dropout", "0.3",
              "--eval-every", "7", "--patience", "1", "--lr-decay", "0.7", "--lr", "0.03", "--log-every", "100"]
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    assert run_train(common + ["--out", a, "--steps", "26"], capsys)[0] == 0
    assert run_train(common + ["--resume", os.path.join(a, "last.npz"), "--steps", "60"], capsys)[0] == 0
    assert run_train(common + ["--out", b, "--steps", "60"], capsys)[0] == 0
    ra, rb = lstm.load_checkpoint(os.path.join(a, "last.npz")), lstm.load_checkpoint(os.path.join(b, "last.npz"))
    assert ra["extra"]["lr"] == rb["extra"]["lr"]
    for k in ra["params"]:
        np.testing.assert_array_equal(ra["params"][k], rb["params"][k], err_msg=k)


# ----------------------------------------------------------------------------
# The WAV synthesiser

def read_wav(data):
    import io
    import wave
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 44100)
        return np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32767


@pytest.mark.parametrize("bpm", [60.0, 133.0])
def test_wav_is_the_track_plus_a_short_decay(bpm):
    bars = [[0b100000000] * 12, [0] * 7]                      # a 3/4 bar and a 7/16 bar
    audio = read_wav(generate.bars_to_wav(bars, bpm))
    step_seconds = 60 / bpm / 4                               # a 16th note
    assert len(audio) == round(19 * step_seconds * 44100) + int(generate.TAIL_SECONDS * 44100)
    assert generate.TAIL_SECONDS <= 2.0
    assert generate.bars_to_wav(bars, bpm) == generate.bars_to_wav(bars, bpm)   # deterministic


@pytest.mark.parametrize("k", range(9))
def test_each_hit_starts_on_its_step(k):
    """Hits on steps 3 and 19 (one bar apart, each after silence): the sound's onset is within
    5 ms of 3 and 19 sixteenths at 120 bpm (0.375 s and 2.375 s)."""
    bit = encoding.class_bit(k)
    bars = [[bit if s == 3 else 0 for s in range(16)], [bit if s == 3 else 0 for s in range(16)]]
    audio = np.abs(read_wav(generate.bars_to_wav(bars, 120.0)))
    for expected in (0.375, 2.375):
        window = audio[int((expected - 0.2) * 44100):]           # silence before each hit
        onset = (np.argmax(window > 0.02) / 44100) + expected - 0.2
        assert abs(onset - expected) <= 0.005, f"class {k}: heard at {onset:.4f} s, placed at {expected} s"


def test_the_wav_plays_each_hit_at_its_velocity_and_offset():
    """A kick on step 4 of each of two bars at 120 bpm (a step is 125 ms): played at level 7
    on the grid, then at level 2 four ninths of a step late (55.6 ms)."""
    bars = [[256 if s == 4 else 0 for s in range(16)]] * 2
    feel = [[((7, 0),) if s == 4 else () for s in range(16)], [((2, 4),) if s == 4 else () for s in range(16)]]
    audio = read_wav(generate.bars_to_wav(bars, 120.0, feel=feel))
    onsets = []
    for expected in (0.5, 2.5 + 4 / 9 * 0.125):
        window = np.abs(audio[int((expected - 0.2) * 44100):int((expected + 0.3) * 44100)])
        onsets.append((np.argmax(window > 0.01) / 44100 + expected - 0.2, window.max()))
    assert abs(onsets[0][0] - 0.5) <= 0.005 and abs(onsets[1][0] - (2.5 + 0.0556)) <= 0.005, onsets
    assert onsets[1][1] < 0.5 * onsets[0][1]                     # velocity 40 against 120: quieter
    flat = read_wav(generate.bars_to_wav(bars, 120.0, velocity=100))
    assert len(flat) == len(audio)                               # feel moves hits, not the track's length


def test_the_nine_voices_differ_and_the_toms_fall_in_pitch():
    def centroid(v):
        spectrum = np.abs(np.fft.rfft(v, 1 << 16))
        return float((spectrum * np.arange(len(spectrum))).sum() / spectrum.sum())
    voices = generate.VOICES
    assert len({v.tobytes() for v in voices}) == 9
    assert centroid(voices[4]) < centroid(voices[5]) < centroid(voices[6])    # floor < low < hi-mid tom
    assert centroid(voices[0]) < centroid(voices[4])                          # the kick is lowest
    assert len(voices[2]) < len(voices[3])                                    # closed hi-hat is short


# ----------------------------------------------------------------------------
# A newcomer's first five minutes

def test_a_primer_sets_the_metre_unless_meter_says_otherwise(tmp_path, checkpoint, capsys):
    seven = encoding.bars_to_words([[256] + [0] * 13] * 3)               # three 7/8 bars
    primer = tmp_path / "p.txt"
    primer.write_text(" ".join(seven))
    out = str(tmp_path / "g")
    for extra, lengths in (([], {14}), (["--meter", "4/4"], {16})):
        assert generate.main([checkpoint, "--primer", str(primer), "--bars", "3", "--diversity", "1",
                              "--out", out] + extra) == 0
        summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        words = open(summary["outputs"][0]["txt"]).read().split()
        assert {len(b) for b in encoding.words_to_bars(words)} == lengths   # only the new bars


def test_outputs_never_overwrite_other_settings(tmp_path, checkpoint, capsys):
    out = tmp_path / "g"
    runs = [["--bars", "2"], ["--bars", "3"], ["--bars", "2", "--bpm", "90"], ["--bars", "2", "--meter", "3/4"]]
    names = set()
    for extra in runs:
        assert generate.main([checkpoint, "--diversity", "1.0", "1.001", "1.0", "--out", str(out)] + extra) == 0
        files = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["files"]
        assert len(files) == 2 * 3                                   # 1.0 once, 1.001 apart: mid, wav, txt
        names |= set(files)
    assert len(names) == len(runs) * 6 and len(os.listdir(out)) == len(names)


def test_training_names_its_validation_songs_and_draws_its_curve(tmp_path, words_file, capsys):
    import xml.etree.ElementTree as ET
    out = tmp_path / "r"
    code, stdout, _ = run_train([words_file, "--out", str(out), "--steps", "20", "--eval-every", "10"] + TINY, capsys)
    assert code == 0
    assert "validation: corpus.txt:1 (tail), corpus.txt:3 (tail)" in stdout
    evals = [line for line in stdout.splitlines() if line.startswith("step 10: val")]
    assert evals and "unigram" in evals[0] and "repeat one bar back" in evals[0]
    svg = ET.parse(out / "history.svg").getroot()
    assert svg.tag.endswith("svg") and len(svg.findall("{http://www.w3.org/2000/svg}polyline")) == 4
    assert oct(os.stat(out / "best.npz").st_mode & 0o777) == oct(os.stat(out / "history.csv").st_mode & 0o777)


def test_a_midi_file_given_as_a_checkpoint_says_what_it_is(tmp_path, capsys):
    demo = os.path.join(ROOT, "data", "demo", "rock_8ths.mid")
    assert generate.main([demo, "--out", str(tmp_path / "g")]) == 1
    err = capsys.readouterr().err
    assert "a MIDI file" in err and "expected an .npz written by train.py" in err and "pickle" not in err


def test_a_checkpoint_of_an_older_format_is_one_clear_line(tmp_path, words_file, capsys):
    """A version-1 checkpoint (its config could lack keys): every command refuses it in one line
    that names the version and what to do."""
    out = str(tmp_path / "r")
    assert run_train([words_file, "--out", out, "--steps", "4"] + TINY, capsys)[0] == 0
    path = os.path.join(out, "last.npz")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["format_version"] = np.array(1)
    np.savez(path, **arrays)
    for code, _, err in (run_train([words_file, "--resume", path, "--steps", "8"], capsys),
                         run_train(["--eval", path, words_file], capsys)):
        assert code == 1 and err.count("\n") == 1
        assert "format version 1, written by an older lstm-drums" in err and "train the model again" in err
    assert generate.main([path, "--out", str(tmp_path / "g")]) == 1
    assert "format version 1" in capsys.readouterr().err


def test_a_corpus_of_one_repeated_loop_gets_finite_baselines(tmp_path, capsys):
    """Every training bar repeats the one before: the repeat rate is smoothed below 1, so the
    repeat baseline stays finite on validation bars that change (and the SVG has no NaN)."""
    loop = tmp_path / "loop.txt"
    loop.write_text(" ".join((" ".join(["0b100000000", "0b001000000"] * 8) + " BAR").split() * 12) + "\n")
    valid = tmp_path / "valid.txt"
    valid.write_text(" ".join(groove(4)) + "\n")
    out = str(tmp_path / "run")
    with np.errstate(divide="raise", invalid="raise"):
        code, stdout, _ = run_train([str(loop), "--valid", str(valid), "--out", out, "--steps", "4",
                                     "--eval-every", "2"] + TINY, capsys)
    assert code == 0
    line = next(x for x in stdout.splitlines() if x.startswith("baselines on the validation songs"))
    figures = [float(x) for x in line.replace(",", " ").split() if x.replace(".", "").isdigit()]
    assert len(figures) == 2 and all(np.isfinite(figures))
    assert "nan" not in open(os.path.join(out, "history.svg")).read()
    assert 0 < train.repeat_rate_of([encoding.to_ids(loop.read_text().split())]) < 1


# ----------------------------------------------------------------------------
# BLAS threads: decided from what the cores are doing now (the readings replaced by fixed ones)

def test_cores_busy_from_two_readings_of_proc_stat():
    # 2 cores at 100 ticks/s over 0.3 s: 60 ticks in all; 30 busy = one core's worth
    assert train.cores_busy((1000, 5000), (1030, 5060), n_cores=2) == pytest.approx(1.0)
    # ... of which this process used 0.15 s of CPU itself: the others used half a core
    assert train.cores_busy((1000, 5000), (1030, 5060), n_cores=2, own_seconds=0.15) == pytest.approx(0.5)
    assert train.cores_busy((1000, 5000), (1001, 5060), n_cores=2) == pytest.approx(2 / 60)
    assert train.cores_busy((1000, 5000), (1000, 5000), n_cores=2) == 0.0    # no ticks: nothing seen


@pytest.mark.parametrize("hidden, busy, n_cores, threads, says", [
    (384, 0.03, 2, 2, "both cores idle now"),
    (384, 0.98, 2, 1, "0.98 cores in use"),          # one core kept busy: never two threads
    (384, 0.0, 1, 1, "one core"),
    (128, 0.0, 2, 1, "gains little"),
])
def test_thread_choice(hidden, busy, n_cores, threads, says):
    got, reason = train.blas_threads_wanted(hidden, busy, n_cores)
    assert got == threads and says in reason


def test_choose_threads_logs_what_it_saw(monkeypatch):
    lines = []
    monkeypatch.setattr(train, "THREADS_CHOSEN_BY", "train.py")
    monkeypatch.setattr(train, "look_at_cores", lambda: (0.97, 2, "the cores over 0.3 s now"))
    args = train.parse_args([])
    train.choose_threads(args, {"hidden": 512}, lines.append)
    assert lines == ["BLAS threads: 1 (1 thread: 0.97 cores in use by other programs, from the cores over "
                     "0.3 s now; --threads N to choose)"]


def test_best_checkpoint_follows_the_words_and_their_feel(monkeypatch):
    """A feel model's best.npz is the evaluation with the lowest words + feel nats per word, not
    the words' best alone; the words' and the feel's own best steps are kept to report."""
    import types
    run = types.SimpleNamespace(best_saved=None, best_words=None, peaks={}, step=0)
    saved = []
    monkeypatch.setattr(train, "save", lambda run, out, name, val=None: saved.append((run.step, name, val)))
    for step, words, feel in ((1, 1.0, 0.5), (2, 0.9, 0.8), (3, 1.1, 0.2)):
        run.step = step
        train.keep_if_best(run, "out", {"nats_per_word": words, "feel_nats_per_word": feel})
    assert saved == [(1, "best.npz", 1.5), (3, "best.npz", 1.3)]   # step 2's words were best, its feel worse
    assert run.peaks == {"words": (0.9, 2), "feel": (0.2, 3), "best.npz": (1.3, 3)} and run.best_words == 1.1
    assert train.selection_figure({"nats_per_word": 0.8}) == 0.8     # a model without feel: the words alone


def test_feel_hide_hides_some_streams_feel_inputs(tmp_path, monkeypatch, capsys):
    """--feel-hide p: in each chunk, a seeded share p of the streams read no feel (their feel
    inputs zero), while the feel head's targets stay; out of range is refused in one line."""
    seen = []
    step = train.train_step
    monkeypatch.setattr(train, "train_step", lambda params, opt, chunk, *a, **k: (
        seen.append(chunk.feel[0].reshape(chunk.feel[0].shape[0], chunk.feel[0].shape[1], -1)), step(params, opt, chunk, *a, **k))[1])
    demo = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "demo")
    assert train.main([demo, "--steps", "6", "--hidden", "8", "--feel-hide", "0.5", "--out", str(tmp_path / "r")]) == 0
    silent = [(~x.any(axis=(0, 2))).mean() for x in seen]           # share of streams with no feel input at all
    assert len(seen) == 6 and 0 < np.mean(silent) < 1
    assert train.main([demo, "--feel-hide", "1", "--out", str(tmp_path / "x")]) == 1
    assert "--feel-hide 1.0 is out of range" in capsys.readouterr().err
