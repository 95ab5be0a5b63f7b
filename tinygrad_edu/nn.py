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

from tinygrad_edu import activations, arguments
from tinygrad_edu import init as initializers
from tinygrad_edu.engine import Value
from tinygrad_edu.files import ModelFileError, atomic_write, read_arrays
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

    def train(self, mode: bool = True) -> Module:
        """Mark the model as training (PyTorch's habit; these models behave the same either way)."""
        self.training = arguments.flag("mode", mode)
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
        """What ``state_dict`` holds, by dotted name: the parameters here (a model with buffers adds them)."""
        return self.named_parameters()

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's data (and buffer's, in the PyTorch facade) as a numpy array, by dotted name."""
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


def _walk(obj, name: str, module_path: str) -> Iterator[tuple[str, str, Value]]:
    """(dotted name, path of the owning module, parameter) for every parameter under ``obj``."""
    if isinstance(obj, Value):
        if obj.requires_grad:
            yield name, module_path, obj
    elif isinstance(obj, Module):
        for attr, value in vars(obj).items():
            yield from _walk(value, f"{name}.{attr}" if name else attr, name)
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            yield from _walk(item, f"{name}.{i}", module_path)


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
            _check_inputs(self, x)
            return self.activation(sum((wi * xi for wi, xi in zip(self.w, x)), self.b))
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


def _check_inputs(model: Module, x) -> None:
    if isinstance(x, (Value, np.ndarray)) or not hasattr(x, "__len__"):
        raise TypeError(
            f"{type(model).__name__} at scalar granularity takes a list of {model.nin} numbers or Values, "
            f"got {type(x).__name__}"
        )
    if len(x) != model.nin:
        raise ValueError(f"{type(model).__name__} expects {model.nin} inputs, got {len(x)}")


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
