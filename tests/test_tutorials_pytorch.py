"""PyTorch's own autograd tutorials on ``tinygrad_edu.torch``, with only the import changed.

Each tutorial is written once below as a function of ``torch`` making the same calls in the same order as
the original (pytorch/tutorials: "Learning PyTorch with Examples", the 60-minute blitz's autograd part,
"A Gentle Introduction to torch.autograd", the basics' "Automatic Differentiation with torch.autograd").
The tests run it on our facade and check what the original prints; with torch installed they run the SAME
function on real PyTorch in float64, fed the starting numbers our facade drew (``RealTorch``), and require
the same printout: the same losses and results to 1e-9, the same printed tensors character for character.
Where a script trains for thousands of steps, the tests run fewer (``steps``), as said at each.
"""

from __future__ import annotations

import contextlib
import io
import math
import random
import re

import numpy as np
import pytest

import tinygrad_edu.torch as ours

SEED = 0
NUMBER = r"-?\d+\.\d+(?:e-?\d+)?"


def run(script, torch, *args) -> list[str]:
    """The lines ``script(torch, *args)`` prints (the tutorials print their results)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        script(torch, *args)
    return out.getvalue().splitlines()


def on_both(script, *args) -> tuple[list[str], list[str]]:
    """``script``'s printout on our facade (after ``manual_seed(SEED)``) and on real PyTorch fed the same
    starting numbers in float64; Python's ``random`` seeded alike for both (dynamic_net draws from it)."""
    torch = pytest.importorskip("torch")
    ours.manual_seed(SEED)
    random.seed(SEED)
    mine = run(script, ours, *args)
    random.seed(SEED)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # (so that float64 tensors print without a dtype=, as ours)
    try:
        theirs = run(script, RealTorch(torch, SEED), *args)
    finally:
        torch.set_default_dtype(default)
    return mine, theirs


def numbers_in(line: str) -> list[float]:
    return [float(n) for n in re.findall(NUMBER, line)]


def assert_same_printout(mine: list[str], theirs: list[str], rel: float = 1e-9) -> None:
    """The same lines, their numbers equal to ``rel``, the text around them identical."""
    assert len(mine) == len(theirs), (mine, theirs)
    for a, b in zip(mine, theirs):
        assert re.sub(NUMBER, "#", a) == re.sub(NUMBER, "#", b), (a, b)
        assert numbers_in(a) == pytest.approx(numbers_in(b), rel=rel, abs=1e-12), (a, b)


def without_addresses(lines: list[str]) -> list[str]:
    """``<AddBackward0 object at 0x7f...>``: the address differs from run to run."""
    return [re.sub(r" at 0x[0-9a-f]+>", " at 0x...>", line) for line in lines]


class RealTorch:
    """Real PyTorch as the tutorials call it, in float64, drawing the starting numbers our facade draws after
    ``manual_seed(seed)``: ``randn``/``rand`` from numpy's generator seeded alike, ``nn.Linear`` its weight
    then its bias from U(-1/sqrt(in), 1/sqrt(in)) as ``tinygrad_edu.torch.nn.Linear`` does; ``torch.float``
    is float64. Everything else is real PyTorch's."""

    def __init__(self, torch, seed: int):
        self._torch, self._rng = torch, np.random.default_rng(seed)
        self.float = torch.float64
        self.nn = RealNN(torch, self._rng)

    def __getattr__(self, name: str):
        return getattr(self._torch, name)

    def _drawn(self, numbers, requires_grad: bool):
        return self._torch.tensor(numbers, dtype=self._torch.float64, requires_grad=requires_grad)

    def randn(self, *size, requires_grad: bool = False, dtype=None, device=None):
        return self._drawn(self._rng.standard_normal(_shape(size)), requires_grad)

    def rand(self, *size, requires_grad: bool = False, dtype=None, device=None):
        return self._drawn(self._rng.random(_shape(size)), requires_grad)


class RealNN:
    """``torch.nn`` with ``Linear`` initialised from the shared generator (see ``RealTorch``)."""

    def __init__(self, torch, rng: np.random.Generator):
        self._torch, self._rng = torch, rng

    def __getattr__(self, name: str):
        return getattr(self._torch.nn, name)

    def Linear(self, in_features: int, out_features: int, bias: bool = True):
        layer = self._torch.nn.Linear(in_features, out_features, bias, dtype=self._torch.float64)
        bound = 1.0 / math.sqrt(in_features)
        with self._torch.no_grad():
            layer.weight.copy_(self._torch.tensor(self._rng.uniform(-bound, bound, (out_features, in_features))))
            if bias:
                layer.bias.copy_(self._torch.tensor(self._rng.uniform(-bound, bound, out_features)))
        return layer


def _shape(size: tuple) -> tuple:
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


# ---------------------------------------------------------------- what the facade gained for these tutorials


def test_device_queries_and_eq_as_pytorch():
    """The device preamble of the examples (``torch.accelerator``, ``set_default_device``)
    picks "cpu" as on a CPU-only PyTorch, and the blitz's ``x.eq(y).all()`` prints as PyTorch's."""
    torch = pytest.importorskip("torch")
    for lib in (ours, torch):
        assert lib.accelerator.is_available() is False and lib.accelerator.current_accelerator() is None
        assert lib.set_default_device("cpu") is None and lib.set_default_device(lib.device("cpu")) is None
        lib.set_default_device(None)
    with pytest.raises(ValueError, match="only device 'cpu' is supported here, got 'cuda'"):
        ours.set_default_device("cuda")
    x = ours.tensor([1.0, 2.0, 3.0], requires_grad=True)
    tx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert repr(x.eq(x.detach()).all()) == repr(tx.eq(tx.detach()).all()) == "tensor(True)"
    assert repr(x.eq(2.0)) == repr(tx.eq(2.0)) == "tensor([False,  True, False])"
    assert repr(x.eq(ours.tensor([1.0, 0.0, 3.0]))) == repr(tx.eq(torch.tensor([1.0, 0.0, 3.0])))
