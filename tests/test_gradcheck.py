"""gradcheck itself: it passes correct gradients, catches wrong ones and says exactly where."""

import numpy as np
import pytest

from tests.planted import Cube as RightCube
from tests.planted import WrongCube
from tinygrad_edu import GradcheckError, Value, apply, check_graph, gradcheck, numerical_grad


def test_gradcheck_error_is_an_assertion_error():
    assert issubclass(GradcheckError, AssertionError)


def test_catches_a_wrong_derivative_and_names_input_and_element():
    x = Value([[1.0, 2.0], [3.0, 4.0]], label="x")
    y = Value(0.5, label="y")
    with pytest.raises(GradcheckError) as err:
        gradcheck(lambda x, y: (apply(WrongCube, x) * y).sum(), x, y)
    msg = str(err.value)
    # worst element: x = 4, analytic 2*16*0.5 = 16, numeric 3*16*0.5 = 24
    assert "input 0 (x, shape (2, 2)), element (1, 1)" in msg
    assert "analytic 16, numeric 24" in msg
    assert "abs error 8" in msg and "rel error 0.333" in msg
    assert "4 of 4 elements off" in msg
    assert "input 1" not in msg  # y's gradient is right


def test_names_the_output_element_for_non_scalar_outputs():
    x = Value([1.0, 2.0], label="x")
    with pytest.raises(GradcheckError, match=r"element \(1,\) of output element \(1,\)"):
        gradcheck(lambda x: apply(WrongCube, x), x)


def test_passes_a_right_derivative_and_reports_errors():
    x = Value(np.linspace(0.5, 2.0, 6).reshape(2, 3), label="x")
    report = gradcheck(lambda x: apply(RightCube, x).sum(), x)
    assert report.max_abs_error < 1e-7 and report.inputs[0].mismatches == 0
    assert "gradcheck passed" in str(report) and "input 0 (x, shape (2, 3))" in str(report)


def test_nan_gradient_is_a_failure():
    class NanGrad(RightCube):
        @staticmethod
        def backward(g, out, x):
            return g * np.nan

    with pytest.raises(GradcheckError, match="analytic nan"):
        gradcheck(lambda x: apply(NanGrad, x), Value(1.0))


def test_numerical_grad_values_and_layout():
    x = Value([1.0, 2.0, 3.0])
    (gx,) = numerical_grad(lambda x: (x * x).sum(), x)
    np.testing.assert_allclose(gx, [2.0, 4.0, 6.0], rtol=1e-8)
    (jac,) = numerical_grad(lambda x: x * x, x)  # Jacobian: output shape + input shape
    np.testing.assert_allclose(jac, np.diag([2.0, 4.0, 6.0]), atol=1e-8)
    (d,) = numerical_grad(lambda s: s.tanh(), Value(0.0))
    assert isinstance(d, float) and abs(d - 1.0) < 1e-9


def test_inputs_are_left_as_they_were():
    x = Value(np.array([[1.0, 2.0]]))
    before = x.data.copy()
    gradcheck(lambda x: (x.T @ x).sum(), x)
    assert np.array_equal(x.data, before) and np.array_equal(x.grad, np.zeros((1, 2)))


def test_plain_numbers_and_constants():
    gradcheck(lambda a, b: a * b, 2.0, np.array([1.0, 3.0]))  # become Values that are checked
    k = Value(3.0, requires_grad=False)
    (gx, gk) = numerical_grad(lambda x, k: x * k, Value(2.0), k)
    assert gk is None and abs(gx - 3.0) < 1e-8


def test_fn_must_return_a_value():
    with pytest.raises(TypeError, match="fn must return a Value, it returned float"):
        gradcheck(lambda x: 1.0, Value(1.0))


def test_transposed_and_fortran_ordered_data_are_perturbed_for_real():
    """A transposed array copied keeps its column-major layout, whose flat reshape is a copy: perturbing
    that copy changed nothing, and every derivative through W.T read as 0 (found porting a tutorial)."""
    X = Value(np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), requires_grad=False)
    W = Value(np.random.default_rng(0).normal(size=(4, 2)))
    report = check_graph((X @ W.T).tanh().sum())
    assert [c.status for c in report.ops] == ["pass"] * 4, str(report)
    F = Value(np.asfortranarray(np.random.default_rng(1).normal(size=(3, 2))))
    gradcheck(lambda f: (f * f).sum(), F)
    assert np.allclose(numerical_grad(lambda f: (f * f).sum(), F)[0], 2 * F.data)
