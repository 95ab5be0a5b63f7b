"""Every operation as a plain function: ``F.relu(x)`` is ``x.relu()``.

Numbers and arrays are accepted wherever a Value is (they become constants), so
``F.tanh(0.5)`` works and returns a Value.
"""

from __future__ import annotations

from tinygrad_edu.engine import Value, as_value
from tinygrad_edu.losses import cross_entropy

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "matmul",
    "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "leaky_relu", "softplus", "gelu", "step", "clip",
    "sum", "mean", "max", "softmax", "log_softmax", "reshape", "transpose", "index", "cross_entropy",
]  # fmt: skip


def add(a, b) -> Value:
    return as_value(a) + b


def sub(a, b) -> Value:
    return as_value(a) - b


def mul(a, b) -> Value:
    return as_value(a) * b


def div(a, b) -> Value:
    return as_value(a) / b


def neg(x) -> Value:
    return -as_value(x)


def pow(x, y) -> Value:
    """x ** y; y a number (power rule) or a Value (then x must be >= 0)."""
    return as_value(x) ** y


def matmul(a, b) -> Value:
    return as_value(a) @ b


def exp(x) -> Value:
    return as_value(x).exp()


def log(x) -> Value:
    return as_value(x).log()


def sqrt(x) -> Value:
    return as_value(x).sqrt()


def abs(x) -> Value:
    return as_value(x).abs()


def tanh(x) -> Value:
    """tanh(x), output in (-1, 1), zero-centred; gradient at most 1, vanishing for large |x|."""
    return as_value(x).tanh()


def sigmoid(x) -> Value:
    """1 / (1 + e^-x), output in (0, 1); gradient at most 1/4, vanishing for large |x|."""
    return as_value(x).sigmoid()


def relu(x) -> Value:
    """max(x, 0): gradient 1 for x > 0, so it does not vanish; 0 for x < 0, so a unit can die."""
    return as_value(x).relu()


def leaky_relu(x, alpha: float = 0.01) -> Value:
    """max(alpha*x, x): like ReLU, but a small gradient alpha below 0 keeps units alive."""
    return as_value(x).leaky_relu(alpha)


def softplus(x) -> Value:
    """ln(1 + e^x): a smooth ReLU whose derivative is the sigmoid."""
    return as_value(x).softplus()


def gelu(x) -> Value:
    """x * Phi(x) (tanh approximation): a smooth ReLU used in transformers."""
    return as_value(x).gelu()


def step(x) -> Value:
    """Heaviside step: 0/1 output, zero gradient: the perceptron's unit, untrainable by backprop."""
    return as_value(x).step()


def clip(x, lo: float | None = None, hi: float | None = None) -> Value:
    return as_value(x).clip(lo, hi)


def sum(x, axis=None, keepdims: bool = False) -> Value:
    return as_value(x).sum(axis, keepdims)


def mean(x, axis=None, keepdims: bool = False) -> Value:
    return as_value(x).mean(axis, keepdims)


def max(x, axis=None, keepdims: bool = False) -> Value:
    return as_value(x).max(axis, keepdims)


def softmax(x, axis: int = -1) -> Value:
    return as_value(x).softmax(axis)


def log_softmax(x, axis: int = -1) -> Value:
    return as_value(x).log_softmax(axis)


def reshape(x, *shape) -> Value:
    return as_value(x).reshape(*shape)


def transpose(x, *axes) -> Value:
    return as_value(x).transpose(*axes)


def index(x, idx) -> Value:
    """x[idx]."""
    return as_value(x)[idx]
