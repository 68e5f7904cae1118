"""Tests of the look-back table of distances (config["lookback_bars"], lstm_drums section 7):
layer 0 reads the word at the same place 1, 2 and more bars back. The rows by hand, the sampler's
reader against the one-pass rows, the lookups against the multi-hot product, the gradients, and
a checkpoint round trip."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import encoding
import lstm_drums as lstm
import train
from test_lstm_drums import L, H, N, T, V, numerical_gradient, scaled_error

BAR = 9                                                     # a tiny vocabulary: steps 0..8, BAR; "none" = 10


def test_four_bars_back_by_hand():
    # five one-step bars 1..5, each closed by BAR, then a sixth bar starting with 6
    ids = [1, BAR, 2, BAR, 3, BAR, 4, BAR, 5, BAR, 6]
    x = lstm.lookback_inputs(ids, BAR, 10, backs=(1, 2, 4))  # (11, 5) [w, 1 back, 2 back, 4 back, p]
    assert x.shape == (11, 5)
    row = x[-2]                                             # reads the fifth BAR, predicts the sixth bar's step 0
    assert list(row) == [BAR, 5, 4, 2, 0]                   # bar 5, bar 4, bar 2 at place 0
    assert list(x[5]) == [BAR, 3, 2, 10, 0]                 # after bar 3: no bar four back yet
    np.testing.assert_array_equal(x[:, [0, 1, 2, 4]], lstm.lookback_inputs(ids, BAR, 10))   # 1 and 2 as before


@settings(deadline=None, max_examples=150)
@given(st.lists(st.sampled_from([0, 1, 2, lstm.BAR_ID]), max_size=120).map(np.array),
       st.sampled_from([[1, 2, 4], [1, 2, 4, 8, 16], [1, 2, 3], [1, 2, 0], [1, 2, 4, 0]]))
def test_the_reader_keeps_enough_bars_for_the_farthest_look(ids, backs):
    # (songs of at most 60 bars: the 64-bar window of a 0 is tested below, at its edge)
    read = lstm.input_reader({"vocab_size": 514, "hidden": 1, "layers": 1, "inputs": "lookback",
                              "lookback_bars": backs})
    rows = np.array([read(int(w))[0] for w in ids]).reshape(-1, 2 + len(backs))
    np.testing.assert_array_equal(rows, lstm.lookback_inputs(ids, lstm.BAR_ID, 514, backs).reshape(-1, 2 + len(backs)))


def test_the_bar_after_the_last_playing_by_hand():
    """Bars A B A C A. Look-back 0 after each bar: A and B are new (none); after the second A,
    the bar that came after the first, B; C is new; after the third A, the bar after the second, C."""
    A, B, C = [1, 2], [3, 4], [5, 6]
    ids = [w for bar in (A, B, A, C, A) for w in bar + [BAR]]
    x = lstm.lookback_inputs(ids, BAR, 10, backs=(1, 2, 0))    # (15, 5) [w, 1 back, 2 back, after last, p]
    after = lambda bars: x[3 * bars - 1, 3]                 # the row that reads the BAR closing bar `bars`
    assert [after(n) for n in (1, 2, 3, 4, 5)] == [10, 10, 3, 10, 5]   # bar 1 and 2 new; B; C new; C
    assert list(x[9]) == [5, 2, 4, 4, 1]    # reads C's first step; place 1 of A (1 back), of B (2 back), of B (after A)


@pytest.mark.parametrize("between, found", [(63, True), (64, False)])
def test_the_bar_after_the_last_playing_looks_64_bars_back(between, found):
    """A bar played again after 63 other bars is found (64 back); after 64 it is not. The reader
    keeps enough bars to agree."""
    ids = [1, BAR, 2, BAR] + [w for n in range(between - 1) for w in (3 + n % 5, 3 + n // 5 % 5, BAR)] + [1, BAR, 7]
    x = lstm.lookback_inputs(ids, BAR, 10, backs=(1, 2, 0))
    assert x[-2, 3] == (2 if found else 10)                 # the bar that came after bar 0 last time: bar 1
    read = lstm.input_reader({"vocab_size": 514, "hidden": 1, "layers": 1, "inputs": "lookback",
                              "lookback_bars": [1, 2, 0]})
    ids = np.where(np.array(ids) == BAR, lstm.BAR_ID, ids)
    rows = np.array([read(int(w))[0] for w in ids])
    np.testing.assert_array_equal(rows, lstm.lookback_inputs(ids, lstm.BAR_ID, 514, (1, 2, 0)))


def test_lookups_equal_the_multi_hot_product():
    rng = np.random.default_rng(3)
    config = {"vocab_size": V, "hidden": H, "layers": L, "inputs": "lookback", "lookback_bars": [1, 2, 4]}
    params = lstm.init_model(config, rng, np.float64)
    assert params["Wx0"].shape[0] == V + 3 * (V + 1) + 6
    x = np.concatenate([rng.integers(0, V, (T, N, 1)), rng.integers(0, V + 1, (T, N, 3)),
                        rng.integers(0, 64, (T, N, 1))], axis=2)
    dense = np.concatenate([np.eye(V)[x[..., 0]]] + [np.eye(V + 1)[x[..., j]] for j in (1, 2, 3)]
                           + [lstm.POSITION_SIGNS[x[..., 4]]], axis=2)   # (T, N, V + 3 (V + 1) + 6)
    np.testing.assert_allclose(lstm.layer0_projection(params["Wx0"], params["b0"], x, V),
                               dense @ params["Wx0"] + params["b0"], rtol=1e-12)
    da = rng.normal(size=(T * N, 4 * H))
    dWx = lstm.layer0_weight_grad(x, da, params["Wx0"].shape, V)
    np.testing.assert_allclose(dWx, dense.reshape(T * N, -1).T @ da, rtol=1e-12, atol=1e-12)


def test_gradients_with_four_bars_back():
    rng = np.random.default_rng(4)
    config = {"vocab_size": V, "hidden": H, "layers": L, "dropout": 0.3, "inputs": "lookback",
              "lookback_bars": [1, 2, 4]}
    params = lstm.init_model(config, rng, np.float64)
    state = (rng.normal(size=(L, N, H)), rng.normal(size=(L, N, H)))
    x = np.concatenate([rng.integers(0, V, (T, N, 1)), rng.integers(0, V + 1, (T, N, 3)),
                        rng.integers(0, 64, (T, N, 1))], axis=2)
    targets = rng.integers(0, V, (T, N))
    masks = lstm.make_dropout_masks(config, T, N, rng, np.float64)
    _, grads, _ = lstm.loss(params, x, targets, state, masks)
    f = lambda: lstm.loss(params, x, targets, state, masks)[0]
    for name in params:
        assert scaled_error(numerical_gradient(f, params[name]), grads[name]) < 1e-6, name


def test_train_and_generate_with_four_bars_back(tmp_path):
    out = str(tmp_path / "run")
    assert train.main(["--lookback-bars", "1,2,4", "--steps", "6", "--eval-every", "3", "--hidden", "16",
                       "--out", out, "--threads", "1"]) in (0, None)
    ckpt = lstm.load_checkpoint(out + "/best.npz")
    assert ckpt["config"]["lookback_bars"] == [1, 2, 4]
    ids, _ = lstm.sample_bars(ckpt["params"], ckpt["config"], [encoding.BAR_ID], 6, np.random.default_rng(0))
    assert ids.count(encoding.BAR_ID) == 6


@pytest.mark.parametrize("bad", ["1,3", "2,1", "1,2,2", "1,2,x", "1,2,300", "0", "1,0,2", "1,2,0,0"])
def test_bad_lookback_bars_are_refused_in_one_line(bad, capsys):
    assert train.main(["--lookback-bars", bad, "--steps", "1"]) == 1
    assert "--lookback-bars" in capsys.readouterr().err
