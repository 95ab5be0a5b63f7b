"""The example graphs of the lessons, the pictures and the command line, built the same way everywhere.

* ``neuron_graph``: micrograd's neuron, tanh(x1 w1 + x2 w2 + b), where every backprop course starts;
* ``xor_graph``: a 2-4-1 network trained on XOR, one Value per weight, run on one input;
* ``tensor_mlp_graph``: the loss of a 2-8-1 network at tensor granularity: matrices, not scalars.

Each returns the root after ``backward()``, so every node holds its gradient. The neuron's inputs
x1 and x2 keep their gradients, as in the lecture: draw it with ``inputs=NEURON_INPUTS``.
"""

from __future__ import annotations

from tinygrad_edu import data, losses, nn, train
from tinygrad_edu.engine import Value
from tinygrad_edu.viz.model import model_graph


def neuron_graph(seed: int = 0) -> Value:
    """micrograd's neuron: out = tanh(x1*w1 + x2*w2 + b), after backward."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    out = n.tanh()
    out.label = "out"
    out.backward()
    return out


def xor_graph(seed: int = 0) -> Value:
    """A 2-4-1 tanh network trained on XOR at scalar granularity, run on the input (1, 0)."""
    X, y = data.xor()
    model = nn.MLP(2, [4, 1], granularity="scalar", seed=seed)
    train.fit(model, X, y, lr=0.05, steps=500, seed=seed)
    return graph_for_input(model, X[2])


def tensor_mlp_graph(seed: int = 0) -> Value:
    """The loss of a 2-8-1 network at tensor granularity on the four XOR points: matrices, not scalars."""
    X, y = data.xor()
    model = nn.MLP(2, [8, 1], seed=seed)
    loss = losses.bce_with_logits(model(Value(X, label="X", requires_grad=False)), y)
    loss.label = "loss"
    loss.backward()
    return loss


NEURON_INPUTS = ("x1", "x2")
PRESETS = {"neuron": neuron_graph, "xor": xor_graph, "tensor-mlp": tensor_mlp_graph}


def graph_for_input(model, x) -> Value:
    """Run the model on one input and back-propagate from its (first) output: the graph to draw
    (``viz.model_graph``), its inputs named x[0], x[1], ..., numbered as the weights w0, w1 that multiply them."""
    return model_graph(model, x)
