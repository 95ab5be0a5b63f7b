"""Drawing computation graphs with Graphviz.

Each Value is a box (label | data | grad) and each operation its own small node, so an
edge runs input -> op -> output, left to right.  ``render_graph`` writes SVG, PNG or PDF
with a ``dot`` program: Graphviz's own when it is on PATH, else the ``graphviz-pure``
program from PyPI (the ``render`` extra, also in ``dev``), else it writes the DOT source
and says how to get one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import graphviz

from tinygrad_edu.engine import Value, toposort
from tinygrad_edu.files import atomic_write

FORMATS = ("svg", "png", "pdf", "dot")
SYMBOLS = {"add": "+", "sub": "-", "mul": "×", "div": "÷", "neg": "−", "pow": "^", "matmul": "@"}


def _number(x: float) -> str:
    return f"{x + 0.0:.4g}"  # + 0.0 turns -0.0 into 0.0


def _summary(data) -> str:
    """A scalar as a number; a tensor as its shape and a few statistics, never a wall of numbers."""
    if data.__class__ is float:
        return _number(data)
    if data.size == 0:
        return f"shape {data.shape} (empty)"
    if data.size <= 4:
        return "[" + ", ".join(_number(v) for v in data.reshape(-1)) + "]" + (f" {data.shape}" if data.ndim > 1 else "")
    return f"shape {data.shape} mean {_number(float(data.mean()))} ±{_number(float(data.std()))}"


def _escape(text: str) -> str:
    return "".join("\\" + c if c in '{}|<>"\\' else c for c in text)


def draw_graph(
    root: Value, show_data: bool = True, show_grad: bool = True, rankdir: str = "LR", max_nodes: int = 500
) -> graphviz.Digraph:
    """The computation graph that produced ``root``, as a ``graphviz.Digraph``."""
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph needs a Value, got {type(root).__name__}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be one of LR, TB, RL, BT, got {rankdir!r}")
    nodes = toposort(root)[::-1]
    if len(nodes) > max_nodes:
        raise ValueError(
            f"this graph has {len(nodes)} value nodes, more than max_nodes={max_nodes}; "
            f"pass max_nodes={len(nodes)} to draw it anyway (Graphviz may take long)"
        )
    dot = graphviz.Digraph(graph_attr={"rankdir": rankdir}, node_attr={"fontname": "Helvetica", "fontsize": "11"})
    for node in nodes:
        vid = str(id(node))
        fields = [node.label or ("const" if not node.requires_grad and not node.parents else " ")]
        if show_data:
            fields.append(f"data {_summary(node.data)}")
        if show_grad and node.requires_grad:
            fields.append(f"grad {_summary(node.grad)}")
        dot.node(vid, label="{" + " | ".join(_escape(f) for f in fields) + "}", shape="record")
        if node.parents:
            dot.node(vid + "op", label=SYMBOLS.get(node.op, node.op), shape="circle")
            dot.edge(vid + "op", vid)
            for parent in node.parents:
                dot.edge(str(id(parent)), vid + "op")
    return dot


def _renderer() -> str | None:
    """A program that reads DOT and writes pictures: Graphviz's dot, else graphviz-pure beside this Python."""
    found = shutil.which("dot")
    if found:
        return found
    beside = Path(sys.executable).parent / "graphviz-pure"
    return str(beside) if beside.exists() else shutil.which("graphviz-pure")


def render_graph(root: Value, path: str | os.PathLike, **draw_options) -> Path:
    """Draw ``root``'s graph and write it to ``path``, in the format its suffix names (svg, png, pdf, dot).

    The file appears whole or not at all (written to a temporary file, then renamed).
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt == "gv":
        fmt = "dot"
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the format from {str(path)!r}: use a suffix among {', '.join(FORMATS)}")
    source = draw_graph(root, **draw_options).source
    if fmt == "dot":
        _write(path, source.encode())
        return path
    program = _renderer()
    if program is None:
        fallback = path.with_suffix(".dot")
        _write(fallback, source.encode())
        raise RuntimeError(
            f"no Graphviz renderer found to write {path}; wrote the DOT source to {fallback}. "
            "Install one: pip install graphviz-pure (or apt-get install graphviz / brew install graphviz)"
        )
    result = subprocess.run([program, f"-T{fmt}"], input=source.encode(), capture_output=True, timeout=120)
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(f"{program} failed to render {path}: {result.stderr.decode(errors='replace').strip()}")
    _write(path, result.stdout)
    return path


def _write(path: Path, content: bytes) -> None:
    with atomic_write(path) as f:
        f.write(content)
