"""DeZero's ``dezero.core_simple`` (steps 23 to 32): the same core, except that a Variable's ``.grad`` is an
ndarray (None before backward), as the simple core keeps it, so ``x.data -= lr * x.grad`` works on ndarrays."""

from __future__ import annotations

import numpy as np

from tinygrad_edu.dezero import core
from tinygrad_edu.dezero.core import (  # noqa: F401 (the names core_simple has)
    Function,
    as_array,
    as_variable,
    no_grad,
    setup_variable,
    using_config,
)


class Variable(core.Variable):
    """The simple core's Variable: ``.grad`` is an ndarray (0-d for a scalar) or None; no ``create_graph``."""

    def _grad_array(self) -> np.ndarray | None:
        g = self._grad
        return None if g is None else np.array(g) if g.__class__ is float else g

    grad = property(_grad_array, core.Variable.grad.fset, doc="dL/d(self) as an ndarray, None before backward.")

    def backward(self, retain_grad: bool = False) -> None:
        super().backward(retain_grad)
