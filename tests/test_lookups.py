"""Activations and initializers by name: lookups, errors, and each initializer's variance."""

import numpy as np
import pytest

from tinygrad_edu import Value, activations, init, optim


@pytest.mark.parametrize("name", ["identity", "step", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "gelu"])
def test_every_named_activation_maps_values(name):
    fn = activations.get(name)
    out = fn(Value(np.array([-2.0, 2.0])))
    assert isinstance(out, Value) and out.shape == (2,)


def test_activation_values_at_minus_two_and_two():
    """The lesson's table: ReLU 0 and 2, sigmoid ~0.119 and ~0.881, tanh ~-0.964 and ~0.964."""
    z = Value(np.array([-2.0, 2.0]))
    np.testing.assert_allclose(activations.get("relu")(z).data, [0.0, 2.0])
    np.testing.assert_allclose(activations.get("sigmoid")(z).data, [0.1192, 0.8808], atol=1e-4)
    np.testing.assert_allclose(activations.get("tanh")(z).data, [-0.9640, 0.9640], atol=1e-4)


def test_activation_options_and_callables():
    leaky = activations.get("leaky_relu", alpha=0.2)
    assert leaky(Value(-1.0)).data == pytest.approx(-0.2)
    assert activations.get(None)(Value(3.0)).data == 3.0
    double = activations.get(lambda v: v * 2.0)
    assert double(Value(3.0)).data == 6.0
    assert activations.name_of(leaky) == "leaky_relu"


@pytest.mark.parametrize("module, kind", [(activations, "activation"), (init, "initializer"), (optim, "optimizer")])
def test_unknown_names_list_the_known_ones(module, kind):
    with pytest.raises(ValueError, match=f"unknown {kind} 'nope'; known: ") as err:
        module.get("nope")
    for known in list(module.REGISTRY)[:3]:
        assert known in str(err.value)


N_IN, N_OUT = 400, 600
EXPECTED_VARIANCE = {
    "xavier_uniform": 2 / (N_IN + N_OUT),
    "xavier_normal": 2 / (N_IN + N_OUT),
    "xavier": 2 / (N_IN + N_OUT),
    "glorot": 2 / (N_IN + N_OUT),
    "he_uniform": 2 / N_IN,
    "he_normal": 2 / N_IN,
    "he": 2 / N_IN,
    "kaiming": 2 / N_IN,
    "lecun_normal": 1 / N_IN,
    "uniform": 1 / 3,  # U(-1, 1)
    "normal": 1.0,
    "zeros": 0.0,
    "constant": 0.0,
}


@pytest.mark.parametrize("name", sorted(EXPECTED_VARIANCE))
def test_initializer_variance_matches_its_formula(name):
    w = init.get(name)((N_IN, N_OUT), rng=np.random.default_rng(0))
    assert w.shape == (N_IN, N_OUT) and w.dtype == np.float64
    expected = EXPECTED_VARIANCE[name]
    # 240,000 samples: the sample variance is within ~1% of the true one
    assert w.var() == pytest.approx(expected, rel=0.02, abs=1e-12)
    assert abs(w.mean()) <= 0.05 * expected**0.5  # centred at 0 (the standard error is ~0.002 std)


def test_registry_covers_the_product_names():
    for name in [
        "zeros",
        "constant",
        "uniform",
        "normal",
        "xavier_uniform",
        "xavier_normal",
        "xavier",
        "glorot",
        "he_uniform",
        "he_normal",
        "he",
        "kaiming",
        "lecun_normal",
    ]:
        assert name in init.REGISTRY


def test_initializers_are_repeatable_with_a_seed():
    a = init.get("he_normal")((3, 4), rng=np.random.default_rng(42))
    b = init.get("he_normal")((3, 4), rng=np.random.default_rng(42))
    assert np.array_equal(a, b)
    assert np.all(init.get("constant", value=0.5)((2, 2)) == 0.5)
    assert init.get("normal", std=0.1)((1000, 100), rng=np.random.default_rng(0)).std() == pytest.approx(0.1, rel=0.02)
