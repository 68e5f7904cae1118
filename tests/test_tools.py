"""Tests of the tools a student runs: the gradient check (tools/gradcheck.py) and the cell
picture (tools/cells.py)."""
import importlib.util
import os

import pytest

import lstm_drums as lstm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "tools", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def gradcheck():
    tool = load_tool("gradcheck")
    right = lstm.lstm_step_backward, lstm.lstm_step_backward_fast
    yield tool
    lstm.lstm_step_backward, lstm.lstm_step_backward_fast = right  # undo --broken


def test_gradcheck_passes_every_parameter_of_both_input_kinds(gradcheck, capsys):
    assert gradcheck.main([]) == 0
    out = capsys.readouterr().out
    for name in ("Wx0", "Wh1", "Wy"):
        assert out.count(f"  {name} ") == 3                 # the plain core, then one row per input kind
    for name in ("Wf", "bf"):
        assert out.count(f"  {name} ") == 2
    for name in ("Fw", "fb", "fa", "fp", "fc"):             # the form head, once
        assert out.count(f"  {name} ") == 1
    assert "every gradient agrees" in out


def test_gradcheck_catches_a_wrong_backward(gradcheck):
    gradcheck.break_backward()
    errors = gradcheck.check("word", log=lambda *a: None)
    assert errors["Wh0"] > 1e-4 and errors["Wy"] < 1e-6      # the LSTM's weights are off, the decoder's not
    errors = gradcheck.check("plain", log=lambda *a: None)
    assert errors["Wh0"] > 1e-4 and errors["Wx0"] < 1e-6     # in the plain core, only dWh is off


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    import train
    out = str(tmp_path_factory.mktemp("cells") / "run")
    assert train.main([os.path.join(ROOT, "data", "demo"), "--steps", "20", "--hidden", "16", "--out", out]) == 0
    return os.path.join(out, "best.npz")


def test_cells_draws_the_units_that_follow_the_music(small_checkpoint, tmp_path, capsys):
    cells = load_tool("cells")
    song = os.path.join(ROOT, "data", "demo", "rock_8ths.mid")
    svg = str(tmp_path / "cells.svg")
    assert cells.main([small_checkpoint, song, "-o", svg]) == 0
    out = capsys.readouterr().out
    for name in cells.TARGETS:
        assert name in out
    assert "forget <0.1" in out
    text = open(svg).read()
    assert text.startswith("<svg") and text.count("<polyline") == len(cells.TARGETS) and "r=" in text
    run = cells.run_song(small_checkpoint, song)                # the README's recipe for one correlation
    found = cells.best_units(run)
    layer, kind, j, r = found["bar line"]
    import numpy as np
    again = np.corrcoef(run[kind][layer][:-1, j], run["targets"]["bar line"][:-1])[0, 1]
    assert abs(again - r) < 1e-6 and abs(r) > 0.3            # a small model already follows the bar line
    for gates in cells.saturation(run).values():
        assert all(0 <= low + high <= 1 for low, high in gates.values())


def test_cells_refuses_bad_input_in_one_line(small_checkpoint, tmp_path, capsys):
    cells = load_tool("cells")
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00")
    assert cells.main([small_checkpoint, str(bad), "-o", str(tmp_path / "x.svg")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error:")
    assert not (tmp_path / "x.svg").exists()


def test_the_walkthrough_page_is_what_the_code_prints():
    walkthrough = load_tool("walkthrough")
    with open(os.path.join(ROOT, "docs", "walkthrough.md")) as f:
        page = f.read()
    assert page == walkthrough.page(), "docs/walkthrough.md is stale: python tools/walkthrough.py > docs/walkthrough.md"
