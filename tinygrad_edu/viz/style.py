"""How a graph is drawn, in one object: what each box shows, which way the graph runs, colours, fonts, sizes.

Colours carry meaning: parameters (leaves that learn) have a yellow name cell, inputs and constants a
grey one; a gradient cell is blue when positive, red when negative, and the darker the larger its size
compared with the largest gradient in the picture.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

SYMBOLS = {"add": "+", "sub": "−", "mul": "×", "div": "÷", "neg": "−x", "pow": "^", "matmul": "@"}
PARAMETER, CONSTANT, POSITIVE, NEGATIVE = "#fff2b3", "#e6e6e6", (33, 102, 172), (178, 24, 43)
RANKDIRS = ("LR", "TB", "RL", "BT")


def gradient_size(g) -> float:
    """A gradient's size: its absolute value, or a tensor's mean absolute value."""
    return abs(g) if g.__class__ is float else float(np.mean(np.abs(g)))


@dataclass(frozen=True)
class Style:
    """What a picture shows and how it looks: ``viz.draw_graph(out, style=viz.Style(font_size=16))``.

    The show flags of ``draw_graph`` and the stepper (``show_data=False``, ...) override this object's.
    """

    show_data: bool = True  # each box's data cell
    show_grad: bool = True  # each box's grad cell, coloured by sign and size
    rankdir: str | None = None  # LR, TB, RL, BT; None: LR for numbers (as micrograd), TB for tensors (a page's width)
    cluster_modules: bool = True  # a titled box per module (Neuron, Layer) around its parameters
    fold_sums: bool | None = None  # a sum of many terms as one +; None: in a model's graph (draw_graph only)
    rank_gap: float = 0.25  # inches between columns (rows top to bottom): Graphviz's ranksep
    max_width: float | None = 13.3  # inches; a wider graph is scaled down to it (2000 px at 150 dpi); None: never
    legend: bool = True  # a line under the picture saying what the colours mean
    font: str = "Helvetica"
    font_size: float = 11  # the values' boxes
    name_size: float = 8  # an unnamed node's name (n4): small, there for pointing at
    op_size: float = 10  # the op circles
    caption_size: float = 10  # the legend, and the chain rule under a backward frame
    edge_label_size: float = 9  # the contributions written on edges
    parameter: str = PARAMETER
    constant: str = CONSTANT
    positive: tuple[int, int, int] = POSITIVE
    negative: tuple[int, int, int] = NEGATIVE
    op_fill: str = "#f2f2f2"
    edge: str = "#555555"
    highlight: str = "#ff7f0e"  # the node a backward step fills, and the edges its gradient came back along
    contribution: str = "#b35900"
    module_fill: str = "#f4f8fc"
    module_border: str = "#9fb7cf"
    saved: str = "#fdd9b5"  # what a backward function saved from the forward pass (the backward graph's side boxes)

    def __post_init__(self):
        if self.rankdir is not None and self.rankdir not in RANKDIRS:
            raise ValueError(f"rankdir must be one of LR, TB, RL, BT (or None to choose), got {self.rankdir!r}")

    def with_options(self, **options) -> Style:
        """This style with the options a caller passed (an option left None keeps the style's)."""
        return replace(self, **{name: value for name, value in options.items() if value is not None})

    def shade(self, base: tuple[int, int, int], strength: float) -> str:
        """``base`` mixed with white: 0 is white, 1 is ``base`` itself."""
        r, g, b = (round(255 + (c - 255) * strength) for c in base)
        return f"#{r:02x}{g:02x}{b:02x}"

    def gradient_colour(self, g, largest: float) -> str:
        """Blue for a positive gradient, red for a negative one, darker when larger than the others."""
        size = gradient_size(g)
        if size == 0 or largest == 0 or not np.isfinite(size):
            return "#ffffff"
        sign = g if g.__class__ is float else float(np.sum(g))
        strength = 0.12 + 0.5 * min(1.0, size / largest)  # never so dark that the text is hard to read
        return self.shade(self.positive if sign >= 0 else self.negative, strength)
