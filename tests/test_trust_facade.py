"""Issue #20, items 11-16: the PyTorch facade means what PyTorch means (GELU, Softplus, optimizers'
param_groups and state, unused parameters, autograd.grad's outputs, bad arguments), checked against real PyTorch."""

import functools
import math

import numpy as np
import pytest

import tinygrad_edu.torch as torch
import tinygrad_edu.torch.nn as nn
import tinygrad_edu.torch.nn.functional as F
import tinygrad_edu.torch.optim as optim
from tinygrad_edu import Value, functional, gradcheck, gradgradcheck
from tinygrad_edu import optim as core_optim


def _real():
    return pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")


X = np.array([-7.0, -3.1, -1.2, -0.4, 0.0, 0.3, 0.9, 2.2, 4.5, 21.0, 30.0])


def _against_torch(ours_fn, theirs_fn, x=X):
    """Values and gradients (for a random upstream gradient) of ours and PyTorch's, to 1e-10."""
    real = _real()
    v, t = Value(x), real.tensor(x, requires_grad=True)
    out, ref = ours_fn(v), theirs_fn(t)
    got = np.asarray(out.numbers)  # (a facade's tensor shows its numbers as a tensor in .data)
    np.testing.assert_allclose(got, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    up = np.cos(np.arange(got.size) + 0.5).reshape(got.shape)
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


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.GELU("erf")(torch.tensor([1.0])),
        lambda: F.gelu(torch.tensor(1.0), "x"),
        lambda: functional.gelu(Value(np.ones(2)), approximate=None),
    ],
)
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
    _against_torch(
        lambda v: F.softplus(v, beta=beta, threshold=threshold),
        lambda t: real.nn.functional.softplus(t, beta=beta, threshold=threshold),
    )


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


# ---------------------------------------------------------------- items 13, 14: optimizers as PyTorch's


def _net(nnlib):
    """The same network in either library: a body and two heads; ``use_b=False`` leaves head b unused."""

    class Net(nnlib.Module):
        def __init__(self):
            super().__init__()
            self.body, self.a, self.b = nnlib.Linear(3, 4), nnlib.Linear(4, 2), nnlib.Linear(4, 2)

        def forward(self, x, use_b=True):
            h = nnlib.Tanh()(self.body(x))
            return self.a(h) + self.b(h) if use_b else self.a(h)

    return Net()


def _twins(seed: int = 0):
    real = _real()
    torch.manual_seed(seed)
    ours, theirs = _net(nn), _net(real.nn).double()
    theirs.load_state_dict({k: real.from_numpy(v) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(seed)
    return real, ours, theirs, rng.normal(size=(6, 3)), rng.normal(size=(6, 2))


def _train_step(real, ours, theirs, opt, real_opt, X, y, use_b=True, set_to_none=True):
    opt.zero_grad(set_to_none=set_to_none)
    loss = nn.MSELoss()(ours(torch.tensor(X), use_b), torch.tensor(y))
    loss.backward()
    opt.step()
    real_opt.zero_grad(set_to_none=set_to_none)
    real_loss = real.nn.MSELoss()(theirs(real.from_numpy(X), use_b), real.from_numpy(y))
    real_loss.backward()
    real_opt.step()
    assert loss.item() == pytest.approx(real_loss.item(), rel=1e-12, abs=1e-14)


def _same_parameters(ours, theirs, tol=1e-12):
    for (name, a), b in zip(ours.state_dict().items(), theirs.state_dict().values(), strict=True):
        np.testing.assert_allclose(a, b.numpy(), rtol=tol, atol=tol, err_msg=name)


OPTIMIZERS = {  # name: (ours, PyTorch's), each called with (module, params)
    "sgd": (lambda lib, ps: lib.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01)),
    "sgd_nesterov": (lambda lib, ps: lib.SGD(ps, lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.1)),
    "sgd_dampening": (lambda lib, ps: lib.SGD(ps, lr=0.05, momentum=0.7, dampening=0.3)),
    "adam": (lambda lib, ps: lib.Adam(ps, lr=0.05, weight_decay=0.1)),
    "adam_amsgrad": (lambda lib, ps: lib.Adam(ps, lr=0.05, betas=(0.8, 0.9), amsgrad=True, maximize=True)),
    "adamw": (lambda lib, ps: lib.AdamW(ps, lr=0.05, weight_decay=0.2)),
}
CHANGES = {  # a schedule that changes each setting an optimizer has, in param_groups[i]
    "SGD": [("momentum", 0.3), ("weight_decay", 0.2), ("lr", 0.02), ("dampening", 0.5), ("momentum", 0.0)],
    "Adam": [("betas", (0.5, 0.8)), ("eps", 1e-3), ("weight_decay", 0.3), ("lr", 0.01), ("maximize", True)],
    "AdamW": [("betas", (0.5, 0.8)), ("eps", 1e-3), ("weight_decay", 0.3), ("lr", 0.01), ("maximize", True)],
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_item13_every_setting_is_read_from_its_group_at_each_step(name):
    real, ours, theirs, X, y = _twins(1)
    make = OPTIMIZERS[name]

    def groups(model):  # three groups, one with an lr of its own
        return [
            {"params": list(model.body.parameters())},
            {"params": list(model.a.parameters()), "lr": 0.02},
            {"params": list(model.b.parameters())},
        ]

    opt, real_opt = make(optim, groups(ours)), make(real.optim, groups(theirs))
    changes = CHANGES[type(opt).__name__]
    for step in range(len(changes) * 2):
        if step % 2 == 1:
            key, value = changes[step // 2]
            if key in ("dampening", "momentum") and opt.param_groups[step % 3].get("nesterov"):
                continue  # Nesterov needs a momentum and zero dampening (ours says so at each step)
            opt.param_groups[step % 3][key] = real_opt.param_groups[step % 3][key] = value
        _train_step(real, ours, theirs, opt, real_opt, X, y)
        _same_parameters(ours, theirs)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_item13_add_param_group_and_state_dict_loads_into_pytorch(name):
    """A real PyTorch optimizer loads our state_dict (arrays made tensors) and the next steps agree to 1e-12."""
    real, ours, theirs, X, y = _twins(2)
    make = OPTIMIZERS[name]
    opt, real_opt = make(optim, ours.body.parameters()), make(real.optim, theirs.body.parameters())
    _train_step(real, ours, theirs, opt, real_opt, X, y)
    opt.add_param_group({"params": list(ours.a.parameters()) + list(ours.b.parameters()), "lr": 0.03})
    real_opt.add_param_group({"params": list(theirs.a.parameters()) + list(theirs.b.parameters()), "lr": 0.03})
    for _ in range(3):
        _train_step(real, ours, theirs, opt, real_opt, X, y)
    saved = opt.state_dict()
    assert saved["param_groups"][1]["params"] == [2, 3, 4, 5] and saved["param_groups"][1]["lr"] == 0.03
    theirs_keys = {k for g in real_opt.state_dict()["param_groups"] for k in g}
    assert {k for g in saved["param_groups"] for k in g} == theirs_keys
    fresh = make(
        real.optim,
        [
            {"params": list(theirs.body.parameters())},
            {"params": list(theirs.a.parameters()) + list(theirs.b.parameters())},
        ],
    )
    tensors = {i: {k: real.as_tensor(v) for k, v in s.items()} for i, s in saved["state"].items()}
    fresh.load_state_dict({"state": tensors, "param_groups": saved["param_groups"]})
    for _ in range(3):
        _train_step(real, ours, theirs, opt, fresh, X, y)
        _same_parameters(ours, theirs)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_item13_ours_loads_a_real_pytorch_optimizers_state_dict(name):
    real, ours, theirs, X, y = _twins(3)
    make = OPTIMIZERS[name]
    real_opt = make(real.optim, theirs.parameters())
    for _ in range(3):
        real_opt.zero_grad()
        real.nn.MSELoss()(theirs(real.from_numpy(X)), real.from_numpy(y)).backward()
        real_opt.step()
    real_opt.param_groups[0]["lr"] = 0.07
    ours.load_state_dict(theirs.state_dict())
    opt = make(optim, ours.parameters())
    opt.load_state_dict(real_opt.state_dict())
    assert opt.param_groups[0]["lr"] == 0.07 and opt.param_groups[0]["params"][0] is ours.body.weight
    for _ in range(3):
        _train_step(real, ours, theirs, opt, real_opt, X, y)
        _same_parameters(ours, theirs)


def test_item13_a_bad_optimizer_state_dict_is_refused_and_changes_nothing():
    w = Value(np.ones(3))
    opt = core_optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    before = opt.state_dict()
    bad_shape = {"state": {0: {**before["state"][0], "exp_avg": np.zeros(4)}}, "param_groups": before["param_groups"]}
    other = {"state": {0: {"momentum_buffer": np.zeros(3)}}, "param_groups": before["param_groups"]}
    for bad, error, words in [
        (None, TypeError, "a dict with 'state' and 'param_groups', got NoneType"),
        (bad_shape, ValueError, r"'exp_avg' for parameter 0 has shape \(4,\), the parameter"),
        (other, ValueError, "'momentum_buffer', which Adam does not keep"),
        ({"state": {}, "param_groups": []}, ValueError, "0 parameter groups, this optimizer 1"),
        (
            {"state": {}, "param_groups": [{**before["param_groups"][0], "lr": -1.0}]},
            ValueError,
            "Invalid learning rate: -1.0",
        ),
    ]:
        with pytest.raises(error, match=words):
            opt.load_state_dict(bad)
        assert opt.param_groups[0]["lr"] == 0.1
        np.testing.assert_array_equal(opt.state[w]["exp_avg"], before["state"][0]["exp_avg"])


def test_item13_a_bad_setting_in_param_groups_is_refused_at_step_naming_the_group():
    w = Value(np.ones(2))
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    (w * w).sum().backward()
    opt.param_groups[0]["momentum"] = -0.5
    with pytest.raises(ValueError, match=r"param_groups\[0\] momentum must be >= 0"):
        opt.step()
    assert w.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w]})


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_item14_a_parameter_without_gradient_is_skipped_as_in_pytorch(name):
    """Head b is unused at some steps: PyTorch skips it (grad None): no weight decay, no momentum, no Adam step."""
    real, ours, theirs, X, y = _twins(4)
    make = OPTIMIZERS[name]
    opt, real_opt = make(optim, ours.parameters()), make(real.optim, theirs.parameters())
    for use_b in [True, False, False, True, False, True, True, False]:
        _train_step(real, ours, theirs, opt, real_opt, X, y, use_b=use_b)
        _same_parameters(ours, theirs)
    b_before = ours.b.weight.numpy().copy()
    _train_step(real, ours, theirs, opt, real_opt, X, y, use_b=False)
    np.testing.assert_array_equal(ours.b.weight.numpy(), b_before)  # untouched, momentum and decay included
    for use_b in (True, False):  # set_to_none=False: b's gradient from the step before becomes zeros, still decayed
        _train_step(real, ours, theirs, opt, real_opt, X, y, use_b=use_b, set_to_none=False)
        _same_parameters(ours, theirs)
    if name != "sgd_dampening":  # (no decay and no momentum yet there: zeros move nothing)
        assert not np.array_equal(ours.b.weight.numpy(), b_before)


def test_item14_the_skipped_parameter_is_the_one_no_backward_reached():
    """Our .grad reads zeros when no gradient arrived (PRODUCT.md's contract); the optimizer tells the two apart."""
    used, unused = Value(np.array([1.0, 2.0])), Value(np.array([3.0, 4.0]))
    opt = core_optim.SGD([used, unused], lr=0.1, weight_decay=0.5)
    opt.zero_grad()
    (used * 0.0).sum().backward()  # a zero gradient is a gradient: decayed
    assert unused.grad.tolist() == [0.0, 0.0]
    opt.step()
    assert used.tolist() == [0.95, 1.9] and unused.tolist() == [3.0, 4.0]


# ---------------------------------------------------------------- item 15: autograd.grad of a non-scalar output


def test_item15_autograd_grad_needs_a_grad_output_for_a_non_scalar_output():
    x, y = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor(3.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs: output 0"):
        torch.autograd.grad([x * x, y], [x])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        torch.autograd.grad(x * x, x)
    with pytest.raises(RuntimeError, match="got 2 tensors and 1 gradients"):
        torch.autograd.grad([x.sum(), y * y], [x, y], grad_outputs=torch.tensor(1.0))
    with pytest.raises(RuntimeError, match=r"grad_output\[1\] has a shape of \(2,\) and output\[1\] has a shape"):
        torch.autograd.grad([x.sum(), y * y], [x, y], grad_outputs=[None, torch.ones(2)])
    (gx,) = torch.autograd.grad([x * x, y * x.sum()], [x], grad_outputs=[torch.tensor([1.0, -1.0]), None])
    assert gx.tolist() == [2.0 + 3.0, -4.0 + 3.0]


# ---------------------------------------------------------------- item 16: wrong calls, and lr=0


def test_item16_sequential_refuses_what_is_not_a_module():
    with pytest.raises(TypeError, match="int is not a Module subclass: Sequential's argument 1 is 5"):
        nn.Sequential(nn.Linear(3, 2), 5)
    with pytest.raises(TypeError, match="function is not a Module subclass"):
        nn.Sequential(nn.Linear(3, 2), torch.relu)


def test_item16_load_state_dict_of_none_says_what_it_needs():
    model = nn.Linear(3, 2)
    before = model.weight.numpy().copy()
    for bad in (None, [("weight", before)]):
        with pytest.raises(TypeError, match=f"needs a dict of parameter names to arrays .*, got {type(bad).__name__}"):
            model.load_state_dict(bad)
    np.testing.assert_array_equal(model.weight.numpy(), before)


def test_item16_lr_zero_is_accepted_and_a_negative_lr_refused_as_in_pytorch():
    real = _real()
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0, momentum=0.9)
    (w * w).sum().backward()
    opt.step()
    assert w.tolist() == [1.0, -2.0] and real.optim.SGD([real.zeros(1, requires_grad=True)], lr=0)
    for make in (lambda: optim.SGD([w], lr=-0.1), lambda: core_optim.Adam([w], lr=-0.1)):
        with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
            make()
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        real.optim.SGD([real.zeros(1, requires_grad=True)], lr=-0.1)


def test_loss_modules_and_functions_reduce_as_pytorch():
    """reduction='sum' and 'none' (d2l's classifier calls F.cross_entropy(..., reduction='none')), as modules and as
    functions, values and gradients; a reduction a loss does not support here is refused, not ignored."""
    real = _real()
    z = np.array([[0.3, -1.2, 2.0], [0.5, 0.1, -0.4]])
    cases = [
        ("MSELoss", "mse_loss", np.ones((2, 3)), real.ones(2, 3, dtype=real.float64), ("sum", "none")),
        ("BCEWithLogitsLoss", "binary_cross_entropy_with_logits", np.full((2, 3), 0.25),
         real.full((2, 3), 0.25, dtype=real.float64), ("sum",)),
        ("CrossEntropyLoss", "cross_entropy", np.array([2, 0]), real.tensor([2, 0]), ("sum", "none")),
    ]  # fmt: skip
    for make, function, target, real_target, reductions in cases:
        for reduction in reductions:
            ours, theirs = getattr(nn, make)(reduction=reduction), getattr(real.nn, make)(reduction=reduction)
            _against_torch(
                lambda v, f=ours, t=target: f(v, torch.tensor(t)), lambda v, f=theirs, t=real_target: f(v, t), z
            )
            ours_f = functools.partial(getattr(F, function), reduction=reduction)
            theirs_f = functools.partial(getattr(real.nn.functional, function), reduction=reduction)
            _against_torch(
                lambda v, f=ours_f, t=target: f(v, torch.tensor(t)), lambda v, f=theirs_f, t=real_target: f(v, t), z
            )
    with pytest.raises(ValueError, match="only reduction='mean' or 'sum' is supported here, got 'none'"):
        nn.BCEWithLogitsLoss(reduction="none")
    with pytest.raises(ValueError, match="only reduction='mean' or 'sum' is supported here, got 'none'"):
        F.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(np.full((2, 3), 0.25)), reduction="none")
