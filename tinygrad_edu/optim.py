"""Optimizers: turn gradients into parameter updates.  Call ``zero_grad()``, ``backward()``, ``step()``."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from tinygrad_edu.engine import Value
from tinygrad_edu.registry import lookup


class Optimizer:
    """Holds the parameters; ``zero_grad`` clears their gradients before the next backward pass."""

    def __init__(self, params: Iterable[Value], lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        if not all(isinstance(p, Value) for p in self.params):
            raise TypeError("optimizer parameters must be Values (use model.parameters())")
        if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
            raise ValueError(f"learning rate must be a positive number, got {lr!r}")
        self.lr = float(lr)

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, as PyTorch's SGD (dampening 0, no Nesterov):

    g = grad + weight_decay * p;  v = momentum * v + g;  p = p - lr * v.
    """

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr)
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"momentum and weight_decay must be >= 0, got {momentum} and {weight_decay}")
        self.momentum, self.weight_decay = float(momentum), float(weight_decay)
        self.velocity = [None] * len(self.params)

    def step(self) -> None:
        for i, p in enumerate(self.params):
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            if self.momentum:
                v = self.velocity[i]
                g = self.velocity[i] = g if v is None else self.momentum * v + g
            p.data -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba), as PyTorch's: running means of the gradient (m) and of its square (v),
    bias-corrected, give each parameter its own step size:

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p = p - lr * m_hat / (sqrt(v_hat) + eps).
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, lr)
        if not all(0 <= b < 1 for b in betas):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        self.betas, self.eps, self.weight_decay = tuple(map(float, betas)), float(eps), float(weight_decay)
        self.m = [0.0 * np.asarray(p.data) if p.ndim else 0.0 for p in self.params]
        self.v = [0.0 * np.asarray(p.data) if p.ndim else 0.0 for p in self.params]
        self.t = 0

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        for i, p in enumerate(self.params):
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
            p.data -= self.lr * (self.m[i] / c1) / ((self.v[i] / c2) ** 0.5 + self.eps)


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def get(name: str, **options):
    """The optimizer class called ``name`` ("sgd" or "adam"), with ``options`` bound."""
    return lookup(OPTIMIZERS, "optimizer", name, options)
