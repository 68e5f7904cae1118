"""Tests of styles and fills: the style input's gradients, where songs get their style (folders,
NAME=PATH, a dataset's info.csv), bad info.csv files and style names, and --style / --fills."""
import os
import shutil

import numpy as np
import pytest

import corpus
import encoding
import generate
import lstm_drums as lstm
import train
from test_lstm_drums import numerical_gradient, random_feel, random_inputs, scaled_error

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "data", "demo")
V, H, L, N, T = 7, 5, 2, 3, 4                               # the sizes of test_lstm_drums' checks


@pytest.mark.parametrize("feel", [False, True], ids=["words", "feel"])
@pytest.mark.parametrize("inputs", ["word", "lookback"])
def test_style_gradients_match_centred_differences(inputs, feel):
    rng = np.random.default_rng(19)
    config = {"vocab_size": V, "hidden": H, "layers": L, "dropout": 0.3, "forget_bias": 0.5, "inputs": inputs,
              "feel": feel, "styles": ["funk", "jazz", "metal"], "fills": True}
    params = lstm.init_model(config, rng, np.float64)
    assert params["Wx0"].shape[0] == lstm.input_size(V, inputs, feel) + 4  # 3 styles and the fill column
    state = (rng.normal(size=(L, N, H)), rng.normal(size=(L, N, H)))
    x, targets = random_inputs(rng, inputs), rng.integers(0, V, (T, N))
    style = rng.integers(-1, 3, (T, N))                     # -1: hidden
    cond_x = lstm.condition_inputs(style, rng.integers(0, 2, (T, N)), config, np.float64)  # (T, N, 4)
    feel_batch = random_feel(rng, inputs) if feel else None
    masks = lstm.make_dropout_masks(config, T, N, rng, np.float64)
    _, grads, _ = lstm.loss(params, x, targets, state, masks, feel_batch, 1.0, cond_x)
    f = lambda: lstm.loss(params, x, targets, state, masks, feel_batch, 1.0, cond_x)[0]
    for name in params:
        num = numerical_gradient(f, params[name])
        assert scaled_error(num, grads[name]) < 1e-6, f"{name}: backward disagrees with centred differences"
    first = lstm.input_size(V, inputs)                      # the style rows of Wx0 come right after the words'
    assert np.abs(grads["Wx0"][first:first + 4]).min(axis=1).max() > 0   # and they do learn


def test_condition_inputs_one_hot_hidden_and_fill():
    config = {"styles": ["a", "b"], "fills": True}
    out = lstm.condition_inputs(np.array([0, 1, -1]), np.array([1, 0, 1]), config)
    np.testing.assert_array_equal(out, [[1, 0, 1], [0, 1, 0], [0, 0, 1]])
    assert lstm.condition_inputs(0, 0, {"styles": [], "fills": False}) is None
    assert lstm.condition_size({"styles": ["a", "b", "c"]}) == 3


def test_input_reader_asks_for_a_fill_every_kth_bar():
    config = {"vocab_size": 514, "hidden": 4, "layers": 1, "inputs": "word", "styles": ["a", "b"], "fills": True}
    read = lstm.input_reader(config, style=1, fill_every=2)
    bar = [0b100000000, 0, 512]                            # a 2-step bar
    seen = [read(w)[1].tolist() for w in [512] + bar * 3]  # a leading BAR closes no bar
    assert all(row[:2] == [0, 1] for row in seen)           # style b throughout
    fills = [row[2] for row in seen]
    assert fills == [0, 0, 0, 1, 1, 1, 0, 0, 0, 1]          # the next word's bar: 0, 1 (fill), 2, 3 (fill)


def make_styles(tmp_path, layout):
    """A folder of demo files: layout {subfolder: [demo file, ...]}."""
    for sub, names in layout.items():
        os.makedirs(tmp_path / sub, exist_ok=True)
        for name in names:
            shutil.copy(os.path.join(DEMO, name), tmp_path / sub / name)
    return str(tmp_path)


def test_styles_come_from_subfolders_and_name_equals_path(tmp_path):
    root = make_styles(tmp_path / "mydrums", {"jazz": ["half_time.mid"], "metal": ["thrash_skank.mid"]})
    songs = corpus.load_songs([root], log=lambda *a: None)
    assert sorted((os.path.basename(s.name), s.style) for s in songs) == [("half_time.mid", "jazz"),
                                                                         ("thrash_skank.mid", "metal")]
    assert {s.words[-1] for s in songs} == {"END"}          # whole songs end
    named = corpus.load_songs([f"Thrash={root}/metal"], log=lambda *a: None)
    assert [s.style for s in named] == ["thrash"]            # names are lower case
    alone = corpus.load_songs([os.path.join(DEMO, "waltz_3_4.mid")], log=lambda *a: None)
    assert alone[0].style is None                            # a file by itself: no style


def write_info(folder, rows, header="drummer,style,bpm,beat_type,time_signature,midi_filename,split"):
    with open(os.path.join(folder, "info.csv"), "w") as f:
        f.write(header + "\n" + "".join(r + "\n" for r in rows))


def test_info_csv_gives_style_fill_and_split(tmp_path):
    root = make_styles(tmp_path / "set", {"midi/d1": ["rock_8ths.mid", "half_time.mid", "seven_eight.mid"]})
    write_info(root, ["d1,rock/indie,120,beat,4-4,d1/rock_8ths.mid,train",
                      "d1,funk,90,fill,4-4,d1/half_time.mid,validation",
                      "d1,jazz,90,beat,7-8,d1/seven_eight.mid,test"])
    songs = {os.path.basename(s.name): s for s in corpus.load_songs([root + "/midi"], log=lambda *a: None)}
    assert (songs["rock_8ths.mid"].style, songs["rock_8ths.mid"].fill, songs["rock_8ths.mid"].split) == \
        ("rock", False, "train")                             # the primary style, before the /
    assert (songs["half_time.mid"].style, songs["half_time.mid"].fill) == ("funk", True)
    tr, va, dropped = corpus.split_by_data(list(songs.values()), 0.1, 0)
    assert [s.split for s in tr + va + dropped] == ["train", "validation", "test"]


@pytest.mark.parametrize("rows, header, message", [
    (["d1,rock,120,beat,4-4,d1/rock_8ths.mid,train"], "drummer,bpm,beat_type,midi_filename,split",
     "no column style"),
    (["d1,rock,120,beat,4-4,d1/rock_8ths.mid,train,extra"], None, "8 fields, the header has 7"),
    (["d1,rock,120,beat,4-4,d1/rock_8ths.mid"], None, "6 fields, the header has 7"),
    (["d1,rock,120,beat,4-4,d1/rock_8ths.mid,train", "d1,rock,120,beat,4-4,d1/gone.mid,train"], None,
     "names d1/gone.mid, which is not there"),
    (["d1,hip hop!,120,beat,4-4,d1/rock_8ths.mid,train"], None, "style name 'hip hop!'"),
    (["d1,rock,120,groove,4-4,d1/rock_8ths.mid,train"], None, "beat_type 'groove'"),
])
def test_bad_info_csv_is_one_line_and_exit_1(tmp_path, capsys, rows, header, message):
    root = make_styles(tmp_path / "set", {"d1": ["rock_8ths.mid"]})
    write_info(root, rows, *([header] if header else []))
    assert train.main([root, "--steps", "1", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not os.path.exists(tmp_path / "run" / "best.npz")


def test_odd_folder_style_name_is_one_line(tmp_path, capsys):
    root = make_styles(tmp_path / "mydrums", {"jazz fusion": ["half_time.mid"], "metal": ["thrash_skank.mid"]})
    assert train.main([root, "--steps", "1", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "style name 'jazz fusion'" in err


@pytest.fixture(scope="module")
def style_model(tmp_path_factory):
    """A tiny model trained on two styles of demo grooves, one marked as fills."""
    tmp = tmp_path_factory.mktemp("styles")
    root = make_styles(tmp / "data", {"rock": ["rock_8ths.mid", "half_time.mid", "waltz_3_4.mid"],
                                      "metal": ["thrash_skank.mid", "double_kick_metal.mid", "seven_eight.mid"]})
    out = str(tmp / "run")
    assert train.main([root, "--steps", "30", "--eval-every", "30", "--hidden", "24", "--out", out]) == 0
    return os.path.join(out, "best.npz"), root, tmp


def test_checkpoint_keeps_the_styles_and_counts(style_model):
    checkpoint = lstm.load_checkpoint(style_model[0])
    assert checkpoint["config"]["styles"] == ["metal", "rock"] and checkpoint["config"]["fills"] is False
    counts = {x["name"]: x for x in checkpoint["extra"]["corpus"]["styles"]}
    assert counts["metal"]["songs"] == 3 and counts["rock"]["songs"] == 3 and counts["rock"]["words"] > 0


def test_eval_reports_the_style_hidden(style_model, capsys):
    ckpt, root, _ = style_model
    assert train.main(["--eval", ckpt, root]) == 0
    out = capsys.readouterr().out
    assert "model, style hidden" in out and '"nats_per_word_style_hidden"' in out


def test_generate_plays_a_known_style_and_refuses_others(style_model, capsys):
    ckpt, _, tmp = style_model
    args = [ckpt, "--bars", "2", "--diversity", "1.0", "--out", str(tmp / "out")]
    assert generate.main(args + ["--style", "rock"]) == 0
    assert "style rock)" in capsys.readouterr().out
    assert generate.main(args) == 0                         # none asked: drawn as the training data would
    assert "drawn as the training data would" in capsys.readouterr().out
    assert generate.main(args + ["--style", "jazz"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "styles" in err and "metal, rock" in err
    assert generate.main(args + ["--fills", "4"]) == 1      # this data marked no fills
    assert "learned no fills" in capsys.readouterr().err


def test_the_style_changes_the_track(style_model):
    ckpt, _, tmp = style_model
    checkpoint = lstm.load_checkpoint(ckpt)
    tracks = {}
    for style in (0, 1, -1):
        rng = np.random.default_rng(3)
        tracks[style] = lstm.sample_bars(checkpoint["params"], checkpoint["config"], [encoding.BAR_ID], 4, rng,
                                      lstm.Sampling(style=style))[0]
    assert tracks[0] != tracks[1]                           # same seed, another style, another track


def test_a_model_without_styles_refuses_style(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert train.main([DEMO, "--steps", "2", "--hidden", "8", "--out", out]) == 0
    assert lstm.load_checkpoint(os.path.join(out, "best.npz"))["config"]["styles"] == []  # one style: none
    capsys.readouterr()
    assert generate.main([os.path.join(out, "best.npz"), "--style", "rock", "--out", str(tmp_path / "o")]) == 1
    assert "knows no styles" in capsys.readouterr().err


def test_style_hide_hides_a_share_of_the_songs_each_epoch():
    songs = [np.tile(np.array([[3, k, 0]], np.int32), (5, 1)) for k in range(200)]   # style k of song k
    streams = train.epoch_streams(songs, 0, 1, seed=0, hide_style=0.25)
    hidden = (streams[0, :, 1] == -1).sum() / 5
    assert 30 <= hidden <= 70                               # about a quarter of 200 songs
    again = train.epoch_streams(songs, 0, 1, seed=0, hide_style=0.25)
    np.testing.assert_array_equal(streams, again)           # seeded: a resume rebuilds it
    plain = train.epoch_streams(songs, 0, 1, seed=0)
    np.testing.assert_array_equal(plain[..., 0], streams[..., 0])  # the same order either way


def test_a_song_without_a_known_style_is_read_with_the_style_hidden():
    config = {"styles": ["funk", "jazz"], "fills": True}
    song = lambda style, fill=False: corpus.Song("s", ["0b100000000", "BAR"], None, style, fill)
    assert train.song_condition(song("jazz", True), config) == (1, 1)
    assert train.song_condition(song(None), config) == (-1, 0)          # no style said: hidden
    assert train.song_condition(song("polka"), config) == (-1, 0)       # a style the model never learned
    assert train.song_condition(song("jazz"), {"styles": [], "fills": False}) is None   # no style inputs
    rows = train.model_inputs(np.array([256, 512]), lstm.model_config({"inputs": "lookback", "vocab_size": 514,
                                                                    **config}), condition=(-1, 0))
    cond = lstm.condition_inputs(rows[:, -2], rows[:, -1], config)
    assert not cond.any()                                   # every style column 0, no fill
