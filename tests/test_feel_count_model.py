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
    None: a snare at velocity 7 instead."""
    words, feel = [], []
    for v in levels:
        row = np.full(2 * K, -1, dtype=np.int8)
        k = 0 if v is not None else 1
        row[k], row[K + k] = (v if v is not None else 7), 4
        words.append(encoding.step_to_word(1 << (K - 1 - k)))
        feel.append(row)
    return corpus.Song("hand", words, np.array(feel))


def test_each_hit_remembers_its_drums_last_levels_and_the_songs_changes():
    # kick levels 3 3 5 (a snare) 5 2: the changes so far count hits that left their drum's level
    hits = fcm.song_hits(one_step_song([3, 3, 5, None, 5, 2]))
    assert hits["k"].tolist() == [0, 0, 1, 0, 0]                   # the first word is not predicted
    assert hits["velocity"].tolist() == [3, 5, 7, 5, 2]
    assert hits["last_velocity"].tolist() == [3, 3, -1, 5, 5]
    assert hits["last2_velocity"].tolist() == [-1, 3, -1, 3, 5]
    assert hits["changes_velocity"].tolist() == [0, 0, 1, 1, 1]     # 3 -> 5 is the one change before the last
    assert hits["changes_offset"].tolist() == [0, 0, 0, 0, 0]       # every offset level 4
    many = fcm.song_hits(one_step_song([0, 1] * 10))
    assert many["changes_velocity"][-1] == 2                        # 18 changes before it: 16 or more


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
