"""Hostile input and limits: one regression test per class of defect a fault-finding pass found
(numbered as in its report). Each ends in a result or one clear line and a non-zero exit, in
seconds and bounded memory, and no good checkpoint or input file is lost."""
import fcntl
import io
import json
import os
import zipfile

import numpy as np
import pytest

import encoding
import generate
import lstm_drums as lstm
from test_train_generate import TINY, checkpoint, words_file, groove, run_train  # noqa: F401 (fixtures)


def one_line_error(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 1 and not any(line.startswith("Traceback") for line in err)
    return err[-1]


# 1. a time signature with a huge denominator made the bar-line walk take forever
def test_1_a_38_byte_file_with_a_huge_denominator_ends_at_once(tmp_path, capsys):
    path = tmp_path / "hang.mid"
    path.write_bytes(bytes.fromhex("4d546864 00000006 0000 0001 0060 4d54726b 00000010 "
                                   "00ff5804 01ff1808 00992464 00ff2f00".replace(" ", "")))
    assert encoding.main([str(path), "-o", str(tmp_path / "x.txt")]) == 1
    err = capsys.readouterr().err
    assert "time signature 1/2^255 is not usable" in err and len(err.splitlines()[0]) < 200


def test_1_tiny_bars_over_a_long_file_are_fast():
    # 1/64 bars (a quarter of a step each) over 2^16 steps: 262,144 bar lines, computed, not walked
    lines = encoding._bar_lines([(0, 1, 64)], 96, 1 << 16)
    assert lines == list(range((1 << 16) + 1))


# 2. nothing bounded the model's size or the output's length
def test_2_a_model_that_cannot_fit_is_refused_with_its_estimate(tmp_path, words_file, capsys):
    code, _, err = run_train([words_file, "--out", str(tmp_path / "r"), "--layers", "1", "--hidden", "60000",
                              "--steps", "1"], capsys)
    assert code == 1 and "GiB" in err and "available" in err


def test_2_generation_length_is_bounded(tmp_path, checkpoint, capsys):  # noqa: F811
    assert generate.main([checkpoint, "--bars", "100000", "--out", str(tmp_path / "g")]) == 1
    assert "--bars 100000: want 1..10000" in one_line_error(capsys)


def test_2_long_generation_shows_progress():
    config = {"vocab_size": 514, "hidden": 4, "layers": 1}
    params = lstm.init_model(config, np.random.default_rng(0))
    lines = []
    lstm.sample_bars(params, config, encoding.to_ids(["BAR"]), 2000, np.random.default_rng(1),
                  lstm.Sampling(bar_steps=1), log=lines.append)
    assert lines == ["  ... 1000 of 2000 bars"]


# 3. NaN weights replaced a good best.npz; the sampler failed on NaN or tiny temperatures
def test_3_nan_weights_are_never_saved_nor_loaded(tmp_path, words_file, checkpoint, capsys):  # noqa: F811
    out = os.path.dirname(checkpoint)
    before = {f: open(os.path.join(out, f), "rb").read() for f in ("best.npz", "last.npz")}
    code, _, err = run_train([words_file, "--out", out, "--steps", "1", "--valid-fraction", "0", "--lr", "inf"]
                             + TINY, capsys)
    assert code == 1 and "--lr inf must be a finite number" in err
    assert {f: open(os.path.join(out, f), "rb").read() for f in ("best.npz", "last.npz")} == before
    loaded = lstm.load_checkpoint(checkpoint)
    loaded["params"]["Wh0"][0, 0] = np.nan                   # what a diverged step leaves
    with pytest.raises(lstm.CheckpointError, match="not saved: Wh0 hold NaN"):
        lstm.save_checkpoint(checkpoint, loaded["params"], loaded["config"], loaded["vocab"])
    assert open(checkpoint, "rb").read() == before["best.npz"]
    bad = str(tmp_path / "nan.npz")
    with np.load(checkpoint, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["decoder.bias"] = arrays["decoder.bias"] * np.nan
    np.savez(bad, **arrays)
    with pytest.raises(lstm.CheckpointError, match="NaN or infinity"):
        lstm.load_checkpoint(bad)


def test_3_sampling_is_valid_at_every_accepted_temperature():
    logits = np.array([3.0, -2.0, 1e3, 7.5])
    rng = np.random.default_rng(0)
    for temperature in (1e-310, 1e-30, 0.5, 1.0, 100.0):
        assert lstm.sample_word(logits, temperature, rng) in range(4)
    assert lstm.sample_word(logits, 1e-310, rng) == 2
    with pytest.raises(ValueError):
        lstm.sample_word(logits, float("inf"), rng)


# 4. a delta time of thousands of bytes put an int of thousands of digits into the message
def test_4_an_absurd_delta_time_is_one_short_line(tmp_path, capsys):
    track = b"\x81" * 2100 + b"\x00" + bytes.fromhex("992464") + bytes.fromhex("00ff2f00")
    data = bytes.fromhex("4d546864000000060000000100604d54726b") + len(track).to_bytes(4, "big") + track
    path = tmp_path / "far.mid"
    path.write_bytes(data)
    good = tmp_path / "good.mid"
    encoding.bars_to_midi([[256] * 4]).save(str(good))
    assert encoding.main([str(path), str(good), "-o", str(tmp_path / "x.txt")]) == 1   # the batch goes on
    err = capsys.readouterr().err
    assert "beyond" in err and max(len(line) for line in err.splitlines()) < 300
    assert (tmp_path / "x.txt").read_text().count("BAR") == 1


# 5. load_checkpoint read every array, whatever its size
def _add_member(path, name, header_shape, payload=b""):
    """Add an .npy member that declares header_shape (float32) but holds only payload."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": header_shape})
    with zipfile.ZipFile(path, "a") as z:
        z.writestr(name + ".npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + payload)


def test_5_declared_shapes_are_checked_before_reading(tmp_path, checkpoint):  # noqa: F811
    extra = str(tmp_path / "extra.npz")
    with open(checkpoint, "rb") as f, open(extra, "wb") as g:
        g.write(f.read())
    _add_member(extra, "not_ours", (10 ** 12,))             # an array the format does not define
    assert lstm.load_checkpoint(extra)["config"]["hidden"] == 16
    huge = str(tmp_path / "huge.npz")
    with np.load(checkpoint, allow_pickle=False) as z:
        np.savez(huge, **{k: z[k] for k in z.files if k != "decoder.bias"})
    _add_member(huge, "decoder.bias", (10 ** 12,))
    with pytest.raises(lstm.CheckpointError, match="'decoder.bias' has shape"):
        lstm.load_checkpoint(huge)


# 6. tracebacks instead of one line
@pytest.mark.parametrize("config, message", [
    ({"vocab_size": "1e999", "hidden": 8, "layers": 1}, "vocab_size"),
    ({"vocab_size": 514, "hidden": 8, "layers": 10 ** 9}, "layers"),
    ({"vocab_size": 514, "hidden": 8, "layers": 1, "dropout": 5}, "dropout"),     # (12.)
    ([1, 2], "not a JSON object"),
])
def test_6_bad_configs_are_one_line(tmp_path, checkpoint, config, message):  # noqa: F811
    path = str(tmp_path / "c.npz")
    with np.load(checkpoint, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["config"] = np.array(json.dumps(config).replace('"1e999"', "1e999"))
    np.savez(path, **arrays)
    with pytest.raises(lstm.CheckpointError, match=message):
        lstm.load_checkpoint(path)


@pytest.mark.parametrize("extra", [[1, 2], {"step": 3}])
def test_6_resume_needs_a_whole_record_of_the_run(tmp_path, words_file, checkpoint, capsys, extra):  # noqa: F811
    path = str(tmp_path / "r.npz")
    with np.load(os.path.join(os.path.dirname(checkpoint), "last.npz"), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["extra"] = np.array(json.dumps(extra))
    np.savez(path, **arrays)
    code, _, err = run_train([words_file, "--resume", path, "--out", str(tmp_path / "o")], capsys)
    assert code == 1 and err.startswith("error:") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    (["--seed", "-1"], "--seed -1 is out of range"),
    (["--forget-bias", "nan"], "--forget-bias nan must be a finite number"),                  # (13.)
    (["--lr", "1e30", "--eval-every", "1"], "diverged"),
])
def test_6_bad_training_flags_are_one_line(tmp_path, words_file, capsys, argv, message):  # noqa: F811
    code, out, err = run_train([words_file, "--out", str(tmp_path / "r"), "--steps", "3"] + TINY + argv, capsys)
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1
    assert "NaN" not in out


@pytest.mark.parametrize("argv, message", [
    (["--bpm", "3.5"], "tempo 3.5 bpm is out of range"),
    (["--diversity", "inf"], "--diversity: want 0..100"),
    (["--seed", "-1"], "--seed -1: want 0 or more"),          # (found by benchmarks/fuzz.py, case 719)
])
def test_6_bad_generation_flags_write_nothing(tmp_path, checkpoint, capsys, argv, message):  # noqa: F811
    out = tmp_path / "g"
    assert generate.main([checkpoint, "--out", str(out)] + argv) == 1
    assert message in one_line_error(capsys)
    assert not out.exists() or not os.listdir(out)


# 7. a save killed mid-write left a full-size temporary file behind
def test_7_stale_temporary_files_are_cleared(tmp_path, words_file, capsys):  # noqa: F811
    out = tmp_path / "r"
    out.mkdir()
    (out / ".tmp-abc123.npz").write_bytes(b"x" * 1000)
    assert run_train([words_file, "--out", str(out), "--steps", "2"] + TINY, capsys)[0] == 0
    assert not [p for p in os.listdir(out) if p.startswith(".tmp-")]


# 8. history.csv followed symlinks, and a failed run truncated the last run's history
def test_8_history_replaces_a_symlink_and_survives_a_failed_run(tmp_path, words_file, capsys):  # noqa: F811
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me\n")
    out = tmp_path / "r"
    out.mkdir()
    os.symlink(outside, out / "history.csv")
    assert run_train([words_file, "--out", str(out), "--steps", "20", "--eval-every", "10"] + TINY, capsys)[0] == 0
    assert outside.read_text() == "keep me\n" and not os.path.islink(out / "history.csv")
    history = (out / "history.csv").read_text()
    code, _, _ = run_train([words_file, "--out", str(out), "--steps", "5", "--lr", "1e30", "--clip", "0"] + TINY, capsys)
    assert code == 1 and (out / "history.csv").read_text() == history


# 9. two runs on one folder interleaved their files
def test_9_one_run_per_folder(tmp_path, words_file, capsys):  # noqa: F811
    out = tmp_path / "r"
    out.mkdir()
    with open(out / ".lock", "a") as held:                   # another run holds the folder
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, _, err = run_train([words_file, "--out", str(out), "--steps", "2"] + TINY, capsys)
    assert code == 1 and "another train.py run is using this folder" in err
    assert run_train([words_file, "--out", str(out), "--steps", "2"] + TINY, capsys)[0] == 0  # released


# 10. an output could overwrite its input
def test_10_outputs_never_overwrite_inputs(tmp_path, capsys):
    mid = tmp_path / "x.mid"
    encoding.bars_to_midi([[256] * 4]).save(str(mid))
    before = mid.read_bytes()
    assert encoding.main([str(mid), "-o", str(mid)]) == 1
    assert "would overwrite an input" in one_line_error(capsys) and mid.read_bytes() == before
    song = tmp_path / "song.txt"
    song.write_text("0b100000000 BAR\n")
    assert encoding.main(["--to-midi", str(song), "-o", str(song)]) == 1
    assert song.read_text() == "0b100000000 BAR\n"


# 11. error lines had no length limit
def test_11_a_giant_token_gives_a_short_line(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("0b100000000 " + "x" * 1_000_000 + " BAR\n")
    code, _, err = run_train([str(bad), "--out", str(tmp_path / "r")], capsys)
    assert code == 1 and len(err) < 300


# 12. values not range-checked: MIDI types and track counts
@pytest.mark.parametrize("header, message", [
    ("0003 0001 0060", "type 3 does not exist"),
    ("ffff 0001 0060", "type 65535 does not exist"),
    ("0001 ffff 0060", "declares 65535 track(s)"),
    ("0001 0001 0000", "0 ticks per beat"),                                                     # (13.)
])
def test_12_impossible_headers_are_refused(tmp_path, header, message):
    track = bytes.fromhex("4d54726b 00000008 00992464 00ff2f00".replace(" ", ""))
    data = bytes.fromhex(("4d546864 00000006 " + header).replace(" ", "")) + track
    with pytest.raises(encoding.CodecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        encoding.read_midi(io.BytesIO(data))


# 13. a full disk named no file
def test_13_a_write_error_names_the_file(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", full)
    target = tmp_path / "out.txt"
    with pytest.raises(OSError) as e:
        encoding.write_atomic(str(target), b"data")
    assert e.value.filename == str(target) and not os.listdir(tmp_path)


# 14. a checkpoint from elsewhere whose record of its training corpus is malformed: generating and
#     scoring raised a TypeError; now the corpus's figures that cannot be read are left out
@pytest.mark.parametrize("corpus", [
    {"song_bars": ["a"], "longest_run": "x", "unigram": "many", "stats": [1], "feel_stats": {"kick": 3}},
    {"song_bars": 5, "longest_run": -4, "unigram": [1] * 600, "stats": {"bars": "x"}, "styles": "rock"},
    [1, 2, 3],
])
def test_14_a_malformed_corpus_record_is_left_out(tmp_path, checkpoint, words_file, capsys, corpus):  # noqa: F811
    ck = lstm.load_checkpoint(checkpoint)
    path = str(tmp_path / "elsewhere.npz")
    lstm.save_checkpoint(path, ck["params"], ck["config"], encoding.VOCAB, extra={**ck["extra"], "corpus": corpus})
    ck = lstm.load_checkpoint(path)
    assert generate.shortest_song(ck) == 1 and generate.longest_run(ck) == 0
    out = str(tmp_path / "out")
    assert generate.main([path, "--bars", "2", "--diversity", "1", "--out", out]) == 0
    assert "Traceback" not in capsys.readouterr().err and len(os.listdir(out)) >= 2
    code, _, err = run_train(["--eval", path, words_file], capsys)    # its baselines from no record: even odds
    assert code == 0 and "Traceback" not in err
