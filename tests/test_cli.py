"""The command line: training runs print their results; bad arguments exit 2 with one line."""

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from tinygrad_edu.cli import main


def test_xor_reaches_100_percent_on_seed_0(capsys, tmp_path):
    svg = tmp_path / "xor.svg"
    assert main(["xor", "--seed", "0", "--render", str(svg)]) == 0
    out = capsys.readouterr().out
    assert "accuracy 100% (4/4)" in out
    assert " x1  x2 | target" in out  # the truth table
    root = ET.parse(svg).getroot()  # a real SVG picture with the inputs and the output in it
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "x1" in text and "x2" in text and "output" in text and "×" in text


def test_python_dash_m_runs_the_same_command(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tinygrad_edu", "xor", "--steps", "300", "--granularity", "tensor"],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout


@pytest.mark.parametrize(
    "argv, words",
    [
        (["xor", "--steps", "0"], "--steps: expected a positive integer, got '0'"),
        (["xor", "--lr", "-1"], "--lr: expected a positive number, got '-1'"),
        (["xor", "--activation", "swish"], "--activation: invalid choice: 'swish'"),
        (["xor", "--init", "nope"], "--init: invalid choice"),
        (["xor", "--hidden", "4,x"], "expected hidden layer widths like 4 or 16,16, got '4,x'"),
        (["xor", "--optimizer", "rmsprop"], "--optimizer: invalid choice"),
        (["xor", "--bogus"], "unrecognized arguments: --bogus"),
        (["fly"], "invalid choice: 'fly'"),
        ([], "the following arguments are required"),
        (["xor", "--render", "graph.jpeg"], "cannot tell the format of 'graph.jpeg': end it in .svg, .png, .pdf, .dot"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err


def test_gates_perceptron_summary(capsys):
    assert main(["gates"]) == 0
    out = capsys.readouterr().out
    for gate in ("AND", "OR", "NAND"):
        assert f"{gate:>4}: converged after" in out
    assert " XOR: never converged in 100 epochs" in out


def test_moons_and_digits_report_accuracy(capsys, tmp_path):
    assert main(["moons", "--steps", "200", "--render", str(tmp_path / "moons.dot")]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and (tmp_path / "moons.dot").read_text().startswith("digraph")
    assert main(["digits", "--steps", "300"]) == 0
    assert "test accuracy" in capsys.readouterr().out


def test_a_failing_render_is_one_line_and_exit_1(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["xor", "--steps", "10", "--render", str(blocker / "graph.svg")]) == 1
    message = capsys.readouterr().err.split("\r")[-1]  # after the progress bar
    assert message.count("\n") == 1 and message.startswith("tinygrad-edu xor: error:") and "File exists" in message


def test_gradcheck_command_checks_every_op_of_the_presets(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert "neuron: 5 ops checked one by one" in out and "5 pass" in out
    assert "tensor-mlp:" in out and "xor:" in out
    assert "every op's backward agrees with its finite differences" in out
