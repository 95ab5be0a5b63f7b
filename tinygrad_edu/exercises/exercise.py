"""What an exercise is: a task, the learner's stub, the reference solution, the cases and the engine's answer.

An exercise is data, so a course can write its own as one small Python file that defines
``EXERCISE = Exercise(...)``; the checker (``grading``) runs every exercise the same way.

The fields are a contract shared by the pack's authors: keep these names, add new fields only with defaults.
Helpers for writing one: ``by_engine`` (the engine's gradients of a function of Values: an ``expected``),
``by_differences`` (the same by central finite differences: a ``numeric``) and ``planted`` (a ``Mistake`` made
from the solution by changing one piece of it).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tinygrad_edu.engine import Value, grad
from tinygrad_edu.gradcheck import numerical_grad

KINDS = ("backward", "intermediates")


@dataclass(frozen=True)
class Mistake:
    """A planted wrong solution: the tests check the checker's first answer to it contains ``hint``.

    what: the mistake in words ("wrong sign", "missing factor 2", "no sum over the broadcast axis").
    source: the code of a learner's file with one thing wrong (the solution changed in one place; the task's
        docstring is not needed).
    hint: a word or phrase the checker's FIRST answer to ``source`` must contain (e.g. "sign", "sum over").
    says: what the checker answers when a learner's numbers are those ``source`` gives (and no generic
        diagnosis explains them): the mistake named plainly and where the fix lies, not the formula; it
        contains ``hint``. Empty: the mistake is one a generic diagnosis names (a sign, a factor, ...).
    """

    what: str
    source: str
    hint: str
    says: str = ""

    def __post_init__(self) -> None:
        if self.says and self.hint not in self.says:
            raise ValueError(f"planted mistake {self.what!r}: its hint {self.hint!r} is not in what it says")


@dataclass(frozen=True)
class Exercise:
    """One exercise: write ``functions`` in a file so that each case gives the engine's answer.

    number, slug: the exercise's number and short name (its file: ``ex03_sigmoid.py``).
    title, lesson: a one-line title and the lesson or README section it follows.
    task: what to do and what to derive it from: the definition, the shapes, what the function is given, the
        rules to use, pitfalls as questions; never the answer, which only the last hint gives (plain text; the
        learner's file starts with it as its docstring).
    stub: the code the learner starts from: functions whose bodies ``raise NotImplementedError("TODO ...")``
        (a TODO says what to compute, not how).
    solution: the same functions filled in (the reference solution; ``--solutions`` writes these).
    functions: the names the learner defines, each checked to exist in this order; the first is called with
        each case, the others are helpers it calls (``unbroadcast`` in exercise 8).
    cases: ``cases(rng)`` gives the argument tuples to call the learner's function with.
    expected: ``expected(*case)``: the right answer, computed by the engine (an op's own backward, or the
        graph's gradients), never a second hand-written formula.
    hints: the ladder for a wrong answer no diagnosis explains: general -> specific (the derivation's steps)
        -> the formula (the one place the answer is written).
    mistakes: at least three planted wrong solutions (see ``Mistake``).
    proves: what passing shows, said when all is right.
    kind: "backward": the function returns gradient array(s) compared with ``expected(*case)``;
        "intermediates": it returns a dict name -> array and ``expected`` the engine's dict in backward
        order; the first wrong name is reported (makemore's ``cmp``).
    outputs: for kind "backward" with several return values, their names in order (("dA", "dB")):
        ``expected`` then returns a tuple in the same order. Empty: one return value, named "fn(...)".
    numeric: ``numeric(*case)``: optional second answer by central finite differences (same form as
        ``expected``, or a dict of some of the names for "intermediates"); the checker compares the learner's
        answer with it too, and the tests check it agrees with ``expected``, so the engine's answer is itself
        checked; None where the exercise is not a derivative of a function we can evaluate. It may return
        None for one case (at a tie of max the function has no derivative, and differences mean nothing).
    """

    number: int
    slug: str
    title: str
    lesson: str
    task: str
    stub: str
    solution: str
    functions: tuple[str, ...]
    cases: Callable[[np.random.Generator], list[tuple]]
    expected: Callable[..., object]
    hints: tuple[str, ...]
    mistakes: tuple[Mistake, ...]
    proves: str
    kind: str = "backward"
    outputs: tuple[str, ...] = ()
    numeric: Callable[..., object] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"exercise {self.number} ({self.slug}): kind must be one of {KINDS}, got {self.kind!r}")
        if not self.functions:
            raise ValueError(f"exercise {self.number} ({self.slug}): functions is empty: name what the learner writes")
        if len(self.mistakes) < 3:
            raise ValueError(
                f"exercise {self.number} ({self.slug}): {len(self.mistakes)} planted mistakes; at least 3 are needed"
            )
        if not self.hints:
            raise ValueError(f"exercise {self.number} ({self.slug}): hints is empty: give at least one hint")

    @property
    def filename(self) -> str:
        """The default name of the learner's file: ``ex03_sigmoid.py``."""
        return f"ex{self.number:02d}_{self.slug}.py"

    def check_command(self, path: str | None = None, pack: str | None = None) -> str:
        """The command that checks the learner's file (``path``, default its own name); ``pack``: the course's
        file or folder the exercise comes from, which the checker must be given too."""
        words = ["tinygrad-edu", "exercise", "check"] + (["--pack", pack] if pack else []) + [path or self.filename]
        return shlex.join(words)

    def file(self, solved: bool = False, pack: str | None = None, path: str | None = None) -> str:
        """The learner's file: the task as its docstring, then the stub (or, ``solved``, the solution).
        ``pack``: the course's exercise file or folder, and ``path``: the file's name as written (default
        ``filename``), both said in the file's "Check it:" line, a command to run beside the file."""
        if '"""' in self.task:
            raise ValueError(f"exercise {self.number} ({self.slug}): the task may not contain three double quotes")
        code = self.solution if solved else self.stub
        head = f"Exercise {self.number}: {self.title}" + (" (the reference solution)" if solved else "")
        check = f"Check it: {self.check_command(path, pack)}"
        return f'r"""{head}\n\n{self.task.strip()}\n\n{check}\n"""\n\n{code.strip()}\n'


def op_cases(forward: Callable, inputs: list[tuple], rng: np.random.Generator) -> list[tuple]:
    """Cases for an op's backward, each ``(g, out, *args)``: out = forward(*args) and g a random upstream
    gradient of out's shape (never all ones, so that a forgotten g shows)."""
    cases = []
    for args in inputs:
        out = forward(*args)
        g = rng.normal(size=np.shape(out)) if np.ndim(out) else float(rng.normal())
        cases.append((g, out, *args))
    return cases


def planted(what: str, solution: str, wrong: str, right: str, hint: str, says: str = "") -> Mistake:
    """A ``Mistake`` made from the solution by writing ``wrong`` where it has ``right`` (which must occur once)."""
    if solution.count(right) != 1:
        raise ValueError(f"planting {what!r}: {right!r} occurs {solution.count(right)} times in the solution, not once")
    return Mistake(what, solution.replace(right, wrong), hint, says)


def _values(inputs) -> list[Value]:
    return [Value(np.array(x, dtype=np.float64) if np.ndim(x) else float(x)) for x in inputs]


def by_engine(f: Callable[..., Value], g, *inputs) -> object:
    """The engine's gradients of ``f(*inputs)`` given the upstream gradient ``g``: one per input (a tuple when
    there are several). ``f`` takes and returns Values: ``by_engine(lambda a, b: a + b, g, a, b)``."""
    values = _values(inputs)
    grads = [v.numbers for v in grad(f(*values), values, grad_output=g)]
    return grads[0] if len(grads) == 1 else tuple(grads)


def by_differences(f: Callable[..., Value], g, *inputs) -> object:
    """Central finite differences of sum(g * f(*inputs)) by each input: what ``by_engine`` gives, found by
    nudging each number of each input, so that the engine's answer is checked too."""
    grads = numerical_grad(lambda *vs: (f(*vs) * g).sum(), *_values(inputs))
    return grads[0] if len(grads) == 1 else tuple(grads)
