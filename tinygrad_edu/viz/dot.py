"""A Value's computation graph as DOT, the way a teacher would put it on a slide.

Each Value is a box (name | data | grad) and each operation its own small circle, so edges run
input -> op -> output. Every box shows the node's name in every view (``names.node_names``): its
label, or ``n4`` in small type for an unnamed node, so a teacher can point at it. The parameters of a
Neuron, Layer or MLP sit in a titled box per module.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tinygrad_edu.engine import Value, grad_numbers, toposort
from tinygrad_edu.names import node_names
from tinygrad_edu.tables import summary
from tinygrad_edu.trace import gradients_from
from tinygrad_edu.viz.render import Graph, picture_format, write_picture
from tinygrad_edu.viz.style import SYMBOLS, Style, gradient_size

Grads = Callable[[Value], object]  # the gradient to show for a node, None for "not filled yet"


def graph_nodes(root: Value, max_nodes: int) -> list[Value]:
    """``root``'s graph, leaves first; refused when too big to draw readably."""
    if not isinstance(root, Value):
        raise TypeError(f"expected a Value to draw, got {type(root).__name__}")
    nodes = toposort(root)[::-1]
    if len(nodes) > max_nodes:
        from tinygrad_edu.viz.modules import time_steps  # modules draws with this file's boxes: imported late

        steps = " or roll it up to one time step with roll=True," if time_steps(nodes) else ""
        raise ValueError(
            f"this graph has {len(nodes)} value nodes, more than max_nodes={max_nodes}: Graphviz would take long "
            f"and the picture would be unreadable. Draw it with one box per layer, draw_graph(out, depth=1),"
            f"{steps} or draw a smaller piece (one example, one neuron)."
        )
    return nodes


def node_ids(nodes: list[Value]) -> dict[Value, str]:
    """Each node's id in the DOT source (``v0``, ``v1``, ...; its op is ``v1op``): the stepper's script finds them."""
    return {node: f"v{i}" for i, node in enumerate(nodes)}


def module_scopes(label: str) -> list[str]:
    """The module boxes a parameter sits in: "layers.0.neurons.1.w0" -> ["layers.0", "layers.0.neurons.1"]."""
    parts = label.split(".")[:-1]
    return [".".join(parts[: i + 2]) for i in range(0, len(parts) - 1, 2)]


def scope_title(scope: str) -> str:
    """ "layers.0.neurons.3" -> "layer 0, neuron 3"."""
    parts = scope.split(".")
    pairs = zip(parts[::2], parts[1::2])
    return ", ".join(f"{name[:-1] if name.endswith('s') else name} {index}" for name, index in pairs)


def parameter_order(node: Value) -> tuple:
    """A module's parameters as a teacher lists them: weights in order (w0, w1, ...), then the bias."""
    name = node.label.rsplit(".", 1)[-1]
    return (name.startswith("b"), int(name[1:]) if name[1:].isdigit() else 0, name)


def scope_order(scope: str) -> tuple:
    """Modules in their numeric order (neuron 2 before neuron 10)."""
    return tuple(int(p) if p.isdigit() else p for p in scope.split("."))


def input_leaves(nodes: list[Value], given) -> set[Value]:
    """The leaves drawn as inputs: constants (no gradient) and those ``given`` (Values or labels); every
    other leaf is a parameter."""
    given = list(given)
    named = {g for g in given if isinstance(g, str)}
    return {
        n for n in nodes if not n.parents and (not n.requires_grad or n.label in named or any(n is g for g in given))
    }


def _folded_sums(nodes: list[Value]) -> set[Value]:
    """The partial sums of a longer sum (unnamed, used once, by another add): drawn as part of that sum."""
    users: dict[Value, list[Value]] = {}
    for node in nodes:
        for parent in node.parents:
            users.setdefault(parent, []).append(node)
    return {
        n for n in nodes if n.op == "add" and not n.label and len(users.get(n, ())) == 1 and users[n][0].op == "add"
    }


def _terms(node: Value, folded: set[Value]) -> list[tuple[int, Value]]:
    """The inputs drawn into ``node``'s op: its parents, with each folded partial sum replaced by its terms."""
    terms, stack = [], list(enumerate(node.parents))[::-1]
    while stack:
        i, parent = stack.pop()
        if parent in folded:
            stack.extend((i, p) for p in parent.parents[::-1])
        else:
            terms.append((i, parent))
    return terms


def _bias_column(members: list[Value], nodes: list[Value], folded: set[Value]) -> list[Value]:
    """The terms a neuron's bias is added to (w0*x0, w1*x1, ...; in a sum drawn step by step, the partial sum
    before it), when ``members`` (its parameters: weights, then the bias) are a neuron's, whose weights
    multiply its inputs one by one; [] otherwise.

    The bias is drawn in their column, below them: last, as in w0 x0 + w1 x1 + b. Inside the box of the
    weights it could not be last without crossings: an input's edge to the product of w1 would have to cross
    the bias's edge (7 crossings on the 2-4-1 XOR network, against 4)."""
    *weights, bias = members
    mine = {id(w) for w in weights}
    if not parameter_order(bias)[0] or not any(n.op == "mul" and any(id(p) in mine for p in n.parents) for n in nodes):
        return []
    for node in nodes:
        if node.op == "add" and node not in folded:
            terms = [term for _, term in _terms(node, folded)]
            if any(term is bias for term in terms):
                return [term for term in terms if term is not bias]
    return []


def legend_line(style: Style, more: str = "", note: str = "") -> str:
    """A line under the picture saying what its colours mean (gradients only when they are drawn; ``more``: a
    picture's own cells (``<TD>``), after the parameters and inputs), and ``note`` on a line of its own; empty
    when there is neither."""
    if not (style.legend or note):
        return ""
    cells = f'<TD BGCOLOR="{style.parameter}">parameter</TD><TD BGCOLOR="{style.constant}">input or constant</TD>'
    cells += more
    if style.show_grad:
        positive, negative = style.shade(style.positive, 0.45), style.shade(style.negative, 0.45)
        cells += (
            f'<TD BGCOLOR="{positive}">grad &gt; 0</TD><TD BGCOLOR="{negative}">grad &lt; 0</TD>'
            "<TD>(darker: larger)</TD>"
        )
    rows = [f'<TABLE BORDER="0" CELLSPACING="3" CELLPADDING="2"><TR>{cells}</TR></TABLE>'] if style.legend else []
    rows += (
        ['<BR ALIGN="LEFT"/>'.join(html.escape(line) for line in note.split("\n")) + '<BR ALIGN="LEFT"/>']
        if note
        else []
    )
    if len(rows) == 1:
        return f"<{rows[0]}>"
    return "<" + '<TABLE BORDER="0">' + "".join(f'<TR><TD ALIGN="LEFT">{row}</TD></TR>' for row in rows) + "</TABLE>>"


def _is_model_graph(nodes: list[Value]) -> bool:
    """Whether a module's parameters are in the graph (labels such as ``layers.0.neurons.1.w0``)."""
    return any(not node.parents and node.label and module_scopes(node.label) for node in nodes)


def gradients_to_draw(root: Value, nodes: list[Value], names: dict[Value, str]) -> tuple[Grads, str]:
    """The gradients of the backward pass just called from ``root``, and a note when ``.grad`` holds others.

    ``.grad`` adds up over backward passes: after training, a parameter's ``.grad`` still holds the last
    step's gradient plus this one. When ``root.backward()`` was called (its ``.grad`` is 1) and some
    ``.grad`` differs from what a pass from ``root`` alone gives, the picture shows the latter and says so,
    so that it never mixes two passes. Otherwise (no backward yet, or one from further down) ``.grad`` as is.
    """
    if root.shape != () or not root.requires_grad or grad_numbers(root) != 1:
        return grad_numbers, ""
    fresh = gradients_from(root)
    stale = [
        node
        for node in nodes
        if node.requires_grad and not np.allclose(grad_numbers(node), fresh.get(node, 0.0), rtol=1e-9, atol=1e-12)
    ]
    if not stale:
        return grad_numbers, ""
    note = (
        f"grad: d{names[root]}/d(node) from this backward pass alone;\n"
        f"the .grad of {len(stale)} nodes also holds earlier passes\n"
        "(call zero_grad() before backward() to see them there)"
    )
    return lambda node: fresh.get(node, 0.0 if node.numbers.__class__ is float else np.zeros(node.shape)), note


class Boxes:
    """Draws one value's box: what every box of a picture shares (names, gradients, the style) is kept here."""

    def __init__(self, style: Style, names: dict, grads: dict, inputs: set, highlight: Value | None):
        self.style, self.names, self.grads, self.inputs, self.highlight = style, names, grads, inputs, highlight
        finite = (gradient_size(g) for g in grads.values() if g is not None and np.isfinite(gradient_size(g)))
        self.largest = max(finite, default=0.0)

    def label(self, node: Value, short: bool) -> str:
        """An HTML-like table: the name cell (coloured for a leaf), data, and the grad coloured by sign and size."""
        style, cells = self.style, []
        is_input = node in self.inputs
        is_param = not node.parents and not is_input
        fill = style.parameter if is_param else style.constant if is_input else None
        bg = f' BGCOLOR="{fill}"' if fill else ""
        if node.label:
            cells.append(f"<TD{bg}><B>{html.escape(node.label.rsplit('.', 1)[-1] if short else node.label)}</B></TD>")
        else:  # its name in every view, small; an unnamed leaf also says what it is
            kind = "<B>param</B> " if is_param else "<B>const</B> " if is_input else ""
            name = f'<FONT POINT-SIZE="{style.name_size}">{html.escape(self.names[node])}</FONT>'
            cells.append(f"<TD{bg}>{kind}{name}</TD>")
        if style.show_data:
            cells.append(f"<TD>data {html.escape(summary(node.numbers))}</TD>")
        if style.show_grad and node.requires_grad:
            grad = self.grads.get(node)
            colour = "#ffffff" if grad is None else style.gradient_colour(grad, self.largest)
            text = "grad ?" if grad is None else f"grad {html.escape(summary(grad))}"
            cells.append(f'<TD BGCOLOR="{colour}">{text}</TD>')
        joint = "</TR><TR>" if node.numbers.__class__ is not float else ""  # a tensor's long summaries: one per line
        table = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">'
        return f"<{table}<TR>{joint.join(cells)}</TR></TABLE>>"

    def add(self, dot: Graph, node_id: str, node: Value, short: bool = False) -> None:
        """Add ``node``'s box to ``dot`` (a graph or a module's box), outlined when it is the highlighted one."""
        if node is self.highlight:
            dot.node(node_id, label=self.label(node, short), shape="box", penwidth="3", color=self.style.highlight)
        else:
            dot.node(node_id, label=self.label(node, short), shape="plain")


def op_circle(dot: Graph, op_id: str, node: Value, style: Style) -> None:
    """The small circle of the op that made ``node`` (× + tanh ...)."""
    dot.node(
        op_id,
        label=SYMBOLS.get(node.op, node.op),
        shape="circle",
        style="filled",
        fillcolor=style.op_fill,
        fontsize=str(style.op_size),
        width="0.3",
        margin="0.02",
    )


def draw(
    nodes: list[Value],
    names: dict[Value, str],
    grad_of: Grads,
    style: Style,
    *,
    highlight: Value | None = None,
    caption: str = "",
    contributions: dict | None = None,
    inputs=(),
    fold_sums: bool = False,
) -> Graph:
    """The picture of ``nodes`` (leaves first), each gradient as ``grad_of`` gives it; ``fold_sums`` draws
    a sum of many terms as one + (``_folded_sums``)."""
    rankdir = style.rankdir or ("LR" if all(node.numbers.__class__ is float for node in nodes) else "TB")
    ids = node_ids(nodes)
    inputs = input_leaves(nodes, inputs)
    boxes = Boxes(style, names, {node: grad_of(node) for node in nodes if node.requires_grad}, inputs, highlight)
    dot = Graph(
        format="svg",
        graph_attr={
            "rankdir": rankdir,
            "fontname": style.font,
            "fontsize": str(style.caption_size),
            "labeljust": "l",
            "label": caption,
            "labelloc": "b",
            "ranksep": str(style.rank_gap),
            "ordering": "in",  # each op's inputs in their order: w0 above w1, neuron 0 above neuron 1
        },
        node_attr={"fontname": style.font, "fontsize": str(style.font_size)},
        edge_attr={"color": style.edge, "arrowsize": "0.7"},
    )
    chains = _folded_sums(nodes)  # the partial sums of longer sums
    folded = chains if fold_sums else set()
    clusters: dict[str, list[Value]] = {}
    for node in nodes:
        if node in folded:
            continue
        scopes = module_scopes(node.label) if style.cluster_modules and not node.parents else []
        if scopes:
            clusters.setdefault(scopes[-1], []).append(node)
        else:
            boxes.add(dot, ids[node], node)
    # One titled box per module that holds parameters of its own ("layer 0, neuron 3"), in order. A box that
    # would only hold other boxes (a layer of neurons) is left out: the inputs' edges would loop around it.
    for scope in sorted(clusters, key=scope_order):
        members = sorted(clusters[scope], key=parameter_order)
        added_to = _bias_column(members, nodes, folded)
        if added_to:  # a neuron's bias comes last, after its weighted inputs, outside the box of its weights
            bias, members = members[-1], members[:-1]
            boxes.add(dot, ids[bias], bias, short=True)
            with dot.subgraph() as column:
                column.attr(rank="same")
                for node in [*added_to, bias]:
                    column.node(ids[node])
        with dot.subgraph(name="cluster_" + scope.replace(".", "_")) as sub:
            sub.attr(
                label=scope_title(scope),
                labelloc="t",
                style="rounded,filled",
                fillcolor=style.module_fill,
                color=style.module_border,
            )
            for node in members:
                boxes.add(sub, ids[node], node, short=True)
    for node in nodes:
        if node.parents and node not in folded:
            op_id = ids[node] + "op"
            op_circle(dot, op_id, node, style)
            dot.edge(op_id, ids[node])
            if clusters and not fold_sums and node.op == "add" and node not in chains:  # a model's long sum drawn
                for _, term in _terms(node, chains):  # step by step: each term also pulls towards the whole sum, by
                    if all(term is not p for p in node.parents):  # an invisible edge, so the terms lie in order
                        dot.edge(ids[term], op_id, style="invis", weight="0")  # as when folded (neuron 0 on top)
            for i, parent in _terms(node, folded):
                if contributions and (node, i) in contributions:
                    dot.edge(
                        ids[parent],
                        op_id,
                        label=summary(contributions[node, i]),
                        fontsize=str(style.edge_label_size),
                        fontcolor=style.contribution,
                    )
                elif parent in inputs:  # inputs one column further left, so their fan-out passes between weights
                    dot.edge(ids[parent], op_id, minlen="2")
                else:
                    dot.edge(ids[parent], op_id)
    return dot


def draw_graph(
    root: Value,
    show_data: bool | None = None,
    show_grad: bool | None = None,
    rankdir: str | None = None,
    cluster_modules: bool | None = None,
    max_nodes: int = 500,
    show_contributions: bool = False,
    format: str = "svg",
    inputs=(),
    legend: bool | None = None,
    style: Style | None = None,
    depth: int | None = None,
    roll: bool = False,
) -> Graph:
    """The computation graph that produced ``root``, as a ``Graph`` (a ``graphviz.Digraph`` that renders
    with pip alone; ``format`` is what its ``render`` and ``pipe`` write by default).

    ``show_data``, ``show_grad``, ``rankdir``, ``cluster_modules`` and ``legend`` say what to draw; left
    None, they are as ``style`` says (a ``Style``: by default all shown, its colours and fonts).
    ``show_contributions=True`` writes on each input edge what it adds to that input's
    gradient in one backward pass from ``root``, so the sum at a reused node is visible.
    A graph with more than ``max_nodes`` value nodes raises ValueError saying how many it
    has and how to draw less (``depth``, ``roll``). Leaves are drawn as parameters (yellow) when they need a
    gradient, as inputs (grey) when they do not or when named in ``inputs`` (Values or labels,
    such as ``inputs=("x1", "x2")`` for inputs whose gradients you want to see). ``legend``
    adds a line under the picture saying what the colours mean. The gradients are those of the
    backward pass just called from ``root`` (``gradients_to_draw``); in a model's graph a weighted
    sum is one ``+``; a picture wider than ``style.max_width`` inches is scaled down to it.

    Big graphs (``viz.modules``): ``depth=1`` draws each module as one box (a layer: its parameters, its
    ops, its output's shape and gradient size), ``depth=2`` one level deeper (a neuron); ``roll=True``
    draws one time step of an RNN or LSTM, from the state before it. ``max_nodes`` then counts the boxes drawn.
    """
    style = (style or Style()).with_options(
        show_data=show_data, show_grad=show_grad, rankdir=rankdir, cluster_modules=cluster_modules, legend=legend
    )
    if not isinstance(roll, bool):
        raise TypeError(f"roll must be True or False, got {roll!r}")
    if depth is not None or roll:
        if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool) or depth < 1):
            raise ValueError(f"depth must be a whole number >= 1 (1: one box per layer) or None, got {depth!r}")
        if show_contributions:
            raise ValueError("show_contributions draws every edge: it cannot be combined with depth= or roll=")
        from tinygrad_edu.viz.modules import draw_modules  # it draws with this file's boxes: imported late

        graph = draw_modules(
            toposort(root)[::-1],
            node_names(root),
            root,
            style,
            depth=depth,
            roll=roll,
            inputs=inputs,
            max_nodes=max_nodes,
        )
        graph.format = format
        return graph
    nodes = graph_nodes(root, max_nodes)
    contributions = {}
    if show_contributions:
        gradients_from(root, lambda node, i, contribution, total: contributions.__setitem__((node, i), contribution))
    names = node_names(root)
    grad_of, note = gradients_to_draw(root, nodes, names) if style.show_grad else (grad_numbers, "")
    fold = style.fold_sums if style.fold_sums is not None else _is_model_graph(nodes)
    graph = draw(
        nodes,
        names,
        grad_of,
        style,
        contributions=contributions,
        inputs=inputs,
        caption=legend_line(style, note=note),
        fold_sums=fold and not show_contributions,  # contributions are written per edge: every edge drawn
    )
    if style.max_width:  # scaled down, never up: a slide's width (Graphviz's size)
        graph.graph_attr["size"] = f"{style.max_width},{10 * style.max_width}"
    graph.format = format
    return graph


def render_graph(root: Value, path: str | os.PathLike, dpi: float = 150, **draw_options) -> Path:
    """Draw ``root``'s graph and write it to ``path``, in the format its suffix names (svg, png, pdf, dot).

    ``dpi`` sets a PNG's resolution (150: sharp on a slide). The file appears whole or not at
    all. Without a renderer the DOT source is written beside it (same name, .dot) and a
    RuntimeError says how to install one.
    """
    path, fmt = picture_format(path)
    return write_picture(draw_graph(root, **draw_options), path, fmt, dpi)
