"""The main API's next layers (#23): Conv2d, pooling, BatchNorm, LayerNorm, Dropout, Embedding, Flatten, Activation
and Sequential. Outputs and gradients against real PyTorch (float64, 1e-10), our gradcheck on a small CNN and a
BatchNorm MLP, train/eval modes, train.fit on the digits, save/load with buffers, compile, and bad inputs."""

import time
import warnings

import numpy as np
import pytest

import tinygrad_edu
from tinygrad_edu import data, gradcheck, nn, train
from tinygrad_edu.compiler import CompileWarning
from tinygrad_edu.engine import Value

torch = pytest.importorskip("torch")


def _ours_and_torch(layer, x, torch_layer, params):
    """Run both on x with a random upstream gradient; return (ours, theirs) outputs and gradients (x first)."""
    xo, xt = Value(x), torch.tensor(x, requires_grad=True)
    out = layer(xo)
    g = np.random.default_rng(1).normal(size=out.shape)
    (out * g).sum().backward()
    tout = torch_layer(xt)
    (tout * torch.tensor(g)).sum().backward()
    ours = [out.numbers, xo.grad] + [p.grad for p, _ in params]
    theirs = [tout.detach().numpy(), xt.grad.numpy()] + [t.grad.numpy() for _, t in params]
    return ours, theirs


def _copy(ours: Value, theirs) -> tuple:
    with torch.no_grad():
        theirs.copy_(torch.tensor(ours.numbers))
    return ours, theirs


def _assert_close(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), ((1, 2), (0, 1))])
def test_conv2d_output_and_gradients_equal_pytorch(stride, padding):
    conv = nn.Conv2d(3, 4, (3, 2), stride=stride, padding=padding, seed=0)
    tconv = torch.nn.Conv2d(3, 4, (3, 2), stride=stride, padding=padding).double()
    params = [_copy(conv.w, tconv.weight), _copy(conv.b, tconv.bias)]
    x = np.random.default_rng(0).normal(size=(2, 3, 7, 6))
    _assert_close(*_ours_and_torch(conv, x, tconv, params))


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
        (nn.MaxPool2d(3, stride=2), torch.nn.MaxPool2d(3, stride=2)),
        (nn.AvgPool2d(2), torch.nn.AvgPool2d(2)),
        (nn.AvgPool2d((2, 3), stride=1), torch.nn.AvgPool2d((2, 3), stride=1)),
        (nn.Flatten(), torch.nn.Flatten()),
        (nn.Activation("relu"), torch.nn.ReLU()),
        (nn.Activation("leaky_relu", alpha=0.1), torch.nn.LeakyReLU(0.1)),
    ],
    ids=repr,
)
def test_layers_without_parameters_equal_pytorch(ours, theirs):
    x = np.random.default_rng(2).normal(size=(2, 3, 7, 6))
    _assert_close(*_ours_and_torch(ours, x, theirs, []))


@pytest.mark.parametrize(
    "cls, shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (5, 3, 4)), ("BatchNorm2d", (4, 3, 5, 5))]
)
def test_batchnorm_training_then_eval_equals_pytorch_with_running_statistics(cls, shape):
    bn, tbn = getattr(nn, cls)(3, momentum=0.2), getattr(torch.nn, cls)(3, momentum=0.2).double()
    rng = np.random.default_rng(3)
    bn.gamma.data, bn.beta.data = rng.normal(size=3), rng.normal(size=3)
    params = [_copy(bn.gamma, tbn.weight), _copy(bn.beta, tbn.bias)]
    for _ in range(3):  # the running statistics move the same way over several batches
        bn.zero_grad(), tbn.zero_grad()
        x = rng.normal(2.0, 3.0, size=shape)
        _assert_close(*_ours_and_torch(bn, x, tbn, params))
    np.testing.assert_allclose(bn.running_mean.numbers, tbn.running_mean.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(bn.running_var.numbers, tbn.running_var.numpy(), rtol=0, atol=1e-12)
    assert not np.allclose(bn.running_mean.numbers, 0.0)
    bn.eval(), tbn.eval()
    bn.zero_grad(), tbn.zero_grad()
    _assert_close(*_ours_and_torch(bn, rng.normal(size=shape), tbn, params))


def test_layernorm_equals_pytorch():
    ln, tln = nn.LayerNorm((3, 4)), torch.nn.LayerNorm((3, 4)).double()
    rng = np.random.default_rng(4)
    ln.gamma.data, ln.beta.data = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    params = [_copy(ln.gamma, tln.weight), _copy(ln.beta, tln.bias)]
    _assert_close(*_ours_and_torch(ln, rng.normal(size=(2, 3, 4)), tln, params))


def test_embedding_equals_pytorch_repeated_rows_summed():
    emb = nn.Embedding(5, 3, seed=0)
    temb = torch.nn.Embedding(5, 3).double()
    _copy(emb.w, temb.weight)
    idx = np.array([[0, 2, 2], [4, 0, 2]])
    out, tout = emb(idx), temb(torch.tensor(idx))
    g = np.random.default_rng(5).normal(size=out.shape)
    (out * g).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    _assert_close([out.numbers, emb.w.grad], [tout.detach().numpy(), temb.weight.grad.numpy()])


def test_dropout_in_training_is_a_scaled_mask_and_the_identity_in_eval():
    drop = nn.Dropout(0.25, seed=0)
    x = Value(np.random.default_rng(6).normal(size=(200, 50)))
    out = drop(x)
    out.sum().backward()
    kept = out.numbers != 0
    assert 0.70 < kept.mean() < 0.80  # about 1 - p of 10000 elements kept
    np.testing.assert_allclose(out.numbers[kept], x.numbers[kept] / 0.75, rtol=1e-15)
    np.testing.assert_array_equal(x.grad, kept / 0.75)  # d/dx = the mask, scaled
    assert not np.array_equal(drop(x).numbers != 0, kept)  # a fresh mask every call
    again = nn.Dropout(0.25, seed=0)
    np.testing.assert_array_equal(again(x).numbers, out.numbers)  # the same seed, the same masks
    drop.eval()
    assert drop(x) is x
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).numbers, 0.0)  # p = 1 zeroes all, as in PyTorch


def _cnn(seed=0, dropout=0.0):
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, seed=seed),
        nn.BatchNorm2d(8),
        nn.Activation("relu"),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, seed=seed + 1),
        nn.Activation("relu"),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(dropout, seed=seed),
        nn.Layer(64, 10, activation=None, seed=seed + 2),
    )


def test_a_sequential_cnn_equals_the_same_pytorch_model_in_training_and_eval():
    ours = _cnn()
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(64, 10),
    ).double()  # fmt: skip
    pairs = [(ours[0].w, theirs[0].weight), (ours[0].b, theirs[0].bias), (ours[1].gamma, theirs[1].weight)]
    pairs += [(ours[1].beta, theirs[1].bias), (ours[4].w, theirs[4].weight), (ours[4].b, theirs[4].bias)]
    _copy(*pairs[0])
    for o, t in pairs:
        _copy(o, t)
    with torch.no_grad():
        theirs[8].weight.copy_(torch.tensor(ours[9].w.numbers.T))
        theirs[8].bias.copy_(torch.tensor(ours[9].b.numbers))
    x = np.random.default_rng(7).normal(size=(4, 1, 8, 8))
    ours_out, theirs_out = _ours_and_torch(ours, x, theirs, pairs)
    _assert_close(ours_out, theirs_out)
    np.testing.assert_allclose(ours[9].w.grad, theirs[8].weight.grad.numpy().T, rtol=0, atol=1e-10)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(x).numbers, theirs(torch.tensor(x)).detach().numpy(), rtol=0, atol=1e-10)


def test_gradcheck_a_small_cnn_and_a_batchnorm_mlp():
    cnn = nn.Sequential(
        nn.Conv2d(1, 2, 3, seed=0), nn.Activation("tanh"), nn.MaxPool2d(2), nn.Flatten(), nn.Layer(8, 3, seed=1)
    )
    x = np.random.default_rng(8).normal(size=(2, 1, 6, 6))
    gradcheck(lambda x, *params: (cnn(x) ** 2).sum(), x, *cnn.parameters())
    mlp = nn.Sequential(
        nn.Layer(4, 5, activation=None, seed=2), nn.BatchNorm1d(5), nn.Activation("tanh"), nn.Layer(5, 2, seed=3)
    )
    mlp[1].gamma.data = np.random.default_rng(9).normal(size=5)
    x = np.random.default_rng(10).normal(size=(6, 4))
    gradcheck(lambda x, *params: (mlp(x) ** 2).sum(), x, *mlp.parameters())


def test_train_and_eval_reach_every_sub_module_and_the_facade_keeps_its_own():
    class Net(nn.Module):
        def __init__(self):
            self.features = _cnn(dropout=0.5)
            self.heads = [nn.Dropout(0.1), nn.Layer(10, 2)]

        def forward(self, x):
            return self.heads[1](self.heads[0](self.features(x)))

    net = Net()
    everything = list(net.modules())
    assert len(everything) == 1 + 1 + 10 + 2
    assert all(m.training for m in everything)
    assert net.eval() is net and not any(m.training for m in everything)
    net.train()
    assert all(m.training for m in everything)
    x = np.random.default_rng(11).normal(size=(3, 1, 8, 8))
    net.eval()
    np.testing.assert_array_equal(net(x).numbers, net(x).numbers)  # eval: no dropout, running statistics
    import tinygrad_edu.torch as ours_torch

    facade = ours_torch.nn.Sequential(ours_torch.nn.Dropout(0.5), ours_torch.nn.BatchNorm1d(3))
    facade.eval()
    assert not facade.training and not facade[0].training and not facade[1].training
    facade.train()
    assert facade[0].training and facade[1].training
    facade[0].eval()
    X, y = np.random.default_rng(13).normal(size=(40, 3)), np.arange(40) % 3
    train.fit(facade, X, y, loss="cross_entropy", steps=5, batch_size=8)
    assert [m.training for m in facade.modules()] == [True, False, True]  # as it was
    assert facade[1].num_batches_tracked.item() == 5  # one per step: fit's check on all rows runs in eval mode


def _digits_images():
    X, y = data.digits()
    return X.reshape(-1, 1, 8, 8) / 16.0, y


def test_fit_trains_a_cnn_on_the_digits_in_training_mode_and_answers_in_eval_mode():
    X, y = _digits_images()
    model = _cnn(seed=0, dropout=0.1)
    model.eval()
    model[8].train()  # a user's own mix of modes is given back as it was
    modes_before = [m.training for m in model.modules()]
    seen = []
    start = time.perf_counter()
    history = train.fit(
        model, X[:1500], y[:1500], loss="cross_entropy", lr=0.01, steps=300, batch_size=32, seed=0,
        on_step=lambda step, loss: seen.append([m.training for m in model.modules()]),
    )  # fmt: skip
    seconds = time.perf_counter() - start
    assert all(all(modes) for modes in seen)  # every step in training mode
    assert [m.training for m in model.modules()] == modes_before
    assert not np.allclose(model[1].running_mean.numbers, 0.0)  # the running statistics were moved
    assert np.mean(history[-20:]) < 0.5 * np.mean(history[:20])
    held_out = train.accuracy(model, X[1500:], y[1500:])
    assert held_out > 0.9, held_out  # measured 0.939 (297 held-out digits; chance is 0.1)
    assert [m.training for m in model.modules()] == modes_before
    model.train()
    first = train.outputs(model, X[1500:])  # eval mode inside: the same answer twice, dropout off
    np.testing.assert_array_equal(first, train.outputs(model, X[1500:]))
    assert all(m.training for m in model.modules())
    assert seconds < 10, seconds


def test_save_and_load_round_trip_with_the_running_statistics(tmp_path):
    X, _ = _digits_images()
    model = _cnn(seed=0)
    for start in (0, 32, 64):
        model(X[start : start + 32])
    state = model.state_dict()
    assert {"layers.1.running_mean", "layers.1.running_var"} <= set(state)
    assert "layers.1.running_mean" not in dict(model.named_parameters())  # a buffer: no gradient, not learned
    assert all(p is not model[1].running_mean for p in model.parameters())
    model.eval()
    expected = model(X[:50]).numbers
    model.save(tmp_path / "cnn.npz")
    fresh = _cnn(seed=5).eval()
    assert not np.allclose(fresh(X[:50]).numbers, expected)
    fresh.load(tmp_path / "cnn.npz")
    np.testing.assert_array_equal(fresh[1].running_var.numbers, model[1].running_var.numbers)
    np.testing.assert_array_equal(fresh(X[:50]).numbers, expected)
    bad = dict(state)
    bad["layers.1.running_var"] = np.ones(3)
    with pytest.raises(ValueError, match=r"layers.1.running_var has shape \(3,\)"):
        fresh.load_state_dict(bad)
    np.testing.assert_array_equal(fresh(X[:50]).numbers, expected)  # a bad state changes nothing


def _small(batchnorm: bool):
    layers = [nn.Conv2d(1, 4, 3, seed=0), nn.BatchNorm2d(4)] if batchnorm else [nn.Conv2d(1, 4, 3, seed=0)]
    layers += [nn.Activation("relu"), nn.Flatten(), nn.Dropout(0.3, seed=0), nn.Layer(144, 10, activation=None, seed=1)]
    return nn.Sequential(*layers)


@pytest.mark.parametrize("batchnorm", [True, False], ids=["batchnorm and dropout", "dropout"])
def test_a_compiled_training_step_with_dropout_runs_eagerly_with_a_warning_and_equals_eager(batchnorm):
    X, y = _digits_images()
    twins = [_small(batchnorm) for _ in range(2)]
    opts = [tinygrad_edu.optim.SGD(m.parameters(), lr=0.1) for m in twins]
    compiled = tinygrad_edu.compile(lambda xb, yb: tinygrad_edu.losses.cross_entropy(twins[1](xb), yb))
    for start in range(0, 160, 32):
        xb, yb = X[start : start + 32], y[start : start + 32]
        opts[0].zero_grad()
        eager = tinygrad_edu.losses.cross_entropy(twins[0](xb), yb)
        eager.backward()
        opts[0].step()
        opts[1].zero_grad()
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            loss = compiled(xb, yb)
        opts[1].step()
        messages = [str(w.message) for w in said if issubclass(w.category, CompileWarning)]
        if start == 0:  # said once, at the first call
            assert len(messages) == 1 and ("running statistics" if batchnorm else "a dropout mask") in messages[0]
        else:
            assert messages == []
        assert loss.item() == eager.item()  # the same fresh mask each step, the same running statistics
    for (name, a), (_, b) in zip(twins[0].state_dict().items(), twins[1].state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_a_compiled_eval_step_follows_running_statistics_changed_later():
    X, y = _digits_images()
    model = _small(batchnorm=True)
    model(X[:64])
    model.eval()
    compiled = tinygrad_edu.compile(lambda xb: model(xb).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)  # compiled: the running statistics are leaves, read anew
        compiled(X[:32])
    model.train()
    model(X[64:128])  # the running statistics move (in place)
    model.eval()
    assert compiled(X[:32]).item() == model(X[:32]).sum().item()
    state = model.state_dict()
    state["layers.1.running_mean"] = state["layers.1.running_mean"] + 1.0
    model.load_state_dict(state)  # new arrays
    assert compiled(X[:32]).item() == model(X[:32]).sum().item()


@pytest.mark.parametrize(
    "make, x, message",
    [
        (lambda: nn.Conv2d(3, 4, 3), np.zeros((2, 1, 5, 5)), r"Conv2d\(3 -> 4.*expects 3 channels.*\(2, 1, 5, 5\)"),
        (lambda: nn.Conv2d(1, 4, 3), np.zeros((1, 5, 5)), r"Conv2d\(1 -> 4.*\(N, C, H, W\), got shape \(1, 5, 5\)"),
        (lambda: nn.Conv2d(1, 4, 7), np.zeros((1, 1, 5, 5)), r"conv2d: the kernel 7x7 is larger than the input 5x5"),
        (lambda: nn.MaxPool2d(2), np.zeros((4, 4)), r"MaxPool2d.*\(N, C, H, W\), got shape \(4, 4\)"),
        (lambda: nn.BatchNorm2d(3), np.zeros((2, 4, 5, 5)), r"BatchNorm2d\(3.*expects 3 channels"),
        (lambda: nn.BatchNorm1d(3), np.zeros((2, 3, 1, 1)), r"BatchNorm1d\(3.*\(N, C\) or \(N, C, L\)"),
        (lambda: nn.LayerNorm(4), np.zeros((2, 3)), r"LayerNorm\(\(4,\).*last axes are \(4,\), got shape \(2, 3\)"),
        (lambda: nn.Flatten(), np.zeros(3), r"Flatten expects a batch"),
    ],
)
def test_a_wrong_input_is_refused_naming_the_layer(make, x, message):
    with pytest.raises(ValueError, match=message):
        make()(x)


def test_a_wrong_input_leaves_the_running_statistics_as_they_were():
    bn = nn.BatchNorm2d(3)
    bn(np.random.default_rng(12).normal(size=(2, 3, 4, 4)))
    before = [bn.running_mean.numbers.copy(), bn.running_var.numbers.copy()]
    for bad in (np.ones((2, 4, 4, 4)), np.ones((1, 3, 1, 1))):  # wrong channels; one value per channel
        with pytest.raises(ValueError, match=r"BatchNorm2d\(3|more than 1 value per channel"):
            bn(bad)
    np.testing.assert_array_equal(bn.running_mean.numbers, before[0])
    np.testing.assert_array_equal(bn.running_var.numbers, before[1])


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: nn.Dropout(1.5), ValueError, r"Dropout p .* must be in \[0, 1\], got 1.5"),
        (lambda: nn.Dropout(-0.1), ValueError, r"Dropout p"),
        (lambda: nn.Dropout("0.5"), TypeError, r"Dropout p"),
        (lambda: nn.Conv2d(1, 4, 0), ValueError, r"Conv2d kernel_size"),
        (lambda: nn.Conv2d(1, 4, (3, 3, 3)), ValueError, r"Conv2d kernel_size must be an int or a pair"),
        (lambda: nn.MaxPool2d(0), ValueError, r"MaxPool2d kernel_size"),
        (lambda: nn.AvgPool2d(2, stride=0), ValueError, r"AvgPool2d stride"),
        (lambda: nn.Conv2d(0, 4, 3), ValueError, r"in_channels must be a positive integer"),
        (lambda: nn.Conv2d(1, 4, 3, init="nope"), ValueError, r"nope"),
        (lambda: nn.BatchNorm1d(3, momentum=1.5), ValueError, r"momentum must be between 0 and 1"),
        (lambda: nn.Conv2d(1, 4, 3, granularity="scalar"), ValueError, r"Conv2d is built at tensor granularity only"),
        (lambda: nn.Sequential(nn.Layer(2, 2, granularity="scalar")), ValueError, r"scalar granularity"),
        (lambda: nn.Sequential(nn.Flatten(), "relu"), TypeError, r"argument 1 is 'relu', not a Module"),
        (lambda: nn.Activation("nope"), ValueError, r"nope"),
    ],
)
def test_bad_settings_are_refused_naming_what_was_wrong(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_sequential_indexing_length_iteration_and_repr():
    model = _cnn()
    assert len(model) == 10 and list(model) == model.layers and isinstance(model[-1], nn.Layer)
    assert [type(m).__name__ for m in model[:2]] == ["Conv2d", "BatchNorm2d"]
    text = repr(model)
    assert "(0): Conv2d(1 -> 8, kernel 3x3" in text and "(8): Dropout(p=0.0)" in text
    assert [n for n, _ in model.named_parameters()][:4] == [
        "layers.0.w",
        "layers.0.b",
        "layers.1.gamma",
        "layers.1.beta",
    ]
    assert model[0].w.shape == (8, 1, 3, 3) and model[0].b.shape == (8,)
    assert model[0].w.label == "layers.0.w"
    same = _cnn()
    np.testing.assert_array_equal(same[0].w.numbers, model[0].w.numbers)  # seed= makes the same weights
