"""Tests of tools/coursework.py: the reference passes, a blanked copy holds no answer and fails
with the exercise's message, each planted mistake is caught and named, the report is JSON, and
(one end-to-end test) a finished copy trains the demo and plays it.

The planted mistakes are written as a student would write them, not as the grader's own mutations:
each exercise has a student's correct version below, as a template with slots, and a mistake fills
one slot another way. The finished copy takes the reference's functions for the other exercises."""
import ast
import glob
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import coursework  # noqa: E402 (the teacher's copy)

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def function_spans(source):
    """{name: (first line, last line)} of the top-level functions, 1-based."""
    return {n.name: (n.lineno, n.end_lineno) for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}


def body_lines(source, name):
    """The code of a function's body after its docstring: each line stripped of comments and spaces."""
    node = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name)
    lines = source.splitlines()[node.body[1].lineno - 1:node.end_lineno]
    return [code for code in (line.split("#")[0].strip() for line in lines) if code]


@pytest.fixture(scope="module")
def blank_copy(tmp_path_factory):
    """A student's copy of every exercise (made once)."""
    out = str(tmp_path_factory.mktemp("coursework") / "student")
    assert coursework.main(["blank", "--out", out]) == 0
    return out


@pytest.fixture(scope="module")
def grader(blank_copy):
    """The copy's own grader (the student's tools/coursework.py), imported."""
    path = os.path.join(blank_copy, "tools", "coursework.py")
    spec = importlib.util.spec_from_file_location("student_coursework", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def finished(blank_copy, folder, own=None):
    """A copy of blank_copy in folder with every exercise done: the reference's function, or the
    source given in own ({name: a whole function's source}). Only lstm_drums.py and the numbers:
    enough to grade with --quick."""
    own = own or {}
    reference = read(os.path.join(ROOT, "lstm_drums.py"))
    ref_spans, ref_lines = function_spans(reference), reference.splitlines(keepends=True)
    source = read(os.path.join(blank_copy, "lstm_drums.py"))
    spans, lines = function_spans(source), source.splitlines(keepends=True)
    for name in sorted(coursework.EXERCISES, key=lambda n: -spans[n][0]):
        first, last = ref_spans[name]
        text = textwrap.dedent(own[name]).strip() + "\n" if name in own else "".join(ref_lines[first - 1:last])
        lines[spans[name][0] - 1:spans[name][1]] = [text]
    os.makedirs(os.path.join(folder, "tools"), exist_ok=True)
    with open(os.path.join(folder, "lstm_drums.py"), "w", encoding="utf-8") as f:
        f.write("".join(lines))
    shutil.copyfile(os.path.join(blank_copy, coursework.NUMBERS), os.path.join(folder, coursework.NUMBERS))
    return str(folder)


def row(report, name):
    return next(r for r in report["exercises"] if r["name"] == name)


# ----------------------------------------------------------------------------
# A student's correct functions, with slots for the mistakes (each differs from the reference's form)

STUDENT = {
    "softmax_loss": ('''
        def softmax_loss(logits, y):
            T, N, V = logits.shape
            flat = logits.reshape(T * N, V)
            shifted = {shift}
            probs = np.exp(shifted)
            probs = probs / probs.sum(axis=1, keepdims=True)
            rows, cols = np.arange(T * N), y.reshape(-1)
            nll = -np.log(probs[rows, cols])
            loss = {loss}
            d = probs.copy()
            d[rows, cols] -= 1
            return loss, ({scale}).reshape(T, N, V)
        ''', {"shift": "flat - flat.max(axis=1, keepdims=True)", "loss": "nll.mean()", "scale": "d / (T * N)"}),
    "lstm_step_forward": ('''
        def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
            H = prev_h.shape[1]
            a = x @ Wx + prev_h @ Wh + b
            ai, af, ag, ao = {split}
            i, f, o, g = sigmoid(ai), sigmoid(af), sigmoid(ao), np.tanh(ag)
            next_c = f * prev_c + i * g
            next_h = o * np.tanh(next_c)
            return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, g, o, next_c)
        ''', {"split": "np.split(a, 4, axis=1)"}),
    "lstm_step_backward": ('''
        def lstm_step_backward(dnext_h, dnext_c, cache):
            x, prev_h, prev_c, Wx, Wh, i, f, g, o, next_c = cache
            th = np.tanh(next_c)
            d_o = dnext_h * th
            d_c = {dc}
            d_i, d_f, d_g = d_c * g, d_c * prev_c, d_c * i
            s_i, s_f, s_o = {sig}
            d_a = np.hstack([{gates}])
            return d_a @ Wx.T, d_a @ Wh.T, {dprev_c}, x.T @ d_a, {h}.T @ d_a, {db}
        ''', {"dc": "dnext_c + dnext_h * o * (1 - th * th)", "sig": "i * (1 - i), f * (1 - f), o * (1 - o)",
              "gates": "d_i * s_i, d_f * s_f, d_g * (1 - g * g), d_o * s_o", "dprev_c": "d_c * f", "h": "prev_h",
              "db": "np.sum(d_a, axis=0)"}),
    "lstm_forward": ('''
        def lstm_forward(x, h0, c0, Wx, Wh, b):
            hs, cs, caches = [], [], []
            h, c = h0, c0
            for xt in x:
                h, c, step = lstm_step_forward(xt, {state}, Wx, Wh, b)
                hs.append(h)
                cs.append(c)
                caches.append(step)
            return np.array(hs), np.array(cs), caches
        ''', {"state": "h, c"}),
    "lstm_backward": ('''
        def lstm_backward(dh, cache):
            T = dh.shape[0]
            carry_h, carry_c = {zeros}, {zeros}
            dxs, total = [None] * T, None
            for t in range(T - 1, -1, -1):
                dxs[t], carry_h, new_c, gx, gh, gb = lstm_step_backward(dh[t] + carry_h, carry_c, cache[t])
                carry_c = {carry}
                total = {total}
            return np.array(dxs), carry_h, carry_c, total[0], total[1], total[2]
        ''', {"zeros": "np.zeros_like(dh[0])", "carry": "new_c",
              "total": "[gx, gh, gb] if total is None else [total[0] + gx, total[1] + gh, total[2] + gb]"}),
    "model_backward": ('''
        def model_backward(dlogits, cache):
            top, layer_caches, masks, params = cache
            grads = {{"Wy": np.einsum("tnh,tnv->hv", top, dlogits), "by": dlogits.sum(axis=(0, 1))}}
            d = dlogits @ params["Wy"].T
            for l in range(len(layer_caches) - 1, -1, -1):
                {mask}
                d, _, _, grads["Wx%d" % l], grads["Wh%d" % l], grads["b%d" % l] = lstm_backward(d, layer_caches[l])
            return grads
        ''', {"mask": "d = d if masks is None else d * masks[l]"}),
    "adam_update": ('''
        def adam_update(params, grads, opt, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            t = opt["t"] + 1
            new, out = {{}}, {{"m": {{}}, "v": {{}}, "t": t}}
            for name in params:
                m = beta1 * opt["m"][name] + (1 - beta1) * grads[name]
                v = beta2 * opt["v"][name] + (1 - beta2) * grads[name] ** 2
                out["m"][name], out["v"][name] = m, v
                m_hat, v_hat = {correct}
                new[name] = params[name] - lr * m_hat / ({denominator})
            return new, out
        ''', {"correct": "m / (1 - beta1 ** t), v / (1 - beta2 ** t)", "denominator": "np.sqrt(v_hat) + eps"}),
}

ADAM_IN_PLACE = '''
    def adam_update(params, grads, opt, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        opt["t"] += 1
        t, new = opt["t"], {}
        for name in params:
            opt["m"][name] *= beta1
            opt["m"][name] += (1 - beta1) * grads[name]
            opt["v"][name] = beta2 * opt["v"][name] + (1 - beta2) * grads[name] ** 2
            m_hat, v_hat = opt["m"][name] / (1 - beta1 ** t), opt["v"][name] / (1 - beta2 ** t)
            new[name] = params[name] - lr * m_hat / (np.sqrt(v_hat) + eps)
        return new, opt
    '''


def student(name, **slots):
    """A student's version of one exercise: the correct template, with the given slots filled otherwise."""
    template, right = STUDENT[name]
    return template.format(**dict(right, **slots))


# The planted mistakes: (the function, its slots, words the grader's message must contain).
MISTAKES = [
    ("softmax_loss", dict(loss="nll.sum()", scale="d"), "summed over the T*N positions, not averaged"),
    ("softmax_loss", dict(loss="nll.sum() / N", scale="d / N"), "averaged over N only"),
    ("softmax_loss", dict(shift="flat"), "max"),
    ("lstm_step_forward", dict(split="a[:, :H], a[:, H:2 * H], a[:, 3 * H:], a[:, 2 * H:3 * H]"), "i, f, o, g"),
    ("lstm_step_backward", dict(dc="dnext_h * o * (1 - th * th)"), "dnext_c is ignored"),
    ("lstm_step_backward", dict(dc="dnext_c + dnext_h * o"), "tanh'(c) is missing"),
    ("lstm_step_backward", dict(sig="sigmoid(i) * (1 - sigmoid(i)), sigmoid(f) * (1 - sigmoid(f)), "
                                    "sigmoid(o) * (1 - sigmoid(o))"),
     "as if the gate's output were its pre-activation"),
    ("lstm_step_backward", dict(h="(o * th)"), "h_t (next_h)"),
    ("lstm_step_backward", dict(db="d_a"), "not summed over the batch"),
    ("lstm_step_backward", dict(dprev_c="d_c"), "missing the forget gate"),
    ("lstm_step_backward", dict(gates="d_i * s_i, d_f * s_f, d_o * s_o, d_g * (1 - g * g)"), "i, f, o, g"),
    ("lstm_forward", dict(state="h0, c0"), "every step starts from h0, c0"),
    ("lstm_backward", dict(carry="np.zeros_like(new_c)"), "dc is not carried from step t+1"),
    ("lstm_backward", dict(total="[gx, gh, gb]"), "sum over time is missing"),
    ("lstm_backward", dict(zeros="np.zeros(dh[0].shape)"), "float64 from float32 inputs"),
    ("model_backward", dict(mask="pass"), "dropout masks are not applied"),
    ("adam_update", dict(correct="m, v"), "no bias correction"),
    ("adam_update", dict(denominator="np.sqrt(v_hat + eps)"), "inside the square root"),
    ("softmax_loss", dict(loss="nll.mean() + undefined_name"), "raised NameError"),
]


def test_the_reference_passes(capsys):
    assert coursework.main(["grade", "--reference", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "7 of 7 exercises pass" in out and "wrong" not in out


def test_a_blank_copy_runs_and_fails_with_the_exercise_message(blank_copy, tmp_path):
    assert {"COURSEWORK.md", "data", "encoding.py", "generate.py", "lstm_drums.py", "requirements.txt", "tools",
            "train.py"} <= set(os.listdir(blank_copy))
    assert sorted(os.listdir(os.path.join(blank_copy, "data", "demo"))) == sorted(
        os.listdir(os.path.join(ROOT, "data", "demo")))
    report_path = str(tmp_path / "report.json")
    p = subprocess.run([sys.executable, "tools/coursework.py", "grade", ".", "--json", report_path],
                       cwd=blank_copy, env=ENV, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stdout + p.stderr
    assert "not done yet: exercise: implement softmax_loss: (logits (T, N, V)" in p.stdout
    assert "lstm_backward needs lstm_forward and lstm_step_backward to pass first" in p.stdout
    report = json.loads(read(report_path))                  # the report: valid JSON, the fields the docs name
    assert report["passed"] is False and report["exit_code"] == 1
    assert [r["name"] for r in report["exercises"]] == list(coursework.EXERCISES)
    assert {r["status"] for r in report["exercises"]} == {"not done", "blocked"}
    assert all(r["blanked"] for r in report["exercises"])
    assert report["summary"] == {"exercises": 7, "passed": 0, "not_done": 3, "wrong": 0, "blocked": 4}
    assert not [f for f in os.listdir(tmp_path) if f != "report.json"]   # written whole, no temporary left


def test_the_copy_holds_no_answer(blank_copy):
    reference = read(os.path.join(ROOT, "lstm_drums.py"))
    copied = {path: read(path) for path in glob.glob(os.path.join(blank_copy, "**", "*"), recursive=True)
              if os.path.isfile(path) and not path.endswith(".mid")}
    model = copied.pop(os.path.join(blank_copy, "lstm_drums.py"))
    # the forward's fast twins stay (generate.py runs them); lines they share with the plain forward are allowed
    kept = set(body_lines(reference, "lstm_step_forward_fast") + body_lines(reference, "lstm_forward_fast"))
    for name in coursework.EXERCISES:
        for code in body_lines(reference, name):
            if len(code) >= 8:
                assert code not in model or code in kept, f"{name}'s {code!r} is in the copy's lstm_drums.py"
                assert not [p for p, text in copied.items() if code in text], f"{name}'s {code!r} is in the copy"
        assert f'raise NotImplementedError("exercise: implement {name}: ' in model
    for twin in ("lstm_step_backward_fast", "lstm_backward_fast", "model_backward_fast", "adam_update_fast",
                 "softmax_loss_fast"):
        assert f'NotImplementedError("withheld in the student copy: {twin} ' in model
    grader_copy = copied[os.path.join(blank_copy, "tools", "coursework.py")]
    assert "MISTAKES" not in grader_copy and "teacher only" not in grader_copy and "def mutant" not in grader_copy
    for _, _, edits, *_ in coursework.MISTAKES:              # no mistake's code either
        assert not [new for _, new in edits if len(new) > 12 and any(new in text for text in copied.values())]
    # every other line of lstm_drums.py is the reference's, byte for byte
    rest = iter(reference.splitlines(keepends=True))       # in order, as a subsequence of the reference's
    kept_lines = [line for line in model.splitlines(keepends=True) if "raise NotImplementedError(" not in line]
    assert all(any(line == ref for ref in rest) for line in kept_lines)
    assert len(kept_lines) < len(reference.splitlines())


def test_blank_refuses_a_folder_in_use_and_unknown_exercises(blank_copy, tmp_path, capsys):
    assert coursework.main(["blank", "--out", blank_copy]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert coursework.main(["blank", "--out", str(tmp_path / "x"), "--exercises", "lstm_step_backward,nope"]) == 2
    assert "unknown nope" in capsys.readouterr().err and not os.path.exists(tmp_path / "x")
    with pytest.raises(SystemExit) as e:
        coursework.main(["grade", "--quick", "--no-such-flag"])
    assert e.value.code == 2


def test_a_mistake_that_no_longer_fits_the_reference_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(coursework, "MISTAKES", coursework.MISTAKES + [
        ("stale", "adam_update", [("no such text", "x")], "a mistake the reference no longer has")])
    assert coursework.main(["grade", "--reference", "--quick"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("coursework: mistake stale: 'no such text' is not once in the reference's adam_update")


def test_a_chosen_exercise_alone(tmp_path, grader):
    out = str(tmp_path / "one")
    assert coursework.main(["blank", "--out", out, "--exercises", "adam_update,lstm_step_backward"]) == 0
    model = read(os.path.join(out, "lstm_drums.py"))
    assert model.count('NotImplementedError("exercise: ') == 2
    report = grader.grade(out, quick=True, log=lambda *a: None)
    assert [r["status"] for r in report["exercises"]] == ["passed", "passed", "not done", "passed", "blocked",
                                                          "blocked", "not done"]
    assert [r["blanked"] for r in report["exercises"]] == [False, False, True, False, False, False, True]


def test_the_students_correct_versions_pass(blank_copy, tmp_path, grader):
    own = {name: student(name) for name in STUDENT}
    report = grader.grade(finished(blank_copy, tmp_path, own), quick=True, log=lambda *a: None)
    assert [(r["name"], r["status"], r["message"]) for r in report["exercises"] if r["status"] != "passed"] == []
    assert report["exit_code"] == 0


@pytest.mark.parametrize("name, slots, words", MISTAKES, ids=[f"{m[0]}-{k}" for k, m in enumerate(MISTAKES)])
def test_each_planted_mistake_is_named(blank_copy, tmp_path, grader, name, slots, words):
    report = grader.grade(finished(blank_copy, tmp_path, {name: student(name, **slots)}), quick=True,
                          log=lambda *a: None)
    r = row(report, name)
    assert r["status"] == "wrong", r
    assert r["message"].startswith(name) and words in r["message"], r["message"]
    assert "Traceback" not in r["message"] and "\n" not in r["message"]
    assert report["exit_code"] == 1
    others = [x for x in report["exercises"] if x["name"] != name]
    assert {x["status"] for x in others} <= {"passed", "blocked"}


def test_inputs_changed_in_place_and_a_file_that_does_not_import(blank_copy, tmp_path, grader):
    report = grader.grade(finished(blank_copy, tmp_path / "a", {"adam_update": ADAM_IN_PLACE}), quick=True,
                          log=lambda *a: None)
    assert row(report, "adam_update")["message"].startswith("adam_update changes its input opt in place")
    folder = finished(blank_copy, tmp_path / "b")
    with open(os.path.join(folder, "lstm_drums.py"), "a", encoding="utf-8") as f:
        f.write("\ndef broken(:\n")
    report = grader.grade(folder, quick=True, log=lambda *a: None)
    assert report["exit_code"] == 1 and report["error"].startswith("lstm_drums.py does not import: SyntaxError")


def test_the_teachers_grader_uses_its_own_numbers(blank_copy, tmp_path, capsys):
    folder = finished(blank_copy, tmp_path, {"lstm_step_backward": student("lstm_step_backward", db="d_a")})
    with open(os.path.join(folder, coursework.NUMBERS), "w") as f:
        f.write("tampered")                                  # the teacher's copy never reads them
    assert coursework.main(["grade", folder, "--quick"]) == 1
    out = capsys.readouterr().out
    assert "expected numbers: the reference" in out and "not summed over the batch" in out


def test_a_finished_copy_trains_the_demo_and_plays_it(blank_copy, tmp_path):
    """The one end-to-end test: every exercise done as the reference does it, graded in full by the
    copy's own grader (so train.py --plain and generate.py run without the withheld fast twins)."""
    folder = str(tmp_path / "done")
    shutil.copytree(blank_copy, folder)
    finished(blank_copy, folder)
    report_path = os.path.join(folder, "report.json")
    p = subprocess.run([sys.executable, "tools/coursework.py", "grade", ".", "--json", report_path],
                       cwd=folder, env=ENV, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads(read(report_path))
    assert [r["name"] for r in report["end_to_end"]] == ["overfit one batch", "train the demo", "play it"]
    train = report["end_to_end"][1]["figures"]
    assert train["val_nats_per_word"] < min(train["baselines"].values())
    wav = os.path.join(folder, "out", "coursework", "coursework.wav")
    assert report["end_to_end"][2]["figures"]["wav"] == wav and os.path.getsize(wav) > 10000
