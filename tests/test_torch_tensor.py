"""PyTorch's tensor semantics in the facade (tinygrad_edu/torch/tensor.py), each against real PyTorch where it is
installed: .grad None until a backward and only on leaves, retain_grad, .data sharing the numbers, in-place ops,
grad_fn and next_functions, hooks, backward's gradient/retain_graph/inputs, the freed graph, dtypes and printing."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_edu.torch as ours
from tinygrad_edu import Value


def _real():
    real = pytest.importorskip("torch")
    return real


def _both(program):
    """Run program(lib) on our facade and on real PyTorch (float64), returning both results."""
    real = _real()
    before = real.get_default_dtype()
    real.set_default_dtype(real.float64)
    try:
        return program(ours), program(real)
    finally:
        real.set_default_dtype(before)


def _numbers(t):
    return None if t is None else np.asarray(t.detach() if hasattr(t, "detach") else t, dtype=np.float64)


# ------------------------------------------------------------ .grad: None until a backward, only leaves keep it


def test_grad_is_none_before_backward_and_a_tensor_after():
    x = ours.tensor([1.0, 2.0], requires_grad=True)
    assert x.grad is None
    (x * x).sum().backward()
    assert isinstance(x.grad, ours.Tensor) and not x.grad.requires_grad
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_a_non_leaf_has_no_grad_with_pytorchs_warning_unless_it_retains_it():
    def program(lib):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        y, z = x * 2, x.exp()
        z.retain_grad()
        (y * z).sum().backward()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y_grad = y.grad
        return y_grad, [str(w.message)[:300] for w in caught], _numbers(z.grad), z.retains_grad, y.is_leaf

    (y_grad, said, z_grad, retains, leaf), (real_y, real_said, real_z, real_retains, real_leaf) = _both(program)
    assert y_grad is None and real_y is None
    assert len(said) == len(real_said) == 1 and real_said[0].startswith(said[0]) and "retain_grad()" in said[0]
    np.testing.assert_allclose(z_grad, real_z, rtol=1e-15)
    assert retains is real_retains is True and leaf is real_leaf is False


def test_retain_grad_on_a_constant_is_pytorchs_error():
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"):
        ours.tensor([1.0]).retain_grad()


# ------------------------------------------------------------ .data shares the numbers; in-place ops


def test_data_shares_the_numbers_so_a_manual_update_changes_the_parameter():
    w = ours.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    w.data -= 0.5 * w.grad
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0])
    assert w.requires_grad and w.is_leaf and not w.data.requires_grad and w.data.grad_fn is None


def test_a_scalars_data_and_grad_change_in_place_too():
    """A 0-d tensor holds a Python float: an in-place change on its .data or .grad is written back."""
    a = ours.tensor(3.0, requires_grad=True)
    (a * a).backward()
    a.data.add_(1.0)
    assert a.item() == 4.0
    a.grad.zero_()
    assert a.grad.item() == 0.0
    a.grad.data.fill_(5.0)
    assert a.grad.item() == 5.0


def test_zero_grad_in_place_keeps_accumulating_from_zero():
    def program(lib):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        out = (x + 1).pow(2).t()
        seen = []
        for _ in range(2):
            out.backward(lib.ones_like(out), retain_graph=True)
            seen.append(_numbers(x.grad).copy())
        x.grad.zero_()
        out.backward(lib.ones_like(out), retain_graph=True)
        seen.append(_numbers(x.grad).copy())
        return seen

    mine, theirs = _both(program)
    np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize(
    "method, args",
    [("add_", (2.0,)), ("sub_", (0.5,)), ("mul_", (3.0,)), ("div_", (4.0,)), ("fill_", (7.0,)), ("zero_", ())],
)
def test_in_place_methods_match_pytorch(method, args):
    def program(lib):
        x = lib.tensor([1.0, -2.0, 3.5])
        same = getattr(x, method)(*args)
        return same is x, _numbers(x)

    (same, mine), (real_same, theirs) = _both(program)
    assert same and real_same
    np.testing.assert_array_equal(mine, theirs)


def test_copy_and_setitem_in_place():
    def program(lib):
        x = lib.zeros(2, 3)
        x.copy_(lib.tensor([1.0, 2.0, 3.0]))
        x[0, 1] = -1.0
        x[lib.tensor([1]), 2] = 9.0
        return _numbers(x)

    mine, theirs = _both(program)
    np.testing.assert_array_equal(mine, theirs)


def test_in_place_on_a_leaf_that_requires_grad_is_pytorchs_error_and_fine_under_no_grad():
    def program(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        try:
            w.add_(1.0)
            said = ""
        except RuntimeError as e:
            said = str(e)
        with lib.no_grad():
            w -= 0.5
        return said, _numbers(w), w.requires_grad

    (said, mine, grad), (real_said, theirs, real_grad) = _both(program)
    assert said.startswith("a leaf Variable that requires grad is being used in an in-place operation")
    assert real_said.startswith(said.split(" (")[0])
    np.testing.assert_array_equal(mine, theirs)
    assert grad and real_grad


# ------------------------------------------------------------ grad_fn and next_functions


@pytest.mark.parametrize(
    "name, program",
    [
        ("add", lambda lib, x, y: x + y),
        ("mul", lambda lib, x, y: x * 3),
        ("sub", lambda lib, x, y: x - y),
        ("div", lambda lib, x, y: x / y),
        ("pow", lambda lib, x, y: x**2),
        ("pow tensor", lambda lib, x, y: x.abs() ** y),
        ("matmul", lambda lib, x, y: x @ y),
        ("matvec", lambda lib, x, y: x @ y[0]),
        ("dot", lambda lib, x, y: x[0].dot(y[0])),
        ("t", lambda lib, x, y: x.t()),
        ("view", lambda lib, x, y: x.view(-1)),
        ("sum", lambda lib, x, y: x.sum()),
        ("sum dim", lambda lib, x, y: x.sum(0)),
        ("mean", lambda lib, x, y: x.mean()),
        ("mean dim", lambda lib, x, y: x.mean(1)),
        ("max", lambda lib, x, y: x.max()),
        ("exp", lambda lib, x, y: x.exp()),
        ("tanh", lambda lib, x, y: x.tanh()),
        ("sigmoid", lambda lib, x, y: lib.sigmoid(x)),
        ("relu", lambda lib, x, y: lib.relu(x)),
        ("sin", lambda lib, x, y: lib.sin(x)),
        ("neg", lambda lib, x, y: -x),
        ("cat", lambda lib, x, y: lib.cat([x, y])),
        ("softmax", lambda lib, x, y: lib.softmax(x, dim=1)),
        ("norm", lambda lib, x, y: x.norm()),
    ],
)
def test_grad_fn_names_match_pytorch(name, program):
    def run(lib):
        x = lib.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
        y = lib.tensor([[1.5, 2.0], [-0.5, 1.0]], requires_grad=True)
        return program(lib, x, y).grad_fn.name()

    mine, theirs = _both(run)
    assert mine == theirs


def test_next_functions_lead_to_the_inputs_and_the_leaves_accumulate_grad():
    def shape_of_chain(fn, depth=0):
        if fn is None:
            return None
        return (fn.name().split("::")[-1], tuple(shape_of_chain(f, depth + 1) for f, _ in fn.next_functions))

    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        c = lib.tensor([3.0, 4.0])
        z = (x * 2 + x * c).mean()
        leaf = z.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0]
        return shape_of_chain(z.grad_fn), leaf.variable is x, repr(z.grad_fn).startswith("<MeanBackward0 object at")

    (mine, same, shown), (theirs, real_same, real_shown) = _both(program)
    assert mine == theirs
    assert same and real_same and shown and real_shown


def test_a_leaf_and_a_constant_have_no_grad_fn():
    x = ours.tensor([1.0], requires_grad=True)
    assert x.grad_fn is None and ours.tensor([1.0]).grad_fn is None and (x * 2).grad_fn is not None
    with ours.no_grad():
        assert (x * 2).grad_fn is None


# ------------------------------------------------------------ hooks, backward's arguments, the freed graph


def test_hooks_see_and_replace_the_gradient_as_pytorchs():
    def program(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * x
        seen = []
        y.register_hook(lambda g: seen.append(_numbers(g).copy()) or g * 10)
        handle = x.register_hook(lambda g: g + 1)
        y.sum().backward()
        first = _numbers(x.grad).copy()
        handle.remove()
        x.grad = None
        (x * x).sum().backward()
        return seen, first, _numbers(x.grad)

    mine, theirs = _both(program)
    np.testing.assert_array_equal(mine[0], theirs[0])
    np.testing.assert_array_equal(mine[1], theirs[1])
    np.testing.assert_array_equal(mine[2], theirs[2])


def test_backward_with_inputs_fills_only_those():
    def program(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0, 4.0], requires_grad=True)
        (a * b).sum().backward(inputs=[b])
        return a.grad, _numbers(b.grad)

    (a_grad, b_grad), (real_a, real_b) = _both(program)
    assert a_grad is None and real_a is None
    np.testing.assert_array_equal(b_grad, real_b)


def test_backward_on_a_non_scalar_needs_a_gradient_of_the_same_shape():
    def program(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        said = []
        for call in (lambda: y.backward(), lambda: y.backward(lib.ones(2))):
            try:
                call()
            except RuntimeError as e:
                said.append(str(e))
        y.backward(lib.tensor([0.1, 1.0, 0.0001]))
        return said, _numbers(x.grad)

    (said, grad), (real_said, real_grad) = _both(program)
    assert said == real_said
    np.testing.assert_allclose(grad, real_grad, rtol=1e-15)


def test_a_second_backward_through_a_freed_graph_is_pytorchs_error():
    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        said = []
        for make in (lambda: (x * x).sum(), lambda: (x + 1).sum(), lambda: x.exp().sum()):
            y = make()
            y.backward()
            try:
                y.backward()
                said.append("ran")
            except RuntimeError as e:
                said.append(str(e))
        y = (x * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        return said, _numbers(x.grad)

    (said, grad), (real_said, real_grad) = _both(program)
    assert said == real_said
    assert said[1] == "ran" and said[0].startswith("Trying to backward through the graph a second time")
    np.testing.assert_array_equal(grad, real_grad)


def test_create_graph_gives_a_grad_with_a_graph_of_its_own():
    def program(lib):
        x = lib.tensor(0.7, requires_grad=True)
        y = x.sin() * x
        with warnings.catch_warnings():  # (PyTorch warns of a reference cycle here)
            warnings.simplefilter("ignore")
            y.backward(create_graph=True)
        first = x.grad
        (second,) = lib.autograd.grad(first, x)
        return first.grad_fn is not None, first.item(), second.item()

    (has, first, second), (real_has, real_first, real_second) = _both(program)
    assert has and real_has
    assert first == pytest.approx(real_first, rel=1e-14) and second == pytest.approx(real_second, rel=1e-14)


# ------------------------------------------------------------ dtypes, indices, printing, numpy


def test_integer_data_makes_a_long_tensor_that_indexes_and_a_comparison_a_mask():
    def program(lib):
        C = lib.tensor([[0.5, 1.0], [2.0, 3.0], [4.0, 5.0]], requires_grad=True)
        ix = lib.tensor([[0, 2], [1, 1]])
        picked = C[ix]
        picked.sum().backward()
        mask = C > 1.5
        return str(ix.dtype), picked.shape, _numbers(C.grad), str(mask.dtype), _numbers(C[mask]), ix[0, 1].item()

    mine, theirs = _both(program)
    assert mine[0] == theirs[0] == "torch.int64" and mine[3] == theirs[3] == "torch.bool"
    assert tuple(mine[1]) == tuple(theirs[1])
    np.testing.assert_array_equal(mine[2], theirs[2])
    np.testing.assert_array_equal(mine[4], theirs[4])
    assert mine[5] == theirs[5] == 2 and isinstance(mine[5], int)


def test_a_float_tensor_is_no_index():
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool tensors"):
        ours.ones(3)[ours.tensor([0.0, 1.0])]


@pytest.mark.parametrize(
    "data",
    [
        [1.0, 2.0],
        [[0.5, -1.25], [3.0, 0.125]],
        2.5,
        [1e-5, 1.0],
        [123456.0, 0.5],
        [3, 4, 5],
        [True, False],
        [i / 8 for i in range(30)],
        [float(i) for i in range(2000)],
        [[i / 4 - 100 for i in range(40)] for _ in range(30)],
        [[[0.5, 1.0], [2.0, 3.0]], [[4.0, 5.0], [6.0, 7.0]]],
        [0.0, -0.5, float("inf"), float("nan")],
        [0.0, 0.0],
        [0.00001, 0.5],
    ],
)
def test_printing_is_pytorchs(data):
    real = _real()
    expected = repr(real.tensor(data))  # float32 by default: these numbers print the same in float64
    assert repr(ours.tensor(data)) == expected
    grad = repr(ours.tensor(2.5, requires_grad=True) * 2)
    assert grad == repr(real.tensor(2.5, requires_grad=True) * 2)


def test_numpy_on_tensors_as_on_pytorchs():
    x = ours.tensor([0.0, 1.0], requires_grad=True)
    y = np.array([1.0, 2.0]) * x  # numpy's operand first: still a tensor in the graph
    assert isinstance(y, ours.Tensor) and y.grad_fn.name() == "MulBackward0"
    c = np.cos(x.detach())
    assert isinstance(c, np.ndarray)
    np.testing.assert_array_equal(c, np.cos([0.0, 1.0]))


def test_our_tools_read_a_facade_graph():
    """draw_graph, trace_backward and gradcheck on a graph made of facade tensors (whose .data/.grad are tensors)."""
    from tinygrad_edu import gradcheck, trace_backward, viz

    w = ours.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
    x = ours.tensor([1.0, 2.0])
    loss = ours.tanh(w @ x).sum()
    assert "tanh" in viz.draw_graph(loss).source
    trace = trace_backward(loss)
    np.testing.assert_allclose(trace.gradients[w], np.outer(1 - np.tanh(w.numbers @ x.numbers) ** 2, x.numbers))
    assert gradcheck(lambda w: ours.tanh(w @ x).sum(), w)
    assert isinstance(loss, Value) and w.grad is None  # the tools write no .grad


@pytest.mark.parametrize(
    "program",
    [
        lambda lib: lib.arange(12).reshape(3, 4),
        lambda lib: lib.arange(12).reshape(3, 4).sum(),
        lambda lib: (lib.arange(6) * 2 + 1).view(2, 3).T,
        lambda lib: lib.arange(6) / 2,
        lambda lib: lib.arange(4) ** 2,
        lambda lib: -lib.arange(4)[1:],
        lambda lib: (lib.arange(6) > 2).sum(),
        lambda lib: lib.tensor([1, 2]) + 0.5,
        lambda lib: lib.arange(4.0) * 2,
        lambda lib: (lib.arange(5) > 1)[lib.tensor([0, 3])],
    ],
)
def test_integers_stay_integers_where_pytorch_keeps_them(program):
    real = _real()
    mine, theirs = program(ours), program(real)
    assert str(mine.dtype) == str(theirs.dtype).replace("float32", "float64")
    assert repr(mine) == repr(theirs)


def test_set_grad_enabled_and_inference_mode_switch_the_graph():
    x = ours.tensor([1.0], requires_grad=True)
    with ours.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with ours.set_grad_enabled(True):
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad
    with ours.inference_mode():
        assert not (x * 2).requires_grad and not ours.is_grad_enabled()
    assert ours.is_grad_enabled()


def test_compile_runs_a_facade_models_step_as_eager_does():
    """A beginner's PyTorch model and loss, compiled: the same losses and .grad as loss.backward() each call."""
    from tinygrad_edu import compile

    def make():
        ours.manual_seed(0)
        model = ours.nn.Sequential(ours.nn.Linear(2, 4), ours.nn.Tanh(), ours.nn.Linear(4, 1))
        return model, ours.nn.MSELoss(), ours.optim.SGD(model.parameters(), lr=0.1)

    rng = np.random.default_rng(1)
    batches = [(rng.normal(size=(8, 2)), rng.normal(size=(8, 1))) for _ in range(4)]
    (eager, loss_fn, opt), (fast, fast_loss, fast_opt) = make(), make()
    step = compile(lambda X, y: fast_loss(fast(ours.tensor(X)), ours.tensor(y)))
    for X, y in batches:
        opt.zero_grad()
        loss = loss_fn(eager(ours.tensor(X)), ours.tensor(y))
        loss.backward()
        opt.step()
        fast_opt.zero_grad()
        compiled = step(X, y)
        fast_opt.step()
        assert compiled.item() == pytest.approx(loss.item(), rel=1e-12)
        for p, q in zip(eager.parameters(), fast.parameters()):
            np.testing.assert_allclose(q.numpy(), p.numpy(), rtol=1e-12)
            assert isinstance(q.grad, ours.Tensor)
    assert "tanh" in step.source


# ------------------------------------------------------------ x[index] = value on a tensor of a graph


def test_assigning_into_a_tensor_of_a_graph_is_a_node_as_pytorchs_copyslices():
    def program(lib):
        x = lib.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], requires_grad=True)
        w = lib.tensor(3.0, requires_grad=True)
        y = x * 2 + 0.5  # (exp would save its output, which PyTorch then refuses to see changed)
        y[0, 1] = w * 2  # a value with a gradient of its own
        y[lib.tensor([1, 1]), lib.tensor([0, 2])] -= 1  # makemore's dlogits[range(n), Yb] -= 1
        z = lib.zeros(3)
        z[1] = w  # a constant tensor takes a value that needs a gradient
        ((y * y).sum() + (z * z).sum()).backward()
        return _numbers(y), _numbers(x.grad), _numbers(w.grad)

    mine, theirs = _both(program)
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_assigning_into_a_tensor_another_op_used_is_refused_where_pytorchs_backward_fails():
    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()
        used = y * y  # needs y as it was
        try:
            y[0] = 0.0
            used.sum().backward()
        except RuntimeError as e:
            return str(e)
        return "ran"

    mine, theirs = _both(program)
    assert mine.startswith("one of the variables needed for gradient computation")
    assert theirs.startswith("one of the variables needed for gradient computation")


def test_an_assignment_in_a_graph_that_picks_an_element_twice_is_refused():
    y = ours.tensor([1.0, 2.0], requires_grad=True).exp()
    with pytest.raises(RuntimeError, match="picks each element once"):
        y[ours.tensor([0, 0])] = 1.0


def test_the_methods_makemore_uses_match_pytorch():
    def program(lib):
        x = lib.tensor([[0.5, 2.0, -1.0], [3.0, 0.25, 3.5]], requires_grad=True)
        top = x.max(1, keepdim=True)
        low = x.min(0)
        v = x.var(0, keepdim=True, unbiased=True) + x.std(1, unbiased=False).sum()
        (top.values.sum() + low.values.sum() + v.sum()).backward()
        return (_numbers(top.values), top.indices.tolist(), low.indices.tolist(), _numbers(v), _numbers(x.grad),
                x.nelement(), x.numel(), _numbers(x.max(lib.tensor(1.0))))  # fmt: skip

    mine, theirs = _both(program)
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_a_generator_gives_the_same_draws_for_the_same_seed():
    g1, g2 = ours.Generator().manual_seed(2147483647), ours.Generator().manual_seed(2147483647)
    a, b = ours.randn((27, 10), generator=g1), ours.randn((27, 10), generator=g2)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(ours.rand(3, generator=g1).numpy(), ours.rand(3, generator=g1).numpy())


@pytest.mark.parametrize(
    "change",
    [
        "constant changed",  # c.add_(1) after (x * c): the product's backward needs c
        "weight stepped",  # w -= ... under no_grad after (w * x), x constant: w's gradient does not need w
        "tensor assigned",  # c[0] = 5 after (x @ c)
        "changed through data",  # c.data.add_(1): not counted, as PyTorch's .data
        "changed after backward",  # the usual training step
    ],
)
def test_changing_numbers_a_graph_saved_is_pytorchs_error_at_backward(change):
    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([0.5, -1.0], requires_grad=True)
        c = lib.tensor([3.0, 4.0])
        y = (x * c).sum() + (w * lib.tensor([2.0, 1.0])).sum() + x @ c
        if change == "constant changed":
            c.add_(1)
        elif change == "weight stepped":
            with lib.no_grad():
                w -= 0.1
        elif change == "tensor assigned":
            c[0] = 5.0
        elif change == "changed through data":
            c.data.add_(1)
        try:
            y.backward()
        except RuntimeError as e:
            return str(e).split(" Hint")[0].replace("FloatTensor", "DoubleTensor"), None
        if change == "changed after backward":
            with lib.no_grad():
                w -= 0.1
        return None, _numbers(x.grad)

    (said, grad), (real_said, real_grad) = _both(program)
    assert said == real_said
    if said is None:
        np.testing.assert_array_equal(grad, real_grad)
