"""Activation functions, swappable by name: ``activations.get("relu")``.

Each maps a Value to a Value elementwise. They are the functions of ``functional.py``
(where each says what it is good for), and their derivatives live beside their
forward passes in ``ops.py``.  Any callable Value -> Value is accepted too.
"""

from __future__ import annotations

from collections.abc import Callable

from tinygrad_edu import functional as F
from tinygrad_edu.engine import Value
from tinygrad_edu.registry import lookup

Activation = Callable[[Value], Value]


def identity(x: Value) -> Value:
    """x itself: a linear unit (the usual choice for an output layer that a loss reads as logits)."""
    return x


REGISTRY: dict[str, Activation] = {
    "identity": identity,
    "linear": identity,
    "step": F.step,
    "sigmoid": F.sigmoid,
    "tanh": F.tanh,
    "relu": F.relu,
    "leaky_relu": F.leaky_relu,
    "softplus": F.softplus,
    "gelu": F.gelu,
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
