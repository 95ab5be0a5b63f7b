"""The backward graph: the functions a backward pass runs and what each one saved, as torchviz draws PyTorch's
(``make_dot``), alone or beside the forward graph, in the same colours.

A backward pass runs one function per op of the forward graph, named as PyTorch names it
(``names.backward_name``: ``MulBackward0``), from the output's back to one ``AccumulateGrad`` for each leaf
that wants a gradient, which adds it into the leaf's ``.grad``. To run, a function needs what its op's
``backward(g, out, *inputs, **settings)`` reads of the forward pass: the output (PyTorch calls it
``result``), the inputs (``self``, ``other``), or only an input's shape. That is what the forward pass
saved for it, read here from the backward's own code (``saved_by``), and drawn as side boxes.

Arrows point the way gradients flow: from the output back to the leaves. The layout is the forward
graph's (leaves first), so beside it each function sits level with the value its op made.
"""

from __future__ import annotations

import dis
import functools
import html
import os
from pathlib import Path

import numpy as np

from tinygrad_edu import ops
from tinygrad_edu.engine import Value, grad_numbers
from tinygrad_edu.names import backward_name, node_names
from tinygrad_edu.tables import summary
from tinygrad_edu.viz.dot import Boxes, draw, graph_nodes, input_leaves, legend_line
from tinygrad_edu.viz.render import Graph, picture_format, write_picture
from tinygrad_edu.viz.style import Style

INPUT_NAMES = ("self", "other")  # PyTorch's names for an op's inputs; its output is "result"
SHAPE_READS = {"shape", "ndim"}  # np.shape(x), x.ndim: the backward needs x's shape, not its numbers
NOT_SHOWN = {"needs", "ctx", "constants"}  # settings the engine adds (which inputs want a gradient, a Function's)


@functools.cache
def saved_by(op: type[ops.Op]) -> dict[str, str]:
    """What ``op``'s backward reads of the forward pass, by PyTorch's names: ``{"self": "numbers", "other":
    "numbers"}`` for a product, ``{"result": "numbers"}`` for tanh, ``{"self": "shape"}`` for a sum (only
    the input's shape), ``{}`` for a sum of two. Read from the names the backward's code loads; a user's
    ``torch.autograd.Function`` says what it saved itself (``user_saved``)."""
    code = getattr(op.backward, "__code__", None)
    if code is None or op.arity not in (1, 2) or getattr(op, "function", None) is not None:
        return {}
    args = code.co_varnames[: code.co_argcount]  # g, out, the inputs, the settings
    roles = dict(zip(args[1 : 2 + op.arity], ("result", *INPUT_NAMES[: op.arity])))
    reads: dict[str, str] = {}
    steps = list(dis.get_instructions(code))
    for i, step in enumerate(steps):
        loaded = step.argval if isinstance(step.argval, tuple) else (step.argval,)
        for arg in (a for a in loaded if step.opname.startswith("LOAD_") and a in roles):
            before, after = steps[i - 1].argval if i else None, steps[i + 1].argval if i + 1 < len(steps) else None
            shape_only = len(loaded) == 1 and (before in SHAPE_READS or after in SHAPE_READS)
            if reads.get(roles[arg]) != "numbers":  # one read of the numbers makes them saved
                reads[roles[arg]] = "shape" if shape_only else "numbers"
    return {role: reads[role] for role in roles.values() if role in reads}  # result, self, other


def user_saved(node: Value) -> list[tuple[str, Value]]:
    """What a user's ``torch.autograd.Function`` gave ``ctx.save_for_backward`` when it made ``node``, by
    PyTorch's names (``self``, ``other``, ``result``; ``saved[k]`` for a tensor its forward computed)."""
    ctx = node.settings.get("ctx")
    if getattr(node.operation, "function", None) is None or ctx is None:
        return []
    values = {"result": node, **dict(zip(INPUT_NAMES, node.parents))}
    roles = {id(t): role for t, role in zip(ctx.inputs, INPUT_NAMES)} | {id(ctx.output): "result"}
    found = [(roles.get(id(t), f"saved[{k}]"), t) for k, t in enumerate(ctx.saved_tensors) if t is not None]
    return [(role, values.get(role, t)) for role, t in found]


def backward_root(y) -> Value:
    """The Value whose backward graph to draw: ``y`` itself, or the tensor whose ``grad_fn`` (or the leaf whose
    ``AccumulateGrad``) ``y`` is."""
    if isinstance(y, Value):
        return y
    for owner in ("tensor", "variable"):  # the facade's grad_fn, AccumulateGrad
        found = getattr(y, owner, None)
        if isinstance(found, Value):
            return found
    raise TypeError(f"expected a Value, a tensor or a tensor's grad_fn to draw, got {type(y).__name__}")


def backward_nodes(root: Value, nodes: list[Value]) -> list[Value]:
    """The nodes of ``nodes`` (leaves first) a backward pass from ``root`` reaches: each has a function in the
    backward graph (its op's, or a leaf's ``AccumulateGrad``), as ``grad_fn.next_functions`` leads."""
    if not root.requires_grad:
        raise ValueError(
            "this value has no backward graph: nothing it was made from requires a gradient "
            "(made from constants, or under no_grad)"
        )
    reached, stack = {root}, [root]
    while stack:
        node = stack.pop()
        if node.operation is not None:
            for parent in node.parents:
                if parent.requires_grad and parent not in reached:
                    reached.add(parent)
                    stack.append(parent)
    return [node for node in nodes if node in reached]


class _Functions:
    """Draws the backward graph's functions: each a box with what it saved beside it (below it in a left-to-right
    graph), in one node so that they stay together; edges meet the function at its port ``fn``."""

    def __init__(self, style: Style, names: dict, show_saved: bool, show_attrs: bool, across: bool):
        self.style, self.names, self.across = style, names, across  # across: saved boxes in a row, under it
        self.show_saved, self.show_attrs = show_saved, show_attrs

    def box(self, title: str, node: Value, rows: list[str]) -> str:
        """A function's box: its name, the node it is for (small; a leaf's box is beside its AccumulateGrad),
        then its attributes one per row."""
        style = self.style
        name = (
            f' <FONT POINT-SIZE="{style.name_size}">for {html.escape(self.names[node])}</FONT>' if node.parents else ""
        )
        cells = [f'<TD BGCOLOR="{style.op_fill}"><B>{title}</B>{name}</TD>']
        cells += [f"<TD>{html.escape(row)}</TD>" for row in rows]
        table = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">'
        return f"{table}<TR>{'</TR><TR>'.join(cells)}</TR></TABLE>"

    def saved_box(self, role: str, value: Value) -> str:
        """A saved tensor's box: its role (``self``, ``other``, ``result``), the node it is, its numbers."""
        text = f"<B>{role}</B>"
        if value in self.names:  # (a tensor a Function's forward made is no node of the graph)
            text += f" = {html.escape(self.names[value])}"
        if self.style.show_data:
            text += f"<BR/>{html.escape(summary(value.numbers))}"
        return f'<TD BORDER="1" CELLPADDING="3" BGCOLOR="{self.style.saved}">{text}</TD>'

    def label(self, node: Value) -> str:
        """The node's function (AccumulateGrad for a leaf) with, if shown, what it saved (PyTorch's
        ``_saved_self``, ...) and its attributes (an input's shape, the op's settings)."""
        rows, sides = [], []
        if node.operation is not None:
            saved = {"result": node, **dict(zip(INPUT_NAMES, node.parents))}
            for role, kind in saved_by(node.operation).items():
                if kind == "shape":
                    rows.append(f"{role}_sizes: {tuple(np.shape(saved[role].numbers))}")
                elif self.show_saved:
                    sides.append(self.saved_box(role, saved[role]))
            sides += [self.saved_box(role, value) for role, value in user_saved(node)] if self.show_saved else []
            rows += [f"{k}: {v}" for k, v in node.settings.items() if k not in NOT_SHOWN]
        title = "AccumulateGrad" if node.operation is None else backward_name(node)
        box = self.box(title, node, rows if self.show_attrs else [])
        span = f' COLSPAN="{len(sides)}"' if self.across and sides else ""  # the saved boxes in a row under it
        cells = f'<TD PORT="fn"{span}>{box}</TD>{"</TR><TR>" if span else ""}{"".join(sides)}'
        return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="6" CELLPADDING="0"><TR>{cells}</TR></TABLE>>'

    def add(self, dot: Graph, fid: str, node: Value) -> None:
        """Add ``node``'s function (id ``fid``), with what it saved beside it."""
        dot.node(fid, label=self.label(node), shape="plain")


def backward_body(dot: Graph, root: Value, nodes: list[Value], functions: _Functions, boxes: Boxes) -> None:
    """Add the backward graph of ``root`` (``nodes``: those it reaches, leaves first) to ``dot``: ids ``b0``, ...
    for a leaf's and the output's boxes (drawn as in the forward graph), ``b0fn``, ... for the functions.

    Edges are as long as the forward graph's, so each function lands in its node's column (and an
    AccumulateGrad in the column of the op its leaf goes into): value -> op -> value there, function ->
    function here, two steps apart."""
    ids = {node: f"b{i}" for i, node in enumerate(nodes)}
    for node in nodes:
        fid = ids[node] + "fn"
        functions.add(dot, fid, node)
        if node.operation is None:  # the leaf whose .grad AccumulateGrad fills (inputs: a column further left)
            boxes.add(dot, ids[node], node)
            dot.edge(ids[node], fid + ":fn", dir="back", minlen="2" if node in boxes.inputs else "1")
        for parent in node.parents if node.operation is not None else ():
            if parent in ids:  # the gradient goes back from this function to the input's
                length = "1" if parent.operation is None else "2"
                dot.edge(ids[parent] + "fn:fn", fid + ":fn", dir="back", minlen=length)
    if root.operation is not None:  # the output, whose gradient (1) starts the pass
        boxes.add(dot, ids[root], root)
        dot.edge(ids[root] + "fn:fn", ids[root], dir="back")


def backward_legend(style: Style, show_saved: bool) -> str:
    """The forward graph's legend, and the backward graph's colours: functions, and what they saved."""
    more = f'<TD BGCOLOR="{style.op_fill}">backward function</TD>'
    if show_saved:
        more += f'<TD BGCOLOR="{style.saved}">saved for backward</TD>'
    return legend_line(style, more + "<TD>arrows: where gradients go</TD>")


def draw_backward(
    y,
    show_saved: bool = True,
    show_attrs: bool = False,
    forward: bool = False,
    show_data: bool | None = None,
    show_grad: bool | None = None,
    rankdir: str | None = None,
    max_nodes: int = 500,
    format: str = "svg",
    inputs=(),
    legend: bool | None = None,
    style: Style | None = None,
) -> Graph:
    """The backward graph of ``y`` (a Value, a facade tensor, or its ``grad_fn``) as a ``Graph``: one box per
    backward function, named as PyTorch names it (``MulBackward0``), an ``AccumulateGrad`` with its leaf for
    each leaf that wants a gradient, and ``y`` whose gradient starts the pass; as torchviz's ``make_dot``.

    ``show_saved`` draws beside each function what the forward pass saved for it (``self``, ``other``:
    its inputs; ``result``: its output); ``show_attrs`` writes in the box the rest it keeps (an input's
    shape, the op's settings such as ``axis``). ``forward=True`` draws the forward graph (``draw_graph``)
    above it, or beside it for a top-to-bottom graph, laid out alike. The other options are
    ``draw_graph``'s, and the boxes, names and colours are its own.
    """
    style = (style or Style()).with_options(show_data=show_data, show_grad=show_grad, rankdir=rankdir, legend=legend)
    root = backward_root(y)
    nodes = graph_nodes(root, max_nodes)
    reached = backward_nodes(root, nodes)
    names = node_names(root)
    boxes = Boxes(
        style, names, {n: grad_numbers(n) for n in nodes if n.requires_grad}, input_leaves(nodes, inputs), None
    )
    drawn = nodes if forward else reached
    rankdir = style.rankdir or ("LR" if all(n.numbers.__class__ is float for n in drawn) else "TB")
    functions = _Functions(style, names, show_saved, show_attrs, across=rankdir in ("LR", "RL"))
    graph = Graph(
        format=format,
        graph_attr={
            "rankdir": rankdir,
            "fontname": style.font,
            "fontsize": str(style.caption_size),
            "labeljust": "l",
            "label": backward_legend(style, show_saved) if style.legend else "",
            "labelloc": "b",
        },
        node_attr={"fontname": style.font, "fontsize": str(style.font_size)},
        edge_attr={"color": style.edge, "arrowsize": "0.7"},
    )
    if not forward:
        backward_body(graph, root, reached, functions, boxes)
        return graph
    sides = {"labelloc": "t", "fontsize": str(style.caption_size + 2), "style": "rounded", "color": style.module_border}
    forward_graph = Graph(name="cluster_forward", body=draw(nodes, names, grad_numbers, style, inputs=inputs).body)
    forward_graph.attr(label="forward: values, inputs to output", **sides)
    backward_graph = Graph(name="cluster_backward")
    backward_graph.attr(label="backward: functions, gradients back from the output", **sides)
    backward_body(backward_graph, root, reached, functions, boxes)
    # Graphviz stacks a left-to-right graph's parts bottom up: the forward graph is given last to be on top
    for part in (backward_graph, forward_graph) if rankdir == "LR" else (forward_graph, backward_graph):
        graph.subgraph(part)
    return graph


def render_backward_graph(y, path: str | os.PathLike, dpi: float = 150, **draw_options) -> Path:
    """Draw ``y``'s backward graph (``draw_backward``, with its options) and write it to ``path``, in the format
    its suffix names (svg, png, pdf, dot), as ``render_graph`` writes the forward graph."""
    path, fmt = picture_format(path)
    return write_picture(draw_backward(y, **draw_options), path, fmt, dpi)
