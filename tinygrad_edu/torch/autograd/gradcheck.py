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
from tinygrad_edu.gradcheck import numerical_grad
from tinygrad_edu.jacobians import jacobian

# PyTorch's options and their defaults (the check here is always the full, deterministic one)
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
_NOT_CHECKED = {"check_batched_forward_grad", "check_fwd_over_rev"}  # refused when True: not checked here


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
    non-tensor inputs are passed as they are. True, or (``raise_exception=False``) False instead of the error.
    Reverse mode is checked unless ``check_backward_ad=False``; ``check_forward_ad=True`` checks the Jacobian made
    by forward mode too (``forward.tangents``, whose rules come from the same backwards)."""
    args = _arguments(inputs, options, "gradcheck")
    for i in [k for k, a in enumerate(args) if isinstance(a, Value) and a.requires_grad]:
        for o in range(_count(func(*args))):
            try:
                if options.get("check_backward_ad", True):
                    check_gradients(
                        lambda x, i=i, o=o: _output(func, _with(args, i, x), o), args[i], eps=eps, atol=atol, rtol=rtol
                    )
                wrong = (
                    _forward_mode_mismatch(func, args, i, o, eps, atol, rtol) if options.get("check_forward_ad") else ""
                )
            except CheckError as error:
                if raise_exception:
                    raise GradcheckError(
                        f"Jacobian mismatch for output {o} with respect to input {i},\n{error}"
                    ) from None
                return False
            if wrong:
                if raise_exception:
                    head = f"Jacobian computed with forward mode mismatch for output {o} with respect to input {i}"
                    raise GradcheckError(f"{head},\n{wrong}")
                return False
    return True


def _forward_mode_mismatch(func: Callable, args: list, i: int, o: int, eps: float, atol: float, rtol: float) -> str:
    """``check_forward_ad``: output o's Jacobian by forward mode (one pass of tangents per element of input i)
    against central differences; the worst element in words, or "" when every element agrees."""
    f = lambda x: _output(func, _with(args, i, x), o)  # noqa: E731
    analytic = np.asarray(jacobian(f, args[i], mode="forward").numbers, dtype=np.float64)
    numeric = np.asarray(numerical_grad(f, args[i], eps=eps)[0], dtype=np.float64).reshape(analytic.shape)
    bad = ~(np.abs(analytic - numeric) <= atol + rtol * np.abs(numeric))
    if not bad.any():
        return ""
    k = tuple(int(j) for j in np.unravel_index(np.argmax(np.where(bad, np.abs(analytic - numeric), -1)), bad.shape))
    return f"element {k} of the Jacobian: forward mode gives {analytic[k]:.6g}, central differences {numeric[k]:.6g}"


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
        if key in _NOT_CHECKED and value:
            raise NotImplementedError(f"{name}: {key}=True is not checked here (check_forward_ad=True is)")
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
