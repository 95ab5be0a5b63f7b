"""compile(fn): the compiled step gives the eager engine's loss and gradients (to 1e-12), for every op
of the op table, random multi-op graphs, reused nodes, broadcasting, scalar and tensor graphs; it
follows optimizers that update in place or assign new arrays, traces again for a new shape,
catches a frozen branch with check_every, and its source is the code that runs."""

import math
import types
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu
from tests.op_table import CASES
from tinygrad_edu import Value, compile, data, losses, nn, no_grad, optim
from tinygrad_edu import functional as F
from tinygrad_edu.compiler import CompileWarning


def _eager_and_compiled(make_loss, leaves, calls=3, update=None):
    """Run the same steps eagerly and compiled on two copies of the leaves; return both histories."""
    mine = [Value(np.array(v.data) if v.shape else v.data, requires_grad=v.requires_grad) for v in leaves]
    step = compile(lambda: make_loss(*mine))
    history = []
    for k in range(calls):
        for v in leaves + mine:
            v.zero_grad()
        eager = make_loss(*leaves)
        eager.backward()
        got = step()
        history.append((eager.data, got.data, [v.grad for v in leaves], [v.grad for v in mine]))
        if update is not None:
            update(leaves, k)
            update(mine, k)
    return step, history


def _assert_same(history):
    for k, (eager_loss, loss, eager_grads, grads) in enumerate(history):
        np.testing.assert_allclose(loss, eager_loss, rtol=1e-12, atol=1e-12, err_msg=f"call {k}: loss")
        for i, (a, b) in enumerate(zip(grads, eager_grads)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=f"call {k}: gradient of leaf {i}")


def _nudge(leaves, k):
    """An optimizer's step: some leaves changed in place, others given new arrays."""
    for i, v in enumerate(leaves):
        if not v.requires_grad:
            continue
        if v.data.__class__ is float:
            v.data = v.data - 0.01 * v.grad
        elif i % 2:
            v.data -= 0.01 * v.grad
        else:
            v.data = v.data - 0.01 * v.grad


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_case_of_the_op_table_compiles_to_the_eager_result(case):
    leaves = [Value(x) for x in case.inputs]
    out_shape = case.ours(*leaves).shape
    w = np.random.default_rng(0).normal(size=out_shape)
    weight = float(w) if out_shape == () else w

    def make_loss(*xs):
        return (case.ours(*xs) * weight).sum()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        step, history = _eager_and_compiled(make_loss, leaves, update=_nudge)
    _assert_same(history)
    compiled = step.latest.step is not None
    if case.id == "where_compare":  # x > 0 of a parameter: a mask that changes with it, which a trace would freeze
        assert not compiled and "comparison (greater) of a value" in str(caught[0].message)
    elif case.id == "dropout_seeded":  # a mask is random numbers, new on every call: eager (its generator then
        assert not compiled and "a dropout mask" in str(caught[0].message)  # draws once per step, as eager's)
    else:
        assert compiled and not [w for w in caught if w.category is CompileWarning]


# ---------------------------------------------------------------- random multi-op graphs

UNARY = [
    lambda x: x.tanh(),
    lambda x: x.sigmoid(),
    lambda x: x.relu(),
    lambda x: -x,
    lambda x: x * x,
    lambda x: (x * x + 1.0).log(),
    lambda x: (x * x + 0.5).sqrt(),
    lambda x: x.exp() * 0.1,
    lambda x: abs(x),
    lambda x: x.gelu(),
    lambda x: x.softplus(),
    lambda x: x.leaky_relu(0.1),
    lambda x: x.clip(-0.5, 0.5),
    lambda x: x**3,
    lambda x: 1.0 / (x * x + 1.0),
]
BINARY = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a * b,
    lambda a, b: a / (b * b + 1.0),
    lambda a, b: F.where(np.arange(math.prod(a.shape)).reshape(a.shape) % 2 == 0, a, b) if a.ndim else a * b,
]
REDUCE = [
    lambda x: x.sum(axis=0, keepdims=True),
    lambda x: x.mean(axis=-1, keepdims=True),
    lambda x: x.max(axis=0, keepdims=True),
    lambda x: x.softmax(axis=-1),
    lambda x: x.log_softmax(axis=0),
]


def _program(steps):
    def make_loss(*leaves):
        nodes = list(leaves)
        for kind, i, j, k in steps:
            a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
            if kind == 0:
                nodes.append(UNARY[k % len(UNARY)](a))
            elif kind == 1:
                nodes.append(BINARY[k % len(BINARY)](a, b))
            else:
                nodes.append(REDUCE[k % len(REDUCE)](a) if a.ndim == 2 else a.tanh())
        return sum((n * (0.3 + 0.1 * m)).sum() for m, n in enumerate(nodes))

    return make_loss


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 50), st.integers(0, 50), st.integers(0, 50)),
        min_size=1,
        max_size=25,
    ),
    seed=st.integers(0, 2**16),
)
def test_random_graphs_compile_to_the_eager_result(steps, seed):
    rng = np.random.default_rng(seed)
    leaves = [
        Value(rng.normal(size=(3, 4))),
        Value(rng.normal(size=(4,))),
        Value(rng.normal(size=(3, 1))),
        Value(float(rng.normal())),
        Value(rng.normal(size=(3, 4)), requires_grad=False),
    ]
    _check_program(steps, leaves)


def _check_program(steps, leaves):
    """The program compiles (no CompileWarning) and follows the eager engine over three updated calls."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        _, history = _eager_and_compiled(_program(steps), leaves, update=_nudge)
    _assert_same(history)


@settings(max_examples=30, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 1), st.integers(0, 50), st.integers(0, 50), st.integers(0, 50)),
        min_size=1,
        max_size=30,
    ),
    seed=st.integers(0, 2**16),
)
def test_random_scalar_graphs_compile_to_the_eager_result(steps, seed):
    rng = np.random.default_rng(seed)
    leaves = [Value(float(v)) for v in rng.normal(size=4)] + [Value(0.7, requires_grad=False)]
    _check_program(steps, leaves)


# ---------------------------------------------------------------- training loops, both granularities


@pytest.mark.parametrize("granularity", ["scalar", "tensor"])
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_training_compiled_follows_training_eager(granularity, optimizer):
    X, y = data.xor()
    models = [nn.MLP(2, [4, 1], activation="tanh", granularity=granularity, seed=3) for _ in range(2)]
    opts = [getattr(optim, optimizer)(m.parameters(), lr=0.05) for m in models]

    def loss_of(model):
        if granularity == "scalar":
            scores = [model(list(map(Value, row))) for row in X]
            return sum((s - t) ** 2 for s, t in zip(scores, y)) * (1.0 / len(y))
        return losses.mse(model(X), y)

    step = compile(lambda: loss_of(models[1]))
    for _ in range(30):
        opts[0].zero_grad()
        eager = loss_of(models[0])
        eager.backward()
        opts[0].step()
        opts[1].zero_grad()
        loss = step()
        opts[1].step()
        assert loss.data == pytest.approx(eager.data, rel=1e-12, abs=1e-14)
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-13)


def test_the_issue_loop_with_array_arguments_and_minibatches_of_labels():
    """The arguments are numpy arrays that fn turns into Values and labels: they follow each call's batch."""
    X, y = data.digits()
    X = X / 16.0
    models = [nn.MLP(64, [16, 10], activation="relu", init="he", seed=0) for _ in range(2)]
    opts = [optim.SGD(m.parameters(), lr=0.1) for m in models]
    step = compile(lambda xb, yb: losses.cross_entropy(models[1](xb), yb))
    for start in range(0, 160, 32):
        xb, yb = X[start : start + 32], y[start : start + 32]
        opts[0].zero_grad()
        eager = losses.cross_entropy(models[0](xb), yb)
        eager.backward()
        opts[0].step()
        opts[1].zero_grad()
        loss = step(xb, yb)
        opts[1].step()
        assert loss.data == pytest.approx(eager.data, rel=1e-12)
    assert sum(len(t) for t in step.traces.values()) == 1  # one trace served every batch
    assert "_labels = A[1]  # cross_entropy" in step.source  # the labels are read from the argument


def test_a_new_shape_gives_a_new_trace_and_the_old_one_is_kept():
    w = Value(np.array([0.5, -1.0]))
    step = compile(lambda x: ((x @ w).tanh() ** 2).sum())
    for batch in (np.ones((4, 2)), np.ones((7, 2)) * 0.3, np.ones((4, 2)) * 2.0):
        w.zero_grad()
        loss = step(Value(batch, requires_grad=False))
        expected = ((batch @ w.data) ** 0 * np.tanh(batch @ w.data) ** 2).sum()
        assert loss.data == pytest.approx(expected, rel=1e-12)
    assert len(step.traces) == 2


def test_an_argument_read_only_as_numbers_is_compared_and_traced_again_when_it_changes():
    w = Value(np.array([1.0, 2.0]))
    step = compile(lambda lr: (w * lr).sum())
    assert step(2.0).data == 6.0
    assert step(3.0).data == 9.0  # a new lr: a new trace, not the frozen 2.0
    assert step(2.0).data == 6.0
    np.testing.assert_allclose(w.grad, [7.0, 7.0])


# ---------------------------------------------------------------- modes, checks, errors


def test_check_every_catches_a_branch_frozen_at_trace_time():
    w = Value(np.array([1.0, -2.0]))
    state = types.ModuleType("state")  # a module's attributes: state no trace watches (a dict or an object's
    state.double = True  # would be: a change traces again)

    def loss(x):
        return (w * x * 2.0).sum() if state.double else (w * x * 3.0).sum()

    step = compile(loss, check_every=1)
    step(Value(np.array([1.0, 1.0]), requires_grad=False))
    step(Value(np.array([2.0, 1.0]), requires_grad=False))  # the same branch: agrees
    before = np.array(w.grad)
    state.double = False
    with pytest.raises(RuntimeError, match=r"at call 3 the compiled step differs from the eager one \(loss"):
        step(Value(np.array([-1.0, -1.0]), requires_grad=False))
    np.testing.assert_allclose(w.grad, before)  # nothing half-added


def test_under_no_grad_only_the_forward_runs():
    w = Value(np.array([1.0, 2.0]))
    step = compile(lambda: (w * w).sum())
    step()
    w.zero_grad()
    with no_grad():
        assert step().data == 5.0
    assert w._grad is None


def test_detect_anomaly_runs_the_eager_engine_with_its_report():
    x = Value(np.array([1.0, 0.0]))
    step = compile(lambda: (x.log() * 2.0).sum())
    with np.errstate(all="ignore"):  # log(0) = -inf, outside detect_anomaly: allowed
        step()
    with np.errstate(all="ignore"), tinygrad_edu.detect_anomaly(), pytest.raises(FloatingPointError, match="log"):
        step()


def test_python_math_that_raises_falls_back_to_the_eager_engine():
    """math.log(0) raises where numpy (and the eager engine) gives -inf."""
    x = Value(1.0)
    step = compile(lambda: x.log() * 2.0)
    step()
    x.data = 0.0
    x.zero_grad()
    with np.errstate(all="ignore"):
        assert step().data == -math.inf
    assert x.grad == math.inf


def test_compile_refuses_what_it_cannot_compile():
    with pytest.raises(TypeError, match="needs a function"):
        compile(3)
    with pytest.raises(ValueError, match="check_every"):
        compile(lambda: None, check_every=0)
    with pytest.raises(TypeError, match="one-element Value"):
        compile(lambda: Value(np.ones(3)) * 2.0)()
    with pytest.raises(RuntimeError, match="nothing compiled yet"):
        _ = compile(lambda: None).source


# ---------------------------------------------------------------- the source


def test_the_source_is_the_code_that_runs():
    X, y = data.xor()
    model = nn.MLP(2, [3, 1], seed=0)
    step = compile(lambda X, y: losses.mse(model(X), y))
    step(X, y)
    trace = step.latest
    import linecache

    assert "".join(linecache.getlines(trace.step.__code__.co_filename)) == step.source
    namespace = {k: v for k, v in trace.step.__globals__.items() if k not in ("step", "forward")}
    exec(step.source, namespace)  # the text again, on its own
    model.zero_grad()
    loss = namespace["step"](trace.persistent, (X, y))
    grads = [np.array(p.grad) for p in model.parameters()]
    model.zero_grad()
    assert step(X, y).data == loss
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad, g)
    for text in (
        "layers_0_W = P[",  # the label, as print_graph, the trace table and the pictures name it
        "# layers.0.W: needs a gradient",
        "g_layers_1_b = np.add.reduce(",
        "summed over the broadcast axes",
        "# tanh: d",
        "= 1 - ",
        ".accumulate_grad(g_layers_0_W)",
    ):
        assert text in step.source, text


def test_a_reused_node_sums_its_gradients_visibly():
    x = Value(np.array([0.5, 1.5]), label="x")
    step = compile(lambda: (x * x + x).sum())
    step()
    assert "g_x = g_x + " in step.source and "contributions add up" in step.source


def test_labels_out_of_range_are_refused_as_cross_entropy_refuses_them():
    X, y = data.digits()
    X, y = X[:16] / 16.0, y[:16]
    model = nn.MLP(64, [10], seed=0)
    step = compile(lambda xb, yb: losses.cross_entropy(model(xb), yb))
    step(X, y)
    step(X, y[::-1].copy())  # new labels: read from the argument
    before = [np.array(p.grad) for p in model.parameters()]
    for wrong in (-1, 10):
        labels = y.copy()
        labels[3] = wrong
        with pytest.raises(ValueError, match=r"labels must be in 0\.\.9"):
            step(X, labels)
    for p, g in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.grad, g)  # nothing added by the refused calls


def test_arguments_of_another_dtype_are_converted_as_fn_converts_them():
    X, y = data.digits()
    X, y = X[:16].astype(np.int64), y[:16].astype(np.int32)  # int pixels, int32 labels: fn makes float64, int64
    models = [nn.MLP(64, [10], seed=0) for _ in range(2)]
    step = compile(lambda xb, yb: losses.cross_entropy(models[1](xb), yb))
    for batch in (slice(0, 8), slice(8, 16)):
        eager = losses.cross_entropy(models[0](X[batch]), y[batch])
        eager.backward()
        assert step(X[batch], y[batch]).data == pytest.approx(eager.data, rel=1e-12)
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-12)
    assert "np.asarray(A[1], dtype=np.int64)" in step.source and "np.asarray(A[0], dtype=np.float64)" in step.source
