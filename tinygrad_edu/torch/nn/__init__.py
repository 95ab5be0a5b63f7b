"""``torch.nn`` as beginner tutorials use it: Module (subclassed, attributes register themselves), Linear,
Sequential, activation modules and loss modules, on this engine's Values.

Parameters are named as PyTorch names them (``hidden.weight``, ``0.bias``), so ``state_dict()``
has PyTorch's keys and shapes: real PyTorch's identical model loads it
(``model.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})``).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterator

import numpy as np

from tinygrad_edu import arguments, recurrent
from tinygrad_edu import nn as core_nn
from tinygrad_edu.engine import Value
from tinygrad_edu.functional import _pair as pair
from tinygrad_edu.functional import flatten, stack
from tinygrad_edu.optim import zero_grads
from tinygrad_edu.torch import generator
from tinygrad_edu.torch.nn import functional, utils  # noqa: F401 (torch.nn.utils)
from tinygrad_edu.torch.nn.functional import _only_defaults as only_defaults
from tinygrad_edu.torch.nn.functional import one_size
from tinygrad_edu.torch.tensor import Tensor

SUPPORTED = (
    "Module Parameter Linear Sequential ReLU Sigmoid Tanh Softmax LogSoftmax Identity LeakyReLU GELU Softplus "
    "MSELoss BCELoss BCEWithLogitsLoss CrossEntropyLoss NLLLoss Flatten Dropout Embedding LayerNorm Conv1d Conv2d "
    "MaxPool2d AvgPool2d BatchNorm1d BatchNorm2d RNNCell LSTMCell RNN LSTM functional utils"
).split()


def Parameter(data, requires_grad: bool = True) -> Tensor:
    """A tensor that a Module registers as a parameter (any tensor that requires a gradient is one)."""
    return Tensor(data.numbers if isinstance(data, Value) else data, requires_grad=requires_grad)


class Module(core_nn.Module):
    """Base of models: subclass it, call ``super().__init__()``, assign layers and parameters as attributes,
    write ``forward``. They register themselves, in order, under their attribute names; state that is not
    learned (BatchNorm's running statistics) with ``register_buffer``. The rest (``zero_grad``, ``state_dict``,
    ``load_state_dict`` that checks before it changes anything, ``save``/``load``) is this package's ``nn.Module``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value) -> None:
        if "_modules" not in self.__dict__:
            raise AttributeError(f"call super().__init__() in {type(self).__name__}.__init__ before assigning {name!r}")
        if name in self._buffers:  # a buffer stays one: a new tensor (or None) in its place
            self._buffers[name] = _buffer(name, value)
            object.__setattr__(self, name, self._buffers[name])
            return
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Value) and value.requires_grad:
            self._parameters[name] = value
            value.label = name
        elif isinstance(value, Module):
            self._modules[name] = value
            for inner, p in value.named_parameters():  # labels carry the full name, for the pictures
                p.label = f"{name}.{inner}"
        object.__setattr__(self, name, value)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Value]]:
        for name, p in self._parameters.items():
            yield prefix + name, p
        for name, m in self._modules.items():
            yield from m.named_parameters(f"{prefix}{name}.")

    def parameters(self) -> Iterator[Value]:
        return (p for _, p in self.named_parameters())

    def register_buffer(self, name: str, tensor) -> None:
        """Keep ``tensor`` (an array becomes a tensor; None: no buffer yet) as ``self.<name>``: state that is not
        learned, saved and loaded with the parameters (``state_dict``), as BatchNorm's running statistics."""
        if "_modules" not in self.__dict__:
            raise AttributeError(f"call super().__init__() in {type(self).__name__}.__init__ before register_buffer")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"buffer name must be a non-empty string without '.', got {name!r}")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute {name!r} already exists")
        self._buffers[name] = _buffer(name, tensor)
        object.__setattr__(self, name, self._buffers[name])

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Value]]:
        for name, b in self._buffers.items():
            if b is not None:
                yield prefix + name, b
        for name, m in self._modules.items():
            yield from m.named_buffers(f"{prefix}{name}.")

    def buffers(self) -> Iterator[Value]:
        return (b for _, b in self.named_buffers())

    def _named_state(self, prefix: str = "") -> Iterator[tuple[str, Value]]:
        """PyTorch's ``state_dict`` order: each module's parameters, then its buffers, then its sub-modules'."""
        yield from ((prefix + name, p) for name, p in self._parameters.items())
        yield from ((prefix + name, b) for name, b in self._buffers.items() if b is not None)
        for name, m in self._modules.items():
            yield from m._named_state(f"{prefix}{name}.")  # noqa: SLF001 (a sub-module: same class)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the parameters' gradients: to None (PyTorch's default; an optimizer skips a parameter no
        backward reaches again) or to zeros with ``set_to_none=False``."""
        zero_grads(self.parameters(), set_to_none)

    def children(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def to(self, *args, dtype=None, device=None) -> Module:
        """The model itself: ``model.to("cpu")``, ``model.double()``, ``model.float()`` change nothing here (every
        number is float64, on the CPU); another device is refused, as a tensor's ``to`` refuses it."""
        Tensor(0.0).to(*args, dtype=dtype, device=device)  # a tensor's checks: "cpu" or a dtype
        return self

    def double(self) -> Module:
        return self

    float = cpu = double

    def train(self, mode: bool = True) -> Module:
        object.__setattr__(self, "training", bool(mode))
        for m in self.children():
            m.train(mode)
        return self

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items())
        return f"{type(self).__name__}({self.extra_repr()}{inner}{chr(10) if inner else ''})"

    def extra_repr(self) -> str:
        return ""


class Linear(Module):
    """y = x W^T + b, W of shape (out_features, in_features), initialised as PyTorch does:
    W and b from U(-1/sqrt(in_features), 1/sqrt(in_features))."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features)
        self.weight = Parameter(generator().uniform(-bound, bound, (out_features, in_features)))
        self.bias = Parameter(generator().uniform(-bound, bound, out_features)) if bias else None

    def forward(self, x) -> Value:
        out = (x if isinstance(x, Value) else Tensor(x)) @ self.weight.T
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Sequential(Module):
    """Modules applied one after another, named 0, 1, 2, ... as in PyTorch."""

    def __init__(self, *modules: Module):
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(
                    f"{type(m).__name__} is not a Module subclass: Sequential's argument {i} is {m!r}; "
                    "pass layers such as nn.Linear(3, 2), nn.ReLU()"
                )
            setattr(self, str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)


class _Activation(Module):
    fn = staticmethod(functional.relu)

    def forward(self, x) -> Value:
        return self.fn(x)


class ReLU(_Activation):
    fn = staticmethod(functional.relu)


class Sigmoid(_Activation):
    fn = staticmethod(functional.sigmoid)


class Tanh(_Activation):
    fn = staticmethod(functional.tanh)


class GELU(Module):
    """x * Phi(x): exact by default, ``approximate="tanh"`` for the tanh approximation (PyTorch's options)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x) -> Value:
        return functional.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """ln(1 + e^(beta x)) / beta, and x itself where beta x > threshold (PyTorch's defaults: 1 and 20)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x) -> Value:
        return functional.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """Each slice along ``dim`` made probabilities: e^x / sum(e^x)."""

    fn = staticmethod(functional.softmax)

    def __init__(self, dim: int | None = None):
        super().__init__()
        if dim is None:  # PyTorch guesses an axis with a deprecation warning; here it must be said
            raise TypeError(f"{type(self).__name__} needs dim=, the axis whose entries become probabilities")
        self.dim = arguments.integer(f"{type(self).__name__} dim", dim)

    def forward(self, x) -> Value:
        return self.fn(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log softmax along ``dim`` (x - logsumexp(x), stable): log-probabilities, for NLLLoss."""

    fn = staticmethod(functional.log_softmax)


class Identity(_Activation):
    fn = staticmethod(lambda x: x)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x) -> Value:
        return functional.leaky_relu(x, self.negative_slope)


class Flatten(Module):
    """Axes ``start_dim`` to ``end_dim`` joined into one: by default each sample of a batch becomes a row
    (shape (N, 1, 28, 28) becomes (N, 784)), the step between image-shaped data and a Linear layer."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = arguments.integer("Flatten start_dim", start_dim)
        self.end_dim = arguments.integer("Flatten end_dim", end_dim)

    def forward(self, x) -> Value:
        return flatten(x if isinstance(x, Value) else Tensor(x), self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Inverted dropout while training (each element zeroed with probability ``p``, the rest scaled by
    1 / (1 - p)); the identity after ``model.eval()``."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        self.p, self.inplace = arguments.real("Dropout p", p), inplace
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")

    def forward(self, x) -> Value:
        return functional.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim`` (PyTorch's N(0, 1) start): indices in,
    their rows out; the gradient goes to the rows used."""

    def __init__(self, num_embeddings: int, embedding_dim: int):
        super().__init__()
        self.num_embeddings = arguments.integer("Embedding num_embeddings", num_embeddings, low=1)
        self.embedding_dim = arguments.integer("Embedding embedding_dim", embedding_dim, low=1)
        self.weight = Parameter(generator().standard_normal((self.num_embeddings, self.embedding_dim)))

    def forward(self, indices) -> Value:
        return functional.embedding(indices, self.weight)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class LayerNorm(Module):
    """Each example standardised over its last axes (``normalized_shape``), then scaled and shifted by learned
    ``weight`` (ones at first) and ``bias`` (zeros)."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape = tuple(arguments.integer("LayerNorm normalized_shape", n, low=1) for n in shape)
        self.eps = arguments.real("LayerNorm eps", eps, low=0.0)
        self.elementwise_affine = bool(elementwise_affine)
        self.weight = Parameter(np.ones(self.normalized_shape)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape)) if elementwise_affine and bias else None

    def forward(self, x) -> Value:
        return functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        affine = f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        return f"{self.normalized_shape}, eps={self.eps}, {affine}"


class Conv2d(Module):
    """Filters slid over images: (N, C, H, W) in, (N, out_channels, OH, OW) out (or one image (C, H, W) in,
    (out_channels, OH, OW) out, as PyTorch's). ``weight`` has shape (out_channels, in_channels, KH, KW), ``bias``
    (out_channels,); both start as PyTorch's (kaiming_uniform with a = sqrt(5)): U(-1/sqrt(fan_in),
    1/sqrt(fan_in)), fan_in = in_channels * KH * KW, the inputs one output sees."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, bias: bool = True):
        super().__init__()
        name = type(self).__name__
        self.in_channels = arguments.integer(f"{name} in_channels", in_channels, low=1)
        self.out_channels = arguments.integer(f"{name} out_channels", out_channels, low=1)
        self.kernel_size = self._sizes(f"{name} kernel_size", kernel_size, 1)
        self.stride, self.padding = self._sizes(f"{name} stride", stride, 1), self._sizes(f"{name} padding", padding, 0)
        bound = 1.0 / math.sqrt(self.in_channels * math.prod(self.kernel_size))
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.weight = Parameter(generator().uniform(-bound, bound, shape))
        self.bias = Parameter(generator().uniform(-bound, bound, self.out_channels)) if bias else None

    _sizes = staticmethod(pair)  # a size per image axis: an int for both, or (height, width)

    def forward(self, x) -> Value:
        return functional.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        padding = "" if not any(self.padding) else f", padding={self.padding}"
        bias = "" if self.bias is not None else ", bias=False"
        sizes = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        return sizes + padding + bias


class Conv1d(Conv2d):
    """Filters slid along sequences: (N, C, L) in, (N, out_channels, OL) out (or one sequence (C, L) in,
    (out_channels, OL) out); ``weight`` (out_channels, in_channels, K). Initialised as Conv2d, fan_in =
    in_channels * K."""

    @staticmethod
    def _sizes(name: str, n, low: int) -> tuple[int]:
        return (arguments.integer(name, one_size(n), low=low),)

    def forward(self, x) -> Value:
        return functional.conv1d(x, self.weight, self.bias, self.stride, self.padding)


class MaxPool2d(Module):
    """The largest element of each kernel_size window, stride apart (by default kernel_size: windows side by side),
    of (N, C, H, W) or (C, H, W). PyTorch's other settings are accepted at their defaults only."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        pair("MaxPool2d kernel_size", kernel_size, 1)
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        pair("MaxPool2d stride", self.stride, 1)
        only_defaults(
            "MaxPool2d", padding=(padding, 0), dilation=(dilation, 1), return_indices=(return_indices, False),
            ceil_mode=(ceil_mode, False),
        )  # fmt: skip
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode

    def forward(self, x) -> Value:
        return functional.max_pool2d(x, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        sizes = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        return f"{sizes}, dilation={self.dilation}, ceil_mode={self.ceil_mode}"


class AvgPool2d(Module):
    """The mean of each kernel_size window, stride apart (by default kernel_size), of (N, C, H, W) or (C, H, W).
    PyTorch's other settings are accepted at their defaults only."""

    def __init__(
        self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
    ):
        super().__init__()
        pair("AvgPool2d kernel_size", kernel_size, 1)
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        pair("AvgPool2d stride", self.stride, 1)
        only_defaults(
            "AvgPool2d", padding=(padding, 0), ceil_mode=(ceil_mode, False), divisor_override=(divisor_override, None)
        )
        self.padding = padding

    def forward(self, x) -> Value:
        return functional.avg_pool2d(x, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _BatchNorm(Module):
    """Batch normalisation per channel (axis 1). Training: each channel standardised by the batch's own mean and
    variance, and the running statistics (buffers) moved towards them: running = (1 - momentum) running +
    momentum batch (momentum=None: the plain average of all batches so far). Eval (``model.eval()``): standardised
    by the running statistics instead. Then scaled by ``weight`` (ones at first) and shifted by ``bias`` (zeros)."""

    dims = "2D or 3D"  # the input shapes this module takes, as PyTorch's error names them

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        bias: bool = True,
    ):
        super().__init__()
        name = type(self).__name__
        self.num_features = arguments.integer(f"{name} num_features", num_features, low=1)
        self.eps = arguments.real(f"{name} eps", eps, positive=True)
        self.momentum = None if momentum is None else arguments.real(f"{name} momentum", momentum, low=0.0)
        self.affine = arguments.flag(f"{name} affine", affine)
        self.track_running_stats = arguments.flag(f"{name} track_running_stats", track_running_stats)
        self.weight = Parameter(np.ones(self.num_features)) if affine else None
        self.bias = Parameter(np.zeros(self.num_features)) if affine and bias else None
        stats = track_running_stats
        self.register_buffer("running_mean", np.zeros(self.num_features) if stats else None)
        self.register_buffer("running_var", np.ones(self.num_features) if stats else None)
        self.register_buffer("num_batches_tracked", Tensor(0) if stats else None)

    def forward(self, x) -> Value:
        x = x if isinstance(x, Value) else Tensor(x)
        if x.ndim not in self.ndims:
            raise ValueError(f"{type(self).__name__}: expected {self.dims} input (got {x.ndim}D input)")
        momentum = self.momentum or 0.0
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data = self.num_batches_tracked.item() + 1
            if self.momentum is None:  # a cumulative average: batch k weighs 1/k
                momentum = 1.0 / self.num_batches_tracked.item()
        use_batch = self.training or self.running_mean is None  # without running statistics: the batch's, always
        stats = (self.running_mean, self.running_var) if not self.training or self.track_running_stats else (None, None)
        return functional.batch_norm(x, *stats, self.weight, self.bias, use_batch, momentum, self.eps)

    def extra_repr(self) -> str:
        settings = f"eps={self.eps}, momentum={self.momentum}, affine={self.affine}, bias={self.bias is not None}"
        return f"{self.num_features}, {settings}, track_running_stats={self.track_running_stats}"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs: C features, each over the batch (and L)."""

    ndims, dims = (2, 3), "2D or 3D"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images (N, C, H, W): each channel over the batch and every pixel."""

    ndims, dims = (4,), "4D"


class RNNCellBase(Module):
    """What RNNCell and LSTMCell share: ``weight_ih`` (gates * hidden_size, input_size), ``weight_hh``
    (gates * hidden_size, hidden_size), ``bias_ih``, ``bias_hh``, all from U(-1/sqrt(hidden_size),
    1/sqrt(hidden_size)) as PyTorch starts them; one step is tinygrad_edu.recurrent's, on the transposed weights."""

    gates, names = 1, "h"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"):
        super().__init__()
        name = type(self).__name__
        self.input_size = arguments.integer(f"{name} input_size", input_size, low=1)
        self.hidden_size = arguments.integer(f"{name} hidden_size", hidden_size, low=1)
        self.bias, self.nonlinearity = arguments.flag(f"{name} bias", bias), nonlinearity
        self.step = _step(name, nonlinearity) if self.gates == 1 else recurrent.lstm_step
        for param, shape in _rnn_weights(self.gates, self.hidden_size, self.input_size, self.bias):
            setattr(self, param, shape)

    def forward(self, input, hx=None):
        name = type(self).__name__
        x = input if isinstance(input, Value) else Tensor(input)
        if x.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {x.ndim}D instead")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input has inconsistent input_size: got {x.shape[-1]} expected {self.input_size}")
        batch = x.shape[:-1]
        state = _state(name, self.names, hx, (*batch, self.hidden_size))
        out = self.step(x, state, self.weight_ih.T, self.weight_hh.T, _bias(self.bias_ih, self.bias_hh))
        return out if len(out) > 1 else out[0]

    def extra_repr(self) -> str:
        bias = "" if self.bias else ", bias=False"
        nonlinearity = "" if self.gates > 1 or self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity}"
        return f"{self.input_size}, {self.hidden_size}{bias}{nonlinearity}"


class RNNCell(RNNCellBase):
    """One step of an Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu); h starts at zeros."""


class LSTMCell(RNNCellBase):
    """One step of an LSTM: ``cell(x, (h, c))`` returns the new (h, c); the four gates (input, forget, cell,
    output) stacked in the weights' rows."""

    gates, names = 4, "hc"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__(input_size, hidden_size, bias)


class RNNBase(Module):
    """What RNN and LSTM share: ``num_layers`` layers, each an unrolled cell (tinygrad_edu.recurrent), whose
    weights are named ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, ... as PyTorch names
    them. Input (L, N, input_size), (N, L, input_size) with ``batch_first=True``, or (L, input_size)."""

    gates, names = 1, "h"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        nonlinearity: str = "tanh",
    ):
        super().__init__()
        name = type(self).__name__
        self.input_size = arguments.integer(f"{name} input_size", input_size, low=1)
        self.hidden_size = arguments.integer(f"{name} hidden_size", hidden_size, low=1)
        self.num_layers = arguments.integer(f"{name} num_layers", num_layers, low=1)
        self.bias = arguments.flag(f"{name} bias", bias)
        self.batch_first = arguments.flag(f"{name} batch_first", batch_first)
        self.dropout = arguments.real(f"{name} dropout", dropout, low=0.0)
        if self.dropout > 1.0:
            raise ValueError(f"dropout should be a number in range [0, 1] representing the probability of an element "
                             f"being zeroed, got {dropout}")  # fmt: skip
        if bidirectional or proj_size:
            raise ValueError(f"{name}: bidirectional and proj_size are not supported here (one direction only)")
        if self.gates > 1 and nonlinearity != "tanh":
            raise TypeError(f"{name} got an unexpected keyword argument 'nonlinearity' (its gates are fixed)")
        self.nonlinearity = nonlinearity
        self.step = _step(name, nonlinearity) if self.gates == 1 else recurrent.lstm_step
        for k in range(self.num_layers):
            size = self.input_size if k == 0 else self.hidden_size
            for param, tensor in _rnn_weights(self.gates, self.hidden_size, size, self.bias):
                setattr(self, f"{param}_l{k}", tensor)

    def forward(self, input, hx=None):
        name = type(self).__name__
        x = input if isinstance(input, Value) else Tensor(input)
        if x.ndim not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {x.ndim}D instead")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                             f"got {x.shape[-1]}")  # fmt: skip
        batched = x.ndim == 3
        if not batched:
            x = x.unsqueeze(0)  # one sequence: a batch of one
        elif not self.batch_first:
            x = x.transpose(1, 0, 2)  # (L, N, .) -> (N, L, .): the unrolling runs along axis 1
        layers, n = self.num_layers, x.shape[0]
        want = (layers, n, self.hidden_size) if batched else (layers, self.hidden_size)
        state = _state(name, self.names, hx, want)
        if not batched:
            state = tuple(s.unsqueeze(1) for s in state)
        if x.shape[1] == 0:
            raise ValueError(f"{name}: Expected sequence length to be larger than 0 in RNN")
        xs, lasts = [x[:, t] for t in range(x.shape[1])], []
        for k in range(layers):
            w_ih, w_hh, b_ih, b_hh = (
                getattr(self, f"{p}_l{k}") for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            )
            start = tuple(s[k] for s in state)
            xs, last = recurrent.unroll(xs, start, self.step, w_ih.T, w_hh.T, _bias(b_ih, b_hh), self.names)
            if self.dropout and self.training and k < layers - 1:
                xs = [functional.dropout(h, self.dropout) for h in xs]
            lasts.append(last)
        x, final = stack(xs, axis=1), tuple(stack(parts) for parts in zip(*lasts))
        if not batched:
            x, final = x.squeeze(0), tuple(f.squeeze(1) for f in final)
        elif not self.batch_first:
            x = x.transpose(1, 0, 2)
        return x, final if len(final) > 1 else final[0]

    def extra_repr(self) -> str:
        extras = [f", num_layers={self.num_layers}" if self.num_layers > 1 else ""]
        extras += [", bias=False" if not self.bias else "", ", batch_first=True" if self.batch_first else ""]
        extras += [f", dropout={self.dropout}" if self.dropout else ""]  # (PyTorch's repr leaves out nonlinearity)
        return f"{self.input_size}, {self.hidden_size}" + "".join(extras)


class RNN(RNNBase):
    """Elman RNN layers: ``rnn(x)`` returns (output, h_n): every step's hidden state of the last layer, and
    each layer's last one, (num_layers, N, hidden_size). ``rnn(x, h0)`` starts from h0 (zeros by default)."""


class LSTM(RNNBase):
    """LSTM layers: ``lstm(x)`` returns (output, (h_n, c_n)); ``lstm(x, (h0, c0))`` starts from that state."""

    gates, names = 4, "hc"


def _step(name: str, nonlinearity: str):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{name}: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
    return recurrent.rnn_step(nonlinearity)


def _rnn_weights(gates: int, hidden: int, inputs: int, bias: bool) -> Iterator[tuple[str, Tensor | None]]:
    """A recurrent layer's parameters in PyTorch's order and start: every one from U(-1/sqrt(hidden), ...)."""
    bound, rows = 1.0 / math.sqrt(hidden), gates * hidden
    yield "weight_ih", Parameter(generator().uniform(-bound, bound, (rows, inputs)))
    yield "weight_hh", Parameter(generator().uniform(-bound, bound, (rows, hidden)))
    for name in ("bias_ih", "bias_hh"):
        yield name, Parameter(generator().uniform(-bound, bound, rows)) if bias else None


def _bias(bias_ih: Value | None, bias_hh: Value | None) -> Value | None:
    """PyTorch's two biases of a recurrent layer add up to the one bias of a step (b_ih + b_hh), or none."""
    return None if bias_ih is None else bias_ih + bias_hh


def _state(name: str, names: str, hx, shape: tuple[int, ...]) -> tuple[Value, ...]:
    """The first state: zeros, or the given tensor(s) (an LSTM's a tuple (h0, c0)), each checked for ``shape``."""
    if hx is None:
        return tuple(Tensor(np.zeros(shape)) for _ in names)
    parts = (hx,) if len(names) == 1 else tuple(hx) if isinstance(hx, (tuple, list)) else None
    if parts is None or len(parts) != len(names):
        got = f"{type(hx).__name__} of {len(hx)}" if isinstance(hx, (tuple, list)) else type(hx).__name__
        raise TypeError(f"{name}: the state hx must be a tuple (h_0, c_0), got {got}")
    values = tuple(s if isinstance(s, Value) else Tensor(s) for s in parts)
    for part, v in zip(names, values):
        if v.shape != shape:
            raise RuntimeError(f"{name}: expected hidden size {shape} for {part}_0, got {v.shape}")
    return values


def _buffer(name: str, tensor) -> Tensor | None:
    """A buffer's value: a tensor as it is (without a gradient), an array as a new tensor, or None."""
    if tensor is None or isinstance(tensor, Tensor) and not tensor.requires_grad:
        return tensor
    if isinstance(tensor, np.ndarray):
        return Tensor(tensor)
    raise TypeError(
        f"cannot assign {type(tensor).__name__} to buffer {name!r} (a tensor without a gradient, an array, or None)"
    )


class _Loss(Module):
    """A loss module: the mean over the batch, with ``reduction="sum"`` the sum, with ``"none"`` one loss per
    element (per row for cross-entropy), where the loss's function supports it (``nn.functional``'s says which)."""

    reductions = ("mean", "sum", "none")  # those this module supports

    def __init__(self, *legacy, reduction: str = "mean"):
        super().__init__()
        if legacy:  # PyTorch's first positional parameters are weight or size_average, not the reduction
            raise TypeError(
                f"{type(self).__name__} takes reduction= by name (its first positional parameter in "
                f"PyTorch is weight or the old size_average, not the reduction), got {legacy[0]!r}"
            )
        self.reduction = functional.reduction_of(reduction, self.reductions)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


def _same_shape(name: str, input, target) -> None:
    """PyTorch broadcasts (n, 1) predictions against (n,) targets to (n, n), with only a warning, where the
    losses here pair them: a shape mismatch is refused, so the two never differ without a word."""
    if np.shape(input) != np.shape(target):
        raise ValueError(
            f"{name}: input of shape {tuple(np.shape(input))} but target of shape "
            f"{tuple(np.shape(target))}; PyTorch would broadcast them to every pair (a classic bug), "
            "so give them the same shape (target.view(-1, 1) or input.view(-1))"
        )


class MSELoss(_Loss):
    def forward(self, input, target) -> Value:
        _same_shape("MSELoss", input, target)
        return functional.mse_loss(input, target, reduction=self.reduction)


class BCELoss(_Loss):
    def forward(self, input, target) -> Value:
        _same_shape("BCELoss", input, target)
        return functional.binary_cross_entropy(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    reductions = ("mean", "sum")

    def forward(self, input, target) -> Value:
        _same_shape("BCEWithLogitsLoss", input, target)
        return functional.binary_cross_entropy_with_logits(input, target, reduction=self.reduction)


class NLLLoss(_Loss):
    """The negative log-likelihood of the target classes, from log-probabilities (after ``nn.LogSoftmax`` or
    ``F.log_softmax``): LogSoftmax then NLLLoss is CrossEntropyLoss."""

    def forward(self, input, target) -> Value:
        return functional.nll_loss(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    def forward(self, input, target) -> Value:
        return functional.cross_entropy(input, target, reduction=self.reduction)


def __getattr__(name: str):
    raise AttributeError(
        f"tinygrad_edu.torch.nn has no {name!r}; this teaching subset supports: {', '.join(SUPPORTED)}"
    )
