"""Issue #23's normalisation, dropout, embedding, pad and clip_grad_norm_: values and gradients equal PyTorch's
(to 1e-12), batch norm's running statistics too, and clear errors for what is wrong."""

import math

import numpy as np
import pytest

from tinygrad_edu import Value, compile, gradgradcheck, ops, optim
from tinygrad_edu import functional as F
from tinygrad_edu.compiler import CompileWarning

TOL = {"rtol": 1e-12, "atol": 1e-12}
rng = np.random.default_rng(23)


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")


def _pair(arrays):
    """Our Values and PyTorch's float64 tensors (both requiring gradients) made from the same arrays."""
    torch = _torch()
    return [Value(a) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays]


def _same(out, ref, ours, theirs, upstream):
    """The same output, and the same gradient of every input after backward(upstream) on both sides."""
    torch = _torch()
    np.testing.assert_allclose(out.data, ref.detach().numpy(), **TOL)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    for v, t in zip(ours, theirs):
        np.testing.assert_allclose(v.grad, t.grad.numpy(), **TOL)


# ---------------------------------------------------------------- batch_norm


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2, 3)], ids=["(N,C)", "(N,C,H,W)"])
def test_batch_norm_training_matches_pytorch_and_so_do_the_running_statistics_after_3_calls(shape):
    torch = _torch()
    w, b = rng.normal(size=3), rng.normal(size=3)
    mean, var = np.zeros(3), np.ones(3)
    mean_t, var_t = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for call in range(3):
        x = rng.normal(loc=call, scale=1 + call, size=shape)
        ours, theirs = _pair([x, w, b])
        out = F.batch_norm(*ours[:1], mean, var, *ours[1:], training=True, momentum=0.2)
        ref = torch.nn.functional.batch_norm(theirs[0], mean_t, var_t, *theirs[1:], training=True, momentum=0.2)
        _same(out, ref, ours, theirs, rng.normal(size=shape))
        np.testing.assert_allclose(mean, mean_t.numpy(), **TOL)
        np.testing.assert_allclose(var, var_t.numpy(), **TOL)  # (the unbiased variance, as PyTorch)


def test_batch_norm_running_statistics_may_be_values_updated_in_place():
    x = rng.normal(size=(6, 2))
    mean, var = Value(np.zeros(2), requires_grad=False), Value(np.ones(2), requires_grad=False)
    held = mean.numbers
    F.batch_norm(x, mean, var, training=True)
    assert mean.numbers is held
    np.testing.assert_allclose(mean.numbers, 0.1 * x.mean(0), **TOL)
    np.testing.assert_allclose(var.numbers, 0.9 + 0.1 * x.var(0, ddof=1), **TOL)


def test_batch_norm_eval_uses_the_running_statistics_as_pytorch_and_leaves_them():
    torch = _torch()
    x, w, b = rng.normal(size=(3, 2, 4)), rng.normal(size=2), rng.normal(size=2)
    mean, var = np.array([0.5, -1.0]), np.array([2.0, 0.3])
    ours, theirs = _pair([x, w, b])
    out = F.batch_norm(ours[0], mean, var, *ours[1:])
    ref = torch.nn.functional.batch_norm(theirs[0], torch.tensor(mean), torch.tensor(var), *theirs[1:])
    _same(out, ref, ours, theirs, rng.normal(size=x.shape))
    np.testing.assert_array_equal(mean, [0.5, -1.0])
    np.testing.assert_array_equal(var, [2.0, 0.3])
    assert not any(node.op == "batch_norm" for node in [out, *out.parents])  # plain arithmetic of existing ops


def test_batch_norm_backward_is_the_compact_form():
    """dx = (1/n) inv_std (n g - sum(g) - x_hat sum(g x_hat)), per channel, written out here in numpy."""
    x, g = rng.normal(size=(4, 3, 2, 2)), rng.normal(size=(4, 3, 2, 2))
    axes, eps = (0, 2, 3), 1e-5
    n = 4 * 2 * 2
    inv_std = 1.0 / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    x_hat = (x - x.mean(axis=axes, keepdims=True)) * inv_std
    s = lambda a: a.sum(axis=axes, keepdims=True)  # noqa: E731
    expected = (1.0 / n) * inv_std * (n * g - s(g) - x_hat * s(g * x_hat))
    out = ops.BatchNorm.forward(x, axes=axes, eps=eps)
    np.testing.assert_allclose(out, x_hat, **TOL)
    np.testing.assert_allclose(ops.BatchNorm.backward(g, out, x, axes=axes, eps=eps), expected, **TOL)


def test_batch_norm_and_layer_norm_have_second_derivatives():
    x = Value(rng.normal(size=(3, 2, 2)))
    w = Value(rng.normal(size=2))
    gradgradcheck(lambda x, w: F.batch_norm(x, None, None, w, training=True), x, w)
    gradgradcheck(lambda x: F.layer_norm(x, (2, 2)), x)


def test_compile_runs_a_training_batch_norm_with_running_statistics_eagerly_updating_them_once_per_call():
    """A compiled step would not redo the in-place update: compile says so and runs each call eagerly."""
    x = Value(rng.normal(size=(4, 3)))
    traced, eager = (np.zeros(3), np.ones(3)), (np.zeros(3), np.ones(3))
    step = compile(lambda: F.batch_norm(x, *traced, training=True).sum())
    with pytest.warns(CompileWarning, match="batch_norm's running statistics"):
        step()
    step()
    for _ in range(2):
        F.batch_norm(x, *eager, training=True)
    for a, b in zip(traced, eager):
        np.testing.assert_allclose(a, b, **TOL)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: F.batch_norm(np.ones(3), None, None, training=True), ValueError, r"\(N, C\).*shape \(3,\)"),
        (lambda: F.batch_norm(np.ones((1, 3)), None, None, training=True), ValueError, "more than 1 value"),
        (lambda: F.batch_norm(np.ones((2, 3)), None, None), ValueError, "eval mode.*running_mean"),
        (lambda: F.batch_norm(np.ones((2, 3)), np.zeros(2), np.ones(3)), ValueError, r"running_mean.*\(3,\)"),
        (lambda: F.batch_norm(np.ones((2, 3)), np.zeros(3), None, training=True), ValueError, "no running_var"),
        (lambda: F.batch_norm(np.ones((2, 3)), None, None, np.ones(2), training=True), ValueError, "weight.*(3,)"),
        (lambda: F.batch_norm(np.ones((2, 3)), None, None, training=True, eps=0), ValueError, "eps"),
        (lambda: F.batch_norm(np.ones((2, 3)), None, None, training=1), TypeError, "training"),
        (lambda: F.layer_norm(np.ones((2, 3)), (2,)), ValueError, r"normalized_shape \(2,\).*\(2, 3\)"),
        (lambda: F.layer_norm(np.ones(3), (1, 3)), ValueError, "normalized_shape"),
        (lambda: F.layer_norm(np.ones((2, 3)), 3, bias=np.ones(2)), ValueError, "bias"),
    ],
)
def test_normalisation_errors_name_what_was_wrong(call, error, words):
    with pytest.raises(error, match=words):
        call()


# ---------------------------------------------------------------- layer_norm


@pytest.mark.parametrize("shape, normalized", [((4, 5), 5), ((2, 3, 4), (3, 4)), ((6,), (6,))])
def test_layer_norm_matches_pytorch(shape, normalized):
    torch = _torch()
    last = (normalized,) if isinstance(normalized, int) else normalized
    x, w, b = rng.normal(size=shape), rng.normal(size=last), rng.normal(size=last)
    ours, theirs = _pair([x, w, b])
    out = F.layer_norm(ours[0], normalized, *ours[1:], eps=1e-3)
    ref = torch.nn.functional.layer_norm(theirs[0], last, *theirs[1:], eps=1e-3)
    _same(out, ref, ours, theirs, rng.normal(size=shape))
    ours, theirs = _pair([x])  # and without weight and bias
    _same(F.layer_norm(ours[0], normalized), torch.nn.functional.layer_norm(theirs[0], last), ours, theirs, x)


# ---------------------------------------------------------------- dropout


def test_dropout_same_seed_same_mask_and_kept_elements_scaled_by_1_over_1_minus_p():
    x = Value(rng.uniform(0.5, 1.5, size=(40, 50)))
    a = F.dropout(x, 0.3, generator=np.random.default_rng(1))
    b = F.dropout(x, 0.3, generator=np.random.default_rng(1))
    c = F.dropout(x, 0.3, generator=np.random.default_rng(2))
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data != 0, c.data != 0)
    kept = a.data != 0
    np.testing.assert_array_equal(a.data[kept], x.data[kept] * (1 / 0.7))
    assert abs(kept.mean() - 0.7) < 0.03  # 2000 draws: within ~3 standard deviations
    a.sum().backward()
    np.testing.assert_array_equal(x.grad, kept * (1 / 0.7))  # d/dx = the mask


def test_dropout_matches_pytorch_where_both_keep_an_element():
    """PyTorch draws its own mask; on the elements both masks keep, outputs and gradients are the same
    (scaled by 1 / (1 - p)), and a dropped element is 0 with gradient 0 on both sides."""
    torch = _torch()
    x, p = rng.normal(size=(30, 20)), 0.4
    ours, theirs = _pair([x])
    torch.manual_seed(0)
    out, ref = F.dropout(ours[0], p, generator=np.random.default_rng(0)), torch.nn.functional.dropout(theirs[0], p)
    out.sum().backward()
    ref.sum().backward()
    mine, its = out.data != 0, ref.detach().numpy() != 0
    both = mine & its
    assert both.sum() > 100
    np.testing.assert_allclose(out.data[both], ref.detach().numpy()[both], **TOL)
    np.testing.assert_allclose(ours[0].grad[both], theirs[0].grad.numpy()[both], **TOL)
    assert np.all(ours[0].grad[~mine] == 0) and np.all(theirs[0].grad.numpy()[~its] == 0)


def test_dropout_is_the_identity_in_eval_and_for_p_0_and_gives_zeros_for_p_1():
    torch = _torch()
    x = Value(rng.normal(size=(3, 4)))
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    ours, theirs = _pair([x.data])
    _same(F.dropout(ours[0], 1.0), torch.nn.functional.dropout(theirs[0], 1.0), ours, theirs, np.ones((3, 4)))
    np.testing.assert_array_equal(ours[0].grad, np.zeros((3, 4)))


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"p": 1.5}, ValueError, "between 0 and 1, got 1.5"),
        ({"p": -0.1}, ValueError, "between 0 and 1, got -0.1"),
        ({"p": "half"}, TypeError, "dropout probability p"),
        ({"generator": 3}, TypeError, "numpy Generator"),
        ({"training": "yes"}, TypeError, "training"),
    ],
)
def test_dropout_errors_name_what_was_wrong(kwargs, error, words):
    with pytest.raises(error, match=words):
        F.dropout(np.ones(3), **kwargs)


# ---------------------------------------------------------------- embedding


@pytest.mark.parametrize("indices", [[3, 0, 3, 3], [[0, 2], [2, 4], [1, 2]], np.array([[[4]], [[4]]], np.int32)])
def test_embedding_matches_pytorch_and_sums_the_gradients_of_repeated_rows(indices):
    torch = _torch()
    weight = rng.normal(size=(5, 3))
    ours, theirs = _pair([weight])
    out = F.embedding(indices, ours[0])
    ref = torch.nn.functional.embedding(torch.as_tensor(np.asarray(indices, np.int64)), theirs[0])
    assert out.shape == np.shape(indices) + (3,)
    _same(out, ref, ours, theirs, rng.normal(size=out.shape))


@pytest.mark.parametrize(
    "indices, error, words",
    [
        ([0, 5], IndexError, r"0\.\.4.*got 0\.\.5"),
        ([-1, 2], IndexError, r"0\.\.4.*got -1\.\.2"),
        ([0.0, 1.0], TypeError, "integer indices.*float64"),
        (np.array([True, False]), TypeError, "integer indices.*bool"),
    ],
)
def test_embedding_refuses_indices_out_of_range_or_not_integers(indices, error, words):
    with pytest.raises(error, match=words):
        F.embedding(indices, np.ones((5, 2)))
    with pytest.raises(ValueError, match="matrix"):
        F.embedding([0], np.ones(5))


# ---------------------------------------------------------------- pad


@pytest.mark.parametrize(
    "shape, widths, value",
    [((2, 3), (1, 2), 0.0), ((2, 3, 2), (0, 1, 2, 1), -1.5), ((2, 1, 2), (1, 1, 0, 2, 1, 0), 3.0), ((3,), (), 0.0)],
)
def test_pad_matches_pytorch_last_axis_first(shape, widths, value):
    torch = _torch()
    ours, theirs = _pair([rng.normal(size=shape)])
    out, ref = F.pad(ours[0], widths, value), torch.nn.functional.pad(theirs[0], widths, value=value)
    assert out.shape == tuple(ref.shape)
    _same(out, ref, ours, theirs, rng.normal(size=out.shape))


@pytest.mark.parametrize(
    "widths, error, words",
    [
        ((1, 2, 3), ValueError, r"pairs.*\(1, 2, 3\)"),
        ((1, 1, 1, 1, 1, 1), ValueError, "at most 2"),
        ((1, -1), ValueError, "pad width.*>= 0"),
        ((1.5, 1), TypeError, "pad width"),
    ],
)
def test_pad_errors_name_what_was_wrong(widths, error, words):
    with pytest.raises(error, match=words):
        F.pad(np.ones((2, 2)), widths)


# ---------------------------------------------------------------- clip_grad_norm_


@pytest.mark.parametrize("max_norm, norm_type", [(1.0, 2.0), (0.5, 1.0), (0.3, math.inf), (100.0, 2.0)])
def test_clip_grad_norm_matches_pytorch(max_norm, norm_type):
    torch = _torch()
    arrays, grads = [rng.normal(size=(3, 2)), rng.normal(size=2), np.array(0.7)], [rng.normal(size=(3, 2))]
    grads += [rng.normal(size=2), np.array(-1.3)]
    ours = [Value(a if a.shape else float(a)) for a in arrays]
    unused = Value(np.ones(2))  # no gradient reached it: skipped, as PyTorch skips grad None
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    for v, t, g in zip(ours, theirs, grads):
        v.grad = g if g.shape else float(g)
        t.grad = torch.tensor(g)
    held = ours[0].gradient
    total = optim.clip_grad_norm_([*ours, unused], max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_([*theirs, torch.ones(2, requires_grad=True)], max_norm, norm_type)
    assert total == pytest.approx(float(expected), rel=1e-12)
    assert ours[0].gradient is held  # scaled in place
    assert not unused.has_grad
    for v, t in zip(ours, theirs):
        np.testing.assert_allclose(v.gradient, t.grad.numpy(), **TOL)


def test_clip_grad_norm_of_the_torch_facade_returns_the_norm_as_a_tensor():
    import tinygrad_edu.torch as torch

    w = torch.tensor([3.0, 4.0], requires_grad=True)
    (w * w).sum().backward()  # grad (6, 8): norm 10
    total = torch.nn.utils.clip_grad_norm_(w, 5.0)
    assert isinstance(total, torch.Tensor) and float(total) == pytest.approx(10.0)
    np.testing.assert_allclose(w.grad.numpy(), np.array([6.0, 8.0]) * 5.0 / (10.0 + 1e-6), **TOL)


def test_clip_grad_norm_errors_name_what_was_wrong():
    with pytest.raises(TypeError, match="parameter 1 is ndarray"):
        optim.clip_grad_norm_([Value(1.0), np.ones(2)], 1.0)
    with pytest.raises(ValueError, match="norm_type must be > 0"):
        optim.clip_grad_norm_([Value(1.0)], 1.0, norm_type=0)
    with pytest.raises(TypeError, match="max_norm"):
        optim.clip_grad_norm_([Value(1.0)], "1")


# ---------------------------------------------------------------- the PyTorch facade's functional names


def test_the_facade_functions_match_pytorch():
    real = _torch()
    import tinygrad_edu.torch as torch

    x, w = rng.normal(size=(4, 3)), rng.normal(size=(5, 3))
    for lib in (torch, real):
        xs, ws = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        mean, var = lib.zeros(3, dtype=lib.float64), lib.ones(3, dtype=lib.float64)
        nF = lib.nn.functional
        out = nF.batch_norm(xs, mean, var, training=True) + nF.layer_norm(xs, (3,)) + nF.pad(xs, (0, 0, 1, 0))[1:]
        out = out + nF.dropout(xs, 0.5, training=False) + nF.embedding(lib.tensor([1, 4, 4, 0]), ws)
        out.sum().backward()
        if lib is torch:
            ours = (out.detach().numpy(), xs.grad.numpy(), ws.grad.numpy(), mean.numpy(), var.numpy())
    for a, b in zip(ours, (out.detach().numpy(), xs.grad.numpy(), ws.grad.numpy(), mean.numpy(), var.numpy())):
        np.testing.assert_allclose(a, b, **TOL)
    with pytest.raises(TypeError, match="long tensor"):
        torch.nn.functional.embedding(torch.tensor([1.0]), torch.ones(3, 2))
    with pytest.raises(ValueError, match="padding_idx, max_norm and scale_grad_by_freq are not supported"):
        torch.nn.functional.embedding(torch.tensor([1]), torch.ones(3, 2), padding_idx=0)
    with pytest.raises(ValueError, match="mode 'reflect'"):
        torch.nn.functional.pad(torch.ones(2, 2), (1, 1), mode="reflect")
