"""compile is exact or loud (issue #20, items 1-6): arguments are followed by identity, never guessed from
their numbers; whatever fn does with an argument or a node's numbers that a trace cannot follow makes the
step run eagerly with a CompileWarning naming it; every check eager makes on a call, a compiled call makes too.

Each test is a case that gave wrong numbers without a word before (the numbers in the docstrings)."""

import functools
import warnings

import numpy as np
import pytest

from tinygrad_edu import Value, compile, losses, nn, no_grad
from tinygrad_edu import functional as F
from tinygrad_edu.compiler import CompileWarning


def _twins(make, n=2):
    return [make() for _ in range(n)]


def _run_both(fn_of_model, models, calls):
    """Call fn eagerly on models[0] and compiled on models[1] for each argument tuple; compare loss and grads."""
    step = compile(functools.partial(fn_of_model, models[1]))
    for k, args in enumerate(calls):
        for m in models:
            m.zero_grad()
        eager = fn_of_model(models[0], *args)
        eager.backward()
        got = step(*args)
        assert got.data == pytest.approx(eager.data, rel=1e-12, abs=1e-14), f"call {k}: loss"
        for a, b in zip(models[0].parameters(), models[1].parameters()):
            np.testing.assert_allclose(b.grad, a.grad, rtol=1e-11, atol=1e-14, err_msg=f"call {k}")
    return step


def _traces(step) -> int:
    return sum(len(t) for t in step.traces.values())


def test_item1_two_arguments_equal_at_trace_time_stay_two_arguments():
    """step(X, X.copy()) then step(X2, T2) returned 0.448 where eager gives 0.889."""
    rng = np.random.default_rng(0)
    X, X2, T2 = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    models = _twins(lambda: nn.MLP(3, [4, 3], seed=1))
    step = _run_both(lambda m, x, t: losses.mse(m(x), t), models, [(X, X.copy()), (X2, T2), (X2, X2)])
    assert _traces(step) == 1


def test_item2_an_index_built_from_an_argument_follows_it():
    """-log_softmax(...)[np.arange(len(y)), y].mean() kept the first call's labels forever."""
    rng = np.random.default_rng(1)
    models = _twins(lambda: nn.MLP(4, [5, 3], seed=2))
    calls = [(rng.normal(size=(6, 4)), rng.integers(0, 3, size=6)) for _ in range(4)]
    step = _run_both(lambda m, x, y: -m(x).log_softmax(1)[np.arange(len(y)), y].mean(), models, calls)
    assert _traces(step) == 1
    assert "A[1]" in step.source  # the labels are read from the argument on every call


def test_item2_an_argument_value_indexed_with_an_integer_array():
    """X[:, r] on an argument Value (the im2col idiom) returned the first call's loss (3.76 off on 5x3)."""
    rng = np.random.default_rng(2)
    w = Value(rng.normal(size=(4,)))
    r = np.array([0, 2, 1, 2])
    step = compile(lambda X: ((X[:, r] * w).sum(axis=1) ** 2).mean())
    for _ in range(3):
        X = Value(rng.normal(size=(5, 3)), requires_grad=False)
        w.zero_grad()
        expected = ((X.data[:, r] @ w.data) ** 2).mean()
        g_expected = 2 * ((X.data[:, r] @ w.data)[:, None] * X.data[:, r]).mean(axis=0)
        assert step(X).data == pytest.approx(expected, rel=1e-12)
        np.testing.assert_allclose(w.grad, g_expected, rtol=1e-12)


def test_item2_an_index_argument_on_a_value_argument():
    rng = np.random.default_rng(3)
    w = Value(rng.normal(size=(3,)))
    step = compile(lambda X, cols: (X[:, cols] * w).sum() ** 2)
    for _ in range(3):
        X, cols = rng.normal(size=(4, 5)), rng.integers(0, 5, size=3)
        w.zero_grad()
        eager_w = Value(np.array(w.data))
        eager = (Value(X, requires_grad=False)[:, cols] * eager_w).sum() ** 2
        eager.backward()
        assert step(Value(X, requires_grad=False), cols).data == pytest.approx(eager.data, rel=1e-12)
        np.testing.assert_allclose(w.grad, eager_w.grad, rtol=1e-12)
    assert _traces(step) == 1


@pytest.mark.parametrize("loss", ["mse", "bce", "bce_with_logits", "hinge"])
def test_item3_one_row_batches_and_rows_all_equal_use_one_trace(loss):
    """Online SGD (one row per call), rows all equal and bce's 1 - t traced again each call; the 9th raised."""
    rng = np.random.default_rng(4)
    models = _twins(lambda: nn.MLP(2, [3, 1], out_activation="sigmoid" if loss == "bce" else None, seed=3))
    fn = losses.get(loss)
    calls = []
    for k in range(12):
        x = rng.normal(size=(1, 2)) if k % 3 else np.ones((1, 2))
        t = rng.integers(0, 2, size=(1, 1)).astype(float)
        calls.append((x, 2 * t - 1 if loss == "hinge" else t))
    calls += [(np.full((1, 2), 0.5), calls[0][1])] * 2  # rows all equal, and a repeat
    step = _run_both(lambda m, x, t: fn(m(x), t), models, calls)
    assert _traces(step) == 1


def test_item3_scalar_lists_that_change_every_call_run_eagerly_with_a_warning_not_an_error():
    """Python lists are compared by value; after 8 different ones the step says so and runs eagerly."""
    models = _twins(lambda: nn.MLP(2, [3, 1], granularity="scalar", seed=5))
    rng = np.random.default_rng(5)
    calls = [(rng.normal(size=2).tolist(), float(rng.normal())) for _ in range(12)]
    with pytest.warns(CompileWarning, match=r"argument x, t \(Python numbers.*changed 8 times"):
        _run_both(lambda m, x, t: (m(x) - t) ** 2, models, calls)


BAD_TARGETS = [
    ("mse", lambda t: np.where(np.arange(t.size).reshape(t.shape) == 1, np.nan, t), r"mse: targets hold nan or inf"),
    ("mse", lambda t: t + np.inf, r"mse: targets hold nan or inf"),
    ("bce_with_logits", lambda t: t + 3.0, r"bce_with_logits needs targets in \[0, 1\]"),
    ("bce", lambda t: t - 2.0, r"bce needs targets in \[0, 1\]"),
    ("hinge", lambda t: t * 0.3, r"hinge needs labels -1 or \+1"),
]


@pytest.mark.parametrize("loss, spoil, message", BAD_TARGETS, ids=[f"{b[0]}-{k}" for k, b in enumerate(BAD_TARGETS)])
def test_item4_a_compiled_call_makes_the_checks_eager_makes(loss, spoil, message):
    """nan targets wrote nan into .grad; targets of 3.0, hinge labels of 0.3 were accepted after a good trace."""
    rng = np.random.default_rng(6)
    model = nn.MLP(3, [4, 2], out_activation="sigmoid" if loss == "bce" else None, seed=4)
    fn = losses.get(loss)
    step = compile(lambda x, t: fn(model(x), t))
    good = rng.integers(0, 2, size=(5, 2)).astype(float)
    good = 2 * good - 1 if loss == "hinge" else good
    x = rng.normal(size=(5, 3))
    step(x, good)
    step(x, good[::-1].copy())
    before = [np.array(p.grad) for p in model.parameters()]
    with pytest.raises(ValueError, match=message):
        fn(model(x), spoil(good))  # eager's message ...
    with pytest.raises(ValueError, match=message):
        step(x, spoil(good))  # ... is the compiled step's
    for p, g in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.grad, g)  # and nothing was added into .grad


def test_item4_fractional_cross_entropy_labels_are_refused_not_truncated():
    model = nn.MLP(3, [4], seed=6)
    step = compile(lambda x, y: F.cross_entropy(model(x), y))
    x = np.random.default_rng(7).normal(size=(3, 3))
    step(x, np.array([0.0, 1.0, 3.0]))
    step(x, np.array([2.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match="cross_entropy needs integer class labels"):
        step(x, np.array([0.0, 1.5, 3.0]))
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.3, got -1\.\.3"):
        step(x, np.array([-1.0, 1.0, 3.0]))


def test_item4_bce_checks_the_probabilities_of_every_call():
    w = Value(np.array([0.5, 0.2]))
    step = compile(lambda x, t: losses.bce(x @ w, t))
    t = np.array([1.0, 0.0])
    step(np.array([[0.5, 0.5], [0.2, 0.1]]), t)
    with pytest.raises(ValueError, match=r"bce needs probabilities in \[0, 1\]"):
        step(np.array([[5.0, 5.0], [0.2, 0.1]]), t)


def test_item5_a_parameter_replaced_after_the_trace_is_used():
    """model.layers[0].w = Value(...) was not seen: the step kept reading and updating the old Value."""
    rng = np.random.default_rng(8)
    models = _twins(lambda: nn.MLP(3, [4, 2], seed=7))
    step = compile(lambda x: (models[1](x) ** 2).mean())
    x = rng.normal(size=(5, 3))
    step(x)
    new = rng.normal(size=(3, 4))
    for m in models:
        m.layers[0].w = Value(np.array(new), label="W")
        m.zero_grad()
    eager = (models[0](x) ** 2).mean()
    eager.backward()
    assert step(x).data == pytest.approx(eager.data, rel=1e-12)
    np.testing.assert_allclose(models[1].layers[0].w.grad, models[0].layers[0].w.grad, rtol=1e-12)


def test_item5_a_global_or_closed_over_value_replaced_is_used():
    w = Value(np.array([1.0, 2.0]))
    step = compile(lambda x: (w * x).sum())
    step(np.array([1.0, 1.0]))
    old = w
    w = Value(np.array([3.0, 4.0]))  # noqa: F841 (the closure reads the new one)
    assert step(np.array([1.0, 1.0])).data == 7.0
    np.testing.assert_array_equal(old.grad, [1.0, 1.0])  # the first call's only


NUMPY_ON_ARGUMENTS = {
    "np.asarray(T) * 2": lambda m, X, T: losses.mse(m(X), np.asarray(T) * 2),
    "if T.sum() > 0": lambda m, X, T: losses.mse(m(X), T) if T.sum() > 0 else losses.mse(m(X), -T),
    "float(T[0, 0])": lambda m, X, T: losses.mse(m(X), T) * float(T[0, 0]),
    "T[[1, 0, 2, 3]]": lambda m, X, T: losses.mse(m(X), T[[1, 0, 2, 3]]),
    "T - mean": lambda m, X, T: losses.mse(m(X), T - np.ones((4, 2))),
}
FOLLOWED_NUMPY = {  # numpy on an argument that the compiled step can redo: it compiles, and reads T anew
    "1 - T": lambda m, X, T: losses.mse(m(X), 1 - T),
    "T.astype(np.float32)": lambda m, X, T: losses.mse(m(X), T.astype(np.float32)),
    "T[::-1]": lambda m, X, T: losses.mse(m(X), T[::-1]),
    "X / 255.0, T.T.T": lambda m, X, T: losses.mse(m(X / 255.0 * 100), T.T.T),
    "np.tanh(X), T.reshape(-1)[:, None]": lambda m, X, T: losses.mse(m(np.tanh(X)), T.reshape(-1)[:, None] * 2),
    "X[:, :2] ** 2": lambda m, X, T: losses.mse(m(X[:, :2] ** 2), T),
}


@pytest.mark.parametrize("what", FOLLOWED_NUMPY)
def test_numpy_an_argument_the_step_can_redo_compiles_and_follows_it(what):
    rng = np.random.default_rng(12)
    models = _twins(lambda: nn.MLP(2, [3, 1 if "reshape" in what else 2], seed=8))
    calls = [(rng.normal(size=(4, 2)), rng.normal(size=(4, 1 if "reshape" in what else 2))) for _ in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        step = _run_both(lambda m, X, T: FOLLOWED_NUMPY[what](m, X, T), models, calls)
    assert _traces(step) == 1 and "A[1]" in step.source


@pytest.mark.parametrize("what", NUMPY_ON_ARGUMENTS)
def test_numpy_on_an_argument_runs_eagerly_with_a_warning_naming_it(what):
    rng = np.random.default_rng(9)
    models = _twins(lambda: nn.MLP(2, [3, 2], seed=8))
    calls = [(rng.normal(size=(4, 2)), rng.normal(size=(4, 2))) for _ in range(3)]
    with pytest.warns(CompileWarning, match=r"the argument T"):
        step = _run_both(lambda m, X, T: NUMPY_ON_ARGUMENTS[what](m, X, T), models, calls)
    assert step.source.startswith("# not compiled")


def test_shape_and_length_of_an_argument_may_be_read():
    rng = np.random.default_rng(10)
    models = _twins(lambda: nn.MLP(2, [3], seed=9))
    calls = [(rng.normal(size=(4, 2)), rng.integers(0, 3, size=4)) for _ in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step = _run_both(
            lambda m, X, y: F.cross_entropy(m(X), y) * (len(y) / X.shape[0]) + 0 * np.ones_like(X).size, models, calls
        )
    assert _traces(step) == 1 and not step.source.startswith("# not compiled")


def test_a_value_argument_used_as_targets_is_read_on_every_call():
    rng = np.random.default_rng(11)
    models = _twins(lambda: nn.MLP(2, [2], seed=10))
    calls = [(rng.normal(size=(3, 2)), Value(rng.normal(size=(3, 2)), requires_grad=False)) for _ in range(3)]
    step = _run_both(lambda m, X, T: losses.mse(m(X), T), models, calls)
    assert _traces(step) == 1


def test_a_list_argument_changed_in_place_is_seen():
    w = Value(np.array([1.0, 2.0]))
    step = compile(lambda x: (w * Value(x, requires_grad=False)).sum())
    x = [1.0, 1.0]
    assert step(x).data == 3.0
    x[0] = 5.0  # the same list object, new numbers: compared by value, so traced again
    assert step(x).data == 7.0


def test_item6_a_branch_on_data_runs_eagerly_with_a_warning():
    """f(2.0) then f(-2.0) returned 4.0 (eager: 2.0): the .data branch was frozen without a word."""
    w = Value(1.0)

    def f(x):
        return (w * x) * (w * x) if (w * x).data > 0 else -(w * x)

    step = compile(f)
    with pytest.warns(CompileWarning, match=r"fn reads \.data of a value of shape \(\)"):
        assert step(2.0).data == 4.0
    assert step(-2.0).data == 2.0
    assert w.grad == 8.0 + 2.0  # 2 w x^2 at x = 2, then -x at x = -2


def test_item6_data_of_a_parameter_or_an_argument_value_read_in_fn_runs_eagerly():
    w = Value(np.array([1.0, 2.0]))
    step = compile(lambda X: (w * float(np.abs(w.data).sum())).sum() + (X * 0.0).sum())
    with pytest.warns(CompileWarning, match=r"fn reads \.data of a value of shape \(2,\)"):
        step(Value(np.ones(2), requires_grad=False))
    w.data = np.array([3.0, 4.0])
    assert step(Value(np.ones(2), requires_grad=False)).data == 49.0  # (3 + 4) * 7, not frozen at 3
    step2 = compile(lambda X: (w * X.data.sum()).sum())
    with pytest.warns(CompileWarning, match=r"fn reads \.data of a value of shape \(2,\)"):
        step2(Value(np.ones(2), requires_grad=False))
    assert step2(Value(np.full(2, 2.0), requires_grad=False)).data == 28.0


def test_item8_a_compiled_step_and_an_optimizer_step_are_quiet():
    """nan and inf propagate quietly from a compiled step and an optimizer step, as from the eager engine."""
    from tinygrad_edu import optim

    w = Value(np.array([1.0, -2.0]))
    step = compile(lambda x: (w * x).log().sum())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step(np.array([1.0, 1.0]))
        assert np.isnan(step(np.array([1.0, 1.0])).data)  # log of -2: nan, no RuntimeWarning
        np.testing.assert_allclose(w.grad, [2.0, -1.0])
        opt = optim.SGD([w], lr=1e308)
        w.grad = np.array([np.inf, 1e308])
        opt.step()
        opt.step()
    assert np.all(np.isneginf(w.data))


def test_value_gelu_takes_pytorchs_approximate():
    x = Value(np.array([-1.0, 0.5, 2.0]))
    np.testing.assert_allclose(x.gelu("tanh").data, F.gelu(x, approximate="tanh").data, rtol=1e-15)
    assert not np.allclose(x.gelu().data, x.gelu("tanh").data, rtol=1e-6, atol=0)
    with pytest.raises(ValueError, match="approximate must be 'none' \\(exact\\) or 'tanh', got 'bad'"):
        x.gelu("bad")


# ---------------------------------------------------------------- found by a review of the change: each was silently
# wrong (or needlessly eager) before its fix


def _loud_or_exact(fn, calls, params):
    """Each call compiled equals the eager call (loss and every .grad), warned or not; returns the warnings."""
    step = compile(fn)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for args in calls:
            for p in params:
                p.zero_grad()
            got = step(*args)
            grads = [np.array(p.grad) for p in params]
            for p in params:
                p.zero_grad()
            eager = fn(*args)
            eager.backward()
            assert float(got) == pytest.approx(float(eager), rel=1e-12, abs=1e-14)  # (a facade .data: a tensor)
            for p, g in zip(params, grads):
                np.testing.assert_allclose(g, p.grad, rtol=1e-12, atol=1e-14)
    return [str(c.message) for c in caught if issubclass(c.category, CompileWarning)]


def test_a_value_argument_with_a_graph_of_its_own_runs_eagerly():
    """compile(nn.MSELoss())(model(X), y) replayed the first batch's loss."""
    w = Value(np.array([1.0, 2.0]))
    messages = _loud_or_exact(lambda h: (h * h).sum(), [(w * 1.0,), (w * 3.0,)], [w])
    assert any("comes with a graph of its own" in m for m in messages)


def test_numbers_computed_under_no_grad_inside_fn_follow_the_arguments():
    """A target network's output under no_grad() was frozen: 1.0 where eager gives 41.0."""
    w = Value(np.array([1.0, 2.0]))

    def fn(x):
        with no_grad():
            t = Value(x, requires_grad=False) * 2.0
        return ((w - t) ** 2).sum()

    assert _loud_or_exact(fn, [(np.array([1.0, 1.0]),), (np.array([3.0, 3.0]),)], [w]) == []


@pytest.mark.parametrize("as_value", [True, False])
def test_a_where_mask_given_as_an_argument_is_read_on_every_call(as_value):
    w = Value(np.array([1.0, 2.0]))
    masks = [np.array([1.0, 0.0]), np.array([1.0, 1.0]), np.array([0.0, 1.0])]
    calls = [((Value(m, requires_grad=False) if as_value else m), 1.0) for m in masks]
    assert _loud_or_exact(lambda mask, x: F.where(mask, w * x, 0.0).sum(), calls, [w]) == []


@pytest.mark.parametrize("read", ["v.data[0] > 0", "math.tanh(v.data[0])", "v.data.argmax()", "sorted(v.data)"])
def test_any_read_of_data_in_fn_runs_eagerly(read):
    import math  # noqa: F401 (used by the expressions)

    v = Value(np.array([1.0, -2.0]))
    fn = {
        "v.data[0] > 0": lambda x: (v * x).sum() if v.data[0] > 0 else -(v * x).sum(),
        "math.tanh(v.data[0])": lambda x: (v * x * math.tanh(v.data[0])).sum(),
        "v.data.argmax()": lambda x: (v * x)[int(v.data.argmax())],
        "sorted(v.data)": lambda x: (v * x).sum() * sorted(v.data)[0],
    }[read]
    step = compile(fn)
    with pytest.warns(CompileWarning, match=r"fn reads \.data"):
        step(np.ones(2))
    v.data = np.array([-3.0, 4.0])
    v.zero_grad()
    assert step(np.ones(2)).data == pytest.approx(fn(np.ones(2)).data, rel=1e-12)


def test_requires_grad_changed_after_the_trace_is_seen():
    """Unfreezing a layer: it never got a .grad; a Value argument switched to requires_grad got none."""
    model = nn.MLP(2, [3, 1], seed=0)
    model.layers[0].w.requires_grad = False
    step = compile(lambda X: (model(X) ** 2).mean())
    X = np.ones((4, 2))
    step(X)
    model.layers[0].w.requires_grad = True
    model.zero_grad()
    step(X)
    assert np.abs(model.layers[0].w.grad).sum() > 0
    x = Value(np.array([1.0, 2.0]), requires_grad=False)
    w = Value(np.array([3.0, 4.0]))
    step2 = compile(lambda x: (w * x).sum())
    step2(x)
    x2 = Value(np.array([1.0, 2.0]))
    step2(x2)
    np.testing.assert_array_equal(x2.grad, [3.0, 4.0])


SCALE = 3.0


def _scaled(X):
    return X @ W_GLOBAL


W_GLOBAL = Value(np.array([[1.0], [2.0]]))


def test_names_fn_and_its_helpers_read_are_checked_on_every_call():
    """d2l's style (a global W updated by rebinding, read in a helper function) and a global number."""
    global W_GLOBAL, SCALE
    step = compile(lambda X: (_scaled(X) * SCALE).sum())
    X = np.array([[1.0, 1.0]])
    assert step(X).data == 9.0
    W_GLOBAL = Value(np.array([[3.0], [4.0]]))
    assert step(X).data == 21.0
    SCALE = 10.0
    assert step(X).data == 70.0
    np.testing.assert_array_equal(W_GLOBAL.grad, [[13.0], [13.0]])


def test_a_random_setting_drawn_inside_fn_runs_eagerly():
    w = Value(np.array([1.0, -2.0]))
    rng = np.random.default_rng(0)
    step = compile(lambda x: (w * x).leaky_relu(float(rng.uniform(0.1, 0.3))).sum())
    with pytest.warns(CompileWarning, match="random numbers"):
        step(np.ones(2))
    assert len({float(step(np.ones(2)).data) for _ in range(3)}) == 3


def test_a_list_of_values_as_an_argument_gets_its_own_gradients():
    """micrograd's inputs as Values: the gradients went into the first call's Values."""
    w = Value(2.0)
    step = compile(lambda xs: w * xs[0] * xs[0])
    x1, x2 = [Value(3.0)], [Value(3.0)]
    step(x1)
    step(x2)
    assert x1[0].grad == 12.0 and x2[0].grad == 12.0


def test_containers_of_arrays_as_arguments_are_compared_by_value():
    w = Value(np.array([1.0, 2.0]))
    step = compile(lambda batch: (w * Value(batch[0], requires_grad=False)).sum() + float(batch[1]))
    assert step((np.array([1.0, 1.0]), 1.0)).data == 4.0
    assert step((np.array([2.0, 1.0]), 0.0)).data == 4.0


def test_targets_computed_in_fn_of_an_argument_compile():
    """torch.tensor(y).view(-1, 1) as targets ran eagerly with a warning."""
    import tinygrad_edu.torch as torch

    model = torch.nn.Linear(2, 1)
    loss_fn = torch.nn.MSELoss()
    rng = np.random.default_rng(3)
    calls = [(rng.normal(size=(4, 2)), rng.normal(size=4)) for _ in range(3)]
    fn = lambda X, y: loss_fn(model(torch.tensor(X)), torch.tensor(y).view(-1, 1))  # noqa: E731
    assert _loud_or_exact(fn, calls, list(model.parameters())) == []


# ---------------------------------------------------------------- found by a second review: silently wrong before


def test_a_memory_mapped_batch_is_followed(tmp_path):
    """np.memmap (any ndarray subclass) reached fn raw and was frozen: every batch gave the first's numbers."""
    rng = np.random.default_rng(20)
    np.save(tmp_path / "X.npy", rng.normal(size=(12, 2)))
    X = np.load(tmp_path / "X.npy", mmap_mode="r")
    T = rng.normal(size=(6, 2))
    model = nn.MLP(2, [2], seed=1)
    assert _loud_or_exact(lambda X, T: losses.mse(model(X), T), [(X[:6], T), (X[6:], T)], model.parameters()) == []


class _Config:
    scale = 1.0  # a class attribute

    def __init__(self):
        self.alpha = 1.0


def test_numbers_read_through_attributes_dicts_and_class_attributes_are_checked():
    model = nn.MLP(2, [2], seed=2)
    cfg, hp = _Config(), {"l2": 0.0}
    fn = lambda X, T: losses.mse(model(X) * cfg.alpha * cfg.scale, T) + hp["l2"] * (model.layers[0].w ** 2).sum()  # noqa: E731
    X, T = np.ones((3, 2)), np.zeros((3, 2))
    step = compile(fn)
    for change in (
        lambda: None,
        lambda: setattr(cfg, "alpha", 5.0),
        lambda: hp.update(l2=0.1),
        lambda: setattr(_Config, "scale", 2.0),
    ):
        change()
        assert step(X, T).data == pytest.approx(fn(X, T).data, rel=1e-12)
    _Config.scale = 1.0


TEMPERATURE = 1.0


class _Scaled(nn.Module):
    def __init__(self):
        self.fc = nn.Layer(2, 2, seed=3)

    def forward(self, x):
        return self.fc(x) / TEMPERATURE


def test_names_read_by_methods_and_comprehensions_are_checked():
    global TEMPERATURE
    net, lam = _Scaled(), [0.0]
    fn = lambda X: (net(X) ** 2).sum() + sum(lam[0] * (p * p).sum() for p in net.parameters())  # noqa: E731
    step = compile(fn)
    X = np.ones((2, 2))
    step(X)
    TEMPERATURE, lam[0] = 4.0, 0.5
    assert step(X).data == pytest.approx(fn(X).data, rel=1e-12)
    TEMPERATURE = 1.0


def test_a_list_grown_after_the_trace_or_a_second_path_to_a_parameter_is_seen():
    model = nn.MLP(2, [2, 2], seed=4)
    params = model.parameters()
    fn = lambda X: (model(X) ** 2).sum() + 0.01 * sum((p * p).sum() for p in params)  # noqa: E731
    step = compile(fn)
    X = np.ones((3, 2))
    step(X)
    model.layers[0].w = Value(np.full((2, 2), 3.0))  # fn reaches it through model, params still holds the old one
    assert step(X).data == pytest.approx(fn(X).data, rel=1e-12)
    model.layers.append(nn.Layer(2, 2, seed=5))
    assert step(X).data == pytest.approx(fn(X).data, rel=1e-12)


def test_the_same_value_passed_twice_then_two_values():
    model = nn.MLP(2, [2], seed=6)
    fn = lambda X, T: losses.mse(model(X), T)  # noqa: E731
    V = Value(np.ones((3, 2)), requires_grad=False)
    step = compile(fn)
    step(V, V)
    A, B = Value(np.full((3, 2), 2.0), requires_grad=False), Value(np.zeros((3, 2)), requires_grad=False)
    assert step(A, B).data == pytest.approx(fn(A, B).data, rel=1e-12)


def test_a_global_list_changed_in_place_is_seen():
    """Karpathy's loop: ys[0] = -1.0 after the trace gave the old targets' loss."""
    model = nn.MLP(2, [2, 1], granularity="scalar", seed=7)
    xs, ys = [[1.0, 0.5], [0.2, -1.0]], [1.0, -1.0]
    fn = lambda: sum((model(x) - y) ** 2 for x, y in zip(xs, ys))  # noqa: E731
    step = compile(fn)
    step()
    ys[0] = -1.0
    assert step().data == pytest.approx(fn().data, rel=1e-12)


def test_numpy_scalars_keep_their_type_in_the_generated_code():
    model = nn.MLP(2, [2], seed=8)
    X = np.random.default_rng(9).normal(size=(3, 2)).astype(np.float32)
    fn = lambda X: (model(Value(X / np.float64(0.3))) ** 2).sum()  # noqa: E731
    assert _loud_or_exact(fn, [(X,), (X * 2,)], model.parameters()) == []


def test_check_every_with_an_argument_that_needs_a_gradient():
    W = Value(np.array([[1.0], [2.0]]))
    step = compile(lambda x: (x @ W).sum(), check_every=2)
    x = Value(np.array([[1.0, 1.0]]))
    step(x)
    step(x)  # the checked call: this call's argument gets its gradient once
    np.testing.assert_array_equal(x.grad, [[2.0, 4.0]])


def test_the_facades_sum_reduction_compiles():
    import tinygrad_edu.torch as torch

    model = torch.nn.Linear(2, 1)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    rng = np.random.default_rng(10)
    calls = [(rng.normal(size=(4, 2)), rng.normal(size=(4, 1))) for _ in range(3)]
    fn = lambda X, y: loss_fn(model(torch.tensor(X)), torch.tensor(y))  # noqa: E731
    assert _loud_or_exact(fn, calls, list(model.parameters())) == []


# ---------------------------------------------------------------- found by a third review


SCALE3 = 1.0


class _Criterion:
    def __call__(self, p, t):
        return losses.mse(p * SCALE3, t)


class _Holder:
    scale = 1.0

    @property
    def factor(self):
        return SCALE3


def test_state_read_through_call_properties_class_defaults_and_other_containers_is_checked():
    global SCALE3
    import collections

    model = nn.MLP(2, [2], seed=11)
    crit, holder, dq = _Criterion(), _Holder(), collections.deque([1.0])
    fn = lambda X, T: crit(model(X) * holder.scale * holder.factor * dq[0], T)  # noqa: E731
    X, T = np.ones((3, 2)), np.zeros((3, 2))
    step = compile(fn)
    changes = [
        lambda: None,
        lambda: setattr(holder, "scale", 3.0),  # an attribute only the class had
        lambda: globals().update(SCALE3=2.0),
        lambda: dq.__setitem__(0, 4.0),
        lambda: setattr(model, "forward", lambda x, f=model.forward: f(x) * 3),
    ]  # a method replaced
    for change in changes:
        change()
        assert step(X, T).data == pytest.approx(fn(X, T).data, rel=1e-12)
    SCALE3 = 1.0


def test_no_false_alarm_from_loop_state_that_fn_does_not_read():
    """co_names held attribute names too: a global list called `losses` (tg.losses.mse in fn) or a global
    `out` retraced every call and went eager after 8."""
    import tinygrad_edu as tg
    import tinygrad_edu.data  # noqa: F401 (tg.data below)

    model = nn.MLP(2, [4, 1], seed=12)
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    out, history = None, []
    step = compile(lambda X, y: tg.losses.mse(model(X), y[:, None]))
    X, y = tg.data.xor()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        for _ in range(12):
            opt.zero_grad()
            out = step(X, y)
            history.append(out.data)
            opt.step()
    assert _traces(step) == 1 and out is not None


def test_after_eight_changes_in_a_row_the_warning_names_what_changed():
    model = nn.MLP(2, [2], seed=13)
    state = {"k": 0.0}
    step = compile(lambda X: (model(X) * state["k"]).sum())
    with pytest.warns(CompileWarning, match=r"changed on 8 calls in a row \(state\['k'\]\)"):
        for k in range(10):
            state["k"] = float(k)
            assert step(np.ones((1, 2))).data == pytest.approx((model(np.ones((1, 2))) * float(k)).sum().data)


# ---------------------------------------------------------------- found by a fourth review


class _HP:
    l2 = 1.0


def test_a_value_made_before_the_call_read_as_targets_or_mask_is_read_on_every_call():
    """A batch buffer (xb.data, yb.data = the next batch) as targets or labels, and a where mask changed in
    place, were frozen at the trace's numbers."""
    model = nn.MLP(2, [3], seed=14)
    xb, yb = Value(np.zeros((4, 2)), requires_grad=False), Value(np.zeros((4, 3)), requires_grad=False)
    lab = Value(np.array([0.0, 1.0, 2.0, 0.0]), requires_grad=False)
    mask = Value(np.array([1.0, 0.0, 1.0]), requires_grad=False)
    fn = lambda: losses.mse(model(xb), yb) + F.cross_entropy(model(xb), lab) + F.where(mask, model(xb), 0.0).sum()  # noqa: E731
    step = compile(fn)
    step()
    rng = np.random.default_rng(15)
    for _ in range(3):
        xb.data, yb.data = rng.normal(size=(4, 2)), rng.normal(size=(4, 3))
        lab.data = rng.integers(0, 3, size=4).astype(float)
        mask.data[1] = 1.0 - mask.data[1]
        model.zero_grad()
        got = step().data
        grads = [np.array(p.grad) for p in model.parameters()]
        model.zero_grad()
        eager = fn()
        eager.backward()
        assert got == pytest.approx(eager.data, rel=1e-12)
        for g, p in zip(grads, model.parameters()):
            np.testing.assert_allclose(g, p.grad, rtol=1e-12)
    lab.data = np.array([0.0, 1.0, 5.0, 0.0])
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.2"):
        step()


def test_a_class_used_as_a_namespace_is_checked_and_an_optimizer_is_not_state():
    from tinygrad_edu import optim

    model = nn.MLP(2, [2], seed=16)
    opt = optim.Adam(model.parameters(), lr=0.01)
    fn = lambda X: (model(X) * _HP.l2).sum() if opt else None  # noqa: E731 (fn mentions the optimizer)
    X = np.ones((2, 2))
    step = compile(fn)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        for _ in range(10):
            opt.zero_grad()
            step(X)
            opt.step()  # Adam's state changes on every step: no reason to trace again
    assert _traces(step) == 1
    _HP.l2 = 5.0
    assert step(X).data == pytest.approx(fn(X).data, rel=1e-12)
    _HP.l2 = 1.0


def test_an_iterator_argument_runs_eagerly_with_a_warning():
    model = nn.MLP(1, [1], granularity="scalar", seed=17)
    step = compile(lambda pairs: sum((model([x]) - y) ** 2 for x, y in pairs))
    with pytest.warns(CompileWarning, match="iterator"):
        loss = step(iter([(1.0, 2.0), (0.5, -1.0)]))
    assert loss.data == pytest.approx((model([1.0]) - 2.0).data ** 2 + (model([0.5]) + 1.0).data ** 2)
