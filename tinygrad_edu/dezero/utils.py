"""DeZero's ``dezero.utils``: ``plot_dot_graph`` (drawn by this package's ``viz``), ``numerical_diff``
(the central difference of the book's step 4) and ``sum_to`` on ndarrays."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from tinygrad_edu.dezero.core import Variable, as_array
from tinygrad_edu.engine import reduce_broadcast
from tinygrad_edu.viz import Graph, draw_graph
from tinygrad_edu.viz.render import picture_format, write_picture

__all__ = ["plot_dot_graph", "get_dot_graph", "numerical_diff", "sum_to"]


def get_dot_graph(output: Variable, verbose: bool = True) -> str:
    """The DOT source of ``output``'s graph (``verbose``: with each Variable's numbers and gradient)."""
    return draw_graph(output, show_data=verbose, show_grad=verbose).source


def plot_dot_graph(output: Variable, verbose: bool = True, to_file: str | os.PathLike = "graph.png") -> Graph:
    """Draw ``output``'s graph into ``to_file`` (.png, .svg, .pdf or .dot) and return it (Jupyter shows it).

    Each Variable is a box named by its ``name``; ``verbose`` adds its numbers and gradient (DeZero's adds
    its shape and dtype). Functions are the ops' circles."""
    graph = draw_graph(output, show_data=verbose, show_grad=verbose)
    path, fmt = picture_format(to_file)
    write_picture(graph, path, fmt)
    return graph


def numerical_diff(f: Callable, x: Variable, eps: float = 1e-4):
    """(f(x + eps) - f(x - eps)) / (2 eps), every element of x moved at once: the derivative of an
    elementwise f, with an error of order eps^2."""
    y0, y1 = f(Variable(as_array(x.data - eps))), f(Variable(as_array(x.data + eps)))
    return (y1.data - y0.data) / (2 * eps)


def sum_to(x: np.ndarray, shape: tuple) -> np.ndarray:
    """x summed over the axes broadcasting adds or stretches to make ``shape`` from it."""
    return np.asarray(reduce_broadcast(np.asarray(x), np.empty(shape) if shape else 0.0))


def __getattr__(name: str):
    raise AttributeError(f"tinygrad_edu.dezero.utils has no {name!r}; it has: {', '.join(__all__)}")
