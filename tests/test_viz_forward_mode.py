"""The stepper's forward-mode page: each value with its tangent along one leaf, the rule with its numbers, and
the output's tangent equal to the gradient's entry a backward pass gives; in a real headless browser."""

import html
import re

import numpy as np
import pytest

from tests.test_viz import _browser
from tests.test_viz_stepper import _current, _page_json
from tinygrad_edu import Value, forward, viz
from tinygrad_edu.engine import toposort
from tinygrad_edu.examples import NEURON_INPUTS, neuron_graph, tensor_mlp_graph, xor_graph
from tinygrad_edu.tables import summary
from tinygrad_edu.trace import gradients_from


@pytest.fixture(scope="module")
def xor():
    return xor_graph()


def test_the_neuron_along_x1_step_by_step_with_the_rule_and_its_numbers():
    out = neuron_graph()
    steps = _page_json(viz.forward_mode_page(out, "x1", inputs=NEURON_INPUTS), "forward")
    assert [step["lines"] for step in steps] == [
        [
            "forward mode along x1:",
            "each node carries its value and its tangent d(node)/dx1",
            "the leaves: dx1 = 1; input x2 and parameters w1, w2, b: tangent 0",
        ],
        ["n1 = x1 × w1 = 2 × -3 = -6", "dn1 = w1 × dx1 + x1 × dw1 = -3 × 1 + 2 × 0 = -3"],
        ["n2 = x2 × w2 = 0 × 1 = 0", "dn2 = w2 × dx2 + x2 × dw2 = 1 × 0 + 0 × 0 = 0"],
        ["n3 = n1 + n2 = -6 + 0 = -6", "dn3 = dn1 + dn2 = -3 + 0 = -3"],
        ["n = n3 + b = -6 + 6.881 = 0.8814", "dn = dn3 + db = -3 + 0 = -3"],
        [
            "out = tanh(n) = tanh(0.8814) = 0.7071",
            "dout = (1 - out × out) × dn = 0.5 × -3 = -1.5",  # tanh's backward in ops.py, run on symbols
            "dout/dx1 = -1.5; the backward pass gives -1.5: the same number",
            "one pass, one of the gradient's 5 entries: forward mode needs 5 passes, reverse mode 1",
        ],
    ]
    assert steps[0]["node"] is not None  # the first step outlines x1, the leaf whose tangent is 1
    assert _page_json(viz.forward_mode_page(out, "x2"), "forward")[0]["node"] is not None  # x2 holds 0: still outlined
    assert all(step["phase"] == "tangent" for step in steps)
    assert "const steps = [];" in viz.forward_mode_page(out, "x1")  # no backward phase
    assert "<title>Forward mode, step by step</title>" in html.unescape(viz.Stepper(out, wrt="x1")._repr_html_())


def test_each_leaf_s_pass_ends_at_its_gradient_entry_and_the_boxes_show_forward_py_s_tangents(xor):
    for root in (neuron_graph(), xor):
        grads = gradients_from(root)
        leaves = [n for n in grads if not n.parents]
        for leaf in leaves:
            steps = viz.tangent_steps(root, leaf)
            swept = forward.tangents(root, leaf, 1.0)  # forward mode's own sweep: a node it leaves out has 0
            at = {n: k for k, (n, _) in enumerate(steps)}  # every node once, the leaves first, each after its inputs
            assert len(at) == len(steps) == len(toposort(root)) and all(at[p] < at[n] for n in at for p in n.parents)
            assert not any(n.parents for n, _ in steps[: sum(not n.parents for n in at)])
            assert all(t == swept.get(n, 0.0) for n, t in steps)
            assert dict(steps)[leaf] == 1.0 and all(t == 0.0 for n, t in steps if not n.parents and n is not leaf)
            assert steps[-1][0] is root and steps[-1][1] == pytest.approx(grads[leaf], rel=1e-12, abs=1e-15)
        leaf = leaves[-1]
        page = viz.forward_mode_page(root, leaf)
        shown = [
            html.unescape(t) for t in re.findall(r">tangent ([^<?]+)</text>", page)
        ]  # every box's tangent, in the drawn picture
        swept = forward.tangents(root, leaf, 1.0)
        assert sorted(shown) == sorted(summary(swept.get(n, 0.0)) for n in toposort(root) if n.requires_grad)
        assert "grad " not in " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", page))
        lines = [line for step in _page_json(page, "forward") for line in step["lines"]]
        said = summary(grads[leaf])
        assert lines[-2].endswith(f"= {summary(swept[root])}; the backward pass gives {said}: the same number")


def test_a_tensor_leaf_moves_at_its_first_element():
    loss = tensor_mlp_graph()
    W = next(n for n in gradients_from(loss) if n.label == "layers.0.W")
    steps = viz.tangent_steps(loss, "layers.0.W")
    seed = np.zeros(W.shape)
    seed[0, 0] = 1.0
    assert np.array_equal(dict(steps)[W], seed)
    assert steps[-1][1] == pytest.approx(gradients_from(loss)[W][0, 0], rel=1e-12)
    page = viz.forward_mode_page(loss, W)
    lines = [line for step in _page_json(page, "forward") for line in step["lines"]]
    assert 'const phases = {"tangent": "forward mode: d/dW[0, 0]"};' in page  # the badge says which element
    assert "the leaves: dW[0, 0] = 1, its other elements 0" in lines[2]
    assert any(re.fullmatch(r"d\w+ = ∂\w+/∂\w+·d\w+( \+ ∂\w+/∂\w+·d\w+)* = .+", line) for line in lines), lines
    assert lines[-2].startswith(f"dloss/dW[0, 0] = {summary(steps[-1][1])}; the backward pass gives ")


def test_a_constant_parent_is_left_out_and_each_op_s_local_derivative_comes_from_ops_py():
    a = Value(3.0, label="a")
    y = (-(a**2) / 2.0).relu() + a.exp()
    y.label = "y"
    steps = _page_json(viz.forward_mode_page(y, a), "forward")
    told = [step["lines"][1] for step in steps[1:]]
    assert told == [
        "dn1 = (2 × a) × da = 6 × 1 = 6",
        "dn2 = -1 × dn1 = -1 × 6 = -6",
        "dn4 = (1 ÷ n3) × dn2 = 0.5 × -6 = -3",  # n3, the constant 2, has no tangent: no term
        "dn5 = (0 if n4 <= 0 else 1) × dn4 = 0 × -3 = 0",
        "dn6 = n6 × da = 20.09 × 1 = 20.09",  # exp's derivative is its output
        "dy = dn5 + dn6 = 0 + 20.09 = 20.09",
    ]
    assert steps[-1]["lines"][-1] == "the gradient's only entry: one pass, in forward mode as in reverse mode"
    x = Value(3.0, label="x")
    y = x / x  # one input used twice: each use has its own local derivative
    y.label = "y"
    assert _page_json(viz.forward_mode_page(y, x), "forward")[1]["lines"][1] == (
        "dy = (1 ÷ x) × dx + (-y ÷ x) × dx = 0.3333 × 1 + -0.3333 × 1 = 0"
    )


def test_wrt_must_name_one_leaf_that_gets_a_gradient(xor):
    with pytest.raises(ValueError, match=r"'w0' names 5 nodes \(layers.1.neurons.0.w0, .*full label"):
        viz.forward_mode_page(xor, "w0")
    with pytest.raises(ValueError, match=r"'x\[0\]' is a constant.*requires_grad=True"):
        viz.tangent_steps(xor, "x[0]")
    with pytest.raises(ValueError, match="'n5' is computed, not a leaf; .*layers.1.neurons.0.w0"):
        viz.tangent_steps(xor, "n5")
    with pytest.raises(ValueError, match="not in this graph"):
        viz.tangent_steps(xor, Value(1.0))
    with pytest.raises(TypeError, match="wrt must be a leaf of the graph .* got int"):
        viz.tangent_steps(xor, 3)


def test_the_page_steps_in_a_browser_readable_at_1024x768_with_working_controls(tmp_path, xor):
    """XOR along layer 0's first weight: 29 steps, each outlined node in view with text >= 14 px, one value and
    one tangent filled per step; the buttons and the slider move through it; nothing is fetched."""
    page = viz.render_forward_mode(xor, tmp_path / "xor.html", "layers.0.neurons.0.w0")
    steps = _page_json(page.read_text(), "forward")
    browser = _browser()
    try:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support.ui import WebDriverWait

        browser.set_window_size(1024, 768)
        browser.get(page.as_uri())
        body, click = browser.find_element(By.TAG_NAME, "body"), lambda name: browser.find_element(By.ID, name).click()
        unknown = (
            "return [...document.querySelectorAll('#graph text')].filter(t => t.textContent == 'tangent ?').length"
        )
        seen = []
        for _ in steps:
            seen.append({**_current(browser), "tangent": browser.execute_script(unknown)})
            body.send_keys(Keys.ARROW_RIGHT)
        computed = len(steps) - 1
        assert [s["data"] for s in seen] == list(range(computed, -1, -1))  # a value per step
        assert [s["tangent"] for s in seen] == list(range(computed, -1, -1))  # and its tangent with it
        assert all(s["grad"] == 0 for s in seen)  # no box says grad
        assert {s["phase"] for s in seen} == {"forward mode: d/dw0"}
        assert all(s["inside"] for s in seen), [k for k, s in enumerate(seen, 1) if not s["inside"]]
        assert min(s["font"] for s in seen) >= 14
        counter = lambda: browser.find_element(By.ID, "counter").text  # noqa: E731
        assert counter() == f"step {len(steps)} of {len(steps)}"
        formula = browser.find_element(By.ID, "formula").text
        assert "the backward pass gives" in formula and "the same number" in formula
        click("home")
        assert (
            counter() == f"step 1 of {len(steps)}"
            and "the leaves: dw0 = 1" in browser.find_element(By.ID, "formula").text
        )
        click("next")
        click("next")
        click("prev")
        assert counter() == f"step 2 of {len(steps)}"
        click("end")
        assert counter() == f"step {len(steps)} of {len(steps)}"
        browser.execute_script("const s = document.getElementById('slider'); s.value = 5; s.oninput();")
        assert counter() == f"step 5 of {len(steps)}" and browser.execute_script(unknown) == computed - 4
        click("play")  # a step every 1.2 s, until paused
        WebDriverWait(browser, 5).until(lambda _: counter() == f"step 6 of {len(steps)}")
        click("play")
        assert "Play" in browser.find_element(By.ID, "play").text
        assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
        assert browser.title == "Forward mode, step by step"
    finally:
        browser.quit()
