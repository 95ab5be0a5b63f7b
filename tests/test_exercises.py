"""The exercises the engine grades: every reference solution passes, every planted mistake gets its hint, the
hints climb a ladder over tries, and the command line, a course's own exercises and notebooks work."""

import json
import os
import re
import shlex
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu.cli import main
from tinygrad_edu.exercises import Exercise, Mistake, catalog, check_exercise
from tinygrad_edu.exercises.exercise import by_differences, by_engine, planted
from tinygrad_edu.exercises.grading import TIME_LIMITS, TRIES_ENV, Tries, check_source

PACK = catalog.builtin()
MISTAKES = [pytest.param(ex, m, id=f"ex{ex.number:02d}-{m.what}") for ex in PACK for m in ex.mistakes]


def by_id(ex):
    return f"ex{ex.number:02d}_{ex.slug}"


@pytest.fixture(autouse=True)
def tries_file(tmp_path, monkeypatch):
    """Every test counts tries in its own file, never in the user's cache."""
    path = tmp_path / "cache" / "tries.json"
    monkeypatch.setenv(TRIES_ENV, str(path))
    return path


# ---------------------------------------------------------------- the pack


def test_the_pack_is_numbered_without_gaps_from_1():
    assert [ex.number for ex in PACK] == list(range(1, len(PACK) + 1))
    assert len(PACK) >= 9


@pytest.mark.parametrize("ex", PACK, ids=by_id)
def test_every_reference_solution_passes(ex):
    verdict = check_source(ex, ex.file(solved=True), tries=Tries(None))
    assert verdict.ok and verdict.status == "right", verdict.text
    assert "all right" in verdict.text and ex.proves in verdict.text
    assert verdict.cases >= 3


@pytest.mark.parametrize("ex", PACK, ids=by_id)
def test_the_engine_answer_agrees_with_finite_differences(ex):
    """The right answer comes from the engine; where the exercise is a derivative, differences check it."""
    checked = 0
    for case in ex.cases(np.random.default_rng(ex.number)):
        numeric = None if ex.numeric is None else ex.numeric(*case)
        if numeric is None:
            continue
        right = ex.expected(*case)
        pairs = [(right[k], numeric[k]) for k in numeric] if isinstance(right, dict) else [(right, numeric)]
        if isinstance(right, tuple):
            pairs = zip(right, numeric)
        for r, n in pairs:
            np.testing.assert_allclose(r, n, rtol=1e-5, atol=1e-7)
            checked += 1
    assert ex.numeric is None or checked > 0


@pytest.mark.parametrize("ex", PACK, ids=by_id)
def test_the_stub_is_a_todo_with_no_answer_in_it(ex):
    verdict = check_source(ex, ex.file(), tries=Tries(None))
    assert verdict.status == "todo" and not verdict.ok
    assert f"not done yet: function {verdict.function} still raises NotImplementedError" in verdict.text
    assert verdict.function in ex.functions
    stub_lines = {line.strip() for line in ex.stub.splitlines()}
    code = [line.strip() for line in ex.solution.splitlines()]
    answer = [line for line in code if line.startswith("return") or (" = " in line and not line.startswith('"'))]
    assert [line for line in answer if line not in stub_lines]  # the stub may give a forward pass, not the answer
    for name in ex.functions:  # the stub and the solution define the same functions
        assert f"def {name}(" in ex.stub and f"def {name}(" in ex.solution
    assert ex.task.strip().splitlines()[0] in ex.file()  # the task is the file's docstring


ASSIGNMENT = re.compile(r"\s[-+*/]?=\s")  # "x = ...", "dx += ...": spaced, unlike a keyword argument


def skeleton(text: str) -> str:
    """Code or math reduced to its names, numbers and operators, one space apart: how a formula is looked for in
    a task. ^ is **, 1.0 is 1, and the spelling of a sum is dropped (g.sum(axis=0), np.sum(g, ...), sum(g))."""
    text = re.sub(r"(\d)\.0(?!\d)", r"\1", text.replace("^", "**"))
    text = re.sub(r"\baxis=[-\w]+|\bkeepdims=True|\bnp\.|\bsum\b(\(-?\d+\b)?", " ", text)
    return " ".join(re.findall(r"[A-Za-z_]\w*|\d+|\*\*|==|[-+*/@]", text))


def answers(ex) -> set[str]:
    """The final answer's pieces, as skeletons: what each line of the solution that the stub does not have
    computes (a return's expression, an assignment's right side and the whole statement), and each formula of
    the last hint (split at ';' and 'and'). Pieces of fewer than three names and operators, or of three
    without an operator, say nothing (the outputs' names, a tool's call)."""
    stub_lines = {line.strip() for line in ex.stub.splitlines()}
    found = []
    code = [line.split("#")[0].strip() for line in ex.solution.splitlines() if line.strip() not in stub_lines]
    for piece in code + [p.strip() for p in re.split(r";|\band\b", ex.hints[-1])]:
        if piece.startswith("return "):
            found.append(piece.removeprefix("return "))
        elif ASSIGNMENT.search(piece) and not piece.startswith(("for ", "while ", "if ")):
            found += [piece, ASSIGNMENT.split(piece)[-1]]
    pieces = (s.split() for s in map(skeleton, found))
    operators = ("**", "==", "-", "+", "*", "/", "@")
    return {" ".join(p) for p in pieces if len(p) > 3 or (len(p) == 3 and any(t in operators for t in p))}


@pytest.mark.parametrize("ex", PACK, ids=by_id)
def test_the_task_and_the_stub_leave_the_answer_to_the_learner(ex):
    """The task gives what is needed to derive the answer (definitions, rules, shapes) and the stub the code
    around it; the answer itself (the solution's expressions, the last hint's formula) is in neither."""
    assert answers(ex)  # something to look for
    for where, text in (("task", ex.task), ("stub", ex.stub)):
        words = f" {skeleton(text)} "
        given = sorted(a for a in answers(ex) if f" {a} " in words)
        assert not given, f"exercise {ex.number}'s {where} gives the answer away: {given}"


def test_the_answer_finder_finds_a_formula_in_words():
    ex = catalog.find(15)
    task = "Simplified: dx = gamma * inv_std / n * (n * g - sum(g) - xhat * sum(g * xhat)), sums over axis 0."
    assert f" {skeleton(ex.hints[-1].split('=', 1)[1])} " in f" {skeleton(task)} "
    assert skeleton("dL/dx = g / x^2.0") == "dL / dx g / x ** 2"
    assert " g / x " not in f" {skeleton('dlog/x')} " and " g / x " in f" {skeleton('so g/x:')} "


@pytest.mark.parametrize("ex, mistake", MISTAKES)
def test_every_planted_mistake_gets_its_hint_on_the_first_try(ex, mistake):
    verdict = check_source(ex, mistake.source, tries=Tries(None))
    assert not verdict.ok and verdict.status in ("wrong", "error"), verdict.text
    assert mistake.hint in verdict.text, f"{mistake.what}: expected {mistake.hint!r} in:\n{verdict.text}"
    assert verdict.tries == 1


def readme_rows() -> dict[int, str]:
    """The README's table of exercises ("## Exercises"): each row's number -> the row."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Exercises\n", 1)[1].split("\n## ", 1)[0]
    return {int(m.group(1)): m.group(0) for m in re.finditer(r"^\| (\d+) \|.*\|$", section, re.M)}


@pytest.mark.parametrize("ex", PACK, ids=by_id)
def test_the_readme_table_shows_the_checkers_first_answer_to_each_planted_mistake(ex):
    """Each planted mistake is listed as 'what → "words"' (words of the diagnosis) or 'what → hint: "words"'
    (words of the ladder's first hint, where no diagnosis applies), and the checker's first answer says them."""
    row = readme_rows()[ex.number]
    assert row.count(" → ") == len(ex.mistakes), row
    for mistake in ex.mistakes:
        listed = re.search(re.escape(f"{mistake.what} → ") + r'(hint: )?"([^"]+)"', row)
        assert listed, f"the README's row {ex.number} does not list {mistake.what!r}"
        verdict = check_source(ex, mistake.source, tries=Tries(None))
        said = verdict.hint if listed.group(1) else verdict.diagnosis
        assert said and listed.group(2) in said, f"{mistake.what}: the checker said {verdict.text!r}"


@pytest.mark.parametrize("ex", PACK, ids=by_id)
def test_each_exercise_plants_at_least_three_different_mistakes(ex):
    assert len(ex.mistakes) >= 3
    sources = {m.source for m in ex.mistakes}
    assert len(sources) == len(ex.mistakes) and ex.solution not in sources


def test_max_with_ties_states_the_engines_rule_and_tests_a_tie():
    ex = catalog.find(7)
    assert "each gets g / k" in ex.task
    cases = ex.cases(np.random.default_rng(7))
    assert any(np.any((x == np.expand_dims(out, axis)).sum(axis=axis) > 1) for g, out, x, axis in cases)
    g, out, x, axis = cases[1]  # the tie case: the engine gives each of k tied elements g / k
    np.testing.assert_allclose(ex.expected(g, out, x, axis)[1], np.full(4, g[1] / 4))


# ---------------------------------------------------------------- diagnoses and the ladder

TANH_WRONG = "def tanh_backward(g, out, x):\n    return g * (1 - x**2)\n"  # no diagnosis, no known mistake


def test_the_hint_ladder_climbs_on_each_failed_try_and_starts_again_after_a_pass(tmp_path):
    ex = catalog.find(3)
    tries = Tries(str(tmp_path / "tries.json"))
    path = str(tmp_path / "mine.py")
    verdicts = [check_source(ex, TANH_WRONG, path, tries) for _ in range(4)]
    assert [v.hint for v in verdicts] == [ex.hints[0], ex.hints[1], ex.hints[2], ex.hints[2]]  # general -> formula
    assert [v.tries for v in verdicts] == [1, 2, 3, 4] and f"Hint (try 4): {ex.hints[2]}" in verdicts[3].text
    assert check_source(ex, ex.solution, path, tries).ok
    assert check_source(ex, TANH_WRONG, path, tries).hint == ex.hints[0]  # a new mistake: the ladder again
    assert check_source(ex, TANH_WRONG, str(tmp_path / "other.py"), tries).tries == 1  # counted per file


def test_after_a_diagnosis_the_ladder_starts_one_try_later():
    ex = catalog.find(2)
    sign = next(m for m in ex.mistakes if m.what == "wrong sign")
    tries = Tries(None)
    first, second = (check_source(ex, sign.source, "f.py", tries) for _ in range(2))
    assert "wrong sign" in first.text and first.hint is None and "Hint" not in first.text
    assert "wrong sign" in second.text and second.hint == ex.hints[0]


def test_a_wrong_answer_names_the_function_the_element_and_both_numbers():
    ex = catalog.find(3)
    verdict = check_source(ex, TANH_WRONG, tries=Tries(None))
    g, out, x = ex.cases(np.random.default_rng(3))[0]
    assert verdict.function == "tanh_backward" and verdict.case == 1 and verdict.element == [0]
    assert verdict.mine == pytest.approx(g[0] * (1 - x[0] ** 2)) and verdict.right == pytest.approx(
        g[0] * (1 - out[0] ** 2)
    )
    assert f"yours is {verdict.mine:.6g}, the right one is {verdict.right:.6g}" in verdict.text
    assert f"x = {x[0]:.6g}" in verdict.text  # the input where it differs


@pytest.mark.parametrize(
    "body, words",
    [
        ("return g * out * (1 - out) * np.nan", "nan"),
        ("return 3 * g * out * (1 - out)", "off by a constant factor 3"),
        ("return 0.5 * g * out * (1 - out)", "off by a constant factor 1/2"),
        ("return np.stack([g * out * (1 - out)] * 2)", "sum over the broadcast axis"),
        ("return (g * out * (1 - out))[None]", "the right numbers in the wrong shape: (1, 5) instead of (5,); drop"),
        ("return 'no'", "is a str, not numbers"),
        ("return (g * out * (1 - out))[:2]", "must have shape (5,)"),
    ],
)
def test_generic_diagnoses(body, words):
    verdict = check_source(
        catalog.find(2), f"import numpy as np\ndef sigmoid_backward(g, out, x):\n    {body}\n", tries=Tries(None)
    )
    assert not verdict.ok and words in verdict.text, verdict.text


def test_the_transposed_answer_of_a_square_product_is_named():
    ex = catalog.find(9)
    source = ex.solution.replace("dB = A.T @ g", "dB = (A.T @ g).T")
    verdict = check_source(ex, source, tries=Tries(None))  # wrong shape on the first cases: transposed
    assert "transpose" in verdict.text and verdict.output == "dB"


# ---------------------------------------------------------------- a learner's file that does not run


@pytest.mark.parametrize(
    "source, status, words",
    [
        ("def tanh_backward(g, out, x)\n    return g\n", "error", "syntax error in mine.py at line 1"),
        (
            "def tanh_forward(g, out, x):\n    return g\n",
            "error",
            "no function tanh_backward found; it defines tanh_forward",
        ),
        ("tanh_backward = 3\n", "error", "tanh_backward is a int, not a function"),
        ("import nonexistent_module_xyz\n", "error", "running the file failed: ModuleNotFoundError"),
        (
            "def tanh_backward(g, out, x):\n    return g @ out.T @ x\n",
            "error",
            "tanh_backward raised ValueError",
        ),
        ("def tanh_backward(g, out, x):\n    raise NotImplementedError('TODO')\n", "todo", "not done yet"),
    ],
)
def test_a_file_that_does_not_run_gets_a_verdict_not_a_traceback(source, status, words):
    verdict = check_source(catalog.find(3), source, "/somewhere/mine.py", tries=Tries(None))
    assert verdict.status == status and not verdict.ok
    assert words in verdict.text, verdict.text
    assert "Traceback" not in verdict.text


def test_an_exception_names_the_line_of_the_learners_file():
    source = "import numpy as np\n\ndef tanh_backward(g, out, x):\n    y = g * (1 - out**2)\n    return y[9]\n"
    verdict = check_source(catalog.find(3), source, "/somewhere/mine.py", tries=Tries(None))
    assert "IndexError" in verdict.text and "line 5 of mine.py, in tanh_backward: return y[9]" in verdict.text


def test_the_learners_file_runs_once_per_check(tmp_path):
    counter = tmp_path / "runs.txt"
    source = f"open({str(counter)!r}, 'a').write('x')\n" + catalog.find(3).solution
    assert check_source(catalog.find(3), source, tries=Tries(None)).ok
    assert counter.read_text() == "x"


LOOPS = {
    "in the function": ("def tanh_backward(g, out, x):\n    while True:\n        pass\n", "23", "tanh_backward"),
    "swallowing exceptions": (
        "def tanh_backward(g, out, x):\n    while True:\n        try:\n            pass\n"
        "        except Exception:\n            pass\n",
        "23456",
        "tanh_backward",
    ),
    "at the top of the file": ("import numpy as np\nwhile True:\n    pass\n", "23", None),
}


@pytest.mark.skipif(not TIME_LIMITS, reason="no SIGALRM here: check runs without a time limit")
@pytest.mark.parametrize("loop", LOOPS)
def test_an_infinite_loop_is_stopped_after_the_timeout(loop, tmp_path, capsys):
    source, lines, function = LOOPS[loop]  # the lines of the loop, one of which it is stopped at
    path = tmp_path / "ex03_tanh.py"
    path.write_text(source)
    handler = signal.getsignal(signal.SIGALRM)
    start = time.perf_counter()
    assert main(["exercise", "check", str(path), "--timeout", "0.2", "--json"]) == 1
    assert time.perf_counter() - start < 5
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["status"] == "error" and verdict["function"] == function
    assert verdict["text"].startswith("Exercise 3 (tanh): your code ran for 0.2 s without returning: an infinite loop?")
    assert re.search(rf"\(line [{lines}] of ex03_tanh.py, in {function or '<module>'}: ", verdict["text"])
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0) and signal.getsignal(signal.SIGALRM) is handler


@pytest.mark.skipif(not TIME_LIMITS, reason="no SIGALRM here: check runs without a time limit")
def test_the_timeout_leaves_right_code_alone_and_must_be_a_number_of_seconds(tmp_path, capsys):
    path = tmp_path / "ex03_tanh.py"
    path.write_text(catalog.find(3).solution)
    assert main(["exercise", "check", str(path), "--timeout", "5"]) == 0
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert main(["exercise", "check", str(path), "--timeout", "0"]) == 0  # 0: no limit
    capsys.readouterr()
    assert main(["exercise", "check", str(path), "--timeout", "-1"]) == 2
    assert "--timeout must be a number of seconds, 0 or more (0: no limit), not -1" in capsys.readouterr().err


# ---------------------------------------------------------------- tries are kept in the cache, never beside the file


def test_tries_live_in_the_cache_folder_or_where_the_variable_says(tmp_path, monkeypatch, tries_file):
    monkeypatch.delenv(TRIES_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert Tries.default().path == str(tmp_path / "xdg" / "tinygrad_edu" / "tries.json")
    monkeypatch.setenv(TRIES_ENV, str(tries_file))
    learner = tmp_path / "work"
    learner.mkdir()
    (learner / "ex03_tanh.py").write_text(TANH_WRONG)
    assert main(["exercise", "check", str(learner / "ex03_tanh.py")]) == 1
    assert os.listdir(learner) == ["ex03_tanh.py"]  # nothing written beside the learner's file
    assert json.loads(tries_file.read_text()) == {f"{learner / 'ex03_tanh.py'}#3": {"tries": 1, "hints": 1}}


def test_a_damaged_tries_file_costs_only_the_count(tries_file):
    tries_file.parent.mkdir(parents=True)
    tries_file.write_text("{not json")
    verdict = check_source(catalog.find(3), TANH_WRONG, "mine.py")
    assert verdict.tries == 1 and verdict.hint == catalog.find(3).hints[0]


# ---------------------------------------------------------------- the command line


def test_list_shows_every_exercise(capsys):
    assert main(["exercise", "list"]) == 0
    out = capsys.readouterr().out
    for ex in PACK:
        assert ex.filename in out and ex.title in out


def test_start_writes_the_task_and_todos_and_never_overwrites(tmp_path, capsys):
    path = tmp_path / "mine.py"
    assert main(["exercise", "start", "2", str(path)]) == 0
    text = path.read_text()
    ex = catalog.find(2)
    assert text.startswith('r"""Exercise 2: ') and "sigmoid(x) = 1 / (1 + e^-x)" in text  # the task
    assert 'NotImplementedError("TODO' in text and "s * (1 - s)" not in text  # the TODOs, not the answer
    assert f"wrote {path}" in capsys.readouterr().out
    path.write_text("my work")
    assert main(["exercise", "start", "2", str(path)]) == 2
    assert "exists: not overwritten (--force replaces it)" in capsys.readouterr().err
    assert path.read_text() == "my work"
    assert main(["exercise", "start", "2", str(path), "--force"]) == 0 and path.read_text() == ex.file(path="mine.py")
    assert main(["exercise", "start", "3", str(tmp_path)]) == 0  # a folder: the default name inside it
    assert (tmp_path / "ex03_tanh.py").read_text() == catalog.find(3).file()


def test_check_exit_codes_and_json(tmp_path, capsys):
    path = tmp_path / "ex03_tanh.py"
    assert main(["exercise", "start", "3", str(path)]) == 0
    assert main(["exercise", "check", str(path)]) == 1  # the TODO
    assert "not done yet" in capsys.readouterr().out
    path.write_text(
        path.read_text().replace(
            'raise NotImplementedError("TODO: g times d(tanh)/dx, written with out")', "return g * (1 - out**2)"
        )
    )
    assert main(["exercise", "check", str(path)]) == 0
    assert "all right" in capsys.readouterr().out
    renamed = tmp_path / "mine.py"  # no exNN_ name: the first line says which exercise
    renamed.write_text('"""Exercise 3: tanh"""\n' + TANH_WRONG)
    assert main(["exercise", "check", str(renamed), "--json"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ok"] is False and verdict["status"] == "wrong" and verdict["exercise"] == 3
    assert verdict["function"] == "tanh_backward" and verdict["element"] == [0] and verdict["hint"]


@pytest.mark.parametrize(
    "argv, words",
    [
        (["exercise", "check", "/nonexistent/ex03_tanh.py"], "cannot read '/nonexistent/ex03_tanh.py'"),
        (["exercise", "start", "99"], "there is no exercise 99; the exercises are 1, 2"),
        (["exercise"], "say what to do: list, start N, check PATH, or --solutions DIR"),
        (["exercise", "--solutions", "x", "list"], "--solutions writes files; it does not go with 'list'"),
        (["exercise", "--pack", "/nonexistent", "list"], "no exercise file or folder '/nonexistent'"),
    ],
)
def test_bad_usage_exits_2_with_one_line(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_a_file_that_does_not_say_which_exercise_exits_2(tmp_path, capsys):
    path = tmp_path / "mine.py"
    path.write_text(TANH_WRONG)
    assert main(["exercise", "check", str(path), "--json"]) == 2
    out, err = capsys.readouterr()
    assert "give --number N" in err and json.loads(out)["status"] == "unreadable"
    assert main(["exercise", "check", str(path), "--number", "3"]) == 1
    (tmp_path / "bin.py").write_bytes(b"\xff\xfe\x00")
    assert main(["exercise", "check", str(tmp_path / "bin.py"), "--number", "3"]) == 2
    assert "it is not text" in capsys.readouterr().err


def test_solutions_writes_every_reference_solution_and_each_passes(tmp_path, capsys):
    folder = tmp_path / "solutions"
    assert main(["exercise", "--solutions", str(folder)]) == 0
    assert f"wrote {len(PACK)} reference solutions" in capsys.readouterr().out
    assert sorted(os.listdir(folder)) == [ex.filename for ex in PACK]
    assert main(["exercise", "check", str(folder / PACK[-1].filename)]) == 0
    assert main(["exercise", "--solutions", str(folder)]) == 2  # nothing overwritten without --force
    assert main(["exercise", "--solutions", str(folder), "--force"]) == 0


# ---------------------------------------------------------------- a course's own exercises

COURSE = '''
import numpy as np

from tinygrad_edu import ops
from tinygrad_edu.exercises import Exercise
from tinygrad_edu.exercises.exercise import by_differences, op_cases, planted

SOLUTION = """
import numpy as np


def exp_backward(g, out, x):
    return g * out
"""

EXERCISE = Exercise(
    number=101,
    slug="exp",
    title="exp's backward",
    lesson="our course, week 2",
    task="out = e^x; return dL/dx = g * e^x = g * out.",
    stub=SOLUTION.replace("return g * out", "raise NotImplementedError('TODO')"),
    solution=SOLUTION,
    functions=("exp_backward",),
    cases=lambda rng: op_cases(ops.Exp.forward, [(rng.normal(size=4),), (rng.normal(size=(2, 3)),)], rng),
    expected=ops.Exp.backward,
    numeric=lambda g, out, x: by_differences(lambda v: v.exp(), g, x),
    hints=("e^x is its own derivative.", "multiply g by out", "return g * out"),
    mistakes=(
        planted("sign", SOLUTION, "return -g * out", "return g * out", "sign"),
        planted("no g", SOLUTION, "return out", "return g * out", "upstream"),
        planted("x for out", SOLUTION, "return g * x", "return g * out", "its own derivative"),
    ),
    proves="e^x is its own derivative.",
)
'''


def test_a_course_adds_its_own_exercise_file(tmp_path, capsys):
    course = tmp_path / "course"
    course.mkdir()
    (course / "exp.py").write_text(COURSE)
    assert main(["exercise", "list", "--pack", str(course)]) == 0
    assert "ex101_exp.py" in capsys.readouterr().out
    mine = tmp_path / "ex101_exp.py"
    assert main(["exercise", "start", "101", str(mine), "--pack", str(course / "exp.py")]) == 0
    assert main(["exercise", "check", str(mine), "--pack", str(course)]) == 1
    mine.write_text(mine.read_text().replace("raise NotImplementedError('TODO')", "return g * out"))
    assert main(["exercise", "check", str(mine), "--pack", str(course)]) == 0
    assert "e^x is its own derivative." in capsys.readouterr().out
    (ex,) = catalog.from_path(str(course))
    for mistake in ex.mistakes:  # the same checker, the same hints
        assert mistake.hint in check_source(ex, mistake.source, tries=Tries(None)).text


def test_a_course_exercise_file_says_to_check_it_with_its_pack(tmp_path, capsys, monkeypatch):
    """The "Check it:" line of a course's exercise, and start's last line, give the command that works: with
    --pack (quoted for the shell); a built-in exercise's need none."""
    course = tmp_path / "my course"
    course.mkdir()
    (course / "exp.py").write_text(COURSE)
    mine = tmp_path / "ex101_exp.py"
    assert main(["exercise", "start", "101", str(mine), "--pack", str(course)]) == 0
    assert f"then: tinygrad-edu exercise check --pack '{course}' {mine}\n" in capsys.readouterr().out
    (line,) = [line for line in mine.read_text().splitlines() if line.startswith("Check it: ")]
    assert line == f"Check it: tinygrad-edu exercise check --pack '{course}' ex101_exp.py"
    monkeypatch.chdir(tmp_path)  # run the line as written, beside the file
    assert main(shlex.split(line.removeprefix("Check it: "))[1:]) == 1
    assert "Exercise 101 (exp): not done yet" in capsys.readouterr().out  # the course's exercise was found
    assert main(["exercise", "start", "3", "--pack", str(course)]) == 0
    assert "Check it: tinygrad-edu exercise check ex03_tanh.py\n" in (tmp_path / "ex03_tanh.py").read_text()
    assert main(["exercise", "--pack", str(course), "--solutions", "solved"]) == 0
    assert f"check --pack '{course}' ex101_exp.py" in (tmp_path / "solved" / "ex101_exp.py").read_text()
    assert "check ex03_tanh.py" in (tmp_path / "solved" / "ex03_tanh.py").read_text()
    capsys.readouterr()
    assert main(["exercise", "list", "--pack", str(course)]) == 0
    assert f"tinygrad-edu exercise check --pack '{course}' FILE" in capsys.readouterr().out


def test_a_course_file_without_an_exercise_or_with_a_clashing_number_is_refused(tmp_path, capsys):
    (tmp_path / "empty.py").write_text("x = 1\n")
    assert main(["exercise", "list", "--pack", str(tmp_path / "empty.py")]) == 2
    assert "defines no EXERCISE = Exercise(...) (EXERCISE is nothing)" in capsys.readouterr().err
    (tmp_path / "clash.py").write_text(COURSE.replace("number=101", "number=3"))
    with pytest.raises(catalog.ExerciseNotFound, match="two exercises have number 3"):
        catalog.exercises(str(tmp_path / "clash.py"))


def test_an_exercise_is_refused_when_it_is_incomplete():
    ex = catalog.find(1)
    fields = {f: getattr(ex, f) for f in ex.__dataclass_fields__}
    with pytest.raises(ValueError, match="1 planted mistakes; at least 3 are needed"):
        Exercise(**{**fields, "mistakes": ex.mistakes[:1]})
    with pytest.raises(ValueError, match="kind must be one of"):
        Exercise(**{**fields, "kind": "forward"})
    with pytest.raises(ValueError, match="occurs 0 times"):
        planted("x", ex.solution, "a", "not in it", "x")
    with pytest.raises(ValueError, match="three double quotes"):
        Exercise(**{**fields, "task": 'a """ b'}).file()


# ---------------------------------------------------------------- kind="intermediates" (makemore's cmp)


def _chain_grads(g, a, b):
    """The engine's gradients of every node of y = tanh(a * b), in backward order."""
    from tinygrad_edu import Value, grad

    va, vb = Value(a), Value(b)
    z = va * vb
    y = z.tanh()
    dy = np.asarray(g, dtype=np.float64)
    (dz,) = grad(y, [z], grad_output=g)
    da, db = grad(y, [va, vb], grad_output=g)
    return {"dy": dy, "dz": dz.numbers, "da": da.numbers, "db": db.numbers}


CHAIN = """
import numpy as np


def chain_backward(g, a, b):
    z = a * b
    y = np.tanh(z)
    dy = g
    dz = dy * (1 - y**2)
    da = dz * b
    db = dz * a
    return {"dy": dy, "dz": dz, "da": da, "db": db}
"""


def test_intermediates_report_the_first_wrong_one_in_backward_order():
    ex = Exercise(
        number=102,
        slug="chain",
        title="y = tanh(a * b), node by node",
        lesson="test",
        task="Return every intermediate gradient.",
        stub=CHAIN,
        solution=CHAIN,
        functions=("chain_backward",),
        cases=lambda rng: [(rng.normal(size=3), rng.normal(size=3), rng.normal(size=3)) for _ in range(3)],
        expected=_chain_grads,
        hints=("one", "two", "three"),
        mistakes=tuple(Mistake(str(i), CHAIN, "x") for i in range(3)),
        proves="ok",
        kind="intermediates",
        numeric=lambda g, a, b: {"da": by_differences(lambda x: (x * b).tanh(), g, a)},
    )
    assert check_source(ex, CHAIN, tries=Tries(None)).ok
    wrong = check_source(ex, CHAIN.replace("dz = dy * (1 - y**2)", "dz = dy * (1 - y)"), tries=Tries(None))
    assert wrong.output == "dz" and "dz is wrong" in wrong.text  # dz, the first wrong, not da and db after it
    swapped = check_source(
        ex, CHAIN.replace("da = dz * b", "da = dz * a").replace("db = dz * a", "db = dz * b"), tries=Tries(None)
    )
    assert (
        swapped.output == "da"
        and "swapped: under the name da you returned the gradient that belongs under db" in swapped.text
    )
    missing = check_source(ex, CHAIN.replace('"dz": dz, ', ""), tries=Tries(None))
    assert "chain_backward did not return dz" in missing.text
    not_dict = check_source(
        ex, CHAIN.replace('return {"dy": dy, "dz": dz, "da": da, "db": db}', "return da"), tries=Tries(None)
    )
    assert "must return a dict of the intermediates' gradients by name (dy, dz, da, ...)" in not_dict.text
    slope = 1 - np.tanh(1.0) ** 2  # y = tanh(a b) at a = 0.5, b = 2: dy/da = b slope, dy/db = a slope
    assert by_engine(lambda a, b: (a * b).tanh(), 1.0, 0.5, 2.0) == pytest.approx((2 * slope, 0.5 * slope))


# ---------------------------------------------------------------- notebooks


def test_check_exercise_takes_a_function_and_finds_its_helpers_beside_it():
    namespace = {}
    exec(catalog.find(8).solution, namespace)
    verdict = check_exercise(8, namespace["add_backward"])
    assert verdict.ok and repr(verdict) == verdict.text and "✔" in verdict._repr_html_()
    assert not check_exercise(3, lambda g, out, x: g * (1 - out)).ok


def test_check_exercise_shows_html_in_a_real_kernel(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    cells = [
        "from tinygrad_edu.exercises import check_exercise\n"
        "def tanh_backward(g, out, x):\n    return g * (1 - x**2)\n"
        "check_exercise(3, tanh_backward)",
        "check_exercise(3, tanh_backward)",
        "def tanh_backward(g, out, x):\n    return g * (1 - out**2)\ncheck_exercise(3, tanh_backward)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    shown = [next(o for o in cell.outputs if o.output_type == "execute_result")["data"] for cell in nb.cells]
    first, second, right = (d["text/html"] for d in shown)
    assert first.startswith("<div") and "✘ Exercise 3 (tanh): tanh_backward(...) is wrong" in first
    assert "Hint (try 1): " in first and "Hint (try 2): " in second  # tries counted in the kernel's session
    assert "✔ Exercise 3 (tanh): all right." in right
    assert shown[2]["text/plain"].startswith("Exercise 3 (tanh): all right.")


def test_the_learners_prints_show_but_stay_out_of_the_json(tmp_path, capsys):
    path = tmp_path / "ex03_tanh.py"
    path.write_text("def tanh_backward(g, out, x):\n    print('debugging', x.shape)\n    return g * (1 - out**2)\n")
    assert main(["exercise", "check", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["ok"] is True and "debugging (5,)" in err
    assert main(["exercise", "check", str(path)]) == 0
    assert "debugging (5,)" in capsys.readouterr().out


def test_a_missing_return_and_a_module_of_functions():
    verdict = check_source(catalog.find(3), "def tanh_backward(g, out, x):\n    g * (1 - out**2)\n", tries=Tries(None))
    assert "tanh_backward(...) is None on case 1 of 3" in verdict.text and "a return statement missing?" in verdict.text
    import types

    module = types.ModuleType("mine")
    exec(catalog.find(9).solution, vars(module))
    assert check_exercise(9, module).ok


# what PyTorch computes for the pack's exercises: a third opinion, beside the engine and finite differences
TORCH_FORWARD = {
    "product": lambda t, a, b, c: a * b * c,
    "sigmoid": lambda t, x: t.sigmoid(x),
    "tanh": lambda t, x: t.tanh(x),
    "softplus": lambda t, x: t.nn.functional.softplus(x),
    "log": lambda t, x: t.log(x),
    "power": lambda t, x, p: x**p,
    "max": lambda t, x, axis: t.amax(x, dim=axis),
    "broadcast_add": lambda t, a, b: a + b,
    "matmul": lambda t, a, b: a @ b,
}


@pytest.mark.parametrize("ex", [ex for ex in PACK if ex.slug in TORCH_FORWARD], ids=by_id)
def test_the_engine_answer_agrees_with_pytorch(ex):
    torch = pytest.importorskip("torch")
    for g, out, *args in ex.cases(np.random.default_rng(ex.number)):
        arrays = [torch.tensor(a, dtype=torch.float64, requires_grad=True) if np.ndim(a) else a for a in args]
        result = TORCH_FORWARD[ex.slug](torch, *arrays)
        leaves = [a for a in arrays if isinstance(a, torch.Tensor)]
        grads = torch.autograd.grad(result, leaves, grad_outputs=torch.tensor(g, dtype=torch.float64))
        right = ex.expected(g, out, *args)
        right = right if isinstance(right, tuple) else (right,)
        for mine, theirs in zip(right, grads, strict=True):
            np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-12, atol=1e-14)
