"""Fault-finding: mutated MIDI files, damaged checkpoints and odd command lines against the three tools.

    python benchmarks/fuzz.py [--cases 5000] [--seed 0]

Every case must end in a result or the tool's own one-line error (exit code 1 or 2), within
--timeout seconds: a traceback, another exception or a hang is an escape, printed with the
seed of its case so that it can be replayed (--only SEED). Run it before a release; the
test suite runs a few hundred cases of the same kinds (tests/test_fuzz.py).

Kinds of case, in turn:
  midi        a valid drum file (random bars, metres, tempo) with bytes flipped, replaced,
              inserted, cut off, or one header field set to an extreme; encoded in every mode
  checkpoint  a small valid checkpoint with bits flipped, bytes cut off, or one array or the
              config replaced by something hostile; loaded, then used by generate.py
  argv        a command line for train.py / generate.py / encoding.py with flag values drawn
              from the troublesome ones (0, -1, nan, inf, huge, empty, wrong type)
  feel        a valid words file and its feel file, the feel's tokens replaced, cut, doubled
              or mangled; decoded to MIDI by encoding.py and read as training data by train.py
"""
import argparse
import subprocess
import contextlib
import io
import json
import os
import signal
import sys
import tempfile
import zipfile

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
import corpus  # noqa: E402
import encoding  # noqa: E402
import lstm_drums as lstm  # noqa: E402


class Hang(Exception):
    """A case ran past its time limit."""


# ----------------------------------------------------------------------------
# Mutators (each takes a seeded np.random.Generator)

def valid_midi(rng):
    """The bytes of a drum file our writer makes: 1-6 random bars of random lengths."""
    bars = [[int(m) for m in rng.integers(0, 512, int(rng.integers(1, 33)))] for _ in range(int(rng.integers(1, 7)))]
    return encoding.midi_to_bytes(encoding.bars_to_midi(bars, bpm=float(rng.uniform(40, 240))))


def mutate_bytes(data, rng):
    """Flip bits, overwrite or insert bytes, cut the file, or set a header field to an extreme."""
    data = bytearray(data)
    kind = rng.integers(6)
    if kind == 0:                                           # flip 1-8 bits
        for _ in range(int(rng.integers(1, 9))):
            k = int(rng.integers(len(data)))
            data[k] ^= 1 << int(rng.integers(8))
    elif kind == 1:                                         # overwrite a run of bytes
        k = int(rng.integers(len(data)))
        n = int(rng.integers(1, 9))
        data[k:k + n] = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    elif kind == 2:                                         # insert a run (a long delta time, say)
        k = int(rng.integers(len(data)))
        data[k:k] = bytes([0xFF] * int(rng.integers(1, 40))) if rng.random() < 0.5 else \
            rng.integers(0, 256, int(rng.integers(1, 40)), dtype=np.uint8).tobytes()
    elif kind == 3:                                         # cut it short
        data = data[:int(rng.integers(len(data)))]
    elif kind == 4 and len(data) >= 14:                     # MThd: format, tracks, division
        field = int(rng.choice([8, 10, 12]))
        data[field:field + 2] = int(rng.choice([0, 1, 2, 3, 0x7FFF, 0x8000, 0xFFFF])).to_bytes(2, "big")
    else:                                                   # a hostile time signature at the start
        k = data.find(b"MTrk")
        if k >= 0:
            meta = bytes([0, 0xFF, 0x58, 4, int(rng.integers(256)), int(rng.integers(256)), 24, 8])
            data[k + 8:k + 8] = meta
            length = int.from_bytes(data[k + 4:k + 8], "big") + len(meta)
            data[k + 4:k + 8] = length.to_bytes(4, "big")
    return bytes(data)


def valid_song_with_feel(rng):
    """Words and feel tokens of 1-4 random bars, each hit with random levels."""
    bars = [[int(m) for m in rng.integers(0, 512, int(rng.integers(1, 17)))] for _ in range(int(rng.integers(1, 5)))]
    feel = [[tuple((int(rng.integers(8)), int(rng.integers(-4, 5))) for _ in range(bin(m).count("1"))) for m in bar]
            for bar in bars]
    return encoding.bars_to_words(bars), encoding.feel_to_tokens(feel)


FEEL_TROUBLE = ["", "8+0", "7+5", "7-5", "7+", "+0", "70", "7+0,", ",", "|", ".", "7+0,7+0,7+0", "x", "7*0",
                "-1+0", "7+0" * 50, "٣+0", "7+0,6+0,5+0,4+0,3+0,2+0,1+0,0+0,7+0,6+0"]


def mutate_feel(tokens, rng):
    """Replace, drop, double or mangle a token, or cut the feel short."""
    tokens = list(tokens)
    kind, k = rng.integers(5), int(rng.integers(len(tokens)))
    if kind == 0:
        tokens[k] = str(rng.choice(FEEL_TROUBLE))
    elif kind == 1:
        del tokens[k]
    elif kind == 2:
        tokens.insert(k, tokens[k])
    elif kind == 3:
        tokens = tokens[:k]
    else:
        tokens[k] = tokens[k][::-1]
    return tokens


def tiny_checkpoint(folder, rng):
    """A valid checkpoint of a 1 x 8 model, as train.py writes them, in folder."""
    model_config = {"vocab_size": len(encoding.VOCAB), "hidden": 8, "layers": 1, "dropout": 0.0, "forget_bias": 1.0,
              "inputs": str(rng.choice(lstm.INPUT_KINDS)), "feel": bool(rng.random() < 0.5)}
    params = lstm.init_model(model_config, rng)
    path = os.path.join(folder, "model.npz")
    lstm.save_checkpoint(path, params, model_config, encoding.VOCAB, lstm.adam_init(params),
                      extra={"corpus": {"stats": None}}, state=lstm.zero_state(model_config, 2))
    return path


HOSTILE_ARRAYS = [
    lambda: np.zeros(10 ** 7, np.uint8),                    # big, and not ours
    lambda: np.array([1.0, np.nan]),
    lambda: np.array("x" * 1000),
    lambda: np.zeros((0,)),
    lambda: np.array(json.dumps({"vocab_size": 1e999, "hidden": 8, "layers": 1})),
    lambda: np.array(json.dumps({"vocab_size": 513, "hidden": 8, "layers": 10 ** 9})),
    lambda: np.array(json.dumps({"vocab_size": 513, "hidden": 8, "layers": 1, "dropout": 5})),
    lambda: np.array(json.dumps([1, 2, 3])),
    lambda: np.array(99),
]


def mutate_checkpoint(path, rng):
    """Damage a checkpoint file in place: its bytes, or one of its arrays."""
    if rng.random() < 0.6:
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(mutate_bytes(data, rng) if rng.random() < 0.7 else data[:int(rng.integers(len(data)))])
        return
    with zipfile.ZipFile(path) as z:
        names = [n[:-4] for n in z.namelist()]
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    victim = str(rng.choice(names + ["config", "extra", "format_version"]))
    arrays[victim] = HOSTILE_ARRAYS[int(rng.integers(len(HOSTILE_ARRAYS)))]()
    np.savez(path, **arrays)


TROUBLE = ["0", "-1", "nan", "inf", "-inf", "1e999", "1e-310", "3", "99999999", "", "x", "0.5", "1e30"]


def random_argv(rng, folder, ckpt):
    """A command line for one of the tools, with some flags given troublesome values."""
    tool = str(rng.choice(["train", "generate", "encoding", "corpus"]))
    if tool == "train":
        # (not --steps, --epochs or --minutes: a huge value is a valid request for a long run, not a fault)
        flags = ["--layers", "--hidden", "--batch", "--seq", "--lr", "--dropout", "--clip", "--seed",
                 "--forget-bias", "--eval-every", "--valid-fraction", "--lr-decay", "--inputs", "--feel", "--styles",
                 "--style-hide", "--feel-hide", "--feel-memory", "--song-place", "--lookback-bars"]
        argv = [os.path.join(ROOT, "data", "demo"), "--out", os.path.join(folder, "run"), "--steps", "2",
                "--layers", "1", "--hidden", "4", "--batch", "2", "--seq", "4", "--eval-every", "1"]
    elif tool == "generate":
        flags = ["--bars", "--diversity", "--seed", "--bpm", "--velocity", "--meter", "--tab-bars", "--style", "--fills",
                 "--keep", "--seeds", "--humanize", "--particles"]
        argv = [ckpt, "--out", os.path.join(folder, "gen"), "--bars", "2", "--diversity", "1"]
        if rng.random() < 0.3:                              # play a part: the demo's flat one, kept drums or not
            argv += ["--primer", os.path.join(ROOT, "data", "parts", "kick_snare.mid"), "--keep", "BD,SD"]
    elif tool == "encoding":
        flags = ["--bpm", "--velocity", "--line"]
        argv = [os.path.join(ROOT, "data", "demo", "waltz_3_4.mid"), "-o", os.path.join(folder, "x.txt")]
    else:
        flags = ["--split", "--info"]
        argv = [os.path.join(ROOT, "data", "demo"), "-o", os.path.join(folder, "x.txt")]
    for _ in range(int(rng.integers(1, 4))):
        argv += [str(rng.choice(flags)), str(rng.choice(TROUBLE))]
    return tool, argv


# ----------------------------------------------------------------------------
# Running a case

def outcome(fn):
    """Run fn; 'ok', 'error' (the tool's own one-line error), or the escaping exception."""
    errors = (encoding.CodecError, lstm.CheckpointError)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
            code = fn()
    except errors:
        return "error"
    except SystemExit as e:                                 # argparse: usage error, exit code 2
        return "error" if e.code == 2 else e
    except Hang:
        raise
    except BaseException as e:  # noqa: BLE001 - everything else is what we are looking for
        return e
    if code in (None, 0):
        return "ok"
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    if code in (1, 2) and lines and not any(line.startswith("Traceback") for line in lines):
        return "error"
    return RuntimeError(f"exit code {code}: {err.getvalue()[-300:]}")


def run_script(tool, argv, timeout):
    """A script (train.py, generate.py) run as the user runs it, in its own process (a library
    never imports a script): its exit code 0 is 'ok', 1 or 2 with a message and no traceback
    'error'; anything else, or over timeout seconds, the exception that escaped."""
    try:
        done = subprocess.run([sys.executable, os.path.join(ROOT, tool + ".py"), *argv], capture_output=True,
                              text=True, timeout=timeout, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    except subprocess.TimeoutExpired:
        return Hang(f"over {timeout:g} s")
    if done.returncode == 0:
        return "ok"
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    if done.returncode in (1, 2) and lines and "Traceback" not in done.stderr:
        return "error"
    return RuntimeError(f"exit code {done.returncode}: {done.stderr[-300:]}")


def run_case(seed, kind, folder, timeout=20.0):
    """One seeded case of a kind. Returns 'ok', 'error', or the exception that escaped."""
    rng = np.random.default_rng([seed, 7])
    if kind == "midi":
        data = mutate_bytes(valid_midi(rng), rng)

        def encode_every_way():
            for compat, all_channels in ((False, False), (True, False), (False, True)):
                try:
                    mid = encoding.read_midi(io.BytesIO(data))
                    encoding.midi_to_bars(mid, compat=compat, all_channels=all_channels)
                except encoding.CodecError:
                    pass
        return outcome(encode_every_way)
    if kind == "feel":
        words, tokens = valid_song_with_feel(rng)
        path = os.path.join(folder, "song.txt")
        with open(path, "w") as f:
            f.write(" ".join(words) + "\n")
        with open(encoding.feel_path(path), "w") as f:
            f.write(" ".join(mutate_feel(tokens, rng)) + "\n")

        def decode_and_load():
            code = encoding.main(["--to-midi", path, "-o", os.path.join(folder, "song.mid")])
            corpus.load_songs([path])
            return code
        return outcome(decode_and_load)
    ckpt = tiny_checkpoint(folder, rng)
    if kind == "checkpoint":
        mutate_checkpoint(ckpt, rng)
        loaded = outcome(lambda: lstm.load_checkpoint(ckpt) and None)
        if loaded != "ok":                                  # refused (generate.py would refuse it the same
            return loaded                                   # way, loading first), or escaped
        return run_script("generate", [ckpt, "--bars", "2", "--diversity", "1", "--out", os.path.join(folder, "g")],
                          timeout)
    tool, argv = random_argv(rng, folder, ckpt)
    if tool in ("encoding", "corpus"):
        return outcome(lambda: (encoding if tool == "encoding" else corpus).main(argv))
    return run_script(tool, argv, timeout)


KINDS = ("midi", "checkpoint", "argv", "feel")


def fuzz(n_cases, seed=0, timeout=20.0, kinds=KINDS, log=print):
    """Run n_cases (kinds in turn); returns the escapes as (case seed, kind, exception)."""
    escapes = []

    def on_alarm(*_):
        raise Hang(f"over {timeout:g} s")
    old = signal.signal(signal.SIGALRM, on_alarm)
    try:
        for k in range(n_cases):
            kind, case = kinds[k % len(kinds)], seed * 1_000_000 + k
            with tempfile.TemporaryDirectory() as folder:
                signal.setitimer(signal.ITIMER_REAL, timeout)
                try:
                    result = run_case(case, kind, folder, timeout)
                except Hang as e:
                    result = e
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            if not isinstance(result, str):
                escapes.append((case, kind, result))
                log(f"ESCAPE case {case} ({kind}): {type(result).__name__}: {str(result)[:200]}")
            if (k + 1) % 500 == 0:
                log(f"{k + 1} cases, {len(escapes)} escapes")
    finally:
        signal.signal(signal.SIGALRM, old)
    return escapes


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=5000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=20.0, help="seconds a case may take (default 20)")
    p.add_argument("--only", type=int, metavar="CASE", help="replay one case (its number as printed) and show it")
    args = p.parse_args()
    if args.only is not None:
        kind = KINDS[args.only % 1_000_000 % len(KINDS)]
        with tempfile.TemporaryDirectory() as folder:
            print(kind, run_case(args.only, kind, folder))
        return 0
    escapes = fuzz(args.cases, args.seed, args.timeout)
    print(f"{args.cases} cases, {len(escapes)} escapes")
    return 1 if escapes else 0


if __name__ == "__main__":
    sys.exit(main())
