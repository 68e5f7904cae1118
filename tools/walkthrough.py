"""Write docs/walkthrough.md: one bar of a demo groove on its way through the whole system.

    python tools/walkthrough.py > docs/walkthrough.md

Every number on that page is printed here by the plain core of lstm_drums.py (sections 1-5:
one_hot, lstm_step_forward, softmax_loss, model_loss, model_forward, lstm_backward, adam_update,
sample_word, sample), on a tiny seeded model (1 layer of 4 units, the word alone as input,
float64, untrained), so that each one can be found and recomputed; tests/test_tools.py checks
that the page is exactly what this prints.
"""
import math
import os
import sys
import types

import mido
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
import encoding  # noqa: E402
import lstm_drums as lstm  # noqa: E402

SONG = os.path.join("data", "demo", "rock_8ths.mid")
H = 4                                                        # hidden units: small enough to print every gate
GM_NAMES = {35: "Acoustic Bass Drum", 36: "Bass Drum 1", 38: "Acoustic Snare", 42: "Closed Hi-Hat",
            46: "Open Hi-Hat", 49: "Crash Cymbal 1", 51: "Ride Cymbal 1"}   # (General MIDI 1's names)


def row(values, digits=4):
    """Numbers as a short inline list."""
    return "[" + ", ".join(f"{v:+.{digits}f}" for v in np.ravel(values)) + "]"


def page():
    """The page, section by section: each says its part and leaves on s what a later one needs."""
    out = []
    say = out.append
    say("# Walkthrough: one bar through the whole system\n")
    say("One bar of the demo's rock beat goes in as MIDI and comes out as a loss, its gradients, one Adam update")
    say("and a sampled word. The model is tiny and untrained (1 layer of H = 4 units, the word alone as input,")
    say("float64, seed 0) so that every number fits on the page. Each number comes from the plain core of")
    say("`lstm_drums.py` (sections 1-5), the functions [docs/lstm.md](lstm.md) explains; `train.py` runs their")
    say("fast twins (section 6), which give the same numbers, and by default the extensions of sections 7-9 (more")
    say("input columns, the feel head). Every number below is printed by `python tools/walkthrough.py`, and a")
    say("test checks that this page is exactly its output.\n")
    s = types.SimpleNamespace()                                  # what a section hands to the next
    section_midi(say, s)
    section_words(say, s)
    section_ids(say, s)
    section_lstm_step(say, s)
    section_loss(say, s)
    section_gradients(say, s)
    section_adam(say, s)
    section_sample(say, s)
    return "\n".join(out) + "\n"


def section_midi(say, s):
    """1. The MIDI file and its first notes."""
    say(f"## 1. MIDI: `{SONG}`\n")
    mid = mido.MidiFile(os.path.join(ROOT, SONG))
    say(f"{mid.ticks_per_beat} ticks per quarter note, so a 16th note is {mid.ticks_per_beat // 4} ticks. "
        "The first notes of the drum track (channel 10):\n")
    say("| tick | note | General MIDI name | velocity | class |")
    say("|---:|---:|---|---:|---|")
    tick, shown = 0, 0
    for msg in mid.tracks[-1]:
        tick += msg.time
        if msg.type == "note_on" and msg.velocity > 0 and shown < 8:
            cls = encoding.DRUM_CLASSES[encoding.PITCH_TO_CLASS[msg.note]][1]
            say(f"| {tick} | {msg.note} | {GM_NAMES.get(msg.note, '?')} | {msg.velocity} | {cls} |")
            shown += 1
    say("")
    s.mid = mid


def section_words(say, s):
    """2. The bar as words and feel, and as a drum tab."""
    mid = s.mid
    bars, feel, _ = encoding.encode_file(os.path.join(ROOT, SONG))
    words = encoding.bars_to_words(bars[:1])
    tokens = encoding.feel_to_tokens(feel[:1])
    say("## 2. Words and feel (`encoding.py`)\n")
    say("`midi_to_bars` cuts time into 16th-note steps; each step becomes a word, one character per drum class")
    say("(kick first, crash last), and `BAR` closes the bar. Beside each word, its feel: each hit's velocity")
    say("level (0-7) and its offset from the step in ninths of a step (`.` = no hit, `|` = under `BAR`).")
    lv = {v: encoding.velocity_to_level(v) for v in (120, 88, 40)}
    step_ticks = mid.ticks_per_beat // 4                                      # ticks per 16th-note step
    off = encoding.tick_to_offset_level(493, 4, mid.ticks_per_beat)          # the snare at tick 493, step 4
    say(f"`encoding.velocity_to_level` gives level min(velocity // 16, {encoding.VELOCITY_LEVELS - 1}): "
        + ", ".join(f"{v} -> {l}" for v, l in lv.items()) + ".")
    say("`encoding.tick_to_offset_level` rounds the distance from the step to ninths: the snare at tick 493 is")
    say(f"{493 - 4 * step_ticks} ticks after step 4 (tick {4 * step_ticks}), {493 - 4 * step_ticks} / {step_ticks} x 9 = "
        f"{(493 - 4 * step_ticks) / step_ticks * 9:.2f} ninths, so {off:+d}.\n")
    say("| step | word | feel | step | word | feel |")
    say("|---:|---|---|---:|---|---|")
    cell = lambda token: "`\\|`" if token == "|" else f"`{token}`"    # (a pipe would end the table's cell)
    for t in range(0, 16, 2):
        say(f"| {t} | `{words[t]}` | {cell(tokens[t])} | {t + 1} | `{words[t + 1]}` | {cell(tokens[t + 1])} |")
    say(f"| 16 | `{words[16]}` | {cell(tokens[16])} | | | |\n")
    say("As a drum tab (`X` accent, `o` ghost note):\n")
    say("```\n" + encoding.bars_to_tab(bars[:1], feel[:1]) + "\n```\n")
    s.bars, s.feel, s.words = bars, feel, words


def section_ids(say, s):
    """3. Word ids, the tiny model and its params, and layer 0's input at step 0."""
    bars, words = s.bars, s.words
    ids = encoding.to_ids(words + encoding.bars_to_words(bars[1:2])[:1])   # the bar, then the next bar's first word
    V = len(encoding.VOCAB)
    seed = 0
    config = {"vocab_size": V, "hidden": H, "layers": 1, "forget_bias": 0.0}
    params = lstm.init_params(config, np.random.default_rng(seed), np.float64)
    snippet = ("import numpy as np, lstm_drums\n"
               f"config = {config}\n"
               f"params = lstm_drums.init_params(config, np.random.default_rng({seed}), np.float64)")
    scope = {}
    exec(snippet, scope)                                                       # the snippet rebuilds these params
    assert all(np.array_equal(scope["params"][k], params[k]) for k in params)
    w0 = int(ids[0])
    say("## 3. Word ids and layer 0's input (`encoding.to_ids`, `lstm_drums.one_hot`)\n")
    say(f"The vocabulary has V = {V} words: a step word's id is its 9-bit mask read as a binary number, then")
    say(f"`BAR` = {encoding.BAR_ID} and `END` = {encoding.END_ID}. The bar's 17 ids, then the next bar's first word,")
    say(f"id {int(ids[17])}, which is the last word to predict (so `ids` has {len(ids)} entries):\n")
    say(f"    ids = {[int(i) for i in ids]}\n")
    say(f"The model: one layer (L = 1) of H = {H} units, V = {V}, float64, weights drawn by `init_params` from")
    say(f"`np.random.default_rng({seed})`, `forget_bias` = {config['forget_bias']} (training uses 1.0; here the forget gate's")
    say("bias is left as drawn), and no dropout (`masks=None`). To rebuild the same params, run in the repository:\n")
    say("```python\n" + snippet + "\n```\n")
    x0 = lstm.one_hot(np.array([w0]), V, np.float64)                          # (1, V): N = 1 stream
    xa = x0 @ params["Wx0"] + params["b0"]                                    # (1, 4H)
    assert np.array_equal(xa[0], params["Wx0"][w0] + params["b0"])
    say(f"Step 0 reads word id {w0} (`{words[0]}`, kick and crash). Its input x_0 = `one_hot([{w0}], V)` is one row of")
    say(f"{V} zeros with a 1 at column {w0}, so x_0 @ Wx0 is row {w0} of Wx0 (shape {params['Wx0'].shape}), and with the")
    say("bias b0:\n")
    say(f"    x_0 @ Wx0 + b0 = {row(xa)}\n")
    say("(16 = 4H numbers: the pre-activations of the input, forget, candidate and output gates, 4 each.)")
    lb = lstm.lookback_inputs(ids, encoding.BAR_ID, V)
    say("(Section 7; skip on a first reading.) A model with look-back inputs also reads, at step 0, the row")
    say("`lookback_inputs` gives:")
    say(f"{lb[0].tolist()} (the word, \"none\" = {V} one and two bars back, and the place of the next word, 1).\n")
    s.ids, s.V, s.config, s.params, s.scope, s.w0, s.x0 = ids, V, config, params, scope, w0, x0


def section_lstm_step(say, s):
    """4. One LSTM step from the zero state."""
    params, x0 = s.params, s.x0
    say("## 4. One LSTM step (`lstm_step_forward`)\n")
    prev_h, prev_c = np.zeros((1, H)), np.zeros((1, H))                       # the state before step 0
    next_h, next_c, cache = lstm.lstm_step_forward(x0, prev_h, prev_c, params["Wx0"], params["Wh0"], params["b0"])
    i, f, g, o = cache[5:9]
    say("Before step 0 the state is zero (h0 = c0 = 0, the state before a song; prev_h and prev_c of step 0), so")
    say("prev_h @ Wh0 adds nothing and a = x_0 @ Wx0 + b0. `lstm_step_forward(x_0, prev_h, prev_c, Wx0, Wh0, b0)`")
    say("computes the gates and returns the state after step 0, next_h and next_c:\n")
    say("```")
    say(f"i = sigmoid(a[0:4])   = {row(i)}   input gate")
    say(f"f = sigmoid(a[4:8])   = {row(f)}   forget gate")
    say(f"g = tanh(a[8:12])     = {row(g)}   candidate")
    say(f"o = sigmoid(a[12:16]) = {row(o)}   output gate")
    say(f"next_c = f * prev_c + i * g = {row(next_c)}")
    say(f"next_h = o * tanh(next_c)   = {row(next_h)}")
    say("```\n")
    s.prev_h, s.prev_c, s.next_h = prev_h, prev_c, next_h


def section_loss(say, s):
    """5. The loss of one step, then of the bar."""
    ids, V, config, params, scope, next_h = s.ids, s.V, s.config, s.params, s.scope, s.next_h
    say("## 5. The loss (`softmax_loss`, `model_loss`)\n")
    logits = next_h @ params["Wy"] + params["by"]                             # (1, V)
    target = int(ids[1])
    loss0, _ = lstm.softmax_loss(logits[None], np.array([[target]]))         # T = N = 1
    p = math.exp(-loss0)
    say(f"The decoder gives {V} logits, y = next_h @ Wy + by; their softmax is the model's guess at the word at")
    say(f"position 1. The true word at position 1 is word id {target} (`{encoding.VOCAB[target]}`, silence):")
    say(f"p = {p:.6f}, so this step's loss (`softmax_loss`) is -ln p = {loss0:.4f} nats, close to")
    say(f"ln V = {math.log(V):.4f}: an untrained model guesses about uniformly. The loss of a chunk is the mean")
    say(f"over its steps; here the bar's 17 words, each predicting the next (the last, `BAR`, predicts id {int(ids[-1])}):")
    say("T = 17 steps, N = 1 stream, inputs ids[:-1] and targets ids[1:]. After the snippet above, with `ids`")
    say("the list of 18:\n")
    x = lstm.one_hot(np.array(ids[:-1])[:, None], V, np.float64)              # (T, 1, V)
    y = np.array(ids[1:])[:, None]                                            # (T, 1)
    state = lstm.zero_state(config, 1, np.float64)
    value, grads, _ = lstm.model_loss(params, x, y, state)
    loss_snippet = (f"x = lstm_drums.one_hot(np.array(ids[:-1])[:, None], {V}, np.float64)   # (T, N, V) = {x.shape}\n"
                    f"y = np.array(ids[1:])[:, None]                                          # (T, N) = {y.shape}\n"
                    "loss, grads, _ = lstm_drums.model_loss(params, x, y, lstm_drums.zero_state(config, 1, np.float64))")
    scope["ids"] = [int(i) for i in ids]
    exec(loss_snippet, scope)                                                  # the page's code gives the page's loss
    assert scope["loss"] == value
    say("```python\n" + loss_snippet + "\n```\n")
    say(f"gives loss = {value:.4f} nats/word.\n")
    s.x, s.y, s.state, s.grads, s.p, s.target = x, y, state, grads, p, target


def section_gradients(say, s):
    """6. The gradients that flow back."""
    ids, V, params, w0, x, y, state, grads, p, target = s.ids, s.V, s.params, s.w0, s.x, s.y, s.state, s.grads, s.p, s.target
    say("## 6. The gradients that flow back (`model_backward`, `lstm_backward`, `lstm_step_backward`)\n")
    logits_all, _, (top, layer_caches, _, _) = lstm.model_forward(params, x, state)
    _, dlogits = lstm.softmax_loss(logits_all, y)                             # (T, 1, V)
    dh = dlogits @ params["Wy"].T                                             # (T, 1, H) from the decoder
    _, _, _, dWx0, dWh0, db0 = lstm.lstm_backward(dh, layer_caches[0])
    assert np.array_equal(dWx0, grads["Wx0"]) and np.array_equal(db0, grads["b0"])
    T, N = y.shape
    assert (T, N) == (17, 1)
    say(f"`softmax_loss` also returns dL/dlogits = (softmax - one_hot(target)) / (T N) = / {T * N} at each step (the")
    say(f"loss is a mean over T N = {T} x {N} positions); at step 0 and the true word that is")
    say(f"({p:.6f} - 1) / {T * N} = {dlogits[0, 0, target]:+.6f}, and +p/{T * N} at every other word.")
    say("Back through the decoder, each step's next_h gets dlogits_t @ Wy^T, and `lstm_backward` walks the steps")
    say("backwards, calling `lstm_step_backward` with what step t+1 sends back through Wh and the cell; at each")
    say("step it gives da_t, the gradient of the 16 pre-activations, and dWx0 sums x_t^T @ da_t over the steps.")
    reads = [t for t in range(len(y)) if ids[t] == w0]
    assert reads == [0]
    say("x_t is one-hot, so x_t^T @ da_t adds da_t to one row of dWx0, the row of the word id read at step t:")
    say(f"row {w0} sums da over the steps that read word id {w0}, here step 0 alone. So row {w0} of dWx0 is da_0:\n")
    say(f"    da_0 = dWx0[{w0}] = {row(dWx0[w0], 6)}\n")
    if not dWx0[w0, H:2 * H].any():
        say("The forget gate's four are exactly 0: df = dc * prev_c, and prev_c is the zero state at step 0.")
    never = next(k for k in range(V) if k not in set(int(i) for i in ids))
    say(f"A word the bar never reads, such as word id {never}, has a zero row (its first four entries: {row(grads['Wx0'][never, :4], 6)}).")
    say("`model_loss` returns all of these in a dict with the keys of params. Their sizes, as Euclidean")
    say("(Frobenius) norms, the square root of the sum of the squares of all entries (`np.linalg.norm`):")
    say(", ".join(f"|d{k}| = {np.linalg.norm(grads[k]):.4f}" for k in params) + ".\n")


def section_adam(say, s):
    """7. One Adam update of every weight, one worked out by hand."""
    ids, V, params, grads, w0 = s.ids, s.V, s.params, s.grads, s.w0
    say("## 7. One Adam update (`adam_update`)\n")
    key = max(params, key=lambda k: np.abs(grads[k]).max())                   # over every parameter
    at = np.unravel_index(np.argmax(np.abs(grads[key])), grads[key].shape)
    name = f"{key}[{', '.join(str(int(n)) for n in at)}]"
    lr, b1, b2, eps = 2e-3, 0.9, 0.999, 1e-8
    w, gw = params[key][at], grads[key][at]
    m1, v1 = (1 - b1) * gw, (1 - b2) * gw ** 2
    m_hat, v_hat = m1 / (1 - b1), v1 / (1 - b2)
    step = lr * m_hat / (math.sqrt(v_hat) + eps)
    say(f"Of all {sum(p.size for p in params.values())} weights, the one with the largest gradient is {name} = {w:+.6f},")
    say(f"with g = {gw:+.6f}. Adam's first update (t = 1, lr = 0.002, beta1 = 0.9, beta2 = 0.999, eps = 1e-8),")
    say("line by line as in Kingma & Ba's Algorithm 1:\n")
    say("```")
    say(f"m_1 = beta1 * 0 + (1 - beta1) * g        = {m1:+.8f}")
    say(f"v_1 = beta2 * 0 + (1 - beta2) * g^2      = {v1:.4e}")
    say(f"m^  = m_1 / (1 - beta1^1)               = {m_hat:+.8f}")
    say(f"v^  = v_1 / (1 - beta2^1)               = {v_hat:.4e}")
    say(f"step = lr * m^ / (sqrt(v^) + eps)       = {step:+.8f}")
    say(f"{name} - step".ljust(40) + f"= {w - step:+.8f}")
    say("```\n")
    new_params, opt = lstm.adam_update(params, grads, lstm.adam_init(params), lr=lr)
    moved = {k: np.abs(new_params[k] - params[k]) for k in params}          # how far each weight moved
    zero = {k: grads[k] == 0 for k in params}                                 # the weights with no gradient
    assert all(np.array_equal(moved[k] == 0, zero[k]) for k in params)       # they, and only they, stay put
    unread = V - len(set(int(i) for i in ids[:-1]))                           # words the bar never reads
    small = sum(int((moved[k][~zero[k]] < 0.99 * lr).sum()) for k in params)
    smallest = min(moved[k][~zero[k]].min() for k in params if (~zero[k]).any())
    n_zero = sum(int(z.sum()) for z in zero.values())
    assert n_zero == unread * 4 * H + int(zero["Wx0"][w0].sum())              # unread rows; row w0's zero quarter
    say(f"`adam_update` gives the same: {name} is now {new_params[key][at]:+.8f}. On the first step m^ = g and")
    say("v^ = g^2, so a weight moves by lr * |g| / (|g| + eps), against the sign of its gradient. Unless |g| is")
    say("tiny (below about 100 eps, 1e-6), that is almost exactly lr, whether the gradient is large or small. A")
    say(f"weight whose gradient is exactly zero does not move: here {n_zero} weights, the rows of Wx0 of the {unread}")
    say(f"words the bar never reads ({unread} x {4 * H}) and the forget gate's quarter of row {w0}. Of the others,")
    say(f"{small} moved by less than 0.99 lr (those with |g| < 99 eps, about 1e-6); the smallest move is {smallest:.8f}.\n")
    s.new_params = new_params


def section_sample(say, s):
    """8. One sampled word after the update."""
    new_params, w0, x0, prev_h, prev_c = s.new_params, s.w0, s.x0, s.prev_h, s.prev_c
    say("## 8. One sampled word (`lstm_step_forward`, `sample_word`, `sample`)\n")
    params = new_params
    next_h, _, _ = lstm.lstm_step_forward(x0, prev_h, prev_c, params["Wx0"], params["Wh0"], params["b0"])
    logits = (next_h @ params["Wy"] + params["by"])[0]                        # (V,)
    top = np.argsort(-logits)[:3]
    say(f"After the update, `lstm_step_forward` reads word id {w0} from the zero state, and the decoder gives the")
    say("logits for the next word. At diversity d (the sampling temperature) the probabilities are")
    say("softmax(logits / d):\n")
    say("| word | id | p at 1.0 | p at 0.5 |")
    say("|---|---:|---:|---:|")
    p1, p5 = (np.exp(logits / d - (logits / d).max()) for d in (1.0, 0.5))
    p1, p5 = p1 / p1.sum(), p5 / p5.sum()
    for i in top:
        say(f"| `{encoding.VOCAB[i]}` | {i} | {p1[i]:.6f} | {p5[i]:.6f} |")
    drawn = lstm.sample_word(logits, 1.0, np.random.default_rng(1337))
    sampled = lstm.sample(params, [w0], 1, 1.0, np.random.default_rng(1337))
    say(f"\n`sample_word(logits, 1.0, np.random.default_rng(1337))` draws word id {drawn} (`{encoding.VOCAB[drawn]}`), and")
    say(f"`sample(params, [{w0}], 1, 1.0, np.random.default_rng(1337))`, which does the same steps, returns {sampled}.")
    say("A trained model puts most of its probability on a few words; this one has learned one update's worth.")


if __name__ == "__main__":
    sys.stdout.write(page())
