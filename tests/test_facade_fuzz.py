"""Random PyTorch-style programs on the facade against real PyTorch (see tests/facade_fuzz.py): ~100 in
every run, ``TINYGRAD_EDU_FACADE_FUZZ=3000 python -m pytest tests/test_facade_fuzz.py`` for thousands;
and proof that the fuzz catches what issue #20 found (items 11-14), were it to come back."""

import os

import pytest

from tests import facade_fuzz
from tinygrad_edu import ops, optim

torch = pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")

PROGRAMS = int(os.environ.get("TINYGRAD_EDU_FACADE_FUZZ", "100"))
CHUNKS = 2


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_random_programs_agree_with_pytorch(chunk):
    for seed in range(chunk, PROGRAMS, CHUNKS):
        problem = facade_fuzz.check(seed, torch)
        assert problem is None, problem


def _first_failure(limit: int = 100) -> str | None:
    return next(filter(None, (facade_fuzz.check(seed, torch) for seed in range(limit))), None)


_softplus = ops.Softplus.forward


def _always_tanh_gelu(x, approximate="none"):
    return 0.5 * x * (1.0 + ops.ArrayMath.tanh(ops._GELU_K * (x + 0.044715 * x * x * x)))


def _softplus_without_options(x, beta=1.0, threshold=float("inf")):
    return _softplus(x)


def _step_without_skipping(self):
    for group in self.param_groups:
        for p in group["params"]:
            self._update(p, optim.grad_numbers(p), self.state.setdefault(p, {}), **self._settings(group, ""))


@pytest.mark.parametrize(
    "target, name, wrong",
    [
        (ops.GELU, "forward", staticmethod(_always_tanh_gelu)),  # item 11: the tanh form for every GELU
        (ops.Softplus, "forward", staticmethod(_softplus_without_options)),  # item 12: beta and threshold ignored
        (optim.Optimizer, "step", _step_without_skipping),  # item 14: a parameter without gradient decayed
    ],
)
def test_the_fuzz_catches_the_bugs_of_issue_20(monkeypatch, target, name, wrong):
    monkeypatch.setattr(target, name, wrong)
    assert _first_failure() is not None


def test_the_fuzz_catches_a_setting_read_once(monkeypatch):
    """Item 13: an optimizer that reads its settings once, at construction, and ignores later changes."""
    first = {}
    settings = optim.SGD._settings

    def once(self, group, where):
        return first.setdefault((id(self), id(group)), settings(self, group, where))

    monkeypatch.setattr(optim.SGD, "_settings", once)
    problem = _first_failure(200)
    assert problem is not None and "SGD" in problem
