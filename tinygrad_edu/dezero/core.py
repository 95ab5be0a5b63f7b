"""DeZero's core (``dezero.core``) on this engine: ``Variable``, ``Function``, ``Parameter`` and the switches.

A ``Variable`` is an ``engine.Value`` whose ``.data`` is an ndarray and whose ``.grad`` is a Variable (None
until a backward pass reaches it), as in DeZero. Its ``backward`` is one ``engine.backprop`` walk: numbers
without ``create_graph``, graph nodes with it (gradients of gradients). A ``Function`` the learner writes
(``forward`` on ndarrays, ``backward`` on the upstream gradient) becomes an ``ops.Op`` of its own, so it is
drawn, traced and gradient-checked like a built-in op.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator

import numpy as np

from tinygrad_edu import modes, ops
from tinygrad_edu.checks import as_data, clean
from tinygrad_edu.engine import Value, apply, backprop
from tinygrad_edu.follow import Argument

# ---------------------------------------------------------------- Config: DeZero's switches


class Config:
    """DeZero's switches: ``enable_backprop`` (our ``no_grad``, when False) and ``train`` (dropout's)."""

    enable_backprop = True
    train = True


@contextlib.contextmanager
def using_config(name: str, value) -> Iterator[None]:
    """Set ``Config.<name>`` inside the block; ``enable_backprop`` switches this engine's graph recording too."""
    old = getattr(Config, name)  # an unknown name is an AttributeError, as in DeZero
    setattr(Config, name, value)
    mode = (
        (modes.enable_grad() if value else modes.no_grad()) if name == "enable_backprop" else contextlib.nullcontext()
    )
    try:
        with mode:
            yield
    finally:
        setattr(Config, name, old)


def no_grad():
    """No graph inside the block: ``using_config('enable_backprop', False)``."""
    return using_config("enable_backprop", False)


def test_mode():
    """``Config.train`` is False inside the block."""
    return using_config("train", False)


# ---------------------------------------------------------------- Variable


VARIABLE_NAMES = (
    "data, name, grad, creator, generation, shape, ndim, size, dtype, len(), cleargrad, backward, reshape, "
    "transpose, T, sum, matmul, dot, max, min, the operators and indexing (and every method of a Value)"
)


class Variable(Value):
    """DeZero's Variable: ndarray ``.data``, a ``.name``, ``.grad`` a Variable or None, and ``backward``.

    The numbers are float64 (DeZero keeps the ndarray's dtype). Operators with numbers and ndarrays work
    from either side (``__array_priority__``: numpy hands ``ndarray + Variable`` to the Variable).
    """

    __array_priority__ = 200
    creator = None  # the learner's Function that made it (None for a leaf, or for a built-in op: see .op)
    generation = 0
    _grad_variable = None  # the gradient as a Variable (its numbers are also in the engine's _grad)

    def __init__(self, data, name: str | None = None):
        if data is not None and not isinstance(data, (np.ndarray, Argument)):  # (compile's trace: an array argument)
            raise TypeError(f"{type(data)} is not supported (a Variable holds an ndarray: np.array({data!r}))")
        super().__init__(0.0 if data is None else data, label="" if name is None else name)
        if data is None:  # a Parameter whose size is not known yet (Linear's W before its first input)
            self._data = None

    @property
    def data(self):
        """The numbers, as an ndarray (0-d for a scalar); assign an ndarray."""
        d = self._data
        return np.array(d) if d.__class__ is float else d

    @data.setter
    def data(self, value) -> None:
        if value.__class__ is np.ndarray and value.dtype == np.float64 and value.ndim:
            self._data = value  # shared, as DeZero's (an update in place stays in place)
        else:
            self._data = None if value is None else as_data(value, "Variable data")

    @property
    def name(self) -> str | None:
        """The name a picture shows (this engine's ``label``), None when unnamed."""
        return self.label or None

    @name.setter
    def name(self, value: str | None) -> None:
        self.label = "" if value is None else value

    @property
    def grad(self) -> Variable | None:
        """dL/d(self) as a Variable, None before any backward pass (and after ``cleargrad()``)."""
        g = self._grad
        if g is None:
            return None
        if self._grad_variable is None or self._grad_variable.numbers is not g:  # numbers the engine wrote (compile)
            self._grad_variable = _wrap(g)
        return self._grad_variable

    @grad.setter
    def grad(self, value) -> None:
        if value is None:
            self._grad = self._grad_variable = None
            return
        v = _as_gradient(value) if isinstance(value, Value) else _wrap(as_data(value, "grad"))
        self._grad_variable, self._grad = v, v.numbers

    def cleargrad(self) -> None:
        self.grad = None

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def __repr__(self) -> str:
        if self._data is None:
            return "variable(None)"
        return "variable(" + str(self.data).replace("\n", "\n" + " " * 9) + ")"

    def __getattr__(self, name: str):
        """Only for a name not found: a DeZero name this Variable lacks is named, with what it has."""
        if name.startswith("_"):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}; it has: {VARIABLE_NAMES}")

    def matmul(self, W) -> Variable:
        return self @ W

    dot = matmul  # DeZero's x.dot(W) is a matrix product

    def backward(self, retain_grad: bool = False, create_graph: bool = False) -> None:
        """DeZero's backward: from ones of this shape (or the ``.grad`` already set), every gradient added into
        its Variable's ``.grad``. Only the leaves keep theirs unless ``retain_grad``. With ``create_graph``
        the gradients are Variables with graphs of their own, to be differentiated again."""
        if self.grad is None:
            self.grad = Variable(np.ones_like(self.data))
        seed = self._grad_variable if create_graph else self._grad
        if not self.requires_grad:  # a leaf of no_grad's making: nothing to walk
            return
        with modes.enable_grad() if create_graph else modes.no_grad():
            grads = backprop(self, seed, graph=create_graph)
            for node, g in grads.items():
                if node is self or not (retain_grad or node.operation is None):
                    continue
                g = _as_gradient(g)
                node.grad = g if node.grad is None else node.grad + g
        if not retain_grad and self._operation is not None:
            self.grad = None


class Parameter(Variable):
    """A Variable that a ``Layer`` collects as one of its parameters."""


def _wrap(numbers) -> Variable:
    """Numbers (a float or an array) as a Variable with no graph."""
    return Variable(np.asarray(numbers))


def _as_gradient(g) -> Variable:
    """A gradient from ``backprop`` as a Variable: numbers wrapped; a node of the base class (made of constants
    only: the seed is a Variable, so this is rare) times a Variable 1, so that its graph stays."""
    if isinstance(g, Variable):
        return g
    if not isinstance(g, Value):
        return _wrap(g)
    return _wrap(g.numbers) if g.operation is None else _wrap(1.0) * g


def as_variable(obj) -> Variable:
    """obj itself if it is a Variable, else a Variable holding it (an ndarray)."""
    return obj if isinstance(obj, Variable) else Variable(obj)


def as_array(x):
    """A number as a 0-d ndarray; anything else as it is."""
    return np.array(x) if np.isscalar(x) else x


def setup_variable() -> None:
    """DeZero installs Variable's operators here; this Variable has them as methods already."""


# ---------------------------------------------------------------- Function: a learner's op


class Function:
    """Base of the learner's functions: ``forward(*xs)`` on ndarrays returns one ndarray; ``backward(gy)``
    returns the gradient of each input (a tuple for two), from ``self.inputs`` (Variables: ``.data`` for their
    ndarrays) and ``gy`` (a Variable). One or two inputs, one output: each Function class becomes an
    ``ops.Op``, so the engine's backward pass, pictures, traces and gradient checks treat it like a built-in.
    """

    def __call__(self, *inputs):
        inputs = [as_variable(x) for x in inputs]
        output = apply(op_for(type(self), len(inputs)), *inputs, function=self)
        if output.requires_grad:  # recorded (not under no_grad)
            self.generation = max(x.generation for x in inputs)
            output.creator, output.generation = self, self.generation + 1
            self.inputs, self.input = inputs, inputs[0]
            self.outputs = [weakref.ref(output)]
        return output

    def settings(self) -> dict:
        """What the Function holds besides the graph's bookkeeping (``Pow(c)``'s c): its op's setting."""
        return {k: v for k, v in self.__dict__.items() if k not in BOOKKEEPING}

    def __eq__(self, other) -> bool:
        """Two calls of one Function class with the same settings are the same op (so compile's trace, which
        calls fn twice, sees one graph); Python's ``is`` still tells the instances apart."""
        return type(other) is type(self) and _same(self.settings(), other.settings())

    __hash__ = object.__hash__

    def forward(self, *xs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def backward(self, *gys):
        raise NotImplementedError(f"{type(self).__name__} must define backward()")


BOOKKEEPING = ("inputs", "input", "outputs", "generation")  # what a call records on a Function


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


class FunctionOp(ops.Op):
    """The ``ops.Op`` a learner's Function becomes: forward and backward call the Function's own, given the
    Function as the op's setting ``function`` (not registered: the op table checks the built-in ops only)."""

    @staticmethod
    def forward(*xs, function: Function):
        _runnable(function)
        y = function.forward(*[np.asarray(x) if x.__class__ is float else x for x in xs])
        if isinstance(y, (tuple, list)):
            if len(y) != 1:
                raise TypeError(f"{type(function).__name__}.forward returned {len(y)} outputs; one is supported")
            y = y[0]
        if isinstance(y, Value):
            raise TypeError(f"{type(function).__name__}.forward must return an ndarray, got a Variable")
        return y

    @staticmethod
    def backward(g, out, *xs, function: Function):
        """The Function's backward, with ``self.inputs`` the inputs given here (graph nodes under create_graph,
        else Variables wrapping the numbers) and ``gy`` a Variable; what it returns, as the engine wants it."""
        _runnable(function)
        graph = isinstance(g, Value)
        saved = {k: function.__dict__.get(k) for k in ("inputs", "input", "outputs")}  # as the call left them
        function.inputs = [x if isinstance(x, Value) else _wrap(x) for x in xs]
        function.input = function.inputs[0]
        output = out if isinstance(out, Value) else _wrap(out)
        function.outputs = [weakref.ref(output)]
        try:
            with contextlib.nullcontext() if graph else modes.no_grad():
                gxs = function.backward(g if graph else _wrap(g))
        finally:
            function.__dict__.update(saved)
        gxs = gxs if isinstance(gxs, (tuple, list)) else (gxs,)
        if len(gxs) != len(xs):
            raise ValueError(f"{type(function).__name__}.backward returned {len(gxs)} gradients for {len(xs)} inputs")
        if not graph:
            gxs = [None if gx is None else clean(gx.numbers if isinstance(gx, Value) else gx) for gx in gxs]
        return gxs[0] if len(xs) == 1 else tuple(gxs)


def _runnable(function) -> None:
    """compile's writer gives an op its settings as symbols first: a Function's math needs the Function itself
    (a TypeError, which compile answers with a line that calls the op on the numbers)."""
    if not isinstance(function, Function):
        raise TypeError(f"a Function's op runs only with the Function itself, not {type(function).__name__}")


_OPS: dict[tuple[type, int], type[ops.Op]] = {}


def op_for(cls: type, arity: int) -> type[ops.Op]:
    """The op a Function class becomes for ``arity`` inputs (one or two): drawn with the class's name, and
    called ``<name>Function`` in compiled code (a learner's ``Pow`` is not ``ops.Pow``)."""
    if arity not in (1, 2):
        raise TypeError(
            f"{cls.__name__} was called with {arity} inputs; a Function here takes one or two "
            "(each becomes an op of the engine, whose ops have one or two inputs)"
        )
    op = _OPS.get((cls, arity))
    if op is None:
        doc = f"The learner's Function {cls.__name__}, as an op of {arity} input{'s' * (arity - 1)}."
        settings = {"name": cls.__name__, "arity": arity, "__doc__": doc}
        op = _OPS[cls, arity] = type(f"{cls.__name__}Function", (FunctionOp,), settings)
    return op
