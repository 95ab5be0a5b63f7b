"""Optimizers: turn gradients into parameter updates.  Call ``zero_grad()``, ``backward()``, ``step()``."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np

from tinygrad_edu import arguments
from tinygrad_edu.engine import Value, grad_numbers
from tinygrad_edu.registry import lookup


class Optimizer:
    """Holds the parameters; ``zero_grad`` clears their gradients before the next backward pass."""

    def __init__(self, params: Iterable[Value], lr: float):
        self.params = _parameter_list(params)
        if isinstance(lr, bool) or not (isinstance(lr, numbers.Real) and lr > 0 and math.isfinite(lr)):
            raise ValueError(f"learning rate lr must be a positive number, got {lr!r}")
        self.lr = float(lr)

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()

    weight_decay = 0.0

    def gradient(self, p: Value):
        """p's gradient as numbers, plus ``weight_decay * p`` (L2 decay added to the gradient, as PyTorch's)."""
        g = grad_numbers(p)
        return g + self.weight_decay * p.data if self.weight_decay else g

    def step(self) -> None:
        raise NotImplementedError


def _parameter_list(params) -> list[Value]:
    """The parameters as a list of distinct Values; anything else is refused with what to pass instead."""
    if callable(getattr(params, "parameters", None)):
        raise TypeError(f"optimizer got a {type(params).__name__} model; did you mean model.parameters()?")
    if isinstance(params, Value):
        raise TypeError("optimizer got one Value; pass a list of parameters, e.g. [v]")
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"optimizer parameters must be an iterable of Values, got {type(params).__name__}") from None
    if not params:
        raise ValueError("optimizer got an empty parameter list")
    seen: set[int] = set()
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"optimizer parameters must be Values (use model.parameters()); "
                            f"parameter {i} is {type(p).__name__}")  # fmt: skip
        if id(p) in seen:
            raise ValueError(f"parameter {i} ({p.label or 'unnamed'}, shape {p.shape}) is listed twice; "
                             "it would be updated twice per step")  # fmt: skip
        seen.add(id(p))
    return params


class SGD(Optimizer):
    """Stochastic gradient descent, as PyTorch's SGD (dampening 0, no Nesterov):

    g = grad + weight_decay * p;  v = momentum * v + g;  p = p - lr * v.
    """

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.momentum = arguments.real("momentum", momentum, low=0.0)
        self.weight_decay = arguments.real("weight_decay", weight_decay, low=0.0)
        self.velocity = [None] * len(self.params)

    def step(self) -> None:
        for i, p in enumerate(self.params):
            g = self.gradient(p)
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
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        b1, b2 = (arguments.real(f"betas[{i}]", b, low=0.0) for i, b in enumerate(betas))
        if not (b1 < 1 and b2 < 1):
            raise ValueError(f"betas must be in [0, 1), got {tuple(betas)}")
        self.betas = (b1, b2)
        self.eps = arguments.real("eps", eps, low=0.0)
        self.weight_decay = arguments.real("weight_decay", weight_decay, low=0.0)
        self.m = [0.0 * np.asarray(p.data) if p.ndim else 0.0 for p in self.params]
        self.v = [0.0 * np.asarray(p.data) if p.ndim else 0.0 for p in self.params]
        self.t = 0

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        for i, p in enumerate(self.params):
            g = self.gradient(p)
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
            p.data -= self.lr * (self.m[i] / c1) / ((self.v[i] / c2) ** 0.5 + self.eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch's AdamW: the decay shrinks the
    weights directly, p = p - lr * weight_decay * p, instead of being added to the gradient."""

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ):
        super().__init__(params, lr, betas, eps, 0.0)
        self.decay = arguments.real("weight_decay", weight_decay, low=0.0)

    def step(self) -> None:
        for p in self.params:
            p.data = p.data * (1.0 - self.lr * self.decay)
        super().step()


REGISTRY: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


def get(name: str, **options):
    """The optimizer class called ``name`` ("sgd" or "adam"), with ``options`` bound."""
    return lookup(REGISTRY, "optimizer", name, options)
