"""A model's graph for one input, in one call: ``viz.draw_model(model, [1.0, 0.0])``.

The model runs on the input, the gradients are cleared and one backward pass runs from its (first)
output, so the picture shows that pass alone, not gradients left over from training.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinygrad_edu.engine import Value
from tinygrad_edu.viz.dot import draw_graph
from tinygrad_edu.viz.render import Graph


def model_graph(model, x, names: Sequence[str] | None = None) -> Value:
    """Run ``model`` on one input ``x`` and back-propagate from its (first) output, named ``output``.

    At scalar granularity each number becomes an input node named ``x[0]``, ``x[1]``, ... or as ``names``
    says (``names=("x1", "x2")``); at tensor granularity ``x`` is one input node, ``x`` or ``names[0]``, a batch
    of one example.
    The model's gradients are set to zero first (``model.zero_grad()``).
    """
    if not callable(model) or not hasattr(model, "zero_grad"):
        raise TypeError(f"draw a model (an nn.Module, such as nn.MLP(2, [4, 1])), got {type(model).__name__}")
    model.zero_grad()
    if getattr(model, "granularity", "tensor") == "scalar":
        labels = list(names) if names is not None else [f"x[{i}]" for i in range(len(x))]
        if len(labels) != len(x):
            raise ValueError(f"names gives {len(labels)} names for {len(x)} inputs")
        out = model([Value(float(v), label=label, requires_grad=False) for v, label in zip(x, labels)])
        out = out[0] if isinstance(out, list) else out
    else:
        label = names[0] if names else "x"
        batch = np.asarray(x, dtype=np.float64)[None]  # a batch of one: what batch norm and convolutions expect
        out = model(Value(batch, label=label, requires_grad=False))
        out = out if out.ndim == 0 else out[(0,) * out.ndim]  # its first output
    out.label = "output"
    out.backward()
    return out


def draw_model(model, x, names: Sequence[str] | None = None, **draw_options) -> Graph:
    """``model``'s graph for the input ``x`` after one backward pass from its output (``model_graph``),
    drawn by ``draw_graph`` with ``draw_options`` (``show_data=False``, ``style=...``, ...)."""
    return draw_graph(model_graph(model, x, names), **draw_options)
