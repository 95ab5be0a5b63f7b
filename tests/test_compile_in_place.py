"""compile's in-place rewrite: a gradient that adds up several contributions (a node used again) adds into its
own array (``g_x += c``) only when that array is one the code made and nothing else holds; a gradient passed
on from another node, or the user's own array, is never changed in place."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tinygrad_edu import Value, compile


def _grads_eager_and_compiled(fn, leaves):
    """The leaves' gradients from eager backward, and from the compiled step's second (compiled) call."""
    fn().backward()
    eager = [np.array(v.grad) for v in leaves]
    step = compile(fn)
    step()  # the trace, eagerly
    for v in leaves:
        v.zero_grad()
    step()
    return eager, [np.array(v.grad) for v in leaves], step


def _in_place(source: str) -> list[str]:
    return re.findall(r"^\s+(\w+) \+= ", source, flags=re.M)


def test_a_gradient_made_by_the_code_adds_the_next_contribution_in_place():
    w = Value(np.array([0.5, -1.0, 2.0]), label="w")
    x, y = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 4.0])
    eager, compiled, step = _grads_eager_and_compiled(lambda: ((w * x) * y).sum() + (w * y).sum(), [w])
    assert _in_place(step.source) == ["g_w"]  # its first contribution, a product, is an array of the code's own
    np.testing.assert_array_equal(compiled[0], eager[0])


def test_a_gradient_passed_on_unchanged_is_not_added_into_in_place():
    """(w + v)'s gradient is passed to both w and v as one array; w's second contribution must not change v's."""
    w = Value(np.array([0.5, -1.0, 2.0]), label="w")
    v = Value(np.array([1.5, 0.25, -2.0]), label="v")
    x, y = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 4.0])
    eager, compiled, step = _grads_eager_and_compiled(lambda: (w * y).sum() + ((w + v) * x).sum(), [w, v])
    assert re.search(r"^\s+g_w = g_\w+  # add", step.source, flags=re.M)  # w's first gradient is (w + v)'s
    assert _in_place(step.source) == []
    for got, want in zip(compiled, eager):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(v.grad, x)  # not x + y: v's gradient was not changed through w's


def test_the_users_arrays_are_never_added_into():
    """A contribution that is the user's own array (x * 1.0 is x) is not a place to add the next one into."""
    w = Value(np.array([0.5, -1.0, 2.0]), label="w")
    x, y = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 4.0])
    kept = x.copy(), y.copy()
    eager, compiled, step = _grads_eager_and_compiled(lambda: (w * x).sum() * 1.0 + (w * y).sum(), [w])
    np.testing.assert_array_equal(compiled[0], eager[0])
    step()
    np.testing.assert_array_equal(x, kept[0])
    np.testing.assert_array_equal(y, kept[1])


def test_scalar_gradients_are_plain_sums():
    """Python floats are not arrays: a scalar graph's gradients add up as g_x = g_x + c."""
    a = Value(1.5, label="a")
    eager, compiled, step = _grads_eager_and_compiled(lambda: a * 3.0 + a * a, [a])
    assert _in_place(step.source) == []
    assert compiled[0] == eager[0]


def test_slices_of_a_gradient_still_zero_are_assigned_and_overlapping_ones_added():
    """x[a:b]'s gradient is zeros but for one slice: the first is written ``g_x[a:b] = c`` into np.zeros, each
    later slice that no line has set yet is assigned too (0 + c is c), and one that overlaps is added."""
    x = Value(np.array([0.5, -1.0, 2.0, 3.0, -0.25, 1.5]), label="x")
    a, b, c = np.array([1.0, 2.0]), np.array([3.0, -1.0]), np.array([0.5, 4.0, 2.0])
    fn = lambda: (x[0:2] * a).sum() + (x[4:6] * b).sum() + (x[1:4] * c).sum()  # noqa: E731
    eager, compiled, step = _grads_eager_and_compiled(fn, [x])
    assert re.findall(r"^\s+g_x\[([\d:]+)\] (\+?=) ", step.source, flags=re.M) == [
        ("1:4", "="),
        ("4:6", "="),
        ("0:2", "+="),
    ]  # (backward runs from the last use: x[1:4] first)
    np.testing.assert_array_equal(compiled[0], eager[0])


@pytest.mark.parametrize(
    "pick", [lambda w: w[0] * 2.0, lambda w: w[1] * w[-1], lambda w: (w.reshape(2, 2)[1, 0] + w[2:]).sum()]
)
def test_a_compiled_step_that_picks_single_elements_equals_eager(pick):
    """Index's backward at an integer index assigns one number: on compile's symbols it is written as a call."""
    w = Value(np.array([1.0, 2.0, 3.0, 4.0]))
    step = compile(lambda: pick(w))
    for _ in range(2):
        w.zero_grad()
        loss = step()
        compiled = w.grad.copy()
        w.zero_grad()
        eager = pick(w)
        eager.backward()
        assert loss.item() == eager.item()
        np.testing.assert_array_equal(compiled, w.grad)
