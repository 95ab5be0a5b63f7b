"""Where each operation is defined and where it has a derivative, for the gradient checks.

Every op in ``ops.py`` declares a ``domain`` (one ``Interval`` per input: ``log`` needs
x > 0) and its ``kinks`` (points with no derivative: ``relu`` at 0). A finite difference
that steps outside the domain, or across a kink, is not a fair test of a derivative;
``gradcheck`` reads these declarations to tell such places from real bugs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    """The real numbers an input may take: from lo to hi, each end open or closed, maybe without 0."""

    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = True
    hi_open: bool = True
    nonzero: bool = False

    def contains(self, x):
        """True (elementwise) where x lies in the interval."""
        x = np.asarray(x)
        ok = (x > self.lo if self.lo_open else x >= self.lo) & (x < self.hi if self.hi_open else x <= self.hi)
        return ok & (x != 0) if self.nonzero else ok

    def __str__(self) -> str:
        if self == REAL:
            return "any real number"
        if self.nonzero:
            return "x != 0"
        parts = []
        if self.lo > -math.inf:
            parts.append(f"x {'>' if self.lo_open else '>='} {self.lo:g}")
        if self.hi < math.inf:
            parts.append(f"x {'<' if self.hi_open else '<='} {self.hi:g}")
        return " and ".join(parts)


REAL = Interval()
POSITIVE = Interval(lo=0.0)
NONZERO = Interval(nonzero=True)


def near(x, point, eps: float):
    """True (elementwise) where x is within eps of a point where an op is not differentiable."""
    return np.abs(np.asarray(x) - point) <= eps
