"""The textbook's promises, checked: a first page a student finishes, a model file whose LSTM
core reads in one sitting, code comments that give reasons (the measurements live in docs/ and
benchmarks/README.md), and scripts that stay on top of the two libraries."""
import ast
import io
import os
import re
import tokenize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = ("lstm_drums.py", "encoding.py", "corpus.py", "train.py", "generate.py")


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


def core_lines():
    """Sections 1-5 of lstm_drums.py (the plain core), as (first line number, their lines)."""
    lines = read("lstm_drums.py").splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("# 1. ")) - 1         # its rule
    end = next(k for k, line in enumerate(lines) if line.startswith("# Making it fast")) - 1  # the banner
    return start, lines[start:end]


def test_the_lstm_core_reads_in_one_sitting():
    _, core = core_lines()
    assert len(core) <= 350, f"the plain core (sections 1-5, with their docstrings) is {len(core)} lines"
    headers = [line for line in core if re.match(r"# \d+\. ", line)]
    assert [h.split(".")[0] for h in headers] == ["# 1", "# 2", "# 3", "# 4", "# 5"]


def plain_violations(fn, later):
    """What keeps a function from being plain: a name from `later` (not its own local), an
    out= keyword, an assignment into or an in-place operator on one of its arguments."""
    args = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
    local = args | {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    found = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in later - local:
            found.append(f"{fn.name} names {node.id}, defined after the core")
        if isinstance(node, ast.keyword) and node.arg == "out":
            found.append(f"{fn.name} writes with out=")
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AugAssign) else []
        for target in targets:
            base = target
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            in_place = isinstance(node, ast.AugAssign) or base is not target
            if in_place and isinstance(base, ast.Name) and base.id in args:
                found.append(f"{fn.name} changes its argument {base.id} in place (line {node.lineno})")
    return found


def test_the_core_is_plain_and_names_nothing_defined_after_it():
    """The core's functions take arrays and return new ones, and call nothing that a reader
    meets only later in the file."""
    tree = ast.parse(read("lstm_drums.py"))
    start, core = core_lines()
    end = start + len(core)
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef) and start < n.lineno <= end]
    assert len(functions) >= 15
    later = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.lineno > end}
    later |= {t.id for n in tree.body if isinstance(n, ast.Assign) and n.lineno > end
              for t in n.targets if isinstance(t, ast.Name)}
    later |= {a.asname or a.name for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
              for a in n.names if (a.name if isinstance(n, ast.Import) else n.module) == "encoding"
              or a.name == "encoding"}                      # the codec's tables serve the extensions only
    assert {"lstm_step_forward_fast", "N_CLASSES", "input_size", "encoding"} <= later
    assert [v for fn in functions for v in plain_violations(fn, later)] == []


def test_the_plain_check_catches_what_it_forbids():
    bad = ast.parse("def f(x, dc, g):\n    dc *= g\n    x[0] = 1\n    np.tanh(x, out=x)\n"
                    "    return N_CLASSES\n").body[0]
    assert len(plain_violations(bad, {"N_CLASSES"})) == 4
    good = ast.parse("def f(x, dc, g):\n    dc = dc * g\n    y = x.copy()\n    y[0] = 1\n"
                     "    N_CLASSES = 3\n    return N_CLASSES\n").body[0]
    assert plain_violations(good, {"N_CLASSES"}) == []


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
    """Two scripts on three libraries: the codec at the bottom (it imports none of ours), the
    model and the corpus above it (each may take the codec's tables), and nothing imports a script."""
    project = {"lstm_drums", "encoding", "corpus", "train", "generate"}
    assert imported_modules("train.py") & project == {"lstm_drums", "encoding", "corpus"}
    assert imported_modules("generate.py") & project == {"lstm_drums", "encoding", "corpus"}
    assert imported_modules("lstm_drums.py") & project <= {"encoding"}
    assert imported_modules("corpus.py") & project == {"encoding"}
    assert not imported_modules("encoding.py") & project
    for folder in ("benchmarks", "tools", "data"):
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            if name.endswith(".py"):
                scripts = imported_modules(os.path.join(folder, name)) & {"train", "generate"}
                assert not scripts, f"{folder}/{name} imports the script(s) {scripts}"
