"""Activation functions, swappable by name: ``activations.get("relu")``.

Each maps a Value to a Value elementwise; their derivatives live beside their
forward passes in ``ops.py``.  Any callable Value -> Value is accepted too.
"""

from __future__ import annotations

from collections.abc import Callable

from tinygrad_edu.engine import Value
from tinygrad_edu.registry import lookup

Activation = Callable[[Value], Value]


def identity(x: Value) -> Value:
    """x itself: a linear unit (the usual choice for an output layer that a loss reads as logits)."""
    return x


def step(x: Value) -> Value:
    """Heaviside step: 0/1 output, zero gradient: the perceptron's unit, untrainable by backprop."""
    return x.step()


def sigmoid(x: Value) -> Value:
    """1 / (1 + e^-x), output in (0, 1); gradient at most 1/4, vanishing for large |x|."""
    return x.sigmoid()


def tanh(x: Value) -> Value:
    """tanh(x), output in (-1, 1), zero-centred; gradient at most 1, vanishing for large |x|."""
    return x.tanh()


def relu(x: Value) -> Value:
    """max(x, 0): gradient 1 for x > 0, so it does not vanish; 0 for x < 0, so a unit can die."""
    return x.relu()


def leaky_relu(x: Value, alpha: float = 0.01) -> Value:
    """max(alpha*x, x): like ReLU, but a small gradient alpha below 0 keeps units alive."""
    return x.leaky_relu(alpha)


def softplus(x: Value) -> Value:
    """ln(1 + e^x): a smooth ReLU whose derivative is the sigmoid."""
    return x.softplus()


def gelu(x: Value) -> Value:
    """x * Phi(x) (tanh approximation): a smooth ReLU used in transformers."""
    return x.gelu()


REGISTRY: dict[str, Activation] = {
    "identity": identity,
    "linear": identity,
    "step": step,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "softplus": softplus,
    "gelu": gelu,
}


def get(name: str | Activation | None, **options) -> Activation:
    """The activation called ``name`` (options such as ``alpha=0.1`` are bound), or the callable itself.

    ``None`` means identity. An unknown name raises ValueError listing the known ones.
    """
    return lookup(REGISTRY, "activation", identity if name is None else name, options)


def name_of(fn: Activation) -> str:
    """A short name for an activation, for graphs and summaries."""
    fn = getattr(fn, "func", fn)
    return getattr(fn, "__name__", type(fn).__name__)
