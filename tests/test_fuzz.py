"""Random multi-op graphs against PyTorch (see tests/fuzz.py): a few hundred in every run,
``TINYGRAD_EDU_FUZZ=20000 python -m pytest tests/test_fuzz.py`` for thousands; and proof that
the fuzz catches a wrong derivative, including one that only shows when ops meet."""

import os

import numpy as np
import pytest

from tests import fuzz
from tinygrad_edu import ops

torch = pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")

GRAPHS = int(os.environ.get("TINYGRAD_EDU_FUZZ", "400"))
CHUNKS = 4


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_random_graphs_agree_with_pytorch(chunk):
    for seed in range(chunk, GRAPHS, CHUNKS):
        problem = fuzz.check(seed, torch)
        assert problem is None, problem


def _first_failure(limit: int) -> str | None:
    for seed in range(limit):
        problem = fuzz.check(seed, torch)
        if problem:
            return problem
    return None


def test_a_planted_wrong_derivative_is_caught(monkeypatch):
    monkeypatch.setattr(ops.Tanh, "backward", lambda g, out, x: g * (1.0 + out * out))  # should be 1 - out^2
    problem = _first_failure(100)
    assert problem is not None and "gradient of x" in problem and "tanh" in problem


def test_a_bug_only_random_graphs_reach_is_caught(monkeypatch):
    """max's backward giving every tied maximum the whole gradient: ties among random floats do not
    happen in a single-op test, but relu's zeros feed max plenty of them in a graph."""

    def every_tie_gets_all(g, out, x, axis, keepdims):
        winners = x == np.maximum.reduce(np.asarray(x), axis=axis, keepdims=True)
        return winners * ops.unreduce(g, np.shape(x), axis, keepdims)

    monkeypatch.setattr(ops.Max, "backward", every_tie_gets_all)
    problem = _first_failure(2000)
    assert problem is not None and "max" in problem


@pytest.mark.parametrize("chunk", range(2))
def test_random_graphs_differentiated_twice_agree_with_pytorch(chunk):
    for seed in range(1000 + chunk, 1000 + GRAPHS // 2, 2):
        problem = fuzz.check_second(seed, torch)
        assert problem is None, problem


def test_a_backward_cut_from_the_graph_is_caught_only_by_second_derivatives(monkeypatch):
    """tanh's backward computing 1 - out^2 from plain numbers: first derivatives stay right, but the
    gradient no longer depends on x through out, so every second derivative through tanh is wrong."""
    monkeypatch.setattr(ops.Tanh, "backward", staticmethod(lambda g, out, x: g * (1.0 - np.asarray(out) ** 2)))
    assert _first_failure(100) is None
    problem = next(filter(None, (fuzz.check_second(seed, torch) for seed in range(100))), None)
    assert problem is not None and "second derivative of x" in problem and "tanh" in problem
