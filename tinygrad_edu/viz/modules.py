"""Big graphs made small: one box per module (``depth=``), one time step of a recurrence (``roll=True``).

A 2-16-16-1 network at scalar granularity has a thousand value nodes: drawn one by one, Graphviz takes a
minute and nobody can read the picture. Drawn as torchview draws PyTorch models, it is three boxes, one per
layer, each with its parameters, its output's shape and its gradient's size.

Which module a node belongs to is read from the labels a model gives its parameters (``Module.
label_parameters``: ``layers.0.W``, ``layers.0.neurons.2.w0``, the facade's ``fc1.weight`` or ``0.bias``):
a node belongs to the module whose parameters it reads, and so do the ops downstream of it until the next
module's parameters are read. An op that compares with data (a loss reading the targets), that sums a tensor
up into one number (a loss) or that joins two modules (a residual sum) belongs to none and is drawn as
itself. ``depth`` says how deep to look: each level of a path is a name and the index after it (``layers.0``,
then ``neurons.2``), so ``depth=1`` is one box per layer.

An RNN repeats one step T times (``recurrent.unroll`` labels the states h1 ... hT, c1 ... cT). Rolled, the
picture keeps the last step whole, from the state before it, and a dashed edge says the step repeats.
"""

from __future__ import annotations

import html
import re

import numpy as np

from tinygrad_edu.engine import Value, grad_numbers
from tinygrad_edu.viz.dot import Boxes, input_leaves, legend_line, node_ids, op_circle, parameter_order, scope_order
from tinygrad_edu.viz.render import Graph
from tinygrad_edu.viz.style import Style, gradient_size

STATE = re.compile(r"([A-Za-z_]+)(\d+)")  # a state of time step t: h3, c3


def module_path(label: str, depth: int) -> str | None:
    """The module, ``depth`` levels deep, that owns the parameter labelled ``label`` (None: no module).

    >>> module_path("layers.0.neurons.2.w0", 1), module_path("layers.0.neurons.2.w0", 2)
    ('layers.0', 'layers.0.neurons.2')
    >>> module_path("0.weight", 1), module_path("x1", 1)
    ('0', None)
    """
    return ".".join(_levels(label.split(".")[:-1])[:depth]) or None


def _levels(parts: list[str]) -> list[str]:
    """A module's path level by level: ["layers", "0", "neurons", "2"] -> ["layers.0", "neurons.2"]."""
    levels: list[str] = []
    for part in parts:
        if part.isdigit() and levels and not levels[-1].rsplit(".", 1)[-1].isdigit():
            levels[-1] += "." + part  # a list's index belongs to the list's name: "layers.0"
        else:
            levels.append(part)
    return levels


def owners(nodes: list[Value], depth: int) -> dict[Value, str | None]:
    """Each node's module (None: drawn as itself), ``nodes`` leaves first. A node whose parents are not among
    ``nodes`` (a rolled-up recurrence's state before the step) is drawn as itself."""
    owner: dict[Value, str | None] = {}
    weights = set()  # a module's parameters, and what is made of them alone (the facade's weight.T)
    cut = set()  # drawn without what they were made from: they tell nothing of where they belong
    for node in nodes:
        parents = [p for p in node.parents if p in owner and p not in cut]
        if not node.parents:
            owner[node] = module_path(node.label, depth) if node.requires_grad and node.label else None
            if owner[node] is not None:
                weights.add(node)
        elif not parents:
            owner[node] = None
            cut.add(node)
        elif read := [owner[p] for p in parents if p in weights]:
            owner[node] = read[-1]  # it reads a module's parameters: that module's
            if all(p in weights for p in node.parents):
                weights.add(node)
        elif "labels" in node.settings or any(not p.parents and not p.label for p in parents):
            owner[node] = None  # it reads data (the targets): outside the model
        elif np.ndim(node.numbers) == 0 and any(np.ndim(p.numbers) > 0 for p in parents):
            owner[node] = None  # a tensor summed up into one number: a loss, outside the model
        else:  # downstream of one module stays in it; a join of two is outside both
            found = {owner[p] for p in parents if p.parents}  # a named leaf (a first state h0) does not decide
            owner[node] = found.pop() if len(found) == 1 else None
    readers: dict[Value, set] = {}
    for node in nodes:
        for p in node.parents:
            if p in owner and not p.parents and not p.requires_grad and not p.label and p.numbers.__class__ is float:
                readers.setdefault(p, set()).add(owner[node])
    for constant, found in readers.items():  # an unnamed number one module alone reads (a scalar input): inside it
        if len(found) == 1:
            owner[constant] = found.pop()
    return owner


def _ancestors(starts, stop=frozenset()) -> set[Value]:
    """``starts`` and every node they were made from (not walking past the nodes in ``stop``)."""
    seen, todo = set(), list(starts)
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        if node not in stop:
            todo.extend(node.parents)
    return seen


def time_steps(nodes: list[Value]) -> list[list[Value]]:
    """The states of each time step, in order ([[h1, c1], [h2, c2], ...]): the labels name + t whose step t
    is made from step t - 1 (so h1 ... hT, not inputs x1 ... xT). Empty when the graph has no recurrence."""
    series: dict[str, dict[int, list[Value]]] = {}
    for node in nodes:
        match = STATE.fullmatch(node.label) if node.parents else None
        if match:
            series.setdefault(match[1], {}).setdefault(int(match[2]), []).append(node)
    steps: dict[int, list[Value]] = {}
    for by_t in series.values():
        if (
            1 in by_t
            and 2 in by_t
            and set(by_t[1]) & _ancestors(by_t[2])
            and sorted(by_t) == list(range(1, len(by_t) + 1))
        ):
            for t, states in by_t.items():
                steps.setdefault(t, []).extend(states)
    return [steps[t] for t in sorted(steps)]


def rolled(nodes: list[Value], root: Value) -> tuple[list[Value], list[Value], list[Value]]:
    """The nodes to draw with the recurrence rolled up (leaves first): the last step whole, from the states
    before it, and what comes after the steps. Returns them, the last step's states and the states before."""
    steps = time_steps(nodes)
    if len(steps) < 2:
        raise ValueError(
            "roll=True found no repeated steps: it rolls up states labelled h1, h2, ... each made from the one "
            "before (as nn.RNN, nn.LSTM and recurrent.unroll label them); a sequence of one step has nothing to "
            "roll up: draw it without roll="
        )
    before, last = steps[-2], steps[-1]
    earlier = _ancestors(before)  # steps 1 ... T-1, and what every step reads (weights, the inputs)
    after = _downstream(nodes, set(last))  # what is made from the last step (its outputs, the loss)
    older = _downstream(nodes, {s for step in steps[:-1] for s in step})  # and what older steps made
    step = _ancestors(last, stop=set(before)) - earlier
    keep = step | after | set(before)  # what comes after reads older steps too: those edges are left out
    for node in step | after:  # what they read from outside the loop (weights, the sequence), not older steps
        for parent in node.parents:
            if parent not in keep and parent not in older and (parent not in earlier or node in step):
                keep |= _ancestors([parent])
    return [n for n in nodes if n in keep], last, before


def _downstream(nodes: list[Value], starts: set[Value]) -> set[Value]:
    """``starts`` and every node made from them (``nodes`` leaves first)."""
    found = set(starts)
    for node in nodes:
        if node not in found and any(p in found for p in node.parents):
            found.add(node)
    return found


class _ModuleBoxes:
    """The facts a module's box shows: its parameters, the ops inside, its outputs and their gradient."""

    def __init__(self, nodes: list[Value], owner: dict[Value, str | None], root: Value):
        members: dict[str, list[Value]] = {}
        for node in nodes:
            if owner[node] is not None:
                members.setdefault(owner[node], []).append(node)
        # Modules in the order the forward pass ran them: layer by layer (the first op each ran), and the modules
        # inside one layer (its neurons) by their numbers.
        position = {n: i for i, n in enumerate(nodes)}
        start: dict[str, int] = {}
        for path, ns in members.items():
            top = _levels(path.split("."))[0]
            start[top] = min([start.get(top, len(nodes))] + [position[n] for n in ns if n.parents])

        def order(path: str) -> tuple:
            return start[_levels(path.split("."))[0]], scope_order(path)

        self.members = {path: members[path] for path in sorted(members, key=order)}
        used_outside = {p for n in nodes for p in n.parents if owner.get(p) is not None and owner[p] != owner[n]}
        self.outputs = {
            m: [n for n in ns if n.parents and (n in used_outside or n is root)] for m, ns in self.members.items()
        }

    def label(self, module: str, style: Style, largest: float) -> str:
        """An HTML-like table: the module's path, its parameters, its ops, its output's shape and gradient."""
        nodes = self.members[module]
        params = [n for n in nodes if not n.parents and n.requires_grad]
        numbers = sum(np.size(p.numbers) for p in params)
        if len(params) <= 4:
            held = ", ".join(
                html.escape(p.label.rsplit(".", 1)[-1]) + ("" if p.numbers.__class__ is float else f" {_shape(p)}")
                for p in sorted(params, key=parameter_order)
            )
        else:
            held = f"{len(params)} parameters" + (f", {numbers} numbers" if numbers > len(params) else "")
        ops = list(dict.fromkeys(n.op for n in nodes if n.parents))
        shown = ", ".join(ops[:6]) + (", ..." if len(ops) > 6 else "")
        cells = [
            f'<TD BGCOLOR="{style.module_border}"><B>{html.escape(module)}</B></TD>',
            f'<TD BGCOLOR="{style.parameter}">{held}</TD>',
            f"<TD>{html.escape(shown)}</TD>",
        ]
        outputs = self.outputs[module]
        if style.show_data and outputs:
            cells.append(f"<TD>out {_outputs_shape(outputs)}</TD>")
        if style.show_grad:
            for what, grads in (
                ("out", [grad_numbers(n) for n in outputs]),
                ("params", [grad_numbers(p) for p in params]),
            ):
                if grads:
                    cells.append(_gradient_cell(what, grads, style, largest))
        table = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="5">'
        return f"<{table}<TR>{'</TR><TR>'.join(cells)}</TR></TABLE>>"


def _gradient_cell(what: str, grads: list, style: Style, largest: float) -> str:
    """The mean size of ``grads`` (a module's outputs' or parameters'), coloured as a gradient cell."""
    if any(g is None for g in grads):
        return f"<TD>grad {what} ?</TD>"
    size = float(np.mean([gradient_size(g) for g in grads]))
    sign = float(sum(np.sum(g) for g in grads))
    colour = style.gradient_colour(size if sign >= 0 else -size, largest)
    return f'<TD BGCOLOR="{colour}">grad size {what} {size:.3g}</TD>'


def _shape(node: Value) -> str:
    return "(" + ", ".join(str(k) for k in np.shape(node.numbers)) + ("," if np.ndim(node.numbers) == 1 else "") + ")"


def _outputs_shape(outputs: list[Value]) -> str:
    """``(8, 16)`` for one tensor, ``6 × (2, 4)`` for an RNN's states, ``16 numbers`` for scalar neurons."""
    if all(n.numbers.__class__ is float for n in outputs):
        return f"{len(outputs)} number{'s' if len(outputs) > 1 else ''}"
    shapes = [_shape(n) for n in outputs]
    return ", ".join(f"{shapes.count(s)} × {s}" if shapes.count(s) > 1 else s for s in dict.fromkeys(shapes))


def draw_modules(
    nodes: list[Value],
    names: dict[Value, str],
    root: Value,
    style: Style,
    *,
    depth: int | None,
    roll: bool,
    inputs=(),
    max_nodes: int = 500,
) -> Graph:
    """The picture of ``nodes`` (leaves first) with each module one box (``depth``) and a recurrence rolled up."""
    note, last, before = "", [], []
    if roll:
        total = len(time_steps(nodes))
        nodes, last, before = rolled(nodes, root)
        note = f"step {total} of {total} drawn: the same step, with the same weights, runs at every time step"
    owner = owners(nodes, depth) if depth is not None else dict.fromkeys(nodes)
    modules = _ModuleBoxes(nodes, owner, root)
    loose = [n for n in nodes if owner[n] is None]
    if len(loose) + len(modules.members) > max_nodes:
        raise ValueError(
            f"drawn this way the graph still has {len(loose) + len(modules.members)} boxes, more than "
            f"max_nodes={max_nodes}: use a smaller depth, or draw a smaller piece (one example)"
        )
    ids = node_ids(nodes)
    module_ids = {m: f"m{i}" for i, m in enumerate(modules.members)}
    box_of = {n: ids[n] if owner[n] is None else module_ids[owner[n]] for n in nodes}
    grads = {n: grad_numbers(n) for n in loose if n.requires_grad}
    outputs = [grad_numbers(n) for outs in modules.outputs.values() for n in outs]
    sizes = [gradient_size(g) for g in [*grads.values(), *outputs] if g is not None]
    boxes = Boxes(style, names, grads, input_leaves(nodes, inputs), None)
    boxes.largest = max((s for s in sizes if np.isfinite(s)), default=0.0)  # one scale for boxes and modules
    dot = Graph(
        format="svg",
        graph_attr={"rankdir": style.rankdir or "TB", "fontname": style.font, "fontsize": str(style.caption_size)},
        node_attr={"fontname": style.font, "fontsize": str(style.font_size)},
        edge_attr={"color": style.edge, "arrowsize": "0.7", "fontname": style.font},
    )
    caption = _caption(style, note)
    if caption:
        dot.attr(label=caption, labelloc="b", labeljust="l")
    for module, box_id in module_ids.items():
        dot.node(box_id, label=modules.label(module, style, boxes.largest), shape="plain")
    edges: dict[tuple[str, str], set[Value]] = {}
    for node in nodes:
        if owner[node] is not None:
            for parent in node.parents:
                if parent in box_of and box_of[parent] != box_of[node]:
                    edges.setdefault((box_of[parent], box_of[node]), set()).add(parent)
            continue
        boxes.add(dot, ids[node], node)
        if node.parents and node not in set(before):  # the state before the step is where the picture starts
            op_id = ids[node] + "op"
            op_circle(dot, op_id, node, style)
            dot.edge(op_id, ids[node])
            for parent in node.parents:
                if parent in box_of:
                    edges.setdefault((box_of[parent], op_id), set()).add(parent)
    _siblings_in_order(dot, module_ids, edges)
    for (tail, head), carried in edges.items():
        if len(carried) > 1:  # many scalars from one module to the next: one edge that says how many
            dot.edge(tail, head, label=f"{len(carried)} values", fontsize=str(style.edge_label_size))
        else:
            dot.edge(tail, head)
    for new, old in _pairs(last, before):  # each state of the step drawn goes back to where the next step reads it
        name = STATE.fullmatch(new.label)[1]
        if box_of[new] != box_of[old]:
            dot.edge(
                box_of[new],
                box_of[old],
                style="dashed",
                color=style.highlight,
                fontcolor=style.highlight,
                constraint="false",
                label=f"{name}: next step",
                fontsize=str(style.edge_label_size),
            )
    return dot


def _siblings_in_order(dot: Graph, module_ids: dict[str, str], edges: dict) -> None:
    """The modules inside one module (a layer's neurons) side by side in their order, 0 on the left, unless one
    feeds another (then they stay one above the other)."""
    groups: dict[str, list[str]] = {}
    for path, box_id in module_ids.items():
        levels = _levels(path.split("."))
        if len(levels) > 1:
            groups.setdefault(".".join(levels[:-1]), []).append(box_id)
    for members in groups.values():
        inside = set(members)
        if len(members) > 1 and not any(tail in inside and head in inside for tail, head in edges):
            with dot.subgraph() as row:
                row.attr(rank="same")
                for tail, head in zip(members, members[1:]):
                    row.edge(tail, head, style="invis")


def _pairs(last: list[Value], before: list[Value]) -> list[tuple[Value, Value]]:
    """Each state of the last step with the one it was made from (h5 with h4; layer by layer when stacked)."""

    def series(states):
        return {
            name: [s for s in states if STATE.fullmatch(s.label)[1] == name]
            for name in dict.fromkeys(STATE.fullmatch(s.label)[1] for s in states)
        }

    old = series(before)
    return [pair for name, new in series(last).items() for pair in zip(new, old.get(name, []))]


def _caption(style: Style, note: str) -> str:
    """The legend (when the style has one) with ``note`` under it."""
    legend = legend_line(style)[1:-1] if style.legend else ""
    if not note:
        return f"<{legend}>" if legend else ""
    rows = (f"<TR><TD>{legend}</TD></TR>" if legend else "") + f'<TR><TD ALIGN="LEFT">{html.escape(note)}</TD></TR>'
    return f'<<TABLE BORDER="0" CELLSPACING="0">{rows}</TABLE>>'
