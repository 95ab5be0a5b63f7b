"""Training you can watch (watch.py): the frames fit records, what each shows, the replay page in a real headless
browser, the CLI's --live, and fit(live=True) in a real Jupyter kernel (one output, updated in place)."""

import base64
import io
import json
import re
import time

import numpy as np
import pytest

from tests.test_viz import _browser
from tinygrad_edu import data, nn, train, viz, watch
from tinygrad_edu.cli import main
from tinygrad_edu.watch import layer_outputs, layer_weights, png


def _xor_run(steps: int = 60, every: int = 20, **options):
    X, y = data.xor()
    model = nn.MLP(2, [4, 1], seed=0)
    live = watch.Live(every=every, **options)
    history = train.fit(model, X, y, steps=steps, lr=0.1, live=live)
    return model, live, history


def _images(frame: str) -> list[np.ndarray]:
    """The frame's PNG images, decoded by Pillow (not by our own code), as arrays (h, w, 3)."""
    image = pytest.importorskip("PIL.Image", reason="Pillow decodes the PNGs (it comes with matplotlib)")
    return [
        np.asarray(image.open(io.BytesIO(base64.b64decode(b))).convert("RGB"))
        for b in re.findall(r"data:image/png;base64,([^\"]+)", frame)
    ]


def test_a_png_made_with_zlib_decodes_to_its_pixels():
    image = pytest.importorskip("PIL.Image", reason="Pillow decodes the PNG")
    rgb = np.random.default_rng(0).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    decoded = np.asarray(image.open(io.BytesIO(png(rgb))))
    assert decoded.shape == (5, 7, 3) and np.array_equal(decoded, rgb)


def test_fit_records_a_frame_every_k_steps_and_watching_changes_no_number():
    model, live, history = _xor_run()
    assert live.steps == [0, 20, 40, 60] and len(live.frames) == 4
    assert len(set(live.frames)) == 4  # every frame differs
    X, y = data.xor()
    unwatched = nn.MLP(2, [4, 1], seed=0)
    assert train.fit(unwatched, X, y, steps=60, lr=0.1) == history
    for p, q in zip(model.parameters(), unwatched.parameters()):
        assert np.array_equal(p.data, q.data)
    assert all(not np.any(p.grad) for p in model.parameters())  # the example's gradients are not left behind
    assert (
        "step 0 of 60 (before training)" in live.frames[0]
        and f"step 60 of 60, loss {history[-1]:.4f}" in (live.frames[-1])
    )


def test_a_frame_shows_each_neuron_as_a_heatmap_and_each_weight_as_an_edge_of_its_sign():
    model, live, _ = _xor_run()
    frame = live.frames[-1]
    svg = frame.split('<div class="graph">')[0]
    assert len(_images(svg)) == 2 + 4 + 1 + 1  # inputs, hidden neurons, output, the decision map
    assert all(im.shape == (30, 30, 3) for im in _images(svg))
    weights = np.concatenate([layer_weights(layer)[0].ravel() for layer in model.layers])
    edges = re.findall(r'<line [^>]*stroke="(#[0-9a-f]{6})"[^>]*><title>w = ([^<]+)</title>', svg)
    assert len(edges) == 2 * 4 + 4 * 1 == len(weights)
    blue, red = viz.Style().shade(viz.POSITIVE, 0.9), viz.Style().shade(viz.NEGATIVE, 0.9)
    assert sorted(float(w) for _, w in edges) == pytest.approx(sorted(weights), rel=1e-2)
    assert all(colour == (blue if float(w) >= 0 else red) for colour, w in edges)
    assert "the graph for example 0, x = (0, 0)" in frame and frame.count("<svg") == 2  # the panels, the graph


def test_the_decision_map_is_red_where_the_model_says_0_and_blue_where_it_says_1():
    X, y = data.xor()
    model = nn.MLP(2, [4, 1], seed=0)
    live = watch.Live(every=300, example=None)
    train.fit(model, X, y, steps=300, lr=0.1, live=live)
    assert train.accuracy(model, X, y) == 1.0
    decision = _images(live.frames[-1])[-1].astype(int)
    x0, x1, y0, y1 = live.box
    for (a, b), label in zip(X, y):
        col = round((a - x0) / (x1 - x0) * (live.resolution - 1))
        row = round((y1 - b) / (y1 - y0) * (live.resolution - 1))
        r, _, blue = decision[row, col]
        assert (blue > r) == (label == 1), (a, b, decision[row, col])
    assert "graph for example" not in live.frames[-1]


def test_scalar_models_many_classes_and_data_that_is_not_2d():
    X, y = data.xor()
    _, live, _ = _xor_run(steps=10, every=10)
    scalar = watch.Live(every=10)
    train.fit(nn.MLP(2, [3, 1], granularity="scalar", seed=0), X, y, steps=10, live=scalar)
    assert len(_images(scalar.frames[-1])) == 2 + 3 + 1 + 1 and "x[0]" in scalar.frames[-1]
    X3, y3 = data.spirals(60, classes=3, seed=0)
    three = watch.Live(every=10, example=None)
    train.fit(nn.MLP(2, [8, 3], seed=0), X3, y3, loss="cross_entropy", steps=20, live=three)
    decision = _images(three.frames[-1])[-1].reshape(-1, 3)
    assert len({tuple(c) for c in decision if c.max() - c.min() > 40}) > 2  # more than two hues: three classes
    Xi, yi = data.iris()
    flowers = watch.Live(every=5, example=None)
    train.fit(nn.MLP(4, [3, 1], seed=0), Xi, yi, steps=5, live=flowers)
    assert len(flowers.frames) == 2 and "<image" not in flowers.frames[-1]  # no plane to colour: edges and loss
    assert flowers.frames[-1].count("<line") == 4 * 3 + 3
    Xd, yd = data.digits()
    digits = watch.Live(every=1, example=None)
    train.fit(nn.MLP(64, [4, 10], seed=0), Xd[:50] / 16, yd[:50], loss="cross_entropy", steps=1, live=digits)
    assert "network not drawn: a layer of 64 (at most 24)" in digits.frames[-1] and "<line" not in digits.frames[-1]


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_each_layers_outputs_on_the_grid_are_the_models_own_at_either_granularity(activation):
    grid = np.random.default_rng(0).normal(size=(25, 2))
    for granularity in nn.GRANULARITIES:
        model = nn.MLP(2, [5, 3, 1], activation=activation, bias_init=0.1, granularity=granularity, seed=1)
        outs = layer_outputs(model.layers, grid)
        assert [o.shape for o in outs] == [(25, 5), (25, 3), (25, 1)]
        np.testing.assert_allclose(outs[-1], train.outputs(model, grid), rtol=1e-12, atol=1e-12)
        first = (
            [[v.data for v in model.layers[0](list(row))] for row in grid[:3]]
            if granularity == "scalar"
            else (model.layers[0](grid[:3]).data)
        )
        np.testing.assert_allclose(outs[0][:3], first, rtol=1e-12, atol=1e-12)


def test_live_true_outside_a_notebook_shows_nothing_and_trains_the_same():
    X, y = data.xor()
    history = train.fit(nn.MLP(2, [4, 1], seed=0), X, y, steps=30, live=True)
    assert history == train.fit(nn.MLP(2, [4, 1], seed=0), X, y, steps=30)
    with pytest.raises(ValueError, match="no frames"):
        watch.Live().page()


@pytest.mark.parametrize(
    "options, error, words",
    [
        ({"every": 0}, ValueError, "every"),
        ({"frames": 2.5}, TypeError, "frames"),
        ({"resolution": 1}, ValueError, "resolution"),
        ({"show": "yes"}, TypeError, "show"),
        ({"example": 4}, ValueError, "example must be a row of X, below 4, got 4"),
    ],
)
def test_a_bad_option_is_refused_by_name_before_any_step(options, error, words):
    X, y = data.xor()
    model = nn.MLP(2, [4, 1], seed=0)
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(error, match=words):
        train.fit(model, X, y, steps=5, live=watch.Live(**options))
    assert all(np.array_equal(p.data, b) for p, b in zip(model.parameters(), before))


def test_the_page_is_self_contained_and_holds_every_frame(tmp_path):
    _, live, _ = _xor_run()
    page = live.save(tmp_path / "xor.html", title="XOR </script>").read_text()
    assert not re.search(r"__[A-Z]+__", page)
    assert not re.findall(r'(?:src|href)=\\?"(?!data:|#)', page)  # every picture inline (quotes escaped in JSON)
    assert "http" not in page.replace("http://www.w3.org", "")  # nothing to fetch
    frames = json.loads(page.split("const frames = ", 1)[1].split(";\n", 1)[0])
    assert frames == live.frames and page.count("</script>") == 2  # the title's cannot end a script


def test_the_replay_plays_pauses_and_scrubs_in_a_real_headless_browser(tmp_path):
    _, live, _ = _xor_run(steps=80, every=10)
    page = live.save(tmp_path / "xor.html")
    browser = _browser()
    try:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support.ui import WebDriverWait

        browser.get(page.as_uri())
        counter = browser.find_element(By.ID, "counter")

        def title() -> str:
            return browser.execute_script("return document.querySelector('#view svg text.title').textContent")

        assert counter.text == "frame 1 of 9, step 0 of 80" and title() == "step 0 of 80 (before training)"
        first = browser.get_screenshot_as_png()
        browser.find_element(By.ID, "next").click()
        assert counter.text == "frame 2 of 9, step 10 of 80" and title().startswith("step 10 of 80, loss")
        assert browser.get_screenshot_as_png() != first  # the frames change
        browser.execute_script(
            "const s = document.getElementById('slider'); s.value = 6; s.dispatchEvent(new Event('input'))"
        )
        assert counter.text == "frame 6 of 9, step 50 of 80"
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.END)
        assert title() == f"step 80 of 80, loss {live.frames[-1].split('loss ')[1][:6]}"
        browser.find_element(By.ID, "home").click()
        browser.find_element(By.ID, "play").click()
        WebDriverWait(browser, 10).until(lambda b: int(counter.text.split()[1]) >= 3)  # moved on by itself
        browser.find_element(By.ID, "play").click()  # pause
        paused = counter.text
        time.sleep(1.0)  # four play intervals
        assert counter.text == paused
        images = browser.execute_script(
            "return [...document.querySelectorAll('#view image')].filter(i => i.getBBox().width > 0).length"
        )
        assert images == 8  # every heatmap drawn
        fetched = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('data:'))"
        )
        assert fetched == []  # nothing loaded from the network (or from anywhere)
    finally:
        browser.quit()


def test_the_cli_writes_the_replay_for_xor_moons_and_spirals(tmp_path, capsys):
    for command in ("xor", "moons", "spirals"):
        path = tmp_path / f"{command}.html"
        assert main([command, "--live", str(path), "--steps", "20", "--hidden", "3"]) == 0
        out = capsys.readouterr().out
        assert f"training replayed in 21 frames written to {path}" in out
        frames = json.loads(path.read_text().split("const frames = ", 1)[1].split(";\n", 1)[0])
        assert len(frames) == 21 and len(_images(frames[-1].split('<div class="graph">')[0])) == 2 + 3 + 1 + 1
    with pytest.raises(SystemExit) as e:
        main(["xor", "--live", str(tmp_path / "xor.svg")])
    assert e.value.code == 2 and "end" in capsys.readouterr().err


def test_fit_live_updates_one_output_in_a_real_kernel(tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="the notebook extra: pip install -e '.[notebook]'")
    nbclient = pytest.importorskip("nbclient", reason="the notebook extra: pip install -e '.[notebook]'")
    pytest.importorskip("ipykernel", reason="the notebook extra: pip install -e '.[notebook]'")
    updates = []

    class Client(nbclient.NotebookClient):
        def _update_display_id(self, display_id, msg):
            if msg["header"]["msg_type"] == "update_display_data":  # (the first display comes here too)
                updates.append(msg["content"]["data"]["text/html"])
            super()._update_display_id(display_id, msg)

    cells = [
        "from tinygrad_edu import nn, data, train, watch\nX, y = data.xor()\n"
        "history = train.fit(nn.MLP(2, [4, 1], seed=0), X, y, steps=20, lr=0.1, live=True)",
        "live = watch.Live(every=10)\nhistory = train.fit(nn.MLP(2, [4, 1], seed=0), X, y, steps=40, live=live)\nlive",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    Client(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = nb.cells[0].outputs
    assert [o.output_type for o in shown] == ["display_data"]  # one output, updated in place
    assert "step 20 of 20, loss" in shown[0].data["text/html"] and "<svg" in shown[0].data["text/html"]
    assert len(updates) == 20 + 40 // 10  # live=True: a frame after every step (fewer than 40); then every 10
    titles = [re.search(r'class="title"[^>]*>([^<]+)<', u)[1] for u in updates]
    assert len(set(titles)) == len(titles)  # each update a new frame
    replay = [o for o in nb.cells[1].outputs if o.output_type == "execute_result"]
    assert replay and replay[0].data["text/html"].startswith("<iframe srcdoc=")


def test_fit_refuses_a_live_that_is_neither_a_switch_nor_a_live_view():
    X, y = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0.0, 1.0])
    with pytest.raises(TypeError, match="live must be True, False"):
        train.fit(nn.MLP(2, [2, 1], seed=0), X, y, steps=1, live="yes")


def test_draw_model_names_what_it_was_given_when_it_is_no_model():
    with pytest.raises(TypeError, match="draw a model"):
        viz.draw_model(lambda z: z, [1.0, 0.0])


def test_a_model_with_batch_norm_gets_its_example_graph():
    """The example's graph is drawn for a batch of one in eval mode: batch norm (which needs a batch) included."""
    X, y = data.moons(60, seed=0)
    layers = [nn.Layer(2, 8, activation="linear"), nn.BatchNorm1d(8), nn.Activation("relu"), nn.Layer(8, 1)]
    model = nn.Sequential(*layers)
    live = watch.Live(every=5)
    train.fit(model, X, y, steps=5, lr=0.1, live=live)
    assert "graph not drawn" not in live.frames[-1] and ">gamma<" in live.frames[-1]
    assert model.training  # drawn in eval mode, then back in training mode
