"""Big graphs (viz.modules): one box per module at a chosen depth, one time step of an RNN rolled up, a refusal
that says so, and a time budget that ends in one clear message."""

import json
import re
import struct

import numpy as np
import pytest

from tinygrad_edu import Value, nn, viz
from tinygrad_edu import torch as facade
from tinygrad_edu.cli import main
from tinygrad_edu.viz import modules


def _scalar_mlp_loss(examples: int = 1) -> Value:
    """A 2-16-16-1 network at scalar granularity (a thousand value nodes for one example), its squared error."""
    model = nn.MLP(2, [16, 16, 1], granularity="scalar", seed=0)
    points = [([1.0, 0.0], 1.0), ([0.0, 1.0], 1.0), ([1.0, 1.0], 0.0), ([0.0, 0.0], 0.0)][:examples]
    loss = sum(((model(x) - y) ** 2 for x, y in points), Value(0.0, requires_grad=False))
    loss.backward()
    return loss


def _layout(graph) -> dict[str, tuple[float, float]]:
    """Each node's centre (x, y) in the renderer's own layout, y growing upwards."""
    layout = json.loads(viz.render_source(graph.source, "json"))
    return {o["name"]: tuple(map(float, o["pos"].split(","))) for o in layout["objects"] if "pos" in o}


def _module_boxes(source: str) -> list[str]:
    """The module paths drawn as boxes, in the order of the DOT source."""
    return re.findall(r"^\s*m\d+ \[label=<<TABLE.*?<B>([^<]*)</B>", source, re.M)


def _ops(source: str) -> list[str]:
    """The op circles drawn on their own (outside every module's box)."""
    return re.findall(r"^\s*(v\d+op) \[", source, re.M)


def test_the_refusal_proposes_depth_not_a_bigger_max_nodes():
    loss = _scalar_mlp_loss()
    with pytest.raises(ValueError) as refused:
        viz.draw_graph(loss)
    message, size = str(refused.value), len(viz.toposort(loss))
    assert f"this graph has {size} value nodes" in message and "depth=1" in message
    assert f"max_nodes={size}" not in message and "roll=True" not in message  # no time steps here


def test_depth_1_draws_one_box_per_layer_top_to_bottom(tmp_path):
    loss = _scalar_mlp_loss()
    graph = viz.draw_graph(loss, depth=1)
    source = graph.source
    assert _module_boxes(source) == ["layers.0", "layers.1", "layers.2"]
    for text in ["48 parameters", "272 parameters", "17 parameters", "out 16 numbers", "out 1 number"]:
        assert text in source, text
    assert "mul, add, tanh" in source and "grad size" in source
    assert '"16 values"' in source or 'label="16 values"' in source  # 16 numbers from layer 0 into layer 1
    assert len(_ops(source)) == 3  # the loss, outside the model: y subtracted, squared, added to the zero start
    pos = _layout(graph)
    assert pos["m0"][1] > pos["m1"][1] > pos["m2"][1]  # layer 0 on top
    png = viz.render_graph(loss, tmp_path / "mlp.png", depth=1)
    width, height = struct.unpack(">II", png.read_bytes()[16:24])
    assert width < 2000 and height < 2400  # a slide's width; tall: three boxes, the named inputs, the loss


def test_depth_2_draws_one_box_per_neuron_in_order():
    graph = viz.draw_graph(_scalar_mlp_loss(), depth=2)
    boxes = _module_boxes(graph.source)
    assert len(boxes) == 16 + 16 + 1
    assert boxes[0] == "layers.0.neurons.0" and boxes[-1] == "layers.2.neurons.0"
    assert "w0, w1, b" in graph.source  # a neuron's weights in order, its bias last
    pos = _layout(graph)
    for layer in (0, 1):  # neuron 0 on the left, then 1, 2, ... 15, all in one row
        ids = [f"m{i}" for i, box in enumerate(boxes) if box.startswith(f"layers.{layer}.")]
        xs, ys = [pos[i][0] for i in ids], {pos[i][1] for i in ids}
        assert xs == sorted(xs) and len(ys) == 1


def test_a_tensor_model_shows_shapes_and_keeps_the_loss_outside():
    model = nn.MLP(2, [16, 16, 1], seed=0)
    x, y = np.random.default_rng(0).normal(size=(8, 2)), np.random.default_rng(1).normal(size=(8, 1))
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    source = viz.draw_graph(loss, depth=1).source
    assert _module_boxes(source) == ["layers.0", "layers.1", "layers.2"]
    assert "W (2, 16), b (16,)" in source and "out (8, 16)" in source and "out (8, 1)" in source
    assert len(_ops(source)) == 3  # sub, pow, mean: the loss compares with the targets, outside the model


def test_a_cnn_and_the_facades_modules_are_boxes_by_their_names():
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3, seed=0), nn.Activation("relu"), nn.Flatten(), nn.Layer(144, 3, seed=0))
    out = cnn(np.random.default_rng(0).normal(size=(2, 1, 8, 8))).sum()
    out.backward()
    source = viz.draw_graph(out, depth=1).source
    assert _module_boxes(source) == ["layers.0", "layers.3"]
    assert "w (4, 1, 3, 3), b (4,)" in source and re.search(r"conv2d, [a-z, ]*relu", source)

    class Net(facade.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = facade.nn.Sequential(facade.nn.Linear(2, 8), facade.nn.ReLU(), facade.nn.Linear(8, 8))
            self.head = facade.nn.Linear(8, 1)

        def forward(self, x):
            return self.head(self.body(x))

    net = Net()
    out = net(facade.randn(4, 2)).sum()
    out.backward()
    assert _module_boxes(viz.draw_graph(out, depth=1).source) == ["body.0", "body.2", "head"]


def _rnn_loss(model, steps: int) -> Value:
    out = model(np.random.default_rng(0).normal(size=(2, steps, 3)))[0]
    loss = (out**2).mean()
    loss.backward()
    return loss


def test_an_lstm_at_depth_1_is_one_box_per_layer_and_nothing_leaks_out():
    source = viz.draw_graph(_rnn_loss(nn.LSTM(3, 4, num_layers=2, seed=0), 6), depth=1).source
    assert _module_boxes(source) == ["cells.0", "cells.1"]
    assert len(_ops(source)) == 1  # every step's ops are inside its layer's box; the loss's mean is not
    assert "6 × (2, 4)" in source  # layer 0 hands its 6 hidden states to layer 1


def test_roll_draws_one_time_step_whatever_the_length():
    drawn = {}
    for steps in (4, 9):
        source = viz.draw_graph(_rnn_loss(nn.RNN(3, 4, seed=0), steps), roll=True).source
        drawn[steps] = len(re.findall(r"^\s*v\d+ \[", source, re.M))
        assert source.count("tanh") == 1  # one step's activation
        assert f"<B>h{steps}</B>" in source and f"<B>h{steps - 1}</B>" in source
        assert f"<B>h{steps - 2}</B>" not in source
        assert "style=dashed" in source and "h: next step" in source
        assert f"step {steps} of {steps} drawn" in source
    assert drawn[4] == drawn[9]
    lstm = viz.draw_graph(_rnn_loss(nn.LSTM(3, 4, num_layers=2, seed=0), 6), roll=True, depth=1).source
    assert _module_boxes(lstm) == ["cells.0", "cells.1"] and len(_ops(lstm)) == 1
    assert lstm.count("h: next step") == 2 and lstm.count("c: next step") == 2  # each layer's h and c


def test_roll_refuses_a_graph_without_steps_and_the_refusal_offers_it_for_one_with():
    with pytest.raises(ValueError, match="roll=True found no repeated steps"):
        viz.draw_graph(_scalar_mlp_loss(), roll=True)
    with pytest.raises(ValueError, match=r"depth=1.*roll=True"):
        viz.draw_graph(_rnn_loss(nn.RNN(3, 4, seed=0), 40), max_nodes=100)
    with pytest.raises(ValueError, match="depth must be a whole number >= 1"):
        viz.draw_graph(_scalar_mlp_loss(), depth=0)


def test_module_paths_by_depth():
    assert modules.module_path("layers.0.neurons.2.w0", 1) == "layers.0"
    assert modules.module_path("layers.0.neurons.2.w0", 2) == "layers.0.neurons.2"
    assert modules.module_path("layers.0.neurons.2.w0", 5) == "layers.0.neurons.2"
    assert modules.module_path("0.1.weight", 1) == "0" and modules.module_path("0.1.weight", 2) == "0.1"
    assert modules.module_path("x1", 1) is None


def test_a_layout_over_the_time_budget_ends_in_one_clear_message(tmp_path, monkeypatch):
    x = Value(1.0)
    for _ in range(400):
        x = x * 1.0
    monkeypatch.setattr(viz.render, "TIME_BUDGET", 0.01)
    with pytest.raises(RuntimeError, match=r"did not finish .* in 0.01 s.*depth=1") as stopped:
        viz.render_graph(x, tmp_path / "chain.svg", max_nodes=1000)
    assert stopped.value.__cause__ is None and stopped.value.__suppress_context__  # no subprocess traceback
    assert not (tmp_path / "chain.svg").exists()


def test_the_facades_lstm_tagger_at_depth_1_and_rolled():
    nn_ = facade.nn

    class Tagger(nn_.Module):
        def __init__(self):
            super().__init__()
            self.embed, self.lstm, self.out = nn_.Embedding(10, 4), nn_.LSTM(4, 6, batch_first=True), nn_.Linear(6, 3)

        def forward(self, x):
            return self.out(self.lstm(self.embed(x))[0])

    scores = Tagger()(facade.tensor([[1, 2, 3, 4, 5, 6, 7]]))
    loss = nn_.functional.cross_entropy(scores.reshape(-1, 3), facade.tensor([0, 1, 2, 0, 1, 2, 0]))
    loss.backward()
    source = viz.draw_graph(loss, depth=1).source
    assert _module_boxes(source) == ["embed", "lstm", "out"]
    assert re.search(r"v\d+op \[label=cross_entropy", source) and "out (1, 7, 6)" in source  # the loss: outside
    rolled = viz.draw_graph(loss, roll=True).source
    assert "step 7 of 7 drawn" in rolled and "<B>h7</B>" in rolled and "<B>h5</B>" not in rolled
    assert "<B>out.weight</B>" in rolled and "<B>embed.weight</B>" in rolled  # read after the loop and before it


def test_the_cli_proposes_depth_and_draws_with_it(tmp_path, capsys):
    picture = tmp_path / "big.png"
    assert main(["xor", "--hidden", "16,16", "--render", str(picture)]) == 2
    assert "--depth 1" in capsys.readouterr().err and not picture.exists()
    assert main(["xor", "--hidden", "16,16", "--steps", "20", "--depth", "1", "--render", str(picture)]) == 0
    width, height = struct.unpack(">II", picture.read_bytes()[16:24])
    assert width < 2000 and height < 2000


def test_roll_is_a_switch_and_one_step_has_nothing_to_roll_up():
    lstm = nn.LSTM(1, 2, seed=0)
    out, _ = lstm(np.ones((1, 1, 1)))
    loss = out.sum()
    loss.backward()
    with pytest.raises(ValueError, match="a sequence of one step has nothing to roll up"):
        viz.draw_graph(loss, roll=True)
    with pytest.raises(TypeError, match="roll must be True or False, got 'yes'"):
        viz.draw_graph(loss, roll="yes")
