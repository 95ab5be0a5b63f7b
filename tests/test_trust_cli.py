"""Issue #20, items 8 (training stops at a bad loss), 9 (gradcheck's tuple form, pytest reports, testing without
hypothesis), 10 (an unwritable --render path refused before training) and 19 (flipped bits, data arguments)."""

import io
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.planted import WrongCube
from tinygrad_edu import Value, apply, data, losses, nn, train
from tinygrad_edu.cli import main
from tinygrad_edu.files import ModelFileError
from tinygrad_edu.gradcheck import GradcheckError, gradcheck, gradgradcheck


def _cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinygrad_edu", *argv], capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------- item 8: training stops at a bad loss


def test_item8_xor_with_a_huge_sgd_lr_stops_with_one_message_and_exit_1():
    result = _cli("xor", "--optimizer", "sgd", "--lr", "1e6")
    assert result.returncode == 1
    assert "final loss" not in result.stdout and "accuracy" not in result.stdout
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    err = result.stderr
    assert err.startswith("tinygrad-edu xor: error: training stopped at step 2 of 2000: the loss grew to 7795"), err
    assert "the last finite loss was 0.7077, at step 1" in err and "--lr 1e+06" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["moons", "--optimizer", "sgd", "--lr", "1e6"],
        ["digits", "--lr", "1e3", "--steps", "50"],
        ["xor", "--granularity", "tensor", "--optimizer", "sgd", "--lr", "1e6"],
        ["gates", "--lr", "1e308"],
    ],
)
def test_item8_every_training_command_stops_at_a_bad_loss(argv):
    result = _cli(*argv)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr  # one line: no traceback, no numpy RuntimeWarning
    assert result.stderr.startswith(f"tinygrad-edu {argv[0]}: error: ") and "--lr" in result.stderr
    assert "final loss" not in result.stdout and "converged" not in result.stdout


def test_item8_the_progress_bar_is_cleared_before_the_message(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    assert main(["xor", "--optimizer", "sgd", "--lr", "1e6"]) == 1
    shown = sys.stderr.getvalue().split("\r")[-1]  # what is left on the screen after the bar's last redraw
    assert shown.startswith("tinygrad-edu xor: error: training stopped at step 2") and shown.count("\n") == 1


def _nan_at(call: int):
    """A loss that is right until its ``call``-th call, which gives nan."""
    calls = []

    def loss(out, y):
        calls.append(1)
        value = losses.bce_with_logits(out, y)
        return value * float("nan") if len(calls) == call else value

    return loss


def test_item8_fit_raises_at_the_first_nan_loss_and_keeps_the_last_weights():
    X, y = data.xor()
    model = nn.MLP(2, [4, 1], seed=0, granularity="tensor")
    seen = []
    with pytest.raises(train.TrainingDiverged) as err:
        train.fit(model, X, y, loss=_nan_at(4), steps=10, on_step=lambda step, loss: seen.append(model.state_dict()))
    e = err.value
    assert isinstance(e, FloatingPointError)  # what numpy raises for bad arithmetic (np.seterr(all="raise"))
    assert len(e.history) == 3 and e.step == 3 and np.isnan(e.loss)
    message = str(e)
    assert message.startswith("training stopped at step 4 of 10: the loss is nan; the last finite loss was ")
    assert f"{e.history[-1]:.4g}, at step 3" in message
    assert "lr=0.05" in message and "detect_anomaly()" in message and "update was not applied" in message
    after = model.state_dict()  # the weights after step 3's update, which gave the nan: the nan step changed nothing
    assert all(np.array_equal(after[k], seen[-1][k]) for k in after)


def test_item8_a_nan_at_the_first_step_does_not_blame_the_learning_rate():
    X, y = data.xor()
    with pytest.raises(train.TrainingDiverged, match="step 1 of 5: the loss is nan, before any update. Check X"):
        train.fit(nn.MLP(2, [4, 1], seed=0), X, y, loss=_nan_at(1), steps=5)


def test_item8_fit_stops_an_exploding_loss_unless_asked_not_to():
    X, y = data.xor()
    with pytest.raises(train.TrainingDiverged, match=r"grew to 7795 from 0.7077 at step 1 \(more than 1000 times"):
        train.fit(nn.MLP(2, [4, 1], seed=0), X, y, optimizer="sgd", lr=1e6, steps=50)
    history = train.fit(nn.MLP(2, [4, 1], seed=0), X, y, optimizer="sgd", lr=1e6, steps=50, max_growth=None)
    assert len(history) == 50 and round(history[-1]) == 7795  # the old behaviour, on request
    with pytest.raises(ValueError, match="max_growth must be >= 1"):
        train.fit(nn.MLP(2, [4, 1], seed=0), X, y, max_growth=0.5)


def test_item8_xor_probabilities_of_huge_logits_without_overflow_warnings(monkeypatch, capsys):
    monkeypatch.setattr(train, "outputs", lambda model, X: np.array([[-1000.0], [1000.0], [1000.0], [-1000.0]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["xor", "--steps", "1"]) == 0
    assert "1.000       1" in capsys.readouterr().out


# ---------------------------------------------------------------- item 9: gradcheck as a PyTorch user writes it


@pytest.mark.parametrize("check", [gradcheck, gradgradcheck])
def test_item9_the_tuple_form_is_the_same_check(check):
    def fn(x, y):
        return (x * y.tanh() * x).sum()

    x, y = Value(np.array([0.5, -1.0, 2.0]), label="x"), Value(np.array([0.3, 0.2, -0.7]), label="y")
    assert str(check(fn, (x, y))) == str(check(fn, x, y))
    assert [r.shape for r in check(fn, (x, y)).inputs] == [(3,), (3,)] * (1 if check is gradcheck else 2)
    assert str(check(lambda x: (x * x).sum(), (x,))) == str(check(lambda x: (x * x).sum(), x))


def test_item9_the_tuple_form_catches_a_wrong_op_too():
    with pytest.raises(GradcheckError, match="the first wrong op: wrong_cube"):
        gradcheck(lambda v: apply(WrongCube, v).sum(), (Value(np.array([1.0, 2.0])),))


_FAILING_TESTS = """
import numpy as np
from tinygrad_edu import Value, apply
from tinygrad_edu.gradcheck import gradcheck, gradgradcheck
from tinygrad_edu.testing import assert_gradients_match
from tests.planted import WrongCube


def test_gradcheck():
    gradcheck(lambda v: apply(WrongCube, v).sum(), (Value(np.array([1.0, 2.0])),))


def test_assert_gradients_match():
    assert_gradients_match(lambda v: apply(WrongCube, v).sum(), np.array([1.0, 2.0]))


def test_gradgradcheck():
    gradgradcheck(lambda v: (apply(WrongCube, v) * v).sum(), np.array([1.0, 2.0]))
"""


def test_item9_a_gradcheck_failure_under_pytest_shows_our_report_not_library_code(tmp_path):
    (tmp_path / "test_failing.py").write_text(_FAILING_TESTS)
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(tmp_path / "test_failing.py")],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert "3 failed" in result.stdout, result.stdout
    failures = result.stdout.split("FAILURES ===")[1].split("short test summary")[0]
    sections = dict(zip(*[iter(re.split(r"\n_{3,} (test_\w+) _{3,}\n", failures)[1:])] * 2))
    library = {
        line.strip()
        for name in ("gradcheck.py", "testing.py")
        for line in (root / "tinygrad_edu" / name).read_text().splitlines()
        if len(line.strip()) > 12
    }
    for name, op in [("gradcheck", "wrong op"), ("assert_gradients_match", "wrong op"), ("gradgradcheck", "backward")]:
        section = sections[f"test_{name}"]
        shown = [line for line in section.splitlines() if line.strip()]
        assert shown[0].strip() == f"def test_{name}():" and shown[1].startswith(">"), section  # the test's line
        assert shown[2].startswith("E       tinygrad_edu.gradcheck.GradcheckError: grad"), section  # then our report
        assert op in section and "tinygrad_edu/" not in section, section  # no frame of the library
        assert not any(line.lstrip("> ").strip() in library for line in shown), section


def test_item9_assert_gradients_match_works_without_hypothesis():
    script = textwrap.dedent("""
        import sys
        import numpy as np
        sys.modules["hypothesis"] = None  # as on a plain install: importing hypothesis fails
        from tinygrad_edu import testing
        report = testing.assert_gradients_match(lambda x: (x * x.tanh()).sum(), np.array([0.5, -1.0]))
        print(report.title)
        for name, call in [("values", lambda: testing.values((2,))), ("floats_in", testing.floats_in),
                           ("shapes_broadcastable", testing.shapes_broadcastable)]:
            try:
                call()
            except ImportError as e:
                print(e)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "gradcheck passed"
    for name, line in zip(["values", "floats_in", "shapes_broadcastable"], lines[1:4]):
        assert line == (
            f"tinygrad_edu.testing.{name} needs hypothesis: pip install hypothesis (assert_gradients_match does not)"
        )


# ---------------------------------------------------------------- item 10: --render refused before training


def _refused_before_training(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing trained, nothing printed
    assert captured.err.count("\n") == 1 and "Errno" not in captured.err, captured.err
    return captured.err


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
@pytest.mark.parametrize("command", [["xor"], ["gates"], ["moons"], ["digits"]])
def test_item10_a_folder_that_takes_no_files_is_refused_before_training(command, capsys):
    err = _refused_before_training([*command, "--render", "/proc/x.svg"], capsys)
    assert err == (
        f"tinygrad-edu {command[0]}: error: argument --render: cannot write '/proc/x.svg': the folder "
        "'/proc' does not accept new files (No such file or directory) (see --help)\n"
    )


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_item10_the_render_command_refuses_it_too(capsys):
    err = _refused_before_training(["render", "neuron", "/proc/x.html"], capsys)
    assert "argument path: cannot write '/proc/x.html': the folder '/proc' does not accept new files" in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into any folder")
def test_item10_a_folder_without_write_permission_is_refused_before_training(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        err = _refused_before_training(["xor", "--render", str(locked / "x.svg")], capsys)
    finally:
        locked.chmod(0o755)
    assert f"cannot write '{locked / 'x.svg'}': the folder '{locked}' does not accept new files" in err
    assert list(locked.iterdir()) == []


def test_item10_checking_a_render_path_leaves_nothing_behind(tmp_path, capsys):
    assert main(["xor", "--steps", "5", "--render", str(tmp_path / "x.svg")]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["x.svg"]  # the probe's temporary is gone


def test_item10_a_picture_that_fails_while_written_leaves_the_old_one_whole(tmp_path, capsys, monkeypatch):
    picture = tmp_path / "x.svg"
    picture.write_text("<svg>the old picture</svg>")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)  # after the bytes are written, before the rename
    assert main(["xor", "--steps", "5", "--render", str(picture)]) == 1
    err = capsys.readouterr().err
    assert err.endswith(f"tinygrad-edu xor: error: cannot write '{picture}': No space left on device\n"), err
    assert picture.read_text() == "<svg>the old picture</svg>" and [p.name for p in tmp_path.iterdir()] == ["x.svg"]


# ---------------------------------------------------------------- item 19: flipped bits, data arguments

FLIPS = [0xFF] + [1 << bit for bit in range(int(os.environ.get("TINYGRAD_EDU_FLIPPED_BITS", "1")))]


def test_item19_every_byte_flipped_is_a_model_file_error_or_the_right_numbers(tmp_path):
    """Each byte of a saved model flipped whole (0xFF) and in one bit (bit pos % 8; TINYGRAD_EDU_FLIPPED_BITS=8 tries
    every bit of every byte): load raises ModelFileError naming the file and leaves the model as it was, or (a flip
    in a field nothing reads, such as a timestamp) loads exactly the saved numbers. Nothing else escapes."""
    good = tmp_path / "good.npz"
    nn.MLP(2, [3, 1], seed=0).save(good)
    data, saved, before = good.read_bytes(), nn.MLP(2, [3, 1], seed=0).state_dict(), nn.MLP(2, [3, 1], seed=3)
    path, outcomes = tmp_path / "flipped.npz", {"error": 0, "loaded": 0}
    path.write_bytes(data)
    for pos in range(len(data)):
        for mask in {0xFF, 1 << (pos % 8), *FLIPS}:
            flipped = bytearray(data)
            flipped[pos] ^= mask
            with path.open("r+b") as f:  # written over, not truncated first: ext4 flushes a truncated file (3 ms)
                f.write(flipped)
            model = nn.MLP(2, [3, 1], seed=3)
            try:
                model.load(path)
            except ModelFileError as e:
                assert str(path) in str(e)
                expected, outcomes["error"] = before.state_dict(), outcomes["error"] + 1
            else:
                expected, outcomes["loaded"] = saved, outcomes["loaded"] + 1
            state = model.state_dict()
            assert all(np.array_equal(state[k], expected[k]) for k in expected), (pos, mask)
    assert outcomes["error"] > len(data) and outcomes["loaded"] > 0  # both kinds were met


def test_item19_the_flips_that_escaped_as_not_implemented_or_runtime_errors(tmp_path):
    """Found by flipping every bit: in a member's central directory entry, the version needed to extract, the flag
    bits for encryption, compressed patched data or strong encryption, and the compression method."""
    good = tmp_path / "good.npz"
    nn.MLP(2, [3, 1], seed=0).save(good)
    data = good.read_bytes()
    header = data.find(b"PK\x01\x02")  # the first central directory entry: version needed at +6, flags +8, method +10
    for offset, value, words in [
        (10, 1, "NotImplementedError: That compression method is not supported"),
        (6, 45 ^ 0x80, "NotImplementedError: zip file version 17.3"),
        (8, 0x20, "compressed patched data"),
        (8, 0x40, "strong encryption"),
        (8, 0x01, "RuntimeError: File 'layers.0.w.npy' is encrypted"),
    ]:
        broken = bytearray(data)
        broken[header + offset] = value
        path = tmp_path / f"broken{offset}-{value}.npz"
        path.write_bytes(bytes(broken))
        with pytest.raises(ModelFileError, match="is not a readable .npz model file") as e:
            nn.MLP(2, [3, 1], seed=3).load(path)
        assert str(path) in str(e.value) and words in str(e.value), str(e.value)


_XOR = data.xor()
_BAD_NUMBER_OF_POINTS = [
    (0, ValueError, "n must be an integer >= 2, got 0"),
    (-1, ValueError, "n must be an integer >= 2, got -1"),
    (2.5, TypeError, "n must be an integer, got float 2.5"),
    ("10", TypeError, "n must be an integer, got str '10'"),
    (True, TypeError, "n must be an integer, got bool True"),
    (None, TypeError, "n must be an integer, got NoneType None"),
]
_BAD_NOISE = [
    ("a", TypeError, "noise must be a real number, got str 'a'"),
    (None, TypeError, "noise must be a real number, got NoneType None"),
    (-1, ValueError, "noise must be >= 0, got -1.0"),
    (float("nan"), ValueError, "noise must be a finite number, got nan"),
    (float("inf"), ValueError, "noise must be a finite number, got inf"),
]
_BAD_SEED = [
    (-1, ValueError, "seed must be an integer >= 0, got -1"),
    (1.5, TypeError, "seed must be an integer, got float 1.5"),
    ("a", TypeError, "seed must be an integer, got str 'a'"),
]
_BAD_ARGUMENTS = [
    *[(make, {"n": v}, e, w) for make in ("moons", "circles", "spirals") for v, e, w in _BAD_NUMBER_OF_POINTS],
    *[(make, {"noise": v}, e, w) for make in ("moons", "circles", "spirals") for v, e, w in _BAD_NOISE],
    *[(make, {"seed": v}, e, w) for make in ("moons", "circles", "spirals") for v, e, w in _BAD_SEED],
    ("circles", {"factor": "a"}, TypeError, "factor must be a real number, got str 'a'"),
    ("circles", {"factor": 1}, ValueError, "factor must be between 0 and 1, got 1"),
    ("circles", {"factor": float("nan")}, ValueError, "factor must be a finite number, got nan"),
    ("spirals", {"classes": 1}, ValueError, "classes must be an integer >= 2, got 1"),
    ("spirals", {"classes": 2.0}, TypeError, "classes must be an integer, got float 2.0"),
    ("spirals", {"classes": "3"}, TypeError, "classes must be an integer, got str '3'"),
    ("spirals", {"n": 3, "classes": 5}, ValueError, r"n must be at least classes \(5\), so that every arm has a point"),
    ("gates", {"name": 5}, TypeError, "name must be a gate's name, one of and, or, nand, nor, xor, xnor, got int 5"),
    ("gates", {"name": ["and"]}, TypeError, "name must be a gate's name, one of and, .*, got list \\['and'\\]"),
    ("gates", {"name": "nxor"}, ValueError, "unknown gate 'nxor'; known: and, or, nand, nor, xor, xnor"),
    ("iris", {"binary": "yes"}, TypeError, "binary must be True or False, got str 'yes'"),
    ("iris", {"binary": 1}, TypeError, "binary must be True or False, got int 1"),
    ("train_test_split", {"test_fraction": "a"}, TypeError, "test_fraction must be a real number, got str 'a'"),
    ("train_test_split", {"test_fraction": 0}, ValueError, "test_fraction must be between 0 and 1, got 0"),
    ("train_test_split", {"test_fraction": float("nan")}, ValueError, "test_fraction must be a finite number"),
    ("train_test_split", {"test_fraction": 0.9}, ValueError, "holding out 4 of 4 rows .* leaves none to train on"),
    ("train_test_split", {"X": 1.0, "y": 1.0}, ValueError, r"X and y must be arrays of rows, got shapes \(\) and \(\)"),
    ("train_test_split", {"y": [0, 1, 1]}, ValueError, "X has 4 rows but y has 3 labels"),
    *[("train_test_split", {"seed": v}, e, w) for v, e, w in _BAD_SEED],
]


@pytest.mark.parametrize("name, kwargs, error, words", _BAD_ARGUMENTS)
def test_item19_every_bad_argument_of_every_data_function_is_named(name, kwargs, error, words):
    required = {"gates": {"name": "and"}, "train_test_split": {"X": _XOR[0], "y": _XOR[1]}}.get(name, {})
    with pytest.raises(error, match=words):
        getattr(data, name)(**{**required, **kwargs})


@pytest.mark.parametrize("name", ["moons", "circles", "spirals"])
def test_item19_good_arguments_of_other_types_still_work(name):
    X, y = getattr(data, name)(np.int64(12), noise=np.float32(0.1), seed=np.uint8(3))
    X2, y2 = getattr(data, name)(12, noise=0.1, seed=3)
    assert X.shape == (12, 2) and np.allclose(X, X2, atol=1e-7) and np.array_equal(y, y2)
    assert getattr(data, name)(10, seed=None)[0].shape == (10, 2)  # fresh randomness
