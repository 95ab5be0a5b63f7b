"""Neural networks on the engine: Module, Neuron, Layer, MLP, and the classic Perceptron.

Every model can be built at two granularities, with the same numbers for the same seed:

* ``granularity="scalar"``: one Value per weight, as micrograd does; a model takes a list
  of numbers and its drawn graph shows every multiply.
* ``granularity="tensor"`` (default): weight matrices; a model takes an array of shape
  ``(nin,)`` or ``(batch, nin)`` and is much faster.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from tinygrad_edu import activations, arguments, recurrent
from tinygrad_edu import functional as F
from tinygrad_edu import init as initializers
from tinygrad_edu.engine import Value
from tinygrad_edu.files import ModelFileError, atomic_write, read_arrays
from tinygrad_edu.functional import _pair as pair
from tinygrad_edu.modes import quiet

GRANULARITIES = ("scalar", "tensor")


class Module:
    """Base of all models: finds its parameters (Values, also inside lists and sub-modules) by attribute."""

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Value]]:
        """(dotted name, parameter) pairs, e.g. ``("layers.0.w", Value)``, in definition order."""
        for name, _, p in _walk(self, prefix.rstrip("."), ""):
            yield name, p

    def label_parameters(self) -> None:
        """Label each parameter by the module it lives in, e.g. ``layers.0.neurons.1.w0``.

        The graph drawing groups parameters into one box per module by these paths.
        """
        for _, module_path, p in _walk(self, "", ""):
            short = p.label.rsplit(".", 1)[-1]
            p.label = f"{module_path}.{short}" if module_path else short

    def parameters(self) -> list[Value]:
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Value]]:
        """(dotted name, buffer) pairs: numbers a model keeps and saves but does not learn (Values without a
        gradient that a module holds, as BatchNorm's running statistics). ``state_dict`` holds them too."""
        for name, _, b in _walk(self, prefix.rstrip("."), "", buffers=True):
            yield name, b

    def modules(self) -> Iterator[Module]:
        """This module, then every module inside it (attributes, and items of lists), depth first."""
        yield self
        for value in vars(self).values():
            for m in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(m, Module):
                    yield from m.modules()

    def train(self, mode: bool = True) -> Module:
        """Put this model and every module inside it in training mode (``mode=False``: eval mode). Dropout and
        BatchNorm behave differently in the two; the other layers the same."""
        mode = arguments.flag("mode", mode)
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Mark the model as evaluating, as ``model.eval()`` in PyTorch."""
        return self.train(False)

    def __getattr__(self, name: str):
        if name == "training":
            return True
        if name == "neurons" and getattr(self, "granularity", None) == "tensor":
            raise AttributeError(
                f"a {type(self).__name__} at tensor granularity has a weight matrix .w, not "
                f".neurons; build it with granularity='scalar' to get one Neuron per unit"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args):
        return self.forward(*args)

    def _named_state(self) -> Iterator[tuple[str, Value]]:
        """What ``state_dict`` holds, by dotted name: the parameters, then the buffers."""
        yield from self.named_parameters()
        yield from self.named_buffers()

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's data and every buffer's (running statistics) as numpy arrays, by name."""
        return {name: np.array(p.data) for name, p in self._named_state()}

    def load_state_dict(self, state: dict) -> None:
        """Set every parameter (and buffer) from ``state``. Everything is checked first, so a bad state changes
        nothing."""
        if not isinstance(state, Mapping):
            raise TypeError(
                f"load_state_dict needs a dict of parameter names to arrays (as state_dict() gives), "
                f"got {type(state).__name__}"
            )
        params = dict(self._named_state())
        missing = sorted(set(params) - set(state))
        unexpected = sorted(set(state) - set(params))
        problems = []
        if missing:
            problems.append(f"missing keys {missing}")
        if unexpected:
            problems.append(f"unexpected keys {unexpected}")
        new = {}
        for name in sorted(set(params) & set(state)):
            arr = np.asarray(state[name])
            if arr.dtype.kind not in "biuf":
                problems.append(f"{name} holds {arr.dtype} data, not numbers")
            elif arr.shape != params[name].shape:
                problems.append(f"{name} has shape {arr.shape}, the model needs {params[name].shape}")
            elif not np.all(np.isfinite(arr)):
                problems.append(f"{name} holds nan or inf")
            else:
                new[name] = float(arr) if arr.ndim == 0 else arr.astype(np.float64)
        if problems:
            raise ValueError(f"state does not fit this {type(self).__name__}: " + "; ".join(problems))
        for name, data in new.items():
            params[name].data = data
            params[name].zero_grad()

    def save(self, path: str | os.PathLike) -> None:
        """Write the parameters to ``path`` as .npz (no pickle). Written to a temporary file, then renamed
        over ``path``, so an interrupted save never leaves a half-written file."""
        with atomic_write(path) as f:
            np.savez(f, **self.state_dict())

    def load(self, path: str | os.PathLike) -> None:
        """Read parameters saved by ``save``. A missing file raises FileNotFoundError; a corrupt one or one
        that does not fit this model raises ``ModelFileError`` (a ValueError) naming the file; either way
        the model is left as it was."""
        state = read_arrays(path)
        try:
            self.load_state_dict(state)
        except ValueError as e:
            raise ModelFileError(f"{os.fspath(path)!r}: {e}") from None


def _walk(obj, name: str, module_path: str, buffers: bool = False) -> Iterator[tuple[str, str, Value]]:
    """(dotted name, path of the owning module, parameter) for every parameter under ``obj`` (with
    ``buffers=True``: every Value without a gradient instead)."""
    if isinstance(obj, Value):
        if obj.requires_grad != buffers:
            yield name, module_path, obj
    elif isinstance(obj, Module):
        for attr, value in vars(obj).items():
            yield from _walk(value, f"{name}.{attr}" if name else attr, name, buffers)
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            yield from _walk(item, f"{name}.{i}", module_path, buffers)


def _generator(seed: int | None) -> np.random.Generator:
    """Where initial weights come from: ``seed`` if given, else numpy's global random state, so that a
    learner's ``np.random.seed(0)`` (or ``tinygrad_edu.manual_seed(0)``) makes runs repeatable."""
    seed = arguments.seed(seed)
    return np.random.default_rng(np.random.randint(2**31) if seed is None else seed)


def manual_seed(seed: int) -> None:
    """Seed the weights of models built without ``seed=`` (numpy's global random state, as ``np.random.seed``)."""
    np.random.seed(arguments.seed(seed))


def _check_granularity(granularity: str) -> None:
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}, got {granularity!r}")


def check_size(what: str, n) -> int:
    """``n`` as a size (of a layer, of its inputs, a number of epochs): a whole number >= 1."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    return int(n)


def _weights(nin: int, nout: int, init_fn, rng: np.random.Generator) -> np.ndarray:
    w = np.asarray(init_fn((nin, nout), rng=rng), dtype=np.float64)
    if w.shape != (nin, nout):
        raise ValueError(f"initializer returned shape {w.shape}, expected {(nin, nout)}")
    return w


class Neuron(Module):
    """One unit: activation(w . x + b)."""

    def __init__(
        self,
        nin: int,
        activation="tanh",
        init: str = "xavier",
        bias_init: float = 0.0,
        granularity: str = "tensor",
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        weights: np.ndarray | None = None,
    ):
        self.nin = check_size("nin", nin)
        _check_granularity(granularity)
        self.granularity = granularity
        self.activation = activations.get(activation)
        bias_init = arguments.real("bias_init", bias_init)
        if weights is None:
            weights = _weights(nin, 1, initializers.get(init), rng or _generator(seed))[:, 0]
        if granularity == "scalar":
            self.w = [Value(float(wi), label=f"w{i}") for i, wi in enumerate(weights)]
        else:
            self.w = Value(weights, label="w")
        self.b = Value(float(bias_init), label="b")
        self.label_parameters()

    def forward(self, x):
        if self.granularity == "scalar":
            x = _scalar_inputs(self, x)
            return self.activation(sum((wi * xi for wi, xi in zip(self.w[1:], x[1:])), self.w[0] * x[0]) + self.b)
        return self.activation(_as_batch(self, x) @ self.w + self.b)

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, {activations.name_of(self.activation)}, {self.granularity})"


class Layer(Module):
    """``nout`` neurons reading the same inputs: activation(x @ W + b), W of shape (nin, nout)."""

    def __init__(
        self,
        nin: int,
        nout: int,
        activation="tanh",
        init: str = "xavier",
        bias_init: float = 0.0,
        granularity: str = "tensor",
        seed: int | None = None,
        rng: np.random.Generator | None = None,
    ):
        self.nin, self.nout = check_size("nin", nin), check_size("nout", nout)
        _check_granularity(granularity)
        self.granularity = granularity
        self.activation = activations.get(activation)
        bias_init = arguments.real("bias_init", bias_init)
        w = _weights(nin, nout, initializers.get(init), rng or _generator(seed))
        if granularity == "scalar":
            self.neurons = [
                Neuron(nin, activation, bias_init=bias_init, granularity="scalar", weights=w[:, j]) for j in range(nout)
            ]
        else:
            self.w = Value(w, label="W")
            self.b = Value(np.full(nout, float(bias_init)), label="b")
        self.label_parameters()

    def forward(self, x):
        if self.granularity == "scalar":
            x = _scalar_inputs(self, x)  # once, so that all neurons read the same input nodes
            out = [n(x) for n in self.neurons]
            return out[0] if len(out) == 1 else out
        return self.activation(_as_batch(self, x) @ self.w + self.b)

    def __repr__(self) -> str:
        return f"Layer({self.nin} -> {self.nout}, {activations.name_of(self.activation)}, {self.granularity})"


class MLP(Module):
    """A multi-layer perceptron: ``sizes`` gives each layer's width, the last one the outputs.

    Hidden layers use ``activation``; the last layer uses ``out_activation`` (None: linear,
    which is what ``bce_with_logits`` and ``cross_entropy`` expect).
    """

    def __init__(
        self,
        nin: int,
        sizes: Sequence[int],
        activation="tanh",
        out_activation=None,
        init: str = "xavier",
        bias_init: float = 0.0,
        granularity: str = "tensor",
        seed: int | None = None,
    ):
        if isinstance(sizes, (int, np.integer)) or not sizes:
            raise ValueError(f"sizes must be a non-empty list of layer widths, got {sizes!r}")
        widths = [check_size("nin", nin)] + [check_size("layer size", s) for s in sizes]
        activations.get(activation)  # checked even when there is no hidden layer to use it
        rng = _generator(seed)
        self.layers = [
            Layer(
                widths[i],
                widths[i + 1],
                activation if i < len(sizes) - 1 else out_activation,
                init,
                bias_init,
                granularity,
                rng=rng,
            )
            for i in range(len(sizes))
        ]
        self.granularity = granularity
        self.label_parameters()

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"MLP([{inner}])"


# ---------------------------------------------------------------- the next chapter: images, normalisation, dropout
# These layers work on whole arrays only (tensor granularity): a convolution drawn one multiply at a time would
# be thousands of nodes. Each is a few lines on an op of ``functional`` (whose derivative is written in ops.py).


def _tensor_only(what: str, granularity: str) -> None:
    _check_granularity(granularity)
    if granularity != "tensor":
        raise ValueError(
            f"{what} is built at tensor granularity only (its inputs are whole arrays), got granularity="
            f"{granularity!r}; a scalar-granularity model is an MLP of Layers"
        )


def _input(layer: Module, x, ndims: tuple[int, ...], layout: str, channels: int | None = None) -> Value:
    """Check an input's rank (and its channels, axis 1) and name the layer when it does not fit."""
    v = x if isinstance(x, Value) else Value(x, requires_grad=False)
    if v.ndim not in ndims:
        raise ValueError(f"{layer!r} expects input of shape {layout}, got shape {v.shape}")
    if channels is not None and v.shape[1] != channels:
        raise ValueError(f"{layer!r} expects {channels} channels (axis 1 of {layout}), got shape {v.shape}")
    return v


class Sequential(Module):
    """Modules applied one after another: ``Sequential(Conv2d(1, 8, 3), Activation("relu"), ...)``.

    ``model[0]`` is the first, ``len(model)`` how many; parameters are named ``layers.0.w``, ``layers.0.b``, ...
    """

    def __init__(self, *modules: Module):
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential's argument {i} is {m!r}, not a Module (such as nn.Conv2d(1, 8, 3))")
            if getattr(m, "granularity", "tensor") != "tensor":
                raise ValueError(
                    f"Sequential's argument {i}, {m!r}, is at scalar granularity; Sequential passes whole arrays "
                    "from layer to layer, so build it with granularity='tensor'"
                )
        self.layers = list(modules)
        self.granularity = "tensor"
        self.label_parameters()

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): " + repr(m).replace("\n", "\n  ") for i, m in enumerate(self.layers))
        return f"Sequential({inner}\n)" if inner else "Sequential()"


class Activation(Module):
    """An activation as a layer of its own, by name (``Activation("relu")``, options as ``alpha=0.1``), so a
    Sequential can put a BatchNorm between a ``Layer(..., activation=None)`` and its nonlinearity."""

    def __init__(self, name="relu", **options):
        self.fn = activations.get(name, **options)

    def forward(self, x) -> Value:
        return self.fn(x if isinstance(x, Value) else Value(x, requires_grad=False))

    def __repr__(self) -> str:
        return f"Activation({activations.name_of(self.fn)!r})"


class Flatten(Module):
    """Each example of a batch made one row: (N, C, H, W) becomes (N, C*H*W), between images and a Layer."""

    def forward(self, x) -> Value:
        v = x if isinstance(x, Value) else Value(x, requires_grad=False)
        if v.ndim < 2:
            raise ValueError(f"Flatten expects a batch (N, ...) of at least 2 axes, got shape {v.shape}")
        return F.flatten(v, 1)

    def __repr__(self) -> str:
        return "Flatten()"


class Conv2d(Module):
    """Filters slid over images: (N, C, H, W) in, (N, F, OH, OW) out, OH = (H + 2 padding - KH) // stride + 1.

    ``w`` has shape (F, C, KH, KW), ``b`` (F,). Each output pixel is a Layer's unit on one patch of C*KH*KW
    inputs, so ``init`` sees the shape (C*KH*KW, F): fan-in C*KH*KW, fan-out F (PyTorch counts F*KH*KW).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        init: str = "he",
        bias_init: float = 0.0,
        granularity: str = "tensor",
        seed: int | None = None,
    ):
        _tensor_only("Conv2d", granularity)
        self.in_channels = check_size("in_channels", in_channels)
        self.out_channels = check_size("out_channels", out_channels)
        self.kernel_size = pair("Conv2d kernel_size", kernel_size, 1)
        self.stride, self.padding = pair("Conv2d stride", stride, 1), pair("Conv2d padding", padding, 0)
        fan_in = in_channels * self.kernel_size[0] * self.kernel_size[1]
        w = _weights(fan_in, out_channels, initializers.get(init), _generator(seed))
        self.w = Value(w.T.reshape(out_channels, in_channels, *self.kernel_size), label="w")
        self.b = Value(np.full(out_channels, arguments.real("bias_init", bias_init)), label="b")
        self.granularity = granularity
        self.label_parameters()

    def forward(self, x) -> Value:
        x = _input(self, x, (4,), "(N, C, H, W)", self.in_channels)
        return F.conv2d(x, self.w, self.b, self.stride, self.padding)

    def __repr__(self) -> str:
        k, s, p = self.kernel_size, self.stride, self.padding
        return f"Conv2d({self.in_channels} -> {self.out_channels}, kernel {k[0]}x{k[1]}, stride {s}, padding {p})"


class MaxPool2d(Module):
    """The largest element of each kernel_size window, stride apart (by default kernel_size: side by side). The
    gradient goes to each window's maximum, so only the winners learn."""

    op = staticmethod(F.max_pool2d)

    def __init__(self, kernel_size, stride=None):
        name = type(self).__name__
        self.kernel_size = pair(f"{name} kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else pair(f"{name} stride", stride, 1)

    def forward(self, x) -> Value:
        return self.op(_input(self, x, (4,), "(N, C, H, W)"), self.kernel_size, self.stride)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride})"


class AvgPool2d(MaxPool2d):
    """The mean of each kernel_size window, stride apart (by default kernel_size). The gradient is shared out
    equally: each input of a window gets 1 / (KH KW) of it."""

    op = staticmethod(F.avg_pool2d)


class BatchNorm1d(Module):
    """Batch normalisation: each feature (axis 1) standardised over the batch, then scaled by ``gamma`` (ones at
    first) and shifted by ``beta`` (zeros): y = gamma (x - mean) / sqrt(var + eps) + beta.

    Training: mean and var are the batch's own, and the running statistics (buffers ``running_mean``,
    ``running_var``: saved, never learned) move towards them: running = (1 - momentum) running + momentum batch.
    Eval (``model.eval()``): the running statistics are used instead, so one example's answer does not depend on
    the others in its batch. ``gamma`` and ``beta`` are cs231n's names; PyTorch calls them ``weight`` and ``bias``.
    """

    ndims, layout = (2, 3), "(N, C) or (N, C, L)"

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5, granularity: str = "tensor"):
        _tensor_only(type(self).__name__, granularity)
        self.num_features = check_size("num_features", num_features)
        self.momentum = arguments.real("momentum", momentum, low=0.0)
        if self.momentum > 1.0:
            raise ValueError(f"momentum must be between 0 and 1, got {momentum!r}")
        self.eps = arguments.real("eps", eps, positive=True)
        self.gamma = Value(np.ones(num_features), label="gamma")
        self.beta = Value(np.zeros(num_features), label="beta")
        self.running_mean = Value(np.zeros(num_features), label="running_mean", requires_grad=False)
        self.running_var = Value(np.ones(num_features), label="running_var", requires_grad=False)
        self.granularity = granularity
        self.label_parameters()

    def forward(self, x) -> Value:
        x = _input(self, x, self.ndims, self.layout, self.num_features)
        stats, affine = (self.running_mean, self.running_var), (self.gamma, self.beta)
        return F.batch_norm(x, *stats, *affine, self.training, self.momentum, self.eps)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.num_features}, momentum={self.momentum}, eps={self.eps})"


class BatchNorm2d(BatchNorm1d):
    """Batch normalisation of images (N, C, H, W): each channel over the batch and every pixel (see BatchNorm1d)."""

    ndims, layout = (4,), "(N, C, H, W)"


class LayerNorm(Module):
    """Each example standardised over its last axes (``shape``, an int or a tuple), then scaled by ``gamma``
    (ones) and shifted by ``beta`` (zeros). No batch statistics: the same in training and eval."""

    def __init__(self, shape, eps: float = 1e-5, granularity: str = "tensor"):
        _tensor_only("LayerNorm", granularity)
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        self.shape = tuple(check_size("LayerNorm shape", n) for n in shape)
        self.eps = arguments.real("eps", eps, positive=True)
        self.gamma = Value(np.ones(self.shape), label="gamma")
        self.beta = Value(np.zeros(self.shape), label="beta")
        self.granularity = granularity
        self.label_parameters()

    def forward(self, x) -> Value:
        x = x if isinstance(x, Value) else Value(x, requires_grad=False)
        if x.shape[max(x.ndim - len(self.shape), 0) :] != self.shape:
            raise ValueError(f"{self!r} expects input whose last axes are {self.shape}, got shape {x.shape}")
        return F.layer_norm(x, self.shape, self.gamma, self.beta, self.eps)

    def __repr__(self) -> str:
        return f"LayerNorm({self.shape}, eps={self.eps})"


class Dropout(Module):
    """Inverted dropout: in training each element is zeroed with probability ``p`` and the rest scaled by
    1 / (1 - p), so no unit can rely on another; in eval, the identity. A fresh mask every call, from a
    generator seeded by ``seed`` (the same seed, the same masks)."""

    def __init__(self, p: float = 0.5, seed: int | None = None):
        self.p = arguments.real("Dropout p", p)
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"Dropout p (the probability of zeroing an element) must be in [0, 1], got {p!r}")
        self.rng = _generator(seed)

    def forward(self, x) -> Value:
        return F.dropout(x, self.p, self.training, self.rng)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


class Embedding(Module):
    """A table ``w`` of ``num`` vectors of size ``dim``: integer indices in, their rows out (shape
    indices.shape + (dim,)). The gradient goes to the rows used, a repeated index's summed."""

    def __init__(self, num: int, dim: int, init: str = "normal", granularity: str = "tensor", seed: int | None = None):
        _tensor_only("Embedding", granularity)
        self.num, self.dim = check_size("num", num), check_size("dim", dim)
        self.w = Value(_weights(num, dim, initializers.get(init), _generator(seed)), label="w")
        self.granularity = granularity
        self.label_parameters()

    def forward(self, indices) -> Value:
        return F.embedding(indices, self.w)

    def __repr__(self) -> str:
        return f"Embedding({self.num}, {self.dim})"


class RNNCell(Module):
    """One step of a vanilla recurrent network: h' = tanh(x w_ih + h w_hh + b) (or relu). ``x`` has shape
    (N, input_size) or (input_size,), ``h`` the matching (N, hidden_size) (zeros when not given). Calling it in
    a loop over time is an RNN; ``RNN`` does that loop for you."""

    gates, names = 1, "h"  # how many blocks of hidden_size units w_ih feeds; the parts of the state

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        nonlinearity: str = "tanh",
        init: str = "xavier",
        granularity: str = "tensor",
        seed: int | None = None,
        rng: np.random.Generator | None = None,
    ):
        _tensor_only(type(self).__name__, granularity)
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = check_size("hidden_size", hidden_size)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity, self.step = nonlinearity, recurrent.rnn_step(nonlinearity)
        init_fn, rng = initializers.get(init), rng or _generator(seed)
        width = self.gates * hidden_size
        self.w_ih = Value(_weights(input_size, width, init_fn, rng), label="w_ih")
        self.w_hh = Value(_weights(hidden_size, width, init_fn, rng), label="w_hh")
        self.b = Value(self._bias(), label="b")
        self.granularity = granularity
        self.label_parameters()

    def _bias(self) -> np.ndarray:
        return np.zeros(self.hidden_size)

    def zero_state(self, batch: tuple[int, ...]) -> recurrent.State:
        """The state before the first step: zeros of shape batch + (hidden_size,), one per part of the state."""
        return tuple(Value(np.zeros((*batch, self.hidden_size)), requires_grad=False) for _ in self.names)

    def forward(self, x, state=None):
        x = _input(self, x, (1, 2), "(N, input_size) or (input_size,)")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{self!r} expects {self.input_size} input features (last axis), got shape {x.shape}")
        out = self.step(x, self._start(x.shape[:-1], state), self.w_ih, self.w_hh, self.b)
        return out if len(out) > 1 else out[0]

    def _start(self, batch: tuple[int, ...], state) -> recurrent.State:
        if state is None:
            return self.zero_state(batch)
        parts = _state_parts(self, state, self.names)
        want = (*batch, self.hidden_size)
        for name, s in zip(self.names, parts):
            if np.shape(s.numbers if isinstance(s, Value) else s) != want:
                raise ValueError(f"{self!r}: the state {name} must have shape {want}, got {np.shape(s)}")
        return tuple(s if isinstance(s, Value) else Value(s, requires_grad=False) for s in parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.input_size} -> {self.hidden_size}, {self.nonlinearity})"


class LSTMCell(RNNCell):
    """One step of an LSTM (see recurrent.lstm_step): the state is (h, c), ``cell(x, (h, c))`` returns the new
    (h, c). w_ih and w_hh hold the four gates side by side (input, forget, cell, output: PyTorch's order). The
    forget gate's bias starts at ``forget_bias`` (1: remember by default, Jozefowicz et al. 2015)."""

    gates, names = 4, "hc"

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float = 1.0, **options):
        self.forget_bias = arguments.real("forget_bias", forget_bias)
        super().__init__(input_size, hidden_size, "tanh", **options)
        self.step = recurrent.lstm_step

    def _bias(self) -> np.ndarray:
        n = self.hidden_size
        return np.concatenate([np.zeros(n), np.full(n, self.forget_bias), np.zeros(2 * n)])

    def __repr__(self) -> str:
        return f"LSTMCell({self.input_size} -> {self.hidden_size})"


def _state_parts(model: Module, state, names: str) -> tuple:
    """A given state as its parts: (h,) for an RNN, (h, c) for an LSTM, which must come as a pair."""
    if len(names) == 1:
        return (state,)
    if not isinstance(state, (tuple, list)) or len(state) != len(names):
        raise ValueError(f"{model!r}: the state must be a pair ({', '.join(names)}), got {type(state).__name__}")
    return tuple(state)


class RNN(Module):
    """A recurrent layer (or ``num_layers`` stacked): an RNNCell applied at every step of sequences of shape
    (N, T, input_size) (batch first, so that ``train.fit`` batches sequences), unrolled: the graph has one
    step per time step, its states labelled h1 ... hT.

    ``model(x)`` returns (outputs, h_n): every step's hidden state of the last layer, (N, T, hidden_size), and
    each layer's last one, (num_layers, N, hidden_size). ``model(x, h0)`` starts from h0 of that shape."""

    cell = RNNCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, seed: int | None = None, **options):
        self.num_layers = check_size("num_layers", num_layers)
        rng = _generator(seed)
        sizes = [check_size("input_size", input_size)] + [hidden_size] * (self.num_layers - 1)
        self.cells = [self.cell(n, hidden_size, rng=rng, **options) for n in sizes]
        self.input_size, self.hidden_size = input_size, self.cells[0].hidden_size
        self.granularity = "tensor"
        self.label_parameters()

    def forward(self, x, state=None):
        x = _input(self, x, (3,), "(N, T, input_size)")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{self!r} expects {self.input_size} input features (last axis), got shape {x.shape}")
        if x.shape[1] == 0:
            raise ValueError(f"{self!r}: a sequence needs at least one step, got shape {x.shape}")
        xs, lasts = [x[:, t] for t in range(x.shape[1])], []  # the sequence, one step at a time
        for cell, start in zip(self.cells, self._starts(x.shape[0], state)):  # each layer reads the one below
            xs, last = recurrent.unroll(xs, start, cell.step, cell.w_ih, cell.w_hh, cell.b, cell.names)
            lasts.append(last)
        final = tuple(F.stack(parts) for parts in zip(*lasts))  # each part of the state: (num_layers, N, hidden)
        return F.stack(xs, axis=1), final if len(final) > 1 else final[0]

    def _starts(self, n: int, state) -> list[recurrent.State]:
        """Each layer's first state: zeros, or the rows of the given (num_layers, N, hidden_size) arrays."""
        if state is None:
            return [cell.zero_state((n,)) for cell in self.cells]
        parts = _state_parts(self, state, self.cell.names)
        want = (self.num_layers, n, self.hidden_size)
        values = []
        for name, s in zip(self.cell.names, parts):
            v = s if isinstance(s, Value) else Value(s, requires_grad=False)
            if v.shape != want:
                raise ValueError(f"{self!r}: the first state {name}0 must have shape {want}, got {v.shape}")
            values.append(v)
        return [tuple(v[k] for v in values) for k in range(self.num_layers)]

    def __repr__(self) -> str:
        layers = f", {self.num_layers} layers" if self.num_layers > 1 else ""
        return f"{type(self).__name__}({self.input_size} -> {self.hidden_size}{layers})"


class LSTM(RNN):
    """LSTM layers (see RNN and LSTMCell): ``model(x)`` returns (outputs, (h_n, c_n)); ``model(x, (h0, c0))``
    starts from that state."""

    cell = LSTMCell


def _check_inputs(model: Module, x) -> None:
    if isinstance(x, (Value, np.ndarray)) or not hasattr(x, "__len__"):
        raise TypeError(
            f"{type(model).__name__} at scalar granularity takes a list of {model.nin} numbers or Values, "
            f"got {type(x).__name__}"
        )
    if len(x) != model.nin:
        raise ValueError(f"{type(model).__name__} expects {model.nin} inputs, got {len(x)}")


def _scalar_inputs(model: Module, x) -> list:
    """Check a scalar-granularity input and make each number an input node named ``x[0]``, ``x[1]``, ...
    (one node per input, however many neurons read it; Values are kept as given): its graph names its inputs."""
    _check_inputs(model, x)
    return [
        xi if isinstance(xi, Value) else Value(float(xi), label=f"x[{i}]", requires_grad=False)
        for i, xi in enumerate(x)
    ]


def _as_batch(model: Module, x) -> Value:
    """Check a tensor-granularity input: shape (nin,) or (batch, nin)."""
    if isinstance(x, (list, tuple)) and any(isinstance(xi, Value) for xi in x):
        raise TypeError(
            f"{type(model).__name__} at tensor granularity takes an array or a Value of shape (nin,) or "
            "(batch, nin), got a list of Values; for those build it at scalar granularity, e.g. "
            f"nn.{type(model).__name__}(..., granularity='scalar')"
        )
    v = x if isinstance(x, Value) else Value(x, requires_grad=False)
    if v.ndim not in (1, 2) or v.shape[-1] != model.nin:
        raise ValueError(
            f"{type(model).__name__} expects input of shape ({model.nin},) or (batch, {model.nin}), got {v.shape}"
        )
    return v


class Perceptron(Module):
    """Rosenblatt's perceptron: output H(w . x + b), the Heaviside step (1 if z >= 0 else 0).

    It learns by the perceptron rule, not by backprop (the step has no useful gradient):
    on each example, w <- w + lr (y - y_hat) x and b <- b + lr (y - y_hat).  It finds a
    separating line whenever one exists (AND, OR, NAND) and never settles when none does (XOR).
    """

    def __init__(self, nin: int, seed: int | None = None, init: str = "zeros"):
        self.nin = check_size("nin", nin)
        rng = _generator(seed)
        self.w = Value(_weights(nin, 1, initializers.get(init), rng)[:, 0], label="w")
        self.b = Value(0.0, label="b")
        self.errors_: list[int] = []
        self.label_parameters()

    def forward(self, x) -> Value:
        return (_as_batch(self, x) @ self.w + self.b).step()

    def predict(self, X) -> np.ndarray:
        """0/1 predictions for an array of shape (n, nin) or (nin,)."""
        return np.asarray(self.forward(X).data)

    @quiet  # weights that overflow become inf quietly, as everywhere (the CLI's gates says so)
    def fit(self, X, y, epochs: int = 100, lr: float = 1.0) -> Perceptron:
        """Apply the perceptron rule for up to ``epochs`` passes; ``errors_`` records mistakes per pass.

        Training stops after the first pass with no mistakes (converged).
        """
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if X.ndim != 2 or X.shape[1] != self.nin or len(X) != len(y):
            raise ValueError(f"fit needs X of shape (n, {self.nin}) and y of n labels, got {X.shape} and {y.shape}")
        if not np.isin(y, (0.0, 1.0)).all():
            raise ValueError(f"perceptron labels must be 0 or 1, got {sorted(set(y.tolist()))}")
        epochs = check_size("epochs", epochs)
        lr = arguments.real("lr", lr, positive=True)
        w, b = self.w.data.copy(), self.b.data
        self.errors_ = []
        for _ in range(epochs):
            mistakes = 0
            for xi, yi in zip(X, y):
                update = lr * (yi - (1.0 if xi @ w + b >= 0 else 0.0))
                if update:
                    w += update * xi
                    b += update
                    mistakes += 1
            self.errors_.append(mistakes)
            if mistakes == 0:
                break
        self.w.data, self.b.data = w, float(b)
        return self

    @property
    def converged(self) -> bool:
        """True when the last training pass made no mistakes."""
        return bool(self.errors_) and self.errors_[-1] == 0
