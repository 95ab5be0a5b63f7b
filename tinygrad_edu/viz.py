"""Computation graphs a teacher would put on a slide.

Each Value is a box (label | data | grad) and each operation its own small circle, so
edges run input -> op -> output, left to right.  Colours carry meaning:

* parameters (leaves that learn) have a yellow name cell; inputs and constants are grey;
* a gradient cell is blue when positive, red when negative, and the darker the larger
  its size compared with the largest gradient in the picture;
* the parameters of a Neuron, Layer or MLP sit in a labelled box per module.

``render_graph`` writes SVG, PNG or PDF with a ``dot`` program: Graphviz's own when it
is on PATH, else ``graphviz-pure`` from PyPI (a dependency, so ``pip install`` brings it);
without either it writes the DOT source and says how to get one.
"""

from __future__ import annotations

import functools
import html
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import graphviz
import numpy as np

from tinygrad_edu import arguments
from tinygrad_edu.engine import Value, grad_numbers, toposort
from tinygrad_edu.files import atomic_write
from tinygrad_edu.tables import summary
from tinygrad_edu.trace import gradients_from, trace_backward

FORMATS = ("svg", "png", "pdf", "dot")
SYMBOLS = {"add": "+", "sub": "−", "mul": "×", "div": "÷", "neg": "−x", "pow": "^", "matmul": "@"}
PARAMETER, CONSTANT, POSITIVE, NEGATIVE = "#fff2b3", "#e6e6e6", (33, 102, 172), (178, 24, 43)
INSTALL_HINT = "pip install graphviz-pure (or apt-get install graphviz, or brew install graphviz)"



def _legend(show_grad: bool) -> str:
    """A line under the picture saying what its colours mean (gradients only when they are drawn)."""
    cells = f'<TD BGCOLOR="{PARAMETER}">parameter</TD><TD BGCOLOR="{CONSTANT}">input or constant</TD>'
    if show_grad:
        cells += '<TD BGCOLOR="#9abad9">grad &gt; 0</TD><TD BGCOLOR="#dd99a1">grad &lt; 0</TD><TD>(darker: larger)</TD>'
    return f'<<TABLE BORDER="0" CELLSPACING="3" CELLPADDING="2"><TR>{cells}</TR></TABLE>>'


Grads = Callable[[Value], object]  # the gradient to show for a node, None for "not filled yet"


def _size(g) -> float:
    return abs(g) if g.__class__ is float else float(np.mean(np.abs(g)))


def _colour(g, largest: float) -> str:
    """Blue for a positive gradient, red for a negative one, darker when larger."""
    size = _size(g)
    if size == 0 or largest == 0 or not np.isfinite(size):
        return "#ffffff"
    sign = g if g.__class__ is float else float(np.sum(g))
    base = POSITIVE if sign >= 0 else NEGATIVE
    strength = 0.12 + 0.5 * min(1.0, size / largest)  # never so dark that the text is hard to read
    r, g_, b = (round(255 + (c - 255) * strength) for c in base)
    return f"#{r:02x}{g_:02x}{b:02x}"


class Graph(graphviz.Digraph):
    """A ``graphviz.Digraph`` that draws with whichever renderer this machine has: Graphviz's ``dot``,
    or the ``graphviz-pure`` wheel that a plain ``pip install`` brings. So it shows itself in Jupyter,
    and ``render`` and ``pipe`` work, with no system Graphviz."""

    def _repr_mimebundle_(self, include=None, exclude=None, **_) -> dict:
        try:
            return {"image/svg+xml": render_source(self.source, "svg").decode()}
        except RuntimeError as e:
            return {"text/plain": f"{e}\n(the graph's DOT source is in .source)"}

    def pipe(self, format: str | None = None, *args, encoding: str | None = None, **kwargs):
        """The picture as bytes (or text with ``encoding``), in ``format`` (default: this graph's)."""
        out = render_source(self.source, format or self.format)
        return out.decode(encoding) if encoding else out

    def render(self, filename=None, directory=None, view: bool = False, cleanup: bool = False,
               format: str | None = None, *args, outfile=None, **kwargs) -> str:  # fmt: skip
        """Write the DOT source to ``filename`` (unless ``cleanup``) and the picture beside it as
        ``filename.FORMAT``, as Graphviz's ``render`` does; returns the picture's path."""
        fmt = format or self.format
        if filename is not None:
            self.filename = os.fspath(filename)
        if directory is not None:
            self.directory = os.fspath(directory)
        source_path = Path(self.directory or ".") / self.filename
        picture = Path(outfile) if outfile is not None else source_path.with_name(f"{source_path.name}.{fmt}")
        _write(picture, render_source(self.source, fmt))
        if not cleanup:
            _write(source_path, self.source.encode())
        return str(picture)


def _graph_nodes(root: Value, max_nodes: int) -> list[Value]:
    if not isinstance(root, Value):
        raise TypeError(f"expected a Value to draw, got {type(root).__name__}")
    nodes = toposort(root)[::-1]  # leaves first
    if len(nodes) > max_nodes:
        raise ValueError(
            f"this graph has {len(nodes)} value nodes, more than max_nodes={max_nodes}: Graphviz would take long "
            f"and the picture would be unreadable. Draw a smaller piece (one example, one neuron), "
            f"use tensor granularity, or pass max_nodes={len(nodes)} to draw it anyway."
        )
    return nodes


def _scopes(label: str) -> list[str]:
    """The module boxes a parameter sits in: "layers.0.neurons.1.w0" -> ["layers.0", "layers.0.neurons.1"]."""
    parts = label.split(".")[:-1]
    return [".".join(parts[: i + 2]) for i in range(0, len(parts) - 1, 2)]


def _scope_title(scope: str) -> str:
    """ "layers.0.neurons.3" -> "layer 0, neuron 3"."""
    parts = scope.split(".")
    pairs = zip(parts[::2], parts[1::2])
    return ", ".join(f"{name[:-1] if name.endswith('s') else name} {index}" for name, index in pairs)


def _parameter_order(node: Value) -> tuple:
    """A module's parameters as a teacher lists them: weights in order (w0, w1, ...), then the bias."""
    name = node.label.rsplit(".", 1)[-1]
    return (name.startswith("b"), int(name[1:]) if name[1:].isdigit() else 0, name)


def _scope_order(scope: str) -> tuple:
    """Modules in their numeric order (neuron 2 before neuron 10)."""
    return tuple(int(p) if p.isdigit() else p for p in scope.split("."))


def _value_label(node: Value, show_data: bool, grad, colour: str | None, short: bool, is_input: bool) -> str:
    cells = []
    name = node.label.rsplit(".", 1)[-1] if short else node.label
    is_param = not node.parents and not is_input
    fill = PARAMETER if is_param else CONSTANT if is_input else None
    if name or fill:
        bg = f' BGCOLOR="{fill}"' if fill else ""
        cells.append(f"<TD{bg}><B>{html.escape(name or ('param' if is_param else 'const'))}</B></TD>")
    if show_data:
        cells.append(f"<TD>data {html.escape(summary(node.data))}</TD>")
    if colour is not None:
        text = "grad ?" if grad is None else f"grad {html.escape(summary(grad))}"
        cells.append(f'<TD BGCOLOR="{colour}">{text}</TD>')
    if not cells:
        cells.append("<TD> </TD>")
    joint = "</TR><TR>" if node.data.__class__ is not float else ""  # a tensor's long summaries: one per line
    table = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">'
    return f"<{table}<TR>{joint.join(cells)}</TR></TABLE>>"


def _ids(nodes: list[Value]) -> dict[Value, str]:
    """Each node's name in the DOT source (``v0``, ``v1``, ...; its op is ``v1op``): the page's script finds them."""
    return {node: f"v{i}" for i, node in enumerate(nodes)}


def _inputs(nodes: list[Value], given) -> set[Value]:
    """The leaves drawn as inputs: constants (no gradient) and those ``given`` (Values or labels); every
    other leaf is a parameter."""
    given = list(given)
    named = {g for g in given if isinstance(g, str)}
    return {n for n in nodes if not n.parents and (not n.requires_grad or n.label in named
                                                   or any(n is g for g in given))}  # fmt: skip


def _draw(
    nodes: list[Value], grad_of: Grads, show_data: bool, show_grad: bool, rankdir: str, cluster_modules: bool,
    highlight: Value | None = None, caption: str = "", contributions: dict | None = None, inputs=(),
) -> Graph:  # fmt: skip
    if rankdir is None:  # left to right for numbers, as micrograd; top to bottom for tensors, to fit a page's width
        rankdir = "LR" if all(node.data.__class__ is float for node in nodes) else "TB"
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be one of LR, TB, RL, BT (or None to choose), got {rankdir!r}")
    ids = _ids(nodes)
    inputs = _inputs(nodes, inputs)
    grads = {node: grad_of(node) for node in nodes if node.requires_grad}
    largest = max((_size(g) for g in grads.values() if g is not None and np.isfinite(_size(g))), default=0.0)
    dot = Graph(
        format="svg",
        graph_attr={"rankdir": rankdir, "fontname": "Helvetica", "fontsize": "10", "labeljust": "l",
                    "label": caption, "labelloc": "b"},
        node_attr={"fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"color": "#555555", "arrowsize": "0.7"},
    )  # fmt: skip
    clusters: dict[str, list[Value]] = {}
    for node in nodes:
        scopes = _scopes(node.label) if cluster_modules and not node.parents else []
        if scopes:
            clusters.setdefault(scopes[-1], []).append(node)
        else:
            _add_value(dot, node, ids, grads, show_data, show_grad, largest, highlight, False, node in inputs)
    _add_clusters(dot, clusters, ids, grads, show_data, show_grad, largest, highlight, inputs)
    for node in nodes:
        if node.parents:
            op_id = ids[node] + "op"
            dot.node(op_id, label=SYMBOLS.get(node.op, node.op), shape="circle", style="filled",
                     fillcolor="#f2f2f2", fontsize="10", width="0.3", margin="0.02")  # fmt: skip
            dot.edge(op_id, ids[node])
            for i, parent in enumerate(node.parents):
                if contributions and (node, i) in contributions:
                    dot.edge(ids[parent], op_id, label=summary(contributions[node, i]), fontsize="9",
                             fontcolor="#b35900")  # fmt: skip
                elif parent in inputs:  # inputs one column further left, so their fan-out passes between weights
                    dot.edge(ids[parent], op_id, minlen="2")
                else:
                    dot.edge(ids[parent], op_id)
    return dot


def _add_value(dot, node, ids, grads, show_data, show_grad, largest, highlight, short, is_input) -> None:
    grad = grads.get(node)
    colour = None
    if show_grad and node.requires_grad:
        colour = "#ffffff" if grad is None else _colour(grad, largest)
    attrs = {"penwidth": "3", "color": "#ff7f0e"} if node is highlight else {}
    dot.node(ids[node], label=_value_label(node, show_data, grad, colour, short, is_input),
             shape="plain" if not attrs else "box",
             **attrs)  # fmt: skip


def _add_clusters(dot, clusters, ids, grads, show_data, show_grad, largest, highlight, inputs) -> None:
    """One labelled box per module that holds parameters of its own ("layer 0, neuron 3"), in order.

    A box that would only hold other boxes (a layer of neurons) is left out: it would leave no
    gap for the inputs' edges to pass between the neurons, and they would loop around it.
    """
    for scope in sorted(clusters, key=_scope_order):
        with dot.subgraph(name="cluster_" + scope.replace(".", "_")) as sub:
            sub.attr(label=_scope_title(scope), labelloc="t", style="rounded,filled", fillcolor="#f4f8fc",
                     color="#9fb7cf")  # fmt: skip
            for node in sorted(clusters[scope], key=_parameter_order):
                _add_value(sub, node, ids, grads, show_data, show_grad, largest, highlight, True, node in inputs)


def draw_graph(
    root: Value,
    show_data: bool = True,
    show_grad: bool = True,
    rankdir: str | None = None,
    cluster_modules: bool = True,
    max_nodes: int = 500,
    show_contributions: bool = False,
    format: str = "svg",
    inputs=(),
    legend: bool = True,
) -> Graph:
    """The computation graph that produced ``root``, as a ``Graph`` (a ``graphviz.Digraph`` that renders
    with pip alone; ``format`` is what its ``render`` and ``pipe`` write by default).

    ``show_contributions=True`` writes on each input edge what it adds to that input's
    gradient in one backward pass from ``root``, so the sum at a reused node is visible.
    A graph with more than ``max_nodes`` value nodes raises ValueError saying how many it
    has and how to draw it anyway. Leaves are drawn as parameters (yellow) when they need a
    gradient, as inputs (grey) when they do not or when named in ``inputs`` (Values or labels,
    such as ``inputs=("x1", "x2")`` for inputs whose gradients you want to see). ``legend``
    adds a line under the picture saying what the colours mean.
    """
    nodes = _graph_nodes(root, max_nodes)
    contributions = {}
    if show_contributions:
        gradients_from(root, lambda node, i, contribution, total: contributions.__setitem__((node, i), contribution))
    graph = _draw(nodes, grad_numbers, show_data, show_grad, rankdir, cluster_modules, contributions=contributions,
                  inputs=inputs, caption=_legend(show_grad) if legend else "")  # fmt: skip
    graph.format = format
    return graph


def backward_steps(root: Value) -> list[tuple[Value, object]]:
    """(node, its gradient), in the order a lecturer narrates one backward pass from ``root``: level by
    level from the output, a node after every node made from it (so its gradient is complete).

    Runs that pass on the side: the ``.grad`` of every node is left as it was.
    """
    grads = gradients_from(root)
    order = toposort(root)
    level, made = {root: 0}, {node: -i for i, node in enumerate(order)}  # made: inputs before their results
    for node in order:  # outputs first: a node's level is its longest path from the root
        for p in node.parents:
            if p in grads:
                level[p] = max(level.get(p, 0), level.get(node, 0) + 1)
    return sorted(grads.items(), key=lambda item: (level[item[0]], made[item[0]]))


def _name(node: Value, depth: int = 2, bracket: bool = False) -> str:
    """A node's label, or the expression that made it (``x1*w1``), shortened below ``depth``;
    ``bracket`` puts a compound one in parentheses, for ``dout/d(x1*w1)``."""
    if bracket:
        name = _name(node, depth)
        return name if name.isidentifier() else f"({name})"
    if node.label:
        return node.label
    if not node.parents or depth == 0:
        return node.op or "x"
    inner = [_name(p, depth - 1) for p in node.parents]
    if len(inner) == 2 and node.op in ("add", "sub", "mul", "div"):
        sym = SYMBOLS[node.op].replace("×", "*").replace("−", "-").replace("÷", "/")
        text = f"{inner[0]}*{inner[1]}" if sym == "*" else f"{inner[0]} {sym} {inner[1]}"
        return text if depth == 2 or sym == "*" else f"({text})"
    return f"{node.op}({', '.join(inner)})"


def _chain_rule_lines(root: Value, steps: list[tuple[Value, object]]) -> list[list[str]]:
    """For each step, the chain rule with its numbers: upstream x local = contribution, summed at a reused node."""
    rows = trace_backward(root).rows
    out_name = _name(root, bracket=True)
    lines = []
    for node, grad in steps:
        head = f"d{out_name}/d{_name(node, bracket=True)} = {summary(grad)}"
        if node is root:
            lines.append([f"{head}   (the output: d{out_name}/d{out_name} = 1)"])
            continue
        uses = [r for r in rows if r.input is node]
        parts = []
        for r in uses:
            user = _name(r.node)
            if r.local is None:  # tensors: the local derivative is a matrix, shown by its effect
                parts.append(f"from {user} ({r.op}): upstream {summary(r.upstream)} gives {summary(r.contribution)}")
            else:
                parts.append(f"from {user} ({r.op}): {summary(r.upstream)} × {summary(r.local)} = "
                             f"{summary(r.contribution)}   (upstream × local derivative)")  # fmt: skip
        if len(uses) > 1:
            parts.append(f"used {len(uses)} times: the contributions add up, " +
                         " + ".join(summary(r.contribution) for r in uses) + f" = {summary(grad)}")  # fmt: skip
        lines.append([head, *parts])
    return lines


def backward_frames(
    root: Value, show_data: bool = True, rankdir: str | None = None, cluster_modules: bool = True, max_nodes: int = 200,
    inputs=(),
) -> list[Graph]:
    """The graph drawn once per backward step: frame k shows the first k gradients reverse mode fills,
    the k-th outlined. The chain rule in motion: each node's gradient is complete only after every
    node made from it is done."""
    nodes = _graph_nodes(root, max_nodes)
    steps = backward_steps(root)
    lines = _chain_rule_lines(root, steps)
    frames = []
    for k in range(1, len(steps) + 1):
        filled = dict(steps[:k])
        caption = f"step {k} of {len(steps)}: " + r"\l".join(lines[k - 1]) + r"\l"
        frames.append(_draw(nodes, filled.get, show_data, True, rankdir, cluster_modules, steps[k - 1][0], caption,
                            inputs=inputs))  # fmt: skip
    return frames


def _renderer() -> str | None:
    """A program that reads DOT and writes pictures: Graphviz's dot, else graphviz-pure beside this Python."""
    found = shutil.which("dot")
    if found:
        return found
    beside = Path(sys.executable).parent / "graphviz-pure"
    return str(beside) if beside.exists() else shutil.which("graphviz-pure")


@functools.cache
def _can_write(program: str, fmt: str) -> bool:
    result = subprocess.run([program, f"-T{fmt}"], input=b"digraph{}", capture_output=True, timeout=60)
    return result.returncode == 0 and bool(result.stdout)


def check_format(fmt: str) -> None:
    """Refuse, before any work is done, a picture format this machine cannot write (``dot`` needs nothing)."""
    if fmt not in FORMATS:
        raise ValueError(f"cannot write .{fmt} pictures: use one of .{', .'.join(FORMATS)}")
    if fmt == "dot":
        return
    program = _renderer()
    if program is None:
        raise RuntimeError(f"no Graphviz renderer (dot) found to write .{fmt}. Install one: {INSTALL_HINT}")
    if not _can_write(program, fmt):
        raise RuntimeError(f"the renderer {os.path.basename(program)} cannot write .{fmt}; use .svg or .png, "
                           "or install Graphviz (apt-get install graphviz, brew install graphviz) for it")  # fmt: skip


def render_source(source: str, fmt: str) -> bytes:
    """Lay out DOT source and return the picture in ``fmt`` (svg, png, pdf)."""
    program = _renderer()
    if program is None:
        raise RuntimeError(f"no Graphviz renderer (dot) found. Install one: {INSTALL_HINT}")
    result = subprocess.run([program, f"-T{fmt}"], input=source.encode(), capture_output=True, timeout=120)
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(f"{program} could not render the graph: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def render_graph(root: Value, path: str | os.PathLike, dpi: float = 150, **draw_options) -> Path:
    """Draw ``root``'s graph and write it to ``path``, in the format its suffix names (svg, png, pdf, dot).

    ``dpi`` sets a PNG's resolution (150: sharp on a slide). The file appears whole or not at
    all. Without a renderer the DOT source is written beside it (same name, .dot) and a
    RuntimeError says how to install one.
    """
    path = Path(path)
    if not path.suffix:  # as Graphviz's render: "gout" writes gout.svg
        path = path.with_name(path.name + ".svg")
    fmt = "dot" if path.suffix.lower() == ".gv" else path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the format from {str(path)!r}: use a suffix among {', '.join(FORMATS)}")
    graph = draw_graph(root, **draw_options)
    if fmt == "png":
        graph.graph_attr["dpi"] = str(arguments.real("dpi", dpi, positive=True))
    source = graph.source
    if fmt == "dot":
        _write(path, source.encode())
        return path
    if _renderer() is None:
        fallback = path.with_suffix(".dot")
        _write(fallback, source.encode())
        raise RuntimeError(f"no Graphviz renderer (dot) found to write {path}; wrote the DOT source to {fallback}. "
                           f"Install one: {INSTALL_HINT}")  # fmt: skip
    _write(path, render_source(source, fmt))
    return path


def _svg_body(source: str) -> str:
    svg = render_source(source, "svg").decode()
    return svg[svg.index("<svg") :]


def _value_mimebundle(value: Value, include=None, exclude=None) -> dict:
    """Jupyter shows a Value as its computation graph; when it cannot be drawn, its text says why."""
    try:
        return {"text/plain": repr(value), "image/svg+xml": render_source(draw_graph(value).source, "svg").decode()}
    except (RuntimeError, ValueError) as e:
        return {"text/plain": f"{value!r}\n(graph not drawn: {e})"}


Value._repr_mimebundle_ = _value_mimebundle  # every Value displays itself this way once viz is imported


def backward_page(root: Value, show_data: bool = True, rankdir: str | None = None, cluster_modules: bool = True,
                  max_nodes: int = 200, inputs=()) -> str:  # fmt: skip
    """One self-contained HTML page that steps through the backward pass of ``root``'s graph.

    The graph is drawn once (its layout never moves); each step fills one more gradient,
    outlines its node, highlights the edges the gradient came back along, and prints the
    chain rule with its numbers. Buttons, a slider, play/pause, the arrow keys and
    Home/End move through it; it needs no network.
    """
    nodes = _graph_nodes(root, max_nodes)
    steps = backward_steps(root)
    lines = _chain_rule_lines(root, steps)
    ids = _ids(nodes)
    svg = _svg_body(_draw(nodes, dict(steps).get, show_data, True, rankdir, cluster_modules, inputs=inputs).source)
    data = [
        {"node": ids[node], "lines": lines[k],
         "edges": [f"{ids[node]}->{ids[user]}op" for user in nodes if any(p is node for p in user.parents)]}
        for k, (node, _) in enumerate(steps)
    ]  # fmt: skip
    return _PAGE.replace("__STEPS__", json.dumps(data)).replace("__SVG__", svg).replace("__COUNT__", str(len(steps)))


class Stepper:
    """The backward-pass page, shown inline in a Jupyter cell (self-contained HTML in an iframe)."""

    def __init__(self, root: Value, **options):
        self.page = backward_page(root, **options)

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.page, quote=True)}" style="width: 100%; height: 560px; '
                'border: 1px solid #ddd"></iframe>')  # fmt: skip


def render_backward(root: Value, path: str | os.PathLike, **page_options) -> Path:
    """Write the step-by-step backward page (``backward_page``) to ``path``."""
    path = Path(path)
    _write(path, backward_page(root, **page_options).encode())
    return path


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Backpropagation, step by step</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 1em; color: #222; }
#controls { display: flex; gap: 0.5em; align-items: center; margin-bottom: 0.6em; flex-wrap: wrap; }
button { font-size: 1em; padding: 0.25em 0.8em; }
#counter { font-weight: bold; margin-left: 0.5em; }
#formula { font-family: Menlo, Consolas, monospace; font-size: 17px; line-height: 1.5; background: #fff8e6;
           border-left: 4px solid #ff7f0e; padding: 0.4em 0.8em; margin-bottom: 0.6em; min-height: 3em; }
#graph svg { max-width: 100%; height: auto; }
</style></head>
<body>
<div id="controls">
<button id="home" title="Home">&laquo; Home</button>
<button id="prev" title="Left arrow">&larr; Prev</button>
<button id="play" title="Space">&#x25B6; Play</button>
<button id="next" title="Right arrow">Next &rarr;</button>
<button id="end" title="End">End &raquo;</button>
<input id="slider" type="range" min="1" max="__COUNT__" value="1">
<span id="counter"></span>
</div>
<div id="formula"></div>
<div id="graph">__SVG__</div>
<script>
const steps = __STEPS__;
const slider = document.getElementById("slider"), formula = document.getElementById("formula");
const groups = {}, edges = {};
document.querySelectorAll("#graph g.node").forEach(g => {
  const title = g.querySelector("title").textContent, cell = {};
  let fill = null;  // the grad cell's background comes just before its text
  g.querySelectorAll("polygon, text").forEach(el => {
    if (el.tagName === "text") {
      if (el.textContent.startsWith("grad")) { cell.text = el; cell.value = el.textContent; cell.fill = fill;
                                               cell.colour = fill && fill.getAttribute("fill"); }
      fill = null;
    } else if (el.getAttribute("stroke") === "none") { fill = el; }
    else { cell.outline = cell.outline || el; }
  });
  groups[title] = cell;
});
document.querySelectorAll("#graph g.edge").forEach(g => {
  edges[g.querySelector("title").textContent] = g.querySelectorAll("path, polygon");
});
const order = {};
steps.forEach((s, i) => { order[s.node] = i; });
let timer = null;
function show(k) {
  k = Math.max(1, Math.min(steps.length, k));
  slider.value = k;
  for (const [id, cell] of Object.entries(groups)) {
    if (!cell.text) continue;
    const filled = id in order && order[id] < k;
    cell.text.textContent = filled ? cell.value : "grad ?";
    if (cell.fill) cell.fill.setAttribute("fill", filled ? cell.colour : "#ffffff");
    if (cell.outline) { cell.outline.setAttribute("stroke", id === steps[k - 1].node ? "#ff7f0e" : "black");
                        cell.outline.setAttribute("stroke-width", id === steps[k - 1].node ? "4" : "1"); }
  }
  for (const [name, parts] of Object.entries(edges)) {
    const on = steps[k - 1].edges.includes(name);
    parts.forEach(p => { p.setAttribute("stroke", on ? "#ff7f0e" : "#555555");
                         p.setAttribute("stroke-width", on ? "3" : "1");
                         if (p.tagName === "polygon") p.setAttribute("fill", on ? "#ff7f0e" : "#555555"); });
  }
  formula.innerHTML = "";
  steps[k - 1].lines.forEach(line => { const d = document.createElement("div"); d.textContent = line;
                                       formula.appendChild(d); });
  document.getElementById("counter").textContent = "step " + k + " of " + steps.length;
}
function play() {
  const button = document.getElementById("play");
  if (timer) { clearInterval(timer); timer = null; button.innerHTML = "&#x25B6; Play"; return; }
  if (+slider.value >= steps.length) show(1);
  button.innerHTML = "&#x2016; Pause";
  timer = setInterval(() => { if (+slider.value >= steps.length) play(); else show(+slider.value + 1); }, 1200);
}
document.getElementById("home").onclick = () => show(1);
document.getElementById("prev").onclick = () => show(+slider.value - 1);
document.getElementById("next").onclick = () => show(+slider.value + 1);
document.getElementById("end").onclick = () => show(steps.length);
document.getElementById("play").onclick = play;
slider.oninput = () => show(+slider.value);
document.onkeydown = (e) => {
  if (e.key === "ArrowRight") show(+slider.value + 1);
  else if (e.key === "ArrowLeft") show(+slider.value - 1);
  else if (e.key === "Home") show(1);
  else if (e.key === "End") show(steps.length);
  else if (e.key === " ") { e.preventDefault(); play(); }
};
show(1);
</script>
</body></html>
"""


def _write(path: Path, content: bytes) -> None:
    with atomic_write(path) as f:
        f.write(content)


def format_graph(root: Value, max_lines: int = 200) -> str:
    """The graph as an indented text tree, output at the top, for terminals without Graphviz.

    A node used twice is printed once and referred to afterwards; the tree stops after
    ``max_lines`` lines. No recursion, so deep graphs are fine.
    """
    if not isinstance(root, Value):
        raise TypeError(f"expected a Value, got {type(root).__name__}")
    unnamed = (n for n in reversed(toposort(root)) if not n.label)  # numbered inputs first
    names = {n: f"#{i}" for i, n in enumerate(unnamed, 1)}
    lines, seen = [], set()
    stack = [(root, "", "")]
    while stack and len(lines) < max_lines:
        node, head, pad = stack.pop()
        name = node.label or names[node]
        if node in seen:
            lines.append(f"{head}{name} (shown above)")
            continue
        seen.add(node)
        what = f"{node.op}({', '.join(p.label or names[p] for p in node.parents)})" if node.parents else "leaf"
        grad = f"  grad {summary(node.grad)}" if node.requires_grad else ""
        lines.append(f"{head}{name} = {what}  data {summary(node.data)}{grad}")
        for i in reversed(range(len(node.parents))):
            last = i == len(node.parents) - 1
            stack.append((node.parents[i], pad + ("└─ " if last else "├─ "), pad + ("   " if last else "│  ")))
    if stack:
        lines.append(f"... (stopped after {max_lines} lines)")
    return "\n".join(lines)


def print_graph(root: Value, max_lines: int = 200) -> None:
    """Print ``format_graph(root)``."""
    print(format_graph(root, max_lines))
