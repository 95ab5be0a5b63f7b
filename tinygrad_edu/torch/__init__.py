"""The PyTorch a beginner's tutorial uses, on this engine: change the import, keep the code.

    import tinygrad_edu.torch as torch            # was: import torch
    import tinygrad_edu.torch.nn as nn            # was: import torch.nn as nn
    import tinygrad_edu.torch.optim as optim      # was: import torch.optim as optim

A tensor (``tensor.py``) is this package's ``Value`` with PyTorch's manners (``.grad`` None until a
backward, ``.data`` sharing the numbers, ``grad_fn``, hooks, freed graphs, PyTorch's printing), so
``viz.draw_graph(loss)``, ``trace_backward(loss)`` and ``gradcheck`` work on the model a tutorial builds.
The subset is documented in ``SUPPORTED``; any other name raises AttributeError listing it. ``dtype=``
takes ``torch.float``/``float32``/``float64``/``long``/``bool`` (a long tensor indexes, a bool one masks) and
the numbers stay float64 inside; ``device=`` only as "cpu" or ``torch.device("cpu")``.
"""

from __future__ import annotations

import builtins

import numpy as np

from tinygrad_edu import arguments
from tinygrad_edu import functional as F
from tinygrad_edu.engine import Value, where  # noqa: F401 (as they are)
from tinygrad_edu.modes import enable_grad, is_grad_enabled, no_grad  # noqa: F401 (as they are)
from tinygrad_edu.torch.tensor import Tensor, float64, int64, max_result, min_result, to_dtype
from tinygrad_edu.torch.tensor import bool_ as bool  # noqa: A001 (PyTorch's name)
from tinygrad_edu.torch.tensor import dtype as dtype  # (PyTorch's name; the dtype= parameters below shadow it)

# The dtype names: accepted where dtype= is; the numbers stay float64 (every float name is float64)
float = float32 = double = float16 = half = float64
long = int = int32 = int64
inference_mode = no_grad  # (nothing here is faster without a graph than no_grad already is)
SUPPORTED = (
    "tensor zeros ones randn rand linspace arange eye full zeros_like ones_like manual_seed no_grad is_grad_enabled "
    "relu sigmoid tanh exp log log2 log10 sin cos abs sqrt pow minimum maximum softmax sum mean max min argmax argmin "
    "where enable_grad set_grad_enabled inference_mode matmul all any "
    "allclose norm device Tensor dtype float float32 float64 double float16 half int int32 int64 long bool var std "
    "cat stack nn optim autograd dot normal accelerator set_default_device Generator randint multinomial utils"
).split()
SUPPORTED += ["flatten"]  # (the conv chapter's: images to rows for a Linear layer)
SUPPORTED += ["func"]  # (torch.func's jvp, jacfwd, jacrev, hessian: forward mode beside reverse)

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the numbers ``randn``, ``rand`` and the layers' initial weights draw from."""
    global _generator
    _generator = np.random.default_rng(arguments.seed(seed))


def generator() -> np.random.Generator:
    """The generator ``manual_seed`` seeded (nn's layers draw their weights from it too)."""
    return _generator


class device(str):
    """PyTorch's ``torch.device("cpu")``: the one device here (it equals the string "cpu")."""

    def __new__(cls, type: str = "cpu") -> device:
        if not (isinstance(type, str) and type == "cpu"):
            raise ValueError(f"only device 'cpu' is supported here, got {type!r}")
        return super().__new__(cls, type)

    @property
    def type(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return "device(type='cpu')"


class accelerator:
    """``torch.accelerator`` as tutorials ask it, to pick a device: none here, so they choose "cpu"."""

    @staticmethod
    def is_available() -> builtins.bool:
        return False

    @staticmethod
    def current_accelerator() -> None:
        return None


def set_default_device(device) -> None:
    """PyTorch's default device for new tensors: only "cpu" (or None, the default) here."""
    if not (device is None or isinstance(device, str) and device == "cpu"):
        raise ValueError(f"only device 'cpu' is supported here, got {device!r}")


def _make(data, requires_grad: bool, dtype, device, default=float64) -> Tensor:
    """A new tensor (its own numbers) of ``dtype``; ``default`` when none is given (a tensor's is its data's)."""
    if not (device is None or isinstance(device, str) and device == "cpu"):
        raise ValueError(f"only device='cpu' is supported here, got {device!r}")
    return Tensor(
        data.numbers if isinstance(data, Value) else data,
        requires_grad=arguments.flag("requires_grad", requires_grad),
        dtype=default if dtype is None else to_dtype(dtype),
    )


def _size(size) -> tuple[int, ...]:
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    return tuple(arguments.integer("size", n, low=0) for n in shape)


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor holding ``data`` (numbers, nested lists, a numpy array); a constant unless ``requires_grad``.
    Its dtype is the data's unless given: integers make a long tensor (an index), floats a float one."""
    return _make(data, requires_grad, dtype, device, default=None)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Value:
    return _make(np.zeros(_size(size)), requires_grad, dtype, device)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Value:
    return _make(np.ones(_size(size)), requires_grad, dtype, device)


def randn(*shape, size=None, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal numbers of that shape: ``randn(2, 3)``, ``randn((2, 3))``; ``randn(())`` is a 0-d tensor;
    drawn from ``generator`` (a ``torch.Generator``) when given, else from ``manual_seed``'s numbers."""
    if size is not None:
        if shape:
            raise TypeError("randn got the shape twice: give it as arguments or as size=, not both")
        shape = (size,)
    return _make(rng_of(generator).standard_normal(_size(shape)), requires_grad, dtype, device)


def normal(mean=0.0, std=1.0, size=None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Normal numbers: ``normal(0, 0.01, size=(2, 1))`` draws that shape with mean 0 and standard deviation 0.01;
    with a tensor as mean or std (and no size), one draw per element of their broadcast shape."""
    numbers = not isinstance(mean, (Value, np.ndarray)) and not isinstance(std, (Value, np.ndarray))
    if numbers and size is None:
        raise TypeError("normal() needs a size when mean and std are both numbers, e.g. normal(0, 1, (3, 2))")
    if not numbers and size is not None:
        raise TypeError("normal() takes a size only with a number mean and std; a tensor's shape gives it otherwise")
    m, s = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    if np.any(s < 0):
        raise RuntimeError(f"normal expects std >= 0.0, but found std {s.min():g}")
    try:
        shape = _size((size,)) if numbers else np.broadcast_shapes(m.shape, s.shape)
    except ValueError:
        raise RuntimeError(f"normal: mean of shape {m.shape} and std of shape {s.shape} do not broadcast") from None
    return _make(m + s * _generator.standard_normal(shape), requires_grad, dtype, device)


def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform numbers in [0, 1) of that shape (from ``generator`` when given)."""
    return _make(rng_of(generator).random(_size(size)), requires_grad, dtype, device)


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad: bool = False) -> Value:
    """The identity matrix: n by n (or n by m), ones on the diagonal, zeros elsewhere."""
    n = arguments.integer("eye n", n, low=0)
    m = n if m is None else arguments.integer("eye m", m, low=0)
    return _make(np.eye(n, m), requires_grad, dtype, device)


def full(size, fill_value: float, dtype=None, device=None, requires_grad: bool = False) -> Value:
    """A tensor of shape ``size`` with every element ``fill_value``: ``full((2, 3), 0.5)``."""
    value = arguments.real("full fill_value", fill_value, finite=False)
    return _make(np.full(_size((size,)), value), requires_grad, dtype, device)


def zeros_like(input, dtype=None, device=None, requires_grad: bool = False) -> Value:
    """Zeros of ``input``'s shape (a new constant: nothing of ``input`` is kept)."""
    return _make(np.zeros(np.shape(input)), requires_grad, dtype, device)


def ones_like(input, dtype=None, device=None, requires_grad: bool = False) -> Value:
    """Ones of ``input``'s shape (a new constant: nothing of ``input`` is kept)."""
    return _make(np.ones(np.shape(input)), requires_grad, dtype, device)


def linspace(start: float, end: float, steps: int, dtype=None, device=None, requires_grad: bool = False) -> Value:
    return _make(np.linspace(start, end, arguments.integer("steps", steps, low=0)), requires_grad, dtype, device)


def arange(
    start: float, end: float | None = None, step: float = 1, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """start, start + step, ... below end: a long tensor when all three are integers, as PyTorch."""
    values = np.arange(start, end, step) if end is not None else np.arange(start)
    return _make(values, requires_grad, dtype, device, default=None)


def _value(x) -> Tensor:
    return x if isinstance(x, Value) else Tensor(x)


class set_grad_enabled:
    """Switch the graph on or off now: called, for the rest of the thread; as a ``with`` block, until its end."""

    def __init__(self, mode: builtins.bool):
        self.block = (enable_grad if arguments.flag("set_grad_enabled mode", mode) else no_grad)()
        self.block.__enter__()  # switched at the call, as PyTorch's

    def __enter__(self) -> set_grad_enabled:
        return self

    def __exit__(self, *exc) -> None:
        self.block.__exit__(*exc)


def all(input) -> Tensor:
    """Whether every element is non-zero (a bool tensor: ``torch.all(a == b).item()``)."""
    return _value(input).all()


def any(input) -> Tensor:
    """Whether some element is non-zero (a bool tensor)."""
    return _value(input).any()


def abs(x) -> Tensor:
    return F.abs(x)


def sqrt(x) -> Tensor:
    return F.sqrt(x)


def pow(input, exponent) -> Tensor:
    """input ** exponent (a number or a tensor, on either side)."""
    return _value(input) ** exponent


def matmul(input, other) -> Value:
    """The matrix product ``input @ other`` (vectors and batches too, by PyTorch's rules)."""
    return _value(input) @ other


def dot(input, other) -> Value:
    """The sum of the products of two 1-D tensors of the same length (a 0-d tensor): ``torch.dot(x, x)``."""
    return _value(input).dot(other)


def norm(input) -> Value:
    """The 2-norm of all the elements, sqrt(sum(x**2)) (ops.Norm): its gradient is x / norm, 0 at x = 0."""
    return _value(input).norm()


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether every |input - other| <= atol + rtol * |other| (a Python bool: no graph)."""
    a, b = np.asarray(input, dtype=np.float64), np.asarray(other, dtype=np.float64)
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"allclose: shapes {a.shape} and {b.shape} do not broadcast") from None
    rtol = arguments.real("allclose rtol", rtol, low=0)
    atol = arguments.real("allclose atol", atol, low=0)
    return builtins.bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=arguments.flag("equal_nan", equal_nan)))


def relu(x) -> Value:
    return F.relu(x)


def sigmoid(x) -> Value:
    return F.sigmoid(x)


def tanh(x) -> Value:
    return F.tanh(x)


def exp(x) -> Value:
    return F.exp(x)


def log(x) -> Value:
    return F.log(x)


def log2(x) -> Value:
    return F.log2(x)


def log10(x) -> Value:
    return F.log10(x)


def sin(x) -> Value:
    return F.sin(x)


def cos(x) -> Value:
    return F.cos(x)


def maximum(input, other) -> Value:
    return F.maximum(input, other)


def minimum(input, other) -> Value:
    return F.minimum(input, other)


def softmax(x, dim: int) -> Value:
    return F.softmax(x, dim)


def sum(x, dim=None, keepdim: bool = False) -> Value:
    return F.sum(x, dim, keepdim)


def mean(x, dim=None, keepdim: bool = False) -> Value:
    return F.mean(x, dim, keepdim)


def var(x, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None) -> Value:
    return _value(x).var(dim, unbiased, keepdim, correction=correction)


def std(x, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None) -> Value:
    return _value(x).std(dim, unbiased, keepdim, correction=correction)


def cat(tensors, dim: int = 0) -> Value:
    return F.cat(tensors, dim)


def stack(tensors, dim: int = 0) -> Value:
    return F.stack(tensors, dim)


def flatten(input, start_dim: int = 0, end_dim: int = -1) -> Value:
    """Axes ``start_dim`` to ``end_dim`` joined into one: ``torch.flatten(x, 1)`` makes each image of a batch a row."""
    return nn.Flatten(start_dim, end_dim)(input)


def max(x, dim: int | None = None, keepdim: bool = False):
    """The largest element; with ``dim``, PyTorch's (values, indices) pair along that axis."""
    x = _value(x)
    if dim is None:
        return x.max()
    if isinstance(x, Tensor):
        return x.max(dim, keepdim)
    return max_result(x.max(dim=dim, keepdim=keepdim), argmax(x, dim, keepdim))


def min(x, dim: int | None = None, keepdim: bool = False):
    """The smallest element (a tie splits the gradient, as PyTorch's ``torch.min(x)`` and ``amin``); with
    ``dim``, PyTorch's (values, indices) pair along that axis (the values' gradient still split at a tie,
    as ``amin``'s, where PyTorch's ``min(x, dim)`` gives it all to the returned index)."""
    x = _value(x)
    if dim is None:
        return x.min()
    if isinstance(x, Tensor):
        return x.min(dim, keepdim)
    return min_result(x.min(dim=dim, keepdim=keepdim), argmin(x, dim, keepdim))


def argmin(x, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Where the smallest element is (a long tensor: an index has no gradient)."""
    return Tensor(np.argmin(np.asarray(x), axis=dim, keepdims=keepdim), dtype=int64)


def argmax(x, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Where the largest element is (a long tensor: an index has no gradient)."""
    return Tensor(np.argmax(np.asarray(x), axis=dim, keepdims=keepdim), dtype=int64)


def __getattr__(name: str):
    raise AttributeError(f"tinygrad_edu.torch has no {name!r}; this teaching subset supports: {', '.join(SUPPORTED)}")


from tinygrad_edu.torch import autograd as autograd  # noqa: E402
from tinygrad_edu.torch import func as func  # noqa: E402  (jvp, jacfwd, jacrev, hessian)
from tinygrad_edu.torch import nn as nn  # noqa: E402  (nn draws from the generator above)
from tinygrad_edu.torch import optim as optim  # noqa: E402
from tinygrad_edu.torch import utils as utils  # noqa: E402  (torch.utils.data draws from the generators above)

# Seeded randomness (torch.Generator and the draws that take generator=), from makemore's lectures.
from tinygrad_edu.torch.random import Generator, multinomial, randint, rng_of  # noqa: E402, F401 (as they are)
