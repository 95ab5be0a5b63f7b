"""Issue #20, items 11-16: the PyTorch facade means what PyTorch means (GELU, Softplus, optimizers'
param_groups and state, unused parameters, autograd.grad's outputs, bad arguments), checked against real PyTorch."""

import math

import numpy as np
import pytest

import tinygrad_edu.torch as torch
import tinygrad_edu.torch.nn as nn
import tinygrad_edu.torch.nn.functional as F
from tinygrad_edu import Value, functional, gradcheck, gradgradcheck


def _real():
    return pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")


X = np.array([-7.0, -3.1, -1.2, -0.4, 0.0, 0.3, 0.9, 2.2, 4.5, 21.0, 30.0])


def _against_torch(ours_fn, theirs_fn, x=X):
    """Values and gradients (for a random upstream gradient) of ours and PyTorch's, to 1e-10."""
    real = _real()
    v, t = Value(x), real.tensor(x, requires_grad=True)
    out, ref = ours_fn(v), theirs_fn(t)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    up = np.cos(np.arange(x.size) + 0.5)
    out.backward(up)
    ref.backward(real.tensor(up))
    np.testing.assert_allclose(v.grad, t.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- item 11: GELU is exact by default


def test_item11_gelu_default_is_exact_as_pytorch():
    real = _real()
    _against_torch(nn.GELU(), real.nn.GELU())
    _against_torch(F.gelu, real.nn.functional.gelu)
    _against_torch(lambda v: v.gelu(), real.nn.functional.gelu)  # our own Value.gelu: exact too
    _against_torch(nn.GELU(approximate="none"), real.nn.GELU(approximate="none"))
    # the tanh form was the old default; 4e-4 away from the exact one at x = 2.2
    assert abs(nn.GELU()(torch.tensor(2.2)).item() - nn.GELU("tanh")(torch.tensor(2.2)).item()) > 1e-4


def test_item11_gelu_tanh_approximation_on_request():
    real = _real()
    _against_torch(nn.GELU(approximate="tanh"), real.nn.GELU(approximate="tanh"))
    _against_torch(lambda v: F.gelu(v, approximate="tanh"), lambda t: real.nn.functional.gelu(t, approximate="tanh"))
    _against_torch(lambda v: functional.gelu(v, "tanh"), lambda t: real.nn.functional.gelu(t, approximate="tanh"))


@pytest.mark.parametrize("make", [lambda: nn.GELU("erf")(torch.tensor([1.0])), lambda: F.gelu(torch.tensor(1.0), "x"),
                                  lambda: functional.gelu(Value(np.ones(2)), approximate=None)])  # fmt: skip
def test_item11_gelu_refuses_an_unknown_approximation_naming_the_option(make):
    with pytest.raises(ValueError, match="approximate must be 'none' \\(exact\\) or 'tanh', got"):
        make()


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_item11_gelu_gradients_at_both_granularities(approximate):
    """gradcheck and gradgradcheck (the backward is made of ops: it differentiates again), on a float and an array."""
    fn = lambda x: functional.gelu(x, approximate)  # noqa: E731
    for x in (0.7, -1.3, np.array([-2.5, -0.3, 0.4, 1.9])):
        gradcheck(fn, Value(x))
        gradgradcheck(fn, Value(x))
    assert isinstance(fn(Value(0.7)).data, float)  # one number stays a Python float
    assert functional.gelu(0.7).data == pytest.approx(0.7 * 0.5 * (1 + math.erf(0.7 / math.sqrt(2))), rel=1e-15)


def test_item11_erf_to_the_last_bits_and_its_derivatives():
    real = _real()
    _against_torch(functional.erf, lambda t: t.erf())
    gradgradcheck(functional.erf, Value(np.array([-1.1, 0.2, 0.8])))
    assert functional.erf(np.inf).data == 1.0 and math.isnan(functional.erf(np.nan).data)
    assert functional.erf(np.zeros((2, 0))).shape == (2, 0) and real is not None


# ---------------------------------------------------------------- item 12: Softplus's beta and threshold


@pytest.mark.parametrize("beta, threshold", [(1.0, 20.0), (2.0, 3.0), (0.5, 1.0), (-0.5, 1.0), (3.0, 20.0)])
def test_item12_softplus_beta_and_threshold_as_pytorch(beta, threshold):
    real = _real()
    _against_torch(nn.Softplus(beta, threshold), real.nn.Softplus(beta, threshold))
    _against_torch(lambda v: F.softplus(v, beta=beta, threshold=threshold),
                   lambda t: real.nn.functional.softplus(t, beta=beta, threshold=threshold))  # fmt: skip


def test_item12_softplus_default_threshold_20_makes_it_linear_above():
    """PyTorch's default threshold: softplus(30) is 30 and its gradient exactly 1 (not sigmoid(30))."""
    x = torch.tensor([30.0, 21.0], requires_grad=True)
    y = nn.Softplus()(x)
    y.sum().backward()
    assert y.tolist() == [30.0, 21.0] and x.grad.tolist() == [1.0, 1.0]
    assert F.softplus(torch.tensor(2.0), beta=2.0).item() == pytest.approx(math.log1p(math.exp(4.0)) / 2, rel=1e-15)


def test_item12_our_own_softplus_has_no_threshold_unless_given():
    """Value.softplus and functional.softplus stay the smooth function (bce_with_logits relies on it)."""
    x = Value(np.array([30.0]))
    x.softplus().backward(np.ones(1))
    assert x.grad[0] == pytest.approx(1 / (1 + math.exp(-30.0)), rel=1e-15) and x.grad[0] < 1.0
    gradcheck(lambda v: functional.softplus(v, beta=2.0, threshold=3.0), Value(np.array([-1.0, 0.4, 2.0])))
    gradgradcheck(lambda v: functional.softplus(v, beta=0.5), Value(np.array([-1.0, 0.4, 2.0])))


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"beta": 0.0}, ValueError, "beta must be nonzero"),
        ({"beta": "2"}, TypeError, "softplus beta must be a real number"),
        ({"threshold": np.nan}, ValueError, "threshold must be a finite"),
    ],
)
def test_item12_softplus_refuses_bad_settings(kwargs, error, words):
    with pytest.raises(error, match=words):
        F.softplus(torch.tensor([1.0]), **kwargs)
