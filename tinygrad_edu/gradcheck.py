"""Check the engine's gradients against finite differences, and say which op is wrong.

The derivative is the limit of a difference quotient; the central difference

    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

has error O(eps^2), so in float64 with eps = 1e-6 it agrees with a correct
analytic gradient to about 1e-9.  ``gradcheck`` computes the whole Jacobian both
ways, element by element.  When they disagree it checks every op of the graph on
its own (``check_graph``) and names the first wrong one and the line that made it.
A mismatch at a kink (relu at 0) or where a perturbation leaves an op's domain
(log near 0 with a large eps) is explained with a ``GradcheckWarning`` instead.

``gradgradcheck`` does the same one level up: the gradient is itself a function of the
inputs (``grad(..., create_graph=True)``), and its derivative, the second derivative, is
checked against central differences of the gradient.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tinygrad_edu import arguments
from tinygrad_edu.domains import REAL
from tinygrad_edu.engine import (
    Value,
    apply,
    as_value,
    backprop,
    grad,
    reduce_broadcast,
    toposort,
)
from tinygrad_edu.modes import enable_grad, no_grad, record_sites
from tinygrad_edu.tables import html_table, text_table


class GradcheckError(AssertionError):
    """The analytic gradient disagrees with the numerical one (an AssertionError, so pytest shows it)."""


class GradcheckWarning(UserWarning):
    """A disagreement that is not a bug: an element at a kink, or a perturbation outside an op's domain."""


def _compare(analytic, numeric, atol: float, rtol: float, ignore=None):
    """Absolute and relative errors, and where they exceed atol + rtol * |numeric| (nan counts as bad)."""
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    abs_err = np.abs(a - n)
    rel_err = abs_err / np.maximum(np.abs(n), np.finfo(np.float64).tiny)
    bad = ~(abs_err <= atol + rtol * np.abs(n))
    if ignore is not None:
        bad &= ~ignore
    return abs_err, np.where(abs_err > 0, rel_err, 0.0), bad


def _worst(abs_err, bad) -> tuple[int, ...]:
    flat = np.argmax(np.where(bad, np.nan_to_num(abs_err, nan=np.inf), -1))
    return tuple(int(k) for k in np.unravel_index(flat, bad.shape))


def _settings(eps: float, atol: float = 0.0, rtol: float = 0.0) -> None:
    """A step of 0 divides by zero and a negative tolerance fails every element: both are refused."""
    __tracebackhide__ = True  # pytest shows the caller's line, not this one
    arguments.real("eps", eps, positive=True)
    arguments.real("atol", atol, low=0.0)
    arguments.real("rtol", rtol, low=0.0)


def central_differences(f: Callable[[np.ndarray], object], x, eps: float) -> np.ndarray:
    """(f(x + eps e_i) - f(x - eps e_i)) / (2 eps) for every element i of x, in an array of shape
    ``shape(f(x)) + shape(x)``: the Jacobian of f by finite differences, error O(eps^2).

    ``f`` is called with a perturbed copy of x, which it must not keep.
    """
    work = np.array(x, dtype=np.float64, order="C")  # C order, so that flat below is a view of work, not a copy
    flat = work.reshape(-1)
    out_shape = np.shape(f(work))
    jac = np.zeros(out_shape + work.shape)
    columns = jac.reshape(out_shape + (flat.size,))
    for i in range(flat.size):
        x_i = flat[i]
        flat[i] = x_i + eps
        plus = np.array(f(work))  # a copy: f's result may be a view of work
        flat[i] = x_i - eps
        minus = np.array(f(work))
        flat[i] = x_i
        columns[..., i] = (plus - minus) / (2 * eps)
    return jac


def _max(x) -> float:
    """The largest error; nan if any comparison was nan (a nan gradient must not look like a zero error)."""
    return float(np.max(x)) if np.size(x) else 0.0


# ---------------------------------------------------------------- one op at a time


@dataclass
class OpCheck:
    """How one op's backward compared with finite differences of that op alone, at the values it saw."""

    node: Value
    status: str  # "pass", "fail", "kink", "domain" or "skipped"
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    detail: str = ""

    @property
    def op(self) -> str:
        return self.node.op

    def describe(self) -> str:
        inputs = ", ".join(f"{p.label or 'unnamed'} {p.shape}" for p in self.node.parents)
        where = f", created at {self.node.site}" if self.node.site else ""
        return f"{self.op} (inputs {inputs}{where}): {self.detail}"


@dataclass
class GraphCheck:
    """Every op of a graph checked on its own, each after the ops that made its inputs."""

    ops: list[OpCheck] = field(default_factory=list)

    @property
    def failures(self) -> list[OpCheck]:
        return [c for c in self.ops if c.status == "fail"]

    @property
    def first_failure(self) -> OpCheck | None:
        return next(iter(self.failures), None)

    HEAD = ("op", "status", "max abs err", "detail")

    def _cells(self) -> list[tuple[str, ...]]:
        return [(c.op, c.status, f"{c.max_abs_error:.3g}", c.detail) for c in self.ops]

    def __str__(self) -> str:
        return text_table(self.HEAD, self._cells())

    def _repr_html_(self) -> str:
        """Jupyter shows the check as a table."""
        return html_table(self.HEAD, self._cells())


def _forward(op, datas, ctx):
    """The op alone on the given inputs, with numpy's inf/nan instead of Python's exceptions."""
    with np.errstate(all="ignore"):
        return np.asarray(op.forward(*[np.float64(d) if d.__class__ is float else d for d in datas], **ctx))


def check_op(
    node: Value, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, max_elements: int = 10_000, seed: int = 0
) -> OpCheck:
    """Compare ``node``'s op backward with central differences of the op alone, at the values it saw."""
    _settings(eps, atol, rtol)
    op, ctx = node.operation, node.settings
    datas = [p.numbers for p in node.parents]
    if sum(np.size(d) for d in datas) > max_elements:
        return OpCheck(node, "skipped", detail=f"more than {max_elements} input elements")
    out = _forward(op, datas, ctx)
    g = 1.0 if out.ndim == 0 else np.random.default_rng(seed).normal(size=out.shape)  # a random upstream gradient
    with np.errstate(all="ignore"):
        analytic = op.backward(g, node.numbers, *datas, **ctx)
    analytic = (analytic,) if op.arity == 1 else analytic
    kinks = op.kinks(eps, *datas, **ctx) if op.kinks is not None else [None] * len(datas)
    domain = op.domain or (REAL,) * len(datas)
    result = OpCheck(node, "pass")
    for i, (p, x) in enumerate(zip(node.parents, datas)):
        if not p.requires_grad or analytic[i] is None:
            continue
        work = np.array(x, dtype=np.float64)
        numeric = central_differences(  # of the op contracted with g: sum(g * op(...)), a number
            lambda w, i=i: np.sum(g * _forward(op, datas[:i] + [w] + datas[i + 1 :], ctx)), work, eps
        )
        a = np.asarray(reduce_broadcast(analytic[i], x))
        outside = ~(domain[i].contains(work - eps) & domain[i].contains(work + eps))
        at_kink = np.zeros(work.shape, bool) if kinks[i] is None else np.broadcast_to(kinks[i], work.shape)
        abs_err, rel_err, bad = _compare(a, numeric, atol, rtol)
        result.max_abs_error = max(result.max_abs_error, _max(abs_err[~outside]))
        result.max_rel_error = max(result.max_rel_error, _max(rel_err[~outside]))
        if (bad & ~outside & ~at_kink).any():
            k = _worst(abs_err, bad & ~outside & ~at_kink)
            result.status = "fail"
            result.detail = (
                f"input {i} element {k}: analytic {a[k]:.10g}, numeric {numeric[k]:.10g}, "
                f"abs error {abs_err[k]:.3g}, rel error {rel_err[k]:.3g}"
            )
            return result
        if (bad & outside).any() and result.status == "pass":
            k = _worst(abs_err, bad & outside)
            result.status = "domain"
            result.detail = (
                f"input {i} element {k} = {work[k]:.6g}: perturbing it by eps = {eps:g} leaves the "
                f"domain of {op.name} ({domain[i]}), so the finite difference is meaningless there; "
                f"use a smaller eps or a point further inside"
            )
        elif at_kink.any() and result.status == "pass":
            k = tuple(int(v) for v in np.argwhere(at_kink)[0])
            result.status = "kink"
            result.detail = (
                f"input {i} element {k} = {work[k]:.6g} is at a kink of {op.name}: it has no "
                f"derivative there, the engine returns {a[k]:.6g} by convention (as PyTorch does) "
                f"while finite differences average the two sides ({numeric[k]:.6g})"
            )
    return result


def check_graph(
    root: Value, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, max_elements: int = 10_000
) -> GraphCheck:
    """Check every op of ``root``'s graph on its own: pass, fail, kink, domain or skipped, with the
    largest error per op, each op after the ops that made its inputs."""
    report = GraphCheck()
    for node in reversed(toposort(root)):
        if node.operation is not None:
            report.ops.append(check_op(node, eps, atol, rtol, max_elements))
    return report


# ---------------------------------------------------------------- the whole function


@dataclass
class InputReport:
    """How one input's gradient compared: its largest errors (``of``: which gradient, for gradgradcheck)."""

    index: int
    label: str
    shape: tuple
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    mismatches: int = 0
    of: str = ""


@dataclass
class GradcheckReport:
    """What gradcheck compared: per input, the largest errors; and the notes on kinks and domains."""

    inputs: list[InputReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    title: str = "gradcheck passed"

    @property
    def max_abs_error(self) -> float:
        return max((r.max_abs_error for r in self.inputs), default=0.0)

    @property
    def max_rel_error(self) -> float:
        return max((r.max_rel_error for r in self.inputs), default=0.0)

    def __str__(self) -> str:
        rows = [
            f"input {r.index} ({r.label or 'unnamed'}, shape {r.shape}){' of ' + r.of if r.of else ''}: "
            f"max abs error {r.max_abs_error:.3g}, max rel error {r.max_rel_error:.3g}"
            for r in self.inputs
        ]
        return "\n".join([self.title, *rows, *(f"note: {n}" for n in self.notes)])


def _call(fn: Callable, inputs: list[Value]) -> Value:
    out = fn(*inputs)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: fn must return a Value, it returned {type(out).__name__}")
    return out


def _prepare(inputs) -> list[Value]:
    """Numbers and arrays become Values that require a gradient; Values are checked as given.

    One tuple of Values or arrays is PyTorch's form, ``gradcheck(fn, (x, y))``: the inputs themselves (a
    tuple of plain numbers stays one input, a vector, as it always was)."""
    __tracebackhide__ = True
    if len(inputs) == 1 and isinstance(inputs[0], tuple) and any(isinstance(x, (Value, np.ndarray)) for x in inputs[0]):
        inputs = inputs[0]
    if not inputs:
        raise ValueError("gradcheck needs at least one input to differentiate by: gradcheck(fn, x, ...)")
    values = [x if isinstance(x, Value) else Value(x) for x in inputs]
    if not any(v.requires_grad for v in values):
        raise ValueError("no input requires a gradient (all have requires_grad=False), so there is nothing to check")
    return values


def numerical_grad(fn: Callable[..., Value], *inputs, eps: float = 1e-6) -> list[np.ndarray | float | None]:
    """Central-difference derivatives of fn's output with respect to each input.

    For each input, returns an array of shape ``output.shape + input.shape``: the
    gradient for a scalar output, the Jacobian otherwise (a float when both are scalars).
    Inputs with ``requires_grad=False`` get ``None``.
    """
    _settings(eps)
    values = _prepare(inputs)

    def output_at(v: Value, work: np.ndarray):
        v.data = work if work.ndim else float(work)
        return _call(fn, values).numbers

    result = []
    with no_grad(), np.errstate(all="ignore"):
        for v in values:
            if not v.requires_grad:
                result.append(None)
                continue
            original = v.numbers
            try:
                jac = central_differences(lambda work, v=v: output_at(v, work), original, eps)
            finally:
                v.data = original
            result.append(float(jac) if jac.ndim == 0 else jac)
    return result


def _jacobians(out: Value, values: list[Value]) -> list[np.ndarray | None]:
    """The engine's Jacobians of ``out`` with respect to each input: one backward pass per output element
    (``backprop``, which writes nothing into ``.grad``: the user's gradients stay as they were)."""
    jacs = [np.zeros(out.shape + v.shape) if v.requires_grad else None for v in values]
    if not out.requires_grad:  # a constant (the gradient of a sum is): its derivatives are all 0
        return jacs
    wanted = [v for v in values if v.requires_grad]
    for k in np.ndindex(*out.shape):
        seed = np.zeros(out.shape)
        seed[k] = 1.0
        grads = backprop(out, seed if out.shape else 1.0, wanted=wanted)
        for v, jac in zip(values, jacs):
            if jac is not None and v in grads:
                jac[k] = grads[v]
    return jacs


def _kink_notes(root: Value, eps: float) -> list[str]:
    """Ops whose inputs sit within eps of a kink: their gradient there is a convention, not a derivative."""
    notes = []
    for node in reversed(toposort(root)):
        op = node.operation
        if op is None or op.kinks is None:
            continue
        for i, mask in enumerate(op.kinks(eps, *[p.numbers for p in node.parents], **node.settings)):
            if np.any(mask):
                k = tuple(int(v) for v in np.argwhere(np.atleast_1d(mask))[0]) if np.ndim(mask) else ()
                where = f", created at {node.site}" if node.site else ""
                notes.append(
                    f"{op.name}{where}: input {i} element {k} is at a kink (within eps = {eps:g}), "
                    "where the op has no derivative; its gradient there is a convention"
                )
    return notes


def gradcheck(
    fn: Callable[..., Value], *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3
) -> GradcheckReport:
    """Compare the engine's gradient of ``fn(*inputs)`` with central differences, element by element.

    An element passes when |analytic - numeric| <= atol + rtol * |numeric|.  Returns a
    report of the largest errors.  On a disagreement every op is checked alone: a wrong op
    raises ``GradcheckError`` naming the input, element, both values and errors, and the op
    with the line that created it; a kink or a perturbation outside an op's domain gives a
    ``GradcheckWarning`` that explains it instead. ``gradcheck(fn, (x, y))``, PyTorch's form, is
    ``gradcheck(fn, x, y)``.
    """
    __tracebackhide__ = True  # under pytest a failure shows the report and the caller's line, not this code
    _settings(eps, atol, rtol)
    values = _prepare(inputs)
    with record_sites():
        out = _call(fn, values)
    report = GradcheckReport()
    failures = _mismatches(values, _jacobians(out, values), numerical_grad(fn, *values, eps=eps), atol, rtol, report)
    report.notes = _kink_notes(out, eps)
    if failures:  # a kink is noted above already; a domain is noted here
        verdicts = [
            ({"kink": "explained", "domain": "noted"}.get(c.status, c.status), c.describe())
            for c in check_graph(out, eps, atol, rtol).ops
        ]
        _blame(
            "gradcheck failed:\n  " + "\n  ".join(failures),
            verdicts,
            report,
            "the first wrong op",
            "no single op is wrong at these values",
        )
    for note in report.notes:
        warnings.warn(note, GradcheckWarning, stacklevel=2)
    return report


def _mismatches(
    values: list[Value], analytic: list, numeric: list, atol: float, rtol: float, report: GradcheckReport, of: str = ""
) -> list[str]:
    """Compare Jacobians input by input; add each input's errors to ``report``, return the failures in words.

    ``of`` names the function differentiated when it is not the output (for gradgradcheck: a gradient).
    """
    failures = []
    for i, (v, a, n) in enumerate(zip(values, analytic, numeric)):
        if n is None:
            continue
        a, n = np.asarray(a), np.asarray(n)
        abs_err, rel_err, bad = _compare(a, n, atol, rtol)
        report.inputs.append(InputReport(i, v.label, v.shape, _max(abs_err), _max(rel_err), int(bad.sum()), of))
        if bad.any():
            k = _worst(abs_err, bad)
            out_idx, in_idx = k[: a.ndim - v.ndim], k[a.ndim - v.ndim :]
            where = f"element {in_idx}" + (
                f" of {of or 'output'} element {out_idx}" if out_idx else f" of {of}" if of else ""
            )
            failures.append(
                f"input {i} ({v.label or 'unnamed'}, shape {v.shape}), {where}: "
                f"analytic {a[k]:.10g}, numeric {n[k]:.10g}, abs error {abs_err[k]:.3g}, rel error {rel_err[k]:.3g} "
                f"({int(bad.sum())} of {a.size} elements off; allowed atol {atol:g} + rtol {rtol:g} * |numeric|)"
            )
    return failures


# ---------------------------------------------------------------- second derivatives


def gradgradcheck(
    fn: Callable[..., Value], *inputs, grad_output=None, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3
) -> GradcheckReport:
    """Check second derivatives: for each input j, the gradient d(fn)/d(input j) is a function of all the
    inputs (``grad(..., create_graph=True)``); the engine's derivative of it is compared with central
    differences of it, element by element.

    ``grad_output`` is dL/d(output): 1 for a one-element output, else random (seeded) unless given.
    A mismatch raises ``GradcheckError`` naming the gradient, the input, the element, both values and
    errors, and the first op whose backward is not differentiated right (its backward, checked alone
    as a function of the op's inputs); kinks and domains give a ``GradcheckWarning``, as in ``gradcheck``.
    ``gradgradcheck(fn, (x, y))``, PyTorch's form, is ``gradgradcheck(fn, x, y)``.
    """
    __tracebackhide__ = True
    _settings(eps, atol, rtol)
    values = _prepare(inputs)
    with record_sites():
        out = _call(fn, values)
    if grad_output is None:
        grad_output = 1.0 if out.numbers.__class__ is float else np.random.default_rng(0).normal(size=out.shape)
    report = GradcheckReport(title="gradgradcheck passed")
    failures = []
    for j, v in enumerate(values):
        if not v.requires_grad:
            continue

        def gradient(*xs, j=j):  # d(fn)/d(input j) as a Value with its own graph
            with enable_grad():
                return grad(_call(fn, list(xs)), xs[j], grad_output, create_graph=True, allow_unused=True)[0]

        with record_sites():
            first = gradient(*values)
        of = f"the gradient of input {j} ({v.label or 'unnamed'})"
        failures += _mismatches(
            values, _jacobians(first, values), numerical_grad(gradient, *values, eps=eps), atol, rtol, report, of
        )
    report.notes = _kink_notes(out, eps)
    if failures:
        verdicts = [_check_backward(node, eps, atol, rtol) for node in reversed(toposort(out)) if node.operation]
        _blame(
            "gradgradcheck failed:\n  " + "\n  ".join(failures),
            verdicts,
            report,
            "the first op whose backward is differentiated wrong",
            "no single op's backward is wrong at these values",
        )
    for note in report.notes:
        warnings.warn(note, GradcheckWarning, stacklevel=2)
    return report


def _blame(message: str, verdicts: list[tuple[str, str]], report: GradcheckReport, wrong: str, nothing: str) -> None:
    """After a mismatch, with every op checked alone as (status, description): raise naming the first
    "fail"; else, when something is "explained" or "noted" (a kink, a domain), add the "noted" ones to
    the report's notes; else nothing explains it, and the error says it comes from the composition."""
    __tracebackhide__ = True
    guilty = next((text for status, text in verdicts if status == "fail"), None)
    if guilty is not None:
        raise GradcheckError(f"{message}\n{wrong}: {guilty}")
    if not any(status in ("explained", "noted") for status, _ in verdicts):
        raise GradcheckError(f"{message}\n{nothing}; the mismatch comes from their composition (try another eps)")
    report.notes += [text for status, text in verdicts if status == "noted"]


def _check_backward(node: Value, eps: float, atol: float, rtol: float, seed: int = 0) -> tuple[str, str]:
    """Is this node's op's backward differentiated right? Its backward, with a fixed random upstream
    gradient, contracted with random weights, is a number that depends on the op's inputs:
    ``gradcheck`` that function. Returns ("pass" | "fail" | "noted", description)."""
    op, kwargs = node.operation, node.settings
    if op.kinks is not None:  # where the op has no derivative, its derivative jumps: no second derivative either
        for i, mask in enumerate(op.kinks(eps, *[p.numbers for p in node.parents], **kwargs)):
            if np.any(mask):
                return "noted", (
                    f"{op.name}: input {i} is at a kink (within eps = {eps:g}), where its derivative "
                    "jumps; the second derivative there is a convention"
                )
    for i, (p, domain) in enumerate(zip(node.parents, op.domain or (REAL,) * len(node.parents))):
        x = np.asarray(p.numbers)
        if not np.all(domain.contains(x - eps) & domain.contains(x + eps)):
            return "noted", (
                f"{op.name}: input {i} is within eps = {eps:g} of the edge of its domain ({domain}), "
                "so finite differences of its derivative are meaningless there"
            )
    rng = np.random.default_rng(seed)
    g = as_value(1.0 if node.shape == () else rng.normal(size=node.shape))
    weights = [float(rng.normal()) if p.shape == () else rng.normal(size=p.shape) for p in node.parents]

    def backward_of(*xs):
        grads = op.backward(g, apply(op, *xs, **kwargs), *xs, **kwargs)
        total = 0.0
        for x, gx, w in zip(xs, (grads,) if len(xs) == 1 else grads, weights):
            if gx is not None and x.requires_grad:
                total = total + (reduce_broadcast(as_value(gx), x.numbers) * w).sum()
        return as_value(total)

    inputs = [Value(p.numbers, label=p.label, requires_grad=p.requires_grad) for p in node.parents]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            gradcheck(backward_of, *inputs, eps=eps, atol=atol, rtol=rtol)
        except GradcheckError as e:
            where = f", created at {node.site}" if node.site else ""
            return "fail", f"{op.name}{where}: {str(e).splitlines()[1].strip()}"
    notes = [str(w.message) for w in caught if issubclass(w.category, GradcheckWarning)]
    return ("noted", f"{op.name}: {notes[0]}") if notes else ("pass", "")
