"""Every op, two ways: against central finite differences (our gradcheck) and against PyTorch."""

import numpy as np
import pytest

from tests.op_table import CASES
from tinygrad_edu import Value, gradcheck

pytestmark = pytest.mark.filterwarnings("error")  # an op that warns on in-domain inputs is a bug


def _values(case):
    return [Value(x, label=f"in{i}") for i, x in enumerate(case.inputs)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gradcheck(case):
    report = gradcheck(case.ours, *_values(case))
    assert report.max_abs_error < 1e-6


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_results_are_python_floats_or_float64_arrays(case):
    out = case.ours(*_values(case))
    if out.shape == ():
        assert type(out.data) is float
    else:
        assert type(out.data) is np.ndarray and out.data.dtype == np.float64


@pytest.mark.parametrize("case", [c for c in CASES if c.torch is not None], ids=lambda c: c.id)
def test_against_torch(case):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")
    ours_in = _values(case)
    out = case.ours(*ours_in)
    theirs_in = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in case.inputs]
    ref = case.torch(*theirs_in)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-14, err_msg="forward")
    upstream = np.random.default_rng(7).normal(size=out.shape)
    out.backward(float(upstream) if out.shape == () else upstream)
    ref.backward(torch.tensor(upstream, dtype=torch.float64))
    for i, (v, t) in enumerate(zip(ours_in, theirs_in)):
        expected = t.grad.numpy() if t.grad is not None else np.zeros(v.shape)
        assert np.shape(v.grad) == v.shape
        np.testing.assert_allclose(v.grad, expected, rtol=1e-10, atol=1e-14, err_msg=f"grad of input {i}")


@pytest.mark.parametrize("s", [(), (5,), (2, 3)])
def test_step_has_zero_gradient(s):
    """The step function cannot be trained through: its derivative is 0 wherever it exists."""
    x = Value(np.linspace(-1, 1, int(np.prod(s))).reshape(s) + 0.05 if s else 0.3)
    y = x.step()
    assert np.array_equal(y.data, (np.asarray(x.data) >= 0).astype(float))
    (y * 3.0).sum().backward()
    assert np.all(x.grad == 0)
