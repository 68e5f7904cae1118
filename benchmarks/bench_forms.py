"""What the fast form is worth: one training step of the plain core (lstm_drums.py sections 1-5)
against the fast form (section 6), and, with --against, the fast form against another version
of lstm_drums.py, all measured in the same run.

    OPENBLAS_NUM_THREADS=2 python benchmarks/bench_forms.py                 # plain vs fast
    git show REV:lstm_drums.py > /tmp/old_lstm_drums.py
    OPENBLAS_NUM_THREADS=2 python benchmarks/bench_forms.py --against /tmp/old_lstm_drums.py

A training step is forward, loss, backward, clipping and Adam on a (T, N) chunk of random
words (V = 514). plain: model_loss on one-hot rows, clip_gradients, adam_update (new arrays);
fast: the same model through loss, clip_gradients_fast, adam_update_fast (train.py's step for
--inputs word --feel 0). With --against, "this" and "other" run train.py's default model
(look-back inputs and feel) through each file's fast step. The contenders alternate in blocks,
each after one untimed step, and the figures are medians over all their steps, so load from
elsewhere on the machine hits them alike; each round builds fresh models.
"""
import argparse
import importlib.util
import os
import statistics
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
import numpy as np  # noqa: E402

import lstm_drums as lstm  # noqa: E402

V = 514
SIZES = [(2, 256, 32, 64), (2, 384, 64, 64)]                # (L, H, N, T)


def load_other(path):
    """Another lstm_drums.py as a module of its own."""
    spec = importlib.util.spec_from_file_location("other_lstm_drums", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def first(module, *names):
    """The first of these names the module has (the fast functions were renamed once)."""
    return next(getattr(module, n) for n in names if hasattr(module, n))


def plain_step(L, H, N, T, seed):
    rng = np.random.default_rng(seed)
    model_config = {"vocab_size": V, "hidden": H, "layers": L, "dropout": 0.2, "forget_bias": 1.0}
    params = lstm.init_params(model_config, rng)
    opt, state = lstm.adam_init(params), lstm.zero_state(model_config, N)
    ids, y = rng.integers(0, V, (T, N)), rng.integers(0, V, (T, N))
    masks = lstm.make_dropout_masks(model_config, T, N, rng)

    def step():
        nonlocal params, opt
        _, grads, _ = lstm.model_loss(params, lstm.one_hot(ids, V), y, state, masks)
        grads, _ = lstm.clip_gradients(grads, 5.0)
        params, opt = lstm.adam_update(params, grads, opt)
    return step


def fast_step(module, L, H, N, T, seed, extensions=False):
    """train.py's step through a module's fast form: the word alone, or look-back inputs with feel."""
    rng = np.random.default_rng(seed)
    model_config = {"vocab_size": V, "hidden": H, "layers": L, "dropout": 0.2, "forget_bias": 1.0,
              "inputs": "lookback" if extensions else "word", "feel": extensions, "styles": [], "fills": False}
    params = first(module, "init_model", "init_params")(model_config, rng)
    opt, state = module.adam_init(params), module.zero_state(model_config, N)
    clip, adam = first(module, "clip_gradients_fast", "clip_grads"), first(module, "adam_update_fast", "adam_step")
    y = rng.integers(0, V, (T, N))
    feel = None
    if extensions:
        x = np.stack([rng.integers(0, V, (T, N)), rng.integers(0, V + 1, (T, N)), rng.integers(0, V + 1, (T, N)),
                      rng.integers(0, 17, (T, N))], axis=2)                     # (T, N, 4) look-back rows
        levels = np.where(rng.random((T, N, 18)) < 0.2, rng.integers(0, 8, (T, N, 18)), -1)
        feel = (module.feel_inputs(np.where(rng.random((T, N, 36)) < 0.2, rng.integers(0, 8, (T, N, 36)), -1)),
                levels)
    else:
        x = rng.integers(0, V, (T, N))
    masks = module.make_dropout_masks(model_config, T, N, rng)

    def step():
        _, grads, _ = module.loss(params, x, y, state, masks, feel)
        clip(grads, 5.0)
        adam(params, grads, opt)
    return step


def race(makers, rounds, seconds):
    """Median seconds per step of each maker's step, the makers alternating in blocks."""
    times = {name: [] for name in makers}
    for r in range(rounds):
        order = list(makers) if r % 2 == 0 else list(makers)[::-1]
        for name in order:
            step = makers[name](r)
            time.sleep(0.2)
            step()                                          # untimed: the threads wake, memory settles
            t_end = time.perf_counter() + seconds
            while time.perf_counter() < t_end:
                t0 = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=6, help="fresh models per contender and size (default 6)")
    p.add_argument("--seconds", type=float, default=2.0, help="timed seconds per block (default 2)")
    p.add_argument("--against", metavar="LSTM_DRUMS_PY", help="also race this file's fast step against ours")
    args = p.parse_args(argv)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    print(f"OPENBLAS_NUM_THREADS={threads}, {args.rounds} rounds of {args.seconds:g} s per contender")
    other = load_other(args.against) if args.against else None
    for L, H, N, T in SIZES:
        makers = {"plain": lambda r: plain_step(L, H, N, T, r),
                  "fast": lambda r: fast_step(lstm, L, H, N, T, r)}
        if other is not None:
            makers = {"this": lambda r: fast_step(lstm, L, H, N, T, r, True),
                      "other": lambda r: fast_step(other, L, H, N, T, r, True)}
        median = race(makers, args.rounds, args.seconds)
        a, b = makers
        line = ", ".join(f"{name} {N * T / s:7.0f} words/s ({1e3 * s:.1f} ms/step)" for name, s in median.items())
        print(f"{L} x {H}, N = {N}, T = {T}: {line}; {a} takes {median[a] / median[b]:.2f}x {b}'s time")


if __name__ == "__main__":
    main()
