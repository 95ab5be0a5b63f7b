"""PyTorch's tensor on this engine: a ``Value`` with PyTorch's manners, so tutorial code runs unchanged.

What differs from a plain ``Value`` is only what PyTorch users see:

* ``.grad`` is a tensor, and None until a backward pass reaches the tensor; only leaves (and tensors that
  called ``retain_grad()``) keep one, as in PyTorch; ``.data`` is a tensor sharing the numbers, so
  ``p.data -= lr * p.grad`` and ``x.grad.zero_()`` change them in place;
* ``grad_fn`` names the backward function that made a tensor (``<MulBackward0>``), with ``next_functions``;
* ``backward(gradient=, retain_graph=, create_graph=, inputs=)`` runs hooks (``register_hook``) and frees
  what the ops saved, so a second backward through the same graph is PyTorch's error unless
  ``retain_graph=True``;
* printing as PyTorch prints: ``tensor([1., 2.], requires_grad=True)``.

The numbers stay float64 inside; ``dtype`` is remembered for what it decides (indices, masks, printing).
The engine's own tools read ``.numbers``/``.gradient``, so pictures, gradcheck and compile work on these.
"""

from __future__ import annotations

import builtins
import gc
import numbers
import operator
import warnings
from collections import namedtuple

import numpy as np

from tinygrad_edu import modes, ops
from tinygrad_edu.checks import DETACHED, NO_KWARGS, as_data, fitting_grad, need_graph
from tinygrad_edu.engine import Value, apply, backprop, toposort
from tinygrad_edu.functional import flatten
from tinygrad_edu.modes import note_read
from tinygrad_edu.names import backward_name


class dtype:
    """A dtype name (``torch.float32``, ``torch.long``, ``torch.bool``): what a tensor's numbers stand for.
    The numbers themselves are float64 whatever the name (every float name is float64)."""

    def __init__(self, name: str, is_floating_point: bool):
        self.name, self.is_floating_point = name, is_floating_point

    def __repr__(self) -> str:
        return f"torch.{self.name}"


float64 = dtype("float64", True)
int64 = dtype("int64", False)
bool_ = dtype("bool", False)
FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they have already "
    "been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). "
    "Specify retain_graph=True if you need to backward through the graph a second time or if you need to access "
    "saved tensors after calling backward."
)
# The ops whose backward needs no saved numbers (PyTorch frees nothing for them, so a second backward works)
SAVES_NOTHING = {ops.Add, ops.Sub, ops.Neg, ops.Sum, ops.Mean, ops.Reshape, ops.Transpose, ops.BroadcastTo}
PRODUCTS = {ops.Mul, ops.MatMul}


OPERATORS = {np.add: operator.add, np.subtract: operator.sub, np.multiply: operator.mul, np.divide: operator.truediv,
             np.power: operator.pow, np.matmul: operator.matmul}  # fmt: skip


# The ops whose output keeps an integer or bool input's dtype (shapes, picks), and those whose output is long
# when every input is an integer (long or bool tensors, Python ints), as PyTorch's type promotion has it
KEEPS_DTYPE = {ops.Reshape, ops.Transpose, ops.Index, ops.BroadcastTo}
KEEPS_INTEGERS = {ops.Add, ops.Sub, ops.Mul, ops.Neg, ops.Abs, ops.Sum, ops.Max, ops.Min, ops.Maximum, ops.Minimum,
                  ops.PowConst}  # fmt: skip


def _kind(x) -> dtype:
    """What an operand counts as: a tensor its dtype, a Python int or integer array long, anything else float."""
    if isinstance(x, Value):
        return x.dtype if isinstance(x, Tensor) else float64
    return dtype_of(x)


def _whole_power(p) -> bool:
    return isinstance(p, numbers.Integral) and p >= 0


max_result = namedtuple("max_result", ["values", "indices"])  # what x.max(dim) gives (torch.return_types.max)
min_result = namedtuple("min_result", ["values", "indices"])


def to_dtype(value) -> dtype:
    """A dtype given as ``torch.long``, ``torch.float32``, Python's ``float``/``int``/``bool`` or a name."""
    if isinstance(value, dtype):
        return value
    named = {builtins.float: float64, builtins.int: int64, builtins.bool: bool_}.get(value)
    if named is None:
        raise ValueError(
            f"dtype must be torch.float, float32, float64, long, int64 or bool here (the numbers are float64), "
            f"got {value!r}"
        )
    return named


def dtype_of(data) -> dtype:
    """The dtype PyTorch gives data: bools bool, integers int64, anything else float (a tensor keeps its own)."""
    if isinstance(data, Value):
        return data.dtype if isinstance(data, Tensor) else float64
    known = getattr(data, "dtype", None)  # an array's (or compile's traced argument's, read without its numbers)
    kind = (known if known is not None else np.asarray(data).dtype).kind
    return bool_ if kind == "b" else int64 if kind in "iu" else float64


class Tensor(Value):
    """A tensor with PyTorch's semantics over this engine's node (see the module's docstring)."""

    # Defaults for what PyTorch adds to a node (apply makes nodes without __init__: these class values serve)
    _dtype = float64
    _retains = False  # retain_grad() was called: a non-leaf keeps its .grad
    _hooks: tuple = ()  # register_hook's functions, called with the gradient as it is complete
    _freed = False  # a backward without retain_graph went through it: what its op saved is gone
    _version = 0  # in-place changes of its numbers so far (PyTorch's version counter)
    _saw = None  # its inputs' versions when its op saved them (checked by backward)
    _shows = None  # (tensor, "data" or "grad") when this tensor is another's .data or .grad
    _rsub = False  # made as number - tensor (PyTorch's RsubBackward1)

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        super().__init__(data.numbers if isinstance(data, Value) else data, requires_grad=requires_grad)
        self._dtype = dtype_of(data) if dtype is None else to_dtype(dtype)
        if requires_grad and not self._dtype.is_floating_point:
            raise RuntimeError("Only Tensors of floating point dtype can require gradients")

    @classmethod
    def showing(cls, numbers, kind: dtype = float64, shows=None) -> Tensor:
        """A tensor without graph holding ``numbers`` as they are (no copy), for ``.data``, ``.grad``, hooks."""
        t = cls.__new__(cls)
        t._data, t._grad, t.label, t.requires_grad = numbers, None, "", False
        t._a = t._b = t._operation = None
        t._kwargs = NO_KWARGS
        if kind is not float64:
            t._dtype = kind
        if shows is not None:
            t._shows = shows
        return t

    @staticmethod
    def _apply(op: type[ops.Op], a, b=None, **settings) -> Value:
        """An op as the engine applies it; integers stay integers (long) where PyTorch keeps them: sums,
        products, differences, shapes and picks of long tensors and Python ints (``arange(12).reshape(3, 4)``)."""
        out = apply(op, a, b, **settings)
        if op in KEEPS_DTYPE or op in KEEPS_INTEGERS:
            kinds = {_kind(a)} if b is None else {_kind(a), _kind(b)}
            if float64 not in kinds and not (op is ops.PowConst and not _whole_power(settings["p"])):
                out._dtype = _kind(a) if op in KEEPS_DTYPE else int64
        if out._operation is not None and op not in SAVES_NOTHING:
            out._saw = _versions(out)
        return out

    # ------------------------------------------------------------ .data and .grad, PyTorch's way

    @property
    def data(self) -> Tensor:
        """The numbers as a tensor without graph that shares them: changing it in place changes this tensor."""
        return Tensor.showing(Value.data.fget(self), self._dtype, (self, "data"))

    @data.setter
    def data(self, value) -> None:
        self._data = as_data(value.numbers if isinstance(value, Value) else value, "data")

    @property
    def grad(self) -> Tensor | None:
        """dL/d(self) as a tensor; None until a backward pass reaches this tensor (and always, with a warning, for
        a non-leaf that did not call ``retain_grad()``, as PyTorch)."""
        if self._grad is None:
            if not self.is_leaf and not self._retains:
                warnings.warn(
                    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute "
                    "won't be populated during autograd.backward(). If you indeed want the .grad field to be populated "
                    "for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor.",
                    UserWarning,
                    stacklevel=2,
                )
            return None
        if isinstance(self._grad, Value):  # create_graph=True: the gradient is a node with a graph of its own
            return self._grad
        return Tensor.showing(self._grad, float64, (self, "grad"))

    @grad.setter
    def grad(self, value) -> None:
        if value is None or (isinstance(value, Value) and value.requires_grad):
            self._grad = value
        else:
            self._grad = fitting_grad(self, value.numbers if isinstance(value, Value) else value)

    def _replace(self, numbers) -> None:
        """Put new numbers in place: into the same array when there is one (every tensor sharing it sees them);
        a scalar's new float is passed up to the tensor whose .data or .grad this is. The version counts it (a
        change through ``.data`` is not counted, as in PyTorch: that is what ``.data`` is for)."""
        self._version += 1
        if self._data.__class__ is not float:
            self._data[...] = numbers
            return
        self._data, t = builtins.float(numbers), self
        while t._shows is not None:
            owner, what = t._shows
            if what == "data":
                owner._data = self._data
            else:
                owner._grad = self._data
            t = owner

    # ------------------------------------------------------------ in place (the underscore methods)

    def _in_place(self, what: str) -> None:
        """PyTorch's rule: a leaf that requires grad may change in place only where no graph is recorded."""
        if self.requires_grad and self._operation is None and modes.state.grad_enabled:
            raise RuntimeError(f"a leaf Variable that requires grad is being used in an in-place operation ({what}).")
        if self.requires_grad and modes.state.grad_enabled:
            raise RuntimeError(
                f"{what} on a tensor that is part of a graph is not supported here (the graph would not see it); "
                "compute a new tensor instead (x = x + y), or do it under torch.no_grad()"
            )

    def _update(self, fn, other) -> Tensor:
        self._in_place("an in-place update")
        result = fn(self._data, other.numbers if isinstance(other, Value) else as_data(other, "operand"))
        if np.shape(result) != self.shape:
            raise RuntimeError(
                f"output with shape {list(self.shape)} doesn't match the broadcast shape {list(np.shape(result))}"
            )
        self._replace(result)
        return self

    def __iadd__(self, other) -> Tensor:
        return self + other if self.requires_grad and modes.state.grad_enabled else self._update(np.add, other)

    def __isub__(self, other) -> Tensor:
        return self - other if self.requires_grad and modes.state.grad_enabled else self._update(np.subtract, other)

    def __imul__(self, other) -> Tensor:
        return self * other if self.requires_grad and modes.state.grad_enabled else self._update(np.multiply, other)

    def __itruediv__(self, other) -> Tensor:
        return self / other if self.requires_grad and modes.state.grad_enabled else self._update(np.divide, other)

    def __rsub__(self, other) -> Tensor:
        """number - tensor, which PyTorch records as ``RsubBackward1`` (tensor - tensor is ``SubBackward0``)."""
        out = super().__rsub__(other)
        if isinstance(other, numbers.Real):
            out._rsub = True
        return out

    def add_(self, other, *, alpha: builtins.float = 1.0) -> Tensor:
        """self += alpha * other, in place."""
        return self._update(np.add, np.multiply(alpha, _numbers(other)))

    def sub_(self, other, *, alpha: builtins.float = 1.0) -> Tensor:
        """self -= alpha * other, in place."""
        return self._update(np.subtract, np.multiply(alpha, _numbers(other)))

    def mul_(self, other) -> Tensor:
        return self._update(np.multiply, other)

    def div_(self, other) -> Tensor:
        return self._update(np.divide, other)

    def zero_(self) -> Tensor:
        """Every element to 0, in place (``x.grad.zero_()`` clears a gradient and keeps the tensor)."""
        return self._update(lambda a, b: np.zeros_like(a) if a.__class__ is not float else 0.0, 0.0)

    def fill_(self, value) -> Tensor:
        return self._update(lambda a, b: np.full_like(a, b) if a.__class__ is not float else b, value)

    def copy_(self, src) -> Tensor:
        """src's numbers into this tensor, in place (src broadcast to this shape)."""
        return self._update(lambda a, b: np.broadcast_to(b, np.shape(a)).astype(np.float64), src)

    def __setitem__(self, index, value) -> None:
        """``x[index] = value`` in place. Without a graph the numbers change; on a tensor of a graph (or with a value
        that needs a gradient) x becomes a new node, ``x_old * mask + scatter(value)`` (PyTorch's CopySlices): the
        gradient reaches the old x outside ``index`` and the value inside it."""
        if self._data.__class__ is float:
            raise IndexError("cannot index a 0-d tensor (shape ()); use fill_() or copy_()")
        index = _index(index)
        in_graph = self.requires_grad or (isinstance(value, Value) and value.requires_grad)
        if not (in_graph and modes.state.grad_enabled):
            self._data[index] = _numbers(value)
            self._version += 1
            return
        if self.requires_grad and self._operation is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        self._become(self._assigned(index, value))

    def _assigned(self, index, value) -> Value:
        """The node ``x[index] = value`` makes of x (as it is now, kept as a node of its own) and value."""
        picks = np.zeros(self.shape)
        np.add.at(picks, index, 1.0)
        if picks.max() > 1:
            raise RuntimeError("x[index] = value on a tensor of a graph needs an index that picks each element once")
        old = Tensor.showing(self._data, self._dtype)
        old._a, old._b, old._operation, old._kwargs = self._a, self._b, self._operation, self._kwargs
        old.requires_grad = self.requires_grad
        # x[i] -= 1 is x[i] = x[i] - 1: the value was made of x as it was, so its graph takes the old node. Any other
        # use of x would see the new x in its graph (silently wrong gradients): refused, as PyTorch's backward does.
        in_value = {id(n) for n in toposort(value)} if isinstance(value, Value) else set()
        for user in gc.get_referrers(self):
            if isinstance(user, Value) and self in (user._a, user._b):
                if id(user) not in in_value:
                    raise RuntimeError(
                        "one of the variables needed for gradient computation would be modified by an inplace "
                        "operation: this tensor is already an input of other operations; assign into x.clone()"
                    )
                user._a, user._b = (old if user._a is self else user._a), (old if user._b is self else user._b)
        picked = np.shape(self._data[index])
        v = value if isinstance(value, Value) else Tensor(np.broadcast_to(_numbers(value), picked).copy())
        if v.shape != picked:
            v = v.broadcast_to(picked)
        return old * Tensor(picks == 0) + apply(ops.Scatter, v, shape=self.shape, index=index)

    def _become(self, node: Value) -> None:
        """Take ``node``'s place in the graph (an in-place change: the tensor the user holds is the new node)."""
        self._data, self._a, self._b, self._operation = node._data, node._a, node._b, node._operation
        self._kwargs, self.requires_grad, self._grad = node._kwargs, node.requires_grad, None
        for made in ("_grad_fn", "_freed", "_retains", "_hooks"):
            self.__dict__.pop(made, None)

    def __getitem__(self, index) -> Tensor:
        out = super().__getitem__(_index(index))
        if self._dtype is not float64:
            out._dtype = self._dtype
        return out

    # ------------------------------------------------------------ autograd's record: grad_fn, hooks, retain_grad

    @property
    def grad_fn(self) -> Node | None:
        """The backward function that made this tensor (None for a leaf): ``<MulBackward0>``, with
        ``next_functions`` leading to its inputs' (an ``AccumulateGrad`` for a leaf that requires grad)."""
        if self._operation is None or not self.requires_grad:
            return None
        node = self.__dict__.get("_grad_fn")
        if node is None:
            node = self.__dict__["_grad_fn"] = Node(self)
        return node

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's .grad after backward (a leaf keeps its own anyway)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if not self.is_leaf:
            self._retains = True

    @property
    def retains_grad(self) -> bool:
        return self._retains

    def register_hook(self, hook) -> Handle:
        """Call ``hook(grad)`` when this tensor's gradient is complete in a backward pass; if it returns a tensor,
        that is the gradient used from there on. Returns a handle whose ``remove()`` takes the hook off."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if not callable(hook):
            raise TypeError(f"register_hook takes a function, got {type(hook).__name__}")
        if "_hooks" not in self.__dict__:
            self._hooks = []
        self._hooks.append(hook)
        return Handle(self._hooks, hook)

    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False, inputs=None):
        """Add d(self)/d(leaf) * gradient into the .grad of every leaf (PyTorch's ``Tensor.backward``).

        ``gradient`` is needed unless self holds one number. The pass runs the hooks, fills the .grad of leaves and
        of tensors that called ``retain_grad()`` (or only of ``inputs``), then frees what the ops saved unless
        ``retain_graph`` (which defaults to ``create_graph``).
        """
        need_graph(self, "backward()")
        if gradient is None:
            if self._data.__class__ is not builtins.float and self._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            seed = 1.0 if self._data.__class__ is builtins.float else np.ones(self.shape)
        else:
            seed = gradient if create_graph and isinstance(gradient, Value) else _numbers(gradient)
            if np.shape(seed) != self.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {_size(np.shape(seed))} and output[0] has "
                    f"a shape of {_size(self.shape)}."
                )
        if inputs is not None:
            inputs = [inputs] if isinstance(inputs, Value) else list(inputs)
            if not inputs:
                raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        run_backward(self, seed, create_graph, create_graph if retain_graph is None else retain_graph, inputs)

    # ------------------------------------------------------------ PyTorch's other manners

    @property
    def dtype(self) -> dtype:
        return self._dtype

    @property
    def device(self) -> str:
        from tinygrad_edu.torch import device  # (the package imports this module first)

        return device("cpu")

    @property
    def is_leaf(self) -> bool:
        return self._operation is None or not self.requires_grad

    def item(self):
        """The one number, as PyTorch gives it: a float, an int for an integer tensor, a bool for a mask."""
        x = self._one("item()")
        return builtins.int(x) if self._dtype is int64 else builtins.bool(x) if self._dtype is bool_ else x

    def tolist(self):
        numbers = super().tolist()
        if self._dtype is float64:
            return numbers
        kind = builtins.int if self._dtype is int64 else builtins.bool
        return kind(numbers) if numbers.__class__ is builtins.float else np.asarray(numbers).astype(kind).tolist()

    def numpy(self) -> np.ndarray:
        """The numbers as a numpy array (a copy; PyTorch refuses while the tensor requires grad, here it is given)."""
        numbers = super().numpy()
        return numbers.astype(np.int64 if self._dtype is int64 else bool) if self._dtype is not float64 else numbers

    def detach(self) -> Tensor:
        """The same numbers, shared (as PyTorch's), in a tensor cut from the graph."""
        note_read(self, "detach()")
        out = Tensor.showing(self._data, self._dtype)
        out._kwargs = DETACHED  # so that backward() on it can say why it has no graph
        return out

    def clone(self) -> Tensor:
        """A copy of the numbers that stays in the graph (its gradient flows back to this tensor)."""
        if not self.requires_grad:
            return Tensor.showing(self._data if self._data.__class__ is builtins.float else self._data.copy(),
                                  self._dtype)  # fmt: skip
        out = self._apply(ops.Reshape, self, shape=self.shape)
        out._data = out._data if out._data.__class__ is builtins.float else out._data.copy()
        return out

    def max(self, dim=None, keepdim: bool = False, **numpy_names):
        """``x.max()`` the largest element, ``x.max(dim)`` PyTorch's (values, indices) pair, ``x.max(other)`` the
        elementwise maximum (the engine's own ``axis=``/``keepdims=`` as on any Value)."""
        if isinstance(dim, Value):
            return self.maximum(dim)
        if dim is None or numpy_names:
            return super().max(dim=dim, **numpy_names)
        values = super().max(dim=dim, keepdim=keepdim)
        return max_result(values, Tensor(np.argmax(self._data, axis=dim, keepdims=keepdim), dtype=int64))

    def min(self, dim=None, keepdim: bool = False, **numpy_names):
        """``x.min()``, ``x.min(dim)`` (values, indices), ``x.min(other)``: as ``max``."""
        if isinstance(dim, Value):
            return self.minimum(dim)
        if dim is None or numpy_names:
            return super().min(dim=dim, **numpy_names)
        values = super().min(dim=dim, keepdim=keepdim)
        return min_result(values, Tensor(np.argmin(self._data, axis=dim, keepdims=keepdim), dtype=int64))

    def var(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None, **numpy_names):
        """The variance; PyTorch's older ``unbiased=True/False`` is ``correction=1/0``."""
        return super().var(dim=dim, keepdim=keepdim, correction=_correction(unbiased, correction), **numpy_names)

    def std(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None, **numpy_names):
        """The standard deviation; ``unbiased`` as in ``var``."""
        return super().std(dim=dim, keepdim=keepdim, correction=_correction(unbiased, correction), **numpy_names)

    def numel(self) -> int:
        """The number of elements (PyTorch's ``numel()``, ``nelement()``)."""
        return builtins.int(np.prod(self.shape))

    nelement = numel

    def view(self, *shape) -> Tensor:
        out = self.reshape(*shape)
        if self._dtype is not float64:
            out._dtype = self._dtype
        return out

    def type_as(self, other) -> Tensor:
        return self.to(other.dtype)

    def to(self, *args, dtype=None, device=None) -> Tensor:
        """``x.to("cpu")`` is x; ``x.to(torch.long)``/``x.float()``/``x.long()`` a tensor of that dtype."""
        wanted = None
        for a in (*args, dtype, device):
            if a is None or isinstance(a, str) and a == "cpu":
                continue
            if isinstance(a, str):
                raise ValueError(f"to() takes only 'cpu' or a dtype here (the one device is the CPU), got {a!r}")
            wanted = to_dtype(a)
        if wanted is None or wanted is self._dtype:
            return self
        numbers = self._data if wanted is float64 else np.trunc(self._data) if wanted is int64 else self._data != 0
        out = Tensor.showing(as_data(numbers), wanted)
        return out

    def float(self) -> Tensor:
        return self.to(float64)

    def permute(self, *dims) -> Tensor:
        """The axes reordered (PyTorch's name; numpy's transpose): ``x.permute(0, 2, 1)`` swaps the last two."""
        return self.transpose(*dims)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Axes ``start_dim`` to ``end_dim`` joined into one (``torch.flatten``): ``x.flatten(1)`` one row a sample."""
        return flatten(self, start_dim, end_dim)

    double = float

    def long(self) -> Tensor:
        return self.to(int64)

    int = long

    def bool(self) -> Tensor:
        return self.to(bool_)

    def all(self, dim=None) -> Tensor:
        return Tensor(np.all(self._data != 0, axis=dim))

    def any(self, dim=None) -> Tensor:
        return Tensor(np.any(self._data != 0, axis=dim))

    def _compare(self, other, fn) -> Tensor:
        """A comparison as a bool tensor (no graph: it has no derivative)."""
        if not isinstance(other, (Value, numbers.Real, list, tuple, np.ndarray)):
            return NotImplemented  # (pytest.approx and others compare themselves)
        note_read(self, f"a comparison ({fn.__name__})")
        if isinstance(other, Value):
            note_read(other, f"a comparison ({fn.__name__})")
        return Tensor.showing(as_data(fn(self._data, _numbers(other))), bool_)

    def eq(self, other) -> Tensor:
        """``self == other`` element by element, a bool tensor (``x.eq(y).all()``)."""
        return self == other

    def __repr__(self) -> str:
        """As PyTorch prints: ``tensor([1., 2.], requires_grad=True)``, ``tensor(3.5000, grad_fn=<MulBackward0>)``."""
        suffixes = []
        if self._dtype is int64 and self._data.__class__ is not builtins.float and self._data.size == 0:
            suffixes.append("dtype=torch.int64")
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        text = "tensor(" + _format(self._data, self._dtype)
        last = len(text) - text.rfind("\n") + 1  # (PyTorch's count, 2 more than the last line's length)
        for suffix in suffixes:  # PyTorch's rule: a suffix that would pass 80 characters starts a line of its own
            if last + len(suffix) + 2 > 80:
                text, last = text + ",\n       " + suffix, 7 + len(suffix)
            else:
                text, last = text + ", " + suffix, last + len(suffix) + 2
        return text + ")"

    __str__ = __repr__

    def __array_ufunc__(self, ufunc, method: str, *inputs, **kwargs):
        """numpy on tensors, as on PyTorch's: ``array + tensor`` is a tensor (in the graph), ``np.cos(tensor)`` an
        array of the numbers."""
        if method == "__call__" and not kwargs and len(inputs) == 2 and ufunc in OPERATORS:
            a, b = inputs
            return OPERATORS[ufunc](a if isinstance(a, Value) else Tensor(a), b)
        return getattr(ufunc, method)(*(np.asarray(x) if isinstance(x, Value) else x for x in inputs), **kwargs)

    def __format__(self, spec: str) -> str:
        return format(self.item(), spec) if spec else repr(self)


def run_backward(root: Value, seed, create_graph: bool, retain_graph: bool, inputs: list | None) -> None:
    """One backward pass with PyTorch's rules: hooks, .grad on leaves, retained and ``inputs`` only, then free."""
    wanted = None if inputs is None else {id(x) for x in inputs}
    passed = []

    def on_node(node: Value, g):
        if node._freed and node._operation not in SAVES_NOTHING:
            raise RuntimeError(FREED)
        if node._saw is not None and node._saw != _versions(node):
            changed, saw = next((p, v) for p, v, now in zip(node.parents, node._saw, _versions(node)) if v != now)
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace operation: "
                f"[torch.DoubleTensor {list(changed.shape)}] is at version {changed._version}; expected version "
                f"{saw} instead. Hint: change it after the backward, or compute the result again after the change"
            )
        for hook in node.__dict__.get("_hooks", ()):
            replaced = hook(g if create_graph else Tensor.showing(g))
            if replaced is not None:
                g = replaced if create_graph else fitting_grad(node, _numbers(replaced))
        if wanted is None and (node._operation is None or node._retains) or wanted is not None and id(node) in wanted:
            node.accumulate_grad(g if create_graph or g.__class__ is builtins.float else g.copy())
        passed.append(node)
        return g

    if create_graph and not isinstance(seed, Value):
        seed = Tensor(seed)  # (the gradients are nodes: the seed is one too)
    backprop(root, seed, graph=create_graph, wanted=inputs, on_node=on_node)
    if not retain_graph:
        for node in passed:
            if node._operation is not None and isinstance(node, Tensor):
                node._freed = True


class Node:
    """A backward function of PyTorch's graph (``y.grad_fn``): its ``name()``, and ``next_functions``, one
    ``(function, 0)`` per input of the op (None for an input that needs no gradient)."""

    def __init__(self, tensor: Tensor):
        self.tensor = tensor

    def name(self) -> str:
        return backward_name(self.tensor)

    @property
    def next_functions(self) -> tuple:
        out = []
        for p in self.tensor.parents:
            if not p.requires_grad:
                out.append((None, 0))
            elif p.operation is None:
                out.append((AccumulateGrad(p), 0))
            else:
                out.append((p.grad_fn if isinstance(p, Tensor) else Node(p), 0))
        return tuple(out)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"


class AccumulateGrad:
    """Where a leaf's gradient ends up (``.grad``): the end of every ``next_functions`` chain."""

    def __init__(self, variable: Value):
        self.variable = variable
        self.next_functions = ()

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


class Handle:
    """What ``register_hook`` returns: ``remove()`` takes the hook off."""

    def __init__(self, hooks: list, hook):
        self.hooks, self.hook = hooks, hook

    def remove(self) -> None:
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


def _versions(node: Value) -> tuple:
    """The version of each input of ``node`` whose numbers its backward reads (a plain Value's never change in
    place: 0). A product's backward reads an input only for the other's gradient (PyTorch saves it only then)."""
    parents = node.parents
    if node.operation in PRODUCTS:
        return tuple(getattr(p, "_version", 0) if q.requires_grad else None for p, q in zip(parents, parents[::-1]))
    return tuple(getattr(p, "_version", 0) for p in parents)


def _correction(unbiased: bool | None, correction) -> float:
    """var's and std's divisor n - correction, from PyTorch's ``correction=`` or its older ``unbiased=``."""
    if unbiased is not None and correction is not None:
        raise TypeError("var/std take unbiased= or correction=, not both")
    return (1.0 if unbiased else 0.0) if unbiased is not None else 1.0 if correction is None else correction


def _numbers(x):
    return x.numbers if isinstance(x, Value) else as_data(x, "operand")


def _size(shape: tuple) -> str:
    return f"torch.Size({list(shape)})"


def _index(index):
    """An index with tensors in it as numpy indices: an integer tensor picks, a bool tensor masks (PyTorch's
    rule: a float tensor is no index); a ``range`` is its list."""
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    if isinstance(index, range):
        return np.arange(index.start, index.stop, index.step)
    if isinstance(index, Tensor):
        if index._dtype is float64:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return np.asarray(index.numbers).astype(bool if index._dtype is bool_ else np.int64)  # (0-d: one number)
    return index


def _format(numbers, kind: dtype) -> str:
    """PyTorch's way of printing numbers (torch/_tensor_str.py's rules): whole floats as ``1.``, others with 4
    decimals, scientific when the non-zero magnitudes span over 1000x (or pass 1e8, or go under 1e-4), integers and
    bools as themselves, every element padded to one width, rows wrapped at 80 characters, over 1000 elements
    summarised by their first and last three."""
    a = np.asarray(numbers)
    summarize = a.size > 1000
    shown = _edges(a) if summarize else a
    if kind is bool_:
        fmt = lambda v: "True" if v else "False"  # noqa: E731
    elif kind is int64:
        fmt = lambda v: str(builtins.int(v))  # noqa: E731
    else:
        finite = np.abs(shown[np.isfinite(shown)])
        nonzero = finite[finite != 0]
        whole = bool(np.all(finite == np.round(finite)))
        big, small = (nonzero.max(), nonzero.min()) if nonzero.size else (0.0, 1.0)
        if big / small > 1000 or big > 1e8 or (not whole and small < 1e-4):
            fmt = lambda v: f"{v:.4e}"  # noqa: E731
        elif whole:
            fmt = lambda v: f"{v:.0f}." if np.isfinite(v) else f"{v:.0f}"  # noqa: E731
        else:
            fmt = lambda v: f"{v:.4f}"  # noqa: E731
    width = max((len(fmt(v)) for v in shown.flat), default=0)
    if a.ndim == 0:
        return fmt(a[()])
    return _rows(a, len("tensor("), summarize, lambda v: fmt(v).rjust(width), width)


def _edges(a: np.ndarray) -> np.ndarray:
    """The elements a summary shows: the first and last three along every axis."""
    for axis in range(a.ndim):
        if a.shape[axis] > 6:
            a = np.concatenate([a.take(range(3), axis), a.take(range(a.shape[axis] - 3, a.shape[axis]), axis)], axis)
    return a


def _rows(a: np.ndarray, indent: int, summarize: bool, fmt, width: int) -> str:
    """One bracketed level of a tensor's printout, its rows one per line (a blank line per extra axis)."""
    cut = summarize and len(a) > 6
    if a.ndim == 1:
        items = [fmt(v) for v in a[:3]] + [" ..."] + [fmt(v) for v in a[-3:]] if cut else [fmt(v) for v in a]
        per_line = max(1, (80 - indent) // (width + 2))
        lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    parts = [_rows(row, indent + 1, summarize, fmt, width) for row in (a[:3] if cut else a)]
    if cut:
        parts += ["..."] + [_rows(row, indent + 1, summarize, fmt, width) for row in a[-3:]]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"
