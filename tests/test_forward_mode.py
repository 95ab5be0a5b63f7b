"""Forward mode (tinygrad_edu.forward): tangents pushed from the inputs equal reverse mode's Jacobian times the
direction and finite differences, op by op (every registered op, hypothesis-drawn calls) and on random graphs;
every op's declared shortcut (``Op.jacobian``) equals the general rule read from its backward; the PyTorch-style
functions computed by forward mode (jvp, jacobian(mode="forward"), hessian forward-over-reverse) equal
PyTorch's torch.func; bad inputs are named."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.op_table import SPECS, draw_inputs
from tinygrad_edu import Value, apply, forward, jacobian, ops

SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])


def draw_call(name, data):
    """A random call of the op: its inputs as numbers, its settings, and a random direction per input."""
    op, spec = ops.REGISTRY[name], SPECS[name]
    shapes, ctx = spec.draw(data)
    xs = draw_inputs(data, op, shapes, ctx)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    ts = [float(rng.normal()) if np.shape(x) == () else rng.normal(size=np.shape(x)) for x in xs]
    return op, xs, ctx, ts


def forward_tangent(op, xs, ctx, ts, graph=False):
    vs = [Value(x) for x in xs]
    out = apply(op, *vs, **ctx)
    return out, forward.tangents(out, vs, ts, graph=graph).get(out)


def reverse_tangent(op, xs, ctx, ts):
    """J t from reverse mode: the whole Jacobian, one backward pass per output element, times t."""
    jac = jacobian(lambda *vs: apply(op, *vs, **ctx), tuple(Value(x) for x in xs))
    out_shape = jac[0].shape[: jac[0].ndim - np.ndim(xs[0])]
    total = np.zeros(out_shape)
    for j, t in zip(jac, ts):
        n = np.size(t)
        total = total + (np.asarray(j.numbers).reshape(-1, n) @ np.reshape(t, n)).reshape(out_shape)
    return total


def finite_difference(op, xs, ctx, ts, h=1e-6):
    """(f(x + h t) - f(x - h t)) / 2h: the derivative along t, from the forward alone."""

    def at(s):
        return np.asarray(op.forward(*[np.asarray(x) + s * np.asarray(t) for x, t in zip(xs, ts)], **ctx))

    return (at(h) - at(-h)) / (2 * h)


@pytest.mark.parametrize("name", sorted(ops.REGISTRY))
@SETTINGS
@given(data=st.data())
def test_every_op_forward_equals_reverse_and_finite_differences(name, data):
    op, xs, ctx, ts = draw_call(name, data)
    out, fwd = forward_tangent(op, xs, ctx, ts)
    assert np.shape(fwd) == out.shape and isinstance(fwd, float) == isinstance(out.numbers, float)
    np.testing.assert_allclose(fwd, reverse_tangent(op, xs, ctx, ts), rtol=1e-9, atol=1e-11)
    scale = max(1.0, float(np.max(np.abs(fwd), initial=0.0)))
    np.testing.assert_allclose(fwd, finite_difference(op, xs, ctx, ts), rtol=1e-5, atol=1e-6 * scale)
    _, as_graph = forward_tangent(op, xs, ctx, ts, graph=True)  # the same pass on Values: the same numbers
    np.testing.assert_allclose(as_graph.numbers, fwd, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(n for n, op in ops.REGISTRY.items() if op.jacobian is not None))
@SETTINGS
@given(data=st.data())
def test_every_declared_shortcut_equals_the_rule_read_from_the_backward(name, data):
    """An op's ``jacobian`` declaration picks a fast path; each must give what the general rule gives (J_i t as
    the gradient of <backward(g)_i, t> with respect to g), input by input."""
    op, xs, ctx, ts = draw_call(name, data)
    vs = [Value(x) for x in xs]
    out = apply(op, *vs, **ctx)
    for i, t in enumerate(ts):
        fast = forward.local_jvp(out, i, t)
        general = forward.transposed_backward(op, i, t, out.numbers, tuple(xs), ctx)
        np.testing.assert_allclose(fast, general, rtol=1e-10, atol=1e-12, err_msg=f"{name}, input {i}")


def test_declarations_are_known_kinds():
    kinds = {op.jacobian for op in ops.REGISTRY.values()}
    assert kinds <= {"diagonal", "linear", "multilinear", None}
    assert {"diagonal", "linear", "multilinear"} <= kinds  # each shortcut is used, so each is checked above


def test_a_wrong_declaration_is_caught_by_the_general_rule(monkeypatch):
    """log_softmax is not elementwise: declared "diagonal", its shortcut (the backward given t) computes J^T t,
    which is not J t (J = I - 1 softmax(x)^T is not symmetric; softmax's own Jacobian is, so it would pass)."""
    monkeypatch.setattr(ops.LogSoftmax, "jacobian", "diagonal")
    x, t = np.array([0.3, -1.2, 0.5]), np.array([1.0, 0.0, -2.0])
    out = apply(ops.LogSoftmax, Value(x), axis=-1)
    fast = forward.local_jvp(out, 0, t)
    general = forward.transposed_backward(ops.LogSoftmax, 0, t, out.numbers, (x,), {"axis": -1})
    assert not np.allclose(fast, general)
