"""DeZero's ``dezero.layers`` (``import dezero.layers as L``): ``Layer``, which collects the Parameters and
Layers set as its attributes, and ``Linear(out_size)``, whose input size is read from its first input."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tinygrad_edu.dezero import functions as F
from tinygrad_edu.dezero.core import Parameter, Variable

__all__ = ["Layer", "Linear", "Parameter"]


class Layer:
    """A model's building block: every Parameter or Layer set as an attribute is one of its ``params()``
    (in the order they were set; DeZero keeps their names in a set, whose order varies from run to run)."""

    def __init__(self):
        self._params: dict[str, None] = {}

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, (Parameter, Layer)):
            self._params[name] = None
        super().__setattr__(name, value)

    def __call__(self, *inputs):
        return self.forward(*inputs)

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def params(self) -> Iterator[Parameter]:
        """Its Parameters, and those of the Layers it holds."""
        for name in self._params:
            obj = self.__dict__[name]
            if isinstance(obj, Layer):
                yield from obj.params()
            else:
                yield obj

    def cleargrads(self) -> None:
        for param in self.params():
            param.cleargrad()


class Linear(Layer):
    """y = x @ W + b. W, of shape (in_size, out_size), is drawn as DeZero draws it, ``np.random.randn`` in
    ``dtype`` scaled by sqrt(1 / in_size), when the first input shows in_size (unless given): so after the
    same ``np.random.seed`` it holds the same numbers (as float64). b starts at 0."""

    def __init__(self, out_size: int, nobias: bool = False, dtype=np.float32, in_size: int | None = None):
        super().__init__()
        self.in_size, self.out_size, self.dtype = in_size, out_size, dtype
        self.W = Parameter(None, name="W")
        if self.in_size is not None:
            self._init_W()
        self.b = None if nobias else Parameter(np.zeros(out_size, dtype=dtype), name="b")

    def _init_W(self) -> None:
        I, O = self.in_size, self.out_size  # noqa: E741 (DeZero's names)
        self.W.data = np.random.randn(I, O).astype(self.dtype) * np.sqrt(1 / I)

    def forward(self, x) -> Variable:
        if self.W.data is None:
            self.in_size = x.shape[1]
            self._init_W()
        return F.linear(x, self.W, self.b)


def __getattr__(name: str):
    raise AttributeError(f"tinygrad_edu.dezero.layers has no {name!r}; it has: {', '.join(__all__)}")
