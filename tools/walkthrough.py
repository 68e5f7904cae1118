"""Write docs/walkthrough.md: one bar of a demo groove on its way through the whole system.

    python tools/walkthrough.py > docs/walkthrough.md

Every number on that page is printed here, by the project's own functions, on a tiny seeded
model (1 layer of 4 units, the word alone as input, float64, untrained), so that each one can be
found and recomputed; tests/test_tools.py checks that the page is exactly what this prints.
"""
import math
import os
import sys

import mido
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
import encoding  # noqa: E402
import lstm_drums as M  # noqa: E402

SONG = os.path.join("data", "demo", "rock_8ths.mid")
H = 4                                                        # hidden units: small enough to print every gate
GM_NAMES = {35: "Acoustic Bass Drum", 36: "Bass Drum 1", 38: "Acoustic Snare", 42: "Closed Hi-Hat",
            46: "Open Hi-Hat", 49: "Crash Cymbal 1", 51: "Ride Cymbal 1"}   # (General MIDI 1's names)


def row(values, digits=4):
    """Numbers as a short inline list."""
    return "[" + ", ".join(f"{v:+.{digits}f}" for v in np.ravel(values)) + "]"


def page():
    out = []
    say = out.append
    say("# Walkthrough: one bar through the whole system\n")
    say("One bar of the demo's rock beat goes in as MIDI and comes out as a loss, its gradients, one Adam update")
    say("and a sampled word. The model is tiny and untrained (1 layer of H = 4 units, the word alone as input,")
    say("float64, seed 0) so that every number fits on the page; the real models differ only in size and in")
    say("the extra input columns of sections 6-8 of `lstm_drums.py`. Every number below is printed by")
    say("`python tools/walkthrough.py`, and a test checks that this page is exactly its output.\n")

    # 1. MIDI
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

    # 2. Words
    bars, feel, _ = encoding.encode_file(os.path.join(ROOT, SONG))
    words = encoding.bars_to_words(bars[:1])
    tokens = encoding.feel_to_tokens(feel[:1])
    say("## 2. Words and feel (`encoding.py`)\n")
    say("`midi_to_bars` cuts time into 16th-note steps; each step becomes a word, one character per drum class")
    say("(kick first, crash last), and `BAR` closes the bar. Beside each word, its feel: each hit's velocity")
    say("level (0-7) and its offset from the step in ninths of a step (`.` = no hit, `|` = under `BAR`).\n")
    say("| step | word | feel | step | word | feel |")
    say("|---:|---|---|---:|---|---|")
    cell = lambda token: "`\\|`" if token == "|" else f"`{token}`"    # (a pipe would end the table's cell)
    for t in range(0, 16, 2):
        say(f"| {t} | `{words[t]}` | {cell(tokens[t])} | {t + 1} | `{words[t + 1]}` | {cell(tokens[t + 1])} |")
    say(f"| 16 | `{words[16]}` | {cell(tokens[16])} | | | |\n")
    say("As a drum tab (`X` accent, `o` ghost note):\n")
    say("```\n" + encoding.bars_to_tab(bars[:1], feel[:1]) + "\n```\n")

    # 3. Ids and layer 0's input
    ids = encoding.to_ids(words + encoding.bars_to_words(bars[1:2])[:1])   # the bar, then the next bar's first word
    V = len(encoding.VOCAB)
    config = {"vocab_size": V, "hidden": H, "layers": 1, "inputs": "word", "forget_bias": 0.0}
    params = M.init_params(config, np.random.default_rng(0), np.float64)
    w0 = int(ids[0])
    say("## 3. Word ids and layer 0's input (`encoding.to_ids`, `lstm_drums.layer0_projection`)\n")
    say(f"The vocabulary has V = {V} words: a step word's id is its 9-bit mask read as a binary number, then")
    say(f"`BAR` = {encoding.BAR_ID} and `END` = {encoding.END_ID}. The bar's ids: {[int(i) for i in ids[:17]]}.\n")
    say(f"Step 0 reads word {w0} (`{words[0]}`, kick and crash). Its input x_0 is one-hot, {V} zeros with a")
    say(f"1 at column {w0}, so x_0 @ Wx0 is row {w0} of Wx0 (shape {params['Wx0'].shape}), and with the bias b0:\n")
    xa = M.layer0_projection(params["Wx0"], params["b0"], np.array([[w0]]), V)[0, 0]
    say(f"    Wx0[{w0}] + b0 = {row(xa)}\n")
    say("(16 = 4H numbers: the pre-activations of the input, forget, candidate and output gates, 4 each.)")
    lb = M.lookback_inputs(ids, encoding.BAR_ID, V)
    say(f"A model with look-back inputs also reads, at step 0, the row `lookback_inputs` gives: {lb[0].tolist()}")
    say(f"(the word, \"none\" = {V} one and two bars back, and the place of the next word, 1).\n")

    # 4. One LSTM step
    say("## 4. One LSTM step (`lstm_step_forward`)\n")
    h0, c0 = np.zeros((1, H)), np.zeros((1, H))
    a = xa[None].copy()
    h1, c1, tanh_c = np.empty((1, H)), np.empty((1, H)), np.empty((1, H))
    M.lstm_step_forward(a, h0, c0, params["Wh0"], h1, c1, tanh_c)
    say("The state starts at zero, so h_{-1} @ Wh adds nothing and a = x_0 @ Wx0 + b0. Then:\n")
    say("```")
    say(f"i = sigmoid(a[0:4])   = {row(a[0, :H])}   input gate")
    say(f"f = sigmoid(a[4:8])   = {row(a[0, H:2 * H])}   forget gate")
    say(f"g = tanh(a[8:12])     = {row(a[0, 2 * H:3 * H])}   candidate")
    say(f"o = sigmoid(a[12:16]) = {row(a[0, 3 * H:])}   output gate")
    say(f"c_0 = f * c_-1 + i * g = {row(c1)}")
    say(f"h_0 = o * tanh(c_0)    = {row(h1)}")
    say("```\n")

    # 5. The loss
    say("## 5. The loss (`cross_entropy`, `loss`)\n")
    logits = h1[0] @ params["Wy"] + params["by"]
    p = np.exp(logits - logits.max())
    p /= p.sum()
    target = int(ids[1])
    say(f"The decoder gives {V} logits, y = h_0 @ Wy + by; their softmax is the model's guess at word 1. The")
    say(f"true word 1 is {target} (`{encoding.VOCAB[target]}`, silence): p = {p[target]:.6f}, so this step's loss is")
    say(f"-ln p = {-math.log(p[target]):.4f} nats, close to ln V = {math.log(V):.4f}: an untrained model guesses")
    say("about uniformly. The loss of the chunk is the mean over its steps; here the bar's 17 words, each")
    say("predicting the next (T = 17 steps, N = 1 stream):\n")
    x, y = np.array(ids[:-1])[:, None], np.array(ids[1:])[:, None]             # (T, 1) each
    value, grads, _ = M.loss(params, x, y, M.zero_state(config, 1, np.float64))
    say(f"    loss = {value:.4f} nats/word\n")

    # 6. Gradients
    say("## 6. The gradients that flow back (`backward`, `lstm_backward`, `lstm_step_backward`)\n")
    logits_all, _, cache = M.forward(params, x, M.zero_state(config, 1, np.float64))
    _, dlogits = M.cross_entropy(logits_all, y)
    say("dL/dlogits = (softmax - one_hot(target)) / T at each step; at step 0 and the true word that is")
    say(f"({p[target]:.6f} - 1) / 17 = {dlogits[0, 0, target]:+.6f}, and +p/17 at every other word. Back through the")
    say("decoder, each step's h_t gets dlogits_t @ Wy^T, and `lstm_backward` walks the steps backwards, adding")
    say("what step t+1 sends back through Wh; at each step the gates' equations (the docstring of")
    say("`lstm_step_backward`) give da_t, the gradient of the 16 pre-activations. At step 0:\n")
    dh = dlogits @ params["Wy"].T                                             # (T, 1, H) from the decoder
    dxa, _, _, _ = M.lstm_backward(dh, cache.layer_caches[0])                 # (T, 1, 4H): da_t, as `backward`
    g = grads                                                                 # (all of them: `loss` above)
    say(f"    da_0 = {row(dxa[0, 0], 6)}\n")
    if not dxa[0, 0, H:2 * H].any():
        say("The forget gate's four are exactly 0: df = dc_0 * c_{-1}, and c_{-1} is zero at a song's first step.\n")
    say(f"Row {w0} of dWx0 sums da over the steps that read word {w0} (steps "
        f"{[t for t in range(len(x)) if ids[t] == w0]}): its first four entries are {row(g['Wx0'][w0, :4], 6)};")
    never = next(k for k in range(V) if k not in set(int(i) for i in ids))
    say(f"a word the bar never reads, such as {never}, has a zero row: {row(g['Wx0'][never, :4], 6)}.")
    say(f"The whole gradient's size: |dWx0| = {np.linalg.norm(g['Wx0']):.4f}, |dWh0| = {np.linalg.norm(g['Wh0']):.4f}, "
        f"|dWy| = {np.linalg.norm(g['Wy']):.4f}.\n")

    # 7. One Adam update
    say("## 7. One Adam update (`adam_step`)\n")
    j, k = np.unravel_index(np.argmax(np.abs(g["Wy"])), g["Wy"].shape)
    lr, b1, b2, eps = 2e-3, 0.9, 0.999, 1e-8
    w, gw = params["Wy"][j, k], g["Wy"][j, k]
    m1, v1 = (1 - b1) * gw, (1 - b2) * gw ** 2
    m_hat, v_hat = m1 / (1 - b1), v1 / (1 - b2)
    step = lr * m_hat / (math.sqrt(v_hat) + eps)
    say(f"The weight with the largest gradient is Wy[{j}, {k}] = {w:+.6f}, with g = {gw:+.6f}. Adam's first")
    say("update (t = 1, lr = 0.002, beta1 = 0.9, beta2 = 0.999, eps = 1e-8), line by line:\n")
    say("```")
    say(f"m_1 = beta1 * 0 + (1 - beta1) * g        = {m1:+.8f}")
    say(f"v_1 = beta2 * 0 + (1 - beta2) * g^2      = {v1:.4e}")
    say(f"m^  = m_1 / (1 - beta1^1)               = {m_hat:+.8f}")
    say(f"v^  = v_1 / (1 - beta2^1)               = {v_hat:.4e}")
    say(f"step = lr * m^ / (sqrt(v^) + eps)       = {step:+.8f}")
    say(f"Wy[{j}, {k}] - step                         = {w - step:+.8f}")
    say("```\n")
    opt = M.adam_init(params)
    M.adam_step(params, grads, opt, lr=lr)
    say(f"`adam_step` computes the same in the paper's folded form: Wy[{j}, {k}] is now {params['Wy'][j, k]:+.8f}.")
    say("On the first step m^ / sqrt(v^) = g / |g|, so every weight moves by about lr, in the direction")
    say("that lowers the loss, however large or small its gradient.\n")

    # 8. One sampled word
    say("## 8. One sampled word (`step`, `sample_word`)\n")
    logits, state = M.step(params, w0, M.zero_state(config, 1, np.float64))
    top = np.argsort(-logits)[:3]
    say(f"After the update, `step` reads word {w0} from a zero state and gives the logits for the next word. At")
    say("diversity d (the sampling temperature) the probabilities are softmax(logits / d):\n")
    say("| word | id | p at 1.0 | p at 0.5 |")
    say("|---|---:|---:|---:|")
    p1, p5 = (np.exp(logits / d - (logits / d).max()) for d in (1.0, 0.5))
    p1, p5 = p1 / p1.sum(), p5 / p5.sum()
    for i in top:
        say(f"| `{encoding.VOCAB[i]}` | {i} | {p1[i]:.6f} | {p5[i]:.6f} |")
    drawn = M.sample_word(logits, 1.0, np.random.default_rng(1337))
    say(f"\n`sample_word(logits, 1.0, np.random.default_rng(1337))` draws word {drawn} (`{encoding.VOCAB[drawn]}`).")
    say("A trained model puts most of its probability on a few words; this one has learned one update's worth.")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(page())
