"""Tests of the place in the song (config["song_place"], lstm_drums section 7): layer 0 reads how
many bars the song has played, on a coarse scale, so that it can end a song. The places by hand,
the sampler's reader against the one-pass rows, the gradients, and an older checkpoint."""
import json

import numpy as np
from hypothesis import given, settings, strategies as st

import encoding
import lstm_drums as lstm
from test_lstm_drums import L, H, N, T, V, numerical_gradient, random_inputs, scaled_error

BAR = lstm.BAR_ID


def test_song_places_by_hand():
    # bar lengths 1 step each: the place of w_{t+1} is the bit length of the bars closed before it
    ids = [1, BAR] * 9
    places = lstm.song_places(ids, BAR)
    # after word t: bars closed 0, 1, 1, 2, 2, 3, 3, 4, 4, ... -> bit lengths 0, 1, 1, 2, 2, 2, 2, 3, 3, ...
    np.testing.assert_array_equal(places, [0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4])
    assert lstm.song_places([BAR, BAR, 1], BAR).tolist() == [0, 0, 0]     # a BAR with no step closes no bar
    assert lstm.song_places([1], BAR, bars_before=300).tolist() == [9]     # 256 bars and more: the last place
    assert lstm.song_places([1, BAR], BAR, bars_before=2).tolist() == [2, 2]   # bars 2-3 share a place


@settings(deadline=None, max_examples=100)
@given(st.lists(st.sampled_from([0, 1, 2, BAR]), min_size=1, max_size=150).map(np.array))
def test_the_reader_counts_the_bars_it_no_longer_keeps(ids):
    config = {"vocab_size": 514, "hidden": 1, "layers": 1, "inputs": "lookback", "song_place": True,
              "styles": ["a", "b"], "fills": True}
    read = lstm.input_reader(config, style=1)
    dense = np.array([read(int(w))[1] for w in ids]).reshape(len(ids), -1)
    rows = lstm.song_rows(ids, config, condition=(1, 0))
    _, cond_x, _ = lstm.layer0_inputs(rows, config)
    np.testing.assert_array_equal(dense, cond_x.reshape(len(ids), -1))
    assert cond_x.shape[-1] == 2 + 1 + lstm.SONG_PLACES


def test_song_place_gradients_match_centred_differences():
    rng = np.random.default_rng(23)
    config = {"vocab_size": V, "hidden": H, "layers": L, "dropout": 0.3, "inputs": "lookback", "song_place": True}
    params = lstm.init_model(config, rng, np.float64)
    assert params["Wx0"].shape[0] == lstm.input_size(V, "lookback") + lstm.SONG_PLACES
    state = (rng.normal(size=(L, N, H)), rng.normal(size=(L, N, H)))
    x, targets = random_inputs(rng, "lookback"), rng.integers(0, V, (T, N))
    cond_x = lstm.condition_inputs(-1, 0, config, np.float64, place=rng.integers(-1, lstm.SONG_PLACES, (T, N)))
    masks = lstm.make_dropout_masks(config, T, N, rng, np.float64)
    _, grads, _ = lstm.loss(params, x, targets, state, masks, None, 1.0, cond_x)
    f = lambda: lstm.loss(params, x, targets, state, masks, None, 1.0, cond_x)[0]
    for name in params:
        assert scaled_error(numerical_gradient(f, params[name]), grads[name]) < 1e-6, name
    assert np.abs(grads["Wx0"][-lstm.SONG_PLACES:]).sum() > 0   # the place's rows learn


def test_a_checkpoint_from_before_the_song_place_loads_without_it(tmp_path):
    config = {"vocab_size": 514, "hidden": 4, "layers": 1, "inputs": "lookback"}
    path = str(tmp_path / "old.npz")
    lstm.save_checkpoint(path, lstm.init_model(config, np.random.default_rng(0)), config, encoding.VOCAB)
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    old = json.loads(str(arrays["config"]))
    del old["song_place"]
    arrays["config"] = np.array(json.dumps(old))
    np.savez(path, **arrays)
    loaded = lstm.load_checkpoint(path)
    assert loaded["config"]["song_place"] is False
    assert loaded["params"]["Wx0"].shape[0] == lstm.input_size(514, "lookback")
