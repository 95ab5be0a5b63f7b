"""Check the engine's gradients against finite differences.

The derivative is the limit of a difference quotient; the central difference

    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

has error O(eps^2), so in float64 with eps = 1e-6 it agrees with a correct
analytic gradient to about 1e-9.  ``gradcheck`` computes the whole Jacobian both
ways, element by element, and names the first input and element that disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tinygrad_edu.engine import Value, no_grad


class GradcheckError(AssertionError):
    """The analytic gradient disagrees with the numerical one (an AssertionError, so pytest shows it)."""


@dataclass
class InputReport:
    """How one input's gradient compared: its largest errors and where they were."""

    index: int
    label: str
    shape: tuple
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    mismatches: int = 0
    worst: str = ""


@dataclass
class GradcheckReport:
    """What gradcheck compared: per input, the largest absolute and relative errors."""

    inputs: list[InputReport] = field(default_factory=list)

    @property
    def max_abs_error(self) -> float:
        return max((r.max_abs_error for r in self.inputs), default=0.0)

    @property
    def max_rel_error(self) -> float:
        return max((r.max_rel_error for r in self.inputs), default=0.0)

    def __str__(self) -> str:
        rows = [
            f"input {r.index} ({r.label or 'unnamed'}, shape {r.shape}): "
            f"max abs error {r.max_abs_error:.3g}, max rel error {r.max_rel_error:.3g}"
            for r in self.inputs
        ]
        return "gradcheck passed\n" + "\n".join(rows)


def _call(fn: Callable, inputs: list[Value]) -> Value:
    out = fn(*inputs)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: fn must return a Value, it returned {type(out).__name__}")
    return out


def _prepare(inputs) -> list[Value]:
    """Numbers and arrays become Values that require a gradient; Values are checked as given."""
    return [x if isinstance(x, Value) else Value(x) for x in inputs]


def numerical_grad(fn: Callable[..., Value], *inputs, eps: float = 1e-6) -> list[np.ndarray | float]:
    """Central-difference derivatives of fn's output with respect to each input.

    For each input, returns an array of shape ``output.shape + input.shape``: the
    gradient for a scalar output, the Jacobian otherwise (a float when both are scalars).
    Inputs with ``requires_grad=False`` get ``None``.
    """
    values = _prepare(inputs)
    with no_grad():
        out_shape = np.shape(_call(fn, values).data)
        result = []
        for v in values:
            if not v.requires_grad:
                result.append(None)
                continue
            original = v.data
            work = np.array(original, dtype=np.float64)  # a private copy we can perturb
            flat = work.reshape(-1)
            jac = np.zeros(out_shape + work.shape)
            jac_flat = jac.reshape(out_shape + (flat.size,))
            try:
                for i in range(flat.size):
                    x = flat[i]
                    flat[i] = x + eps
                    v.data = work if work.ndim else float(work)
                    plus = np.array(_call(fn, values).data)  # a copy: outputs may be views of work
                    flat[i] = x - eps
                    v.data = work if work.ndim else float(work)
                    minus = np.array(_call(fn, values).data)
                    flat[i] = x
                    jac_flat[..., i] = (plus - minus) / (2 * eps)
            finally:
                v.data = original
            result.append(float(jac) if jac.ndim == 0 else jac)
    return result


def analytical_grad(fn: Callable[..., Value], *inputs) -> list[np.ndarray | float]:
    """The engine's derivatives in the same layout as ``numerical_grad``: one backward pass per output element."""
    values = _prepare(inputs)
    out = _call(fn, values)
    out_shape = out.shape
    jacs = [np.zeros(out_shape + v.shape) if v.requires_grad else None for v in values]
    for k in np.ndindex(*out_shape):
        seed = np.zeros(out_shape)
        seed[k] = 1.0
        for v in values:
            v.zero_grad()
        out.backward(seed if out_shape else 1.0)
        for v, jac in zip(values, jacs):
            if jac is not None:
                jac[k] = v.grad
    for v in values:
        v.zero_grad()
    return [float(j) if j is not None and j.ndim == 0 else j for j in jacs]


def gradcheck(
    fn: Callable[..., Value], *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3
) -> GradcheckReport:
    """Compare the engine's gradient of ``fn(*inputs)`` with central differences, element by element.

    An element passes when |analytic - numeric| <= atol + rtol * |numeric|.  Returns a
    report of the largest errors; raises ``GradcheckError`` naming the input, the element
    (and output element), both values and both errors at the worst disagreement.
    """
    values = _prepare(inputs)
    numeric = numerical_grad(fn, *values, eps=eps)
    analytic = analytical_grad(fn, *values)
    report = GradcheckReport()
    failures = []
    for i, (v, a, n) in enumerate(zip(values, analytic, numeric)):
        if n is None:
            continue
        a, n = np.asarray(a), np.asarray(n)
        abs_err = np.abs(a - n)
        rel_err = abs_err / np.maximum(np.abs(n), np.finfo(np.float64).tiny)
        bad = ~(abs_err <= atol + rtol * np.abs(n))  # also catches nan
        r = InputReport(
            i,
            v.label,
            v.shape,
            float(np.max(abs_err, initial=0.0)),
            float(np.max(np.where(abs_err > 0, rel_err, 0.0), initial=0.0)),
            int(bad.sum()),
        )
        report.inputs.append(r)
        if r.mismatches:
            flat_worst = np.argmax(np.where(bad, np.nan_to_num(abs_err, nan=np.inf), -1))
            worst = tuple(int(k) for k in np.unravel_index(flat_worst, bad.shape))
            out_idx, in_idx = worst[: a.ndim - v.ndim], worst[a.ndim - v.ndim :]
            where = f"element {in_idx}" + (f" of output element {out_idx}" if out_idx else "")
            failures.append(
                f"input {i} ({v.label or 'unnamed'}, shape {v.shape}), {where}: "
                f"analytic {a[worst]:.10g}, numeric {n[worst]:.10g}, "
                f"abs error {abs_err[worst]:.3g}, rel error {rel_err[worst]:.3g} "
                f"({r.mismatches} of {a.size} elements off; allowed atol {atol:g} + rtol {rtol:g} * |numeric|)"
            )
    if failures:
        raise GradcheckError("gradcheck failed:\n  " + "\n  ".join(failures))
    return report
