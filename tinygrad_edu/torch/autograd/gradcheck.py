"""``torch.autograd.gradcheck`` and ``gradgradcheck`` with PyTorch's signatures and answers (True, or
``GradcheckError`` saying which output, input and element is wrong), on this package's own checks
(``tinygrad_edu.gradcheck``, where the finite differences are): its message follows PyTorch's first line."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinygrad_edu.engine import Value
from tinygrad_edu.gradcheck import GradcheckError as CheckError
from tinygrad_edu.gradcheck import gradcheck as check_gradients
from tinygrad_edu.gradcheck import gradgradcheck as check_second_derivatives

# PyTorch's other options: accepted at these values (the check here is always the full, deterministic one)
_OPTIONS = {
    "nondet_tol": 0.0,
    "check_undefined_grad": True,
    "check_grad_dtypes": False,
    "check_batched_grad": False,
    "check_batched_forward_grad": False,
    "check_forward_ad": False,
    "check_backward_ad": True,
    "fast_mode": False,
    "masked": None,
    "gen_non_contig_grad_outputs": False,
    "check_fwd_over_rev": False,
    "check_rev_over_rev": True,
}
_FORWARD_MODE = {"check_batched_forward_grad", "check_forward_ad", "check_fwd_over_rev"}


class GradcheckError(RuntimeError, CheckError):
    """PyTorch's ``torch.autograd.gradcheck.GradcheckError`` (a RuntimeError), and this package's."""


def gradcheck(
    func: Callable,
    inputs,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **options,
) -> bool:
    """Each output's derivative with respect to each input that requires a gradient, against central differences;
    non-tensor inputs are passed as they are. True, or (``raise_exception=False``) False instead of the error."""
    args = _arguments(inputs, options, "gradcheck")
    for i in [k for k, a in enumerate(args) if isinstance(a, Value) and a.requires_grad]:
        for o in range(_count(func(*args))):
            try:
                check_gradients(
                    lambda x, i=i, o=o: _output(func, _with(args, i, x), o), args[i], eps=eps, atol=atol, rtol=rtol
                )
            except CheckError as error:
                if raise_exception:
                    raise GradcheckError(
                        f"Jacobian mismatch for output {o} with respect to input {i},\n{error}"
                    ) from None
                return False
    return True


def gradgradcheck(
    func: Callable,
    inputs,
    grad_outputs=None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **options,
) -> bool:
    """The second derivatives of ``sum_o <grad_outputs[o], output o>`` (random grad_outputs, seeded, unless given)
    against central differences of its gradient. True, or the error (False with ``raise_exception=False``)."""
    args = _arguments(inputs, options, "gradgradcheck")
    wanted = [k for k, a in enumerate(args) if isinstance(a, Value) and a.requires_grad]
    outputs = func(*args)
    count = _count(outputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [rng.normal(size=_output(func, args, o).shape) for o in range(count)]
    elif not isinstance(grad_outputs, (tuple, list)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != count:
        raise ValueError(f"gradgradcheck: {len(grad_outputs)} grad_outputs for {count} outputs")
    weights = [g.numbers if isinstance(g, Value) else np.asarray(g, dtype=np.float64) for g in grad_outputs]

    def total(*xs):
        call = list(args)
        for k, x in zip(wanted, xs):
            call[k] = x
        return sum((_output(func, call, o) * w).sum() for o, w in enumerate(weights))

    try:
        check_second_derivatives(total, *[args[k] for k in wanted], eps=eps, atol=atol, rtol=rtol)
    except CheckError as error:
        if raise_exception:
            numbering = ", ".join(f"input {n} is argument {k}" for n, k in enumerate(wanted) if n != k)
            note = f" ({numbering})" if numbering else ""
            raise GradcheckError(f"Gradgradcheck failed: second derivatives mismatch{note},\n{error}") from None
        return False
    return True


def _arguments(inputs, options: dict, name: str) -> list:
    """PyTorch's inputs (a tensor, or a tuple or list of tensors and other values) as a list; its options checked."""
    for key, value in options.items():
        if key not in _OPTIONS:
            raise TypeError(f"{name}() got an unexpected keyword argument {key!r}")
        if key in _FORWARD_MODE and value:
            raise NotImplementedError(f"{name}: {key}=True needs forward-mode AD, which this engine has not yet")
    args = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
    if not any(isinstance(a, Value) and a.requires_grad for a in args):
        raise ValueError(
            f"{name} expects at least one input tensor to require gradient, but none of them have requires_grad=True."
        )
    return args


def _count(outputs) -> int:
    return len(outputs) if isinstance(outputs, (tuple, list)) else 1


def _output(func: Callable, args: list, o: int) -> Value:
    out = func(*args)
    return out[o] if isinstance(out, (tuple, list)) else out


def _with(args: list, i: int, x: Value) -> list:
    call = list(args)
    call[i] = x
    return call
