"""Losses and optimizers: against finite differences and PyTorch, stability, and their errors."""

import numpy as np
import pytest

from tinygrad_edu import Value, gradcheck, losses, optim

rng = np.random.default_rng(0)
LOGITS = rng.normal(size=(5, 1)) * 2
PROBS = 1 / (1 + np.exp(-LOGITS))
TARGET01 = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
SIGNS = 2 * TARGET01 - 1
SCORES = np.array([[0.3], [-1.7], [2.2], [-0.4], [0.9]])
CLASS_LOGITS = rng.normal(size=(4, 3))
LABELS = np.array([2, 0, 1, 2])


def _t(torch, a):
    return torch.tensor(a, dtype=torch.float64)


# name: (our loss of one Value, the input, the same loss in PyTorch given (tensor, torch))
LOSSES = {
    "mse": (
        lambda p: losses.mse(p, TARGET01),
        PROBS,
        lambda t, torch: torch.nn.functional.mse_loss(t, _t(torch, TARGET01).reshape(5, 1)),
    ),
    "bce": (
        lambda p: losses.bce(p, TARGET01),
        PROBS,
        lambda t, torch: torch.nn.functional.binary_cross_entropy(t, _t(torch, TARGET01).reshape(5, 1)),
    ),
    "bce_with_logits": (
        lambda z: losses.bce_with_logits(z, TARGET01),
        LOGITS,
        lambda t, torch: torch.nn.functional.binary_cross_entropy_with_logits(t, _t(torch, TARGET01).reshape(5, 1)),
    ),
    "hinge": (
        lambda s: losses.hinge(s, SIGNS),
        SCORES,
        lambda t, torch: (1 - _t(torch, SIGNS).reshape(5, 1) * t).clamp(min=0).mean(),
    ),
    "cross_entropy": (
        lambda z: losses.cross_entropy(z, LABELS),
        CLASS_LOGITS,
        lambda t, torch: torch.nn.functional.cross_entropy(t, _t(torch, LABELS).long()),
    ),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_gradcheck(name):
    ours, x, _ = LOSSES[name]
    gradcheck(ours, Value(x))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_against_torch(name):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")
    ours, x, theirs = LOSSES[name]
    v = Value(x)
    out = ours(v)
    out.backward()
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ref = theirs(t, torch)
    ref.backward()
    np.testing.assert_allclose(out.data, ref.item(), rtol=1e-10)
    np.testing.assert_allclose(v.grad, t.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_losses_accept_lists_of_scalar_values():
    preds = [Value(float(p)) for p in PROBS[:, 0]]
    assert losses.mse(preds, TARGET01).data == pytest.approx(losses.mse(Value(PROBS), TARGET01).data, rel=1e-12)
    logits = [Value(float(z)) for z in LOGITS[:, 0]]
    both = losses.bce_with_logits(logits, TARGET01).data, losses.bce_with_logits(Value(LOGITS), TARGET01).data
    assert both[0] == pytest.approx(both[1], rel=1e-12)


def test_logit_losses_are_stable_for_huge_logits():
    z = Value(np.array([1000.0, -1000.0, 800.0]))
    loss = losses.bce_with_logits(z, [0.0, 1.0, 1.0])  # the first two are wrong by 1000
    loss.backward()
    assert loss.data == pytest.approx(2000 / 3) and np.all(np.isfinite(z.grad))
    np.testing.assert_allclose(z.grad, np.array([1.0, -1.0, 0.0]) / 3)
    big = Value(np.array([[1000.0, 0.0, -1000.0]]))
    ce = losses.cross_entropy(big, [0])
    ce.backward()
    assert ce.data == pytest.approx(0.0, abs=1e-12) and np.all(np.isfinite(big.grad))


@pytest.mark.parametrize(
    "fn, error, words",
    [
        (lambda: losses.mse(Value(np.ones((3, 1))), np.ones(4)), ValueError, r"shape \(3, 1\) but targets of shape"),
        (lambda: losses.mse([Value(1.0)], [1.0, 2.0]), ValueError, "1 predictions but 2 targets"),
        (lambda: losses.mse(np.ones(3), np.ones(3)), TypeError, "must be a Value or a list of Values"),
        (lambda: losses.bce(Value(np.ones(2) * 0.5), [0.0, 2.0]), ValueError, r"targets in \[0, 1\]"),
        (lambda: losses.hinge(Value(np.ones(2)), [0.0, 1.0]), ValueError, "labels -1 or \\+1"),
        (lambda: losses.cross_entropy(Value(np.ones((2, 3))), [0, 3]), ValueError, r"labels must be in 0..2"),
        (lambda: losses.cross_entropy(Value(np.ones((2, 3))), [0.5, 1]), ValueError, "integer class labels"),
        (lambda: losses.cross_entropy(Value(np.ones((2, 3))), [0, 1, 2]), ValueError, r"labels of shape \(2,\)"),
        (lambda: losses.cross_entropy(Value(1.0), [0]), TypeError, "cross_entropy needs a Value of logits"),
    ],
)
def test_loss_errors(fn, error, words):
    with pytest.raises(error, match=words):
        fn()


def _run_ours(make, params0, grads):
    params = [Value(p) if np.ndim(p) else Value(float(p)) for p in params0]
    opt = make(params)
    for g in grads:
        for p, gi in zip(params, g):
            p.grad = gi
        opt.step()
    return [p.data for p in params]


OPTIMIZERS = {
    "sgd": (lambda ps: optim.SGD(ps, lr=0.1), lambda ps, torch: torch.optim.SGD(ps, lr=0.1)),
    "sgd_momentum_wd": (
        lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
        lambda ps, torch: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
    ),
    "adam": (lambda ps: optim.Adam(ps, lr=0.01), lambda ps, torch: torch.optim.Adam(ps, lr=0.01)),
    "adam_wd_betas": (
        lambda ps: optim.Adam(ps, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
        lambda ps, torch: torch.optim.Adam(ps, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    ),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_matches_torch_for_10_steps(name):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")
    ours, theirs = OPTIMIZERS[name]
    r = np.random.default_rng(1)
    params0 = [r.normal(size=(3, 2)), r.normal(size=4), r.normal()]
    grads = [[r.normal(size=np.shape(p)) for p in params0] for _ in range(10)]
    mine = _run_ours(ours, params0, grads)
    tparams = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params0]
    opt = theirs(tparams, torch)
    for g in grads:
        for p, gi in zip(tparams, g):
            p.grad = torch.tensor(gi, dtype=torch.float64)
        opt.step()
    for i, (a, t) in enumerate(zip(mine, tparams)):
        np.testing.assert_allclose(a, t.detach().numpy(), rtol=1e-10, atol=1e-13, err_msg=f"parameter {i}")


def test_sgd_by_hand():
    p = Value(1.0)
    opt = optim.SGD([p], lr=0.1, momentum=0.5)
    p.grad = 2.0
    opt.step()  # v = 2, p = 1 - 0.2
    p.grad = 2.0
    opt.step()  # v = 0.5 * 2 + 2 = 3, p = 0.8 - 0.3
    assert p.data == pytest.approx(0.5) and type(p.data) is float
    opt.zero_grad()
    assert p.grad == 0.0


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: optim.SGD([], lr=0.1), "empty parameter list"),
        (lambda: optim.SGD([Value(1.0)], lr=-1), "Invalid learning rate: -1"),
        (lambda: optim.SGD([Value(1.0)], lr=0.1, momentum=-0.5), "must be >= 0"),
        (lambda: optim.Adam([Value(1.0)], betas=(0.9, 1.0)), r"betas must be in \[0, 1\)"),
    ],
)
def test_optimizer_errors(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_optimizer_needs_values():
    with pytest.raises(TypeError, match="must be Values"):
        optim.SGD([np.ones(3)], lr=0.1)
