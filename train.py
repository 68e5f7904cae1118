"""train.py: teach the LSTM of lstm_drums.py to drum, from MIDI files or word corpora.

    python train.py                              # the bundled demo grooves, a small model
    python train.py MIDI_DIR --preset lstmetallica --minutes 30
    python train.py GROOVE_DIR metallica=METALLICA_DIR   # several sources, each song with its style
    python train.py --resume runs/default/last.npz --steps 5000
    python train.py --eval runs/default/best.npz SONGS...

The story, top to bottom:
  1. hyperparameters: the defaults, with a comment each, and presets
  2. data: songs (corpus.load_songs) -> what layer 0 reads, cut into N parallel streams
  3. the model and the run: new weights or a checkpoint's, and what a run carries
  4. the training loop: truncated BPTT over the streams, Adam, a plateau schedule for lr
  5. evaluation: whole validation songs, beside simple baselines
  6. checkpoints: best.npz and last.npz; for whole songs, the form head fitted into best.npz
  7. the command line
  8. operations: BLAS threads, one run per folder, the memory check, Ctrl-C, the ETA, and
     the loss history as CSV and SVG; none of it changes what is learned

The vocabulary is fixed, the same for every corpus (encoding.VOCAB): the 512 step words in
mask order (word id = the 9-bit mask), then BAR (512) and END (513). Any song can be scored
and any primer used, whatever the training data.
"""
import argparse
import collections
import contextlib
import csv
import io
import json
import math
import os
import signal
import sys
import threading
import time
import zlib

# One BLAS thread unless section 8 chooses two; numpy reads the setting once, when imported.
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
THREADS_CHOSEN_BY = "restarted" if os.environ.get("LSTM_DRUMS_THREADS") else \
    "user" if any(v in os.environ for v in BLAS_VARIABLES) else "train.py"
for _variable in BLAS_VARIABLES:
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402 (after the thread setting)

import corpus  # noqa: E402
import encoding  # noqa: E402
import lstm_drums as lstm  # noqa: E402
from encoding import BAR_ID, END_ID, SILENCE_ID, VOCAB, to_ids  # noqa: E402 (the fixed vocabulary, shared)


# ----------------------------------------------------------------------------
# 1. Hyperparameters. Every one is a flag (--batch 32, --lr-decay 0.7, ...); the defaults
# train a small model on the demo grooves.

HYPERPARAMETERS = {     # name: (default, meaning)
    "layers": (2, "stacked LSTM layers, L"),
    "hidden": (128, "units per layer, H"),
    "dropout": (0.2, "inverted dropout between layers and before the decoder (0 = off)"),
    "forget_bias": (1.0, "added to the forget gate's bias at init, so the cells start by remembering"),
    "inputs": ("lookback", "what layer 0 reads: 'word' (the word alone, as the original) or 'lookback' "
                           "(also the words one and two bars back and the place in the bar)"),
    "feel": (1, "1: also learn how hard and how far off the grid each hit is played (its feel), 0: words alone"),
    "lookback_bars": ("1,2", "with --inputs lookback: how many bars back layer 0 looks, e.g. 1,2,4,8 "
                             "(starting 1,2); a 0 last adds the bar that came after the last time the "
                             "bar just closed was played"),
    "song_place": (0, "1: layer 0 also reads how many bars the song has played, on a coarse scale, so that "
                      "--song ends songs where songs end; 0: not"),
    "feel_memory": (1, "1: the feel head also reads each drum's last two levels (lstm_drums section 8), 0: not"),
    "feel_weight": (1.0, "weight of the feel's loss beside the words' (1 = their joint likelihood)"),
    "styles": (1, "1: learn each song's style and fills where the data says them (2+ styles), 0: ignore them"),
    "style_hide": (0.1, "share of the training songs read with their style hidden, each epoch anew"),
    "feel_hide": (0.3, "share of the streams whose feel inputs are hidden in each chunk, so that the model also "
                       "plays from the words alone (as generate.py --humanize reads a part)"),
    "batch": (16, "parallel streams, N (fewer if the data is too short)"),
    "seq": (32, "steps per chunk of truncated BPTT, T"),
    "lr": (2e-3, "Adam's step size"),
    "lr_decay": (0.5, "multiply lr by this when validation stops improving (1 = never)"),
    "patience": (3, "... after this many evaluations in a row without improvement"),
    "early_stop": (0, "stop after this many evaluations without improvement (0 = never)"),
    "clip": (5.0, "global-norm gradient clipping (0 = off)"),
    "epochs": (0, "stop after this many passes over the training words, in all (0 = no limit)"),
    "steps": (1000, "stop after this many training steps, in all (0 = no limit)"),
    "minutes": (0.0, "stop after this many minutes (wall clock, evaluations included) in this run (0 = no limit)"),
    "eval_every": (100, "validate every this many steps (and at the end)"),
    "log_every": (20, "print a progress line every this many steps"),
    "valid_fraction": (0.1, "share of the songs held out for validation when --valid is not given"),
    "seed": (1337, "one seed for init, dropout, the split and the data order"),
}

DEFAULTS = {name: default for name, (default, _) in HYPERPARAMETERS.items()}

# The seed's model (Choi et al. 2016): 3 x 512 LSTM, dropout 0.2, Adam.
PRESETS = {
    "lstmetallica": dict(layers=3, hidden=512, dropout=0.2, batch=64, seq=64, steps=0, epochs=20, inputs="word",
                         feel=0),
}

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs", "default")

DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "demo")


class TrainError(Exception):
    """Bad input for training or evaluation: reported in one line, exit code 1."""


# ----------------------------------------------------------------------------
# 2. Data: songs -> what layer 0 reads at each step -> N parallel streams
#
# corpus.load_songs gives the songs (words, feel, style). Each song becomes the rows layer 0
# reads, one per word (model_inputs); an epoch joins the songs in a seeded order and cuts the
# result into N streams (epoch_streams); a training step takes the next T + 1 rows of every
# stream (chunk_at) and splits them into inputs and next-word targets (split_columns).

def model_inputs(ids, model_config, feel_ids=None, condition=None):
    """A song's word ids (S,) -> what layer 0 reads at each step, (S, C): lstm_drums.song_rows,
    the same rows a sampler reads (the words, look-back, feel ids, and the song's (style, fill)
    from song_condition or None). One change for training: the songs are read one after
    another, so the last row predicts the next song's first word, which has place 0 and
    nothing to look back to (as the first word generated without a primer has).
    """
    rows = lstm.song_rows(ids, model_config, feel_ids, condition)
    at = lstm.row_columns(model_config)
    if lstm.model_config(model_config)["inputs"] == "lookback":
        rows[-1, at["x0"].start + 1:at["x0"].stop] = len(VOCAB)          # a new song starts next:
        rows[-1, at["x0"].stop - 1] = 0                                 # nothing back, place 0
        rows[-1, at["back_feel"]] = -1
    rows[-1, at["memory"]] = -1                                         # nor any feel to remember
    rows[-1, at["song_place"]] = 0                                      # and it is the song's first bar
    return rows


# One chunk of training data, as lstm_drums.loss takes it: layer 0's inputs x (T, N[, 2 + B]), the
# next words y (T, N), the feel (feel_x (T, N, F), the next words' feel ids (T, N, 18), the feel
# memory (T, N, 36) or None) or None, and the style, fill (and place in the song) inputs cond_x
# (T, N, C) or None.
Chunk = collections.namedtuple("Chunk", "x y feel cond_x")


def split_columns(chunk, model_config):
    """A chunk of model_inputs rows, time-major (T+1, N, C) -> what lstm_drums.loss takes:
    layer 0's inputs (lstm_drums.layer0_inputs of the first T rows), the next words y (T, N),
    and with feel the next words' feel ids (T, N, 18), the feel head's targets, and its memory
    of the words read (T, N, 36) or None."""
    x, cond_x, feel_x = lstm.layer0_inputs(chunk[:-1], model_config)
    at = lstm.row_columns(model_config)
    memory = chunk[:-1, :, at["memory"]] if lstm.model_config(model_config)["feel_memory"] else None
    feel_batch = None if feel_x is None else (feel_x, chunk[1:, :, at["feel"]], memory)
    return Chunk(x, chunk[1:, :, 0], feel_batch, cond_x)


def epoch_streams(songs_inputs, epoch, N, seed, hide_style=0.0, conditions=False):
    """One epoch's data: the training songs in a seeded order, joined, cut into N streams.

    songs_inputs: per song, model_inputs() of its words, (S, C). Returns an (N, S, C) array;
    stream n is the n-th contiguous 1/N of the joined words, so chunk after chunk it reads on
    through its songs (and the carried state stays valid). hide_style: the share of songs
    whose style is hidden this epoch (their style column set to -1), so that the model also
    learns to play without one. conditions: the rows end in (style, fill) columns; each row
    then gets those of the word it predicts (at a song's end, the next song's first word).
    The order depends only on (seed, epoch), so a resumed run rebuilds it exactly.
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(songs_inputs))
    parts = [songs_inputs[k] for k in order]
    if hide_style > 0:
        for k in np.flatnonzero(rng.random(len(parts)) < hide_style):
            parts[k] = parts[k].copy()
            parts[k][:, -2] = -1                               # the style column (model_inputs' last but one)
    joined = np.concatenate(parts)                             # (total words, C)
    if conditions:                                             # the (style, fill) columns, the last two:
        joined[:-1, -2:] = joined[1:, -2:]                     # each row's is the word's it predicts
    S = len(joined) // N
    return joined[:N * S].reshape((N, S) + joined.shape[1:])   # (N, S, C)


def chunk_at(streams, pos, T, model_config):
    """Chunk number pos of the streams, time-major: inputs x (T, N[, 4]), the next words
    y (T, N), the feel and the condition (see split_columns) or None."""
    chunk = streams[:, pos * T:pos * T + T + 1].swapaxes(0, 1)  # (T+1, N, C)
    return split_columns(chunk, model_config)


def data_conditions(train_songs, config):
    """(styles, fills) for a new model: the training songs' style names, sorted, if there are
    two or more (else none: one style tells the model nothing), and whether some songs are
    fills and some not; none of either with --styles 0."""
    if not config.get("styles", 1):
        return [], False
    styles = sorted({s.style for s in train_songs if s.style is not None})
    fills = {bool(s.fill) for s in train_songs}
    return (styles if len(styles) >= 2 else []), fills == {True, False}


def style_counts(songs, songs_ids):
    """[{"name", "songs", "words"}] per style of the songs (the checkpoint keeps it)."""
    counts = collections.Counter()
    for s, ids in zip(songs, songs_ids):
        if s.style is not None:
            counts[s.style, "songs"] += 1
            counts[s.style, "words"] += len(ids)
    return [{"name": name, "songs": counts[name, "songs"], "words": counts[name, "words"]}
            for name in sorted({k[0] for k in counts})]


def song_condition(song, model_config):
    """A song's (style index, fill) for a model with style or fill inputs (else None): its
    style's index in model_config["styles"] (-1, hidden, for a style the model does not know)."""
    if not lstm.condition_size(model_config):
        return None
    styles = lstm.model_config(model_config)["styles"]
    return (styles.index(song.style) if song.style in styles else -1, int(song.fill))


def fit_batch(n_words, batch, seq, log):
    """Shrink B (then T) until every stream holds at least one chunk of T+1 words."""
    N, T = batch, seq
    while N > 1 and n_words // N < T + 1:
        N -= 1
    while T > 2 and n_words // N < T + 1:
        T //= 2
    if n_words // N < T + 1:
        raise TrainError(f"too little training data: {n_words} words")
    if (N, T) != (batch, seq):
        log(f"note: {n_words} training words are too few for batch {batch} x seq {seq}; using {N} x {T}")
    return N, T


# ----------------------------------------------------------------------------
# 3. The model and the run

def start_run(config, train_ids, resume, log, styles=(), fills=False):
    """A new Run (seeded weights and Adam), or the one a checkpoint saved, exactly as it was.
    styles, fills: the style names and whether there are fills (data_conditions)."""
    N, T = fit_batch(sum(map(len, train_ids)), config["batch"], config["seq"], log)
    model_config = {"vocab_size": len(VOCAB), "hidden": config["hidden"], "layers": config["layers"],
                  "dropout": config["dropout"], "forget_bias": config["forget_bias"], "inputs": config["inputs"],
                  "feel": bool(config["feel"]), "styles": list(styles), "fills": bool(fills),
                  "feel_memory": bool(config["feel"] and config["feel_memory"]),
                  "lookback_bars": lookback_bars(config["lookback_bars"]), "song_place": bool(config["song_place"])}
    check_memory(model_config, N, T)
    rng = np.random.default_rng(config["seed"])
    data_hash = zlib.crc32(b"".join(s.tobytes() for s in train_ids))
    if not resume:
        params = lstm.init_model(model_config, rng)
        run = Run(config, model_config, params, lstm.adam_init(params), rng, N, T)
        run.data_hash = data_hash
        return run
    checkpoint = load_run_checkpoint(resume)
    extra = checkpoint["extra"]
    missing = [k for k in RESUME_KEYS if k not in extra]
    if checkpoint["opt"] is None or checkpoint["state"] is None or missing:
        raise TrainError(f"{resume}: has no training state to resume from (Adam moments, "
                         + ", ".join(missing or ["step"]) + ")")
    model_config = {**checkpoint["config"], "form_head": False}   # (a checkpoint calls the model's sizes "config")
    for k in lstm.FORM_HEAD_KEYS:                             # the form head is fitted again at the end
        checkpoint["params"].pop(k, None)
    run = Run(config, model_config, checkpoint["params"], checkpoint["opt"], rng, checkpoint["state"][0].shape[1],
              extra["seq"])
    rng.bit_generator.state = extra["rng"]
    run.step, run.epoch, run.pos, run.lstm_state = extra["step"], extra["epoch"], extra["pos"], checkpoint["state"]
    run.schedule.lr, run.schedule.low, run.schedule.bad_evals = extra["lr"], extra["best_val"], extra["bad_evals"]
    run.best_saved, run.best_words = extra["best_saved"], extra.get("best_words")
    run.data_hash = data_hash
    if extra.get("data_hash") != data_hash:
        log("warning: the training data differs from the checkpoint's; continuing from a new epoch")
        run.epoch, run.pos, run.lstm_state = run.epoch + 1, 0, lstm.zero_state(run.model_config, run.N)
    log(f"resumed from {resume} at step {run.step} (epoch {run.epoch + 1}), lr {run.schedule.lr:g}")
    return run


class Run:
    """What a training run carries from step to step. last.npz saves all of it, so that
    --resume goes on exactly: the same data order, dropout masks and schedule."""

    def __init__(self, config, model_config, params, opt, rng, N, T):
        self.config = config                                # the hyperparameters (DEFAULTS' keys)
        self.model_config = model_config                    # the model's sizes, as lstm_drums reads them
        self.params, self.opt, self.rng = params, opt, rng  # weights, Adam's moments, the one RNG
        self.N, self.T = N, T                               # streams, steps per chunk
        self.step, self.epoch, self.pos = 0, 0, 0           # steps in all; epochs done; chunk in the epoch
        self.lstm_state = lstm.zero_state(model_config, N)  # (h, c), carried from chunk to chunk
        self.schedule = Plateau(config["lr"], config["lr_decay"], config["patience"])
        self.best_saved = None                              # best.npz's selection_figure ("best_saved" on disk)
        self.best_words = None                              # ... and its words' nats/word alone
        self.peaks = {}                                     # "words", "feel", "best.npz": (best figure, its step)
        self.history = []                                   # history.csv's rows (the file is rewritten whole)
        # the data, set by start_run() and train():
        self.data_hash = None                               # of the training words: a resume checks it
        self.train_inputs = None                            # per training song, model_inputs() of its words
        self.streams = None                                 # this epoch's (N, S, C) streams of them
        self.chunks_per_epoch = None
        self.corpus = None                                  # the training corpus's statistics
        self.valid_ids = None                               # the validation songs' word ids
        self.valid_feel = None                              # ... and their feel ids (or None each)
        self.valid_condition = None                         # ... and their (style, fill) (or None each)
        self.baselines = None                               # {name: (nats/word, accuracy)} on them
        self.feel_baselines = None                          # {name: (velocity, offset) nats/hit} on them

    def streams_of_epoch(self):
        """This epoch's streams of the training songs (epoch_streams), some with their style hidden."""
        hide = self.config["style_hide"] if self.model_config["styles"] else 0.0
        return epoch_streams(self.train_inputs, self.epoch, self.N, self.config["seed"], hide,
                             conditions=bool(lstm.condition_size(self.model_config)))

    def next_epoch(self):
        self.epoch, self.pos = self.epoch + 1, 0
        self.streams = self.streams_of_epoch()
        self.lstm_state = lstm.zero_state(self.model_config, self.N)

    def epochs_done(self):
        return self.epoch + self.pos / self.chunks_per_epoch

    def record(self):
        """The run as a checkpoint's extra. (On disk, the schedule's low is "best_val" and
        best.npz's figure "best_saved".)"""
        return {"step": self.step, "epoch": self.epoch, "pos": self.pos, "seq": self.T,
                "lr": self.schedule.lr, "best_val": self.schedule.low, "bad_evals": self.schedule.bad_evals,
                "best_saved": self.best_saved, "best_words": self.best_words, "rng": self.rng.bit_generator.state,
                "data_hash": self.data_hash, "train_config": self.config, "corpus": self.corpus}


class Plateau:
    """The learning-rate schedule: multiply lr by `decay` after `patience` evaluations in a row
    without a new low (PyTorch's ReduceLROnPlateau, in small). Only the evaluations on the
    --eval-every schedule count, so a run stopped between two of them and resumed goes on
    exactly as one that never stopped."""

    def __init__(self, lr, decay, patience, low=None, bad_evals=0):
        self.lr, self.decay, self.patience = lr, decay, patience
        self.low, self.bad_evals = low, bad_evals           # the lowest figure seen; evaluations since

    def update(self, val):
        """Record one evaluation's nats/word; True if it lowered the learning rate."""
        if self.low is None or val < self.low:
            self.low, self.bad_evals = val, 0
            return False
        self.bad_evals += 1
        if self.decay < 1 and self.bad_evals % self.patience == 0:
            self.lr *= self.decay
            return True
        return False


# ----------------------------------------------------------------------------
# 4. The training loop

def train(config, train_songs, valid_songs, out, resume=None, log=print):
    """The training run; returns the summary dict printed as the last line.

    config: the hyperparameters (DEFAULTS' keys). train_songs / valid_songs: lists of
    corpus.Song. out: the folder for best.npz, last.npz and history.csv/.svg (one run at
    a time per folder). resume: a last.npz to continue from.
    """
    if not (config["steps"] or config["epochs"] or config["minutes"]):
        raise TrainError("no stopping rule: give --steps, --epochs or --minutes")
    train_ids = [to_ids(s.words) for s in train_songs]
    valid_songs = [s for s in valid_songs if len(s.words) >= 2]
    valid_ids = [to_ids(s.words) for s in valid_songs]
    styles, fills = data_conditions(train_songs, config)
    with run_folder(out):
        run = start_run(config, train_ids, resume, log, styles, fills)
        if resume:
            run.history = read_history(os.path.join(out, "history.csv"), run.step)  # its rows up to here
        # what the model reads, song by song, and the epoch's order of songs as N streams
        run.train_inputs = [model_inputs(ids, run.model_config, s.feel, song_condition(s, run.model_config))
                            for ids, s in zip(train_ids, train_songs)]
        run.streams = run.streams_of_epoch()
        run.chunks_per_epoch = (run.streams.shape[1] - 1) // run.T
        if run.chunks_per_epoch < 1:
            raise TrainError(f"too little training data for {run.N} streams of {run.T} steps: "
                             f"{sum(map(len, train_ids))} words")
        # the training corpus, kept in every checkpoint (generate.py compares its tracks with it),
        # and the two baselines the validation figures are judged by
        counts = np.bincount(np.concatenate(train_ids), minlength=len(VOCAB))
        run.corpus = {"stats": corpus.song_stats([s.words for s in train_songs]), "unigram": counts.tolist(),
                      "repeat_rate": repeat_rate_of(train_ids), "styles": style_counts(train_songs, train_ids),
                      "song_bars": song_lengths(train_ids), "longest_run": lstm.longest_run(train_ids)}
        run.valid_ids, run.valid_feel = valid_ids, [s.feel for s in valid_songs]
        run.valid_condition = [song_condition(s, run.model_config) for s in valid_songs]
        run.baselines = baselines(valid_ids, counts, run.corpus["repeat_rate"]) if valid_ids else {}
        if run.model_config["feel"]:                        # the feel's figures and baselines too
            with_feel = [(s.words, s.feel) for s in train_songs if s.feel is not None]
            run.corpus["feel_stats"] = corpus.feel_stats([w for w, _ in with_feel], [f for _, f in with_feel])
            valid_hits = [song_hits(ids, f) for ids, f in zip(valid_ids, run.valid_feel) if f is not None]
            if valid_hits:
                train_hits = [song_hits(to_ids(w), f) for w, f in with_feel]
                run.feel_baselines = feel_baselines(train_hits, valid_hits)
        describe(run, train_songs, valid_songs, train_ids, counts, log)
        summary = train_loop(run, out, log)
        if not summary["interrupted"] and counts[END_ID] and os.path.exists(os.path.join(out, "best.npz")):
            add_form_head(os.path.join(out, "best.npz"), train_songs, valid_songs, log)
        return summary


def train_loop(run, out, log):
    """Train step by step until a stopping rule says stop (or Ctrl-C), evaluating every
    eval_every steps; then evaluate once more and save last.npz. Returns the summary."""
    config = run.config
    t_start, train_time, start_step = time.time(), 0.0, run.step
    loss_value, val = float("nan"), None
    with ctrl_c_as_a_flag() as interrupted:
        while True:
            # stop? (--steps and --epochs count the whole run, --minutes this invocation)
            if interrupted or time_to_stop(run, time.time() - t_start):
                break
            # a new epoch: the songs in a new order, and a zero state
            if run.pos >= run.chunks_per_epoch:
                run.next_epoch()
                continue
            t0 = time.perf_counter()
            loss_value = train_next_chunk(run)
            train_time += time.perf_counter() - t0
            if run.step % config["log_every"] == 0:
                log_progress(run, loss_value, start_step, time.time() - t_start, train_time, log)
            # evaluate: these scheduled evaluations drive the learning rate and early stopping
            if run.step % config["eval_every"] == 0:
                val = scheduled_evaluation(run, out, loss_value, log)
                if val is not None and config["early_stop"] and run.schedule.bad_evals >= config["early_stop"]:
                    log(f"step {run.step}: early stop, {run.schedule.bad_evals} evaluations without improvement")
                    break
    last_path = finish_run(run, out, interrupted, loss_value, val, start_step, log)
    best_path = os.path.join(out, "best.npz")
    return {"best_val_nats_per_word": run.best_words, "best_val_words_and_feel": run.best_saved,
            "train_words_per_s": round((run.step - start_step) * run.N * run.T / train_time) if train_time else 0,
            "steps": run.step, "checkpoint": best_path if os.path.exists(best_path) else last_path,
            "interrupted": bool(interrupted)}


def train_next_chunk(run):
    """One training step on the next chunk: forward, backward, clip, update. Returns the loss."""
    config = run.config
    chunk = chunk_at(run.streams, run.pos, run.T, run.model_config)  # x (T, N[, 4]), y (T, N), ...
    masks = lstm.make_dropout_masks(run.model_config, run.T, run.N, run.rng)
    if config["feel_hide"] > 0 and chunk.feel is not None:  # some streams read this chunk without feel
        hidden = run.rng.random(run.N) < config["feel_hide"]
        feel_x, targets, memory = chunk.feel
        chunk = chunk._replace(feel=(np.where(hidden[None, :, None], 0.0, feel_x).astype(np.float32), targets,
                                     None if memory is None else np.where(hidden[None, :, None], -1, memory)))
    if config.get("plain"):                         # the textbook core: new arrays each step
        loss_value, run.lstm_state, run.params, run.opt = plain_train_step(
            run.params, run.opt, chunk, run.lstm_state, masks, config["clip"], run.schedule.lr)
    else:
        loss_value, run.lstm_state = train_step(run.params, run.opt, chunk, run.lstm_state, masks,
                                                config["clip"], run.schedule.lr, config["feel_weight"])
    run.step, run.pos = run.step + 1, run.pos + 1
    if not math.isfinite(loss_value):
        raise diverged(run)
    return loss_value


def log_progress(run, loss_value, start_step, elapsed, train_time, log):
    """The line logged every log_every steps: the loss, the speed, the time so far and left."""
    log(f"step {run.step:6d} | epoch {run.epochs_done():6.2f} | train loss {loss_value:.4f} | "
        f"{(run.step - start_step) * run.N * run.T / train_time:7.0f} words/s | "
        f"elapsed {format_duration(elapsed)} | "
        f"ETA {format_duration(seconds_left(run, start_step, elapsed))}")


def scheduled_evaluation(run, out, loss_value, log):
    """An evaluation on the schedule: it may lower the learning rate, keeps the best checkpoint
    and writes the history. Returns the validation figures (None without validation songs)."""
    val = evaluate(run, log)
    if val is not None:
        if run.schedule.update(selection_figure(val)):
            log(f"step {run.step}: no improvement in {run.config['patience']} evaluations; "
                f"lr -> {run.schedule.lr:g}")
        keep_if_best(run, out, val)
    record_history(run, out, loss_value, val)
    return val


def finish_run(run, out, interrupted, loss_value, val, start_step, log):
    """The end: save where Ctrl-C stopped, or evaluate the last step too (off the schedule) and
    save. Returns the path of last.npz."""
    if interrupted:
        last_path = save(run, out, "last.npz")
        log(f"interrupted at step {run.step}: saved {last_path}; continue with --resume {last_path}")
        return last_path
    if run.step % run.config["eval_every"] != 0 or run.step == start_step:
        val = evaluate(run, log)
        if val is not None:
            keep_if_best(run, out, val)
            record_history(run, out, loss_value, val)
    last_path = save(run, out, "last.npz", selection_figure(val) if val else None)
    if not run.valid_ids:
        save(run, out, "best.npz")                      # no validation: the last is the best
    peaks = run.peaks
    if "feel" in peaks and len({peaks[k][1] for k in ("words", "feel", "best.npz")}) > 1:
        log(f"the words were best at step {peaks['words'][1]} ({peaks['words'][0]:.4f} nats/word), the feel at "
            f"step {peaks['feel'][1]} ({peaks['feel'][0]:.4f}); best.npz is step {peaks['best.npz'][1]}, the best "
            f"of the two together ({peaks['best.npz'][0]:.4f})")
    return last_path


def train_step(params, opt, chunk, lstm_state, masks, clip, lr, feel_weight=1.0):
    """One Chunk: forward, loss, backward, clip, Adam. Returns (loss, the state to carry on).
    With feel, the loss is the words' and the feel's, per word (lstm_drums.loss).
    Overflow is not warned about: a diverging loss is caught by the caller, in one line."""
    x, y, feel, cond_x = chunk
    with np.errstate(over="ignore", invalid="ignore"):
        value, grads, lstm_state = lstm.loss(params, x, y, lstm_state, masks, feel, feel_weight, cond_x)
    lstm.clip_gradients_fast(grads, clip)
    lstm.adam_update_fast(params, grads, opt, lr=lr)
    return value, lstm_state


def plain_train_step(params, opt, chunk, lstm_state, masks, clip, lr):
    """train_step with the plain core (lstm_drums sections 1-5), for --plain: the word enters as
    a one-hot row, and every function returns new arrays. Returns (loss, state, params, opt)."""
    x, y = chunk.x, chunk.y
    with np.errstate(over="ignore", invalid="ignore"):
        value, grads, lstm_state = lstm.model_loss(params, lstm.one_hot(x, len(VOCAB)), y, lstm_state, masks)
    grads, _ = lstm.clip_gradients(grads, clip)
    params, opt = lstm.adam_update(params, grads, opt, lr=lr)
    return value, lstm_state, params, opt


def time_to_stop(run, elapsed):
    """Whether a stopping rule is met: --steps, --epochs (the whole run), --minutes (this invocation)."""
    c = run.config
    return bool((c["steps"] and run.step >= c["steps"]) or (c["epochs"] and run.epoch >= c["epochs"])
                or (c["minutes"] and elapsed >= 60 * c["minutes"]))


def describe(run, train_songs, valid_songs, train_ids, counts, log):
    """The lines that open a run: the data, the held-out songs, the baselines, the model."""
    plural = lambda n, word: f"{n} {word}{'' if n == 1 else 's'}"
    log(f"data: {plural(len(train_songs), 'training song')} ({sum(map(len, train_ids))} words), "
        f"{plural(len(valid_songs), 'validation song')} ({sum(map(len, run.valid_ids))} words), "
        f"vocabulary {len(VOCAB)} words ({int((counts > 0).sum())} used in training)")
    if valid_songs:
        names = [os.path.basename(s.name) for s in valid_songs]
        log("validation: " + ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else ""))
    if run.baselines:
        log("baselines on the validation songs: " + ", ".join(f"{k} {v[0]:.4f}" for k, v in run.baselines.items())
            + " nats/word (the model should go below both)")
    if run.feel_baselines:
        log("feel baselines on the validation hits (velocity, offset nats/hit): " + "; ".join(
            f"{name} {v:.4f}, {o:.4f}" for name, (v, o) in run.feel_baselines.items())
            + f" (uniform {math.log(lstm.VELOCITY_LEVELS):.4f}, {math.log(lstm.OFFSET_LEVELS):.4f})")
    model_config = run.model_config
    if model_config["styles"]:
        log(f"styles: {len(model_config['styles'])} (" + ", ".join(
            f"{x['name']} {x['songs']}" for x in run.corpus["styles"]) + " songs)"
            + (f"; fills: {sum(s.fill for s in train_songs)} songs" if model_config["fills"] else "")
            + f"; {run.config['style_hide']:g} of the songs read with the style hidden each epoch")
    log(f"model: {model_config['layers']} x {model_config['hidden']} LSTM, {model_config['inputs']} inputs"
        f"{' and feel (inputs and head)' if model_config['feel'] else ''}, "
        f"{sum(p.size for p in run.params.values()):,} parameters; batch {run.N} x seq {run.T} = "
        f"{run.N * run.T} words/step, {run.chunks_per_epoch} steps/epoch")
    log(f"loss to expect at step 0: ln V = ln {len(VOCAB)} = {math.log(len(VOCAB)):.3f} nats/word")


def preview(params, model_config, seed, step, n_words=40):
    """A short sample from the model, as a drum tab of its complete bars (or as words)."""
    rng = np.random.default_rng([seed, step, 1])               # not the training RNG
    ids, _ = lstm.sample_bars(params, model_config, [BAR_ID], n_words // 17 + 1, rng, lstm.Sampling(free=True))
    words = [VOCAB[i] for i in ids]
    words = [w for k, w in enumerate(words) if w != encoding.BAR or (k > 0 and words[k - 1] != encoding.BAR)]
    if words[:1] == [encoding.BAR]:                            # a BAR that closes no step is no bar
        words = words[1:]
    if encoding.BAR in words:
        words = words[:len(words) - words[::-1].index(encoding.BAR)]
        try:
            return encoding.bars_to_tab(encoding.words_to_bars(words))
        except encoding.CodecError:
            pass
    return " ".join(words)


# ----------------------------------------------------------------------------
# 5. Evaluation: whole songs, and simple baselines beside them

def evaluate(run, log):
    """Score the validation songs and log the figures and a short sample. Returns the metrics
    dict (None without validation songs); TrainError if the weights have diverged."""
    check_finite(run)
    if not run.valid_ids:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        logp, correct, targets, feel = score_songs(run.params, run.model_config, run.valid_ids,
                                                   songs_feel=run.valid_feel, songs_condition=run.valid_condition)
    val = metrics(logp, correct, targets)
    if not val["nats_per_word"] < 10 * math.log(len(VOCAB)):  # ten times a uniform guess: diverged
        raise diverged(run, f"validation {val['nats_per_word']:g} nats/word, ")
    log(f"step {run.step}: val {val['nats_per_word']:.4f} nats/word, perplexity {val['perplexity']:.2f}, "
        f"accuracy {val['accuracy']:.3f} (events {val['event_accuracy']:.3f}, "
        f"silence {val['no_event_accuracy']:.3f}); "
        + ", ".join(f"{k} {v[0]:.4f}" for k, v in run.baselines.items()))
    if run.model_config["styles"]:                          # what the style is worth: the same songs without it
        with np.errstate(over="ignore", invalid="ignore"):
            hidden = metrics(*score_songs(run.params, run.model_config, run.valid_ids, songs_feel=run.valid_feel,
                                          songs_condition=hide_styles(run.valid_condition))[:3])
        val["nats_per_word_style_hidden"] = hidden["nats_per_word"]
        log(f"step {run.step}: val with the style hidden {hidden['nats_per_word']:.4f} nats/word "
            f"({hidden['nats_per_word'] - val['nats_per_word']:+.4f})")
    if feel is not None and feel["hits"]:
        val.update(feel_metrics(feel, val["words"]))
        base = run.feel_baselines or {}
        log(f"step {run.step}: feel {val['velocity_nats_per_hit']:.4f} nats/hit velocity, "
            f"{val['offset_nats_per_hit']:.4f} offset, on {val['hits']} hits"
            + "".join(f"; {name} {v:.4f}, {o:.4f}" for name, (v, o) in base.items()))
        log(f"step {run.step}: words and feel {selection_figure(val):.4f} nats/word (best.npz and the "
            "learning rate follow this figure)")
    log(preview(run.params, run.model_config, run.config["seed"], run.step))
    return val


def score_songs(params, model_config, songs_ids, chunk=256, songs_feel=None, songs_condition=None):
    """Score whole songs: each from a zero state, every word after the first predicted
    from the words before it. The songs run side by side as N streams, longest first, and
    a song that has ended drops out: the streams still running are always the first n.
    (Padding every song to the longest would cost several times the work on songs of
    very different lengths.)

    Returns (logp, correct, targets, feel): 1-D arrays over all predicted words, song by
    song in the order given, with the log-probability (nats, float64) the model gave each
    target, and whether its argmax hit; and for a feel model the feel's negative
    log-likelihood summed over the predicted hits, {"velocity", "offset", "hits"} (else None).
    songs_feel: per song its feel ids (S, 18) or None; songs_condition: per song its
    (style index, fill) (song_condition), for a model with style or fill inputs.
    """
    order = sorted(range(len(songs_ids)), key=lambda k: -len(songs_ids[k]))  # longest first
    lengths = np.array([len(songs_ids[k]) for k in order])    # (N,) falling
    N, Tmax = len(order), int(lengths[0])
    kind, feel = lstm.model_config(model_config)["inputs"], lstm.model_config(model_config)["feel"]
    songs_feel = songs_feel or [None] * len(songs_ids)
    songs_condition = songs_condition or [None] * len(songs_ids)
    rows = [model_inputs(np.asarray(songs_ids[k]), model_config, songs_feel[k], songs_condition[k])
            for k in order]                                   # each its own

    inputs = np.zeros((Tmax, N) + rows[0].shape[1:], dtype=np.int64)  # (Tmax, N, C), padded after the end
    if feel:
        inputs[..., lstm.row_columns(model_config)["x0"].stop:] = -1  # the padding has no feel (nor style)
    for n, r in enumerate(rows):
        inputs[:lengths[n], n] = r
    h, c = lstm.zero_state(model_config, N, params["Wy"].dtype)  # (L, N, H) each
    logp = np.zeros((Tmax - 1, N))
    hit = np.zeros((Tmax - 1, N), dtype=bool)
    feel_sums = np.zeros(3)                                   # velocity nats, offset nats, hits
    for t0 in range(0, Tmax - 1, chunk):
        n = int((lengths - 1 > t0).sum())                     # the songs with a target in this chunk
        t1 = min(t0 + chunk, Tmax - 1)
        x, y, feel_batch, cond_x = split_columns(inputs[t0:t1 + 1, :n], model_config)  # (T, n[, 4]), (T, n)
        dense_x = lstm.dense_inputs(cond_x, None if feel_batch is None else feel_batch[0])
        logits, (h, c), cache = lstm.model_forward_fast(params, x, (h[:, :n], c[:, :n]), None, dense_x)  # (T, n, V)
        z = logits.astype(np.float64)
        z -= z.max(axis=2, keepdims=True)                      # max-subtracted log-softmax
        lse = np.log(np.exp(z).sum(axis=2))                    # (T, n)
        logp[t0:t1, :n] = np.take_along_axis(z, y[..., None], axis=2)[..., 0] - lse
        hit[t0:t1, :n] = logits.argmax(axis=2) == y
        if feel_batch is not None:
            feel_sums += lstm.feel_loss(params, cache.top, y, feel_batch[1], memory=feel_batch[2])[1]
    back = np.argsort(order)                                   # the songs' given order
    valid = (np.arange(1, Tmax)[:, None] < lengths[None, :]).T[back]  # (N, Tmax-1) real targets
    ids = inputs[1:, :, 0]
    feel_result = dict(zip(("velocity", "offset", "hits"), feel_sums.tolist())) if feel else None
    return logp.T[back][valid], hit.T[back][valid], ids.T[back][valid], feel_result


def metrics(logp, correct, targets):
    """nats/word, perplexity and accuracies from score_songs' arrays."""
    event = targets != SILENCE_ID                            # a hit (or BAR), not the silent step
    nats = float(-logp.mean())                               # the mean negative log-likelihood
    return {"nats_per_word": round(nats, 4), "perplexity": round(math.exp(min(nats, 700.0)), 3),
            "accuracy": round(float(correct.mean()), 4),
            "event_accuracy": round(float(correct[event].mean()) if event.any() else 0.0, 4),
            "no_event_accuracy": round(float(correct[~event].mean()) if (~event).any() else 0.0, 4),
            "words": int(len(targets))}


def feel_metrics(feel, words):
    """Nats per hit for the velocity and the offset, from score_songs' feel sums, and the two
    together per predicted word (words of them), the feel's share of the model's likelihood."""
    n = max(feel["hits"], 1)
    return {"velocity_nats_per_hit": round(feel["velocity"] / n, 4),
            "offset_nats_per_hit": round(feel["offset"] / n, 4), "hits": int(feel["hits"]),
            "feel_nats_per_word": round((feel["velocity"] + feel["offset"]) / max(words, 1), 4)}


def selection_figure(val):
    """What picks best.npz and drives the learning rate: the validation negative log-likelihood per
    word of all that the model predicts, the words and, for a feel model, the feel of their hits
    (the loss it trains on with --feel-weight 1). A model that plays the feel is chosen for it too."""
    return round(val["nats_per_word"] + val.get("feel_nats_per_word", 0.0), 4)


def recorded_baselines(checkpoint):
    """The training words' counts (V,) and repeat rate the checkpoint keeps, for baselines; ones and 0.5
    where it keeps none that can be used (a checkpoint from elsewhere may say anything there)."""
    trained_on = checkpoint["extra"].get("corpus")
    trained_on = trained_on if isinstance(trained_on, dict) else {}
    counts, rate = trained_on.get("unigram"), trained_on.get("repeat_rate")
    if not (isinstance(counts, list) and len(counts) == len(VOCAB)
            and all(type(c) in (int, float) and 0 <= c < 1e18 for c in counts)):
        counts = np.ones(len(VOCAB))
    return counts, (rate if type(rate) in (int, float) and 0 < rate < 1 else 0.5)


def baselines(songs_ids, unigram_counts, repeat_rate):
    """Two simple predictors on the same words as score_songs (each word after the first).

    unigram:  p(w) = (count(w) + 1) / (total + V), the training corpus's word frequencies.
    repeat:   "the word one bar back": p(w) = r [w == back] + (1 - r) unigram(w), where back
              is the word at the same place in the previous bar (BAR included) and r the
              training corpus's rate of such repeats; plain unigram where there is no back.
    Returns {name: (nats_per_word, accuracy)}.
    """
    counts = np.asarray(unigram_counts, dtype=np.float64) + 1.0
    uni = counts / counts.sum()                                # (V,)
    w = np.concatenate([ids[1:] for ids in songs_ids])         # every predicted word
    back = np.concatenate([bar_back(ids)[1:] for ids in songs_ids])  # its word one bar back, or -1
    p_uni = uni[w]
    p_rep = np.where(back < 0, p_uni, repeat_rate * (w == back) + (1 - repeat_rate) * p_uni)
    guess_uni = np.argmax(uni)                                 # the unigram's one guess
    guess_rep = np.where(back < 0, guess_uni, back)
    return {"unigram": (-float(np.log(p_uni).mean()), float((w == guess_uni).mean())),
            "repeat one bar back": (-float(np.log(p_rep).mean()), float((w == guess_rep).mean()))}


def bar_back(ids):
    """For each position, the id at the same place in the previous bar (-1 if none).

    A bar's place j runs 0..len(bar), the last being its BAR, so BAR is predicted too. It is
    the one-bar-back input of the step that predicts the word (lstm_drums.lookback_inputs,
    one row earlier), so the baseline and the model mean the same by "one bar back".
    """
    none = len(VOCAB)
    back = np.concatenate([[none], lstm.lookback_inputs(ids, BAR_ID, none)[:-1, 1]])  # (S,)
    return np.where(back == none, -1, back)


def song_lengths(songs_ids):
    """The bars of each whole song (one that ends in END), shortest first: generate.py --song plays
    no song shorter than the shortest."""
    return sorted(int(lstm.bar_lines(ids, BAR_ID)[2].sum()) for ids in songs_ids if len(ids) and ids[-1] == END_ID)


def repeat_rate_of(songs_ids):
    """The share of words equal to the word one bar back, where there is one, add-one
    smoothed: never 0 or 1, so the repeat baseline never gives a word probability 0 (a
    corpus of one loop repeated would otherwise score infinity on any change)."""
    same = total = 0
    for ids in songs_ids:
        b = bar_back(ids)
        have = b >= 0
        same += int((ids[have] == b[have]).sum())
        total += int(have.sum())
    return (same + 1) / (total + 2)


def song_hits(ids, feel_ids):
    """Every hit of a song that a model predicts (not the first word's), as arrays over the
    hits: class k, place in the bar, velocity and offset level, and the velocity and offset
    level of the same drum at the same place one bar back (-1 where it did not play)."""
    src, p = lstm.lookback_sources(ids, BAR_ID)                # row t: the place of w_{t+1}, its look-back
    j, k = np.nonzero(feel_ids[1:, :lstm.N_CLASSES] >= 0)      # word j + 1 plays class k
    back = src[j, 0]                                           # (hits,) index one bar back, or -1
    back_levels = np.where((back >= 0)[:, None], feel_ids[np.maximum(back, 0)], -1)  # (hits, 18)
    off = lstm.N_CLASSES + k                                   # (hits,) the offset column of each hit's class
    return {"k": k, "place": np.minimum(p[j], lstm.MAX_POSITION),
            "velocity": feel_ids[j + 1, k], "offset": feel_ids[j + 1, off],
            "back_velocity": back_levels[np.arange(len(k)), k], "back_offset": back_levels[np.arange(len(k)), off]}


def feel_baselines(train_hits, valid_hits):
    """Two simple predictors of each hit's velocity and offset level, in nats per hit on the
    validation hits: 'histogram', the (class, place in bar) histogram of the training hits,
    add-one smoothed; and 'one bar back', the level the same drum played at the same place
    one bar back with the training hits' rate r of such repeats, else the histogram:
    p = r [level == back] + (1 - r) histogram. Returns {name: (velocity, offset)}."""
    cat = lambda hits, key: np.concatenate([h[key] for h in hits])
    k, place = cat(train_hits, "k"), cat(train_hits, "place")
    vk, vplace = cat(valid_hits, "k"), cat(valid_hits, "place")
    result = {"histogram": [], "one bar back": []}
    for what, levels in (("velocity", lstm.VELOCITY_LEVELS), ("offset", lstm.OFFSET_LEVELS)):
        counts = np.ones((lstm.N_CLASSES, lstm.MAX_POSITION + 1, levels))    # add-one
        np.add.at(counts, (k, place, cat(train_hits, what)), 1)
        hist = counts / counts.sum(axis=2, keepdims=True)                    # (9, 64, levels)
        level, back = cat(valid_hits, what), cat(valid_hits, "back_" + what)
        p_hist = hist[vk, vplace, level]
        train_back, train_level = cat(train_hits, "back_" + what), cat(train_hits, what)
        have = train_back >= 0
        r = (int((train_level[have] == train_back[have]).sum()) + 1) / (int(have.sum()) + 2)
        p_back = np.where(back >= 0, r * (level == back) + (1 - r) * p_hist, p_hist)
        result["histogram"].append(-float(np.log(p_hist).mean()) if len(level) else float("nan"))
        result["one bar back"].append(-float(np.log(p_back).mean()) if len(level) else float("nan"))
    return {name: tuple(v) for name, v in result.items()}


def hide_styles(conditions):
    """The songs' conditions with every style hidden (-1), the fills kept."""
    return [None if c is None else (-1, c[1]) for c in conditions]


def evaluate_checkpoint(path, songs, log=print):
    """--eval: score a checkpoint on songs, next to the unigram and repeat baselines."""
    checkpoint = load_run_checkpoint(path)
    songs = [s for s in songs if len(s.words) >= 2]
    if not songs:
        raise TrainError("no song with two or more words to score")
    songs_ids = [to_ids(s.words) for s in songs]
    conditions = [song_condition(s, checkpoint["config"]) for s in songs]
    logp, correct, targets, feel = score_songs(checkpoint["params"], checkpoint["config"], songs_ids,
                                               songs_feel=[s.feel for s in songs], songs_condition=conditions)
    result = metrics(logp, correct, targets)
    counts, repeat_rate = recorded_baselines(checkpoint)
    base = baselines(songs_ids, counts, repeat_rate)
    log(f"{path} on {len(songs_ids)} songs, {result['words']} words predicted:")
    log(f"  {'model':<22} {result['nats_per_word']:.4f} nats/word, perplexity {result['perplexity']:.2f}, "
        f"accuracy {result['accuracy']:.3f} (events {result['event_accuracy']:.3f}, "
        f"silence {result['no_event_accuracy']:.3f})")
    if checkpoint["config"]["styles"]:
        hidden = metrics(*score_songs(checkpoint["params"], checkpoint["config"], songs_ids,
                                      songs_feel=[s.feel for s in songs], songs_condition=hide_styles(conditions))[:3])
        result["nats_per_word_style_hidden"] = hidden["nats_per_word"]
        log(f"  {'model, style hidden':<22} {hidden['nats_per_word']:.4f} nats/word, perplexity "
            f"{hidden['perplexity']:.2f}, accuracy {hidden['accuracy']:.3f}")
    for name, (nats, acc) in base.items():
        log(f"  {name:<22} {nats:.4f} nats/word, perplexity {math.exp(nats):.2f}, accuracy {acc:.3f}")
    if feel is not None and feel["hits"]:
        result.update(feel_metrics(feel, result["words"]))
        log(f"  feel of {int(feel['hits'])} hits, nats/hit: model velocity {result['velocity_nats_per_hit']:.4f}, "
            f"offset {result['offset_nats_per_hit']:.4f}; words and feel {selection_figure(result):.4f} nats/word")
    return result


# ----------------------------------------------------------------------------
# 6. Checkpoints: best.npz, last.npz

def keep_if_best(run, out, val):
    """Save best.npz if this evaluation is the best of the run so far (selection_figure), and
    note the step where the words and the feel, each alone, were best."""
    for name, figure in (("words", val["nats_per_word"]), ("feel", val.get("feel_nats_per_word"))):
        if figure is not None and (name not in run.peaks or figure < run.peaks[name][0]):
            run.peaks[name] = (figure, run.step)
    if run.best_saved is None or selection_figure(val) < run.best_saved:
        run.best_saved = selection_figure(val)
        run.best_words = val["nats_per_word"]
        run.peaks["best.npz"] = (run.best_saved, run.step)
        save(run, out, "best.npz", run.best_saved)


def save(run, out, name, val=None):
    """Write the run to out/name (atomically: a crash leaves the old file); returns the path."""
    check_finite(run)
    path = os.path.join(out, name)
    lstm.save_checkpoint(path, run.params, run.model_config, VOCAB, run.opt,
                      extra=dict(run.record(), val_nats=val), state=run.lstm_state)
    return path


# What --resume needs from a checkpoint's extra (Run.record).
RESUME_KEYS = ("step", "epoch", "pos", "lr", "seq", "best_val", "best_saved", "bad_evals", "rng", "train_config")


# The form head (lstm_drums section 12) is fitted after training, on best.npz's LSTM, which it
# reads and does not change: the run ends, then best.npz is written again with the head.

def bar_line_tops(params, model_config, song):
    """A song's top-layer output at each bar line (after the BAR closing bar i - 1, i = 1, 2, ...;
    the last bar's too if the song ended), read from a zero state as score_songs reads it:
    (lines, H), float64."""
    ids = to_ids(song.words)
    rows = model_inputs(ids, model_config, song.feel, song_condition(song, model_config))   # (S, C)
    x, _, feel_batch, cond_x = split_columns(rows[:, None], model_config)                   # one stream
    dense_x = lstm.dense_inputs(cond_x, None if feel_batch is None else feel_batch[0])
    state = lstm.zero_state(model_config, 1, params["Wy"].dtype)
    _, _, cache = lstm.model_forward_fast(params, x, state, None, dense_x)
    closes = np.flatnonzero(lstm.bar_lines(ids, BAR_ID)[2])          # each bar's closing BAR
    lines = closes if ids[-1] == END_ID else closes[:-1]              # (an END follows the last)
    return cache.top[lines, 0].astype(np.float64)                     # (row t has read word t)


def form_inputs(params, model_config, songs):
    """lstm_drums.form_head_inputs of songs as the model reads them."""
    songs = [s for s in songs if len(s.words) >= 2]
    return lstm.form_head_inputs([bar_line_tops(params, model_config, s) for s in songs],
                                 [lstm.bar_keys(to_ids(s.words)) for s in songs],
                                 [s.words[-1] == encoding.END for s in songs])


def fit_form(params, model_config, train_songs, valid_songs):
    """The form head fitted on the training songs; returns (head, figures): its nats per bar line on
    the training and validation songs, and the validation songs' share of bars played again."""
    fitted_on = form_inputs(params, model_config, train_songs)
    if not len(fitted_on[-1]):
        return None, {}
    head = lstm.fit_form_head(*fitted_on)
    figures = {"bar_lines": len(fitted_on[-1]), "train_nats_per_bar": lstm.form_loss(head, *fitted_on, l2=0)[0]}
    held_out = form_inputs(params, model_config, valid_songs)
    if len(held_out[-1]):
        figures["valid_nats_per_bar"] = lstm.form_loss(head, *held_out, l2=0)[0]
        before_a_bar = held_out[-1][held_out[-1] != 1]                       # (0 new, 1 END, 2+ again)
        figures["valid_again"] = float(np.mean(before_a_bar >= 2))
    return head, figures


def add_form_head(path, train_songs, valid_songs, log):
    """Fit the form head to the model in path and write it in, atomically."""
    checkpoint = load_run_checkpoint(path)
    config = {**checkpoint["config"], "form_head": False}
    head, figures = fit_form(checkpoint["params"], config, train_songs, valid_songs)
    if head is None:
        log("form head: not fitted (no bar line in the training songs to learn from)")
        return
    params = {**checkpoint["params"], **{k: v.astype(np.float32) for k, v in head.items()}}
    lstm.save_checkpoint(path, params, {**config, "form_head": True}, VOCAB, checkpoint["opt"],
                         checkpoint["extra"], checkpoint["state"])
    held_out = (f"; validation songs {figures['valid_nats_per_bar']:.3f} (a bar played again at "
                f"{100 * figures['valid_again']:.0f}% of their bar lines)" if "valid_nats_per_bar" in figures else "")
    log(f"form head: fitted on {figures['bar_lines']} bar lines of the training songs, "
        f"{figures['train_nats_per_bar']:.3f} nats per bar line{held_out}; written into {path}")


def load_run_checkpoint(path):
    """A checkpoint made by this train.py (its fixed vocabulary), or CheckpointError."""
    return lstm.load_checkpoint(path, vocab=VOCAB)


def check_finite(run):
    """TrainError if a weight is not finite (before it could be saved)."""
    if not all(np.isfinite(p).all() for p in run.params.values()):
        raise diverged(run)


def diverged(run, detail=""):
    """The one-line error of a run whose loss went to infinity or NaN."""
    return TrainError(f"the loss diverged by step {run.step} ({detail}lr {run.schedule.lr:g}); try a smaller --lr; "
                      "the last good checkpoint is kept")


# ----------------------------------------------------------------------------
# 7. Command line

def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Train the lstm-drums LSTM on drum MIDI files or word corpora, or score a checkpoint.",
        epilog="examples:\n"
               "  python train.py                                  # the demo grooves, a small model\n"
               "  python train.py MIDI_DIR --preset lstmetallica --minutes 30\n"
               "  python train.py --resume runs/default/last.npz --steps 3000\n"
               "  python train.py --eval runs/default/best.npz SONGS.txt\n"
               "The last line printed is one JSON object.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", nargs="*", metavar="DATA",
                   help="MIDI files, folders (recursive) and word files (.txt, one song per line); "
                        "default: the demo grooves in data/demo")
    p.add_argument("--valid", nargs="+", metavar="DATA", help="validation songs (default: hold out "
                   "--valid-fraction of the songs, whole songs, seeded)")
    p.add_argument("--out", default=DEFAULT_OUT, help="folder for best.npz, last.npz, history.csv "
                   "(default runs/default)")
    p.add_argument("--resume", metavar="CKPT", help="continue a run exactly from its last.npz")
    p.add_argument("--eval", metavar="CKPT", help="score CKPT on DATA (no training)")
    p.add_argument("--split", metavar="NAME", help="with --eval: score only the songs of this split of the "
                   "data's info.csv (e.g. validation)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="a named set of hyperparameters; "
                   "lstmetallica = the seed's 3 x 512 model")
    p.add_argument("--all-channels", action="store_true", help="take drum notes from every MIDI channel")
    p.add_argument("--compat", action="store_true", help="encode MIDI with the original LSTMetallica rules "
                   "(480 ticks/beat, BAR every 16 steps) instead of the metre-aware default")
    p.add_argument("--plain", action="store_true", help="train with the plain core of lstm_drums.py (sections "
                   "1-5: new arrays, the word as a one-hot row), the textbook model: implies --inputs word --feel 0 "
                   "--styles 0 --song-place 0; the same losses as without it, slower")
    p.add_argument("--threads", type=int, choices=range(1, 65), metavar="N",
                   help="BLAS threads (default: 2 for a model of 256+ hidden units when both cores are idle "
                        "now, else 1; OPENBLAS_NUM_THREADS also sets it)")
    for key, (value, meaning) in HYPERPARAMETERS.items():
        preset = f"; lstmetallica: {PRESETS['lstmetallica'][key]}" if key in PRESETS["lstmetallica"] else ""
        choices = lstm.INPUT_KINDS if key == "inputs" else None
        p.add_argument("--" + key.replace("_", "-"), type=type(value), default=None, choices=choices,
                       metavar="|".join(choices) if choices else type(value).__name__.upper(),
                       help=f"{meaning} (default {value}{preset})")
    return p.parse_args(argv)


TEXTBOOK = {"inputs": "word", "feel": 0, "styles": 0, "song_place": 0}   # what --plain trains


def flags(options):
    """{"song_place": 0, ...} -> "--song-place 0 ...", as they are typed."""
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in options.items())


def lookback_bars(text):
    """--lookback-bars "1,2,4" -> [1, 2, 4]; None if it is not a list lstm_drums accepts."""
    try:
        bars = [int(x) for x in str(text).split(",")]
    except ValueError:
        return None
    return bars if lstm.CONFIG_RULES["lookback_bars"][0](bars) else None


def make_config(args):
    """DEFAULTS, then the preset, then the flags given on the command line."""
    config = dict(DEFAULTS)
    if args.preset:
        config.update(PRESETS[args.preset])
    for key in DEFAULTS:
        if getattr(args, key) is not None:
            config[key] = getattr(args, key)
    config["plain"] = bool(args.plain)
    if args.plain:                                          # the textbook model: the word alone, no heads but one
        given = {k: getattr(args, k) for k in TEXTBOOK if getattr(args, k) is not None}
        if any(v != TEXTBOOK[k] for k, v in given.items()):
            raise TrainError(f"--plain trains the textbook model ({flags(TEXTBOOK)}): drop {flags(given)}")
        config.update(TEXTBOOK)
    for key, value in config.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise TrainError(f"--{key.replace('_', '-')} {value} must be a finite number")
    checks = [("layers", 1 <= config["layers"] <= lstm.LIMITS["layers"]),
              ("hidden", 1 <= config["hidden"] <= lstm.LIMITS["hidden"]), ("seed", config["seed"] >= 0),
              ("dropout", 0 <= config["dropout"] < 1), ("batch", config["batch"] >= 1), ("seq", config["seq"] >= 2),
              ("lr", config["lr"] > 0), ("lr-decay", 0 < config["lr_decay"] <= 1), ("patience", config["patience"] >= 1),
              ("clip", config["clip"] >= 0), ("epochs", config["epochs"] >= 0), ("steps", config["steps"] >= 0),
              ("minutes", config["minutes"] >= 0), ("eval-every", config["eval_every"] >= 1),
              ("log-every", config["log_every"] >= 1), ("valid-fraction", 0 <= config["valid_fraction"] < 1),
              ("early-stop", config["early_stop"] >= 0), ("inputs", config["inputs"] in lstm.INPUT_KINDS),
              ("feel", config["feel"] in (0, 1)), ("feel-memory", config["feel_memory"] in (0, 1)),
              ("song-place", config["song_place"] in (0, 1)), ("feel-weight", config["feel_weight"] >= 0),
              ("styles", config["styles"] in (0, 1)), ("style-hide", 0 <= config["style_hide"] < 1),
              ("feel-hide", 0 <= config["feel_hide"] < 1),
              ("lookback-bars", lookback_bars(config["lookback_bars"]),
               "1,2 and then rising distances, at most 8 of them, up to 256")]
    for name, ok, *wanted in checks:                        # (name, ok) or (name, ok, what is wanted)
        if not ok:
            raise TrainError(f"--{name} {config[name.replace('-', '_')]} is out of range"
                             + "".join(f" (want {w})" for w in wanted))
    return config


def run_config(args):
    """The hyperparameters of this run: from the flags, or, with --resume, the checkpoint's own
    (only the stopping rules and the logging may be given anew)."""
    if not args.resume:
        return make_config(args)
    saved = load_run_checkpoint(args.resume)["extra"].get("train_config")
    if not isinstance(saved, dict) or set(saved) != set(DEFAULTS) | {"plain"}:
        raise TrainError(f"{args.resume}: not a train.py checkpoint (no usable training config)")
    given = {k: getattr(args, k) for k in ("steps", "epochs", "minutes", "eval_every", "log_every")
             if getattr(args, k) is not None}
    return dict(saved, **given)


def load_data(args, config, log):
    """The training and validation songs of a run: DATA, then --valid or the data's own split
    (an info.csv's), else a seeded share held out. Turns feel off if no song has any."""
    songs = corpus.load_songs(args.data or [DEFAULT_DATA], args.all_channels, log, args.compat)
    if not songs:
        raise TrainError("no songs to train on")
    if args.valid:
        train_songs, valid_songs = songs, corpus.load_songs(args.valid, args.all_channels, log, args.compat)
    else:                                                   # the data's own split where it has one (info.csv)
        train_songs, valid_songs, dropped = corpus.split_by_data(songs, config["valid_fraction"], config["seed"])
        if dropped:
            log(f"note: {len(dropped)} songs of the data's other splits ({dropped[0].split}, ...) left out")
    if not train_songs:
        raise TrainError("no songs to train on (the data's split holds none for training)")
    if config["feel"] and not args.resume and all(s.feel is None for s in train_songs):
        log("note: no training song has feel (words files without a .feel.txt): training the words alone")
        config["feel"] = 0
    return train_songs, valid_songs


def eval_songs(args, log):
    """The songs --eval scores: DATA, or only its --split."""
    if not args.data:
        raise TrainError("--eval CKPT needs DATA to score")
    songs = corpus.load_songs(args.data, args.all_channels, log, args.compat)
    if args.split:
        songs = [s for s in songs if s.split == args.split]
    if not songs:
        raise TrainError("no songs to score" + (f" in split {args.split!r}" if args.split else ""))
    return songs


def main(argv=None):
    args = parse_args(argv)
    log = lambda *a: print(*a, flush=True)
    try:
        if args.eval:                                       # python train.py --eval CKPT DATA...
            summary = evaluate_checkpoint(args.eval, eval_songs(args, log), log)
        else:                                               # python train.py [DATA...]
            config = run_config(args)
            if args.resume and args.out == DEFAULT_OUT:
                args.out = os.path.dirname(os.path.abspath(args.resume))   # the run goes on in its own folder
            choose_threads(args, config, log)               # before the data is read
            train_songs, valid_songs = load_data(args, config, log)
            log("config: " + " ".join(f"{k}={v}" for k, v in config.items()))
            summary = train(config, train_songs, valid_songs, args.out, args.resume, log)
    except (TrainError, lstm.CheckpointError, encoding.CodecError, OSError) as e:
        print(encoding.error_line(e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:                               # before training started: nothing to save
        print("interrupted", file=sys.stderr)
        return 130
    print(json.dumps(summary, allow_nan=False))             # the last line: one JSON object
    return 130 if summary.get("interrupted") else 0


# ----------------------------------------------------------------------------
# 8. Operations: BLAS threads, one run per folder, memory, Ctrl-C, the ETA, the history

# BLAS threads. OpenBLAS starts one thread per core, and when another program keeps a core
# busy those threads spin against each other and training slows to a crawl. One thread never
# collapses; main() moves to two (by restarting itself) only where that pays: a large model
# with both cores idle now. --threads N, then the user's own OPENBLAS_NUM_THREADS (or OMP_ /
# MKL_), win over that choice. (The default of one is set at the top, before numpy loads.)


BIG_MODEL_HIDDEN = 256      # from here up two threads pay on an idle machine (benchmarks/bench_threads.py)

IDLE_BELOW = 0.5            # cores' worth of CPU time the other programs may use for "idle"

LOOK_SECONDS = 0.3          # how long to watch the cores before choosing


def cpu_times():
    """(busy, total) CPU time of all cores since boot, in clock ticks, from Linux's /proc/stat
    (busy = user + nice + system + irq + softirq + steal); None where there is no /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def cores_busy(before, after, n_cores, own_seconds=0.0, ticks_per_second=100):
    """How many cores' worth of CPU the other programs used between two cpu_times() readings:
    n_cores x (the busy share of all the ticks), less what this process used meanwhile."""
    busy, total = after[0] - before[0], after[1] - before[1]
    if total <= 0:
        return 0.0
    elapsed = total / n_cores / ticks_per_second                   # wall seconds the readings span
    return max(0.0, n_cores * busy / total - own_seconds / max(elapsed, 1e-9))


def look_at_cores(seconds=LOOK_SECONDS):
    """What the cores are doing now: the other programs' use in cores, over `seconds`, and how
    it was seen. Falls back to the one-minute load average where /proc/stat is missing."""
    n_cores = os.cpu_count() or 1
    before, own = cpu_times(), time.process_time()
    if before is None:
        try:
            return os.getloadavg()[0], n_cores, "the load average over the last minute"
        except OSError:
            return float(n_cores), n_cores, "nothing (no /proc/stat, no load average): assumed busy"
    time.sleep(seconds)
    after = cpu_times()
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    used = cores_busy(before, after, n_cores, time.process_time() - own, ticks)
    return used, n_cores, f"the cores over {seconds:g} s now"


def blas_threads_wanted(hidden, busy, n_cores):
    """Two threads for a model of BIG_MODEL_HIDDEN+ units when two cores are free (the other
    programs use under IDLE_BELOW of a core and there are 2+ cores), else one; and why."""
    idle = n_cores >= 2 and busy < IDLE_BELOW
    if hidden >= BIG_MODEL_HIDDEN and idle:
        return 2, f"2 threads: both cores idle now (other programs used {busy:.2f} of a core)"
    if hidden >= BIG_MODEL_HIDDEN:
        return 1, f"1 thread: {'one core' if n_cores < 2 else f'{busy:.2f} cores'} in use by other programs"
    return 1, f"1 thread: a model under {BIG_MODEL_HIDDEN} hidden units gains little from two"


def restart_with_threads(threads, reason):
    """Run this same command again with `threads` BLAS threads (numpy is already loaded with one)."""
    for variable in BLAS_VARIABLES:
        os.environ[variable] = str(threads)
    os.environ["LSTM_DRUMS_THREADS"] = reason
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:])


def choose_threads(args, config, log):
    """Settle the BLAS threads before any data is read: --threads N, else the user's environment
    variable, else the choice above (restarting this command to apply it). Logs one line."""
    loaded = os.environ["OPENBLAS_NUM_THREADS"]
    if THREADS_CHOSEN_BY == "restarted":
        log(f"BLAS threads: {loaded} ({os.environ['LSTM_DRUMS_THREADS']})")
        return
    if args.threads:
        if str(args.threads) != loaded and __name__ == "__main__":
            restart_with_threads(args.threads, f"--threads {args.threads}")
        log(f"BLAS threads: {loaded} (--threads {args.threads}"
            + ("" if str(args.threads) == loaded else ": numpy was loaded before; run train.py as a command") + ")")
        return
    if THREADS_CHOSEN_BY == "user":
        log(f"BLAS threads: {loaded} (your OPENBLAS_NUM_THREADS; --threads N to choose here)")
        return
    if config["hidden"] < BIG_MODEL_HIDDEN:                 # one thread whatever the cores do: no need to look
        log(f"BLAS threads: 1 ({blas_threads_wanted(config['hidden'], 0.0, 2)[1]}; --threads N to choose)")
        return
    busy, n_cores, how = look_at_cores()
    threads, reason = blas_threads_wanted(config["hidden"], busy, n_cores)
    reason += f", from {how}"
    if threads > 1 and __name__ == "__main__":
        restart_with_threads(threads, reason)                   # (does not return)
    log(f"BLAS threads: 1 ({reason}; --threads N to choose)")


# One run per folder: a lock on out/.lock (POSIX; elsewhere the lock is skipped).
try:
    import fcntl  # noqa: E402
except ImportError:
    fcntl = None


@contextlib.contextmanager
def run_folder(out):
    """Hold the folder of a run for this process alone (a lock file, released at exit, even
    on a crash), and clear the temporary files a killed save may have left in it."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, ".lock"), "a") as lock:
        if fcntl is not None:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise TrainError(f"{out}: another train.py run is using this folder; "
                                 "wait for it or choose another --out") from None
        for name in os.listdir(out):
            if name.startswith(".tmp-"):                    # a save that a kill cut short: never a whole file
                os.remove(os.path.join(out, name))
        yield


def check_memory(model_config, N, T):
    """TrainError if a training step would need more memory than the machine has free. The
    estimate: the weights four times (weights, gradients, Adam's two moments), and per step
    of the chunk each layer's gates, states and dropout mask plus the logits and their gradient."""
    V, H, L = model_config["vocab_size"], model_config["hidden"], model_config["layers"]
    D0 = lstm.input_size(V, model_config["inputs"], model_config["feel"])
    n_params = (D0 + H + 1) * 4 * H + (L - 1) * (2 * H + 1) * 4 * H + (H + 1) * V
    need, have = 4 * (4 * n_params + T * N * (L * 12 * H + 3 * V)), memory_available()
    if have is not None and need > have:
        raise TrainError(f"a {L} x {H} model with batch {N} x seq {T} needs about {need / 2**30:.1f} GiB "
                         f"(weights, Adam, activations); {have / 2**30:.1f} GiB are available")


def memory_available():
    """Bytes of memory available to a new allocation (Linux's MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


@contextlib.contextmanager
def ctrl_c_as_a_flag():
    """Within this block, Ctrl-C (SIGINT) only appends to the yielded list: the step in
    flight finishes and the run saves before it stops. (Signals reach the main thread only.)"""
    interrupted = []
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return
    old_handler = signal.signal(signal.SIGINT, lambda *_: interrupted.append(True))
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, old_handler)


def seconds_left(run, start_step, elapsed):
    """Seconds left by the tightest stopping rule, from this invocation's mean time per step
    (evaluations included)."""
    c = run.config
    per_step = elapsed / max(run.step - start_step, 1)
    left = []
    if c["steps"]:
        left.append((c["steps"] - run.step) * per_step)
    if c["epochs"]:
        left.append(((c["epochs"] - run.epoch) * run.chunks_per_epoch - run.pos) * per_step)
    if c["minutes"]:
        left.append(60 * c["minutes"] - elapsed)
    return max(0.0, min(left)) if left else float("nan")


def format_duration(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


HISTORY_HEADER = ["step", "epoch", "train_loss", "val_nats_per_word", "lr"]


def record_history(run, out, train_loss, val):
    """Add a row to the run's history and rewrite history.csv and history.svg."""
    run.history.append([str(run.step), f"{run.epochs_done():.3f}", f"{train_loss:.5f}",
                        f"{val['nats_per_word']:.5f}" if val else "", f"{run.schedule.lr:g}"])
    write_history(os.path.join(out, "history.csv"), run.history, run.baselines)


def write_history(path, rows, base=None):
    """The loss history CSV, and its picture beside it (history.svg), each rewritten whole (a
    temporary file and a rename): a symlink is replaced, not followed, and a run that fails
    before its first row leaves the old files."""
    text = io.StringIO()
    csv.writer(text).writerows([HISTORY_HEADER] + rows)
    encoding.write_atomic(path, text.getvalue().encode())
    encoding.write_atomic(os.path.splitext(path)[0] + ".svg", history_svg(rows, base or {}).encode())


def history_svg(rows, base, width=640, height=360):
    """A loss curve as SVG text (no plotting library; any browser opens it): training and
    validation nats/word against step, and the baselines as flat dashed lines."""
    steps = [int(r[0]) for r in rows]
    train_loss = [(int(r[0]), float(r[2])) for r in rows]
    val = [(int(r[0]), float(r[3])) for r in rows if r[3]]
    top = max([y for _, y in train_loss + val] + [v[0] for v in base.values()] + [1.0]) * 1.1
    left, right, low, high = 50, width - 170, height - 40, 20             # the plot area, in pixels
    x_of = lambda s: left + (right - left) * (s / max(max(steps, default=1), 1))
    y_of = lambda v: low - (low - high) * min(v, top) / top
    line = lambda pts: " ".join(f"{x_of(s):.1f},{y_of(v):.1f}" for s, v in pts)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
           f'<path d="M{left},{high} V{low} H{right}" stroke="black" fill="none"/>',
           f'<text x="{(left + right) / 2}" y="{height - 8}" text-anchor="middle">step</text>',
           f'<text x="12" y="{(low + high) / 2}" transform="rotate(-90 12 {(low + high) / 2})" '
           'text-anchor="middle">nats/word</text>']
    for k in range(6):                                                    # value ticks
        v = top * k / 5
        out.append(f'<text x="{left - 6}" y="{y_of(v) + 4:.1f}" text-anchor="end">{v:.2g}</text>')
    for k in range(5):                                                    # step ticks
        s = max(steps, default=0) * k / 4
        out.append(f'<text x="{x_of(s):.1f}" y="{low + 16}" text-anchor="middle">{s:.0f}</text>')
    curves = [("training", train_loss, "#1f77b4", ""), ("validation", val, "#d62728", "")]
    curves += [(name, [(0, v[0]), (max(steps, default=1), v[0])], color, ' stroke-dasharray="6 4"')
               for (name, v), color in zip(base.items(), ("#7f7f7f", "#2ca02c"))]
    for k, (name, pts, color, dash) in enumerate(curves):
        if pts:
            out.append(f'<polyline points="{line(pts)}" stroke="{color}" fill="none" stroke-width="2"{dash}/>')
        out.append(f'<line x1="{right + 10}" x2="{right + 30}" y1="{high + 10 + 18 * k}" y2="{high + 10 + 18 * k}" '
                   f'stroke="{color}" stroke-width="2"{dash}/><text x="{right + 36}" y="{high + 14 + 18 * k}">{name}</text>')
    return "\n".join(out + ["</svg>"]) + "\n"


def read_history(path, up_to_step):
    """The rows of an earlier history.csv up to a step (for --resume); [] if there is none."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    return [r for r in rows[1:] if len(r) == len(HISTORY_HEADER) and r[0].isdigit() and int(r[0]) <= up_to_step]


if __name__ == "__main__":
    sys.exit(main())
