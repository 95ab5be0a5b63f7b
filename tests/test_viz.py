"""Graph drawings: the exact nodes and edges, clusters, real SVG/PNG files, the backward frames and page."""

import json
import re
import shutil
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tinygrad_edu import Value, data, nn, viz
from tinygrad_edu.cli import main
from tinygrad_edu.examples import neuron_graph


def _parse(source: str):
    """Value nodes, op nodes and edges of a DOT source written by draw_graph."""
    values = set(re.findall(r"^\s*(v\d+) \[", source, re.M))
    ops = set(re.findall(r"^\s*(v\d+op) \[", source, re.M))
    edges = re.findall(r"^\s*(v\d+(?:op)?) -> (v\d+(?:op)?)", source, re.M)
    return values, ops, edges


def test_neuron_graph_has_exactly_the_expected_nodes_and_edges():
    out = neuron_graph()  # tanh(x1*w1 + x2*w2 + b), after backward
    source = viz.draw_graph(out).source
    values, ops, edges = _parse(source)
    assert len(values) == 10  # x1 x2 w1 w2 b, x1*w1, x2*w2, their sum, n, out
    assert len(ops) == 5  # mul, mul, add, add, tanh
    assert len(edges) == 9 + 5  # 9 inputs into ops, 5 ops into their results
    for src, dst in edges:  # every edge is input -> op or op -> its result
        assert src.endswith("op") != dst.endswith("op")
    for text in ["x1", "w1", "b", "out", "data 0.7071", "grad 1<", "grad -1.5", "grad 0.5", "tanh", "×", "+"]:
        assert text in source, text
    assert "rankdir=LR" in source


def test_show_flags_and_bad_arguments():
    out = neuron_graph()
    plain = viz.draw_graph(out, show_data=False, show_grad=False, rankdir="TB").source
    assert "grad" not in plain and "data" not in plain and "rankdir=TB" in plain
    with pytest.raises(ValueError, match="rankdir must be one of"):
        viz.draw_graph(out, rankdir="up")
    with pytest.raises(TypeError, match="expected a Value to draw, got float"):
        viz.draw_graph(1.0)


def test_scalar_mlp_has_one_titled_box_per_neuron():
    """One box per neuron, titled with its layer; no outer layer box (the inputs' edges would loop around it)."""
    model = nn.MLP(2, [3, 2, 1], granularity="scalar", seed=0)
    out = model([Value(1.0, label="x1"), Value(0.0, label="x2")])
    out.backward()
    source = viz.draw_graph(out).source
    boxes = re.findall(r"subgraph cluster_layers_(\d+)_neurons_(\d+) ", source)
    assert sorted(boxes) == [("0", "0"), ("0", "1"), ("0", "2"), ("1", "0"), ("1", "1"), ("2", "0")]
    assert not re.search(r"subgraph cluster_layers_\d+ ", source)
    assert 'label="layer 0, neuron 2"' in source and 'label="layer 2, neuron 0"' in source
    assert "cluster" not in viz.draw_graph(out, cluster_modules=False).source


def test_tensor_mlp_shows_shapes_not_numbers():
    model = nn.MLP(2, [8, 1], seed=0)
    loss = model(Value(data.xor()[0], label="X", requires_grad=False)).sum()
    loss.backward()
    source = viz.draw_graph(loss).source
    assert "2×8: mean" in source and "4×8: mean" in source and "subgraph cluster_layers_0" in source
    labels = re.findall(r"label=(<<TABLE.*?</TABLE>>)", source)
    assert labels and max(len(label) for label in labels) < 400  # no wall of numbers


def test_too_big_a_graph_says_how_many_nodes_and_what_to_do():
    x = Value(1.0)
    for _ in range(30):
        x = x * 1.0
    with pytest.raises(ValueError, match=r"this graph has 61 value nodes, more than max_nodes=20.*depth=1"):
        viz.draw_graph(x, max_nodes=20)


def test_gradient_colours_follow_sign_and_size():
    colour = viz.Style().gradient_colour
    assert colour(1.0, 1.0) != colour(-1.0, 1.0)
    strong, weak = colour(1.0, 1.0), colour(0.1, 1.0)
    assert sum(int(strong[i : i + 2], 16) for i in (1, 3, 5)) < sum(int(weak[i : i + 2], 16) for i in (1, 3, 5))
    assert colour(0.0, 1.0) == "#ffffff"


def test_svg_and_png_render_for_real(tmp_path):
    out = neuron_graph()
    svg = viz.render_graph(out, tmp_path / "neuron.svg")
    png = viz.render_graph(out, tmp_path / "neuron.png")
    dot = viz.render_graph(out, tmp_path / "neuron.dot")
    assert svg.stat().st_size > 1000 and png.stat().st_size > 1000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert dot.read_text().startswith("digraph")
    texts = [t.text for t in ET.parse(svg).getroot().iter() if t.tag.endswith("text")]
    for label in ["x1", "x2", "w1", "w2", "b", "out", "tanh"]:
        assert label in texts, label
    assert sorted(p.name for p in tmp_path.iterdir()) == ["neuron.dot", "neuron.png", "neuron.svg"]


def test_without_a_renderer_the_dot_source_is_written_and_the_error_says_how(tmp_path, monkeypatch):
    monkeypatch.setattr(viz.render, "_renderer", lambda: None)
    with pytest.raises(RuntimeError, match="pip install graphviz-pure"):
        viz.render_graph(neuron_graph(), tmp_path / "neuron.svg")
    assert (tmp_path / "neuron.dot").read_text().startswith("digraph")
    assert not (tmp_path / "neuron.svg").exists()


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match="use a suffix among svg, png, pdf, dot"):
        viz.render_graph(neuron_graph(), tmp_path / "neuron.jpg")


def test_backward_frames_fill_one_gradient_per_step():
    out = neuron_graph()
    before = {p.label: p.grad for p in out.parents[0].parents}
    frames = viz.backward_frames(out)
    assert len(frames) == 10  # every node of the neuron receives a gradient
    for k, frame in enumerate(frames, 1):
        filled = len(re.findall(r"grad -?\d", frame.source))
        assert filled == k, f"frame {k} shows {filled} gradients"
        assert f"step {k} of 10" in frame.source
    assert "dout/dout = 1" in frames[0].source  # the output is filled first
    assert "from out (tanh): 1 × 0.5 = 0.5" in frames[1].source  # then n, with the chain rule and its numbers
    assert {p.label: p.grad for p in out.parents[0].parents} == before  # .grad left as it was


def test_backward_steps_follow_reverse_topological_order():
    a = Value(2.0, label="a")
    b = a * a
    b.label = "b"
    c = b + a
    c.label = "c"
    order = [n.label for n, _ in viz.backward_steps(c)]
    assert order == ["c", "b", "a"]  # a last: it waits for both of its uses
    neuron = [n.label or n.op for n, _ in viz.backward_steps(neuron_graph())]
    assert neuron == ["out", "n", "add", "b", "mul", "mul", "x1", "w1", "x2", "w2"]  # level by level, as narrated
    assert dict((n.label, g) for n, g in viz.backward_steps(c))["a"] == 5.0


def test_print_graph_is_a_readable_tree(capsys):
    viz.print_graph(neuron_graph())
    text = capsys.readouterr().out.splitlines()
    assert text[0] == "out = tanh(n)  data 0.7071  grad 1"
    assert any(line.strip().startswith("└─ n = add(n3, b)") for line in text)
    assert any("x1 = leaf  data 2  grad -1.5" in line for line in text)
    a = Value(1.0, label="a")
    assert "a (shown above)" in viz.format_graph(a * a)


def test_print_graph_of_a_deep_graph_stops_without_recursion():
    x = Value(1.0)
    for _ in range(100_000):
        x = x + 1.0
    text = viz.format_graph(x, max_lines=50)
    assert text.count("\n") == 50 and text.endswith("(stopped after 50 lines)")


def test_value_shows_itself_as_a_graph_in_jupyter():
    bundle = neuron_graph()._repr_mimebundle_()
    assert bundle["text/plain"].startswith("Value(data=") and "label='out'" in bundle["text/plain"]
    assert "<svg" in bundle["image/svg+xml"] and "tanh" in bundle["image/svg+xml"]


def test_render_command_writes_presets(tmp_path, capsys):
    for preset in ("neuron", "xor", "tensor-mlp"):
        assert main(["render", preset, str(tmp_path / f"{preset}.svg")]) == 0
        assert ET.parse(tmp_path / f"{preset}.svg").getroot().tag.endswith("svg")
    assert main(["render", "neuron", str(tmp_path / "steps.html")]) == 0
    assert "the forward pass, then the backward pass in 10 steps, written to" in capsys.readouterr().out
    assert main(["render", "neuron", str(tmp_path / "forward.html"), "--wrt", "x1"]) == 0
    assert "neuron: forward mode along x1, step by step, written to" in capsys.readouterr().out
    assert "forward mode: d/dx1" in (tmp_path / "forward.html").read_text()
    assert main(["render", "neuron", str(tmp_path / "forward.svg"), "--wrt", "x1"]) == 2  # a page only
    assert "--wrt draws forward mode step by step, a page: give a .html path" in capsys.readouterr().err
    assert main(["render", "neuron", str(tmp_path / "other.html"), "--wrt", "zz"]) == 2
    assert "'zz' is not in this graph; forward mode starts from a leaf that needs a gradient: x1, w1" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "forward.svg").exists() and not (tmp_path / "other.html").exists()


def _browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium drives the browser (dev extra)")
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,900",
    ]:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


def test_backward_page_in_a_real_headless_browser(tmp_path):
    page = viz.render_backward(neuron_graph(), tmp_path / "backward.html", forward=False)  # the backward pass alone
    html = page.read_text()
    assert "http://" not in html.replace("http://www.w3.org", "")  # self-contained: nothing to fetch
    browser = _browser()
    try:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support.ui import WebDriverWait

        browser.get(page.as_uri())
        counter, formula = browser.find_element(By.ID, "counter"), browser.find_element(By.ID, "formula")
        body = browser.find_element(By.TAG_NAME, "body")

        def unfilled() -> int:
            return browser.execute_script(
                "return [...document.querySelectorAll('#graph text')].filter(t => t.textContent == 'grad ?').length"
            )

        def orange_edges() -> int:
            return browser.execute_script(
                "return document.querySelectorAll('#graph g.edge path[stroke=\"#ff7f0e\"]').length"
            )

        def x1_box():
            return browser.execute_script("return document.querySelector('#graph g.node').getBBox().x")

        assert counter.text == "step 1 of 10" and formula.text.startswith("dout/dout = 1")
        assert unfilled() == 9 and orange_edges() == 0
        where, first_shot = x1_box(), browser.get_screenshot_as_png()
        browser.find_element(By.ID, "next").click()
        assert counter.text == "step 2 of 10" and unfilled() == 8 and orange_edges() == 1
        assert "from out (tanh): 1 × 0.5 = 0.5" in formula.text  # upstream x local = contribution
        assert browser.get_screenshot_as_png() != first_shot
        body.send_keys(Keys.END)
        assert counter.text == "step 10 of 10" and unfilled() == 0 and formula.text.startswith("dout/dw2 = 0")
        assert x1_box() == where  # the layout never moves
        body.send_keys(Keys.HOME)
        assert counter.text == "step 1 of 10"
        body.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_LEFT)
        assert counter.text == "step 2 of 10"
        browser.find_element(By.ID, "end").click()
        browser.find_element(By.ID, "prev").click()
        browser.find_element(By.ID, "home").click()
        assert counter.text == "step 1 of 10"
        browser.find_element(By.ID, "play").click()
        WebDriverWait(browser, 10).until(lambda b: counter.text == "step 3 of 10")
        browser.find_element(By.ID, "play").click()  # pause
        paused = counter.text
        time.sleep(2.5)  # two play intervals
        assert counter.text == paused
    finally:
        browser.quit()
    assert np.frombuffer(first_shot[:8], dtype=np.uint8).tolist() == list(b"\x89PNG\r\n\x1a\n")


def test_a_reused_node_shows_its_contributions_adding_up(tmp_path):
    a = Value(2.0, label="a")
    c = a * a + a
    c.label = "c"
    page = viz.backward_page(c)
    assert "used 3 times: the contributions add up, 1 + 2 + 2 = 5" in page


def test_the_stepper_shows_inline_in_a_notebook():
    out = viz.Stepper(neuron_graph())._repr_html_()
    assert out.startswith("<iframe srcdoc=") and "&lt;svg" in out and "step" in out


def test_the_page_highlights_only_the_edges_a_gradient_used():
    """Nodes are told apart by identity: two nodes holding equal numbers (x1*w1 and the sum, both -6
    in the neuron) must not share edges, and a tensor graph's page must build at all."""
    out = neuron_graph()
    page = viz.backward_page(out)
    steps = json.loads(page.split("const steps = ", 1)[1].split(";\n", 1)[0])
    assert all(len(step["edges"]) == (0 if k == 0 else 1) for k, step in enumerate(steps))  # each value used once
    from tinygrad_edu.examples import tensor_mlp_graph

    assert "const steps" in viz.backward_page(tensor_mlp_graph())


def test_a_style_changes_what_is_drawn():
    out = neuron_graph()
    default = viz.draw_graph(out).source
    style = viz.Style(font="Courier", font_size=17, parameter="#123456", positive=(0, 128, 0), op_fill="#abcdef")
    styled = viz.draw_graph(out, style=style).source
    for text in ("fontname=Courier", "fontsize=17", 'BGCOLOR="#123456"><B>w1<', 'fillcolor="#abcdef"'):
        assert text in styled and text not in default, text
    assert styled.count('BGCOLOR="#123456"') == default.count(f'BGCOLOR="{viz.PARAMETER}"')  # legend included
    r, g, b = (int(c, 16) for c in re.search(r'BGCOLOR="#(..)(..)(..)">grad 1<', styled).groups())
    assert g > r and g > b  # a positive gradient is now green (it was blue)
    assert "data " not in viz.draw_graph(out, style=viz.Style(show_data=False)).source
    assert "data " in viz.draw_graph(out, show_data=True, style=viz.Style(show_data=False)).source  # arguments win
    assert "rankdir=TB" in viz.draw_graph(out, style=viz.Style(rankdir="TB")).source
    with pytest.raises(ValueError, match="rankdir must be one of"):
        viz.Style(rankdir="up")
    page = viz.backward_page(out, style=viz.Style(highlight="#00ff00"))
    assert '"highlight": "#00ff00"' in page and "fontsize=17" in viz.backward_frames(out, style=style)[0].source


def test_the_page_is_made_of_files_shipped_as_package_data():
    """stepper.html, .css and .js are real files in the installed package (read with importlib.resources),
    listed in pyproject's package-data so that a non-editable install ships them, and the page is all three."""
    from importlib import resources

    files = {f.name: f for f in resources.files("tinygrad_edu.viz").iterdir() if not f.name.endswith((".py", "__"))}
    assert {"stepper.html", "stepper.css", "stepper.js"} <= set(files)
    page = viz.backward_page(neuron_graph())
    assert files["stepper.js"].read_text(encoding="utf-8").strip() in page
    assert files["stepper.css"].read_text(encoding="utf-8").strip() in page
    assert not re.search(r"__[A-Z]+__", page)  # every field filled
    tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml")
    from pathlib import Path

    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    globs = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]["tinygrad_edu"]
    for name in files:
        assert any(Path(f"viz/{name}").match(g) for g in globs), f"viz/{name} is not package data"


def test_a_label_cannot_end_the_pages_script():
    a = Value(2.0, label="</script><b>a")
    out = a * a
    out.label = "out"
    page = viz.backward_page(out)
    assert page.count("</script>") == viz.stepper.page_file("stepper.html").count("</script>")
    steps = json.loads(page.split("const steps = ", 1)[1].split(";\n", 1)[0])
    assert steps[1]["lines"][0].startswith("dout/d</script><b>a = ")
