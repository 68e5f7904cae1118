"""How well a count model predicts each hit's feel: the yardstick for the LSTM's feel head.

    python benchmarks/feel_count_model.py METALLICA_DIR                 # train.py's split of the data
    python benchmarks/feel_count_model.py TRAIN.txt --valid VALID.txt   # or the two given apart

The models, each for the velocity level and the offset level of a hit, trained on the training
songs' hits and scored on the validation songs' in nats per hit (the same hits train.py --eval
scores: every hit of every word but a song's first):

  histogram     the drum's class and its place in the bar (add-one smoothed; train.py's baseline)
  last level    ... and the level the same drum was last played at, anywhere before in the song
  last two      ... and the level before that
  song changes  ... and how many hits of the song's words before this one changed their drum's
                level (none, 1-15, 16 or more): a file that has held every drum at one level will go
                on holding it

Each finer table is smoothed towards the coarser one (a Dirichlet prior of weight --alpha centred
on it), and a drum's first hits, without the levels a table needs (one, or two), fall back to the
coarser model. The
split is train.py's: an info.csv's own, else --valid-fraction of the songs held out with --seed
(train.py's defaults), so the validation songs are those a train.py run with the same data holds out.
"""
import argparse
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
import numpy as np  # noqa: E402

import corpus  # noqa: E402
import encoding  # noqa: E402
import lstm_drums as lstm  # noqa: E402

K = encoding.N_CLASSES
LEVELS = {"velocity": lstm.VELOCITY_LEVELS, "offset": lstm.OFFSET_LEVELS}
PLACES = lstm.MAX_POSITION + 1


CHANGE_BUCKETS = (1, 16)                                       # the song's changes so far: 0, 1-15, 16 on


def song_hits(song):
    """Every hit the model predicts in a song (not the first word's), as a dict of int arrays
    (hits,): its class k, place in the bar (the steps since the last BAR), velocity and offset
    level, the levels of the same drum's last two hits before it (-1: none; the two may be
    equal), and the bucket of the song's changes so far: the hits of the words before this one
    whose level differed from their drum's last one (other hits of the same word do not count),
    for the velocity and the offset each."""
    ids, feel = encoding.to_ids(song.words), song.feel
    _, place = lstm.lookback_sources(ids, encoding.BAR_ID)        # row t: the place of word t + 1
    rows = {name: [] for name in ("k", "place", "velocity", "offset", "last_velocity", "last_offset",
                                  "last2_velocity", "last2_offset", "changes_velocity", "changes_offset")}
    last = -np.ones((2, 2, K), int)                            # [1 back, 2 back] x [velocity, offset] x class
    changes = np.zeros(2, int)                                 # velocity, offset
    for t in range(len(ids)):
        hits = np.flatnonzero(feel[t, :K] >= 0)
        levels = np.stack([feel[t, hits], feel[t, K + hits]]).astype(int)   # (2, hits) velocity, offset
        if t > 0:
            bucket = np.searchsorted(CHANGE_BUCKETS, changes, side="right")
            for n, k in enumerate(hits):
                for name, value in zip(rows, (k, min(place[t - 1], lstm.MAX_POSITION), *levels[:, n],
                                              last[0, 0, k], last[0, 1, k], last[1, 0, k], last[1, 1, k], *bucket)):
                    rows[name].append(value)
        held = last[0][:, hits]                                # (2, hits) the levels these drums were at
        changes += ((held >= 0) & (held != levels)).sum(axis=1)
        last[1][:, hits] = held
        last[0][:, hits] = levels
    return {name: np.array(v, int) for name, v in rows.items()}


def joined(hits):
    return {name: np.concatenate([h[name] for h in hits]) for name in hits[0]}


def smoothed(counts, prior, alpha):
    """(counts + alpha prior) / (total + alpha), along the last axis: counts towards a prior."""
    return (counts + alpha * prior) / (counts.sum(axis=-1, keepdims=True) + alpha)


def count_models(train, valid, what, alpha):
    """{model: nats per hit} on the validation hits, for `what` (velocity or offset)."""
    n = LEVELS[what]
    level, k, place = train[what], train["k"], train["place"]
    hist = np.ones((K, PLACES, n))                             # add-one
    np.add.at(hist, (k, place, level), 1)
    hist /= hist.sum(axis=2, keepdims=True)                    # (K, 64, n)
    # last level: (class, last) counts, their prior the (class, place) histogram of each hit
    last, last2 = train["last_" + what] + 1, train["last2_" + what] + 1   # 0: none
    c1 = np.zeros((K, n + 1, n))
    np.add.at(c1, (k, last, level), 1)
    c2 = np.zeros((K, n + 1, n + 1, n))
    np.add.at(c2, (k, last, last2, level), 1)
    vk, vp, vl = valid["k"], valid["place"], valid[what]
    v1, v2 = valid["last_" + what] + 1, valid["last2_" + what] + 1
    p_hist = hist[vk, vp]                                      # (hits, n)
    p_last = smoothed(c1[vk, v1], p_hist, alpha)
    p_last = np.where((v1 > 0)[:, None], p_last, p_hist)       # no level before: the histogram
    p_two = smoothed(c2[vk, v1, v2], p_last, alpha)
    p_two = np.where((v2 > 0)[:, None], p_two, p_last)
    # the song's changes so far: (class, last, before, changes) counts, their prior the last-two model
    B = len(CHANGE_BUCKETS) + 1
    c3 = np.zeros((K, n + 1, n + 1, B, n))
    np.add.at(c3, (k, last, last2, train["changes_" + what], level), 1)
    p_changes = smoothed(c3[vk, v1, v2, valid["changes_" + what]], p_two, alpha)
    p_changes = np.where((v2 > 0)[:, None], p_changes, p_two)
    nats = lambda p: -float(np.log(p[np.arange(len(vl)), vl]).mean())
    return {"histogram": nats(p_hist), "last level": nats(p_last), "last two": nats(p_two),
            "song changes": nats(p_changes)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data", nargs="+", help="MIDI files, folders and words files (with their .feel.txt)")
    p.add_argument("--valid", nargs="+", help="validation songs (default: train.py's split of DATA)")
    p.add_argument("--valid-fraction", type=float, default=0.1, help="as train.py's (default 0.1)")
    p.add_argument("--seed", type=int, default=1337, help="as train.py's (default 1337)")
    p.add_argument("--compat", action="store_true", help="encode MIDI with the original's rules")
    p.add_argument("--alpha", type=float, default=2.0, help="weight of the coarser model's prior (default 2)")
    args = p.parse_args(argv)
    try:
        songs = corpus.load_songs(args.data, log=lambda *a: None, compat=args.compat)
        if args.valid:
            train, valid = songs, corpus.load_songs(args.valid, log=lambda *a: None, compat=args.compat)
        else:
            train, valid, _ = corpus.split_by_data(songs, args.valid_fraction, args.seed)
    except encoding.CodecError as e:
        print(encoding.error_line(e), file=sys.stderr)
        return 1
    train, valid = ([s for s in part if s.feel is not None and len(s.words) >= 2] for part in (train, valid))
    if not train or not valid:
        print("error: want training and validation songs with feel", file=sys.stderr)
        return 1
    train_hits, valid_hits = joined([song_hits(s) for s in train]), joined([song_hits(s) for s in valid])
    print(f"{len(train)} training songs ({len(train_hits['k'])} hits), {len(valid)} validation songs "
          f"({len(valid_hits['k'])} hits); alpha {args.alpha:g}")
    print(f"{'nats per hit':<14} {'velocity':>9} {'offset':>9}")
    results = {what: count_models(train_hits, valid_hits, what, args.alpha) for what in LEVELS}
    for model in results["velocity"]:
        print(f"{model:<14} {results['velocity'][model]:9.4f} {results['offset'][model]:9.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
