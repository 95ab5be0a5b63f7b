"""``torch.optim`` as tutorials use it: SGD, Adam and AdamW with PyTorch's signatures. They are this
package's ``optim``, which keeps PyTorch's ``param_groups`` (every setting read at each ``step``),
``add_param_group``, ``zero_grad(set_to_none=True)``, skips parameters no gradient reached, and
``state_dict``/``load_state_dict`` in PyTorch's format (real PyTorch's optimizers load ours, with
the arrays made tensors, and ours load theirs)."""

from __future__ import annotations

from tinygrad_edu import optim
from tinygrad_edu.optim import Adam, AdamW, Optimizer  # noqa: F401 (PyTorch's signatures already)

SUPPORTED = ["SGD", "Adam", "AdamW", "Optimizer"]


class SGD(optim.SGD):
    """PyTorch's SGD signature (lr defaults to 1e-3, dampening before weight_decay) over ``optim.SGD``."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach=None,
        differentiable: bool = False,
        fused=None,
    ):
        super().__init__(
            params,
            lr,
            momentum,
            weight_decay,
            dampening=dampening,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
            differentiable=differentiable,
            fused=fused,
        )


def __getattr__(name: str):
    raise AttributeError(
        f"tinygrad_edu.torch.optim has no {name!r}; this teaching subset supports: {', '.join(SUPPORTED)}"
    )
