"""Building Values: what data is accepted, what the attributes say, and the errors for bad input."""

import numpy as np
import pytest

from tinygrad_edu import Value


def test_scalars_stay_python_floats():
    for data in (2.0, 2, np.float64(2.0), np.int32(2), np.array(2.0), True):
        v = Value(data)
        assert type(v.data) is float and v.shape == () and v.ndim == 0
    assert Value(2.0).data == 2.0


def test_arrays_become_float64_copies():
    src = np.arange(6, dtype=np.int64).reshape(2, 3)
    v = Value(src)
    assert v.data.dtype == np.float64 and v.shape == (2, 3) and v.ndim == 2
    src[0, 0] = 100
    assert v.data[0, 0] == 0.0  # a copy: the caller's array is not shared
    assert Value([[1, 2], [3, 4]]).shape == (2, 2)
    assert Value([True, False]).data.tolist() == [1.0, 0.0]


def test_attributes_of_leaves_and_results():
    a = Value(3.0, label="a")
    b = Value(4.0, label="b")
    c = a * b
    assert (a.label, a.op, a.parents, a.grad) == ("a", "", (), 0.0)
    assert c.op == "mul" and c.parents == (a, b) and c.label == ""
    t = Value(np.ones((2, 3)))
    assert np.array_equal(t.grad, np.zeros((2, 3)))  # zeros, same shape, before backward
    assert Value([[5.0]]).item() == 5.0 and c.item() == 12.0


def test_item_of_many_elements_is_an_error():
    with pytest.raises(ValueError, match=r"one element.*\(2,\)"):
        Value([1.0, 2.0]).item()


@pytest.mark.parametrize(
    "data, error, words",
    [
        ("abc", TypeError, "str 'abc'"),
        (None, TypeError, "NoneType None"),
        (1 + 2j, TypeError, "complex"),
        (np.array([1 + 1j]), TypeError, "complex"),
        ([[1, 2], [3]], ValueError, "ragged"),
        (["a", "b"], TypeError, "strings"),
        ([1, None], TypeError, "None"),
        ({"a": 1}, TypeError, "dict"),
    ],
)
def test_bad_data_is_named(data, error, words):
    with pytest.raises(error, match=words):
        Value(data)


def test_value_of_a_value_is_an_error():
    with pytest.raises(TypeError, match="got a Value"):
        Value(Value(1.0))


@pytest.mark.parametrize(
    "fn, words",
    [
        (lambda: Value(np.ones((2, 3))) + Value(np.ones(4)), r"add of shapes \(2, 3\) and \(4,\)"),
        (lambda: Value(np.ones((2, 3))) * np.ones((3, 2)), r"mul of shapes \(2, 3\) and \(3, 2\)"),
        (lambda: Value(np.ones((2, 3))) @ Value(np.ones((4, 5))), r"matmul of shapes \(2, 3\) and \(4, 5\)"),
        (lambda: Value(2.0) @ Value(3.0), r"matmul of shapes \(\) and \(\)"),
        (lambda: Value(np.ones((2, 3))).reshape(4), r"reshape of shapes \(2, 3\).*size 6"),
        (lambda: Value(np.ones((2, 3))).sum(axis=2), r"sum of shapes \(2, 3\).*axis 2"),
        (lambda: Value([-1.0, 2.0]) ** Value(0.5), r"base >= 0"),
        (lambda: Value(-2.0) ** Value(0.5), r"base >= 0"),
        (lambda: Value(1.0).clip(2.0, 1.0), r"lo <= hi"),
    ],
)
def test_shape_and_domain_errors_name_the_op_and_shapes(fn, words):
    with pytest.raises(ValueError, match=words):
        fn()


def test_type_errors_are_named():
    with pytest.raises(TypeError, match="exponent must be a real number or a Value, got str"):
        Value(2.0) ** "x"
    with pytest.raises(TypeError, match="indexing needs a Value with at least one dimension"):
        Value(2.0)[0]
    with pytest.raises(TypeError, match="softmax needs"):
        Value(2.0).softmax()
    with pytest.raises(TypeError, match="len"):
        len(Value(2.0))


def test_numbers_and_arrays_on_either_side():
    x = Value(np.array([1.0, 2.0]))
    for y in (np.array([3.0, 4.0]) + x, x + np.array([3.0, 4.0]), 1.0 + x, np.float64(1.0) * x):
        assert isinstance(y, Value)
    assert np.array_equal((np.ones((2, 2)) @ x).data, [3.0, 3.0])
    assert (2 ** Value(3.0)).data == 8.0 and (1 - Value(3.0)).data == -2.0 and (6 / Value(3.0)).data == 2.0


def test_python_float_arithmetic_follows_ieee_like_arrays():
    """1/0, log(0), exp(1000) give inf/nan like numpy does, instead of Python's exceptions."""
    with np.errstate(all="ignore"):
        for scalar, tensor in [
            (Value(1.0) / 0.0, Value([1.0]) / 0.0),
            (Value(0.0).log(), Value([0.0]).log()),
            (Value(1000.0).exp(), Value([1000.0]).exp()),
            (Value(-1.0).sqrt(), Value([-1.0]).sqrt()),
            (Value(0.0) ** -1, Value([0.0]) ** -1),
            (Value(-8.0) ** (1 / 3), Value([-8.0]) ** (1 / 3)),
        ]:
            assert type(scalar.data) is float
            np.testing.assert_equal(scalar.data, tensor.data[0])


def test_repr_shows_data_and_grad():
    a = Value(2.0, label="a")
    assert repr(a) == "Value(data=2.0, grad=0.0, label='a')"
    assert "shape=(2, 2)" in repr(Value(np.eye(2)))


def test_grad_can_be_set_and_cleared():
    v = Value(np.ones(3))
    v.grad = 1.0  # a number fills the shape
    assert np.array_equal(v.grad, np.ones(3))
    v.grad = None
    assert np.array_equal(v.grad, np.zeros(3))
    with pytest.raises(ValueError, match=r"grad of shape \(2,\) does not match Value of shape \(3,\)"):
        v.grad = [1.0, 2.0]
