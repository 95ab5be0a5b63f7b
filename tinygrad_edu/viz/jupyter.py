"""How Jupyter shows a Value: as its computation graph. IPython asks any object it displays for
``_repr_mimebundle_``; ``viz/__init__.py`` gives Value this one, so the engine needs to know nothing of
pictures (and nothing here needs IPython)."""

from __future__ import annotations

from tinygrad_edu.engine import Value
from tinygrad_edu.viz.dot import draw_graph
from tinygrad_edu.viz.render import render_source


def value_mimebundle(value: Value, include=None, exclude=None) -> dict:
    """A Value as Jupyter shows it: its text and its graph; when the graph cannot be drawn, the text says why."""
    try:
        return {"text/plain": repr(value), "image/svg+xml": render_source(draw_graph(value).source, "svg").decode()}
    except (RuntimeError, ValueError) as e:
        return {"text/plain": f"{value!r}\n(graph not drawn: {e})"}
