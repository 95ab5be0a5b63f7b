"""``torch.optim`` as tutorials use it: SGD, Adam and AdamW with ``param_groups`` (change ``lr`` there,
as schedules do), ``zero_grad``, ``step`` and ``state_dict``; the updates are this package's ``optim``."""

from __future__ import annotations

from tinygrad_edu import optim

SUPPORTED = ["SGD", "Adam", "AdamW"]


class _Groups:
    """PyTorch's ``param_groups`` (one group) over one of this package's optimizers; ``lr`` is read each step."""

    def _group(self, **settings) -> None:
        self.param_groups = [{"params": self.params, "lr": self.lr, **settings}]

    def step(self) -> None:
        self.lr = float(self.param_groups[0]["lr"])
        super().step()

    def state_dict(self) -> dict:
        state = {k: v for k, v in vars(self).items() if k not in ("params", "param_groups")}
        groups = [{k: v for k, v in g.items() if k != "params"} | {"params": list(range(len(self.params)))}
                  for g in self.param_groups]  # fmt: skip
        return {"state": state, "param_groups": groups}


class SGD(_Groups, optim.SGD):
    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr, momentum, weight_decay)
        self._group(momentum=self.momentum, weight_decay=self.weight_decay)


class Adam(_Groups, optim.Adam):
    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr, betas, eps, weight_decay)
        self._group(betas=self.betas, eps=self.eps, weight_decay=self.weight_decay)


class AdamW(_Groups, optim.AdamW):
    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)
        self._group(betas=self.betas, eps=self.eps, weight_decay=self.decay)


def __getattr__(name: str):
    raise AttributeError(f"tinygrad_edu.torch.optim has no {name!r}; this teaching subset supports: "
                         f"{', '.join(SUPPORTED)}")
