"""micrograd's API on this engine: change the import, keep the code.

    from tinygrad_edu.micrograd import Value            # was: from micrograd.engine import Value
    from tinygrad_edu.micrograd import Neuron, Layer, MLP, draw_dot   # was: from micrograd.nn import ...

``Neuron(nin, nonlin=True)``, ``Layer(nin, nout, **kwargs)`` and ``MLP(nin, nouts)`` have
micrograd's defaults: ReLU hidden units, a linear last layer, weights from Python's
``random.uniform(-1, 1)`` drawn in micrograd's order and biases at 0, so after the same
``random.seed(...)`` they hold the same numbers, and train to the same losses. They are this
package's ``nn`` models at scalar granularity, so ``gradcheck``, ``trace_backward`` and the
pictures work on them too. Every Value has micrograd's ``_prev``, ``_op`` and ``_backward()``.
"""

from __future__ import annotations

import random

import numpy as np

from tinygrad_edu import nn
from tinygrad_edu.engine import Value
from tinygrad_edu.viz import Graph, draw_graph

__all__ = ["Value", "Neuron", "Layer", "MLP", "draw_dot"]


class Neuron(nn.Neuron):
    """relu(w . x + b), or w . x + b with ``nonlin=False``; w from U(-1, 1) by Python's ``random``, b = 0."""

    def __init__(self, nin: int, nonlin: bool = True):
        weights = np.array([random.uniform(-1, 1) for _ in range(nn.check_size("nin", nin))])
        super().__init__(nin, activation="relu" if nonlin else None, granularity="scalar", weights=weights)
        self.nonlin = nonlin

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({self.nin})"


class Layer(nn.Layer):
    """``nout`` micrograd neurons reading the same inputs; ``kwargs`` go to each Neuron (``nonlin=``)."""

    def __init__(self, nin: int, nout: int, **kwargs):
        self.nin, self.nout = nn.check_size("nin", nin), nn.check_size("nout", nout)
        self.granularity = "scalar"
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]
        self.label_parameters()

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(nn.MLP):
    """Layers of micrograd neurons: ReLU in the hidden layers, linear in the last (``nouts`` its widths)."""

    def __init__(self, nin: int, nouts: list[int]):
        if isinstance(nouts, (int, np.integer)) or not nouts:
            raise ValueError(f"nouts must be a non-empty list of layer widths, got {nouts!r}")
        sizes = [nin, *nouts]
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]
        self.granularity = "scalar"
        self.label_parameters()

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


def draw_dot(root: Value, format: str = "svg", rankdir: str = "LR") -> Graph:
    """micrograd's ``draw_dot``, drawn by this package: Jupyter shows it, ``.render('gout')`` writes gout.svg."""
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"rankdir must be 'LR' or 'TB', got {rankdir!r}")
    return draw_graph(root, rankdir=rankdir, format=format)
