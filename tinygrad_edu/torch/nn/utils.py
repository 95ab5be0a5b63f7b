"""``torch.nn.utils`` as tutorials use it: ``clip_grad_norm_`` (against exploding gradients)."""

from __future__ import annotations

import math

from tinygrad_edu import optim
from tinygrad_edu.torch import tensor as make_tensor
from tinygrad_edu.torch.tensor import Tensor


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None
) -> Tensor:
    """PyTorch's: the gradients scaled in place so that their total norm is at most max_norm; returns that norm
    before clipping, as a tensor (``foreach`` changes nothing here)."""
    total = optim.clip_grad_norm_(parameters, max_norm, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is {total}, not finite")
    return make_tensor(total)
