"""A Value's operators and methods: each hands its work to ``engine.apply`` with its op from ``ops.py``.

``x + y`` is ``apply(ops.Add, x, y)``, ``x.tanh()`` is ``apply(ops.Tanh, x)``: nothing here computes a
number or a derivative. Then the manners users bring from elsewhere: numpy's (``x.T``, ``x.shape``,
``np.asarray(x)``), PyTorch's (``x.item()``, ``x.detach()``, ``x.view``, ``pred > 0.5``, an in-place
``w -= lr * w.grad`` under ``no_grad``) and micrograd's (``_prev``, ``_op``, ``_backward``).

``engine.Value`` is the node (data, grad, parents, op) and inherits these; this module comes before
engine.py, so it reaches the engine through the hooks ``Value`` gives it (``_apply``, ``_operand``,
``_constant``, ``_backprop``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from tinygrad_edu import arguments, modes, ops
from tinygrad_edu.checks import DETACHED, as_data, shape_of
from tinygrad_edu.follow import followed_index
from tinygrad_edu.modes import is_grad_enabled, note_read, quiet

if TYPE_CHECKING:
    from tinygrad_edu.engine import Value

MICROGRAD_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "relu": "ReLU"}
SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "** or pow()", "matmul": "@"}


def unsupported(op: type[ops.Op], a, b, why: str) -> TypeError:
    """``Value + None``: the TypeError Python gives for operand types that do not go together, and why."""
    names = [type(x).__name__ for x in (a, b)]
    symbol = SYMBOLS.get(op.name, op.name)
    return TypeError(f"unsupported operand type(s) for {symbol}: '{names[0]}' and '{names[1]}' ({why})")


class ValueMethods:
    """The methods of ``engine.Value`` beyond the graph's core."""

    __slots__ = ()
    __array_ufunc__ = None  # numpy defers to us: ndarray + Value calls Value.__radd__

    # What engine.Value gives these methods (this module comes before the engine, which sets them at its end):
    _apply: Callable  # engine.apply: run an op forward and make the node, x + y = _apply(ops.Add, x, y)
    _operand: Callable  # an operand as a Value (a constant), or Python's TypeError naming both types
    _constant: Callable  # engine.as_value: numbers as a constant Value
    _backprop: Callable  # engine.backprop, whose first step is chain_rule

    # ------------------------------------------------------------ arithmetic (the math of each op is in ops.py)

    def __add__(self, other) -> Value:
        return self._apply(ops.Add, self, other)

    def __radd__(self, other) -> Value:
        return self._apply(ops.Add, other, self)

    def __sub__(self, other) -> Value:
        return self._apply(ops.Sub, self, other)

    def __rsub__(self, other) -> Value:
        return self._apply(ops.Sub, other, self)

    def __mul__(self, other) -> Value:
        return self._apply(ops.Mul, self, other)

    def __rmul__(self, other) -> Value:
        return self._apply(ops.Mul, other, self)

    def __truediv__(self, other) -> Value:
        return self._apply(ops.Div, self, other)

    def __rtruediv__(self, other) -> Value:
        return self._apply(ops.Div, other, self)

    def __pow__(self, other) -> Value:
        if other.__class__ is float or other.__class__ is int:
            return self._apply(ops.PowConst, self, p=other)
        if isinstance(other, numbers.Real):
            return self._apply(ops.PowConst, self, p=float(other))
        if other is None or isinstance(other, (str, bytes)):
            raise unsupported(
                ops.Pow, self, other, f"exponent must be a real number or a Value, got {type(other).__name__} {other!r}"
            )
        return self._power(self, other)

    def __rpow__(self, other) -> Value:
        return self._power(other, self)

    pow = __pow__  # PyTorch's name: x.pow(p)

    def _power(self, x, y) -> Value:
        """x ** y with a Value (or array) exponent: d/dy needs x >= 0, so a negative base is refused only
        when y will get a gradient (PyTorch gives nan there; a constant y is fine)."""
        x, y = self._operand(ops.Pow, x, x, y), self._operand(ops.Pow, y, x, y)
        on = not modes.open_blocks or modes.state.grad_enabled
        return self._apply(ops.Pow, x, y, needs=(on and x.requires_grad, on and y.requires_grad))

    def __neg__(self) -> Value:
        return self._apply(ops.Neg, self)

    # ``x -= lr * x.grad``: under no_grad the numbers change in place and x stays the same node (PyTorch's
    # manual update step); elsewhere it is ``x = x - ...``, a new node (micrograd's ``total += term``)

    def __iadd__(self, other) -> Value:
        return self + other if is_grad_enabled() else self._update(np.add, other)

    def __isub__(self, other) -> Value:
        return self - other if is_grad_enabled() else self._update(np.subtract, other)

    def __imul__(self, other) -> Value:
        return self * other if is_grad_enabled() else self._update(np.multiply, other)

    def __itruediv__(self, other) -> Value:
        return self / other if is_grad_enabled() else self._update(np.divide, other)

    @quiet
    def _update(self, fn, other) -> Value:
        result = fn(self._data, other._data if isinstance(other, ValueMethods) else as_data(other, "operand"))
        if shape_of(result) != self.shape:
            raise ValueError(
                f"an in-place update cannot change the shape: this Value has shape {self.shape}, "
                f"the result {np.shape(result)}"
            )
        if self._data.__class__ is float:
            self._data = float(result)
        else:
            self._data[...] = result
        return self

    def __matmul__(self, other) -> Value:
        b = self._operand(ops.MatMul, other, self, other)
        return self._apply(ops.MatMul, self, b, needs=(self.requires_grad, b.requires_grad))

    def __rmatmul__(self, other) -> Value:
        a = self._operand(ops.MatMul, other, other, self)
        return self._apply(ops.MatMul, a, self, needs=(a.requires_grad, self.requires_grad))

    def dot(self, other) -> Value:
        """PyTorch's ``x.dot(y)``: the sum of the products of two 1-D Values of the same length (a scalar)."""
        other = self._operand(ops.MatMul, other, self, other)
        if self.ndim != 1 or other.ndim != 1:
            raise ValueError(f"dot needs two 1-D Values, got shapes {self.shape} and {other.shape}; use @ for matrices")
        if self.shape != other.shape:
            raise ValueError(f"dot needs two Values of the same length, got shapes {self.shape} and {other.shape}")
        return self @ other

    def norm(self) -> Value:
        """The 2-norm of all the elements, sqrt(sum(x**2)) (PyTorch's ``x.norm()``): gradient x / norm, 0 at x = 0."""
        return self._apply(ops.Norm, self)

    # ------------------------------------------------------------ elementwise functions

    def exp(self) -> Value:
        return self._apply(ops.Exp, self)

    def log(self) -> Value:
        return self._apply(ops.Log, self)

    def log2(self) -> Value:
        return self._apply(ops.Log2, self)

    def log10(self) -> Value:
        return self._apply(ops.Log10, self)

    def sqrt(self) -> Value:
        return self._apply(ops.Sqrt, self)

    def sin(self) -> Value:
        return self._apply(ops.Sin, self)

    def cos(self) -> Value:
        return self._apply(ops.Cos, self)

    def abs(self) -> Value:
        return self._apply(ops.Abs, self)

    __abs__ = abs

    def tanh(self) -> Value:
        return self._apply(ops.Tanh, self)

    def sigmoid(self) -> Value:
        return self._apply(ops.Sigmoid, self)

    def relu(self) -> Value:
        return self._apply(ops.ReLU, self)

    def leaky_relu(self, alpha: float = 0.01) -> Value:
        return self._apply(ops.LeakyReLU, self, alpha=arguments.real("leaky_relu alpha", alpha))

    def softplus(self) -> Value:
        return self._apply(ops.Softplus, self)

    def gelu(self, approximate: str = "none") -> Value:
        """x Phi(x), exact (erf) as PyTorch's default; ``approximate="tanh"`` for the tanh form."""
        if approximate == "none":
            return self._apply(ops.GELU, self)
        return self._apply(ops.GELU, self, approximate=approximate)

    def step(self) -> Value:
        return self._apply(ops.Step, self)

    def clip(self, lo: float | None = None, hi: float | None = None) -> Value:
        lo = -np.inf if lo is None else arguments.real("clip lo", lo, finite=False)
        hi = np.inf if hi is None else arguments.real("clip hi", hi, finite=False)
        if lo > hi:
            raise ValueError(f"clip needs lo <= hi, got lo={lo}, hi={hi}")
        return self._apply(ops.Clip, self, lo=lo, hi=hi)

    def maximum(self, other) -> Value:
        """The larger of the two, element by element (PyTorch's ``x.maximum(y)``)."""
        return self._apply(ops.Maximum, self, other)

    def minimum(self, other) -> Value:
        return self._apply(ops.Minimum, self, other)

    # ------------------------------------------------------------ reductions

    def sum(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> Value:
        """Sum over ``axis`` (an int, a tuple, or None for all); ``dim``/``keepdim`` are PyTorch's names."""
        return self._reduce(ops.Sum, axis, keepdims, dim, keepdim)

    def mean(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> Value:
        return self._reduce(ops.Mean, axis, keepdims, dim, keepdim)

    def max(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> Value:
        return self._reduce(ops.Max, axis, keepdims, dim, keepdim)

    def min(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> Value:
        return self._reduce(ops.Min, axis, keepdims, dim, keepdim)

    def var(
        self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None, correction: float = 1
    ) -> Value:
        """The variance over ``axis``, divided by n - ``correction`` (PyTorch's default 1: a sample's variance)."""
        return self._reduce(
            ops.Var, axis, keepdims, dim, keepdim, correction=arguments.real("var correction", correction)
        )

    def std(
        self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None, correction: float = 1
    ) -> Value:
        """The standard deviation, sqrt of ``var`` with the same ``correction``."""
        return self._reduce(
            ops.Std, axis, keepdims, dim, keepdim, correction=arguments.real("std correction", correction)
        )

    def _reduce(self, op: type[ops.Op], axis, keepdims: bool, dim, keepdim, **settings) -> Value:
        axis = arguments.axes(op.name, arguments.either(op.name, "axis", axis, "dim", dim), self.shape)
        keepdims = arguments.flag(f"{op.name} keepdims", keepdims)
        if keepdim is not None:
            keepdim = arguments.flag(f"{op.name} keepdim", keepdim)
            keepdims = arguments.either(op.name, "keepdims", keepdims or None, "keepdim", keepdim)
        return self._apply(op, self, axis=axis, keepdims=keepdims, **settings)

    def softmax(self, axis: int = -1, *, dim: int | None = None) -> Value:
        self._need_dims("softmax")
        axis = arguments.either("softmax", "axis", None if axis == -1 else axis, "dim", dim)
        return self._apply(ops.Softmax, self, axis=arguments.axis("softmax", -1 if axis is None else axis, self.shape))

    def log_softmax(self, axis: int = -1, *, dim: int | None = None) -> Value:
        self._need_dims("log_softmax")
        axis = arguments.either("log_softmax", "axis", None if axis == -1 else axis, "dim", dim)
        return self._apply(
            ops.LogSoftmax, self, axis=arguments.axis("log_softmax", -1 if axis is None else axis, self.shape)
        )

    # ------------------------------------------------------------ shape and indexing

    def reshape(self, *shape) -> Value:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = tuple(arguments.integer("reshape size", n, low=-1) for n in shape)
        return self._apply(ops.Reshape, self, shape=shape)

    def transpose(self, *axes) -> Value:
        """Reorder the axes (numpy's meaning): ``transpose(1, 0)``, ``transpose(-1, 0)``; none reverses them."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        axes = arguments.permutation("transpose", axes, self.shape) if axes else None
        return self._apply(ops.Transpose, self, axes=axes)

    view = reshape  # PyTorch's name

    def t(self) -> Value:
        """PyTorch's ``x.t()``: a 2-D Value's transpose (rows become columns); 0-D and 1-D come back as they are."""
        if self.ndim > 2:
            raise ValueError(f"t() expects a Value with at most 2 dimensions, got shape {self.shape}; use transpose")
        return self.transpose() if self.ndim == 2 else self

    def unsqueeze(self, dim: int) -> Value:
        """A new axis of length 1 at ``dim`` (shape (3,) becomes (1, 3) at 0, (3, 1) at 1 or -1)."""
        where = arguments.axis("unsqueeze", dim, (*self.shape, 1))
        return self.reshape(self.shape[:where] + (1,) + self.shape[where:])

    def squeeze(self, dim: int | None = None) -> Value:
        """The axes of length 1 removed (all of them, or only ``dim``, left alone when its length is not 1)."""
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        if self.ndim == 0:
            arguments.axes("squeeze", dim, ())
            return self
        where = arguments.axis("squeeze", dim, self.shape)
        if self.shape[where] != 1:
            return self
        return self.reshape(self.shape[:where] + self.shape[where + 1 :])

    def broadcast_to(self, *shape) -> Value:
        """The numbers repeated along new or size-1 axes up to ``shape`` (numpy's rules; PyTorch's ``expand``)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = tuple(arguments.integer("broadcast_to size", n, low=0) for n in shape)
        try:
            fits = len(shape) >= self.ndim and np.broadcast_shapes(self.shape, shape) == shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"broadcast_to: shape {self.shape} cannot be broadcast to {shape} "
                "(each axis must match or be 1, and axes can only be added in front)"
            )
        return self._apply(ops.BroadcastTo, self, shape=shape)

    expand = broadcast_to  # PyTorch's name

    @property
    def T(self) -> Value:
        return self.transpose()

    def __getitem__(self, index) -> Value:
        self._need_dims("indexing")
        if modes.open_blocks and modes.state.reads is not None:  # compile's trace: an argument used as the index is
            index = followed_index(index)  # followed
        return self._apply(ops.Index, self, index=index)

    def _need_dims(self, what: str) -> None:
        if self._data.__class__ is float:
            raise TypeError(f"{what} needs a Value with at least one dimension, got a scalar (shape ())")

    # ------------------------------------------------------------ attributes

    def zero_grad(self) -> None:
        """Clear the gradient (PyTorch's ``grad = None``): the next backward pass starts it afresh."""
        self._grad = None

    @property
    def operation(self) -> type[ops.Op] | None:
        """The op (a class of ``ops.py``) that made this node, whose forward and backward it runs; None for leaves."""
        return self._operation

    @property
    def settings(self) -> dict:
        """That op's settings, such as ``{"axis": 0, "keepdims": False}`` (read-only: a copy)."""
        return dict(self._kwargs)

    @property
    def has_grad(self) -> bool:
        """Whether a backward pass has reached this node since its gradient was last cleared (PyTorch: grad is
        not None)."""
        return self._grad is not None

    @property
    def shape(self) -> tuple:
        return shape_of(self._data)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def site(self) -> str | None:
        """The line of code that made this node, when it was made under record_sites() or detect_anomaly()."""
        return getattr(self, "_site", None)

    def item(self) -> float:
        """The number a one-element Value holds, as a Python float."""
        return self._one("item()")

    # ------------------------------------------------------------ one step of backprop by hand, micrograd's names

    def chain_rule(self) -> None:
        """One node's share of backprop, as done by hand in the lecture: add ``self.grad`` times the local
        derivative into each input's ``.grad`` (d(self)/d(input), from this node's op).

        ``backward()`` is this step for every node, outputs first; calling it yourself, node by node
        in that order after setting the output's ``grad = 1.0``, gives the same gradients.
        """
        for node, g in self._backprop(self, self.gradient, first_step=True).items():
            if node is not self:
                node.accumulate_grad(g)

    _backward = chain_rule  # micrograd's name for it

    @property
    def _prev(self) -> set[Value]:
        """micrograd's name for the inputs: the set of Values this node was made from."""
        return set(self.parents)

    @property
    def _op(self) -> str:
        """micrograd's symbol for the op that made this node ('+', '*', '**2', 'tanh', 'ReLU'); '' for a leaf."""
        op = self._operation
        if op is None:
            return ""
        if op is ops.PowConst:
            return f"**{self._kwargs['p']}"
        return MICROGRAD_SYMBOLS.get(op.name, op.name)

    # ------------------------------------------------------------ PyTorch's manners

    def detach(self) -> Value:
        """The same numbers as a new constant, cut from the graph."""
        note_read(self, "detach()")
        out = self._constant(self._data)
        out._kwargs = DETACHED  # so that backward() on it can say why it has no graph
        return out

    def numpy(self) -> np.ndarray:
        """The data as a numpy array (a copy)."""
        note_read(self, "numpy()")
        return np.array(self._data)

    def tolist(self):
        """The data as (nested) Python lists of floats, or a float."""
        note_read(self, "tolist()")
        return self._data if self._data.__class__ is float else self._data.tolist()

    def size(self, dim: int | None = None):
        """The shape (PyTorch's ``size()``), or the length of one axis."""
        return self.shape if dim is None else self.shape[arguments.axis("size", dim, self.shape)]

    def dim(self) -> int:
        """The number of axes (PyTorch's ``dim()``)."""
        return self.ndim

    def to(self, *args, dtype=None, device=None) -> Value:
        """PyTorch's ``x.to("cpu")``, ``x.to(torch.float64)``: the Value itself (the only device here is the CPU
        and every number is float64 already)."""
        for a in (*args, dtype, device):
            if not (a is None or a is float or isinstance(a, str) and a == "cpu"):
                raise ValueError(f"to() takes only 'cpu' or a float dtype here (everything is float64), got {a!r}")
        return self

    def cpu(self) -> Value:
        """The Value itself: it is on the CPU already."""
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Value:
        """Switch the gradient on (or off) in place and return the Value, as PyTorch's ``w.requires_grad_()``."""
        requires_grad = arguments.flag("requires_grad", requires_grad)
        if not requires_grad and not self.is_leaf:
            raise RuntimeError(
                "requires_grad_(False) works on leaves only; this Value was computed from others: use detach()"
            )
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        """PyTorch's ``is_leaf``: made by the user (no op made it) or a constant; backward fills only leaves' grads
        in PyTorch (here every node gets one)."""
        return self._operation is None or not self.requires_grad

    def float(self) -> Value:
        """The Value itself: its data is float64 already (PyTorch's ``(pred > 0.5).float()`` works as is)."""
        return self

    def _compare(self, other, fn) -> Value:
        """A comparison as a constant of 0.0/1.0 (no graph: it has no derivative), as ``pred > 0.5`` in PyTorch."""
        note_read(self, f"a comparison ({fn.__name__})")
        if isinstance(other, ValueMethods):
            note_read(other, f"a comparison ({fn.__name__})")
            other = other._data
        result = fn(self._data, other)
        return self._constant(float(result) if np.ndim(result) == 0 else result.astype(np.float64))

    def __lt__(self, other) -> Value:
        return self._compare(other, np.less)

    def __le__(self, other) -> Value:
        return self._compare(other, np.less_equal)

    def __gt__(self, other) -> Value:
        return self._compare(other, np.greater)

    def __ge__(self, other) -> Value:
        return self._compare(other, np.greater_equal)

    def __eq__(self, other) -> Value:
        return self._compare(other, np.equal)

    def __ne__(self, other) -> Value:
        return self._compare(other, np.not_equal)

    __hash__ = object.__hash__  # nodes are told apart by identity (in sets and dicts), not by value

    def __repr__(self) -> str:
        """micrograd's form, ``Value(data=0.7071067811865476, grad=1.0)``; tensors show shape and a few numbers."""
        label = f", label={self.label!r}" if self.label else ""
        if self._data.__class__ is float:
            return f"Value(data={self._data!r}, grad={self.gradient!r}{label})"
        return f"Value(shape={self.shape}, data={np.array2string(self._data, threshold=12, precision=4)}{label})"

    def __len__(self) -> int:
        if self._data.__class__ is float:
            raise TypeError("len() of a scalar Value (shape ())")
        return len(self._data)

    # ------------------------------------------------------------ Python and numpy manners

    def _one(self, what: str) -> float:
        """The single number this Value holds, for ``what`` (bool(), float(), a format spec)."""
        note_read(self, what)
        if self._data.__class__ is float:
            return self._data
        if self._data.size != 1:
            raise ValueError(
                f"{what} needs a Value with one element, this one has shape {self.shape} ({self._data.size} elements)"
            )
        return float(self._data.reshape(()))

    def __bool__(self) -> bool:
        return self._one("bool()") != 0.0

    def __float__(self) -> float:
        return self._one("float()")

    def __int__(self) -> int:
        return int(self._one("int()"))

    def __format__(self, spec: str) -> str:
        return format(self._one(f"the format {spec!r}"), spec) if spec else str(self)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """``np.asarray(v)`` gives the data (a copy: changing it does not change the Value)."""
        note_read(self, "np.asarray()")
        return np.array(self._data, dtype=dtype)
