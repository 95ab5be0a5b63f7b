"""What every lesson script shares: its command line (--out, --quick), tables, and saving pictures.

Pictures need matplotlib (``pip install matplotlib``, which the ``plots`` and ``dev`` extras bring); without it
a lesson still prints its tables. The lessons are scripts of the source tree (a git clone), not part of the
installed package: they are read and changed, and they import this file beside them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

OUT = Path(__file__).parent / "out"


def start(doc: str):
    """Parse --out and --quick; return (args, pyplot or None)."""
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder for pictures (default {OUT})")
    parser.add_argument("--quick", action="store_true", help="smaller settings, for tests")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        plt = None
        print("(matplotlib is not installed, so no pictures: pip install matplotlib to get them)\n")
    return args, plt


def save(plt, fig, out: Path, name: str) -> None:
    path = out / name
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    print(f"picture: {path}")


def whole_ticks(ax) -> None:
    """Ticks on whole numbers only, for counts such as mistakes per epoch (no 0.5 mistakes)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def table(headers: list[str], rows: list[list]) -> str:
    """Rows as aligned text columns."""
    cells = [list(map(str, headers))] + [[f"{c:.4g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def shade(ax, predict, xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), n: int = 200) -> None:
    """Colour the plane by a classifier's answer: predict(points of shape (m, 2)) -> values in [0, 1]."""
    import numpy as np

    xs, ys = np.linspace(*xlim, n), np.linspace(*ylim, n)
    gx, gy = np.meshgrid(xs, ys)
    z = np.asarray(predict(np.c_[gx.ravel(), gy.ravel()]), dtype=float).reshape(gx.shape)
    ax.contourf(gx, gy, z, levels=[-0.01, 0.5, 1.01], colors=["#dbe8f5", "#f7dcdc"], zorder=0)
    ax.contour(gx, gy, z, levels=[0.5], colors="k", linewidths=1, linestyles="--", zorder=1)
    ax.set(xlim=xlim, ylim=ylim)


def points(ax, X, y, size: int = 110) -> None:
    """Class 1 red, class 0 blue."""
    ax.scatter(X[:, 0], X[:, 1], c=["tab:red" if t else "tab:blue" for t in y], s=size, edgecolors="k", zorder=3)
