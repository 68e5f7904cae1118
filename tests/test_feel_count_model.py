"""Tests of benchmarks/feel_count_model.py, the count models the feel head is measured against:
what each hit remembers, worked by hand, and the models run end to end on the demo songs."""
import importlib.util
import os

import numpy as np

import corpus
import encoding

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "data", "demo")


def load_feel_count_model():
    path = os.path.join(ROOT, "benchmarks", "feel_count_model.py")
    spec = importlib.util.spec_from_file_location("feel_count_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fcm = load_feel_count_model()
K = encoding.N_CLASSES


def one_step_song(levels):
    """A song of one-step words, each a kick (class 0) at the velocity level given (offset level 4);
    None: a snare at velocity 7 instead; a pair (v, w): a kick at v and a snare at w in one word."""
    words, feel = [], []
    for v in levels:
        row = np.full(2 * K, -1, dtype=np.int8)
        plays = {0: v} if isinstance(v, int) else {1: 7} if v is None else {0: v[0], 1: v[1]}
        for k, level in plays.items():
            row[k], row[K + k] = level, 4
        words.append(encoding.step_to_word(sum(1 << (K - 1 - k) for k in plays)))   # class k: bit 8 - k
        feel.append(row)
    return corpus.Song("hand", words, np.array(feel))


def test_each_hit_remembers_its_drums_last_levels_and_the_songs_changes():
    # kick levels 3 3 5 (a snare) 5 2: the changes so far count hits that left their drum's level
    hits = fcm.song_hits(one_step_song([3, 3, 5, None, 5, 2]))
    assert hits["k"].tolist() == [0, 0, 1, 0, 0]                   # the first word is not predicted
    assert hits["velocity"].tolist() == [3, 5, 7, 5, 2]
    assert hits["last_velocity"].tolist() == [3, 3, -1, 5, 5]
    assert hits["last2_velocity"].tolist() == [-1, 3, -1, 3, 5]
    assert hits["changes_velocity"].tolist() == [0, 0, 1, 1, 1]     # after the kick's 3 -> 5, one change
    assert hits["changes_offset"].tolist() == [0, 0, 0, 0, 0]       # every offset level 4
    assert hits["place"].tolist() == [1, 2, 3, 4, 5]                # one bar, no BAR: the steps so far
    # two drums in one word: both change (kick 3 -> 4, snare 7 -> 6), but neither counts for the other
    two = fcm.song_hits(one_step_song([(3, 7), (4, 6), (4, 6)]))
    assert two["k"].tolist() == [0, 1, 0, 1] and two["changes_velocity"].tolist() == [0, 0, 1, 1]
    # the buckets' edges: levels 0 1 0 1 ..., n + 2 words; before the last, n changes
    for n, bucket in ((15, 1), (16, 2)):                           # "1-15", then "16 or more"
        hits = fcm.song_hits(one_step_song(([0, 1] * 9)[:n + 2]))
        assert hits["changes_velocity"][-1] == bucket


def test_a_song_that_has_held_its_levels_is_trusted_to_hold_them():
    # training: a song that holds the kick at 3, and one that holds it, changes, then holds it and
    # now and then leaves it (3 3 3 6); validation: a kick held at 3. Knowing that the song has not
    # changed yet, the count model is surer of the 3 than with the last two levels alone
    train = [one_step_song([3] * 40), one_step_song([3] * 10 + [2, 5] * 10 + [3, 3, 3, 6] * 10)]
    train_hits = fcm.joined([fcm.song_hits(s) for s in train])
    valid_hits = fcm.song_hits(one_step_song([3] * 30))
    nats = fcm.count_models(train_hits, valid_hits, "velocity", 2.0)
    assert list(nats) == ["histogram", "last level", "last two", "song changes"]
    assert nats["song changes"] < 0.5 * nats["last two"] < nats["histogram"]


def test_count_models_run_on_the_demo_songs():
    songs = [s for s in corpus.load_songs([DEMO], log=lambda *a: None) if s.feel is not None]
    train_hits = fcm.joined([fcm.song_hits(s) for s in songs[:-2]])
    valid_hits = fcm.joined([fcm.song_hits(s) for s in songs[-2:]])
    for what in ("velocity", "offset"):
        nats = fcm.count_models(train_hits, valid_hits, what, 2.0)
        assert all(np.isfinite(v) and 0 < v < np.log(9) + 1 for v in nats.values())
