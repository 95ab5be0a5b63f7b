"""Random PyTorch-style training programs, run on ``tinygrad_edu.torch`` and on real PyTorch from the same
state_dict, compared at every step: the loss, every parameter's gradient (and whether it has one) and
every parameter after the optimizer's step, each to 1e-10.

A program draws a model (a Sequential of Linear layers and activation modules with their options, and
an extra head that some steps leave unused), a loss module (reduction "mean" or "sum"), an optimizer with
one or two parameter groups (SGD with momentum, dampening, Nesterov, weight decay; Adam with amsgrad;
AdamW), and 2-6 steps, each of which may change a setting in ``param_groups`` and clear the gradients
to None or to zeros.

    python -m tests.facade_fuzz 3000      # run 3,000 programs and report the first mismatch
"""

from __future__ import annotations

import sys

import numpy as np

import tinygrad_edu.torch as ours_torch
from tests.fuzz import run_seeds

TOL = 1e-10


class Program:
    """One random program, drawn from ``seed``; ``run(lib)`` plays it on a library and records what it saw."""

    def __init__(self, seed: int):
        r = self.rng = np.random.default_rng(seed)
        self.seed, self.lines = seed, []
        self.sizes = [int(n) for n in r.integers(1, 5, size=int(r.integers(2, 4)))]
        self.layers = [self._activation() if i % 2 else None for i in range(2 * len(self.sizes) - 3)]
        self.loss = str(r.choice(["MSELoss", "BCEWithLogitsLoss", "BCELoss", "CrossEntropyLoss"]))
        self.reduction = str(r.choice(["mean", "sum"]))
        if self.loss == "CrossEntropyLoss" and self.sizes[-1] < 2:
            self.sizes[-1] = 2
        self.optimizer, self.settings = self._optimizer()
        self.split = bool(r.random() < 0.5)  # two parameter groups, the second with an lr of its own
        batch = int(r.integers(1, 5))
        self.X = r.normal(size=(batch, self.sizes[0]))
        if self.loss == "CrossEntropyLoss":
            self.y = r.integers(0, self.sizes[-1], size=batch)
        elif self.loss == "MSELoss":
            self.y = r.normal(size=(batch, self.sizes[-1]))
        else:
            self.y = r.random(size=(batch, self.sizes[-1]))
        self.steps = [self._step() for _ in range(int(r.integers(2, 7)))]
        self.lines += [
            f"model {self.sizes} {self.layers}",
            f"{self.loss}(reduction={self.reduction!r})",
            f"{self.optimizer}({self.settings}) split={self.split}",
            *map(str, self.steps),
        ]

    def _activation(self) -> tuple:
        r = self.rng
        name = str(r.choice(["ReLU", "Tanh", "Sigmoid", "Identity", "LeakyReLU", "GELU", "Softplus"]))
        if name == "LeakyReLU":
            return name, {"negative_slope": float(r.choice([0.01, 0.2]))}
        if name == "GELU":
            return name, {"approximate": str(r.choice(["none", "tanh"]))}
        if name == "Softplus":
            return name, {"beta": float(r.choice([1.0, 2.0, 0.5])), "threshold": float(r.choice([20.0, 1.0]))}
        return name, {}

    def _optimizer(self) -> tuple[str, dict]:
        r = self.rng
        name = str(r.choice(["SGD", "Adam", "AdamW"]))
        if name == "SGD":
            momentum = float(r.choice([0.0, 0.5, 0.9]))
            nesterov = bool(momentum and r.random() < 0.4)
            return name, {
                "lr": 0.1,
                "momentum": momentum,
                "nesterov": nesterov,
                "dampening": 0.0 if nesterov else float(r.choice([0.0, 0.3])),
                "weight_decay": float(r.choice([0.0, 0.01, 0.1])),
            }
        return name, {
            "lr": float(r.choice([0.01, 0.05])),
            "betas": (float(r.choice([0.9, 0.5])), 0.999),
            "eps": float(r.choice([1e-8, 1e-3])),
            "weight_decay": float(r.choice([0.0, 0.01, 0.1])),
            "amsgrad": bool(r.random() < 0.3),
        }

    def _step(self) -> dict:
        r = self.rng
        step = {"use_extra": bool(r.random() < 0.6), "set_to_none": bool(r.random() < 0.8)}
        if r.random() < 0.4:  # a schedule changes one setting of one group
            if self.optimizer != "SGD":
                choices = ["lr", "betas", "eps", "weight_decay"]
            else:  # (Nesterov needs its momentum, and no dampening)
                choices = ["lr", "weight_decay"] + ([] if self.settings["nesterov"] else ["momentum", "dampening"])
            key = str(r.choice(choices))
            value = {
                "lr": float(r.uniform(0.0, 0.1)),
                "momentum": float(r.uniform(0.1, 0.9)),
                "weight_decay": float(r.uniform(0.0, 0.2)),
                "dampening": float(r.uniform(0.0, 0.5)),
                "eps": float(r.choice([1e-8, 1e-2])),
                "betas": (float(r.uniform(0.3, 0.95)), float(r.uniform(0.9, 0.9999))),
            }[key]
            step["change"] = (int(r.integers(2 if self.split else 1)), key, value)
        return step

    def build(self, lib):
        """The model, the loss module and the optimizer in ``lib`` (``tinygrad_edu.torch`` or ``torch``)."""
        layers = []
        for i, spec in enumerate(self.layers):
            if spec is None:
                k = i // 2
                layers.append(lib.nn.Linear(self.sizes[k], self.sizes[k + 1]))
            else:
                layers.append(getattr(lib.nn, spec[0])(**spec[1]))

        class Net(lib.nn.Module):
            def __init__(self, sizes):
                super().__init__()
                self.trunk = lib.nn.Sequential(*layers)
                self.extra = lib.nn.Linear(sizes[0], sizes[-1])

            def forward(self, x, use_extra):
                out = self.trunk(x)
                return out + self.extra(x) if use_extra else out

        model = Net(self.sizes)
        params = list(model.parameters())
        groups = [{"params": params[:-2]}, {"params": params[-2:], "lr": 0.03}] if self.split else params
        loss = getattr(lib.nn, self.loss)(reduction=self.reduction)
        return model, loss, getattr(lib.optim, self.optimizer)(groups, **self.settings)

    def run(self, lib, model, loss_fn, opt) -> list:
        """Play the steps; returns, per step, the loss, each gradient (None where none) and each parameter."""
        seen = []
        X = lib.tensor(self.X)
        y = lib.tensor(self.y) if self.loss != "CrossEntropyLoss" else _labels(lib, self.y)
        for step in self.steps:
            if "change" in step:
                group, key, value = step["change"]
                opt.param_groups[group][key] = value
            opt.zero_grad(set_to_none=step["set_to_none"])
            out = model(X, step["use_extra"])
            loss = loss_fn(lib.sigmoid(out) if self.loss == "BCELoss" else out, y)
            loss.backward()
            grads = [_numbers(_grad(p)) for p in model.parameters()]
            opt.step()
            seen.append((float(loss.item()), grads, [_numbers(p) for p in model.parameters()]))
        return seen


def _labels(lib, y):
    return lib.tensor(y) if lib is ours_torch else lib.tensor(y, dtype=lib.long)


def _grad(p):
    """The gradient PyTorch would show: None where no backward reached p (ours reads zeros there)."""
    return p._grad if isinstance(p, ours_torch.Tensor) else p.grad


def _numbers(x):
    """A copy of the numbers of a Value, a tensor or a gradient (None stays None)."""
    if x is None:
        return None
    return np.array(x.data if isinstance(x, ours_torch.Tensor) else x.detach().numpy() if hasattr(x, "detach") else x)


def check(seed: int, torch) -> str | None:
    """Play one program on both libraries from the same state_dict; None if they agree, else the mismatch."""
    program = Program(seed)
    ours_torch.manual_seed(seed)
    mine = program.build(ours_torch)
    torch.manual_seed(seed)
    with _default_float64(torch):
        theirs = program.build(torch)
    theirs[0].load_state_dict({k: torch.from_numpy(v) for k, v in mine[0].state_dict().items()})
    with np.errstate(all="ignore"):
        a = program.run(ours_torch, *mine)
    b = program.run(torch, *theirs)
    names = [n for n, _ in mine[0].named_parameters()]
    for k, ((loss, grads, params), (tloss, tgrads, tparams)) in enumerate(zip(a, b)):
        if not _close(loss, tloss):
            return _report(program, f"step {k}: loss {loss!r}, PyTorch {tloss!r}")
        for name, g, tg, p, tp in zip(names, grads, tgrads, params, tparams):
            if (g is None) != (tg is None) or (g is not None and not _close(g, tg)):
                return _report(program, f"step {k}: gradient of {name}: ours {g!r}, PyTorch {tg!r}")
            if not _close(p, tp):
                return _report(program, f"step {k}: {name} after the step: ours {p!r}, PyTorch {tp!r}")
    return None


class _default_float64:
    """PyTorch's layers made in float64 (ours are float64), for the duration of a ``with``."""

    def __init__(self, torch):
        self.torch = torch

    def __enter__(self):
        self.before = self.torch.get_default_dtype()
        self.torch.set_default_dtype(self.torch.float64)

    def __exit__(self, *exc):
        self.torch.set_default_dtype(self.before)


def _close(a, b) -> bool:
    scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
    return bool(np.allclose(a, b, rtol=TOL, atol=TOL * scale, equal_nan=True))


def _report(program: Program, what: str) -> str:
    return f"seed {program.seed}: {what}\n  " + "\n  ".join(program.lines)


def main(argv: list[str]) -> int:
    return run_seeds(
        check, argv, "random PyTorch-style programs: losses, gradients and parameters agree with PyTorch at every step"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
