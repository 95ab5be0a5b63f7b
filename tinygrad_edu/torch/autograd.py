"""``torch.autograd.grad`` on this engine: gradients returned, not accumulated, and with
``create_graph=True`` differentiable again (Hessian-vector products, Newton's method)."""

from __future__ import annotations

from collections.abc import Sequence

from tinygrad_edu import engine
from tinygrad_edu.engine import Value, toposort


def grad(outputs: Value | Sequence[Value], inputs: Value | Sequence[Value], grad_outputs=None,
         retain_graph: bool | None = None, create_graph: bool = False, allow_unused: bool | None = None,
         materialize_grads: bool = False) -> tuple[Value | None, ...]:  # fmt: skip
    """PyTorch's semantics: several outputs add up (each times its grad_output); with ``allow_unused``
    an input the outputs do not use gets None (zeros with ``materialize_grads=True``).
    ``retain_graph`` is accepted and has nothing to do: graphs here are never freed by backward."""
    if isinstance(outputs, (list, tuple)):
        go = grad_outputs if isinstance(grad_outputs, (list, tuple)) else [grad_outputs] * len(outputs)
        if len(go) != len(outputs):
            raise ValueError(f"grad: {len(outputs)} outputs but {len(go)} grad_outputs")
        if len(outputs) == 1:
            outputs, grad_outputs = outputs[0], go[0]
        else:  # d(sum_i <go_i, out_i>)/d(input): one pass for all of them
            outputs, grad_outputs = sum(((o * (1.0 if g is None else g)).sum() for o, g in zip(outputs, go))), None
    single = isinstance(inputs, Value)
    inputs = [inputs] if single else list(inputs)
    unused_ok = bool(allow_unused or materialize_grads)
    grads = engine.grad(outputs, inputs, grad_outputs, create_graph=create_graph, allow_unused=unused_ok)
    if unused_ok and not materialize_grads:
        used = {id(node) for node in toposort(outputs)}
        grads = tuple(g if id(x) in used else None for x, g in zip(inputs, grads))
    return grads
