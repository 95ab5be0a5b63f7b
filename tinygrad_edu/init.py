"""Weight initializers, swappable by name: ``init.get("he_normal")(shape, rng=rng)``.

Each is called as ``fn(shape, rng=generator)`` with ``shape = (n_in, n_out)``
(fan-in first) and returns a float64 numpy array.  The scale matters: too small
and signals shrink layer by layer, too large and they explode or saturate.

* Xavier/Glorot (for tanh, sigmoid): Var(w) = 2 / (n_in + n_out), which keeps the
  variance of both the forward signal and the backward gradient about constant.
  (The forward-only version, Var = 1 / n_in, is ``lecun_normal``.)
* He/Kaiming (for ReLU): Var(w) = 2 / n_in: ReLU zeroes half its inputs, so twice the variance.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tinygrad_edu.registry import lookup

Initializer = Callable[..., np.ndarray]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 1:
        return shape[0], 1
    return shape[0], shape[1]


def zeros(shape: tuple[int, ...], rng: np.random.Generator | None = None) -> np.ndarray:
    """All zeros: every unit of a layer starts the same and stays the same (the symmetry problem)."""
    return np.zeros(shape)


def constant(shape: tuple[int, ...], rng: np.random.Generator | None = None, value: float = 0.0) -> np.ndarray:
    """All equal to ``value``: as symmetric as zeros."""
    return np.full(shape, float(value))


def uniform(shape, rng: np.random.Generator, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    """U(low, high), micrograd's default U(-1, 1)."""
    return rng.uniform(low, high, size=shape)


def normal(shape, rng: np.random.Generator, std: float = 1.0) -> np.ndarray:
    """N(0, std^2)."""
    return rng.normal(0.0, std, size=shape)


def xavier_uniform(shape, rng: np.random.Generator) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / (n_in + n_out)), so Var = a^2 / 3 = 2 / (n_in + n_out)."""
    n_in, n_out = _fans(shape)
    a = math.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-a, a, size=shape)


def xavier_normal(shape, rng: np.random.Generator) -> np.ndarray:
    """N(0, 2 / (n_in + n_out))."""
    n_in, n_out = _fans(shape)
    return rng.normal(0.0, math.sqrt(2.0 / (n_in + n_out)), size=shape)


def he_uniform(shape, rng: np.random.Generator) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / n_in), so Var = 2 / n_in."""
    n_in, _ = _fans(shape)
    a = math.sqrt(6.0 / n_in)
    return rng.uniform(-a, a, size=shape)


def he_normal(shape, rng: np.random.Generator) -> np.ndarray:
    """N(0, 2 / n_in)."""
    n_in, _ = _fans(shape)
    return rng.normal(0.0, math.sqrt(2.0 / n_in), size=shape)


def lecun_normal(shape, rng: np.random.Generator) -> np.ndarray:
    """N(0, 1 / n_in)."""
    n_in, _ = _fans(shape)
    return rng.normal(0.0, math.sqrt(1.0 / n_in), size=shape)


REGISTRY: dict[str, Initializer] = {
    "zeros": zeros,
    "constant": constant,
    "uniform": uniform,
    "normal": normal,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "xavier": xavier_normal,
    "glorot": xavier_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "he": he_normal,
    "kaiming": he_normal,
    "lecun_normal": lecun_normal,
}


def get(name: str | Initializer, **options) -> Initializer:
    """The initializer called ``name`` (options such as ``value=0.5`` or ``std=0.1`` are bound), or the callable.

    An unknown name raises ValueError listing the known ones.
    """
    return lookup(REGISTRY, "initializer", name, options)
