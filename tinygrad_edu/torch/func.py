"""``torch.func`` on this engine: ``jvp`` (one forward pass), ``jacfwd`` (forward mode: one pass per input
element), ``jacrev`` (reverse mode: one pass per output element) and ``hessian`` (``jacfwd(jacrev(f))``: forward
over reverse), with PyTorch's signatures (``argnums`` an int or a tuple of ints, ``has_aux``). They are this
package's own ``forward.jvp`` and ``jacobians.jacobian``; given the facade's tensors, they answer with its tensors.
Inputs that require a gradient give answers with graphs (so ``jacfwd`` can differentiate ``jacrev``'s answer)."""

from __future__ import annotations

from collections.abc import Callable

from tinygrad_edu import forward, jacobians
from tinygrad_edu.engine import Value

__all__ = ["jvp", "jacfwd", "jacrev", "hessian"]


def jvp(func: Callable, primals: tuple, tangents: tuple, *, strict: bool = False, has_aux: bool = False):
    """(func(*primals), J tangents), and func's aux output with ``has_aux``: one forward pass."""
    if not isinstance(primals, tuple):
        raise RuntimeError(
            "jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it should be valid to call f(*primals)."
        )
    if not isinstance(tangents, tuple) or len(tangents) != len(primals):
        raise RuntimeError(
            "jvp(f, primals, tangents): Expected primals and tangents to have the same python structure. For "
            f"example, if primals is a tuple of 3 tensors, tangents also must be. Got {len(primals)} primals and "
            f"{len(tangents) if isinstance(tangents, tuple) else type(tangents).__name__} tangents"
        )
    aux = []
    out, product = forward.jvp(_without_aux(func, has_aux, aux), primals, tangents)
    return (out, product, aux[0]) if has_aux else (out, product)


def jacfwd(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False, *, randomness: str = "error"):
    """A function giving the Jacobian of ``func`` with respect to the arguments ``argnums``, by forward mode."""
    return _jacobian_of(func, argnums, has_aux, "forward")


def jacrev(func: Callable, argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False, chunk_size: int | None = None):
    """A function giving the Jacobian of ``func`` with respect to the arguments ``argnums``, by reverse mode."""
    return _jacobian_of(func, argnums, has_aux, "reverse")


def hessian(func: Callable, argnums: int | tuple[int, ...] = 0):
    """A function giving the Hessian of ``func`` (one output element): ``jacfwd(jacrev(func))``, forward over
    reverse, as PyTorch computes it."""
    return jacfwd(jacrev(func, argnums), argnums)


def _without_aux(func: Callable, has_aux: bool, aux: list) -> Callable:
    """func, or with ``has_aux`` func's first output, its second kept (detached) in ``aux``."""
    if not has_aux:
        return func

    def first(*args):
        out = func(*args)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise RuntimeError(
                "jacrev/jacfwd/jvp(func, ...): Expected f(*args) to return a tuple of (output, aux) when has_aux=True"
            )
        aux.append(out[1].detach() if isinstance(out[1], Value) else out[1])
        return out[0]

    return first


def _jacobian_of(func: Callable, argnums, has_aux: bool, mode: str) -> Callable:
    def jacobian_fn(*args):
        nums = (argnums,) if isinstance(argnums, int) else argnums
        if not isinstance(nums, tuple) or not nums or not all(isinstance(n, int) for n in nums):
            raise RuntimeError(f"argnums must be an int or a non-empty tuple of ints, got {argnums!r}")
        for n in nums:
            if not -len(args) <= n < len(args):
                raise RuntimeError(f"Got argnum={n}, but only {len(args)} positional inputs")
        aux: list = []
        inner = _without_aux(func, has_aux, aux)

        def of_chosen(*chosen):
            full = list(args)
            for n, value in zip(nums, chosen):
                full[n] = value
            return inner(*full)

        chosen = tuple(args[n] for n in nums)
        graph = any(isinstance(x, Value) and x.requires_grad for x in chosen)  # (jacfwd of jacrev: its inputs do)
        jac = jacobians.jacobian(
            of_chosen, chosen if isinstance(argnums, tuple) else chosen[0], create_graph=graph, mode=mode
        )
        return (jac, aux[0]) if has_aux else jac

    return jacobian_fn
