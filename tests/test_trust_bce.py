"""Issue #20, item 17: binary cross-entropy means what PyTorch's means, values and gradients, also at the edges.

``losses.bce`` clipped p to [1e-12, 1 - 1e-12]: p = 1 with target 0 cost 27.63 (PyTorch: 100, each log clamped
at -100) and the gradient at p = 1 - 1e-13 was 0 (PyTorch: 1e12). Now one op, ``ops.BinaryCrossEntropy``, computes
PyTorch's forward and backward; each test compares with real PyTorch to 1e-10."""

import warnings

import numpy as np
import pytest

from tinygrad_edu import GradcheckWarning, Value, compile, grad, gradcheck, gradgradcheck, losses
from tinygrad_edu import functional as F


def _real():
    return pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")


# p exactly 0 and 1, within 1e-13 of them, inside the clamp's zones and away from them
EDGES = [0.0, 1.0, 1e-13, 1 - 1e-13, 5e-14, 1 - 5e-14, 1e-12, 1 - 1e-12, 2e-12, 1e-300, 3e-45, 0.3, 0.5, 0.999]
TARGETS = [0.0, 1.0, 0.3, 0.5]
P, T = (np.array(a, dtype=np.float64) for a in zip(*[(p, t) for p in EDGES for t in TARGETS]))


def _torch_bce(p, t, reduction="mean", target_grad=False):
    """PyTorch's loss and its gradients (for p, and for t when asked) at these numbers, with the upstream gradient
    it was given (1 for a mean, else a fixed mix of signs)."""
    real = _real()
    tp = real.tensor(p, dtype=real.float64, requires_grad=True)
    tt = real.tensor(t, dtype=real.float64, requires_grad=target_grad)
    loss = real.nn.functional.binary_cross_entropy(tp, tt, reduction=reduction)
    up = np.cos(np.arange(loss.numel()) + 0.5).reshape(tuple(loss.shape)) if loss.ndim else 1.0
    loss.backward(real.tensor(up, dtype=real.float64))
    return loss.detach().numpy(), up, tp.grad.numpy(), (tt.grad.numpy() if target_grad else None)


def test_item17_p_one_with_target_zero_costs_100_as_pytorch():
    """It cost 27.63 (the log of the clipped 1 - 1e-12)."""
    assert losses.bce(Value(np.array([1.0])), [0.0]).data == 100.0
    assert losses.bce([Value(0.0)], [1.0]).data == 100.0
    assert losses.bce(Value(np.array([1.0, 0.0])), [1.0, 0.0]).data == 0.0  # 0 * (-100), not 0 * (-inf) = nan


def test_item17_gradient_next_to_one_is_pytorchs_not_zero():
    """At p = 1 - 1e-13 the gradient was 0 (inside the clip); PyTorch's is (p - t) / max(p (1 - p), 1e-12) ~ 1e12."""
    _, _, expected, _ = _torch_bce(np.array([1 - 1e-13]), np.array([0.0]))
    v = Value(np.array([1 - 1e-13]))
    losses.bce(v, [0.0]).backward()
    assert v.grad[0] > 9e11
    np.testing.assert_allclose(v.grad, expected, rtol=1e-10)


def test_item17_losses_bce_matches_pytorch_values_and_gradients_at_the_edges():
    """A Value of every (p, t) pair at once: PyTorch's mean, and its gradient, to 1e-10."""
    expected, _, expected_grad, _ = _torch_bce(P, T)
    v = Value(P.copy())
    loss = losses.bce(v, T)
    loss.backward()
    np.testing.assert_allclose(loss.data, expected, rtol=1e-10)
    np.testing.assert_allclose(v.grad, expected_grad, rtol=1e-10, atol=0)


@pytest.mark.parametrize("p", EDGES)
def test_item17_scalar_granularity_matches_pytorch_at_the_edges(p):
    """A list of scalar Values (micrograd style): every target, each a loss of its own, to 1e-10."""
    for t in TARGETS:
        expected, _, expected_grad, _ = _torch_bce(np.array([p]), np.array([t]))
        v = Value(p)
        loss = losses.bce([v], [t])
        loss.backward()
        assert type(loss.data) is float and type(v.grad) is float
        np.testing.assert_allclose(loss.data, expected, rtol=1e-10, err_msg=f"p={p!r} t={t}")
        np.testing.assert_allclose(v.grad, expected_grad[0], rtol=1e-10, atol=0, err_msg=f"p={p!r} t={t}")


def test_item17_the_elementwise_op_matches_pytorch_with_the_targets_gradient():
    """F.bce is reduction='none'; a target that requires a gradient gets PyTorch's -logit(p) (inf at p = 0 and 1)."""
    expected, up, expected_p, expected_t = _torch_bce(P, T, reduction="none", target_grad=True)
    vp, vt = Value(P.copy()), Value(T.copy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy RuntimeWarning for log 0 or 1 / 0
        out = F.bce(vp, vt)
        out.backward(up)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=0)
    np.testing.assert_allclose(vp.grad, expected_p, rtol=1e-10, atol=0)
    np.testing.assert_allclose(vt.grad, expected_t, rtol=1e-10, atol=1e-15)


def test_item17_second_derivatives_match_pytorch_inside():
    """Gradients of gradients (create_graph): finite differences, and PyTorch's double backward, away from the edges
    (within 1e-12 of them PyTorch's double backward is not the derivative of its own backward)."""
    real = _real()
    p, t = np.array([0.2, 0.55, 0.9, 0.7]), np.array([0.0, 1.0, 0.3, 0.7])
    gradgradcheck(F.bce, p, t)
    vp, vt = Value(p), Value(t)
    gp, gt = grad(F.bce(vp, vt).sum(), [vp, vt], create_graph=True)
    hp = grad((gp * 1.0 + gt * 0.5).sum(), [vp, vt])
    tp, tt = (real.tensor(a, requires_grad=True) for a in (p, t))
    rp, rt = real.autograd.grad(
        real.nn.functional.binary_cross_entropy(tp, tt, reduction="sum"), [tp, tt], create_graph=True
    )
    ref = real.autograd.grad((rp * 1.0 + rt * 0.5).sum(), [tp, tt])
    for ours, theirs in zip(hp, ref):
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-9)


def test_item17_gradcheck_explains_the_edge_zones_as_kinks():
    """Within 1e-12 of 0 and 1 PyTorch's gradient is a convention (the clamp keeps it <= 1e12), not the derivative:
    gradcheck says so with a warning instead of failing."""
    with pytest.warns(GradcheckWarning, match="bce.*kink"):
        gradcheck(lambda p: F.bce(p, 0.0), Value(np.array([1e-13, 0.5])), eps=1e-14, atol=1e-3)


def test_item17_a_compiled_step_gives_the_eager_values_at_the_edges():
    """compile writes the op as ops.py has it; p of exactly 0 and 1 (saturated sigmoids) and then inside."""
    w = Value(np.array([1.0, -1.0]))
    w_eager = Value(np.array([1.0, -1.0]))
    step = compile(lambda x, t: losses.bce((x @ w).sigmoid(), t))
    batches = [
        (np.array([[40.0, -1.0], [-40.0, 1.0], [0.2, 0.1]]), np.array([0.0, 1.0, 0.5])),
        (np.array([[0.3, 0.1], [1.0, 2.0], [-0.5, 0.5]]), np.array([1.0, 0.0, 0.25])),
    ]
    for x, t in batches:
        w.zero_grad()
        w_eager.zero_grad()
        eager = losses.bce((Value(x, requires_grad=False) @ w_eager).sigmoid(), t)
        eager.backward()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = step(x, t)
        assert got.data == pytest.approx(eager.data, rel=1e-12)
        np.testing.assert_allclose(w.grad, w_eager.grad, rtol=1e-12)
    assert "BinaryCrossEntropy.forward" in step.source


# ---------------------------------------------------------------- the facade: BCELoss and F.binary_cross_entropy


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("form", ["module", "functional"])
def test_item17_facade_bce_reductions_as_pytorch(reduction, form):
    """nn.BCELoss(reduction=...) and F.binary_cross_entropy(..., reduction=...): PyTorch's values and gradients,
    p at and next to 0 and 1 ("none" was refused, and the edges were clipped)."""
    import tinygrad_edu.torch as ttorch
    import tinygrad_edu.torch.nn as tnn

    real = _real()
    p, t = P.reshape(-1, 4), T.reshape(-1, 4)
    v, tp = ttorch.tensor(p, requires_grad=True), real.tensor(p, requires_grad=True)
    if form == "module":
        out, ref = (
            tnn.BCELoss(reduction=reduction)(v, ttorch.tensor(t)),
            real.nn.BCELoss(reduction=reduction)(tp, real.tensor(t)),
        )
    else:
        out = tnn.functional.binary_cross_entropy(v, ttorch.tensor(t), reduction=reduction)
        ref = real.nn.functional.binary_cross_entropy(tp, real.tensor(t), reduction=reduction)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=0)
    up = np.cos(np.arange(ref.numel()) + 0.5).reshape(tuple(ref.shape)) if ref.ndim else 1.0
    out.backward(up)
    ref.backward(real.tensor(up, dtype=real.float64))
    np.testing.assert_allclose(v.grad, tp.grad.numpy(), rtol=1e-10, atol=0)


def test_item17_facade_bce_refuses_what_it_does_not_support():
    import tinygrad_edu.torch as ttorch
    import tinygrad_edu.torch.nn as tnn

    p, t = ttorch.tensor([0.2, 0.9]), ttorch.tensor([0.0, 1.0])
    with pytest.raises(ValueError, match=r"only reduction='mean', 'sum' or 'none' is supported here, got 'avg'"):
        tnn.BCELoss(reduction="avg")
    with pytest.raises(ValueError, match=r"only reduction='mean', 'sum' or 'none' is supported here, got 'avg'"):
        tnn.functional.binary_cross_entropy(p, t, reduction="avg")
    with pytest.raises(ValueError, match="weight is not supported here"):
        tnn.functional.binary_cross_entropy(p, t, ttorch.tensor([1.0, 2.0]))  # PyTorch's third argument is weight
    with pytest.raises(ValueError, match=r"only reduction='mean' or 'sum' is supported here, got 'none'"):
        tnn.BCEWithLogitsLoss(reduction="none")  # the one loss without it here


def test_item17_per_element_losses_make_bces_checks():
    """reduction='none' checks what the mean checks: probabilities, targets and their shapes."""
    with pytest.raises(ValueError, match=r"bce needs probabilities in \[0, 1\]"):
        losses.bce_per_element(Value(np.array([0.5, 1.5])), [0.0, 1.0])
    with pytest.raises(ValueError, match=r"bce needs targets in \[0, 1\]"):
        losses.bce_per_element(Value(np.array([0.5, 0.5])), [0.0, 2.0])
    with pytest.raises(ValueError, match=r"predictions of shape \(2,\) but targets of shape \(3,\)"):
        losses.bce_per_element(Value(np.array([0.5, 0.5])), [0.0, 1.0, 1.0])
    with pytest.raises(TypeError, match="predictions must be a Value"):
        losses.bce_per_element([Value(0.5)], [1.0])
    each = losses.bce_per_element(Value(np.array([[1.0], [0.25]])), [0.0, 1.0])  # (n,) targets for (n, 1), as bce
    np.testing.assert_allclose(each.data, [[100.0], [-np.log(0.25)]], rtol=1e-15)
