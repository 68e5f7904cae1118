"""Training and sampling speed of lstm_drums.py, against the float32 matmul peak (and PyTorch,
when it is importable), measured in the same run.

    OPENBLAS_NUM_THREADS=2 python benchmarks/bench_lstm.py [--rounds 6] [--seconds 2] [--threads 2]
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_lstm.py --compare-inputs   # look-back vs word inputs
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_lstm.py --compare-feel     # with feel vs without
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_lstm.py --compare-feel --checkpoint CKPT --rounds 20
    OPENBLAS_NUM_THREADS=2 python benchmarks/bench_lstm.py --compare-styles   # with 19 styles + fills vs without
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_lstm.py --compare-extras   # feel memory, 4 and 8 bars back

For each size (L x H, N, T), with V = 514 words: one training step is forward, loss,
backward, clipping and Adam on an (T, N) chunk. Printed per size:
  words/s    N*T / median step time
  MFU        model matmul FLOPs per step / step time / peak, where the peak is the
             best float32 GEMM rate (2048^3 and 4096^3 products) measured in this run
  GEMM-only  the same, for just the step's matrix products at their real shapes, run back to
             back with no other work: the MFU a step with zero overhead would reach on this BLAS
  peak MiB   the most memory numpy arrays held during one step (tracemalloc)
  sample/s   single-stream sampling: one word in, one word drawn (lstm_drums.step_fast + sample_word)
The runs that are compared alternate in blocks (numpy, torch, torch, numpy, ...) and the
figures are medians over all their steps, so load from elsewhere on the machine hits both
alike. Each block starts after a pause and one untimed step: both libraries' worker threads
spin for a while after a call, and a block timed straight after the other side's would pay
for it (at 2 x 128, timing step by step cost each side 35-42% of its speed in a test). Every round
builds fresh models, as one set of arrays can land in memory a few per cent slower than the
next on a shared machine.
"""
import argparse
import os
import statistics
import sys
import time
import tracemalloc

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
import numpy as np  # noqa: E402

import corpus  # noqa: E402
import encoding  # noqa: E402
import lstm_drums as lstm  # noqa: E402

M_WORD_ID = encoding.WORD_ID

V = len(encoding.VOCAB)                                     # 514: the 512 step words, BAR, END
BAR = encoding.BAR_ID                                       # 512
SIZES = [(3, 512, 64, 64), (2, 256, 32, 64), (2, 128, 32, 64)]  # (L, H, N, T); the first is the seed's


def matmul_peak(repeats=5):
    """Best float32 GEMM rate in FLOP/s, over square products of 2048 and 4096."""
    rng = np.random.default_rng(0)
    best = 0.0
    for n in (2048, 4096):
        a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
        a @ b
        for _ in range(repeats):
            t0 = time.perf_counter()
            a @ b
            best = max(best, 2 * n ** 3 / (time.perf_counter() - t0))
    return best


def model_flops(L, H, N, T):
    """Matmul FLOPs of one training step (a multiply-add is 2 FLOPs; the layer-0 lookup is free)."""
    TN, G = T * N, 4 * H
    flops = 0
    for l in range(L):
        flops += 2 * TN * H * G * 3            # recurrent product forward, its backward, dWh
        if l > 0:
            flops += 2 * TN * H * G * 3        # input projection forward, dWx, dx
    flops += 2 * TN * H * V * 3                # decoder forward, dWy, dx
    return flops


def gemm_ceiling(L, H, N, T, repeats=3):
    """Seconds for just the matrix products of one training step, run back to back on random
    arrays of the same shapes: what a step would take with zero overhead on this BLAS."""
    rng = np.random.default_rng(0)
    r = lambda *shape: rng.random(shape, dtype=np.float32)
    TN, G = T * N, 4 * H
    h, W, WT, da = r(N, H), r(H, G), r(G, H), r(N, G)
    X, D, Wx = r(TN, H), r(TN, G), r(H, G)
    Y, Wy, dy = r(TN, H), r(H, V), r(TN, V)
    out_g, out_h = np.empty((N, G), np.float32), np.empty((N, H), np.float32)

    def products():
        for l in range(L):
            for _ in range(T):
                np.matmul(h, W, out=out_g)               # forward recurrence
                np.matmul(da, WT, out=out_h)             # its backward
            X.T @ D                                      # dWh
            if l > 0:
                X @ Wx, X.T @ D, D @ Wx.T                # input projection, dWx, dx
        Y @ Wy, Y.T @ dy, dy @ Wy.T                      # decoder forward, dWy, dx

    products()
    return min(timed(products) for _ in range(repeats))


def random_feel_ids(ids, rng):
    """(..., 18) feel ids for word ids: random levels for the classes each word plays, -1 elsewhere."""
    bits = lstm.word_bits(ids).astype(bool)                  # (..., 9)
    bits = np.concatenate([bits, bits], axis=-1)             # velocity and offset of the same classes
    levels = np.concatenate([rng.integers(0, 8, bits.shape[:-1] + (9,)), rng.integers(0, 9, bits.shape[:-1] + (9,))],
                            axis=-1)
    return np.where(bits, levels, -1).astype(np.int8)


def numpy_trainer(size, seed=0, inputs="word", song=None, feel=False, song_feel=None, styles=0, extra=None):
    """A model of size (L, H, N, T) and its data (extra: more config keys): returns train_step(), sample(n_words)."""
    L, H, N, T = size
    model_config = lstm.model_config({"vocab_size": V, "hidden": H, "layers": L, "dropout": 0.2, "inputs": inputs,
                                      "feel": feel, "styles": [f"style{k}" for k in range(styles)], "fills": styles > 0,
                                      **(extra or {})})
    rng = np.random.default_rng(seed)
    params = lstm.init_model(model_config, rng)
    opt = lstm.adam_init(params)
    ids = rng.integers(0, V, (T + 1, N))
    x = ids[:-1]                                             # (T, N) word ids
    if inputs == "lookback":                                 # (T, N, 2 + B): random look-back words and places
        x = np.stack([x] + [rng.integers(0, V + 1, (T, N)) for _ in model_config["lookback_bars"]]
                     + [rng.integers(0, lstm.MAX_POSITION + 1, (T, N))], axis=2)
    if song is not None:                                     # real words instead: N streams from one long song
        rows = lstm.lookback_inputs(song, BAR, V)            # (S, 4)
        starts = rng.integers(0, len(song) - T - 1, N)
        ids = np.stack([song[s:s + T + 1] for s in starts], axis=1)              # (T+1, N)
        x = ids[:-1] if inputs == "word" else np.stack([rows[s:s + T] for s in starts], axis=1)
    state = [lstm.zero_state(model_config, N)]
    feel_batch = None
    if feel and song_feel is not None:                       # ... and their real feel
        cols = [song_feel] + ([] if inputs == "word" else [lstm.lookback_feel(song, song_feel, BAR)])
        both = np.concatenate(cols, axis=1)                  # (S, 18 or 36)
        feel_x = np.stack([both[s:s + T] for s in starts], axis=1)             # (T, N, F)
        targets = np.stack([song_feel[s + 1:s + T + 1] for s in starts], axis=1)  # (T, N, 18)
        feel_batch = (lstm.feel_inputs(feel_x), targets)
    elif feel:                                               # the words' feel, and one bar back's (random)
        feel_ids = random_feel_ids(ids, rng)                 # (T+1, N, 18)
        back = [] if inputs == "word" else [random_feel_ids(ids[:-1], rng)]
        feel_batch = (lstm.feel_inputs(np.concatenate([feel_ids[:-1]] + back, axis=2)), feel_ids[1:])
        if model_config["feel_memory"]:                      # each stream's memory of the words read
            memory = np.stack([lstm.feel_memory(feel_ids[:-1, n]) for n in range(N)], axis=1)   # (T, N, 36)
            feel_batch += (memory,)
    cond = None                                              # (style, fill, place in the song or None), each (T, N)
    if styles:                                               # each stream a style (10% hidden) and beat or fill
        style = np.where(rng.random(N) < 0.1, -1, rng.integers(0, styles, N))
        cond = (np.broadcast_to(style, (T, N)), np.broadcast_to(rng.integers(0, 2, N), (T, N)), None)
    if model_config["song_place"]:                           # hidden style, no fill, a random place in the song
        cond = (np.full((T, N), -1), np.zeros((T, N)), rng.integers(0, lstm.SONG_PLACES, (T, N)))

    def train_step():
        masks = lstm.make_dropout_masks(model_config, T, N, rng)
        cond_x = None if cond is None else lstm.condition_inputs(cond[0], cond[1], model_config, place=cond[2])
        _, grads, state[0] = lstm.loss(params, x, ids[1:], state[0], masks, feel_batch, 1.0, cond_x)
        lstm.clip_gradients_fast(grads, 5.0)
        lstm.adam_update_fast(params, grads, opt)

    def sample(n_words):
        """As generate.py samples: a word, then (with feel) its hits' feel, then feed both."""
        read = lstm.input_reader(model_config)
        state1 = lstm.zero_state(model_config, 1)
        word, feel_ids = BAR, None
        for _ in range(n_words):
            x1, feel_x = read(word, feel_ids)
            logits, state1 = lstm.step_fast(params, x1, state1, feel_x)
            word = lstm.sample_word(logits, 1.0, rng)
            feel_ids = lstm.sample_feel(params, state1[0][-1], word, 1.0, rng) if feel else None

    return train_step, sample


def torch_trainer(torch, L, H, N, T, seed=0):
    torch.manual_seed(seed)
    torch_lstm = torch.nn.LSTM(V, H, num_layers=L, dropout=0.2)
    drop = torch.nn.Dropout(0.2)
    decoder = torch.nn.Linear(H, V)
    params = list(torch_lstm.parameters()) + list(decoder.parameters())
    opt = torch.optim.Adam(params, lr=2e-3)
    ids = torch.randint(0, V, (T + 1, N))
    x = torch.nn.functional.one_hot(ids[:-1], V).float()  # the same one-hot input as ours
    state = [None]

    def train_step():
        out, st = torch_lstm(x, state[0])
        state[0] = tuple(s.detach() for s in st)
        loss = torch.nn.functional.cross_entropy(decoder(drop(out)).reshape(-1, V), ids[1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()

    def sample(n_words):
        with torch.no_grad():
            st, word = None, 0
            for _ in range(n_words):
                out, st = torch_lstm(torch.nn.functional.one_hot(torch.tensor([[word]]), V).float(), st)
                p = torch.softmax(decoder(out[0, 0]).double(), 0)
                word = int(torch.multinomial(p, 1))

    return train_step, sample


def peak_memory(train_step):
    tracemalloc.start()
    train_step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def timed(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def timed_block(train_step, seconds):
    """One block of timed steps (at least 3, at least `seconds`), after a pause that lets the
    other side's BLAS threads go idle and one untimed warm-up step. Returns the step times."""
    time.sleep(0.3)
    train_step()
    block = []
    while len(block) < 3 or sum(block) < seconds:
        block.append(timed(train_step))
    return block


def compare_inputs(args):
    """--compare-inputs: training words/s with look-back inputs against the word alone,
    alternating blocks in the same way (fresh models each round, medians, the ratio). With
    --words FILE, chunks of a real corpus (a words file, all its songs joined) instead of random words."""
    song = None
    if args.words:
        with open(args.words) as f:
            song = np.array([M_WORD_ID[w] for w in f.read().split()], dtype=np.int64)
    print(f"{'L x H':>8} {'N':>3} {'T':>3} | {'word words/s':>12} {'lookback words/s':>16} | {'lookback/word':>13}")
    for L, H, N, T in SIZES:
        times = {"word": [], "lookback": []}
        for r in range(args.rounds):
            runs = {kind: numpy_trainer((L, H, N, T), seed=r, inputs=kind, song=song)[0] for kind in times}
            for kind in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
                times[kind] += timed_block(runs[kind], args.seconds)
        tw, tl = statistics.median(times["word"]), statistics.median(times["lookback"])
        print(f"{L} x {H:<4} {N:>3} {T:>3} | {N * T / tw:12.0f} {N * T / tl:16.0f} | {tw / tl:12.3f}x", flush=True)


def words_and_feel(path):
    """A words file and its feel file, all songs joined: word ids (S,) and feel ids (S, 18); (None, None)
    without a path (random words instead)."""
    if not path:
        return None, None
    songs = corpus.read_songs(path)
    if not songs or any(s.feel is None for s in songs):
        raise encoding.CodecError(f"{path}: want a words file with its feel file beside it (song.feel.txt)")
    song = np.concatenate([encoding.to_ids(s.words) for s in songs]).astype(np.int64)
    return song, np.concatenate([s.feel for s in songs])


def compare_feel(args):
    """--compare-feel: training and sampling words/s of a look-back model with feel (its inputs
    and head) against the same model without, alternating blocks as above (random words with
    random levels for their hits, or with --words FILE that corpus and its feel file; medians;
    the ratios)."""
    song, song_feel = words_and_feel(args.words)
    print(f"{'L x H':>8} {'N':>3} {'T':>3} | {'train words/s: no feel':>22} {'feel':>7} {'ratio':>6} | "
          f"{'sample words/s: no feel':>23} {'feel':>6} {'ratio':>6}")
    for L, H, N, T in SIZES:
        times = {False: [], True: []}
        samples = {False: [], True: []}
        for r in range(args.rounds):
            runs = {feel: numpy_trainer((L, H, N, T), seed=r, inputs="lookback", feel=feel, song=song,
                                        song_feel=song_feel) for feel in times}
            for feel in ([False, True] if r % 2 == 0 else [True, False]):
                train_step, sample = runs[feel]
                times[feel] += timed_block(train_step, args.seconds)
                samples[feel].append(timed(sample, args.sample_words))
        t0, t1 = statistics.median(times[False]), statistics.median(times[True])
        s0, s1 = statistics.median(samples[False]), statistics.median(samples[True])
        print(f"{L} x {H:<4} {N:>3} {T:>3} | {N * T / t0:22.0f} {N * T / t1:7.0f} {t0 / t1:5.3f}x | "
              f"{args.sample_words / s0:23.0f} {args.sample_words / s1:6.0f} {s0 / s1:5.3f}x", flush=True)


def compare_styles(args):
    """--compare-styles: training words/s of the recipe's model (look-back inputs, feel) with
    --n-styles style columns and a fill column against the same model without, alternating
    blocks as above (random words and levels, or --words FILE with its feel); medians, the ratio."""
    song, song_feel = words_and_feel(args.words)
    print(f"{'L x H':>8} {'N':>3} {'T':>3} | {'train words/s: no styles':>24} {'styles':>7} {'ratio':>6}")
    for L, H, N, T in [(2, 384, 64, 64)] + SIZES[1:]:
        times = {0: [], args.n_styles: []}
        for r in range(args.rounds):
            runs = {k: numpy_trainer((L, H, N, T), seed=r, inputs="lookback", feel=True, song=song,
                                     song_feel=song_feel, styles=k)[0] for k in times}
            for k in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
                times[k] += timed_block(runs[k], args.seconds)
        t0, t1 = statistics.median(times[0]), statistics.median(times[args.n_styles])
        print(f"{L} x {H:<4} {N:>3} {T:>3} | {N * T / t0:24.0f} {N * T / t1:7.0f} {t0 / t1:5.3f}x", flush=True)


def compare_extras(args):
    """--compare-extras: training words/s of the recipe's model (look-back inputs, feel) against
    the same with the feel head's memory, with look-back 1, 2, 4 and 8 bars back, and with the
    place in the song, alternating
    blocks as above (random words and levels); medians, each one's time over the recipe's."""
    variants = {"recipe": {}, "memory": {"feel_memory": True}, "1,2,4,8 back": {"lookback_bars": [1, 2, 4, 8]},
                "song place": {"song_place": True}}
    print(f"{'L x H':>8} {'N':>3} {'T':>3} | " + " ".join(f"{name:>14}" for name in variants)
          + "   (words/s; time ratio)")
    for L, H, N, T in [(2, 384, 64, 64), (2, 256, 32, 64)]:
        times = {name: [] for name in variants}
        for r in range(args.rounds):
            runs = {name: numpy_trainer((L, H, N, T), seed=r, inputs="lookback", feel=True, extra=extra)[0]
                    for name, extra in variants.items()}
            for name in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
                times[name] += timed_block(runs[name], args.seconds)
        t = {name: statistics.median(v) for name, v in times.items()}
        print(f"{L} x {H:<4} {N:>3} {T:>3} | " + " ".join(
            f"{N * T / t[name]:7.0f} {t[name] / t['recipe']:5.3f}x" for name in variants), flush=True)


def compare_feel_sampling(args):
    """--compare-feel CKPT: generate.py's sampling (sample_bars, the bar mask, no primer) with a
    trained feel model, against the same weights without the feel (its inputs and head taken
    out), in alternating blocks of 16-bar tracks; words/s, medians, the ratio."""
    checkpoint = lstm.load_checkpoint(args.checkpoint, vocab=encoding.VOCAB)
    with_feel, model_config = checkpoint["params"], checkpoint["config"]
    F = lstm.feel_input_size(model_config.get("inputs", "word"))
    without = {k: p for k, p in with_feel.items() if k not in ("Wf", "bf")}
    without["Wx0"] = np.ascontiguousarray(with_feel["Wx0"][:-F])
    runs = {True: (with_feel, model_config), False: (without, dict(model_config, feel=False))}
    times = {True: [], False: []}
    for r in range(args.rounds):
        for feel in ((False, True) if r % 2 == 0 else (True, False)):
            params, cfg = runs[feel]
            rng = np.random.default_rng([r, 1000])
            t0 = time.perf_counter()
            ids, _ = lstm.sample_bars(params, cfg, encoding.to_ids([encoding.BAR]), 16, rng)
            times[feel].append(len(ids) / (time.perf_counter() - t0))
    w0, w1 = statistics.median(times[False]), statistics.median(times[True])
    print(f"{args.checkpoint}: sampling 16-bar tracks, {args.rounds} rounds: without feel {w0:.0f} words/s, "
          f"with feel {w1:.0f} words/s, {w1 / w0:.3f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="fresh models per size (default 6)")
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="training time per block, at least 3 steps (default 2)")
    parser.add_argument("--sample-words", type=int, default=300, help="words per sampling run")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (set OPENBLAS_NUM_THREADS for numpy)")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if it is importable")
    parser.add_argument("--words", metavar="FILE", help="with --compare-inputs or --compare-feel: chunks of this "
                        "words file (and, for --compare-feel, its feel file)")
    parser.add_argument("--compare-inputs", action="store_true",
                        help="instead: training speed with look-back inputs against the word alone (numpy only)")
    parser.add_argument("--compare-feel", action="store_true",
                        help="instead: training and sampling speed with feel against without (numpy only)")
    parser.add_argument("--compare-styles", action="store_true",
                        help="instead: training speed with style and fill inputs against without (numpy only)")
    parser.add_argument("--n-styles", type=int, default=19, help="with --compare-styles: styles (default 19, "
                        "the Groove training split's 18 and Metallica)")
    parser.add_argument("--checkpoint", metavar="CKPT", help="with --compare-feel: instead, generation's sampling "
                        "with this trained feel model against the same weights without its feel")
    parser.add_argument("--compare-extras", action="store_true",
                        help="instead: training speed with the feel memory and with 4 and 8 bars back (numpy only)")
    args = parser.parse_args()
    if args.compare_extras:
        return compare_extras(args)
    if args.compare_feel and args.checkpoint:
        return compare_feel_sampling(args)
    if args.compare_feel:
        print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
        return compare_feel(args)
    if args.compare_styles:
        print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
        return compare_styles(args)
    if args.compare_inputs:
        print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
        return compare_inputs(args)
    torch = None
    if not args.no_torch:
        try:
            import torch
            torch.set_num_threads(args.threads)
        except ImportError:
            pass
    print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
          + (f", torch {torch.__version__} with {args.threads} threads" if torch else ", torch not importable"))
    peak = matmul_peak()
    print(f"float32 matmul peak: {peak / 1e9:.0f} GFLOP/s")
    header = (f"{'L x H':>8} {'N':>3} {'T':>3} | {'words/s':>8} {'MFU':>5} {'GEMM-only':>9} "
              f"{'peak MiB':>8} {'sample/s':>8}")
    if torch:
        header += f" | {'torch words/s':>13} {'sample/s':>8} | {'ratio train':>11} {'sample':>6}"
    print(header)
    for size in SIZES:
        print(measure_size(args, size, peak, torch), flush=True)


def measure_size(args, size, peak, torch=None):
    """One size (L, H, N, T): fresh models each round, ours and torch's alternated; the
    table's line of medians."""
    L, H, N, T = size
    times = {"ours": [], "torch": []}
    samples = {"ours": [], "torch": []}
    for r in range(args.rounds):
        runs = {"ours": numpy_trainer(size, seed=r)}
        if torch:
            runs["torch"] = torch_trainer(torch, L, H, N, T, seed=r)
        if r == 0:
            mem = peak_memory(runs["ours"][0])
        order = list(runs) if r % 2 == 0 else list(runs)[::-1]
        for name in order:
            train_step, sample = runs[name]
            times[name] += timed_block(train_step, args.seconds)
            samples[name].append(timed(sample, args.sample_words))
    t = statistics.median(times["ours"])
    s = statistics.median(samples["ours"])
    ceiling = gemm_ceiling(L, H, N, T)
    flops = model_flops(L, H, N, T)
    line = (f"{L} x {H:<4} {N:>3} {T:>3} | {N * T / t:8.0f} {flops / t / peak:5.0%} {flops / ceiling / peak:9.0%} "
            f"{mem / 2 ** 20:8.0f} {args.sample_words / s:8.0f}")
    if torch:
        tt, ts = statistics.median(times["torch"]), statistics.median(samples["torch"])
        line += f" | {N * T / tt:13.0f} {args.sample_words / ts:8.0f} | {tt / t:10.2f}x {ts / s:5.2f}x"
    return line


if __name__ == "__main__":
    main()
