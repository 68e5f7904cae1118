"""House rules that keep the code readable, checked on every .py file of the project (the libraries,
the scripts, tools/, benchmarks/ and data/): no function longer than 60 lines, none with more than 8
parameters. A longer story is split into named steps; many settings travel as one named object (as
generate.Settings and lstm_drums.Sampling do)."""
import ast
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MAX_LINES = 60          # from `def` to the function's last line, its docstring included
MAX_PARAMETERS = 8      # every parameter counts, with or without a default, *args and **kwargs too

# Functions allowed over a limit for now, each with its reason (remove the line once it holds).
EXCEPTIONS = {}                # (file, function): the reason it may be longer or take more parameters


def python_files():
    for folder in (".", "tools", "benchmarks", "data"):
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            if name.endswith(".py"):
                yield os.path.normpath(os.path.join(folder, name))


def functions(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    return [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def parameters(fn):
    a = fn.args
    return len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + (a.vararg is not None) + (a.kwarg is not None)


def test_no_function_is_too_long_or_takes_too_many_parameters():
    too_big = []
    for path in python_files():
        for fn in functions(path):
            lines, n = fn.end_lineno - fn.lineno + 1, parameters(fn)
            if (lines > MAX_LINES or n > MAX_PARAMETERS) and (path, fn.name) not in EXCEPTIONS:
                too_big.append(f"{path}:{fn.lineno} {fn.name}: {lines} lines, {n} parameters")
    assert not too_big, (f"over {MAX_LINES} lines or {MAX_PARAMETERS} parameters (split the story into named "
                         "steps, or gather the settings into one named object):\n" + "\n".join(too_big))


def test_the_rules_measure_what_they_say():
    source = "def f(a, b=1, *rest, c, **more):\n    '''doc'''\n    return a\n"
    fn = ast.parse(source).body[0]
    assert parameters(fn) == 5                                  # a, b, *rest, c, **more
    assert fn.end_lineno - fn.lineno + 1 == 3                   # def, docstring, return
    assert "lstm_drums.py" in set(python_files()) and os.path.join("tools", "cells.py") in set(python_files())
