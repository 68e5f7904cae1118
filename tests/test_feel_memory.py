"""Tests of the feel head's memory (lstm_drums section 8): each drum's last two levels, read by
the head. The one-pass form training uses against the word-by-word form a sampler uses, the
gradients with the memory's rows, training and sampling agreeing, and old checkpoints."""
import json
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import corpus
import encoding
import lstm_drums as lstm
import train
from test_lstm_drums import L, H, N, T, V, numerical_gradient, random_feel, random_inputs, scaled_error
from test_train_generate import groove

K = encoding.N_CLASSES


def random_feel_ids(rng, S, p_hit=0.3):
    """(S, 18) feel ids: each class plays with probability p_hit, both its levels or neither."""
    hit = rng.random((S, K)) < p_hit
    return np.concatenate([np.where(hit, rng.integers(0, 8, (S, K)), -1),
                           np.where(hit, rng.integers(0, 9, (S, K)), -1)], axis=1).astype(np.int8)


def test_feel_memory_by_hand():
    feel = np.full((4, 2 * K), -1, np.int8)
    feel[0, [0, K]] = [5, 4]                                # the kick at velocity 5, on the grid
    feel[2, [0, K]] = [7, 6]                                # the kick again, louder and late
    feel[2, [1, K + 1]] = [2, 3]                            # a snare
    memory = lstm.feel_memory(feel)                         # (4, 36)
    assert (memory[0, :2 * K] == feel[0]).all() and (memory[0, 2 * K:] == -1).all()
    assert (memory[1] == memory[0]).all()                   # word 1 plays nothing: nothing changes
    assert memory[2, 0] == 7 and memory[2, K] == 6 and memory[2, 2 * K] == 5 and memory[2, 3 * K] == 4
    assert memory[2, 1] == 2 and memory[2, 2 * K + 1] == -1  # the snare's first hit: none before it
    one_hot = lstm.memory_inputs(memory[2])                  # (306,)
    assert one_hot.shape == (lstm.MEMORY_SIZE,) == (306,) and one_hot.sum() == 6   # 3 levels now, 2 before (+1)
    assert one_hot[7] == 1                                   # the kick's last velocity, level 7: column 7


@settings(deadline=None, max_examples=30)
@given(seed=st.integers(0, 2**31 - 1))
def test_a_new_head_plays_each_drum_as_it_was_last_played(seed):
    # the copy prior: before any training, a drum held at a level (or hit once) is likeliest played
    # at that level again
    rng = np.random.default_rng(seed)
    config = {"vocab_size": V, "hidden": 256, "layers": 1, "inputs": "lookback", "feel": True, "feel_memory": True}
    params = lstm.init_model(config, rng)
    last = random_feel_ids(rng, 1, p_hit=1.0)[0]            # (18,) every class's last velocity and offset
    memory = np.concatenate([last, np.where(rng.random(2 * K) < 0.5, last, -1)])  # held there, or hit once
    top = np.zeros((1, 256), np.float32)                    # a state that says nothing yet
    k, z_v, z_o = lstm.feel_logits(params, top, (1 << K) - 1, memory)   # the word that plays all 9 classes
    np.testing.assert_array_equal(z_v.argmax(axis=1), last[:K])
    np.testing.assert_array_equal(z_o.argmax(axis=1), last[K:])
    plain = lstm.init_model({**config, "feel_memory": False}, np.random.default_rng(seed))
    assert not np.array_equal(lstm.feel_logits(plain, top, (1 << K) - 1)[1].argmax(axis=1), last[:K])


@settings(deadline=None, max_examples=60)
@given(seed=st.integers(0, 2**31 - 1), S=st.integers(1, 40), cut=st.integers(0, 40))
def test_one_pass_memory_equals_remembering_word_by_word(seed, S, cut):
    feel = random_feel_ids(np.random.default_rng(seed), S)
    memory, expected = np.full(4 * K, -1, np.int8), []
    for row in feel:
        memory = lstm.remember(memory, row)
        expected.append(memory)
    np.testing.assert_array_equal(lstm.feel_memory(feel), expected)
    cut = min(cut, S - 1)                                    # the same from a memory of the words before
    before = expected[cut - 1] if cut else None
    np.testing.assert_array_equal(lstm.feel_memory(feel[cut:], before), expected[cut:])


@pytest.mark.parametrize("inputs", ["word", "lookback"])
def test_memory_gradients_match_centred_differences(inputs):
    rng = np.random.default_rng(21)
    config = {"vocab_size": V, "hidden": H, "layers": L, "dropout": 0.4, "forget_bias": 0.5, "inputs": inputs,
              "feel": True, "feel_memory": True}
    params = lstm.init_model(config, rng, np.float64)
    assert params["Wf"].shape == (H + 9 + 306, 153)
    state = (rng.normal(size=(L, N, H)), rng.normal(size=(L, N, H)))
    x, targets = random_inputs(rng, inputs), rng.integers(0, V, (T, N))
    memory = lstm.feel_memory(random_feel_ids(rng, T * N, 0.6)).reshape(T, N, 36)
    feel = random_feel(rng, inputs) + (memory,)
    masks = lstm.make_dropout_masks(config, T, N, rng, np.float64)
    _, grads, _ = lstm.loss(params, x, targets, state, masks, feel)
    f = lambda: lstm.loss(params, x, targets, state, masks, feel)[0]
    for name in params:
        if name != "Wf":
            num = numerical_gradient(f, params[name])
            assert scaled_error(num, grads[name]) < 1e-6, f"{name}: backward disagrees with centred differences"
    # Wf has 323 x 153 entries: check every row the memory of these words reaches, in 20 columns
    rows = np.r_[np.arange(H + 9), H + 9 + np.flatnonzero(lstm.memory_inputs(memory).reshape(-1, 306).any(axis=0))]
    columns = rng.choice(153, 20, replace=False)
    block = params["Wf"][np.ix_(rows, columns)]             # a copy: write it back as it is changed
    def f_block():
        params["Wf"][np.ix_(rows, columns)] = block
        return f()
    num = numerical_gradient(f_block, block)
    params["Wf"][np.ix_(rows, columns)] = block
    assert scaled_error(num, grads["Wf"][np.ix_(rows, columns)]) < 1e-6, "Wf: backward disagrees"
    assert np.abs(grads["Wf"][H + 9:]).sum() > 0            # the memory's rows learn


def test_sampling_reads_the_memory_training_reads():
    """The feel NLL train.py's scorer gives a song equals the sum of the head's log-probabilities
    read word by word through a Stream, as generation reads: the same memory in both."""
    config = {"vocab_size": 514, "hidden": 8, "layers": 2, "inputs": "lookback", "feel": True, "feel_memory": True}
    params = lstm.init_model(config, np.random.default_rng(0))
    params["Wf"][-306:] += np.random.default_rng(2).normal(0, 1.0, (306, 153)).astype(np.float32)  # memory matters
    rng = np.random.default_rng(1)
    words = groove(6)
    feel = [[tuple((int(rng.integers(8)), int(rng.integers(-4, 5))) for _ in range(bin(m).count("1"))) for m in bar]
            for bar in encoding.words_to_bars(words)]
    ids, feel_ids = encoding.to_ids(words), corpus.to_feel_ids(words, feel)
    _, _, _, scored = train.score_songs(params, config, [ids], chunk=5, songs_feel=[feel_ids])
    stream, total = lstm.Stream(params, config), 0.0
    for t in range(len(ids) - 1):
        stream.push(ids[t], feel_ids[t])
        k, z_v, z_o = lstm.feel_logits(params, stream.state[0][-1], ids[t + 1], stream.memory)
        for j, kk in enumerate(k):
            total -= lstm.log_softmax(z_v[j].astype(np.float64))[feel_ids[t + 1, kk]]
            total -= lstm.log_softmax(z_o[j].astype(np.float64))[feel_ids[t + 1, K + kk]]
    np.testing.assert_array_equal(stream.memory, lstm.feel_memory(feel_ids)[-2])   # the words read: all but the last
    assert np.isclose(scored["velocity"] + scored["offset"], total, rtol=1e-4)
    forgetful = dict(params, Wf=params["Wf"].copy())
    forgetful["Wf"][-306:] = 0                               # the same model, its memory's rows silenced
    no_memory = train.score_songs(forgetful, config, [ids], songs_feel=[feel_ids])[3]
    assert not np.isclose(no_memory["velocity"], scored["velocity"], rtol=1e-3)     # the memory was read


def test_a_checkpoint_from_before_the_memory_loads_without_it(tmp_path):
    config = {"vocab_size": 514, "hidden": 4, "layers": 1, "inputs": "lookback", "feel": True}
    path = str(tmp_path / "old.npz")
    lstm.save_checkpoint(path, lstm.init_model(config, np.random.default_rng(0)), config, encoding.VOCAB)
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    old = json.loads(str(arrays["config"]))
    del old["feel_memory"]                                   # as a file written before the memory was added
    arrays["config"] = np.array(json.dumps(old))
    np.savez(path, **arrays)
    assert "feel_memory" not in str(zipfile.ZipFile(path).read("config.npy"))
    loaded = lstm.load_checkpoint(path)
    assert loaded["config"]["feel_memory"] is False and loaded["params"]["Wf"].shape == (4 + 9, 153)
    with_memory = dict(config, feel_memory=True)
    lstm.save_checkpoint(path, lstm.init_model(with_memory, np.random.default_rng(0)), with_memory, encoding.VOCAB)
    assert lstm.load_checkpoint(path)["params"]["Wf"].shape == (4 + 9 + 306, 153)
