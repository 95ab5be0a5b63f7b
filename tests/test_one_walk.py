"""One backward walk (engine.backprop) serves backward(), create_graph, grad(), the trace table, the stepper and
backprop by hand (chain_rule): they agree, and none of them saves, clears or restores anyone's .grad."""

import numpy as np
import pytest

from tinygrad_edu import Value, grad, trace_backward
from tinygrad_edu.engine import backprop, toposort
from tinygrad_edu.trace import gradients_from
from tinygrad_edu.viz import backward_frames


def graph():
    """tanh(x w + b) * x: x is used twice, so its gradient is the sum of two contributions."""
    x, w, b = Value(0.5, label="x"), Value(-1.5, label="w"), Value(0.3, label="b")
    out = (x * w + b).tanh() * x
    out.label = "out"
    return x, w, b, out


def expected():
    x, w, b = 0.5, -1.5, 0.3
    t = np.tanh(x * w + b)
    d = 1 - t * t
    return {"x": d * w * x + t, "w": d * x * x, "b": d * x}


def test_backward_create_graph_grad_trace_stepper_and_chain_rule_agree():
    want = expected()
    x, w, b, out = graph()
    out.backward()
    plain = {v.label: v.grad for v in (x, w, b)}
    x2, w2, b2, out2 = graph()
    out2.backward(create_graph=True)
    graphed = {v.label: v.grad.data for v in (x2, w2, b2)}
    x3, w3, b3, out3 = graph()
    by_grad = dict(zip("xwb", (g.data for g in grad(out3, [x3, w3, b3]))))
    trace = trace_backward(out3)
    traced = {v.label: [r.total for r in trace.rows if r.input is v][-1] for v in (x3, w3, b3)}
    x4, w4, b4, out4 = graph()
    out4.grad = 1.0
    for node in toposort(out4):  # backprop by hand, one node at a time, outputs first
        node.chain_rule()
    by_hand = {v.label: v.grad for v in (x4, w4, b4)}
    frames = backward_frames(out)  # the stepper shows the pass that backward() made
    assert frames
    for name in "xwb":
        for got in (plain, graphed, by_grad, traced, by_hand):
            assert got[name] == pytest.approx(want[name], abs=1e-14), (name, got)


def test_a_pass_shown_by_a_tool_never_touches_grad():
    """The trace used to clear every .grad, run backward into them and put them back: during the pass (and if
    it failed) the user's gradients were gone. Now backprop writes nothing: .grad stays as it was throughout."""
    x, w, b, out = graph()
    x.grad, w.grad = 7.0, -2.0
    seen = []

    def on_edge(node, i, contribution, total):
        seen.append((x.grad, w.grad, b.has_grad))

    grads = gradients_from(out, on_edge)
    assert seen and all(s == (7.0, -2.0, False) for s in seen)
    assert (x.grad, w.grad, b.has_grad) == (7.0, -2.0, False)
    assert grads[x] == pytest.approx(expected()["x"], abs=1e-14)
    trace_backward(out)
    assert (x.grad, w.grad, b.has_grad) == (7.0, -2.0, False)


def test_backprop_returns_the_gradients_and_writes_none():
    x, w, b, out = graph()
    got = backprop(out, 1.0)
    assert not any(v.has_grad for v in (x, w, b, out))
    assert got[out] == 1.0 and got[b] == pytest.approx(expected()["b"], abs=1e-14)


def test_the_first_step_alone_is_one_nodes_chain_rule():
    """chain_rule is backprop's first step: a = x * f(x) gives x only the product rule's share through this node
    (f(x) is not walked further), and x * x gives both contributions, 2 x g."""
    x = Value(3.0, label="x")
    fx = x * 2.0
    a = x * fx
    steps = backprop(a, 1.0, first_step=True)
    assert steps[x] == 6.0 and steps[fx] == 3.0  # d(x fx)/dx = fx = 6, d/dfx = x = 3: fx's own use of x not yet
    y = Value(3.0)
    sq = y * y
    sq.grad = 1.0
    sq.chain_rule()
    assert y.grad == 6.0


def test_the_only_loop_over_a_graph_that_runs_backwards_is_backprops():
    """No module walks the graph calling op backwards on its own: each such call outside engine.backprop is one
    node's (gradcheck's op check, the trace's local derivative), never a pass over a toposort."""
    import ast
    from pathlib import Path

    import tinygrad_edu

    package = Path(tinygrad_edu.__file__).parent
    walkers = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for loop in (n for n in ast.walk(tree) if isinstance(n, ast.For)):
            over = ast.unparse(loop.iter)
            calls = [c for c in ast.walk(loop) if isinstance(c, ast.Call) and ast.unparse(c.func).endswith(".backward")]
            if "toposort" in over or "order" in over:
                if calls:
                    walkers.append(f"{path.relative_to(package)}:{loop.lineno}")
    assert walkers == ["engine.py:" + str(_backprop_loop_line(package / "engine.py"))], walkers


def _backprop_loop_line(path) -> int:
    import ast

    tree = ast.parse(path.read_text())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "backprop")
    return next(n for n in ast.walk(fn) if isinstance(n, ast.For)).lineno


def test_gradcheck_leaves_the_users_gradients_as_they_were():
    """gradcheck's Jacobians came from backward() per output element, clearing .grad in between: after it, the
    gradient the user had computed was gone (zeros). backprop writes nothing."""
    from tinygrad_edu import gradcheck

    x = Value(np.array([0.3, -0.2]), label="x")
    (x * x).sum().backward()
    before = x.grad.copy()
    assert gradcheck(lambda x: x.tanh(), x)
    np.testing.assert_array_equal(x.grad, before)


def test_chain_rule_by_hand_does_not_sort_the_graph_below(monkeypatch):
    """chain_rule is backprop's first step alone: it must not sort the whole graph below the node each time (by
    hand over a chain of n nodes that was n sorts of up to n nodes: quadratic)."""
    from tinygrad_edu import engine

    y = Value(1.0)
    for _ in range(50):
        y = y * 1.0001 + 0.001
    y.grad = 1.0
    order = toposort(y)
    sorted_nodes = []
    monkeypatch.setattr(engine, "toposort", lambda root: sorted_nodes.append(root) or order)
    for node in order:
        node.chain_rule()
    assert sorted_nodes == []
