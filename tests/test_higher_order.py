"""Gradients of gradients: ``backward(create_graph=True)``, ``grad()``, ``gradgradcheck``.

Every op's backward is written with ops (``ops.math_for`` gives Values functions that make
nodes), so a gradient is a graph and can be differentiated again. Checked here for every op
of the op table two ways (finite differences of the first derivative, and PyTorch's double
backward), on hypothesis-drawn calls of every registered op, and to the third derivative where
the math has one; random multi-op graphs are differentiated twice in ``test_fuzz.py``.
"""

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.op_table import CASES, SPECS, draw_inputs
from tests.test_backward import MEMORY_STEPS, memory_growth
from tinygrad_edu import GradcheckError, GradcheckWarning, Value, apply, grad, gradgradcheck, no_grad, ops, optim, viz
from tinygrad_edu import functional as F
from tinygrad_edu.engine import enable_grad


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")


def _second_derivatives_ours(fn, xs, v, w):
    """d/dx_i of sum_j <w_j, d<v, fn(x)>/dx_j>: a Hessian-vector product, by create_graph."""
    vals = [Value(x) for x in xs]
    firsts = grad(fn(*vals), vals, grad_output=v, create_graph=True, allow_unused=True)
    total = sum(((f * wj).sum() for f, wj in zip(firsts, w)), Value(0.0))
    return [g.data for g in grad(total, vals, allow_unused=True)]


def _second_derivatives_torch(torch_fn, xs, v, w):
    torch = _torch()
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = torch_fn(*ts)
    firsts = torch.autograd.grad(
        out, ts, grad_outputs=torch.tensor(v, dtype=torch.float64), create_graph=True, allow_unused=True
    )
    total = sum((f * torch.tensor(wj, dtype=torch.float64)).sum() for f, wj in zip(firsts, w) if f is not None)
    if not isinstance(total, torch.Tensor) or not total.requires_grad:
        return [np.zeros(np.shape(x)) for x in xs]
    seconds = torch.autograd.grad(total, ts, allow_unused=True)
    return [np.zeros(np.shape(x)) if s is None else s.numpy(force=True) for s, x in zip(seconds, xs)]


def _upstream_and_weights(out_shape, xs, seed):
    rng = np.random.default_rng(seed)
    v = 1.0 if out_shape == () else rng.normal(size=out_shape)
    w = [float(rng.normal()) if np.shape(x) == () else rng.normal(size=np.shape(x)) for x in xs]
    return v, w


# ---------------------------------------------------------------- every op of the op table, two ways


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_second_derivatives_of_every_case_against_finite_differences(case):
    gradgradcheck(case.ours, *case.inputs)


@pytest.mark.parametrize("case", [c for c in CASES if c.torch is not None], ids=lambda c: c.id)
def test_second_derivatives_of_every_case_against_pytorch(case):
    _torch()
    out_shape = case.ours(*[Value(x) for x in case.inputs]).shape
    v, w = _upstream_and_weights(out_shape, case.inputs, seed=1)
    ours = _second_derivatives_ours(case.ours, case.inputs, v, w)
    theirs = _second_derivatives_torch(case.torch, case.inputs, v, w)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"input {i}")


@pytest.mark.parametrize("name", sorted(ops.REGISTRY))
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_registered_op_second_derivatives(name, data):
    """Random calls of each registered op (shapes, broadcasting, settings): gradgradcheck, and PyTorch."""
    op, spec = ops.REGISTRY[name], SPECS[name]
    shapes, ctx = spec.draw(data)
    xs = draw_inputs(data, op, shapes, ctx)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradcheckWarning)  # inputs are away from kinks: nothing to explain
        gradgradcheck(lambda *vs: apply(op, *vs, **ctx), *xs)
    if spec.torch is None:
        return
    _torch()
    # PyTorch zeroes d(x^y)/dx wherever y == 0 as a function (masked_fill), so its d2/dxdy there is 0, not x^(y-1)
    # (finite differences, checked above, agree with ours)
    assume(not (name == "Pow" and np.any(np.asarray(xs[1]) == 0)))
    v, w = _upstream_and_weights(apply(op, *[Value(x) for x in xs], **ctx).shape, xs, seed=2)
    ours = _second_derivatives_ours(lambda *vs: apply(op, *vs, **ctx), xs, v, w)
    theirs = _second_derivatives_torch(lambda *ts: spec.torch(*ts, **ctx), xs, v, w)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)


def test_a_composite_through_every_kind_of_op():
    """The gradient of a gradient through a small network: matmul, broadcasting, tanh, softmax, a reused node."""
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=(2,))

    def fn(x, w, b):
        h = (x @ w + b).tanh()
        return (h.softmax(axis=1) * h).sum() + (h * h).mean()

    gradgradcheck(fn, x, w, b)


# ---------------------------------------------------------------- third derivatives and beyond


def test_third_derivative_of_tanh():
    x = Value(0.7)
    (d1,) = grad(x.tanh(), x, create_graph=True)
    (d2,) = grad(d1, x, create_graph=True)
    (d3,) = grad(d2, x)
    t = math.tanh(0.7)
    assert d1.data == pytest.approx(1 - t * t, rel=1e-14)
    assert d2.data == pytest.approx(-2 * t * (1 - t * t), rel=1e-14)
    assert d3.data == pytest.approx((1 - t * t) * (6 * t * t - 2), rel=1e-13)


def test_derivatives_of_a_polynomial_down_to_the_constant():
    """y = x^4 - 2x^2: y' = 4x^3 - 4x, y'' = 12x^2 - 4, y''' = 24x, y'''' = 24, then 0 (not used: allow_unused)."""
    x = Value(1.5)
    d = x**4 - 2 * x**2
    expected = [4 * 1.5**3 - 4 * 1.5, 12 * 1.5**2 - 4, 24 * 1.5, 24.0]
    for want in expected:
        (d,) = grad(d, x, create_graph=True)
        assert d.data == pytest.approx(want, rel=1e-14)
    (fifth,) = grad(d, x, allow_unused=True)
    assert fifth.data == 0.0


THIRD = {  # ours, PyTorch's
    "exp": (lambda x: x.exp(), lambda t: t.exp()),
    "sigmoid": (lambda x: x.sigmoid(), lambda t: t.sigmoid()),
    "softplus": (lambda x: x.softplus(), lambda t: _torch().nn.functional.softplus(t)),
    "gelu": (lambda x: x.gelu(), lambda t: _torch().nn.functional.gelu(t)),
    "gelu_tanh": (lambda x: F.gelu(x, "tanh"), lambda t: _torch().nn.functional.gelu(t, approximate="tanh")),
    "erf": (lambda x: F.erf(x), lambda t: t.erf()),
    "log": (lambda x: x.log(), lambda t: t.log()),
    "sqrt": (lambda x: x.sqrt(), lambda t: t.sqrt()),
    "pow": (lambda x: x**-1.5, lambda t: t**-1.5),
    "rpow": (lambda x: 2.0**x, lambda t: 2.0**t),
    "softmax": (lambda x: x.softmax() * x[0], lambda t: t.softmax(-1) * t[0]),
    "log_softmax": (lambda x: x.log_softmax() * x, lambda t: t.log_softmax(-1) * t),
}


@pytest.mark.parametrize("name", THIRD)
def test_third_derivatives_against_finite_differences_and_pytorch(name):
    """gradgradcheck of a first derivative checks the third derivative."""
    fn, torch_fn = THIRD[name]
    x = np.array([0.4, 1.3, 0.8])

    def first(x):
        (d,) = grad(fn(x).sum(), x, create_graph=True)
        return d

    gradgradcheck(first, x)
    torch = _torch()
    ours, theirs = Value(x), torch.tensor(x, requires_grad=True)
    d, td = fn(ours).sum(), torch_fn(theirs).sum()
    for _ in range(3):  # d/dx of the sum of the previous derivative, three times
        (g,) = grad(d, ours, create_graph=True)
        (tg,) = torch.autograd.grad(td, theirs, create_graph=True)
        d, td = g.sum(), tg.sum()
    np.testing.assert_allclose(g.data, tg.numpy(force=True), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- backward(create_graph=True)


def test_backward_with_create_graph_leaves_gradients_that_are_values():
    x = Value(2.0, label="x")
    y = x**3
    y.backward(create_graph=True)
    assert isinstance(x.grad, Value) and x.grad.data == 12.0
    g = x.grad
    x.zero_grad()
    g.backward()  # d/dx (3x^2) = 6x
    assert x.grad == 12.0 and not isinstance(x.grad, Value)


def test_backward_with_create_graph_accumulates_like_backward():
    x = Value(np.array([1.0, -2.0]))
    (x * x).sum().backward(create_graph=True)
    (x * x).sum().backward(create_graph=True)
    np.testing.assert_allclose(x.grad.data, [4.0, -8.0])
    (x.grad * x.grad).sum().backward()  # d/dx sum((4x)^2) = 32x, added to what .grad held
    np.testing.assert_allclose(np.asarray(x.grad), [4.0 + 32.0, -8.0 - 64.0])


def test_backward_takes_a_value_as_its_starting_gradient():
    x = Value(np.array([1.0, 2.0]))
    v = Value(np.array([3.0, -1.0]))
    (x * x).backward(v)
    np.testing.assert_allclose(x.grad, [6.0, -4.0])
    with pytest.raises(ValueError, match="shape"):
        (x * x).backward(Value(np.ones(3)))


def test_create_graph_false_leaves_numbers_and_no_graph():
    x = Value(np.array([0.5, -1.0]))
    (x.tanh() * x).sum().backward(create_graph=False)
    assert x.grad.__class__ is np.ndarray
    (d,) = grad((x.tanh() * x).sum(), x)
    assert not d.requires_grad and d.parents == ()


@pytest.mark.parametrize("how", ["backward(create_graph=False)", "grad()"])
def test_memory_stays_flat_over_1000_steps_without_create_graph(how):
    """Without create_graph the gradients hold no graph: what 1,000 steps keep is under 2 bytes a step, as over
    the 8,000 steps this test once took (8 s); a leak of one pointer a step would keep 8,000 bytes."""
    rng = np.random.default_rng(0)
    w1, w2 = Value(rng.normal(size=(2, 4))), Value(rng.normal(size=(4, 1)))
    x = Value(rng.normal(size=(4, 2)), requires_grad=False)
    params = [w1, w2]

    def step():
        loss = ((x @ w1).tanh() @ w2).sum()
        if how == "grad()":
            grads = [g.data for g in grad(loss, params)]
        else:
            for p in params:
                p.zero_grad()
            loss.backward(create_graph=False)
            grads = [p.grad for p in params]
        for p, g in zip(params, grads):
            p.data -= 1e-4 * g

    growth = memory_growth(step)
    assert growth < 2 * MEMORY_STEPS, f"memory grew by {growth} bytes over {MEMORY_STEPS:,} steps"


def test_an_optimizer_steps_on_gradients_made_with_create_graph():
    w = Value(np.array([1.0, 2.0]))
    sgd = optim.SGD([w], lr=0.1)
    (w * w).sum().backward(create_graph=True)
    sgd.step()
    np.testing.assert_allclose(w.data, [0.8, 1.6])
    assert w.data.__class__ is np.ndarray


# ---------------------------------------------------------------- grad()


def test_grad_returns_gradients_and_leaves_dot_grad_alone():
    x, y = Value(3.0), Value(np.array([1.0, 2.0]))
    gx, gy = grad((x * y).sum(), [x, y])
    assert gx.data == 3.0
    np.testing.assert_allclose(gy.data, [3.0, 3.0])
    assert x._grad is None and y._grad is None


def test_grad_of_one_input_and_of_a_non_scalar_output():
    x = Value(np.array([1.0, 2.0, 3.0]))
    (g,) = grad(x * x, x, grad_output=np.array([1.0, 0.0, -1.0]))
    np.testing.assert_allclose(g.data, [2.0, 0.0, -6.0])
    with pytest.raises(ValueError, match="non-scalar"):
        grad(x * x, x)


def test_grad_refuses_what_it_cannot_differentiate():
    x, z = Value(1.0, label="x"), Value(2.0, label="z")
    y = x * 2.0
    with pytest.raises(ValueError, match=r"input 1 \(z, shape \(\)\) is not used"):
        grad(y, [x, z])
    assert grad(y, [x, z], allow_unused=True)[1].data == 0.0
    with pytest.raises(ValueError, match="requires_grad=False"):
        grad(y, Value(1.0, requires_grad=False))
    with pytest.raises(TypeError, match="input 0 must be a Value"):
        grad(y, [1.0])
    with pytest.raises(TypeError, match="output must be a Value"):
        grad(3.0, x)
    with pytest.raises(ValueError, match="inputs is empty"):
        grad(y, [])


def test_hessian_vector_product_equals_the_hessian_times_the_vector():
    """H v by double backprop, against the full Hessian from finite differences of the gradient."""
    rng = np.random.default_rng(4)
    x0, v = rng.normal(size=3), rng.normal(size=3)

    def loss(x):
        return (x.tanh() * x[::-1]).sum() + (x**2).sum() * x[0]

    x = Value(x0)
    (g,) = grad(loss(x), x, create_graph=True)
    (hv,) = grad((g * v).sum(), x)

    def gradient_at(point):
        x = Value(point)
        return grad(loss(x), x)[0].data

    hessian = np.zeros((3, 3))
    for j in range(3):  # column j: how the gradient changes with x_j
        e = np.eye(3)[j] * 1e-5
        hessian[:, j] = (gradient_at(x0 + e) - gradient_at(x0 - e)) / 2e-5
    np.testing.assert_allclose(hv.data, hessian @ v, rtol=1e-7, atol=1e-9)


def test_grad_with_create_graph_inside_no_grad_makes_no_graph_and_enable_grad_restores_it():
    x = Value(0.5)
    y = x**3
    with no_grad():
        (g,) = grad(y, x, create_graph=True)
        assert not g.requires_grad
        with enable_grad():
            (g2,) = grad(y, x, create_graph=True)
    assert g2.requires_grad and grad(g2, x)[0].data == pytest.approx(3.0)


# ---------------------------------------------------------------- gradgradcheck's report


def test_gradgradcheck_names_an_op_whose_backward_reads_numbers_instead_of_nodes(monkeypatch):
    """A backward that computes the right first derivative from plain numbers (np.asarray(out)) is cut
    from the graph: its second derivative is wrong. gradcheck cannot see it; gradgradcheck names the op."""
    from tinygrad_edu import gradcheck

    monkeypatch.setattr(ops.Tanh, "backward", staticmethod(lambda g, out, x: g * (1.0 - np.asarray(out) ** 2)))
    x = Value(np.array([0.3, -0.8]), label="x")
    gradcheck(lambda x: (x.tanh() * 2.0).sum(), x)
    with pytest.raises(GradcheckError) as e:
        gradgradcheck(lambda x: (x.tanh() * 2.0).sum(), x)
    message = str(e.value)
    assert re.search(
        r"input 0 \(x, shape \(2,\)\), element \((\d),\) of the gradient of input 0 \(x\) "
        r"element \(\1,\): analytic 0, numeric -?\d+\.\d+",
        message,
    ), message
    assert "the first op whose backward is differentiated wrong: tanh" in message


def test_gradgradcheck_explains_a_kink_instead_of_failing():
    """relu' jumps at 0: finite differences of the first derivative see a spike the engine calls 0."""
    with pytest.warns(GradcheckWarning, match="kink"):
        gradgradcheck(lambda x: (x.relu() * x).sum(), np.array([0.0, 1.0]), eps=1e-3)


def test_gradgradcheck_explains_a_perturbation_outside_the_domain():
    """log at 1e-6 with eps = 1e-5: x - eps < 0, where log (and its derivative 1/x) is not defined."""
    with pytest.warns(GradcheckWarning, match=r"log: input 0 is within eps = 1e-05 of the edge of its domain"):
        report = gradgradcheck(lambda x: x.log(), 1e-6, eps=1e-5)
    assert report.max_abs_error > 1e6  # the mismatch is reported, and explained


def test_gradgradcheck_checks_its_settings_and_inputs():
    with pytest.raises(ValueError, match="eps"):
        gradgradcheck(lambda x: x * x, 1.0, eps=0.0)
    with pytest.raises(ValueError, match="no input requires a gradient"):
        gradgradcheck(lambda x: x * x, Value(1.0, requires_grad=False))
    report = gradgradcheck(lambda x, y: (x * y * y).sum(), np.array([1.0, 2.0]), 0.5)
    assert str(report).startswith("gradgradcheck passed") and len(report.inputs) == 4


# ---------------------------------------------------------------- the picture of a gradient


def test_a_graph_whose_gradients_are_values_is_drawn_with_their_numbers():
    x = Value(0.5, label="x")
    y = x.tanh() * x
    y.backward(create_graph=True)
    assert isinstance(x.grad, Value)
    assert f"grad {math.tanh(0.5) + 0.5 * (1 - math.tanh(0.5) ** 2):.4f}" in viz.draw_graph(y).source


def test_the_gradient_of_tanh_can_be_drawn():
    x = Value(0.5, label="x")
    (d,) = grad(x.tanh(), x, create_graph=True)
    picture = viz.draw_graph(d)
    for op in ("tanh", "×", "−"):  # d/dx tanh(x) = 1 * (1 - tanh(x) * tanh(x)), as the backward built it
        assert op in picture.source
    assert "<svg" in picture.pipe(format="svg").decode()
