"""Property tests over random shapes: broadcasting forward matches numpy, gradients keep input shapes."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays, mutually_broadcastable_shapes

from tinygrad_edu import Value, gradcheck

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: (np.ones_like(a * b), np.ones_like(a * b))),
    "sub": (lambda a, b: a - b, lambda a, b: (np.ones_like(a * b), -np.ones_like(a * b))),
    "mul": (lambda a, b: a * b, lambda a, b: (b + 0 * a, a + 0 * b)),
    "div": (lambda a, b: a / b, lambda a, b: (1 / b + 0 * a, -a / b**2)),
    "maximum": (
        lambda a, b: a.maximum(b) if isinstance(a, Value) else np.maximum(a, b),
        lambda a, b: (_wins(a, b), _wins(b, a)),
    ),
    "minimum": (
        lambda a, b: a.minimum(b) if isinstance(a, Value) else np.minimum(a, b),
        lambda a, b: (_wins(b, a), _wins(a, b)),
    ),
}


def _wins(a, b):
    """d max(a, b)/da: 1 where a is larger, 0 where smaller, 1/2 at a tie (as PyTorch's maximum)."""
    return np.where(a > b, 1.0, np.where(a == b, 0.5, 0.0))


finite = st.floats(-3, 3).map(lambda x: x if abs(x) > 0.25 else 0.25 + abs(x))  # away from 0, for div


def _pair(draw, shapes):
    a = draw(arrays(np.float64, shapes.input_shapes[0], elements=finite))
    b = draw(arrays(np.float64, shapes.input_shapes[1], elements=finite))
    return a, b


@st.composite
def broadcast_pairs(draw):
    shapes = draw(mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
    return _pair(draw, shapes)


def _unbroadcast(g, shape):
    """The reference for summing a broadcast gradient back: sum over each broadcast axis."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1:
            g = g.sum(axis=i, keepdims=True)
    return g


@settings(max_examples=60, deadline=None)
@given(pair=broadcast_pairs(), name=st.sampled_from(sorted(BINARY)))
def test_broadcasting_forward_and_gradient_shapes(pair, name):
    op, local = BINARY[name]
    a, b = pair
    va, vb = Value(a), Value(b)
    out = op(va, vb)
    np.testing.assert_allclose(out.data, op(a, b), rtol=1e-12)
    assert out.shape == np.broadcast_shapes(a.shape, b.shape)
    out.sum().backward()
    assert np.shape(va.grad) == a.shape and np.shape(vb.grad) == b.shape
    da, db = local(a, b)  # d out / d a and d out / d b, in the broadcast shape
    np.testing.assert_allclose(va.grad, _unbroadcast(np.broadcast_to(da, out.shape), a.shape), rtol=1e-12)
    np.testing.assert_allclose(vb.grad, _unbroadcast(np.broadcast_to(db, out.shape), b.shape), rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(pair=broadcast_pairs())
def test_gradcheck_on_random_broadcast_shapes(pair):
    a, b = pair
    gradcheck(lambda a, b: (a * b + a / b).tanh(), Value(a), Value(b))


@settings(max_examples=40, deadline=None)
@given(
    x=arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3)), elements=finite),
    axis=st.sampled_from([None, 0, 1, 2, -1, (0, 2)]),
    keepdims=st.booleans(),
    reduce=st.sampled_from(["sum", "mean", "var"]),
)
def test_reductions_keep_numpy_shapes_and_gradients(x, axis, keepdims, reduce):
    ours = {"correction": 0} if reduce == "var" else {}  # var of one element needs correction 0 (numpy's ddof=0)
    v = Value(x)
    out = getattr(v, reduce)(axis=axis, keepdims=keepdims, **ours)
    expected = getattr(np, reduce)(x, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-14)
    gradcheck(lambda v: getattr(v, reduce)(axis=axis, keepdims=keepdims, **ours), v)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 3),
    k=st.integers(1, 3),
    m=st.integers(1, 3),
    batch=st.sampled_from([(), (2,), (1,), (2, 1)]),
    vector_a=st.booleans(),
    vector_b=st.booleans(),
)
def test_matmul_shapes_match_numpy(n, k, m, batch, vector_a, vector_b):
    rng = np.random.default_rng(n * 100 + k * 10 + m)
    a = rng.normal(size=(k,) if vector_a else batch + (n, k))
    b = rng.normal(size=(k,) if vector_b else (k, m))
    out = Value(a) @ Value(b)
    assert out.shape == np.shape(a @ b)
    gradcheck(lambda a, b: a @ b, Value(a), Value(b))
