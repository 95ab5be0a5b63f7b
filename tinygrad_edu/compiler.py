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
* numpy arrays passed as arguments: while tracing, ``fn`` gets each as an ``engine.Argument``,
  which the library takes numbers from through ``engine.numbers_of`` (a Value made of it, a
  loss's targets, cross-entropy's labels, an index), and those are read from the argument on
  every call; what ``fn`` computes of them with Values and ops is part of the graph, and so is the
  numpy the step can redo (``y[:, None]``, ``X.T``, ``X / 255.0``, ``1 - T``: ``Argument``). Any other
  read of an argument's numbers (numpy on it, ``float()``, an ``if``, ``.data`` or a comparison of a
  node) cannot be followed: the step then runs eagerly, with a ``CompileWarning`` naming it;
* the checks eager makes on the numbers it is given (``engine.check``: targets finite and in
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
then the writer (``_Writer``: leaves, forward, backward, the ``.grad`` updates), then the code
of each op (``_TEMPLATES``), then the helpers that turn names and numbers into code.
"""

from __future__ import annotations

import builtins
import collections.abc
import contextlib
import dis
import functools
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
from tinygrad_edu.engine import (
    Argument,
    Value,
    any_mode_open,
    as_value,
    broadcast_axes,
    is_anomaly_enabled,
    is_grad_enabled,
    leading_to,
    note_reads,
    quietly,
    toposort,
)


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
        if check_every is not None and (isinstance(check_every, bool) or not isinstance(check_every, int)
                                        or check_every < 1):  # fmt: skip
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
                why = (f"argument {changing} (Python numbers, compared on every call) changed {len(kept)} times; "
                       "pass an array instead, which a trace follows" if changing else f"the state fn reads "
                       f"changed on {self.made[key]} calls in a row ({stale or 'a global, an attribute, a list'})")
                trace = _not_compiled(key, why, time.perf_counter(), stacklevel=3)
                kept.clear()
                kept.append(trace)  # it takes every call of these shapes from now on
                return self._eager(args)
            trace, loss = _trace(self.fn, args, key)
            self.made[key] = self.made.get(key, 0) + 1  # traces in a row: a call that reuses one starts again
            kept.append(trace)
            self.latest = trace
            loss.backward()  # the first call is the eager one: its loss, its gradients
            return Value(loss.data, requires_grad=False)
        self.latest = trace
        self.made[key] = 0
        if trace.step is None:  # judged not compilable when traced
            return self._eager(args)
        if modes and not is_grad_enabled():
            return Value(quietly(trace.run_forward, args), requires_grad=False)
        if self.check_every and self.calls % self.check_every == 0:
            return self._checked(trace, args)
        try:
            return as_value(quietly(trace.step, trace.persistent, args))  # the loss, as a Value without a graph
        except (ArithmeticError, ValueError, IndexError):  # math raised where numpy gives inf/nan, or a bad input:
            return self._eager(args)  # the eager engine gives IEEE's inf/nan, or its own clear error

    def _changing(self, kept: list[_Trace], args: tuple) -> list[str]:
        names = _argument_names(self.fn, len(args))
        return [names[i] for i in kept[0].guards if not all(_same(args[i], t.guards.get(i)) for t in kept)] if (
            kept) else []  # fmt: skip

    def _eager(self, args: tuple) -> Value:
        """fn as the eager engine runs it: the loss, and its backward unless inside no_grad."""
        loss = _loss(self.fn(*args))
        if is_grad_enabled():
            loss.backward()
        return Value(loss.data, requires_grad=False)

    def _checked(self, trace: _Trace, args: tuple) -> Value:
        """Run the compiled step and the eager one from the same .grad; raise if they differ, else keep it."""
        wanted = [w if i is None else args[i] for w, i in zip(trace.wanted, trace.wanted_args)]  # this call's
        saved = [w._grad for w in wanted]
        for w in wanted:
            w._grad = None
        try:
            eager = _loss(self.fn(*args))
            eager.backward()
            expected = [w._grad for w in wanted]
            for w in wanted:
                w._grad = None
            loss = quietly(trace.step, trace.persistent, args)
            got = [w._grad for w in wanted]
        finally:
            for w, s in zip(wanted, saved):
                w._grad = s
        problems = [] if _close(loss, eager.data) else [f"loss {loss!r} compiled, {eager.data!r} eager"]
        problems += [f"the gradient of {w.label or 'a parameter'} {w.shape}"
                     for w, a, b in zip(wanted, got, expected) if not _close(a, b)]  # fmt: skip
        if problems:
            raise RuntimeError(f"compile: at call {self.calls} the compiled step differs from the eager one ("
                               + "; ".join(problems) + "). fn takes another path for these numbers (an if on "
                               "data values?), which the trace froze; call fn eagerly instead")  # fmt: skip
        for w, g in zip(wanted, got):
            w._grad = g if w._grad is None else w._grad + g
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
        return all(_same(args[i], v) for i, v in self.guards.items())

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
            parts.append(("Value", a.shape, a._data.__class__ is float, a.requires_grad, same))
        elif isinstance(a, np.ndarray):
            parts.append(("array", a.shape, a.dtype, type(a)))
        else:  # compared by value (the trace's guards); a list by its length too, as arrays by their shape
            parts.append((type(a).__name__, len(a) if isinstance(a, (list, tuple)) else None))
    return tuple(parts)


def _structure(order: list[Value]) -> list:
    return [(n._operation, n.shape, len(n.parents)) for n in order]


def _followed(args: tuple, names: list[str]) -> tuple:
    """The arguments as fn sees them while tracing: each numpy array as an ``Argument`` (the same numbers,
    followed by identity; the compiled step reads it as ``A[i]``), the rest as they are."""
    return tuple(Argument(np.asarray(a), names[i], f"A[{i}]" if a.__class__ is np.ndarray else f"np.asarray(A[{i}])")
                 if isinstance(a, np.ndarray) else a for i, a in enumerate(args))  # (a memmap: as an array)


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
    graphs = [names[i] for i, a in enumerate(args) if isinstance(a, Value) and a._operation is not None]
    if graphs:  # its graph would be traced as part of fn's, and replayed from this call's leaves
        return _not_compiled(key, f"argument {', '.join(graphs)} comes with a graph of its own (made by ops "
                             "before the call); compile the function that makes it too", start), loss  # fmt: skip
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
        raise RuntimeError("compile: fn built a different graph when called twice with the same arguments "
                           "(random choices, or state that changes?); it cannot be compiled")  # fmt: skip
    if not all(_same_numbers(n, n2) for n, n2 in zip(order, order2)):  # random numbers drawn inside fn
        return _not_compiled(key, "fn made other numbers when called twice with the same arguments (random numbers, "
                             "a dropout mask?), which a trace would freeze", start), loss  # fmt: skip
    persistent_ids = {id(n) for n in order if n._operation is None} & {id(n) for n in order2 if n._operation is None}
    persistent_ids -= {id(a) for a in values}
    guards = {i: _copy(a) for i, a in enumerate(args) if not isinstance(a, (Value, np.ndarray))}
    name = getattr(fn, "__name__", type(fn).__name__)
    kept = {id(s) for _, s, _ in record.origins.values() if isinstance(s, Value)} & {
        id(s) for _, s, _ in record2.origins.values() if isinstance(s, Value)}  # fmt: skip
    w = _Writer(fn, order, args, persistent_ids, record, kept)
    source, forward_source, namespace = w.sources(f"the compiled step of {name}")
    links, lost = _bindings(fn, w.persistent, [args[i] for i in guards])
    if lost:
        return _not_compiled(key, f"compile cannot check {lost} (so whether it changes later)",
                             start), loss  # fmt: skip
    trace = _Trace(key, source, _load(source, namespace, "step", name), w.persistent, w.wanted, guards, 0.0,
                   forward_source, namespace, wanted_args=[w.arg_index.get(id(v)) for v in w.wanted],
                   current=_current(links, w.persistent))  # fmt: skip
    trace.seconds = time.perf_counter() - start
    return trace, loss


def _same_numbers(n: Value, n2: Value) -> bool:
    """The same leaf numbers and op settings in two traced calls of fn (nan equal to nan)."""
    if n._operation is None:
        return _same_nan(n._data, n2._data)
    return n._kwargs.keys() == n2._kwargs.keys() and all(_same_nan(v, n2._kwargs[k]) for k, v in n._kwargs.items())


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
    found += [("item", k, fn.__defaults__, v, f"{fn.__name__}'s default {k}") for k, v in
              enumerate(fn.__defaults__ or ())]  # fmt: skip
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
        return [("attr", k, obj, f, f"{text}.{k}") for k in ("fget", "fset", "__func__")
                if isinstance(f := getattr(obj, k, None), types.FunctionType)]  # fmt: skip
    if isinstance(obj, (collections.abc.Sequence, collections.abc.Mapping)):
        pairs = obj.items() if isinstance(obj, collections.abc.Mapping) else enumerate(obj)
        return [("len", len(obj), obj, None, f"len({text})")] + [("item", k, obj, x, f"{text}[{k!r}]")
                                                                  for k, x in pairs]  # fmt: skip
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
    return [("attr", k, cls, x, f"{cls.__name__}.{k}") for k, x in vars(cls).items() if _attribute(k)
            or isinstance(x, (types.FunctionType, property, staticmethod, classmethod))]  # fmt: skip


def _attribute(name) -> bool:
    return isinstance(name, str) and name.isidentifier() and not name.startswith("__")


def _current(links: list[tuple], persistent: list[Value]) -> Callable[[], bool]:
    """A function, written out as one expression, that says whether every link still holds and every leaf read
    still has the requires_grad it had (a frozen layer unfrozen traces again)."""
    names, terms = {}, []
    for k, (kind, key, holder, obj, _) in enumerate(links):
        names[f"H{k}"], names[f"O{k}"], names[f"K{k}"] = holder, obj, key
        terms.append(f"H{k}.{key} is O{k}" if kind == "attr" else f"len(H{k}) == {key}" if kind == "len"
                     else f"H{k}[K{k}] is O{k}")  # fmt: skip
    for k, p in enumerate(persistent):
        names[f"P{k}"] = p
        terms.append(f"P{k}.requires_grad is {p.requires_grad}")
    source = ("def current():\n    try:\n        return (" + " and\n                ".join(terms or ["True"])
              + ")\n    except (AttributeError, LookupError, TypeError):\n        return False\n")  # fmt: skip
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
    if not isinstance(out, Value) or np.size(out.data) != 1:
        what = f"a Value of shape {out.shape}" if isinstance(out, Value) else type(out).__name__
        raise TypeError(f"compile: fn must return a one-element Value (the loss), got {what}")
    return out


# ---------------------------------------------------------------- writing the graph as code


class _Writer:
    """Writes one graph as code, in five parts: the leaves read, the forward lines, the checks eager makes,
    the backward lines, and the lines that add into ``.grad``. It keeps the names given so far, one per node."""

    def __init__(self, fn: Callable, order: list[Value], args: tuple, persistent_ids: set[int], record: note_reads,
                 kept: set[int]):  # fmt: skip
        self.order, self.args, self.persistent_ids = order, args, persistent_ids  # the loss first
        self.record = record  # where the numbers fn was given went
        self.kept = kept  # Values made before the call that fn took numbers of (the same in both traced calls)
        self.loss = order[0]
        self.arg_index = {id(a): i for i, a in enumerate(args) if isinstance(a, Value)}
        self.param_names = _parameter_names(fn)
        self.arg_names = _argument_names(fn, len(args))
        self.used: set[str] = set()
        self.names: dict[int, str] = {}  # node -> its name in the code (or a literal number)
        self.consts: dict[str, object] = {}  # name -> a constant array the code reads
        self.persistent: list[Value] = []  # P: the leaves read on every call
        self.wanted: list[Value] = []  # the leaves whose .grad is written
        self.gnames: dict[int, str] = {}  # node -> the name of its gradient
        self.fresh: dict[int, bool] = {}  # whether that gradient is an array of its own (else copied for .grad)
        self.softmax: dict[int, list[str]] = {}  # the names cross-entropy's forward leaves for its backward
        self.read_as: dict[str, str] = {}  # the code that reads an argument -> the name it was given

    def sources(self, title: str) -> tuple[str, str, dict]:
        """The sources of ``step(P, A)`` and ``forward(P, A)`` and the namespace to run them in."""
        reads, lines = self.leaves(), self.forward()
        lines += self.checks()
        back, writes = self.backward(), self.writes()
        result = self.names[id(self.loss)]
        doc = f'    """{title}: forward, then backward (the chain rule, output first), then .grad += the gradients."""'
        source = "\n".join(
            ["def step(P, A):", doc, "    # read the leaves (their current numbers)", *reads, "    # forward", *lines,
             "    # backward: g_x = dL/dx", *back, "    # add into .grad, as backward() does", *writes,
             f"    return {result}", ""]
        )  # fmt: skip
        forward_source = "\n".join(["def forward(P, A):", f'    """{title}: the forward pass alone."""', *reads,
                                    *lines, f"    return {result}", ""])  # fmt: skip
        namespace = {"np": np, "math": math, **{c.__name__: c for c in ops.REGISTRY.values()}, **self.consts}
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
                    code = f"A[{self.arg_index[id(obj)]}].data"
                    break
                if id(obj) in self.kept:  # a Value made before the call (a batch buffer): its numbers now
                    if all(p is not obj for p in self.persistent):
                        self.persistent.append(obj)
                    code = f"P[{next(k for k, p in enumerate(self.persistent) if p is obj)}].data"
                    break
                obj = obj._data
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
                code = self.names[id(given)] if isinstance(given, Value) else (
                    f"np.array([{', '.join(self.names[id(v)] for v in nodes)}])")  # fmt: skip
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

    def kwargs(self, node: Value) -> list[str]:
        return [f"{key}={self.kwarg(v, key)}" for key, v in node._kwargs.items()]

    def kwarg(self, v, key: str) -> str:
        """An op's setting as code: the argument it was made from, a literal, or a named constant."""
        if isinstance(v, tuple):  # an index: (rows, labels), slices
            parts = [self.kwarg(x, key) for x in v]
            return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"
        code = self.followed(v) if isinstance(v, (np.ndarray, float)) else None
        if code is not None:
            return code
        text = _literal(v)
        return text if text is not None else self.const(v, key)

    def leaves(self) -> list[str]:
        """What is read on every call (arguments, the model's leaves), and what was fixed when tracing."""
        reads = []
        for node in reversed(self.order):
            if node._operation is not None:
                continue
            if id(node) in self.arg_index:
                i = self.arg_index[id(node)]
                name = self.names[id(node)] = _identifier(self.arg_names[i], self.used)
                reads.append(f"    {name} = A[{i}].data  # argument {i}")
            elif id(node) in self.persistent_ids:
                label = self.param_names.get(id(node)) or node.label or "leaf"
                name = self.names[id(node)] = _identifier(label, self.used)
                what = "needs a gradient" if node.requires_grad else "a constant made outside fn"
                reads.append(f"    {name} = P[{len(self.persistent)}].data  # {label}: {what}")
                self.persistent.append(node)
            elif (code := self.followed(node.data)) is not None:
                name = self.names[id(node)] = _identifier(node.label or _argument_in(code, self.arg_names), self.used)
                reads.append(f"    {name} = {code}  # an argument, as fn made it a Value")
                self.read_as.setdefault(code, name)
            elif node.data.__class__ is float:
                self.names[id(node)] = _number(node.data)
            else:
                name = self.names[id(node)] = self.const(node.data, node.label or "array")
                reads.append(f"    # {name}: a constant array of shape {node.shape}, fixed at trace time")
        return reads

    def forward(self) -> list[str]:
        """One line per op, inputs before the ops that use them."""
        lines, count = [], itertools.count(1)
        for node in reversed(self.order):
            op = node._operation
            if op is None:
                continue
            name = self.names[id(node)] = _identifier(node.label or f"h{next(count)}", self.used)
            n = _slots(node, self.names)
            if op is ops.CrossEntropy and node._a.ndim == 2:
                lines += self.cross_entropy(node, name, n["x"])
                continue
            forward, _ = _op_code(node, n)
            if not forward:  # the op as written in ops.py
                inputs = [self.names[id(p)] for p in node.parents] + self.kwargs(node)
                forward = f"{op.__name__}.forward({', '.join(inputs)})"
                if node.data.__class__ is float:
                    forward = f"float({forward})"
            lines.append(f"    {name} = {forward}  # {op.name}")
        return lines

    def cross_entropy(self, node: Value, name: str, z: str) -> list[str]:
        """Cross-entropy written out, so that its backward reuses the softmax (``e / sum``)."""
        rows = node._a.shape[0]
        labels = self.kwarg(node._kwargs["labels"], "labels")
        parts = ("labels", "rows", "shift", "e", "sum", "logp")
        self.softmax[id(node)] = y, r, shift, e, total, logp = [_identifier(f"{name}_{p}", self.used) for p in parts]
        return [
            f"    {y} = {labels}  # cross_entropy: the class of each row",
            f"    {r} = {self.const(np.arange(rows), 'rows')}",
            f"    {shift} = {z} - np.maximum.reduce({z}, axis=1, keepdims=True)  # cross_entropy: "
            "each row minus its maximum (no overflow)",
            f"    {e} = np.exp({shift})",
            f"    {total} = np.add.reduce({e}, axis=1, keepdims=True)",
            f"    {logp} = {shift} - np.log({total})  # log softmax",
            f"    {name} = -float(np.add.reduce({logp}[{r}, {y}])) / {rows}  # the mean of -log p(label)",
        ]

    def backward(self) -> list[str]:
        """One line per gradient contribution, from the output back, only along paths to a wanted leaf."""
        self.wanted = [node for node in reversed(self.order) if node._operation is None and node.requires_grad
                       and (id(node) in self.persistent_ids or id(node) in self.arg_index)]  # fmt: skip
        leads = leading_to(self.order, self.wanted)
        uses: dict[int, int] = {}  # how many ops take each node as an input
        for node in self.order:
            for p in node.parents:
                uses[id(p)] = uses.get(id(p), 0) + 1
        loss, back = self.loss, []
        if id(loss) in leads:
            self.gnames[id(loss)] = g = f"g_{self.names[id(loss)]}"
            back.append(f"    {g} = {'1.0' if loss.data.__class__ is float else f'np.ones({loss.shape})'}  # dL/dL")
            self.fresh[id(loss)] = True
        for node in self.order:
            if node._operation is not None and id(node) in self.gnames:
                back += self.contributions(node, leads, uses)
        return back

    def contributions(self, node: Value, leads: set[int], uses: dict) -> list[str]:
        """The lines of one op's backward: its contribution to each input that leads to a wanted leaf."""
        op, names, back = node._operation, self.names, []
        n = _slots(node, names)
        n["g"] = self.gnames[id(node)]
        _, backs = _op_code(node, n)
        targets = [(i, p) for i, p in enumerate(node.parents) if p.requires_grad and id(p) in leads]
        if not targets:
            return back
        if op is ops.CrossEntropy and node._a.ndim == 2:  # softmax - onehot(labels), over n, from the forward
            y, r, _, e, total, _ = self.softmax[id(node)]
            d = _identifier(f"d_{names[id(node)]}", self.used)
            back += [f"    {d} = {e} / {total}  # cross_entropy: softmax(z)",
                     f"    {d}[{r}, {y}] -= 1.0  # minus the one-hot of the labels",
                     f"    {d} *= {n['g']} / {node._a.shape[0]}"]  # fmt: skip
            backs = [(d, "(softmax(z) - onehot(labels)) / n")]
        if op is ops.Mul and node._a is node._b:  # x * x: both contributions at once, g x + g x = 2 g x
            targets, backs = targets[:1], [(f"{n['g']} * {n['a']} * 2.0", f"2 {n['a']}")]
        if op in (ops.Sum, ops.Mean) and backs[0] is not None and _number_will_do(node._a, uses):
            size = node._a.data.size
            g, factor = (n["g"], "1") if op is ops.Sum else (f"{n['g']} * {1.0 / size!r}", f"1/{size}")
            backs = [(g, f"{factor}, kept a number: numpy spreads it over the array in the next use")]
        if op in _ELEMENTWISE:  # each contribution has the output's shape
            raws = (node.data,) * len(node.parents)
        else:  # run the backward once on zeros to learn the shapes its contributions have
            g_zero = 0.0 if node.data.__class__ is float else np.zeros(node.shape)
            raws = op.backward(g_zero, node.data, *[p.data for p in node.parents], **node._kwargs)
            raws = (raws,) if len(node.parents) == 1 else raws
        if any(b is None for b in backs):  # the op as written in ops.py
            outs = [f"d_{names[id(node)]}_{i}" for i in range(len(node.parents))]
            inputs = [n["g"], names[id(node)], *[names[id(p)] for p in node.parents], *self.kwargs(node)]
            back.append(f"    {', '.join(outs)} = {op.__name__}.backward({', '.join(inputs)})  # {op.name}")
            backs = [(o, f"{op.name}'s backward") for o in outs]  # one input: one gradient, two: a pair
        for i, p in targets:
            back.append(self.add(node, i, p, *backs[i], raws[i]))
        return back

    def add(self, node: Value, i: int, p: Value, contribution: str, factor: str, raw) -> str:
        """The line that gives (or adds to) input p's gradient the contribution of ``node``'s op."""
        op, pname = node._operation, self.names[id(p)]
        expr, summed = _reduce_code(contribution, raw, p.data)
        why = f"# {op.name}: d{self.names[id(node)]}/d{pname} = {factor}"
        if summed:
            why += ", summed over the broadcast axes"
        if id(p) in self.gnames:
            gp = self.gnames[id(p)]
            self.fresh[id(p)] = True
            term = expr if expr.isidentifier() else f"({expr})"
            return f"    {gp} = {gp} + {term}  {why}  (a node used again: contributions add up)"
        gp = self.gnames[id(p)] = _identifier(f"g_{pname}", self.used)
        self.fresh[id(p)] = summed or ((op, i) not in _PASS_THROUGH and not contribution.startswith("d_"))
        return f"    {gp} = {expr}  {why}"

    def writes(self) -> list[str]:
        """``.grad += g`` for every wanted leaf the backward reached (a copy where g may be another's array)."""
        slot = {id(p): k for k, p in enumerate(self.persistent)}  # (by identity: == on Values compares numbers)
        self.wanted = [w for w in self.wanted if id(w) in self.gnames]
        lines = []
        for w in self.wanted:
            gw = self.gnames[id(w)]
            if w.data.__class__ is not float and not self.fresh[id(w)]:
                gw = f"{gw}.copy()"
            target = f"A[{self.arg_index[id(w)]}]" if id(w) in self.arg_index else f"P[{slot[id(w)]}]"
            lines.append(f"    {target}._grad = {gw} if {target}._grad is None else {target}._grad + {gw}")
        return lines


_SPREADS = {ops.Mul, ops.Div, ops.Tanh, ops.Exp, ops.Log, ops.Sqrt, ops.Sigmoid, ops.ReLU, ops.PowConst}


def _number_will_do(x: Value, uses: dict) -> bool:
    """Can the gradient of sum(x) stay one number instead of an array full of it? Yes when x is used once and
    made by an elementwise op whose every input has x's shape and whose backward multiplies by an array:
    numpy then spreads the number, with the same result and no array to fill."""
    op = x._operation
    return (uses.get(id(x)) == 1 and op in _SPREADS and not (op is ops.PowConst and x._kwargs["p"] == 0)
            and all(p.shape == x.shape for p in x.parents))  # fmt: skip


def _slots(node: Value, names: dict) -> dict:
    """The names a template fills in: x (or a, b), out, m."""
    parents = node.parents
    n = {"out": names[id(node)], "g": "g", "m": "math" if node.data.__class__ is float else "np"}
    if len(parents) == 1:
        n["x"] = names[id(parents[0])]
    else:
        n["a"], n["b"] = names[id(parents[0])], names[id(parents[1])]
    if node.data.__class__ is float and any(p.data.__class__ is not float for p in parents):
        n["m"] = "np"
    return n


def _dtype(x) -> np.dtype:
    """The dtype numbers have at trace time (a Python float is float64)."""
    if isinstance(x, Value):
        x = x.data
    return x.dtype if hasattr(x, "dtype") else np.dtype(np.float64)


def _argument_in(code: str, names: list[str]) -> str:
    """The name of the argument that ``code`` reads (``A[1]`` -> its parameter's name), for naming a leaf
    ("given" for numbers read from a Value made before the call)."""
    found = re.search(r"A\[(\d+)\]", code)
    return names[int(found.group(1))] if found else "given"


# ---------------------------------------------------------------- the code of each op
# forward(m, names) and, per input, (gradient contribution, chain-rule factor) as Python text.
# {m} is "math" for floats and "np" for arrays; {g} the upstream gradient, {out} the op's output.
# An op without a template here is called as it is written in ops.py: Op.forward(...), Op.backward(...).

_TEMPLATES: dict[type[ops.Op], tuple[str, tuple[tuple[str, str], ...]]] = {
    ops.Add: ("{a} + {b}", (("{g}", "1"), ("{g}", "1"))),
    ops.Sub: ("{a} - {b}", (("{g}", "1"), ("-{g}", "-1"))),
    ops.Mul: ("{a} * {b}", (("{g} * {b}", "{b}"), ("{g} * {a}", "{a}"))),
    ops.Div: ("{a} / {b}", (("{g} / {b}", "1/{b}"), ("-{g} * {out} / {b}", "-{out}/{b}"))),
    ops.Neg: ("-{x}", (("-{g}", "-1"),)),
    ops.Exp: ("{m}.exp({x})", (("{g} * {out}", "{out}"),)),
    ops.Log: ("{m}.log({x})", (("{g} / {x}", "1/{x}"),)),
    ops.Sqrt: ("{m}.sqrt({x})", (("{g} / (2.0 * {out})", "1/(2 {out})"),)),
    ops.Tanh: ("{m}.tanh({x})", (("{g} * (1.0 - {out} * {out})", "1 - {out}^2"),)),
    ops.Sigmoid: ("Sigmoid.forward({x})", (("{g} * {out} * (1.0 - {out})", "{out} (1 - {out})"),)),
}
_PASS_THROUGH = {(ops.Add, 0), (ops.Add, 1), (ops.Sub, 0)}  # the contribution is g itself: the same array
_ELEMENTWISE = {ops.Add, ops.Sub, ops.Mul, ops.Div, ops.Neg, ops.Exp, ops.Log, ops.Sqrt, ops.Tanh, ops.Sigmoid,
                ops.PowConst, ops.ReLU}  # fmt: skip


def _op_code(node: Value, n: dict) -> tuple[str, list[tuple[str, str] | None]]:
    """The forward expression of ``node`` and, per input, (contribution, factor) or None for a generic call."""
    op, kw = node._operation, node._kwargs
    scalar = node.data.__class__ is float
    if op in _TEMPLATES:
        forward, backs = _TEMPLATES[op]
        return forward.format(**n), [(c.format(**n), f.format(**n)) for c, f in backs]
    if op is ops.PowConst:
        p = kw["p"]
        whole = math.isfinite(p) and p == int(p)
        if whole or not scalar:  # x ** 2.0 on a float; math.pow below raises for (-8.0) ** 0.5 as eager does
            forward = f"{n['x']} ** {_number(float(p))}"
        else:
            forward = f"math.pow({n['x']}, {_number(float(p))})"
        if p == 0:
            return forward, [(f"{n['g']} * 0.0", "0")]
        if p == 2:
            return f"{n['x']} * {n['x']}", [(f"{n['g']} * 2.0 * {n['x']}", f"2 {n['x']}")]
        q = _number(float(p - 1))
        power = f"{n['x']} ** {q}" if whole or not scalar else f"math.pow({n['x']}, {q})"
        return forward, [(f"{n['g']} * {_number(float(p))} * {power}", f"{p!r} {n['x']}^{p - 1!r}")]
    if op is ops.ReLU:
        if scalar:
            return (f"0.0 if {n['x']} <= 0.0 else {n['x']}",
                    [(f"0.0 if {n['x']} <= 0.0 else {n['g']}", f"[{n['x']} > 0]")])  # fmt: skip
        return f"np.maximum({n['x']}, 0.0)", [(f"np.where({n['x']} <= 0, 0.0, {n['g']})", f"[{n['x']} > 0]")]
    if op is ops.MatMul and np.ndim(node._a.data) == 2 and np.ndim(node._b.data) == 2:
        return (f"{n['a']} @ {n['b']}",
                [(f"{n['g']} @ {n['b']}.T", f"{n['b']}^T, on the right"),
                 (f"{n['a']}.T @ {n['g']}", f"{n['a']}^T, on the left")])  # fmt: skip
    if op in (ops.Sum, ops.Mean) and kw["axis"] is None and node._a.data.__class__ is not float and not kw["keepdims"]:
        size = node._a.data.size
        if op is ops.Sum:
            return f"float(np.add.reduce({n['x']}, axis=None))", [(f"np.full({node._a.shape}, {n['g']})", "1")]
        if size:
            inv = 1.0 / size
            return (f"float(np.add.reduce({n['x']}, axis=None)) * {inv!r}",
                    [(f"np.full({node._a.shape}, {n['g']}) * {inv!r}", f"1/{size}")])  # fmt: skip
    return "", [None] * len(node.parents)


# ---------------------------------------------------------------- names and numbers as code


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
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]  # fmt: skip
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"arg{i}" for i in range(count)]


def _reduce_code(expr: str, raw, like) -> tuple[str, bool]:
    """The contribution summed back to the input's shape, with the axes resolved now (engine.reduce_broadcast),
    and whether anything was summed."""
    if like.__class__ is float:
        if raw.__class__ is float:
            return expr, False
        return (f"float({expr})", False) if np.ndim(raw) == 0 else (f"float(np.add.reduce({expr}, axis=None))", True)
    if np.shape(raw) == like.shape:
        return expr, False
    added, stretched = broadcast_axes(np.shape(raw), like.shape)
    if added:
        expr = f"np.add.reduce({expr}, axis={added})"
    if stretched:
        expr = f"np.add.reduce({expr}, axis={stretched}, keepdims=True)"
    return expr, True


def _number(v: float) -> str:
    """A float as code that reads back as the same float: (-0.5), math.inf, math.nan."""
    if math.isnan(v):
        return "math.nan"
    if math.isinf(v):
        return "math.inf" if v > 0 else "(-math.inf)"
    return f"({v!r})" if math.copysign(1.0, v) < 0 else repr(v)


def _literal(x) -> str | None:
    """x as Python text, when it is a plain number, bool, None, string or a tuple of those."""
    if isinstance(x, float) and not isinstance(x, np.generic):
        return _number(x)
    if x is None or x is Ellipsis or isinstance(x, (bool, int, str, slice)) and not isinstance(x, np.generic):
        return repr(x)
    if isinstance(x, tuple) and all(_literal(v) is not None for v in x):
        return repr(x)
    return None
