"""Corners of the engine where it was once silently wrong or needlessly refused: negative axes,
wrong-shaped gradients, one-element results, edge shapes, x**0 at 0, shared gradient arrays,
Python's and numpy's manners, and grad mode per thread."""

import threading

import numpy as np
import pytest

from tinygrad_edu import Value, apply, detect_anomaly, nn, no_grad
from tinygrad_edu.engine import is_grad_enabled, record_sites
from tinygrad_edu.ops import REAL, Op

# ---------------------------------------------------------------- 1. axes counted from the end


def test_transpose_with_negative_axes_gives_the_right_gradient():
    x = Value(np.ones((2, 2)))
    (x.transpose(-1, 0) * np.array([[1.0, 2], [3, 4]])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1, 3], [2, 4]])  # PyTorch's answer


@pytest.mark.parametrize("axes", [(-1, 0, 1), (2, -3, -2), (-2, -1, -3), [1, 2, 0]])
def test_transpose_three_axes_any_sign(axes):
    rng = np.random.default_rng(0)
    x, w = Value(rng.normal(size=(2, 3, 4))), rng.normal(size=(2, 3, 4))
    y = x.transpose(*axes)
    normal = tuple(a % 3 for a in axes)
    np.testing.assert_array_equal(y.data, np.transpose(x.data, normal))
    (y * np.transpose(w, normal)).sum().backward()
    np.testing.assert_allclose(x.grad, w)


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [-1, -2, (0, -1), [0, 1], (-1, -2)])
def test_reductions_with_negative_list_and_tuple_axes(name, axis):
    data = np.arange(12.0).reshape(3, 4)
    x = Value(data)
    out = getattr(x, name)(axis=axis)
    ref_axis = tuple(axis) if isinstance(axis, list) else axis
    np.testing.assert_allclose(out.data, getattr(np, name)(data, axis=ref_axis))
    out.sum().backward()
    assert x.grad.shape == data.shape and np.isfinite(x.grad).all()


@pytest.mark.parametrize("axis", [-1, -2, 0, 1])
def test_softmax_negative_axis_matches_positive(axis):
    data = np.random.default_rng(1).normal(size=(3, 4))
    a, b = Value(data), Value(data)
    w = np.arange(12.0).reshape(3, 4)
    (a.softmax(axis) * w).sum().backward()
    (b.softmax(axis % 2) * w).sum().backward()
    np.testing.assert_allclose(a.grad, b.grad)
    (a.log_softmax(axis) * w).sum().backward()
    (b.log_softmax(axis % 2) * w).sum().backward()
    np.testing.assert_allclose(a.grad, b.grad)


# ---------------------------------------------------------------- 2. wrong-shaped gradients are errors


class WrongShape(Op):
    """Doubles x, but its backward returns the transpose of the right gradient."""

    name, domain, kinks = "wrong_shape", (REAL,), None

    @staticmethod
    def forward(x):
        return 2 * x

    @staticmethod
    def backward(g, out, x):
        return 2 * g.T


class Stretches(Op):
    """x + 1, but its backward returns one number for an array input (not a broadcast of its shape)."""

    name, domain, kinks = "stretches", (REAL,), None

    @staticmethod
    def forward(x):
        return x + 1

    @staticmethod
    def backward(g, out, x):
        return float(np.sum(g))


def test_a_backward_of_the_wrong_shape_is_an_error_naming_op_input_and_shapes():
    x = Value(np.ones((2, 3)), label="x")
    with pytest.raises(ValueError, match=r"wrong_shape.*input 0 \(x\).*\(3, 2\).*\(2, 3\)"):
        apply(WrongShape, x).sum().backward()


def test_a_backward_that_needs_stretching_is_an_error():
    x = Value(np.ones(3), label="x")
    with pytest.raises(ValueError, match=r"stretches.*\(\) is not a broadcast of the input's shape \(3,\)"):
        apply(Stretches, x).sum().backward()


def test_broadcast_gradients_are_still_summed_back():
    a, b = Value(np.ones((3, 1))), Value(np.ones(4))
    (a * b).sum().backward()
    np.testing.assert_array_equal(a.grad, np.full((3, 1), 4.0))
    np.testing.assert_array_equal(b.grad, np.full(4, 3.0))


# ---------------------------------------------------------------- 3. grad mode per thread


def test_no_grad_in_one_thread_does_not_switch_off_another():
    inside, done = threading.Event(), threading.Event()

    def hold():
        with no_grad():
            inside.set()
            done.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert inside.wait(5)
        x = Value(3.0)
        y = x * x
        y.backward()
        assert is_grad_enabled() and x.grad == 6.0
    finally:
        done.set()
        t.join()


def test_a_new_thread_starts_with_grad_enabled_even_inside_no_grad():
    seen = []
    with no_grad():
        t = threading.Thread(target=lambda: seen.append((Value(2.0) * Value(3.0)).requires_grad))
        t.start()
        t.join()
        assert not (Value(2.0) * Value(3.0)).requires_grad
    assert seen == [True]


def test_anomaly_and_sites_are_per_thread_too():
    results = []

    def other():
        with np.errstate(invalid="ignore"):
            y = Value(np.array([-1.0])).log()  # nan, but this thread is not in anomaly mode
        results.append((y.site, bool(np.isnan(y.data).all())))

    with detect_anomaly():
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert results == [(None, True)]


def test_one_no_grad_object_can_be_entered_again_and_nested():
    block = no_grad()
    with block:
        assert not is_grad_enabled()
        with block:
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()
    with block:
        assert not (Value(1.0) + 1).requires_grad
    assert (Value(1.0) + 1).requires_grad


def test_no_grad_as_a_decorator_with_and_without_parentheses():
    @no_grad()
    def f(x):
        return x * 2

    @no_grad
    def g(x):
        return x * 3

    assert f.__name__ == "f"
    assert not f(Value(1.0)).requires_grad and not g(Value(1.0)).requires_grad
    assert (Value(1.0) * 2).requires_grad


def test_modes_come_back_after_an_exception():
    with pytest.raises(RuntimeError), record_sites():
        raise RuntimeError("boom")
    assert (Value(1.0) * 2).site is None


# ---------------------------------------------------------------- 4. one-element results


@pytest.mark.parametrize("shape", [(1,), (1, 1), (1, 1, 1)])
def test_backward_on_any_one_element_result(shape):
    x = Value(np.full(shape, 3.0))
    (x * x).backward()
    np.testing.assert_array_equal(x.grad, np.full(shape, 6.0))


def test_backward_from_an_mlp_with_one_output():
    model = nn.MLP(2, [4, 1], seed=0)
    out = model(np.array([1.0, 0.0]))
    assert out.shape == (1,)
    out.backward()
    assert all(np.any(p.grad != 0) for p in model.parameters())


def test_backward_on_many_elements_still_needs_grad():
    with pytest.raises(ValueError, match=r"non-scalar Value of shape \(2,\) needs grad="):
        Value(np.ones(2)).backward()


# ---------------------------------------------------------------- 6. Python and numpy manners


@pytest.mark.parametrize("data, truth", [(0.0, False), (2.0, True), (np.array([0.0]), False), ([[3.0]], True)])
def test_bool_of_one_element(data, truth):
    assert bool(Value(data)) is truth


def test_bool_of_many_elements_is_ambiguous():
    with pytest.raises(ValueError, match=r"bool\(\) needs a Value with one element.*\(2,\)"):
        bool(Value([1.0, 2.0]))


def test_float_int_and_format_of_one_element():
    v = Value(np.array([[2.75]]))
    assert float(v) == 2.75 and int(v) == 2 and format(v, ".3f") == "2.750" and f"{Value(1.5):>6.2f}" == "  1.50"
    assert format(v) == str(v)
    with pytest.raises(ValueError, match=r"float\(\) needs a Value with one element"):
        float(Value([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"format '\.2f' needs a Value with one element"):
        format(Value([1.0, 2.0]), ".2f")


def test_numpy_asarray_gives_the_data_as_a_copy():
    v = Value(np.array([1.0, 2.0]))
    a = np.asarray(v)
    assert a.dtype == np.float64 and a.tolist() == [1.0, 2.0]
    a[0] = 9.0
    assert v.data[0] == 1.0
    assert np.asarray(Value(2.0)).shape == () and np.asarray(Value(2.0), dtype=np.float32).dtype == np.float32


def test_a_list_of_values_cannot_silently_become_data():
    with pytest.raises(TypeError, match="holding Values.*graph cut"):
        Value([Value(1.0), Value(2.0)])
    with pytest.raises(TypeError, match="holding Values"):
        Value([[1.0], [Value(2.0)]])


# ---------------------------------------------------------------- 7. edge shapes


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [0, -1, (0,)])
def test_reducing_a_scalar_over_axis_0_is_the_scalar(name, axis):
    x = Value(2.0)
    out = getattr(x, name)(axis=axis)
    assert out.data == 2.0
    out.backward()
    assert x.grad == 1.0


def test_reducing_a_scalar_over_axis_1_is_an_error():
    with pytest.raises(ValueError, match="axis 1 is out of range"):
        Value(2.0).sum(axis=1)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_mean_of_an_empty_array_is_nan_with_an_empty_gradient(axis):
    x = Value(np.zeros((0, 3)))
    with np.errstate(all="raise"):  # no warnings either
        out = x.mean(axis=axis)
        out.sum().backward()
    expected = {None: np.nan, 0: np.full(3, np.nan), 1: np.zeros(0)}[axis]  # as PyTorch's mean
    np.testing.assert_array_equal(out.data, expected)
    assert x.grad.shape == (0, 3)


def test_sum_and_softmax_of_zero_size_arrays():
    x = Value(np.zeros((3, 0)))
    s = x.softmax()
    assert s.shape == (3, 0)
    s.sum().backward()
    assert x.grad.shape == (3, 0)
    y = Value(np.zeros((0, 4)))
    y.log_softmax(axis=1).sum().backward()
    assert y.grad.shape == (0, 4)


def test_max_of_an_empty_array_is_a_clear_error():
    with pytest.raises(ValueError, match=r"max of shapes \(0, 3\)"):
        Value(np.zeros((0, 3))).max()


# ---------------------------------------------------------------- 8. x**0 and abs at nan


@pytest.mark.parametrize("data", [0.0, np.array([0.0, 1.0, -2.0])])
def test_x_to_the_zero_has_zero_gradient_everywhere(data):
    x = Value(data)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros_like(data))


def test_abs_at_nan_has_gradient_0_for_floats_and_arrays_as_in_pytorch():
    a, b = Value(float("nan")), Value(np.array([float("nan"), 0.0, -2.0]))
    a.abs().backward()
    b.abs().sum().backward()
    assert a.grad == 0.0 and b.grad.tolist() == [0.0, 0.0, -1.0]


# ---------------------------------------------------------------- 9. every node's gradient is its own


def test_non_leaf_gradients_do_not_share_one_array():
    x = Value(np.ones(3))
    a, b = x * 2.0, x * 3.0
    s = a + b
    s.sum().backward()
    assert a.grad is not b.grad and a.grad is not s.grad
    a.grad[0] = 100.0
    assert b.grad[0] == 1.0 and s.grad[0] == 1.0


def test_reshape_and_transpose_gradients_are_not_views_of_the_output_gradient():
    x = Value(np.ones((2, 3)))
    t = x.transpose()
    r = t.reshape(6)
    r.sum().backward()
    t.grad[0, 0] = 7.0
    assert r.grad[0] == 1.0 and x.grad[0, 0] == 1.0


# ---------------------------------------------------------------- found by the fuzz: blocked units pass nothing


def test_relu_and_clip_block_a_nan_upstream_where_they_block_the_gradient():
    """relu below 0 and clip outside its bounds select 0, as PyTorch does, rather than multiply
    by 0 (nan * 0 = nan would leak into inputs the op had blocked)."""
    x = Value(np.array([-1.0, 2.0]))
    y = Value(np.array([-3.0, 0.5]))
    with np.errstate(all="ignore"):
        (x.relu() * np.inf).sum().backward()  # upstream inf * 0 data = nan at the blocked unit
        (y.clip(-1.0, 1.0) * np.array([np.nan, 1.0])).sum().backward()
    assert x.grad[0] == 0.0 and y.grad[0] == 0.0 and y.grad[1] == 1.0


def test_relu_at_nan_passes_the_gradient_as_pytorch_does():
    x = Value(float("nan"))
    x.relu().backward()
    assert x.grad == 1.0
