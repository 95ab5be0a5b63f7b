"""The checker: runs a learner's functions on each case of an exercise and says, in words, what is wrong.

For each case it computes the right answer with the engine (``Exercise.expected``) and, where the exercise is a
derivative, with central finite differences (``Exercise.numeric``), then calls the learner's function once. The
first number that differs is reported: which function and which gradient or intermediate, at which element, the
learner's number beside the right one. Then a diagnosis, when the difference has a telling form (makemore's
backprop lecture and minitorch's tasks show the same few mistakes again and again):

* the right numbers with extra axes (not all of size 1) -> the sum over the broadcast axes was forgotten;
* integers, or float32 right only to float32's precision -> the dtype (the engine computes in float64);
* minus the right answer -> a wrong sign; a constant multiple of it -> a missing or extra factor;
* the answer for g = 1 -> the upstream gradient g was not multiplied in (the chain rule);
* the right answer transposed, or a product whose shapes do not fit -> a transposed product;
* another output's answer -> two outputs swapped; nan or inf -> where;
* else the answer of one of the exercise's planted mistakes on the same case -> what that mistake ``says``.

Before any number: an argument the function changed in place is wrong whatever it returns (an engine hands the
same g to other inputs), and a ``sys.exit()`` in the learner's code is an answer in words, not the checker's exit.

Otherwise, and on every later failed try, the next step of the exercise's own hint ladder, none skipped: general,
then specific, then the formula. Tries, and the hints they showed, are counted per learner file (``Tries``) in the
user's cache folder, never beside the file; a slip that is not maths (a missing return, a misspelt name, a def
line other than the stub's) is said and not counted.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import difflib
import html
import inspect
import json
import linecache
import os
import signal
import sys
import threading
import traceback
import types
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from fractions import Fraction

import numpy as np

from tinygrad_edu.engine import broadcast_axes, reduce_broadcast
from tinygrad_edu.exercises import catalog
from tinygrad_edu.exercises.exercise import Exercise, Mistake
from tinygrad_edu.files import atomic_write
from tinygrad_edu.train import in_notebook

RTOL, ATOL = 1e-6, 1e-9  # against the engine: the same math, rounded differently
FD_RTOL, FD_ATOL = 1e-4, 1e-6  # against central differences, whose error is O(eps^2) plus rounding / eps
TRIES_ENV = "TINYGRAD_EDU_TRIES"


# ---------------------------------------------------------------- the verdict


@dataclass
class Verdict:
    """What the checker found: ``ok``, and ``text`` to show; the rest for course tools (``to_json``).

    status: "right", "wrong" (a number differs), "todo" (a function still raises NotImplementedError),
    "error" (the file or the function fails: a syntax error, a missing function, an exception); and from the
    command line's bad usage: "unreadable" (no file to check), "no such exercise" or "bad usage".
    ``slip``: a slip that is not maths (a missing or misspelt name, a function called with the wrong arguments,
    a missing return): it is not counted as a try. ``tries``: the failed tries so far, or for a right answer the
    tries it took, this one included."""

    ok: bool
    status: str
    text: str
    exercise: int | None = None
    function: str | None = None
    output: str | None = None
    case: int | None = None
    element: list[int] | None = None
    mine: float | None = None
    right: float | None = None
    diagnosis: str | None = None
    hint: str | None = None
    tries: int = 0
    cases: int = 0
    slip: bool = False

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:  # what a notebook without HTML, or a Python prompt, shows
        return self.text

    def to_json(self) -> str:
        """Every field as one JSON object, for a course's grader."""
        return json.dumps(asdict(self))

    def _repr_html_(self) -> str:
        """Jupyter shows the verdict as a green or red box, the first line in bold."""
        color, mark = ("#1a7f37", "✔") if self.ok else ("#cf222e", "✘")
        first, _, rest = self.text.partition("\n")
        body = html.escape(rest)  # newlines kept by white-space: pre-wrap
        return (
            f'<div style="border-left: 4px solid {color}; padding: 4px 10px; font-family: sans-serif">'
            f'<b style="color: {color}">{mark} {html.escape(first)}</b>'
            f'<div style="font-family: monospace; white-space: pre-wrap">{body}</div></div>'
        )


# ---------------------------------------------------------------- counting tries


@dataclass
class Tries:
    """Failed tries per learner file, and how many hints of the ladder they have shown, so that each hint can be
    more specific than the last and none is skipped.

    Kept in a small JSON file (``path``), ``{key: {"tries": n, "hints": k}}``: by default
    ``~/.cache/tinygrad_edu/tries.json`` (``$XDG_CACHE_HOME`` is honoured), or the file named by the environment
    variable ``TINYGRAD_EDU_TRIES``; ``path=None`` keeps them in memory only (a notebook session). A cache that
    cannot be read or written only costs the count.
    """

    path: str | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def default(cls) -> Tries:
        path = os.environ.get(TRIES_ENV)
        if not path:
            cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
            path = os.path.join(cache, "tinygrad_edu", "tries.json")
        return cls(path)

    def _load(self) -> dict[str, dict[str, int]]:
        if self.path is None:
            return self.counts
        try:
            with open(self.path, encoding="utf-8") as f:
                counts = json.load(f)
        except (OSError, ValueError):
            return {}
        if not isinstance(counts, dict):
            return {}
        return {
            k: {"tries": v.get("tries", 0), "hints": v.get("hints", 0)}
            for k, v in counts.items()
            if isinstance(v, dict) and all(isinstance(v.get(n, 0), int) for n in ("tries", "hints"))
        }

    def _save(self, counts: dict[str, dict[str, int]]) -> None:
        if self.path is None:
            self.counts = counts
            return
        with contextlib.suppress(OSError):
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            with atomic_write(self.path) as f:
                f.write(json.dumps(counts, indent=1, sort_keys=True).encode())

    def failed(self, key: str) -> int:
        """Count one more failed try of ``key``; return how many there have been."""
        counts = self._load()
        entry = counts.setdefault(key, {"tries": 0, "hints": 0})
        entry["tries"] += 1
        self._save(counts)
        return entry["tries"]

    def hint_shown(self, key: str) -> int:
        """Count one more hint shown for ``key``; return how many were shown before it (the step to show now)."""
        counts = self._load()
        entry = counts.setdefault(key, {"tries": 0, "hints": 0})
        entry["hints"] += 1
        self._save(counts)
        return entry["hints"] - 1

    def passed(self, key: str) -> int:
        """All right: the next mistake in this file starts the ladder again. Returns the failed tries before."""
        counts = self._load()
        entry = counts.pop(key, None)
        if entry is not None:
            self._save(counts)
        return entry["tries"] if entry else 0


# ---------------------------------------------------------------- loading the learner's code


class _Stop(Exception):
    """A verdict reached before any number was compared (the code cannot run)."""

    def __init__(self, verdict: Verdict):
        super().__init__(verdict.text)
        self.verdict = verdict


def _title(ex: Exercise) -> str:
    return f"Exercise {ex.number} ({ex.slug})"


def _stop(ex: Exercise, status: str, text: str, function: str | None = None) -> _Stop:
    return _Stop(Verdict(False, status, f"{_title(ex)}: {text}", exercise=ex.number, function=function))


def _file_name(filename: str) -> str:
    """How a message names the learner's file: its name, or 'your cell' for a notebook cell (ipykernel runs
    each cell as a temporary file, /tmp/ipykernel_PID/NUMBER.py; IPython's terminal as <ipython-input-...>)."""
    folder, name = os.path.split(filename)
    if filename.startswith("<ipython-input-") or (
        os.path.basename(folder).startswith("ipykernel_") and name.removesuffix(".py").isdigit()
    ):
        return "your cell"
    return name


def _line_of(exc: BaseException, filename: str) -> str:
    """' (line N of FILE: the code)' for the deepest frame in the learner's file, or ''."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    if not frames:
        return ""
    f = frames[-1]
    code = f": {f.line.strip()}" if f.line else ""
    return f" (line {f.lineno} of {_file_name(filename)}, in {f.name}{code})"


def load_source(ex: Exercise, source: str, filename: str = "<exercise>") -> dict[str, Callable]:
    """Run the learner's file once and return its functions by name; raises ``_Stop`` with the verdict for a
    syntax error, an error at the top level, or a function of ``ex.functions`` that is missing."""
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as e:
        where = f"line {e.lineno}" + (f", column {e.offset}" if e.offset else "")
        shown = f"\n    {e.text.rstrip()}" if e.text else ""
        raise _stop(ex, "error", f"syntax error in {os.path.basename(filename)} at {where}: {e.msg}{shown}") from None
    namespace: dict = {"__name__": "exercise", "__file__": filename}
    lines = [line + "\n" for line in source.splitlines()]
    linecache.cache[filename] = (len(source), None, lines, filename)  # so tracebacks show the learner's lines
    try:
        exec(code, namespace)
    except SystemExit as e:  # not an Exception: uncaught, it would end the checker with the learner's exit code
        raise _stop(
            ex,
            "error",
            f"your code called sys.exit() while the file ran{_line_of(e, filename)}. The checker runs the file "
            "to find your functions and then calls them itself: remove the sys.exit(), or put the file's own tries "
            'under if __name__ == "__main__": (which the checker does not run)',
        ) from None
    except Exception as e:
        raise _stop(ex, "error", f"running the file failed: {type(e).__name__}: {e}{_line_of(e, filename)}") from None
    return functions_of(ex, namespace)


def functions_of(ex: Exercise, namespace: Mapping) -> dict[str, Callable]:
    """The learner's functions named in ``ex.functions``, from a module's namespace or a dict."""
    found = {}
    for name in ex.functions:
        fn = namespace.get(name)
        if fn is None:
            defined = sorted(k for k, v in namespace.items() if callable(v) and not k.startswith("_"))
            defined = [
                k for k in defined if getattr(namespace[k], "__module__", None) in (None, "exercise", "__main__")
            ]
            has = f"; it defines {', '.join(defined)}" if defined else ""
            raise _stop(ex, "error", f"no function {name} found{has}. Define {name} as the task says.", name)
        if not callable(fn):
            raise _stop(ex, "error", f"{name} is a {type(fn).__name__}, not a function", name)
        found[name] = fn
    return found


# ---------------------------------------------------------------- comparing


def _close(mine, right, rtol: float = RTOL, atol: float = ATOL) -> np.ndarray:
    scale = max(1.0, float(np.max(np.abs(right)))) if np.size(right) else 1.0
    with np.errstate(invalid="ignore"):
        return np.isclose(mine, right, rtol=rtol, atol=atol * scale)


def _allclose(mine, right, rtol: float = RTOL, atol: float = ATOL) -> bool:
    return np.shape(mine) == np.shape(right) and bool(np.all(_close(mine, right, rtol, atol)))


def _as_array(x) -> np.ndarray | None:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return a


def _dtype_of(x) -> np.dtype | None:
    """The dtype of the learner's answer as returned, before ``_as_array`` makes it float64."""
    try:
        return np.asarray(x).dtype
    except (TypeError, ValueError):
        return None


def _dtype_diagnosis(dtype: np.dtype | None, mine: np.ndarray, right: np.ndarray) -> str | None:
    """Why a wrong answer is wrong when its dtype explains it (None otherwise): integers (or booleans), which
    cut every number stored in them to a whole one, or a float of less precision than the engine's float64
    whose numbers are right to that precision."""
    if dtype is None:
        return None
    if dtype.kind in "biu":
        held = "booleans" if dtype.kind == "b" else "integers"
        return (
            f"yours holds {held} (dtype {dtype.name}): every number stored in it is cut to a whole one. Compute "
            "in float64, the engine's precision: start from a float array (np.zeros(shape) or "
            "np.zeros_like(x, dtype=np.float64), not np.zeros_like of an integer array, nor dtype=int)"
        )
    if dtype.kind == "f" and dtype.itemsize < 8:
        precision = float(np.sqrt(np.finfo(dtype).eps))  # half its digits: what its rounding keeps after a few steps
        if _allclose(mine, right, precision, precision):
            return (
                f"yours is right to {dtype.name} precision (dtype {dtype.name}): compute in float64 (the engine's "
                f"precision): no dtype=np.{dtype.name} or .astype(np.{dtype.name}) on the way"
            )
    return None


def _number(x: float) -> str:
    return f"{float(x) + 0.0:.6g}"


def _factor(c: float) -> str:
    """A constant as a learner would write it: 2, 1/2, -1/3, or 0.318."""
    f = Fraction(c).limit_denominator(16)
    if abs(float(f) - c) <= 1e-9 * max(1.0, abs(c)):
        return str(f)
    return f"{c:.4g}"


def _shape_diagnosis(mine: np.ndarray, right: np.ndarray, what: str) -> str:
    """Why an answer of the wrong shape is wrong, as specifically as its numbers allow."""
    try:
        added, stretched = broadcast_axes(mine.shape, right.shape)
    except ValueError:
        added, stretched = (), ()
    if stretched or any(mine.shape[a] != 1 for a in added):  # axes of size 1 only: no element was used twice
        axes = added + tuple(len(added) + i for i in stretched)
        summed = reduce_broadcast(mine, np.zeros(right.shape))
        numbers = "" if _allclose(summed, right) else " (and then the numbers still differ)"
        keep = ", keepdims=True" if stretched else ""
        return (
            f"you forgot to sum over the broadcast axis: {what} has shape {right.shape} but yours has shape "
            f"{mine.shape}. Broadcasting used each of its elements {mine.size // max(right.size, 1)} times "
            f"(along axis {', '.join(map(str, axes))} of yours), so its gradient is the sum over those uses: "
            f".sum(axis={axes[0] if len(axes) == 1 else axes}{keep}){numbers}"
        )
    if mine.size == right.size and _allclose(mine.reshape(right.shape), right):
        fix = "drop the extra axes of size 1" if mine.ndim > right.ndim else "keep the summed axis (keepdims=True)"
        return (
            f"the right numbers in the wrong shape: {mine.shape} instead of {right.shape}; {fix} or reshape to "
            f"{right.shape}"
        )
    if mine.ndim == 2 and mine.shape == right.shape[::-1]:
        return (
            f"transposed: yours has shape {mine.shape}, the transpose of the right shape {right.shape}. "
            f"A gradient has the shape of its input: transpose the product (swap its factors and transpose each)"
        )
    return f"{what} must have shape {right.shape} (the shape of the input it belongs to), yours has {mine.shape}"


def _swapped(out: str, mine: np.ndarray, mine_all: dict, right_all: dict) -> str | None:
    """The other output whose right answer the learner returned as ``out`` while returning something else in
    its place (two outputs swapped), or None."""
    for other, value in right_all.items():
        theirs = _as_array(mine_all.get(other))
        value = np.asarray(value, dtype=np.float64)
        if other != out and _allclose(mine, value) and (theirs is None or not _allclose(theirs, value)):
            return other
    return None


def _swapped_words(ex: Exercise, out: str, other: str, shape: bool) -> str:
    """The diagnosis for another output's answer returned as ``out``: a dict's names, or a tuple's order."""
    if ex.kind == "intermediates":
        return f"swapped: under the name {out} you returned the gradient that belongs under {other}"
    if shape:
        return f"swapped: this is {other}, not {out}"
    return f"swapped: this is {other}; return the outputs in the order the task gives"


def _value_diagnosis(mine: np.ndarray, right: np.ndarray, unit: np.ndarray | None, swapped: str | None) -> str | None:
    """What the form of a wrong answer (of the right shape) says about the mistake, or None (``swapped``: the
    words for another output's answer returned in this one's place, if it is)."""
    if not np.all(np.isfinite(mine)):
        k = tuple(int(i) for i in np.argwhere(~np.isfinite(mine))[0])
        return (
            f"yours is {mine[k] if mine.ndim else mine} at element {list(k)}: an overflow or 0/0 there "
            "(a division by a number that can be 0, or exp of a large number?)"
        )
    if swapped:
        return swapped
    if np.any(np.abs(right) > 1e-12) and _allclose(-mine, right):
        return "wrong sign: yours is exactly minus the right answer"
    if unit is not None and np.shape(unit) == mine.shape and not _allclose(unit, right) and _allclose(mine, unit):
        return (
            "you forgot the upstream gradient g: yours is the local derivative alone, right for g = 1. "
            "The chain rule multiplies it by g = dL/d(out)"
        )
    denom = float(np.sum(right * right))
    if denom > 1e-24:
        c = float(np.sum(mine * right)) / denom
        if np.isfinite(c) and abs(c) > 1e-12 and not np.isclose(c, 1.0) and _allclose(mine, c * right):
            return (
                f"off by a constant factor {_factor(c)}: yours is {_factor(c)} times the right answer everywhere. "
                "A factor is missing or one too many"
            )
    if mine.ndim == 2 and mine.shape[0] == mine.shape[1] and _allclose(mine.T, right):
        return "transposed: yours is the transpose of the right answer; swap the product's factors"
    return None


def _error_diagnosis(exc: BaseException) -> str:
    """A hint for an exception raised inside the learner's function, when its message says something."""
    words = str(exc)
    if isinstance(exc, ValueError) and ("matmul" in words or "aligned" in words or "mismatch" in words):
        return (
            "a product whose shapes do not fit: a gradient has the shape of its input, so one factor must be "
            "transposed (for C = A @ B: dA = g @ B.T has A's shape)"
        )
    if isinstance(exc, ValueError) and "broadcast" in words:
        return "two arrays whose shapes do not broadcast: print the shapes and compare them with the task's"
    return ""


# ---------------------------------------------------------------- checking


def _copy(case: tuple) -> tuple:
    return copy.deepcopy(case)  # the learner's function may change its arguments in place: see _changed


def _same(before, after) -> bool:
    """Whether an argument is as it was: an array's numbers and shape, a list's or dict's items (numbers and
    other objects cannot be changed in place)."""
    if isinstance(before, np.ndarray):
        return (
            isinstance(after, np.ndarray)
            and before.shape == after.shape
            and bool(np.array_equal(before, after, equal_nan=before.dtype.kind in "fc"))
        )
    if isinstance(before, (list, tuple)):
        return len(before) == len(after) and all(map(_same, before, after))
    if isinstance(before, dict):
        return before.keys() == after.keys() and all(_same(before[k], after[k]) for k in before)
    return True


def _changed(fn: Callable, case: tuple, given: tuple) -> str | None:
    """What is wrong when the learner's call changed any of its arguments (``given``, copies of ``case``) in
    place, or None: harmless here, but an engine hands the same arrays to other nodes."""
    names = [name for name, before, after in zip(_names(fn, len(case)), case, given) if not _same(before, after)]
    if not names:
        return None
    why = (
        "in an engine the same g is handed to other inputs (Add passes one g to both), so it would corrupt their "
        "gradients"
        if "g" in names
        else "in an engine they are the forward pass's own arrays, which other nodes still read"
    )
    its = f"argument {names[0]}" if len(names) == 1 else f"arguments {', '.join(names)}"
    return (
        f"your function changed its {its} in place (*=, +=, [...] = on an argument): {why}; compute a new array "
        "(g * ..., not g *= ...; or .copy() first)"
    )


def _outputs(ex: Exercise, fn_name: str, result, right) -> tuple[dict, dict]:
    """The learner's and the engine's answers as two dicts name -> value, in the order to compare them."""
    if ex.kind == "intermediates":
        if not isinstance(result, Mapping):
            raise _stop(
                ex,
                "error",
                f"{fn_name} returned a {type(result).__name__}; it must return a dict of the intermediates' "
                f"gradients by name ({', '.join(list(right)[:3])}, ...)",
                fn_name,
            )
        return dict(result), dict(right)
    names = ex.outputs or (f"{fn_name}(...)",)
    if len(names) == 1:
        if isinstance(result, (tuple, list)) and len(result) == 1 and np.shape(result) != np.shape(right):
            raise _stop(
                ex,
                "error",
                f"{fn_name} returned a {type(result).__name__} of one value; return the array itself, not a "
                f"tuple/list of one (return dx, not (dx,) or [dx]; a comma after return makes a tuple)",
                fn_name,
            )
        return {names[0]: result}, {names[0]: right}
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = f"{len(result)} values" if isinstance(result, (tuple, list)) else f"one {type(result).__name__}"
        raise _stop(ex, "error", f"{fn_name} returned {got}; it must return {len(names)}: {', '.join(names)}", fn_name)
    return dict(zip(names, result)), dict(zip(names, right))


def _with_g_one(ex: Exercise, fn: Callable, case: tuple):
    """The engine's answer with the upstream gradient set to ones, when the function's first argument is g."""
    try:
        first = next(iter(inspect.signature(fn).parameters))
    except (StopIteration, TypeError, ValueError):
        return None
    if first != "g" or not case:
        return None
    return ex.expected(*_copy((np.ones_like(case[0]) if np.ndim(case[0]) else 1.0, *case[1:])))


def _names(fn: Callable, n: int) -> list[str]:
    """The names of the function's first ``n`` parameters ('argument 3' where it has none: *args)."""
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    return [names[i] if i < len(names) else f"argument {i + 1}" for i in range(n)]


def _task_signature(ex: Exercise, name: str) -> str:
    """The stub's def line of function ``name``: 'tanh_backward(g, out, x)' (``name(...)`` if it has none)."""
    with contextlib.suppress(SyntaxError):
        for node in ast.walk(ast.parse(ex.stub)):
            if isinstance(node, ast.FunctionDef) and node.name == name:
                return f"{name}({ast.unparse(node.args)})"
    return f"{name}(...)"


def _describe_case(fn: Callable, case: tuple) -> str:
    """'g (3, 4), out (3, 4), x (3, 4), p = 2.5': the arguments by name, arrays by shape."""
    parts = [
        f"{name} {np.shape(arg)}" if np.ndim(arg) else f"{name} = {arg!r}"
        for name, arg in zip(_names(fn, len(case)), case)
    ]
    return ", ".join(parts)


def _there(fn: Callable, case: tuple, k: tuple, mine: np.ndarray) -> str:
    """' (there g = 1.2, x = 0.5)': the arguments of the answer's shape at the element that differs."""
    shown = [
        f"{name} = {_number(np.asarray(arg)[k])}"
        for name, arg in zip(_names(fn, len(case)), case)
        if mine.ndim and np.shape(arg) == mine.shape
    ]
    return f" (there {', '.join(shown)})" if shown else ""


def run_checks(ex: Exercise, fns: Mapping[str, Callable], timeout: float | None = None) -> Verdict:
    """Every case of ``ex`` against the learner's functions: the first difference found, or all right.

    The returned verdict has no hint from the ladder and no tries yet: ``check`` adds them. ``timeout``: the
    time limit of each planted mistake run to recognise a wrong answer (``known_mistake``).
    """
    name = ex.functions[0]
    fn = fns[name]
    cases = ex.cases(np.random.default_rng(ex.number))
    for i, case in enumerate(cases):
        right = ex.expected(*_copy(case))
        numeric = ex.numeric(*_copy(case)) if ex.numeric is not None else None
        given = _copy(case)
        try:
            inspect.signature(fn).bind(*given)
        except TypeError as e:
            return Verdict(
                False,
                "error",
                f"{_title(ex)}: {name} cannot be called as the task calls it ({e}): the task calls "
                f"{_task_signature(ex, name)}. Keep the stub's def line as it is.",
                exercise=ex.number,
                function=name,
                case=i + 1,
                cases=len(cases),
                slip=True,
            )
        except ValueError:  # a builtin without a signature: the call itself will say
            pass
        try:
            with np.errstate(all="ignore"):  # an overflow is reported in words, below
                result = fn(*given)
        except NotImplementedError as e:
            frames = [f for f in traceback.extract_tb(e.__traceback__) if f.name in ex.functions]
            todo = frames[-1].name if frames else name
            return Verdict(
                False,
                "todo",
                f"{_title(ex)}: not done yet: function {todo} still raises NotImplementedError ({e}). "
                "Replace the raise with your code.",
                exercise=ex.number,
                function=todo,
                cases=len(cases),
            )
        except Exception as e:
            filename = getattr(getattr(fn, "__code__", None), "co_filename", "")
            why = _error_diagnosis(e)
            return Verdict(
                False,
                "error",
                f"{_title(ex)}: {name} raised {type(e).__name__}: {e}{_line_of(e, filename)}\n"
                f"on case {i + 1} of {len(cases)}: {_describe_case(fn, case)}" + (f"\n{why}" if why else ""),
                exercise=ex.number,
                function=name,
                case=i + 1,
                diagnosis=why or None,
                cases=len(cases),
            )
        except SystemExit as e:  # not an Exception: uncaught, it would end the checker with the learner's exit code
            filename = getattr(getattr(fn, "__code__", None), "co_filename", "")
            why = f"the checker calls {name} and needs what it returns: remove the sys.exit() and return the answer"
            return Verdict(
                False,
                "error",
                f"{_title(ex)}: your code called sys.exit() in {name}{_line_of(e, filename)}\n"
                f"on case {i + 1} of {len(cases)}: {_describe_case(fn, case)}\n{why}",
                exercise=ex.number,
                function=name,
                case=i + 1,
                diagnosis=why,
                cases=len(cases),
            )
        changed = _changed(fn, case, given)
        if changed:
            return Verdict(
                False,
                "wrong",
                f"{_title(ex)}: {name} is wrong on case {i + 1} of {len(cases)} ({_describe_case(fn, case)}), "
                f"before its numbers are compared.\n{changed}",
                exercise=ex.number,
                function=name,
                case=i + 1,
                diagnosis=changed,
                cases=len(cases),
            )
        mine_all, right_all = _outputs(ex, name, result, right)
        unit = _with_g_one(ex, fn, case)
        unit_all = _outputs(ex, name, unit, unit)[1] if unit is not None else {}
        numeric_all = _outputs(ex, name, numeric, numeric)[1] if numeric is not None else {}
        for out in right_all:
            verdict = _compare_one(ex, fn, name, out, i, len(cases), case, mine_all, right_all, unit_all)
            if verdict is None and numeric_all.get(out) is not None:
                verdict = _against_differences(ex, name, out, i, mine_all[out], numeric_all[out])
            if verdict is not None and verdict.element is not None and verdict.diagnosis is None:
                says = known_mistake(ex, out, case, _as_array(mine_all[out]), timeout)
                if says:
                    verdict.diagnosis = says
                    verdict.text += f"\n{says}"
            if verdict is not None:
                return verdict
    fd = " and with central finite differences" if ex.numeric is not None else ""
    what = f"{name}'s {', '.join(right_all)} agree" if len(right_all) > 1 else f"{name} agrees"
    return Verdict(
        True,
        "right",
        f"{_title(ex)}: all right. {what} with the engine{fd} on all {len(cases)} cases.\n{ex.proves}",
        exercise=ex.number,
        function=name,
        cases=len(cases),
    )


def _compare_one(ex, fn, name, out, i, n, case, mine_all, right_all, unit_all) -> Verdict | None:
    """The first element where the learner's ``out`` differs from the engine's, as a verdict (None: all close)."""
    right = np.asarray(right_all[out], dtype=np.float64)
    where = f"on case {i + 1} of {n} ({_describe_case(fn, case)})"
    base = dict(exercise=ex.number, function=name, output=out, case=i + 1, cases=n)
    if out not in mine_all:
        return Verdict(
            False,
            "wrong",
            f"{_title(ex)}: {name} did not return {out}{_unknown_names(out, mine_all, right_all)}.",
            slip=True,
            **base,
        )
    if mine_all[out] is None:
        text = f"{_title(ex)}: {out} is None {where}: a return statement missing?"
        return Verdict(False, "wrong", text, slip=True, **base)
    dtype = _dtype_of(mine_all[out])
    mine = _as_array(mine_all[out])
    if mine is None or mine.dtype == object:
        got = type(mine_all[out]).__name__
        return Verdict(False, "wrong", f"{_title(ex)}: {out} is a {got}, not numbers, {where}.", slip=True, **base)
    swapped = _swapped(out, mine, mine_all, right_all)
    if swapped:
        swapped = _swapped_words(ex, out, swapped, mine.shape != right.shape)
    if mine.shape != right.shape:
        why = swapped or _shape_diagnosis(mine, right, out)
        return Verdict(
            False, "wrong", f"{_title(ex)}: {out} has the wrong shape {where}.\n{why}", diagnosis=why, **base
        )
    close = _close(mine, right)
    if bool(np.all(close)):
        return None
    k = tuple(int(j) for j in np.argwhere(~close)[0])
    unit = unit_all.get(out)
    why = _dtype_diagnosis(dtype, mine, right) or _value_diagnosis(
        mine, right, None if unit is None else np.asarray(unit, dtype=np.float64), swapped
    )
    at = f" at element {list(k)}" if mine.ndim else ""
    text = (
        f"{_title(ex)}: {out} is wrong {where}.\n"
        f"{out}{at}: yours is {_number(mine[k])}, the right one is {_number(right[k])}{_there(fn, case, k, mine)}."
    )
    return Verdict(
        False,
        "wrong",
        text + (f"\n{why}" if why else ""),
        element=list(k),
        mine=float(mine[k]),
        right=float(right[k]),
        diagnosis=why,
        **base,
    )


def _unknown_names(out: str, mine_all: Mapping, right_all: Mapping) -> str:
    """For a name missing from the learner's dict: the names it has that the task does not give, and the one
    ``out`` looks misspelled as ('' when it has none)."""
    unknown = [str(k) for k in mine_all if k not in right_all]
    if not unknown:
        return ""
    by_lower = {k.lower(): k for k in unknown}
    close = difflib.get_close_matches(out.lower(), list(by_lower), n=1)
    listed = ", ".join(unknown)
    said = f"; it returned {listed}, which the task does not name"
    if close:
        spelled = by_lower[close[0]]
        case = " (names are case-sensitive)" if spelled.lower() == out.lower() else ""
        said += f": is {spelled} {out} misspelled{case}?"
    return said


_LOADED: dict[int, tuple[Exercise, list[tuple[Mistake, Callable]]]] = {}  # id(ex) -> (ex, its known mistakes)


def _known_mistakes(ex: Exercise, timeout: float | None) -> list[tuple[Mistake, Callable]]:
    """The planted mistakes of ``ex`` that say what they are (``Mistake.says``), each with its function: their
    files run once per exercise (each under the time limit; one that fails is left out) and are kept."""
    kept = _LOADED.get(id(ex))
    if kept is None or kept[0] is not ex:
        loaded = []
        for mistake in ex.mistakes:
            if mistake.says:
                with contextlib.suppress(Exception, _TimeUp), time_limit(timeout):
                    fns = load_source(ex, mistake.source, f"<exercise {ex.number}: {mistake.what}>")
                    loaded.append((mistake, fns[ex.functions[0]]))
        kept = _LOADED[id(ex)] = (ex, loaded)
    return kept[1]


def known_mistake(ex: Exercise, out: str, case: tuple, mine: np.ndarray | None, timeout: float | None = None) -> str:
    """What the learner's wrong ``out`` is when it equals a planted mistake's answer on the same case: the
    first such mistake's ``says`` ('' if none). A mistake that fails or runs past ``timeout`` is passed over."""
    if mine is None:
        return ""
    name = ex.functions[0]
    for mistake, fn in _known_mistakes(ex, timeout):
        try:
            with time_limit(timeout), np.errstate(all="ignore"):
                result = fn(*_copy(case))
            theirs = _as_array(_outputs(ex, name, result, result)[0].get(out))
        except (Exception, _TimeUp):
            continue
        if theirs is not None and _allclose(mine, theirs):
            return mistake.says
    return ""


def _against_differences(ex, name, out, i, mine, numeric) -> Verdict | None:
    """The learner's answer (already equal to the engine's) against central differences: they must agree too."""
    mine, numeric = np.asarray(mine, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    if _allclose(mine, numeric, FD_RTOL, FD_ATOL):
        return None
    return Verdict(
        False,
        "error",
        f"{_title(ex)}: {out} agrees with the engine but not with finite differences on case {i + 1}: "
        "the exercise itself is wrong; please report it.",
        exercise=ex.number,
        function=name,
        output=out,
        case=i + 1,
    )


def _counts(verdict: Verdict) -> bool:
    """A try that ran the learner's function and got a wrong answer or an error from it: it climbs the ladder.
    A slip that is not maths (``Verdict.slip``) does not."""
    return not verdict.slip and (verdict.status == "wrong" or (verdict.status == "error" and verdict.case is not None))


def _with_hint(ex: Exercise, verdict: Verdict, tries: Tries, key: str) -> Verdict:
    """Count the failed try and add the next step of the ladder, the first not shown yet, in order: a first
    try with a diagnosis shows none (the diagnosis says more), later tries show one each."""
    verdict.tries = tries.failed(key)
    if verdict.tries > 1 or not verdict.diagnosis:
        step = tries.hint_shown(key)
        verdict.hint = ex.hints[min(step, len(ex.hints) - 1)]
        verdict.text += f"\nHint (try {verdict.tries}): {verdict.hint}"
    return verdict


def check(ex: Exercise, fns, key: str, tries: Tries | None = None, timeout: float | None = None) -> Verdict:
    """Check the learner's functions (a dict by name, a module, or one function: the first of
    ``ex.functions``) and count the try under ``key`` (default store: ``Tries.default()``; ``timeout``: see
    ``run_checks``)."""
    tries = Tries.default() if tries is None else tries
    if isinstance(fns, types.ModuleType):
        fns = vars(fns)
    elif callable(fns) and not isinstance(fns, Mapping):  # its helpers are found beside it, in its globals
        fns = {**getattr(fns, "__globals__", {}), ex.functions[0]: fns}
    try:
        verdict = run_checks(ex, functions_of(ex, fns), timeout)
    except _Stop as stop:
        verdict = stop.verdict
    if verdict.ok:
        verdict.tries = tries.passed(key) + 1  # the tries it took, this one included
    return _with_hint(ex, verdict, tries, key) if _counts(verdict) else verdict


class _TimeUp(BaseException):
    """The learner's code ran past the time limit: a BaseException, so that no ``except Exception`` (the
    learner's or the checker's) swallows it."""


TIME_LIMITS = hasattr(signal, "setitimer")  # SIGALRM: Unix; there is none on Windows


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Stop the code in the block after ``seconds`` (raising ``_TimeUp`` in it) by SIGALRM, which only the
    main thread of a Unix process receives: elsewhere, and for None or 0, no limit. A long numpy call is
    stopped when it returns (a signal waits for the interpreter). Inside another limit, that one pauses."""
    if not seconds or not TIME_LIMITS or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise _TimeUp

    old = signal.signal(signal.SIGALRM, stop)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if outer:  # an enclosing limit, paused while this one ran, runs on
            signal.setitimer(signal.ITIMER_REAL, outer)


@contextlib.contextmanager
def _beside(filename: str):
    """While the learner's file is loaded and run, its folder is first on ``sys.path``, as ``python FILE`` has
    it, so that it can import a helper module beside it. Afterwards the path is as it was and the modules
    imported from that folder are forgotten (the next check sees their edits, another file's helper of the same
    name is not mistaken for them)."""
    if not os.path.isfile(filename):
        yield
        return
    folder = os.path.dirname(os.path.abspath(filename))
    before = set(sys.modules)
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):  # the learner's code may have removed it
            sys.path.remove(folder)
        for name in set(sys.modules) - before:  # not a new part of a package loaded before (tinygrad_edu.*)
            path = getattr(sys.modules[name], "__file__", None)
            if path and os.path.abspath(path).startswith(folder + os.sep) and name.partition(".")[0] not in before:
                del sys.modules[name]


def check_source(
    ex: Exercise, source: str, filename: str = "<exercise>", tries: Tries | None = None, timeout: float | None = None
) -> Verdict:
    """Check a learner's file given as text (``filename`` names it in messages and keys its tries).
    ``timeout``: seconds after which the learner's code is stopped and the verdict says so (see ``time_limit``;
    None: no limit)."""
    tries = Tries.default() if tries is None else tries
    key = f"{os.path.realpath(filename) if os.path.exists(filename) else filename}#{ex.number}"
    try:
        with time_limit(timeout), _beside(filename):
            return check(ex, load_source(ex, source, filename), key, tries, timeout)
    except _Stop as stop:
        return stop.verdict
    except _TimeUp as e:
        frames = [f.name for f in traceback.extract_tb(e.__traceback__) if f.filename == filename]
        return Verdict(
            False,
            "error",
            f"{_title(ex)}: your code ran for {timeout:g} s without returning: an infinite loop?"
            f"{_line_of(e, filename)}",
            exercise=ex.number,
            function=next((name for name in reversed(frames) if name in ex.functions), None),
        )


_SESSION = Tries(None)  # a notebook's tries: counted in memory, for as long as the kernel runs


def check_exercise(number: int, fn: Callable | Mapping[str, Callable], pack: str | None = None) -> Verdict:
    """Check a function written in a notebook against exercise ``number`` (``pack``: a course's file or
    folder of exercises beside the built-in ones). ``fn`` is the exercise's function (its helpers are found
    in the notebook beside it) or a dict of the functions by name. Jupyter shows the returned verdict as HTML;
    outside Jupyter (a script) its text is printed, and the verdict returned as well."""
    ex = catalog.find(number, pack)
    verdict = check(ex, fn, f"notebook#{ex.number}", _SESSION)
    if not in_notebook():
        print(verdict.text)
    return verdict
