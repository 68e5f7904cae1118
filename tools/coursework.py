"""Coursework that grades itself: blank the textbook LSTM's functions for a student, then grade them.

    python tools/coursework.py blank --out COPY                       # the teacher: a student's copy
    python tools/coursework.py blank --out COPY --exercises lstm_step_backward,lstm_backward
    python tools/coursework.py grade COPY                             # the student (in COPY: grade .)
    python tools/coursework.py grade COPY --quick --json report.json  # no training; a report for a script
    python tools/coursework.py grade --reference                      # the repository's own answers pass

`blank` writes a runnable folder (lstm_drums.py, encoding.py, train.py, generate.py, the demo
grooves) in which each chosen function of lstm_drums.py sections 1-5 keeps its signature and
docstring, its contract, and has the body `raise NotImplementedError("exercise: ...")`; the
rest of the file is unchanged, byte for byte, except that the fast twins (section 6) of the
blanked backward functions, softmax_loss and adam_update are withheld the same way: train.py
--plain and generate.py never call them. It adds this grader (without the teacher's part
below) as tools/coursework.py and the numbers it grades against as tools/coursework.json: the
reference's outputs on fixed inputs, and the outputs of each common mistake (its fingerprint).
The copy holds no answer, only numbers.

`grade` imports COPY/lstm_drums.py and checks each exercise in the order a student does them,
on fixed float64 inputs (small shapes, linspace-like values): the outputs' shapes and values
against the reference's (CS231n's relative error), every output of a backward function (and
of the loss) against centred differences, that no input is changed, and that float32 inputs
give float32 outputs. A wrong output that matches a mistake's fingerprint is named. Then, end
to end (skipped with --quick): the student's functions overfit one tiny batch, train.py
--plain trains a small model on the demo grooves with them and must beat the baselines it
prints, and generate.py plays the checkpoint to out/coursework/coursework.wav.

Exit codes: 0 every check passed; 1 an exercise is wrong or not done, or an end-to-end stage
failed; 2 bad usage (a folder without lstm_drums.py, a copy without its numbers). The teacher's
copy of this file recomputes the numbers from the repository's lstm_drums.py (a student cannot
change them); the student's copy reads tools/coursework.json. docs/coursework.md: for teachers.
"""
import argparse
import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import types
import wave

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUMBERS = os.path.join("tools", "coursework.json")        # inside the graded folder
FORMAT = 1                                                 # of the numbers file
VALUE_TOL = 1e-7                                           # elementwise relative error, outputs vs expected
GRAD_TOL = 1e-6                                            # norm relative error, backward vs centred differences

# ----------------------------------------------------------------------------
# 1. The exercises, in the order a student does them: (one-line contract, what must pass first)

EXERCISES = {
    "softmax_loss": ("(logits (T, N, V), y (T, N)) -> the loss averaged over T*N, and dlogits (T, N, V)", ()),
    "lstm_step_forward": ("(x (N, D), prev_h, prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,)) -> next_h, next_c "
                          "(N, H), cache; the gates in the order i, f, g, o", ()),
    "lstm_step_backward": ("(dnext_h, dnext_c (N, H), cache) -> dx (N, D), dprev_h, dprev_c (N, H), dWx (D, 4H), "
                           "dWh (H, 4H), db (4H,)", ("lstm_step_forward",)),
    "lstm_forward": ("(x (T, N, D), h0, c0 (N, H), Wx, Wh, b) -> h, c (T, N, H) and the caches, the state carried "
                     "from step to step", ("lstm_step_forward",)),
    "lstm_backward": ("(dh (T, N, H), cache) -> dx (T, N, D), dh0, dc0 (N, H), and dWx, dWh, db summed over the "
                      "steps", ("lstm_forward", "lstm_step_backward")),
    "model_backward": ("(dlogits (T, N, V), cache) -> grads, a dict with the keys of params",
                       ("lstm_forward", "lstm_backward")),
    "adam_update": ("(params, grads, opt, lr, beta1, beta2, eps) -> new params, new opt: Kingma & Ba's Algorithm 1, "
                    "with bias correction", ()),
}

# What the grader says when it knows why, beyond a fingerprint.
NOT_FINITE_HINT = {"softmax_loss": "exp overflows for large logits; subtract each row's max before exp "
                                   "(the softmax does not change)"}


class UsageError(Exception):
    """A command that cannot run: the one line printed, exit code 2."""


class SetupError(Exception):
    """The teacher's list of mistakes no longer fits the reference: the one line printed, exit code 1."""


class Wrong(Exception):
    """A student's function broke its contract (not a value): the one line in the table."""


# ----------------------------------------------------------------------------
# 2. Fixed inputs: linspace-like values in a scrambled order, the same numbers on every machine

def fixed(shape, lo, hi, k=0, dtype=np.float64):
    """An array of `shape` with values spread evenly over [lo, hi), in a golden-ratio order (so
    no two rows or gates are alike); k picks another order. Pure arithmetic, no random numbers."""
    n = int(np.prod(shape))
    u = (np.arange(n) * 0.6180339887498949 + 0.3819660112501051 * k) % 1.0   # (n,) in [0, 1)
    return (lo + (hi - lo) * u).reshape(shape).astype(dtype)


def fixed_ids(shape, V, k=1):
    """Word ids (shape) in 0..V-1, every id used."""
    return ((np.arange(int(np.prod(shape))) * 3 + k) % V).reshape(shape)


def one_hot(ids, V, dtype):
    return np.eye(V, dtype=dtype)[ids]                       # (..., V)


# ----------------------------------------------------------------------------
# 3. Running a student's function: inputs watched, outputs unpacked

def snapshot(obj):
    """A deep copy of the arrays inside tuples, lists and dicts (anything else as it is)."""
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, (tuple, list)):
        return type(obj)(snapshot(v) for v in obj)
    if isinstance(obj, dict):
        return {k: snapshot(v) for k, v in obj.items()}
    return obj


def unchanged(before, after):
    """Whether `after` still holds `before`'s values (NaN equal to NaN)."""
    if isinstance(before, np.ndarray):
        return (isinstance(after, np.ndarray) and before.shape == after.shape
                and np.array_equal(before, after, equal_nan=before.dtype.kind == "f"))
    if isinstance(before, (tuple, list)):
        return len(before) == len(after) and all(unchanged(b, a) for b, a in zip(before, after))
    if isinstance(before, dict):
        return before.keys() == after.keys() and all(unchanged(before[k], after[k]) for k in before)
    if isinstance(before, (int, float, str)):                # opt["t"], say
        return type(after) is type(before) and (before == after or before != before and after != after)
    return True


def call(mod, name, args, watched, n_out=None):
    """mod.name(*args.values()) with np.errstate quiet; returns (result, the names of the args it
    changed in place). watched: the names to check; n_out: the number of values it must return."""
    before = {k: snapshot(args[k]) for k in watched}
    with np.errstate(all="ignore"):
        result = getattr(mod, name)(*args.values())
    changed = [k for k in watched if not unchanged(before[k], args[k])]
    if n_out is not None and not (isinstance(result, (tuple, list)) and len(result) == n_out):
        got = f"{len(result)} values" if isinstance(result, (tuple, list)) else f"a {type(result).__name__}"
        raise Wrong(f"{name} returns {got}; the contract is {n_out} values: {EXERCISES[name][0].split('-> ')[1]}")
    return result, changed


def arrays(name, names, values):
    """The named outputs as arrays (a Python float becomes a 0-d array); Wrong if one is not a number."""
    out = {}
    for key, v in zip(names, values):
        if not isinstance(v, (np.ndarray, float, int, np.floating, np.integer)) or isinstance(v, bool):
            raise Wrong(f"{name} returns {key} as a {type(v).__name__}, not an array or a number")
        out[key] = np.asarray(v)
    return out


# ----------------------------------------------------------------------------
# 4. The probes: each exercise on fixed inputs -> {output name: array}, and the inputs it changed.
#    N = 3 streams, D = 5 inputs, H = 4 units, T = 3 steps, V = 5 words.

N, D, H, T, V = 3, 5, 4, 3, 5


def step_inputs(dtype, k=0):
    """x (N, D), prev_h, prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,)."""
    return {"x": fixed((N, D), -1.0, 1.0, k, dtype), "prev_h": fixed((N, H), -0.6, 0.8, k + 1, dtype),
            "prev_c": fixed((N, H), -1.2, 1.0, k + 2, dtype), "Wx": fixed((D, 4 * H), -0.7, 0.6, k + 3, dtype),
            "Wh": fixed((H, 4 * H), -0.5, 0.7, k + 4, dtype), "b": fixed((4 * H,), -0.3, 0.4, k + 5, dtype)}


def seq_inputs(dtype):
    """x (T, N, D), h0, c0 (N, H), Wx, Wh, b."""
    s = step_inputs(dtype, k=7)
    return {"x": fixed((T, N, D), -1.0, 1.0, 6, dtype), "h0": s["prev_h"], "c0": s["prev_c"],
            "Wx": s["Wx"], "Wh": s["Wh"], "b": s["b"]}


def probe_softmax_loss(mod, dtype):
    logits = fixed((T, N, V), -2.0, 2.5, 0, dtype)
    y = fixed_ids((T, N), V)
    args = {"logits": logits, "y": y}
    out, changed = call(mod, "softmax_loss", args, ["logits", "y"], 2)
    big, changed_big = call(mod, "softmax_loss", {"logits": logits + dtype(800.0), "y": y}, [], 2)
    return arrays("softmax_loss", ("loss", "dlogits", "loss (logits + 800)", "dlogits (logits + 800)"),
                  tuple(out) + tuple(big)), changed


def probe_lstm_step_forward(mod, dtype):
    args = step_inputs(dtype)
    out, changed = call(mod, "lstm_step_forward", args, list(args), 3)
    return arrays("lstm_step_forward", ("next_h", "next_c"), out[:2]), changed


def step_upstream(dtype):
    return fixed((N, H), -1.0, 1.2, 11, dtype), fixed((N, H), -0.8, 0.9, 12, dtype)   # dnext_h, dnext_c


def probe_lstm_step_backward(mod, dtype):
    (_, _, cache), _ = call(mod, "lstm_step_forward", step_inputs(dtype), [], 3)
    dnext_h, dnext_c = step_upstream(dtype)
    args = {"dnext_h": dnext_h, "dnext_c": dnext_c, "cache": cache}
    out, changed = call(mod, "lstm_step_backward", args, list(args), 6)
    return arrays("lstm_step_backward", ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"), out), changed


def probe_lstm_forward(mod, dtype):
    args = seq_inputs(dtype)
    out, changed = call(mod, "lstm_forward", args, list(args), 3)
    return arrays("lstm_forward", ("h", "c"), out[:2]), changed


def probe_lstm_backward(mod, dtype):
    (_, _, cache), _ = call(mod, "lstm_forward", seq_inputs(dtype), [], 3)
    args = {"dh": fixed((T, N, H), -1.0, 1.0, 13, dtype), "cache": cache}
    out, changed = call(mod, "lstm_backward", args, list(args), 6)
    return arrays("lstm_backward", ("dx", "dh0", "dc0", "dWx", "dWh", "db"), out), changed


def model_inputs(dtype):
    """A 2-layer model of H = 4 units on V = 5 words, with dropout masks: params, x, state, masks, dlogits."""
    params = {}
    for l in range(2):
        params[f"Wx{l}"] = fixed((V if l == 0 else H, 4 * H), -0.6, 0.6, 20 + 3 * l, dtype)
        params[f"Wh{l}"] = fixed((H, 4 * H), -0.5, 0.5, 21 + 3 * l, dtype)
        params[f"b{l}"] = fixed((4 * H,), -0.2, 0.3, 22 + 3 * l, dtype)
    params["Wy"], params["by"] = fixed((H, V), -0.8, 0.8, 30, dtype), fixed((V,), -0.1, 0.2, 31, dtype)
    x = one_hot(fixed_ids((T, N), V, 2), V, dtype)                               # (T, N, V)
    state = (fixed((2, N, H), -0.5, 0.5, 32, dtype), fixed((2, N, H), -0.9, 0.9, 33, dtype))
    masks = [(fixed((T, N, H), 0, 1, 34 + l) >= 0.3).astype(dtype) / dtype(0.7) for l in range(2)]
    return params, x, state, masks, fixed((T, N, V), -0.2, 0.2, 36, dtype)


def probe_model_backward(mod, dtype):
    params, x, state, masks, dlogits = model_inputs(dtype)
    (_, _, cache), _ = call(mod, "model_forward", {"params": params, "x": x, "state": state, "masks": masks}, [], 3)
    args = {"dlogits": dlogits, "cache": cache}
    grads, changed = call(mod, "model_backward", args, list(args))
    if not isinstance(grads, dict) or set(grads) != set(params):
        keys = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
        raise Wrong(f"model_backward returns {keys}; the contract is a dict with the keys of params {sorted(params)}")
    return arrays("model_backward", sorted(params), [grads[k] for k in sorted(params)]), changed


def adam_inputs(dtype):
    params = {"W": fixed((3, 4), -1.0, 1.0, 40, dtype), "b": fixed((4,), -0.5, 0.5, 41, dtype)}
    grads = [{"W": fixed((3, 4), -0.9, 1.1, 42 + s, dtype), "b": fixed((4,), -0.3, 0.2, 44 + s, dtype)} for s in (0, 1)]
    opt = {"m": {k: np.zeros_like(p) for k, p in params.items()},
           "v": {k: np.zeros_like(p) for k, p in params.items()}, "t": 0}
    return params, grads, opt


def probe_adam_update(mod, dtype):
    """Two updates in a row, the second from the first's returned params and opt; hyperparameters
    away from the defaults (a large eps shows where it goes)."""
    params, grads, opt = adam_inputs(dtype)
    hyper = {"lr": 0.01, "beta1": 0.8, "beta2": 0.95, "eps": 1e-3}
    outputs, changed = {}, []
    for step in (1, 2):
        args = dict({"params": params, "grads": grads[step - 1], "opt": opt}, **hyper)
        (params, opt), changed_now = call(mod, "adam_update", args, ["params", "grads", "opt"], 2)
        changed += [c for c in changed_now if c not in changed]
        if not (isinstance(params, dict) and isinstance(opt, dict) and {"m", "v", "t"} <= set(opt)):
            raise Wrong("adam_update returns something other than (a params dict, an opt dict with m, v and t)")
        for k in ("W", "b"):                                # copies: a second update may write into them
            outputs[f"{k} after {step}"] = snapshot(params[k])
            outputs[f"m[{k}] after {step}"] = snapshot(opt["m"][k])
            outputs[f"v[{k}] after {step}"] = snapshot(opt["v"][k])
        outputs[f"t after {step}"] = opt["t"]
    names = list(outputs)
    return arrays("adam_update", names, [outputs[k] for k in names]), changed


PROBES = {name: globals()["probe_" + name] for name in EXERCISES}


# ----------------------------------------------------------------------------
# 5. Centred differences: every output of a backward function (and of the loss), float64

def numerical_gradient(f, w, h=1e-5):
    """d f() / d w by centred differences; w is nudged in place and restored."""
    grad = np.zeros_like(w)
    for ix in np.ndindex(w.shape):
        old = w[ix]
        w[ix] = old + h
        plus = f()
        w[ix] = old - h
        minus = f()
        w[ix] = old
        grad[ix] = (plus - minus) / (2 * h)
    return grad


def grad_error(analytic, numeric):
    """tools/gradcheck.py's measure: ||a - n|| / (||a|| + ||n||)."""
    a = np.asarray(analytic, dtype=np.float64)
    if a.shape != numeric.shape:
        return float("inf")
    return float(np.linalg.norm(a - numeric) / max(np.linalg.norm(a) + np.linalg.norm(numeric), 1e-300))


def gradcheck_softmax_loss(mod):
    logits, y = fixed((T, N, V), -2.0, 2.5, 0), fixed_ids((T, N), V)
    _, dlogits = mod.softmax_loss(logits, y)
    return {"dlogits": grad_error(dlogits, numerical_gradient(lambda: mod.softmax_loss(logits, y)[0], logits))}


def gradcheck_lstm_step_backward(mod):
    s = step_inputs(np.float64)
    dnext_h, dnext_c = step_upstream(np.float64)

    def f():                                                 # a scalar whose gradient is the upstream's
        next_h, next_c, _ = mod.lstm_step_forward(*s.values())
        return np.sum(next_h * dnext_h) + np.sum(next_c * dnext_c)
    analytic = mod.lstm_step_backward(dnext_h, dnext_c, mod.lstm_step_forward(*s.values())[2])
    names = {"dx": "x", "dprev_h": "prev_h", "dprev_c": "prev_c", "dWx": "Wx", "dWh": "Wh", "db": "b"}
    return {d: grad_error(a, numerical_gradient(f, s[w])) for (d, w), a in zip(names.items(), analytic)}


def gradcheck_lstm_backward(mod):
    s = seq_inputs(np.float64)
    dh = fixed((T, N, H), -1.0, 1.0, 13)
    f = lambda: np.sum(mod.lstm_forward(*s.values())[0] * dh)
    analytic = mod.lstm_backward(dh, mod.lstm_forward(*s.values())[2])
    names = {"dx": "x", "dh0": "h0", "dc0": "c0", "dWx": "Wx", "dWh": "Wh", "db": "b"}
    return {d: grad_error(a, numerical_gradient(f, s[w])) for (d, w), a in zip(names.items(), analytic)}


def gradcheck_model_backward(mod):
    params, x, state, masks, dlogits = model_inputs(np.float64)
    f = lambda: np.sum(mod.model_forward(params, x, state, masks)[0] * dlogits)
    grads = mod.model_backward(dlogits, mod.model_forward(params, x, state, masks)[2])
    return {k: grad_error(grads[k], numerical_gradient(f, params[k])) for k in sorted(params)}


GRADCHECKS = {"softmax_loss": gradcheck_softmax_loss, "lstm_step_backward": gradcheck_lstm_step_backward,
              "lstm_backward": gradcheck_lstm_backward, "model_backward": gradcheck_model_backward}


# ----------------------------------------------------------------------------
# 6. Comparing outputs: with the reference's, and with each mistake's fingerprint

def rel_error(x, y):
    """CS231n's relative error: the largest |x - y| / max(1e-8, |x| + |y|), entry by entry."""
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))) if x.size else 0.0


def difference(got, want, tol=VALUE_TOL):
    """None when got matches want (same shape, non-finite entries in the same places, the rest
    within tol); else a few words on how it differs."""
    got = np.asarray(got, dtype=np.float64)
    if got.shape != want.shape:
        return f"has shape {got.shape}, expected {want.shape}"
    bad_got, bad_want = ~np.isfinite(got), ~np.isfinite(want)
    if (bad_got != bad_want).any() or not np.array_equal(got[bad_got], want[bad_want], equal_nan=True):
        return "is not finite (NaN or inf)" if bad_got.any() else "differs from the expected non-finite values"
    err = rel_error(got[~bad_got], want[~bad_want])
    return None if err < tol else f"differs from the expected values (relative error {err:.1e})"


def recognise(outputs, expected, mistakes):
    """The mistakes whose fingerprints the outputs show: a mistake is recognised when every output
    it changes (or, where it names them, its key outputs) matches its fingerprint. Returns the
    list of mistakes (dicts: id, message, outputs, key)."""
    found = []
    for m in mistakes:
        changes = [k for k in expected if difference(m["outputs"][k], expected[k]) is not None]
        if m.get("key"):                                     # a mistake made in several ways: its essence
            changes = [k for k in changes if k in m["key"]]
        if changes and all(k in outputs and difference(outputs[k], m["outputs"][k], 1e-6) is None for k in changes):
            found.append((set(changes), m))
    return [m for c, m in found if not any(c < other for other, _ in found)]   # the fullest explanations


# ----------------------------------------------------------------------------
# 7. Grading one exercise

def where(e, path):
    """' (in NAME, lstm_drums.py line L)' for the student's frame nearest the exception, or ''."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if os.path.abspath(f.filename) == path]
    return f" (in {frames[-1].name}, lstm_drums.py line {frames[-1].lineno})" if frames else ""


def grade_exercise(mod, path, name, numbers, results):
    """One exercise -> {name, status, message, mistakes, grad_errors}. status: passed, not done,
    wrong or blocked (a function it needs has not passed)."""
    result = {"name": name, "status": "passed", "message": "", "mistakes": [], "grad_errors": {}}
    waiting = [p for p in EXERCISES[name][1] if results.get(p, {}).get("status") != "passed"]
    if waiting:
        return dict(result, status="blocked", message=f"{name} needs {' and '.join(waiting)} to pass first")
    expected = numbers["expected"][name]
    try:
        outputs, changed = PROBES[name](mod, np.float64)
    except NotImplementedError as e:
        return dict(result, status="not done", message=f"not done yet: {e}")
    except Wrong as e:
        return dict(result, status="wrong", message=str(e))
    except Exception as e:                                   # the student's code: one line, never a traceback
        return dict(result, status="wrong", message=f"{name} raised {type(e).__name__}: {one_line(e)}{where(e, path)}")
    if name in GRADCHECKS:
        try:
            with np.errstate(all="ignore"):
                result["grad_errors"] = {k: round(v, 12) for k, v in GRADCHECKS[name](mod).items()}
        except Exception:                                    # reported through the values below
            result["grad_errors"] = {}
    problems = {k: difference(outputs[k], v) for k, v in expected.items()}
    problems = {k: p for k, p in problems.items() if p}
    if problems:
        found = recognise(outputs, expected, numbers["mistakes"].get(name, []))
        return dict(result, status="wrong", mistakes=[m["id"] for m in found],
                    message=wrong_values_message(name, problems, found, result["grad_errors"]))
    if changed:
        return dict(result, status="wrong", message=f"{name} changes its input {', '.join(changed)} in place: "
                    "the plain functions return new arrays and leave their arguments as they were")
    bad = {k: v for k, v in result["grad_errors"].items() if not v < GRAD_TOL}
    if name in GRADCHECKS and (bad or not result["grad_errors"]):
        return dict(result, status="wrong", message=f"{name}: {', '.join(bad) or 'the gradients'} disagree with "
                    "centred differences")
    try:                                                     # float32 in, float32 out: train.py runs in float32
        outputs32, _ = PROBES[name](mod, np.float32)
        widened = [k for k, v in outputs32.items() if v.dtype.kind == "f" and v.ndim and v.dtype != np.float32]
    except Exception as e:
        return dict(result, status="wrong", message=f"{name} fails on float32 inputs: {type(e).__name__}: "
                    f"{one_line(e)}{where(e, path)}")
    if widened:
        return dict(result, status="wrong", message=f"{name} returns {', '.join(widened)} as "
                    f"{outputs32[widened[0]].dtype} from float32 inputs: train.py runs in float32; make new arrays "
                    "with the inputs' dtype (np.zeros_like, or dtype=...)")
    return result


def wrong_values_message(name, problems, found, checked):
    """What to tell a student whose function gives wrong values: the mistakes recognised, else a
    hint for values that are not finite, else the first differences and what the gradient check says."""
    not_finite = [k for k, p in problems.items() if "not finite" in p]
    if found:
        return "; ".join(f"{name}: {m['message']}" for m in found)
    if not_finite and name in NOT_FINITE_HINT:
        return f"{name}: {', '.join(not_finite)} not finite (NaN or inf): {NOT_FINITE_HINT[name]}"
    message = f"{name}: " + "; ".join(f"{k} {p}" for k, p in list(problems.items())[:3])
    bad = [k for k, v in checked.items() if not v < GRAD_TOL]
    good = [k for k in checked if k not in bad]
    if bad:
        message += f"; against centred differences, {', '.join(bad)} disagree" + (
            f" ({', '.join(good)} agree)" if good else "")
    elif good:
        message += "; the gradients agree with centred differences of the function as written"
    return message


def one_line(e):
    text = " ".join(str(e).split())
    return text[:200] + ("..." if len(text) > 200 else "")


# ----------------------------------------------------------------------------
# 8. End to end: overfit one batch; train the demo with train.py --plain; play it with generate.py

TRAIN_ARGS = ["--plain", "--layers", "1", "--hidden", "64", "--dropout", "0", "--steps", "600",
              "--eval-every", "200", "--log-every", "100", "--seed", "1337", "--threads", "1"]


def overfit(mod):
    """model_loss + clip_gradients + adam_update on one tiny batch (V = 8, 2 x 16, T = 12, N = 2),
    float32, seeded: the loss must fall below a quarter of where it starts."""
    rng = np.random.default_rng(0)
    model_config = {"vocab_size": 8, "hidden": 16, "layers": 2, "forget_bias": 1.0}
    params = mod.init_params(model_config, rng, np.float32)
    opt = mod.adam_init(params)
    ids = rng.integers(0, 8, (13, 2))                        # (T + 1, N)
    x, y = mod.one_hot(ids[:-1], 8, np.float32), ids[1:]
    losses = []
    with np.errstate(all="ignore"):
        for _ in range(150):
            loss, grads, _ = mod.model_loss(params, x, y, mod.zero_state(model_config, 2, np.float32))
            grads, _ = mod.clip_gradients(grads, 5.0)
            params, opt = mod.adam_update(params, grads, opt, lr=1e-2)
            losses.append(float(loss))
    first, last = losses[0], min(losses[-10:])
    ok = np.isfinite(losses).all() and last < 0.25 * first
    message = f"loss {first:.3f} -> {last:.3f} in 150 steps" + ("" if ok else ", not below a quarter of the start")
    return ok, message, {"first_loss": round(first, 4), "last_loss": round(last, 4)}


def run_script(folder, args, timeout):
    """python SCRIPT ARGS in folder, one BLAS thread. Returns (return code, stdout, stderr's last line)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    try:
        p = subprocess.run([sys.executable] + args, cwd=folder, env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, "", f"{args[0]} took longer than {timeout} s"
    lines = p.stderr.strip().splitlines()
    return p.returncode, p.stdout, lines[-1] if lines else ""


def last_json(stdout):
    """The script's last line, one JSON object, or None."""
    lines = stdout.strip().splitlines()
    try:
        value = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def train_demo(folder, work):
    """train.py --plain on the demo grooves: the best validation figure must beat both baselines."""
    code, out, err = run_script(folder, ["train.py"] + TRAIN_ARGS + ["--out", os.path.join(work, "run")], 300)
    summary = last_json(out)
    if code != 0 or summary is None:
        return False, f"train.py --plain failed (exit {code}): {err or 'no JSON summary'}", {}, None
    found = re.search(r"baselines on the validation songs: (.*) nats/word", out)
    baselines = {k: float(v) for k, v in re.findall(r"([a-z][a-z ]*?) (\d+\.\d+)", found.group(1))} if found else {}
    val = summary.get("best_val_nats_per_word")
    figures = {"val_nats_per_word": val, "baselines": baselines, "steps": summary.get("steps")}
    if not baselines or not isinstance(val, (int, float)):
        return False, "train.py printed no validation figure or baselines", figures, None
    ok = val < min(baselines.values())
    text = ", ".join(f"{k} {v:.4f}" for k, v in baselines.items())
    message = f"validation {val:.4f} nats/word after {summary.get('steps')} steps; baselines {text}"
    return ok, message + ("" if ok else ": the model does not beat both baselines"), figures, summary["checkpoint"]


def play(folder, work, checkpoint):
    """generate.py plays the checkpoint; the WAV must have sound. Copies it to out/coursework/."""
    code, out, err = run_script(folder, ["generate.py", checkpoint, "--out", os.path.join(work, "out"),
                                         "--diversity", "1.0", "--bars", "8", "--seed", "1"], 120)
    summary = last_json(out)
    if code != 0 or summary is None or not summary.get("outputs"):
        return False, f"generate.py failed (exit {code}): {err or 'no JSON summary'}", {}
    track = summary["outputs"][0]
    try:
        with wave.open(track["wav"], "rb") as w:
            frames, rate, width = w.readframes(w.getnframes()), w.getframerate(), w.getsampwidth()
    except (OSError, wave.Error, KeyError) as e:
        return False, f"generate.py wrote no readable WAV: {one_line(e)}", {}
    samples = np.frombuffer(frames, dtype=np.int16).astype(np.float64) if width == 2 else np.zeros(0)
    peak = float(np.abs(samples).max()) / 32768 if samples.size else 0.0
    seconds = samples.size / max(rate, 1)
    if peak < 0.01:
        return False, f"the WAV generate.py wrote is silent ({seconds:.1f} s, peak {peak:.4f})", {}
    keep = os.path.join(folder, "out", "coursework")
    os.makedirs(keep, exist_ok=True)
    for kind in ("wav", "mid", "txt"):
        shutil.copyfile(track[kind], os.path.join(keep, "coursework." + kind))
    shutil.copyfile(checkpoint, os.path.join(keep, "best.npz"))
    wav = os.path.join(keep, "coursework.wav")
    return True, f"{wav}: {seconds:.1f} s, {track.get('bars')} bars, peak {peak:.2f}; listen to it", {"wav": wav}


def end_to_end(mod, folder):
    """The three stages, each a row: {name, status, message, figures}."""
    rows = []
    try:
        ok, message, figures = overfit(mod)
    except Exception as e:
        ok, message, figures = False, f"{type(e).__name__}: {one_line(e)}{where(e, mod.__file__)}", {}
    rows.append({"name": "overfit one batch", "status": "passed" if ok else "wrong", "message": message,
                 "figures": figures})
    if not ok:
        return rows
    with tempfile.TemporaryDirectory(prefix="coursework-") as work:
        ok, message, figures, checkpoint = train_demo(folder, work)
        rows.append({"name": "train the demo", "status": "passed" if ok else "wrong", "message": message,
                     "figures": figures})
        if checkpoint:                                       # a model that trained is worth hearing, even if weak
            ok_play, message, figures = play(folder, work, checkpoint)
            rows.append({"name": "play it", "status": "passed" if ok_play else "wrong", "message": message,
                         "figures": figures})
    return rows


# ----------------------------------------------------------------------------
# 9. The numbers: a copy's tools/coursework.json, or (the teacher's copy) the reference itself

def encode(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "values": [v if np.isfinite(v) else str(v) for v in a.ravel().tolist()]}


def decode(d):
    return np.array([float(v) for v in d["values"]], dtype=np.float64).reshape(d["shape"])


def numbers_to_json(numbers, exercises):
    return {"what": "lstm-drums coursework: the outputs tools/coursework.py grades against (no code)",
            "format": FORMAT, "exercises": list(exercises),
            "expected": {f: {k: encode(v) for k, v in outs.items()} for f, outs in numbers["expected"].items()},
            "mistakes": {f: [{"id": m["id"], "message": m["message"], "key": m["key"],
                              "outputs": {k: encode(v) for k, v in m["outputs"].items()}} for m in ms]
                         for f, ms in numbers["mistakes"].items()}}


def read_numbers(folder):
    """(numbers, the exercises blanked in this copy) from folder/tools/coursework.json; UsageError if absent."""
    path = os.path.join(folder, NUMBERS)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if data.get("format") != FORMAT:
            raise UsageError(f"{path}: made by another version of tools/coursework.py (format {data.get('format')})")
        numbers = {"expected": {f: {k: decode(v) for k, v in outs.items()} for f, outs in data["expected"].items()},
                   "mistakes": {f: [dict(m, outputs={k: decode(v) for k, v in m["outputs"].items()}) for m in ms]
                                for f, ms in data["mistakes"].items()}}
        if set(numbers["expected"]) != set(EXERCISES):
            raise UsageError(f"{path}: not the numbers of these exercises")
        return numbers, data["exercises"]
    except FileNotFoundError:
        raise UsageError(f"{path} is missing: grade a copy made by `tools/coursework.py blank`, or grade with the "
                         "teacher's tools/coursework.py") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise UsageError(f"{path}: unreadable ({type(e).__name__}: {one_line(e)})") from None


def load_module(path, name):
    """A lstm_drums.py by its path, as a new module (no bytecode written into the folder)."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    dont_write = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))   # its own folder's encoding.py, which it imports
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.dont_write_bytecode = dont_write
        sys.path.pop(0)
    return mod


TEACHER = False                                            # a student's copy: no reference, no blank

# ---- teacher only: begin (blank leaves this part out of the student's copy) ----
TEACHER = True

# Mistakes: (id, function, [(text in the reference's body, what the mistake writes instead)], message
# [, key outputs]). Each is applied to the reference's function alone, and its outputs on the probes
# are its fingerprint; key outputs, where given, are the ones that must match (a student who makes
# the mistake another way may differ in the rest).
MISTAKES = [
    ("softmax-sum", "softmax_loss", [("].mean()", "].sum()"), ("dlogits / (T * N)", "dlogits")],
     "the loss is summed over the T*N positions, not averaged (and dlogits is not divided by T*N)"),
    ("softmax-grad-not-divided", "softmax_loss", [("dlogits / (T * N)", "dlogits")],
     "dlogits is not divided by T*N: the loss is a mean over T*N positions, so its gradient is divided too"),
    ("softmax-mean-over-N", "softmax_loss", [("].mean()", "].sum() / N"), ("dlogits / (T * N)", "dlogits / N")],
     "the loss is averaged over N only (a per-sequence loss); it is the mean over all T*N positions"),
    ("softmax-no-minus-one", "softmax_loss", [("dlogits[t, n, y] -= 1.0", "dlogits[t, n, y] -= 0.0")],
     "dlogits is the softmax alone: the gradient of -log softmax also has -1 at the true word"),
    ("softmax-no-max", "softmax_loss", [("z = logits - logits.max(axis=2, keepdims=True)", "z = logits")],
     "overflows for large logits: subtract each row's max before exp (the softmax does not change)"),
    ("forward-gates-ifog", "lstm_step_forward",
     [("np.tanh(a[:, 2 * H:3 * H])", "np.tanh(a[:, 3 * H:4 * H])"), ("o = sigmoid(a[:, 3 * H:4 * H])",
                                                                      "o = sigmoid(a[:, 2 * H:3 * H])")],
     "the gates are read in the order i, f, o, g; the 4H block is i, f, g, o (PyTorch's order)"),
    ("forward-gates-fig", "lstm_step_forward",
     [("i = sigmoid(a[:, 0 * H:1 * H])", "i = sigmoid(a[:, 1 * H:2 * H])"),
      ("f = sigmoid(a[:, 1 * H:2 * H])", "f = sigmoid(a[:, 0 * H:1 * H])")],
     "the input and forget gates are swapped; the 4H block is i, f, g, o"),
    ("forward-g-sigmoid", "lstm_step_forward", [("g = np.tanh(", "g = sigmoid(")],
     "the candidate g uses sigmoid; it is tanh (it writes values in -1..1)"),
    ("forward-no-tanh-c", "lstm_step_forward", [("next_h = o * np.tanh(next_c)", "next_h = o * next_c")],
     "the tanh of the cell is missing in next_h: h_t = o * tanh(c_t), as at the top of the file"),
    ("forward-h-from-prev-c", "lstm_step_forward", [("next_h = o * np.tanh(next_c)", "next_h = o * np.tanh(prev_c)")],
     "next_h uses prev_c: the output shows the new cell, o * tanh(next_c)"),
    ("step-ignores-dnext-c", "lstm_step_backward", [("dc = dnext_c + dnext_h", "dc = dnext_h")],
     "dnext_c is ignored: dc carries dnext_c (from step t+1) plus what comes through h"),
    ("step-no-tanh-prime", "lstm_step_backward", [("dnext_h * o * (1 - tanh_c ** 2)", "dnext_h * o")],
     "tanh'(c) is missing in dc: the gradient through h = o * tanh(c) passes tanh's derivative"),
    ("step-sigmoid-prime-again", "lstm_step_backward",
     [("di * i * (1 - i)", "di * sigmoid(i) * (1 - sigmoid(i))"),
      ("df * f * (1 - f)", "df * sigmoid(f) * (1 - sigmoid(f))"),
      ("do * o * (1 - o)", "do * sigmoid(o) * (1 - sigmoid(o))")],
     "sigmoid' is taken as if the gate's output were its pre-activation: with s = sigmoid(a), "
     "sigmoid'(a) = s * (1 - s), not sigmoid(s) * (1 - sigmoid(s))"),
    ("step-tanh-prime-again", "lstm_step_backward", [("dg * (1 - g ** 2)", "dg * (1 - np.tanh(g) ** 2)")],
     "tanh' for g is taken as if g were its pre-activation: with g = tanh(a), tanh'(a) = 1 - g^2"),
    ("step-dprev-c-no-f", "lstm_step_backward", [("dprev_c = dc * f", "dprev_c = dc")],
     "dprev_c is missing the forget gate (c = f * prev_c + i * g)"),
    ("step-dwh-next-h", "lstm_step_backward", [("dWh = prev_h.T @ da", "dWh = (o * tanh_c).T @ da")],
     "dWh is computed from h_t (next_h), but the step's pre-activation reads h_{t-1} (prev_h)"),
    ("step-db-not-summed", "lstm_step_backward", [("db = da.sum(axis=0)", "db = da")],
     "db is not summed over the batch: b is added to every row of the batch, and db has b's shape (4H,)"),
    ("step-db-mean", "lstm_step_backward", [("db = da.sum(axis=0)", "db = da.mean(axis=0)")],
     "db is averaged over the batch; it is summed (the loss already averages, in softmax_loss)"),
    ("step-gates-ifog", "lstm_step_backward", [("dg * (1 - g ** 2),", "do * o * (1 - o),"),
                                               ("do * o * (1 - o)]", "dg * (1 - g ** 2)]")],
     "the gates' gradients are put together in the order i, f, o, g; the 4H block is i, f, g, o"),
    ("step-di-dg-swapped", "lstm_step_backward", [("di = dc * g", "di = dc * i"), ("dg = dc * i", "dg = dc * g")],
     "di and dg are swapped (in c = f * prev_c + i * g, see which factor goes with which)"),
    ("step-df-next-c", "lstm_step_backward", [("df = dc * prev_c", "df = dc * next_c")],
     "df uses next_c, but in c = f * prev_c + i * g the forget gate multiplies prev_c"),
    ("seq-state-not-carried", "lstm_forward",
     [("lstm_step_forward(x[t], h_t, c_t, Wx, Wh, b)", "lstm_step_forward(x[t], h0, c0, Wx, Wh, b)")],
     "every step starts from h0, c0: the state (next_h, next_c) of step t is step t+1's prev_h, prev_c"),
    ("seq-c-not-carried", "lstm_forward",
     [("lstm_step_forward(x[t], h_t, c_t, Wx, Wh, b)", "lstm_step_forward(x[t], h_t, c0, Wx, Wh, b)")],
     "the cell is not carried: every step starts from c0; step t's next_c is step t+1's prev_c"),
    ("seq-h-not-carried", "lstm_forward",
     [("lstm_step_forward(x[t], h_t, c_t, Wx, Wh, b)", "lstm_step_forward(x[t], h0, c_t, Wx, Wh, b)")],
     "h is not carried: every step reads h0; step t's next_h is step t+1's prev_h"),
    ("bptt-dc-not-carried", "lstm_backward",
     [("dh[t] + dh_t, dc_t, cache[t]", "dh[t] + dh_t, 0 * dc_t, cache[t]")],
     "dc is not carried from step t+1: step t's dnext_c is what step t+1 returned as dprev_c",
     ("dx", "dh0", "dWx", "dWh", "db")),
    ("bptt-dh-not-carried", "lstm_backward", [("dh[t] + dh_t, dc_t, cache[t]", "dh[t], dc_t, cache[t]")],
     "dh from step t+1 is dropped: h_t feeds both the layer above and step t+1, and both gradients reach it"),
    ("bptt-no-sum-first", "lstm_backward", [("dWx + dWx_t, dWh + dWh_t, db + db_t", "dWx_t, dWh_t, db_t")],
     "the sum over time is missing: dWx, dWh, db are step 0's alone; the same weights act at every step, "
     "so their gradients add up over t"),
    ("bptt-no-sum-last", "lstm_backward",
     [("dWx + dWx_t, dWh + dWh_t, db + db_t", "(dWx_t, dWh_t, db_t) if t == len(dh) - 1 else (dWx, dWh, db)")],
     "the sum over time is missing: dWx, dWh, db are the last step's alone; the same weights act at every "
     "step, so their gradients add up over t"),
    ("bptt-forward-in-time", "lstm_backward", [("for t in reversed(range(len(dh))):", "for t in range(len(dh)):")],
     "the loop runs forward in time; backprop through time runs t = T-1 down to 0 (step t needs step t+1's dh, dc)"),
    ("model-no-mask", "model_backward", [("dx = dx * masks[l]", "dx = dx")],
     "the dropout masks are not applied on the way back (each layer's h was multiplied by its mask on the way "
     "forward)"),
    ("model-by-not-summed", "model_backward", [('"by": dlogits.sum(axis=(0, 1))', '"by": dlogits.sum(axis=0)')],
     "by is not summed over both T and N: it is added at every step of every stream, shape (V,)"),
    ("model-wy-last-step", "model_backward",
     [("top.reshape(-1, H).T @ dlogits.reshape(-1, V)", "top[-1].T @ dlogits[-1]")],
     "Wy's gradient is the last step's alone; it is summed over every step and stream"),
    ("model-dx-not-passed", "model_backward",
     [("dx, _, _, grads[f\"Wx{l}\"]", "_, _, _, grads[f\"Wx{l}\"]")],
     "each layer gets the top's gradient: the layer below gets the dx that the layer above's lstm_backward returns"),
    ("adam-no-bias-correction", "adam_update",
     [("m[k] / (1 - beta1 ** t)", "m[k]"), ("v[k] / (1 - beta2 ** t)", "v[k]")],
     "no bias correction: m and v start at zero, so they are too small in the first steps (Algorithm 1's "
     "m_hat, v_hat)"),
    ("adam-no-v-correction", "adam_update", [("v[k] / (1 - beta2 ** t)", "v[k]")],
     "v is not bias-corrected (Algorithm 1's v_hat), only m is"),
    ("adam-eps-in-sqrt", "adam_update", [("np.sqrt(v_hat) + eps", "np.sqrt(v_hat + eps)")],
     "eps is inside the square root; Algorithm 1 adds it to the square root"),
    ("adam-ascent", "adam_update", [("p - lr * m_hat", "p + lr * m_hat")],
     "the update climbs the gradient instead of descending it (a sign)"),
    ("adam-t-not-returned", "adam_update", [('"t": t}', '"t": opt["t"]}')],
     "the returned opt keeps the old t: the step count goes up by one each update (bias correction reads it)"),
    ("adam-v-from-g", "adam_update", [("(1 - beta2) * g * g", "(1 - beta2) * np.abs(g)")],
     "v averages |g|, not the squared gradient"),
]

# The fast twins (section 6) that carry a blanked exercise's answer and that train.py --plain and
# generate.py never run: withheld in the copy the same way. (The forward's twins stay: generate.py
# and train.py's evaluation run them, and the forward's equations head lstm_drums.py anyway.)
TWINS = {"softmax_loss": ["softmax_loss_fast", "feel_loss"], "lstm_step_backward": ["lstm_step_backward_fast"],
         "lstm_backward": ["lstm_backward_fast"], "model_backward": ["model_backward_fast"],
         "adam_update": ["adam_update_fast"]}

SCRIPTS = ["train.py", "generate.py"]                      # copied as they are, with the modules they import


def copied_files():
    """The files a copy takes as they are: the two scripts, the repository's modules they import
    (found with ast, so a new module comes along), requirements.txt. lstm_drums.py is blanked apart."""
    found, todo = [], list(SCRIPTS)
    while todo:
        name = todo.pop(0)
        if name in found:
            continue
        found.append(name)
        for node in ast.walk(ast.parse(read_text(os.path.join(ROOT, name)))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            todo += [n + ".py" for n in names if n != "lstm_drums" and os.path.isfile(os.path.join(ROOT, n + ".py"))]
    return found + ["requirements.txt"]


def read_text(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def functions(source):
    """{name: (the def line, the body's first line after the docstring, its last line)} of the
    module's top-level functions, 1-based and inclusive, from ast. The last line takes in comment
    lines that follow inside the function."""
    lines, found = source.splitlines(), {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            body = node.body
            has_doc = isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str)
            start = (body[0].end_lineno + 1) if has_doc else body[0].lineno
            end = node.end_lineno
            while end < len(lines) and lines[end].startswith((" ", "\t")) and lines[end].strip().startswith("#"):
                end += 1
            found[node.name] = (node.lineno, start, end)
    return found


def blank_source(source, replace):
    """source with the bodies of the functions in replace ({name: the new body's one line}) swapped.
    Every other line is kept byte for byte."""
    lines = source.splitlines(keepends=True)
    spans = functions(source)
    missing = [name for name in replace if name not in spans]
    if missing:
        raise UsageError(f"lstm_drums.py has no function {', '.join(missing)}")
    for name in sorted(replace, key=lambda n: -spans[n][1]):  # bottom up: the line numbers above stay right
        _, start, end = spans[name]
        lines[start - 1:end] = ["    " + replace[name] + "\n"]
    return "".join(lines)


def exercise_line(name):
    return f'raise NotImplementedError("exercise: implement {name}: {EXERCISES[name][0]}")'


def twin_line(name, exercise):
    return (f'raise NotImplementedError("withheld in the student copy: {name} is the fast twin of the exercise '
            f'{exercise}; train with python train.py --plain")')


def mutant(ref, source, fn, edits, mistake_id):
    """The reference module with fn replaced by its version with the mistake: a namespace."""
    first, _, end = functions(source)[fn]
    text = "".join(source.splitlines(keepends=True)[first - 1:end])
    for old, new in edits:
        if text.count(old) != 1:
            raise SetupError(f"mistake {mistake_id}: {old!r} is not once in the reference's {fn}; "
                               "update MISTAKES in tools/coursework.py")
        text = text.replace(old, new)
    ns = dict(vars(ref))
    exec(compile(text, f"<mistake {mistake_id}>", "exec"), ns)
    return types.SimpleNamespace(**ns)


def reference_numbers(path=os.path.join(ROOT, "lstm_drums.py")):
    """The numbers from the repository's lstm_drums.py: the expected outputs, and each mistake's."""
    source = read_text(path)
    ref = load_module(path, "coursework_reference")
    expected = {name: PROBES[name](ref, np.float64)[0] for name in EXERCISES}
    mistakes = {name: [] for name in EXERCISES}
    for mistake_id, fn, edits, message, *key in MISTAKES:
        outputs = PROBES[fn](mutant(ref, source, fn, edits, mistake_id), np.float64)[0]
        if all(difference(outputs[k], v) is None for k, v in expected[fn].items()):
            raise SetupError(f"mistake {mistake_id} does not change {fn}'s outputs on the probes")
        mistakes[fn].append({"id": mistake_id, "message": message, "key": list(key[0]) if key else [],
                             "outputs": outputs})
    return {"expected": expected, "mistakes": mistakes}


def student_grader():
    """This file without the teacher's part."""
    text = read_text(os.path.abspath(__file__))
    begin, end = "\n# ---- teacher only: " + "begin", "\n# ---- teacher only: " + "end"   # (not this line)
    a, b = text.index(begin), text.index(end)
    return text[:a + 1] + text[text.index("\n", b + 1) + 1:]


STUDENT_NOTE = """# Coursework: the textbook LSTM, by hand

Implement these functions of `lstm_drums.py`, in this order. Each keeps its signature and
docstring (the contract); its body is a `raise NotImplementedError` for you to replace.

{exercises}

After each one, check it (from this folder):

    python tools/coursework.py grade . --quick    # the functions alone, in a few seconds
    python tools/coursework.py grade .            # then train the demo with them and play it

The equations are in the repository's docs/lstm.md (and docs/walkthrough.md follows one bar of
drums through them, number by number); docs/coursework.md is the teacher's page.

The grader names the function and what is wrong where it recognises a common mistake. When
every row passes, listen to `out/coursework/coursework.wav`: drums played by a model that your
functions trained. `python train.py --plain` and `python generate.py runs/default/best.npz`
do the same at full size. (The fast twins of some functions in section 6 are withheld in this
copy; only `train.py --plain` trains here.)
"""


def make_copy(out, exercises):
    """Write the student's copy to out (new or empty), all or nothing: built beside it, then renamed."""
    out = os.path.abspath(out)
    if os.path.isfile(out) or (os.path.isdir(out) and os.listdir(out)):
        raise UsageError(f"{out} is not empty: give a new or empty folder")
    source = read_text(os.path.join(ROOT, "lstm_drums.py"))
    replace = {name: exercise_line(name) for name in exercises}
    for name in exercises:
        replace.update({twin: twin_line(twin, name) for twin in TWINS.get(name, [])})
    blanked = blank_source(source, replace)
    numbers = reference_numbers()
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    build = tempfile.mkdtemp(prefix=".coursework-", dir=parent)
    try:
        for name in copied_files():
            shutil.copyfile(os.path.join(ROOT, name), os.path.join(build, name))
        shutil.copytree(os.path.join(ROOT, "data", "demo"), os.path.join(build, "data", "demo"))
        os.makedirs(os.path.join(build, "tools"))
        files = {"lstm_drums.py": blanked, os.path.join("tools", "coursework.py"): student_grader(),
                 NUMBERS: json.dumps(numbers_to_json(numbers, exercises), indent=1) + "\n",
                 "COURSEWORK.md": STUDENT_NOTE.format(exercises="\n".join(
                     f"{k + 1}. `{name}`: {EXERCISES[name][0]}" for k, name in enumerate(exercises)))}
        for name, text in files.items():
            with open(os.path.join(build, name), "w", encoding="utf-8") as f:
                f.write(text)
        if os.path.isdir(out):
            os.rmdir(out)                                   # empty (checked above)
        os.replace(build, out)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return out


def cmd_blank(args):
    given = args.exercises is not None
    exercises = [e.strip() for e in args.exercises.split(",") if e.strip()] if given else list(EXERCISES)
    unknown = [e for e in exercises if e not in EXERCISES]
    if unknown or not exercises:
        raise UsageError(f"--exercises: unknown {', '.join(unknown) or '(none given)'}; choose from "
                         f"{', '.join(EXERCISES)}")
    exercises = [e for e in EXERCISES if e in exercises]    # the order a student does them
    out = make_copy(args.out, exercises)
    print(f"wrote {out}: {len(exercises)} exercises ({', '.join(exercises)})")
    print(f"the student: cd {out} && python tools/coursework.py grade .   (COURSEWORK.md says what to do)")
    return 0
# ---- teacher only: end ----


# ----------------------------------------------------------------------------
# 10. The command line

def expected_numbers(folder):
    """The numbers to grade against, the exercises this copy blanked, and where the numbers come
    from: the reference lstm_drums.py's for a teacher who has it, else the copy's own file."""
    if TEACHER and os.path.isfile(os.path.join(ROOT, "lstm_drums.py")):
        try:                                                # which exercises this copy blanked, for the table
            blanked = read_numbers(folder)[1]
        except UsageError:
            blanked = list(EXERCISES)
        return reference_numbers(), blanked, "the reference, " + os.path.join(ROOT, "lstm_drums.py")
    numbers, blanked = read_numbers(folder)
    return numbers, blanked, os.path.join(folder, NUMBERS)


def grade(folder, quick=False, log=print):
    """Grade folder/lstm_drums.py. Returns the report (a dict); log prints the table as it goes."""
    t0 = time.time()
    folder = os.path.abspath(folder)
    path = os.path.join(folder, "lstm_drums.py")
    if not os.path.isfile(path):
        raise UsageError(f"{folder} has no lstm_drums.py to grade")
    numbers, blanked, source = expected_numbers(folder)
    report = {"tool": "tools/coursework.py", "format": FORMAT, "graded": path, "numbers_from": source,
              "quick": bool(quick), "exercises": [], "end_to_end": []}
    log(f"grading {path}\n(expected numbers: {source})\n")
    try:
        mod = load_module(path, f"coursework_student_{abs(hash(path))}_{time.time_ns()}")
    except (Exception, SystemExit) as e:
        line = getattr(e, "lineno", None)
        message = (f"lstm_drums.py does not import: {type(e).__name__}: {one_line(getattr(e, 'msg', e))}"
                   + (f" (line {line})" if isinstance(e, SyntaxError) and line else where(e, path)))
        log(message)
        return dict(report, passed=False, exit_code=1, error=message, summary=None,
                    seconds=round(time.time() - t0, 1))
    results = {}
    log(f"  {'exercise':<20} result")
    for name in EXERCISES:
        results[name] = grade_exercise(mod, path, name, numbers, results)
        results[name]["blanked"] = name in blanked
        r = results[name]
        text = r["status"] + (f": {r['message']}" if r["message"] and r["status"] != "not done" else "")
        if r["status"] == "not done":
            text = r["message"]
        log(f"  {name:<20} {text}" + ("" if r["blanked"] else "   (given, not blanked)"))
        report["exercises"].append(r)
    all_passed = all(r["status"] == "passed" for r in results.values())
    if quick:
        log(f"  {'end to end':<20} skipped (--quick)")
    elif not all_passed:
        log(f"  {'end to end':<20} waits for every exercise to pass")
    else:
        log(f"  {'end to end':<20} overfit one batch, then train the demo and play it (under a minute)")
        for row in end_to_end(mod, folder):
            log(f"  {row['name']:<20} {row['status']}: {row['message']}")
            report["end_to_end"].append(row)
    done = sum(r["status"] == "passed" for r in results.values())
    rows = report["end_to_end"]
    passed = all_passed and (quick or bool(rows) and all(r["status"] == "passed" for r in rows))
    report.update(passed=passed, exit_code=0 if passed else 1, seconds=round(time.time() - t0, 1),
                  summary={"exercises": len(results), "passed": done,
                           "not_done": sum(r["status"] == "not done" for r in results.values()),
                           "wrong": sum(r["status"] == "wrong" for r in results.values()),
                           "blocked": sum(r["status"] == "blocked" for r in results.values())})
    log(f"\n{done} of {len(results)} exercises pass" + ("" if quick or not all_passed else
                                                          (", end to end too" if passed else ", end to end fails"))
        + ("" if passed else "; exit code 1"))
    return report


def finite(obj):
    """obj with every NaN or inf float as None: the report is strict JSON."""
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def write_json(path, report):
    """The report, whole: a temporary file beside path, then a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".coursework-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(finite(report), f, indent=1, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def cmd_grade(args):
    if args.reference and args.folder:
        raise UsageError("give DIR or --reference, not both")
    if args.reference and not TEACHER:
        raise UsageError("--reference needs the teacher's tools/coursework.py (this is a student's copy)")
    report = grade(ROOT if args.reference else (args.folder or "."), args.quick)
    if args.json:
        try:
            write_json(args.json, report)
        except OSError as e:
            raise UsageError(f"cannot write {args.json}: {e.strerror or e}") from None
    return report["exit_code"]


def parse_args(argv):
    p = argparse.ArgumentParser(description="Coursework that grades itself: " + (
        "blank lstm_drums.py's textbook functions for a student, then grade them." if TEACHER else
        "grade your lstm_drums.py."), epilog="docs/coursework.md (teachers), COURSEWORK.md (a student's copy). "
        "Exit codes: 0 all passed, 1 something wrong or not done, 2 bad usage.")
    sub = p.add_subparsers(dest="command", required=True)
    if TEACHER:
        b = sub.add_parser("blank", help="write a student's copy with the exercises' bodies replaced")
        b.add_argument("--out", required=True, metavar="DIR", help="a new or empty folder")
        b.add_argument("--exercises", metavar="A,B,...", help="which functions to blank (default: all, "
                       "in order: " + ", ".join(EXERCISES) + ")")
    g = sub.add_parser("grade", help="grade a folder's lstm_drums.py, function by function, then end to end")
    g.add_argument("folder", nargs="?", metavar="DIR", help="the folder with lstm_drums.py (default: here)")
    g.add_argument("--reference", action="store_true", help="grade the repository's own lstm_drums.py (it must pass)")
    g.add_argument("--quick", action="store_true", help="the functions alone: skip training and playing")
    g.add_argument("--json", metavar="REPORT", help="also write a machine-readable report to REPORT")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        return cmd_grade(args) if args.command == "grade" else cmd_blank(args)
    except UsageError as e:
        print(f"coursework: {e}", file=sys.stderr)
        return 2
    except SetupError as e:
        print(f"coursework: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
