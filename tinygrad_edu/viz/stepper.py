"""The backward pass step by step: the order a lecturer narrates it, the chain rule with its numbers at
each step, as frames (one picture per step) or as one page (``stepper.html``, ``.css`` and ``.js``,
shipped beside this file) that first fills the values from the inputs (the forward pass), then one gradient
per step, on a graph drawn once.

The same page steps through forward mode (``forward_mode_page``): along one leaf, each step computes a node's
value and its tangent (``forward.tangents``), with the rule and its numbers, up to the output's tangent: the
gradient's entry for that leaf.

Every caption names nodes as their boxes do (``names.node_names``): ``dout/dn4 = -1.5``; a parameter in a
module's box by its short name (``w3``, its module said once: ``(layer 1, neuron 0)``).
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
from importlib import resources
from pathlib import Path

import numpy as np

from tinygrad_edu import code, forward
from tinygrad_edu.engine import Value, toposort
from tinygrad_edu.names import node_names
from tinygrad_edu.tables import summary
from tinygrad_edu.trace import BackwardTrace, trace_backward
from tinygrad_edu.viz.dot import draw, graph_nodes, input_leaves, module_scopes, node_ids, scope_title
from tinygrad_edu.viz.render import Graph, svg_body, write
from tinygrad_edu.viz.style import SYMBOLS, Style


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
            lines.append([f"{head}   (the output: every gradient starts here)"])
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


def forward_line(node: Value, names: dict[Value, str]) -> str:
    """How the forward pass computes ``node``, with its numbers: ``n1 = x1 × w1 = 2 × -3 = -6``, ``n4 =
    pow(n3, p=2) = pow(-6, p=2) = 36`` (the op's settings said when they are numbers or words, a flag when set)."""
    args, numbers = [names[p] for p in node.parents], [summary(p.numbers) for p in node.parents]
    symbol = SYMBOLS.get(node.op)
    if symbol and len(args) == 2:
        formula, values = f" {symbol} ".join(args), f" {symbol} ".join(numbers)
    else:
        settings = node.settings.items()
        plain = [f"{k}={v}" for k, v in settings if isinstance(v, (int, float, str, tuple)) and v is not False]
        formula, values = (f"{node.op}({', '.join(parts + plain)})" for parts in (args, numbers))
    if all(p.numbers.__class__ is float for p in node.parents):  # a tensor's summary is no number to compute with
        formula += f" = {values}"
    return f"{names[node]} = {formula} = {summary(node.numbers)}"


def _listed(what: str, names: list[str], most: int = 5) -> str:
    """``input x1``, ``inputs x1, x2``, or ``17 parameters`` when they are too many to list in a caption or
    their short names repeat (two layers' ``W``)."""
    many = what + ("s" if len(names) > 1 else "")
    return f"{many} {', '.join(names)}" if len(set(names)) == len(names) <= most else f"{len(names)} {many}"


def forward_lines(nodes: list[Value], names: dict[Value, str], inputs: set[Value]) -> list[list[str]]:
    """The forward pass as the page tells it before the backward one: first the leaves (inputs and
    parameters, known from the start), then one line per computed value, inputs first (``forward_line``)."""
    leaves = [node for node in nodes if not node.parents]
    given = [names[n] for n in leaves if n in inputs]
    learnt = [names[n] for n in leaves if n not in inputs]
    start = "forward pass: the values are known at the leaves, "
    start += " and ".join(_listed(what, group) for what, group in (("input", given), ("parameter", learnt)) if group)
    return [[start, "each step computes one value from its inputs"]] + [
        [forward_line(node, names)] for node in nodes if node.parents
    ]


def _style(style: Style | None, **options) -> Style:
    """The stepper's style: gradients always shown (they are what it is about); by default an unnamed node's
    name as large as the rest of its box, since the captions name it."""
    return (style or Style(name_size=Style.font_size)).with_options(show_grad=True, **options)


def caption_names(root: Value, style: Style) -> dict[Value, str]:
    """Each node's name as its box shows it: ``node_names``, but a parameter drawn in its module's box by
    its short name (``w3`` for ``layers.1.neurons.0.w3``), as the box says it."""
    names = node_names(root)
    if not style.cluster_modules:
        return names
    return {
        n: n.label.rsplit(".", 1)[-1] if not n.parents and module_scopes(n.label) else name for n, name in names.items()
    }


def _narrated(root: Value, max_nodes: int, style: Style) -> tuple:
    """What the stepper shows of ``root``'s graph: its nodes, their names, the steps of one backward pass (run
    once, on the side) and each step's chain-rule lines; a parameter's module is said once, after its gradient."""
    nodes = graph_nodes(root, max_nodes)
    names = caption_names(root, style)
    trace = trace_backward(root)
    steps = backward_steps(root, trace)
    lines = chain_rule_lines(root, trace, steps, names)
    for (node, _), step in zip(steps, lines):
        scopes = module_scopes(node.label) if style.cluster_modules and not node.parents else []
        if scopes:
            step[0] += f"   ({scope_title(scopes[-1])})"
    return nodes, names, steps, lines


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
    nodes, names, steps, lines = _narrated(root, max_nodes, style)
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


def script_json(value) -> str:
    """``value`` as JSON to put inside a <script>: a label holding "</script>" must not end it."""
    return json.dumps(value).replace("</", "<\\/")


def _legend(style: Style, word: str = "grad") -> str:
    """What the page's colours mean, as HTML (the picture's legend, in the page's larger type); ``word``: what
    the second cell of a box holds (``grad``, or ``tangent`` on the forward-mode page)."""
    chips = [
        (style.parameter, "parameter"),
        (style.constant, "input or constant"),
        (style.shade(style.positive, 0.45), f"{word} &gt; 0"),
        (style.shade(style.negative, 0.45), f"{word} &lt; 0 (darker: larger)"),
    ]
    chips.append(("#ffffff; border-color: " + style.highlight, "this step"))
    cells = "".join(f'<span class="chip" style="background: {colour}">{text}</span>' for colour, text in chips)
    return cells + "<span>? not known yet</span>"


def _forward_steps(
    nodes: list[Value],
    ids: dict[Value, str],
    lines: list[list[str]],
    phase: str = "forward",
    first: Value | None = None,
) -> list:
    """A forward phase of the page: the leaves (``lines[0]``; ``first`` outlined, else no node), then each
    computed value with its ``lines``, the edges it reads lit."""
    computed = [node for node in nodes if node.parents]
    return [{"node": None if first is None else ids[first], "lines": lines[0], "edges": [], "phase": phase}] + [
        {
            "node": ids[node],
            "lines": told,
            "edges": [f"{ids[p]}->{ids[node]}op" for p in node.parents] + [f"{ids[node]}op->{ids[node]}"],
            "phase": phase,
        }
        for node, told in zip(computed, lines[1:])
    ]


PHASES = {"forward": "forward pass", "backward": "backward pass"}  # what the page's badge says in each phase


def _page(svg: str, forward: list, backward: list, legend: str, style: Style, title: str, phases: dict) -> str:
    """The page (``stepper.html``, its css and script put in) stepping through the ``forward`` steps, then the
    ``backward`` ones, on the picture ``svg``. A step fills its node's cells as its ``phase`` says (forward: the
    value, backward: the second cell, tangent: both); ``phases`` names each phase on the page's badge."""
    fields = {
        "TITLE": html.escape(title),
        "CSS": page_file("stepper.css"),
        "SCRIPT": page_file("stepper.js"),
        "SVG": svg,
        "COUNT": str(len(forward) + len(backward)),
        "LEGEND": legend,
        "FORWARD": script_json(forward),
        "STEPS": script_json(backward),
        "PHASES": script_json(phases),
        "COLOURS": script_json({"highlight": style.highlight, "edge": style.edge}),
    }
    return re.sub(r"__([A-Z]+)__", lambda m: fields[m[1]], page_file("stepper.html"))  # in one pass


def backward_page(
    root: Value,
    show_data: bool | None = None,
    rankdir: str | None = None,
    cluster_modules: bool | None = None,
    max_nodes: int = 200,
    inputs=(),
    style: Style | None = None,
    forward: bool = True,
) -> str:
    """One self-contained HTML page that steps through the forward and backward passes of ``root``'s graph.

    The graph is drawn once (its layout never moves). With ``forward`` (the default) the values fill in
    first, one per step from the inputs, each with its formula and numbers; then each step fills one more
    gradient, outlines its node, highlights the edges the gradient came back along, and prints the chain
    rule with its numbers. Buttons, a slider, play/pause, the arrow keys and Home/End move through it;
    the graph zooms (+, -, the wheel), fits (f), pans (drag, Shift+arrows) and follows the step's node,
    at a zoom that keeps its text readable on a projector. It needs no network.
    """
    style = _style(style, show_data=show_data, rankdir=rankdir, cluster_modules=cluster_modules)
    nodes, names, steps, lines = _narrated(root, max_nodes, style)
    ids = node_ids(nodes)
    data = [
        {
            "node": ids[node],
            "lines": lines[k],
            "edges": [f"{ids[node]}->{ids[user]}op" for user in nodes if any(p is node for p in user.parents)],
            "phase": "backward",
        }
        for k, (node, _) in enumerate(steps)
    ]
    told = _forward_steps(nodes, ids, forward_lines(nodes, names, input_leaves(nodes, inputs))) if forward else []
    svg = svg_body(draw(nodes, names, dict(steps).get, style, inputs=inputs).source)
    return _page(svg, told, data, _legend(style), style, "Backpropagation, step by step", PHASES)


# ---------------------------------------------------------------- forward mode: values and tangents, inputs first


def _leaf_to_follow(root: Value, wrt) -> Value:
    """The leaf of ``root``'s graph that ``wrt`` names: the Value, its label, its name (``node_names``) or, in a
    module, its short name (``w0``). Refused, with the leaves to choose from, when it is no leaf of the graph,
    names several, or is a constant (the backward pass gives it no gradient to compare the tangent with)."""
    names = node_names(root)
    leaves = [n for n in names if not n.parents and n.requires_grad]
    choices = ", ".join(names[n] for n in leaves[:8]) + (", ..." if len(leaves) > 8 else "")
    if isinstance(wrt, Value):
        found = [n for n in names if n is wrt]
        what = f"{names[wrt]} (made by {wrt.op})" if found and wrt.parents else "this Value"
    elif isinstance(wrt, str):
        found = [n for n in names if wrt in (names[n], n.label, n.label.rsplit(".", 1)[-1])]
        what = repr(wrt)
    else:
        raise TypeError(f"wrt must be a leaf of the graph (a Value, or its label as 'x1'), got {type(wrt).__name__}")
    if len(found) > 1:
        full = ", ".join(names[n] for n in found)
        raise ValueError(f"wrt={wrt!r} names {len(found)} nodes ({full}): give its full label or the Value itself")
    if not found or found[0].parents:
        where = "is computed, not a leaf" if found else "is not in this graph"
        raise ValueError(f"wrt: {what} {where}; forward mode starts from a leaf that needs a gradient: {choices}")
    if not found[0].requires_grad:
        raise ValueError(
            f"wrt={names[found[0]]!r} is a constant (requires_grad=False): the backward pass gives it no gradient to "
            f"compare the tangent with. Pick a leaf that needs one ({choices}), or make it with requires_grad=True"
        )
    return found[0]


def _first_element(leaf: Value) -> str:
    """Where forward mode moves ``leaf``: nowhere to say for a number, ``[0, 0]`` for a matrix (its first element)."""
    return "" if leaf.numbers.__class__ is float else "[" + ", ".join("0" * leaf.ndim) + "]"


def tangent_steps(root: Value, wrt) -> list[tuple[Value, object]]:
    """(node, its tangent along ``wrt``), in the order one forward-mode pass computes them: the leaves first
    (``wrt``'s tangent 1, or 1 at a tensor's first element; every other leaf's 0), then each node after its
    inputs. ``wrt`` is a leaf that needs a gradient: the Value, or its label (``"x1"``). The output's tangent is
    then d(root)/d(wrt), the entry of the gradient a backward pass gives for ``wrt``. ``.grad`` is left as it was.
    """
    leaf = _leaf_to_follow(root, wrt)
    order = toposort(root)[::-1]
    direction = 1.0 if leaf.numbers.__class__ is float else np.eye(1, leaf.numbers.size).reshape(leaf.shape)
    found = forward.tangents(root, leaf, direction)  # a node that does not depend on the leaf is left out: 0
    return [
        (n, found[n] if n in found else 0.0 if n.numbers.__class__ is float else np.zeros(n.shape))
        for n in sorted(order, key=lambda n: bool(n.parents))  # the leaves first, each node after its inputs
    ]


def _local_formulas(node: Value, names: dict[Value, str]) -> list[str | None]:
    """Each input's local derivative d(node)/d(input) as ops.py writes it, for a node of numbers: the op's own
    backward run on symbols named as the boxes are (``code.py``: ``Tanh`` gives ``1 - out × out``). None where
    the op's math needs numbers or the formula is too long for a caption (its number is shown alone)."""
    symbol = code.leaf(names[node], ())
    try:
        local = node.operation.backward(
            code.literal(1.0), symbol, *(code.leaf(names[p], ()) for p in node.parents), **node.settings
        )
    except (TypeError, ValueError, ArithmeticError):  # code.NotSymbolic, or numbers the op checks
        return [None] * len(node.parents)
    texts = []
    for d in (local,) if node.operation.arity == 1 else local:
        text = re.sub(r"(?<![\w.])(\d+)\.0\b", r"\1", re.sub(r"\bmath\.", "", code.render(code.as_code(d))))
        text = text.replace(" * ", " × ").replace(" / ", " ÷ ")
        texts.append(text if len(text) <= 24 else None)
    return texts


def tangent_line(node: Value, names: dict[Value, str], trace: BackwardTrace, tangents: dict) -> str:
    """How forward mode computes ``node``'s tangent from its inputs': each input's tangent times the local
    derivative, summed: ``dn1 = w1 × dx1 + x1 × dw1 = -3 × 1 + 2 × 0 = -3``. The local derivatives are those the
    backward pass uses (``trace.rows``); a constant input's tangent is 0 and is left out."""
    n = names[node]
    if not node.requires_grad:
        return f"d{n} = 0   (made from constants only)"
    rows = [r for r in trace.rows if r.node is node]
    formula, numbers = [], []
    for parent, symbol in zip(node.parents, _local_formulas(node, names)):
        row = next((r for r in rows if r.input is parent), None)
        if row is None:  # a constant
            continue
        rows.remove(row)
        dp = "d" + names[parent]
        if row.local is None:  # tensors: the op's Jacobian applied to the tangent, never built
            formula.append(f"∂{n}/∂{names[parent]}·{dp}")
            continue
        local = symbol or f"∂{n}/∂{names[parent]}"
        formula.append(dp if local == "1" else f"({local}) × {dp}" if " " in local else f"{local} × {dp}")
        number = summary(tangents[parent])
        numbers.append(number if local == "1" else f"{summary(row.local)} × {number}")
    text = f"d{n} = " + " + ".join(formula)
    if numbers and len(numbers) == len(formula):
        text += " = " + " + ".join(numbers)
    result = summary(tangents[node])
    return text if text.endswith(f" = {result}") else f"{text} = {result}"


def forward_mode_lines(
    root: Value, leaf: Value, nodes: list[Value], names: dict[Value, str], inputs: set[Value], tangents: dict
) -> list[list[str]]:
    """Forward mode as the page tells it: the leaves with their tangents (``leaf``'s 1, the others 0), then for
    each computed node its value and its tangent (``forward_line``, ``tangent_line``); the last step compares the
    output's tangent with the gradient's entry for ``leaf`` that one backward pass gives."""
    trace = trace_backward(root)
    name = names[leaf]
    scopes = module_scopes(leaf.label)
    said = f"{name} ({scope_title(scopes[-1])})" if scopes else name
    at = _first_element(leaf)
    others = [n for n in nodes if not n.parents and n is not leaf]
    given = [names[n] for n in others if n in inputs]
    learnt = [names[n] for n in others if n not in inputs]
    rest = " and ".join(_listed(what, group) for what, group in (("input", given), ("parameter", learnt)) if group)
    seed = f"d{name} = 1" if not at else f"d{name}{at} = 1, its other elements 0"
    lines = [
        [
            f"forward mode along {said}:",
            f"each node carries its value and its tangent d(node)/d{name}{at}",
            f"the leaves: {seed}" + (f"; {rest}: tangent 0" if rest else ""),
        ]
    ]
    lines += [[forward_line(node, names), tangent_line(node, names, trace, tangents)] for node in nodes if node.parents]
    grad = trace.gradients[leaf]
    entry = grad if not at else float(grad.flat[0])
    out, tangent = names[root], tangents[root]
    same = "the same number" if np.isclose(tangent, entry, rtol=1e-9, atol=1e-12) else "they differ: a bug to report"
    entries = sum(np.size(n.numbers) for n in nodes if not n.parents and n.requires_grad)
    lines[-1] += [
        f"d{out}/d{name}{at} = {summary(tangent)}; the backward pass gives {summary(entry)}: {same}",
        f"one pass, one of the gradient's {entries} entries: forward mode needs {entries} passes, reverse mode 1"
        if entries > 1
        else "the gradient's only entry: one pass, in forward mode as in reverse mode",
    ]
    return lines


def forward_mode_page(
    root: Value,
    wrt,
    show_data: bool | None = None,
    rankdir: str | None = None,
    cluster_modules: bool | None = None,
    max_nodes: int = 200,
    inputs=(),
    style: Style | None = None,
) -> str:
    """One self-contained HTML page that steps through forward mode on ``root``'s graph along the leaf ``wrt``
    (a Value, or its label such as ``"x1"``): ``wrt``'s tangent is 1 (a tensor's first element), every other
    leaf's 0, and each step computes one node's value and its tangent (its derivative along ``wrt``) from its
    inputs', with the rule and its numbers; the last step shows that the output's tangent is the gradient's
    entry for ``wrt`` that a backward pass gives. Each box's second cell holds its tangent. The controls, zoom
    and options are ``backward_page``'s.
    """
    style = _style(style, show_data=show_data, rankdir=rankdir, cluster_modules=cluster_modules)
    nodes = graph_nodes(root, max_nodes)
    names = caption_names(root, style)
    leaf = _leaf_to_follow(root, wrt)
    tangents = dict(tangent_steps(root, leaf))
    lines = forward_mode_lines(root, leaf, nodes, names, input_leaves(nodes, inputs), tangents)
    steps = _forward_steps(nodes, node_ids(nodes), lines, phase="tangent", first=leaf)
    source = draw(nodes, names, tangents.get, style, inputs=inputs).source
    svg = svg_body(re.sub(r'(<TD BGCOLOR="#[0-9a-f]{6}">)grad ', r"\1tangent ", source))  # the boxes' 2nd cell
    at = _first_element(leaf)
    phases = {"tangent": f"forward mode: d/d{names[leaf]}{at}"}
    return _page(svg, steps, [], _legend(style, "tangent"), style, "Forward mode, step by step", phases)


def render_forward_mode(root: Value, path: str | os.PathLike, wrt, **page_options) -> Path:
    """Write the forward-mode page (``forward_mode_page``: the tangents along ``wrt``, inputs first) to ``path``."""
    path = Path(path)
    write(path, forward_mode_page(root, wrt, **page_options).encode())
    return path


class Stepper:
    """The forward-and-backward page, shown inline in a Jupyter cell (self-contained HTML in an iframe); with
    ``wrt`` (a leaf), the forward-mode page along it (``forward_mode_page``)."""

    def __init__(self, root: Value, wrt=None, **options):
        self.page = backward_page(root, **options) if wrt is None else forward_mode_page(root, wrt, **options)

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.page, quote=True)}" style="width: 100%; height: 640px; '
            'border: 1px solid #ddd"></iframe>'
        )


def render_backward(root: Value, path: str | os.PathLike, **page_options) -> Path:
    """Write the step-by-step page (``backward_page``: the forward pass, then the backward one) to ``path``."""
    path = Path(path)
    write(path, backward_page(root, **page_options).encode())
    return path
