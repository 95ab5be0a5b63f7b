"""The facade's image layers (Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d/2d) and Module buffers: PyTorch's names,
shapes, start, reprs and state_dict order; a real PyTorch model that loads our state_dict gives our outputs,
gradients, running statistics and optimizer steps, in training and in eval."""

import warnings

import numpy as np
import pytest

import tinygrad_edu.torch as ours

TIGHT = {"rtol": 1e-10, "atol": 1e-12}


class Net(ours.nn.Module):
    """The "Neural Networks" tutorial's LeNet, with 3x3 filters for 12x12 images (to stay fast): 12 -> conv 10 ->
    pool 5 -> conv 3 -> pool 1."""

    def __init__(self, torch):
        super().__init__()
        build_net(self, torch)

    def forward(self, input):
        F, torch = self.F, self.torch
        c1 = F.relu(self.conv1(input))
        s2 = F.max_pool2d(c1, (2, 2))
        c3 = F.relu(self.conv2(s2))
        s4 = F.max_pool2d(c3, 2)
        s4 = torch.flatten(s4, 1)
        f5 = F.relu(self.fc1(s4))
        f6 = F.relu(self.fc2(f5))
        return self.fc3(f6)


def build_net(self, torch) -> None:
    self.torch, self.F = torch, torch.nn.functional  # (plain attributes: neither library registers them)
    self.conv1 = torch.nn.Conv2d(1, 6, 3)
    self.conv2 = torch.nn.Conv2d(6, 16, 3)
    self.fc1 = torch.nn.Linear(16 * 1 * 1, 120)
    self.fc2 = torch.nn.Linear(120, 84)
    self.fc3 = torch.nn.Linear(84, 10)


def real_net(real):
    class RealNet(real.nn.Module):
        def __init__(self):
            super().__init__()
            build_net(self, real)

        forward = Net.forward

    RealNet.__name__ = "Net"  # (as its repr names it)
    return RealNet().double()


def bn_cnn(torch):
    """A small CNN with batch normalisation: (N, 2, 8, 8) -> conv 8 -> avg-pool 4 -> conv 2 -> 12 -> 5 -> 3."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(4, 3, 3, bias=False),
        nn.BatchNorm2d(3, momentum=None),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(12, 5),
        nn.BatchNorm1d(5),
        nn.Linear(5, 3),
    )


def twin(real, model, theirs):
    """``theirs`` given our state_dict, keys and shapes checked first."""
    state = model.state_dict()
    assert list(state) == list(theirs.state_dict())
    assert {k: v.shape for k, v in state.items()} == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    theirs.load_state_dict({k: real.from_numpy(np.asarray(v)) for k, v in state.items()})
    return theirs


def agree(real, model, theirs, x, labels) -> None:
    """Same loss, outputs and parameter gradients (gradients cleared first)."""
    model.zero_grad()
    theirs.zero_grad()
    mine, expected = model(ours.tensor(x)), theirs(real.from_numpy(x))
    np.testing.assert_allclose(mine.detach().numpy(), expected.detach().numpy(), **TIGHT)
    ours.nn.functional.cross_entropy(mine, ours.tensor(labels)).backward()
    real.nn.functional.cross_entropy(expected, real.tensor(labels)).backward()
    for (name, p), (their_name, q) in zip(model.named_parameters(), theirs.named_parameters(), strict=True):
        assert name == their_name
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), **TIGHT, err_msg=name)


def test_lenet_loads_into_pytorch_and_agrees_in_train_and_eval():
    real = pytest.importorskip("torch")
    ours.manual_seed(0)
    model = Net(ours)
    theirs = twin(real, model, real_net(real))
    x = np.random.default_rng(0).standard_normal((4, 1, 12, 12))
    for mode in (True, False):
        model.train(mode)
        theirs.train(mode)
        agree(real, model, theirs, x, [0, 3, 9, 3])


def test_batchnorm_cnn_three_training_steps_match_pytorch_then_eval():
    real = pytest.importorskip("torch")
    ours.manual_seed(1)
    model = bn_cnn(ours)
    model[1].weight.data += np.linspace(0.5, 1.5, 4)  # (not the ones and zeros it starts at)
    model[9].bias.data -= 0.3
    theirs = twin(real, model, bn_cnn(real).double())
    mine_opt = ours.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    their_opt = real.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(2)
    for _ in range(3):
        agree(real, model, theirs, rng.standard_normal((6, 2, 8, 8)) * 2 + 1, [0, 1, 2, 2, 1, 0])
        mine_opt.step()
        their_opt.step()
    for name, value in model.state_dict().items():  # parameters after the steps, running statistics, counts
        np.testing.assert_allclose(value, theirs.state_dict()[name].numpy(), **TIGHT, err_msg=name)
    assert model[5].num_batches_tracked.item() == 3
    assert not np.allclose(model[1].running_var.numpy(), 1.0)
    model.eval()
    theirs.eval()
    before = model.state_dict()
    agree(real, model, theirs, rng.standard_normal((2, 2, 8, 8)), [1, 2])
    for name, value in model.state_dict().items():  # eval uses the running statistics, changes none
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_our_model_loads_a_trained_pytorch_state_dict():
    real = pytest.importorskip("torch")
    theirs = bn_cnn(real).double()
    x = real.from_numpy(np.random.default_rng(5).standard_normal((4, 2, 8, 8)))
    theirs(x)  # (a training pass: running statistics and num_batches_tracked move)
    model = bn_cnn(ours)
    model.load_state_dict(theirs.state_dict())
    assert model[9].num_batches_tracked.item() == 1 and model[9].num_batches_tracked.dtype is ours.long
    model.eval()
    theirs.eval()
    np.testing.assert_allclose(model(x.numpy()).numpy(), theirs(x).detach().numpy(), **TIGHT)


def test_batchnorm_without_running_statistics_or_affine_matches_pytorch():
    real = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal((5, 3, 4))
    for settings in ({"track_running_stats": False}, {"affine": False}, {"bias": False}):
        mine, theirs = ours.nn.BatchNorm1d(3, **settings), real.nn.BatchNorm1d(3, **settings).double()
        assert repr(mine) == repr(theirs)
        assert list(mine.state_dict()) == list(theirs.state_dict())
        for mode in (True, False, True):
            mine.train(mode)
            theirs.train(mode)
            np.testing.assert_allclose(mine(x).numpy(), theirs(real.from_numpy(x)).detach().numpy(), **TIGHT)
        for name, value in mine.state_dict().items():
            np.testing.assert_allclose(value, theirs.state_dict()[name].numpy(), **TIGHT, err_msg=name)


def test_reprs_and_parameter_names_are_pytorchs():
    real = pytest.importorskip("torch")
    for mine, theirs in ((Net(ours), real_net(real)), (bn_cnn(ours), bn_cnn(real))):
        assert repr(mine) == repr(theirs)
        assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
        assert [n for n, _ in mine.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    for make in (
        lambda nn: nn.Conv2d(3, 8, (3, 2), stride=2, padding=1, bias=False),
        lambda nn: nn.MaxPool2d((2, 2), 1),
        lambda nn: nn.AvgPool2d(3, 2),
        lambda nn: nn.BatchNorm2d(6, eps=1e-3, momentum=0.2),
    ):
        assert repr(make(ours.nn)) == repr(make(real.nn))


def test_layers_start_as_pytorchs():
    ours.manual_seed(4)
    conv = ours.nn.Conv2d(5, 200, (3, 4))
    bound = 1 / np.sqrt(5 * 3 * 4)  # kaiming_uniform(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    w, b = conv.weight.numpy(), conv.bias.numpy()
    assert w.shape == (200, 5, 3, 4) and b.shape == (200,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound
    ours.manual_seed(4)
    assert np.array_equal(ours.nn.Conv2d(5, 200, (3, 4)).weight.numpy(), w)  # from the facade's generator
    bn = ours.nn.BatchNorm2d(3)
    assert bn.weight.tolist() == [1.0] * 3 and bn.bias.tolist() == [0.0] * 3
    assert bn.running_mean.tolist() == [0.0] * 3 and bn.running_var.tolist() == [1.0] * 3
    assert bn.num_batches_tracked.item() == 0 and bn.num_batches_tracked.dtype is ours.long
    assert [n for n, p in bn.named_parameters()] == ["weight", "bias"]  # buffers are not parameters


def test_state_dict_orders_buffers_as_pytorch_and_load_checks_them():
    model = ours.nn.Sequential(ours.nn.Linear(2, 3), ours.nn.BatchNorm1d(3))
    keys = "0.weight 0.bias 1.weight 1.bias 1.running_mean 1.running_var 1.num_batches_tracked".split()
    assert list(model.state_dict()) == keys
    state = model.state_dict()
    state["1.running_mean"] = np.array([1.0, 2.0, 3.0])
    state["1.num_batches_tracked"] = np.array(7)
    model.load_state_dict(state)
    assert model[1].running_mean.tolist() == [1.0, 2.0, 3.0] and model[1].num_batches_tracked.item() == 7
    model(np.ones((2, 2)))  # the loaded buffers are the ones training updates
    assert model[1].num_batches_tracked.item() == 8
    np.testing.assert_allclose(
        model[1].running_mean.numpy(),
        0.9 * np.array([1.0, 2.0, 3.0]) + 0.1 * (model[0].weight.numpy().sum(1) + model[0].bias.numpy()),
    )
    before = model.state_dict()
    bad = dict(before, **{"1.running_var": np.ones(4), "0.bias": np.zeros(3)})
    with pytest.raises(ValueError, match=r"1\.running_var has shape \(4,\)"):
        model.load_state_dict(bad)
    for name, value in model.state_dict().items():  # checked before anything changed
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    with pytest.raises(ValueError, match=r"missing keys \['1\.running_mean'\]"):
        model.load_state_dict({k: v for k, v in before.items() if k != "1.running_mean"})


def test_register_buffer():
    class Counter(ours.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("total", np.zeros(2))
            self.register_buffer("later", None)
            self.scale = ours.nn.Parameter(ours.ones(2))

    c = Counter()
    assert list(c.state_dict()) == ["scale", "total"]  # parameters first, then buffers; a None buffer is not saved
    c.later = ours.tensor([1.0, 2.0])  # assigning to a buffer's name keeps it a buffer
    c.total = np.array([3.0, 4.0])
    assert [n for n, _ in c.named_buffers()] == ["total", "later"] and c.total.tolist() == [3.0, 4.0]
    assert [n for n, _ in c.named_parameters()] == ["scale"]
    with pytest.raises(KeyError, match="'scale' already exists"):
        c.register_buffer("scale", np.zeros(2))
    with pytest.raises(KeyError, match="without '.'"):
        c.register_buffer("a.b", np.zeros(2))
    with pytest.raises(TypeError, match="cannot assign list to buffer 'total'"):
        c.total = [1.0, 2.0]


def test_bad_settings_are_named():
    nn = ours.nn
    with pytest.raises(ValueError, match="Conv2d in_channels"):
        nn.Conv2d(0, 3, 3)
    with pytest.raises(ValueError, match="Conv2d kernel_size"):
        nn.Conv2d(1, 3, (3, 0))
    with pytest.raises(ValueError, match="Conv2d padding"):
        nn.Conv2d(1, 3, 3, padding=-1)
    with pytest.raises(ValueError, match="MaxPool2d: only padding=0"):
        nn.MaxPool2d(2, padding=1)
    with pytest.raises(ValueError, match="AvgPool2d stride"):
        nn.AvgPool2d(2, stride=0)
    with pytest.raises(ValueError, match="BatchNorm2d momentum"):
        nn.BatchNorm2d(3, momentum=-0.1)
    with pytest.raises(ValueError, match="BatchNorm2d eps"):
        nn.BatchNorm2d(3, eps=0.0)
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(3)(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(np.ones((2, 3, 4, 4)))
    with pytest.raises(ValueError, match="the input has 2 channels"):
        nn.Conv2d(3, 2, 3)(np.ones((1, 2, 5, 5)))


def test_a_compiled_eval_step_of_a_facade_batchnorm_reads_the_running_statistics_anew():
    """compile must not freeze the running statistics it saw when tracing (buffers are leaves: read anew on every
    call, as the weights), nor the facade's dropout masks (the step runs eagerly, and says so)."""
    import tinygrad_edu
    from tinygrad_edu.compiler import CompileWarning

    ours.manual_seed(0)
    model = ours.nn.Sequential(ours.nn.Linear(4, 3), ours.nn.BatchNorm1d(3), ours.nn.Dropout(0.5))
    x = ours.tensor(np.random.default_rng(0).normal(size=(8, 4)))
    model(x)
    model.eval()
    compiled = tinygrad_edu.compile(lambda xb: model(xb).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        compiled(x)
        assert compiled.latest.step is not None  # compiled, not eager
    model.train()
    model(x * 3.0 + 1.0)  # the running statistics move
    model.eval()
    assert compiled(x).item() == model(x).sum().item()
    state = model.state_dict()
    state["1.running_var"] = state["1.running_var"] * 4.0
    model.load_state_dict(state)  # new arrays
    assert compiled(x).item() == model(x).sum().item()
    dropping = ours.nn.Sequential(model[0], model[2]).train()
    train_step = tinygrad_edu.compile(lambda xb: dropping(xb).sum())
    with pytest.warns(CompileWarning, match="a dropout mask"):
        train_step(x)


def unbatched_layers(lib, w, w1, modules):
    """Each layer that takes one example without the batch axis, as name: function of (C, H, W) (conv1d's of
    (C, H * W)); ``modules`` the nn layers (PyTorch's loaded with our parameters)."""
    F, t = lib.nn.functional, lib.tensor
    conv, conv1, max_pool, avg_pool = modules
    return {
        "F.conv2d": lambda x: F.conv2d(x, t(w), t(np.array([0.5, -1.0])), 2, (1, 0)),
        "nn.Conv2d": conv,
        "F.max_pool2d": lambda x: F.max_pool2d(x, (2, 3), 1),
        "nn.MaxPool2d": max_pool,
        "F.avg_pool2d": lambda x: F.avg_pool2d(x, 2, 1),
        "nn.AvgPool2d": avg_pool,
        "F.conv1d": lambda x: F.conv1d(lib.flatten(x, -2), t(w1), None, 3),
        "nn.Conv1d": lambda x: conv1(lib.flatten(x, -2)),
    }


def unbatched_modules(lib) -> list:
    nn = lib.nn
    conv, conv1 = nn.Conv2d(3, 2, (2, 3), stride=(1, 2), padding=1), nn.Conv1d(3, 2, 2, stride=2)
    return [conv, conv1, nn.MaxPool2d(2), nn.AvgPool2d((3, 2))]


def test_conv_and_pool_take_one_example_without_the_batch_axis_as_pytorch():
    """(C, H, W) and (C, L) go through as a batch of one: PyTorch's values and gradients (to the input, the filters
    and the biases), and each equals the batched layer's on x[None] with the batch axis removed."""
    real = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x, w, w1 = rng.standard_normal((3, 5, 6)), rng.standard_normal((2, 3, 2, 3)), rng.standard_normal((2, 3, 2))
    ours.manual_seed(6)
    modules, their_modules = unbatched_modules(ours), [m.double() for m in unbatched_modules(real)]
    for m, theirs in zip(modules[:2], their_modules[:2]):
        twin(real, m, theirs)
    mine, theirs = unbatched_layers(ours, w, w1, modules), unbatched_layers(real, w, w1, their_modules)
    for name, layer in mine.items():
        ours_x, their_x = ours.tensor(x, requires_grad=True), real.tensor(x, requires_grad=True)
        out, expected = layer(ours_x), theirs[name](their_x)
        assert out.shape == tuple(expected.shape) and out.ndim == x.ndim - ("1d" in name), name
        np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **TIGHT, err_msg=name)
        weights = rng.standard_normal(out.shape)
        (out * ours.tensor(weights)).sum().backward()
        (expected * real.from_numpy(weights)).sum().backward()
        assert ours_x.grad.shape == x.shape
        np.testing.assert_allclose(ours_x.grad.numpy(), their_x.grad.numpy(), **TIGHT, err_msg=name)
        batched = layer(ours.tensor(x[None]))
        np.testing.assert_array_equal(out.detach().numpy(), batched.detach().numpy()[0], err_msg=name)
    for m, their_m in zip(modules[:2], their_modules[:2]):
        for (name, p), (_, q) in zip(m.named_parameters(), their_m.named_parameters(), strict=True):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), **TIGHT, err_msg=name)


@pytest.mark.parametrize(
    "call, shape",
    [
        (lambda lib, x: lib.nn.functional.conv2d(x, lib.ones(2, 3, 2, 2, dtype=lib.float64)), (5, 5)),
        (lambda lib, x: lib.nn.functional.conv2d(x, lib.ones(2, 3, 2, 2, dtype=lib.float64)), (1, 1, 3, 5, 5)),
        (lambda lib, x: lib.nn.Conv2d(3, 2, 2).double()(x), (5,)),
        (lambda lib, x: lib.nn.functional.conv1d(x, lib.ones(2, 3, 2, dtype=lib.float64)), (5,)),
        (lambda lib, x: lib.nn.Conv1d(3, 2, 2).double()(x), (1, 2, 3, 5)),
        (lambda lib, x: lib.nn.functional.max_pool2d(x, 2), (5, 5)),
        (lambda lib, x: lib.nn.MaxPool2d(2)(x), (1, 1, 3, 5, 5)),
        (lambda lib, x: lib.nn.functional.avg_pool2d(x, 2), (1, 1, 3, 5, 5)),
        (lambda lib, x: lib.nn.AvgPool2d(2)(x), (5, 5)),  # (PyTorch's: an IndexError about dim -3)
    ],
)
def test_conv_and_pool_refuse_other_ranks_with_pytorchs_messages(call, shape):
    """Neither a batch nor one example: PyTorch's message (a ValueError here), and the shape it got."""
    real = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        call(real, real.ones(shape, dtype=real.float64))
    with pytest.raises(ValueError) as mine:
        call(ours, ours.ones(shape))
    message = str(mine.value)
    assert str(list(shape)) in message
    if isinstance(theirs.value, RuntimeError):  # PyTorch's message, or it with the shape added
        assert message == str(theirs.value) or message.startswith(str(theirs.value) + ", but got input of size")
    else:  # PyTorch's avg_pool2d's message for the ranks it does name
        with pytest.raises(RuntimeError) as five:
            real.nn.functional.avg_pool2d(real.ones(1, 1, 1, 1, 1), 2)
        assert message == str(five.value).replace(str([1] * 5), str(list(shape)))
