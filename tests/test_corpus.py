"""corpus.py: the one song reader (words with their feel, or MIDI), the one info.csv reader, and
the promise that no other place reads a song its own way."""
import ast
import os

import numpy as np
import pytest

import corpus
import encoding
import lstm_drums

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WALTZ = os.path.join(ROOT, "data", "demo", "waltz_3_4.mid")


def test_a_midi_song_and_its_words_file_read_the_same(tmp_path):
    midi = corpus.read_song(WALTZ)
    assert midi.words[-1] == encoding.BAR and midi.feel.shape == (len(midi.words), 2 * encoding.N_CLASSES)
    words = tmp_path / "waltz.txt"
    assert encoding.main([WALTZ, "-o", str(words)]) == 0              # words.txt and words.feel.txt
    text = corpus.read_song(str(words))
    assert text.name == f"{words}:1" and text.words == midi.words
    assert np.array_equal(text.feel, midi.feel)                       # the feel came with the words
    os.remove(encoding.feel_path(str(words)))
    assert corpus.read_song(str(words)).feel is None                  # words alone: no feel
    with pytest.raises(encoding.CodecError, match="line 2, but the file holds 1 song"):
        corpus.read_song(str(words), line=2)


def test_a_feel_file_is_refused_as_a_song(tmp_path):
    with pytest.raises(encoding.CodecError, match="a feel file; give its words file"):
        corpus.read_songs(str(tmp_path / "song.feel.txt"))


def calls(tree, name):
    """The calls of a function or method called `name` in a parsed module."""
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and
            getattr(n.func, "attr", getattr(n.func, "id", None)) == name]


def python_files():
    for folder in (".", "tools", "benchmarks", "data"):
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            if name.endswith(".py"):
                yield os.path.normpath(os.path.join(folder, name))


def test_one_place_reads_a_song_with_its_feel():
    """read_feel (the feel file of a words file) is called in one place, encoding.read_words_file,
    and every caller reads songs through it (corpus.read_songs); no other code joins a feel path
    to read one (writers name the feel file they write, and an error message may name it)."""
    readers = []
    for path in python_files():
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            if calls(fn, "read_feel") or any(calls(c, "feel_path") for c in calls(fn, "exists")):
                readers.append(f"{path}:{fn.name}")
    assert readers == ["encoding.py:read_words_file"]


def test_info_csv_has_one_reader_with_one_rule(tmp_path):
    (tmp_path / "info.csv").write_text("midi_filename,split,style,beat_type\na/1.mid,train,rock,beat\n"
                                       "a/2.mid,validation,jazz/funk,fill\n")
    table = corpus.read_info_csv(str(tmp_path / "info.csv"))
    assert table == {"a/1.mid": ("rock", False, "train"), "a/2.mid": ("jazz", True, "validation")}
    (tmp_path / "info.csv").write_text("midi_filename,split,style,beat_type\na/1.mid,train,rock,beat,extra\n")
    for columns in (("midi_filename", "split"), corpus.INFO_COLUMNS):   # the same row rule for either caller
        with pytest.raises(encoding.CodecError, match="5 fields, the header has 4"):
            corpus.read_info_csv(str(tmp_path / "info.csv"), columns)


def test_corpus_command_line_is_one_line_for_bad_input(tmp_path, capsys):
    assert corpus.main([str(tmp_path), "--split", "train", "--info", str(tmp_path / "none.csv")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")


def test_the_docstring_example_is_true(monkeypatch):
    import doctest
    monkeypatch.chdir(ROOT)                                           # its path is the repository's
    result = doctest.testmod(corpus)
    assert result.attempted >= 2 and result.failed == 0


def test_a_style_name_has_one_rule():
    """corpus.style_name makes a name from the data by the codec's rule (encoding.is_style_name), and a
    checkpoint keeps any name that rule allows."""
    for name, want in (("Jazz ", "jazz"), ("hip-hop_2", "hip-hop_2"), ("x" * 40, "x" * 40)):
        assert corpus.style_name(name, "here") == want and encoding.is_style_name(want)
        assert lstm_drums.style_names([want])
    assert not lstm_drums.style_names(["Jazz"])                  # a checkpoint's names are stored lower case
    for bad in ("", "x" * 41, "rock&roll", "a b", "jazz/funk", "é"):
        assert not encoding.is_style_name(bad) and not lstm_drums.style_names([bad])
        with pytest.raises(encoding.CodecError, match="here: style name"):
            corpus.style_name(bad, "here")
