"""The op registry enrols every op in its own tests: each declares its domain and kinks, and is
gradient-checked (and compared with PyTorch) on hypothesis-drawn shapes and values inside its
domain, away from its kinks. An op registered without a test entry or declarations fails here."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.op_table import CASES, SPECS, draw_inputs
from tinygrad_edu import Value, apply, engine, functional, ops
from tinygrad_edu.testing import assert_gradients_match


def test_every_registered_op_declares_its_domain_and_kinks():
    for name, op in ops.REGISTRY.items():
        assert "domain" in vars(op), f"{name} does not declare its domain"
        assert isinstance(op.domain, tuple) and len(op.domain) == op.arity, f"{name}: one Interval per input"
        assert all(isinstance(d, ops.Interval) for d in op.domain), name
        assert "kinks" in vars(op), f"{name} does not declare its kinks (None for a smooth op)"


def test_every_registered_op_has_a_test_entry():
    assert set(SPECS) == set(ops.REGISTRY)


def test_every_registered_op_appears_in_a_fixed_case():
    """Each op is reached by at least one of the fixed cases that test_ops.py runs (found in their graphs)."""
    used = set()
    for case in CASES:
        out = case.ours(*[Value(x) for x in case.inputs])
        used |= {node._operation.__name__ for node in engine.toposort(out) if node._operation is not None}
    assert set(ops.REGISTRY) <= used, f"no fixed case reaches {sorted(set(ops.REGISTRY) - used)}"


def test_the_registry_covers_functional():
    """Every function in tinygrad_edu.functional is a registered op, and every registered op has a function; but
    stack (cat of its inputs, each reshaped to a new axis of length 1), dropout (a product with a constant mask),
    embedding (Index: weight[indices]), conv1d (conv2d on images one pixel high) and flatten (a reshape)."""
    not_ops = {"stack", "dropout", "embedding", "conv1d", "flatten"}
    assert {op.name for op in ops.REGISTRY.values()} == set(functional.__all__) - not_ops


@pytest.mark.parametrize("name", sorted(ops.REGISTRY))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_registered_op_gradients(name, data):
    op, spec = ops.REGISTRY[name], SPECS[name]
    shapes, ctx = spec.draw(data)
    xs = draw_inputs(data, op, shapes, ctx)
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
