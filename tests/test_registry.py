"""The op registry enrols every op in its own tests: each declares its domain and kinks, and is
gradient-checked (and compared with PyTorch) on hypothesis-drawn shapes and values inside its
domain, away from its kinks. An op registered without a test entry or declarations fails here."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_edu import Value, apply, functional, ops
from tinygrad_edu.testing import assert_gradients_match, floats_in, shapes_broadcastable

small = hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)
nonscalar = hnp.array_shapes(min_dims=1, max_dims=3, max_side=3)


@dataclass
class Spec:
    """How to draw a call of one op: its input shapes and ctx, and the same op in PyTorch."""

    draw: Callable  # draw(data) -> (shapes, ctx)
    torch: Callable | None  # torch(*tensors, **ctx), None where PyTorch has no such op


def _unary(data):
    return [data.draw(small)], {}


def _binary(data):
    return list(data.draw(shapes_broadcastable(2, max_dims=2, max_side=3))), {}


def _reduction(data):
    shape = data.draw(nonscalar)
    axis = data.draw(st.sampled_from([None, *range(-len(shape), len(shape))]))
    return [shape], {"axis": axis, "keepdims": data.draw(st.booleans())}


def _matmul(data):
    n, k, m = data.draw(st.tuples(*[st.integers(1, 3)] * 3))
    a = data.draw(st.sampled_from([(k,), (n, k), (2, n, k)]))
    b = data.draw(st.sampled_from([(k,), (k, m)]))
    return [a, b], {"needs": (True, True)}


def _softmax(data):
    shape = data.draw(nonscalar)
    return [shape], {"axis": data.draw(st.integers(-len(shape), len(shape) - 1))}


def _reshape(data):
    shape = data.draw(nonscalar)
    return [shape], {"shape": data.draw(st.sampled_from([(-1,), (1, -1), (int(np.prod(shape)), 1)]))}


def _transpose(data):
    shape = data.draw(nonscalar)
    return [shape], {"axes": data.draw(st.sampled_from([None, tuple(data.draw(st.permutations(range(len(shape)))))]))}


def _index(data):
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=4))
    index = data.draw(st.sampled_from([0, (slice(None), 1), (slice(0, 2), slice(None, None, 2)), [0, 0, 1],
                                       ([1, 0, 1], [1, 1, 0])]))  # fmt: skip
    return [shape], {"index": index}


def _cross_entropy(data):
    n, c = data.draw(st.integers(1, 4)), data.draw(st.integers(2, 4))
    return [(n, c)], {"labels": np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))}


def _tf():
    import torch.nn.functional as F

    return F


def _torch_max(x, axis, keepdims):
    dims = tuple(range(x.ndim)) if axis is None else axis
    return x.amax(dim=dims, keepdim=keepdims)


def _torch_sum(x, axis, keepdims):
    return x.sum(dim=tuple(range(x.ndim)) if axis is None else axis, keepdim=keepdims)


def _torch_mean(x, axis, keepdims):
    return x.mean(dim=tuple(range(x.ndim)) if axis is None else axis, keepdim=keepdims)


SPECS = {
    "Add": Spec(_binary, lambda a, b: a + b),
    "Sub": Spec(_binary, lambda a, b: a - b),
    "Mul": Spec(_binary, lambda a, b: a * b),
    "Div": Spec(_binary, lambda a, b: a / b),
    "Neg": Spec(_unary, lambda x: -x),
    "PowConst": Spec(lambda d: ([d.draw(small)], {"p": d.draw(st.sampled_from([2.0, 3.0, -1.0, 0.5, -1.5]))}),
                     lambda x, p: x**p),
    "Pow": Spec(_binary, lambda a, b: a**b),
    "MatMul": Spec(_matmul, lambda a, b, needs: a @ b),
    "Exp": Spec(_unary, lambda x: x.exp()),
    "Log": Spec(_unary, lambda x: x.log()),
    "Sqrt": Spec(_unary, lambda x: x.sqrt()),
    "Abs": Spec(_unary, lambda x: x.abs()),
    "Tanh": Spec(_unary, lambda x: x.tanh()),
    "Sigmoid": Spec(_unary, lambda x: x.sigmoid()),
    "ReLU": Spec(_unary, lambda x: x.relu()),
    "LeakyReLU": Spec(lambda d: ([d.draw(small)], {"alpha": d.draw(st.sampled_from([0.01, 0.2]))}),
                      lambda x, alpha: _tf().leaky_relu(x, alpha)),
    "Softplus": Spec(_unary, lambda x: _tf().softplus(x)),
    "GELU": Spec(_unary, lambda x: _tf().gelu(x, approximate="tanh")),
    "Step": Spec(_unary, None),  # PyTorch's heaviside has no gradient to compare
    "Clip": Spec(lambda d: ([d.draw(small)], {"lo": -1.0, "hi": 1.0}), lambda x, lo, hi: x.clip(lo, hi)),
    "Sum": Spec(_reduction, _torch_sum),
    "Mean": Spec(_reduction, _torch_mean),
    "Max": Spec(_reduction, _torch_max),
    "Reshape": Spec(_reshape, lambda x, shape: x.reshape(shape)),
    "Transpose": Spec(_transpose, lambda x, axes: x.permute(*(axes or reversed(range(x.ndim))))),
    "Index": Spec(_index, lambda x, index: x[index]),
    "Softmax": Spec(_softmax, lambda x, axis: x.softmax(axis)),
    "LogSoftmax": Spec(_softmax, lambda x, axis: x.log_softmax(axis)),
    "CrossEntropy": Spec(_cross_entropy, lambda z, labels: _tf().cross_entropy(z, z.new_tensor(labels).long())),
}  # fmt: skip


def test_every_registered_op_declares_its_domain_and_kinks():
    for name, op in ops.REGISTRY.items():
        assert "domain" in vars(op), f"{name} does not declare its domain"
        assert isinstance(op.domain, tuple) and len(op.domain) == op.arity, f"{name}: one Interval per input"
        assert all(isinstance(d, ops.Interval) for d in op.domain), name
        assert "kinks" in vars(op), f"{name} does not declare its kinks (None for a smooth op)"


def test_every_registered_op_has_a_test_entry():
    assert set(SPECS) == set(ops.REGISTRY)


def test_the_registry_covers_functional():
    """Every function in tinygrad_edu.functional is a registered op, and every registered op has a function."""
    assert {op.name for op in ops.REGISTRY.values()} == set(functional.__all__)


def _draw_inputs(data, op, shapes, ctx):
    xs = [data.draw(hnp.arrays(np.float64, s, elements=floats_in(op.domain[i]))) for i, s in enumerate(shapes)]
    if op.kinks is not None:  # away from the points where the op has no derivative
        assume(not any(np.any(m) for m in op.kinks(0.05, *xs, **ctx)))
    return [float(x) if x.ndim == 0 else x for x in xs]


@pytest.mark.parametrize("name", sorted(ops.REGISTRY))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_registered_op_gradients(name, data):
    op, spec = ops.REGISTRY[name], SPECS[name]
    shapes, ctx = spec.draw(data)
    xs = _draw_inputs(data, op, shapes, ctx)
    assert_gradients_match(lambda *vs: apply(op, *vs, **ctx), *[Value(x) for x in xs])
    if spec.torch is None:
        return
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")
    vs = [Value(x) for x in xs]
    out = apply(op, *vs, **ctx)
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    ref = spec.torch(*ts, **ctx)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = np.random.default_rng(0).normal(size=out.shape)
    out.backward(float(upstream) if out.shape == () else upstream)
    ref.backward(torch.tensor(upstream, dtype=torch.float64))
    for v, t in zip(vs, ts):
        np.testing.assert_allclose(v.grad, t.grad.numpy(), rtol=1e-10, atol=1e-12)
