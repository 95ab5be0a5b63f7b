"""DeZero's ``dezero.functions`` (``import dezero.functions as F``): each one this engine's op, or a few of them.

The derivatives are the engine's own (``ops.py``), so DeZero's Function classes (``Sin``, ``Exp``...) are not
here: the functions are. Numbers and ndarrays are accepted wherever a Variable is, as in DeZero.
"""

from __future__ import annotations

import numpy as np

from tinygrad_edu import functional
from tinygrad_edu.dezero.core import Variable, as_variable
from tinygrad_edu.engine import reduce_broadcast

__all__ = [
    "square",
    "exp",
    "log",
    "sin",
    "cos",
    "tanh",
    "reshape",
    "transpose",
    "get_item",
    "expand_dims",
    "flatten",
    "sum",
    "sum_to",
    "broadcast_to",
    "average",
    "mean",
    "matmul",
    "linear",
    "linear_simple",
    "sigmoid",
    "sigmoid_simple",
    "relu",
    "leaky_relu",
    "softmax",
    "softmax_simple",
    "log_softmax",
    "mean_squared_error",
    "mean_squared_error_simple",
    "softmax_cross_entropy",
    "softmax_cross_entropy_simple",
    "accuracy",
    "max",
    "min",
    "clip",
]


def square(x) -> Variable:
    return as_variable(x) ** 2


def exp(x) -> Variable:
    return as_variable(x).exp()


def log(x) -> Variable:
    return as_variable(x).log()


def sin(x) -> Variable:
    return as_variable(x).sin()


def cos(x) -> Variable:
    return as_variable(x).cos()


def tanh(x) -> Variable:
    return as_variable(x).tanh()


def reshape(x, shape: tuple) -> Variable:
    """x with a new shape (the same Variable when the shape is already that)."""
    x = as_variable(x)
    return x if x.shape == tuple(shape) else x.reshape(shape)


def transpose(x, axes: tuple | None = None) -> Variable:
    """The axes reversed, or put in the order ``axes`` gives."""
    x = as_variable(x)
    return x.transpose() if axes is None else x.transpose(axes)


def get_item(x, slices) -> Variable:
    """``x[slices]``: the gradient goes back to the elements picked (added where one is picked twice)."""
    return as_variable(x)[slices]


def expand_dims(x, axis: int) -> Variable:
    x = as_variable(x)
    shape = list(x.shape)
    shape.insert(axis, 1)
    return reshape(x, tuple(shape))


def flatten(x) -> Variable:
    """Each row (first axis) as one vector: shape (N, -1)."""
    x = as_variable(x)
    return reshape(x, (x.shape[0], -1))


def sum(x, axis=None, keepdims: bool = False) -> Variable:
    return as_variable(x).sum(axis, keepdims)


def sum_to(x, shape: tuple) -> Variable:
    """x summed over the axes broadcasting would add or stretch to make ``shape`` from it: broadcast_to's
    gradient (and the other way round)."""
    x = as_variable(x)
    shape = tuple(shape)
    return x if x.shape == shape else reduce_broadcast(x, np.empty(shape) if shape else 0.0)


def broadcast_to(x, shape: tuple) -> Variable:
    x = as_variable(x)
    return x if x.shape == tuple(shape) else x.broadcast_to(shape)


def average(x, axis=None, keepdims: bool = False) -> Variable:
    return as_variable(x).mean(axis, keepdims)


mean = average


def matmul(x, W) -> Variable:
    return as_variable(x) @ W


def linear(x, W, b=None) -> Variable:
    """x @ W + b (b may be None): an affine layer."""
    t = matmul(x, W)
    return t if b is None else t + b


linear_simple = linear  # DeZero's two versions differ in memory use only


def sigmoid(x) -> Variable:
    return as_variable(x).sigmoid()


def sigmoid_simple(x) -> Variable:
    """1 / (1 + exp(-x)), written out: three ops where ``sigmoid`` is one."""
    x = as_variable(x)
    return 1 / (1 + exp(-x))


def relu(x) -> Variable:
    return as_variable(x).relu()


def leaky_relu(x, slope: float = 0.2) -> Variable:
    return as_variable(x).leaky_relu(slope)


def softmax(x, axis: int = 1) -> Variable:
    return as_variable(x).softmax(axis)


def softmax_simple(x, axis: int = 1) -> Variable:
    """exp(x) / sum(exp(x)) along ``axis``, written out (``softmax`` is one op, stable for large x)."""
    y = exp(x)
    return y / y.sum(axis=axis, keepdims=True)


def log_softmax(x, axis: int = 1) -> Variable:
    return as_variable(x).log_softmax(axis)


def mean_squared_error(x0, x1) -> Variable:
    """sum((x0 - x1)^2) / len(x0 - x1): divided by the number of rows, as DeZero's."""
    diff = as_variable(x0) - as_variable(x1)
    return (diff**2).sum() / len(diff)


mean_squared_error_simple = mean_squared_error


def softmax_cross_entropy(x, t) -> Variable:
    """-mean(log softmax(x)[i, t_i]) over the rows: one op (``functional.cross_entropy``), stable for any x."""
    t = t.data if isinstance(t, Variable) else t
    t = t if hasattr(t, "shape") else np.asarray(t)
    return functional.cross_entropy(as_variable(x), t.reshape(-1) if len(t.shape) > 1 else t)  # (compile follows t)


def softmax_cross_entropy_simple(x, t) -> Variable:
    """The same, written out: softmax, clipped away from 0, log, the label's column of each row, mean."""
    x = as_variable(x)
    t = np.asarray(t.data if isinstance(t, Variable) else t).astype(int)
    n = x.shape[0]
    log_p = log(clip(softmax(x), 1e-15, 1.0))
    return -1 * sum(log_p[np.arange(n), t]) / n


def accuracy(y, t) -> Variable:
    """The fraction of rows whose largest score is at the label (no gradient)."""
    y, t = as_variable(y), np.asarray(t.data if isinstance(t, Variable) else t)
    pred = y.data.argmax(axis=1).reshape(t.shape)
    return Variable(np.array((pred == t).mean()))


def max(x, axis=None, keepdims: bool = False) -> Variable:
    return as_variable(x).max(axis, keepdims)


def min(x, axis=None, keepdims: bool = False) -> Variable:
    return as_variable(x).min(axis, keepdims)


def clip(x, x_min: float, x_max: float) -> Variable:
    return as_variable(x).clip(x_min, x_max)


def __getattr__(name: str):
    raise AttributeError(f"tinygrad_edu.dezero.functions has no {name!r}; it has: {', '.join(__all__)}")
