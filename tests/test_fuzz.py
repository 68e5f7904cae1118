"""A fast seeded fuzz of the three tools (benchmarks/fuzz.py runs thousands of cases before a
release): mutated MIDI files, damaged checkpoints, odd command lines and broken feel files must each end in a
result or the tool's own one-line error, never a traceback or a hang."""
import importlib.util
import os

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("fuzz", os.path.join(ROOT, "benchmarks", "fuzz.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kind, cases", [("midi", 300), ("checkpoint", 150), ("argv", 30), ("feel", 200)])
def test_no_case_escapes(fuzz, kind, cases):
    escapes = fuzz.fuzz(cases, seed=1, timeout=30.0, kinds=(kind,), log=lambda *a: None)
    assert escapes == [], f"{len(escapes)} of {cases} {kind} cases escaped, the first: {escapes[0]}"
