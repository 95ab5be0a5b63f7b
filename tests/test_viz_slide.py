"""The learner's own model, drawn by default, is slide-ready: named inputs, neurons and weights in order,
few crossings, a slide's width with readable text, and the gradients of the backward pass just called."""

import json
import re
import struct

import numpy as np
import pytest

from tests.test_pictures import crossings
from tinygrad_edu import Value, data, nn, train, viz
from tinygrad_edu.examples import neuron_graph


def _trained_xor() -> nn.MLP:
    """The issue's model: a 2-4-1 network at scalar granularity, trained on XOR as a learner would."""
    X, y = data.xor()
    model = nn.MLP(2, [4, 1], granularity="scalar", seed=0)
    train.fit(model, X, y, lr=0.05, steps=500, seed=0)
    return model


@pytest.fixture(scope="module")
def trained_xor():
    return _trained_xor()


def _layout(graph) -> dict:
    return json.loads(viz.render_source(graph.source, "json"))


def _top(obj: dict) -> float:
    """How high a node or a module's box sits in the layout (Graphviz's y grows upwards)."""
    if "bb" in obj:
        return float(obj["bb"].split(",")[3])
    return float(obj["pos"].split(",")[1])


def _bold(obj: dict) -> str:
    return re.search(r"<B>([^<]*)</B>", obj["label"]).group(1)


def _in_order(graph, sums: int) -> list:
    """Assert the XOR network's order in the renderer's layout (neuron 0 on top, w0 above w1, each bias below
    what it is added to) and return the layout's objects."""
    layout = _layout(graph)
    objects = layout["objects"]
    boxes = {o["label"]: o for o in objects if o["name"].startswith("cluster")}
    hidden = [boxes[f"layer 0, neuron {i}"] for i in range(4)]
    assert [_top(b) for b in hidden] == sorted((_top(b) for b in hidden), reverse=True)  # neuron 0 on top
    for box in hidden + [boxes["layer 1, neuron 0"]]:
        weights = {_bold(objects[i]): _top(objects[i]) for i in box["nodes"] if _bold(objects[i]).startswith("w")}
        tops = [weights[f"w{k}"] for k in range(len(weights))]
        assert tops == sorted(tops, reverse=True), box["label"]  # w0 above w1 above w2 ...
    terms = {}  # what enters each + (in the layout): the heights, and whether it is a bias
    for edge in layout["edges"]:
        head, tail = objects[edge["head"]], objects[edge["tail"]]
        if head.get("label") == "+" and "_draw_" in edge:  # (an invisible edge only guides the layout)
            terms.setdefault(edge["head"], []).append((_top(tail), "<B>b</B>" in tail.get("label", "")))
    assert len(terms) == sums
    with_bias = [t for t in terms.values() if any(is_bias for _, is_bias in t)]
    assert len(with_bias) == 5  # one bias per neuron, each added once
    for t in with_bias:  # the bias last: below every other term of its sum
        assert min(t) == (min(top for top, _ in t), True), t
    return objects


def test_numbers_given_to_a_scalar_model_are_named_inputs(trained_xor):
    out = trained_xor([1.0, 0.0])
    leaves = [n for n in viz.toposort(out) if not n.parents and not n.requires_grad]
    assert sorted(n.label for n in leaves) == ["x[0]", "x[1]"]  # one node per input, not one per use
    source = viz.draw_graph(out).source
    assert "<B>const</B>" not in source and "<B>x[0]</B>" in source and "<B>x[1]</B>" in source
    given = [Value(1.0, label="a", requires_grad=False), 0.0]  # a Value is kept as given, a number named by its place
    assert {n.label for n in viz.toposort(trained_xor(given)) if not n.requires_grad} == {"a", "x[1]"}


def test_draw_model_draws_the_learners_xor_ready_for_a_slide(trained_xor, tmp_path):
    graph = viz.draw_model(trained_xor, [1.0, 0.0])
    objects = _in_order(graph, sums=5)
    inputs = {_bold(o): _top(o) for o in objects if "pos" in o and "<B>x[" in o.get("label", "")}
    assert inputs["x[0]"] > inputs["x[1]"]
    assert crossings(graph) <= 5  # 5 to 6 before, 1 to 5 by the seed; the renderer's own layout
    assert graph.source.count('label="+"') == 5  # one sum per neuron, its partial sums folded in
    png = viz.render_graph(viz.model_graph(trained_xor, [1.0, 0.0]), tmp_path / "xor.png", dpi=150)
    width, height = struct.unpack(">II", png.read_bytes()[16:24])
    assert width < 2000, (width, height)  # 4,661 to 5,072 px before
    svg = graph.pipe("svg").decode()
    scale = float(re.search(r'class="graph" transform="scale\(([\d.]+)', svg).group(1))
    assert 11 * scale * 150 / 72 >= 14  # the values' text, in px on the 150 dpi picture


def test_the_gradients_drawn_are_those_of_the_backward_just_called():
    trained_xor = _trained_xor()
    out = trained_xor([1.0, 0.0])  # no zero_grad: .grad still holds the last training step's gradients
    out.backward()
    w1 = trained_xor.layers[0].neurons[0].w[1]  # multiplies x[1] = 0: this pass gives it no gradient
    assert w1.grad != 0
    source = viz.draw_graph(out).source
    assert "from this backward pass alone" in source and "also holds earlier passes" in source
    cell = re.search(r"<B>w1</B></TD><TD>data [^<]*</TD><TD[^>]*>(grad [^<]*)<", source).group(1)
    assert cell == "grad 0"  # not the leftover .grad
    trained_xor.zero_grad()
    out.backward()
    assert "earlier passes" not in viz.draw_graph(out).source  # .grad is this pass's: drawn as it is
    assert "earlier passes" not in viz.draw_model(trained_xor, [1.0, 0.0]).source


def test_draw_model_takes_names_and_tensor_models():
    model = nn.MLP(2, [3, 1], granularity="scalar", seed=1)
    source = viz.draw_model(model, [0.5, -1.0], names=("x1", "x2")).source
    assert "<B>x1</B>" in source and "<B>x2</B>" in source and "x[0]" not in source
    with pytest.raises(ValueError, match="names gives 1 names for 2 inputs"):
        viz.draw_model(model, [0.5, -1.0], names=("x1",))
    tensor = nn.MLP(2, [3, 1], seed=1)
    out = viz.model_graph(tensor, np.array([0.5, -1.0]))
    assert out.shape == () and out.label == "output" and "<B>x</B>" in viz.draw_graph(out).source
    summed = nn.Sequential(nn.Layer(2, 3), nn.Layer(3, 2))
    summed.forward = lambda x: nn.Sequential.forward(summed, x).sum()  # a model that gives one number
    assert viz.model_graph(summed, [0.5, -1.0]).op == "sum"  # drawn as it is (was: refused to index a number)


def test_the_lectures_neuron_keeps_every_node():
    """Sums are folded only in a model's graph: the neuron of the lecture keeps x1*w1 + x2*w2 as a node."""
    source = viz.draw_graph(neuron_graph()).source
    assert source.count('label="+"') == 2
    assert viz.draw_graph(neuron_graph(), style=viz.Style(fold_sums=True)).source.count('label="+"') == 1


def test_a_tensor_of_four_numbers_shows_its_numbers():
    out = Value(np.array([0.1, 0.9, 0.8, 0.2]), label="p", requires_grad=False)
    assert "data [0.1, 0.9, 0.8, 0.2]" in viz.draw_graph(out).source  # the XOR batch's four predictions
    assert "5: mean" in viz.draw_graph(Value(np.arange(5.0))).source  # more: shape and summary


def test_the_sums_drawn_step_by_step_keep_the_same_order(trained_xor):
    """The stepper draws every partial sum (each is a step): neurons, weights and biases stay in the order of the
    folded picture (they were 3, 0, 1, 2 before), and the page's module boxes come in that order too."""
    out = viz.model_graph(trained_xor, [1.0, 0.0])
    _in_order(viz.draw_graph(out, style=viz.Style(fold_sums=False)), sums=2 * 4 + 4)
    page = viz.stepper.backward_page(out)
    titles = re.findall(
        r'<g id="clust\d+" class="cluster">.*?<text[^>]*y="([-\d.]+)"[^>]*>(layer[^<]*)</text>', page, re.S
    )
    hidden = [t for _, t in sorted(titles, key=lambda p: float(p[0])) if t.startswith("layer 0")]
    assert hidden == [f"layer 0, neuron {i}" for i in range(4)]  # in the SVG, y grows downwards
