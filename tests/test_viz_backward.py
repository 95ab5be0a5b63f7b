"""The backward graph: one function per op named as PyTorch names it, an AccumulateGrad per leaf, what each
function saved; the same drawing from a Value, a facade tensor and its grad_fn; the forward graph's boxes and
colours; functions level with their nodes beside the forward graph (from the renderer's layout); real files."""

import collections
import json
import re
import struct
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tinygrad_edu.torch as facade
from tinygrad_edu import Value, ops, viz
from tinygrad_edu.examples import neuron_graph
from tinygrad_edu.names import node_names
from tinygrad_edu.torch.tensor import SAVES_NOTHING
from tinygrad_edu.viz.backward import saved_by

FUNCTION = re.compile(r'^\s*(b\d+fn) \[label=<.*?<B>(\w+)</B>(?: <FONT POINT-SIZE="[\d.]+">for ([^<]+)</FONT>)?', re.M)
LEAF_EDGE = re.compile(r"^\s*(b\d+) -> (b\d+fn):fn", re.M)
FUNCTION_EDGE = re.compile(r"^\s*(b\d+fn):fn -> (b\d+fn):fn", re.M)
BOX = re.compile(r"^\s*([bv]\d+) \[label=(<<TABLE.*?</TABLE>>) shape=plain\]", re.M)


def functions(source: str) -> dict[str, tuple[str, str]]:
    """Each function's id in the DOT source, with its name and the node it is for."""
    return {fid: (name, node) for fid, name, node in FUNCTION.findall(source)}


def grad_fn_chain(fn) -> tuple[collections.Counter, int]:
    """The names of the functions a grad_fn leads to (each once), and how many next_functions edges they have:
    the same walk for PyTorch's grad_fn and the facade's (whose AccumulateGrad is made anew at each look)."""
    names, edges, seen, stack = collections.Counter(), 0, set(), [fn]
    while stack:
        f = stack.pop()
        key = id(getattr(f, "variable", f))
        if key in seen:
            continue
        seen.add(key)
        names[type(f).__name__ if type(f).__name__ != "Node" else f.name()] += 1
        following = [g for g, _ in f.next_functions if g is not None]
        edges += len(following)
        stack += following
    return names, edges


def small_model(torch):
    """A step of a one-layer network with a penalty, written once for PyTorch and for the facade."""
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=(4, 3)))
    w = torch.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    b = torch.tensor(rng.normal(size=(2,)), requires_grad=True)
    h = torch.tanh(x @ w + b)
    loss = (h * h).sum(dim=1).mean() + (w**2).sum() * 0.1 - torch.exp(b).sum()
    loss.backward()
    return loss


def test_the_neuron_has_a_function_per_op_and_an_accumulate_grad_per_leaf():
    out = neuron_graph()  # tanh(x1*w1 + x2*w2 + b): 5 ops, 5 leaves that want a gradient
    source = viz.draw_backward(out).source
    found = functions(source)
    assert collections.Counter(name for name, _ in found.values()) == {
        "AccumulateGrad": 5,
        "MulBackward0": 2,
        "AddBackward0": 2,
        "TanhBackward0": 1,
    }
    leaves = {leaf: fid for leaf, fid in LEAF_EDGE.findall(source)}  # each leaf's box beside its AccumulateGrad
    assert sorted(found[fid][0] for fid in leaves.values()) == ["AccumulateGrad"] * 5
    boxes = dict(BOX.findall(source))
    assert {re.search(r"<B>(\w+)</B>", boxes[leaf])[1] for leaf in leaves} == {"x1", "w1", "x2", "w2", "b"}
    assert len(FUNCTION_EDGE.findall(source)) == 9  # one per input of each op: 2 + 2 + 2 + 2 + 1
    for tail, head in FUNCTION_EDGE.findall(source):
        assert tail in found and head in found
    assert source.count("dir=back") == 9 + 5 + 1  # every arrow points back: to the inputs, the leaves' .grad


def test_the_names_are_the_facades_grad_fn_chain():
    x1, x2 = facade.tensor(2.0, requires_grad=True), facade.tensor(0.0, requires_grad=True)
    w1, w2 = facade.tensor(-3.0, requires_grad=True), facade.tensor(1.0, requires_grad=True)
    b = facade.tensor(6.8813735870195432, requires_grad=True)
    y = (x1 * w1 + x2 * w2 + b).tanh()
    names, edges = grad_fn_chain(y.grad_fn)
    source = viz.draw_backward(y).source
    assert collections.Counter(name for name, _ in functions(source).values()) == names
    assert len(FUNCTION_EDGE.findall(source)) == edges


def test_the_names_are_pytorchs_own():
    torch = pytest.importorskip("torch")
    names, edges = grad_fn_chain(small_model(torch).grad_fn)
    source = viz.draw_backward(small_model(facade)).source
    assert collections.Counter(name for name, _ in functions(source).values()) == names
    assert len(FUNCTION_EDGE.findall(source)) == edges
    assert sum(names.values()) == 15  # the walk saw the whole graph: 13 functions and 2 AccumulateGrad


def test_a_tensor_and_its_grad_fn_draw_the_same():
    loss = small_model(facade)
    assert viz.draw_backward(loss.grad_fn).source == viz.draw_backward(loss).source
    leaf = loss.grad_fn
    while type(leaf).__name__ != "AccumulateGrad":  # down to a leaf's
        leaf = next(f for f, _ in leaf.next_functions if f is not None)
    assert [name for name, _ in functions(viz.draw_backward(leaf).source).values()] == ["AccumulateGrad"]


def test_each_function_shows_what_it_saved():
    source = viz.draw_backward(neuron_graph()).source
    for fid, (name, node) in functions(source).items():
        line = next(line for line in source.splitlines() if line.strip().startswith(fid + " "))
        saved = re.findall(r"<B>(self|other|result)</B> = (\w+)", line)
        if name == "MulBackward0":  # x1 * w1 keeps both inputs: d/dx1 = w1, d/dw1 = x1
            assert len(saved) == 2 and [role for role, _ in saved] == ["self", "other"]
        elif name == "TanhBackward0":  # 1 - tanh^2 from the output itself
            assert saved == [("result", node)]
        else:
            assert saved == []
    assert "saved for backward" in source
    bare = viz.draw_backward(neuron_graph(), show_saved=False).source
    assert "<B>self</B>" not in bare and "saved for backward" not in bare


@pytest.mark.parametrize("op", ["mul", "tanh", "exp", "sigmoid", "log", "sin", "sqrt", "add", "sub", "sum"])
def test_what_is_saved_is_what_pytorch_saves(op):
    """Tensors saved (PyTorch's ``_saved_self``, ...) for these ops; ours differ where our derivative reads
    other numbers (division reads the output, PyTorch the numerator)."""
    torch = pytest.importorskip("torch")
    a = torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([1.5, 3.0], dtype=torch.float64, requires_grad=True)
    unary = {"tanh", "exp", "sigmoid", "log", "sin", "sqrt", "sum"}
    fn = (getattr(torch, op)(a) if op in unary else getattr(torch, op)(a, b)).grad_fn
    theirs = {name[len("_saved_") :] for name in dir(fn) if name.startswith("_saved_")}
    theirs = {name for name in theirs if isinstance(getattr(fn, "_saved_" + name), torch.Tensor)}
    classes = {"mul": ops.Mul, "tanh": ops.Tanh, "exp": ops.Exp, "sigmoid": ops.Sigmoid, "log": ops.Log}
    classes |= {"sin": ops.Sin, "sqrt": ops.Sqrt, "add": ops.Add, "sub": ops.Sub, "sum": ops.Sum}
    ours = {role for role, kind in saved_by(classes[op]).items() if kind == "numbers"}
    assert ours == theirs


def test_the_ops_the_facade_frees_nothing_for_save_no_numbers():
    for op in SAVES_NOTHING:
        assert "numbers" not in saved_by(op).values(), op.__name__
    assert saved_by(ops.Sum) == {"self": "shape"} and saved_by(ops.Div) == {"result": "numbers", "other": "numbers"}


def test_attributes_show_the_shapes_and_settings_kept():
    source = viz.draw_backward(small_model(facade), show_attrs=True).source
    assert "self_sizes: (4, 2)" in source and "axis: (1,)" in source and "p: 2" in source
    assert "needs" not in source  # the engine's own setting, not the op's
    assert "self_sizes" not in viz.draw_backward(small_model(facade)).source


def test_leaves_and_output_are_drawn_as_in_the_forward_graph():
    """The same boxes, byte for byte: names, numbers, the parameter colour, the gradient colours."""
    out = neuron_graph()
    forward = dict(BOX.findall(viz.draw_graph(out).source))
    backward = dict(BOX.findall(viz.draw_backward(out).source))
    drawn = [label for box, label in backward.items() if box.startswith("b")]
    assert len(drawn) == 6  # 5 leaves and the output
    assert set(drawn) <= set(forward.values())
    style = viz.Style()
    assert sum(style.parameter in label for label in drawn) == 5
    assert style.gradient_colour(-1.5, 1.5) in backward["b0"]  # x1's gradient, red as in the forward graph


def test_beside_the_forward_graph_each_function_is_level_with_its_node():
    """In the renderer's layout, the forward graph is above, and each op's function in its node's column."""
    out = neuron_graph()
    graph = viz.draw_backward(out, forward=True)
    layout = json.loads(viz.render_source(graph.source, "json"))
    objects = {o["name"]: o for o in layout["objects"]}
    top = {name: float(objects[name]["bb"].split(",")[3]) for name in ("cluster_forward", "cluster_backward")}
    assert top["cluster_forward"] > top["cluster_backward"]  # Graphviz's y grows upward: the forward graph on top
    x = {name: float(o["pos"].split(",")[0]) for name, o in objects.items() if "pos" in o}
    boxes = dict(BOX.findall(graph.source))
    checked = 0
    for fid, (name, node) in functions(graph.source).items():
        if name == "AccumulateGrad":
            continue
        value = next(v for v, label in boxes.items() if v.startswith("v") and re.search(rf">{node}</(B|FONT)>", label))
        assert abs(x[fid] - x[value]) < 1, (name, node)
        checked += 1
    assert checked == 5
    tall = viz.draw_backward(small_model(facade), forward=True).source  # tensors run top to bottom: side by side
    assert "rankdir=TB" in tall and "cluster_forward" in tall and "MmBackward0" in tall


def test_svg_and_png_render_on_a_plain_install(tmp_path):
    svg = viz.render_backward_graph(neuron_graph(), tmp_path / "backward.svg")
    png = viz.render_backward_graph(neuron_graph(), tmp_path / "both.png", forward=True, dpi=100)
    texts = [t.text for t in ET.parse(svg).getroot().iter() if t.tag.endswith("text")]
    for text in ["MulBackward0", "AddBackward0", "TanhBackward0", "AccumulateGrad", "self", "other", "result"]:
        assert text in texts, text
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    alone = struct.unpack(">II", viz.draw_backward(neuron_graph()).pipe("png")[16:24])  # at 96 dpi
    assert height > alone[1]  # the forward graph sits above the backward one


def test_what_cannot_be_drawn_says_why():
    with pytest.raises(TypeError, match="expected a Value, a tensor or a tensor's grad_fn to draw, got float"):
        viz.draw_backward(1.0)
    constant = Value(2.0, requires_grad=False) * 3.0
    with pytest.raises(ValueError, match="no backward graph: nothing it was made from requires a gradient"):
        viz.draw_backward(constant)
    with pytest.raises(ValueError, match="more than max_nodes=5"):
        viz.draw_backward(neuron_graph(), max_nodes=5)


def test_a_users_function_shows_what_its_forward_saved():
    class Square(facade.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * x
            ctx.save_for_backward(x, y, x + 1)  # an input, the output, and a tensor of its own
            return y

        @staticmethod
        def backward(ctx, g):
            x, _, _ = ctx.saved_tensors
            return 2 * x * g

    x = facade.tensor([1.0, 2.0], requires_grad=True)
    y = Square.apply(x)
    names = node_names(y)
    line = next(line for line in viz.draw_backward(y).source.splitlines() if "SquareBackward" in line)
    saved = re.findall(r"<B>(self|other|result|saved\[\d\])</B>(?: = (\w+))?<BR/>([^<]*)", line)
    assert saved == [("self", names[x], "[1, 2]"), ("result", names[y], "[1, 4]"), ("saved[2]", "", "[2, 3]")]
    assert "ctx" not in viz.draw_backward(y, show_attrs=True).source
