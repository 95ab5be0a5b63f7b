"""``compile(fn)``: backprop as straight-line code you can read, run at the speed of hand-written numpy.

The eager engine pays for every op at run time: a new node, a topological sort, a dictionary
of pending gradients. A training step builds the same graph every time, so ``compile`` records
it once and writes it out as a Python function: one line per forward op, then one line per
gradient contribution, the chain rule spelled out, as you would write it by hand (Python
floats and ``math`` for a scalar graph, numpy for a tensor graph). ``step.source`` is that
function's text, and it is the code that runs (``exec`` of that very text).

What is recorded, and what is read again on every call (arguments are followed by identity, as
``jax.jit`` does, never guessed from their numbers):

* leaves that exist before the call (the model's parameters, constants made outside ``fn``):
  their current ``.data`` is read on every call, so an optimizer may update it in place or
  assign new arrays; those that require a gradient get it added into ``.grad``. The way ``fn``
  reaches them by name (from a global, a closed-over variable, a partial's arguments or a bound
  method's self, through attributes, list items and dict entries) is checked on every call: a
  parameter replaced by another Value traces again;
* Values passed as arguments: their ``.data`` is read on every call;
* numpy arrays passed as arguments: while tracing, ``fn`` gets each as an ``follow.Argument``,
  which the library takes numbers from through ``follow.numbers_of`` (a Value made of it, a
  loss's targets, cross-entropy's labels, an index), and those are read from the argument on
  every call; what ``fn`` computes of them with Values and ops is part of the graph, and so is the
  numpy the step can redo (``y[:, None]``, ``X.T``, ``X / 255.0``, ``1 - T``: ``Argument``). Any other
  read of an argument's numbers (numpy on it, ``float()``, an ``if``, ``.data`` or a comparison of a
  node) cannot be followed: the step then runs eagerly, with a ``CompileWarning`` naming it;
* the checks eager makes on the numbers it is given (``follow.check``: targets finite and in
  range, labels whole and in range) are made on every call, with the same messages;
* other arguments (Python numbers, lists) are compared by value: a new value traces again, and
  after 8 of them the step runs eagerly with a ``CompileWarning``;
* random numbers drawn inside ``fn`` (the trace's two calls of it make different numbers): the step
  runs eagerly, with a ``CompileWarning``;
* arrays ``fn`` reads from outside (globals, closures) are constants, as in ``jax.jit``: change
  them in place and the trace will not know (pass them as arguments).

A new shape or dtype gives a new trace, kept beside the others. A trace calls ``fn`` twice (the
eager call whose result it returns, and a second call to tell the model's leaves from numbers
made anew), so ``fn`` should have no side effects beyond building the loss. ``compile(fn,
check_every=N)`` reruns the eager engine every N calls and raises if the two disagree.
Inside ``no_grad()`` only the forward runs; inside ``detect_anomaly()`` the eager engine runs,
with its report.

Read from the top: ``compile`` and the step it returns (``Compiled``), then tracing (``_trace``),
then the writer (``_Writer``: leaves, then each op's forward and backward run on symbols that write code
(``tinygrad_edu.code``) through ``engine.backprop``, then the ``.grad`` updates), then its helpers.
"""

from __future__ import annotations

import builtins
import collections.abc
import contextlib
import dis
import functools
import gc
import inspect
import itertools
import keyword
import linecache
import math
import numbers
import re
import time
import types
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tinygrad_edu import ops
from tinygrad_edu.code import (
    Code,
    CodeMath,
    NotSymbolic,
    alias,
    as_code,
    call,
    full,
    item,
    leaf,
    literal,
    number_kind,
    number_text,
    parts_of,
    render,
)
from tinygrad_edu.engine import Value, as_value, backprop, toposort
from tinygrad_edu.follow import Argument
from tinygrad_edu.modes import (
    IGNORE_ALL,
    NUMPY_ERRORS,
    any_mode_open,
    is_anomaly_enabled,
    is_grad_enabled,
    note_reads,
    quietly,
)
from tinygrad_edu.names import node_names


class CompileWarning(UserWarning):
    """fn cannot be compiled faithfully (it reads numbers that the trace would freeze): it runs eagerly."""


# ---------------------------------------------------------------- compile, and the step it returns


def compile(fn: Callable, check_every: int | None = None) -> Compiled:  # noqa: A001 (PyTorch's and jax's name)
    """Trace ``fn`` on its first call and run it afterwards as straight-line code (see this module's doc).

    ``fn(*args)`` must return the loss, a one-element Value. ``step = compile(fn)``, then
    ``loss = step(*args)`` does what ``loss = fn(*args); loss.backward()`` does, and
    ``print(step.source)`` shows the code. ``check_every=N`` compares with the eager engine every
    N calls and raises if they differ (a branch on data values that the trace froze).
    """
    return Compiled(fn, check_every)


class Compiled:
    """What ``compile(fn)`` returns: call it as you would call ``fn`` and then ``backward()``.

    Each call returns the loss as a Value without a graph, and adds into the ``.grad`` of every
    parameter exactly what ``loss.backward()`` would. ``source`` is the code of the latest trace;
    ``traces`` holds one per shape of the arguments.
    """

    def __init__(self, fn: Callable, check_every: int | None = None):
        if not callable(fn):
            raise TypeError(f"compile needs a function that returns a loss, got {type(fn).__name__}")
        if check_every is not None and (
            isinstance(check_every, bool) or not isinstance(check_every, int) or check_every < 1
        ):
            raise ValueError(f"check_every must be a whole number >= 1 (or None), got {check_every!r}")
        self.fn, self.check_every = fn, check_every
        self.traces: dict[tuple, list[_Trace]] = {}
        self.calls = 0
        self.latest: _Trace | None = None
        self.retrace_limit = 8  # traces for one shape before the arguments are judged to change every call
        self.made: dict[tuple, int] = {}  # traces made in a row for each shape

    @property
    def source(self) -> str:
        """The Python code of the latest trace, as it runs."""
        if self.latest is None:
            raise RuntimeError("nothing compiled yet: the first call traces fn")
        return self.latest.source

    @property
    def trace_seconds(self) -> float:
        """How long the latest trace took (the eager call, the second call, writing and compiling the code)."""
        return 0.0 if self.latest is None else self.latest.seconds

    def __call__(self, *args) -> Value:
        modes = any_mode_open()  # no_grad, detect_anomaly: looked at only when a block is open
        if modes and is_anomaly_enabled():
            return self._eager(args)
        self.calls += 1
        key = _key(args)
        trace = self.latest
        if trace is None or trace.key != key or not trace.current() or not trace.accepts(args):  # another trace
            kept = self.traces.setdefault(key, [])
            stale = next((c for t in kept if not t.current() and (c := _changed(t.current))), None)
            kept[:] = [t for t in kept if t.current()]  # a trace of state since changed is of no more use
            trace = next((t for t in kept if t.accepts(args)), None)
        if trace is None:
            if not is_grad_enabled():
                return self._eager(args)
            if self.made.get(key, 0) >= self.retrace_limit:  # traced again on every call: what fn reads changes
                changing = ", ".join(self._changing(kept, args))
                why = (
                    f"argument {changing} (Python numbers, compared on every call) changed {len(kept)} times; "
                    "pass an array instead, which a trace follows"
                    if changing
                    else f"the state fn reads "
                    f"changed on {self.made[key]} calls in a row ({stale or 'a global, an attribute, a list'})"
                )
                trace = _not_compiled(key, why, time.perf_counter(), stacklevel=3)
                kept.clear()
                kept.append(trace)  # it takes every call of these shapes from now on
                return self._eager(args)
            trace, loss = _trace(self.fn, args, key)
            self.made[key] = self.made.get(key, 0) + 1  # traces in a row: a call that reuses one starts again
            kept.append(trace)
            self.latest = trace
            loss.backward()  # the first call is the eager one: its loss, its gradients
            return Value(loss.numbers, requires_grad=False)
        self.latest = trace
        if self.made.get(key):
            self.made[key] = 0
        if trace.step is None:  # judged not compilable when traced
            return self._eager(args)
        if modes and not is_grad_enabled():
            return Value(quietly(trace.run_forward, args), requires_grad=False)
        if self.check_every and self.calls % self.check_every == 0:
            return self._checked(trace, args)
        token = NUMPY_ERRORS.set(IGNORE_ALL)  # quietly(trace.step, ...) written out: this is every call's path
        try:
            loss = trace.step(trace.persistent, args)
        except (ArithmeticError, ValueError, IndexError):  # math raised where numpy gives inf/nan, or a bad input:
            loss = None  # the eager engine gives IEEE's inf/nan, or its own clear error
        finally:
            NUMPY_ERRORS.reset(token)
        return self._eager(args) if loss is None else as_value(loss)  # the loss, as a Value without a graph

    def _changing(self, kept: list[_Trace], args: tuple) -> list[str]:
        names = _argument_names(self.fn, len(args))
        return (
            [names[i] for i in kept[0].guards if not all(_same(args[i], t.guards.get(i)) for t in kept)]
            if (kept)
            else []
        )

    def _eager(self, args: tuple) -> Value:
        """fn as the eager engine runs it: the loss, and its backward unless inside no_grad."""
        loss = _loss(self.fn(*args))
        if is_grad_enabled():
            loss.backward()
        return Value(loss.numbers, requires_grad=False)

    def _checked(self, trace: _Trace, args: tuple) -> Value:
        """Run the compiled step and the eager one from the same .grad; raise if they differ, else keep it."""
        wanted = [w if i is None else args[i] for w, i in zip(trace.wanted, trace.wanted_args)]  # this call's
        saved = [w.gradient if w.has_grad else None for w in wanted]
        for w in wanted:
            w.zero_grad()
        try:
            eager = _loss(self.fn(*args))
            eager.backward()
            expected = [w.gradient if w.has_grad else None for w in wanted]
            for w in wanted:
                w.zero_grad()
            loss = quietly(trace.step, trace.persistent, args)
            got = [w.gradient if w.has_grad else None for w in wanted]
        finally:
            for w, s in zip(wanted, saved):
                w.grad = s
        problems = [] if _close(loss, eager.numbers) else [f"loss {loss!r} compiled, {eager.numbers!r} eager"]
        problems += [
            f"the gradient of {w.label or 'a parameter'} {w.shape}"
            for w, a, b in zip(wanted, got, expected)
            if not _close(a, b)
        ]
        if problems:
            raise RuntimeError(
                f"compile: at call {self.calls} the compiled step differs from the eager one ("
                + "; ".join(problems)
                + "). fn takes another path for these numbers (an if on "
                "data values?), which the trace froze; call fn eagerly instead"
            )
        for w, g in zip(wanted, got):
            w.accumulate_grad(g)
        return Value(loss, requires_grad=False)


def _close(a, b) -> bool:
    return np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)


# ---------------------------------------------------------------- tracing: what is fixed, what follows the arguments


@dataclass
class _Trace:
    """One recorded graph as code: its function, its text, and what it reads."""

    key: tuple
    source: str = ""
    step: Callable | None = None  # step(P, A) -> loss data, adds into .grad
    persistent: list = field(default_factory=list)  # the leaves read on every call (P)
    wanted: list = field(default_factory=list)  # the leaves whose .grad is written
    guards: dict = field(default_factory=dict)  # argument index -> the value it must have
    seconds: float = 0.0
    forward_source: str = ""  # forward(P, A) -> loss data: the same lines without backward, for no_grad
    namespace: dict = field(default_factory=dict)
    forward: Callable | None = None  # compiled the first time it is needed
    wanted_args: list = field(default_factory=list)  # for each wanted leaf, the argument it is (or None)
    current: Callable[[], bool] = lambda: True  # noqa: E731 (the names fn reads still hold what they held: _current)

    def accepts(self, args: tuple) -> bool:
        """The arguments that are compared by value (Python numbers, lists) are those of the trace."""
        return not self.guards or all(_same(args[i], v) for i, v in self.guards.items())

    def run_forward(self, args: tuple):
        if self.forward is None:
            self.forward = _load(self.forward_source, self.namespace, "forward", "forward")
        return self.forward(self.persistent, args)


def _same(a, b) -> bool:
    """An argument compared by value is the trace's: numbers, strings, containers of them (arrays by their
    numbers), and any other object (a Value, a model) by identity."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (numbers.Number, str, bytes, type(None))):
        return a == b or a != a and b != b  # (nan is nan's)
    return a is b


def _key(args: tuple) -> tuple:
    """What a trace is kept by: per argument, its kind and shape (and dtype and class for arrays, and which
    earlier argument it is, for a Value passed twice)."""
    parts = []
    for i, a in enumerate(args):
        if isinstance(a, Value):
            same = next((j for j in range(i) if args[j] is a), None)
            parts.append(("Value", a.shape, a.numbers.__class__ is float, a.requires_grad, same))
        elif isinstance(a, np.ndarray):
            parts.append(("array", a.shape, a.dtype, type(a)))
        else:  # compared by value (the trace's guards); a list by its length too, as arrays by their shape
            parts.append((type(a).__name__, len(a) if isinstance(a, (list, tuple)) else None))
    return tuple(parts)


def _structure(order: list[Value]) -> list:
    return [(n.operation, n.shape, len(n.parents)) for n in order]


def _followed(args: tuple, names: list[str]) -> tuple:
    """The arguments as fn sees them while tracing: each numpy array as an ``Argument`` (the same numbers,
    followed by identity; the compiled step reads it as ``A[i]``), the rest as they are."""
    return tuple(
        Argument(np.asarray(a), names[i], f"A[{i}]" if a.__class__ is np.ndarray else f"np.asarray(A[{i}])")
        if isinstance(a, np.ndarray)
        else a
        for i, a in enumerate(args)
    )  # (a memmap: as an array)


def _trace(fn: Callable, args: tuple, key: tuple) -> tuple[_Trace, Value]:
    """Run fn eagerly (its loss and .grad are the call's result) and write its graph out as code."""
    start = time.perf_counter()
    names = _argument_names(fn, len(args))
    values = tuple(a for a in args if isinstance(a, Value))
    with note_reads(values=values) as record:
        try:
            loss = _loss(fn(*_followed(args, names)))
            failed = None
        except Exception as error:  # noqa: BLE001 (fn may not accept what a trace hands it: then it runs eagerly)
            failed = error
    if failed is not None:
        loss = _loss(fn(*args))  # fn's own error, if it has one, is the user's to see
        return _not_compiled(key, f"fn could not be traced ({type(failed).__name__}: {failed})", start), loss
    graphs = [names[i] for i, a in enumerate(args) if isinstance(a, Value) and a.operation is not None]
    if graphs:  # its graph would be traced as part of fn's, and replayed from this call's leaves
        return _not_compiled(
            key,
            f"argument {', '.join(graphs)} comes with a graph of its own (made by ops "
            "before the call); compile the function that makes it too",
            start,
        ), loss
    if record.notes:  # numbers that leave the graph, or an argument read in a way a trace cannot follow
        more = f" (and {len(record.notes) - 1} more)" if len(record.notes) > 1 else ""
        return _not_compiled(key, f"fn reads {record.notes[0]}{more}: numbers that a trace would freeze", start), loss
    order = toposort(loss)
    structure = _structure(order)
    if any(isinstance(a, collections.abc.Iterator) for a in args):  # used up by the call just made
        return _not_compiled(key, "an argument is an iterator, which one call of fn uses up", start), loss
    with note_reads(values=values) as record2:
        again = _loss(fn(*_followed(args, names)))  # the same call again: leaves made anew are not the model's
    order2 = toposort(again)
    if _structure(order2) != structure:
        raise RuntimeError(
            "compile: fn built a different graph when called twice with the same arguments "
            "(random choices, or state that changes?); it cannot be compiled"
        )
    if not all(_same_numbers(n, n2) for n, n2 in zip(order, order2)):  # random numbers drawn inside fn
        return _not_compiled(
            key,
            "fn made other numbers when called twice with the same arguments (random numbers, "
            "a dropout mask?), which a trace would freeze",
            start,
        ), loss
    persistent_ids = {id(n) for n in order if n.operation is None} & {id(n) for n in order2 if n.operation is None}
    persistent_ids -= {id(a) for a in values}
    guards = {i: _copy(a) for i, a in enumerate(args) if not isinstance(a, (Value, np.ndarray))}
    name = getattr(fn, "__name__", type(fn).__name__)
    kept = {id(s) for _, s, _ in record.origins.values() if isinstance(s, Value)} & {
        id(s) for _, s, _ in record2.origins.values() if isinstance(s, Value)
    }
    w = _Writer(fn, order, args, persistent_ids, record, kept)
    collecting = gc.isenabled()  # the writer makes many small objects and frees none until it is done:
    gc.disable()  # the cycle collector would scan them again and again for nothing
    try:
        source, forward_source, namespace = w.sources(f"the compiled step of {name}")
    finally:
        if collecting:
            gc.enable()
    links, lost = _bindings(fn, w.persistent, [args[i] for i in guards])
    if lost:
        return _not_compiled(key, f"compile cannot check {lost} (so whether it changes later)", start), loss
    trace = _Trace(
        key,
        source,
        _load(source, namespace, "step", name),
        w.persistent,
        w.wanted,
        guards,
        0.0,
        forward_source,
        namespace,
        wanted_args=[w.arg_index.get(id(v)) for v in w.wanted],
        current=_current(links, w.persistent),
    )
    del w, again, order, order2  # freeing the writer's symbols and the second graph is part of the trace's cost
    trace.seconds = time.perf_counter() - start
    return trace, loss


def _same_numbers(n: Value, n2: Value) -> bool:
    """The same leaf numbers and op settings in two traced calls of fn (nan equal to nan)."""
    if n.operation is None:
        return _same_nan(n.numbers, n2.numbers)
    settings, settings2 = n.settings, n2.settings
    return settings.keys() == settings2.keys() and all(_same_nan(v, settings2[k]) for k, v in settings.items())


def _same_nan(a, b) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same_nan(x, y) for x, y in zip(a, b))
    if isinstance(a, (np.ndarray, float)) or isinstance(b, (np.ndarray, float)):
        return np.shape(a) == np.shape(b) and np.array_equal(a, b, equal_nan=np.asarray(a).dtype.kind == "f")
    return type(a) is type(b) and a == b  # a setting: an axis, a name, a slice


def _not_compiled(key: tuple, why: str, start: float, stacklevel: int = 4) -> _Trace:
    """A trace that runs fn eagerly on every call, and says why once (the warning points at the step's call)."""
    trace = _Trace(key, f"# not compiled: {why}; each call runs eagerly", seconds=time.perf_counter() - start)
    warnings.warn(f"compile: {trace.source[2:]}", CompileWarning, stacklevel=stacklevel)
    return trace


def _roots(fn: Callable) -> list[tuple]:
    """The objects fn refers to by name, as links (kind, key, holder, object, text): ``holder[key]`` ("item")
    or ``holder.key`` ("attr") is the object, and text says it for a person. The globals fn's code loads (also
    in nested code: a comprehension, a generator), its closed-over variables and default arguments, the self
    of a bound method, the arguments of a partial."""
    if isinstance(fn, functools.partial):
        found = [("item", k, fn.args, a, f"the partial's argument {k}") for k, a in enumerate(fn.args)]
        return found + [("item", k, fn.keywords, a, k) for k, a in fn.keywords.items()] + _roots(fn.func)
    if inspect.ismethod(fn):
        return [("attr", "__self__", fn, fn.__self__, "self")] + _roots(fn.__func__)
    if not isinstance(fn, types.FunctionType):
        return []
    g = fn.__globals__
    found = [("item", n, g, g[n], n) for n in sorted(_globals_loaded(fn.__code__)) if n in g]
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        with contextlib.suppress(ValueError):  # (a cell not filled yet)
            found.append(("attr", "cell_contents", cell, cell.cell_contents, name))
    found += [
        ("item", k, fn.__defaults__, v, f"{fn.__name__}'s default {k}") for k, v in enumerate(fn.__defaults__ or ())
    ]
    return found + [("item", k, fn.__kwdefaults__, v, k) for k, v in (fn.__kwdefaults__ or {}).items()]


def _globals_loaded(code: types.CodeType) -> set[str]:
    """The global names a function's code (and the code nested in it) loads (not its attribute names)."""
    names = {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _globals_loaded(const)
    return names


def _bindings(fn: Callable, persistent: list[Value], guarded: list) -> tuple[list[tuple], str | None]:
    """What the compiled step checks on every call: the state fn reads is as it was when traced. From the names
    fn reads (and the functions and methods it calls read), fn itself and the arguments compared by value, a
    breadth-first search follows attributes (of objects and of the user's classes: methods, properties,
    ``__call__``), items of sequences and entries of mappings; every link it follows must hold the same object
    on every call (a rebound global, ``cfg.scale = 5.0``, ``model.layers[0].w = Value(...)``, ``ys[0] = -1``)
    and every container and object dict it passes keeps its length (an attribute set on an object, a layer
    appended). Returns the links, and why it cannot check (a leaf fn reads that the search did not reach, or
    more state than it searches), else None."""
    links = _roots(fn)
    frontier = [(link[3], link[4]) for link in links] + [(a, "an argument") for a in guarded] + [(fn, "fn")]
    seen = {id(obj) for obj, _ in frontier}
    for _ in range(_SEARCH_DEPTH):
        following = []
        for holder, text in frontier:
            for link in _children(holder, text):
                links.append(link)
                if link[0] != "len" and id(link[3]) not in seen:
                    if len(seen) >= _SEARCH_LIMIT:
                        return links, f"more state than it searches ({_SEARCH_LIMIT} objects)"
                    seen.add(id(link[3]))
                    following.append((link[3], link[4]))
        frontier = following
    lost = next((p for p in persistent if id(p) not in seen), None)
    return links, None if lost is None else f"how fn reaches {lost.label or f'a leaf of shape {lost.shape}'}"


_SEARCH_DEPTH, _SEARCH_LIMIT = 8, 20_000  # how far from fn's names the state it reads is looked for
_LIBRARIES = ("builtins", "numpy", "tinygrad_edu")  # classes whose attributes are not the user's state


def _children(obj, text: str) -> list[tuple]:
    """The links from obj to what it holds: items of sequences, entries of mappings, attributes (in
    ``__dict__`` or ``__slots__``, and those of the user's classes: values, functions, properties), and the
    lengths of containers and of object dicts; for a function, the names it reads."""
    if isinstance(obj, type):  # a class of the user's used as a namespace (HP.l2, Util.scale): its attributes
        return [] if obj.__module__.split(".")[0] in _LIBRARIES else _class_attributes(obj)
    if isinstance(obj, (Value, np.ndarray, numbers.Number, str, bytes, types.ModuleType)) or obj is None:
        return []
    if hasattr(obj, "param_groups") and callable(getattr(obj, "step", None)):
        return []  # an optimizer: its state changes on every step, and fn computes nothing from it
    if isinstance(obj, (types.FunctionType, types.MethodType, functools.partial)):
        return _roots(obj)
    if isinstance(obj, (property, staticmethod, classmethod)):
        return [
            ("attr", k, obj, f, f"{text}.{k}")
            for k in ("fget", "fset", "__func__")
            if isinstance(f := getattr(obj, k, None), types.FunctionType)
        ]
    if isinstance(obj, (collections.abc.Sequence, collections.abc.Mapping)):
        pairs = obj.items() if isinstance(obj, collections.abc.Mapping) else enumerate(obj)
        return [("len", len(obj), obj, None, f"len({text})")] + [
            ("item", k, obj, x, f"{text}[{k!r}]") for k, x in pairs
        ]
    attributes = getattr(obj, "__dict__", None)
    found = []
    if isinstance(attributes, dict):
        found.append(("len", len(attributes), attributes, None, f"the attributes of {text}"))
        found += [("attr", k, obj, x, f"{text}.{k}") for k, x in attributes.items() if _attribute(k)]
    for cls in type(obj).__mro__:
        for k in getattr(cls, "__slots__", ()):
            if _attribute(k) and hasattr(obj, k):
                found.append(("attr", k, obj, getattr(obj, k), f"{text}.{k}"))
        if cls.__module__.split(".")[0] not in _LIBRARIES:  # the user's class: its attributes and methods
            found += _class_attributes(cls)
    return found


def _class_attributes(cls: type) -> list[tuple]:
    """The links to a user's class's own attributes: values, functions, properties (``__call__`` too)."""
    own = vars(cls)  # (read there: cls.k gives a staticmethod's function, a new bound method for a classmethod)
    return [
        ("item", k, own, x, f"{cls.__name__}.{k}")
        for k, x in own.items()
        if _attribute(k) or isinstance(x, (types.FunctionType, property, staticmethod, classmethod))
    ]


def _attribute(name) -> bool:
    return isinstance(name, str) and name.isidentifier() and not name.startswith("__")


def _current(links: list[tuple], persistent: list[Value]) -> Callable[[], bool]:
    """A function, written out as one expression, that says whether every link still holds and every leaf read
    still has the requires_grad it had (a frozen layer unfrozen traces again)."""
    names, terms = {}, []
    for k, (kind, key, holder, obj, _) in enumerate(links):
        names[f"H{k}"], names[f"O{k}"], names[f"K{k}"] = holder, obj, key
        terms.append(
            f"H{k}.{key} is O{k}"
            if kind == "attr"
            else f"len(H{k}) == {key}"
            if kind == "len"
            else f"H{k}[K{k}] is O{k}"
        )
    for k, p in enumerate(persistent):
        names[f"P{k}"] = p
        terms.append(f"P{k}.requires_grad is {p.requires_grad}")
    source = (
        "def current():\n    try:\n        return ("
        + " and\n                ".join(terms or ["True"])
        + ")\n    except (AttributeError, LookupError, TypeError):\n        return False\n"
    )
    exec(builtins.compile(source, "<tinygrad_edu.compile: what the step checks>", "exec"), names)  # noqa: S102
    current = names["current"]
    current.links = links  # to say what changed
    return current


def _changed(current: Callable) -> str | None:
    """The first link of a trace's state check that no longer holds, as text (for a warning)."""
    for kind, key, holder, obj, text in getattr(current, "links", ()):
        try:
            now = len(holder) if kind == "len" else getattr(holder, key) if kind == "attr" else holder[key]
        except (AttributeError, LookupError, TypeError):
            return text
        if (now != key) if kind == "len" else (now is not obj):
            return text
    return None


def _load(source: str, namespace: dict, function: str, name: str) -> Callable:
    """Compile the generated text and return the function it defines; tracebacks show its lines."""
    filename = f"<tinygrad_edu.compile {name} #{next(_COUNTER)}>"
    exec(builtins.compile(source, filename, "exec"), namespace)  # noqa: S102 (our own generated text, shown in .source)
    fn = namespace[function]
    # tracebacks show the lines (a tuple of strings: nothing for the garbage collector to walk), until fn is gone
    linecache.cache[filename] = (len(source), None, tuple(source.splitlines(True)), filename)
    weakref.finalize(fn, linecache.cache.pop, filename, None)
    return fn


_COUNTER = itertools.count(1)


def _copy(a):
    """What a guard keeps of an argument compared by value: a copy of containers and arrays (the caller may
    change them in place), with the objects in them (Values, models) kept as they are, compared by identity."""
    if isinstance(a, np.ndarray):
        return np.array(a)
    if isinstance(a, (list, tuple)):
        return type(a)(_copy(x) for x in a) if type(a) in (list, tuple) else a
    if isinstance(a, dict):
        return {k: _copy(v) for k, v in a.items()}
    return a


def _loss(out) -> Value:
    if not isinstance(out, Value) or np.size(out.numbers) != 1:
        what = f"a Value of shape {out.shape}" if isinstance(out, Value) else type(out).__name__
        raise TypeError(f"compile: fn must return a one-element Value (the loss), got {what}")
    return out


# ---------------------------------------------------------------- writing the graph as code


class _Writer:
    """Writes one graph as code, in five parts: the leaves read, the forward lines, the checks eager makes,
    the backward lines, and the lines that add into ``.grad``. It keeps the names given so far, one per node."""

    def __init__(
        self,
        fn: Callable,
        order: list[Value],
        args: tuple,
        persistent_ids: set[int],
        record: note_reads,
        kept: set[int],
    ):
        self.order, self.args, self.persistent_ids = order, args, persistent_ids  # the loss first
        self.record = record  # where the numbers fn was given went
        self.kept = kept  # Values made before the call that fn took numbers of (the same in both traced calls)
        self.loss = order[0]
        self.arg_index = {id(a): i for i, a in enumerate(args) if isinstance(a, Value)}
        self.param_names = _parameter_names(fn)
        self.arg_names = _argument_names(fn, len(args))
        self.used = {n.operation.__name__ for n in order if n.operation is not None}  # names the code's lines call
        self.names: dict[int, str] = {}  # node -> its name in the code (or a literal number)
        self.consts: dict[str, object] = {}  # name -> a constant array the code reads
        self.persistent: list[Value] = []  # P: the leaves read on every call
        self.wanted: list[Value] = []  # the leaves whose .grad is written
        self.gnames: dict[int, str] = {}  # node -> the name of its gradient
        self.read_as: dict[str, str] = {}  # the code that reads an argument -> the name it was given
        self.node_names = node_names(self.loss)  # n1, n2, ...: the names the trace table and pictures use
        self.codes: dict[int, Code] = {}  # node -> the symbol of its value
        self.settings: dict[int, dict] = {}  # node -> its op's settings, as the op is given them on symbols
        self.body: list = []  # lines: text, or (variable, symbol, comment, reusable) written out by lines()
        self.edges: list[tuple] = []  # the contributions of the op whose backward ran last
        self.incoming: dict[int, Code] = {}  # node -> dL/d(node), as its op's backward was given it
        self.factors: dict[int, tuple] = {}  # node -> d(node)/d(input) per input (the backward with g = 1)
        self.raw: dict[int, list] = {}  # node -> the shapes of its contributions before broadcast sums
        self.grads: dict[Value, Code] = {}  # what backprop gave each node reached
        self.fresh: dict[str, bool] = {}  # variable -> whether it holds an array of its own (else copied for .grad)
        self.temps: dict = {}  # an expression's key -> the variable that holds it
        self.written: dict[str, np.ndarray] = {}  # a variable made as zeros -> the elements lines have set since
        self.const_names: dict[int, str] = {}
        self.keys: dict = {}
        self.hoist: set = set()
        self.top: Code | None = None  # the expression being written (not to be named after itself)
        self.out: list[str] = []
        self.split = 0  # where the backward lines start

    def sources(self, title: str) -> tuple[str, str, dict]:
        """The sources of ``step(P, A)`` and ``forward(P, A)`` and the namespace to run them in."""
        reads = self.leaves()
        self.forward()
        self.body += self.checks()
        self.body.append(None)  # where the backward starts
        self.backward()
        lines = self.lines(self.body)
        lines, back = lines[: self.split], lines[self.split :]
        writes = self.writes()
        result = self.names[id(self.loss)]
        doc = f'    """{title}: forward, then backward (the chain rule, output first), then .grad += the gradients."""'
        source = "\n".join(
            [
                "def step(P, A):",
                doc,
                "    # read the leaves (their current numbers)",
                *reads,
                "    # forward",
                *lines,
                "    # backward: g_x = dL/dx",
                *back,
                "    # add into .grad, as backward() does",
                *writes,
                f"    return {result}",
                "",
            ]
        )
        forward_source = "\n".join(
            [
                "def forward(P, A):",
                f'    """{title}: the forward pass alone."""',
                *reads,
                *lines,
                f"    return {result}",
                "",
            ]
        )
        namespace = {"np": np, "math": math, **{c.__name__: c for c in ops.REGISTRY.values()}}
        for op in {node.operation for node in self.order if node.operation is not None}:  # a user's op is called by
            if namespace.setdefault(op.__name__, op) is not op:  # its class name too (a torch.autograd.Function's)
                raise RuntimeError(f"compile: two ops of this graph are classes named {op.__name__}; rename one")
        namespace.update(self.consts)
        return source, forward_source, namespace

    def followed(self, obj) -> str | None:
        """The code that reads ``obj`` from the arguments, when the trace saw it made of one (``numbers_of``);
        None for numbers fn made of nothing it was given (those are constants)."""
        steps = []
        while True:
            if obj.__class__ is Argument:
                code = obj.code
                break
            if isinstance(obj, Value):
                if id(obj) in self.arg_index:
                    code = f"A[{self.arg_index[id(obj)]}].numbers"
                    break
                if id(obj) in self.kept:  # a Value made before the call (a batch buffer): its numbers now
                    if all(p is not obj for p in self.persistent):
                        self.persistent.append(obj)
                    code = f"P[{next(k for k, p in enumerate(self.persistent) if p is obj)}].numbers"
                    break
                obj = obj.numbers
                continue
            entry = self.record.origins.get(id(obj))
            if entry is None or entry[0] is not obj:
                return None
            _, obj, how = entry
            steps.append((how, obj))
        for how, source in reversed(steps):
            if how[0] == "float":
                code = f"float({code})"
            elif how[0] == "item":
                code = f"float({code}[{how[1]!r}])"
            else:
                _, dtype, shape = how
                if dtype is not None and np.dtype(dtype) != _dtype(source):
                    code = f"np.asarray({code}, dtype=np.{np.dtype(dtype).name})"
                if shape is not None and tuple(shape) != np.shape(source):
                    code = f"{code}.reshape({tuple(shape)})"
        return code

    def checks(self) -> list[str]:
        """The checks eager made on the given it was given (a loss's targets, labels), made again."""
        lines = []
        for test, given in self.record.checks:
            if isinstance(given, Value) or isinstance(given, list):
                nodes = given if isinstance(given, list) else [given]
                if not all(id(v) in self.names for v in nodes):
                    continue
                code = (
                    self.names[id(given)]
                    if isinstance(given, Value)
                    else (f"np.array([{', '.join(self.names[id(v)] for v in nodes)}])")
                )
            else:
                code = self.followed(given)
                if code is None:  # given fixed at trace time, checked then
                    continue
                code = self.read_as.get(code, code)
            what = getattr(test, "__name__", None) or test.func.__name__
            doc = (inspect.getdoc(getattr(test, "func", test)) or "").split("\n")[0]
            name = self.const(test, f"check_{what.lstrip('_')}", prefix="")
            lines.append(f"    {name}({code})  # as eager does: {doc}")
        return lines

    def const(self, value, hint: str, prefix: str = "c_") -> str:
        name = _identifier(f"{prefix}{hint}", self.used)
        self.consts[name] = value
        return name

    def setting(self, v, key: str, node_name: str, op_name: str):
        """An op's setting as the op is given it on symbols: numbers read from an argument (labels, an index)
        as the variable that reads them, an array fixed at trace time as a named constant, else as it is."""
        if isinstance(v, tuple):  # an index: (rows, labels), slices
            return tuple(self.setting(x, key, node_name, op_name) for x in v)
        text = self.followed(v) if isinstance(v, (np.ndarray, float)) else None
        if text is not None:
            if text not in self.read_as:
                name = self.read_as[text] = _identifier(f"{node_name}_{key}", self.used)
                self.body.append(f"    {name} = {text}  # {op_name}: its {key}, read from the argument")
            return leaf(self.read_as[text], np.shape(v), number_kind(np.asarray(v).dtype), value=v)
        if isinstance(v, np.ndarray):
            return leaf(self.const(v, key), v.shape, number_kind(v.dtype), value=v)
        return v if _literal(v) is not None else leaf(self.const(v, key), (), value=v)

    def leaves(self) -> list[str]:
        """What is read on every call (arguments, the model's leaves), and what was fixed when tracing."""
        reads = []
        for node in reversed(self.order):
            if node.operation is not None:
                continue
            data = node.numbers
            if id(node) in self.arg_index:
                i = self.arg_index[id(node)]
                name = _identifier(self.arg_names[i], self.used)
                reads.append(f"    {name} = A[{i}].numbers  # argument {i}")
            elif id(node) in self.persistent_ids:
                label = node.label or self.param_names.get(id(node)) or self.node_names[node]  # as every view
                name = _identifier(label, self.used)
                what = "needs a gradient" if node.requires_grad else "a constant made outside fn"
                reads.append(f"    {name} = P[{len(self.persistent)}].numbers  # {label}: {what}")
                self.persistent.append(node)
            elif (code := self.followed(data)) is not None:
                name = _identifier(node.label or _argument_in(code, self.arg_names), self.used)
                reads.append(f"    {name} = {code}  # an argument, as fn made it a Value")
                self.read_as.setdefault(code, name)
            elif data.__class__ is float:
                self.names[id(node)] = number_text(data)
                self.codes[id(node)] = literal(data)
                continue
            else:
                name = self.const(data, self.node_names[node])
                reads.append(f"    # {name}: a constant array of shape {node.shape}, fixed at trace time")
            self.names[id(node)] = name
            self.codes[id(node)] = leaf(name, node.shape)
        return reads

    def forward(self) -> None:
        """One line per op, inputs before the ops that use them: the op's own forward, run on symbols."""
        for node in reversed(self.order):
            op = node.operation
            if op is None:
                continue
            name = self.names[id(node)] = _identifier(node.label or self.node_names[node], self.used)
            settings = {k: self.setting(v, k, name, op.name) for k, v in node.settings.items()}
            self.settings[id(node)] = settings
            inputs = [self.codes[id(p)] for p in node.parents]
            try:
                out = op.forward(*inputs, **settings)
                if not isinstance(out, Code) or out.shape != node.shape:
                    raise NotSymbolic(f"{op.name}'s forward gave {out!r}")
                out = full(out)
            except TypeError:  # its math needs the numbers (NotSymbolic): the op as ops.py writes it
                out = call(op, "forward", inputs, settings, node.shape)
            if out.name is not None:  # an op that gave its input back (a reshape to the same shape)
                out = alias(out)
            self.body.append((name, out, f"# {op.name}", True))
            out.name = name
            self.codes[id(node)] = out

    def backward(self) -> None:
        """One line per gradient contribution, from the output back, only along paths to a wanted leaf. The
        walk is ``engine.backprop``'s; it runs each op's backward on symbols (``run``) and reports every
        contribution passed on (``edge``), which becomes a line."""
        self.wanted = [
            node
            for node in reversed(self.order)
            if node.operation is None
            and node.requires_grad
            and (id(node) in self.persistent_ids or id(node) in self.arg_index)
        ]
        loss, name = self.loss, self.names[id(self.loss)]
        seed = leaf(self.gnames.setdefault(id(loss), _identifier(f"g_{name}", self.used)), loss.shape, value=1.0)
        seed.real = ()  # a number, which numpy spreads
        self.body.append(f"    {seed.name} = 1.0  # dL/d{name}")
        self.grads = backprop(loss, seed, self.edge, wanted=self.wanted, data=self.code_of, backward=self.run)
        self.flush()

    def code_of(self, node: Value) -> Code:
        return self.codes[id(node)]

    def run(self, node: Value, args: tuple):
        """node's op's backward on the symbols backprop gives, or (when its math needs the numbers) the call of
        it. Its chain-rule factors, the backward run with g = 1, are kept for the comments."""
        op, settings = node.operation, self.settings[id(node)]
        g, out, *inputs = args
        self.incoming[id(node)] = g
        factors = (None,) * len(inputs)
        try:
            grads = _as_tuple(op.backward(*args, **settings), len(inputs))
            grads = tuple(None if c is None else as_code(c) for c in grads)
            with contextlib.suppress(TypeError):
                scalar = node.numbers.__class__ is float
                one = literal(1.0) if scalar else CodeMath.broadcast_to(literal(1.0), node.shape)
                factors = _as_tuple(op.backward(one, out, *inputs, **settings), len(inputs))
        except TypeError:  # the op as ops.py writes it, called on the numbers at run time
            datas = [p.numbers for p in node.parents]
            raw = _as_tuple(
                quietly(op.backward, _zeros(node.numbers), node.numbers, *datas, **node.settings), len(inputs)
            )  # (its shapes)
            whole = call(op, "backward", args, settings, None if len(inputs) > 1 else np.shape(raw[0]))
            grads = (
                (whole,)
                if len(inputs) == 1
                else tuple(None if r is None else item(whole, i, np.shape(r)) for i, r in enumerate(raw))
            )
        if any(isinstance(f, Code) for f in factors) and node.numbers.__class__ is not float and not _diagonal(node):
            factors = (None,) * len(inputs)  # g = 1 gives no derivative there (softmax)
        self.factors[id(node)] = tuple(f if isinstance(f, Code) else None for f in factors)
        grads = tuple(None if c is None else alias(c) for c in grads)
        self.raw[id(node)] = [None if c is None else c.shape for c in grads]
        return grads[0] if len(inputs) == 1 else grads

    def edge(self, node: Value, i: int, contribution: Code, total: Code) -> None:
        """backprop passed a contribution on: kept until all of node's are known (x * x gives x two)."""
        if self.edges and self.edges[-1][0] is not node:
            self.flush()
        self.edges.append((node, i, contribution, total))

    def flush(self) -> None:
        """The lines of one op's contributions: ``g_x = <contribution>``, or ``g_x = g_x + <contribution>``
        for a node used again; the two equal contributions of ``x * x`` are one line, ``2 g x``."""
        edges, self.edges = self.edges, []
        for k, (node, i, c, total) in enumerate(edges):
            if c is None:
                continue
            p = node.parents[i]
            pname, first = self.names[id(p)], total is c
            gname = self.gnames.get(id(p)) or self.gnames.setdefault(id(p), _identifier(f"g_{pname}", self.used))
            why = self.why(node, i, c)
            twin = next((e for e in edges[k + 1 :] if e[0].parents[e[1]] is p), None)
            tree = total
            if twin is not None and twin[2].shape == c.shape and _expression_key(twin[2], {}) == _expression_key(c, {}):
                tree = c * 2.0 if first else total.parts[1] + c * 2.0
                why = _then(why, f", twice: {pname} is both inputs")
                edges[edges.index(twin)] = (*twin[:2], None, None)
                total = twin[3]
            if not first:
                why = _then(why, "  (a node used again: contributions add up)")
            self.body.append((gname, tree, why, False))
            total.name = gname

    def why(self, node: Value, i: int, c: Code) -> str:
        """The comment of a contribution: the op, and d(out)/d(input) derived from the op's backward run with
        g = 1 (or, where that is no factor, such as a product of matrices, the contribution with g named)."""
        op, out, p = node.operation, self.names[id(node)], self.names[id(node.parents[i])]
        factor = self.factors[id(node)][i]
        if factor is not None and not _has(factor, ("full", "op", "item", "const")):
            why = f"# {op.name}: d{out}/d{p} = {_as_math(render(factor))}"
        else:  # the contribution, with g named, once the variables it may use are known (lines)
            g = self.incoming[id(node)]

            def why(name_of: Callable) -> str:
                shown = render(c, lambda x: f"dL/d{out}" if x is g else None if x is c else name_of(x))
                return _shown(op, out, p, shown)

        if self.raw[id(node)][i] != c.shape:
            summed = why
            why = (
                summed + ", summed over the broadcast axes"
                if isinstance(summed, str)
                else (lambda name_of: summed(name_of) + ", summed over the broadcast axes")
            )
        return why

    def writes(self) -> list[str]:
        """``.accumulate_grad(g)`` for every wanted leaf the backward reached (a copy where g may be another's
        array, every element where numpy was to spread a number)."""
        slot = {id(p): k for k, p in enumerate(self.persistent)}  # (by identity: == on Values compares numbers)
        self.wanted = [w for w in self.wanted if w in self.grads]
        lines = []
        for w in self.wanted:
            g = self.grads[w]
            text = render(full(g), self.name_of)
            if w.numbers.__class__ is not float and g.real == g.shape and not self.fresh.get(g.name, False):
                text = f"{text}.copy()"
            target = f"A[{self.arg_index[id(w)]}]" if id(w) in self.arg_index else f"P[{slot[id(w)]}]"
            lines.append(f"    {target}.accumulate_grad({text})")
        return lines

    def lines(self, body: list) -> list[str]:
        """The body as text: an expression used more than once is computed once, into a variable t1, t2, ..."""
        counts: dict = {}
        keys: dict = {}
        for entry in body:
            if isinstance(entry, tuple):
                for part in parts_of(entry[1]):
                    _count(part, counts, keys)
        lines: list[str] = []
        self.hoist = {k for k, n in counts.items() if n > 1}
        self.keys, self.out = keys, lines
        for entry in body:
            if entry is None:
                self.split = len(lines)
                continue
            if isinstance(entry, str):
                lines.append(entry)
                continue
            target, tree, why, reusable = entry
            self.top = tree
            index = None if reusable else _sliced(tree)
            if self.adds_in_place(target, tree):  # g_x = g_x + c, into g_x's own array: no new array
                c, index = tree.parts[2], _sliced(tree.parts[2])
                assign, written = "+=", self.written.pop(target, None)
                if index is not None:  # c is zeros but for one slice (x[a:b]'s gradient): add that slice only
                    if written is not None and not written[index].any():  # still zeros there: 0 + c is c
                        assign, written[index], self.written[target] = "=", True, written
                    target, c = f"{target}[{_index_text(index)}]", _unaliased(c).parts[2][0]
                text = render(c, self.name_of)
            elif index is not None:  # zeros but for one slice, written out: g_x = np.zeros(...); g_x[a:b] = c
                lines.append(f"    {target} = np.zeros({tree.shape!r})")
                self.written[target] = np.zeros(tree.shape, dtype=bool)
                self.written[target][index] = True
                target, assign = f"{target}[{_index_text(index)}]", "="
                text = render(_unaliased(tree).parts[2][0], self.name_of)
            else:
                self.written.pop(target, None)
                assign, text = "=", render(tree, self.name_of)
            self.top = None
            lines.append(f"    {target} {assign} {text}  {why if isinstance(why, str) else why(self.name_of)}")
            target = entry[0]
            self.fresh[target] = assign == "+=" or index is not None or _fresh(tree) and not text.isidentifier()
            if reusable:
                self.temps[_expression_key(tree, keys, top=True)] = target
        return lines

    def adds_in_place(self, target: str, tree: Code) -> bool:
        """Can ``target = target + c`` be written ``target += c``? Only when target holds an array that this code
        made and nothing else holds (a sum, a product: not another gradient passed on, a view, the user's array),
        which the sum does not widen (same shape, float): then no line can see the change but this one."""
        if tree.kind != "binary" or tree.parts[0] != "+" or tree.parts[1].name != target:
            return False
        total = tree.parts[1]
        return self.fresh.get(target, False) and total.real == tree.real != () and total.kind_of_number == "f"

    def name_of(self, x: Code) -> str | None:
        """The variable that holds x in the code written so far, if any (writing it first if x is used twice)."""
        if x is self.top:
            return None
        if x.name is not None:
            return x.name
        if x.kind == "const":
            return self.const_names.get(id(x.value)) or self.const_names.setdefault(
                id(x.value), self.const(x.value, "array")
            )
        key = _expression_key(x, self.keys)
        if key in self.temps:
            return self.temps[key]
        if key in self.hoist and x.kind in _HOISTED:
            top, self.top = self.top, x
            text = render(x, self.name_of)
            self.top = top
            name = self.temps[key] = _identifier(f"t{len(self.temps) + 1}", self.used)
            self.out.append(f"    {name} = {text}")
            return name
        return None


def _index_text(index) -> str:
    """A basic index as Python writes it: ``..., 4:8``."""

    def part(i) -> str:
        if isinstance(i, slice):
            text = ":".join("" if v is None else str(v) for v in (i.start, i.stop))
            return text if i.step is None else f"{text}:{i.step}"
        return "..." if i is Ellipsis else repr(i)

    return ", ".join(map(part, index if isinstance(index, tuple) else (index,)))


def _unaliased(c: Code) -> Code:
    while c.kind == "alias":
        c = c.parts[0]
    return c


def _sliced(c: Code):
    """The index of ``c`` when c is Index's backward at slices (``Scatter.forward(g, shape, index)``: zeros
    but for g at index, each element once), else None."""
    c = _unaliased(c)
    if c.kind != "op" or c.parts[0] is not ops.Scatter or c.parts[1] != "forward":
        return None
    index = dict(c.parts[3])["index"]
    return index if ops.picks_once(index) else None


def _dtype(x) -> np.dtype:
    """The dtype numbers have at trace time (a Python float is float64)."""
    if isinstance(x, Value):
        x = x.numbers
    return x.dtype if hasattr(x, "dtype") else np.dtype(np.float64)


def _argument_in(code: str, names: list[str]) -> str:
    """The name of the argument that ``code`` reads (``A[1]`` -> its parameter's name), for naming a leaf
    ("given" for numbers read from a Value made before the call)."""
    found = re.search(r"A\[(\d+)\]", code)
    return names[int(found.group(1))] if found else "given"


# ---------------------------------------------------------------- names and numbers as code


def _diagonal(node: Value) -> bool:
    """Whether each element of node's output depends only on the same element of each input (tanh, x * y), so
    that its op's backward run with g = 1 is the local derivative d(out)/d(input). Tried on the numbers: the
    backward of a random g must be g times the backward of ones (softmax's or a matrix product's is not)."""
    op, datas, settings = node.operation, [p.numbers for p in node.parents], node.settings
    g = np.random.default_rng(0).uniform(0.5, 1.5, size=node.shape)
    try:
        with np.errstate(all="ignore"):
            some = _as_tuple(op.backward(g, node.numbers, *datas, **settings), len(datas))
            ones = _as_tuple(op.backward(np.ones(node.shape), node.numbers, *datas, **settings), len(datas))
            return all(
                a is None or np.shape(a) == np.shape(g * b) and np.allclose(a, g * b, equal_nan=True)
                for a, b in zip(some, ones)
            )
    except (ValueError, TypeError):  # shapes that do not spread (a reduction's): no such factor
        return False


def _identifier(text: str, used: set[str]) -> str:
    """A Python name from a label or a parameter path ('layers.0.w' -> 'layers_0_w'), not used before."""
    name = re.sub(r"\W", "_", text).strip("_") or "v"
    if name[0].isdigit() or keyword.iskeyword(name) or name in _RESERVED:
        name = f"v_{name}"
    candidate = name
    for k in itertools.count(2):
        if candidate not in used:
            break
        candidate = f"{name}_{k}"
    used.add(candidate)
    return candidate


_RESERVED = {"np", "math", "P", "A", "C", "g", "p", "float", "loss"} | {c.__name__ for c in ops.REGISTRY.values()}


def _parameter_names(fn: Callable) -> dict[int, str]:
    """Dotted names of the parameters of every model ``fn`` refers to ('layers.0.w'), by id of the Value."""
    names = {}
    for _, _, _, obj, _ in _roots(fn):
        named = getattr(obj, "named_parameters", None)
        if callable(named) and not isinstance(obj, type) and not isinstance(obj, Value):
            for name, p in named():
                names.setdefault(id(p), name)
    return names


def _argument_names(fn: Callable, count: int) -> list[str]:
    try:
        params = [
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"arg{i}" for i in range(count)]


def _literal(x) -> str | None:
    """x as Python text, when it is a plain number, bool, None, string or a tuple of those."""
    if isinstance(x, float) and not isinstance(x, np.generic):
        return number_text(x)
    if x is None or x is Ellipsis or isinstance(x, (bool, int, str, slice)) and not isinstance(x, np.generic):
        return repr(x)
    if isinstance(x, tuple) and all(_literal(v) is not None for v in x):
        return repr(x)
    return None


# ---------------------------------------------------------------- helpers of the writer


def _as_tuple(grads, count: int) -> tuple:
    """An op's backward gives one gradient for one input, a pair for two."""
    return (grads,) if count == 1 else tuple(grads)


def _zeros(x):
    return 0.0 if x.__class__ is float else np.zeros(x.shape)


def _has(x: Code, kinds: tuple) -> bool:
    """Does the expression x contain a part of one of these kinds?"""
    return x.kind in kinds or (x.name is None or x.kind == "alias") and any(_has(p, kinds) for p in parts_of(x))


def _shown(op: type[ops.Op], out: str, p: str, contribution: str) -> str:
    """The comment of a contribution that is no factor times g: the contribution itself, when short."""
    if len(contribution) > 60 or f"dL/d{out}" not in contribution:
        return f"# {op.name}: dL/d{p} from dL/d{out}, by {op.__name__}.backward"
    return f"# {op.name}: dL/d{p} = {contribution}"


def _then(why, more: str):
    """A comment (or what writes it) with more said at its end."""
    return why + more if isinstance(why, str) else lambda name_of: why(name_of) + more


def _as_math(text: str) -> str:
    """Code as a formula for a comment: 1.0 as 1, h * h as h^2."""
    text = re.sub(r"(?<![\w.])(\d+)\.0\b", r"\1", text)
    return re.sub(r"\b(\w+) \* \1\b(?!\.)", r"\1^2", text)


_HOISTED = {"binary", "neg", "call", "if", "float", "index", "op", "full"}  # worth a variable when used twice


def _count(x: Code, counts: dict, keys: dict) -> None:
    """How often each expression is used (an expression is looked into once)."""
    if x.name is not None or x.kind in ("literal", "leaf", "const"):
        return
    if x.kind != "alias":
        key = _expression_key(x, keys)
        counts[key] = counts.get(key, 0) + 1
        if counts[key] > 1:
            return
    for p in parts_of(x):
        _count(p, counts, keys)


def _expression_key(x: Code, memo: dict, top: bool = False):
    """What x computes, as a value to compare: equal keys, equal numbers (a named value by identity: a
    gradient's variable is assigned again as contributions add up)."""
    if x.name is not None and not top:
        return ("name", id(x))
    if x.kind == "alias":
        return _expression_key(x.parts[0], memo)
    hit = memo.get(id(x))
    if hit is not None and not top:
        return hit[1]
    if x.kind == "literal":
        key = ("literal", x.kind_of_number, repr(x.value))
    elif x.kind == "const":
        key = ("const", id(x.value))
    else:
        key = (x.kind, x.shape, _part_key(x.parts, memo))
    memo[id(x)] = (x, key)  # (x kept: its id is not given to another while the memo lives)
    return key


def _part_key(v, memo: dict):
    if isinstance(v, Code):
        return _expression_key(v, memo)
    if isinstance(v, tuple):
        return tuple(_part_key(x, memo) for x in v)
    if isinstance(v, np.ndarray):
        return ("array", id(v))
    if isinstance(v, type):
        return v.__name__
    if isinstance(v, slice):
        return ("slice", v.start, v.stop, v.step)
    return (type(v).__name__, repr(v))


def _fresh(x: Code) -> bool:
    """Does the expression make an array of its own (not a view of another, not another's array)?"""
    while x.kind == "alias":
        x = x.parts[0]
        if x.name is not None:
            return False
    if x.kind == "call":
        return x.parts[0] not in ("np.reshape", "np.transpose")
    if x.kind == "op":  # an op as ops.py writes it: Scatter's forward makes zeros of its own; others may give views
        return x.parts[0] is ops.Scatter
    return x.kind in ("binary", "neg", "if", "float", "full")
