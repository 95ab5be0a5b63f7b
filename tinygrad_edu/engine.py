"""The computation graph and reverse-mode autodiff.

A ``Value`` holds a number (a Python float) or a float64 numpy array, the gradient of
the final result with respect to it (``.grad``), and how it was made: the operation
(one of the small classes in ``ops.py``) and its one or two inputs.

``backward()`` is the chain rule applied to the whole graph, in two steps:

1. ``toposort``: list the nodes so that every node comes before the nodes it was made
   from (the result first, the leaves last);
2. ``backprop``: walk that list. When a node is reached, every use of it has already
   reported, so its gradient is complete; its op's ``backward`` turns it into one
   gradient per input (upstream gradient times local derivative), which is added to
   what those inputs have received so far.

Read this file from the top: ``Value``, then ``toposort`` and ``backprop``, then
``apply`` (how an op becomes a node). Then gradients of gradients: ``ValueMath`` (the
functions an op's backward uses, as nodes) and ``grad``. The plumbing
(checking data, the no_grad and anomaly switches, retries) is at the end.
"""

from __future__ import annotations

import contextlib
import functools
import numbers
import os
import sys
import threading
from collections.abc import Callable

import numpy as np

from tinygrad_edu import arguments, ops


def quietly(fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)`` with numpy's floating-point warnings off (overflow, log of a negative):
    nan and inf propagate quietly, as in PyTorch; ``detect_anomaly()`` is the way to find where they start."""
    token = _NUMPY_ERRORS.set(_IGNORE_ALL)
    try:
        return fn(*args, **kwargs)
    finally:
        _NUMPY_ERRORS.reset(token)


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
    from numpy._core._ufunc_config import _extobj_contextvar as _NUMPY_ERRORS
    from numpy._core.umath import _make_extobj

    _IGNORE_ALL = _make_extobj(all="ignore")
except ImportError:  # numpy 1.x
    _NUMPY_ERRORS, _IGNORE_ALL = _Seterr, None


class Value:
    """A node of the computation graph: a scalar or a tensor, its gradient, and where it came from.

    (``viz.py`` teaches Jupyter to show a Value as its graph.)
    """

    __slots__ = ("_data", "_grad", "label", "_a", "_b", "requires_grad", "_operation", "_kwargs", "_site",
                 "__weakref__")  # fmt: skip
    __array_ufunc__ = None  # numpy defers to us: ndarray + Value calls Value.__radd__

    def __init__(self, data, label: str = "", requires_grad: bool = True):
        if not isinstance(label, str):
            raise TypeError(f"label must be a string, got {type(label).__name__} {label!r}")
        self._data = _as_data(data)
        self._grad = None  # dL/d(self), filled by backward()
        self.label = label
        self._a = self._b = None  # the inputs this node was made from (None for a leaf)
        self.requires_grad = bool(requires_grad)
        self._operation = None  # the ops.Op class that made it
        self._kwargs = _NO_KWARGS  # that op's settings, such as axis=0

    # ------------------------------------------------------------ backward

    def backward(self, grad=None, create_graph: bool = False) -> None:
        """Reverse-mode autodiff: add d(self)/d(node) * grad into every node's .grad.

        ``grad`` is dL/d(self); it defaults to 1 for a one-element result.  Each node's
        gradient is complete once all the nodes made from it are done, which the topological
        order guarantees; then its op's backward passes the gradient on to its inputs.
        With ``create_graph=True`` every ``.grad`` is a Value with a graph of its own (made by
        the ops' backwards), so it can be differentiated again: ``x.grad.backward()``.
        """
        _need_graph(self, "backward()")
        seed = _named_seed(self, grad) if create_graph else self._seed(grad._data if isinstance(grad, Value) else grad)
        for node, g in backprop(self, seed, graph=create_graph).items():
            node.accumulate_grad(g)

    def _seed(self, grad):
        """The gradient a backward pass starts from: ``grad`` checked, or 1 for a one-element Value."""
        if grad is None:
            if self._data.__class__ is float:
                return 1.0
            if self._data.size == 1:
                return np.ones(self.shape)
            raise ValueError(
                f"backward() on a non-scalar Value of shape {self.shape} needs grad= "
                "(dL/d(this), same shape), or reduce it first, e.g. .sum()"
            )
        if not isinstance(grad, Value):
            grad = _as_data(grad, "grad")
        if _shape(grad) != self.shape:  # (a Value's shape too)
            raise ValueError(f"backward grad has shape {_shape(grad)}, but this Value has shape {self.shape}")
        return grad

    @property
    def data(self):
        """The numbers: a Python float for a scalar, else a float64 numpy array (may be assigned)."""
        if _open_blocks and _modes.reads is not None and not _called_from_package():  # compile's trace: the
            _modes.reads.notes.append(f".data of {self.label or 'a value'} of shape {self.shape}")  # user's code
        return self._data  # reads numbers, which a trace cannot follow

    @data.setter
    def data(self, value) -> None:
        self._data = value

    @property
    def grad(self):
        """dL/d(self), same shape as data; zeros until a backward pass reaches this node."""
        if self._grad is None:
            return 0.0 if self._data.__class__ is float else np.zeros(self._data.shape)
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is None:
            self._grad = None
            return
        g = _as_data(value, "grad")
        if _shape(g) != self.shape:
            g = np.broadcast_to(g, self.shape).copy() if np.ndim(g) == 0 else g
            if _shape(g) != self.shape:
                raise ValueError(f"grad of shape {_shape(g)} does not match Value of shape {self.shape}")
        self._grad = g

    def zero_grad(self) -> None:
        self._grad = None

    # ------------------------------------------------------------ arithmetic (the math of each op is in ops.py)

    def __add__(self, other) -> Value:
        return apply(ops.Add, self, other)

    def __radd__(self, other) -> Value:
        return apply(ops.Add, other, self)

    def __sub__(self, other) -> Value:
        return apply(ops.Sub, self, other)

    def __rsub__(self, other) -> Value:
        return apply(ops.Sub, other, self)

    def __mul__(self, other) -> Value:
        return apply(ops.Mul, self, other)

    def __rmul__(self, other) -> Value:
        return apply(ops.Mul, other, self)

    def __truediv__(self, other) -> Value:
        return apply(ops.Div, self, other)

    def __rtruediv__(self, other) -> Value:
        return apply(ops.Div, other, self)

    def __pow__(self, other) -> Value:
        if other.__class__ is float or other.__class__ is int:
            return apply(ops.PowConst, self, p=other)
        if isinstance(other, numbers.Real):
            return apply(ops.PowConst, self, p=float(other))
        if other is None or isinstance(other, (str, bytes)):
            raise _unsupported(ops.Pow, self, other, "exponent must be a real number or a Value, "
                               f"got {type(other).__name__} {other!r}")  # fmt: skip
        return _power(self, other)

    def __rpow__(self, other) -> Value:
        return _power(other, self)

    pow = __pow__  # PyTorch's name: x.pow(p)

    def __neg__(self) -> Value:
        return apply(ops.Neg, self)

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
        result = fn(self._data, other._data if isinstance(other, Value) else _as_data(other, "operand"))
        if _shape(result) != self.shape:
            raise ValueError(f"an in-place update cannot change the shape: this Value has shape {self.shape}, "
                             f"the result {np.shape(result)}")  # fmt: skip
        if self._data.__class__ is float:
            self._data = float(result)
        else:
            self._data[...] = result
        return self

    def __matmul__(self, other) -> Value:
        b = _operand(ops.MatMul, other, self, other)
        return apply(ops.MatMul, self, b, needs=(self.requires_grad, b.requires_grad))

    def __rmatmul__(self, other) -> Value:
        a = _operand(ops.MatMul, other, other, self)
        return apply(ops.MatMul, a, self, needs=(a.requires_grad, self.requires_grad))

    # ------------------------------------------------------------ elementwise functions

    def exp(self) -> Value:
        return apply(ops.Exp, self)

    def log(self) -> Value:
        return apply(ops.Log, self)

    def sqrt(self) -> Value:
        return apply(ops.Sqrt, self)

    def abs(self) -> Value:
        return apply(ops.Abs, self)

    __abs__ = abs

    def tanh(self) -> Value:
        return apply(ops.Tanh, self)

    def sigmoid(self) -> Value:
        return apply(ops.Sigmoid, self)

    def relu(self) -> Value:
        return apply(ops.ReLU, self)

    def leaky_relu(self, alpha: float = 0.01) -> Value:
        return apply(ops.LeakyReLU, self, alpha=arguments.real("leaky_relu alpha", alpha))

    def softplus(self) -> Value:
        return apply(ops.Softplus, self)

    def gelu(self, approximate: str = "none") -> Value:
        """x Phi(x), exact (erf) as PyTorch's default; ``approximate="tanh"`` for the tanh form."""
        return apply(ops.GELU, self) if approximate == "none" else apply(ops.GELU, self, approximate=approximate)

    def step(self) -> Value:
        return apply(ops.Step, self)

    def clip(self, lo: float | None = None, hi: float | None = None) -> Value:
        lo = -np.inf if lo is None else arguments.real("clip lo", lo, finite=False)
        hi = np.inf if hi is None else arguments.real("clip hi", hi, finite=False)
        if lo > hi:
            raise ValueError(f"clip needs lo <= hi, got lo={lo}, hi={hi}")
        return apply(ops.Clip, self, lo=lo, hi=hi)

    # ------------------------------------------------------------ reductions

    def sum(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> Value:
        """Sum over ``axis`` (an int, a tuple, or None for all); ``dim``/``keepdim`` are PyTorch's names."""
        return self._reduce(ops.Sum, axis, keepdims, dim, keepdim)

    def mean(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> Value:
        return self._reduce(ops.Mean, axis, keepdims, dim, keepdim)

    def max(self, axis=None, keepdims: bool = False, *, dim=None, keepdim: bool | None = None) -> Value:
        return self._reduce(ops.Max, axis, keepdims, dim, keepdim)

    def _reduce(self, op: type[ops.Op], axis, keepdims: bool, dim, keepdim) -> Value:
        axis = arguments.axes(op.name, arguments.either(op.name, "axis", axis, "dim", dim), self.shape)
        keepdims = arguments.flag(f"{op.name} keepdims", keepdims)
        if keepdim is not None:
            keepdim = arguments.flag(f"{op.name} keepdim", keepdim)
            keepdims = arguments.either(op.name, "keepdims", keepdims or None, "keepdim", keepdim)
        return apply(op, self, axis=axis, keepdims=keepdims)

    def softmax(self, axis: int = -1, *, dim: int | None = None) -> Value:
        self._need_dims("softmax")
        axis = arguments.either("softmax", "axis", None if axis == -1 else axis, "dim", dim)
        return apply(ops.Softmax, self, axis=arguments.axis("softmax", -1 if axis is None else axis, self.shape))

    def log_softmax(self, axis: int = -1, *, dim: int | None = None) -> Value:
        self._need_dims("log_softmax")
        axis = arguments.either("log_softmax", "axis", None if axis == -1 else axis, "dim", dim)
        return apply(ops.LogSoftmax, self, axis=arguments.axis("log_softmax", -1 if axis is None else axis,
                                                              self.shape))  # fmt: skip

    # ------------------------------------------------------------ shape and indexing

    def reshape(self, *shape) -> Value:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = tuple(arguments.integer("reshape size", n, low=-1) for n in shape)
        return apply(ops.Reshape, self, shape=shape)

    def transpose(self, *axes) -> Value:
        """Reorder the axes (numpy's meaning): ``transpose(1, 0)``, ``transpose(-1, 0)``; none reverses them."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return apply(ops.Transpose, self, axes=arguments.permutation("transpose", axes, self.shape) if axes else None)

    view = reshape  # PyTorch's name

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
            raise ValueError(f"broadcast_to: shape {self.shape} cannot be broadcast to {shape} "
                             "(each axis must match or be 1, and axes can only be added in front)")  # fmt: skip
        return apply(ops.BroadcastTo, self, shape=shape)

    expand = broadcast_to  # PyTorch's name

    @property
    def T(self) -> Value:
        return self.transpose()

    def __getitem__(self, index) -> Value:
        self._need_dims("indexing")
        if _open_blocks and _modes.reads is not None:  # compile's trace: an argument used as the index is followed
            index = _followed_index(index)
        return apply(ops.Index, self, index=index)

    def _need_dims(self, what: str) -> None:
        if self._data.__class__ is float:
            raise TypeError(f"{what} needs a Value with at least one dimension, got a scalar (shape ())")

    # ------------------------------------------------------------ attributes

    @property
    def parents(self) -> tuple[Value, ...]:
        """The Values this node was made from: () for a leaf or a constant, else one or two inputs."""
        a, b = self._a, self._b
        return () if a is None else (a,) if b is None else (a, b)

    @property
    def op(self) -> str:
        """Name of the operation that made this node; "" for leaves."""
        return self._operation.name if self._operation is not None else ""

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

    def accumulate_grad(self, g) -> None:
        """Add ``g`` (dL/d(self) from one backward pass) into ``.grad``: gradients accumulate until cleared."""
        self._grad = g if self._grad is None else self._grad + g

    @property
    def shape(self) -> tuple:
        return _shape(self._data)

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

    @quiet
    def chain_rule(self) -> None:
        """One node's share of backprop, as done by hand in the lecture: add ``self.grad`` times the local
        derivative into each input's ``.grad`` (d(self)/d(input), from this node's op).

        ``backward()`` is this step for every node, outputs first; calling it yourself, node by node
        in that order after setting the output's ``grad = 1.0``, gives the same gradients.
        """
        op = self._operation
        if op is None:
            return
        parents = self.parents
        grads = op.backward(self.grad, self._data, *[p._data for p in parents], **self._kwargs)
        for i, (p, gp) in enumerate(zip(parents, (grads,) if len(parents) == 1 else grads)):
            if p.requires_grad:
                p.grad = p.grad + _reduce_broadcast_named(gp, p._data, op, i, p, self._data)

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
        return _MICROGRAD_SYMBOLS.get(op.name, op.name)

    # ------------------------------------------------------------ PyTorch's manners

    def detach(self) -> Value:
        """The same numbers as a new constant, cut from the graph."""
        self._read("detach()")
        out = Value(self._data, requires_grad=False)
        out._kwargs = _DETACHED  # so that backward() on it can say why it has no graph
        return out

    def numpy(self) -> np.ndarray:
        """The data as a numpy array (a copy)."""
        self._read("numpy()")
        return np.array(self._data)

    def tolist(self):
        """The data as (nested) Python lists of floats, or a float."""
        self._read("tolist()")
        return self._data if self._data.__class__ is float else self._data.tolist()

    def size(self, dim: int | None = None):
        """The shape (PyTorch's ``size()``), or the length of one axis."""
        return self.shape if dim is None else self.shape[arguments.axis("size", dim, self.shape)]

    def dim(self) -> int:
        """The number of axes (PyTorch's ``dim()``)."""
        return self.ndim

    def float(self) -> Value:
        """The Value itself: its data is float64 already (PyTorch's ``(pred > 0.5).float()`` works as is)."""
        return self

    def _compare(self, other, fn) -> Value:
        """A comparison as a constant of 0.0/1.0 (no graph: it has no derivative), as ``pred > 0.5`` in PyTorch."""
        self._read(f"a comparison ({fn.__name__})")
        if isinstance(other, Value):
            other._read(f"a comparison ({fn.__name__})")
            other = other._data
        result = fn(self._data, other)
        return Value(float(result) if np.ndim(result) == 0 else result.astype(np.float64), requires_grad=False)

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
            return f"Value(data={self._data!r}, grad={self.grad!r}{label})"
        return f"Value(shape={self.shape}, data={np.array2string(self._data, threshold=12, precision=4)}{label})"

    def __len__(self) -> int:
        if self._data.__class__ is float:
            raise TypeError("len() of a scalar Value (shape ())")
        return len(self._data)

    # ------------------------------------------------------------ Python and numpy manners

    def _one(self, what: str) -> float:
        """The single number this Value holds, for ``what`` (bool(), float(), a format spec)."""
        self._read(what)
        if self._data.__class__ is float:
            return self._data
        if self._data.size != 1:
            raise ValueError(f"{what} needs a Value with one element, this one has shape {self.shape} "
                             f"({self._data.size} elements)")  # fmt: skip
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
        self._read("np.asarray()")
        return np.array(self._data, dtype=dtype)

    def _read(self, what: str) -> None:
        """Inside ``note_reads()``, note that the numbers of a Value with a gradient (or of an argument of the
        traced function) left the graph."""
        if _open_blocks and _modes.reads is not None and (self.requires_grad or self._operation is not None
                                                         or id(self) in _modes.reads.values):  # fmt: skip
            _modes.reads.notes.append(f"{what} of {self.label or 'a value'} of shape {self.shape}")


# ---------------------------------------------------------------- the backward pass


def toposort(root: Value) -> list[Value]:
    """The nodes that lead to ``root``, each placed before every node it was made from.

    A depth-first walk with an explicit stack (no recursion, so any depth works): the node
    on top waits while an input of it is unlisted, and is listed once both inputs are;
    reversed, that list puts every node before its inputs.
    """
    order, seen, stack = [], {root, None}, [root]  # None (a missing input) counts as seen
    while stack:
        node = stack[-1]
        if node._a not in seen:
            seen.add(node._a)
            stack.append(node._a)
        elif node._b not in seen:
            seen.add(node._b)
            stack.append(node._b)
        else:
            order.append(stack.pop())
    order.reverse()
    return order


@quiet
def backprop(root: Value, grad, on_edge: Callable | None = None, *, graph: bool = False,
             wanted: list[Value] | None = None, data: Callable | None = None,
             backward: Callable | None = None) -> dict[Value, object]:  # fmt: skip
    """One reverse-mode pass from ``root`` (whose gradient is ``grad``): dL/d(node) for every node reached.

    Visits nodes in topological order, root first, so that a node's gradient is complete (all its uses
    have reported) before its op's backward passes it on to the op's inputs. Nothing is written into
    ``.grad``: ``backward()`` adds what this returns. One loop serves every reader of the derivatives,
    which differ only in what an op's backward is given for a node:

    * its numbers (the default): the gradients are numbers, for training;
    * with ``graph=True`` the node itself, so the ops' backwards build graph nodes and each gradient is a
      Value that can be differentiated again (``create_graph=True``, ``grad()``);
    * ``data(node)``, whatever that returns: ``compile`` gives symbols that write code, and runs each op's
      backward itself (``backward(node, args)``: the op on symbols, or a line that calls it).

    ``wanted``: only gradients on a path to these nodes are computed. ``on_edge(node, i, contribution,
    total_so_far)`` is called for every input ``node.parents[i]`` that receives a gradient, for tools that
    show the chain rule at work.
    """
    order = toposort(root)
    leads = None if wanted is None else leading_to(order, wanted)  # gradients elsewhere are not built
    pending = {root: grad}  # gradients arriving in this pass, summed per node
    done = {}
    take, get = pending.pop, pending.get
    anomaly = _open_blocks and _modes.anomaly
    watch = on_edge is not None or anomaly
    numbers = not graph and data is None
    for node in order:
        g = take(node, None)  # dL/d(node), complete: every node made from it came earlier
        if g is None:
            continue
        done[node] = g
        op = node._operation
        if op is None:  # a leaf: nothing to pass on
            continue
        a, b, kwargs = node._a, node._b, node._kwargs
        if numbers:
            args = (g, node._data, a._data) if b is None else (g, node._data, a._data, b._data)
        elif data is None:  # the graph's own nodes: what the backward computes is recorded as a graph
            args = (g, node, a) if b is None else (g, node, a, b)
            if not g.requires_grad and g._operation is None:  # a gradient that depends on nothing requiring
                g._kwargs = _CONSTANT_GRADIENT  # grad (x * 2's): say so if someone differentiates it again
        else:
            args = (g, data(node), data(a)) if b is None else (g, data(node), data(a), data(b))
        try:  # the chain rule, locally: dL/d(input) = dL/d(node) * d(node)/d(input)
            if backward is None:
                grads = op.backward(*args, **kwargs) if kwargs else op.backward(*args)
            else:
                grads = backward(node, args)
        except (ArithmeticError, ValueError) as e:
            if not numbers:
                raise
            grads = _retry(op.backward, args, kwargs, e, op)
        if b is None:
            parents, grads = (a,), (grads,)
        else:
            parents = (a, b)
        for i, p in enumerate(parents):
            gp = grads[i]
            if gp is None or not p.requires_grad or (leads is not None and id(p) not in leads):
                continue
            like = p._data
            if not numbers:
                gp = _reduce_broadcast_named(as_value(gp) if graph else gp, like, op, i, p, node._data)
            elif like.__class__ is float:
                if gp.__class__ is not float:
                    gp = _reduce_broadcast_named(gp, like, op, i, p, node._data)
            elif gp.__class__ is not np.ndarray or gp.shape != like.shape:
                gp = _reduce_broadcast_named(gp, like, op, i, p, node._data)
            elif gp is g or gp.base is not None or (i and gp is grads[0]):
                gp = gp.copy()  # passed through, a view, or given to both inputs: every .grad is an array of its own
            before = get(p)
            pending[p] = gp if before is None else before + gp  # a node used twice gets both contributions
            if watch:
                if anomaly and data is None:
                    _check_finite("backward", gp._data if graph else gp, op, parents, node.site)
                if on_edge is not None:
                    on_edge(node, i, gp, pending[p])
    return done


def reduce_broadcast(g, like):
    """Sum a gradient over the axes that broadcasting added or stretched, back to the shape of ``like``.

    If x of shape (3, 1) was added to y of shape (4,), the output is (3, 4); each x[i, 0]
    was used 4 times, so its gradient is the sum of those 4 upstream gradients.  Only what
    broadcasting explains is summed: a gradient of any other shape is a bug in the op that
    made it, and raises ValueError.
    """
    if g.__class__ is Value or hasattr(g, "_math"):  # a node (create_graph) or compile's symbol: the same sums,
        # as Sum nodes, which can be differentiated, or as code
        added, stretched = broadcast_axes(g.shape, _shape(like))
        g = g.sum(axis=added) if added else g
        return g.sum(axis=stretched, keepdims=True) if stretched else g
    if like.__class__ is float:  # a scalar broadcasts to any shape
        return g if g.__class__ is float else float(np.add.reduce(g, axis=None))
    g = np.asarray(g, dtype=np.float64)
    if g.shape == like.shape:
        return g
    added, stretched = broadcast_axes(g.shape, like.shape)
    if added:  # axes added in front: (16,) + (100, 16) made (100, 16)
        g = np.add.reduce(g, axis=added)
    return np.add.reduce(g, axis=stretched, keepdims=True) if stretched else g


def broadcast_axes(shape: tuple, original: tuple) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The axes broadcasting added in front of ``original`` to make ``shape``, and the size-1 axes it stretched."""
    extra = len(shape) - len(original)
    if extra < 0 or any(n != 1 and n != m for n, m in zip(original, shape[extra:])):
        raise ValueError(f"a gradient of shape {shape} is not a broadcast of the input's shape {original}")
    return tuple(range(extra)), tuple(i for i, n in enumerate(original) if n == 1 and shape[extra + i] != 1)


# ---------------------------------------------------------------- the forward pass: an op becomes a node


def apply(op: type[ops.Op], a, b=None, *more, **kwargs) -> Value:
    """Run ``op`` forward on its input ``a`` (and ``b`` for a binary op) and record the result as a node.

    Numbers and arrays become constants; ``kwargs`` are the op's settings (``axis=0``), kept for
    its backward. The new node joins the graph when an input needs a gradient (and no_grad is off).
    """
    if more:
        raise TypeError(f"{op.name} got {2 + len(more)} inputs; an op takes one or two")
    if a.__class__ is not Value:
        a = _operand(op, a, a, b)
    try:
        if b is None:
            track = a.requires_grad
            if a._data.__class__ is float:  # Python's floats raise instead of warning (handled below)
                data = op.forward(a._data, **kwargs) if kwargs else op.forward(a._data)
            else:  # numpy's warnings off (quietly, written out: this is the hot path): nan/inf propagate
                token = _NUMPY_ERRORS.set(_IGNORE_ALL)  # quietly, as in PyTorch
                try:
                    data = op.forward(a._data, **kwargs) if kwargs else op.forward(a._data)
                finally:
                    _NUMPY_ERRORS.reset(token)
        else:
            if b.__class__ is not Value:
                b = _operand(op, b, a, b)
            track = a.requires_grad or b.requires_grad
            if a._data.__class__ is float and b._data.__class__ is float:
                data = op.forward(a._data, b._data, **kwargs) if kwargs else op.forward(a._data, b._data)
            else:
                token = _NUMPY_ERRORS.set(_IGNORE_ALL)
                try:
                    data = op.forward(a._data, b._data, **kwargs) if kwargs else op.forward(a._data, b._data)
                finally:
                    _NUMPY_ERRORS.reset(token)
    except (ArithmeticError, ValueError) as e:
        data = _retry(op.forward, (a._data,) if b is None else (a._data, b._data), kwargs, e, op)
    except TypeError:
        if b is None and op.arity == 2:  # x + None: the None was taken for "no second input"
            raise _unsupported(op, a, None, "None is not a number") from None
        raise
    out = Value.__new__(Value)  # skips __init__'s checks: the data is already clean
    out._data = data if data.__class__ is float else _clean(data)
    out._grad = None
    out.label = ""
    if track and (not _open_blocks or _modes.grad_enabled):
        out._a, out._b, out._operation, out._kwargs, out.requires_grad = a, b, op, kwargs or _NO_KWARGS, True
    elif _open_blocks and _modes.reads is not None:  # compile's trace: constants made of the arguments (X[:, r]
        # of an argument X) or of parameters under no_grad are recorded too, so the compiled step computes them anew
        out._a, out._b, out._operation, out._kwargs, out.requires_grad = a, b, op, kwargs or _NO_KWARGS, False
    else:  # a constant; its unused _kwargs say why, for backward()'s error
        out._a, out._b, out._operation, out.requires_grad = None, None, None, False
        in_no_grad = track or a._kwargs is _MADE_IN_NO_GRAD or (b is not None and b._kwargs is _MADE_IN_NO_GRAD)
        out._kwargs = _MADE_IN_NO_GRAD if in_no_grad else _MADE_FROM_CONSTANTS
    if _open_blocks and _modes.sites:
        out._site = _creation_site()
        if _modes.anomaly:
            _check_finite("forward", out._data, op, (a,) if b is None else (a, b), out._site)
    return out


def _power(x, y) -> Value:
    """x ** y with a Value (or array) exponent: d/dy needs x >= 0, so a negative base is refused only
    when y will get a gradient (PyTorch gives nan there; a constant y is fine)."""
    x, y = _operand(ops.Pow, x, x, y), _operand(ops.Pow, y, x, y)
    on = not _open_blocks or _modes.grad_enabled
    return apply(ops.Pow, x, y, needs=(on and x.requires_grad, on and y.requires_grad))


def _operand(op: type[ops.Op], x, a, b) -> Value:
    """``as_value(x)`` for an input of ``op`` (whose operands are a and b): for a binary op an operand
    that is not data (None, a string) gives Python's own TypeError naming both types."""
    try:
        return as_value(x)
    except TypeError as e:
        raise (_unsupported(op, a, b, str(e)) if op.arity == 2 else e) from None


def _unsupported(op: type[ops.Op], a, b, why: str) -> TypeError:
    """``Value + None``: the TypeError Python gives for operand types that do not go together, and why."""
    names = [type(x).__name__ for x in (a, b)]
    symbol = _SYMBOLS.get(op.name, op.name)
    return TypeError(f"unsupported operand type(s) for {symbol}: '{names[0]}' and '{names[1]}' ({why})")


def as_value(x) -> Value:
    """x itself if it is a Value, else a constant Value (no gradient) holding it."""
    if x.__class__ is Value:
        return x
    if x.__class__ is float:  # the common constant: skip validation
        c = Value.__new__(Value)
        c._data, c._grad, c.label, c.requires_grad, c._operation, c._kwargs = x, None, "", False, None, _NO_KWARGS
        c._a = c._b = None
        return c
    return x if isinstance(x, Value) else Value(x, requires_grad=False)


# ---------------------------------------------------------------- gradients of gradients


class ValueMath:
    """The functions an op's backward uses (``ops.math_for``), for Values: each one makes graph nodes.

    So when ``backprop(graph=True)`` runs a backward on the graph's own nodes, the gradient it returns
    is a Value with a graph of its own, and can be differentiated again (as DeZero does).
    """

    @staticmethod
    def exp(x: Value) -> Value:
        return apply(ops.Exp, x)

    @staticmethod
    def log(x: Value) -> Value:
        return apply(ops.Log, x)

    @staticmethod
    def tanh(x: Value) -> Value:
        return apply(ops.Tanh, x)

    @staticmethod
    def power(x: Value, p) -> Value:
        return x**p

    @staticmethod
    def where(cond, a, b) -> Value:
        return where(cond, a, b)

    @staticmethod
    def zeros_like(x: Value) -> Value:
        return Value(np.zeros(x.shape) if x.shape else 0.0, requires_grad=False)

    @staticmethod
    def reshape(x: Value, shape: tuple) -> Value:
        return apply(ops.Reshape, x, shape=tuple(shape))

    @staticmethod
    def transpose(x: Value, axes: tuple | None = None) -> Value:
        return apply(ops.Transpose, x, axes=axes)

    @staticmethod
    def sum(x: Value, axis=None, keepdims: bool = False) -> Value:
        return apply(ops.Sum, x, axis=axis, keepdims=keepdims)

    @staticmethod
    def broadcast_to(x: Value, shape: tuple) -> Value:
        return apply(ops.BroadcastTo, x, shape=tuple(shape))

    apply = staticmethod(apply)


Value._math = ValueMath  # what ops.math_for(value) returns


def where(cond, a, b) -> Value:
    """``a`` where ``cond`` is nonzero, ``b`` elsewhere (torch.where). ``cond`` is a constant: comparisons
    such as ``x > 0`` give one; the gradient goes to whichever of a and b was picked."""
    mask = numbers_of(cond, bool)  # (compile's trace follows a mask given as an argument)
    a, b = as_value(a), as_value(b)
    if mask.ndim == 0 and a._data.__class__ is float and b._data.__class__ is float:
        return apply(ops.Where, a, b, mask=bool(mask))
    try:
        np.broadcast_shapes(mask.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(f"where: the condition {mask.shape}, a {a.shape} and b {b.shape} do not broadcast "
                         "together") from None  # fmt: skip
    return apply(ops.Where, a, b, mask=mask)


def grad_numbers(v: Value):
    """v's gradient as numbers: ``.grad``, or its data when ``backward(create_graph=True)`` made it a Value."""
    g = v.grad
    return g._data if g.__class__ is Value else g


def _named_seed(output: Value, grad_output) -> Value:
    """The starting gradient as a Value; the default 1 is named d(out)/d(out), so a drawn gradient says what it is."""
    seed = as_value(output._seed(grad_output))
    if grad_output is None and output.label:
        seed.label = f"d{output.label}/d{output.label}"
    return seed


def leading_to(order: list[Value], wanted: list[Value]) -> set[int]:
    """The ids of the nodes of ``order`` (a toposort) with a path down to one of ``wanted``, and of those."""
    leads = {id(w) for w in wanted}
    for node in reversed(order):  # inputs first: a node leads there when one of its inputs does
        if id(node._a) in leads or id(node._b) in leads:
            leads.add(id(node))
    return leads


def grad(output: Value, inputs, grad_output=None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple[Value, ...]:  # fmt: skip
    """d(output)/d(input) for each input, returned as Values and not added into ``.grad``
    (``torch.autograd.grad``).

    ``grad_output`` is dL/d(output) (1 for a one-element output).  With ``create_graph=True`` the
    gradients have graphs of their own, so ``grad`` can be applied to them again: second
    derivatives, Hessian-vector products, Newton's method.  An input the output does not depend
    on is an error, or gets zeros with ``allow_unused=True``.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: output must be a Value, got {type(output).__name__}")
    inputs = (inputs,) if isinstance(inputs, Value) else tuple(inputs)
    if not inputs:
        raise ValueError("grad: inputs is empty; pass the Values to differentiate by")
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"grad: input {i} must be a Value, got {type(x).__name__}")
        if not x.requires_grad:
            raise ValueError(f"grad: input {i} ({x.label or 'unnamed'}, shape {x.shape}) has requires_grad=False, "
                             "so it has no gradient")  # fmt: skip
    _need_graph(output, "grad()")
    seed = _named_seed(output, grad_output)
    with contextlib.nullcontext() if create_graph else no_grad():
        grads = backprop(output, seed, graph=True, wanted=list(inputs))
    result = []
    for i, x in enumerate(inputs):
        g = grads.get(x)
        if g is None:
            if not allow_unused:
                raise ValueError(f"grad: input {i} ({x.label or 'unnamed'}, shape {x.shape}) is not used to "
                                 "compute the output, so it has no gradient (allow_unused=True: zeros)")  # fmt: skip
            g = ValueMath.zeros_like(x)
        result.append(g)
    return tuple(result)


# ---------------------------------------------------------------- plumbing: switches, data checks, retries

_NO_KWARGS: dict = {}
# why a constant (requires_grad=False) is one, kept in its _kwargs, which only op nodes use (compared by identity)
_MADE_IN_NO_GRAD: dict = {}
_MADE_FROM_CONSTANTS: dict = {}
_DETACHED: dict = {}
_CONSTANT_GRADIENT: dict = {}
_MICROGRAD_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "relu": "ReLU"}
_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "** or pow()", "matmul": "@"}
_FLOAT64 = np.dtype(np.float64)
_PACKAGE = os.path.dirname(os.path.abspath(__file__))


class _Modes(threading.local):
    """This thread's switches; every thread starts with the defaults, as in PyTorch."""

    def __init__(self):
        self.grad_enabled = True  # switched off by no_grad()
        self.anomaly = False  # switched on by detect_anomaly()
        self.sites = False  # switched on by record_sites() (and detect_anomaly): new nodes note their line of code
        self.reads: list[str] | None = None  # set by note_reads(): where numbers left the graph
        self.saved: list[dict] = []  # what each open block switched, to put back when it ends


_modes = _Modes()
_open_blocks = 0  # mode blocks open in any thread; while 0 every thread has the defaults, and ops skip the lookup
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
        global _open_blocks
        _modes.saved.append({k: getattr(_modes, k) for k in self.changes})
        for k, v in self.changes.items():
            setattr(_modes, k, v)
        with _count_lock:
            _open_blocks += 1
        return self

    def __exit__(self, *exc) -> None:
        global _open_blocks
        for k, v in _modes.saved.pop().items():
            setattr(_modes, k, v)
        with _count_lock:
            _open_blocks -= 1

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
        if _open_blocks and _modes.reads is not None:
            _modes.reads.notes.append(f"{what} of the argument {self.name}")

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
            parts.append(":".join("" if v is None else repr(v) for v in (i.start, i.stop))
                         + ("" if i.step is None else f":{i.step!r}"))  # fmt: skip
        elif isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)):
            parts.append(repr(int(i)))
        else:
            return None
    return ", ".join(parts) if parts else "()"


def _unwrapped(items):
    return [_unwrapped(x) if isinstance(x, (list, tuple)) else x.array if x.__class__ is Argument else x
            for x in items]  # fmt: skip


def numbers_of(x, dtype=None, shape: tuple | None = None):
    """The numbers a caller gave (a loss's targets, labels, an index) as an array of ``dtype`` and ``shape``.

    Inside compile's trace it notes where they came from (an argument, a Value's data), so the compiled step
    reads them anew on every call rather than freezing them; a read of a Value that needs a gradient is noted.
    """
    source = x
    if x.__class__ is Argument:
        x = x.array
    elif isinstance(x, Value):
        if x.requires_grad or x._operation is not None:  # numbers of the graph (an argument's are followed)
            x._read("its numbers (as targets or labels)")
        x = x._data
    made = np.asarray(x, dtype=dtype)
    if shape is not None:
        made = made.reshape(shape)
    if _open_blocks and _modes.reads is not None:
        made = made.view(Followed)  # numpy on it is noted
        _modes.reads.came_from(made, source, ("as", dtype, shape))
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
    if _open_blocks and _modes.reads is not None and sys._getframe(2).f_code.co_filename not in _OP_FILES:
        _modes.reads.notes.append(what)


def item_of(numbers: np.ndarray, k: int | tuple = ()) -> float:
    """Element ``k`` of an array of numbers (one target per example; () for a 0-d array) as a float,
    followed by compile's trace."""
    made = float(numbers[k])
    if _open_blocks and _modes.reads is not None:
        _modes.reads.came_from(made, numbers, ("item", k))
    return made


def check(test: Callable, numbers) -> None:
    """Run ``test(numbers)`` (it raises on bad numbers: targets out of range, labels that are not classes).

    Inside compile's trace the check is recorded, so the compiled step makes it again on every call, with
    the same message. ``numbers`` is an array, a Value (its data is tested), or a list of scalar Values.
    """
    if isinstance(numbers, Value):
        test(numbers._data)
    elif isinstance(numbers, list):
        test(np.array([v._data for v in numbers]))
    else:
        test(np.asarray(numbers))  # (Followed numbers as a plain array: the test reads them, as is its job)
    if _open_blocks and _modes.reads is not None:
        _modes.reads.checks.append((test, numbers))


def _followed_index(index):
    """An index with every ``Argument`` in it taken through ``numbers_of`` (so compile's trace follows it)."""
    if index.__class__ is Argument:
        return numbers_of(index)
    if isinstance(index, tuple):
        return tuple(numbers_of(i) if i.__class__ is Argument else i for i in index)
    return index


def is_grad_enabled() -> bool:
    """False inside ``no_grad()`` (in this thread)."""
    return _modes.grad_enabled


def any_mode_open() -> bool:
    """True while a no_grad/detect_anomaly/record_sites block is open in any thread (else all are at defaults)."""
    return bool(_open_blocks)


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()`` (in this thread)."""
    return bool(_open_blocks) and _modes.anomaly


_OP_FILES = {ops.__file__, __file__}  # where numbers are computed with as the graph records them


def _called_from_package() -> bool:
    """True when the code that called the caller is this package's (not the user's)."""
    return os.path.abspath(sys._getframe(2).f_code.co_filename).startswith(_PACKAGE + os.sep)


def _creation_site() -> str:
    """The first line outside this package on the call stack: where the user's code made the node."""
    frame = sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _PACKAGE:
        frame = frame.f_back
    if frame is None:
        return "unknown"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


def _as_data(x, what: str = "Value data"):
    """Clean user data: a Python float for scalars, a float64 array (a copy) otherwise."""
    if x.__class__ is float:
        return x
    if x.__class__ is int:
        return float(x)
    if x.__class__ is np.ndarray and x.dtype.kind in "biuf" and x.ndim:
        data = x.astype(np.float64)  # one copy, so the caller's array is not shared
        if _open_blocks and _modes.reads is not None:
            _modes.reads.came_from(data, x, ("as", np.float64, None))
        return data
    if x.__class__ is Argument or x.__class__ is Followed:  # inside compile's trace: numbers given, followed
        given = numbers_of(x, np.float64)
        data = float(given) if given.ndim == 0 else np.array(given)  # a copy, as for any array
        _modes.reads.came_from(data, given, ("float",) if given.ndim == 0 else ("as", None, None))
        return data
    if isinstance(x, (bool, numbers.Real, np.bool_)) and not isinstance(x, np.ndarray):
        return float(x)
    if isinstance(x, Value):
        raise TypeError(f"{what} must be a number, list or numpy array, got a Value: pass the Value itself")
    if isinstance(x, (complex, numbers.Complex)):
        raise TypeError(f"{what} must be real, got the complex number {x!r}")
    if not isinstance(x, (list, tuple, np.ndarray)):
        raise TypeError(f"{what} must be a number, nested list or numpy array, got {type(x).__name__} {x!r}")
    if _holds_value(x):
        raise TypeError(f"{what} must be numbers, got a list holding Values: their data would be copied and the "
                        "graph cut; keep them as Values (at scalar granularity) or use their .data")  # fmt: skip
    try:
        arr = np.array(x)
    except ValueError as e:
        raise ValueError(f"{what} is a ragged nested list (rows of different lengths): {x!r}") from e
    if arr.dtype.kind not in "biuf":
        kind = {"c": "complex numbers", "U": "strings", "S": "bytes", "O": "objects such as None"}
        raise TypeError(f"{what} must hold real numbers, got {kind.get(arr.dtype.kind, arr.dtype)}: {x!r}")
    return float(arr) if arr.ndim == 0 else arr.astype(np.float64, copy=False)


def _holds_value(x) -> bool:
    """True if a (nested) list or tuple holds a Value anywhere."""
    stack = [x]
    while stack:
        item = stack.pop()
        if isinstance(item, Value):
            return True
        if isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


def _clean(x):
    """An op's raw output as Value data: numpy scalars and 0-d arrays become Python floats."""
    if x.__class__ is np.ndarray and x.dtype is _FLOAT64 and x.ndim:
        return x
    if x.__class__ is np.float64 or np.ndim(x) == 0:
        return float(x)
    return np.asarray(x, dtype=np.float64)


def _shape(x) -> tuple:
    return () if x.__class__ is float else x.shape


def _retry(fn, args, kwargs, error, op):
    """fn(*args) raised. Python floats raise where IEEE arithmetic gives inf/nan (1/0, log(0),
    exp(1000)): redo those in numpy float64. Other errors get the op's name and the shapes."""
    if all(a.__class__ is float for a in args):
        try:
            with np.errstate(all="ignore"):
                return fn(*map(np.float64, args), **kwargs)
        except (ArithmeticError, ValueError) as e:
            error = e
    if not isinstance(error, ValueError):
        raise error
    shapes = " and ".join(str(_shape(a)) for a in args)
    raise ValueError(f"{op.name} of shapes {shapes}: {error}") from None


def _reduce_broadcast_named(g, like, op: type[ops.Op], i: int, p: Value, out):
    """``reduce_broadcast`` of what op's backward returned for its input i, after checking it: it may be
    summed only over axes of the op's output (``out``), which broadcasting added or stretched; a gradient
    of any other shape is a bug in the backward, named with the op and the input."""
    shape, out_shape, problem = np.shape(g), _shape(out), None
    try:
        added, stretched = broadcast_axes(shape, _shape(like))
    except ValueError as e:
        problem = str(e)
    else:
        summed = added + tuple(len(added) + j for j in stretched)  # the axes of g that are summed away
        extra = len(out_shape) - len(shape)
        if summed and (extra < 0 or any(shape[k] != out_shape[extra + k] for k in summed)):
            problem = (f"a gradient of shape {shape} for an input of shape {_shape(like)}, but the op's output "
                       f"has shape {out_shape}: only axes of the output can be summed back")  # fmt: skip
    if problem:
        raise ValueError(f"the backward of {op.name} returned a wrong gradient for its input {i} "
                         f"({p.label or 'unnamed'}): {problem}")  # fmt: skip
    return reduce_broadcast(g, like)


def _need_graph(root: Value, what: str) -> None:
    """A backward pass from a constant reaches no gradient: say why, rather than leave every .grad at 0."""
    if root.requires_grad:
        return
    made = root._kwargs
    if made is _MADE_IN_NO_GRAD:
        why = "it was computed inside no_grad(), which records no graph; compute it outside that block"
    elif made is _MADE_FROM_CONSTANTS:
        why = ("it was computed only from Values with requires_grad=False (data, constants); make the leaves "
               "you want gradients for with requires_grad=True")  # fmt: skip
    elif made is _CONSTANT_GRADIENT:
        why = ("it is a gradient (from create_graph=True or grad()) that depends on no Value requiring grad: the "
               "derivative is constant there (as d(2x)/dx = 2), so its own derivative is zero")  # fmt: skip
    elif made is _DETACHED:
        why = "it was made by .detach(), which cuts it from the graph; call backward on the Value it came from"
    else:
        why = "it is a constant (requires_grad=False); make it with requires_grad=True to get its gradient"
    raise RuntimeError(f"{what} on a Value that does not require grad and has no graph, so no gradient can "
                       f"reach anything: {why} (PyTorch: element 0 of tensors does not require grad and does "
                       "not have a grad_fn)")  # fmt: skip


def _describe(values) -> str:
    return ", ".join(f"{v.label or 'unnamed'} {_shape(v._data)}" for v in values)


def _check_finite(what: str, data, op, inputs, site: str | None) -> None:
    if not np.all(np.isfinite(data)):
        where = f" (created at {site})" if site else ""
        raise FloatingPointError(f"{what} of {op.name}{where} produced nan/inf; inputs: {_describe(inputs)}")
