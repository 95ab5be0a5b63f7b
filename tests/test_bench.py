"""The bench must keep running (no timing asserts here: speed is measured by bench/run.py itself)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = [
    "1 scalar moons",
    "2 scalar XOR",
    "3 tensor moons",
    "4 tensor XOR",
    "5 digits",
    "7 CNN on digits",
    "8 LSTM",
]


def test_bench_quick_runs_and_prints_its_table():
    """The script as users run it, every workload against every peer, eager and compiled, each row's loss checked
    against the peer's; --quick makes each small (10 moons points, 2 steps), which runs the same code: 5 s, not 21."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "ours/peer" in out and "6 chain of n ops" in out
    for workload in WORKLOADS:
        assert workload in out
    assert "NO:" not in out  # every peer that ran reached the same final loss
    assert out.count("numpy by hand") == 8  # digits, the CNN and the LSTM eager, and every tensor workload compiled
    assert out.count("bare engine") == 4  # the yardstick for the scalar workloads, eager and compiled
    for workload in WORKLOADS:
        compiled = [line for line in out.splitlines() if line.startswith(workload) and " compiled " in line]
        assert any(" ours eager " in line for line in compiled), workload  # compiled against eager, every workload
        assert all(line.split()[-3].replace(".", "").isdigit() for line in compiled if "skipped" not in line)


def test_bench_cnn_runs_alone_and_fails_on_a_different_loss():
    """--only 7 runs the CNN alone (ours eager and compiled, PyTorch, the numpy floor), every row reaching its
    peer's loss; and a floor made to reach another loss (by 1e-3) makes the run fail, not only print NO."""
    script = (
        "import sys; sys.path.insert(0, 'bench'); import run\n"
        "honest = run.main(['--quick', '--only', '7'])\n"
        "floor = run.cnn_numpy\n"
        "run.cnn_numpy = lambda *args: floor(*args) + 1e-3\n"
        "print('exit codes', honest, run.main(['--quick', '--only', '7']))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "exit codes 0 1" in out
    assert "1 scalar moons" not in out and "5 digits" not in out and "6 chain" not in out  # the CNN alone
    rows = [line for line in out.splitlines() if line.startswith("7 CNN on digits")]
    assert len(rows) == 2 * 5  # eager: pytorch, numpy; compiled: numpy, pytorch, ours eager (twice: honest, not)
    assert all("yes (" in line or "skipped" in line for line in rows[:5])
    assert sum("NO:" in line for line in rows[5:]) == 2  # the floor's rows, eager and compiled
    assert "reached a different loss" in result.stderr
