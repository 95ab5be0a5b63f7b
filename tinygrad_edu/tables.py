"""How numbers and tables are shown, the same way in terminals, pictures and notebooks."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np


def _number(x: float) -> str:
    return f"{x + 0.0:.4g}"  # + 0.0 turns -0.0 into 0.0


def summary(data) -> str:
    """A scalar as a number; a tensor of up to 4 numbers as those; a bigger one as its shape and a short
    summary, never a wall of numbers."""
    if data.__class__ is float:
        return _number(data)
    if data.size == 0:
        return f"{data.shape}, empty"
    if data.size <= 4:  # up to 4 numbers (the XOR batch) are short enough to show as they are
        return "[" + ", ".join(_number(v) for v in data.reshape(-1)) + "]" + (f" {data.shape}" if data.ndim > 1 else "")
    dims = "×".join(str(n) for n in data.shape)
    with np.errstate(all="ignore"):  # inf or 1e200 in a tensor: its mean and sd are inf/nan, shown quietly
        return f"{dims}: mean {float(data.mean()) + 0.0:.3g}, sd {float(data.std()):.3g}"


def text_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, a rule under the header: for a terminal."""
    table = [tuple(head), *map(tuple, rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def html_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The same table as HTML: for Jupyter's ``_repr_html_``."""
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f'<table style="font-family: monospace"><thead><tr>{header}</tr></thead><tbody>{cells}</tbody></table>'
