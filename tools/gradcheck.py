"""Check every gradient of lstm_drums.py against centred differences, in float64.

    python tools/gradcheck.py            # the plain core, then the full model of each input kind
    python tools/gradcheck.py --broken   # the same with the step backward 1% wrong: see a failure

What it does, on tiny models (V = 7 words, H = 5 units, L = 2 layers, N = 3 streams, T = 4
steps, dropout with a fixed mask): first the plain core of sections 1-5 (model_loss, the word
as a one-hot row), then the fast model train.py runs (loss), for each input kind (the word
alone; with look-back inputs and the feel head's memory), with the feel head and the style and
fill inputs, and last the form head of section 12 (form_loss, on 6 bar lines of random facts):

  1. the loss and every gradient (forward, then the hand-written backward);
  2. each weight w nudged by +h and -h in turn (h = 1e-5): dL/dw ~ (L(w + h) - L(w - h)) / 2h;
  3. per parameter, the relative error of the whole gradient, ||analytic - numeric|| /
     (||analytic|| + ||numeric||), and the worst entry's error over the largest entry.

A correct backward gives about 1e-10 to 3e-8 here; a wrong chain-rule step gives 1e-3 or
more. Rewriting lstm_step_backward yourself (docs/coursework.md)? Run this after every change. Exit code 0 when
every relative error is below --tolerance (1e-6), 1 otherwise.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lstm_drums as lstm  # noqa: E402

V, H, L, N, T = 7, 5, 2, 3, 4


def tiny_problem(inputs, seed=0):
    """A tiny float64 model of one input kind with feel and styles (and with look-back, the feel
    memory), and one chunk of random data: returns (params, f) where f() is lstm_drums.loss(...) on it."""
    rng = np.random.default_rng(seed)
    model_config = {"vocab_size": V, "hidden": H, "layers": L, "dropout": 0.3, "forget_bias": 0.5, "inputs": inputs,
              "feel": True, "styles": ["funk", "jazz", "metal"], "fills": True, "feel_memory": inputs == "lookback"}
    params = lstm.init_model(model_config, rng, np.float64)
    state = (rng.normal(size=(L, N, H)), rng.normal(size=(L, N, H)))     # a state carried in from before
    if inputs == "word":
        x = rng.integers(0, V, (T, N))                                    # (T, N) word ids
    else:                                                                 # (T, N, 4) [w, back1, back2, place]
        x = np.stack([rng.integers(0, V, (T, N)), rng.integers(0, V + 1, (T, N)),
                      rng.integers(0, V + 1, (T, N)), rng.integers(0, lstm.MAX_POSITION + 1, (T, N))], axis=2)
    targets = rng.integers(0, V, (T, N))
    F = lstm.feel_input_size(inputs)
    feel_ids = np.concatenate([rng.integers(0, 8, (T, N, F // 2)), rng.integers(0, 9, (T, N, F // 2))], axis=2)
    feel_ids = np.where(rng.random(feel_ids.shape) < 0.5, -1, feel_ids)   # about half the classes play
    levels = np.concatenate([rng.integers(0, 8, (T, N, 9)), rng.integers(0, 9, (T, N, 9))], axis=2)
    plays = rng.random((T, N, 9)) < 0.5
    levels = np.where(np.concatenate([plays, plays], axis=2), levels, -1)  # the next words' hits' levels
    feel = (lstm.feel_inputs(feel_ids[..., :F] if inputs == "lookback" else feel_ids[..., :18], np.float64), levels)
    if model_config["feel_memory"]:                                       # each drum's last two levels, (T, N, 36)
        feel += (lstm.feel_memory(feel_ids[..., :18].reshape(T * N, 18)).reshape(T, N, 36),)
    cond_x = lstm.condition_inputs(rng.integers(-1, 3, (T, N)), rng.integers(0, 2, (T, N)), model_config, np.float64)
    masks = lstm.make_dropout_masks(model_config, T, N, rng, np.float64)
    return params, lambda: lstm.loss(params, x, targets, state, masks, feel, 1.0, cond_x)


def plain_problem(seed=0):
    """The plain core's tiny problem: model_loss on one-hot words, float64, with dropout."""
    rng = np.random.default_rng(seed)
    model_config = {"vocab_size": V, "hidden": H, "layers": L, "dropout": 0.3, "forget_bias": 0.5}
    params = lstm.init_params(model_config, rng, np.float64)
    state = (rng.normal(size=(L, N, H)), rng.normal(size=(L, N, H)))
    x = lstm.one_hot(rng.integers(0, V, (T, N)), V, np.float64)          # (T, N, V)
    targets = rng.integers(0, V, (T, N))
    masks = lstm.make_dropout_masks(model_config, T, N, rng, np.float64)
    return params, lambda: lstm.model_loss(params, x, targets, state, masks)


def form_problem(seed=0):
    """The form head's tiny problem: 6 bar lines of H-wide outputs, up to 4 candidates each (the
    bar just played always one), random facts, places, crashes and targets among each line's choices."""
    rng = np.random.default_rng(seed)
    E, K = 6, 4
    h, place = rng.normal(size=(E, H)), rng.integers(0, lstm.FORM_PLACES, E)
    facts = rng.integers(0, 2, (E, K, lstm.FORM_FACTS)).astype(np.float64)
    bins = rng.integers(-1, len(lstm.DISTANCE_BINS), (E, K))
    bins[:, 0] = 0
    target = np.array([rng.choice([0, 1] + [2 + k for k in range(K) if bins[e, k] >= 0]) for e in range(E)])
    params = {"Fw": rng.normal(size=(H, lstm.FORM_LOGITS)), "fb": rng.normal(size=lstm.FORM_LOGITS),
              "fa": rng.normal(size=lstm.FORM_FACTS), "fp": rng.normal(size=lstm.FORM_PLACES),
              "fc": rng.normal(size=1)}
    crashed = rng.integers(0, 2, E).astype(np.float64)
    return params, lambda: (*lstm.form_loss(params, h, facts, bins, place, crashed, target), None)


def numerical_gradient(f, w, h=1e-5, entries=None):
    """Centred differences of the scalar f()[0] with respect to every entry of w (nudged in place,
    restored), or only the given entries (a list of index tuples; the others stay 0)."""
    grad = np.zeros_like(w)
    for ix in np.ndindex(w.shape) if entries is None else entries:
        old = w[ix]
        w[ix] = old + h
        plus = f()[0]
        w[ix] = old - h
        minus = f()[0]
        w[ix] = old
        grad[ix] = (plus - minus) / (2 * h)
    return grad


def some_memory_entries(Wf, n=1500, seed=0):
    """The feel head with memory has 306 x 153 weights for the memory alone, too many to nudge
    one by one in a tool you rerun: every entry of the rows for the state and the word's bits,
    and n random entries of the memory's rows."""
    rows = H + lstm.N_CLASSES
    rng = np.random.default_rng(seed)
    some = rng.choice((Wf.shape[0] - rows) * Wf.shape[1], n, replace=False)
    return list(np.ndindex(rows, Wf.shape[1])) + [(rows + i // Wf.shape[1], i % Wf.shape[1]) for i in some]


def check(inputs, log=print):
    """Check the plain core (inputs "plain"), one input kind, or the form head ("form"); returns
    {parameter: relative error}."""
    problem = {"plain": plain_problem, "form": form_problem}.get(inputs, lambda: tiny_problem(inputs))
    params, f = problem()
    _, grads, _ = f()
    errors = {}
    title = {"plain": "the plain core", "form": "the form head"}.get(inputs, f"inputs {inputs!r}")
    log(f"{title}: {sum(p.size for p in params.values())} weights")
    log(f"  {'parameter':<10} {'shape':>12} {'relative error':>15} {'worst entry':>12}")
    for name, w in params.items():
        entries = some_memory_entries(w) if name == "Wf" and w.shape[0] > H + lstm.N_CLASSES else None
        numeric, analytic = numerical_gradient(f, w, entries=entries), grads[name]
        if entries is not None:                             # compare only the entries checked
            at = tuple(np.array(entries).T)
            numeric, analytic = numeric[at], analytic[at]
        rel = np.linalg.norm(analytic - numeric) / max(np.linalg.norm(analytic) + np.linalg.norm(numeric), 1e-300)
        worst = np.abs(analytic - numeric).max() / max(np.abs(numeric).max(), 1e-300)
        errors[name] = float(rel)
        log(f"  {name:<10} {str(w.shape):>12} {rel:15.2e} {worst:12.2e}")
    return errors


def break_backward():
    """Make the step backward 1% wrong (its dWh scaled by 1.01 in the plain form, its da_t in the
    fast form), as a slip in a rewrite would."""
    right, right_fast = lstm.lstm_step_backward, lstm.lstm_step_backward_fast

    def wrong(dnext_h, dnext_c, cache):
        dx, dprev_h, dprev_c, dWx, dWh, db = right(dnext_h, dnext_c, cache)
        return dx, dprev_h, dprev_c, dWx, dWh * 1.01, db

    def wrong_fast(dh, dc, gates, *rest):
        right_fast(dh, dc, gates, *rest)
        gates *= 1.01                                       # on exit, gates holds da_t
    lstm.lstm_step_backward, lstm.lstm_step_backward_fast = wrong, wrong_fast


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tolerance", type=float, default=1e-6, help="the largest relative error that passes")
    p.add_argument("--broken", action="store_true", help="check a deliberately wrong lstm_step_backward")
    args = p.parse_args(argv)
    if args.broken:
        break_backward()
    worst = {}
    for inputs in ("plain",) + lstm.INPUT_KINDS + ("form",):
        for name, rel in check(inputs).items():
            worst[name] = max(worst.get(name, 0.0), rel)
    name = max(worst, key=worst.get)
    ok = worst[name] < args.tolerance
    print(f"worst: {name} {worst[name]:.2e}: " + ("every gradient agrees" if ok else
                                                  f"above {args.tolerance:g}, the backward is wrong"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
