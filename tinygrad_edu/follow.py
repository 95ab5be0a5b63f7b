"""What compile's trace follows: the numbers a traced function is given, by identity, never by value.

Inside ``modes.note_reads()`` (compile's trace) an array argument reaches ``fn`` as an ``Argument``; the
library takes numbers from it (and from any Value's data) through ``numbers_of``, ``item_of`` and ``check``,
which note where the numbers came from, so the compiled step reads them anew on every call. Any other read
(numpy on the numbers, ``float()``, an ``if``) is noted too: the trace cannot follow it, so the step runs
eagerly. Outside a trace these functions just return the numbers.
"""

from __future__ import annotations

import numbers
import os
import sys
from collections.abc import Callable

import numpy as np

from tinygrad_edu import modes, ops
from tinygrad_edu.modes import note_read

frame = sys._getframe  # noqa: SLF001 (Python's way to a caller's frame: frame(1) is the caller's)

OP_FILES = {ops.__file__, os.path.join(os.path.dirname(os.path.abspath(__file__)), "engine.py")}  # where numbers
# are computed with as the graph records them (the ops, and engine.apply running them)


def is_node(x) -> bool:
    """Whether ``x`` is a graph node (an ``engine.Value``). This module comes before the Value class, so it
    asks what x can do rather than what class it is."""
    return hasattr(x, "accumulate_grad")


class Argument(np.lib.mixins.NDArrayOperatorsMixin):
    """An array argument as compile's trace hands it to fn: the same numbers, followed by identity.

    The library takes numbers from it through ``numbers_of`` (a Value made of it, a loss's targets, labels, an
    index), which the trace records, so the compiled step reads the argument anew on every call. Any other
    read (numpy on it, ``float()``, an ``if``, a method of the array) is noted: a trace cannot follow it, so the
    step then runs eagerly. Its shape, dtype and length may be read freely: a trace is kept per shape and dtype.
    """

    __slots__ = ("array", "name", "code")

    def __init__(self, array: np.ndarray, name: str, code: str):
        self.array, self.name, self.code = array, name, code  # code: how the compiled step computes it from A

    def _made(self, array: np.ndarray, code: str) -> Argument:
        """What fn made of the argument with numpy, in a way the compiled step can redo: a followed Argument."""
        return Argument(array, self.name, code)

    def reshape(self, *shape) -> Argument:
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return self._made(self.array.reshape(shape), f"{self.code}.reshape({tuple(shape)!r})")

    def ravel(self) -> Argument:
        return self.reshape(-1)

    flatten = ravel

    def transpose(self, *axes) -> Argument:
        return self._made(self.array.transpose(*axes), f"{self.code}.transpose{tuple(axes)!r}")

    @property
    def T(self) -> Argument:  # noqa: N802 (numpy's name)
        return self._made(self.array.T, f"{self.code}.T")

    def astype(self, dtype) -> Argument:
        dtype = np.dtype(dtype)
        return self._made(self.array.astype(dtype), f"{self.code}.astype(np.{dtype.name})")

    shape = property(lambda self: self.array.shape)
    dtype = property(lambda self: self.array.dtype)
    ndim = property(lambda self: self.array.ndim)
    size = property(lambda self: self.array.size)

    def __len__(self) -> int:
        return len(self.array)

    def __repr__(self) -> str:
        return repr(self.array)

    def _note(self, what: str) -> None:
        modes.note_frozen(f"{what} of the argument {self.name}")

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        self._note("np.asarray()")
        return np.asarray(self.array, dtype=dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        result = getattr(ufunc, method)(*_unwrapped(inputs), **kwargs)
        codes = [_code_of(x) for x in inputs]
        if method != "__call__" or kwargs or None in codes or not isinstance(result, np.ndarray):
            self._note(f"numpy's {ufunc.__name__}")  # with arrays from elsewhere, or out=: not followed
            return result
        return self._made(result, f"np.{ufunc.__name__}({', '.join(codes)})")  # X / 255.0, 1 - T, np.tanh(X)

    def __array_function__(self, func, types, args, kwargs):
        if func not in _SHAPE_ONLY:
            self._note(f"np.{func.__name__}()")
        return func(*_unwrapped(args), **kwargs)

    def __getattr__(self, name: str):
        self._note(f".{name}")
        return getattr(self.array, name)

    def __getitem__(self, index):
        text = _basic_index(index)
        if text is None:  # integer-array or boolean indexing of the raw array: make it a Value first
            self._note("indexing")
            return self.array[index]
        return self._made(self.array[index], f"{self.code}[{text}]")  # y[:, None], X[:, :2]

    def __iter__(self):
        self._note("iterating over")
        return iter(self.array)

    def __bool__(self) -> bool:
        self._note("bool()")
        return bool(self.array)

    def __float__(self) -> float:
        self._note("float()")
        return float(self.array)

    def __int__(self) -> int:
        self._note("int()")
        return int(self.array)

    def __index__(self) -> int:
        self._note("a Python integer")
        return self.array.__index__()


_SHAPE_ONLY = {np.shape, np.ndim, np.size, np.zeros_like, np.ones_like, np.empty_like}


def _code_of(x) -> str | None:
    """An input of a ufunc on an Argument as code: the Argument's, or a Python number's; None otherwise."""
    if x.__class__ is Argument:
        return x.code
    if isinstance(x, (bool, np.bool_)):
        return repr(bool(x))
    if isinstance(x, np.generic) and x.dtype.kind in "iuf" and np.isfinite(x):  # keeps its type: numpy promotes
        return f"np.{x.dtype.name}({x.item()!r})"  # np.float64(0.3) / float32 to float64, as 0.3 would not
    if isinstance(x, numbers.Integral):
        return repr(int(x))
    if isinstance(x, numbers.Real) and np.isfinite(x):
        return repr(float(x))
    return None


def _basic_index(index) -> str | None:
    """A basic index (whole numbers, slices, None, ...) as the text between brackets; None for any other."""
    parts = []
    for i in index if isinstance(index, tuple) else (index,):
        if i is None or i is Ellipsis:
            parts.append(repr(i) if i is None else "...")
        elif isinstance(i, slice) and all(v is None or isinstance(v, int) for v in (i.start, i.stop, i.step)):
            parts.append(
                ":".join("" if v is None else repr(v) for v in (i.start, i.stop))
                + ("" if i.step is None else f":{i.step!r}")
            )
        elif isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)):
            parts.append(repr(int(i)))
        else:
            return None
    return ", ".join(parts) if parts else "()"


def _unwrapped(items):
    return [_unwrapped(x) if isinstance(x, (list, tuple)) else x.array if x.__class__ is Argument else x for x in items]


def numbers_of(x, dtype=None, shape: tuple | None = None):
    """The numbers a caller gave (a loss's targets, labels, an index) as an array of ``dtype`` and ``shape``.

    Inside compile's trace it notes where they came from (an argument, a Value's data), so the compiled step
    reads them anew on every call rather than freezing them; a read of a Value that needs a gradient is noted.
    """
    source = x
    if x.__class__ is Argument:
        x = x.array
    elif is_node(x):
        if x.requires_grad or x.operation is not None:  # numbers of the graph (an argument's are followed)
            note_read(x, "its numbers (as targets or labels)")
        x = x.numbers
    made = np.asarray(x, dtype=dtype)
    if shape is not None:
        made = made.reshape(shape)
    if modes.open_blocks and modes.state.reads is not None:
        made = made.view(Followed)  # numpy on it is noted
        modes.state.reads.came_from(made, source, ("as", dtype, shape))
    return made


class Followed(np.ndarray):
    """The numbers ``numbers_of`` gives inside compile's trace, whose origin the trace records: ops take them
    as they are and ``check`` reads them; numpy on them elsewhere is noted (the trace could not follow it)."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _note_outside_ops(f"numpy's {ufunc.__name__} of numbers given to fn")
        plain = [x.view(np.ndarray) if isinstance(x, Followed) else x for x in inputs]
        return getattr(ufunc, method)(*plain, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if func not in _SHAPE_ONLY:
            _note_outside_ops(f"np.{func.__name__}() of numbers given to fn")
        plain = [x.view(np.ndarray) if isinstance(x, Followed) else x for x in args]
        return func(*plain, **kwargs)


def _note_outside_ops(what: str) -> None:
    """Note a use of followed numbers, unless an op computes with them (its inputs and settings are in the graph)."""
    if modes.open_blocks and frame(2).f_code.co_filename not in OP_FILES:
        modes.note_frozen(what)


def item_of(numbers: np.ndarray, k: int | tuple = ()) -> float:
    """Element ``k`` of an array of numbers (one target per example; () for a 0-d array) as a float,
    followed by compile's trace."""
    made = float(numbers[k])
    if modes.open_blocks and modes.state.reads is not None:
        modes.state.reads.came_from(made, numbers, ("item", k))
    return made


def check(test: Callable, numbers) -> None:
    """Run ``test(numbers)`` (it raises on bad numbers: targets out of range, labels that are not classes).

    Inside compile's trace the check is recorded, so the compiled step makes it again on every call, with
    the same message. ``numbers`` is an array, a Value (its data is tested), or a list of scalar Values.
    """
    if is_node(numbers):
        test(numbers.numbers)
    elif isinstance(numbers, list):
        test(np.array([v.numbers for v in numbers]))
    else:
        test(np.asarray(numbers))  # (Followed numbers as a plain array: the test reads them, as is its job)
    if modes.open_blocks and modes.state.reads is not None:
        modes.state.reads.checks.append((test, numbers))


def followed_index(index):
    """An index with every ``Argument`` in it taken through ``numbers_of`` (so compile's trace follows it)."""
    if index.__class__ is Argument:
        return numbers_of(index)
    if isinstance(index, tuple):
        return tuple(numbers_of(i) if i.__class__ is Argument else i for i in index)
    return index
