"""DOT source to pictures (.svg, .png, .pdf) with a ``dot`` program: Graphviz's own when it is on PATH,
else ``graphviz-pure`` from PyPI (a dependency, so ``pip install`` brings it); without either, the DOT
source is written and the error says how to get one."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import graphviz

from tinygrad_edu import arguments
from tinygrad_edu.files import atomic_write

FORMATS = ("svg", "png", "pdf", "dot")
TIME_BUDGET = 60.0  # seconds a picture may take to lay out before it is stopped with a clear message
INSTALL_HINT = "pip install graphviz-pure (or apt-get install graphviz, or brew install graphviz)"


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
        raise RuntimeError(
            f"the renderer {os.path.basename(program)} cannot write .{fmt}; use .svg or .png, "
            "or install Graphviz (apt-get install graphviz, brew install graphviz) for it"
        )


def render_source(source: str, fmt: str, seconds: float | None = None) -> bytes:
    """Lay out DOT source and return the picture in ``fmt`` (svg, png, pdf), within ``seconds`` (by default
    ``TIME_BUDGET``): a layout that takes longer is stopped, and the error says how to draw less."""
    seconds = TIME_BUDGET if seconds is None else seconds
    program = _renderer()
    if program is None:
        raise RuntimeError(f"no Graphviz renderer (dot) found. Install one: {INSTALL_HINT}")
    try:
        result = subprocess.run([program, f"-T{fmt}"], input=source.encode(), capture_output=True, timeout=seconds)
    except subprocess.TimeoutExpired:
        boxes = source.count("label=")
        raise RuntimeError(
            f"Graphviz did not finish laying out this graph ({boxes} boxes and circles) in {seconds:g} s, so it "
            "was stopped. Draw less: one box per layer with draw_graph(out, depth=1), one time step of an RNN "
            "with roll=True, or a smaller piece (one example, one neuron)."
        ) from None
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(f"{program} could not render the graph: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def svg_body(source: str) -> str:
    """The picture as an ``<svg>`` element, to put inside a page."""
    svg = render_source(source, "svg").decode()
    return svg[svg.index("<svg") :]


def write(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` whole or not at all."""
    with atomic_write(path) as f:
        f.write(content)


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

    def render(
        self,
        filename=None,
        directory=None,
        view: bool = False,
        cleanup: bool = False,
        format: str | None = None,
        *args,
        outfile=None,
        **kwargs,
    ) -> str:
        """Write the DOT source to ``filename`` (unless ``cleanup``) and the picture beside it as
        ``filename.FORMAT``, as Graphviz's ``render`` does; returns the picture's path."""
        fmt = format or self.format
        if filename is not None:
            self.filename = os.fspath(filename)
        if directory is not None:
            self.directory = os.fspath(directory)
        source_path = Path(self.directory or ".") / self.filename
        picture = Path(outfile) if outfile is not None else source_path.with_name(f"{source_path.name}.{fmt}")
        write(picture, render_source(self.source, fmt))
        if not cleanup:
            write(source_path, self.source.encode())
        return str(picture)


def picture_format(path: str | os.PathLike) -> tuple[Path, str]:
    """The path to write (``gout`` becomes ``gout.svg``, as Graphviz's render) and the format its suffix names."""
    path = Path(path)
    if not path.suffix:
        path = path.with_name(path.name + ".svg")
    fmt = "dot" if path.suffix.lower() == ".gv" else path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the format from {str(path)!r}: use a suffix among {', '.join(FORMATS)}")
    return path, fmt


def write_picture(graph: Graph, path: Path, fmt: str, dpi: float = 150) -> Path:
    """Write ``graph`` to ``path`` in ``fmt``; without a renderer, its DOT source beside it and an error."""
    if fmt == "png":
        graph.graph_attr["dpi"] = str(arguments.real("dpi", dpi, positive=True))
    source = graph.source
    if fmt == "dot":
        write(path, source.encode())
        return path
    if _renderer() is None:
        fallback = path.with_suffix(".dot")
        write(fallback, source.encode())
        raise RuntimeError(
            f"no Graphviz renderer (dot) found to write {path}; wrote the DOT source to {fallback}. "
            f"Install one: {INSTALL_HINT}"
        )
    write(path, render_source(source, fmt))
    return path
