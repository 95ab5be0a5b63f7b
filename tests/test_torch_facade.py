"""A beginner's PyTorch, run on this engine with only the imports changed; then the model graduates
to real PyTorch (its state_dict loads there and gives the same outputs)."""

import numpy as np
import pytest

import tinygrad_edu.torch as torch  # was: import torch
import tinygrad_edu.torch.nn as nn  # was: import torch.nn as nn
import tinygrad_edu.torch.nn.functional as F  # was: import torch.nn.functional as F
import tinygrad_edu.torch.optim as optim  # was: import torch.optim as optim
from tinygrad_edu import Value, check_graph, gradcheck, trace_backward, viz


class TwoLayerNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(2, 4)
        self.output = nn.Linear(4, 1)

    def forward(self, x):
        x = torch.relu(self.hidden(x))
        x = torch.sigmoid(self.output(x))
        return x


def xor_tutorial(epochs: int = 2000):
    """The tutorial as written: data, model, BCELoss, Adam, the loop, then evaluation under no_grad."""
    X = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=torch.float32)
    y = torch.tensor([[0], [1], [1], [0]], dtype=torch.float32)
    torch.manual_seed(0)
    model = TwoLayerNetwork()
    criterion = nn.BCELoss()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    for _ in range(epochs):
        optimizer.zero_grad()
        outputs = model(X)
        loss = criterion(outputs, y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        pred = model(X)
        predicted = (pred > 0.5).float()
        accuracy = (predicted == y).float().mean()
    return model, X, y, loss, predicted, accuracy


def test_the_beginner_xor_tutorial_runs_unchanged_and_learns():
    model, X, y, loss, predicted, accuracy = xor_tutorial()
    assert accuracy.item() == 1.0 and predicted.numpy().ravel().tolist() == [0.0, 1.0, 1.0, 0.0]
    assert loss.item() < 0.05 and not model.training
    assert [n for n, _ in model.named_parameters()] == ["hidden.weight", "hidden.bias", "output.weight", "output.bias"]
    assert model.hidden.weight.shape == (4, 2) and model.output.bias.shape == (1,)
    assert "(hidden): Linear(in_features=2, out_features=4, bias=True)" in repr(model)


def test_the_tutorials_model_works_with_our_tools(tmp_path):
    model, X, y, *_ = xor_tutorial(epochs=50)
    loss = nn.BCELoss()(model(X), y)
    loss.backward()
    assert "hidden.weight" in viz.draw_graph(loss).source  # parameters are drawn under their PyTorch names
    assert len(trace_backward(loss).rows) > 5
    assert check_graph(loss).failures == []
    w = model.hidden.weight
    gradcheck(lambda w: nn.BCELoss()(torch.sigmoid(model.output(torch.relu(X @ w.T + model.hidden.bias))), y), w)


def test_graduation_real_pytorch_loads_the_state_dict_and_agrees():
    real = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3), nn.ReLU(), nn.Linear(3, 1))
    theirs = real.nn.Sequential(
        real.nn.Linear(2, 8), real.nn.Tanh(), real.nn.Linear(8, 3), real.nn.ReLU(), real.nn.Linear(3, 1)
    ).double()
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict())
    theirs.load_state_dict({k: real.from_numpy(v) for k, v in state.items()})
    X = np.random.default_rng(0).normal(size=(16, 2))
    np.testing.assert_allclose(
        ours(torch.tensor(X)).numpy(), theirs(real.from_numpy(X)).detach().numpy(), rtol=1e-12, atol=1e-12
    )
    back = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3), nn.ReLU(), nn.Linear(3, 1))
    back.load_state_dict(theirs.state_dict())  # and back again, from real tensors
    np.testing.assert_allclose(back(torch.tensor(X)).numpy(), ours(torch.tensor(X)).numpy(), rtol=0, atol=0)


@pytest.mark.parametrize(
    "make, make_real",
    [
        (
            lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
            lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
        ),
        (lambda p: optim.Adam(p, lr=0.05, weight_decay=0.1), lambda t, p: t.optim.Adam(p, lr=0.05, weight_decay=0.1)),
        (lambda p: optim.AdamW(p, lr=0.05), lambda t, p: t.optim.AdamW(p, lr=0.05)),
    ],
)
def test_optimizers_step_for_step_with_pytorch(make, make_real):
    real = pytest.importorskip("torch")
    torch.manual_seed(3)
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    theirs = real.nn.Sequential(real.nn.Linear(3, 4), real.nn.Tanh(), real.nn.Linear(4, 1)).double()
    theirs.load_state_dict({k: real.from_numpy(v) for k, v in ours.state_dict().items()})
    opt, real_opt = make(ours.parameters()), make_real(real, theirs.parameters())
    X, y = np.random.default_rng(1).normal(size=(8, 3)), np.random.default_rng(2).normal(size=(8, 1))
    for step in range(6):
        if step == 3:  # a schedule changes the learning rate through param_groups
            opt.param_groups[0]["lr"] *= 0.5
            real_opt.param_groups[0]["lr"] *= 0.5
        opt.zero_grad()
        nn.MSELoss()(ours(torch.tensor(X)), torch.tensor(y)).backward()
        opt.step()
        real_opt.zero_grad()
        real.nn.MSELoss()(theirs(real.from_numpy(X)), real.from_numpy(y)).backward()
        real_opt.step()
    for (name, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    assert opt.state_dict()["param_groups"][0]["lr"] == real_opt.state_dict()["param_groups"][0]["lr"]


def test_tensor_creation_and_seeding():
    assert torch.zeros(2, 3).shape == (2, 3) and torch.ones((4,)).numpy().tolist() == [1.0] * 4
    torch.manual_seed(5)
    a = torch.randn(3, 2)
    torch.manual_seed(5)
    assert np.array_equal(a.numpy(), torch.randn(3, 2).numpy()) and not a.requires_grad
    assert torch.rand(10).numpy().min() >= 0 and torch.tensor([1.0], requires_grad=True).requires_grad
    assert torch.linspace(-1, 1, 5).tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert torch.arange(3).tolist() == [0.0, 1.0, 2.0] and torch.arange(1, 2, 0.5).tolist() == [1.0, 1.5]
    with pytest.raises(ValueError, match="device='cpu'"):
        torch.zeros(2, device="cuda")


def test_tensor_manners_a_tutorial_uses():
    t = torch.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    assert t.size() == (2, 3) and t.size(1) == 3 and t.dim() == 2 and t.view(3, 2).shape == (3, 2)
    assert [row.tolist() for row in t] == [[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]  # iteration over rows
    values, indices = torch.max(t, 1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1.0, 0.0]
    _, predicted = torch.max(t.data, 1)  # outputs.data, as tutorials write it
    assert (predicted == torch.tensor([1, 0])).sum().item() == 2
    s = torch.sum(t, dim=0, keepdim=True)
    assert s.shape == (1, 3) and torch.mean(t).item() == pytest.approx(3.0)
    mask = t > 2
    assert mask.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]] and not mask.requires_grad and mask.parents == ()
    assert torch.softmax(t, dim=1).sum(dim=1).tolist() == pytest.approx([1.0, 1.0])
    d = t.detach()
    assert not d.requires_grad and d.parents == ()


def test_functional_and_loss_modules_match_our_losses():
    z = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0]], requires_grad=True)
    labels = torch.tensor([0, 2])
    assert nn.CrossEntropyLoss()(z, labels).item() == pytest.approx(F.cross_entropy(z, labels).item())
    p = torch.sigmoid(torch.tensor([0.3, -0.2]))
    t = torch.tensor([1.0, 0.0])
    assert F.binary_cross_entropy(p, t).item() == pytest.approx(nn.BCELoss()(p, t).item())
    assert F.mse_loss(p, t).item() == pytest.approx(nn.MSELoss()(p, t).item())
    assert nn.LeakyReLU(0.2)(torch.tensor([-1.0])).item() == pytest.approx(-0.2)
    assert nn.Identity()(t) is t and nn.GELU()(torch.tensor([0.0])).item() == 0.0
    with pytest.raises(ValueError, match="reduction='mean' or 'sum'"):
        nn.BCEWithLogitsLoss(reduction="none")


@pytest.mark.parametrize(
    "get, words",
    [
        (lambda: torch.cuda, "no 'cuda'; this teaching subset supports: tensor, zeros"),
        (lambda: nn.Conv3d, "no 'Conv3d'; this teaching subset supports: Module"),  # (Conv2d is, since #23)
        (lambda: F.interpolate, "no 'interpolate'"),  # (dropout is supported since issue #23)
        (lambda: optim.RMSprop, "no 'RMSprop'; this teaching subset supports: SGD, Adam, AdamW"),
    ],
)
def test_names_outside_the_subset_list_what_is_supported(get, words):
    with pytest.raises(AttributeError, match=words):
        get()


def test_a_module_must_call_super_init_first():
    class Forgot(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 1)

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\) in Forgot.__init__"):
        Forgot()


def test_no_grad_as_a_decorator_and_train_eval():
    @torch.no_grad()
    def predict(model, x):
        return model(x)

    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    assert not predict(model, torch.ones(1, 2)).requires_grad
    assert model(torch.ones(1, 2)).requires_grad
    model.eval()
    assert not model.training and not model[0].training
    model.train()
    assert model[1].training and len(model) == 2 and isinstance(model[0].weight, Value)


def newton_and_hvp(torch):
    """Second derivatives as PyTorch tutorials write them: Newton's method with torch.autograd.grad(...,
    create_graph=True), and a Hessian-vector product of a network's loss; run on either library."""
    x = torch.tensor(2.0, requires_grad=True)
    path = []
    for _ in range(6):
        y = x**4 - 2 * x**2
        (dy,) = torch.autograd.grad(y, x, create_graph=True)
        (d2y,) = torch.autograd.grad(dy, x)
        with torch.no_grad():
            x -= dy / d2y
        path.append(x.item())
    w = torch.tensor([[0.5, -0.3], [0.2, 0.8]], requires_grad=True)
    b = torch.tensor([0.1, -0.2], requires_grad=True)
    data = torch.tensor([[1.0, 2.0], [-1.0, 0.5], [0.3, -0.7]])
    loss = torch.tanh(data @ w + b).sum() ** 2
    grads = torch.autograd.grad(loss, [w, b], create_graph=True)
    v = [torch.tensor([[1.0, 0.0], [0.5, -1.0]]), torch.tensor([0.2, 0.3])]
    hv = torch.autograd.grad(sum((g * vi).sum() for g, vi in zip(grads, v)), [w, b], retain_graph=True)
    unused = torch.tensor(1.0, requires_grad=True)
    assert torch.autograd.grad(loss, [b, unused], allow_unused=True)[1] is None
    return path, [h.detach().numpy() for h in hv]


def test_second_derivatives_as_pytorch_tutorials_write_them_match_pytorch():
    ours_path, ours_hv = newton_and_hvp(torch)
    assert abs(ours_path[-1] - 1.0) < 1e-11
    real = pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")
    real.set_default_dtype(real.float64)
    try:
        theirs_path, theirs_hv = newton_and_hvp(real)
    finally:
        real.set_default_dtype(real.float32)
    np.testing.assert_allclose(ours_path, theirs_path, rtol=1e-12)
    for a, b in zip(ours_hv, theirs_hv):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
