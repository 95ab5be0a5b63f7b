"""The checker's blind spots, found by a cold review: a learner's sys.exit(), an answer of the wrong dtype, an
argument changed in place, a tuple of one, a dict's names misspelled or swapped, a helper module beside the
learner's file, and start's "Check it:" line for a file of another name."""

import json
import os
import shlex
import sys

import numpy as np
import pytest

from tinygrad_edu.cli import main
from tinygrad_edu.exercises import catalog, check_exercise
from tinygrad_edu.exercises.grading import TRIES_ENV, Tries, check_source


@pytest.fixture(autouse=True)
def tries_file(tmp_path, monkeypatch):
    """Every test counts tries in its own file, never in the user's cache."""
    monkeypatch.setenv(TRIES_ENV, str(tmp_path / "cache" / "tries.json"))


def tanh(body: str) -> str:
    """A learner's file for exercise 3 whose tanh_backward(g, out, x) has this body."""
    return f"import sys\n\nimport numpy as np\n\n\ndef tanh_backward(g, out, x):\n{body}\n"


def checked(number: int, source: str):
    return check_source(catalog.find(number), source, tries=Tries(None))


# ---------------------------------------------------------------- sys.exit()


@pytest.mark.parametrize("call", ["sys.exit(0)", "raise SystemExit", "sys.exit(3)"])
def test_sys_exit_in_the_function_is_a_verdict_and_exit_code_1(call, tmp_path, capsys):
    path = tmp_path / "ex03_tanh.py"
    path.write_text(tanh(f"    {call}"))
    assert main(["exercise", "check", str(path)]) == 1  # not the learner's exit code, and not "all right" (0)
    out = capsys.readouterr().out
    assert f"your code called sys.exit() in tanh_backward (line 7 of ex03_tanh.py, in tanh_backward: {call})" in out
    assert "on case 1 of 3" in out and "remove the sys.exit()" in out and "Hint" not in out  # no formula for it
    assert main(["exercise", "check", str(path), "--json"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ok"] is False and verdict["status"] == "error" and verdict["function"] == "tanh_backward"


def test_sys_exit_while_the_file_runs_is_a_verdict(tmp_path, capsys):
    source = tanh("    return g * (1 - out**2)") + "\n\nprint('my own try')\nsys.exit(0)\n"
    verdict = checked(3, source)
    assert not verdict.ok and verdict.status == "error"
    assert "your code called sys.exit() while the file ran" in verdict.text
    assert 'if __name__ == "__main__":' in verdict.text  # where the file's own tries can go
    path = tmp_path / "ex03_tanh.py"
    path.write_text(source)
    capsys.readouterr()
    assert main(["exercise", "check", str(path), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == "error"  # its print went to stderr


def test_check_exercise_does_not_let_sys_exit_escape():
    def tanh_backward(g, out, x):
        sys.exit(0)

    verdict = check_exercise(3, tanh_backward)
    assert not verdict.ok and "your code called sys.exit() in tanh_backward" in verdict.text


# ---------------------------------------------------------------- dtype


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_an_answer_right_to_float32_precision_is_told_to_compute_in_float64(dtype):
    verdict = checked(
        3, tanh(f"    g, out = g.astype(np.{dtype}), out.astype(np.{dtype})\n    return g * (1 - out**2)")
    )
    assert not verdict.ok and verdict.status == "wrong", verdict.text
    assert f"right to {dtype} precision (dtype {dtype}): compute in float64 (the engine's precision)" in verdict.text
    assert verdict.diagnosis and verdict.hint is None  # a diagnosis, so no unrelated hint from the ladder


def test_a_float32_answer_with_a_wrong_formula_gets_the_formulas_hint_not_the_dtype():
    verdict = checked(3, tanh("    return (g * (1 - out)).astype(np.float32)"))
    assert not verdict.ok and "precision" not in verdict.text and "one minus the output squared" in verdict.text


@pytest.mark.parametrize(
    "body, held",
    [
        (
            "    dx = np.zeros(x.shape, dtype=int)\n    dx[:] = g * (1 - out**2)\n    return dx",
            "integers (dtype int64)",
        ),
        ("    return (g * (1 - out**2)).astype(np.int32)", "integers (dtype int32)"),
        ("    return g * (1 - out**2) > 0", "booleans (dtype bool)"),
    ],
)
def test_an_integer_answer_is_named_with_its_dtype(body, held):
    verdict = checked(3, tanh(body))
    assert not verdict.ok and f"yours holds {held}" in verdict.text and "float64" in verdict.diagnosis
    assert "wrong sign" not in verdict.text and verdict.hint is None


# ---------------------------------------------------------------- arguments changed in place


def test_changing_g_in_place_is_wrong_even_when_the_numbers_are_right(tmp_path, capsys):
    verdict = checked(3, tanh("    g *= 1 - out**2\n    return g"))
    assert not verdict.ok and verdict.status == "wrong" and verdict.case == 1 and verdict.tries == 1
    assert "your function changed its argument g in place" in verdict.text
    assert "the same g is handed to other inputs (Add passes one g to both), so it would corrupt" in verdict.text
    assert "compute a new array" in verdict.text
    path = tmp_path / "ex03_tanh.py"
    path.write_text(tanh("    g *= 1 - out**2\n    return g"))
    assert main(["exercise", "check", str(path)]) == 1
    assert "changed its argument g in place" in capsys.readouterr().out


def test_changing_an_input_in_place_is_named_too():
    ex = catalog.find(12)  # the max taken off the logits in place, a common trick for a stable softmax
    source = ex.solution.replace("    n = logits.shape[0]\n", "    n = logits.shape[0]\n    logits -= 1.0\n")
    assert source != ex.solution
    verdict = check_source(ex, source, tries=Tries(None))
    assert not verdict.ok and "changed its argument logits in place" in verdict.text, verdict.text
    assert "the forward pass's own arrays" in verdict.text
    helper = catalog.find(8)  # a helper the function calls, changing the g it was given: caught at the call
    source = helper.solution.replace("    while g.ndim", "    g[...] = g\n    g += 0.0 * g + 1\n    while g.ndim")
    assert "changed its argument g in place" in check_source(helper, source, tries=Tries(None)).text


# ---------------------------------------------------------------- broadcast add: both inputs broadcast

ONE_SIDE = """
import numpy as np


def unbroadcast(g, shape):
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def add_backward(g, out, a, b):
    if a.shape != out.shape:  # only the input whose shape differs from out's is brought back
        return unbroadcast(g, a.shape), g
    return g, unbroadcast(g, b.shape)
"""


def test_broadcast_add_has_cases_where_both_inputs_are_broadcast():
    ex = catalog.find(8)
    cases = ex.cases(np.random.default_rng(8))
    both = [(a.shape, b.shape) for g, out, a, b in cases if a.shape != out.shape and b.shape != out.shape]
    assert ((3, 1), (1, 4)) in both and any(len(sa) != len(sb) for sa, sb in both)
    verdict = check_source(ex, ONE_SIDE, tries=Tries(None))
    assert not verdict.ok and verdict.output == "db" and "you forgot to sum over the broadcast axis" in verdict.text
    assert check_source(ex, ex.solution, tries=Tries(None)).ok


# ---------------------------------------------------------------- a tuple of one, and axes of size 1


@pytest.mark.parametrize("ret", ["(g * (1 - out**2),)", "[g * (1 - out**2)]", "g * (1 - out**2),"])
def test_a_tuple_or_list_of_one_is_named(ret):
    verdict = checked(3, tanh(f"    return {ret}"))
    assert not verdict.ok and "return the array itself, not a tuple/list of one" in verdict.text, verdict.text
    assert "broadcast" not in verdict.text and "1 times" not in verdict.text


def test_extra_axes_of_size_1_are_not_a_forgotten_sum():
    verdict = checked(3, tanh("    return (g * (1 - out))[None, :, None]"))  # wrong numbers, axes of size 1
    assert not verdict.ok and "broadcast" not in verdict.text and "1 times" not in verdict.text
    assert "must have shape (5,)" in verdict.text
    verdict = checked(3, tanh("    return (g * (1 - out**2))[None]"))  # the right numbers
    assert "the right numbers in the wrong shape: (1, 5) instead of (5,); drop the extra axes" in verdict.text


# ---------------------------------------------------------------- dicts: names misspelled or swapped


def test_a_misspelled_name_in_a_dict_is_named_with_its_close_match():
    ex = catalog.find(13)
    verdict = check_source(ex, ex.solution.replace("dw1=dw1", "dW1=dw1"), tries=Tries(None))
    assert not verdict.ok and verdict.output == "dw1"
    assert "did not return dw1; it returned dW1, which the task does not name" in verdict.text
    assert "is dW1 dw1 misspelled (names are case-sensitive)?" in verdict.text
    verdict = check_source(ex, ex.solution.replace("dw1=dw1", "dw_1=dw1, extra=dw1"), tries=Tries(None))
    assert "it returned dw_1, extra, which the task does not name: is dw_1 dw1 misspelled?" in verdict.text


def test_swapped_values_in_a_dict_name_the_names():
    ex = catalog.find(13)
    source = ex.solution.replace("dx1=dx1, dw1=dw1", "dx1=dw1, dw1=dx1")
    assert source != ex.solution
    verdict = check_source(ex, source, tries=Tries(None))
    assert not verdict.ok and verdict.output == "dw1"
    assert "swapped: under the name dw1 you returned the gradient that belongs under dx1" in verdict.text
    assert "order" not in verdict.text  # a dict has no order to keep


# ---------------------------------------------------------------- a helper module beside the file


HELPER_USER = '''"""Exercise 3: tanh"""
from myhelpers import local


def tanh_backward(g, out, x):
    import myhelpers  # imported when called, too

    return myhelpers.times(g, local(out))
'''


def test_a_file_imports_a_helper_module_beside_it(tmp_path, capsys):
    right, wrong = tmp_path / "right", tmp_path / "wrong"
    for folder, local in ((right, "1 - out**2"), (wrong, "1 - out")):
        folder.mkdir()
        (folder / "myhelpers.py").write_text(
            f"def local(out):\n    return {local}\n\n\ndef times(a, b):\n    return a * b\n"
        )
        (folder / "mine.py").write_text(HELPER_USER)
    path_before = list(sys.path)
    assert main(["exercise", "check", str(right / "mine.py")]) == 0, capsys.readouterr().out
    assert "all right" in capsys.readouterr().out
    assert sys.path == path_before and "myhelpers" not in sys.modules  # put back as it was
    assert main(["exercise", "check", str(wrong / "mine.py")]) == 1  # its own helper, not the one before
    assert "is wrong on case 1" in capsys.readouterr().out
    assert sys.path == path_before and "myhelpers" not in sys.modules


# ---------------------------------------------------------------- start's "Check it:" line and folders


def test_start_names_the_file_as_written_in_its_check_line(tmp_path, capsys, monkeypatch):
    mine = tmp_path / "my tanh.py"
    assert main(["exercise", "start", "3", str(mine)]) == 0
    (line,) = [line for line in mine.read_text().splitlines() if line.startswith("Check it: ")]
    assert line == "Check it: tinygrad-edu exercise check 'my tanh.py'"
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)  # run as written, beside the file: it finds the file, and the TODO in it
    assert main(shlex.split(line.removeprefix("Check it: "))[1:]) == 1
    assert "Exercise 3 (tanh): not done yet" in capsys.readouterr().out


def test_start_and_solutions_agree_on_a_missing_folder(tmp_path, capsys):
    missing = tmp_path / "nope"
    assert main(["exercise", "start", "3", str(missing / "mine.py")]) == 2
    assert f"the folder '{missing}' does not exist: create it first" in capsys.readouterr().err
    assert main(["exercise", "start", "3", f"{missing}{os.sep}"]) == 2  # a folder that is not there
    assert f"the folder '{missing}' does not exist" in capsys.readouterr().err
    assert main(["exercise", "--solutions", str(missing / "solutions")]) == 2
    assert f"the folder '{missing}' does not exist" in capsys.readouterr().err
    assert not missing.exists()  # nothing left behind
    assert main(["exercise", "--solutions", str(tmp_path / "solutions")]) == 0  # DIR itself is made
    assert (tmp_path / "solutions" / "ex03_tanh.py").is_file()


# ---------------------------------------------------------------- slips do not climb the ladder; no hint skipped


@pytest.mark.parametrize(
    "number, source",
    [
        (3, "def tanh_backward(g, out, x):\n    g * (1 - out**2)\n"),  # a missing return
        (3, "def tanh_backward(g, out):\n    return g * (1 - out**2)\n"),  # the wrong signature
        (3, "def tanh_backward(g, out, x):\n    return 'g * (1 - out**2)'\n"),  # not numbers
        (13, None),  # a misspelt name in the dict
    ],
)
def test_a_slip_that_is_not_maths_is_not_a_try(number, source):
    ex = catalog.find(number)
    source = source or ex.solution.replace("dw1=dw1", "dW1=dw1")
    tries = Tries(None)
    for _ in range(2):
        verdict = check_source(ex, source, "mine.py", tries)
        assert not verdict.ok and verdict.slip and verdict.tries == 0, verdict.text
        assert "Hint" not in verdict.text and verdict.hint is None
    wrong = ex.mistakes[0].source  # the first maths mistake after the slips: try 1
    assert check_source(ex, wrong, "mine.py", tries).tries == 1


def test_a_wrong_signature_names_the_stubs_def_line():
    verdict = checked(3, "def tanh_backward(g, out):\n    return g * (1 - out**2)\n")
    assert verdict.status == "error" and verdict.function == "tanh_backward"
    assert "the task calls tanh_backward(g, out, x). Keep the stub's def line" in verdict.text
    assert "argument 3" not in verdict.text
    helper = checked(3, "def f(a):\n    return a\n\ndef tanh_backward(g, out, x):\n    return f(g, out)\n")
    assert helper.status == "error" and not helper.slip  # a TypeError inside the function is the learner's code's


S10_WRONG = "def softmax_backward(g, out, x):\n    return out * (g - (g * out).mean(axis=-1, keepdims=True))\n"


def test_each_failed_try_shows_the_next_hint_none_skipped(tmp_path):
    """Try 1 has a diagnosis (no hint), try 2 has none: hint 0 then hint 1, in order (it was hint 1 at try 2)."""
    ex = catalog.find(10)
    tries = Tries(str(tmp_path / "tries.json"))
    sign = next(m for m in ex.mistakes if "sign" in m.what).source
    first = check_source(ex, sign, "mine.py", tries)
    assert first.diagnosis and first.hint is None and first.tries == 1
    hints = [check_source(ex, S10_WRONG, "mine.py", tries).hint for _ in range(len(ex.hints) + 1)]
    assert hints == [*ex.hints, ex.hints[-1]]
    right = check_source(ex, ex.solution, "mine.py", tries)
    assert right.ok and right.tries == len(ex.hints) + 3  # the failed tries and this one
    assert check_source(ex, ex.solution, "mine.py", tries).tries == 1  # right at once: one try


# ---------------------------------------------------------------- notebooks and scripts; --json's usage errors


@pytest.mark.parametrize("filename", ["/tmp/ipykernel_4242/2619889888.py", "<ipython-input-3-5e2a1f>"])
def test_an_exception_in_a_notebook_cell_names_the_cell_not_ipykernels_file(filename):
    namespace = {}
    exec(compile("def tanh_backward(g, out, x):\n    y = 1\n    return g[99]\n", filename, "exec"), namespace)
    verdict = check_exercise(3, namespace["tanh_backward"])
    assert "IndexError" in verdict.text and "(line 3 of your cell, in tanh_backward" in verdict.text
    assert "2619889888" not in verdict.text and "ipython-input" not in verdict.text


def test_check_exercise_prints_its_verdict_in_a_script_and_returns_it(capsys):
    verdict = check_exercise(3, lambda g, out, x: g * (1 - out**2))
    assert verdict.ok and capsys.readouterr().out == verdict.text + "\n"
    wrong = check_exercise(3, lambda g, out, x: g * (1 - out))
    assert not wrong.ok and capsys.readouterr().out == wrong.text + "\n"


def test_json_usage_errors_have_a_verdicts_keys_and_say_what_is_wrong(tmp_path, capsys):
    path = tmp_path / "mine.py"
    path.write_text(tanh("    return g * (1 - out**2)"))
    keys = set(json.loads(check_source(catalog.find(3), path.read_text(), tries=Tries(None)).to_json()))
    for argv, status in [
        (["--number", "99"], "no such exercise"),
        ([], "unreadable"),  # mine.py says not which exercise it is
        (["--number", "3", "--timeout", "-1"], "bad usage"),
    ]:
        assert main(["exercise", "check", str(path), "--json", *argv]) == 2
        said = json.loads(capsys.readouterr().out)
        assert set(said) == keys and said["status"] == status and said["ok"] is False, said
        assert said["exercise"] is None and said["tries"] is None
    main(["exercise", "check", str(path), "--json", "--number", "99"])
    assert "there is no exercise 99; the exercises are 1, 2, 3" in json.loads(capsys.readouterr().out)["text"]


def test_json_reports_the_tries_a_right_answer_took(tmp_path, capsys):
    path = tmp_path / "ex03_tanh.py"
    path.write_text(tanh("    return g * (1 - x**2)"))
    for k in (1, 2):
        assert main(["exercise", "check", str(path), "--json"]) == 1
        assert json.loads(capsys.readouterr().out)["tries"] == k
    path.write_text(tanh("    return g * (1 - out**2)"))
    assert main(["exercise", "check", str(path), "--json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert said["ok"] is True and said["tries"] == 3
