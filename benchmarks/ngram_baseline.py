"""An n-gram baseline for the quality figures: interpolated Kneser-Ney on the same split as train.py.

    python benchmarks/ngram_baseline.py ../shared/data/metallica/midi [--order 6] [--seed 1337] [--compat]

The songs are read and split exactly as train.py does (same --valid-fraction and --seed, whole songs),
the model is counted on the training songs, and every word of each validation song is scored
from the song's start (contexts padded with a start symbol), in nats/word. This is the plain
interpolated Kneser-Ney of Chen & Goodman (1998), one discount D = 0.75 at every order:

    p(w | ctx) = max(c(ctx, w) - D, 0) / c(ctx) + D * types(ctx) / c(ctx) * p(w | shorter ctx)

where the highest order counts words and the lower orders count continuations (how many distinct
words precede an n-gram), down to a uniform distribution over the 513 words.
"""
import argparse
import collections
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import corpus  # noqa: E402
import encoding  # noqa: E402

START = "<s>"


def count(songs, order):
    """Counts per order n = 1..order: c[n][ngram], and the context totals and type counts."""
    c = [collections.Counter() for _ in range(order + 1)]
    for words in songs:
        padded = [START] * (order - 1) + list(words)
        for k in range(order - 1, len(padded)):
            c[order][tuple(padded[k - order + 1:k + 1])] += 1
    for n in range(order, 1, -1):                       # continuation counts for the lower orders
        for gram in c[n]:
            c[n - 1][gram[1:]] += 1
    total = [collections.Counter() for _ in range(order + 1)]
    types = [collections.Counter() for _ in range(order + 1)]
    for n in range(1, order + 1):
        for gram, k in c[n].items():
            total[n][gram[:-1]] += k
            types[n][gram[:-1]] += 1
    return c, total, types


def probability(model, context, word, V, D=0.75):
    c, total, types = model
    p = 1.0 / V                                         # order 0: uniform over the vocabulary
    for n in range(1, len(c)):
        ctx = tuple(context[len(context) - n + 1:]) if n > 1 else ()
        if total[n][ctx]:
            p = max(c[n][ctx + (word,)] - D, 0) / total[n][ctx] + D * types[n][ctx] / total[n][ctx] * p
    return p


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="+", help="MIDI files, folders and word files, as for train.py")
    parser.add_argument("--order", type=int, default=6, help="n of the n-gram (default 6)")
    parser.add_argument("--seed", type=int, default=1337, help="split seed (train.py's --seed default)")
    parser.add_argument("--valid-fraction", type=float, default=0.1, help="as train.py's --valid-fraction")
    parser.add_argument("--compat", action="store_true", help="encode MIDI with the original's rules (as train.py)")
    args = parser.parse_args()
    songs = corpus.load_songs(args.data, log=lambda *a: None, compat=args.compat)
    training, validation = corpus.split_songs(songs, args.valid_fraction, args.seed)
    model = count([s.words for s in training], args.order)
    nats, n = 0.0, 0
    for words in (s.words for s in validation):
        padded = [START] * (args.order - 1) + list(words)
        for k in range(args.order, len(padded)):         # every word after the song's first
            nats -= math.log(probability(model, padded[k - args.order + 1:k], padded[k], len(encoding.VOCAB)))
            n += 1
    print(f"validation songs: {', '.join(os.path.basename(s.name) for s in validation)}")
    print(f"Kneser-Ney {args.order}-gram: {nats / n:.4f} nats/word over {n} words")


if __name__ == "__main__":
    main()
