"""End to end: XOR by backprop for every activation, and handwritten digits.

One recipe for every XOR run: a 2-4-1 MLP, Adam with lr 0.05, 2,000 full-batch steps,
binary cross-entropy on the logit. Biases start at 0.5 for ReLU-family units (so no unit
starts dead) and at 0 otherwise, as the command line does.
"""

import time

import numpy as np
import pytest

from tinygrad_edu import data, nn, train

XOR_NEEDS = {("tanh", "xavier"): 9, ("sigmoid", "xavier"): 9, ("relu", "he"): 8, ("leaky_relu", "he"): 8}


@pytest.mark.parametrize("activation, init", sorted(XOR_NEEDS))
def test_xor_learned_for_most_seeds(activation, init):
    X, y = data.xor()
    bias = 0.5 if "relu" in activation else 0.0
    solved = []
    for seed in range(10):
        model = nn.MLP(2, [4, 1], activation=activation, init=init, bias_init=bias, seed=seed)
        train.fit(model, X, y, loss="bce_with_logits", optimizer="adam", lr=0.05, steps=2000, seed=seed)
        solved.append(train.accuracy(model, X, y) == 1.0)
    print(f"\nXOR {activation}/{init}: {sum(solved)}/10 seeds reach 100%")
    assert sum(solved) >= XOR_NEEDS[(activation, init)], f"solved for seeds {np.flatnonzero(solved).tolist()}"


def test_xor_at_scalar_granularity():
    X, y = data.xor()
    model = nn.MLP(2, [4, 1], activation="tanh", granularity="scalar", seed=0)
    history = train.fit(model, X, y, lr=0.05, steps=500)
    assert train.accuracy(model, X, y) == 1.0 and history[-1] < 0.05


def test_digits_mlp_reaches_95_percent_on_held_out_images():
    X, y = data.digits()
    X_train, X_test, y_train, y_test = data.train_test_split(X / 16.0, y, 0.2, seed=0)
    model = nn.MLP(64, [64, 10], activation="relu", init="he", bias_init=0.01, seed=0)
    start = time.perf_counter()
    train.fit(
        model, X_train, y_train, loss="cross_entropy", optimizer="adam", lr=0.005, steps=1500, batch_size=64, seed=0
    )
    seconds = time.perf_counter() - start
    test_acc = train.accuracy(model, X_test, y_test)
    print(f"\ndigits: test accuracy {test_acc:.1%} on {len(y_test)} held-out images, trained in {seconds:.2f} s")
    assert test_acc >= 0.95


def test_fit_checks_its_arguments():
    X, y = data.xor()
    m = nn.MLP(2, [2, 1], seed=0)
    with pytest.raises(ValueError, match="unknown loss 'l1'; known: bce"):
        train.fit(m, X, y, loss="l1")
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        train.fit(m, X, y, steps=0)
    with pytest.raises(ValueError, match="X has 4 rows but y has 3 labels"):
        train.fit(m, X, y[:3])
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        train.fit(m, X, y, optimizer="rmsprop")


def test_minibatches_cover_the_data():
    X, y = data.moons(40, 0.1, seed=0)
    m = nn.MLP(2, [8, 1], activation="relu", init="he", seed=0)
    history = train.fit(m, X, y, steps=300, batch_size=8, lr=0.02)
    assert len(history) == 300 and np.mean(history[-20:]) < np.mean(history[:20])
