"""Checking what users pass in: every bad argument is refused at once, with its name in the message.

A wrong number caught where it is given (``lr=-1``, ``axis=1.5``) is a one-line fix; the same
number caught three calls later, inside numpy, is a puzzle.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def real(name: str, x, *, low: float | None = None, positive: bool = False, finite: bool = True) -> float:
    """``x`` as a float: a real number (not a bool, string or array), finite unless ``finite=False``,
    at least ``low`` (or above 0 with ``positive=True``)."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__} {x!r}")
    x = float(x)
    if math.isnan(x) or (finite and math.isinf(x)):
        raise ValueError(f"{name} must be a finite number, got {x}")
    if positive and not x > 0:
        raise ValueError(f"{name} must be > 0, got {x}")
    if low is not None and x < low:
        raise ValueError(f"{name} must be >= {low:g}, got {x}")
    return x


def integer(name: str, n, *, low: int | None = None) -> int:
    """``n`` as an int: a whole number (not a bool or a float), at least ``low``."""
    if n.__class__ is not int and (isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral)):
        raise TypeError(f"{name} must be an integer, got {type(n).__name__} {n!r}")
    if low is not None and n < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {n}")
    return int(n)


def seed(n) -> int | None:
    """A seed for numpy's generator: None (fresh randomness) or an integer >= 0."""
    return None if n is None else integer("seed", n, low=0)


def axis(what: str, ax, shape: tuple) -> int:
    """One axis of an array of ``shape``, negative ones counted from the end, made non-negative."""
    ax, ndim = integer(f"{what} axis", ax), len(shape)
    if not -ndim <= ax < max(ndim, 1):
        raise ValueError(
            f"{what} of shapes {shape}: axis {ax} is out of range for {ndim} dimensions (allowed {-ndim}..{ndim - 1})"
        )
    return ax % max(ndim, 1)


def axes(what: str, ax, shape: tuple) -> tuple[int, ...] | None:
    """The axes a reduction runs over: None (all), an int, or a tuple/list of distinct ints, as a sorted tuple.

    A scalar (shape ()) accepts axis 0 or -1 as PyTorch does: it is reduced as a whole.
    """
    if ax is None:
        return None
    many = isinstance(ax, (tuple, list))
    if shape == ():
        for a in ax if many else (ax,):
            if integer(f"{what} axis", a) not in (0, -1):
                raise ValueError(f"{what} of a scalar: axis {a} is out of range (allowed 0 or -1)")
        return None
    result = tuple(sorted(axis(what, a, shape) for a in (ax if many else (ax,))))
    if len(set(result)) != len(result):
        raise ValueError(f"{what} got a repeated axis in {ax!r}")
    return result


def permutation(what: str, order, shape: tuple) -> tuple[int, ...]:
    """A reordering of all the axes of ``shape`` (negative ones counted from the end), made non-negative."""
    result = tuple(axis(what, a, shape) for a in order)
    if sorted(result) != list(range(len(shape))):
        raise ValueError(
            f"{what} of shapes {shape} needs an order of all {len(shape)} axes, each once, got {tuple(order)}"
        )
    return result


def either(what: str, name, value, alias, alias_value):
    """``value`` or ``alias_value``, for an argument with two names (numpy's ``axis``, PyTorch's ``dim``)."""
    if value is not None and alias_value is not None:
        raise TypeError(f"{what} got both {name}= and {alias}=; they are the same argument, give one")
    return value if alias_value is None else alias_value


def flag(name: str, x) -> bool:
    """A True/False switch; a number or string here is a mistake, not a truth value."""
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(x).__name__} {x!r}")
    return bool(x)
