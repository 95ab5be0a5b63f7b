"""Random networks of layers on the PyTorch facade against real PyTorch, from one seed each.

tests/fuzz.py draws graphs of elementwise ops and reductions; here a seed draws a network of the layers
the convolution and recurrent chapters teach, built twice from one description: with ``tinygrad_edu.torch``
and with real PyTorch (float64), the same weights (our state_dict loaded into PyTorch's), the same inputs.
Images (N, C, H, W), or one image (C, H, W), go through 1-4 layers (conv2d with kernel, stride, padding and
bias drawn, max or avg pooling, batch_norm in training or eval (of a batch), layer_norm, pad, relu/tanh/sigmoid,
a residual add of an earlier node of the same shape), then flatten, maybe batch_norm, and a linear layer.
Sequences (of numbers, or of tokens through an embedding; a batch, or one sequence without a batch axis) go
through layer_norm, conv1d, an activation or a residual add, then 1-2 RNN/LSTM modules (1-2 layers, tanh or
relu, batch_first or not, h0 and c0 given or not). Compared, after one or two passes: every node's value and
the running statistics (batch_norm with momentum 0.1, 0.5 or None, with and without them); then, unless a norm
standardises a group of (nearly) equal numbers (``spread_out``), every parameter's and input's gradient of every
node times random weights, summed. A mismatch prints the seed and the network, a layer a line.

    TINYGRAD_EDU_FUZZ=3000 python -m pytest tests/test_layer_fuzz.py     # thousands of networks
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pytest

import tinygrad_edu.torch as ours
from tinygrad_edu import ops, recurrent
from tinygrad_edu.functional import _pair as pair

torch = pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")

NETWORKS = int(os.environ.get("TINYGRAD_EDU_FUZZ", "100"))
CHUNKS = 2
TIGHT = {"rtol": 1e-9, "atol": 1e-11}


@dataclass
class Layer:
    """One step of a network: ``make(nn)`` its module (or None); ``run(lib, module, x, seen)`` the nodes it
    adds, the first of which the next layer takes (``seen.inputs``, ``seen.firsts``: the inputs, and each
    earlier layer's first node)."""

    line: str
    run: Callable
    make: Callable | None = None
    groups: tuple | None = None  # the axes a norm with batch or layer statistics standardises its input over


@dataclass
class Network:
    """A drawn network: its inputs (numpy arrays: float ones get a gradient), its layers, the numbers its norm
    layers start from, as state_dict entries (not the ones and zeros both libraries start at), and how many
    passes (the ones before the last move the running statistics only)."""

    seed: int
    inputs: dict = field(default_factory=dict)
    layers: list = field(default_factory=list)
    state: dict = field(default_factory=dict)
    passes: int = 1

    def __str__(self) -> str:
        shapes = ", ".join(f"{k} {v.shape}" for k, v in self.inputs.items())
        lines = [f"seed {self.seed}: inputs {shapes}, {self.passes} pass(es)"] + [layer.line for layer in self.layers]
        return "\n  ".join(lines)


def module_of(lib, network: Network):
    """The network as a Module of ``lib`` (ours or PyTorch): layer i's module is its attribute ``layer{i}``, so
    both have the same state_dict keys; ``forward(inputs)`` returns every node as (layer index, tensor)."""

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            for i, layer in enumerate(network.layers):
                if layer.make is not None:
                    setattr(self, f"layer{i}", layer.make(lib.nn))

        def forward(self, inputs: dict) -> list:
            seen, x, nodes = SimpleNamespace(inputs=inputs, firsts=[]), inputs["x"], []
            for i, layer in enumerate(network.layers):
                out = layer.run(lib, getattr(self, f"layer{i}", None), x, seen)
                nodes += [(i, node) for node in out]
                x = out[0]
                seen.firsts.append(x)
            return nodes

    return Net()


def permute(lib, x, *axes):
    """PyTorch's ``x.permute(*axes)``: our Values call it ``transpose`` (numpy's name)."""
    return x.permute(*axes) if lib is torch else x.transpose(*axes)


def one(lib, m, x, seen) -> list:
    """The run of a layer that is its module: one node, m(x)."""
    return [m(x)]


class Builder:
    """Draws a network from a seed, keeping the shape of each layer's first node (for residual adds)."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.net = Network(seed)
        self.shapes = []

    def add(self, line: str, run: Callable, make: Callable | None = None, shape: tuple = (), groups=None) -> tuple:
        self.net.layers.append(Layer(f"{len(self.net.layers)}: {line} -> {shape}", run, make, groups))
        self.shapes.append(shape)
        return shape

    def choice(self, options: list):
        return options[self.rng.integers(len(options))]

    def coin(self, p: float = 0.5) -> bool:
        return bool(self.rng.random() < p)

    def size(self, low: int, high: int) -> int:
        return int(self.rng.integers(low, high + 1))

    def norm_state(self, shape: tuple, weight: bool, bias: bool, running: bool) -> None:
        """Random numbers for the parameters and running statistics that the norm layer being added has."""
        key, r = f"layer{len(self.net.layers)}.", self.rng
        if weight:
            self.net.state[key + "weight"] = 1.0 + 0.5 * r.normal(size=shape)
        if bias:
            self.net.state[key + "bias"] = 0.5 * r.normal(size=shape)
        if running:
            self.net.state |= {
                key + "running_mean": 0.5 * r.normal(size=shape),
                key + "running_var": r.uniform(0.5, 2.0, shape),
            }

    # ---- layers for images and sequences alike

    def activation(self, shape: tuple) -> tuple:
        name = self.choice(["relu", "tanh", "sigmoid"])
        if self.coin():
            cls = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}[name]
            return self.add(f"nn.{cls}()", one, lambda nn: getattr(nn, cls)(), shape)
        return self.add(f"torch.{name}", lambda lib, m, x, seen: [getattr(lib, name)(x)], shape=shape)

    def layer_norm(self, shape: tuple) -> tuple:
        normalized, affine, bias = shape[len(shape) - self.size(1, len(shape) - 1) :], self.coin(0.8), self.coin(0.8)
        if math.prod(normalized) < 2:  # one element: the output is the bias, its gradient PyTorch's rounding noise
            return shape
        self.norm_state(normalized, affine, affine and bias, running=False)
        make = lambda nn: nn.LayerNorm(normalized, elementwise_affine=affine, bias=bias)  # noqa: E731
        line, groups = (
            f"nn.LayerNorm({normalized}, elementwise_affine={affine}, bias={bias})",
            tuple(range(-len(normalized), 0)),
        )
        return self.add(line, one, make, shape, groups)

    def residual(self, shape: tuple) -> tuple:
        """x + an earlier node of x's shape, x itself included (two paths meet: their gradients add up)."""
        earlier = [i for i, s in enumerate(self.shapes) if s == shape]
        if earlier:
            j = self.choice(earlier)
            self.add(f"x + node of layer {j}", lambda lib, m, x, seen: [x + seen.firsts[j]], shape=shape)
        return shape

    # ---- images (N, C, H, W), or one image (C, H, W)

    def image_layer(self, shape: tuple) -> tuple:
        kind = self.choice(
            ["conv", "conv", "pool", "pool", "batch_norm", "layer_norm", "activation", "pad", "residual"]
        )
        return getattr(self, kind)(shape)

    def conv(self, shape: tuple) -> tuple:
        *n, c, h, w = shape
        k = (self.size(1, 3), self.size(1, 3)) if self.coin(0.3) else self.size(1, 3)
        padding = (self.size(0, 1), self.size(0, 1)) if self.coin(0.3) else self.size(0, 1)
        stride, out, bias, functional = self.size(1, 2), self.size(1, 4), self.coin(), self.coin(0.3)
        (kh, kw), (ph, pw) = pair("kernel_size", k, 1), pair("padding", padding, 0)
        if h + 2 * ph < kh or w + 2 * pw < kw:
            return shape
        shape = (*n, out, (h + 2 * ph - kh) // stride + 1, (w + 2 * pw - kw) // stride + 1)

        def run(lib, m, x, seen):
            return [lib.nn.functional.conv2d(x, m.weight, m.bias, stride, padding) if functional else m(x)]

        settings = f"{c}, {out}, kernel_size={k}, stride={stride}, padding={padding}, bias={bias}"
        make = lambda nn: nn.Conv2d(c, out, k, stride=stride, padding=padding, bias=bias)  # noqa: E731
        return self.add(f"{'F.conv2d of ' if functional else ''}nn.Conv2d({settings})", run, make, shape)

    def pool(self, shape: tuple) -> tuple:
        *n, c, h, w = shape
        name, stride = self.choice(["max", "avg"]), self.choice([None, 1, 2])
        k = (self.size(1, 2), self.size(1, 2)) if self.coin(0.3) else self.size(1, 2)
        (kh, kw), (sh, sw) = pair("kernel_size", k, 1), pair("stride", stride or k, 1)
        if h < kh or w < kw:
            return shape
        shape = (*n, c, (h - kh) // sh + 1, (w - kw) // sw + 1)
        cls, function = {"max": "MaxPool2d", "avg": "AvgPool2d"}[name], f"{name}_pool2d"
        if self.coin():
            return self.add(f"nn.{cls}({k}, {stride})", one, lambda nn: getattr(nn, cls)(k, stride), shape)
        run = lambda lib, m, x, seen: [getattr(lib.nn.functional, function)(x, k, stride)]  # noqa: E731
        return self.add(f"F.{function}(x, {k}, {stride})", run, shape=shape)

    def batch_norm(self, shape: tuple) -> tuple:
        """BatchNorm2d of images (N, C, H, W), BatchNorm1d of rows (N, C); in training or in eval, and without
        running statistics (the batch's, always) now and then. Not of one image (C, H, W) or its row of features:
        PyTorch's BatchNorm refuses them."""
        if len(shape) in (1, 3):
            return shape
        c, cls = shape[1], "BatchNorm2d" if len(shape) == 4 else "BatchNorm1d"
        training, track = self.coin(0.7), self.coin(0.8)
        if (training or not track) and math.prod(shape) == c:
            return shape  # PyTorch refuses batch statistics of one value per channel
        settings = {"momentum": self.choice([0.1, 0.5, None]), "affine": self.coin(0.8), "track_running_stats": track}
        self.norm_state((c,), settings["affine"], settings["affine"], running=track)
        make = lambda nn: getattr(nn, cls)(c, **settings).train(training)  # noqa: E731
        line = f"nn.{cls}({c}, {', '.join(f'{k}={v}' for k, v in settings.items())}) training={training}"
        batch_statistics = training or not track
        return self.add(line, one, make, shape, (0, *range(2, len(shape))) if batch_statistics else None)

    def pad(self, shape: tuple) -> tuple:
        *n, c, h, w = shape
        widths = tuple(self.size(0, 2) for _ in range(self.choice([2, 4])))
        value = self.choice([0.0, round(float(self.rng.normal()), 3)])
        shape = (*n, c, h + sum(widths[2:]), w + widths[0] + widths[1])
        run = lambda lib, m, x, seen: [lib.nn.functional.pad(x, widths, value=value)]  # noqa: E731
        return self.add(f"F.pad(x, {widths}, value={value})", run, shape=shape)

    # ---- sequences: (N, T, F) with batch_first, else (T, N, F)

    def sequence_layer(self, shape: tuple, batch_first: bool) -> tuple:
        kind = self.choice(["conv1d", "layer_norm", "activation", "residual"])
        if kind == "conv1d":
            return self.conv1d(shape, batch_first)
        return getattr(self, kind)(shape)

    def conv1d(self, shape: tuple, batch_first: bool) -> tuple:
        """A Conv1d along time: the sequence turned to (N, F, T) (one sequence (T, F): to (F, T)) for it and back."""
        t, f = shape[-2:] if batch_first or len(shape) == 2 else (shape[0], shape[2])
        k, padding, stride, out, bias = self.size(1, 3), self.size(0, 1), self.size(1, 2), self.size(1, 4), self.coin()
        if t + 2 * padding < k:
            return shape
        length = (t + 2 * padding - k) // stride + 1
        if len(shape) == 2:
            there, back, shape = (1, 0), (1, 0), (length, out)
        elif batch_first:
            there, back, shape = (0, 2, 1), (0, 2, 1), (shape[0], length, out)
        else:
            there, back, shape = (1, 2, 0), (2, 0, 1), (length, shape[1], out)
        functional = self.coin(0.3)

        def run(lib, m, x, seen):
            x = permute(lib, x, *there)
            x = lib.nn.functional.conv1d(x, m.weight, m.bias, stride, padding) if functional else m(x)
            return [permute(lib, x, *back)]

        settings = f"{f}, {out}, kernel_size={k}, stride={stride}, padding={padding}, bias={bias}"
        make = lambda nn: nn.Conv1d(f, out, k, stride=stride, padding=padding, bias=bias)  # noqa: E731
        return self.add(f"{'F.conv1d of ' if functional else ''}nn.Conv1d({settings}) along time", run, make, shape)

    def recurrent(self, shape: tuple, batch_first: bool) -> tuple:
        batch, features = shape[:-1][1 - batch_first : 2 - batch_first] if len(shape) == 3 else (), shape[-1]
        cls, hidden, layers, bias = self.choice(["RNN", "LSTM"]), self.size(1, 4), self.size(1, 2), self.coin(0.8)
        options = {"num_layers": layers, "bias": bias, "batch_first": batch_first}
        if cls == "RNN":
            options["nonlinearity"] = self.choice(["tanh", "relu"])
        i, states = len(self.net.layers), ("h0", "c0")[: 1 if cls == "RNN" else 2]
        given = self.coin()
        if given:
            for s in states:
                self.net.inputs[f"{s} of layer {i}"] = self.rng.normal(size=(layers, *batch, hidden))

        def run(lib, m, x, seen):
            start = tuple(seen.inputs[f"{s} of layer {i}"] for s in states) if given else None
            out, final = m(x, start if start is None or cls == "LSTM" else start[0])
            return [out, *(final if cls == "LSTM" else (final,))]

        make = lambda nn: getattr(nn, cls)(features, hidden, **options)  # noqa: E731
        shape = shape[:-1] + (hidden,)
        settings = ", ".join(f"{k}={v}" for k, v in options.items())
        return self.add(
            f"nn.{cls}({features}, {hidden}, {settings}) {'from' if given else 'without'} {', '.join(states)}",
            run,
            make,
            shape,
        )


def draw_images(seed: int) -> Network:
    """Images (a batch, or one image (C, H, W) without a batch axis) through 1-4 layers, then flatten (one image:
    all of it) and a linear layer."""
    b = Builder(seed)
    n = b.size(0, 3)
    shape = ((n,) if n else ()) + (b.size(1, 3), b.size(4, 9), b.size(4, 9))
    b.net.inputs["x"] = b.rng.normal(size=shape)
    for _ in range(b.size(1, 4)):
        shape = b.image_layer(shape)
    batch, start = shape[:-3], len(shape) - 3  # (start: flatten's start_dim)
    features, out = math.prod(shape[start:]), b.size(1, 3)
    if b.coin():
        b.add(f"nn.Flatten({start})", one, lambda nn: nn.Flatten(start), (*batch, features))
    else:
        run = lambda lib, m, x, seen: [lib.flatten(x, start)]  # noqa: E731
        b.add(f"torch.flatten(x, {start})", run, shape=(*batch, features))
    if b.coin(0.3):
        b.batch_norm((*batch, features))
    b.add(f"nn.Linear({features}, {out})", one, lambda nn: nn.Linear(features, out), (*batch, out))
    b.net.passes = b.size(1, 2)
    return b.net


def draw_sequences(seed: int) -> Network:
    """Sequences of numbers, or of tokens through an embedding (a batch, or one sequence (T, F) without a batch
    axis); 0-2 layers; then 1-2 recurrent modules."""
    b = Builder(seed)
    n, t, f, batch_first = b.size(0, 3), b.size(1, 6), b.size(1, 4), b.coin()
    shape = (t, f) if n == 0 else (n, t, f) if batch_first else (t, n, f)
    if b.coin(0.4):
        vocab = b.size(2, 6)
        b.net.inputs["x"] = b.rng.integers(0, vocab, size=shape[:-1])
        b.add(f"nn.Embedding({vocab}, {f})", one, lambda nn: nn.Embedding(vocab, f), shape)
    else:
        b.net.inputs["x"] = b.rng.normal(size=shape)
    for _ in range(b.size(0, 2)):
        shape = b.sequence_layer(shape, batch_first)
    for _ in range(b.size(1, 2)):
        shape = b.recurrent(shape, batch_first)
    return b.net


def check(network: Network) -> tuple[str | None, bool]:
    """Run the network on ours and on PyTorch and compare every node and the running statistics; then, if it is
    well posed (``spread_out``), backward from the weighted sum of every node and compare the gradients.
    Returns the first difference with the network (None if they agree) and whether gradients were compared."""
    ours.manual_seed(network.seed)
    mine = module_of(ours, network)
    mine.load_state_dict(mine.state_dict() | network.state)
    theirs = module_of(torch, network).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in mine.state_dict().items()})
    inputs = {
        lib: {k: lib.tensor(v, requires_grad=v.dtype.kind == "f") for k, v in network.inputs.items()}
        for lib in (ours, torch)
    }
    for _ in range(network.passes):
        nodes, their_nodes = mine(inputs[ours]), theirs(inputs[torch])
    their_state = theirs.state_dict()
    problem = first_difference(
        [(f"output of layer {i}", a.detach(), b.detach()) for (i, a), (_, b) in zip(nodes, their_nodes, strict=True)]
        + [(f"{name} after the passes", v, their_state[name]) for name, v in mine.state_dict().items()]
    )
    well_posed = problem is None and spread_out(network, inputs[ours]["x"], nodes)
    if well_posed:
        rng, root, their_root = np.random.default_rng(network.seed), 0.0, 0.0
        for (_, node), (_, their_node) in zip(nodes, their_nodes, strict=True):
            weights = rng.normal(size=node.shape)
            root = root + (node * ours.tensor(weights)).sum()
            their_root = their_root + (their_node * torch.from_numpy(weights)).sum()
        root.backward()
        their_root.backward()
        leaves = [(f"input {k}", v, inputs[torch][k]) for k, v in inputs[ours].items() if v.requires_grad]
        leaves += [(n, p, q) for (n, p), (_, q) in zip(mine.named_parameters(), theirs.named_parameters(), strict=True)]
        problem = first_difference([(f"gradient of {name}", p.grad, q.grad) for name, p, q in leaves])
    return problem and f"{problem}\n{network}", well_posed


def spread_out(network: Network, x, nodes: list) -> bool:
    """Does every group that a norm standardises by its own statistics have a spread (variance >= 1e-3)? On a
    constant group (a row of padding, a channel of relu's zeros, one bias everywhere) x - mean is rounding error,
    and a gradient through the norm moves by up to (var + eps)^-1.5 times it: a padded 1x1 conv, two layer norms
    over its rows of 3 and a batch norm of 2 images gave a bias gradient 1e-8 apart. With var >= 1e-3 the
    factor is at most 3e4, noise of a few 1e-12."""
    inputs = [x] + [next(node for i, node in nodes if i == k) for k in range(len(network.layers) - 1)]
    return all(
        layer.groups is None or np.var(inputs[k].numpy(), axis=layer.groups).min() >= 1e-3
        for k, layer in enumerate(network.layers)
    )


def first_difference(compared: list) -> str | None:
    """The first of (what, ours, PyTorch's) whose numbers differ (or of which one is None), as a message."""
    for what, mine, theirs in compared:
        mine, theirs = (
            None if t is None else np.asarray(t.numpy() if hasattr(t, "numpy") else t) for t in (mine, theirs)
        )
        if (mine is None) != (theirs is None) or mine is not None and not np.allclose(mine, theirs, **TIGHT):
            return f"{what} differs: ours {mine!r}, PyTorch's {theirs!r}"
    return None


DRAW = {"images": draw_images, "sequences": draw_sequences}


@pytest.mark.parametrize("chunk", range(CHUNKS))
@pytest.mark.parametrize("kind", DRAW)
def test_random_networks_agree_with_pytorch(kind, chunk):
    seeds, gradients = range(chunk, NETWORKS, CHUNKS), 0
    for seed in seeds:
        problem, compared = check(DRAW[kind](seed))
        assert problem is None, problem
        gradients += compared
    assert gradients >= 0.7 * len(seeds)  # (most networks are well posed: their gradients were compared)


def _first_failure(kind: str, limit: int) -> str | None:
    return next(filter(None, (check(DRAW[kind](seed))[0] for seed in range(limit))), None)


_conv2d_weight = ops.Conv2dWeight.forward


def _flipped_weight_gradient(x, g, kernel_size, stride, padding):
    """The filters' gradient turned 180 degrees: a convolution's gradient mixed up with a correlation's."""
    return _conv2d_weight(x, g, kernel_size, stride, padding)[..., ::-1, ::-1]


def _without_the_mean_term(g, out, x, axes, eps):
    """A norm's backward that forgets that every x moves the mean: inv_std (g - x_hat mean(g x_hat))."""
    inv_std = (np.var(x, axis=axes, keepdims=True) + eps) ** -0.5
    return inv_std * (g - out * np.mean(g * out, axis=axes, keepdims=True))


_lstm_step = recurrent.lstm_step


def _cut_through_time(x, state, w_ih, w_hh, b=None):
    """An LSTM step whose gradient stops at the previous hidden state: the same values, but backprop through
    time reaches back only along the cell state."""
    h, c = state
    return _lstm_step(x, (h.detach(), c), w_ih, w_hh, b)


@pytest.mark.parametrize(
    "kind, target, name, wrong, expected",
    [
        ("images", ops.Conv2dWeight, "forward", staticmethod(_flipped_weight_gradient), r"layer\d+\.weight .*Conv2d"),
        ("images", ops.Standardize, "backward", staticmethod(_without_the_mean_term), r"Norm"),
        ("sequences", ops.Standardize, "backward", staticmethod(_without_the_mean_term), r"LayerNorm"),
        # a gradient assigned where it should be added: overlapping pooling windows, a token seen twice
        ("images", ops, "picks_once", lambda index: True, r"(MaxPool2d|max_pool2d)"),
        ("sequences", ops, "picks_once", lambda index: True, r"layer0\.weight .*Embedding"),
        ("sequences", recurrent, "lstm_step", _cut_through_time, r"LSTM"),
    ],
)
def test_a_planted_wrong_layer_derivative_is_caught(monkeypatch, kind, target, name, wrong, expected):
    monkeypatch.setattr(target, name, wrong)
    problem = _first_failure(kind, NETWORKS)
    assert problem is not None and re.search("gradient of .*" + expected, problem, re.DOTALL), problem
