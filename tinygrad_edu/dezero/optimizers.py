"""DeZero's ``dezero.optimizers``: ``SGD(lr).setup(model)``, then ``update()`` after each backward pass."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinygrad_edu.dezero.core import Parameter

__all__ = ["Optimizer", "SGD", "MomentumSGD"]


class Optimizer:
    """Updates the parameters of its ``target`` (a Layer or Model) that have a gradient; hooks run first."""

    def __init__(self):
        self.target = None
        self.hooks: list[Callable] = []

    def setup(self, target) -> Optimizer:
        self.target = target
        return self

    def update(self) -> None:
        params = [p for p in self.target.params() if p.grad is not None]
        for f in self.hooks:
            f(params)
        for param in params:
            self.update_one(param)

    def update_one(self, param: Parameter) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define update_one(param)")

    def add_hook(self, f: Callable) -> None:
        self.hooks.append(f)


class SGD(Optimizer):
    """p <- p - lr * dL/dp."""

    def __init__(self, lr: float = 0.01):
        super().__init__()
        self.lr = lr

    def update_one(self, param: Parameter) -> None:
        param.data -= self.lr * param.grad.data


class MomentumSGD(Optimizer):
    """v <- momentum * v - lr * dL/dp; p <- p + v: the velocity keeps the steps going where they agree."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.9):
        super().__init__()
        self.lr, self.momentum = lr, momentum
        self.vs: dict[int, np.ndarray] = {}

    def update_one(self, param: Parameter) -> None:
        v = self.vs.setdefault(id(param), np.zeros_like(param.data))
        v *= self.momentum
        v -= self.lr * param.grad.data
        param.data += v


def __getattr__(name: str):
    raise AttributeError(f"tinygrad_edu.dezero.optimizers has no {name!r}; it has: {', '.join(__all__)}")
