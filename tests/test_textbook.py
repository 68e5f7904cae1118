"""The textbook's promises, checked: a first page a student finishes, a model file whose LSTM
core reads in one sitting, code comments that give reasons (the measurements live in docs/ and
benchmarks/README.md), and scripts that stay on top of the two libraries."""
import ast
import io
import os
import re
import tokenize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = ("lstm_drums.py", "encoding.py", "train.py", "generate.py")


def read(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as f:
        return f.read()


def test_readme_is_a_first_page():
    readme = read("README.md")
    lines = readme.splitlines()
    assert len(lines) <= 250
    first_screen = "\n".join(lines[:40])
    assert "pip install -r requirements.txt && python train.py && python generate.py" in first_screen
    assert "pip install -r requirements-dev.txt && python -m pytest -q" in first_screen
    assert "What you should see" in first_screen
    blocks = re.findall(r"```.*?```", readme, flags=re.S)
    assert not [b for b in blocks if "../shared" in b]      # commands name the user's data as placeholders


def test_the_lstm_core_reads_in_one_sitting():
    lines = read("lstm_drums.py").splitlines()
    core = next(k for k, line in enumerate(lines) if line.startswith("# Extensions")) - 1   # its banner
    assert core <= 450, f"the core (sections 1-5, with the module docstring) is {core} lines"
    headers = [line for line in lines[:core] if re.match(r"# \d+\. ", line)]
    assert [h.split(".")[0] for h in headers] == ["# 1", "# 2", "# 3", "# 4", "# 5"]


def comments_and_docstrings(source):
    """Every comment and docstring of a Python source, as text."""
    texts = [tok.string for tok in tokenize.generate_tokens(io.StringIO(source).readline)
             if tok.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)):
            texts.append(ast.get_docstring(node) or "")
    return "\n".join(texts)


MEASUREMENT = re.compile(r"\b\d+(\.\d+)?(-\d+(\.\d+)?)?x (faster|slower|the)|\b\d+(\.\d+)?x\b"   # speed-up factors
                         r"|\b\d+(\.\d+)? ?(ms|us|µs)\b|\b\d+(\.\d+)? ?(minutes?|min)\b"         # timings
                         r"|\b20\d\d-\d\d-\d\d\b")                                               # dates


def test_code_gives_reasons_not_measurements():
    for name in SCRIPTS:
        found = [m.group(0) for m in MEASUREMENT.finditer(comments_and_docstrings(read(name)))]
        assert not found, f"{name} quotes measurements in its comments: {found}"
    assert MEASUREMENT.search("# 2.5x faster at 2 x 256") and MEASUREMENT.search("# 35 ms per step")


def imported_modules(name):
    tree = ast.parse(read(name))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_scripts_stay_on_top():
    project = {"lstm_drums", "encoding", "train", "generate"}
    assert imported_modules("train.py") & project == {"lstm_drums", "encoding"}
    assert imported_modules("generate.py") & project == {"lstm_drums", "encoding"}
    assert not imported_modules("lstm_drums.py") & project
    assert not imported_modules("encoding.py") & project
    for folder in ("benchmarks", "tools", "data"):
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            if name.endswith(".py"):
                scripts = imported_modules(os.path.join(folder, name)) & {"train", "generate"}
                assert not scripts, f"{folder}/{name} imports the script(s) {scripts}"
