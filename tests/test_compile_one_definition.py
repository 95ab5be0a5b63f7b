"""compile has no derivative of its own: every line of ``step.source`` comes from the op's forward and backward
in ops.py, run on symbols that write code (``tinygrad_edu.code``). Change an op in ops.py and eager,
``create_graph`` and the compiled step all change together."""

from __future__ import annotations

import numpy as np
import pytest

from tests.op_table import CASES
from tinygrad_edu import Value, compile, compiler, data, losses, nn, ops
from tinygrad_edu.compiler import CompileWarning


def _values(inputs, seed: int = 0):
    return [Value(np.array(x, dtype=float) if np.ndim(x) else float(x)) for x in inputs]


def _weighted(out: Value, seed: int = 0) -> Value:
    """out summed with fixed random weights, so that every element's gradient differs."""
    w = np.random.default_rng(seed).uniform(0.5, 1.5, size=out.shape)
    return (out * (float(w) if out.shape == () else w)).sum()


def _eager_and_compiled(fn, leaves):
    """fn's loss and the leaves' gradients, eagerly and from the compiled step's second (compiled) call."""
    loss = fn()
    loss.backward()
    eager = [np.array(v.grad) for v in leaves], loss.data
    step = compile(fn)
    step()  # the trace: fn eagerly
    for v in leaves:
        v.zero_grad()
    compiled_loss = step().data
    return eager, ([np.array(v.grad) for v in leaves], compiled_loss), step


# a mask computed from a value's numbers, and a dropout mask (random numbers, new on every call): compile runs them
# eagerly, and says so
RUN_EAGERLY = {"where_compare", "dropout_seeded"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_op_compiled_gives_eager_values_and_gradients(case):
    leaves = _values(case.inputs)
    fn = lambda: _weighted(case.ours(*leaves))  # noqa: E731
    if case.id in RUN_EAGERLY:
        with pytest.warns(CompileWarning, match="not compiled"):
            (eager_grads, eager_loss), (grads, loss), step = _eager_and_compiled(fn, leaves)
    else:
        (eager_grads, eager_loss), (grads, loss), step = _eager_and_compiled(fn, leaves)
    if case.id in RUN_EAGERLY:
        assert step.source.startswith("# not compiled")
    else:
        assert not step.source.startswith("# not compiled"), step.source
    np.testing.assert_allclose(loss, eager_loss, rtol=1e-12, atol=1e-12)
    for got, expected in zip(grads, eager_grads):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def _xor_step():
    X, y = data.xor()
    model = nn.MLP(2, [4, 1], seed=0)
    return model, compile(lambda X, y: losses.mse(model(X), y)), X, y


def _grads_of(model, step, X, y):
    model.zero_grad()
    step(X, y)
    model.zero_grad()
    step(X, y)  # compiled
    return [np.array(p.grad) for p in model.parameters()]


def _wrong_tanh_backward(g, out, x):
    return g * (1.0 - out * out) * 3.0  # a different formula: 3 times tanh's derivative


def _wrong_mul_backward(g, out, a, b):
    return g * b * 2.0, g * a * 0.5  # a different formula for each input


def _wrong_div_backward(g, out, a, b):
    return g / b * 2.0, -g * out / b * 0.5


@pytest.mark.parametrize(
    ("op", "wrong", "build"),
    [
        (ops.Tanh, _wrong_tanh_backward, lambda a, b: (a * b).tanh()),
        (ops.Mul, _wrong_mul_backward, lambda a, b: (a * b).tanh()),
        (ops.Div, _wrong_div_backward, lambda a, b: (a / b).tanh()),
    ],
)
def test_a_patched_backward_changes_eager_create_graph_compiled_and_the_source_alike(monkeypatch, op, wrong, build):
    a0, b0 = np.array([[0.3, -0.7], [1.1, 0.4]]), np.array([0.9, -1.3])

    def results():
        a, b = Value(a0.copy(), label="a"), Value(b0.copy(), label="b")
        loss = _weighted(build(a, b))
        loss.backward()
        eager = [a.grad.copy(), b.grad.copy()]
        a.zero_grad(), b.zero_grad()
        a2, b2 = Value(a0.copy()), Value(b0.copy())
        (ga, gb) = __import__("tinygrad_edu").grad(_weighted(build(a2, b2)), [a2, b2], create_graph=True)
        graph = [ga.data, gb.data]
        step = compile(lambda: _weighted(build(a, b)))
        step()
        a.zero_grad(), b.zero_grad()
        step()
        return eager, graph, [a.grad.copy(), b.grad.copy()], step.source

    eager, graph, compiled, source = results()
    monkeypatch.setattr(op, "backward", staticmethod(wrong))
    eager2, graph2, compiled2, source2 = results()
    for before, after in ((eager, eager2), (graph, graph2), (compiled, compiled2)):
        assert not all(np.allclose(x, y) for x, y in zip(before, after))  # the patch is seen
    for x, y, z in zip(eager2, graph2, compiled2):  # and seen the same way by all three
        np.testing.assert_allclose(y, x, rtol=1e-12)
        np.testing.assert_allclose(z, x, rtol=1e-12)
    assert source2 != source and ("3.0" in source2 or "2.0" in source2)


def test_a_patched_forward_changes_the_compiled_forward(monkeypatch):
    model, step, X, y = _xor_step()
    loss = step(X, y).data
    monkeypatch.setattr(ops.Tanh, "forward", staticmethod(lambda x: ops.math_for(x).tanh(x) * 0.5))
    model2, step2, X, y = _xor_step()
    eager = losses.mse(model2(X), y).data
    step2(X, y)
    assert step2(X, y).data == pytest.approx(eager, rel=1e-12) and eager != pytest.approx(loss, rel=1e-6)
    assert "np.tanh(n3) * 0.5" in step2.source


def test_the_compiler_holds_no_derivative_of_its_own():
    for name in ("_TEMPLATES", "_SPREADS", "_PASS_THROUGH", "_ELEMENTWISE", "_op_code", "_number_will_do"):
        assert not hasattr(compiler, name), name
    source = open(compiler.__file__).read()
    for formula in ("1.0 - ", "np.exp(", "np.tanh(", "np.where(", ".T @", "@ {"):
        assert formula not in source, formula


def test_the_source_writes_gradients_through_a_public_call():
    model, step, X, y = _xor_step()
    step(X, y)
    assert "._grad" not in step.source and ".accumulate_grad(g_layers_0_W)" in step.source


def test_the_source_names_nodes_as_the_trace_table_does():
    from tinygrad_edu.names import node_names

    X, y = data.xor()
    model = nn.MLP(2, [4, 1], seed=0)
    step = compile(lambda X, y: losses.mse(model(X), y))
    step(X, y)
    names = node_names(losses.mse(model(X), y))  # the same graph, made again: the same names
    ops_unnamed = [name for node, name in names.items() if node.operation is not None and not node.label]
    assert len(ops_unnamed) > 5 and all(f"    {n} = " in step.source for n in ops_unnamed), ops_unnamed
    assert "n4 = np.tanh(n3)  # tanh" in step.source
    assert "# tanh: dn4/dn3 = 1 - n4^2" in step.source  # the factor, derived from Tanh.backward with g = 1


def test_rewrites_keep_the_compiled_code_fast():
    x = Value(np.array([0.5, 1.5, -2.0]), label="x")
    step = compile(lambda: (x * x).sum())
    step()
    assert "g_x = g_n1 * x * 2.0" in step.source or "* 2.0  # mul" in step.source  # x * x: one line, 2 g x
    assert step.source.count("    g_x = ") == 1
    X, y = data.digits()
    model = nn.MLP(64, [10], seed=0)
    step = compile(lambda xb, yb: losses.cross_entropy(model(xb), yb))
    step(X[:32] / 16.0, y[:32])
    assert step.source.count("np.exp(") == 1  # the softmax of the backward is the forward's
    z = Value(np.array([[1.0, -2.0], [0.5, 0.25]]), label="z")
    step = compile(lambda: z.relu().sum())
    step()
    assert "np.where(z <= 0.0, 0.0, " in step.source  # relu's select, as ReLU.backward writes it (g one number)


def test_relu_multiplies_a_finite_gradient_and_selects_any_other():
    """ArrayMath.blocked written out: ``g * not blocked`` when every number of g is finite, else the selection,
    so an inf upstream still gives the blocked unit 0, as in eager and PyTorch."""
    z = Value(np.array([[1.0, -2.0], [0.5, 0.0]]), label="z")
    w = Value(np.array([[2.0, 3.0], [4.0, 5.0]]), label="w")
    step = compile(lambda: (z.relu() * w).sum())
    step()
    line = next(line for line in step.source.splitlines() if "# relu: " in line and "g_z" in line)
    assert "np.logical_not(" in line and "if np.isfinite(" in line and "else np.where(" in line
    assert z.grad.tolist() == [[2.0, 0.0], [4.0, 0.0]]
    w.data[0, 1] = w.data[1, 1] = np.inf  # upstream of the blocked units: inf * 0 would be nan
    z.zero_grad()
    with np.errstate(all="ignore"):
        step()
    assert z.grad.tolist() == [[2.0, 0.0], [4.0, 0.0]]


def test_numbers_the_code_folds_follow_ieee_as_eager_does():
    """1.0 / 0.0 of two constants: eager gives inf (Python's floats raise, the engine redoes it in numpy); the
    compiler folding the two numbers into one raised ZeroDivisionError while tracing."""
    x = Value(2.0)
    step = compile(lambda: x * (Value(1.0, requires_grad=False) / Value(0.0, requires_grad=False)))
    assert step().data == np.inf and x.grad == np.inf
    x.zero_grad()
    assert step().data == np.inf and x.grad == np.inf


def test_a_comment_shows_a_derivative_only_where_g_equal_1_gives_one():
    """softmax's backward run with g = 1 is 0 everywhere (the rows of its Jacobian sum to 0): shown as
    d(out)/d(in) it would teach a wrong derivative. Where each output element depends on more than its own input
    element, the comment shows the contribution with the upstream gradient named instead."""
    x = Value(np.array([[1.0, -2.0], [0.5, 3.0]]), label="x")
    step = compile(lambda: x.relu().softmax().log().mean())
    step()
    softmax_line = next(line for line in step.source.splitlines() if "# softmax: " in line and "g_" in line)
    assert "dL/dn1 from dL/dn2" in softmax_line and "dn2/dn1 =" not in softmax_line
    assert "# log: dn3/dn2 = 1 / n2" in step.source  # elementwise: g = 1 gives the derivative
