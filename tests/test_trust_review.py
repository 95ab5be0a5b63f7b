"""Found by cold reviews of the #20 change outside compile: each was wrong (or noisy) before its fix."""

import warnings

import numpy as np
import pytest

from tinygrad_edu import Value, nn, tables, train
from tinygrad_edu.gradcheck import gradcheck


def test_minibatch_training_is_not_stopped_by_one_hard_batch():
    """A later one-row batch 1000x the first row's loss was reported as divergence; the limit is now against the
    first loss on all the rows."""
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (50, 1))
    y = np.where(X[:, 0] > 0.6, 60.0, 0.0).reshape(-1, 1)
    history = train.fit(nn.MLP(1, [8, 1], seed=0), X, y, loss="mse", optimizer="sgd", lr=0.001, steps=200, batch_size=1)
    assert len(history) == 200 and max(history) > 1000 * history[0]


def test_a_negative_first_loss_sets_no_growth_limit():
    model = nn.MLP(1, [1], seed=0)
    calls = iter([-5000.0, -100.0, 10.0, 2000.0])

    def loss(pred, target):
        return (pred * 0.0).sum() + next(calls)

    assert train.fit(model, np.ones((2, 1)), np.ones(2), loss=loss, steps=4) == [-5000.0, -100.0, 10.0, 2000.0]


@pytest.mark.parametrize("numbers", [[np.inf, 1, 1, 1, 1], [1e200, 1, 1, 1, 1], [np.inf, -np.inf, 0, 0, 0]])
def test_a_tensor_with_inf_or_huge_numbers_is_summarised_quietly(numbers):
    """Five numbers: summarised (up to four are shown as they are)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "mean" in tables.summary(np.array(numbers, dtype=float))
        assert tables.summary(np.array(numbers[:4], dtype=float)).startswith("[")  # four: the numbers themselves


def test_a_tuple_of_numbers_stays_one_input_for_gradcheck():
    """gradcheck(fn, (1.0, 2.0, 3.0)) was read as three inputs; a tuple of Values or arrays is PyTorch's form."""
    assert gradcheck(lambda v: (v * v).sum(), (1.0, 2.0, 3.0))
    x, y = Value(np.array([1.0, 2.0])), Value(np.array([3.0, 4.0]))
    assert gradcheck(lambda a, b: (a * b).sum(), (x, y))


def test_the_perceptron_rule_overflows_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.Perceptron(2, seed=0).fit(np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([0, 1]), epochs=50, lr=1e308)


def test_facade_losses_refuse_what_pytorch_would_read_differently():
    tt = pytest.importorskip("tinygrad_edu.torch")
    pred, target = tt.tensor([[1.0], [2.0], [3.0]]), tt.tensor([0.0, 2.0, 5.0])
    for loss in (tt.nn.MSELoss(), tt.nn.BCEWithLogitsLoss()):
        with pytest.raises(ValueError, match=r"input of shape \(3, 1\) but target of shape \(3,\); PyTorch would"):
            loss(pred, target)
    with pytest.raises(ValueError, match="BCELoss: input of shape"):
        tt.nn.BCELoss()(tt.tensor([[0.5], [0.2]]), tt.tensor([1.0, 0.0]))
    with pytest.raises(TypeError, match="takes reduction= by name"):
        tt.nn.MSELoss("sum")
    assert tt.nn.MSELoss(reduction="sum")(pred, tt.tensor([[0.0], [2.0], [5.0]])).item() == 5.0


def test_differentiating_a_constant_gradient_again_says_that_it_is_constant():
    """The error blamed requires_grad, which x has: the gradient of 2x is 2, a constant."""
    x = Value(3.0)
    (x * 2).backward(create_graph=True)
    with pytest.raises(RuntimeError, match=r"it is a gradient .* the derivative is constant there"):
        x.grad.backward()
