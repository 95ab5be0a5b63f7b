"""Modules: parameters and their names, both granularities, saving and loading, the Perceptron."""

import os

import numpy as np
import pytest

from tinygrad_edu import Value, data, nn, train


def test_named_parameters_use_dotted_names():
    m = nn.MLP(3, [4, 2], seed=0)
    names = [n for n, _ in m.named_parameters()]
    assert names == ["layers.0.w", "layers.0.b", "layers.1.w", "layers.1.b"]
    assert [p.shape for p in m.parameters()] == [(3, 4), (4,), (4, 2), (2,)]
    s = nn.MLP(2, [2, 1], granularity="scalar", seed=0)
    names = [n for n, _ in s.named_parameters()]
    assert names[:3] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.b"]
    assert len(names) == 2 * 3 + 1 * 3


def test_zero_grad_clears_every_parameter():
    m = nn.MLP(2, [3, 1], seed=0)
    m(np.ones(2)).sum().backward()
    assert any(np.any(p.grad != 0) for p in m.parameters())
    m.zero_grad()
    assert all(np.all(p.grad == 0) for p in m.parameters())


def test_same_seed_same_numbers_in_both_granularities():
    X, y = data.moons(16, 0.1, seed=3)
    models = {g: nn.MLP(2, [5, 3, 1], activation="tanh", granularity=g, seed=7) for g in nn.GRANULARITIES}
    scalar, tensor = models["scalar"], models["tensor"]
    for li, (ls, lt) in enumerate(zip(scalar.layers, tensor.layers)):
        w = np.array([[wi.data for wi in n.w] for n in ls.neurons]).T
        np.testing.assert_array_equal(w, lt.w.data, err_msg=f"layer {li}")
    out_s = np.array([o.data for o in train.forward(scalar, X)])
    np.testing.assert_allclose(out_s, train.forward(tensor, X).data[:, 0], rtol=1e-12, atol=1e-12)
    losses = {g: train.fit(m, X, y, optimizer="sgd", lr=0.3, steps=25) for g, m in models.items()}
    np.testing.assert_allclose(losses["scalar"], losses["tensor"], rtol=1e-9, atol=1e-12)
    assert losses["tensor"][-1] < losses["tensor"][0]


def test_scalar_granularity_returns_values_like_micrograd():
    layer = nn.Layer(2, 3, granularity="scalar", seed=0)
    out = layer([1.0, Value(2.0)])
    assert isinstance(out, list) and len(out) == 3 and all(isinstance(o, Value) for o in out)
    neuron = nn.Neuron(2, granularity="scalar", seed=0)
    assert isinstance(neuron([1.0, 2.0]), Value)


def test_tensor_granularity_shapes():
    layer = nn.Layer(3, 2, seed=0)
    assert layer(np.ones(3)).shape == (2,)
    assert layer(np.ones((5, 3))).shape == (5, 2)
    assert nn.Neuron(3, seed=0)(np.ones((5, 3))).shape == (5,)


@pytest.mark.parametrize(
    "make, x, error, words",
    [
        (lambda: nn.Layer(3, 2), np.ones(4), ValueError, r"expects input of shape \(3,\) or \(batch, 3\), got \(4,\)"),
        (lambda: nn.Layer(3, 2), np.ones((2, 2, 3)), ValueError, r"got \(2, 2, 3\)"),
        (lambda: nn.Layer(3, 2, granularity="scalar"), [1.0, 2.0], ValueError, "expects 3 inputs, got 2"),
        (lambda: nn.Layer(3, 2, granularity="scalar"), np.ones(3), TypeError, "takes a list of 3 numbers"),
        (lambda: nn.Layer(2, 2), [Value(1.0), Value(2.0)], TypeError, "granularity='scalar'"),
    ],
)
def test_bad_model_inputs(make, x, error, words):
    with pytest.raises(error, match=words):
        make()(x)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: nn.MLP(2, [4, 1], granularity="matrix"), "granularity must be one of"),
        (lambda: nn.MLP(2, [], seed=0), "non-empty list"),
        (lambda: nn.MLP(2, 4), "non-empty list"),
        (lambda: nn.MLP(0, [4]), "nin must be a positive integer"),
        (lambda: nn.Layer(2, -1), "nout must be a positive integer"),
        (lambda: nn.MLP(2, [4, 1], activation="swish"), "unknown activation 'swish'; known: .*relu"),
        (lambda: nn.MLP(2, [4, 1], init="orthogonal"), "unknown initializer 'orthogonal'; known: .*he_normal"),
    ],
)
def test_bad_model_settings(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_state_dict_round_trip_and_bad_states_change_nothing():
    a, b = nn.MLP(2, [3, 1], seed=0), nn.MLP(2, [3, 1], seed=1)
    b.load_state_dict(a.state_dict())
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.data, pb.data)
    before = b.state_dict()
    bad = a.state_dict()
    bad["layers.1.w"] = np.zeros((4, 1))
    del bad["layers.0.b"]
    bad["extra"] = np.zeros(1)
    with pytest.raises(ValueError) as err:
        b.load_state_dict(bad)
    msg = str(err.value)
    assert "missing keys ['layers.0.b']" in msg and "unexpected keys ['extra']" in msg
    assert "layers.1.w has shape (4, 1), the model needs (3, 1)" in msg
    for name, arr in b.state_dict().items():
        np.testing.assert_array_equal(arr, before[name])


def test_save_and_load(tmp_path):
    path = tmp_path / "model.npz"
    a = nn.MLP(2, [3, 1], seed=0)
    a.save(path)
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind
    b = nn.MLP(2, [3, 1], seed=5)
    b.load(path)
    np.testing.assert_array_equal(a(np.ones(2)).data, b(np.ones(2)).data)
    s = nn.MLP(2, [3, 1], granularity="scalar", seed=0)
    s.save(tmp_path / "scalar.npz")
    s2 = nn.MLP(2, [3, 1], granularity="scalar", seed=9)
    s2.load(tmp_path / "scalar.npz")
    assert s2([1.0, 1.0]).data == s([1.0, 1.0]).data


def _unchanged(model, before):
    return all(np.array_equal(arr, before[n]) for n, arr in model.state_dict().items())


def test_load_errors_leave_the_model_as_it_was(tmp_path):
    m = nn.MLP(2, [3, 1], seed=0)
    before = m.state_dict()
    with pytest.raises(FileNotFoundError, match="no saved model at"):
        m.load(tmp_path / "missing.npz")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 this is not really a zip file")
    with pytest.raises(ValueError, match="not a readable .npz model file"):
        m.load(corrupt)
    nn.MLP(2, [5, 1], seed=0).save(tmp_path / "other.npz")
    with pytest.raises(ValueError, match=r"layers.0.w has shape \(2, 5\), the model needs \(2, 3\)"):
        m.load(tmp_path / "other.npz")
    assert _unchanged(m, before)


def test_a_failed_save_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    m = nn.MLP(2, [3, 1], seed=0)
    m.save(path)
    original = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        nn.MLP(2, [3, 1], seed=1).save(path)
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["model.npz"]


@pytest.mark.parametrize("gate", ["and", "or", "nand"])
def test_perceptron_converges_on_separable_gates(gate):
    X, y = data.gates(gate)
    p = nn.Perceptron(2).fit(X, y, epochs=100, lr=1.0)
    assert p.converged and p.errors_[-1] == 0 and len(p.errors_) < 100
    assert np.array_equal(p.predict(X), y)


def test_perceptron_never_converges_on_xor():
    X, y = data.xor()
    p = nn.Perceptron(2).fit(X, y, epochs=1000, lr=1.0)
    assert len(p.errors_) == 1000 and min(p.errors_) > 0 and not p.converged
    assert np.mean(p.predict(X) == y) < 1.0


def test_perceptron_checks_its_data():
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        nn.Perceptron(2).fit(np.zeros((4, 2)), [0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"X of shape \(n, 2\)"):
        nn.Perceptron(2).fit(np.zeros((4, 3)), [0, 1, 1, 0])


def test_zero_init_hidden_units_stay_identical():
    """The symmetry problem: units that start equal get equal gradients and stay equal forever."""
    X, y = data.xor()
    m = nn.MLP(2, [4, 1], activation="tanh", init="zeros", bias_init=0.1, seed=0)
    train.fit(m, X, y, optimizer="sgd", lr=0.5, steps=500)
    W1, b1, W2 = m.layers[0].w.data, m.layers[0].b.data, m.layers[1].w.data
    assert np.all(W1 == W1[:, :1]) and np.all(b1 == b1[0]) and np.all(W2 == W2[0])
    assert np.all(W1 != 0) and np.all(W2 != 0)  # training moved them, but all as one unit
    assert train.accuracy(m, X, y) < 1.0  # one effective hidden unit cannot do XOR
