"""DeZero's toy data sets: ``get_spiral``, three interleaved spiral arms of 100 points each."""

from __future__ import annotations

import numpy as np

__all__ = ["get_spiral"]


def get_spiral(train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(x, t): 300 points (float32, shape (300, 2)) on three spiral arms and their arm, 0, 1 or 2, shuffled.

    Drawn from numpy's global generator seeded as DeZero seeds it (1984 for training, 2020 for testing),
    which it leaves seeded, as DeZero does: the same numbers, and the same numbers drawn after it.
    Arm j at step r = i / 100: radius r, angle 4j + 4r plus noise of standard deviation 0.2.
    """
    np.random.seed(seed=1984 if train else 2020)
    per_class, classes = 100, 3
    rate = np.arange(per_class) / per_class
    theta = np.arange(classes)[:, None] * 4.0 + 4.0 * rate + np.random.randn(classes, per_class) * 0.2
    x = np.stack([rate * np.sin(theta), rate * np.cos(theta)], axis=-1).reshape(-1, 2).astype(np.float32)
    t = np.repeat(np.arange(classes), per_class)
    order = np.random.permutation(per_class * classes)
    return x[order], t[order]


def __getattr__(name: str):
    raise AttributeError(f"tinygrad_edu.dezero.datasets has no {name!r}; it has: {', '.join(__all__)}")
