"""Finding exercises: the built-in pack (every module in ``pack/``) and a course's own files.

A course adds exercises as Python files of the pack's form: each defines ``EXERCISE = Exercise(...)``
(see ``exercise.py``). ``from_path`` loads one such file, or every ``*.py`` file of a folder (names starting
with ``_`` are skipped). A course's numbers must not repeat the pack's: start at 100.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import re

from tinygrad_edu.exercises import pack
from tinygrad_edu.exercises.exercise import Exercise


class ExerciseNotFound(LookupError):
    """No exercise of that number, or a course file that defines none: the message says which."""


def builtin() -> list[Exercise]:
    """The pack, sorted by number."""
    found = []
    for info in pkgutil.iter_modules(pack.__path__):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"{pack.__name__}.{info.name}")
            found.append(_exercise_of(module, module.__file__))
    return _sorted(found)


def _exercise_of(module, path: str) -> Exercise:
    ex = getattr(module, "EXERCISE", None)
    if not isinstance(ex, Exercise):
        got = "nothing" if ex is None else f"a {type(ex).__name__}"
        raise ExerciseNotFound(f"{path} defines no EXERCISE = Exercise(...) (EXERCISE is {got})")
    return ex


def _sorted(exercises: list[Exercise]) -> list[Exercise]:
    by_number: dict[int, Exercise] = {}
    for ex in exercises:
        if ex.number in by_number:
            raise ExerciseNotFound(
                f"two exercises have number {ex.number}: {by_number[ex.number].slug} and {ex.slug}; "
                "a course's own exercises should start at 100"
            )
        by_number[ex.number] = ex
    return [by_number[n] for n in sorted(by_number)]


def from_path(path: str) -> list[Exercise]:
    """A course's exercises: one file defining ``EXERCISE``, or every such ``*.py`` file in a folder."""
    if os.path.isdir(path):
        files = sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".py") and not f.startswith("_"))
        if not files:
            raise ExerciseNotFound(f"the folder {path!r} has no .py files of exercises")
    elif os.path.isfile(path):
        files = [path]
    else:
        raise ExerciseNotFound(f"no exercise file or folder {path!r}")
    found = []
    for file in files:
        name = "tinygrad_edu_course_" + re.sub(r"\W", "_", os.path.abspath(file))
        spec = importlib.util.spec_from_file_location(name, file)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as e:  # a teacher's file with a bug: say which file and what
            raise ExerciseNotFound(f"loading the course exercise {file!r} failed: {type(e).__name__}: {e}") from e
        found.append(_exercise_of(module, file))
    return _sorted(found)


def exercises(course: str | None = None) -> list[Exercise]:
    """The pack, and a course's exercises (``course``: a file or folder) beside it."""
    return _sorted(builtin() + (from_path(course) if course else []))


def find(number: int, course: str | None = None) -> Exercise:
    """The exercise with this number."""
    every = exercises(course)
    for ex in every:
        if ex.number == number:
            return ex
    numbers = ", ".join(str(ex.number) for ex in every)
    raise ExerciseNotFound(f"there is no exercise {number}; the exercises are {numbers}")


def number_of(source: str, filename: str) -> int | None:
    """Which exercise a learner's file is: the number in its first line ("Exercise 3: ..."), else in its name
    (``ex03_tanh.py``); None when neither tells."""
    first = source.lstrip().split("\n", 1)[0]
    m = re.match(r"""[rRuU]?(?:\"\"\"|''')\s*Exercise (\d+)\b""", first)
    if m is None:
        m = re.match(r"ex(\d+)_", os.path.basename(filename))
    return int(m.group(1)) if m else None
