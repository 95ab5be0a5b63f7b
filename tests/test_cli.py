"""The command line: training runs print their results; bad arguments exit 2 with one line."""

import re
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
    assert "x[0] x[1] | target" in out  # the truth table, its inputs numbered as the picture's
    root = ET.parse(svg).getroot()  # a real SVG picture with the inputs and the output in it
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "x[0]" in text and "x[1]" in text and "output" in text and "×" in text


def test_python_dash_m_runs_the_same_command(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_edu", "xor", "--steps", "300", "--granularity", "tensor"],
        capture_output=True,
        text=True,
        timeout=120,
    )
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
        (["xor", "--seed", "-1"], "--seed: expected an integer >= 0, got '-1'"),
        (["xor", "--seed", "1.5"], "--seed: expected an integer >= 0, got '1.5'"),
        (["gates", "--seed", "-3"], "--seed: expected an integer >= 0"),
        (["moons", "--noise", "-1"], "--noise: expected a finite number >= 0, got '-1'"),
        (["moons", "--noise", "nan"], "--noise: expected a finite number >= 0, got 'nan'"),
        (["moons", "--n", "1"], "--n: expected an integer >= 8"),
        (["xor", "--bias-init", "nan"], "--bias-init: expected a finite number, got 'nan'"),
        (["xor", "--bias-init", "inf"], "--bias-init: expected a finite number, got 'inf'"),
        (["digits", "--batch-size", "0"], "--batch-size: expected a positive integer"),
        (["gradcheck", "--eps", "0"], "--eps: expected a positive number"),
        (["render", "neuron", "out.txt"], "cannot tell the format of 'out.txt'"),
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


@pytest.mark.parametrize(
    "render, words",
    [
        ("file/graph.svg", "'file' is a file, not a folder"),
        ("missing/graph.png", "'missing' does not exist"),
        (".", "cannot tell the format"),
        ("readonly.svg", "read-only"),
    ],
)
def test_an_unwritable_render_path_fails_before_training(render, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file").write_text("not a folder")
    (tmp_path / "readonly.svg").write_text("<svg/>")
    (tmp_path / "readonly.svg").chmod(0o444)
    with pytest.raises(SystemExit) as exit_info:
        main(["xor", "--render", render])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no training happened
    assert captured.err.count("\n") == 1 and "--render" in captured.err and words in captured.err, captured.err
    assert render.split("/")[0] in captured.err  # the path the user gave, not a temporary file


def test_a_format_the_renderer_cannot_write_fails_before_training(capsys, tmp_path, monkeypatch):
    from tinygrad_edu import viz

    monkeypatch.setattr(viz.render, "_can_write", lambda program, fmt: fmt != "pdf")
    with pytest.raises(SystemExit) as exit_info:
        main(["moons", "--render", str(tmp_path / "g.pdf")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "cannot write .pdf" in err and "apt-get install graphviz" in err


def test_a_render_failing_at_the_end_is_one_line_and_exit_1(capsys, tmp_path, monkeypatch):
    from tinygrad_edu import viz

    def broken(*args, **kwargs):
        raise RuntimeError("the renderer crashed")

    monkeypatch.setattr(viz, "render_graph", broken)
    assert main(["xor", "--steps", "10", "--render", str(tmp_path / "graph.svg")]) == 1
    message = capsys.readouterr().err.split("\r")[-1]  # after the progress bar
    assert message == "tinygrad-edu xor: error: the renderer crashed\n"


def test_gradcheck_command_checks_every_op_of_the_presets(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert "neuron: 5 ops checked one by one" in out and "5 pass" in out
    assert "tensor-mlp:" in out and "xor:" in out
    assert "every op's backward agrees with its finite differences" in out


def test_version_and_help_with_descriptions_and_defaults(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and re.match(r"tinygrad-edu \d+\.\d+", capsys.readouterr().out)
    for command in ("xor", "gates", "moons", "digits", "gradcheck", "render"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        description = text.split("\n\n")[1]
        assert description.strip()[0].isupper() and description.strip().endswith("."), text
        if command != "render":
            assert "(default: " in text, f"{command} --help shows no defaults"
        assert "(default " not in text, f"{command} --help shows a default twice"


def test_piped_output_has_no_progress_bar_and_a_terminal_gets_one(tmp_path):
    piped = subprocess.run(
        [sys.executable, "-m", "tinygrad_edu", "xor", "--steps", "200"], capture_output=True, text=True, timeout=120
    )
    assert piped.returncode == 0 and "\r" not in piped.stderr + piped.stdout and piped.stderr == ""
    pty = pytest.importorskip("pty")
    import os

    out = b""
    pid, fd = pty.fork()
    if pid == 0:  # the child runs the command on a real terminal
        os.execv(sys.executable, [sys.executable, "-m", "tinygrad_edu", "xor", "--steps", "300"])
    try:
        while chunk := _read(fd):
            out += chunk
    finally:
        os.waitpid(pid, 0)
    text = out.decode(errors="replace")
    assert "\rxor [" in text and "300/300 loss" in text and "accuracy" in text


def _read(fd: int) -> bytes:
    import os

    try:
        return os.read(fd, 4096)
    except OSError:  # the terminal closed: the child has exited
        return b""
