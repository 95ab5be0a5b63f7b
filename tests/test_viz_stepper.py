"""The stepper on a projector: the forward pass before the backward one, short captions that name nodes as
their boxes do, and a page that stays readable at 1024x768 (zoom, fit, pan, the step's node followed), in a real
headless browser."""

import json
import re

import numpy as np
import pytest

from tests.test_viz import _browser
from tinygrad_edu import Value, viz
from tinygrad_edu.examples import NEURON_INPUTS, neuron_graph, xor_graph
from tinygrad_edu.names import node_names


def _page_json(page: str, name: str) -> list:
    return json.loads(page.split(f"const {name} = ", 1)[1].split(";\n", 1)[0])


@pytest.fixture(scope="module")
def xor():
    return xor_graph()


def test_the_forward_pass_comes_first_from_the_inputs_with_its_numbers():
    out = neuron_graph()
    page = viz.backward_page(out, inputs=NEURON_INPUTS)
    forward, backward = _page_json(page, "forward"), _page_json(page, "steps")
    assert [step["lines"][0] for step in forward] == [
        "forward pass: the values are known at the leaves, inputs x1, x2 and parameters w1, w2, b",
        "n1 = x1 × w1 = 2 × -3 = -6",
        "n2 = x2 × w2 = 0 × 1 = 0",
        "n3 = n1 + n2 = -6 + 0 = -6",
        "n = n3 + b = -6 + 6.881 = 0.8814",
        "out = tanh(n) = tanh(0.8814) = 0.7071",
    ]
    assert forward[0]["node"] is None and len(backward) == 10
    known = {s["node"] for s in backward} - {s["node"] for s in forward}  # the leaves: known from the start
    assert len(known) == 5
    for step in forward[1:]:  # each value is computed from values known before it, along the edges it lights
        sources = {edge.split("->")[0] for edge in step["edges"] if not edge.startswith(step["node"])}
        assert sources and sources <= known, step
        assert f"{step['node']}op->{step['node']}" in step["edges"]
        known.add(step["node"])
    assert "const forward = [];" in viz.backward_page(out, forward=False)


def test_a_forward_step_says_its_ops_settings_and_the_leaves_in_the_singular():
    a = Value(3.0, label="a")
    y = -(a**2) / 2.0 + a.exp()
    y.label = "y"
    lines = [step["lines"][0] for step in _page_json(viz.backward_page(y), "forward")]
    assert lines == [
        "forward pass: the values are known at the leaves, input n3 and parameter a",  # n3: the constant 2
        "n1 = pow(a, p=2) = pow(3, p=2) = 9",
        "n2 = neg(n1) = neg(9) = -9",
        "n4 = n2 ÷ n3 = -9 ÷ 2 = -4.5",
        "n5 = exp(a) = exp(3) = 20.09",
        "y = n4 + n5 = -4.5 + 20.09 = 15.59",
    ]
    X = Value(np.ones((3, 2)), label="X")
    s = (X * X).sum(axis=0).mean()
    lines = [step["lines"][0] for step in _page_json(viz.backward_page(s), "forward")]
    assert lines[1:] == ["n1 = X × X = 3×2: mean 1, sd 0", "n2 = sum(n1, axis=(0,)) = [3, 3]", "n3 = mean(n2) = 3"]


def test_captions_name_a_parameter_as_its_box_does_and_say_its_module(xor):
    page = viz.backward_page(xor)
    lines = [line for step in _page_json(page, "forward") + _page_json(page, "steps") for line in step["lines"]]
    assert not [line for line in lines if "layers." in line]  # was doutput/dlayers.1.neurons.0.w3 = ...
    parameters = [n for n in node_names(xor) if n.label.startswith("layers.")]
    assert len(parameters) == 17
    for p in parameters:  # each parameter's gradient is said once, with its module: w3 of layer 1, neuron 0
        short, (layer, neuron) = p.label.rsplit(".", 1)[-1], re.findall(r"\.(\d+)", p.label)
        said = [line for line in lines if line.startswith(f"doutput/d{short} = ")]
        assert sum(line.endswith(f"(layer {layer}, neuron {neuron})") for line in said) == 1, p.label


def _current(browser) -> dict:
    """The outlined node's smallest text in screen px (font size times the SVG's scale), whether it is in view,
    and how many values and gradients are still unknown."""
    return browser.execute_script(
        """
        const view = document.getElementById('graph').getBoundingClientRect();
        const g = [...document.querySelectorAll('#graph g.node')]
            .find(g => g.querySelector('polygon[stroke="#ff7f0e"][stroke-width="4"]'));
        const texts = [...document.querySelectorAll('#graph text')].map(t => t.textContent);
        const out = {data: texts.filter(t => t == 'data ?').length, grad: texts.filter(t => t == 'grad ?').length,
                     phase: document.getElementById('phase').textContent};
        if (!g) return out;
        const r = g.getBoundingClientRect();
        out.font = Math.min(...[...g.querySelectorAll('text')].map(
            t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a));
        out.inside = r.left >= view.left && r.right <= view.right && r.top >= view.top && r.bottom <= view.bottom;
        return out;"""
    )


def _scale(browser) -> float:
    return browser.execute_script("return document.querySelector('#graph svg').getScreenCTM().a")


def _first_box_x(browser) -> float:
    return browser.execute_script("return document.querySelector('#graph g.node').getBoundingClientRect().x")


@pytest.mark.parametrize("size", [(1024, 768), (1400, 900)])
def test_every_step_is_readable_and_in_view_on_a_projector(tmp_path, xor, size):
    """XOR's 2-4-1 network, 4,661 px wide when drawn whole: at each of its 74 steps the outlined node is in
    view and its text at least 14 px on screen; the values fill in (forward) before any gradient."""
    page = viz.render_backward(xor, tmp_path / "xor.html")
    forward, backward = _page_json(page.read_text(), "forward"), _page_json(page.read_text(), "steps")
    browser = _browser()
    try:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        browser.set_window_size(*size)
        browser.get(page.as_uri())
        start = browser.execute_script(
            "const v = document.querySelector('#graph svg').viewBox.baseVal; return [v.x, v.y]"
        )
        assert start == [0, 0]  # the first step shows where reading starts: the top left corner (Graphviz's 0, 0)
        body = browser.find_element(By.TAG_NAME, "body")
        grads = len(backward)
        seen = []
        for _ in range(len(forward) + len(backward)):
            seen.append(_current(browser))
            body.send_keys(Keys.ARROW_RIGHT)
        assert browser.find_element(By.ID, "counter").text == f"step {len(seen)} of {len(seen)}"
        assert [s["phase"] for s in seen] == ["forward pass"] * len(forward) + ["backward pass"] * grads
        assert [s["data"] for s in seen[: len(forward)]] == list(range(len(forward) - 1, -1, -1))  # one per step
        assert all(s["grad"] == grads for s in seen[: len(forward)])  # no gradient before the backward pass
        assert [s["grad"] for s in seen[len(forward) :]] == list(range(grads - 1, -1, -1))
        assert all(s["data"] == 0 for s in seen[len(forward) :])
        outlined = seen[1:]  # the first step outlines no node: it shows the leaves
        assert all(s["inside"] for s in outlined), [k for k, s in enumerate(outlined, 2) if not s["inside"]]
        smallest = min(s["font"] for s in outlined)
        assert smallest >= 14, smallest  # was 7 px at 1400 wide, 5 px at 1024
        assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    finally:
        browser.quit()


def test_zoom_fit_read_and_pan_with_buttons_keys_and_the_mouse(tmp_path, xor):
    page = viz.render_backward(xor, tmp_path / "xor.html")
    html = page.read_text()
    assert not re.search(r"https?://(?!www\.w3\.org)", html) and "<link" not in html  # nothing to fetch
    browser = _browser()
    try:
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        browser.set_window_size(1024, 768)
        browser.get(page.as_uri())
        body, click = browser.find_element(By.TAG_NAME, "body"), lambda name: browser.find_element(By.ID, name).click()
        readable = _scale(browser)
        click("zoom-in")
        assert _scale(browser) == pytest.approx(1.25 * readable)
        click("zoom-out")
        assert _scale(browser) == pytest.approx(readable)
        click("fit")  # the whole graph in view, its text then small
        whole = browser.execute_script(
            "const r = document.querySelector('#graph g.graph').getBoundingClientRect(),"
            " v = document.getElementById('graph').getBoundingClientRect();"
            "return [r.left - v.left, v.right - r.right, r.top - v.top, v.bottom - r.bottom]"
        )
        assert min(whole) >= -1  # inside the view
        assert min(whole[:2]) <= 2 or min(whole[2:]) <= 2  # and as large as it can be: touching two sides
        assert _scale(browser) < readable / 2
        click("read")
        assert _scale(browser) == pytest.approx(readable) and _current(browser)["grad"] == len(
            _page_json(html, "steps")
        )
        body.send_keys("+")
        assert _scale(browser) == pytest.approx(1.25 * readable)
        body.send_keys("-", "f")
        assert _scale(browser) < readable / 2
        body.send_keys("r")
        assert _scale(browser) == pytest.approx(readable)

        x = _first_box_x(browser)
        width = browser.execute_script("return document.getElementById('graph').clientWidth")
        body.send_keys(Keys.SHIFT + Keys.ARROW_RIGHT)  # pan a quarter of the view
        assert _first_box_x(browser) == pytest.approx(x - width / 4, abs=1)
        assert browser.find_element(By.ID, "counter").text == "step 1 of 74"  # panning is not stepping
        body.send_keys(Keys.SHIFT + Keys.ARROW_LEFT)
        assert _first_box_x(browser) == pytest.approx(x, abs=1)
        graph = browser.find_element(By.ID, "graph")
        ActionChains(browser).move_to_element(graph).click_and_hold().move_by_offset(-150, 0).release().perform()
        assert _first_box_x(browser) == pytest.approx(x - 150, abs=2)
        ActionChains(browser).scroll_from_origin(ScrollOrigin.from_element(graph), 0, 300).perform()  # zooms out
        assert _scale(browser) < readable
        body.send_keys("f")
        ActionChains(browser).double_click(graph).perform()  # from the whole graph, read where clicked
        assert _scale(browser) == pytest.approx(readable)
    finally:
        browser.quit()
