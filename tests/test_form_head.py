"""Tests of the form head (lstm_drums section 12): at each bar line of a song it chooses a new bar
or one of the 64 before, played again whole. Its candidates and facts by hand, its gradient against
centred differences, its fit, sampling with it, the checkpoint, and train.py fitting it."""
import itertools
import json
import os

import numpy as np
import pytest

import encoding
import generate
import lstm_drums as lstm
import train
from test_lstm_drums import numerical_gradient, scaled_error

BAR = lstm.BAR_ID
A, B, C = [1, BAR], [2, BAR], [3, BAR]                    # three one-step bars
CRASH = [lstm.CRASH_BIT | 4, BAR]                         # a one-step bar with the crash
ROOT = os.path.join(os.path.dirname(__file__), "..")


def test_candidates_and_their_facts_by_hand():
    keys = lstm.bar_keys(A + B + A + C + A + B)
    assert keys == [np.array(b, dtype=np.int64).tobytes() for b in (A, B, A, C, A, B)]
    # bar line 4 (A B A C played; A came next): C, A, B, nearest first; the first A is bar 2 again
    latest, facts, bins = lstm.form_candidates(keys, 4)
    assert latest.tolist() == [3, 2, 1] and bins.tolist() == [0, 1, 1]           # d = 1, 2, 3
    run, phrase = lstm.MATCH_MAX, lstm.MATCH_MAX + 5                             # the run and phrase columns' first
    assert facts.shape == (3, lstm.FORM_FACTS) and lstm.FORM_FACTS == phrase + 4
    assert facts[:, :lstm.MATCH_MAX].sum() == 0                                  # no bar before them matches C
    assert facts[0, run:phrase].tolist() == [1, 0, 0, 0, 0] and facts[1:, run:phrase].sum() == 0   # C just played, once
    assert facts[:, phrase:].sum() == 0                                          # none exactly 4, 8, 16, 32 back
    # bar line 5 (A B A C A): B's bar before it is A, as the bar before bar 5 is: a match of one
    latest, facts, bins = lstm.form_candidates(keys, 5)
    assert latest.tolist() == [4, 3, 1]
    assert facts[2, :lstm.MATCH_MAX].tolist() == [1, 0, 0, 0]
    # A B A C A B: at bar line 6 the first A (bar 0) is 6 back, but its latest playing (bar 4) 2 back; at
    # bar line 8 of A B C D E F G H, A is exactly 8 back and E exactly 4: their phrase columns
    latest, facts, _ = lstm.form_candidates(keys, 6)
    assert latest.tolist() == [5, 4, 3] and facts[:, phrase:].sum() == 0
    eight = lstm.bar_keys(sum(([k, BAR] for k in range(1, 9)), []))
    latest, facts, _ = lstm.form_candidates(eight, 8)
    assert latest.tolist() == list(range(7, -1, -1))
    assert facts[3, phrase:].tolist() == [1, 0, 0, 0] and facts[7, phrase:].tolist() == [0, 1, 0, 0]
    assert facts[:, phrase:].sum() == 2
    # a bar played five times in a row: its run is in the 4-7 column
    keys = lstm.bar_keys(A * 5)
    latest, facts, bins = lstm.form_candidates(keys, 5)
    assert latest.tolist() == [4] and facts[0, run:phrase].tolist() == [0, 0, 0, 1, 0]
    assert facts[0, :lstm.MATCH_MAX].tolist() == [0, 0, 0, 1]                   # 4 bars before alike (capped)


def test_candidates_reach_64_bars_back_and_no_further():
    bars = [[k % 500, BAR] for k in range(70)]                       # 70 different bars
    keys = lstm.bar_keys(sum(bars, []))
    latest, _, bins = lstm.form_candidates(keys, 70)
    assert latest.tolist() == list(range(69, 5, -1)) and len(latest) == lstm.FORM_WINDOW
    assert bins[0] == 0 and bins[-1] == 5                              # d = 1 and d = 64


def test_the_ends_place_counts_two_places_an_octave():
    bars = [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 255, 256, 362, 363, 511, 512, 5000]
    assert [lstm.form_place(n) for n in bars] == [0, 2, 3, 4, 4, 5, 5, 6, 6, 7, 15, 16, 16, 17, 17, 18, 18]
    assert lstm.form_place(512) == lstm.FORM_PLACES - 1


def random_head_inputs(rng, E=7, K=5, H=4):
    h = rng.standard_normal((E, H))
    facts = rng.standard_normal((E, K, lstm.FORM_FACTS))
    bins = rng.integers(0, len(lstm.DISTANCE_BINS), (E, K))
    bins[0, 2:] = -1                                                 # fewer candidates at some bar lines
    bins[3, :] = -1
    place = rng.integers(0, lstm.FORM_PLACES, E)
    crashed = rng.integers(0, 2, E).astype(float)
    target = np.array([3, 0, 6, 1, 2, 4, 5])                        # (1: the end, at bar line 3)
    return h, facts, bins, place, crashed, target


def random_head(rng, H=4):
    return {"Fw": rng.standard_normal((H, lstm.FORM_LOGITS)), "fb": rng.standard_normal(lstm.FORM_LOGITS),
            "fa": rng.standard_normal(lstm.FORM_FACTS), "fp": rng.standard_normal(lstm.FORM_PLACES),
            "fc": rng.standard_normal(1)}


def test_form_loss_gradients_match_centred_differences():
    rng = np.random.default_rng(0)
    inputs, head = random_head_inputs(rng), random_head(rng)
    _, grads = lstm.form_loss(head, *inputs, l2=0.1)
    for k, p in head.items():
        numerical = numerical_gradient(lambda: lstm.form_loss(head, *inputs, l2=0.1)[0], p)
        assert scaled_error(numerical, grads[k]) < 1e-7, k


def test_no_candidate_is_never_chosen():
    rng = np.random.default_rng(1)
    h, facts, bins, place, crashed, _ = random_head_inputs(rng)
    z = lstm.form_logits(random_head(rng), h, facts, bins, place, crashed)
    assert np.isneginf(z[0, 4:]).all() and np.isneginf(z[3, 2:]).all() and np.isfinite(z[:, :2]).all()


def test_what_the_head_is_fitted_on_by_hand():
    # a song A B A C A that ended, and the first bars of one that did not (A A): a line per bar line
    ended, cut = lstm.bar_keys(A + B + A + C + A), lstm.bar_keys(A + A)
    tops = [np.arange(5.0)[:, None], np.array([[7.0]])]             # the song's 5 lines, the cut one's 1
    h, facts, bins, place, crashed, target = lstm.form_head_inputs(tops, [ended, cut], [True, False])
    assert h[:, 0].tolist() == [0, 1, 2, 3, 4, 7]
    # next: B (new), A (2 back), C (new), A (2 back: of C, A, B nearest first, A is the 2nd), END; A again
    assert target.tolist() == [0, 2 + 1, 0, 2 + 1, 1, 2 + 0]
    assert place.tolist() == [0, 2, 3, 4, 4, 0]                      # bars played: 1, 2, 3, 4, 5; 1
    assert crashed.tolist() == [1, 0, 1, 1, 1, 1]                    # step words 1 and 3 have the crash's bit
    _, _, _, _, crashed, target = lstm.form_head_inputs(tops[:1], [lstm.bar_keys(B + B + CRASH + B + CRASH)], [True])
    assert crashed.tolist() == [0, 0, 1, 0, 1] and target[-1] == 1   # the song ended after a bar with a crash
    with pytest.raises(ValueError, match="6 rows for 5 bar lines"):  # a top layer's row too many
        lstm.form_head_inputs([np.zeros((6, 1))], [lstm.bar_keys(A + B + A + C + A)], [True])
    assert (bins[0] >= 0).sum() == 1 and (bins[4] >= 0).sum() == 3 and bins.shape == (6, lstm.FORM_WINDOW)


def test_the_fit_learns_which_fact_says_the_next_bar():
    # 200 bar lines, each with 6 candidates; the next bar is the one whose first bar before it
    # matched (column 0), and "new" where none did. The fitted head must find that column.
    rng = np.random.default_rng(2)
    E, K = 200, 6
    facts = np.zeros((E, K, lstm.FORM_FACTS))
    bins = rng.integers(0, len(lstm.DISTANCE_BINS), (E, K))
    which = rng.integers(-1, K, E)                                  # -1: none matched
    target = np.where(which >= 0, which + 2, 0)
    facts[np.arange(E)[which >= 0], which[which >= 0], 0] = 1
    h, place = rng.standard_normal((E, 3)), rng.integers(0, lstm.FORM_PLACES, E)
    crashed = np.zeros(E)
    head = lstm.fit_form_head(h, facts, bins, place, crashed, target)
    p = np.exp(lstm.form_logits(head, h, facts, bins, place, crashed))
    p /= p.sum(axis=1, keepdims=True)
    assert p[np.arange(E), target].mean() > 0.9 and p[np.arange(E), target].min() > 0.5
    assert lstm.form_loss(head, h, facts, bins, place, crashed, target, l2=0)[0] < 0.1 * np.log(K + 2)


def test_the_fit_learns_that_songs_end_after_a_crash():
    # 300 bar lines, one candidate each (never chosen); a bar line after a bar with a crash is the
    # end one time in two, after one without never: the end's crash weight must carry it (the top
    # layer says nothing)
    rng = np.random.default_rng(3)
    E = 300
    crashed = (np.arange(E) % 3 == 0).astype(float)                 # a crash in every third bar
    target = np.where((crashed == 1) & (np.arange(E) % 2 == 0), 1, 0)
    h, place = np.zeros((E, 3)), np.full(E, 5)
    facts, bins = np.zeros((E, 1, lstm.FORM_FACTS)), np.zeros((E, 1), dtype=np.int64)
    head = lstm.fit_form_head(h, facts, bins, place, crashed, target)
    p = np.exp(lstm.form_logits(head, h, facts, bins, place, crashed))
    p /= p.sum(axis=1, keepdims=True)
    assert abs(p[crashed == 1, 1].mean() - 0.5) < 0.05 and p[crashed == 0, 1].max() < 0.05
    assert head["fc"][0] > 2


def tiny_model(seed=0, **extra):
    config = {"vocab_size": 514, "hidden": 8, "layers": 1, "inputs": "lookback", "feel": True, **extra}
    return lstm.model_config(config), lstm.init_model(config, np.random.default_rng(seed))


def with_head(params, new, end=-50.0, bin_logits=(0, 0, 0, 0, 0, 0)):
    """params with a form head that reads only its biases: "new" at logit new, END at end, each
    distance bin's."""
    return {**params, "Fw": np.zeros((8, lstm.FORM_LOGITS), np.float32),
            "fb": np.array([new, end, *bin_logits], np.float32), "fa": np.zeros(lstm.FORM_FACTS, np.float32),
            "fp": np.zeros(lstm.FORM_PLACES, np.float32), "fc": np.zeros(1, np.float32)}


def bars_of(ids):
    return [tuple(b) for b in encoding.words_to_bars([encoding.VOCAB[i] for i in ids])]


def test_a_head_that_always_plays_the_bar_before_again():
    config, params = tiny_model()
    params["by"][encoding.END_ID] = -50.0                           # the song runs to the cap
    params = with_head(params, -50.0, -50.0, (50, 0, 0, 0, 0, 0))  # always the bar one back
    ids, feel = lstm.sample_bars(params, config, [BAR], 6, np.random.default_rng(3), lstm.Sampling(song=True, form=True))
    bars = bars_of(ids)
    assert len(bars) == 6 and len(set(bars)) == 1 and len(feel) == len(ids)
    # without song, or without form (the default), the head is not asked: bars drawn word by word differ
    for how in (lstm.Sampling(form=True), lstm.Sampling(song=True)):
        ids, _ = lstm.sample_bars(params, config, [BAR], 6, np.random.default_rng(3), how)
        assert len(set(bars_of(ids))) > 1


def test_a_new_bar_equal_to_one_before_is_drawn_again():
    # one-step bars of three likely words: drawn word by word, bar 2 is bar 1 again a third of the
    # time; with a head that always says "new", only if eight draws in a row all come out equal (a
    # chance of 1 in 6,561 a seed: none of these 40 seeds)
    config, params = tiny_model()
    params["by"][:] = -50.0
    params["by"][[5, 9, 17, BAR]] = 50.0
    def second_is_first(p, form):
        same = 0
        for seed in range(40):
            how = lstm.Sampling(bar_steps=1, song=True, form=form)
            bars = bars_of(lstm.sample_bars(p, config, [BAR], 2, np.random.default_rng(seed), how)[0])
            same += bars[0] == bars[1]
        return same
    assert second_is_first(params, False) >= 10
    assert second_is_first(with_head(params, 50.0), True) == 0


def test_checkpoint_keeps_the_form_head(tmp_path):
    config, params = tiny_model()
    params = with_head(params, 1.0, 1.5, (2, 3, 4, 5, 6, 7))
    params["fp"][:] = np.arange(lstm.FORM_PLACES)
    params["fc"][:] = 2.5
    path = str(tmp_path / "f.npz")
    lstm.save_checkpoint(path, params, {**config, "form_head": True}, encoding.VOCAB)
    ck = lstm.load_checkpoint(path)
    assert ck["config"]["form_head"] is True
    for k in lstm.FORM_HEAD_KEYS:
        np.testing.assert_array_equal(ck["params"][k], params[k])
    # a config that says it has one, with the arrays missing: one line, a CheckpointError
    lstm.save_checkpoint(path, {k: v for k, v in params.items() if k not in lstm.FORM_HEAD_KEYS},
                         config, encoding.VOCAB)
    with np.load(path) as z:
        arrays = dict(z)
    arrays["config"] = np.array(json.dumps({**config, "form_head": True}))
    np.savez(path, **arrays)
    with pytest.raises(lstm.CheckpointError, match="form_head"):
        lstm.load_checkpoint(path)


def test_a_head_fitted_before_the_phrase_facts_reads_them_as_0(tmp_path):
    config, params = tiny_model()
    params = with_head(params, 1.0, 1.5)
    params["fa"][:] = np.arange(lstm.FORM_FACTS)
    path = str(tmp_path / "f.npz")
    lstm.save_checkpoint(path, params, {**config, "form_head": True}, encoding.VOCAB)
    with np.load(path) as z:
        arrays = dict(z)
    before = lstm.FORM_FACTS - len(lstm.PHRASE_DISTANCES)
    for n, name in ((before, "before.npz"), (before - 2, "other.npz")):
        arrays["form_head.facts"] = np.arange(n, dtype=np.float32)       # the weights of n facts
        np.savez(str(tmp_path / name), **arrays)
    fa = lstm.load_checkpoint(str(tmp_path / "before.npz"))["params"]["fa"]
    assert fa.tolist() == list(range(before)) + [0] * len(lstm.PHRASE_DISTANCES)
    with pytest.raises(lstm.CheckpointError, match=rf"form_head.facts.*expected \({lstm.FORM_FACTS},\)"):
        lstm.load_checkpoint(str(tmp_path / "other.npz"))                # any other length: one line


def test_train_fits_the_form_head_into_best_npz_and_songs_use_it(tmp_path, capsys):
    out = str(tmp_path / "run")
    demo = os.path.join(ROOT, "data", "demo")
    assert train.main([demo, "--steps", "30", "--eval-every", "30", "--hidden", "16", "--batch", "4",
                       "--seq", "16", "--out", out]) == 0
    stdout = capsys.readouterr().out
    assert "form head: fitted on" in stdout and "nats per bar line" in stdout
    ck = lstm.load_checkpoint(os.path.join(out, "best.npz"))
    assert ck["config"]["form_head"] and ck["params"]["Fw"].shape == (16, lstm.FORM_LOGITS)
    assert not lstm.load_checkpoint(os.path.join(out, "last.npz"))["config"]["form_head"]
    # resumed from best.npz: trained on without the head, then fitted again
    assert train.main(["--resume", os.path.join(out, "best.npz"), demo, "--steps", "40", "--eval-every", "10",
                       "--hidden", "16", "--batch", "4", "--seq", "16", "--out", out]) == 0
    assert "form head: fitted on" in capsys.readouterr().out
    g = str(tmp_path / "g")
    assert generate.main([os.path.join(out, "best.npz"), "--song", "--form", "--bars", "40", "--out", g]) == 0
    stdout = capsys.readouterr().out
    assert "the form head choosing the bars to play again and the end" in stdout
    r = json.loads(stdout.strip().splitlines()[-1])["outputs"][0]
    assert encoding.read_midi(r["mid"]) is not None
    # --form without --song, or with a model that has no form head: one line, exit 1, nothing written
    assert generate.main([os.path.join(out, "best.npz"), "--form", "--out", str(tmp_path / "h")]) == 1
    assert generate.main([os.path.join(out, "last.npz"), "--song", "--form", "--out", str(tmp_path / "h")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == "error: --form: with --song only" and "has no form head" in err[1] and len(err) == 2
    assert not (tmp_path / "h").exists()


def test_the_head_plays_no_bar_more_times_in_a_row_than_max_run():
    assert lstm.longest_run([np.array(A * 3 + B), np.array(C + A + A + B)]) == 3 and lstm.longest_run([]) == 0
    assert [lstm.times_in_a_row(lstm.bar_keys(A + B + B + B), i) for i in (1, 2, 3, 4)] == [1, 1, 2, 3]
    config, params = tiny_model()
    params["by"][encoding.END_ID] = -50.0
    params = with_head(params, -50.0, -100.0, (50, 0, 0, 0, 0, 0))  # the bar one back, else a new bar
    ids, _ = lstm.sample_bars(params, config, [BAR], 14, np.random.default_rng(3),
                              lstm.Sampling(bar_steps=1, song=True, form=True, max_run=3))
    bars = bars_of(ids)
    runs = [len(list(run)) for _, run in itertools.groupby(bars)]
    assert len(bars) == 14 and runs == [3, 3, 3, 3, 2]               # each bar 3 times, then a new one
    # generate.py reads the limit from the checkpoint's corpus; a checkpoint that says nothing usable: none
    for corpus_facts, limit in (({"longest_run": 32}, 32), ({}, 0), ({"longest_run": "32"}, 0),
                                ({"longest_run": -1}, 0)):
        assert generate.longest_run({"extra": {"corpus": corpus_facts}}) == limit


def test_the_head_ends_the_song_in_place_of_the_lstm():
    config, params = tiny_model()
    params["by"][encoding.END_ID] = -50.0                           # the LSTM would never end it
    head = with_head(params, 0.0, 50.0)                             # the head ends it at once
    for min_bars, bars in ((0, 1), (3, 3)):
        ids, _ = lstm.sample_bars(head, config, [BAR], 100, np.random.default_rng(5),
                                  lstm.Sampling(song=True, form=True, min_bars=min_bars))
        assert ids[-1] == encoding.END_ID and len(bars_of(ids)) == bars
    params["by"][encoding.END_ID] = 50.0                            # the LSTM would end it at once,
    ids, _ = lstm.sample_bars(with_head(params, 0.0, -50.0), config, [BAR], 6, np.random.default_rng(5),
                              lstm.Sampling(song=True, form=True))   # the head never: the cap
    assert len(bars_of(ids)) == 6 and encoding.END_ID not in ids


def test_a_head_that_ends_after_a_crash_ends_the_song_after_the_first_bar_with_one():
    # one-step bars of a plain word or a crash, the head never playing a bar again; its end is far
    # below every other choice unless the bar just played has a crash, then far above
    config, params = tiny_model()
    params["by"][:] = -50.0
    params["by"][[2, 6, lstm.CRASH_BIT | 4, BAR]] = 50.0              # (2 and 6 have no crash)
    head = with_head(params, 0.0, -50.0, (-50,) * 6)
    head["fc"][:] = 100.0
    for seed in range(10):
        ids, _ = lstm.sample_bars(head, config, [BAR], 100, np.random.default_rng(seed),
                                  lstm.Sampling(bar_steps=1, song=True, form=True))
        crashes = [any(m & lstm.CRASH_BIT for m in bar) for bar in bars_of(ids)]
        assert ids[-1] == encoding.END_ID and crashes[-1] and not any(crashes[:-1])


def test_a_song_is_no_shorter_than_min_bars():
    config, params = tiny_model()
    params["by"][encoding.END_ID] = 50.0                            # END whenever it may be drawn
    for min_bars, bars in ((0, 1), (1, 1), (5, 5)):
        ids, _ = lstm.sample_bars(params, config, [BAR], 100, np.random.default_rng(4),
                                  lstm.Sampling(song=True, min_bars=min_bars))
        assert ids[-1] == encoding.END_ID and len(bars_of(ids)) == bars


def test_train_records_the_whole_songs_lengths_and_generate_keeps_to_the_shortest(tmp_path, capsys):
    songs = [np.array(w) for w in (A * 3 + [encoding.END_ID], A + [encoding.END_ID], A * 2)]   # the last: no END
    assert train.song_lengths(songs) == [1, 3]
    config, params = tiny_model()
    params["by"][encoding.END_ID] = 50.0
    path = str(tmp_path / "c.npz")
    unigram = [1] * 514
    lstm.save_checkpoint(path, params, config, encoding.VOCAB, extra={"corpus": {"unigram": unigram,
                                                                               "song_bars": [7, 9]}})
    assert generate.main([path, "--song", "--diversity", "1", "--out", str(tmp_path / "g")]) == 0
    out = capsys.readouterr().out
    assert "a song (7 to 512 bars)" in out
    assert json.loads(out.strip().splitlines()[-1])["outputs"][0]["bars"] == 7


def test_places_and_distances_never_seen_keep_the_furthest_ones_weights():
    rng = np.random.default_rng(6)
    h, facts, bins, place, crashed, target = random_head_inputs(rng, E=7, K=5)
    place, bins = np.minimum(place, 3), np.minimum(bins, 1)          # songs of under 8 bars: bins 1 and 2-3
    head = lstm.fit_form_head(h, facts, bins, place, crashed, target, steps=20)
    assert (head["fp"][4:] == head["fp"][3]).all() and head["fp"][3] != 0
    assert (head["Fw"][:, 2 + 2:] == head["Fw"][:, 2 + 1:2 + 2]).all() and (head["fb"][2 + 2:] == head["fb"][2 + 1]).all()
