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
from typing import NamedTuple

import numpy as np
import pytest

import tinygrad_edu
import tinygrad_edu.torch as ours

SEED = 0
NUMBER = r"-?\d+\.\d+(?:e-?\d+)?"


class Run(NamedTuple):
    lines: list[str]  # what the script printed
    result: object  # what it returned (its tensors, for the checks the printout cannot make)

    @property
    def text(self) -> str:
        """The printout with the addresses in ``<AddBackward0 object at 0x7f...>`` taken out (they differ)."""
        return re.sub(r" at 0x[0-9a-f]+>", " at 0x...>", "\n".join(self.lines))


def run(script, torch, *args) -> Run:
    """What ``script(torch, *args)`` prints (the tutorials print their results) and returns."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = script(torch, *args)
    return Run(out.getvalue().splitlines(), result)


def on_ours(script, *args) -> Run:
    """``script`` on our facade after ``manual_seed(SEED)``; Python's ``random`` seeded too (dynamic_net)."""
    ours.manual_seed(SEED)
    random.seed(SEED)
    return run(script, ours, *args)


@contextlib.contextmanager
def float64_torch():
    """Real PyTorch with float64 as its default dtype (so that float64 tensors print without a dtype=, as
    ours) and one thread (two on a small machine are many times slower on these small tensors)."""
    torch = pytest.importorskip("torch")
    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    try:
        yield torch
    finally:
        torch.set_default_dtype(dtype)
        torch.set_num_threads(threads)


def on_torch(script, *args) -> Run:
    """``script`` on real PyTorch in float64, fed the starting numbers ``on_ours`` drew (``RealTorch``)."""
    with float64_torch() as torch:
        random.seed(SEED)
        return run(script, RealTorch(torch, SEED), *args)


def torch_repr(tensor) -> str:
    """How PyTorch prints one of its float64 tensors when float64 is its default (ours always is)."""
    with float64_torch():
        return repr(tensor)


def numbers_in(line: str) -> list[float]:
    return [float(n) for n in re.findall(NUMBER, line)]


def assert_same_printout(mine: list[str], theirs: list[str], rel: float = 1e-9) -> None:
    """The same lines, their numbers equal to ``rel``, the text around them identical."""
    assert len(mine) == len(theirs), (mine, theirs)
    for a, b in zip(mine, theirs):
        assert re.sub(NUMBER, "#", a) == re.sub(NUMBER, "#", b), (a, b)
        assert numbers_in(a) == pytest.approx(numbers_in(b), rel=rel, abs=1e-12), (a, b)


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


# ---------------------------------------------------------------- "Learning PyTorch with Examples"
# The scripts train y = a + b x + c x^2 + d x^3 to sin(x) on 2000 points for 2000 steps (dynamic_net 30000),
# printing the loss every 100 (2000) steps; the seventh, polynomial_custom_function, is tested elsewhere.
# Here each runs ``steps`` steps and prints every ``every`` (the one change to their code), so the suite
# stays fast; the printout is otherwise theirs.


def polynomial_numpy(np, steps: int, every: int = 100) -> None:
    """Warm-up: numpy (examples_tensor/polynomial_numpy.py): the forward and backward pass by hand."""
    x = np.linspace(-math.pi, math.pi, 2000)
    y = np.sin(x)
    a = np.random.randn()
    b = np.random.randn()
    c = np.random.randn()
    d = np.random.randn()
    learning_rate = 1e-6
    for t in range(steps):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = np.square(y_pred - y).sum()
        if t % every == every - 1:
            print(t, loss)
        grad_y_pred = 2.0 * (y_pred - y)
        grad_a = grad_y_pred.sum()
        grad_b = (grad_y_pred * x).sum()
        grad_c = (grad_y_pred * x**2).sum()
        grad_d = (grad_y_pred * x**3).sum()
        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d
    print(f"Result: y = {a} + {b} x + {c} x^2 + {d} x^3")


def polynomial_tensor(torch, steps: int, every: int = 100) -> None:
    """PyTorch: Tensors (examples_tensor/polynomial_tensor.py): the same by hand, on tensors."""
    dtype = torch.float
    device = torch.device("cpu")
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)
    a = torch.randn((), device=device, dtype=dtype)
    b = torch.randn((), device=device, dtype=dtype)
    c = torch.randn((), device=device, dtype=dtype)
    d = torch.randn((), device=device, dtype=dtype)
    learning_rate = 1e-6
    for t in range(steps):
        y_pred = a + (b * x) + (c * x.pow(2)) + (d * x.pow(3))
        loss = (y_pred - y).pow(2).sum().item()
        if t % every == every - 1:
            print(t, loss)
        grad_y_pred = -2.0 * (y - y_pred)
        grad_a = grad_y_pred.sum()
        grad_b = torch.matmul(input=grad_y_pred, other=x).sum()
        grad_c = torch.matmul(input=grad_y_pred, other=x.pow(2)).sum()
        grad_d = torch.matmul(input=grad_y_pred, other=x.pow(3)).sum()
        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d
    print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")


def polynomial_autograd(torch, steps: int, every: int = 100) -> dict:
    """PyTorch: Tensors and autograd (examples_autograd/polynomial_autograd.py): loss.backward() instead.
    Its zeroing cell as ``a.grad = None``: one stored version assigns ``0.``, which PyTorch refuses."""
    dtype = torch.float
    device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    print(f"Using {device} device")
    torch.set_default_device(device)
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = torch.sin(x)
    a = torch.randn((), dtype=dtype, requires_grad=True)
    b = torch.randn((), dtype=dtype, requires_grad=True)
    c = torch.randn((), dtype=dtype, requires_grad=True)
    d = torch.randn((), dtype=dtype, requires_grad=True)
    learning_rate = 1e-6
    for t in range(steps):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum()
        if t % every == every - 1:
            print(t, loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
    return {"x": x, "y": y, "loss": loss, "params": (a, b, c, d)}


def polynomial_nn(torch, steps: int, every: int = 100) -> dict:
    """PyTorch: nn (examples_nn/polynomial_nn.py): Sequential(Linear(3, 1), Flatten(0, 1)), MSELoss sum."""
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    loss_fn = torch.nn.MSELoss(reduction="sum")
    learning_rate = 1e-6
    for t in range(steps):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        if t % every == every - 1:
            print(t, loss.item())
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
    linear_layer = model[0]
    print(
        f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + "
        f"{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3"
    )
    return {"xx": xx, "y": y, "p": p, "model": model, "loss_fn": loss_fn, "y_pred": y_pred}


def polynomial_optim(torch, steps: int, every: int = 100) -> None:
    """PyTorch: optim (examples_nn/polynomial_optim.py): the same model, optimizer.step() does the update."""
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    loss_fn = torch.nn.MSELoss(reduction="sum")
    learning_rate = 1e-6
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    for t in range(steps):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        if t % every == every - 1:
            print(t, loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    linear_layer = model[0]
    print(
        f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + "
        f"{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3"
    )


def polynomial_module(torch, steps: int, every: int = 100) -> None:
    """PyTorch: Custom nn Modules (examples_nn/polynomial_module.py): Polynomial3 with four Parameters."""

    class Polynomial3(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.randn(()))
            self.b = torch.nn.Parameter(torch.randn(()))
            self.c = torch.nn.Parameter(torch.randn(()))
            self.d = torch.nn.Parameter(torch.randn(()))

        def forward(self, x):
            return self.a + self.b * x + self.c * x**2 + self.d * x**3

        def string(self):
            return f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3"

    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    model = Polynomial3()
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
    for t in range(steps):
        y_pred = model(x)
        loss = criterion(y_pred, y)
        if t % every == every - 1:
            print(t, loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"Result: {model.string()}")


def dynamic_net(torch, steps: int, every: int = 2000) -> None:
    """PyTorch: Control Flow + Weight Sharing (examples_nn/dynamic_net.py): each forward pass uses e for
    x^4 and perhaps x^5 (random.randint), SGD with momentum."""

    class DynamicNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.randn(()))
            self.b = torch.nn.Parameter(torch.randn(()))
            self.c = torch.nn.Parameter(torch.randn(()))
            self.d = torch.nn.Parameter(torch.randn(()))
            self.e = torch.nn.Parameter(torch.randn(()))

        def forward(self, x):
            y = self.a + self.b * x + self.c * x**2 + self.d * x**3
            for exp in range(4, random.randint(4, 6)):
                y = y + self.e * x**exp
            return y

        def string(self):
            return (
                f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3 + "
                f"{self.e.item()} x^4 ? + {self.e.item()} x^5 ?"
            )

    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    model = DynamicNet()
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
    for t in range(steps):
        y_pred = model(x)
        loss = criterion(y_pred, y)
        if t % every == every - 1:
            print(t, loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"Result: {model.string()}")


# ---------------------------------------------------------------- the autograd tutorials (their cells in order)


def blitz_autograd(torch) -> dict:
    """The 60-minute blitz's autograd part as PyTorch 1.x taught it, "Autograd: Automatic Differentiation"
    (blitz/autograd_tutorial.py before the Gentle Introduction replaced it): every cell."""
    x = torch.ones(2, 2, requires_grad=True)
    print(x)
    y = x + 2
    print(y)
    print(y.grad_fn)
    z = y * y * 3
    out = z.mean()
    print(z, out)
    a = torch.randn(2, 2)
    a = (a * 3) / (a - 1)
    print(a.requires_grad)
    a.requires_grad_(True)
    print(a.requires_grad)
    b = (a * a).sum()
    print(b.grad_fn)
    out.backward()
    print(x.grad)
    x = torch.randn(3, requires_grad=True)
    y = x * 2
    while y.data.norm() < 1000:
        y = y * 2
    print(y)
    v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
    y.backward(v)
    print(x.grad)
    print(x.requires_grad)
    print((x**2).requires_grad)
    with torch.no_grad():
        print((x**2).requires_grad)
    print(x.requires_grad)
    y = x.detach()
    print(y.requires_grad)
    print(x.eq(y).all())
    return {"x": x, "v": v, "out": out}


def gentle_introduction(torch) -> dict:
    """The blitz's "A Gentle Introduction to torch.autograd" (blitz/autograd_tutorial.py today): the cells without
    torchvision ("Differentiation in Autograd", "Exclusion from the DAG"; resnet18's cells are left out)."""
    a = torch.tensor([2.0, 3.0], requires_grad=True)
    b = torch.tensor([6.0, 4.0], requires_grad=True)
    Q = 3 * a**3 - b**2
    external_grad = torch.tensor([1.0, 1.0])
    Q.backward(gradient=external_grad)
    print(9 * a**2 == a.grad)
    print(-2 * b == b.grad)
    q = {"a": a, "b": b, "Q": Q}
    x = torch.rand(5, 5)
    y = torch.rand(5, 5)
    z = torch.rand((5, 5), requires_grad=True)
    a = x + y
    print(f"Does `a` require gradients? : {a.requires_grad}")
    b = x + z
    print(f"Does `b` require gradients?: {b.requires_grad}")
    return q


def autograd_basics(torch) -> dict:
    """The basics' "Automatic Differentiation with torch.autograd" (basics/autogradqs_tutorial.py): every cell."""
    x = torch.ones(5)  # input tensor
    y = torch.zeros(3)  # expected output
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    print(f"Gradient function for z = {z.grad_fn}")
    print(f"Gradient function for loss = {loss.grad_fn}")
    loss.backward()
    print(w.grad)
    print(b.grad)
    first = {"x": x, "y": y, "w": w, "b": b, "loss": loss}
    z = torch.matmul(x, w) + b
    print(z.requires_grad)
    with torch.no_grad():
        z = torch.matmul(x, w) + b
    print(z.requires_grad)
    z = torch.matmul(x, w) + b
    z_det = z.detach()
    print(z_det.requires_grad)
    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"First call\n{inp.grad}")
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"\nSecond call\n{inp.grad}")
    inp.grad.zero_()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"\nCall after zeroing gradients\n{inp.grad}")
    return first


# ---------------------------------------------------------------- the tests: "Learning PyTorch with Examples"

STEPS = 300  # the originals train 2000 steps (dynamic_net 30000): here 300, the loss printed at 99, 199, 299
RESULT = re.compile(rf"Result: y = {NUMBER} \+ {NUMBER} x \+ {NUMBER} x\^2 \+ {NUMBER} x\^3")


def assert_trains(printout: Run, result=RESULT) -> None:
    """The loss printed every 100 steps, going down, then the fitted polynomial in the tutorial's words."""
    *progress, last = printout.lines
    assert [line.split()[0] for line in progress] == ["99", "199", "299"]
    losses = [float(line.split()[1]) for line in progress]
    assert losses == sorted(losses, reverse=True) and losses[-1] < losses[0] / 2
    assert result.fullmatch(last), last


def test_polynomial_numpy_warm_up_computes_what_the_tensor_and_autograd_scripts_do(monkeypatch):
    """The numpy warm-up, run as it is with ``np.random.randn`` drawing our facade's starting numbers, prints
    what polynomial_tensor (the same by hand on our tensors) and polynomial_autograd (loss.backward()) print."""
    rng = np.random.default_rng(SEED)
    monkeypatch.setattr(np.random, "randn", lambda: rng.standard_normal())  # (the numbers ours.randn draws)
    warm_up = run(polynomial_numpy, np, STEPS)
    assert_trains(warm_up)
    assert_same_printout(on_ours(polynomial_tensor, STEPS).lines, warm_up.lines)
    autograd = on_ours(polynomial_autograd, STEPS)
    assert autograd.lines[0] == "Using cpu device"
    assert_same_printout(autograd.lines[1:], warm_up.lines)


def test_polynomial_tensor_prints_what_pytorch_prints():
    mine = on_ours(polynomial_tensor, STEPS)
    assert_trains(mine)
    assert_same_printout(mine.lines, on_torch(polynomial_tensor, STEPS).lines)


def test_polynomial_autograd_prints_what_pytorch_prints():
    """The accelerator preamble picks the CPU; .grad set to None between steps; the same losses and result."""
    mine = on_ours(polynomial_autograd, STEPS)
    assert mine.lines[0] == "Using cpu device"
    assert_trains(Run(mine.lines[1:], None))
    a, b, c, d = mine.result["params"]
    assert all(p.is_leaf and p.requires_grad and p.grad is None and p.shape == () for p in (a, b, c, d))
    loss = mine.result["loss"]
    assert loss.grad_fn.name() == "SumBackward0" and not loss.is_leaf
    theirs = on_torch(polynomial_autograd, STEPS)
    assert_same_printout(mine.lines, theirs.lines)
    assert repr(loss) == torch_repr(theirs.result["loss"])  # tensor(312.9529, grad_fn=<SumBackward0>)


def test_polynomial_nn_prints_what_pytorch_prints():
    """x.unsqueeze(-1).pow(p) with a long p makes the (2000, 3) inputs; Sequential(Linear, Flatten(0, 1))."""
    mine = on_ours(polynomial_nn, STEPS)
    assert_trains(mine)
    r = mine.result
    assert r["xx"].shape == (2000, 3) and repr(r["p"].dtype) == "torch.int64" and repr(r["p"]) == "tensor([1, 2, 3])"
    assert r["y_pred"].shape == (2000,) and r["y_pred"].grad_fn.name() == "ViewBackward0"
    assert [name for name, _ in r["model"].named_parameters()] == ["0.weight", "0.bias"]
    theirs = on_torch(polynomial_nn, STEPS)
    assert_same_printout(mine.lines, theirs.lines)
    assert repr(r["model"]) == repr(theirs.result["model"])
    np.testing.assert_allclose(r["xx"].numpy(), theirs.result["xx"].numpy(), rtol=1e-12)
    assert r["y_pred"].grad_fn.name() == theirs.result["y_pred"].grad_fn.name()


def test_polynomial_optim_prints_what_pytorch_prints_and_what_the_manual_update_did():
    """optimizer.step() is the tutorial's manual ``param -= learning_rate * param.grad``: polynomial_nn's
    printout, number for number."""
    mine = on_ours(polynomial_optim, STEPS)
    assert mine.lines == on_ours(polynomial_nn, STEPS).lines
    assert_same_printout(mine.lines, on_torch(polynomial_optim, STEPS).lines)


def test_polynomial_module_prints_what_pytorch_prints_and_what_autograd_did():
    """Polynomial3's four Parameters draw the numbers polynomial_autograd's a, b, c, d draw, and
    MSELoss(reduction='sum') with SGD is its sum of squares and manual update: the same printout."""
    mine = on_ours(polynomial_module, STEPS)
    assert_trains(mine)
    assert_same_printout(mine.lines, on_ours(polynomial_autograd, STEPS).lines[1:])
    assert_same_printout(mine.lines, on_torch(polynomial_module, STEPS).lines)


def test_dynamic_net_prints_what_pytorch_prints():
    """Python's random picks 4 or 5 powers per forward pass, the same picks on both (seeded alike);
    SGD with momentum. 300 steps with the loss every 100 (the original: 30000, every 2000)."""
    mine = on_ours(dynamic_net, STEPS, 100)
    result = re.compile(rf"Result: y = {NUMBER} \+ {NUMBER} x \+ {NUMBER} x\^2 \+ {NUMBER} x\^3 \+ "
                        rf"({NUMBER}) x\^4 \? \+ ({NUMBER}) x\^5 \?")  # fmt: skip
    assert_trains(mine, result)
    assert_same_printout(mine.lines, on_torch(dynamic_net, STEPS, 100).lines)


# ---------------------------------------------------------------- the tests: the autograd tutorials


def test_blitz_autograd_prints_what_pytorch_prints():
    mine = on_ours(blitz_autograd)
    head = """tensor([[1., 1.],
        [1., 1.]], requires_grad=True)
tensor([[3., 3.],
        [3., 3.]], grad_fn=<AddBackward0>)
<AddBackward0 object at 0x...>
tensor([[27., 27.],
        [27., 27.]], grad_fn=<MulBackward0>) tensor(27., grad_fn=<MeanBackward0>)
False
True
<SumBackward0 object at 0x...>
tensor([[4.5000, 4.5000],
        [4.5000, 4.5000]])
tensor(["""
    assert mine.text.startswith(head)
    assert mine.lines[-6:] == ["True", "True", "False", "True", "False", "tensor(True)"]
    x, v = mine.result["x"], mine.result["v"]
    doublings = 1  # y = x * 2, doubled while its norm is below 1000: dy/dx = 2**doublings
    while 2**doublings * np.linalg.norm(x.numpy()) < 1000:
        doublings += 1
    assert mine.lines[-8].endswith("], grad_fn=<MulBackward0>)")  # y
    np.testing.assert_array_equal(x.grad.numpy(), v.numpy() * 2.0**doublings)
    assert mine.lines[-7] == repr(x.grad)
    theirs = on_torch(blitz_autograd)
    assert mine.text == theirs.text


def test_gentle_introduction_prints_what_pytorch_prints():
    """Q = 3a^3 - b^2 backward with external_grad: dQ/da = 9a^2, dQ/db = -2b; the DAG of its figure
    (SubBackward0 over MulBackward0 and PowBackward0, AccumulateGrad at a and b); who requires gradients."""
    mine = on_ours(gentle_introduction)
    assert mine.lines == [
        "tensor([True, True])",
        "tensor([True, True])",
        "Does `a` require gradients? : False",
        "Does `b` require gradients?: True",
    ]
    a, b, Q = mine.result["a"], mine.result["b"], mine.result["Q"]
    assert a.grad.tolist() == [36.0, 81.0] and b.grad.tolist() == [-12.0, -8.0]
    assert Q.grad_fn.name() == "SubBackward0"
    mul, power = (f for f, _ in Q.grad_fn.next_functions)
    assert (mul.name(), power.name()) == ("MulBackward0", "PowBackward0")
    assert [f.name() for f, _ in power.next_functions] == ["torch::autograd::AccumulateGrad"]
    theirs = on_torch(gentle_introduction)
    assert mine.lines == theirs.lines
    theirs_Q = theirs.result["Q"]
    assert [f.name() for f, _ in theirs_Q.grad_fn.next_functions] == [mul.name(), power.name()]


def test_autograd_basics_prints_what_pytorch_prints():
    """Every printed line as PyTorch's but one: ``loss.grad_fn`` (see below). The tutorial's notes hold too:
    a non-leaf's .grad is None with PyTorch's warning, and a second backward without retain_graph is
    PyTorch's error, word for word."""
    mine = on_ours(autograd_basics)
    text = mine.text.splitlines()
    assert text[0] == "Gradient function for z = <AddBackward0 object at 0x...>"
    # Differs: binary_cross_entropy_with_logits is composed of ops here, the last a mean; PyTorch has one
    # function for it, BinaryCrossEntropyWithLogitsBackward0. (An op of its own in ops.py would print it.)
    assert text[1] == "Gradient function for loss = <MeanBackward0 object at 0x...>"
    assert mine.text.endswith(
        "Call after zeroing gradients\n"
        "tensor([[4., 2., 2., 2., 2.],\n        [2., 4., 2., 2., 2.],\n"
        "        [2., 2., 4., 2., 2.],\n        [2., 2., 2., 4., 2.]])"
    )
    first = text.index("First call")
    assert text[first - 3 : first] == ["True", "False", "False"]  # requires_grad: tracked, no_grad, detach()
    x, w, b, loss = (mine.result[name] for name in ("x", "w", "b", "loss"))
    z = x @ w + b
    sigmoid = 1 / (1 + np.exp(-z.numpy()))  # d(mean bce)/dz = (sigmoid(z) - y) / 3, with y = 0
    np.testing.assert_allclose(b.grad.numpy(), sigmoid / 3, rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), np.outer(x.numpy(), sigmoid / 3), rtol=1e-12)
    with pytest.warns(UserWarning) as ours_warned:
        assert z.grad is None
    assert str(ours_warned[0].message).endswith("use .retain_grad() on the non-leaf Tensor.")
    with pytest.raises(RuntimeError, match="Specify retain_graph=True") as ours_raised:
        loss.backward()

    theirs = on_torch(autograd_basics)
    their_text = theirs.text.splitlines()
    assert their_text[1] == "Gradient function for loss = <BinaryCrossEntropyWithLogitsBackward0 object at 0x...>"
    assert text[0] == their_text[0] and text[2:] == their_text[2:]
    their_z = theirs.result["x"] @ theirs.result["w"] + theirs.result["b"]
    with pytest.warns(UserWarning) as theirs_warned:
        assert their_z.grad is None
    assert str(theirs_warned[0].message).startswith(str(ours_warned[0].message))
    with pytest.raises(RuntimeError) as theirs_raised:
        theirs.result["loss"].backward()
    assert str(ours_raised.value) == str(theirs_raised.value)


# ---------------------------------------------------------------- our tools on code written against the facade


def test_our_tools_on_the_nn_tutorials_model_and_loss():
    """polynomial_nn's model and loss, as the tutorial builds them (one step trained): the picture names its
    parameters, gradcheck passes, trace_backward's totals are loss.backward()'s .grad, and compile's step
    gives the same loss and .grad as the eager one."""
    r = on_ours(polynomial_nn, 1).result
    model, loss_fn, xx, y = r["model"], r["loss_fn"], r["xx"], r["y"]
    weight, bias = model[0].weight, model[0].bias
    loss = loss_fn(model(xx), y)
    dot = tinygrad_edu.viz.draw_graph(loss).source
    assert "0.weight" in dot and "0.bias" in dot and dot.startswith("digraph")

    report = tinygrad_edu.gradcheck(lambda *params: loss_fn(model(xx), y), *model.parameters())
    assert report.max_rel_error < 1e-6 and len(report.inputs) == 2

    trace = tinygrad_edu.trace_backward(loss)
    model.zero_grad()
    loss.backward()
    assert trace.rows[0].node is loss and "0.weight" in str(trace)
    np.testing.assert_allclose(trace.gradients[weight], weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(trace.gradients[bias], bias.grad.numpy(), rtol=1e-12)

    eager = loss.item(), weight.grad.numpy(), bias.grad.numpy()
    step = tinygrad_edu.compile(lambda xx, y: loss_fn(model(xx), y))
    for _ in range(2):  # the first call traces, the second runs the straight-line code
        model.zero_grad()
        compiled = step(xx, y)
        assert float(compiled) == pytest.approx(eager[0], rel=1e-12)
        np.testing.assert_allclose(weight.grad.numpy(), eager[1], rtol=1e-12)
        np.testing.assert_allclose(bias.grad.numpy(), eager[2], rtol=1e-12)
    assert "v_0_weight = P[0].numbers  # 0.weight" in step.source and "P[1].accumulate_grad" in step.source
