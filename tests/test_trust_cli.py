"""Issue #20, items 8 (training stops at a bad loss), 9 (gradcheck's tuple form, pytest reports, testing without
hypothesis), 10 (an unwritable --render path refused before training) and 19 (flipped bits, data arguments)."""

import io
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from tinygrad_edu import data, losses, nn, train
from tinygrad_edu.cli import main


def _cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinygrad_edu", *argv], capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------- item 8: training stops at a bad loss


def test_item8_xor_with_a_huge_sgd_lr_stops_with_one_message_and_exit_1():
    result = _cli("xor", "--optimizer", "sgd", "--lr", "1e6")
    assert result.returncode == 1
    assert "final loss" not in result.stdout and "accuracy" not in result.stdout
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    err = result.stderr
    assert err.startswith("tinygrad-edu xor: error: training stopped at step 2 of 2000: the loss grew to 7795"), err
    assert "the last finite loss was 0.7077, at step 1" in err and "--lr 1e+06" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["moons", "--optimizer", "sgd", "--lr", "1e6"],
        ["digits", "--lr", "1e3", "--steps", "50"],
        ["xor", "--granularity", "tensor", "--optimizer", "sgd", "--lr", "1e6"],
        ["gates", "--lr", "1e308"],
    ],
)
def test_item8_every_training_command_stops_at_a_bad_loss(argv):
    result = _cli(*argv)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr  # one line: no traceback, no numpy RuntimeWarning
    assert result.stderr.startswith(f"tinygrad-edu {argv[0]}: error: ") and "--lr" in result.stderr
    assert "final loss" not in result.stdout and "converged" not in result.stdout


def test_item8_the_progress_bar_is_cleared_before_the_message(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    assert main(["xor", "--optimizer", "sgd", "--lr", "1e6"]) == 1
    shown = sys.stderr.getvalue().split("\r")[-1]  # what is left on the screen after the bar's last redraw
    assert shown.startswith("tinygrad-edu xor: error: training stopped at step 2") and shown.count("\n") == 1


def _nan_at(call: int):
    """A loss that is right until its ``call``-th call, which gives nan."""
    calls = []

    def loss(out, y):
        calls.append(1)
        value = losses.bce_with_logits(out, y)
        return value * float("nan") if len(calls) == call else value

    return loss


def test_item8_fit_raises_at_the_first_nan_loss_and_keeps_the_last_weights():
    X, y = data.xor()
    model = nn.MLP(2, [4, 1], seed=0, granularity="tensor")
    seen = []
    with pytest.raises(train.TrainingDiverged) as err:
        train.fit(model, X, y, loss=_nan_at(4), steps=10, on_step=lambda step, loss: seen.append(model.state_dict()))
    e = err.value
    assert isinstance(e, FloatingPointError)  # what numpy raises for bad arithmetic (np.seterr(all="raise"))
    assert len(e.history) == 3 and e.step == 3 and np.isnan(e.loss)
    message = str(e)
    assert message.startswith("training stopped at step 4 of 10: the loss is nan; the last finite loss was ")
    assert f"{e.history[-1]:.4g}, at step 3" in message
    assert "lr=0.05" in message and "detect_anomaly()" in message and "update was not applied" in message
    after = model.state_dict()  # the weights after step 3's update, which gave the nan: the nan step changed nothing
    assert all(np.array_equal(after[k], seen[-1][k]) for k in after)


def test_item8_a_nan_at_the_first_step_does_not_blame_the_learning_rate():
    X, y = data.xor()
    with pytest.raises(train.TrainingDiverged, match="step 1 of 5: the loss is nan, before any update. Check X"):
        train.fit(nn.MLP(2, [4, 1], seed=0), X, y, loss=_nan_at(1), steps=5)


def test_item8_fit_stops_an_exploding_loss_unless_asked_not_to():
    X, y = data.xor()
    with pytest.raises(train.TrainingDiverged, match=r"grew to 7795 from 0.7077 at step 1 \(more than 1000 times"):
        train.fit(nn.MLP(2, [4, 1], seed=0), X, y, optimizer="sgd", lr=1e6, steps=50)
    history = train.fit(nn.MLP(2, [4, 1], seed=0), X, y, optimizer="sgd", lr=1e6, steps=50, max_growth=None)
    assert len(history) == 50 and round(history[-1]) == 7795  # the old behaviour, on request
    with pytest.raises(ValueError, match="max_growth must be >= 1"):
        train.fit(nn.MLP(2, [4, 1], seed=0), X, y, max_growth=0.5)


def test_item8_xor_probabilities_of_huge_logits_without_overflow_warnings(monkeypatch, capsys):
    monkeypatch.setattr(train, "outputs", lambda model, X: np.array([[-1000.0], [1000.0], [1000.0], [-1000.0]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["xor", "--steps", "1"]) == 0
    assert "1.000       1" in capsys.readouterr().out
