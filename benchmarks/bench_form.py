"""How much the form head costs when drawing a song: sample_bars with and without it.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_form.py CKPT [--bars 128] [--rounds 5]

CKPT must have a form head (train.py fits one after a run on whole songs). Each round draws
--bars bars with the form head (Sampling(song=True, form=True)) and then without it, from a lone
BAR at diversity 1.0, seeds [round, 7]; END is made impossible (the decoder's and the head's bias
for it -1e9, in a copy of the weights) so that every song runs to --bars and the two time the same
number of bars.
Printed: the median seconds of each and their ratio.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import encoding  # noqa: E402
import lstm_drums as lstm  # noqa: E402


def main(argv=None, log=print):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", help="a train.py checkpoint with a form head")
    p.add_argument("--bars", type=int, default=128, help="bars a song (default %(default)s)")
    p.add_argument("--rounds", type=int, default=5, help="rounds, each with and then without (default %(default)s)")
    args = p.parse_args(argv)
    try:
        checkpoint = lstm.load_checkpoint(args.checkpoint, vocab=encoding.VOCAB)
        if not checkpoint["config"]["form_head"]:
            raise ValueError(f"{args.checkpoint}: this model has no form head")
    except (ValueError, OSError) as e:                              # (CheckpointError is a ValueError)
        print(encoding.error_line(e), file=sys.stderr)
        return 1
    params = {**checkpoint["params"], "by": checkpoint["params"]["by"].copy(), "fb": checkpoint["params"]["fb"].copy()}
    params["by"][encoding.END_ID] = params["fb"][1] = -1e9         # never END (the LSTM's, the head's): --bars bars
    seconds = {True: [], False: []}
    for round_ in range(args.rounds):
        for form in (True, False):
            how = lstm.Sampling(1.0, song=True, form=form)
            start = time.perf_counter()
            lstm.sample_bars(params, checkpoint["config"], [encoding.BAR_ID], args.bars,
                             np.random.default_rng([round_, 7]), how)
            seconds[form].append(time.perf_counter() - start)
    with_head, without = statistics.median(seconds[True]), statistics.median(seconds[False])
    log(f"{args.bars} bars, median of {args.rounds}: with the form head {with_head:.2f} s, without {without:.2f} s, "
        f"{with_head / without:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
