"""Every lesson demo runs (small settings), prints what it claims, and writes its pictures.

Each runs in this process, as ``python demos/NAME.py --quick --out DIR`` would run it (its folder first on
sys.path, those arguments in sys.argv, as ``__main__``): the interpreter's start and the imports of numpy and
matplotlib are paid once, not once per demo (a second each), and a failure shows the demo's own traceback."""

import contextlib
import importlib.util
import io
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parent.parent
HAS_PLOTS = importlib.util.find_spec("matplotlib") is not None


def run_demo(name: str, out: Path) -> str:
    """What the demo prints, run with --quick --out ``out``."""
    script = ROOT / "demos" / f"{name}.py"
    printed = io.StringIO()
    argv = [str(script), "--quick", "--out", str(out)]
    with mock.patch.object(sys, "argv", argv), mock.patch.object(sys, "path", [str(script.parent), *sys.path]):
        with contextlib.redirect_stdout(printed):
            runpy.run_path(str(script), run_name="__main__")
    return printed.getvalue()


def pictures(out: Path, *names: str) -> None:
    if not HAS_PLOTS:
        pytest.skip("matplotlib is not installed: the tables were checked, not the pictures")
    for name in names:
        assert (out / name).stat().st_size > 5000, name


def test_perceptron_gates(tmp_path):
    text = run_demo("02_perceptron_gates", tmp_path)
    for gate in ("AND", "OR", "NAND"):
        assert re.search(rf"^ *{gate} +converged after \d+ epochs", text, re.M), gate
    assert re.search(r"^ *XOR +never converged in 30 epochs", text, re.M)
    pictures(tmp_path, "perceptron_gates.png")


def test_xor_hidden_layer(tmp_path):
    text = run_demo("03_xor_hidden_layer", tmp_path)
    assert "the hand-wired network computes XOR exactly: True" in text
    assert "accuracy 100%" in text
    pictures(tmp_path, "xor_hidden_layer.png")


def test_activations(tmp_path):
    text = run_demo("04_activations", tmp_path)
    assert re.search(r"^relu +0 +0 +2 +1$", text, re.M)  # ReLU at -2 and 2: values 0, 2; slopes 0, 1
    assert re.search(r"^sigmoid +0\.1192 +0\.105 +0\.8808 +0\.105$", text, re.M)
    assert re.search(r"^tanh +-0\.964 +0\.07065 +0\.964 +0\.07065$", text, re.M)
    assert re.search(r"^step +\S+ +\d+% +0$", text, re.M)  # step's hidden weights never moved
    assert re.search(r"^tanh +\S+ +100% +[1-9]", text, re.M)
    pictures(tmp_path, "activations.png")


def test_initializers(tmp_path):
    text = run_demo("05_initializers", tmp_path)
    assert "all hidden units identical: True" in text
    he = re.search(r"^He +(.*)$", text, re.M).group(1).split()
    small = re.search(r"^too small N\(0, 0.01\^2\) +(.*)$", text, re.M).group(1).split()
    assert float(small[-1]) < 1e-6 < 0.1 < float(he[-1])  # vanishes with a tiny init, holds with He
    pictures(tmp_path, "initializers.png")


def test_dying_relu(tmp_path):
    text = run_demo("06_dying_relu", tmp_path)
    high, sane = map(int, re.search(r"(\d+)% of ReLU units dead at lr 2.0 against (\d+)% at lr 0.1", text).groups())
    assert high > sane
    leaky = float(
        re.search(r"still get a gradient, small \(mean \|grad\| (\S+)\) but not 0 as for the dead", text).group(1)
    )
    assert leaky > 0  # below zero everywhere, yet not dead: the plot and the lesson say so
    pictures(tmp_path, "dying_relu.png")


def test_vanishing_gradients(tmp_path):
    text = run_demo("07_vanishing_gradients", tmp_path)
    sigmoid = float(re.search(r"sigmoid \+ Xavier: first layer's gradient is (\S+) x", text).group(1))
    relu = float(re.search(r"ReLU \+ He: first layer's gradient is (\S+) x", text).group(1))
    assert sigmoid < 1e-3 and relu > 0.05
    pictures(tmp_path, "vanishing_gradients.png")


def test_iris_perceptron(tmp_path):
    text = run_demo("08_iris_perceptron", tmp_path)
    assert "perceptron converged after" in text and "training accuracy 100%" in text
    pictures(tmp_path, "iris_perceptron.png")


def test_digits_mlp(tmp_path):
    text = run_demo("09_digits_mlp", tmp_path)
    assert float(re.search(r"test accuracy ([\d.]+)%", text).group(1)) >= 90
    assert "confusion matrix" in text
    pictures(tmp_path, "digits_mlp.png")


def test_see_backprop(tmp_path):
    text = run_demo("01_see_backprop", tmp_path)
    assert "out = tanh(n)" in text and "upstream" in text and "contribution" in text
    assert "the same gradients as backward(): True" in text and "out (tanh): grad 1.0000 -> n += 0.5000" in text
    for name in ("neuron.svg", "neuron.png", "neuron_backward.html"):
        assert (tmp_path / name).stat().st_size > 1000


def test_without_matplotlib_a_demo_still_prints_its_tables(tmp_path):
    blocked = (
        "import runpy, sys; sys.modules['matplotlib'] = None; "
        f"sys.argv = ['08_iris_perceptron.py', '--quick', '--out', {str(tmp_path)!r}]; "
        f"sys.path.insert(0, {str(ROOT / 'demos')!r}); "
        f"runpy.run_path({str(ROOT / 'demos' / '08_iris_perceptron.py')!r}, run_name='__main__')"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert "no pictures: pip install matplotlib to get them" in result.stdout
    assert "perceptron converged" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_newton(tmp_path):
    text = run_demo("10_newton", tmp_path)
    assert "y' = 24 (4x^3 - 4x = 24), y'' = 44 (12x^2 - 4 = 44)" in text
    newton = int(re.search(r"^Newton +(\d+) ", text, re.M).group(1))
    descent = [int(n) for n in re.findall(r"^gradient descent, lr \S+ +(\d+) ", text, re.M)]
    assert newton <= 7 and len(descent) == 3 and min(descent) > 2 * newton
    assert "step 6: x = 1.0000000000" in text  # quadratic convergence: 12 digits after 6 steps from x = 2
    pictures(tmp_path, "newton.png")


def test_double_backprop(tmp_path):
    text = run_demo("11_double_backprop", tmp_path)
    assert "dy/dx = 0.786447732966; 1 - tanh(x)^2 = 0.786447732966" in text
    assert "d2y/dx2 = -0.726861981384; -2 tanh(x) (1 - tanh(x)^2) = -0.726861981384" in text
    assert "n2 = sub(1, n1) = 0.786448" in text and "gradgradcheck passed" in text
    difference = float(re.search(r"max \|H v \(double backprop\) - H v \(full Hessian\)\| +(\S+)", text).group(1))
    assert difference < 1e-7
    assert (tmp_path / "tanh_derivative.png").stat().st_size > 5000
    pictures(tmp_path, "hessian_vector.png")


def test_compile_demo(tmp_path):
    text = run_demo("12_compile", tmp_path)
    assert "4     x2w2  mul   0.5       x2     1        0.5           0.5" in text  # the eager trace
    for line in (
        "out = math.tanh(n)  # tanh",
        "g_n = g_out * (1.0 - out * out)  # tanh: dout/dn = 1 - out^2",
        "g_w1 = g_x1w1 * x1  # mul: dx1w1/dw1 = x1",
        "the same gradients: True",
        "g_layers_0_W = X.T @ g_n2",
        "check_finite(y)  # as eager does",
        "the same final loss: True",
    ):
        assert line in text, line


def test_batchnorm(tmp_path):
    text = run_demo("14_batchnorm", tmp_path)
    assert "the same initial weights: True" in text
    plain = float(re.search(r"plain: first layer's gradient is (\S+) x", text).group(1))
    normed = float(re.search(r"batchnorm: first layer's gradient is (\S+) x", text).group(1))
    ratio = float(re.search(r"batchnorm's first-layer gradient is (\S+) x the plain", text).group(1))
    assert plain < 1e-3 and normed > 0.1 and ratio > 1000  # fades without batchnorm, holds with it
    last = r"loss \(mean of the last 10\) plain (\S+), batchnorm (\S+); test accuracy plain (\S+)%, batchnorm (\S+)%"
    found = re.search(last, text)
    loss_plain, loss_normed, accuracy_plain, accuracy_normed = map(float, found.groups())
    assert loss_normed < loss_plain / 2 and accuracy_normed > accuracy_plain + 50
    pictures(tmp_path, "batchnorm.png")


def test_dropout(tmp_path):
    text = run_demo("15_dropout", tmp_path)
    for p in (0.2, 0.5, 0.8):
        row = re.search(rf"^{p} +(\S+)% +(\S+) +(\S+) +(\S+) +(\S+) +(True|False)$", text, re.M).groups()
        zeroed, scale, mean_in, mean_train, unscaled = map(float, row[:5])
        assert abs(zeroed / 100 - p) < 0.01 and abs(scale - 1 / (1 - p)) < 1e-9 and row[5] == "True"
        assert abs(mean_train - mean_in) < 0.02 and abs(unscaled - (1 - p) * mean_in) < 0.02
    plain = [float(v) for v in re.search(r"^no dropout +(\S+) +(\S+) +(\S+) +(\S+)$", text, re.M).groups()]
    dropped = [float(v) for v in re.search(r"^dropout p=0.5 +(\S+) +(\S+) +(\S+) +(\S+)$", text, re.M).groups()]
    assert plain[2] == 1 and dropped[1] < plain[1] and dropped[3] > plain[3]  # held-out: lower loss, more right
    gaps = re.search(r"train - held-out accuracy: (\S+)% without dropout, (\S+)% with", text).groups()
    assert float(gaps[1]) < float(gaps[0]) / 2
    pictures(tmp_path, "dropout.png")


def test_cnn_digits(tmp_path):
    text = run_demo("13_cnn_digits", tmp_path)
    rows = {name: row.split() for name, row in re.findall(r"^(MLP 64-64-10|CNN) +(.*)$", text, re.M)}
    mlp_parameters = (64 * 64 + 64) + (64 * 10 + 10)
    cnn_parameters = 8 * (1 * 3 * 3 + 1) + 2 * 8 + 16 * (8 * 3 * 3 + 1) + (64 * 10 + 10)  # BatchNorm: gamma, beta
    assert int(rows["MLP 64-64-10"][0]) == mlp_parameters and int(rows["CNN"][0]) == cnn_parameters
    counts = re.findall(r"^layers\.\d+\.\w+ +\([\d, ]+\) +(\d+)$", text, re.M)
    assert len(counts) == 8 and sum(map(int, counts)) == cnn_parameters
    (_, mlp_moved), (cnn, cnn_moved) = [[float(rows[n][i].rstrip("%")) for i in (3, 5)] for n in rows]
    assert cnn >= 94  # 96.9% measured with --quick, 98.0% in full
    verdict, difference = re.search(
        r"held out: the CNN (beats|does not beat) the MLP .*: (\S+) images of", text
    ).groups()
    assert verdict == ("beats" if float(difference) > 0 else "does not beat")  # said as the numbers are
    assert cnn_moved > mlp_moved + 10  # moved one pixel: 62.8% against 46.9% with --quick, 66.6% against 47.1% in full
    differences = re.findall(r"^\d+ -> \d+ channels, 3x3, padding 1 +(\S+) +(\S+) +(\S+) +(\S+)$", text, re.M)
    assert len(differences) == 2 and max(float(d) for row in differences for d in row) < 1e-10
    assert float(re.search(r"the gradients themselves reach (\S+):", text).group(1)) > 1e-6
    pictures(tmp_path, "cnn_digits.png")


def test_bptt(tmp_path):
    text = run_demo("16_bptt", tmp_path)

    def reach(model: str) -> float:
        return float(re.search(rf"{re.escape(model)}: 20 steps back the gradient is (\S+) x", text).group(1))

    assert reach("RNN (w_hh gain 0.5)") < 1e-4 and reach("RNN (w_hh gain 3)") > 10  # vanishing, exploding
    assert reach("LSTM (forget bias 3)") > 0.1 > reach("LSTM (forget bias 1)")  # forget gate near 1 keeps the signal
    assert float(re.search(r"by hand: max difference (\S+)", text).group(1)) < 1e-12

    def training(name: str) -> tuple[float, float, str]:  # largest |grad|, loss at the end, finite
        norm, end, finite = re.search(rf"^{name} +(\S+) +\d+ +(\S+) +(\w+)", text, re.M).groups()
        return float(norm), float(end), finite

    norm, unclipped, _ = training("without clipping")
    _, clipped, finite = training("clipped to norm 1")
    assert norm > 10 and finite == "True" and clipped < unclipped and unclipped > 0.693  # above chance: ln 2
    found = re.findall(r"^first of (\d+) numbers: RNN ([\d.]+)%; LSTM \(forget bias 1\) ([\d.]+)%; "
                       r"LSTM \(forget bias 3\) ([\d.]+)%", text, re.M)  # fmt: skip
    _, rnn, lstm_1, lstm_3 = max(found, key=lambda row: int(row[0]))  # the answer furthest back:
    assert float(lstm_3) > 85 and max(float(rnn), float(lstm_1)) < 65  # kept by the LSTM whose forget gate is near 1
    pictures(tmp_path, "bptt.png")


def test_counts_are_plotted_on_whole_ticks():
    """Mistakes per epoch are counts: no tick at 0.5 mistakes or epoch 2.5."""
    if not HAS_PLOTS:
        pytest.skip("needs matplotlib (the plots extra)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with mock.patch.object(sys, "path", [str(ROOT / "demos"), *sys.path]):
        from lesson import whole_ticks
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [2, 1, 0])  # matplotlib alone ticks these every 0.25
    whole_ticks(ax)
    fig.canvas.draw()
    ticks = [*ax.get_xticks(), *ax.get_yticks()]
    plt.close(fig)
    assert ticks and all(t == int(t) for t in ticks)


def test_forward_mode(tmp_path):
    text = run_demo("17_forward_mode", tmp_path)
    rows = re.findall(r"^(x1|x2|w1|w2|b) +(\S+) +(\S+) +(\S+)$", text, re.M)
    assert [r[0] for r in rows] == ["x1", "x2", "w1", "w2", "b"]
    for _, ahead, back, nudged in rows:  # forward, reverse and finite differences agree on each input
        assert float(ahead) == float(back) and abs(float(ahead) - float(nudged)) < 1e-6
    assert "forward mode took 5 passes (one per input), reverse mode 1" in text
    assert "do/dw1: the last tangent forward 1, w1's gradient backward 1." in text
    assert re.search(r"^4 +o +tanh +n4 +2 +0\.5 +1 +1$", text, re.M)  # tanh's tangent: 0.5 x 2, the forward trace
    assert float(re.search(r"Jacobians agree, max difference (\S+)", text).group(1)) < 1e-12
    timed = re.findall(r"^(\d+) +(\d+) +(\d+) +[\d.]+ ms +(\d+) +[\d.]+ ms +(forward|reverse)$", text, re.M)
    assert len(timed) >= 10 and all(n == passes_f and m == passes_r for n, m, passes_f, passes_r, _ in timed)
    loss_line = r"one output \(a loss\) and (\d+) inputs \(weights\): reverse mode is \S+x faster, one backward pass"
    one_loss = re.search(loss_line + r" against (\d+)", text)
    assert one_loss and one_loss.group(1) == one_loss.group(2)  # times are the bench's business: passes counted here
    pictures(tmp_path, "forward_mode.png")
