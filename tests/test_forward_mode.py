"""Forward mode (tinygrad_edu.forward): tangents pushed from the inputs equal reverse mode's Jacobian times the
direction and finite differences, op by op (every registered op, hypothesis-drawn calls) and on random graphs;
every op's declared shortcut (``Op.jacobian``) equals the general rule read from its backward; the PyTorch-style
functions computed by forward mode (jvp, jacobian(mode="forward"), hessian forward-over-reverse) equal
PyTorch's torch.func; bad inputs are named."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_edu.torch as ttorch
from tests import fuzz
from tests.op_table import SPECS, draw_inputs
from tinygrad_edu import (
    Value,
    apply,
    enable_grad,
    engine,
    forward,
    grad,
    hessian,
    hvp,
    jacobian,
    jacobians,
    jvp,
    no_grad,
    numerical_grad,
    ops,
)

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


# ---------------------------------------------------------------- random graphs: forward Jacobian == reverse Jacobian


def jacobian_both_ways(outputs, leaves):
    """Each output's Jacobian with each leaf, twice: column by column from forward passes (one per leaf element)
    and row by row from backward passes (one per output element)."""
    by_columns = {}
    for k, leaf in enumerate(leaves):
        for j in range(leaf.numbers.size if leaf.shape else 1):
            found = forward.tangents(outputs, leaf, jacobians._unit(leaf.shape, j))
            for i, out in enumerate(outputs):
                t = found.get(out, np.zeros(out.shape))
                by_columns.setdefault((i, k), []).append(np.reshape(t, -1))
    by_rows = {}
    for i, out in enumerate(outputs):
        for j in range(out.numbers.size if out.shape else 1):
            grads = engine.backprop(out, jacobians._unit(out.shape, j))
            for k, leaf in enumerate(leaves):
                by_rows.setdefault((i, k), []).append(np.reshape(grads.get(leaf, np.zeros(leaf.shape)), -1))
    for key in by_columns:
        yield key, np.array(by_columns[key]).T.reshape(-1), np.array(by_rows.get(key, [])).reshape(-1)


@pytest.mark.parametrize("chunk", range(2))
def test_random_graphs_forward_jacobian_equals_reverse(chunk):
    torch = pytest.importorskip("torch", reason="tests/fuzz.py builds its graphs beside PyTorch's")
    compared = 0
    for seed in range(chunk, 80, 2):
        with np.errstate(all="ignore"):
            g = fuzz.build(seed, torch)
        if not all(np.isfinite(node.numbers).all() for node, _ in g.pairs):
            continue  # inf and nan make some entries conventions (0 * inf), not derivatives
        leaves = [leaf for leaf, _ in g.leaves]
        outputs = [node for node, _ in g.pairs[-2:] if node.requires_grad]
        for (i, k), fwd, rev in jacobian_both_ways(outputs, leaves):
            assert fwd.shape == rev.shape, (seed, i, k)
            np.testing.assert_allclose(fwd, rev, rtol=1e-9, atol=1e-12, err_msg=f"seed {seed}: output {i}, leaf {k}")
            compared += 1
    assert compared > 40


# ---------------------------------------------------------------- scalars, the PyTorch-style functions


def test_scalar_values_carry_float_tangents_as_dual_numbers():
    """micrograd's scalars: each tangent is a Python float, and d/dx of x*y + tanh(x) is y + 1 - tanh(x)^2."""
    x, y = Value(0.7, label="x"), Value(-1.5, label="y")
    out = x * y + x.tanh()
    found = forward.tangents(out, [x, y], [1.0, 0.0])
    assert all(isinstance(t, float) for t in found.values())
    assert found[out] == pytest.approx(-1.5 + 1 - np.tanh(0.7) ** 2, rel=1e-14)
    assert list(found)[:2] == [x, y]  # the inputs first, then each node after its inputs
    out_value, tangent = forward.jvp(lambda a, b: a * b + a.tanh(), (0.7, -1.5), (1.0, 0.0))
    assert tangent.numbers == pytest.approx(found[out], rel=1e-15) and not tangent.requires_grad
    assert out_value.numbers == pytest.approx(out.numbers)


def network(x):
    """A small two-layer network, as a function of its input (a vector of 4)."""
    w1 = np.linspace(-1.0, 1.0, 12).reshape(4, 3)
    w2 = np.array([[0.5, -1.0], [1.5, 0.25], [-0.75, 1.0]])
    return ((x @ w1).tanh() @ w2).softmax()


def test_jacobian_by_either_mode_is_the_same_and_takes_one_pass_per_input_or_output(monkeypatch):
    x = Value(np.array([0.3, -0.8, 1.1, 0.4]))
    passes = {"forward": 0, "reverse": 0}
    sweep, walk = jacobians.tangents, jacobians.backprop

    def counted_sweep(*args, **kwargs):
        passes["forward"] += 1
        return sweep(*args, **kwargs)

    def counted_walk(*args, **kwargs):
        passes["reverse"] += 1
        return walk(*args, **kwargs)

    monkeypatch.setattr(jacobians, "tangents", counted_sweep)
    monkeypatch.setattr(jacobians, "backprop", counted_walk)
    by_rows = jacobian(network, x)
    assert passes == {"forward": 0, "reverse": 2}  # 2 outputs
    by_columns = jacobian(network, x, mode="forward")
    assert passes == {"forward": 4, "reverse": 2}  # 4 inputs
    jacobian(network, x, vectorize=True, strategy="forward-mode")  # PyTorch's name for it
    assert passes == {"forward": 8, "reverse": 2}
    assert by_columns.shape == by_rows.shape == (2, 4)
    np.testing.assert_allclose(by_columns.numbers, by_rows.numbers, rtol=1e-12, atol=1e-15)


def test_forward_mode_runs_no_backward_pass_through_declared_ops(monkeypatch):
    """tanh, matmul, sum and * are declared: their tangents come from their forward or backward on the numbers,
    so jvp and jacobian(mode="forward") never walk a graph backwards."""

    def no_backward(*args, **kwargs):
        raise AssertionError("a backward pass ran")

    monkeypatch.setattr(engine, "backprop", no_backward)
    monkeypatch.setattr(jacobians, "backprop", no_backward)
    x = Value(np.array([0.5, -1.0, 2.0]))
    f = lambda x: (x @ np.ones((3, 2))).tanh() * x.sum()  # noqa: E731
    j = jacobian(f, x, mode="forward")
    assert j.shape == (2, 3)
    _, jv = jvp(f, x, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(jv.numbers, j.numbers @ [1.0, 2.0, 3.0], rtol=1e-12)


def test_forward_jacobian_with_create_graph_is_differentiated_as_the_reverse_one():
    x = Value(np.array([0.3, -0.8, 1.1, 0.4]))
    sums = {}
    for mode in ("forward", "reverse"):
        j = jacobian(network, x, create_graph=True, mode=mode)
        assert j.requires_grad
        sums[mode] = grad((j * j).sum(), x)[0].numbers
    np.testing.assert_allclose(sums["forward"], sums["reverse"], rtol=1e-10, atol=1e-13)


def test_hessian_forward_over_reverse_equals_reverse_over_reverse_and_finite_differences():
    x = Value(np.array([0.3, -0.8, 1.1]))
    f = lambda x: (x.sin() * x.sum()).sum() + (x**3).sum()  # noqa: E731
    forward_over_reverse = hessian(f, x, mode="forward").numbers
    np.testing.assert_allclose(forward_over_reverse, hessian(f, x).numbers, rtol=1e-12, atol=1e-14)

    def gradient(x):
        with enable_grad():
            return grad(f(x), x, create_graph=True)[0]

    np.testing.assert_allclose(forward_over_reverse, numerical_grad(gradient, x)[0], atol=1e-7)
    _, hv = hvp(f, x, np.array([1.0, -2.0, 0.5]))  # forward over reverse too
    np.testing.assert_allclose(hv.numbers, forward_over_reverse @ [1.0, -2.0, 0.5], rtol=1e-12)


# ---------------------------------------------------------------- PyTorch's torch.func as the oracle


def two_in_two_out(x, y):
    return (x * y).sum(-1).tanh(), (x.exp() * y).softmax(-1)


def test_jvp_equals_torch_func_jvp():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, y, tx, ty = rng.normal(size=3), rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=(2, 3))
    outs, tangents = forward.jvp(two_in_two_out, (Value(x), Value(y)), (tx, ty))
    t = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    their_outs, their_tangents = torch.func.jvp(two_in_two_out, (t(x), t(y)), (t(tx), t(ty)))
    for ours, theirs in zip(outs + tangents, their_outs + their_tangents):
        np.testing.assert_allclose(ours.numbers, theirs.numpy(), rtol=1e-12, atol=1e-14)


def test_forward_jacobian_and_hessian_equal_torch_funcs_jacfwd_and_hessian():
    torch = pytest.importorskip("torch")
    x0 = np.array([0.3, -0.8, 1.1, 0.4])
    theirs = torch.func.jacfwd(network_in_torch(torch))(torch.tensor(x0))
    np.testing.assert_allclose(jacobian(network, Value(x0), mode="forward").numbers, theirs.numpy(), rtol=1e-12)
    f = lambda x: (x.tanh() * x.sum()).sum()  # noqa: E731
    their_hessian = torch.func.hessian(f)(torch.tensor(x0))  # jacfwd(jacrev(f)): forward over reverse
    np.testing.assert_allclose(hessian(f, Value(x0), mode="forward").numbers, their_hessian.numpy(), rtol=1e-12)


def network_in_torch(torch):
    w1 = torch.tensor(np.linspace(-1.0, 1.0, 12).reshape(4, 3))
    w2 = torch.tensor([[0.5, -1.0], [1.5, 0.25], [-0.75, 1.0]], dtype=torch.float64)
    return lambda x: ((x @ w1).tanh() @ w2).softmax(-1)


def test_the_facades_forward_mode_strategies_equal_pytorchs():
    """torch.autograd.functional's strategy="forward-mode" (vectorize=True) and a hessian's
    outer_jacobian_strategy="forward-mode": the same answers as PyTorch's, now computed by forward mode."""
    torch = pytest.importorskip("torch")
    x0 = np.array([0.3, -0.8, 1.1, 0.4])
    g = lambda x: (x.tanh() * x.sum()).exp()  # noqa: E731  (PyTorch's vmap refuses a vector @ a matrix here)
    ours = ttorch.autograd.functional.jacobian(g, ttorch.tensor(x0), vectorize=True, strategy="forward-mode")
    theirs = torch.autograd.functional.jacobian(g, torch.tensor(x0), vectorize=True, strategy="forward-mode")
    np.testing.assert_allclose(ours.numbers, theirs.detach().numpy(), rtol=1e-12)
    f = lambda x: (x.tanh() * x.sum()).sum()  # noqa: E731
    options = {"vectorize": True, "outer_jacobian_strategy": "forward-mode"}
    ours = ttorch.autograd.functional.hessian(f, ttorch.tensor(x0), **options)
    theirs = torch.autograd.functional.hessian(f, torch.tensor(x0), **options)
    np.testing.assert_allclose(ours.numbers, theirs.detach().numpy(), rtol=1e-12)


# ---------------------------------------------------------------- bad inputs


def test_bad_inputs_are_named():
    x = Value(np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"tangent\) for input 0 \(unnamed\) has shape \(2,\), but the input has"):
        forward.jvp(lambda x: x * 2, (x,), (np.ones(2),))
    with pytest.raises(ValueError, match="jvp: 2 tangents for 1 primals"):
        forward.jvp(lambda x: x * 2, (x,), (np.ones(3), np.ones(3)))
    with pytest.raises(TypeError, match="jvp: f must return a Value or a tuple of Values, but it returned str"):
        forward.jvp(lambda x: "x", (x,), (np.ones(3),))
    with pytest.raises(TypeError, match="output 1 of the tuple is float"):
        forward.jvp(lambda x: (x, 2.0), (x,), (np.ones(3),))
    with pytest.raises(TypeError, match="the direction of input 0"):
        forward.jvp(lambda x: x * 2, (x,), ("up",))
    out = x * 2
    with pytest.raises(ValueError, match=r"input 0 \(c, shape \(\)\) has requires_grad=False"):
        forward.tangents(out, Value(1.0, label="c", requires_grad=False), 1.0)
    with pytest.raises(TypeError, match=r"inputs\[1\] must be a Value, got ndarray"):
        forward.tangents(out, [x, np.ones(3)], [np.ones(3), np.ones(3)])
    with pytest.raises(ValueError, match="tangents: 1 directions for 2 inputs"):
        forward.tangents(out, [x, Value(1.0)], [np.ones(3)])
    with pytest.raises(ValueError, match='jacobian: mode must be "reverse" or "forward", got \'sideways\''):
        jacobian(lambda x: x, x, mode="sideways")
    with pytest.raises(ValueError, match="give mode= or strategy=, not both"):
        jacobian(lambda x: x, x, mode="forward", strategy="forward-mode")
    with pytest.raises(TypeError, match=r"primals must be a tuple .* not a list: primals=\(np.array\(\[1.0, 2.0"):
        forward.jvp(lambda x: x * 2, [1.0, 2.0], [1.0, 0.0])  # one vector, or two numbers? (torch.func refuses too)


def test_a_graph_that_cannot_carry_tangents_says_why():
    x, y = Value(2.0), Value(3.0, requires_grad=False)
    power = x**y  # recorded keeping no derivative for y
    y.requires_grad = True
    with pytest.raises(ValueError, match=r"pow: its input 1 \(unnamed, shape \(\)\) needed no gradient when the graph"):
        forward.tangents(power, [x, y], [1.0, 1.0])
    with no_grad():
        untracked = x * 3.0
    with pytest.raises(ValueError, match=r"output 0 \(unnamed\) was computed inside no_grad\(\)"):
        forward.tangents(untracked, [x], [1.0])
    constant = Value(5.0, requires_grad=False) * 2.0  # depends on no input: its tangent is 0, no error
    assert constant not in forward.tangents(constant, [x], [1.0])
    assert forward.jvp(lambda x: Value(5.0, requires_grad=False) * 2.0, (2.0,), (1.0,))[1].data == 0.0


def test_an_input_the_outputs_do_not_use_moves_nothing():
    x, unused = Value(np.array([1.0, 2.0])), Value(3.0)
    out = x * x
    found = forward.tangents(out, [x, unused], [np.ones(2), 1.0])
    np.testing.assert_array_equal(found[out], [2.0, 4.0])
    assert unused in found and len(found) == 3  # the inputs, and the one node
    jx, junused = jacobian(lambda a, b: a * a, (x, unused), mode="forward")
    np.testing.assert_array_equal(jx.numbers, np.diag([2.0, 4.0]))
    assert junused.shape == (2,) and not junused.numbers.any()


def test_the_forward_trace_shows_each_tangent_contribution_beside_the_backward_trace():
    """The neuron tanh(x1 w1 + x2 w2 + b): moving w1 alone, the forward table's last tangent is do/dw1, which is the
    gradient the backward table gives w1; a row per input that carries a tangent, local d times tangent each."""
    from tinygrad_edu.trace import trace_backward, trace_forward

    x1, x2, w1, w2 = Value(2.0, label="x1"), Value(0.0, label="x2"), Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = "o"
    ahead = trace_forward(o, [w1], [1.0])
    assert [(r.op, r.input.label or "") for r in ahead.rows][0] == ("mul", "w1")
    assert len(ahead.rows) == 4  # w1's path only: mul, add, add, tanh
    for r in ahead.rows:
        assert r.contribution == pytest.approx(r.local * r.tangent_in, rel=1e-15)
    back = trace_backward(o)
    assert ahead.tangents[o] == pytest.approx(back.gradients[w1], rel=1e-14)
    text = str(ahead)
    assert text.splitlines()[0].split() == ["step", "node", "op", "input", "input's", "tangent", "local", "d",
                                            "contribution", "tangent", "so", "far"]  # fmt: skip
    assert "<table" in ahead._repr_html_() and "tanh" in text
    x = Value(3.0, label="x")
    twice = trace_forward(x / x, [x], [1.0])  # one input used twice: each use has its own local derivative
    assert [r.local for r in twice.rows] == pytest.approx([1 / 3, -1 / 3], rel=1e-15)
    assert twice.rows[-1].total == 0.0


# ---------------------------------------------------------------- the facade's torch.func


def same_nested(ours, theirs, path="answer"):
    """Our nested tuples of tensors equal PyTorch's: the same nesting, shapes, numbers and requires_grad."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs), path
        for k, (a, b) in enumerate(zip(ours, theirs)):
            same_nested(a, b, f"{path}[{k}]")
        return
    assert isinstance(ours, ttorch.Tensor) and ours.shape == tuple(theirs.shape), path
    np.testing.assert_allclose(np.asarray(ours.numbers), theirs.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=path)
    assert ours.requires_grad == theirs.requires_grad, path


@pytest.mark.parametrize("argnums", [0, 1, (0, 1)], ids=["argnums 0", "argnums 1", "argnums (0, 1)"])
@pytest.mark.parametrize("name", ["jacfwd", "jacrev", "hessian"])
def test_the_facades_torch_func_answers_as_pytorchs(name, argnums):
    torch = pytest.importorskip("torch")
    x0, y0 = np.array([0.3, -0.8, 1.1]), np.array([0.6, 0.2, -1.4])
    scalar = lambda x, y: (x.tanh() * y).sum() * x.sum()  # noqa: E731
    both = lambda x, y: ((x * y).exp(), (x.sin() * y).sum())  # noqa: E731
    for fn in (scalar,) if name == "hessian" else (scalar, both):
        ours = getattr(ttorch.func, name)(fn, argnums)(ttorch.tensor(x0), ttorch.tensor(y0))
        theirs = getattr(torch.func, name)(fn, argnums)(torch.tensor(x0), torch.tensor(y0))
        same_nested(ours, theirs)


def test_the_facades_torch_func_jvp_and_has_aux():
    torch = pytest.importorskip("torch")
    x0, t0 = np.array([0.3, -0.8, 1.1]), np.array([1.0, 0.5, -2.0])
    fn = lambda x: (x.sin() * x.sum(), x.cos())  # noqa: E731  (an output, and an aux output)
    ours = ttorch.func.jvp(fn, (ttorch.tensor(x0),), (ttorch.tensor(t0),), has_aux=True)
    theirs = torch.func.jvp(fn, (torch.tensor(x0),), (torch.tensor(t0),), has_aux=True)
    same_nested(ours, theirs)
    same_nested(
        ttorch.func.jacfwd(fn, has_aux=True)(ttorch.tensor(x0)), torch.func.jacfwd(fn, has_aux=True)(torch.tensor(x0))
    )
    with pytest.raises(RuntimeError, match="Expected primals to be a tuple"):
        ttorch.func.jvp(fn, ttorch.tensor(x0), (ttorch.tensor(t0),))
    with pytest.raises(RuntimeError, match="Got argnum=2, but only 1 positional inputs"):
        ttorch.func.jacfwd(fn, argnums=2)(ttorch.tensor(x0))
