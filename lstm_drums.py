"""lstm_drums.py: a stacked word-level LSTM with hand-written backprop and Adam, in NumPy.

Read it top to bottom (docs/lstm.md first, if LSTMs are new to you). Three parts:

  The textbook LSTM, plain: functions that take arrays and return new ones, as the equations
  read. 1. sigmoid, softmax cross-entropy, dropout; 2. one LSTM layer, a step and a sequence,
  forward and backward; 3. the stack, its decoder and its loss; 4. clipping and Adam;
  5. sampling at a temperature.
  Making it fast: 6. the same functions in the form train.py runs (hoisted, fused, in place),
  each named after its plain twin plus _fast; tests keep the two equal.
  What this project adds, a section each: 7. layer 0's look-back inputs (the words one and two
  bars back, the place in the bar); 8. feel (each hit's velocity and timing, as inputs and an
  output head); 9. style and fills; 10. the whole model, and feeding it word by word, whole
  bars and songs; 11. playing the user's part (humanise it, or write drums around it);
  12. form (a song that plays a bar again, whole: the form head); 13. checkpoints (one .npz,
  PyTorch's names and shapes, read without pickle).

Shapes: N batch (streams), T steps per chunk, V vocabulary, H hidden units, L layers, D a layer's
input size, M positions with a hit. Time-major: arrays are (T, N, ...), step t first, so x[t]
is the (N, D) slice of step t.

The LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000), per layer
and step, with the four gates fused into one 4H block in PyTorch's order i, f, g, o:

    a   = x_t @ Wx + h_{t-1} @ Wh + b        (N, 4H) pre-activations
    i   = sigmoid(a[:, 0H:1H])              input gate:  how much of g to write
    f   = sigmoid(a[:, 1H:2H])              forget gate: how much of the old cell to keep
    g   = tanh   (a[:, 2H:3H])              candidate:   what to write
    o   = sigmoid(a[:, 3H:4H])              output gate: how much of the cell to show
    c_t = f * c_{t-1} + i * g               (N, H) the cell, the long-term memory
    h_t = o * tanh(c_t)                     (N, H) the output, read by the next layer and step

At the first step, h_{t-1} and c_{t-1} are the state before it: h0 and c0 in the code (zeros
at a song's start); prev_h, prev_c and next_h, next_c are the state before and after a step.
Dropout sits between layers and before the decoder, y_t = h_t @ Wy + by (N, V) logits; the
loss is the softmax cross-entropy at every step, averaged, in nats per word (natural log; a
uniform guess over V words scores ln V).

References: Hochreiter & Schmidhuber 1997; Gers, Schmidhuber & Cummins 2000; CS231n's RNN notes
and assignment 3; Kingma & Ba, "Adam", 2014; Karpathy's min-char-rnn.py; PyTorch's nn.LSTM
docs (gate order, init, names).
"""
import collections
import json
import math
import zipfile

import numpy as np

import encoding   # the codec's tables (drum classes, feel levels, BAR and END), from section 7 on

# ----------------------------------------------------------------------------
# 1. Small pieces: sigmoid, softmax cross-entropy, dropout

def sigmoid(x):
    """1 / (1 + exp(-x)), written as (1 + tanh(x/2)) / 2: the same number, and no exp(-x) to
    overflow when x is very negative."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def softmax_loss(logits, y):
    """Softmax cross-entropy, averaged over every step of every stream.

    logits (T, N, V) unnormalised scores; y (T, N) the true next words. Returns the loss (a
    float, in nats per word) and dlogits (T, N, V), its gradient, in the dtype of logits. Both
    stay finite for logits in the hundreds (exp(800) overflows even in float64).
    """
    T, N, V = logits.shape
    z = logits - logits.max(axis=2, keepdims=True)          # (T, N, V) subtract the max: exp cannot overflow
    log_p = z - np.log(np.exp(z).sum(axis=2, keepdims=True))  # (T, N, V) log softmax
    t, n = np.indices((T, N))                               # (T, N) each: every position
    loss = -log_p[t, n, y].mean()                           # -log p(true word), averaged
    dlogits = np.exp(log_p)                                 # (T, N, V) softmax
    dlogits[t, n, y] -= 1.0                                 # dloss/dz = softmax - one_hot(y)
    return float(loss), dlogits / (T * N)                   # / (T N): the loss is a mean


def dropout_mask(shape, p, rng, dtype):
    """Inverted dropout: keep each unit with probability 1 - p and scale it by 1 / (1 - p), so the
    expected value is unchanged and evaluation uses no mask at all."""
    keep = rng.random(shape, dtype=np.float32) >= p         # (shape) bool
    return keep.astype(dtype) / np.dtype(dtype).type(1.0 - p)


# ----------------------------------------------------------------------------
# 2. One LSTM layer: a step, then a whole sequence

def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One time step of one layer, the equations at the top of this file.

    x (N, D) this step's input; prev_h, prev_c (N, H) the state after the previous step;
    Wx (D, 4H), Wh (H, 4H), b (4H,). Returns next_h, next_c (N, H) and a cache for backward.
    """
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b                            # (N, 4H) all four gates' pre-activations
    i = sigmoid(a[:, 0 * H:1 * H])                          # (N, H) input gate
    f = sigmoid(a[:, 1 * H:2 * H])                          # (N, H) forget gate
    g = np.tanh(a[:, 2 * H:3 * H])                          # (N, H) candidate cell
    o = sigmoid(a[:, 3 * H:4 * H])                          # (N, H) output gate
    next_c = f * prev_c + i * g                             # (N, H) keep some of the old cell, add some new
    next_h = o * np.tanh(next_c)                            # (N, H) show some of the cell
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, g, o, next_c)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    """One time step of one layer, backwards: the forward's lines in reverse, one chain-rule step each.

    dnext_h (N, H): dL/dh_t, all that reaches h_t (from the layer above and from step t+1).
    dnext_c (N, H): dL/dc_t from step t+1. Returns dx (N, D), dprev_h, dprev_c (N, H), and this
    step's share of dWx (D, 4H), dWh (H, 4H), db (4H,). The local derivatives are written in
    terms of the forward's outputs: sigmoid'(a) = s (1 - s), tanh'(a) = 1 - tanh(a)^2.
    """
    x, prev_h, prev_c, Wx, Wh, i, f, g, o, next_c = cache
    tanh_c = np.tanh(next_c)                                # (N, H)
    do = dnext_h * tanh_c                                   # h = o * tanh(c)
    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)          # c reaches the loss two ways: step t+1 and h
    di = dc * g                                             # c = f * prev_c + i * g
    df = dc * prev_c
    dg = dc * i
    dprev_c = dc * f                                        # what flows on to step t-1
    da = np.concatenate([di * i * (1 - i),                  # sigmoid' = s (1 - s)
                         df * f * (1 - f),
                         dg * (1 - g ** 2),                 # tanh' = 1 - tanh^2
                         do * o * (1 - o)], axis=1)         # (N, 4H) dL/da, the gates in order i, f, g, o
    dx = da @ Wx.T                                          # (N, D)    a = x @ Wx + prev_h @ Wh + b
    dprev_h = da @ Wh.T                                     # (N, H)
    dWx = x.T @ da                                          # (D, 4H)
    dWh = prev_h.T @ da                                     # (H, 4H)   prev_h, not next_h
    db = da.sum(axis=0)                                     # (4H,)     summed over the batch
    return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, c0, Wx, Wh, b):
    """A whole sequence through one layer: lstm_step_forward T times, the state carried along.

    x (T, N, D) the inputs, time first; h0, c0 (N, H) the state before step 0. Returns every
    step's h and c, (T, N, H) each (h[-1], c[-1] is the state to carry on), and the caches.
    """
    h, c, cache = [], [], []
    h_t, c_t = h0, c0                                       # the state before step 0
    for t in range(len(x)):
        h_t, c_t, step_cache = lstm_step_forward(x[t], h_t, c_t, Wx, Wh, b)   # after step t
        h.append(h_t)
        c.append(c_t)
        cache.append(step_cache)
    return np.stack(h), np.stack(c), cache


def lstm_backward(dh, cache):
    """Backprop through time, through one layer: lstm_forward's loop, mirrored.

    dh (T, N, H): dL/dh_t from above (the next layer or the decoder), for every step. The
    gradient of the state after the last step is taken as zero: truncated BPTT (section 3).
    Returns dx (T, N, D), dh0, dc0 (N, H), and dWx, dWh, db summed over the steps.
    """
    N, H = dh.shape[1:]
    dh_t, dc_t = np.zeros((N, H), dh.dtype), np.zeros((N, H), dh.dtype)   # from after step T-1: none
    dx, dWx, dWh, db = [None] * len(dh), 0.0, 0.0, 0.0
    for t in reversed(range(len(dh))):
        # dh_t, dc_t: what step t+1 sent back to step t's state; h_t also feeds the layer above
        dx[t], dh_t, dc_t, dWx_t, dWh_t, db_t = lstm_step_backward(dh[t] + dh_t, dc_t, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t  # the same weights at every step: sum
    return np.stack(dx), dh_t, dc_t, dWx, dWh, db           # dh_t, dc_t now reach the state before step 0


# ----------------------------------------------------------------------------
# 3. The stacked model: L layers, dropout between them, a decoder, and the loss
#
# Truncated BPTT: a song is far longer than we can backprop through at once, so training
# reads it T steps (a chunk) at a time. The state at the end of one chunk is where the next
# chunk starts, but the gradient stops at the chunk's edge.

def init_params(config, rng, dtype=np.float32):
    """Parameters as a flat dict of arrays: Wx{l} (D, 4H), Wh{l} (H, 4H), b{l} (4H,) per layer,
    and the decoder Wy (H, V), by (V,).

    config: vocab_size V, hidden H, layers L; optional forget_bias (added to the forget gate's
    bias: 1.0 helps early training remember) and input_size D of layer 0 (default V, a
    one-hot word; later sections widen it). Every weight is uniform in +-1/sqrt(H), as
    PyTorch's nn.LSTM initialises it.
    """
    V, H, L = config["vocab_size"], config["hidden"], config["layers"]
    k = 1.0 / np.sqrt(H)
    params = {}
    for l in range(L):
        D = config.get("input_size", V) if l == 0 else H    # layer l > 0 reads the layer below
        params[f"Wx{l}"] = rng.uniform(-k, k, (D, 4 * H)).astype(dtype)     # (D, 4H)
        params[f"Wh{l}"] = rng.uniform(-k, k, (H, 4 * H)).astype(dtype)     # (H, 4H)
        b = rng.uniform(-k, k, 4 * H)                                       # (4H,)
        b[H:2 * H] += config.get("forget_bias", 0.0)
        params[f"b{l}"] = b.astype(dtype)
    params["Wy"] = rng.uniform(-k, k, (H, V)).astype(dtype)                 # (H, V)
    params["by"] = rng.uniform(-k, k, V).astype(dtype)                      # (V,)
    return params


def zero_state(config, N, dtype=np.float32):
    """The state before a song starts: h and c of every layer, two (L, N, H) arrays of zeros."""
    shape = (config["layers"], N, config["hidden"])
    return np.zeros(shape, dtype), np.zeros(shape, dtype)


def make_dropout_masks(config, T, N, rng, dtype=np.float32):
    """One mask (T, N, H) per layer, applied to its output; None without dropout (evaluation)."""
    p = config.get("dropout", 0.0)
    if p <= 0:
        return None
    return [dropout_mask((T, N, config["hidden"]), p, rng, np.dtype(dtype)) for _ in range(config["layers"])]


def one_hot(ids, V, dtype=np.float32):
    """Word ids (T, N) -> one-hot rows (T, N, V): how a word enters layer 0."""
    return np.eye(V, dtype=dtype)[ids]


def model_forward(params, x, state, masks=None):
    """Logits for every step of a chunk.

    x (T, N, D) layer 0's inputs (one_hot(ids, V) for the word alone); state = (h0, c0),
    each (L, N, H); masks: None or one dropout mask (T, N, H) per layer. Returns logits
    (T, N, V), the state after the last step (each (L, N, H)), and a cache for backward.
    """
    L = len(state[0])
    layer_caches, last_h, last_c = [], [], []
    for l in range(L):
        h, c, cache = lstm_forward(x, state[0][l], state[1][l], params[f"Wx{l}"], params[f"Wh{l}"], params[f"b{l}"])
        layer_caches.append(cache)
        last_h.append(h[-1])
        last_c.append(c[-1])
        x = h if masks is None else h * masks[l]            # (T, N, H) the next layer's input
    logits = x @ params["Wy"] + params["by"]                # (T, N, V) the decoder
    return logits, (np.stack(last_h), np.stack(last_c)), (x, layer_caches, masks, params)


def model_backward(dlogits, cache):
    """Every parameter's gradient from dlogits (T, N, V): model_forward, backwards. A dict with
    the keys of params."""
    top, layer_caches, masks, params = cache
    H, V = params["Wy"].shape
    grads = {"Wy": top.reshape(-1, H).T @ dlogits.reshape(-1, V),    # (H, V) summed over T and N
             "by": dlogits.sum(axis=(0, 1))}                         # (V,)
    dx = dlogits @ params["Wy"].T                                    # (T, N, H)
    for l in reversed(range(len(layer_caches))):
        if masks is not None:
            dx = dx * masks[l]                                       # back through dropout
        dx, _, _, grads[f"Wx{l}"], grads[f"Wh{l}"], grads[f"b{l}"] = lstm_backward(dx, layer_caches[l])
        # (dh0, dc0 are dropped: the state before the chunk came from the previous chunk, and
        # truncated BPTT sends no gradient there)
    return grads


def model_loss(params, x, y, state, masks=None):
    """One chunk of training: (1) forward, (2) the loss, (3) backward.

    x (T, N, D) inputs, y (T, N) the next words. Returns the loss (nats per word), the
    gradients, and the state to carry into the next chunk (truncated BPTT).
    """
    logits, next_state, cache = model_forward(params, x, state, masks)
    loss, dlogits = softmax_loss(logits, y)
    return loss, model_backward(dlogits, cache), next_state


# ----------------------------------------------------------------------------
# 4. Learning: gradient clipping and Adam

def clip_gradients(grads, max_norm):
    """Global-norm clipping (as nanoGPT's grad_clip; 0 never clips): when the norm of all the
    gradients together exceeds max_norm, scale them all down to it. Returns (grads, the norm)."""
    norm = float(np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads.values())))
    scale = max_norm / norm if 0 < max_norm < norm else 1.0   # clip to mitigate exploding gradients
    return {k: g * g.dtype.type(scale) for k, g in grads.items()}, norm


def adam_init(params):
    """Adam's state: the first and second moments of every parameter (zeros), and the step t."""
    return {"m": {k: np.zeros_like(p) for k, p in params.items()},
            "v": {k: np.zeros_like(p) for k, p in params.items()},
            "t": 0}


def adam_update(params, grads, opt, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam update (Kingma & Ba 2014, Algorithm 1). Returns (new params, new opt).

    lr is the step size alpha, beta1 and beta2 the decay rates of the two moving averages,
    eps keeps the division finite; opt comes from adam_init, then from the previous update.
    """
    t = opt["t"] + 1
    new_params, m, v = {}, {}, {}
    for k, p in params.items():
        g = grads[k]
        m[k] = beta1 * opt["m"][k] + (1 - beta1) * g        # m_t: a moving average of the gradients
        v[k] = beta2 * opt["v"][k] + (1 - beta2) * g * g    # v_t: ... and of their squares
        m_hat = m[k] / (1 - beta1 ** t)                     # bias correction: m and v start at zero
        v_hat = v[k] / (1 - beta2 ** t)
        new_params[k] = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return new_params, {"m": m, "v": v, "t": t}


# ----------------------------------------------------------------------------
# 5. Sampling: new words at a temperature

def sample_word(logits, temperature, rng):
    """Draw a word id from softmax(logits / temperature), in float64.

    temperature ("diversity") > 0: below 1 the likely words get likelier, above 1 the
    unlikely ones; 0 picks the most likely word. A -inf logit is never drawn.
    """
    if not (np.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be finite and >= 0, not {temperature}")
    z = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return int(np.argmax(z))
    z = z - z.max()                                         # the best word's z is 0, so its exp is 1
    with np.errstate(over="ignore"):                        # however small the temperature: no inf / inf
        p = np.exp(z / temperature)                         # (V,) unnormalised
    cdf = np.cumsum(p)
    return int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))


def sample(params, primer, n_words, temperature, rng):
    """Read the primer word ids (at least one), then draw n_words new ones, each fed back in as
    the next input. A word model (layer 0 reads the one-hot word); returns the list of new ids."""
    if len(primer) == 0:
        raise ValueError("sample needs a primer of at least one word (the first word has nothing to follow)")
    L, (H, V) = sum(k.startswith("Wh") for k in params), params["Wy"].shape
    dtype = params["Wy"].dtype
    h, c = [np.zeros((1, H), dtype)] * L, [np.zeros((1, H), dtype)] * L   # one stream, empty
    out, logits = [], None
    for n in range(len(primer) + n_words):
        word = primer[n] if n < len(primer) else sample_word(logits, temperature, rng)
        if n >= len(primer):
            out.append(word)
        x = one_hot(np.array([word]), V, dtype)             # (1, V)
        for l in range(L):
            h[l], c[l], _ = lstm_step_forward(x, h[l], c[l], params[f"Wx{l}"], params[f"Wh{l}"], params[f"b{l}"])
            x = h[l]                                        # (1, H)
        logits = (x @ params["Wy"] + params["by"])[0]       # (V,)
    return out


# ============================================================================
# Making it fast: the same model, the same numbers, in less time
# ============================================================================

# ----------------------------------------------------------------------------
# 6. Making it fast
#
# Sections 1-5 compute the model the way the equations read. The fast form below computes the
# same numbers (to float32 rounding; tests/test_fast.py checks every function against its
# plain twin, values and gradients) and is what train.py runs (train.py --plain runs the
# plain one). Each function is named after its plain twin, plus _fast. The ideas, in order:
#
#   1. The time loop keeps only what depends on the previous step. x_t @ Wx + b does not,
#      so it is one (TN, D) @ (D, 4H) product before the loop, not T small ones inside it;
#      and each weight gradient is one product after the backward loop (dWh = sum_t
#      h_{t-1}^T da_t is H_prev^T @ dA over all T N rows at once), not T products summed.
#   2. The four gates are one (N, 4H) block: one sigmoid sweep over the whole row, then g's
#      quarter put back as a tanh; in backward, all four local derivatives in one pass.
#   3. In place: every step writes into arrays made once before the loop (out=, +=), and
#      the backward reuses the forward's gate memory for dL/da. Fresh arrays cost time.
#   4. A one-hot row times Wx is a row of Wx: layer 0's projection is a lookup, Wx[ids], and
#      its weight gradient a scatter-add (sum_rows_by_index), with no (T, N, V) one-hot array.
#
# In-place code has a contract the plain code does not: a function that writes into its
# arguments must say so, and the caller must not need those arrays afterwards.

def sigmoid_fast(x):
    """sigmoid(x), written into x itself (and returned): no new array."""
    x *= 0.5
    np.tanh(x, out=x)
    x += 1.0
    x *= 0.5
    return x


def softmax_loss_fast(logits, targets):
    """softmax_loss(logits, targets) with the softmax computed in the memory of a single
    (TN, V) array. logits (T, N, V) are left unchanged; returns (loss, dlogits (T, N, V))."""
    T, N, V = logits.shape
    z = logits.reshape(T * N, V)                            # (TN, V)
    z = z - z.max(axis=1, keepdims=True)                    # the one new array; exp cannot overflow
    rows, cols = np.arange(T * N), targets.reshape(-1)
    z_target = z[rows, cols]                                # (TN,) the target's logit
    p = np.exp(z, out=z)                                    # (TN, V), in place of z
    sum_p = p.sum(axis=1, keepdims=True)                    # (TN, 1)
    loss = float(np.mean(np.log(sum_p[:, 0]) - z_target))  # -log softmax at the target
    p /= sum_p                                              # softmax probabilities
    p[rows, cols] -= 1.0                                    # dloss/dz = softmax - one_hot
    p /= T * N                                              # the mean over TN positions
    return loss, p.reshape(T, N, V)


def lstm_step_forward_fast(a, prev_h, prev_c, Wh, next_h, next_c, tanh_c):
    """lstm_step_forward, written into the caller's arrays (returns nothing).

    a (N, 4H) holds x_t @ Wx + b on entry (computed for all steps before the loop) and the
    activated gates [i, f, g, o] on exit. prev_h, prev_c (N, H); Wh (H, 4H); next_h, next_c,
    tanh_c (N, H) are outputs.
    """
    H = prev_h.shape[1]
    a += prev_h @ Wh                                        # (N, 4H) the only recurrent product
    # plain: i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2H]), sigmoid(a[:, 3H:]); g = tanh(a[:, 2H:3H])
    g = np.tanh(a[:, 2 * H:3 * H])                          # (N, H) candidate cell, kept aside
    sigmoid_fast(a)                                         # one sweep over the contiguous row beats
    a[:, 2 * H:3 * H] = g                                   # three (N, H) slices; g back in place
    i, f, o = a[:, :H], a[:, H:2 * H], a[:, 3 * H:]         # (N, H) views
    np.multiply(f, prev_c, out=next_c)                      # c_t = f * c_{t-1}
    next_c += i * g                                         #       + i * g
    np.tanh(next_c, out=tanh_c)                             # (N, H)
    np.multiply(o, tanh_c, out=next_h)                      # h_t = o * tanh(c_t)


# What one layer's fast forward keeps for its backward, by name. hs and cs have T+1 entries,
# the state before step 0 first, so for step t hs[t] is h_{t-1} and cs[t] is c_{t-1}; tanh_cs
# has T, so tanh_cs[t] is tanh(c_t), step t's own. gates[t] holds step t's activated [i, f, g, o].
LayerCache = collections.namedtuple("LayerCache", "gates cs tanh_cs hs Wh")


def lstm_forward_fast(xa, h0, c0, Wh):
    """lstm_forward with the input projection hoisted out of the loop.

    xa (T, N, 4H): x_t @ Wx + b of all T steps, one product by the caller (it becomes the
    gates: the caller must not need it). h0, c0 (N, H). Returns hs (T+1, N, H) with hs[0] = h0
    (plain: h = hs[1:]), and the cache for backward (a LayerCache).
    """
    T, N, H4 = xa.shape
    H = H4 // 4
    gates = xa                                              # (T, N, 4H) overwritten in place
    hs = np.empty((T + 1, N, H), dtype=xa.dtype)            # hs[t+1] = h_t
    cs = np.empty((T + 1, N, H), dtype=xa.dtype)            # cs[t+1] = c_t
    tanh_cs = np.empty((T, N, H), dtype=xa.dtype)
    hs[0], cs[0] = h0, c0
    for t in range(T):
        lstm_step_forward_fast(gates[t], hs[t], cs[t], Wh, hs[t + 1], cs[t + 1], tanh_cs[t])
    return hs, LayerCache(gates, cs, tanh_cs, hs, Wh)


def lstm_step_backward_fast(dh, dc, gates, c_prev, tanh_c, WhT, dh_prev, work):
    """lstm_step_backward, written into the caller's arrays (returns nothing); dx and the
    weight gradients are left to the caller, one product each over all steps.

    dh (N, H): dL/dh_t (plain: dnext_h). dc (N, H): dL/dc_t from step t+1 on entry,
    dL/dc_{t-1} on exit. gates (N, 4H): the step's activated [i, f, g, o] on entry, dL/da_t on
    exit (the gates are not needed any more). c_prev, tanh_c (N, H): c_{t-1}, tanh(c_t).
    WhT (4H, H). dh_prev (N, H): out, the part of dL/dh_{t-1} through h_{t-1} @ Wh.
    work: scratch arrays reused every step: dgates (N, 4H), local (N, 4H), tmp (N, H).
    """
    H = dh.shape[1]
    dgates, local, tmp = work
    d_i, d_f, d_g, d_o = (dgates[:, k * H:(k + 1) * H] for k in range(4))  # (N, H) views
    i, f, g, o = (gates[:, k * H:(k + 1) * H] for k in range(4))           # (N, H) views
    np.multiply(dh, tanh_c, out=d_o)                        # do = dnext_h * tanh_c
    np.multiply(tanh_c, tanh_c, out=tmp)
    np.subtract(1, tmp, out=tmp)
    tmp *= o
    tmp *= dh
    dc += tmp                                               # dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)
    np.multiply(dc, g, out=d_i)                             # di = dc * g
    np.multiply(dc, c_prev, out=d_f)                        # df = dc * prev_c
    np.multiply(dc, i, out=d_g)                             # dg = dc * i
    dc *= f                                                 # dprev_c = dc * f
    np.subtract(1, gates, out=local)                        # all four local derivatives in one pass:
    local *= gates                                          # s (1 - s) for i, f, o,
    local_g = local[:, 2 * H:3 * H]
    np.multiply(g, g, out=local_g)
    np.subtract(1, local_g, out=local_g)                    # 1 - g^2 for g
    np.multiply(dgates, local, out=gates)                   # da = [di * i (1 - i), ...], over the gates
    np.matmul(gates, WhT, out=dh_prev)                      # dprev_h = da @ Wh.T


def lstm_backward_fast(dhs, cache, dhT=None, dcT=None):
    """lstm_backward, with the weight gradients out of the loop.

    dhs (T, N, H): dL/dh_t from above; cache: lstm_forward_fast's, consumed (its gates become
    da); dhT, dcT (N, H): dL/d(final state) from a later chunk, or None where truncated BPTT
    cuts it. Returns dxa (T, N, 4H), dL/da of every step (the caller makes dWx, db and dx from
    it, one product each), dh0, dc0 (N, H), and dWh (H, 4H).
    """
    gates, cs, tanh_cs, hs, Wh = cache                      # cs[t] is c_{t-1}, hs[t] is h_{t-1}
    T, N, H4 = gates.shape
    H = H4 // 4
    WhT = np.ascontiguousarray(Wh.T)                        # (4H, H): faster per step when contiguous
    dh_next = np.zeros((N, H), gates.dtype) if dhT is None else dhT.copy()  # dL/dh_t from step t+1
    dc = np.zeros((N, H), gates.dtype) if dcT is None else dcT.copy()       # dL/dc_t
    dh = np.empty((N, H), gates.dtype)
    work = (np.empty((N, H4), gates.dtype), np.empty((N, H4), gates.dtype), np.empty((N, H), gates.dtype))
    for t in reversed(range(T)):
        np.add(dhs[t], dh_next, out=dh)                     # h_t feeds the layer above and step t+1
        lstm_step_backward_fast(dh, dc, gates[t], cs[t], tanh_cs[t], WhT, dh_next, work)
    dxa = gates                                             # (T, N, 4H) now dL/da of every step
    dWh = hs[:-1].reshape(T * N, H).T @ dxa.reshape(T * N, H4)  # (H, 4H) plain: sum of prev_h.T @ da
    return dxa, dh_next, dc, dWh


# Layer 0's input, fast. Its rows are one-hot blocks (the word; with look-back, section 7,
# the words 1, 2, ... bars back), the place in the bar (6 rows, section 7), then dense columns
# (style, fill and the place in the song, section 9; feel, section 8). A one-hot block's part
# of x_t @ Wx is one row of Wx, so layer 0 takes word ids, not one-hot arrays: x0 (T, N) ids,
# or (T, N, 2 + B) look-back rows [w, back_1, ..., back_B, p] for B distances (2 by default:
# one and two bars back); dense_x, None or (T, N, F), reads the last F rows of Wx.

def layer0_projection(Wx, b, x0, V, dense_x=None):
    """x_t @ Wx + b of layer 0 for every step at once: (T, N, 4H) (plain: one_hot(x0) @ Wx + b)."""
    if x0.ndim == 3:
        xa = lookback_projection(Wx, b, x0, V)
    else:                                                   # b on the rows taken, or on the table (many)
        xa = Wx[x0] + b if x0.size < len(Wx) else (Wx + b)[x0]
    if dense_x is not None:
        F = dense_x.shape[-1]
        xa += (dense_x.reshape(-1, F) @ Wx[-F:]).reshape(xa.shape)   # (TN, F) @ (F, 4H)
    return xa


def layer0_weight_grad(x0, da, Wx_shape, V, dense_x=None):
    """dWx0 (D, 4H) from da (TN, 4H), layer0_projection mirrored (plain: one_hot(x0).T @ da).
    The gradient of a lookup is a scatter-add: row w of dWx0 sums da over the steps that read w."""
    dWx = np.empty(Wx_shape, da.dtype)                      # (D, 4H)
    if dense_x is not None:
        F = dense_x.shape[-1]
        np.matmul(dense_x.reshape(-1, F).T, da, out=dWx[-F:])  # (F, 4H) the dense columns' product
    if x0.ndim == 3:
        lookback_weight_grad(x0, da, dWx, V)
    else:
        sum_rows_by_index(x0.reshape(-1), da, dWx[:V])      # plain: np.add.at(dWx[:V], x0, da) on zeros
    return dWx


def sum_rows_by_index(rows, values, out):
    """out[r] = sum of values[j] over the j with rows[j] == r; out (R, K) is overwritten.

    Plain: out[:] = 0; np.add.at(out, rows, values) (a test checks that the two agree).
    Group the positions by row (one sort); then the rows that occur the same number of times
    k are summed together, as one (G, k, K) gather summed over k: the loop runs over the
    different counts (about 10 in a 32 x 64 chunk of random words), not over the rows (about
    500), which beats np.add.at, np.add.reduceat and a product with a one-hot matrix
    (benchmarks/README.md). Each row's values are still added in position order, as a loop
    over the rows adds them, so the sums are the same to the bit.
    """
    order = np.argsort(rows, kind="stable")                 # (J,) positions, grouped by row
    present, first, counts = np.unique(rows[order], return_index=True, return_counts=True)  # (U,) each
    out[:] = 0
    for k in np.unique(counts):                             # the rows that occur k times
        these = counts == k
        group = order[first[these][:, None] + np.arange(k)]  # (G, k) the positions of each
        out[present[these]] = values[group].sum(axis=1)     # (G, K)
    return out


def lookback_blocks(V, B):
    """Where the look-back rows' blocks start in Wx0: the word's V rows at 0, then one V + 1 block
    per distance (B starts), then the place's 6 rows. Returns (the B starts, the place's start)."""
    return [V + j * (V + 1) for j in range(B)], V + B * (V + 1)


def lookback_projection(Wx, b, x0, V, block=256):
    """The sparse look-back product: layer 0's projection of look-back rows x0 (T, N, 2 + B)
    [w, back 1, ..., back B, p] (section 7), plus b: (T, N, 4H). Each one-hot block is a row
    lookup; the place's part, plus b, is first worked out for all 64 places (a (64, 4H) table),
    so it is a lookup too. The lookups are summed `block` rows at a time, so that the partial
    sums stay in the CPU cache (plain: [one_hot(w), one_hot(back 1), ..., signs(p)] @ Wx + b)."""
    T, N, C = x0.shape
    rows = x0.reshape(T * N, C)                             # (TN, 2 + B) [w, back 1, ..., back B, p]
    back_starts, at = lookback_blocks(V, C - 2)             # each bar back's V + 1 rows; the place's 6
    places = POSITION_SIGNS.astype(Wx.dtype) @ Wx[at:at + 6]  # (64, 4H) (64, 6) @ (6, 4H)
    places += b
    xa = np.empty((T * N, Wx.shape[1]), Wx.dtype)           # (TN, 4H)
    for start in range(0, T * N, block):
        r, out = rows[start:start + block], xa[start:start + block]
        np.take(places, r[:, -1], axis=0, out=out, mode="clip")  # the place, and b
        out += Wx[r[:, 0]]                                  # the word
        for j, first_row in enumerate(back_starts, 1):      # each bar back: V + 1 rows
            out += Wx[first_row + r[:, j]]
    return xa.reshape(T, N, -1)


def lookback_weight_grad(x0, da, dWx, V):
    """The look-back blocks' rows of dWx0, from da (TN, 4H): lookback_projection, mirrored."""
    back_starts, at = lookback_blocks(V, x0.shape[-1] - 2)
    sum_rows_by_index(x0[..., 0].reshape(-1), da, dWx[:V])                 # the word
    for j, first_row in enumerate(back_starts, 1):                         # each bar back
        sum_rows_by_index(x0[..., j].reshape(-1), da, dWx[first_row:first_row + V + 1])
    signs = POSITION_SIGNS[x0[..., -1].reshape(-1)].astype(da.dtype)       # (TN, 6)
    np.matmul(signs.T, da, out=dWx[at:at + 6])              # (6, 4H) the place's product


# What the fast stacked forward keeps for its backward. layer_inputs[l] is what layer l read:
# x0 for layer 0, the (dropped-out) h of the layer below for the others; top is the
# decoder's input (T, N, H).
ModelCache = collections.namedtuple("ModelCache", "params layer_inputs dense_x layer_caches masks top")


def model_forward_fast(params, x0, state, masks=None, dense_x=None):
    """model_forward, fast: logits (T, N, V), the state after the chunk, and the cache.

    x0 (T, N) word ids or (T, N, 2 + B) look-back rows; dense_x: None or (T, N, F) layer 0's
    dense columns (above). state = (h0, c0), each (L, N, H); masks as model_forward's.
    """
    L = state[0].shape[0]
    T, N = x0.shape[:2]
    V = params["Wy"].shape[1]
    x, layer_inputs, layer_caches, hT, cT = x0, [], [], [], []
    for l in range(L):
        Wx, b = params[f"Wx{l}"], params[f"b{l}"]
        if l == 0:
            xa = layer0_projection(Wx, b, x, V, dense_x)     # (T, N, 4H) row lookups
        else:
            xa = (x.reshape(T * N, -1) @ Wx).reshape(T, N, -1)  # (T, N, 4H) all steps in one product
            xa += b
        hs, cache = lstm_forward_fast(xa, state[0][l], state[1][l], params[f"Wh{l}"])
        layer_inputs.append(x)
        layer_caches.append(cache)
        hT.append(hs[-1])                                   # h_T and c_T, the state to carry on
        cT.append(cache.cs[-1])
        x = hs[1:] if masks is None else hs[1:] * masks[l]  # (T, N, H) dropout between layers
    H = x.shape[-1]
    logits = x.reshape(T * N, H) @ params["Wy"]             # (TN, V)
    logits += params["by"]                                  # (in place: a fresh array costs page faults)
    cache = ModelCache(params, layer_inputs, dense_x, layer_caches, masks, top=x)
    return logits.reshape(T, N, V), (np.stack(hT), np.stack(cT)), cache


def model_backward_fast(dlogits, cache, dstate=None, dtop=None):
    """model_backward, fast. Returns grads (the keys of params) and (dh0, dc0), each (L, N, H).

    dlogits (T, N, V). dstate: None to cut the gradient at the end of the chunk (truncated
    BPTT), or (dhT, dcT) each (L, N, H) from a later chunk. dtop: None, or (T, N, H) what a
    second head on the top layer (the feel head, section 8) sends back. Consumes the cache.
    """
    params, layer_inputs, dense_x, layer_caches, masks, top = cache
    T, N, V = dlogits.shape
    L, H = len(layer_caches), top.shape[-1]
    dy = dlogits.reshape(T * N, V)                          # (TN, V)
    grads = {"Wy": top.reshape(T * N, H).T @ dy,            # (H, V)
             "by": dy.sum(axis=0)}                          # (V,)
    dx = (dy @ params["Wy"].T).reshape(T, N, H)             # (T, N, H) dL/d(top)
    if dtop is not None:
        dx += dtop                                          # the top layer feeds both heads
    dh0, dc0 = [None] * L, [None] * L
    for l in reversed(range(L)):
        if masks is not None:
            dx *= masks[l]                                  # through dropout (dx is ours to change)
        dhT = None if dstate is None else dstate[0][l]
        dcT = None if dstate is None else dstate[1][l]
        dxa, dh0[l], dc0[l], grads[f"Wh{l}"] = lstm_backward_fast(dx, layer_caches[l], dhT, dcT)
        da = dxa.reshape(T * N, -1)                         # (TN, 4H)
        grads[f"b{l}"] = da.sum(axis=0)                     # (4H,)
        if l == 0:
            grads["Wx0"] = layer0_weight_grad(layer_inputs[0], da, params["Wx0"].shape, V, dense_x)  # (D, 4H)
        else:
            grads[f"Wx{l}"] = layer_inputs[l].reshape(T * N, H).T @ da  # (H, 4H)
            dx = (da @ params[f"Wx{l}"].T).reshape(T, N, H)  # (T, N, H) into the layer below
    return grads, (np.stack(dh0), np.stack(dc0))


def model_loss_fast(params, x0, y, state, masks=None):
    """model_loss, fast: x0 (T, N) word ids in place of one-hot rows. Returns (loss, grads, state).
    (The loss of the model with every extension, which train.py minimises, is loss, section 10.)"""
    logits, next_state, cache = model_forward_fast(params, x0, state, masks)
    value, dlogits = softmax_loss_fast(logits, y)
    grads, _ = model_backward_fast(dlogits, cache)
    return value, grads, next_state


def clip_gradients_fast(grads, max_norm):
    """clip_gradients, scaling the gradients in place. Returns the norm before clipping."""
    norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))
    if max_norm > 0 and norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm                            # clip to mitigate exploding gradients
    return norm


def adam_update_fast(params, grads, opt, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """adam_update, in place: params and opt are updated, nothing is returned.

    Computed in the paper's own faster form (end of its section 2), the same number: the
    bias corrections folded into lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t) and eps_t = eps
    sqrt(1 - beta2^t), every operation into an existing array.
    """
    opt["t"] += 1
    t = opt["t"]
    lr_t = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)  # Python floats: the arithmetic stays
    eps_t = eps * math.sqrt(1 - beta2 ** t)                     # in the parameters' own dtype
    scratch = np.empty(max(p.size for p in params.values()), next(iter(params.values())).dtype)
    for k, p in params.items():
        g, m, v = grads[k], opt["m"][k], opt["v"][k]
        s = scratch[:p.size].reshape(p.shape)
        m *= beta1
        np.multiply(g, 1 - beta1, out=s)
        m += s                                              # m_t = beta1 m_{t-1} + (1 - beta1) g_t
        v *= beta2
        np.multiply(g, g, out=s)
        s *= 1 - beta2
        v += s                                              # v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        np.sqrt(v, out=s)
        s += eps_t
        np.divide(m, s, out=s)
        s *= lr_t
        p -= s                                              # p_t = p_{t-1} - lr_t m_t / (sqrt(v_t) + eps_t)


def step_fast(params, x0, state, dense_x=None):
    """One word through the stack, for sampling: logits (V,) for the next word, and the new state.

    x0: an int id, or a look-back row [w, back_1, ..., back_B, p]; state = (h, c) each (L, 1, H);
    dense_x: None, or layer 0's dense inputs (F,) (input_reader, section 10, gives x0 and dense_x).
    """
    logits, state = step_streams_fast(params, np.asarray(x0)[None], state, None if dense_x is None else dense_x[None])
    return logits[0], state


def step_streams_fast(params, x0, state, dense_x=None):
    """step_fast for N streams side by side: x0 (N,) ids or (N, 2 + B) look-back rows, state
    (L, N, H) each, dense_x None or (N, F) -> logits (N, V) and the new state. The plain
    sample's inner loop, with lstm_step_forward_fast and row lookups."""
    h, c = state
    V = params["Wy"].shape[1]
    L, N, H = h.shape
    new_h, new_c = np.empty_like(h), np.empty_like(c)
    tanh_c = np.empty((N, H), h.dtype)
    x = None
    for l in range(L):
        if l == 0:
            a = layer0_projection(params["Wx0"], params["b0"], x0[None], V)[0]    # (N, 4H) row lookups, T = 1
            if dense_x is not None:
                a += dense_x @ params["Wx0"][-dense_x.shape[1]:]            # (N, F) @ (F, 4H)
        else:
            a = x @ params[f"Wx{l}"] + params[f"b{l}"]           # (N, 4H)
        lstm_step_forward_fast(a, h[l], c[l], params[f"Wh{l}"], new_h[l], new_c[l], tanh_c)
        x = new_h[l]                                             # (N, H)
    return x @ params["Wy"] + params["by"], (new_h, new_c)     # (N, V)


# ============================================================================
# Extensions: what this project adds to the textbook LSTM
# ============================================================================

# ----------------------------------------------------------------------------
# 7. Layer 0's input: the word as a lookup, and the look-back inputs
#
# Layer 0 reads the word w_t as a one-hot row; its product with Wx is a lookup (section 6).
#
# With config["inputs"] = "lookback" layer 0 also reads where it is in the bar: beside the
# word w_t, the word at the same place as w_{t+1} one bar back and two bars back, and the
# position p of w_{t+1} in its bar. Drums repeat bar by bar, so "what was played here last
# bar" is the best single clue to what comes next; a plain word-LSTM must count steps and
# keep a whole bar in its state to find it. Here, from a song in 4/4 (BD kick, SD snare,
# HH hi-hat; the next word is the third step of bar 3):
#
#           bar 1              bar 2              bar 3 so far
#     HH   x-x-x-x-x-x-x-x-   x-x-x-x-x-x-x-x-   x-
#     SD   ----x-------x---   ----x-------x---   --
#     BD   x-------x-x-----   x-------x-x-----   x-
#                                                  ^ next word: p = 2
#     two bars back = bar 1's step 2 (HH), one bar back = bar 2's step 2 (HH)
#
# Each of the four parts is a block of layer 0's input columns, in this order: one-hot of
# w_t (V), one-hot of one bar back (V + 1: the last column means "none", no such bar or no
# word at p in it), the same two bars back (V + 1), and p as 6 values of +-1 (bit k of p,
# p capped at 63). The closing BAR of an n-step bar sits at p = n, so BAR is looked back to
# and predicted like any word. Three blocks are one-hot, so their part of x_t @ Wx is three
# row lookups; the position is a (N, 6) @ (6, 4H) product. ("Place" here is always the
# place in the bar, p; the place in the song, below, is song_places'.)
#
# Music repeats at longer distances too: a groove in 2- and 4-bar phrases, a riff that comes
# back 8 bars later. config["lookback_bars"] (default [1, 2]; it must start 1, 2 and rise, as
# the feel input looks one bar back through its first column; a 0 may end it, below) is the
# table of B distances: with [1, 2, 4, 8] the row is [w_t, 1 back, 2 back, 4 back, 8 back, p],
# one more V + 1 block each.
#
# A section that comes back need not come back at a fixed distance: a verse of 12 bars, a
# chorus of 8, the verse again. A 0 at the end of the table stands for such a distance: the
# bar that came after the last time the bar just closed was played, word for word, in the 64
# bars before it. With [1, 2, 0], having just played the verse's first bar again, layer 0
# reads the verse's second bar from last time; "none" if the bar just closed is new.

INPUT_KINDS = ("word", "lookback")
MAX_POSITION = 63                                           # p is capped here: 6 bits
POSITION_SIGNS = np.array([[1.0 if (p >> k) & 1 else -1.0 for k in range(6)]
                           for p in range(MAX_POSITION + 1)])  # (64, 6) row p = bits of p as +-1


LOOKBACK_BARS = (1, 2)          # how many bars back the look-back inputs look, by default (config["lookback_bars"])
AFTER_LAST = 0                  # in that table: the bar after the last playing of the bar just closed,
AFTER_LAST_WINDOW = 64          # looked for in the 64 bars before it


def input_size(V, kind, feel=False, conditions=0, backs=LOOKBACK_BARS):
    """Columns of layer 0's input: V for the word alone; V + B (V + 1) + 6 with look-back (one
    V + 1 block for each of the B distances in backs); then the style and fill columns (section 9:
    condition_size), then with feel the feel inputs (feel_input_size: 18, or 36 with look-back)."""
    return (V if kind == "word" else V + len(backs) * (V + 1) + 6) + conditions + (feel_input_size(kind) if feel else 0)


def bar_lines(ids, bar_id):
    """A song's word ids (S,) -> (last_bar, before, closes), each (S,): the index of the last
    BAR at or before t (-1 for none), of the BAR before t's, and whether word t is a BAR that
    closes a bar (one with a step word before it: a BAR right after a BAR closes nothing)."""
    t = np.arange(len(ids))
    is_bar = np.asarray(ids) == bar_id
    last_bar = np.maximum.accumulate(np.where(is_bar, t, -1))
    before = np.concatenate([[-1], last_bar[:-1]])
    return last_bar, before, is_bar & (t - before > 1)


def lookback_sources(ids, bar_id, backs=LOOKBACK_BARS):
    """A song's word ids (S,) -> where the look-back inputs come from, in one pass:
    src (S, B), the index of the word 1, 2 (each of backs) bars back at the place of
    w_{t+1} (-1 for none; for a 0 in backs, in the bar after the last playing of the bar just
    closed: bars_after_last), and p (S,), that place: the step words of the current bar
    before w_{t+1}. A bar is a run of one or more step words closed by BAR (a BAR with
    no step before it closes no bar), and the look-back word at place p of an n-step bar
    is its step p, or its BAR for p = n.
    """
    ids = np.asarray(ids, dtype=np.int64)
    S = len(ids)
    t = np.arange(S)
    last_bar, before, closes = bar_lines(ids, bar_id)             # (S,) each
    p = t - last_bar                                               # (S,) steps of the bar so far (0 after a BAR)
    ends = t[closes]                                               # (bars,) index of each bar's BAR
    starts = before[closes] + 1                                    # (bars,) index of its first step
    n_done = np.cumsum(closes)                                     # (S,) bars closed at or before t
    after = bars_after_last(ids, starts, ends) if AFTER_LAST in backs else None   # (bars + 1,)
    src = np.full((S, len(backs)), -1, dtype=np.int64)
    for column, back in enumerate(backs):                          # column 0: one bar back; 1: two; ...
        k = after[n_done] if back == AFTER_LAST else n_done - back  # (S,) which bar to look into
        ok = k >= 0
        kk = np.where(ok, k, 0)
        where = starts[kk] + p if len(starts) else p               # (S,) index of place p in that bar
        ok &= where <= (ends[kk] if len(ends) else -1)
        src[:, column] = np.where(ok, where, -1)
    return src, p


def bars_after_last(ids, starts, ends, window=AFTER_LAST_WINDOW):
    """The look-back 0 of lookback_sources: for each bar b of a song, given its closed bars by
    the index of their first step (starts) and of their BAR (ends), the bar that came after the
    last playing of bar b - 1, word for word, within the window bars before it; -1 for none.
    (bars + 1,): the last entry is for the bar after the last closed one."""
    after = np.full(len(starts) + 1, -1, dtype=np.int64)
    last = {}                                                      # a bar's words -> where it was last played
    for i, (a, b) in enumerate(zip(starts, ends)):
        key = ids[a:b].tobytes()
        if key in last and i - last[key] <= window:
            after[i + 1] = last[key] + 1                           # (bar i itself when i repeats bar i - 1)
        last[key] = i
    return after


# Where in the song: a song that ends must know how long it has been going. With
# config["song_place"] layer 0 also reads the bars closed so far before w_{t+1}, on a coarse
# scale (10 places: bar 0, 1, 2-3, 4-7, ..., 128-255, 256 on), as one-hot columns after the
# style and fill columns (section 9: condition_inputs).

SONG_PLACES = 10


def song_places(ids, bar_id, bars_before=0):
    """A song's word ids (S,) -> (S,): the place in the song of w_{t+1}, the bit length of the
    number of bars closed before it (plus bars_before, closed before ids[0]), capped at 9."""
    bars = bars_before + np.cumsum(bar_lines(ids, bar_id)[2])      # (S,) bars closed at or before t
    return np.minimum(np.frexp(bars.astype(np.float64))[1], SONG_PLACES - 1)   # bit length: 0, 1, 2, 2, 3, ...


def lookback_inputs(ids, bar_id, V, backs=LOOKBACK_BARS):
    """A song's word ids (S,) -> layer 0's look-back inputs (S, 2 + B), B = len(backs).

    Row t describes the step that reads w_t and predicts w_{t+1}:
    [w_t, the word one bar back, two bars back (each of backs; for a 0, in the bar after the
    last playing of the bar just closed), p], with V for "none" and p
    the place of w_{t+1} in its bar, capped at 63 (see lookback_sources).
    Call it on one song at a time: look-back never reaches into another song. Row t
    depends only on w_0 .. w_t, so a sampler gets its row from the words read so far.
    """
    ids = np.asarray(ids, dtype=np.int64)
    src, p = lookback_sources(ids, bar_id, backs)                  # (S, B), (S,)
    out = np.empty((len(ids), 2 + len(backs)), dtype=np.int64)
    out[:, 0], out[:, -1] = ids, np.minimum(p, MAX_POSITION)
    out[:, 1:-1] = np.where(src >= 0, ids[np.maximum(src, 0)], V)  # the words there, or V for none
    return out


# ----------------------------------------------------------------------------
# 8. Feel: how hard each hit is played and how far off the grid it lands
#
# A hit's feel is two levels (encoding.py): its velocity, 0..7, and its offset from the
# step, in ninths of a step, -4..+4, kept here as 0..8. A word's feel ids are 18 small
# integers (encoding.to_feel_ids): the velocity level of each of the 9 classes, then the
# offset level of each, -1 where the class does not play.
#
# Input: layer 0 also reads the feel of the word it reads, and with look-back inputs the
# feel of the word one bar back at the next place, as 18 numbers each: per class, the
# velocity and the offset scaled to -1..+1, and 0 where the class does not play (the word
# itself says which classes play). A dense (T, N, F) block of columns after the others.
#
# Output: the feel head. The word for step t+1 is chosen first (the word head, Wy); then,
# knowing it, the feel of each of its hits: the head reads the top layer's output top_t
# (H) and the 9 bits of the next word, the classes that play in it:
#
#     z = [top_t, bits(w_{t+1})] @ Wf + bf                  (M, 153) for M positions
#     z = [velocity logits of class 0..8, 8 each | offset logits of class 0..8, 9 each]
#     p(velocity of class k) = softmax(z[8k : 8k + 8]), p(offset of class k) = softmax(...)
#
# and its loss is the cross-entropy of the true levels of the hits that occur (teacher
# forcing: the true next word's bits), summed, and divided by T N like the words' loss,
# so the training loss is the negative log-likelihood of the words and their feel, per word.
#
# Memory (config["feel_memory"]): a song holds its dynamics (a ride played at one level for
# minutes, a snare that is always hit hard), so the best single clue to a hit's level is the
# level the same drum was played at last time. The state could carry that, but it has to
# learn to, and a table that counts (drum, last level) -> next level is hard to beat. So the
# head also reads, for each class, its last two velocity and offset levels among the words
# read so far: 36 levels (9 classes x [velocity, offset] x [last hit, the hit before]), each
# one-hot over its 8 or 9 values:
#
#     z = [top_t, bits(w_{t+1}), memory_t] @ Wf + bf
#     memory_t = the 36 levels one-hot, (306,): 2 x (9 x 8 + 9 x 9), all 0 for a class not played yet
#
# Copying the last level is then one weight per (class, level), and the head starts out with
# it (memory_copy_prior): the row "class k's last level was l" gets MEMORY_COPY[0] in the
# column of class k's logit for level l, the row of the hit before that MEMORY_COPY[1]; every
# other weight of Wf starts small and random. Training moves these weights where the data says
# otherwise. A row is non-zero only when its level was just played, so a level the training
# songs seldom play (a ride held soft, a tom fill's crescendo) gets few gradient steps: too few
# to learn copying from scratch, but it keeps the prior.

N_CLASSES = encoding.N_CLASSES                              # drum classes (9): word id bit 8 - k is class k
VELOCITY_LEVELS, OFFSET_LEVELS = encoding.VELOCITY_LEVELS, encoding.OFFSET_LEVELS   # 8, 9
FEEL_OUT = N_CLASSES * (VELOCITY_LEVELS + OFFSET_LEVELS)    # 153 logits
CLASS_SHIFTS = np.arange(N_CLASSES - 1, -1, -1)             # class k is bit 8 - k of a word id
CLASSES_OF = [np.flatnonzero((w >> CLASS_SHIFTS) & 1) for w in range(1 << N_CLASSES)]  # word id -> its classes
NO_FEEL = np.full(2 * N_CLASSES, -1, dtype=np.int8)         # the feel ids of a word without hits
NO_FEEL.flags.writeable = False


def feel_input_size(kind):
    """Feel columns of layer 0's input: 18 (the word's), or 36 with look-back (and one bar back's)."""
    return 2 * N_CLASSES * (1 if kind == "word" else 2)


def feel_inputs(feel_ids, dtype=np.float32):
    """Feel ids (..., 18k) -> layer 0's feel inputs (..., 18k): a velocity level v as
    (v - 3.5) / 3.5 and an offset level o as (o - 4) / 4, each in -1..+1; 0 where no hit."""
    feel_ids = np.asarray(feel_ids)
    return FEEL_VALUES[feel_ids.shape[-1]][np.arange(feel_ids.shape[-1]), feel_ids + 1].astype(dtype)


def _feel_values(columns):
    """A table (columns, 10): row j, entry id + 1 is the input value of feel id `id` in column j."""
    half = np.tile(np.r_[np.full(N_CLASSES, (VELOCITY_LEVELS - 1) / 2),
                         np.full(N_CLASSES, (OFFSET_LEVELS - 1) / 2)], columns // (2 * N_CLASSES))   # (columns,)
    table = (np.arange(-1, OFFSET_LEVELS)[None, :] - half[:, None]) / half[:, None]                  # (columns, 10)
    table[:, 0] = 0.0                                       # id -1: no hit
    return table


FEEL_VALUES = {2 * N_CLASSES: _feel_values(2 * N_CLASSES),  # feel_inputs' lookup tables: 18 columns
               4 * N_CLASSES: _feel_values(4 * N_CLASSES)}  # (the word's feel), 36 (and one bar back's)


def word_bits(ids, dtype=np.float32):
    """Word ids (...) -> (..., 9) the classes that play in each word, 0/1. The word id of a
    step is its 9-bit mask (encoding.VOCAB); BAR and END (ids 512, 513) play none."""
    ids = np.asarray(ids)[..., None]
    return (((ids >> CLASS_SHIFTS) & 1) * (ids < 1 << N_CLASSES)).astype(dtype)


def lookback_feel(ids, feel_ids, bar_id):
    """A song's word ids (S,) and feel ids (S, 18) -> (S, 18): the feel of the word one bar
    back at the place of w_{t+1} (the source of lookback_inputs' column 1), -1 for none. The
    feel input looks one bar back only, whatever the table of distances."""
    src = lookback_sources(ids, bar_id)[0][:, 0]            # (S,)
    return np.where((src >= 0)[:, None], feel_ids[np.maximum(src, 0)], -1).astype(feel_ids.dtype)


MEMORY_LEVELS = np.tile(np.r_[np.full(N_CLASSES, VELOCITY_LEVELS), np.full(N_CLASSES, OFFSET_LEVELS)], 2)  # (36,)
MEMORY_START = np.r_[0, np.cumsum(MEMORY_LEVELS)[:-1]]     # (36,) where each memory column's one-hot block starts
MEMORY_SIZE = int(MEMORY_LEVELS.sum())                      # 306 one-hot columns
MEMORY_COPY = (2.0, 1.0)                                    # the copy prior: last level, the one before


def memory_copy_prior(Wf, H, weights=MEMORY_COPY):
    """Add the copy prior to the memory rows of a head's Wf (H + 9 + 306, 153), in place: the
    row "class k's last velocity was l" gets weights[0] in the column of class k's velocity
    logit l, and so on for the offset and for the level before (weights[1])."""
    K2 = 2 * N_CLASSES
    out_start = np.r_[np.arange(N_CLASSES) * VELOCITY_LEVELS,                        # (18,) where each class's
                      N_CLASSES * VELOCITY_LEVELS + np.arange(N_CLASSES) * OFFSET_LEVELS]  # block starts in z
    for j in range(2 * K2):                     # memory column j: [last, before] x [velocity, offset] x class
        levels = np.arange(MEMORY_LEVELS[j])
        rows = H + N_CLASSES + MEMORY_START[j] + levels     # Wf's rows "column j's level was l", l = 0, 1, ...
        columns = out_start[j % K2] + levels                # the logits of level l of the same class and kind
        Wf[rows, columns] += weights[j // K2]               # last hit (j < 18) or the hit before


def feel_memory(feel_ids, before=None):
    """A song's feel ids (S, 18) -> (S, 36): row t is what the head remembers after reading
    word t, each class's last levels among words 0..t: [velocity (9), offset (9)] of its last
    hit, then the same of the hit before that, -1 where there is none. before (36,): the
    memory before word 0 (None: nothing played yet)."""
    feel_ids = np.asarray(feel_ids)
    K2 = 2 * N_CLASSES
    if before is not None:                                  # the memory before as two earlier words
        feel_ids = np.concatenate([before[None, K2:], before[None, :K2], feel_ids])
    t = np.arange(len(feel_ids))[:, None]
    last = np.maximum.accumulate(np.where(feel_ids >= 0, t, -1), axis=0)        # (S, 18) the last hit at or before t
    prev = np.where(last > 0, np.take_along_axis(last, np.maximum(last - 1, 0), axis=0), -1)  # the hit before it
    level = lambda at: np.where(at >= 0, np.take_along_axis(feel_ids, np.maximum(at, 0), axis=0), -1)
    out = np.concatenate([level(last), level(prev)], axis=1).astype(np.int8)
    return out if before is None else out[2:]


def remember(memory, feel_ids):
    """feel_memory one word on, for a sampler: the memory (36,) before a word and the word's
    feel ids (18,) -> the memory after it (the classes it plays move their last level back)."""
    feel_ids, K2 = np.asarray(feel_ids), 2 * N_CLASSES
    hit = feel_ids >= 0                                     # (18,) the classes the word plays
    out = memory.copy()
    out[K2:][hit] = memory[:K2][hit]                        # the last becomes the one before
    out[:K2][hit] = feel_ids[hit]
    return out


def memory_inputs(memory, dtype=np.float32):
    """Memory rows (..., 36) -> the head's one-hot memory inputs (..., 306)."""
    memory = np.asarray(memory)
    flat = memory.reshape(-1, memory.shape[-1])
    out = np.zeros((len(flat), MEMORY_SIZE), dtype)
    r, j = np.nonzero(flat >= 0)
    out[r, MEMORY_START[j] + flat[r, j]] = 1
    return out.reshape(memory.shape[:-1] + (MEMORY_SIZE,))


def feel_head_forward(top, given, Wf, bf):
    """top (M, H), given (M, G) -> logits z (M, 153), and a cache for the backward. given is
    what the head is told beside the state: the next word's bits (G = 9), and with the memory
    its one-hot rows too (G = 9 + 306)."""
    H = top.shape[1]
    z = top @ Wf[:H]                                        # (M, 153) the state's part
    z += given @ Wf[H:]                                     # the next word's classes (and the memory)
    z += bf
    return z, (top, given, Wf)


def feel_head_backward(dz, cache):
    """dz (M, 153) -> dWf (H + G, 153), dbf (153,), dtop (M, H)."""
    top, given, Wf = cache
    H = top.shape[1]
    dWf = np.concatenate([top.T @ dz, given.T @ dz])        # (H + G, 153)
    return dWf, dz.sum(axis=0), dz @ Wf[:H].T


def level_blocks(z):
    """The head's logits z (M, 153) as each class's velocity block and offset block: views
    (M, 9, 8) and (M, 9, 9) of the same memory (so writing into them writes into z)."""
    M = len(z)
    return (z[:, :N_CLASSES * VELOCITY_LEVELS].reshape(M, N_CLASSES, VELOCITY_LEVELS),
            z[:, N_CLASSES * VELOCITY_LEVELS:].reshape(M, N_CLASSES, OFFSET_LEVELS))


def log_softmax(z):
    """Log-probabilities along the last axis, max-subtracted so that exp cannot overflow."""
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def feel_loss(params, top, targets, feel_targets, weight=1.0, memory=None):
    """The feel head's forward, loss and backward on a chunk.

    top (T, N, H) the top layer's output (after dropout); targets (T, N) the next words;
    feel_targets (T, N, 18) their hits' levels (-1: no hit, or a song without feel); memory
    (T, N, 36) or None: feel_memory's rows of the words read, for a model with feel memory.
    Only the M positions with a hit to score go through the head, and only the blocks of
    the classes that play there go through the softmax (each class's block on its own).
    Returns (nll, (velocity nats, offset nats, hits), dtop (T, N, H), {"Wf": .., "bf": ..}):
    nll is summed over the hits and divided by T N; the figures are sums, for reporting. The
    gradients are those of weight * nll (loss's feel_weight).
    """
    T, N, H = top.shape
    levels = feel_targets.reshape(T * N, 2, N_CLASSES)      # (TN, 2, 9) velocity, offset
    rows = np.flatnonzero((levels[:, 0] >= 0).any(axis=1))  # (M,) positions with a hit to score
    given = word_bits(targets.reshape(-1)[rows], top.dtype)              # (M, 9)
    if memory is not None:
        given = np.concatenate([given, memory_inputs(memory.reshape(T * N, -1)[rows], top.dtype)], axis=1)
    z, cache = feel_head_forward(top.reshape(T * N, H)[rows], given, params["Wf"], params["bf"])
    m, k = np.nonzero(levels[rows, 0] >= 0)                 # every hit: (position, class), n of them
    dz = np.zeros_like(z)
    sums = []
    for which, (z_block, dz_block) in enumerate(zip(level_blocks(z), level_blocks(dz))):  # velocity, offset
        target = levels[rows[m], which, k]                  # (n,) each hit's true level
        logp = log_softmax(z_block[m, k])                   # (n, 8) or (n, 9): each hit's own block
        n = np.arange(len(target))
        sums.append(-float(logp[n, target].sum()))          # -log p(true level), summed over the hits
        p = np.exp(logp)
        p[n, target] -= 1.0                                 # d(-log softmax)/dz = softmax - one_hot
        dz_block[m, k] = p                                  # into dz, through the view
    dz /= T * N                                             # per word, like the words' loss
    if weight != 1.0:
        dz *= weight
    dWf, dbf, dtop_rows = feel_head_backward(dz, cache)
    dtop = np.zeros((T * N, H), top.dtype)
    dtop[rows] = dtop_rows
    return (sums[0] + sums[1]) / (T * N), (sums[0], sums[1], len(m)), dtop.reshape(T, N, H), {"Wf": dWf, "bf": dbf}


def draw_levels(z, temperature, rng):
    """One level per row of logits z (n, levels), each drawn from softmax(z / temperature) as
    sample_word draws a word (0 = argmax), all rows at once; -inf logits are never drawn."""
    if temperature <= 0:
        return z.argmax(axis=1)
    z = z - z.max(axis=1, keepdims=True)                    # every z <= 0, the best is 0
    cdf = np.cumsum(np.exp(z / max(temperature, 1e-3)), axis=1)  # (n, levels); below 1e-3 is argmax anyway,
    u = rng.random(len(z)) * cdf[:, -1]                     # and z / t stays finite (no overflow)
    return (cdf <= u[:, None]).sum(axis=1)                  # the first level whose cdf passes u


def feel_logits(params, top, word, memory=None):
    """The feel head's logits for the hits of a word: (its classes k (n,), velocity logits
    (n, 8), offset logits (n, 9)); top (1, H) the top layer's output before the word; memory
    (36,) the feel memory before it (remember), for a model with feel memory."""
    k = CLASSES_OF[word] if word < len(CLASSES_OF) else np.array([], dtype=np.int64)
    H, Wf = top.shape[1], params["Wf"]
    z = top[0] @ Wf[:H] + Wf[H + k].sum(axis=0) + params["bf"]  # (153,) = [top, bits] @ Wf + bf
    if memory is not None:
        z += memory_inputs(memory, Wf.dtype) @ Wf[H + N_CLASSES:]   # ... + memory @ its rows
    z_v, z_o = level_blocks(z[None])                        # (1, 9, 8), (1, 9, 9)
    return k, z_v[0, k], z_o[0, k]


def sample_feel(params, top, word, temperature, rng, memory=None):
    """The feel of a sampled word: top (1, H) the top layer's output that chose it. Each
    hit's velocity and offset level drawn from the head at the temperature. Returns the
    word's feel ids (18,) (int8, -1 where no hit; a word without hits draws nothing)."""
    if word >= len(CLASSES_OF) or len(CLASSES_OF[word]) == 0:   # BAR, END, a silent step: no hit
        return NO_FEEL                                      # (shared and read-only)
    return draw_feel(*feel_logits(params, top, word, memory), temperature, rng)


def draw_feel(k, z_v, z_o, temperature, rng):
    """A word's feel ids (18,) from feel_logits' (classes k, velocity logits, offset logits):
    each hit's two levels drawn at the temperature; -1 where no hit."""
    out = np.full(2 * N_CLASSES, -1, dtype=np.int8)
    both = np.full((2 * len(k), OFFSET_LEVELS), -np.inf)    # both drawn at once: the velocity rows
    both[:len(k), :VELOCITY_LEVELS] = z_v                   # padded with -inf, never drawn
    both[len(k):] = z_o
    levels = draw_levels(both, temperature, rng)
    out[k], out[N_CLASSES + k] = levels[:len(k)], levels[len(k):]
    return out


# ----------------------------------------------------------------------------
# 9. Style and fills: what the user asks for
#
# A song's style (jazz, funk, metallica, ...) and whether it is a fill are facts about the
# whole song, not about one step, so they are inputs, not outputs: layer 0 reads them at
# every step, and at generation time the user sets them. With S styles they are S + 1
# more dense columns of layer 0's input, before the feel inputs (and with song_place, the
# place in the song's 10 one-hot columns after them, section 7):
#
#     [one-hot of the style (S), fill (1)(, place in the song (10))]   all S style columns 0: the style hidden
#
# so a style's part of x_t @ Wx is one row of Wx0 added to every step, a learned bias of
# the gates per style. Training hides a seeded share of the songs' styles (train.py), so the
# same model also plays with the style hidden; comparing the two on the validation songs
# says what the style is worth. Only the columns the data needs exist: no styles, no
# style columns (config["styles"] = []); no fills in the data, no fill column.

def condition_size(config):
    """Style and fill columns of layer 0's input: one per style, one if the data has fills, and
    with config["song_place"] 10 more for the place in the song (section 7)."""
    config = model_config(config)
    return len(config["styles"]) + (1 if config["fills"] else 0) + (SONG_PLACES if config["song_place"] else 0)


def condition_inputs(style, fill, config, dtype=np.float32, place=None):
    """style (...) int, the style's index in config["styles"] or -1 for hidden; fill (...) 0/1;
    place (...) the place in the song (song_places; -1 none), for a model with song_place
    -> (..., C) layer 0's condition columns (condition_size(config) of them), or None if C = 0."""
    config = model_config(config)
    S, F, C = len(config["styles"]), int(config["fills"]), condition_size(config)
    if C == 0:
        return None
    style = np.broadcast_to(style, np.broadcast_shapes(np.shape(style), np.shape(place)))
    out = np.zeros(style.shape + (C,), dtype)               # (..., S [+ 1] [+ 10])
    if S:
        out[..., :S] = np.arange(S) == style[..., None]     # one-hot; -1 matches no column
    if F:
        out[..., S] = fill
    if config["song_place"]:
        out[..., S + F:] = np.arange(SONG_PLACES) == np.asarray(place)[..., None]   # one-hot; -1 none
    return out


def dense_inputs(cond_x, feel_x):
    """Layer 0's dense columns, (T, N, C + F): the condition's, then the feel's (either may be None)."""
    if cond_x is None or feel_x is None:
        return feel_x if cond_x is None else cond_x
    return np.concatenate([cond_x, feel_x.astype(cond_x.dtype, copy=False)], axis=-1)


# ----------------------------------------------------------------------------
# 10. The whole model: every input and both heads; feeding a stream word by word, whole bars and songs

# A model's config: init_params' keys (vocab_size, hidden, layers, dropout, forget_bias) and the
# extensions' (inputs, lookback_bars, song_place, feel, feel_memory, styles, fills). A key not given
# is the textbook model's (below); a checkpoint holds every key (section 13).
MODEL_DEFAULTS = {"dropout": 0.0, "forget_bias": 0.0, "inputs": "word", "feel": False, "styles": [], "fills": False,
                  "feel_memory": False, "lookback_bars": list(LOOKBACK_BARS), "song_place": False, "form_head": False}
BAR_ID, END_ID = encoding.BAR_ID, encoding.END_ID   # 512, 513: the vocabulary's words after the 512 steps


def model_config(config):
    """config with every key: those given, and MODEL_DEFAULTS' for the rest."""
    return {**MODEL_DEFAULTS, **config}


def init_model(config, rng, dtype=np.float32):
    """init_params for a model with this project's extensions: config as init_params takes it,
    plus "inputs" ("word" or "lookback"), "lookback_bars", "song_place", "feel", "styles" and
    "fills", which widen layer 0's input (input_size); feel adds the feel head Wf (H + 9, 153),
    bf (153,), and "feel_memory" its memory's rows: Wf (H + 9 + 306, 153), with the copy prior
    (section 8)."""
    config = model_config(config)
    D = input_size(config["vocab_size"], config["inputs"], config["feel"], condition_size(config),
                   config["lookback_bars"])
    params = init_params({**config, "input_size": D}, rng, dtype)
    if config["feel"]:
        k = 1.0 / np.sqrt(config["hidden"])
        rows = config["hidden"] + N_CLASSES + (MEMORY_SIZE if config["feel_memory"] else 0)
        params["Wf"] = rng.uniform(-k, k, (rows, FEEL_OUT)).astype(dtype)                      # (H + 9 [+ 306], 153)
        params["bf"] = rng.uniform(-k, k, FEEL_OUT).astype(dtype)                                 # (153,)
        if config["feel_memory"]:
            memory_copy_prior(params["Wf"], config["hidden"])
    return params


def loss(params, x0, targets, state, masks=None, feel=None, feel_weight=1.0, cond_x=None):
    """The loss train.py minimises: model_loss_fast with every input and both heads.

    x0 (T, N) word ids or (T, N, 2 + B) look-back rows; targets (T, N). Returns loss, grads, and
    the state to carry into the next chunk. feel: None, or (feel_x (T, N, F), the next words'
    hit levels (T, N, 18)[, the feel memory (T, N, 36)]): the loss is then the words' and the
    feel's NLL per word, the feel's times feel_weight (section 8). cond_x: None, or (T, N, C)
    style and fill (section 9).
    """
    dense_x = dense_inputs(cond_x, None if feel is None else feel[0])
    logits, new_state, cache = model_forward_fast(params, x0, state, masks, dense_x)
    value, dlogits = softmax_loss_fast(logits, targets)
    dtop = None
    if feel is not None:
        memory = feel[2] if len(feel) > 2 else None
        nll, _, dtop, feel_grads = feel_loss(params, cache.top, targets, feel[1], feel_weight, memory)
        value += feel_weight * nll
    grads, _ = model_backward_fast(dlogits, cache, dtop=dtop)
    if feel is not None:
        grads.update(feel_grads)
    return value, grads, new_state


def sample_allowed(logits, temperature, rng, allowed):
    """sample_word among the allowed words only: allowed (V,) bool; the others get logit -inf."""
    return sample_word(np.where(allowed, logits, -np.inf), temperature, rng)


def row_columns(config):
    """Where each part of a song_rows row is, by name: x0 (the word, or the 2 + B look-back
    columns), feel and back_feel (with feel; one bar back's with look-back), memory (the feel
    head's, with feel memory), song_place (its bucket, with song_place), condition (style,
    fill; whenever condition_size is not 0, (-1, 0) if the data has neither). A part the model
    does not read is an empty slice. (In Wx0 the place in the song's columns come after the
    style and fill columns: condition_inputs lays them out.)"""
    config = model_config(config)
    lookback, feel = config["inputs"] == "lookback", config["feel"]
    widths = {"x0": 2 + len(config["lookback_bars"]) if lookback else 1, "feel": 2 * N_CLASSES if feel else 0,
              "back_feel": 2 * N_CLASSES if feel and lookback else 0,
              "memory": 4 * N_CLASSES if feel and config["feel_memory"] else 0,
              "song_place": 1 if config["song_place"] else 0,
              "condition": 2 if condition_size(config) else 0}
    at, start = {}, 0
    for name, width in widths.items():                     # the parts side by side, in this order
        at[name], start = slice(start, start + width), start + width
    return at


def song_rows(ids, config, feel_ids=None, condition=None, bars_before=0):
    """A song's word ids (S,) -> what layer 0 reads at each step, one int32 row per word (S, C):
    the word (or, with look-back, lookback_inputs' 2 + B columns); with feel, the word's feel ids
    (S, 18), all -1 for a song without feel, and with look-back those one bar back (S, 18);
    with feel memory, feel_memory's (S, 36) (read by the head, not by layer 0); with song_place,
    song_places' (S, 1) (bars_before: the bars closed before ids[0]); with styles or fills
    (or song_place), the (style index, fill) of the word the row predicts (condition: a
    pair for every row, or (S, 2); default (-1, 0), hidden and no fill). row_columns says where
    each part is, layer0_inputs turns rows into the model's inputs. Row t depends only on the
    words up to t: training computes a song at once, a sampler the last row of what it read.
    """
    config = model_config(config)
    ids = np.asarray(ids, dtype=np.int64)
    word = config["inputs"] == "word"
    columns = [ids[:, None] if word else lookback_inputs(ids, BAR_ID, config["vocab_size"], config["lookback_bars"])]
    if config["feel"]:
        feel_ids = np.full((len(ids), 2 * N_CLASSES), -1, np.int8) if feel_ids is None else feel_ids
        columns += [feel_ids] if word else [feel_ids, lookback_feel(ids, feel_ids, BAR_ID)]
        if config["feel_memory"]:
            columns.append(feel_memory(feel_ids))
    if config["song_place"]:
        columns.append(song_places(ids, BAR_ID, bars_before)[:, None])
    if condition_size(config):
        columns.append(np.broadcast_to(np.asarray((-1, 0) if condition is None else condition), (len(ids), 2)))
    return np.concatenate(columns, axis=1).astype(np.int32)


def layer0_inputs(rows, config, dtype=np.float32):
    """song_rows' rows (..., C) -> what the model reads: x0 (...) word ids or (..., 2 + B) look-back
    rows, cond_x (..., condition_size) or None (section 9) and feel_x (..., 18 or 36) or None
    (section 8). The feel memory's columns are the head's, not layer 0's: split_columns reads them."""
    config, at = model_config(config), row_columns(config)
    x0 = rows[..., 0] if config["inputs"] == "word" else rows[..., at["x0"]]
    feel_x = None
    if config["feel"]:
        feel_x = feel_inputs(rows[..., at["feel"].start:at["back_feel"].stop], dtype)   # the word's, one bar back's
    cond = rows[..., at["condition"]]
    place = rows[..., at["song_place"].start] if config["song_place"] else None
    cond_x = condition_inputs(cond[..., 0], cond[..., 1], config, dtype, place) if condition_size(config) else None
    return x0, cond_x, feel_x


def input_reader(config, style=-1, fill_every=0, history=None):
    """A function (word id, its feel ids or None) -> (x0, dense_x), layer 0's inputs for that
    word, for feeding a stream word by word: the last row of song_rows of the words read so
    far, through layer0_inputs, as training computes them. style: an index into
    config["styles"] (-1 hidden); fill_every k > 0: every k-th bar (counting the bars read)
    is asked for as a fill. Only the bar in progress and the last D closed bars matter to
    look-back, D the table's largest distance (2 by default), a 0 counting as 65 (the bar just
    closed and the 64 before it), so the rows are computed from the words after the closed bar
    before those. The feel memory is the head's, not layer 0's: Stream keeps it.
    The function's .history is what it has read (words, feels, bar ends); a reader made with
    history=another's .history goes on from there on its own (a copy: how play_around's
    candidate takes go on from the bar they voted for)."""
    config = {**model_config(config), "feel_memory": False}  # (so the rows carry no memory columns)
    # the words and feels read so far, and where each closed bar's BAR is
    words, feels, bar_ends = ([], [], []) if history is None else [list(h) for h in history]
    reach = max(AFTER_LAST_WINDOW + 1 if d == AFTER_LAST else d   # D + 1 bar lines back: 3 by default
                for d in config["lookback_bars"]) + 1

    def read(word, feel_ids=None):
        if word == BAR_ID and words and words[-1] < BAR_ID:   # a BAR after a step closes a bar
            bar_ends.append(len(words))
        words.append(int(word))
        feels.append(NO_FEEL if feel_ids is None else feel_ids)
        start, bars_before = (bar_ends[-reach] + 1, len(bar_ends) - reach + 1) if len(bar_ends) >= reach else (0, 0)
        fill = int(fill_every > 0 and len(bar_ends) % fill_every == fill_every - 1)   # the next word's bar
        row = song_rows(words[start:], config, np.array(feels[start:]), (style, fill), bars_before)[-1]   # (C,)
        x0, cond_x, feel_x = layer0_inputs(row, config)
        return x0, dense_inputs(cond_x, feel_x)
    read.history = (words, feels, bar_ends)
    read.config, read.style, read.fill_every = config, style, fill_every
    return read


class Stream:
    """One stream read word by word, for sampling: push(word, feel ids) feeds a word, after
    which logits (V,) score the next word and draw_feel draws the feel of the one chosen.
    memory: the feel head's memory of the feel read so far (None for a model without it)."""

    def __init__(self, params, config, style=-1, fill_every=0):
        self.params, self.read = params, input_reader(config, style, fill_every)
        self.state = zero_state(model_config(config), 1, params["Wy"].dtype)
        self.logits = None
        self.memory = np.full(4 * N_CLASSES, -1, np.int8) if model_config(config)["feel_memory"] else None

    def push(self, word, feel_ids=None):
        x0, dense_x = self.read(word, feel_ids)
        self.logits, self.state = step_fast(self.params, x0, self.state, dense_x)
        if self.memory is not None and feel_ids is not None:
            self.memory = remember(self.memory, feel_ids)

    def copy(self):
        """A stream that goes on from here on its own (for drawing a bar, then perhaps again)."""
        other = Stream.__new__(Stream)
        other.params, other.logits = self.params, self.logits
        other.read = input_reader(self.read.config, self.read.style, self.read.fill_every, self.read.history)
        other.state = tuple(s.copy() for s in self.state)
        other.memory = None if self.memory is None else self.memory.copy()
        return other

    def draw_feel(self, word, temperature, rng):
        """The word's feel ids (18,), drawn from the feel head (None for a model without feel)."""
        if "Wf" not in self.params:
            return None
        return sample_feel(self.params, self.state[0][-1], word, temperature, rng, self.memory)


MAX_FREE_BAR = 64               # with free bars, a bar is closed after this many steps

# How sample_bars draws a track: the temperature; bar_steps, the bar mask's bar length; free,
# the model places BAR; song, it may end the song (END); style, an index into the config's
# styles (-1 hidden); fill_every k > 0, every k-th bar asked for as a fill; form, a song's bars
# chosen by the form head too (section 12; the model must have one); min_bars, the bars a song
# has before it may end; max_run > 0, with form: a bar played max_run times in a row is not chosen again.
Sampling = collections.namedtuple("Sampling", "diversity bar_steps free song style fill_every form min_bars max_run",
                                  defaults=(1.0, 16, False, False, -1, 0, False, 1, 0))


def sample_bars(params, config, primer_ids, n_bars, rng, how=Sampling(), primer_feel=None, log=None):
    """Feed the primer, then draw words until n_bars bars are closed (with how.song, until the
    model draws END, or n_bars as a cap). Returns the new word ids (ending in END if the model
    ended the song), and for a feel model the feel ids (18,) of each (else None): each word is
    drawn first, then the feel of its hits (sample_feel), at the same diversity. how: a
    Sampling; primer_feel: the primer's feel ids (S, 18), or None.

    The bar mask: at place j of a bar (j steps since the last BAR), BAR may not be drawn
    while j < bar_steps, and is forced at j == bar_steps. With free=True the model
    chooses; only an empty bar (BAR right after BAR) is refused, and a bar is forced shut
    after MAX_FREE_BAR steps. END may only be drawn with song, right after a BAR, once
    min_bars bars (at least 1) are played. With song and how.form the form head (SongForm, section 12)
    chooses at each bar line after the first: the end (in place of the LSTM's END), a bar played
    again, whole (not past max_run times in a row), or a new bar (drawn again if it is not new)."""
    diversity, bar_steps, free, song, style, fill_every, form, min_bars, max_run = how
    form = SongForm(params, rng, max_run) if form and song else None
    V = config["vocab_size"]
    step_or_end = np.ones(V, dtype=bool)
    step_or_end[BAR_ID] = False                          # every word but BAR
    no_end = np.ones(V, dtype=bool)
    no_end[END_ID] = False                               # every word but END
    no_bar = step_or_end & no_end                                 # a step word
    stream = Stream(params, config, style, fill_every)
    for n, word in enumerate(primer_ids):
        stream.push(int(word), None if primer_feel is None else primer_feel[n])
    out, feels, j, bars = [], [], 0, 0
    while bars < n_bars:
        limit = MAX_FREE_BAR if free else bar_steps
        if form and form.again:
            word = form.again.pop(0)                      # a bar played again
        elif j >= limit:
            word = BAR_ID                                 # the bar is full: close it
        elif j == 0 and form and form.new_bar:
            word = sample_allowed(stream.logits, diversity, rng, no_bar)   # a new bar, drawn again
        elif j == 0 and form and bars:                    # the form head: the end, a bar again, or a new bar
            chosen = form.choose(stream, len(out), bars >= min_bars)
            word = (END_ID if chosen == "end" else form.again.pop(0) if chosen == "again"
                    else sample_allowed(stream.logits, diversity, rng, no_bar))
        elif j == 0:                                               # a new bar, or with song the end
            word = sample_allowed(stream.logits, diversity, rng,
                                  step_or_end if song and bars >= max(min_bars, 1) else no_bar)
        else:
            word = sample_allowed(stream.logits, diversity, rng, no_end if free else no_bar)
        feel_ids = stream.draw_feel(word, diversity, rng)
        out.append(word)
        feels.append(feel_ids)
        if word == END_ID:                                # the model ended the song
            break
        if word == BAR_ID and form and form.close_bar(out[len(out) - j - 1:]):
            start, stream, j = *form.draw_again(), 0      # not new after all: from its start again
            del out[start:], feels[start:]
            continue
        if word == BAR_ID:
            bars, j = bars + 1, 0
            if log is not None and bars % 1000 == 0 and bars < n_bars:
                log(f"  ... {bars} of {n_bars} bars")
        else:
            j += 1
        stream.push(word, feel_ids)
    return out, (np.array(feels) if "Wf" in params else None)


# ----------------------------------------------------------------------------
# 11. Playing the user's part: humanise a track, and write the drums around the ones given
#
# Both read a part the user gives, word by word, as training reads a song (a Stream that
# starts after a BAR, as generation does). Humanise keeps every word (which drums start on
# which step, the bars, the metre) and draws only each hit's feel from the feel head, which
# reads the top layer's output before the word and the word's classes. It reads the words
# without feel (nor the head's memory of it): fed back its own draws, the model drifts (its
# errors feed on themselves); a model trained with train.py --feel-hide has learned to play
# from the words alone. Drums around a part keep some classes (kick and snare, say): at each
# step only the words whose kept classes are the part's may be drawn, so the model chooses
# the other drums, and then the feel of every hit.

def keep_part_feel(feel_ids, part_row, word, keep):
    """A word's drawn feel ids (18,) with its kept classes' levels taken from the part's row
    (18,), where the part has them (a part without feel has -1 there: the drawn ones stay)."""
    out = feel_ids.copy()
    for k in CLASSES_OF[word] if word < len(CLASSES_OF) else ():     # (BAR and END: no hit)
        if keep & encoding.class_bit(k) and part_row[k] >= 0:
            out[k], out[N_CLASSES + k] = part_row[k], part_row[N_CLASSES + k]
    return out


NO_ESTIMATES = np.full((2, 2 * N_CLASSES), np.nan)         # level_estimates of a word without hits


def level_estimates(k, z_v, z_o):
    """Each hit's velocity and offset level as the head expects them at temperature 1, from
    feel_logits' (classes k, velocity logits, offset logits), in two ways: (2, 18) floats, nan
    where no hit. Row 0 the mean (the best single guess when errors count squared), row 1 the
    median, the first level whose cumulative probability reaches 1/2 (the best guess when they
    count by their size, as a mean absolute error counts them)."""
    out = np.full((2, 2 * N_CLASSES), np.nan)
    for columns, z in ((k, z_v), (N_CLASSES + k, z_o)):
        p = np.exp(log_softmax(z.astype(np.float64)))       # (n, levels)
        out[0, columns] = p @ np.arange(p.shape[1])
        out[1, columns] = (np.cumsum(p, axis=1) < 0.5).sum(axis=1)
    return out


def play_part(params, config, ids, rng, how=Sampling(), keep=0, part_feel=None):
    """Play a part's word ids (S,): returns (word ids (S,), feel ids (S, 18), level estimates (S, 2, 18)).

    keep 0: humanise; every word stays, every hit's feel is drawn at how.diversity (0: the
    likeliest levels). keep, a mask of class bits (encoding.class_bit): those classes stay the part's,
    step for step, and the words are drawn among those that agree (the other classes are the
    model's); the kept hits keep part_feel's levels (S, 18) (None: theirs are drawn too). BAR and END
    stay where the part has them. how.style and how.fill_every as sample_bars takes them;
    estimates: level_estimates of every word (its mean and median levels) on the path it played.
    A model without feel plays the words alone: feel ids and estimates are None.
    """
    stream = Stream(params, config, how.style, how.fill_every)
    stream.push(BAR_ID)                                     # as generation starts: after a bar line
    words = np.arange(model_config(config)["vocab_size"])
    agrees = lambda word: (words < BAR_ID) & ((words & keep) == (word & keep))   # (V,) the allowed words
    out, feels, estimates = [], [], []
    for n, word in enumerate(int(w) for w in ids):
        if keep and word < BAR_ID:
            word = sample_allowed(stream.logits, how.diversity, rng, agrees(word))
        feel_ids = None
        if "Wf" in params:                                  # the head once: its draw and its estimates
            hits = word < len(CLASSES_OF) and len(CLASSES_OF[word]) > 0
            logits = feel_logits(params, stream.state[0][-1], word, stream.memory) if hits else None
            estimates.append(level_estimates(*logits) if hits else NO_ESTIMATES)
            feel_ids = draw_feel(*logits, how.diversity, rng) if hits else NO_FEEL
        if feel_ids is not None and keep and part_feel is not None:
            feel_ids = keep_part_feel(feel_ids, part_feel[n], word, keep)
        out.append(word)
        feels.append(feel_ids)
        stream.push(word, feel_ids if keep else None)       # humanise reads the words alone (see above)
    if "Wf" not in params:
        return np.array(out), None, None
    return np.array(out), np.array(feels), np.array(estimates)


# Drums around a part, looking ahead. Drawn step by step, the written drums at step t know the
# kept drums only up to t: a hi-hat pattern that leads the model to expect this part's coming
# kicks and snares is likelier the drummer's than one that does not, but one draw cannot tell.
# Many can. Play K candidate takes side by side; at each step, weight each take (as a particle
# filter, sequential Monte Carlo, weighs them) by the probability its model gave the part's
# kept drums there: the allowed words' share of the step words (the part fixes the bar lines,
# so BAR is left out), by the model's own odds (temperature 1, whatever the draws' diversity):
#
#     weight_k *= sum_{w allowed} p_k(w) / sum_{w a step} p_k(w)      (p_k: take k's next-word odds;
#                                                                      summed as logs, as a long
#                                                                      product underflows)
#
# The weights say which takes explain the part; at each bar line the takes then vote on the bar
# to go on from. Each take's bar (the drums it wrote there, the kept ones left out: every take
# has those) is scored by how well it agrees with every take's bar, its own included, each
# counted by its weight:
#
#     score_k = sum_j weight_j F1(bar_k, bar_j)        F1 = 2 |onsets in both| / (|bar_k's| + |bar_j's|)
#
# (an onset: a drum on a step, its feel not counted; two bars with none agree fully). Every take
# goes on from the bar with the best score (the first of a tie), and the weights start again
# from 1. So the bar kept is the one the likely takes most agree on: minimum Bayes risk decoding,
# with onset F1 as the gain. The weights look ahead only to the bar line: the drums written on a
# bar's last step are not weighed by the next bar's kept drums. (A particle filter would draw K
# takes again, each in proportion to its weight: a draw from the model's odds given the part,
# which agreed less with the drummers' own takes: docs/play.md.) With K = 1, or at diversity 0
# (every take would draw the same), this is play_part.

def log_sum_exp(z):
    """log sum exp along the last axis, max-subtracted (-inf entries add nothing)."""
    m = z.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))[..., 0]


def vote(bars, weights):
    """The index of the take whose bar agrees best with every take's (above; the first of a tie):
    bars (K, n) the takes' word ids over one bar, the kept drums masked out; weights (K,) >= 0."""
    on = word_bits(bars, np.float64).reshape(len(bars), -1)       # (K, n * 9) its onsets, 0/1
    both, count = on @ on.T, on.sum(axis=1)                        # (K, K) onsets in both; (K,)
    pairs = count[:, None] + count[None, :]
    f1 = np.where(pairs > 0, 2 * both / np.maximum(pairs, 1), 1.0)  # (K, K)
    return int(np.argmax(f1 @ weights))


def play_around(params, config, ids, rng, how=Sampling(), keep=0, part_feel=None, particles=32):
    """play_part's drums around a part with particles = K candidate takes, weighted by how likely
    each makes the kept drums (keep, a non-zero class mask, and part_feel as play_part takes
    them), voting at each bar line. Returns as play_part: the voted take's word ids (S,), feel
    ids (S, 18) and level estimates (S, 2, 18)."""
    if not keep:
        raise ValueError("play_around writes drums around kept ones: keep some (humanise is play_part)")
    config = model_config(config)
    K, V = (particles if how.diversity > 0 else 1), config["vocab_size"]
    words, is_step = np.arange(V), np.arange(V) < BAR_ID
    readers = [input_reader(config, how.style, how.fill_every) for _ in range(K)]
    state = zero_state(config, K, params["Wy"].dtype)
    memory = np.full((K, 4 * N_CLASSES), -1, np.int8) if config["feel_memory"] else None
    takes = [([], [], []) for _ in range(K)]                # each take's words, feel ids, level estimates
    log_weight, bar_start = np.zeros(K), 0                   # and where the bar in progress began

    def voted():                                            # the take whose bar so far wins the vote
        weights = np.exp(log_weight - log_weight.max())
        return vote(np.array([take[0][bar_start:] for take in takes], np.int64) & ~keep, weights / weights.sum())

    def push(chosen, feels):                                # every take reads its word: logits (K, V)
        nonlocal state
        x0, dense_x = zip(*(read(w, f) for read, w, f in zip(readers, chosen, feels)))
        logits, state = step_streams_fast(params, np.stack(x0), state, None if dense_x[0] is None else np.stack(dense_x))
        for k, f in enumerate(feels):
            if memory is not None and f is not None:
                memory[k] = remember(memory[k], f)
        return logits

    logits = push([BAR_ID] * K, [None] * K)                 # as generation starts: after a bar line
    for n, word in enumerate(int(w) for w in ids):
        chosen = [word] * K                                 # BAR and END stay where the part has them
        if word < BAR_ID:
            allowed = is_step & ((words & keep) == (word & keep))
            z = logits.astype(np.float64)                   # (K, V)
            log_weight += log_sum_exp(np.where(allowed, z, -np.inf)) - log_sum_exp(np.where(is_step, z, -np.inf))
            chosen = [sample_allowed(logits[k], how.diversity, rng, allowed) for k in range(K)]
        feels = []
        for k, w in enumerate(chosen):                      # each take's hits' feel, as play_part draws it
            feel_ids, estimates = NO_FEEL, NO_ESTIMATES
            if "Wf" in params and w < len(CLASSES_OF) and len(CLASSES_OF[w]):
                head_logits = feel_logits(params, state[0][-1][k:k + 1], w, None if memory is None else memory[k])
                feel_ids, estimates = draw_feel(*head_logits, how.diversity, rng), level_estimates(*head_logits)
                if part_feel is not None:
                    feel_ids = keep_part_feel(feel_ids, part_feel[n], w, keep)
            for column, value in zip(takes[k], (w, feel_ids, estimates)):
                column.append(value)
            feels.append(feel_ids if "Wf" in params else None)
        if word == BAR_ID and K > 1:                        # vote at the bar line: all go on from one take
            pick = np.full(K, voted())                      # (every take reads BAR: only the histories move)
            readers = [input_reader(config, how.style, how.fill_every, readers[i].history) for i in pick]
            takes = [tuple(list(column) for column in takes[i]) for i in pick]
            state = tuple(s[:, pick] for s in state)        # (copies: fancy indexing)
            memory = None if memory is None else memory[pick]
            log_weight, bar_start = np.zeros(K), len(takes[0][0])
        logits = push(chosen, feels)
    out, feel_ids, estimates = takes[voted()]               # (a part that ends inside a bar: its last bar's vote)
    if "Wf" not in params:
        return np.array(out), None, None
    return np.array(out), np.array(feel_ids), np.array(estimates)


# ----------------------------------------------------------------------------
# 12. Form: a song that plays a bar again, whole
#
# Songs have form: a riff played four times, a chorus back 24 bars later, an end. A model that
# draws word by word at diversity 1.0 seldom plays a bar exactly again, and the further back
# the bar the more seldom (docs/songs.md). So for whole songs a small head, the form head,
# chooses at each bar line before the next bar's words: the end of the song, a new bar, or one
# of the 64 bars before, played again whole (its words; the feel of its hits is drawn anew).
#
# At bar line i (bars 0 .. i-1 played) the choices are "new", END, and each distinct bar of
# the 64 before (a bar played more than once is one choice, at its latest playing j). The head
# reads the top layer's output h (H,) at the bar line, and for each candidate j its facts
# (FORM_FACTS,), each a 0/1 column:
#   match   how many bars before it equal the bars before bar i (bar j-1 is bar i-1, ...;
#           1 to 4): a section played again goes on as it went the last time (for the bar
#           just played, j = i-1, it is run - 1, at most 4)
#   run     for the bar just played (j = i-1) only: how many times in a row it has been
#           played (1, 2, 3, 4-7, 8 on): a riff is played 2, 4 or 8 times, then the song moves on
#   phrase  whether d = i - j is 4, 8, 16 or 32 (a column each): songs come back in phrases of
#           4, 8, 16 and 32 bars; of the training songs' bars played again from 4 to 7 bars
#           back, 79% are from exactly 4 back, and the distance bins alone cannot say so
# and its distance d = i - j, in 6 bins (1, 2-3, 4-7, 8-15, 16-31, 32-64):
#
#   z          = h @ Fw + fb                       (2 + 6,) "new", END, then one per distance bin
#   logit(new) = z[0]
#   logit(END) = z[1] + fp[place] + fc crashed     place: bars played, in half-octaves (form_place);
#                                                  crashed: 1 if the bar just played has a crash
#   logit(j)   = z[2 + bin(i - j)] + facts_j @ fa
#   P          = softmax over "new", END and the candidates
#
# The LSTM has END as a word too, but in a song that plays its bars again it seldom draws it:
# the training songs end after a bar of their own, not in the middle of a riff. The head's END
# also reads how long the song has gone on (it learns that a long song ends), and whether the bar
# just played has a crash: most real songs end on one, and the top layer alone did not say it
# strongly enough for a song drawn by the model (docs/songs.md). How long is counted two places
# an octave, finer than the LSTM's song_places: the longest songs end between 256 and 511 bars,
# and one place for all of those let a drawn song run on to the cap now and then.
#
# Fitted after training (train.py), with the LSTM's weights fixed: at each bar line of the
# training songs the target is the candidate equal to the bar that came next, else "new", and
# END after a whole song's last bar.
# When sampling a song (generate.py --song --form), the head draws at temperature 1 whatever
# the diversity (lower, it would play the likeliest bar again every time: a loop). A new bar is
# drawn word by word as before, and drawn again (NEW_BAR_TRIES draws at most) if it equals one
# of the 64: the head has already said it is none of them. The candidates and the place in the
# song count the bars drawn; a primer's bars are not among them. The head does not choose the bar
# just played once it has been played as many times in a row as the longest such run of the
# training songs (max_run; 32 bars in the Metallica songs): the run facts stop at "8 on", and a
# drawn song now and then looped one bar 50 or 100 times, which no training song does
# (docs/songs.md). (A new bar drawn NEW_BAR_TRIES times, equal each time, can still be that bar.)
# (Not a fact: how often a bar was played in the 64. It predicts the real songs' next bars a
# little better, but a song drawn with it feeds on itself, each copy making the next likelier,
# and loops: docs/songs.md.)

FORM_WINDOW = 64                                           # candidates: the distinct bars of the 64 before
DISTANCE_BINS = np.array([1, 2, 4, 8, 16, 32])              # bin k: d from DISTANCE_BINS[k] to the next - 1
MATCH_MAX = 4                                              # match columns: 1, 2, 3, 4 bars before alike
RUN_BINS = np.array([1, 2, 3, 4, 8])                       # run columns: played 1, 2, 3, 4-7, 8+ times in a row
PHRASE_DISTANCES = np.array([4, 8, 16, 32])                # phrase columns: the candidate exactly this far back
FORM_FACTS = MATCH_MAX + len(RUN_BINS) + len(PHRASE_DISTANCES)   # match, run, phrase: 13
FORM_LOGITS = 2 + len(DISTANCE_BINS)                       # "new", END and the 6 distance bins
FORM_PLACES = 19                                           # the end's places: form_place of 1 .. 512 bars
NEW, END_SONG = -1, -2                                     # choose_bar's choices besides a bar's index
NEW_BAR_TRIES = 8                                          # draws of a new bar at most (the last is kept)
FORM_HEAD_KEYS = ("Fw", "fb", "fa", "fp", "fc")            # its weights among a model's params
CRASH_BIT = encoding.class_bit(encoding.CLASS_NAMES.index("crash"))   # in a step word's id (its mask)


def bar_keys(ids):
    """A song's word ids (S,) -> its closed bars, each as the bytes of its words and BAR (equal
    bars, equal keys)."""
    ids = np.asarray(ids, dtype=np.int64)
    _, before, closes = bar_lines(ids, BAR_ID)
    ends = np.flatnonzero(closes)
    return [ids[a:b + 1].tobytes() for a, b in zip(before[closes] + 1, ends)]


def form_place(bars):
    """The end's place after `bars` bars (1 or more): floor(2 log2 bars), two places an octave (bars
    1, 2, 3, 4-5, 6-7, 8-11, 12-15, ..., 256-362, 363-511, then 512 on; place 1 is never used)."""
    return min((bars * bars).bit_length() - 1, FORM_PLACES - 1)


def has_crash(key):
    """Whether a bar (a bar_keys key) plays the crash on any of its steps: 0 or 1."""
    ids = np.frombuffer(key, dtype=np.int64)
    return int(np.any((ids < BAR_ID) & ((ids & CRASH_BIT) > 0)))


def times_in_a_row(keys, i):
    """How many times in a row bar i - 1 has been played by bar line i (1 if bar i - 2 differs)."""
    run = 1
    while i - 1 - run >= 0 and keys[i - 1 - run] == keys[i - 1]:
        run += 1
    return run


def longest_run(songs_ids):
    """The most times in a row any of some songs (word ids) plays one bar (Sampling's max_run)."""
    runs = [times_in_a_row(keys, i) for keys in map(bar_keys, songs_ids) for i in range(1, len(keys) + 1)]
    return max(runs, default=0)


def form_candidates(keys, i):
    """The choices at bar line i of a song whose bars are keys (bar_keys; at least i of them):
    (latest (K,) the latest playing j of each distinct bar of the FORM_WINDOW before i, nearest
    first; facts (K, FORM_FACTS); bins (K,) each one's distance bin)."""
    latest, seen = [], set()
    for j in range(i - 1, max(i - FORM_WINDOW, 0) - 1, -1):
        if keys[j] not in seen:
            latest.append(j)
            seen.add(keys[j])
    facts = np.zeros((len(latest), FORM_FACTS))
    for n, j in enumerate(latest):
        match = 0
        while match < MATCH_MAX and j - match - 1 >= 0 and keys[j - match - 1] == keys[i - match - 1]:
            match += 1
        if match:
            facts[n, match - 1] = 1
        if j == i - 1:
            run = times_in_a_row(keys, i)
            facts[n, MATCH_MAX + np.searchsorted(RUN_BINS, run, side="right") - 1] = 1
    latest = np.array(latest, dtype=np.int64)
    facts[:, MATCH_MAX + len(RUN_BINS):] = (i - latest)[:, None] == PHRASE_DISTANCES     # (K, 4)
    return latest, facts, np.searchsorted(DISTANCE_BINS, i - latest, side="right") - 1


def form_logits(head, h, facts, bins, place, crashed):
    """h (E, H) at E bar lines, place (E,) each one's place in the song (form_place),
    crashed (E,) whether the bar before it has a crash (0/1); facts (E, K, FORM_FACTS) and bins
    (E, K) of up to K candidates each (bin -1: no candidate there) -> logits (E, 2 + K): "new",
    END, then the candidates (-inf where there is none).
    head: {"Fw" (H, 8), "fb" (8,), "fa" (FORM_FACTS,), "fp" (FORM_PLACES,), "fc" (1,): one weight}."""
    z = h @ head["Fw"] + head["fb"]                                         # (E, 8)
    end = z[:, 1:2] + (head["fp"][place] + head["fc"] * crashed)[:, None]   # (E, 1)
    by_bin = np.take_along_axis(z, 2 + np.maximum(bins, 0), axis=1)         # (E, K)
    candidates = np.where(bins >= 0, by_bin + facts @ head["fa"], -np.inf)
    return np.concatenate([z[:, :1], end, candidates], axis=1)


def form_loss(head, h, facts, bins, place, crashed, target, l2=1e-3):
    """The head's mean cross-entropy per bar line (target (E,): 0 new, 1 END, 2 + n the n-th
    candidate), plus l2 / 2 |Fw|^2; returns (loss, grads of head's keys)."""
    logp = log_softmax(form_logits(head, h, facts, bins, place, crashed))    # (E, 2 + K), -inf where none
    E = len(target)
    value = -logp[np.arange(E), target].mean() + 0.5 * l2 * (head["Fw"] ** 2).sum()
    dz = np.exp(logp)                                                        # (E, 2 + K) softmax
    dz[np.arange(E), target] -= 1
    dz /= E
    one_hot = (bins[..., None] == np.arange(len(DISTANCE_BINS))).astype(h.dtype)   # (E, K, 6)
    dzh = np.concatenate([dz[:, :2], np.einsum("ek,ekb->eb", dz[:, 2:], one_hot)], axis=1)   # (E, 8)
    grads = {"Fw": h.T @ dzh + l2 * head["Fw"], "fb": dzh.sum(axis=0),
             "fa": np.einsum("ek,ekf->f", dz[:, 2:], facts),
             "fp": np.bincount(place, weights=dz[:, 1], minlength=FORM_PLACES),
             "fc": np.array([dz[:, 1] @ crashed])}
    return value, grads


def form_head_inputs(tops, songs_keys, ended):
    """What the head is fitted on: tops, per song its top layer's output at each bar line (the
    BAR closing bar i - 1, i = 1, 2, ...; for a song that ended, the last bar's too) (lines, H);
    songs_keys, per song bar_keys; ended, per song whether it ended (its words end in END).
    Returns h (E, H), facts (E, K, FORM_FACTS), bins (E, K) (K = FORM_WINDOW, -1 padded),
    place (E,), crashed (E,) and target (E,) (form_loss's)."""
    lines = [(keys, i) for keys, end in zip(songs_keys, ended) for i in range(1, len(keys) + bool(end))]
    facts, bins = np.zeros((len(lines), FORM_WINDOW, FORM_FACTS)), np.full((len(lines), FORM_WINDOW), -1)
    place = np.array([form_place(i) for _, i in lines], dtype=np.int64)
    crashed = np.array([has_crash(keys[i - 1]) for keys, i in lines], dtype=np.float64)
    target = np.zeros(len(lines), dtype=np.int64)                    # 0: a new bar came next
    for e, (keys, i) in enumerate(lines):
        latest, f, b = form_candidates(keys, i)
        facts[e, :len(b)], bins[e, :len(b)] = f, b
        if i == len(keys):
            target[e] = 1                                            # the song ended
            continue
        same = [n for n, j in enumerate(latest) if keys[j] == keys[i]]
        if same:
            target[e] = 2 + same[0]                                  # bar i is a candidate played again
    h = np.concatenate(tops) if len(tops) else np.zeros((0, 0))      # (E, H), in the same order
    if len(h) != len(lines):
        raise ValueError(f"tops: {len(h)} rows for {len(lines)} bar lines")
    return h, facts, bins, place, crashed, target


def fit_form_head(h, facts, bins, place, crashed, target, steps=300, lr=0.05):
    """The form head fitted by Adam on all bar lines at once (form_head_inputs' arrays, at least one
    with a candidate), from zeros (every choice alike). Deterministic. Returns the head, float64."""
    head = {"Fw": np.zeros((h.shape[1], FORM_LOGITS)), "fb": np.zeros(FORM_LOGITS), "fa": np.zeros(FORM_FACTS),
            "fp": np.zeros(FORM_PLACES), "fc": np.zeros(1)}
    opt = adam_init(head)
    for _ in range(steps):
        _, grads = form_loss(head, h, facts, bins, place, crashed, target)
        head, opt = adam_update(head, grads, opt, lr=lr)
    # a place in the song or a distance the training songs never reached (a song longer than any,
    # a bar further back than any song is long) keeps the weights of the furthest one they did
    last = np.flatnonzero(np.bincount(place, minlength=FORM_PLACES))[-1]
    head["fp"][last + 1:] = head["fp"][last]
    last = np.flatnonzero(np.bincount(bins[bins >= 0], minlength=len(DISTANCE_BINS)))[-1]
    head["Fw"][:, 2 + last + 1:] = head["Fw"][:, 2 + last:2 + last + 1]
    head["fb"][2 + last + 1:] = head["fb"][2 + last]
    return head


class SongForm:
    """sample_bars' form: the song's bars so far (keys), the words of a bar being played again
    (again), and while a new bar is drawn, where it began, the stream there and the draws so far
    (new_bar)."""

    def __init__(self, params, rng, max_run=0):
        self.params, self.rng, self.max_run = params, rng, max_run
        self.keys, self.again, self.new_bar = [], [], None

    def choose(self, stream, start, may_end):
        """At a bar line after the song's first bar, the head's choice: "end" (if may_end), "again"
        (the bar's words are then in self.again) or "new", a bar to draw from start of the words
        drawn (kept, with a copy of the stream, to draw it again if it is not new)."""
        chosen = choose_bar(self.params, stream.state[0][-1][0], self.keys, self.rng, may_end, self.max_run)
        if chosen == END_SONG:
            return "end"
        if chosen >= 0:
            self.again = [int(w) for w in np.frombuffer(self.keys[chosen], dtype=np.int64)]
            return "again"
        self.new_bar = (start, stream.copy(), 1)
        return "new"

    def close_bar(self, words):
        """A bar's words and BAR are drawn: True if it is to be drawn again (a new bar equal to
        one of the FORM_WINDOW before, with draws left); else it joins the song's bars."""
        key = np.array(words, dtype=np.int64).tobytes()
        if self.new_bar is not None and self.new_bar[2] < NEW_BAR_TRIES and key in self.keys[-FORM_WINDOW:]:
            return True
        self.keys.append(key)
        self.new_bar = None
        return False

    def draw_again(self):
        """Where the new bar began in the words drawn, and a stream from there, for one more draw."""
        start, there, tries = self.new_bar
        self.new_bar = (start, there, tries + 1)
        return start, there.copy()


def choose_bar(params, h, keys, rng, may_end=True, max_run=0):
    """At a bar line of a song being drawn (keys: its bars so far, at least one), the form head's
    choice: the index of a bar to play again, NEW or END_SONG (not if may_end is False; not the bar
    just played if max_run > 0 and it has been played max_run times in a row).
    h (H,) the top layer's output. Drawn at temperature 1 (above)."""
    latest, facts, bins = form_candidates(keys, len(keys))
    place, crashed = np.array([form_place(len(keys))]), np.array([has_crash(keys[-1])])
    z = form_logits(params, h[None].astype(np.float64), facts[None], bins[None], place, crashed)[0]   # (2 + K,)
    if not may_end:
        z[1] = -np.inf
    if max_run and times_in_a_row(keys, len(keys)) >= max_run:
        z[2] = -np.inf                                         # (latest[0] is the bar just played)
    choice = sample_word(z, 1.0, rng)
    return NEW if choice == 0 else END_SONG if choice == 1 else int(latest[choice - 2])


# ----------------------------------------------------------------------------
# 13. Checkpoints

FORMAT_VERSION = 2   # 2: every key of model_config in the config, the 514-word vocabulary


class CheckpointError(ValueError):
    """A file that is not a usable lstm-drums checkpoint."""


def pytorch_names(L, feel=False, form=False):
    """Our parameter names -> PyTorch's nn.LSTM / nn.Linear state-dict names (transposed).
    The feel head is an nn.Linear too, feel_head, reading [top, bits of the next word (, memory)];
    the form head's Fw and fb are one, form_head, fa its weights of the candidates' facts, fp
    of the place in the song and fc of a crash in the bar just played."""
    names = {}
    for l in range(L):
        names[f"Wx{l}"] = f"weight_ih_l{l}"                 # (4H, D) in PyTorch
        names[f"Wh{l}"] = f"weight_hh_l{l}"                 # (4H, H)
        names[f"b{l}"] = f"bias_ih_l{l}"                    # (4H,); bias_hh_l{l} stored as zeros
    names["Wy"], names["by"] = "decoder.weight", "decoder.bias"  # (V, H), (V,)
    if feel:
        names["Wf"], names["bf"] = "feel_head.weight", "feel_head.bias"  # (153, H + 9 [+ 306]), (153,)
    if form:
        names.update({"Fw": "form_head.weight", "fb": "form_head.bias",          # (8, H), (8,)
                      "fa": "form_head.facts", "fp": "form_head.place",        # (13,), (19,)
                      "fc": "form_head.crash"})                                  # (1,)
    return names


def save_checkpoint(path, params, config, vocab, opt=None, extra=None, state=None):
    """Write everything to one .npz, atomically (a temporary file, then a rename).

    params are stored under PyTorch's names and shapes, so they load into nn.LSTM and
    nn.Linear unchanged. Beside them: vocab (array of str, id = index), config (JSON),
    format_version, and for an exact resume Adam's moments and step count (opt), the
    (h, c) state carried between chunks (state, each (L, N, H)) and any JSON-able extra
    (train.py keeps its RNG state and data position there).
    """
    config = model_config(config)                           # a checkpoint says everything about its model
    bad = [k for k, p in params.items() if not np.isfinite(p).all()]
    if bad:                                                 # a diverged model never replaces a good one
        raise CheckpointError(f"{path}: not saved: {', '.join(bad)} hold NaN or infinity (the training diverged)")
    arrays = {"format_version": np.array(FORMAT_VERSION),
              "config": np.array(json.dumps(config)),
              "vocab": np.array(list(vocab), dtype=str),
              "extra": np.array(json.dumps(extra or {}))}
    for ours, theirs in pytorch_names(config["layers"], config["feel"], config["form_head"]).items():
        p = params[ours]
        arrays[theirs] = p.T if p.ndim == 2 else p
        if theirs.startswith("bias_ih"):
            arrays[theirs.replace("bias_ih", "bias_hh")] = np.zeros_like(p)
    if opt is not None:
        arrays["adam.t"] = np.array(opt["t"])
        for k in opt["m"]:                                  # (not the form head's: fitted after training)
            arrays[f"adam.m.{k}"] = opt["m"][k]
            arrays[f"adam.v.{k}"] = opt["v"][k]
    if state is not None:
        arrays["state.h"], arrays["state.c"] = state
    encoding.write_atomic(path, write=lambda f: np.savez(f, **arrays))  # whole, on disk, then renamed


# What a checkpoint may declare: beyond these, a file is not one of ours (or is damaged).
LIMITS = {"vocab_size": 100_000, "hidden": 65_536, "layers": 64, "streams": 65_536, "styles": 1000}
MAX_TEXT_CHARS = 1 << 24                                    # config, vocab words, extra: 16 M characters


def load_checkpoint(path, dtype=np.float32, vocab=None):
    """Read a checkpoint (never with pickle); check every array's presence, dtype and shape.

    Only the arrays the format defines are read, and each one's declared dtype and shape
    (in its .npy header) are checked before its data is: a small damaged or hostile file
    cannot make us allocate gigabytes. The config must hold sizes in range, and every
    weight must be finite.
    vocab: if given, the checkpoint's vocabulary must be this list.
    Returns a dict: params, config, vocab (list of str), opt and state (None if absent), extra.
    Raises CheckpointError with a one-line reason for anything else.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            if "format_version.npy" not in archive.namelist():
                raise CheckpointError(f"{path}: not a readable checkpoint: a zip archive (.npz?) without "
                                      "lstm-drums' arrays (expected an .npz written by train.py)")
            ck = _read_checkpoint(archive, path, dtype)
        if vocab is not None and ck["vocab"] != list(vocab):
            raise CheckpointError(f"{path}: its vocabulary is not lstm-drums' {len(vocab)} words")
        return ck
    except CheckpointError:
        raise
    except zipfile.BadZipFile:
        raise CheckpointError(f"{path}: not a readable checkpoint: {_what_it_is(path)} "
                              "(expected an .npz written by train.py)") from None
    except Exception as e:       # a damaged archive can raise almost anything: zlib, header parsing, ...
        reason = f"{type(e).__name__}: {e}"[:160]
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason})") from None


def _what_it_is(path):
    """A few words on what a file that is not a zip archive is, from its first bytes."""
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith(b"MThd"):
        return "a MIDI file"
    if head.startswith(b"\x93NUMPY"):
        return "a single NumPy array (.npy)"
    if head.startswith(b"PK"):
        return "a damaged zip archive"
    try:
        head.decode("utf-8")
        return "a text file" if head else "an empty file"
    except UnicodeDecodeError:
        return "an unknown binary file"


def _read_array(archive, path, name, kinds, shape=None):
    """One array of the archive: its .npy header checked (dtype kind, shape; None = any
    length from 1 to LIMITS["streams"]) before its data is read."""
    member = name + ".npy"
    if member not in archive.namelist():
        raise CheckpointError(f"{path}: missing array {name!r}")
    with archive.open(member) as f:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        declared, fortran, dtype = read_header(f)
        if dtype.hasobject:
            raise CheckpointError(f"{path}: not a readable checkpoint (array {name!r} holds pickled Python "
                                  "objects, and checkpoints are read without pickle)")
        if dtype.kind not in kinds:
            raise CheckpointError(f"{path}: array {name!r} has dtype {dtype}, expected kind {kinds!r}")
        if shape is not None and (len(declared) != len(shape) or any(
                got != want if want is not None else not 1 <= got <= LIMITS["streams"]
                for got, want in zip(declared, shape))):
            raise CheckpointError(f"{path}: array {name!r} has shape {declared}, expected {shape}")
        if dtype.kind == "U" and dtype.itemsize > 4 * MAX_TEXT_CHARS:
            raise CheckpointError(f"{path}: array {name!r} holds text of {dtype.itemsize // 4} characters")
        n_bytes = int(np.prod(declared, dtype=np.int64)) * dtype.itemsize
        data = f.read(n_bytes)
    if len(data) != n_bytes:
        raise CheckpointError(f"{path}: array {name!r} is truncated")
    return np.frombuffer(bytearray(data), dtype).reshape(declared, order="F" if fortran else "C")  # writable


def _form_facts_weights(get, name):
    """The form head's weights of its facts (FORM_FACTS,). A head fitted before the phrase facts
    has none for them: they read 0, and the head chooses as it did."""
    try:
        return get(name, "f", (FORM_FACTS,))
    except CheckpointError as error:
        try:
            before = get(name, "f", (FORM_FACTS - len(PHRASE_DISTANCES),))
        except CheckpointError:
            raise error from None
    return np.concatenate([before, np.zeros(len(PHRASE_DISTANCES), before.dtype)])


def _read_checkpoint(archive, path, dtype):
    get = lambda name, kinds, shape=None: _read_array(archive, path, name, kinds, shape)
    version = int(get("format_version", "iu", ()))
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path}: format version {version}, " + (
            f"written by an older lstm-drums; this one reads version {FORMAT_VERSION}: train the model again "
            "(python train.py ...), or use the lstm-drums release that wrote it" if version < FORMAT_VERSION else
            f"written by a newer lstm-drums; this one reads version {FORMAT_VERSION}"))
    try:
        config = json.loads(str(get("config", "U", ())))
        extra = json.loads(str(get("extra", "U", ())))
    except (json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"{path}: bad config ({str(e)[:100]})") from None
    V, H, L = _check_config(config, path)
    if not isinstance(extra, dict):
        raise CheckpointError(f"{path}: 'extra' is not a JSON object")
    kind, feel = config["inputs"], config["feel"]
    vocab = [str(w) for w in get("vocab", "U", (V,))]
    memory = MEMORY_SIZE if config["feel_memory"] else 0
    shapes = {"Wy": (H, V), "by": (V,), "Wf": (H + N_CLASSES + memory, FEEL_OUT), "bf": (FEEL_OUT,),
              "Fw": (H, FORM_LOGITS), "fb": (FORM_LOGITS,), "fa": (FORM_FACTS,), "fp": (FORM_PLACES,),
              "fc": (1,)}
    for l in range(L):
        shapes.update({f"Wx{l}": (input_size(V, kind, feel, condition_size(config), config["lookback_bars"])
                                  if l == 0 else H, 4 * H),
                       f"Wh{l}": (H, 4 * H),
                       f"b{l}": (4 * H,)})
    params = {}
    for ours, theirs in pytorch_names(L, feel, config["form_head"]).items():
        shape = shapes[ours]
        a = _form_facts_weights(get, theirs) if ours == "fa" else get(theirs, "f", shape[::-1])
        if theirs.startswith("bias_ih"):
            a = a + get(theirs.replace("bias_ih", "bias_hh"), "f", shape)  # PyTorch keeps two biases
        params[ours] = np.ascontiguousarray(a.T if a.ndim == 2 else a, dtype=dtype)
    opt = None
    if "adam.t.npy" in archive.namelist():
        trained = [k for k in params if k not in FORM_HEAD_KEYS]
        opt = {"t": int(get("adam.t", "iu", ())),
               "m": {k: get(f"adam.m.{k}", "f", shapes[k]).astype(dtype) for k in trained},
               "v": {k: get(f"adam.v.{k}", "f", shapes[k]).astype(dtype) for k in trained}}
    state = None
    if "state.h.npy" in archive.namelist():
        h = get("state.h", "f", (L, None, H))                # (L, N, H), N streams
        state = (h.astype(dtype), get("state.c", "f", h.shape).astype(dtype))
    named = list(params.items())
    if opt is not None:
        named += [(f"Adam's {m} of {k}", a) for m in ("m", "v") for k, a in opt[m].items()]
    if state is not None:
        named += [("state.h", state[0]), ("state.c", state[1])]
    for name, a in named:
        if not np.isfinite(a).all():
            raise CheckpointError(f"{path}: {name} holds NaN or infinity (a diverged model)")
    return {"params": params, "config": config, "vocab": vocab, "opt": opt, "state": state, "extra": extra}


def style_names(x):
    """A list of distinct style names, each by the codec's rule (encoding.is_style_name: 1-40
    lower-case letters, digits, - and _)."""
    return (isinstance(x, list) and len(x) <= LIMITS["styles"] and len(set(map(str, x))) == len(x)
            and all(encoding.is_style_name(s) for s in x))


def _distances(table):
    """A look-back table without its AFTER_LAST at the end: the fixed distances."""
    return table[:-1] if table[-1] == AFTER_LAST else table


CONFIG_RULES = {    # key: (the test, what is wanted); every key must be there (format version 2)
    "dropout": (lambda v: type(v) in (int, float) and 0 <= v < 1, "0 <= dropout < 1"),
    "forget_bias": (lambda v: type(v) in (int, float) and math.isfinite(v), "a finite number"),
    "inputs": (lambda v: isinstance(v, str) and v in INPUT_KINDS, "one of " + ", ".join(INPUT_KINDS)),
    "feel": (lambda v: v is True or v is False, "true or false"),
    "styles": (style_names, "distinct names of 1-40 lower-case letters, digits, - and _"),
    "fills": (lambda v: v is True or v is False, "true or false"),
    "feel_memory": (lambda v: v is True or v is False, "true or false"),
    "song_place": (lambda v: v is True or v is False, "true or false"),
    "form_head": (lambda v: v is True or v is False, "true or false"),
    "lookback_bars": (lambda v: isinstance(v, list) and 1 <= len(v) <= 8 and all(type(d) is int for d in v)
                      and _distances(v)[:2] == [1, 2] and _distances(v) == sorted(set(_distances(v)))
                      and _distances(v)[-1] <= 256, "[1, 2, ...] rising, at most 256, and 0 last or not at all"),
}
# keys added since format version 2 began: a file without one reads as having this value
OPTIONAL_KEYS = {"feel_memory": False, "lookback_bars": [1, 2], "song_place": False, "form_head": False}


def _check_config(config, path):
    """(V, H, L) from a checkpoint's config, every value in range, or CheckpointError."""
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: bad config (not a JSON object)")
    sizes = []
    for key in ("vocab_size", "hidden", "layers"):
        value = config.get(key)
        if type(value) is not int or not 1 <= value <= LIMITS[key]:
            raise CheckpointError(f"{path}: bad config ({key} {str(value)[:30]}, want an int 1..{LIMITS[key]})")
        sizes.append(value)
    for key, value in OPTIONAL_KEYS.items():
        config.setdefault(key, value)
    for key, (ok, wanted) in CONFIG_RULES.items():
        if key not in config:
            raise CheckpointError(f"{path}: bad config (no {key})")
        if not ok(config[key]):
            raise CheckpointError(f"{path}: bad config ({key} {str(config.get(key))[:40]}, want {wanted})")
    return sizes
