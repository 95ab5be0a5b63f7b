"""Computation graphs a teacher would put on a slide.

Each Value is a box (label | data | grad) and each operation its own small circle, so
edges run input -> op -> output, left to right.  Colours carry meaning:

* parameters (leaves that learn) have a yellow name cell; inputs and constants are grey;
* a gradient cell is blue when positive, red when negative, and the darker the larger
  its size compared with the largest gradient in the picture;
* the parameters of a Neuron, Layer or MLP sit in a labelled box per module.

``render_graph`` writes SVG, PNG or PDF with a ``dot`` program: Graphviz's own when it
is on PATH, else ``graphviz-pure`` from PyPI (the ``render`` extra, also in ``dev``);
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

from tinygrad_edu.engine import Value, toposort
from tinygrad_edu.files import atomic_write
from tinygrad_edu.trace import gradients_from, summary

FORMATS = ("svg", "png", "pdf", "dot")
SYMBOLS = {"add": "+", "sub": "−", "mul": "×", "div": "÷", "neg": "−x", "pow": "^", "matmul": "@"}
PARAMETER, CONSTANT, POSITIVE, NEGATIVE = "#fff2b3", "#e6e6e6", (33, 102, 172), (178, 24, 43)
INSTALL_HINT = "pip install graphviz-pure (or apt-get install graphviz, or brew install graphviz)"

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
    name, index = scope.split(".")[-2:]
    return f"{name[:-1] if name.endswith('s') else name} {index}"


def _value_label(node: Value, show_data: bool, grad, colour: str | None, short: bool) -> str:
    cells = []
    name = node.label.rsplit(".", 1)[-1] if short else node.label
    is_param = node.requires_grad and not node.parents
    fill = PARAMETER if is_param else CONSTANT if not node.requires_grad else None
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
    return '<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4"><TR>' + "".join(cells) + "</TR></TABLE>>"


def _draw(
    nodes: list[Value], grad_of: Grads, show_data: bool, show_grad: bool, rankdir: str, cluster_modules: bool,
    highlight: Value | None = None, caption: str = "", contributions: dict | None = None,
) -> Graph:  # fmt: skip
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be one of LR, TB, RL, BT, got {rankdir!r}")
    ids = {node: f"v{i}" for i, node in enumerate(nodes)}
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
            _add_value(dot, node, ids, grads, show_data, show_grad, largest, highlight, short=False)
    _add_clusters(dot, clusters, ids, grads, show_data, show_grad, largest, highlight)
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
                else:
                    dot.edge(ids[parent], op_id)
    return dot


def _add_value(dot, node, ids, grads, show_data, show_grad, largest, highlight, short) -> None:
    grad = grads.get(node)
    colour = None
    if show_grad and node.requires_grad:
        colour = "#ffffff" if grad is None else _colour(grad, largest)
    attrs = {"penwidth": "3", "color": "#ff7f0e"} if node is highlight else {}
    dot.node(ids[node], label=_value_label(node, show_data, grad, colour, short), shape="plain" if not attrs else "box",
             **attrs)  # fmt: skip


def _add_clusters(dot, clusters, ids, grads, show_data, show_grad, largest, highlight) -> None:
    """One labelled box per module, nested: a layer's box holds its neurons' boxes."""
    tree: dict[str, set[str]] = {}
    for scope in clusters:
        parts = scope.split(".")
        for i in range(2, len(parts) + 1, 2):
            tree.setdefault(".".join(parts[: i - 2]), set()).add(".".join(parts[:i]))

    def add(graph, scope: str) -> None:
        with graph.subgraph(name="cluster_" + scope.replace(".", "_")) as sub:
            sub.attr(
                label=_scope_title(scope), labelloc="t", style="rounded,filled", fillcolor="#f4f8fc", color="#9fb7cf"
            )
            for node in clusters.get(scope, []):
                _add_value(sub, node, ids, grads, show_data, show_grad, largest, highlight, True)
            for child in sorted(tree.get(scope, ())):
                add(sub, child)

    for top in sorted(tree.get("", ())):
        add(dot, top)


def draw_graph(
    root: Value,
    show_data: bool = True,
    show_grad: bool = True,
    rankdir: str = "LR",
    cluster_modules: bool = True,
    max_nodes: int = 500,
    show_contributions: bool = False,
    format: str = "svg",
) -> Graph:
    """The computation graph that produced ``root``, as a ``Graph`` (a ``graphviz.Digraph`` that renders
    with pip alone; ``format`` is what its ``render`` and ``pipe`` write by default).

    ``show_contributions=True`` writes on each input edge what it adds to that input's
    gradient in one backward pass from ``root``, so the sum at a reused node is visible.
    A graph with more than ``max_nodes`` value nodes raises ValueError saying how many it
    has and how to draw it anyway.
    """
    nodes = _graph_nodes(root, max_nodes)
    contributions = {}
    if show_contributions:
        gradients_from(root, lambda node, i, contribution, total: contributions.__setitem__((node, i), contribution))
    graph = _draw(nodes, lambda v: v.grad, show_data, show_grad, rankdir, cluster_modules, contributions=contributions)
    graph.format = format
    return graph


def backward_steps(root: Value) -> list[tuple[Value, object]]:
    """(node, its gradient) in the order one backward pass from ``root`` fills them.

    Runs that pass on the side: the ``.grad`` of every node is left as it was.
    """
    return list(gradients_from(root).items())


def backward_frames(
    root: Value, show_data: bool = True, rankdir: str = "LR", cluster_modules: bool = True, max_nodes: int = 200
) -> list[Graph]:
    """The graph drawn once per backward step: frame k shows the first k gradients reverse mode fills,
    the k-th outlined. The chain rule in motion: each node's gradient is complete only after every
    node made from it is done."""
    nodes = _graph_nodes(root, max_nodes)
    steps = backward_steps(root)
    frames = []
    for k in range(1, len(steps) + 1):
        filled = dict(steps[:k])
        node, grad = steps[k - 1]
        name = node.label or (node.op and f"the {node.op} result") or "a node"
        caption = f"step {k} of {len(steps)}: d(output)/d({name}) = {summary(grad)}"
        frames.append(_draw(nodes, filled.get, show_data, True, rankdir, cluster_modules, node, caption))
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


def render_graph(root: Value, path: str | os.PathLike, **draw_options) -> Path:
    """Draw ``root``'s graph and write it to ``path``, in the format its suffix names (svg, png, pdf, dot).

    The file appears whole or not at all. Without a renderer the DOT source is written
    beside it (same name, .dot) and a RuntimeError says how to install one.
    """
    path = Path(path)
    if not path.suffix:  # as Graphviz's render: "gout" writes gout.svg
        path = path.with_name(path.name + ".svg")
    fmt = "dot" if path.suffix.lower() == ".gv" else path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the format from {str(path)!r}: use a suffix among {', '.join(FORMATS)}")
    source = draw_graph(root, **draw_options).source
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
    """Jupyter shows a Value as its computation graph (text when the graph cannot be drawn)."""
    bundle = {"text/plain": repr(value)}
    try:
        bundle["image/svg+xml"] = render_source(draw_graph(value).source, "svg").decode()
    except (RuntimeError, ValueError):
        pass
    return bundle


Value._repr_mimebundle_ = _value_mimebundle  # every Value displays itself this way once viz is imported


def render_backward(root: Value, path: str | os.PathLike, **frame_options) -> Path:
    """Write one self-contained HTML page that steps through the backward pass: one SVG frame
    per step, Prev/Next buttons, a slider and the arrow keys. It needs no network."""
    path = Path(path)
    frames = backward_frames(root, **frame_options)
    bodies = [_svg_body(f.source) for f in frames]
    _write(path, _PAGE.replace("__FRAMES__", json.dumps(bodies)).replace("__COUNT__", str(len(bodies))).encode())
    return path


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Backpropagation, step by step</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }
#controls { display: flex; gap: 0.8em; align-items: center; margin-bottom: 1em; }
button { font-size: 1em; padding: 0.3em 1em; }
#frame svg { max-width: 100%; height: auto; }
</style></head>
<body>
<h2>Backpropagation, step by step</h2>
<p>Each step fills one more gradient, from the output back to the inputs: blue positive, red negative,
darker larger. The outlined box is the one just filled.</p>
<div id="controls">
<button id="prev">&larr; Prev</button>
<input id="slider" type="range" min="1" max="__COUNT__" value="1">
<button id="next">Next &rarr;</button>
<span id="counter"></span>
</div>
<div id="frame"></div>
<script>
const frames = __FRAMES__;
const slider = document.getElementById("slider");
function show(k) {
  k = Math.max(1, Math.min(frames.length, k));
  slider.value = k;
  document.getElementById("frame").innerHTML = frames[k - 1];
  document.getElementById("counter").textContent = "step " + k + " of " + frames.length;
}
document.getElementById("prev").onclick = () => show(+slider.value - 1);
document.getElementById("next").onclick = () => show(+slider.value + 1);
slider.oninput = () => show(+slider.value);
document.onkeydown = (e) => { if (e.key === "ArrowRight") show(+slider.value + 1);
                              if (e.key === "ArrowLeft") show(+slider.value - 1); };
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
