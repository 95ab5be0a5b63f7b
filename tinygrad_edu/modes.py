"""The switches of the engine, per thread, for a ``with`` block: ``no_grad`` (build no graph),
``enable_grad``, ``detect_anomaly`` (the first nan/inf raises, naming its op), ``record_sites`` (each node
remembers its line of code), and compile's ``note_reads``; and numpy's floating-point warnings switched off
(``quietly``), so that nan and inf propagate as in PyTorch.

While no block is open anywhere (``open_blocks == 0``), every thread has the defaults, and an op skips
looking its switches up: that keeps the hot path (``engine.apply``) fast.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

import numpy as np


def quietly(fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)`` with numpy's floating-point warnings off (overflow, log of a negative):
    nan and inf propagate quietly, as in PyTorch; ``detect_anomaly()`` is the way to find where they start."""
    token = NUMPY_ERRORS.set(IGNORE_ALL)
    try:
        return fn(*args, **kwargs)
    finally:
        NUMPY_ERRORS.reset(token)


def quiet(fn: Callable) -> Callable:
    """A decorator: each call of ``fn`` runs ``quietly`` (so a backward pass switches once, not once per op)."""

    @functools.wraps(fn)
    def quiet_fn(*args, **kwargs):
        return quietly(fn, *args, **kwargs)

    return quiet_fn


class _Seterr:
    """numpy 1.x: its error state switched and put back the way numpy 2's context variable is."""

    @staticmethod
    def set(_) -> dict:
        return np.seterr(all="ignore")

    @staticmethod
    def reset(old: dict) -> None:
        np.seterr(**old)


try:  # numpy >= 2 keeps its error state in a context variable; setting it directly costs 0.1 us, np.errstate 1 us
    from numpy._core._ufunc_config import _extobj_contextvar as NUMPY_ERRORS
    from numpy._core.umath import _make_extobj

    IGNORE_ALL = _make_extobj(all="ignore")
except ImportError:  # numpy 1.x
    NUMPY_ERRORS, IGNORE_ALL = _Seterr, None


class Switches(threading.local):
    """This thread's switches; every thread starts with the defaults, as in PyTorch."""

    def __init__(self):
        self.grad_enabled = True  # switched off by no_grad()
        self.anomaly = False  # switched on by detect_anomaly()
        self.sites = False  # switched on by record_sites() (and detect_anomaly): new nodes note their line of code
        self.reads: note_reads | None = None  # set by note_reads(): where numbers left the graph
        self.saved: list[dict] = []  # what each open block switched, to put back when it ends


state = Switches()  # this thread's switches
open_blocks = 0  # mode blocks open in any thread; while 0 every thread has the defaults, and ops skip the lookup
_count_lock = threading.Lock()


class _Mode:
    """Switches this thread's modes for a ``with`` block, then puts them back. One object may be entered
    again (even nested), and it works as a decorator: ``@no_grad()`` or ``@no_grad``."""

    changes: dict[str, bool] = {}

    def __new__(cls, fn: Callable | None = None, **settings):
        self = super().__new__(cls)
        return self if fn is None else self(fn)

    def __init__(self, fn: Callable | None = None, **settings):
        pass

    def __enter__(self) -> _Mode:
        global open_blocks
        state.saved.append({k: getattr(state, k) for k in self.changes})
        for k, v in self.changes.items():
            setattr(state, k, v)
        with _count_lock:
            open_blocks += 1
        return self

    def __exit__(self, *exc) -> None:
        global open_blocks
        for k, v in state.saved.pop().items():
            setattr(state, k, v)
        with _count_lock:
            open_blocks -= 1

    def __call__(self, fn: Callable) -> Callable:
        if not callable(fn):
            raise TypeError(f"{type(self).__name__} decorates a function, got {type(fn).__name__}")

        @functools.wraps(fn)
        def inside(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return inside


class no_grad(_Mode):
    """Inside this block (in this thread) ops build no graph: for evaluation and parameter updates."""

    changes = {"grad_enabled": False}


class enable_grad(_Mode):
    """Inside this block ops build the graph again, even within a ``no_grad`` block."""

    changes = {"grad_enabled": True}


class detect_anomaly(_Mode):
    """Inside this block the first NaN or inf made in forward or backward raises FloatingPointError,
    naming the op, its inputs and the line of code that created it."""

    changes = {"anomaly": True, "sites": True}


class record_sites(_Mode):
    """Inside this block every new node remembers the line of user code that made it (``.site``).

    Off by default: looking up the caller costs time on every op.
    """

    changes = {"sites": True}


class note_reads(_Mode):
    """compile's trace. Inside this block, each read of the numbers of a Value that needs a gradient (a
    comparison, ``float()``, ``np.asarray``), of a Value argument ``values``, or of an ``Argument`` other than
    through ``numbers_of`` is noted in ``.notes``: numbers that leave the graph, which a trace would freeze.
    ``.origins`` records where the arrays ``numbers_of`` made came from, and ``.checks`` the checks made
    with ``check``, so that a compiled step can read the arguments anew and check them again."""

    def __init__(self, fn: Callable | None = None, values: tuple = ()):
        self.notes: list[str] = []
        self.values = {id(v) for v in values}
        self.origins: dict[int, tuple] = {}  # id(array) -> (array, where it came from, how)
        self.checks: list[tuple[Callable, object]] = []
        self.changes = {"reads": self}

    def came_from(self, made, source, how: tuple) -> None:
        """Note that ``made`` was made of ``source`` (kept alive with it), ``how``: ("as", dtype, shape) for
        np.asarray(source, dtype).reshape(shape), ("float",) for float(source), ("item", k) for float(source[k])."""
        if made is not source:
            self.origins[id(made)] = (made, source, how)


def is_grad_enabled() -> bool:
    """False inside ``no_grad()`` (in this thread)."""
    return state.grad_enabled


def any_mode_open() -> bool:
    """True while a no_grad/detect_anomaly/record_sites block is open in any thread (else all are at defaults)."""
    return bool(open_blocks)


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()`` (in this thread)."""
    return bool(open_blocks) and state.anomaly


def note_frozen(what: str) -> None:
    """Inside compile's trace, note that ``what`` would be frozen by a trace (random numbers, numbers updated in
    place, numbers read off the graph): the step then runs eagerly, with a CompileWarning naming it, rather than
    compiled and silently wrong."""
    if open_blocks and state.reads is not None:
        state.reads.notes.append(what)


def note_read(value, what: str) -> None:
    """Inside ``note_reads()``, note that the numbers of a Value with a gradient (or of an argument of the
    traced function) left the graph: ``what`` read them (a comparison, ``float()``, ``np.asarray``)."""
    reads = state.reads
    if (
        open_blocks
        and reads is not None
        and (value.requires_grad or value.operation is not None or id(value) in reads.values)
    ):
        reads.notes.append(f"{what} of {value.label or 'a value'} of shape {value.shape}")
