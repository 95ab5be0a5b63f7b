"""The ops added for the tutorials' material (issue 22): what the op table cannot show, such as sine's
cycle of derivatives, and the PyTorch facade's names for them."""

import math

import numpy as np
import pytest

import tinygrad_edu.torch as torch  # the facade, as a tutorial imports it
from tinygrad_edu import Value, grad
from tinygrad_edu import functional as F


def test_the_derivatives_of_sin_cycle_through_cos_minus_sin_minus_cos_and_back():
    x = Value(0.7)
    d, seen = x.sin(), []
    for _ in range(4):
        (d,) = grad(d, [x], create_graph=True)
        seen.append(d.data)
    expected = [math.cos(0.7), -math.sin(0.7), -math.cos(0.7), math.sin(0.7)]
    np.testing.assert_allclose(seen, expected, rtol=1e-14)


def test_the_facade_has_sin_and_cos():
    x = torch.linspace(-math.pi, math.pi, 5, requires_grad=True)
    (torch.sin(x) + torch.cos(x)).sum().backward()
    np.testing.assert_allclose(x.grad, np.cos(x.data) - np.sin(x.data), atol=1e-15)


def test_maximum_and_minimum_split_the_gradient_at_ties_as_pytorch_does():
    a, b = Value(np.array([1.0, 2.0, 3.0])), Value(np.array([1.0, 3.0, 2.0]))
    (torch.maximum(a, b) * 2.0 + torch.minimum(a, b)).sum().backward()
    np.testing.assert_array_equal(a.grad, [1.5, 1.0, 2.0])  # tie: half of 2 and half of 1
    np.testing.assert_array_equal(b.grad, [1.5, 2.0, 1.0])


def test_maximum_and_minimum_match_real_pytorch_at_ties_and_twice():
    real = pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")
    xa, xb = np.array([[1.0, -2.0, 0.5]]), np.array([[1.0], [0.5]])  # ties, broadcast both ways
    for name in ("maximum", "minimum"):
        a, b = Value(xa), Value(xb)
        ta, tb = (real.tensor(x, dtype=real.float64, requires_grad=True) for x in (xa, xb))
        getattr(F, name)(a, b).sin().sum().backward()
        getattr(real, name)(ta, tb).sin().sum().backward()
        np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-14)
        np.testing.assert_allclose(b.grad, tb.grad.numpy(), rtol=1e-14)


def test_maximum_of_shapes_that_do_not_broadcast_names_them():
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)|\(3,\).*\(2,\)"):
        F.maximum(Value(np.ones(2)), Value(np.ones(3)))


def test_var_and_std_default_to_pytorchs_correction_and_take_its_names():
    real = pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")
    data = np.array([[1.0, 2.0, 4.0], [0.5, -1.0, 3.0]])
    x, t = torch.tensor(data, requires_grad=True), real.tensor(data, requires_grad=True)
    ours = x.var() + x.std(dim=1, keepdim=True).sum() + torch.var(x, 0, correction=0).sum() + torch.std(x)
    theirs = t.var() + t.std(dim=1, keepdim=True).sum() + real.var(t, 0, correction=0).sum() + real.std(t)
    ours.backward()
    theirs.backward()
    np.testing.assert_allclose(ours.data, theirs.item(), rtol=1e-14)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-13)


def test_var_with_no_degrees_of_freedom_says_so():
    with pytest.raises(ValueError, match=r"var.*correction=1.0 .* axis=\(1,\) of shape \(3, 1\) reduces 1"):
        Value(np.ones((3, 1))).var(axis=1)
    with pytest.raises(ValueError, match="std.*correction=2.0"):
        F.std(Value(np.ones(2)), correction=2)
    assert Value(np.array([3.0])).var(correction=0).data == 0.0  # one element, the population's variance


def test_std_of_equal_numbers_has_gradient_0_as_in_pytorch():
    x = Value(np.full((2, 3), 0.5))
    x.std(axis=1).sum().backward()  # std 0: no derivative there, 0 by PyTorch's convention (not 0/0 = nan)
    np.testing.assert_array_equal(x.grad, np.zeros((2, 3)))


def test_cat_and_stack_in_the_facade_cut_the_gradient_back_into_the_pieces():
    a, b = torch.ones(2, 3, requires_grad=True), torch.zeros(1, 3, requires_grad=True)
    joined = torch.cat([a, b])
    assert joined.shape == (3, 3)
    (joined * torch.tensor([[1.0], [2.0], [3.0]])).sum().backward()
    np.testing.assert_array_equal(a.grad, [[1.0] * 3, [2.0] * 3])
    np.testing.assert_array_equal(b.grad, [[3.0] * 3])
    x, y = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([3.0, 4.0], requires_grad=True)
    pile = torch.stack((x, y), dim=1)
    np.testing.assert_array_equal(pile.data, [[1.0, 3.0], [2.0, 4.0]])
    pile[:, 1].sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])


def test_cat_and_stack_of_bad_inputs_name_what_is_wrong():
    a, b = Value(np.ones((2, 3))), Value(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"cat along axis 0: .* input 0 has shape \(2, 3\) and input 1 has \(2, 4\)"):
        F.cat([a, b])
    assert F.cat([a, b], axis=1).shape == (2, 7)
    with pytest.raises(ValueError, match=r"stack needs Values of one shape, .* \(2, 3\) and input 1 \(2, 4\)"):
        F.stack([a, b])
    with pytest.raises(ValueError, match="input 0 is a scalar"):
        F.cat([Value(1.0), Value(2.0)])
    with pytest.raises(ValueError, match="at least one"):
        torch.cat([])
    with pytest.raises(TypeError, match="list or tuple"):
        F.stack(a)
    with pytest.raises(ValueError, match="axis 2 is out of range for 2 dimensions"):
        F.cat([a, a], axis=2)


@pytest.mark.parametrize("a, b", [(1.0, math.nan), (math.nan, 1.0), (math.nan, math.nan)])
def test_maximum_and_minimum_of_two_numbers_give_nan_for_a_nan_on_either_side(a, b):
    """Python's max(1.0, nan) is 1.0 (it keeps its first argument when a comparison with nan fails); numpy and
    PyTorch give nan. Eager and compiled give nan, as for arrays."""
    from tinygrad_edu import compile

    x, y = Value(a), Value(b)
    assert math.isnan(x.maximum(y).data) and math.isnan(x.minimum(y).data)
    step = compile(lambda: x.maximum(y) + x.minimum(y))
    step()
    assert math.isnan(step().data)


def test_min_splits_a_tie_as_pytorch_amin_and_torch_min_without_dim_do():
    real = pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")

    data = np.array([[3.0, 1.0, 1.0], [0.0, 5.0, 0.0]])
    ours = Value(data)
    F.min(ours).backward()
    theirs = real.tensor(data, requires_grad=True)
    real.min(theirs).backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())  # [[0, 0, 0], [0.5, 0, 0.5]]
    ours, theirs = Value(data), real.tensor(data, requires_grad=True)
    ours.min(dim=1, keepdim=True).sum().backward()
    theirs.amin(dim=1, keepdim=True).sum().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


def test_the_facade_min_without_dim_is_a_value_and_with_dim_the_values_and_indices():
    x = torch.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], requires_grad=True)
    assert torch.min(x).item() == 0.0 and x.min().item() == 0.0
    values, indices = torch.min(x, 1)
    np.testing.assert_array_equal(values.data, [1.0, 0.0])
    np.testing.assert_array_equal(indices.data, [1, 0])
    assert torch.min(x, dim=0, keepdim=True).values.shape == (1, 3)


def test_log2_and_log10_are_exact_at_powers_and_their_derivatives_carry_the_ln_of_the_base():
    x = torch.tensor([8.0, 1000.0], requires_grad=True)
    assert torch.log2(x).data[0] == 3.0 and torch.log10(x).data[1] == 3.0
    assert F.log2(1024.0).data == 10.0 and Value(100.0).log10().data == 2.0
    (torch.log2(x) + F.log10(x)).sum().backward()
    np.testing.assert_allclose(x.grad, 1 / (x.data * math.log(2)) + 1 / (x.data * math.log(10)), rtol=1e-15)


def test_the_norm_of_zeros_has_gradient_zero_as_pytorchs():
    """sqrt(sum(x * x)) composed of ops gave 0 * inf = nan at x = 0; the Norm op gives PyTorch's 0."""
    x = Value(np.zeros(3))
    x.norm().backward()
    np.testing.assert_array_equal(x.grad, np.zeros(3))
    real = pytest.importorskip("torch")
    t = real.zeros(3, dtype=real.float64, requires_grad=True)
    t.norm().backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())
