"""Random multi-op graphs built twice, on our engine and on PyTorch, op for op, from one seed.

Single-op tests check each derivative alone; a wrong gradient can still hide in how ops
meet (an axis convention, a broadcast summed back wrongly, a node used twice). So each
graph here has 3-30 ops drawn from every op we have, on shapes that include 0-d, size-1
and zero-size axes, with nodes reused at random; values are compared at every node and
the gradient of every leaf at the end.

    python -m tests.fuzz 20000      # run 20,000 graphs and report the first mismatch
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np

from tinygrad_edu import Value, functional, grad, losses
from tinygrad_edu.functional import where

LEAF_SHAPES = [(), (1,), (3,), (4,), (2, 3), (1, 3), (3, 1), (2, 1, 3), (0, 3), (2, 0)]


@dataclass
class Graph:
    """The two graphs side by side: ``pairs[k]`` is node k in ours and in PyTorch; leaves are the inputs."""

    seed: int
    leaves: list = field(default_factory=list)
    pairs: list = field(default_factory=list)
    program: list = field(default_factory=list)  # one line per op, to print a failing graph


class Builder:
    def __init__(self, seed: int, torch):
        self.rng = np.random.default_rng(seed)
        self.torch = torch
        self.g = Graph(seed)

    def leaf(self, shape: tuple) -> tuple:
        data = self.rng.normal(size=shape) * 1.5
        ours = Value(float(data) if shape == () else data, label=f"x{len(self.g.leaves)}")
        theirs = self.torch.tensor(data, dtype=self.torch.float64, requires_grad=True)
        self.g.leaves.append((ours, theirs))
        self.g.pairs.append((ours, theirs))
        self.g.program.append(f"x{len(self.g.leaves) - 1} = leaf{shape}")
        return ours, theirs

    def pick(self) -> tuple:
        """An existing node (so nodes get reused), squashed by tanh if its numbers have grown large."""
        ours, theirs = self.g.pairs[self.rng.integers(len(self.g.pairs))]
        if ours.shape and ours.data.size and np.max(np.abs(ours.data)) > 1e3:
            return self.record("tanh", ours.tanh(), theirs.tanh())
        if not ours.shape and abs(ours.data) > 1e3:
            return self.record("tanh", ours.tanh(), theirs.tanh())
        return ours, theirs

    def partner(self, shape: tuple) -> tuple:
        """A second operand that broadcasts with ``shape``: an existing node when one fits, else a new leaf."""
        fits = [p for p in self.g.pairs if _broadcasts(p[0].shape, shape)]
        if fits and self.rng.random() < 0.6:
            return fits[self.rng.integers(len(fits))]
        options = [shape, shape[1:], (), tuple(1 if self.rng.random() < 0.5 else n for n in shape)]
        return self.leaf(options[self.rng.integers(len(options))])

    def positive(self, pair) -> tuple:
        """|x| + 0.1: a strictly positive operand for log, sqrt and fractional powers."""
        ours, theirs = pair
        return self.record("abs+0.1", ours.abs() + 0.1, theirs.abs() + 0.1)

    def record(self, what: str, ours: Value, theirs) -> tuple:
        self.g.pairs.append((ours, theirs))
        self.g.program.append(f"n{len(self.g.pairs) - 1} = {what} -> {ours.shape}")
        return ours, theirs

    def axis(self, ndim: int):
        choice = self.rng.integers(4)
        if choice == 0 or ndim == 0:
            return None
        ax = int(self.rng.integers(-ndim, ndim))
        if choice == 1 or ndim == 1:
            return ax
        other = int(self.rng.integers(-ndim, ndim))
        return (ax, other) if ax % ndim != other % ndim else ax

    def step(self) -> None:
        t, F = self.torch, self.torch.nn.functional
        name = OPS[self.rng.integers(len(OPS))]
        a, ta = self.pick()
        r = self.rng
        if name in ("add", "sub", "mul", "div"):
            b, tb = self.partner(a.shape)
            if r.random() < 0.5:
                (a, ta), (b, tb) = (b, tb), (a, ta)
            if name == "div":  # a denominator kept away from 0, of either sign
                sign = 1.0 if r.random() < 0.5 else -1.0
                b, tb = self.record("sigmoid+0.5", (b.sigmoid() + 0.5) * sign, (tb.sigmoid() + 0.5) * sign)
            fn = {
                "add": lambda x, y: x + y,
                "sub": lambda x, y: x - y,
                "mul": lambda x, y: x * y,
                "div": lambda x, y: x / y,
            }[name]
            self.record(name, fn(a, b), fn(ta, tb))
        elif name == "const":  # a number or array constant on either side
            c = float(r.normal()) if r.random() < 0.5 else r.normal(size=a.shape[-1:] or ())
            tc = t.tensor(c, dtype=t.float64)
            self.record("mul const", a * c if r.random() < 0.5 else c * a, ta * tc)
        elif name == "neg":
            self.record(name, -a, -ta)
        elif name == "pow":
            p = float(r.choice([2.0, 3.0, 0.0, 1.0, -1.0, 0.5, -1.5]))
            if p != int(p) or p < 0:
                a, ta = self.positive((a, ta))
            self.record(f"pow {p}", a**p, ta**p)
        elif name == "vpow":
            base, tbase = self.record("sigmoid+0.5", a.sigmoid() + 0.5, ta.sigmoid() + 0.5)
            e, te = self.partner(a.shape)
            self.record("pow", base**e, tbase**te)
        elif name == "matmul":
            if a.ndim == 0:
                return
            k = a.shape[-1]
            shape = (k,) if r.random() < 0.3 else (k, int(r.integers(1, 4)))
            b, tb = self.leaf(shape)
            self.record(name, a @ b, ta @ tb)
        elif name in ("log", "sqrt"):
            a, ta = self.positive((a, ta))
            self.record(name, getattr(a, name)(), getattr(ta, name)())
        elif name == "exp":
            a, ta = self.record("clip", a.clip(-20, 20), ta.clip(-20, 20))
            self.record(name, a.exp(), ta.exp())
        elif name in ("abs", "tanh", "sigmoid", "relu"):
            self.record(name, getattr(a, name)(), getattr(ta, name)())
        elif name == "leaky_relu":
            alpha = float(r.choice([0.01, 0.2]))
            self.record(name, a.leaky_relu(alpha), F.leaky_relu(ta, alpha))
        elif name == "softplus":  # ours has no threshold unless given; PyTorch's default is 20
            self.record(name, a.softplus(), F.softplus(ta, threshold=math.inf))
        elif name == "gelu":
            self.record(name, a.gelu(), F.gelu(ta))
        elif name == "gelu_tanh":
            self.record(name, functional.gelu(a, approximate="tanh"), F.gelu(ta, approximate="tanh"))
        elif name == "erf":
            self.record(name, functional.erf(a), ta.erf())
        elif name == "step":  # no gradient: PyTorch's comparison makes a constant
            self.record(name, a.step(), (ta >= 0).to(t.float64))
        elif name == "clip":
            lo, hi = sorted(r.normal(size=2).tolist())
            self.record(name, a.clip(lo, hi), ta.clamp(lo, hi))
        elif name in ("sum", "mean", "max"):
            if name == "max" and a.ndim and 0 in a.shape:
                return  # the max of nothing is an error in both
            axis, keep = self.axis(a.ndim), bool(r.random() < 0.5)
            dims = tuple(range(a.ndim)) if axis is None else axis
            theirs = {
                "sum": lambda: ta.sum(dim=dims, keepdim=keep),
                "mean": lambda: ta.mean(dim=dims, keepdim=keep),
                "max": lambda: ta.amax(dim=dims, keepdim=keep),
            }[name]()
            self.record(f"{name} axis={axis} keepdims={keep}", getattr(a, name)(axis=axis, keepdims=keep), theirs)
        elif name == "reshape":
            shape = [(-1,), (1, -1), tuple(reversed(a.shape)), (-1, 1)][r.integers(4)]
            self.record(f"reshape {shape}", a.reshape(*shape), ta.reshape(shape))
        elif name == "transpose":
            if a.ndim == 0:
                return
            perm = [int(i) - (a.ndim if r.random() < 0.5 else 0) for i in r.permutation(a.ndim)]
            self.record(f"transpose {perm}", a.transpose(*perm), ta.permute(*perm))
        elif name == "index":
            if a.ndim == 0 or a.shape[0] == 0:
                return
            n = a.shape[0]
            index = [int(r.integers(-n, n)), slice(None, None, 2), [0, 0, n - 1], (slice(None), 0)][r.integers(4)]
            if isinstance(index, tuple) and (a.ndim < 2 or a.shape[1] == 0):
                return
            self.record(f"index {index}", a[index], ta[index])
        elif name in ("softmax", "log_softmax"):
            if a.ndim == 0:
                return
            axis = int(r.integers(-a.ndim, a.ndim))
            self.record(f"{name} {axis}", getattr(a, name)(axis), getattr(ta, name)(axis))
        elif name == "where":  # PyTorch's where(a > 0, a, b), a comparison as the condition
            b, tb = self.partner(a.shape)
            self.record(name, where(a > 0, a, b), t.where(ta > 0, ta, tb))
        elif name == "broadcast_to":
            shape = (2,) + tuple(n if r.random() < 0.5 or n != 1 else 3 for n in a.shape)
            self.record(f"broadcast_to {shape}", a.broadcast_to(shape), ta.expand(shape))
        elif name == "cross_entropy":
            if a.ndim != 2 or 0 in a.shape:
                return
            labels = r.integers(0, a.shape[1], size=a.shape[0])
            self.record(name, losses.cross_entropy(a, labels), F.cross_entropy(ta, t.tensor(labels)))


OPS = [
    "add",
    "sub",
    "mul",
    "div",
    "const",
    "neg",
    "pow",
    "vpow",
    "matmul",
    "log",
    "sqrt",
    "exp",
    "abs",
    "tanh",
    "sigmoid",
    "relu",
    "leaky_relu",
    "softplus",
    "gelu",
    "gelu_tanh",
    "erf",
    "step",
    "clip",
    "sum",
    "mean",
    "max",
    "reshape",
    "transpose",
    "index",
    "softmax",
    "log_softmax",
    "cross_entropy",
    "where",
    "broadcast_to",
]


def _broadcasts(a: tuple, b: tuple) -> bool:
    try:
        return np.broadcast_shapes(a, b) == b
    except ValueError:
        return False


def build(seed: int, torch) -> Graph:
    """A random graph of 3-30 ops from one seed, on our engine and on PyTorch."""
    b = Builder(seed, torch)
    for _ in range(1 + b.rng.integers(3)):
        b.leaf(LEAF_SHAPES[b.rng.integers(len(LEAF_SHAPES))])
    target = int(b.rng.integers(3, 31))
    while len(b.g.pairs) - len(b.g.leaves) < target:
        b.step()
    return b.g


def check(seed: int, torch) -> str | None:
    """Build one graph and run backward on both engines; None if they agree, else the mismatch."""
    with np.errstate(all="ignore"):
        g = build(seed, torch)
        for k, (ours, theirs) in enumerate(g.pairs):
            if not np.allclose(ours.data, theirs.detach().numpy(), rtol=1e-9, atol=1e-12, equal_nan=True):
                return _report(g, f"node {k} forward differs")
        ours, theirs = _weighted_sum(g.pairs, np.random.default_rng(seed), torch)
        ours.backward()
        if theirs.requires_grad:
            theirs.backward()
    return _compare_leaves(g, [leaf.grad for leaf, _ in g.leaves], [t.grad for _, t in g.leaves], "gradient")


def check_second(seed: int, torch) -> str | None:
    """The same graph, differentiated twice: every leaf's gradient (made with create_graph=True, as a
    graph of its own) times random weights, summed, differentiated again; against PyTorch's
    ``autograd.grad(..., create_graph=True)`` applied twice. None if they agree, else the mismatch."""
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        g = build(seed, torch)
        if any(np.isnan(node.data).any() for node, _ in g.pairs):
            return None  # a nan value (the mean of nothing) makes every derivative through it a convention
        leaves, tleaves = [leaf for leaf, _ in g.leaves], [t for _, t in g.leaves]
        ours, theirs = _weighted_sum(g.pairs, rng, torch)
        firsts = grad(ours, leaves, create_graph=True, allow_unused=True)
        tfirsts = torch.autograd.grad(theirs, tleaves, create_graph=True, allow_unused=True)
        kept = [(f, t) for f, t in zip(firsts, tfirsts) if t is not None and t.requires_grad]
        second, tsecond = _weighted_sum(kept, rng, torch) if kept else (None, None)
        seconds = grad(second, leaves, allow_unused=True) if second is not None and second.requires_grad else None
        tseconds = torch.autograd.grad(tsecond, tleaves, allow_unused=True) if kept else [None] * len(leaves)
    if seconds is None:
        seconds = [np.zeros(leaf.shape) for leaf in leaves]
    return _compare_leaves(g, [s.data if isinstance(s, Value) else s for s in seconds], tseconds, "second derivative")


def _weighted_sum(pairs, rng, torch) -> tuple:
    """The root: every node (ours and PyTorch's) times the same random weights, summed, so every backward runs."""
    ours, theirs = 0.0, 0.0
    for node, tnode in pairs:
        w = rng.normal(size=node.shape)
        ours = ours + (node * (float(w) if node.shape == () else w)).sum()
        theirs = theirs + (tnode * torch.tensor(w, dtype=torch.float64)).sum()
    return ours, theirs


def _compare_leaves(g: Graph, ours: list, theirs: list, what: str) -> str | None:
    for i, (mine, ref) in enumerate(zip(ours, theirs)):
        ref = np.zeros(np.shape(mine)) if ref is None else ref.detach().numpy(force=True)
        scale = max(1.0, float(np.max(np.abs(ref[np.isfinite(ref)]), initial=0.0)))
        if not np.allclose(mine, ref, rtol=1e-7, atol=1e-9 * scale, equal_nan=True):
            return _report(g, f"{what} of x{i} differs: ours {mine!r}, PyTorch {ref!r}")
    return None


def _report(g: Graph, what: str) -> str:
    return f"seed {g.seed}: {what}\n  " + "\n  ".join(g.program)


def run_seeds(check_one, argv: list[str], agreed: str) -> int:
    """``python -m tests.<fuzz> N``: check seeds 0..N-1 against PyTorch, print the first mismatch (exit 1)
    or "N <agreed>" (exit 0)."""
    import torch

    n = int(argv[0]) if argv else 1000
    for seed in range(n):
        problem = check_one(seed, torch)
        if problem:
            print(problem)
            return 1
    print(f"{n} {agreed}")
    return 0


def main(argv: list[str]) -> int:
    return run_seeds(
        lambda seed, torch: check(seed, torch) or check_second(seed, torch),
        argv,
        "random graphs: values, gradients and second derivatives agree with PyTorch",
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
