"""The fast form (lstm_drums.py section 6) computes what the plain core (sections 1-5) computes.

Each fast function is checked against its plain twin on random shapes in float64, values and
gradients, as CS231n checks its fast layers against the naive ones; the plain functions are
checked to leave their inputs unchanged; and train.py --plain follows the same loss curve.
"""
import copy
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import lstm_drums as lstm
import train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHAPES = st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(1, 6), st.integers(1, 7))  # T, N, D, H


def close(a, b, tol=1e-12):
    """Equal to float64 rounding: the two forms add the same terms in another order."""
    return np.allclose(a, b, rtol=tol, atol=tol)


def layer(seed, T, N, D, H):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, N, D))
    h0, c0 = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    Wx, Wh, b = rng.normal(size=(D, 4 * H)) / 2, rng.normal(size=(H, 4 * H)) / 2, rng.normal(size=4 * H)
    return rng, x, h0, c0, Wx, Wh, b


@settings(deadline=None, max_examples=60)
@given(SHAPES, st.integers(0, 2**32 - 1))
def test_step_forward_and_backward_fast_equal_plain(shape, seed):
    T, N, D, H = shape
    rng, x, h0, c0, Wx, Wh, b = layer(seed, T, N, D, H)
    next_h, next_c, cache = lstm.lstm_step_forward(x[0], h0, c0, Wx, Wh, b)
    a = x[0] @ Wx + b                                       # the fast step gets the hoisted projection
    fast_h, fast_c, tanh_c = np.empty((N, H)), np.empty((N, H)), np.empty((N, H))
    lstm.lstm_step_forward_fast(a, h0, c0, Wh, fast_h, fast_c, tanh_c)
    assert close(next_h, fast_h) and close(next_c, fast_c)
    dnext_h, dnext_c = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    dx, dprev_h, dprev_c, dWx, dWh, db = lstm.lstm_step_backward(dnext_h, dnext_c, cache)
    dc, dh_prev = dnext_c.copy(), np.empty((N, H))
    work = (np.empty((N, 4 * H)), np.empty((N, 4 * H)), np.empty((N, H)))
    lstm.lstm_step_backward_fast(dnext_h, dc, a, c0, tanh_c, Wh.T.copy(), dh_prev, work)
    da = a                                                  # on exit, the fast step's gates hold dL/da
    assert close(dprev_c, dc) and close(dprev_h, dh_prev)
    assert close(dx, da @ Wx.T) and close(dWx, x[0].T @ da) and close(dWh, h0.T @ da) and close(db, da.sum(0))


@settings(deadline=None, max_examples=60)
@given(SHAPES, st.integers(0, 2**32 - 1))
def test_sequence_forward_and_backward_fast_equal_plain(shape, seed):
    T, N, D, H = shape
    rng, x, h0, c0, Wx, Wh, b = layer(seed, T, N, D, H)
    h, c, cache = lstm.lstm_forward(x, h0, c0, Wx, Wh, b)
    xa = (x.reshape(T * N, D) @ Wx + b).reshape(T, N, 4 * H)   # hoisted: all steps in one product
    hs, fast_cache = lstm.lstm_forward_fast(xa, h0, c0, Wh)
    assert close(h, hs[1:]) and close(c, fast_cache.cs[1:])
    dh = rng.normal(size=(T, N, H))
    dx, dh0, dc0, dWx, dWh, db = lstm.lstm_backward(dh, cache)
    dxa, fast_dh0, fast_dc0, fast_dWh = lstm.lstm_backward_fast(dh, fast_cache)
    da = dxa.reshape(T * N, 4 * H)
    assert close(dh0, fast_dh0) and close(dc0, fast_dc0) and close(dWh, fast_dWh)
    assert close(dx, (da @ Wx.T).reshape(T, N, D)) and close(dWx, x.reshape(T * N, D).T @ da)
    assert close(db, da.sum(0))


def tiny_word_model(seed, T=5, N=3, V=11, H=6, L=2, dropout=0.3):
    rng = np.random.default_rng(seed)
    config = {"vocab_size": V, "hidden": H, "layers": L, "dropout": dropout, "forget_bias": 1.0}
    params = lstm.init_params(config, rng, np.float64)
    ids, y = rng.integers(0, V, (T, N)), rng.integers(0, V, (T, N))
    state = (rng.normal(size=(L, N, H)), rng.normal(size=(L, N, H)))
    masks = lstm.make_dropout_masks(config, T, N, rng, np.float64)
    return params, ids, y, state, masks


@pytest.mark.parametrize("seed", range(4))
def test_model_loss_fast_equals_plain(seed):
    params, ids, y, state, masks = tiny_word_model(seed, dropout=0.3 if seed % 2 else 0.0)
    V = params["Wy"].shape[1]
    loss, grads, (hT, cT) = lstm.model_loss(params, lstm.one_hot(ids, V, np.float64), y, state, masks)
    fast_loss, fast_grads, (fast_hT, fast_cT) = lstm.model_loss_fast(copy.deepcopy(params), ids, y, state, masks)
    assert abs(loss - fast_loss) < 1e-12 and close(hT, fast_hT) and close(cT, fast_cT)
    assert grads.keys() == fast_grads.keys() == params.keys()
    for k in grads:
        assert close(grads[k], fast_grads[k]), k


def test_the_whole_model_loss_of_a_word_model_is_model_loss():
    """loss (section 10, every extension) without extensions is the plain model_loss."""
    params, ids, y, state, masks = tiny_word_model(7)
    loss, grads, _ = lstm.model_loss(params, lstm.one_hot(ids, params["Wy"].shape[1], np.float64), y, state, masks)
    fast_loss, fast_grads, _ = lstm.loss(params, ids, y, state, masks)
    assert abs(loss - fast_loss) < 1e-12 and all(close(grads[k], fast_grads[k]) for k in grads)


def test_softmax_clipping_and_adam_fast_equal_plain():
    rng = np.random.default_rng(3)
    logits, y = rng.normal(size=(4, 3, 9)) * 5, rng.integers(0, 9, (4, 3))
    loss, dlogits = lstm.softmax_loss(logits, y)
    fast_loss, fast_dlogits = lstm.softmax_loss_fast(logits, y)
    assert abs(loss - fast_loss) < 1e-12 and close(dlogits, fast_dlogits)
    params = {"W": rng.normal(size=(4, 5)), "b": rng.normal(size=5)}
    fast_params, opt, fast_opt = copy.deepcopy(params), lstm.adam_init(params), lstm.adam_init(params)
    for max_norm in (0.0, 1.0, 100.0, 1.0):
        grads = {k: rng.normal(size=p.shape) for k, p in params.items()}
        clipped, norm = lstm.clip_gradients(grads, max_norm)
        assert abs(norm - lstm.clip_gradients_fast(grads, max_norm)) < 1e-12  # (clips grads in place)
        assert all(close(clipped[k], grads[k]) for k in grads)
        params, opt = lstm.adam_update(params, clipped, opt, lr=0.01)
        lstm.adam_update_fast(fast_params, grads, fast_opt, lr=0.01)
        assert opt["t"] == fast_opt["t"] and all(close(params[k], fast_params[k]) for k in params)


def test_sampling_fast_equals_plain():
    params, *_ = tiny_word_model(5, V=12, H=8)
    config = {"vocab_size": 12, "hidden": 8, "layers": 2}
    plain = lstm.sample(params, [3, 1, 4], 30, 1.0, np.random.default_rng(9))
    stream, fast, rng = lstm.Stream(params, config), [], np.random.default_rng(9)
    for w in [3, 1, 4]:
        stream.push(w)
    for _ in range(30):
        fast.append(lstm.sample_word(stream.logits, 1.0, rng))
        stream.push(fast[-1])
    assert plain == fast


def unchanged_after(f, *args):
    """Call f(*args) and return whether every array among args (nested in tuples, lists and
    dicts) is the same afterwards."""
    def arrays(x):
        if isinstance(x, np.ndarray):
            return [x]
        if isinstance(x, dict):
            return [a for v in x.values() for a in arrays(v)]
        if isinstance(x, (tuple, list)):
            return [a for v in x for a in arrays(v)]
        return []
    before = [a.copy() for a in arrays(args)]
    f(*args)
    return all(np.array_equal(a, b) for a, b in zip(arrays(args), before))


def test_the_plain_functions_leave_their_inputs_unchanged():
    rng, x, h0, c0, Wx, Wh, b = layer(1, 4, 3, 5, 6)
    _, _, cache = lstm.lstm_step_forward(x[0], h0, c0, Wx, Wh, b)
    _, _, seq_cache = lstm.lstm_forward(x, h0, c0, Wx, Wh, b)
    params, ids, y, state, masks = tiny_word_model(2)
    x1 = lstm.one_hot(ids, params["Wy"].shape[1], np.float64)
    logits, _, model_cache = lstm.model_forward(params, x1, state, masks)
    grads = lstm.model_backward(lstm.softmax_loss(logits, y)[1], model_cache)
    calls = {
        "sigmoid": (lstm.sigmoid, x),
        "softmax_loss": (lstm.softmax_loss, logits, y),
        "lstm_step_forward": (lstm.lstm_step_forward, x[0], h0, c0, Wx, Wh, b),
        "lstm_step_backward": (lstm.lstm_step_backward, h0 + 1, c0 + 1, cache),
        "lstm_forward": (lstm.lstm_forward, x, h0, c0, Wx, Wh, b),
        "lstm_backward": (lstm.lstm_backward, rng.normal(size=(4, 3, 6)), seq_cache),
        "one_hot": (lstm.one_hot, ids, 11),
        "model_forward": (lstm.model_forward, params, x1, state, masks),
        "model_backward": (lstm.model_backward, lstm.softmax_loss(logits, y)[1], model_cache),
        "model_loss": (lstm.model_loss, params, x1, y, state, masks),
        "clip_gradients": (lstm.clip_gradients, grads, 0.01),
        "adam_update": (lstm.adam_update, params, grads, lstm.adam_init(params)),
        "sample_word": (lstm.sample_word, logits[0, 0], 1.0, np.random.default_rng(0)),
        "sample": (lstm.sample, params, [1, 2], 5, 1.0, np.random.default_rng(0)),
    }
    for name, (f, *args) in calls.items():
        assert unchanged_after(f, *args), f"{name} changed one of its inputs"
    assert not unchanged_after(lstm.clip_gradients_fast, grads, 0.01)  # the check can fail: this one clips in place


def test_plain_training_follows_the_fast_loss_curve(tmp_path, monkeypatch):
    """train.py --plain (the plain core) and train.py --inputs word --feel 0 (the fast form):
    the same 20 losses on the demo, to float32 rounding."""
    curves = {"train_step": [], "plain_train_step": []}
    for name, losses in curves.items():
        def recorded(*args, step=getattr(train, name), losses=losses, **kwargs):
            out = step(*args, **kwargs)
            losses.append(out[0])
            return out
        monkeypatch.setattr(train, name, recorded)
    for name, flags in (("fast", ("--inputs", "word", "--feel", "0", "--song-place", "0")), ("plain", ("--plain",))):
        assert train.main([os.path.join(ROOT, "data", "demo"), "--steps", "20", "--hidden", "32",
                           "--eval-every", "20", "--out", str(tmp_path / name), *flags]) == 0
    fast, plain = curves["train_step"], curves["plain_train_step"]
    assert len(fast) == len(plain) == 20
    assert max(abs(a - b) for a, b in zip(fast, plain)) < 1e-4, (fast, plain)
    assert fast[-1] < fast[0] - 0.5                                   # and it did learn


def test_plain_refuses_the_extensions(tmp_path, capsys):
    assert train.main(["--plain", "--inputs", "lookback", "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--plain trains the textbook model" in err
