"""A bare scalar engine: the least work per op that a Python autodiff graph can do, as a yardstick.

No input checks, no op classes, no tensors, no per-pass gradient bookkeeping (so, like
micrograd, a second ``backward()`` on the same graph would count gradients twice), every
derivative inlined in one loop; it sorts the graph with our own ``toposort``. It only knows
what workloads 1 and 2 use. What it reaches against micrograd is, in practice, about as far
as an engine that builds a graph of Python objects at every step can go in CPython.
"""

from __future__ import annotations

from tinygrad_edu.engine import toposort  # the same sort as ours: it walks the input slots _a and _b

ADD, MUL, SUB, POW, RELU = range(1, 6)


def _const(x) -> Bare:
    return x if x.__class__ is Bare else Bare(float(x))


class Bare:
    __slots__ = ("data", "grad", "_a", "_b", "op")

    def __init__(self, data: float, a=None, b=None, op: int = 0):
        self.data, self.grad, self._a, self._b, self.op = data, 0.0, a, b, op

    def __add__(self, other) -> Bare:
        other = _const(other)
        return Bare(self.data + other.data, self, other, ADD)

    __radd__ = __add__

    def __mul__(self, other) -> Bare:
        other = _const(other)
        return Bare(self.data * other.data, self, other, MUL)

    __rmul__ = __mul__

    def __sub__(self, other) -> Bare:
        other = _const(other)
        return Bare(self.data - other.data, self, other, SUB)

    def __neg__(self) -> Bare:
        return self * -1.0

    def __pow__(self, p: float) -> Bare:
        return Bare(self.data**p, self, Bare(float(p)), POW)

    def relu(self) -> Bare:
        return Bare(self.data if self.data > 0 else 0.0, self, None, RELU)

    def backward(self) -> None:
        self.grad = 1.0
        for node in toposort(self):
            op, g, a, b = node.op, node.grad, node._a, node._b
            if op == ADD:
                a.grad += g
                b.grad += g
            elif op == MUL:
                a.grad += g * b.data
                b.grad += g * a.data
            elif op == SUB:
                a.grad += g
                b.grad -= g
            elif op == POW:
                a.grad += g * b.data * a.data ** (b.data - 1)
            elif op == RELU and node.data > 0:
                a.grad += g


class BareMLP:
    """micrograd's MLP (ReLU hidden layers, linear output) on Bare values, weights copied from ``params``
    in the order our MLP lists them: for each neuron, its weights, then its bias."""

    def __init__(self, params, sizes: list[int]):
        values = iter(float(p.data) for p in params)
        self.layers = [
            [([Bare(next(values)) for _ in range(sizes[i])], Bare(next(values))) for _ in range(sizes[i + 1])]
            for i in range(len(sizes) - 1)
        ]

    def __call__(self, x):
        for depth, layer in enumerate(self.layers):
            hidden = depth < len(self.layers) - 1
            x = [sum((wi * xi for wi, xi in zip(w, x)), b) for w, b in layer]
            x = [v.relu() for v in x] if hidden else x
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Bare]:
        return [p for layer in self.layers for w, b in layer for p in [*w, b]]
