"""Tests of lstm_drums.py: gradients checked numerically in float64, a naive reference
forward, Adam against the paper, learning a groove, checkpoints, sampling."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import lstm_drums as lstm

# Tiny sizes for the gradient checks (CS231n style): V vocab, H hidden, L layers, N batch, T steps.
V, H, L, N, T = 7, 5, 2, 3, 4


def rel_error(x, y):
    """CS231n's relative error, elementwise, worst entry."""
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def scaled_error(numerical, analytic):
    """Worst entry's error relative to the array's largest gradient.

    (Elementwise relative error is meaningless for entries near 0: there the float64
    round-off of the centred difference, ~1e-16 * loss / h = 1e-11, dominates.)
    """
    return float(np.max(np.abs(numerical - analytic)) / np.max(np.abs(numerical)))


def numerical_gradient(f, x, h=1e-5):
    """Centred differences of the scalar f() w.r.t. every entry of x (changed in place, restored)."""
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        fp = f()
        x[ix] = old - h
        fm = f()
        x[ix] = old
        grad[ix] = (fp - fm) / (2 * h)
    return grad


def random_inputs(rng, inputs):
    """(T, N) word ids, or (T, N, 4) look-back inputs [w, back1, back2, p] (V = none)."""
    if inputs == "word":
        return rng.integers(0, V, (T, N))
    return np.stack([rng.integers(0, V, (T, N)), rng.integers(0, V + 1, (T, N)),
                     rng.integers(0, V + 1, (T, N)), rng.integers(0, lstm.MAX_POSITION + 1, (T, N))], axis=2)


def tiny_model(seed, dropout, inputs="word"):
    rng = np.random.default_rng(seed)
    config = {"vocab_size": V, "hidden": H, "layers": L, "dropout": dropout, "forget_bias": 0.5,
              "inputs": inputs}
    params = lstm.init_model(config, rng, np.float64)
    state = (rng.normal(size=(L, N, H)), rng.normal(size=(L, N, H)))  # a non-zero incoming state
    chunks = [(random_inputs(rng, inputs), rng.integers(0, V, (T, N))) for _ in range(2)]
    masks = [lstm.make_dropout_masks(config, T, N, rng, np.float64) for _ in range(2)]
    return params, state, chunks, masks


def two_chunk_loss_and_grads(params, state, chunks, masks):
    """loss = CE(chunk 1) + CE(chunk 2 from chunk 1's final state), with full BPTT across both."""
    caches, total, dlogits = [], 0.0, []
    for (ids, targets), mask in zip(chunks, masks):
        logits, state, cache = lstm.model_forward_fast(params, ids, state, mask)
        value, d = lstm.softmax_loss_fast(logits, targets)
        total += value
        caches.append(cache)
        dlogits.append(d)
    grads2, dstate_mid = lstm.model_backward_fast(dlogits[1], caches[1])
    grads1, dstate0 = lstm.model_backward_fast(dlogits[0], caches[0], dstate=dstate_mid)  # the carried state's gradient
    return total, {k: grads1[k] + grads2[k] for k in grads1}, dstate0


@pytest.mark.parametrize("inputs", ["word", "lookback"])
@pytest.mark.parametrize("dropout", [0.0, 0.4], ids=["no-dropout", "fixed-dropout-mask"])
def test_gradients_match_centred_differences(dropout, inputs):
    params, state, chunks, masks = tiny_model(231, dropout, inputs)
    assert params["Wx0"].shape[0] == (V if inputs == "word" else V + 2 * (V + 1) + 6)
    if dropout == 0:
        assert masks == [None, None]
    _, grads, dstate = two_chunk_loss_and_grads(params, state, chunks, masks)
    f = lambda: two_chunk_loss_and_grads(params, state, chunks, masks)[0]
    for name in params:
        num = numerical_gradient(f, params[name])
        # we see ~1e-8; a wrong chain-rule step gives ~1e-1
        assert scaled_error(num, grads[name]) < 1e-6, f"{name}: backward disagrees with centred differences"
    for k, which in enumerate(["h0", "c0"]):
        num = numerical_gradient(f, state[k])
        assert scaled_error(num, dstate[k]) < 1e-6, f"d{which}: backward disagrees with centred differences"


def random_feel(rng, inputs):
    """Feel inputs (T, N, F) from random feel ids, and the next words' hit levels (T, N, 18),
    -1 (no hit) at about half the places."""
    ids = lambda: np.where(rng.random((T, N, 18)) < 0.5, -1,
                           np.concatenate([rng.integers(0, 8, (T, N, 9)), rng.integers(0, 9, (T, N, 9))], axis=2))
    feel_ids = np.concatenate([ids() for _ in range(1 if inputs == "word" else 2)], axis=2)
    targets = ids()
    targets[..., 9:] = np.where(targets[..., :9] >= 0, np.maximum(targets[..., 9:], 0), -1)  # both or neither
    return lstm.feel_inputs(feel_ids, np.float64), targets


@pytest.mark.parametrize("inputs", ["word", "lookback"])
@pytest.mark.parametrize("dropout", [0.0, 0.4], ids=["no-dropout", "fixed-dropout-mask"])
def test_feel_gradients_match_centred_differences(dropout, inputs):
    rng = np.random.default_rng(18)
    config = {"vocab_size": V, "hidden": H, "layers": L, "dropout": dropout, "forget_bias": 0.5,
              "inputs": inputs, "feel": True}
    params = lstm.init_model(config, rng, np.float64)
    assert params["Wf"].shape == (H + 9, 153) and params["bf"].shape == (153,)
    assert params["Wx0"].shape[0] == lstm.input_size(V, inputs) + (18 if inputs == "word" else 36)
    state = (rng.normal(size=(L, N, H)), rng.normal(size=(L, N, H)))
    x, targets = random_inputs(rng, inputs), rng.integers(0, V, (T, N))
    feel = random_feel(rng, inputs)
    masks = lstm.make_dropout_masks(config, T, N, rng, np.float64)
    _, grads, _ = lstm.loss(params, x, targets, state, masks, feel)
    f = lambda: lstm.loss(params, x, targets, state, masks, feel)[0]
    for name in params:
        num = numerical_gradient(f, params[name])
        # we see ~1e-9; a wrong step (say, the head's gradient not reaching the top layer) gives ~1e-1
        assert scaled_error(num, grads[name]) < 1e-6, f"{name}: backward disagrees with centred differences"


def test_feel_weight_scales_the_feel_loss_and_its_gradients():
    rng = np.random.default_rng(5)
    config = {"vocab_size": V, "hidden": H, "layers": L, "inputs": "word", "feel": True}
    params = lstm.init_model(config, rng, np.float64)
    state = lstm.zero_state(config, N, np.float64)
    x, targets = random_inputs(rng, "word"), rng.integers(0, V, (T, N))
    feel = random_feel(rng, "word")
    words_only, g0, _ = lstm.loss(params, x, targets, state, feel=feel, feel_weight=0.0)  # (the feel still an input)
    full, g1, _ = lstm.loss(params, x, targets, state, feel=feel)
    half, g5, _ = lstm.loss(params, x, targets, state, feel=feel, feel_weight=0.5)
    assert np.isclose(half, words_only + 0.5 * (full - words_only))
    np.testing.assert_allclose(g5["Wf"], 0.5 * g1["Wf"], rtol=1e-12)
    np.testing.assert_allclose(g5["Wh1"], g0["Wh1"] + 0.5 * (g1["Wh1"] - g0["Wh1"]), rtol=1e-9, atol=1e-15)


def test_feel_loss_by_hand():
    # a head that knows nothing (Wf = 0, bf = 0) gives every level the same probability:
    # each hit costs ln 8 for its velocity and ln 9 for its offset
    rng = np.random.default_rng(0)
    params = {"Wf": np.zeros((H + 9, 153)), "bf": np.zeros(153)}
    top = rng.normal(size=(T, N, H))
    targets = np.full((T, N), 0b100000001)                  # kick and crash play in every next word
    levels = np.full((T, N, 18), -1)
    levels[0, 0, [0, 8, 9, 17]] = [7, 2, 4, 0]              # one position scored: kick 7/on grid, crash 2/-4
    nll, (vel, off, hits), dtop, _ = lstm.feel_loss(params, top, targets, levels)
    assert hits == 2
    assert np.isclose(vel, 2 * np.log(8)) and np.isclose(off, 2 * np.log(9))
    assert np.isclose(nll, (vel + off) / (T * N))           # per word, like the words' loss
    assert not dtop.any()                                    # Wf = 0: nothing flows back to the top


def test_truncated_bptt_cuts_the_state_gradient():
    params, state, chunks, masks = tiny_model(1, 0.0)
    ids, targets = chunks[0]
    value, grads, new_state = lstm.loss(params, ids, targets, state)
    logits, new_state2, cache = lstm.model_forward_fast(params, ids, state)
    assert value == lstm.softmax_loss_fast(logits, targets)[0]
    np.testing.assert_array_equal(new_state[0], new_state2[0])
    # loss() cuts at the end of the chunk: same as backward with no upstream state gradient
    grads_cut, _ = lstm.model_backward_fast(lstm.softmax_loss_fast(logits, targets)[1], cache)
    for k in grads:
        np.testing.assert_array_equal(grads[k], grads_cut[k])


def naive_forward(params, ids, state):
    """A deliberately plain reference: per step, per gate, exp-based sigmoid, one-hot input."""
    h, c = [s.copy() for s in state[0]], [s.copy() for s in state[1]]
    sig = lambda z: 1 / (1 + np.exp(-z))
    out = []
    for t in range(ids.shape[0]):
        x = np.eye(V)[ids[t]]                               # (N, V) one-hot
        for l in range(L):
            a = x @ params[f"Wx{l}"] + h[l] @ params[f"Wh{l}"] + params[f"b{l}"]
            i, f, g, o = sig(a[:, :H]), sig(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sig(a[:, 3 * H:])
            c[l] = f * c[l] + i * g
            h[l] = o * np.tanh(c[l])
            x = h[l]
        out.append(x @ params["Wy"] + params["by"])
    return np.array(out), (np.array(h), np.array(c))


def test_forward_matches_a_naive_reference_on_linspace_inputs():
    config = {"vocab_size": V, "hidden": H, "layers": L}
    params = lstm.init_model(config, np.random.default_rng(0), np.float64)
    for k, p in params.items():  # deterministic, CS231n-style weights
        params[k] = np.linspace(-0.4, 0.3, p.size).reshape(p.shape)
    ids = np.arange(T * N).reshape(T, N) % V
    state = (np.linspace(-0.2, 0.5, L * N * H).reshape(L, N, H), np.linspace(-1, 1, L * N * H).reshape(L, N, H))
    logits, (hT, cT), _ = lstm.model_forward_fast(params, ids, state)
    ref_logits, (ref_h, ref_c) = naive_forward(params, ids, state)
    assert rel_error(logits, ref_logits) < 1e-12
    assert rel_error(hT, ref_h) < 1e-12 and rel_error(cT, ref_c) < 1e-12


def test_lookback_forward_matches_a_multi_hot_input():
    """Layer 0's lookups equal the product of the full (T, N, D) input vector with Wx0:
    one-hot word | one-hot one bar back | one-hot two bars back | 6 position values."""
    params, state, chunks, _ = tiny_model(7, 0.0, "lookback")
    x = chunks[0][0]
    Wx, b = params["Wx0"], params["b0"]
    bits = np.array([[1.0 if (p >> k) & 1 else -1.0 for k in range(6)] for p in x[..., 3].ravel()])
    dense = np.concatenate([np.eye(V)[x[..., 0]], np.eye(V + 1)[x[..., 1]], np.eye(V + 1)[x[..., 2]],
                            bits.reshape(T, N, 6)], axis=2)        # (T, N, 3V + 8)
    np.testing.assert_allclose(lstm.layer0_projection(Wx, b, x, V), dense @ Wx + b, rtol=1e-12)


@settings(deadline=None, max_examples=200)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=300).map(np.array), st.integers(0, 2**32 - 1))
def test_scatter_add_of_the_lookup_gradient_equals_np_add_at(rows, seed):
    """sum_rows_by_index (rows summed in groups of equal count) against np.add.at, the
    plain one-position-at-a-time scatter-add, with rows of every count and rows absent."""
    values = np.random.default_rng(seed).standard_normal((len(rows), 3))
    expected = np.zeros((13, 3))
    np.add.at(expected, rows, values)
    out = np.full((13, 3), np.nan)                          # every row must be written
    np.testing.assert_allclose(lstm.sum_rows_by_index(rows, values, out), expected, rtol=1e-12, atol=1e-12)


BAR_ID = 9   # a tiny vocabulary for the look-back tests: steps 0..8, then BAR; "none" = 10


def test_lookback_inputs_by_hand():
    # bar A = 3 steps [1, 2, 3] BAR, bar B = 2 steps [4, 5] BAR, then 6, 7
    ids = [1, 2, 3, BAR_ID, 4, 5, BAR_ID, 6, 7]
    x = lstm.lookback_inputs(ids, BAR_ID, 10)
    np.testing.assert_array_equal(x[:, 0], ids)
    # p = step words of the current bar before the NEXT word
    np.testing.assert_array_equal(x[:, 3], [1, 2, 3, 0, 1, 2, 0, 1, 2])
    # one bar back: nothing while in bar A; in bar B, bar A's word at p (p = 3 is its BAR);
    # in bar C, bar B's (p = 2 is its BAR)
    np.testing.assert_array_equal(x[:, 1], [10, 10, 10, 1, 2, 3, 4, 5, BAR_ID])
    # two bars back: only in bar C, bar A's word at p
    np.testing.assert_array_equal(x[:, 2], [10, 10, 10, 10, 10, 10, 1, 2, 3])
    # a BAR with no step before it (a song's first word, as generation's primer) closes no bar
    np.testing.assert_array_equal(lstm.lookback_inputs([BAR_ID, BAR_ID, 4], BAR_ID, 10),
                                  [[BAR_ID, 10, 10, 0], [BAR_ID, 10, 10, 0], [4, 10, 10, 1]])
    # p is capped at 63
    assert lstm.lookback_inputs([1] * 70, BAR_ID, 10)[-1, 3] == 63


@settings(deadline=None, max_examples=300)
@given(st.lists(st.sampled_from([0, 1, 2, lstm.BAR_ID]), max_size=80).map(np.array),
       st.lists(st.integers(1, 70), max_size=5))
def test_lookback_step_by_step_equals_one_pass(ids, long_bars):
    """The sampler's reader, fed one word at a time (it keeps only the last bars), gives the
    one-pass rows exactly (short random bars, empty bars, and bars longer than 63 steps)."""
    for n in long_bars:
        ids = np.concatenate([ids, np.ones(n, int), [lstm.BAR_ID]])
    read = lstm.input_reader({"vocab_size": 10, "hidden": 1, "layers": 1, "inputs": "lookback"})
    rows = np.array([read(int(w))[0] for w in ids]).reshape(-1, 4)
    np.testing.assert_array_equal(rows, lstm.lookback_inputs(ids, lstm.BAR_ID, 10).reshape(-1, 4))


def test_sigmoid_is_stable_and_exact():
    x = np.array([-1000.0, -30, -1, 0, 1, 30, 1000])
    with np.errstate(all="raise"):
        s = lstm.sigmoid_fast(x.copy())
    # absolute error ~1e-17: (1 + tanh(x/2)) loses relative precision only far in the left tail
    np.testing.assert_allclose(s, [0, 1 / (1 + np.exp(30)), 1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-1)),
                                   1 / (1 + np.exp(-30)), 1], rtol=1e-12, atol=1e-16)


def test_cross_entropy_of_uniform_logits_is_log_v():
    loss, d = lstm.softmax_loss_fast(np.zeros((T, N, V)), np.zeros((T, N), dtype=int))
    assert loss == pytest.approx(np.log(V))  # the loss to expect at step 0
    assert d.sum() == pytest.approx(0.0)


# ----------------------------------------------------------------------------
# Optimisation

def test_adam_matches_algorithm_1():
    rng = np.random.default_rng(0)
    theta0 = rng.normal(size=(3, 4))
    g1, g2 = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    params = {"w": theta0.copy()}
    opt = lstm.adam_init(params)
    lr, b1, b2, eps = 0.01, 0.8, 0.95, 1e-6
    lstm.adam_update_fast(params, {"w": g1}, opt, lr, b1, b2, eps)
    # t = 1: m = (1-b1) g, v = (1-b2) g^2, so m^ = g and v^ = g^2: a step of lr * g / (|g| + eps)
    theta1 = theta0 - lr * g1 / (np.abs(g1) + eps)
    np.testing.assert_allclose(params["w"], theta1, rtol=1e-12)
    lstm.adam_update_fast(params, {"w": g2}, opt, lr, b1, b2, eps)
    m = b1 * (1 - b1) * g1 + (1 - b1) * g2
    v = b2 * (1 - b2) * g1 ** 2 + (1 - b2) * g2 ** 2
    theta2 = theta1 - lr * (m / (1 - b1 ** 2)) / (np.sqrt(v / (1 - b2 ** 2)) + eps)
    np.testing.assert_allclose(params["w"], theta2, rtol=1e-12)
    assert opt["t"] == 2


def test_clipping_scales_the_global_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[0.0, 4.0]])}  # global norm sqrt(9 + 16) = 5
    assert lstm.clip_gradients_fast(grads, 10.0) == pytest.approx(5.0)
    np.testing.assert_array_equal(grads["a"], [3.0, 0.0])              # under the limit: untouched
    assert lstm.clip_gradients_fast(grads, 2.5) == pytest.approx(5.0)
    np.testing.assert_allclose(grads["a"], [1.5, 0.0])                 # halved, same direction
    np.testing.assert_allclose(grads["b"], [[0.0, 2.0]])
    assert lstm.clip_gradients_fast(grads, 0.0) == pytest.approx(2.5)           # 0 disables clipping
    np.testing.assert_allclose(grads["a"], [1.5, 0.0])


def test_learns_a_repeating_drum_pattern():
    # one bar of rock 8ths as word ids (0 = BAR, 1..4 = the step words used), repeated
    bar = [1, 4, 3, 4, 2, 4, 3, 4, 1, 4, 1, 4, 2, 4, 3, 4, 0]
    data = np.array(bar * 40)
    config = {"vocab_size": 5, "hidden": 32, "layers": 2, "dropout": 0.0}
    rng = np.random.default_rng(1337)
    params = lstm.init_model(config, rng)
    opt = lstm.adam_init(params)
    n_streams, seq = 4, 17
    starts = np.arange(n_streams) * 7                       # streams at different phases of the bar
    state = lstm.zero_state(config, n_streams)
    for it in range(300):
        offset = (it * seq) % (len(data) - seq - 60)
        idx = starts[None, :] + offset + np.arange(seq)[:, None]   # (T, N)
        value, grads, state = lstm.loss(params, data[idx], data[idx + 1], state)
        lstm.clip_gradients_fast(grads, 5.0)
        lstm.adam_update_fast(params, grads, opt, lr=1e-2)
    assert value < 0.05, f"final loss {value:.3f}: should have learned the bar almost exactly"
    assert params["Wy"].dtype == np.float32


# ----------------------------------------------------------------------------
# Sampling and checkpoints

def free_words(params, config, primer, n_words, rng, temperature=1.0):
    """n_words drawn freely after a primer, each fed back (lstm_drums.Stream, as sample_bars reads)."""
    stream = lstm.Stream(params, config)
    for w in primer:
        stream.push(w)
    out = []
    for _ in range(n_words):
        out.append(lstm.sample_word(stream.logits, temperature, rng))
        stream.push(out[-1])
    return out


def test_sampling_is_seeded_and_zero_temperature_is_argmax():
    config = {"vocab_size": V, "hidden": 8, "layers": 2}
    params = lstm.init_model(config, np.random.default_rng(3))
    a = free_words(params, config, [1, 2], 30, np.random.default_rng(9))
    b = free_words(params, config, [1, 2], 30, np.random.default_rng(9))
    assert a == b and len(a) == 30 and all(0 <= w < V for w in a)
    logits = np.array([0.1, 2.0, -1.0, 1.999])
    rng = np.random.default_rng(0)
    assert {lstm.sample_word(logits, 0.0, rng) for _ in range(5)} == {1}
    assert lstm.sample_allowed(logits, 0.0, rng, np.array([1, 0, 1, 1], bool)) == 3
    # a very low temperature is argmax in practice, and never overflows
    assert {lstm.sample_word(logits, 1e-4, rng) for _ in range(20)} == {1}
    # at T = 1 the frequencies follow softmax(logits)
    draws = np.bincount([lstm.sample_word(logits, 1.0, rng) for _ in range(4000)], minlength=4) / 4000
    p = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(draws, p, atol=0.03)


@pytest.mark.parametrize("inputs", ["word", "lookback"])
def test_step_matches_the_sequence_forward(inputs):
    config = {"vocab_size": V, "hidden": H, "layers": L, "inputs": inputs}
    params = lstm.init_model(config, np.random.default_rng(5))
    ids = np.array([3, 1, 6, V - 1, 0, 2])                   # V - 1 plays BAR here
    x = ids[:, None] if inputs == "word" else lstm.lookback_inputs(ids, V - 1, V)[:, None, :]  # (T, 1[, 4])
    logits, _, _ = lstm.model_forward_fast(params, x, lstm.zero_state(config, 1))
    state = lstm.zero_state(config, 1)
    for t in range(len(ids)):
        step_logits, state = lstm.step_fast(params, x[t, 0] if inputs == "lookback" else int(ids[t]), state)
        np.testing.assert_allclose(step_logits, logits[t, 0], rtol=1e-5, atol=1e-6)


def test_checkpoint_round_trip(tmp_path):
    config = {"vocab_size": V, "hidden": H, "layers": L, "dropout": 0.1}
    params = lstm.init_model(config, np.random.default_rng(8))
    opt = lstm.adam_init(params)
    lstm.adam_update_fast(params, {k: np.ones_like(p) for k, p in params.items()}, opt)
    vocab = ["BAR"] + [f"0b{k:09b}" for k in range(V - 1)]
    path = tmp_path / "model.npz"
    lstm.save_checkpoint(str(path), params, config, vocab, opt, extra={"step": 7})
    loaded = lstm.load_checkpoint(str(path))
    assert loaded["config"] == lstm.model_config(config) and loaded["vocab"] == vocab and loaded["extra"] == {"step": 7}
    assert loaded["opt"]["t"] == 1
    ids = np.array([[1, 2], [3, 4]])
    a = lstm.model_forward_fast(params, ids, lstm.zero_state(config, 2))[0]
    b = lstm.model_forward_fast(loaded["params"], ids, lstm.zero_state(config, 2))[0]
    np.testing.assert_array_equal(a, b)
    with np.load(path, allow_pickle=False) as z:             # PyTorch's names and shapes
        assert z["weight_ih_l0"].shape == (4 * H, V) and z["weight_hh_l1"].shape == (4 * H, H)
        assert z["decoder.weight"].shape == (V, H) and not z["bias_hh_l0"].any()
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary left behind


def _rewrite(path, change):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    np.savez(path, **arrays)


@pytest.mark.parametrize("change, message", [
    (lambda a: a.pop("weight_hh_l1"), "missing array 'weight_hh_l1'"),
    (lambda a: a.__setitem__("decoder.weight", np.zeros((V, H + 1))), "'decoder.weight' has shape"),
    (lambda a: a.__setitem__("format_version", np.array(99)), "format version 99"),
    (lambda a: a.__setitem__("vocab", np.array([None] * V, dtype=object)), "not a readable checkpoint"),
    (lambda a: a.__setitem__("config", np.array("{not json")), "bad config"),
])
def test_bad_checkpoints_fail_clearly(tmp_path, change, message):
    config = {"vocab_size": V, "hidden": H, "layers": L}
    path = str(tmp_path / "m.npz")
    lstm.save_checkpoint(path, lstm.init_model(config, np.random.default_rng(0)), config, ["w"] * V)
    _rewrite(path, change)
    with pytest.raises(lstm.CheckpointError, match=message):
        lstm.load_checkpoint(path)


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "x.npz"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(lstm.CheckpointError, match="not a readable checkpoint"):
        lstm.load_checkpoint(str(path))
    with pytest.raises(lstm.CheckpointError):
        lstm.load_checkpoint(str(tmp_path / "missing.npz"))


def test_same_weights_same_logits_and_grads_as_torch(tmp_path):
    torch = pytest.importorskip("torch")
    config = {"vocab_size": V, "hidden": H, "layers": L}
    params = lstm.init_model(config, np.random.default_rng(4), np.float64)
    path = str(tmp_path / "m.npz")
    lstm.save_checkpoint(path, params, config, ["w"] * V)
    torch_lstm = torch.nn.LSTM(V, H, num_layers=L).double()
    decoder = torch.nn.Linear(H, V).double()
    with np.load(path, allow_pickle=False) as z:             # the README's loading recipe
        torch_lstm.load_state_dict({k: torch.from_numpy(z[k]) for k in torch_lstm.state_dict()})
        decoder.load_state_dict({"weight": torch.from_numpy(z["decoder.weight"]),
                                 "bias": torch.from_numpy(z["decoder.bias"])})
    rng = np.random.default_rng(0)
    ids, targets = rng.integers(0, V, (T, N)), rng.integers(0, V, (T, N))
    state = (rng.normal(size=(L, N, H)), rng.normal(size=(L, N, H)))
    value, grads, (hT, cT) = lstm.loss(params, ids, targets, state)
    x = torch.nn.functional.one_hot(torch.from_numpy(ids), V).double()
    out, (th, tc) = torch_lstm(x, (torch.from_numpy(state[0]), torch.from_numpy(state[1])))
    logits = decoder(out)
    tloss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), torch.from_numpy(targets).reshape(-1))
    tloss.backward()
    assert value == pytest.approx(tloss.item(), rel=1e-12)
    np.testing.assert_allclose(hT, th.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(grads["Wh1"], torch_lstm.weight_hh_l1.grad.numpy().T, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(grads["Wx0"], torch_lstm.weight_ih_l0.grad.numpy().T, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(grads["b0"], torch_lstm.bias_ih_l0.grad.numpy(), rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(grads["Wy"], decoder.weight.grad.numpy().T, rtol=1e-8, atol=1e-14)


def test_lookback_weights_load_into_torch_with_the_readme_input_vector(tmp_path):
    """The look-back layout in torch.nn.LSTM(V + B (V + 1) + 6, H): the input vector built as the
    guide shows (one-hot word | one-hot 1, 2, 4, 8 bars back | 6 position values)."""
    torch = pytest.importorskip("torch")
    config = {"vocab_size": V, "hidden": H, "layers": L, "inputs": "lookback", "lookback_bars": [1, 2, 4, 8]}
    params = lstm.init_model(config, np.random.default_rng(6), np.float64)
    path = str(tmp_path / "m.npz")
    lstm.save_checkpoint(path, params, config, ["w"] * V)
    ids = np.array([1, 2, 3, V - 1, 4, 5, V - 1, 1, 2] * 3)  # V - 1 plays BAR
    rows = lstm.lookback_inputs(ids, V - 1, V, config["lookback_bars"])   # (S, 6)
    x = np.concatenate([np.eye(V)[rows[:, 0]]] + [np.eye(V + 1)[rows[:, j]] for j in range(1, rows.shape[1] - 1)]
                       + [lstm.POSITION_SIGNS[rows[:, -1]]], axis=1)[:, None, :]  # (S, 1, V + 4 (V + 1) + 6)
    with np.load(path, allow_pickle=False) as z:
        torch_lstm = torch.nn.LSTM(z["weight_ih_l0"].shape[1], H, num_layers=L).double()
        torch_lstm.load_state_dict({k: torch.from_numpy(z[k]) for k in torch_lstm.state_dict()})
        Wy, by = z["decoder.weight"], z["decoder.bias"]
    logits = torch_lstm(torch.from_numpy(x))[0].detach().numpy()[:, 0] @ Wy.T + by
    ours = lstm.model_forward_fast(params, rows[:, None, :], lstm.zero_state(config, 1, np.float64))[0][:, 0]
    np.testing.assert_allclose(ours, logits, rtol=1e-10, atol=1e-12)


def test_the_model_and_the_codec_agree_on_bar_and_end():
    import encoding
    assert (lstm.BAR_ID, lstm.END_ID) == (encoding.BAR_ID, encoding.END_ID)
    assert lstm.word_bits([lstm.BAR_ID, lstm.END_ID]).sum() == 0  # they play no drum
