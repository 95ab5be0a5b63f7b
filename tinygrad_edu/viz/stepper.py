"""The backward pass step by step: the order a lecturer narrates it, the chain rule with its numbers at
each step, as frames (one picture per step) or as one page (``stepper.html``, ``.css`` and ``.js``,
shipped beside this file) that fills one gradient per step on a graph drawn once.

Every caption names nodes as every other view does (``names.node_names``): ``dout/dn4 = -1.5``.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
from importlib import resources
from pathlib import Path

from tinygrad_edu.engine import Value, toposort
from tinygrad_edu.names import node_names
from tinygrad_edu.tables import summary
from tinygrad_edu.trace import BackwardTrace, trace_backward
from tinygrad_edu.viz.dot import draw, graph_nodes, node_ids
from tinygrad_edu.viz.render import Graph, svg_body, write
from tinygrad_edu.viz.style import Style


def backward_steps(root: Value, trace: BackwardTrace | None = None) -> list[tuple[Value, object]]:
    """(node, its gradient), in the order a lecturer narrates one backward pass from ``root``: level by
    level from the output, a node after every node made from it (so its gradient is complete).

    Runs that pass on the side (or reads it from ``trace``, ``trace_backward(root)``): the ``.grad`` of every
    node is left as it was.
    """
    grads = (trace or trace_backward(root)).gradients
    order = toposort(root)
    level, made = {root: 0}, {node: -i for i, node in enumerate(order)}  # made: inputs before their results
    for node in order:  # outputs first: a node's level is its longest path from the root
        for p in node.parents:
            if p in grads:
                level[p] = max(level.get(p, 0), level.get(node, 0) + 1)
    return sorted(grads.items(), key=lambda item: (level[item[0]], made[item[0]]))


def chain_rule_lines(
    root: Value, trace: BackwardTrace, steps: list[tuple[Value, object]], names: dict[Value, str]
) -> list[list[str]]:
    """For each step, the chain rule with its numbers: upstream x local = contribution, summed at a reused node."""
    rows = trace.rows
    out = names[root]
    lines = []
    for node, grad in steps:
        head = f"d{out}/d{names[node]} = {summary(grad)}"
        if node is root:
            lines.append([f"{head}   (the output: d{out}/d{out} = 1)"])
            continue
        uses = [r for r in rows if r.input is node]
        parts = []
        for r in uses:
            user = names[r.node]
            if r.local is None:  # tensors: the local derivative is a matrix, shown by its effect
                parts.append(f"from {user} ({r.op}): upstream {summary(r.upstream)} gives {summary(r.contribution)}")
            else:
                parts.append(
                    f"from {user} ({r.op}): {summary(r.upstream)} × {summary(r.local)} = "
                    f"{summary(r.contribution)}   (upstream × local derivative)"
                )
        if len(uses) > 1:
            parts.append(
                f"used {len(uses)} times: the contributions add up, "
                + " + ".join(summary(r.contribution) for r in uses)
                + f" = {summary(grad)}"
            )
        lines.append([head, *parts])
    return lines


def _style(style: Style | None, **options) -> Style:
    """The stepper's style: gradients always shown (they are what it is about)."""
    return (style or Style()).with_options(show_grad=True, **options)


def _narrated(root: Value, max_nodes: int) -> tuple:
    """What the stepper shows of ``root``'s graph: its nodes, their names, the steps of one backward pass (run
    once, on the side) and each step's chain-rule lines."""
    nodes = graph_nodes(root, max_nodes)
    names = node_names(root)
    trace = trace_backward(root)
    steps = backward_steps(root, trace)
    return nodes, names, steps, chain_rule_lines(root, trace, steps, names)


def backward_frames(
    root: Value,
    show_data: bool | None = None,
    rankdir: str | None = None,
    cluster_modules: bool | None = None,
    max_nodes: int = 200,
    inputs=(),
    style: Style | None = None,
) -> list[Graph]:
    """The graph drawn once per backward step: frame k shows the first k gradients reverse mode fills,
    the k-th outlined. The chain rule in motion: each node's gradient is complete only after every
    node made from it is done. The options are ``draw_graph``'s."""
    style = _style(style, show_data=show_data, rankdir=rankdir, cluster_modules=cluster_modules)
    nodes, names, steps, lines = _narrated(root, max_nodes)
    frames = []
    for k in range(1, len(steps) + 1):
        caption = f"step {k} of {len(steps)}: " + r"\l".join(lines[k - 1]) + r"\l"
        frames.append(
            draw(nodes, names, dict(steps[:k]).get, style, highlight=steps[k - 1][0], caption=caption, inputs=inputs)
        )
    return frames


@functools.cache
def page_file(name: str) -> str:
    """A file of the page (``stepper.html``, ``.css``, ``.js``), read from the installed package."""
    return resources.files("tinygrad_edu.viz").joinpath(name).read_text(encoding="utf-8")


def _script_json(value) -> str:
    """``value`` as JSON to put inside a <script>: a label holding "</script>" must not end it."""
    return json.dumps(value).replace("</", "<\\/")


def backward_page(
    root: Value,
    show_data: bool | None = None,
    rankdir: str | None = None,
    cluster_modules: bool | None = None,
    max_nodes: int = 200,
    inputs=(),
    style: Style | None = None,
) -> str:
    """One self-contained HTML page that steps through the backward pass of ``root``'s graph.

    The graph is drawn once (its layout never moves); each step fills one more gradient,
    outlines its node, highlights the edges the gradient came back along, and prints the
    chain rule with its numbers. Buttons, a slider, play/pause, the arrow keys and
    Home/End move through it; it needs no network.
    """
    style = _style(style, show_data=show_data, rankdir=rankdir, cluster_modules=cluster_modules)
    nodes, names, steps, lines = _narrated(root, max_nodes)
    ids = node_ids(nodes)
    data = [
        {
            "node": ids[node],
            "lines": lines[k],
            "edges": [f"{ids[node]}->{ids[user]}op" for user in nodes if any(p is node for p in user.parents)],
        }
        for k, (node, _) in enumerate(steps)
    ]
    fields = {
        "CSS": page_file("stepper.css"),
        "SCRIPT": page_file("stepper.js"),
        "SVG": svg_body(draw(nodes, names, dict(steps).get, style, inputs=inputs).source),
        "COUNT": str(len(steps)),
        "STEPS": _script_json(data),
        "COLOURS": _script_json({"highlight": style.highlight, "edge": style.edge}),
    }
    return re.sub(r"__([A-Z]+)__", lambda m: fields[m[1]], page_file("stepper.html"))  # in one pass


class Stepper:
    """The backward-pass page, shown inline in a Jupyter cell (self-contained HTML in an iframe)."""

    def __init__(self, root: Value, **options):
        self.page = backward_page(root, **options)

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.page, quote=True)}" style="width: 100%; height: 560px; '
            'border: 1px solid #ddd"></iframe>'
        )


def render_backward(root: Value, path: str | os.PathLike, **page_options) -> Path:
    """Write the step-by-step backward page (``backward_page``) to ``path``."""
    path = Path(path)
    write(path, backward_page(root, **page_options).encode())
    return path
