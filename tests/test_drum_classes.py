"""One table of drum classes: a tenth class added to encoding.DRUM_CLASSES, in a sandbox copy of
the scripts, reaches the codec, the model, the drum tab and the synthesiser, or an import
fails naming the table to extend."""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COWBELL = '    (49, "crash", "CR"),\n'


def sandbox(tmp_path):
    """A copy of the top-level scripts whose DRUM_CLASSES has a tenth class, cowbell (GM 56, CB)."""
    for name in ("encoding.py", "corpus.py", "lstm_drums.py", "train.py", "generate.py"):
        shutil.copy(os.path.join(ROOT, name), tmp_path / name)
    source = (tmp_path / "encoding.py").read_text()
    assert source.count(COWBELL) == 1, "the drum table has moved: update this test's COWBELL"
    (tmp_path / "encoding.py").write_text(source.replace(COWBELL, COWBELL + '    (56, "cowbell", "CB"),\n'))
    return tmp_path


def run(folder, code):
    return subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True,
                          env=dict(os.environ, OPENBLAS_NUM_THREADS="1"), timeout=300)


CHECKS = """
import numpy as np, encoding as E, lstm_drums as lstm, generate as G, train
cow = E.class_bit(9)                                                 # the new class's bit
assert (E.N_CLASSES, len(E.VOCAB), E.BAR_ID, len(E.STEP_WORDS[cow])) == (10, 1026, 1024, 12)
bars = [[cow | E.class_bit(0), 0, cow, 0]]
words = E.bars_to_words(bars)
assert words[0] == "0b1000000001" and E.words_to_bars(words) == bars
assert E.midi_to_bars(E.read_midi(__import__("io").BytesIO(E.midi_to_bytes(E.bars_to_midi(bars)))))[0] == bars
assert E.bars_to_tab(bars).splitlines()[0] == "CB |x-x-|"
assert lstm.N_CLASSES == 10 and lstm.word_bits([cow])[0, 9] == 1 and lstm.FEEL_OUT == 10 * 17
config = {"vocab_size": len(E.VOCAB), "hidden": 8, "layers": 1, "inputs": "lookback", "feel": True}
params = lstm.init_model(config, np.random.default_rng(0))
ids, feel = lstm.sample_bars(params, config, E.to_ids([E.BAR]), 2, np.random.default_rng(0), lstm.Sampling(bar_steps=4))
assert feel.shape == (len(ids), 20)
loud = G.bars_to_wav(bars, feel=None)
assert loud != G.bars_to_wav([[E.class_bit(0), 0, 0, 0]])            # the cowbell is heard
import os, tempfile
folder = tempfile.mkdtemp()
song = os.path.join(folder, "cowbell.txt")
open(song, "w").write(" ".join(words * 40) + chr(10))
assert train.main([song, "--steps", "2", "--hidden", "8", "--layers", "1", "--batch", "2", "--seq", "4",
                   "--out", os.path.join(folder, "run")]) == 0          # and trains
print("ok")
"""


def test_a_tenth_drum_class_reaches_every_part(tmp_path):
    folder = sandbox(tmp_path)
    refused = run(folder, "import generate")
    assert refused.returncode == 1 and "no voice for the drum class 'cowbell'" in refused.stderr
    assert "VOICE_RECIPES" in refused.stderr.splitlines()[-1]          # it names the table to extend
    source = (folder / "generate.py").read_text()
    voice = '    "crash": lambda rng:'
    assert source.count(voice) == 1
    (folder / "generate.py").write_text(source.replace(
        voice, '    "cowbell": lambda rng: 0.4 * _sweep(800, 560, 0.3, 0.08)[0],\n' + voice))
    done = run(folder, CHECKS)
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "ok", done.stderr[-2000:]
