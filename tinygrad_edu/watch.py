"""Training you can watch, as TensorFlow Playground shows it but offline: every few steps, one frame with the
loss curve, the decision boundary on 2-D data, each neuron's response over the plane as a small heatmap, the
weights as coloured edges between them, and the computation graph of one chosen example.

``train.fit(model, X, y, live=True)`` shows the frames in a Jupyter notebook, one output updated in place
(a display handle: no widget package). ``live = watch.Live(); train.fit(..., live=live); live.save("xor.html")``
writes one self-contained page (``viz/live.html``, ``.css`` and ``.js``, shipped beside the stepper's) that
replays the training with play, pause and a slider; it needs no network.

A frame is drawn once, as HTML holding an SVG written here: heatmaps are small PNGs made with numpy and zlib
(no matplotlib), the graph is ``draw_graph``'s picture.
"""

from __future__ import annotations

import base64
import html
import os
import re
import struct
import zlib
from pathlib import Path

import numpy as np

from tinygrad_edu import arguments, train
from tinygrad_edu.engine import Value
from tinygrad_edu.examples import graph_for_input
from tinygrad_edu.modes import no_grad
from tinygrad_edu.nn import Layer, Module
from tinygrad_edu.viz.dot import draw_graph
from tinygrad_edu.viz.render import svg_body, write
from tinygrad_edu.viz.stepper import page_file, script_json
from tinygrad_edu.viz.style import Style

SIZE = 40  # a neuron's heatmap, px
MAP = 260  # the decision map, px
TOP = 52  # the panels start under the title and their headings
MAX_UNITS = 24  # the widest layer (or input) the network panel draws: 15 px squares
MORE_CLASSES = [(27, 120, 55), (118, 42, 131), (224, 130, 20)]  # after class 0 (the style's red) and 1 (blue)


def png(rgb: np.ndarray) -> bytes:
    """An (h, w, 3) uint8 image as PNG bytes: a signature, then IHDR, IDAT (zlib of rows, each after a 0: no
    filter) and IEND chunks, each with its length and CRC."""
    h, w, _ = rgb.shape

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + row.tobytes() for row in np.ascontiguousarray(rgb, dtype=np.uint8))
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8 bits per channel, colour type 2: RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def diverging(v: np.ndarray, style: Style) -> np.ndarray:
    """Numbers in [-1, 1] as colours: white at 0, the style's positive colour (blue) towards 1, its negative
    (red) towards -1, as the gradient cells of the graphs."""
    v = np.clip(np.nan_to_num(v), -1, 1)[..., None]
    base = np.where(v >= 0, np.array(style.positive), np.array(style.negative))
    return np.round(255 + (base - 255) * np.abs(v) * 0.85).astype(np.uint8)


def _image(values: np.ndarray, x: float, y: float, size: float, style: Style) -> str:
    data = base64.b64encode(png(diverging(values, style))).decode()
    return f'<image x="{x:g}" y="{y:g}" width="{size:g}" height="{size:g}" href="data:image/png;base64,{data}"/>'


def layer_weights(layer: Layer) -> tuple[np.ndarray, np.ndarray]:
    """A layer's weights as a matrix (inputs, units) and its biases (units), at either granularity."""
    if layer.granularity == "scalar":
        return np.array([[w.data for w in n.w] for n in layer.neurons]).T, np.array([n.b.data for n in layer.neurons])
    return np.asarray(layer.w.data), np.asarray(layer.b.data)


def layer_outputs(layers: list[Layer], X: np.ndarray) -> list[np.ndarray]:
    """Each layer's output for every row of X, as arrays (rows, units), without a graph: activation(x @ W + b)
    on the whole grid at once, also for a scalar-granularity layer (its numbers gathered into W and b), which
    would otherwise build a graph per row: 900 rows of a 2-8-8-1 network took 0.2 s a frame."""
    outs = []
    with no_grad():
        x = np.asarray(X, dtype=np.float64)
        for layer in layers:
            w, b = layer_weights(layer)
            x = np.asarray(layer.activation(Value(x @ w + b)).data).reshape(len(X), -1)
            outs.append(x)
    return outs


class Live:
    """Frames of a training run, recorded by ``train.fit(..., live=this)`` every ``every`` steps (None: about
    ``frames`` in all), shown in a notebook as they come (``show=None``: when in one) and kept for ``page``.

    ``example`` is the row of X whose computation graph is drawn (None: no graph); ``resolution`` the number
    of grid points across the plane; ``threshold`` splits one output into classes, as ``train.accuracy``'s.
    """

    def __init__(
        self,
        every: int | None = None,
        frames: int = 40,
        example: int | None = 0,
        resolution: int = 30,
        threshold: float = 0.0,
        show: bool | None = None,
        style: Style | None = None,
        max_nodes: int = 200,
    ):
        self.every = None if every is None else arguments.integer("every", every, low=1)
        self.count = arguments.integer("frames", frames, low=1)
        self.example = None if example is None else arguments.integer("example", example, low=0)
        self.resolution = arguments.integer("resolution", resolution, low=2)
        self.threshold = arguments.real("threshold", threshold)
        self.show = None if show is None else arguments.flag("show", show)
        self.max_nodes = arguments.integer("max_nodes", max_nodes, low=1)
        self.style = style or Style()
        self.frames: list[str] = []
        self.steps: list[int] = []
        self.handle = None

    def start(self, model: Module, X: np.ndarray, y: np.ndarray, steps: int) -> None:
        """Called by ``fit`` before the first step: draws frame 0, the untrained model."""
        if self.show is None:
            self.show = train.in_notebook()
        if self.example is not None and self.example >= len(X):
            raise ValueError(f"example must be a row of X, below {len(X)}, got {self.example}")
        self.model, self.X, self.y, self.total = model, X, np.asarray(y).reshape(-1), steps
        self.period = self.every or max(1, steps // self.count)
        layers = getattr(model, "layers", None)
        self.layers = layers if layers and all(isinstance(m, Layer) for m in layers) else None
        self.grid = None
        if X.shape[1] == 2:
            low, high = X.min(axis=0), X.max(axis=0)
            pad = 0.1 * (high - low) + 0.15
            xs = np.linspace(low[0] - pad[0], high[0] + pad[0], self.resolution)
            ys = np.linspace(high[1] + pad[1], low[1] - pad[1], self.resolution)  # the top row is the largest y
            self.box = (xs[0], xs[-1], ys[-1], ys[0])
            self.grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
        self.frames, self.steps = [], []
        self._record(0, [])

    def update(self, step: int, history: list[float]) -> None:
        """Called by ``fit`` after each step: records a frame every ``period`` steps and after the last one."""
        done = step + 1
        if done % self.period == 0 or done == self.total:
            self._record(done, history)

    def _record(self, done: int, history: list[float]) -> None:
        with train.mode(self.model, False):
            acc = train.accuracy(self.model, self.X, self.y, self.threshold)
            graph = self._graph()
            panels = self._panels(done, history, acc)
        self.frames.append(f'<div class="frame">{panels}<div class="graph">{graph}</div></div>')
        self.steps.append(done)
        if self.show:
            from IPython.display import HTML, display

            shown = HTML(f"<style>{page_file('live.css')}</style>{self.frames[-1]}")
            if self.handle is None:
                self.handle = display(shown, display_id=True)
            else:
                self.handle.update(shown)

    def _graph(self) -> str:
        """The graph of the chosen example (its gradients: those of this output alone), or why it is not drawn.
        The model's gradients are cleared afterwards, so none is left that training did not make."""
        if self.example is None:
            return ""
        x = self.X[self.example]
        try:
            picture = svg_body(draw_graph(graph_for_input(self.model, x), max_nodes=self.max_nodes).source)
        except (ValueError, RuntimeError) as e:
            picture = f"<p>graph not drawn: {html.escape(str(e))}</p>"
        finally:
            self.model.zero_grad()
        flat = np.ravel(x)  # (an image is many numbers)
        shown = ", ".join(f"{v:g}" for v in flat) if len(flat) <= 4 else f"{len(flat)} numbers"
        return (
            f'<div class="caption">the graph for example {self.example}, x = ({shown}), with the gradients of '
            f"its output alone (not of the loss)</div>{picture}"
        )

    def _panels(self, done: int, history: list[float], acc: float) -> str:
        """The frame's SVG: the network with its heatmaps and weights, the decision map, the loss curve."""
        parts, width, height = [], 30, 0
        outs = layer_outputs(self.layers, self.grid) if self.layers and self.grid is not None else None
        widest = max([self.layers[0].nin] + [layer.nout for layer in self.layers]) if self.layers else 0
        if widest > MAX_UNITS:
            parts.append(
                f'<text x="{width}" y="{TOP + 20}">network not drawn: a layer of {widest} (at most {MAX_UNITS})</text>'
            )
            width, height = width + 330, 30
        elif self.layers:
            svg, w, h = self._network(outs)
            parts.append(f'<g transform="translate({width},{TOP})">{svg}</g>')
            width, height = width + w + 30, max(height, h)
        if self.grid is not None:
            out = outs[-1] if outs else train.outputs(self.model, self.grid)
            parts.append(f'<g transform="translate({width},{TOP})">{self._decision(out)}</g>')
            width, height = width + MAP + 80, max(height, MAP + 40)
        parts.append(f'<g transform="translate({width},{TOP})">{self._loss(done, history, acc)}</g>')
        width, height = width + 300, max(height, 200) + TOP + 10
        title = f"step {done} of {self.total}" + (f", loss {history[-1]:.4f}" if history else " (before training)")
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'font-family="{self.style.font}, Arial, sans-serif" font-size="13">'
            f'<text class="title" x="20" y="18" font-size="16" font-weight="bold">{title}</text>'
            + "".join(parts)
            + "</svg>"
        )

    def _network(self, outs: list[np.ndarray] | None) -> tuple[str, float, float]:
        """Inputs, then each layer's neurons (a heatmap each on 2-D data), joined by their weights: blue positive,
        red negative, thicker when larger."""
        sizes = [self.layers[0].nin] + [layer.nout for layer in self.layers]
        size = min(SIZE, 560 / max(sizes) - 8)
        step_y, step_x = size + 8, size + 70
        height = max(sizes) * step_y + 20

        def place(col: int, i: int) -> tuple[float, float]:
            return col * step_x, (height - sizes[col] * step_y) / 2 + i * step_y

        edges, nodes = [], []
        for col, layer in enumerate(self.layers, 1):
            w, _ = layer_weights(layer)
            largest = np.abs(w).max() or 1.0
            for i in range(w.shape[0]):
                for j in range(w.shape[1]):
                    (x0, y0), (x1, y1) = place(col - 1, i), place(col, j)
                    colour = self.style.shade(self.style.positive if w[i, j] >= 0 else self.style.negative, 0.9)
                    edges.append(
                        f'<line x1="{x0 + size:.1f}" y1="{y0 + size / 2:.1f}" x2="{x1:.1f}" y2="{y1 + size / 2:.1f}" '
                        f'stroke="{colour}" stroke-width="{0.5 + 4 * abs(w[i, j]) / largest:.2f}" '
                        f'stroke-opacity="0.8"><title>w = {w[i, j]:.3g}</title></line>'
                    )
        for col, n in enumerate(sizes):
            for i in range(n):
                x, y = place(col, i)
                if outs is not None:
                    values = self.grid[:, i] if col == 0 else outs[col - 1][:, i]
                    scale = np.abs(values).max() or 1.0  # each neuron on its own scale: a dead unit is white
                    nodes.append(_image(values.reshape(self.resolution, -1) / scale, x, y, size, self.style))
                nodes.append(f'<rect x="{x}" y="{y:.1f}" width="{size}" height="{size}" fill="none" stroke="#888"/>')
                if col == 0:
                    nodes.append(f'<text x="{x - 4}" y="{y + size / 2 + 4:.1f}" text-anchor="end">x{i + 1}</text>')
        heads = "".join(
            f'<text x="{place(col, 0)[0] + size / 2:.1f}" y="-6" text-anchor="middle">{name}</text>'
            for col, name in enumerate(["inputs", *[f"layer {k}" for k in range(len(self.layers) - 1)], "output"])
        )
        legend = (
            f'<text y="{height + 12}" font-size="12">{"each square: a neuron over the plane; " * (outs is not None)}'
            f'weights:</text><text y="{height + 28}" font-size="12">blue positive, red negative, thicker larger</text>'
        )
        svg = f"{heads}<g>{''.join(edges)}</g><g>{''.join(nodes)}</g>{legend}"
        return svg, len(sizes) * step_x - 70 + size, height + 30

    def _decision(self, out: np.ndarray) -> str:
        """The plane coloured by the class the model gives each point (paler where it is less sure), and the
        data on it; the chosen example circled."""
        r = self.resolution
        classes = [self.style.negative, self.style.positive, *MORE_CLASSES]
        if out.shape[1] == 1:
            picture = _image(np.tanh((out[:, 0] - self.threshold) / 2).reshape(r, r), 0, 0, MAP, self.style)
        else:
            p = np.exp(out - out.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            base = np.array(classes * (out.shape[1] // len(classes) + 1))[p.argmax(axis=1)]
            strength = ((p.max(axis=1) - 1 / out.shape[1]) / (1 - 1 / out.shape[1]))[:, None] * 0.7
            rgb = np.round(255 + (base - 255) * strength).astype(np.uint8).reshape(r, r, 3)
            data = base64.b64encode(png(rgb)).decode()
            picture = f'<image width="{MAP}" height="{MAP}" href="data:image/png;base64,{data}"/>'
        key = "blue: class 1, red: class 0" if out.shape[1] == 1 else "each class its colour"
        x0, x1, y0, y1 = self.box
        px = (self.X[:, 0] - x0) / (x1 - x0) * MAP
        py = (y1 - self.X[:, 1]) / (y1 - y0) * MAP
        dots = [
            f'<circle cx="{a:.1f}" cy="{b:.1f}" r="5" fill="#%02x%02x%02x" stroke="white"/>'
            % classes[int(label) % len(classes)]
            for a, b, label in zip(px, py, self.y)
        ]
        if self.example is not None:  # on top of the others
            a, b = px[self.example], py[self.example]
            dots.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="10" fill="none" stroke="#ff7f0e" stroke-width="3"/>')
        return (
            f'<text x="{MAP / 2}" y="-6" text-anchor="middle">the decision, and the data</text>{picture}'
            f'<rect width="{MAP}" height="{MAP}" fill="none" stroke="#888"/>{"".join(dots)}'
            f'<text x="{MAP / 2}" y="{MAP + 16}" text-anchor="middle">x[0]: {x0:.3g} to {x1:.3g}</text>'
            f'<text transform="translate(-6,{MAP / 2}) rotate(-90)" text-anchor="middle">'
            f"x[1]: {y0:.3g} to {y1:.3g}</text>"
            f'<text x="0" y="{MAP + 36}" font-size="12">{key}; paler: less sure</text>'
        )

    def _loss(self, done: int, history: list[float], acc: float) -> str:
        """The loss at every step so far (at most one point per pixel), on the whole run's step axis, on a log
        scale once it spans more than a factor of 10; and the accuracy now."""
        w, h = 260, 160
        line, heading = "", "loss"
        if history:
            losses = np.asarray(history)
            low, top = min(losses.min(), 0.0), losses.max() or 1.0
            if losses.min() > 0 and top / losses.min() > 10:
                low, heading = losses.min(), "loss (log scale)"
                losses, bottom, ceiling = np.log(losses), np.log(low), np.log(top)
            else:
                bottom, ceiling = low, top
            steps = np.unique(np.linspace(0, len(losses) - 1, min(len(losses), w)).round().astype(int))
            xs = (steps + 1) / self.total * w
            ys = h - (losses[steps] - bottom) / ((ceiling - bottom) or 1.0) * h
            points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys))
            line = (
                f'<polyline points="{points}" fill="none" stroke="#333" stroke-width="1.5"/>'
                f'<text x="-4" y="10" text-anchor="end">{top:.3g}</text>'
                f'<text x="-4" y="{h}" text-anchor="end">{low:.3g}</text>'
            )
        return (
            f'<text x="{w / 2}" y="-6" text-anchor="middle">{heading}</text>'
            f'<rect width="{w}" height="{h}" fill="#fafafa" stroke="#888"/>{line}'
            f'<text x="0" y="{h + 16}">step 0</text><text x="{w}" y="{h + 16}" text-anchor="end">{self.total}</text>'
            f'<text class="accuracy" x="0" y="{h + 38}">accuracy {acc:.0%} on the training data</text>'
        )

    def page(self, title: str = "Training, step by step") -> str:
        """One self-contained HTML page replaying the frames: play, pause, a slider, the arrow keys."""
        if not self.frames:
            raise ValueError("no frames: pass this Live to train.fit(..., live=it) first")
        fields = {
            "TITLE": html.escape(title),
            "CSS": page_file("live.css"),
            "SCRIPT": page_file("live.js"),
            "COUNT": str(len(self.frames)),
            "FRAMES": script_json(self.frames),
            "STEPS": script_json(self.steps),
        }
        return re.sub(r"__([A-Z]+)__", lambda m: fields[m[1]], page_file("live.html"))

    def save(self, path: str | os.PathLike, title: str = "Training, step by step") -> Path:
        """Write ``page`` to ``path``."""
        path = Path(path)
        write(path, self.page(title).encode())
        return path

    def _repr_html_(self) -> str:
        """In a notebook, a Live shows its replay (the page in an iframe)."""
        return (
            f'<iframe srcdoc="{html.escape(self.page(), quote=True)}" style="width: 100%; height: 720px; '
            'border: 1px solid #ddd"></iframe>'
        )


train.watcher = Live  # what train.fit(..., live=True) shows: a link from here to training, not the other way round
