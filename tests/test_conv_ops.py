"""conv2d, max_pool2d and avg_pool2d against PyTorch's torch.nn.functional: values and gradients to 1e-12 on random
shapes, max-pool's ties sent where PyTorch sends them, and the errors for bad shapes and settings."""

import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tinygrad_edu import GradcheckWarning, Value, compile, grad, gradcheck, ops
from tinygrad_edu import functional as F

TOL = {"rtol": 1e-12, "atol": 1e-12}


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")


def _compare(ours, theirs, arrays: list, seed: int = 0) -> None:
    """ours(*Values) and theirs(*tensors) on the same arrays: the outputs, and the gradients for one upstream g."""
    torch = _torch()
    vs = [Value(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = ours(*vs), theirs(*ts)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), **TOL, err_msg="forward")
    g = np.random.default_rng(seed).normal(size=out.shape)
    out.backward(g)
    ref.backward(torch.tensor(g))
    for i, (v, t) in enumerate(zip(vs, ts)):
        np.testing.assert_allclose(v.grad, t.grad.numpy(), **TOL, err_msg=f"gradient of input {i}")


CONV_CASES = [  # (x shape, w shape, stride, padding)
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 0),
    ((2, 2, 8, 8), (3, 2, 3, 3), 2, 1),
    ((2, 3, 5, 9), (2, 3, 2, 4), (2, 1), (1, 0)),
    ((1, 1, 6, 6), (5, 1, 5, 5), 1, 2),
    ((3, 2, 4, 4), (2, 2, 1, 1), 3, 0),
]


@pytest.mark.parametrize(("xs", "ws", "stride", "padding"), CONV_CASES)
def test_conv2d_with_bias_equals_pytorch(xs, ws, stride, padding):
    tF = _torch().nn.functional
    rng = np.random.default_rng(sum(xs))
    arrays = [rng.normal(size=xs), rng.normal(size=ws), rng.normal(size=ws[0])]
    _compare(
        lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding),
        lambda x, w, b: tF.conv2d(x, w, b, stride=stride, padding=padding),
        arrays,
    )


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    f=st.integers(1, 3),
    size=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    seed=st.integers(0, 2**16),
)
def test_conv2d_equals_pytorch_on_drawn_shapes(n, c, f, size, kernel, stride, padding, seed):
    tF = _torch().nn.functional
    assume(all(k <= s + 2 * p for k, s, p in zip(kernel, size, padding)))  # else refused (tested below)
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=(n, c, *size)), rng.normal(size=(f, c, *kernel))]
    _compare(
        lambda x, w: F.conv2d(x, w, stride=stride, padding=padding),
        lambda x, w: tF.conv2d(x, w, stride=stride, padding=padding),
        arrays,
        seed,
    )


POOL_CASES = [  # (x shape, kernel_size, stride)
    ((2, 3, 6, 6), 2, None),
    ((2, 2, 7, 5), 3, 2),
    ((2, 3, 5, 6), 2, 1),
    ((1, 2, 6, 7), (2, 3), (1, 2)),
    ((2, 1, 4, 4), 4, None),
]


@pytest.mark.parametrize(("xs", "kernel", "stride"), POOL_CASES)
@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
def test_pooling_equals_pytorch(name, xs, kernel, stride):
    tF = _torch().nn.functional
    x = np.random.default_rng(sum(xs)).normal(size=xs)
    _compare(lambda v: getattr(F, name)(v, kernel, stride), lambda t: getattr(tF, name)(t, kernel, stride), [x])


# a block of ties in every window: 2x2 windows of equal maxima, and overlapping windows sharing them
TIES = np.array([[1.0, 1.0, 0.5, -0.3], [0.2, 1.0, 0.5, 0.5], [-1.0, 0.4, 0.4, 0.4], [0.4, 0.4, 0.9, -0.2]])


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("x", [np.stack([np.stack([TIES, -TIES])] * 2), np.ones((2, 3, 4, 4))], ids=["ties", "flat"])
def test_max_pool2d_sends_a_tie_where_pytorch_does(x, stride):
    """PyTorch gives a window's whole gradient to its first maximum in row-major order; so do we."""
    tF = _torch().nn.functional
    _compare(lambda v: F.max_pool2d(v, 2, stride), lambda t: tF.max_pool2d(t, 2, stride), [x])


def test_max_pool2d_first_maximum_by_hand():
    """One 2x2 window of four equal numbers: all of the gradient to its top-left element."""
    x = Value(np.full((1, 1, 2, 2), 3.0))
    F.max_pool2d(x, 2).sum().backward()
    assert np.array_equal(x.grad, [[[[1.0, 0.0], [0.0, 0.0]]]])


def test_max_pool2d_declares_its_ties_as_kinks():
    x = np.array([[[[1.0, 1.0, 0.0, 2.0], [0.0, -1.0, 0.5, 0.0]]]])
    (mask,) = ops.MaxPool2d.kinks(1e-6, x, kernel_size=(2, 2), stride=(2, 2))
    assert np.array_equal(mask, [[[[True, True, False, False], [False, False, False, False]]]])
    with pytest.warns(GradcheckWarning, match="kink"):
        gradcheck(lambda v: F.max_pool2d(v, 2), Value(x))


def test_conv_pool_stack_and_its_second_derivatives_equal_pytorch():
    """A small CNN's layers in a row: conv, relu, max-pool, conv, avg-pool; then the gradient of a gradient's norm
    (create_graph), which runs conv2d's backward ops on Values."""
    torch = _torch()
    tF = torch.nn.functional
    rng = np.random.default_rng(3)
    x, w1, b1, w2 = (
        rng.normal(size=(2, 2, 8, 8)),
        rng.normal(size=(3, 2, 3, 3)),
        rng.normal(size=3),
        rng.normal(size=(2, 3, 2, 2)),
    )

    def ours(x, w1, b1, w2):
        return F.avg_pool2d(F.conv2d(F.max_pool2d(F.conv2d(x, w1, b1, padding=1).relu(), 2), w2, stride=2), 2)

    def theirs(x, w1, b1, w2):
        return tF.avg_pool2d(tF.conv2d(tF.max_pool2d(tF.conv2d(x, w1, b1, padding=1).relu(), 2), w2, stride=2), 2)

    _compare(ours, theirs, [x, w1, b1, w2])
    v, tv = Value(x), torch.tensor(x, requires_grad=True)
    vw, tw = Value(w1), torch.tensor(w1, requires_grad=True)
    out = (F.conv2d(v, vw, stride=2, padding=1) ** 2).sum()
    tout = (tF.conv2d(tv, tw, stride=2, padding=1) ** 2).sum()
    (gx,) = grad(out, [v], create_graph=True)
    (tgx,) = torch.autograd.grad(tout, (tv,), create_graph=True)
    (gx * gx).sum().backward()
    (tgx * tgx).sum().backward()
    np.testing.assert_allclose(v.grad, tv.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(vw.grad, tw.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_an_image_batch_gets_no_gradient_and_costs_none():
    """A constant input (data) is told to the op by needs=: no col2im for it, and the weights' gradient is intact."""
    tF = _torch().nn.functional
    torch = _torch()
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(2, 3, 6, 6)), rng.normal(size=(4, 3, 3, 3))
    vw = Value(w)
    out = F.conv2d(Value(x, requires_grad=False), vw, stride=2, padding=1)
    assert out._kwargs["needs"] == (False, True)
    out.sum().backward()
    tw = torch.tensor(w, requires_grad=True)
    tF.conv2d(torch.tensor(x), tw, stride=2, padding=1).sum().backward()
    np.testing.assert_allclose(vw.grad, tw.grad.numpy(), **TOL)


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: F.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 2, 3, 3))), ValueError, "input has 3 channels"),
        (lambda: F.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 5, 5))), ValueError, "kernel 5x5 is larger"),
        (
            lambda: F.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 6, 2)), padding=1),
            ValueError,
            r"kernel 6x2 is larger than the input 3x3 padded by \(1, 1\) \(5x5\)",
        ),
        (lambda: F.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), stride=0), ValueError, "stride must be"),
        (lambda: F.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), stride=(1, -2)), ValueError, "stride must"),
        (lambda: F.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), padding=-1), ValueError, "padding must"),
        (lambda: F.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), stride=1.5), TypeError, "stride must be an"),
        (lambda: F.conv2d(np.ones((3, 5, 5)), np.ones((1, 3, 2, 2))), ValueError, r"4-d input \(N, C, H, W\)"),
        (lambda: F.conv2d(np.ones((1, 3, 5, 5)), np.ones((3, 2, 2))), ValueError, r"4-d weight \(F, C, KH, KW\)"),
        (
            lambda: F.conv2d(np.ones((1, 1, 3, 3)), np.ones((2, 1, 2, 2)), np.ones(3)),
            ValueError,
            "one number per filter",
        ),
        (lambda: F.max_pool2d(np.ones((1, 1, 3, 3)), 4), ValueError, "kernel 4x4 is larger than the input 3x3"),
        (lambda: F.max_pool2d(np.ones((1, 1, 4, 4)), 2, stride=0), ValueError, "max_pool2d stride must be"),
        (lambda: F.avg_pool2d(np.ones((1, 1, 4, 4)), 0), ValueError, "avg_pool2d kernel_size must be"),
        (lambda: F.avg_pool2d(np.ones((1, 4, 4)), 2), ValueError, "avg_pool2d needs a 4-d input"),
        (lambda: F.max_pool2d(np.ones((1, 1, 4, 4)), (2, 2, 2)), ValueError, "an int or a pair"),
    ],
)
def test_bad_shapes_and_settings_are_refused_by_name(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_the_torch_facade_runs_them_as_pytorch():
    torch = _torch()
    from tinygrad_edu import torch as ours
    from tinygrad_edu.torch.nn import functional as oF

    rng = np.random.default_rng(9)
    x, w, b = rng.normal(size=(2, 3, 6, 6)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ox, ow, ob = (ours.tensor(a, requires_grad=True) for a in (x, w, b))
    tF = torch.nn.functional
    ref = tF.avg_pool2d(tF.max_pool2d(tF.conv2d(tx, tw, tb, 1, 1), 2), kernel_size=3, stride=1)
    out = oF.avg_pool2d(oF.max_pool2d(oF.conv2d(ox, ow, ob, 1, 1), 2), kernel_size=3, stride=1)
    np.testing.assert_allclose(out.numbers, ref.detach().numpy(), **TOL)
    ref.sum().backward()
    out.sum().backward()
    for o, t in zip((ox, ow, ob), (tx, tw, tb)):
        np.testing.assert_allclose(o.gradient, t.grad.numpy(), **TOL)
    with pytest.raises(ValueError, match="only groups=1 is supported here, got groups=2"):
        oF.conv2d(ox, ow, groups=2)
    with pytest.raises(ValueError, match="only ceil_mode=False"):
        oF.max_pool2d(ox, 2, ceil_mode=True)


def test_max_pool2d_a_nan_is_the_maximum_as_in_pytorch():
    torch = _torch()
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    x[0, 0, 1, 1] = x[0, 1, 2, 3] = np.nan
    v, t = Value(x), torch.tensor(x, requires_grad=True)
    out, ref = F.max_pool2d(v, 2), torch.nn.functional.max_pool2d(t, 2)
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_array_equal(v.grad, t.grad.numpy())


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_max_pool2d_keeps_a_nonfinite_gradient_to_its_window_maximum_as_pytorch(bad):
    """An inf or nan upstream reaches only the window's maximum: the other elements get 0, not 0 * inf = nan."""
    torch = _torch()
    x = np.random.default_rng(5).normal(size=(2, 3, 4, 4))
    g = np.ones((2, 3, 2, 2))
    g[1, 2, 0, 1] = bad
    v, t = Value(x), torch.tensor(x, requires_grad=True)
    F.max_pool2d(v, 2).backward(g)
    torch.nn.functional.max_pool2d(t, 2).backward(torch.tensor(g))
    np.testing.assert_array_equal(v.grad, t.grad.numpy())
    assert np.count_nonzero(~np.isfinite(v.grad)) == 1  # the maximum of that window, and no other element


def test_a_small_cnn_on_a_constant_batch_compiles_to_the_eager_step():
    """The step a CNN trains with: data as a constant (needs=: no gradient to it), the weights' gradients and the
    loss from the compiled step equal the eager ones."""
    rng = np.random.default_rng(11)
    X, labels = rng.normal(size=(4, 1, 8, 8)), np.array([0, 2, 1, 2])
    w1, b1, w2 = Value(rng.normal(size=(3, 1, 3, 3))), Value(rng.normal(size=3)), Value(rng.normal(size=(3, 3, 2, 2)))

    def loss():
        h = F.max_pool2d(F.conv2d(X, w1, b1, padding=1).relu(), 2)
        return F.cross_entropy(F.avg_pool2d(F.conv2d(h, w2, stride=2), 2).reshape(4, 3), labels)

    eager = loss()
    eager.backward()
    expected = [np.array(p.grad) for p in (w1, b1, w2)]
    step = compile(loss)
    step()
    for p in (w1, b1, w2):
        p.zero_grad()
    compiled = step()
    assert not step.source.startswith("# not compiled")
    np.testing.assert_allclose(compiled.data, eager.data, **TOL)
    for p, e in zip((w1, b1, w2), expected):
        np.testing.assert_allclose(p.grad, e, **TOL)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), (3, 2)])
def test_conv1d_is_conv2d_one_pixel_high_and_equals_pytorch(stride, padding):
    rng = np.random.default_rng(stride)
    x, w, b = rng.normal(size=(2, 3, 9)), rng.normal(size=(4, 3, 3)), rng.normal(size=4)
    gradcheck(lambda x, w, b: (F.conv1d(x, w, b, stride, padding) ** 2).sum(), x, w, b)
    torch = _torch()
    xs = [Value(a) for a in (x, w, b)]
    out = F.conv1d(*xs, stride, padding)
    (out**2).sum().backward()
    ts = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    expected = torch.nn.functional.conv1d(*ts, stride=stride, padding=padding)
    (expected**2).sum().backward()
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    for v, t in zip(xs, ts):
        np.testing.assert_allclose(v.grad, t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "x_shape, w_shape, words",
    [
        ((2, 3, 4, 1), (4, 3, 3), "3-d input (N, C, L), got shape (2, 3, 4, 1)"),
        ((2, 3, 4), (4, 3), "3-d weight (F, C, K), got shape (4, 3)"),
        ((2, 3, 4), (4, 2, 3), "the input has 3 channels"),
        ((2, 3, 2), (4, 3, 3), "the kernel 3 is longer than the input 2 padded by 0"),
    ],
)
def test_conv1d_names_a_bad_shape(x_shape, w_shape, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        F.conv1d(np.zeros(x_shape), np.zeros(w_shape))


def test_the_facade_conv1d_layer_loads_into_pytorch():
    torch = _torch()
    import tinygrad_edu.torch as ours

    ours.manual_seed(0)
    layer = ours.nn.Conv1d(3, 4, 3, stride=(2,), padding=1)
    assert layer.weight.shape == (4, 3, 3)
    assert abs(layer.weight.numbers).max() <= 1 / np.sqrt(9)  # PyTorch's start: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    real = torch.nn.Conv1d(3, 4, 3, stride=(2,), padding=1).double()
    assert repr(layer) == repr(real)
    real.load_state_dict({k: torch.tensor(v) for k, v in layer.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(2, 3, 10))
    np.testing.assert_allclose(
        layer(ours.tensor(x)).detach().numpy(), real(torch.tensor(x)).detach().numpy(), atol=1e-12
    )


def test_flatten_joins_axes_as_pytorch_and_passes_the_gradient_back():
    x = Value(np.arange(120.0).reshape(2, 3, 4, 5))
    assert F.flatten(x, 1).shape == (2, 60)
    assert F.flatten(x, 1, 2).shape == (2, 12, 5)
    assert F.flatten(x, -2).shape == (2, 3, 20)
    assert F.flatten(x).shape == (120,)
    assert F.flatten(Value(3.0)).shape == (1,)
    gradcheck(
        lambda x: (F.flatten(x, 1) @ np.arange(60.0)).sin().sum(), np.random.default_rng(0).normal(size=(2, 3, 4, 5))
    )
    with pytest.raises(ValueError, match=re.escape("flatten of shape (2, 3, 4, 5): start_dim 2 comes after end_dim 1")):
        F.flatten(x, 2, 1)
    with pytest.raises(ValueError, match="flatten start_dim .* axis 4 is out of range"):
        F.flatten(x, 4)
