"""Pictures in a real Jupyter kernel, with no Graphviz ``dot`` on PATH: what a learner sees after a
plain ``pip install`` (the bundled renderer draws everything)."""

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebook extra: pip install -e '.[notebook]'")
nbclient = pytest.importorskip("nbclient", reason="the notebook extra: pip install -e '.[notebook]'")
pytest.importorskip("ipykernel", reason="the notebook extra: pip install -e '.[notebook]'")

CELLS = [
    # no system Graphviz in this kernel, whatever the machine has
    "import os, shutil\n"
    "os.environ['PATH'] = os.pathsep.join(d for d in os.environ['PATH'].split(os.pathsep)\n"
    "                                     if not os.path.exists(os.path.join(d, 'dot')))\n"
    "print('dot:', shutil.which('dot'))",
    "from tinygrad_edu import viz, trace_backward, check_graph, nn, data, train\n"
    "from tinygrad_edu.examples import neuron_graph\n"
    "out = neuron_graph()\n"
    "out",
    "viz.draw_graph(out)",
    "viz.backward_frames(out)[3]",
    "viz.Stepper(out)",
    "from tinygrad_edu.micrograd import draw_dot\ndraw_dot(out)",
    "trace_backward(out)",
    "check_graph(out)",
    "big = nn.MLP(2, [32, 32, 1], granularity='scalar', seed=0)([1.0, 2.0])\nbig",
    "X, y = data.xor()\nlosses = train.fit(nn.MLP(2, [4, 1], seed=0), X, y, steps=50, progress=True)\nlen(losses)",
    # gradients of gradients: the derivative of tanh, drawn
    "from tinygrad_edu import Value, grad\nx = Value(0.5, label='x')\n(d,) = grad(x.tanh(), x, create_graph=True)\nd",
    # a compiled step, and its code
    "from tinygrad_edu import compile, losses\nmodel = nn.MLP(2, [4, 1], seed=0)\n"
    "step = compile(lambda X, y: losses.mse(model(X), y))\nstep(X, y); step(X, y)\nprint(step.source)",
]


def test_pictures_tables_and_the_stepper_show_in_a_real_kernel(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [cell.outputs for cell in nb.cells]
    for i, out in enumerate(outputs):
        assert not [o for o in out if o.output_type == "error"], f"cell {i} failed: {out}"

    def data_of(i: int) -> dict:
        return next(o for o in outputs[i] if o.output_type == "execute_result")["data"]

    assert outputs[0][0]["text"].strip() == "dot: None"
    for i in (1, 2, 3, 5):  # a Value, draw_graph, a backward frame, micrograd's draw_dot
        assert data_of(i)["image/svg+xml"].lstrip().startswith(("<?xml", "<svg")), f"cell {i}: {data_of(i).keys()}"
    assert "ExecutableNotFound" not in str(outputs)
    stepper = data_of(4)["text/html"]
    assert stepper.startswith("<iframe srcdoc=") and "&lt;svg" in stepper and "dout/dout = 1" in stepper
    assert "<table" in data_of(6)["text/html"] and "upstream" in data_of(6)["text/html"]  # the trace as a table
    assert "<table" in data_of(7)["text/html"] and "pass" in data_of(7)["text/html"]
    too_big = data_of(8)
    assert "image/svg+xml" not in too_big and "graph not drawn" in too_big["text/plain"]
    assert "max_nodes" in too_big["text/plain"]
    progress = str(outputs[9])
    assert data_of(9)["text/plain"] == "50" and "Warning" not in progress and "TqdmExperimentalWarning" not in progress
    derivative = data_of(10)["image/svg+xml"]
    assert "tanh" in derivative and "dx/dx" not in derivative  # the graph of d tanh(x)/dx: tanh, then the backward
    assert "def step(P, A):" in outputs[11][0]["text"] and "g_n4 = g_n5 @ layers_1_W.T" in outputs[11][0]["text"]
