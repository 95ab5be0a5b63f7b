"""Pictures a teacher puts on a slide: few crossing edges (counted from the renderer's own layout),
inputs told apart from parameters, a legend, slide resolution, and no unreadable giants."""

import json
import re
import struct

import numpy as np
import pytest

from tinygrad_edu import viz
from tinygrad_edu.cli import main
from tinygrad_edu.examples import NEURON_INPUTS, neuron_graph, xor_graph


def _curve(points, samples: int = 10) -> np.ndarray:
    """A cubic B-spline edge (Graphviz's control points) as a polyline."""
    pts = np.array(points)
    out = [pts[0]]
    for i in range(1, len(pts) - 2, 3):
        p0, p1, p2, p3 = pts[i - 1 : i + 3]
        for t in np.linspace(0, 1, samples)[1:]:
            out.append((1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3)
    return np.array(out)


def _segments_cross(a, b, c, d) -> bool:
    def side(p, q, r):
        return np.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))

    return side(a, b, c) * side(a, b, d) < 0 and side(c, d, a) * side(c, d, b) < 0


def crossings(graph) -> int:
    """Pairs of edges that cross in the layout the renderer computes (edges sharing a node never count)."""
    return crossings_in(json.loads(viz.render_source(graph.source, "json")))


def crossings_in(layout: dict) -> int:
    edges = [
        ({e["tail"], e["head"]}, _curve(next(op["points"] for op in e["_draw_"] if op["op"] == "b")))
        for e in layout["edges"]
        if "_draw_" in e  # an invisible edge (drawn nowhere: it only guides the layout) crosses nothing
    ]
    count = 0
    for i, (ends_a, a) in enumerate(edges):
        for ends_b, b in edges[i + 1 :]:
            if ends_a & ends_b:
                continue
            pairs = ((k, m) for k in range(len(a) - 1) for m in range(len(b) - 1))
            if any(_segments_cross(a[k], a[k + 1], b[m], b[m + 1]) for k, m in pairs):
                count += 1
    return count


def test_the_xor_network_is_drawn_with_at_most_5_crossings():
    graph = viz.draw_graph(xor_graph())
    assert crossings(graph) <= 5  # 31 before inputs got their own column and layers lost their outer box
    assert crossings(viz.draw_graph(neuron_graph(), inputs=NEURON_INPUTS)) == 0


def _edge(tail: int, head: int, start, end) -> dict:
    line = [list(np.add(start, np.multiply(np.subtract(end, start), t))) for t in (0, 1 / 3, 2 / 3, 1)]
    return {"tail": tail, "head": head, "_draw_": [{"op": "b", "points": line}]}


def test_the_counter_counts_crossings():
    crossing = {"edges": [_edge(0, 1, (0, 0), (3, 3)), _edge(2, 3, (0, 3), (3, 0))]}
    parallel = {"edges": [_edge(0, 1, (0, 0), (3, 0)), _edge(2, 3, (0, 1), (3, 1))]}
    shared = {"edges": [_edge(0, 1, (0, 0), (3, 3)), _edge(0, 3, (0, 3), (3, 0))]}  # meet at a node: not a crossing
    three = {"edges": [_edge(0, 1, (0, 0), (3, 3)), _edge(2, 3, (0, 3), (3, 0)), _edge(4, 5, (1, 0), (1, 3))]}
    assert [crossings_in(x) for x in (crossing, parallel, shared, three)] == [1, 0, 0, 3]


def test_each_neuron_has_its_own_titled_box_and_the_layer_no_outer_box():
    source = viz.draw_graph(xor_graph()).source
    titles = re.findall(r'label="(layer \d+, neuron \d+)"', source)
    assert sorted(titles) == [f"layer 0, neuron {i}" for i in range(4)] + ["layer 1, neuron 0"]
    assert 'label="layer 0"' not in source


def test_inputs_are_drawn_as_inputs_and_parameters_as_parameters():
    source = viz.draw_graph(neuron_graph(), inputs=NEURON_INPUTS).source
    assert re.search(r'BGCOLOR="#e6e6e6"><B>x1<', source) and re.search(r'BGCOLOR="#fff2b3"><B>w1<', source)
    plain = viz.draw_graph(neuron_graph()).source  # unnamed, x1 needs a gradient: a parameter, as before
    assert re.search(r'BGCOLOR="#fff2b3"><B>x1<', plain)
    xor = viz.draw_graph(xor_graph()).source  # the network's inputs need no gradient: inputs by themselves
    assert re.search(r'BGCOLOR="#e6e6e6"><B>x\[0\]<', xor)


def test_the_legend_can_be_switched_off():
    out = neuron_graph()
    assert "input or constant" in viz.draw_graph(out).source
    assert "input or constant" not in viz.draw_graph(out, legend=False).source


def test_png_resolution(tmp_path):
    out = neuron_graph()
    sizes = {}
    for dpi in (72, 150):
        png = viz.render_graph(out, tmp_path / f"n{dpi}.png", dpi=dpi).read_bytes()
        sizes[dpi] = struct.unpack(">II", png[16:24])
    assert sizes[150][0] == pytest.approx(sizes[72][0] * 150 / 72, rel=0.05)
    with pytest.raises(ValueError, match="dpi must be > 0"):
        viz.render_graph(out, tmp_path / "bad.png", dpi=0)


def test_the_cli_refuses_an_unreadable_picture_before_training(tmp_path, capsys):
    assert main(["xor", "--hidden", "16,16", "--render", str(tmp_path / "big.png")]) == 2
    captured = capsys.readouterr()
    assert "979 value nodes, more than --max-nodes 500" in captured.err and "accuracy" not in captured.out
    assert not (tmp_path / "big.png").exists()
    assert main(["xor", "--steps", "20", "--max-nodes", "100", "--render", str(tmp_path / "small.png")]) == 0


def test_a_tensor_mlp_fits_a_notebooks_width():
    from tinygrad_edu.examples import tensor_mlp_graph

    graph = viz.draw_graph(tensor_mlp_graph())  # chooses top to bottom for tensors, one summary per line
    assert "rankdir=TB" in graph.source
    width, height = struct.unpack(">II", graph.pipe("png")[16:24])  # at the renderer's 96 dpi
    assert width <= 1200, (width, height)  # it was 5453 px wide, text about 2 px high in a notebook
    assert "rankdir=LR" in viz.draw_graph(neuron_graph()).source  # numbers stay left to right, as micrograd
