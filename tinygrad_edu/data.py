"""Small data sets for learning, all inside the package: nothing is downloaded.

Each returns ``(X, y)``: X a float64 array of shape (n, features), y the labels; ``names()`` returns words.
The synthetic ones are drawn from a seeded generator, so a seed gives the same points.
A bad argument (``noise="a"``, ``seed=-1``, ``n=2.5``) is a TypeError or ValueError naming it.
"""

from __future__ import annotations

import csv
import gzip
from importlib import resources

import numpy as np

from tinygrad_edu import arguments

GATES = {
    "and": [0, 0, 0, 1],
    "or": [0, 1, 1, 1],
    "nand": [1, 1, 1, 0],
    "nor": [1, 0, 0, 0],
    "xor": [0, 1, 1, 0],
    "xnor": [1, 0, 0, 1],
}


def gates(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The truth table of a logic gate: X = the four (x1, x2) pairs, y = the gate's output."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a gate's name, one of {', '.join(GATES)}, got {type(name).__name__} {name!r}")
    key = name.lower()
    if key not in GATES:
        raise ValueError(f"unknown gate {name!r}; known: {', '.join(GATES)}")
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return X, np.array(GATES[key], dtype=np.float64)


def xor() -> tuple[np.ndarray, np.ndarray]:
    """XOR: 1 when exactly one input is 1. No straight line separates its classes."""
    return gates("xor")


def _generator(n, noise, seed) -> tuple[int, float, np.random.Generator]:
    """The arguments every synthetic set shares, checked: n points (at least 2), noise >= 0, and the seed."""
    n, noise = arguments.integer("n", n, low=2), arguments.real("noise", noise, low=0.0)
    return n, noise, np.random.default_rng(arguments.seed(seed))


def moons(n: int = 100, noise: float = 0.1, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (labels 0 and 1), plus Gaussian noise of std ``noise``."""
    n, noise, rng = _generator(n, noise, seed)
    n_out = n // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n - n_out)
    X = np.concatenate([np.c_[np.cos(t_out), np.sin(t_out)], np.c_[1 - np.cos(t_in), 0.5 - np.sin(t_in)]])
    y = np.r_[np.zeros(n_out), np.ones(n - n_out)]
    return _shuffled(X + rng.normal(0, noise, X.shape), y, rng)


def circles(n: int = 100, noise: float = 0.05, factor: float = 0.5, seed: int | None = 0):
    """A small circle (label 1, radius ``factor``) inside a large one (label 0, radius 1)."""
    n, noise, rng = _generator(n, noise, seed)
    if not 0 < arguments.real("factor", factor) < 1:
        raise ValueError(f"factor must be between 0 and 1, got {factor!r}")
    n_out = n // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n - n_out, endpoint=False)
    X = np.concatenate([np.c_[np.cos(t_out), np.sin(t_out)], factor * np.c_[np.cos(t_in), np.sin(t_in)]])
    y = np.r_[np.zeros(n_out), np.ones(n - n_out)]
    return _shuffled(X + rng.normal(0, noise, X.shape), y, rng)


def spirals(n: int = 100, classes: int = 2, noise: float = 0.2, seed: int | None = 0):
    """``classes`` spiral arms winding out from the centre, n points in all; labels 0..classes-1."""
    n, noise, rng = _generator(n, noise, seed)
    classes = arguments.integer("classes", classes, low=2)
    if n < classes:
        raise ValueError(f"n must be at least classes ({classes}), so that every arm has a point, got {n}")
    per = np.diff(np.linspace(0, n, classes + 1).astype(int))
    X, y = [], []
    for k, m in enumerate(per):
        r = np.linspace(0.05, 1.0, m)
        t = np.linspace(k * 4.0, (k + 1) * 4.0, m) + rng.normal(0, noise, m)
        X.append(np.c_[r * np.sin(t), r * np.cos(t)])
        y.append(np.full(m, float(k)))
    return _shuffled(np.concatenate(X), np.concatenate(y), rng)


def _shuffled(X, y, rng):
    order = rng.permutation(len(y))
    return X[order], y[order]


def _open(name: str):
    return resources.files("tinygrad_edu").joinpath("datasets", name).open("rb")


def iris(binary: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Fisher's iris flowers: 4 measurements in cm (sepal length, sepal width, petal length, petal width)
    and the species (0 setosa, 1 versicolor, 2 virginica).

    ``binary=True`` keeps setosa (0) and versicolor (1): 100 flowers, linearly separable
    (e.g. by sepal length and petal length). ``binary=False``: all 150, labels 0, 1, 2.
    """
    binary = arguments.flag("binary", binary)
    with _open("iris.csv") as f:
        rows = list(csv.reader(line.decode() for line in f))[1:]  # first line: counts and class names
    data = np.array(rows, dtype=np.float64)
    X, y = data[:, :4], data[:, 4]
    if binary:
        keep = y < 2
        X, y = X[keep], y[keep]
    return X, y


def digits() -> tuple[np.ndarray, np.ndarray]:
    """1,797 handwritten digits as 8x8 images flattened to 64 pixels (0..16), and the digit 0..9 (int)."""
    with _open("digits.csv.gz") as raw, gzip.open(raw, "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :64], data[:, 64].astype(np.int64)


def names() -> list[str]:
    """The 32,033 names of Karpathy's makemore (``names.txt``: the most common US baby names of 2018, lower case
    a-z, one a line), in the file's order: what ``open('names.txt').read().splitlines()`` reads in his lectures."""
    with _open("names.txt") as f:
        return f.read().decode("ascii").splitlines()


def train_test_split(X, y, test_fraction: float = 0.2, seed: int | None = 0):
    """Shuffle with ``seed`` and hold out ``test_fraction`` of the rows: (X_train, X_test, y_train, y_test)."""
    if not 0 < arguments.real("test_fraction", test_fraction) < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
    rng = np.random.default_rng(arguments.seed(seed))
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"X and y must be arrays of rows, got shapes {X.shape} and {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    order = rng.permutation(len(y))
    n_test = max(1, int(round(len(y) * test_fraction)))
    if n_test >= len(y):
        raise ValueError(
            f"holding out {n_test} of {len(y)} rows (test_fraction {test_fraction:g}) leaves none to train on"
        )
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]
