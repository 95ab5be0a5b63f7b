"""Computation graphs a teacher would put on a slide, and the backward pass step by step.

Read in this order:

* ``style``: a ``Style``: what a picture shows, its colours, fonts and sizes;
* ``render``: DOT source to .svg/.png/.pdf with Graphviz's ``dot`` or the ``graphviz-pure`` wheel;
* ``dot``: a Value's graph as DOT (``draw_graph``) and as a file (``render_graph``);
* ``backward``: the graph of backward functions and what they saved (``draw_backward``,
  ``render_backward_graph``), as torchviz draws PyTorch's, alone or beside the forward graph;
* ``modules``: big graphs drawn small: one box per module (``depth=1``), one time step (``roll=True``);
* ``model``: a model's graph for one input in one call (``draw_model``);
* ``stepper``: the backward pass one gradient at a time as frames, and a page that fills the values first
  (the forward pass), then the gradients, readable on a projector (zoom, fit, pan, the step's node followed),
  made of ``stepper.html``, ``stepper.css`` and ``stepper.js`` (package data beside these files); and the same
  page for forward mode (``tangent_steps``, ``forward_mode_page``, ``render_forward_mode``): each value with its
  tangent along one leaf;
* ``text``: the graph as a text tree (``print_graph``), for terminals;
* ``jupyter``: how a notebook shows a Value (wired in below).

Every view names a node the same way (``tinygrad_edu.names.node_names``): its label, else ``n1``, ``n2``, ...
"""

from tinygrad_edu.engine import Value, grad_numbers, toposort  # noqa: F401 (viz.py's names, kept)
from tinygrad_edu.trace import gradients_from, trace_backward  # noqa: F401 (viz.py's names, kept)
from tinygrad_edu.viz.backward import draw_backward, render_backward_graph
from tinygrad_edu.viz.dot import Grads, draw_graph, render_graph
from tinygrad_edu.viz.jupyter import value_mimebundle
from tinygrad_edu.viz.model import draw_model, model_graph
from tinygrad_edu.viz.render import FORMATS, INSTALL_HINT, Graph, check_format, render_source
from tinygrad_edu.viz.stepper import (
    Stepper,
    backward_frames,
    backward_page,
    backward_steps,
    forward_mode_page,
    render_backward,
    render_forward_mode,
    tangent_steps,
)
from tinygrad_edu.viz.style import CONSTANT, NEGATIVE, PARAMETER, POSITIVE, SYMBOLS, Style
from tinygrad_edu.viz.text import format_graph, print_graph

# Jupyter shows every Value as its graph once viz is imported (``import tinygrad_edu`` imports it): the one
# link from viz back to the engine, made here so that engine.py stays free of pictures.
Value._repr_mimebundle_ = value_mimebundle

__all__ = [
    "draw_graph",
    "render_graph",
    "draw_backward",
    "render_backward_graph",
    "draw_model",
    "model_graph",
    "backward_frames",
    "backward_page",
    "backward_steps",
    "render_backward",
    "forward_mode_page",
    "render_forward_mode",
    "tangent_steps",
    "Stepper",
    "print_graph",
    "format_graph",
    "Graph",
    "Style",
    "render_source",
    "check_format",
    "FORMATS",
    "INSTALL_HINT",
    "SYMBOLS",
    "PARAMETER",
    "CONSTANT",
    "POSITIVE",
    "NEGATIVE",
    "Grads",
]
