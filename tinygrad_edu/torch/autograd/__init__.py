"""``torch.autograd`` on this engine: ``grad`` (gradients returned, not accumulated, and with
``create_graph=True`` differentiable again: Hessian-vector products, Newton's method), ``Function`` (a
derivative of the user's, made an op: ``function.py``), ``functional`` (Jacobians, Hessians and their
products), ``gradcheck``/``gradgradcheck`` (PyTorch's answers from this package's checks)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinygrad_edu import engine
from tinygrad_edu.engine import Value, toposort
from tinygrad_edu.torch.autograd import functional
from tinygrad_edu.torch.autograd.function import Function, FunctionCtx
from tinygrad_edu.torch.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["grad", "Function", "FunctionCtx", "functional", "gradcheck", "gradgradcheck", "GradcheckError"]


def grad(
    outputs: Value | Sequence[Value],
    inputs: Value | Sequence[Value],
    grad_outputs=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
) -> tuple[Value | None, ...]:
    """PyTorch's semantics: several outputs add up (each times its grad_output); with ``allow_unused``
    an input the outputs do not use gets None (zeros with ``materialize_grads=True``). An output
    without a grad_output must hold one number, as in PyTorch (RuntimeError otherwise).
    ``retain_graph`` is accepted and has nothing to do: graphs here are never freed by backward."""
    outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    go = (
        [None] * len(outs)
        if grad_outputs is None
        else (list(grad_outputs) if isinstance(grad_outputs, (list, tuple)) else [grad_outputs])
    )
    if len(go) != len(outs):
        raise RuntimeError(f"got {len(outs)} tensors and {len(go)} gradients: grad needs one grad_output per output")
    for i, (o, g) in enumerate(zip(outs, go)):
        if not isinstance(o, Value):
            raise TypeError(f"grad: output {i} is {type(o).__name__}, not a tensor")
        if g is None and o.numbers.__class__ is not float and o.numbers.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs: output {i} has shape "
                f"{o.shape}; give grad_outputs, or reduce it first, e.g. .sum()"
            )
        if g is not None and np.shape(g) != o.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {np.shape(g)} and output[{i}] "
                f"has a shape of {o.shape}."
            )
    if len(outs) == 1:
        outputs, grad_outputs = outs[0], go[0]
    else:  # d(sum_i <go_i, out_i>)/d(input): one pass for all of them
        outputs, grad_outputs = sum(((o * (1.0 if g is None else g)).sum() for o, g in zip(outs, go))), None
    single = isinstance(inputs, Value)
    inputs = [inputs] if single else list(inputs)
    unused_ok = bool(allow_unused or materialize_grads)
    grads = engine.grad(outputs, inputs, grad_outputs, create_graph=create_graph, allow_unused=unused_ok)
    if unused_ok and not materialize_grads:
        used = {id(node) for node in toposort(outputs)}
        grads = tuple(g if id(x) in used else None for x, g in zip(inputs, grads))
    return grads


def __getattr__(name: str):
    raise AttributeError(f"tinygrad_edu.torch.autograd has no {name!r}; it supports: {', '.join(__all__)}")
