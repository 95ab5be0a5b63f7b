"""DeZero's ``dezero.models``: ``Model`` (a Layer that can draw itself) and ``MLP``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tinygrad_edu.dezero import functions as F
from tinygrad_edu.dezero import layers as L
from tinygrad_edu.dezero import utils
from tinygrad_edu.dezero.core import Variable
from tinygrad_edu.viz import Graph

__all__ = ["Model", "MLP"]


class Model(L.Layer):
    """A Layer that is a whole model: ``plot(x)`` draws the graph of ``forward(x)``."""

    def plot(self, *inputs, to_file: str = "model.png") -> Graph:
        y = self.forward(*inputs)
        return utils.plot_dot_graph(y, verbose=True, to_file=to_file)


class MLP(Model):
    """Linear layers of the sizes ``fc_output_sizes`` (the last is the output's), ``activation`` between them."""

    def __init__(self, fc_output_sizes: Sequence[int], activation: Callable = F.sigmoid):
        super().__init__()
        self.activation = activation
        self.layers = []
        for i, out_size in enumerate(fc_output_sizes):
            layer = L.Linear(out_size)
            setattr(self, f"l{i}", layer)
            self.layers.append(layer)

    def forward(self, x) -> Variable:
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)


def __getattr__(name: str):
    raise AttributeError(f"tinygrad_edu.dezero.models has no {name!r}; it has: {', '.join(__all__)}")
