"""Helpers for your own gradient tests: an assertion, and hypothesis strategies for Values and shapes.

    from hypothesis import given
    from tinygrad_edu.testing import assert_gradients_match, values

    @given(values(shape=(3,)))
    def test_my_op(x):
        assert_gradients_match(lambda x: my_op(x).sum(), x)

``assert_gradients_match`` works on a plain install; the strategies (``floats_in``, ``values``,
``shapes_broadcastable``) need hypothesis (in the ``dev`` extra) and say so when it is missing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinygrad_edu.domains import REAL, Interval
from tinygrad_edu.engine import Value
from tinygrad_edu.gradcheck import GradcheckReport, gradcheck

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError:  # a plain install: the assertion works, the strategies refuse (_needs_hypothesis)
    st = hnp = None


def _needs_hypothesis(name: str) -> None:
    if st is None:
        raise ImportError(
            f"tinygrad_edu.testing.{name} needs hypothesis: pip install hypothesis (assert_gradients_match does not)"
        )


def assert_gradients_match(
    fn: Callable[..., Value], *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3
) -> GradcheckReport:
    """``gradcheck`` for tests: raises an AssertionError naming the input, element and wrong op."""
    __tracebackhide__ = True  # pytest shows the caller's line, not this one
    return gradcheck(fn, *inputs, eps=eps, atol=atol, rtol=rtol)


def floats_in(domain: Interval = REAL, margin: float = 0.1, bound: float = 3.0) -> st.SearchStrategy[float]:
    """Floats inside ``domain`` (at least ``margin`` from its edges and from 0 if it excludes 0), |x| <= bound."""
    _needs_hypothesis("floats_in")
    lo = max(domain.lo + (margin if domain.lo > -np.inf else 0.0), -bound)
    hi = min(domain.hi - (margin if domain.hi < np.inf else 0.0), bound)
    numbers = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    return numbers.filter(lambda x: abs(x) >= margin) if domain.nonzero else numbers


def values(
    shape=(),
    elements: st.SearchStrategy[float] | Interval | None = None,
    label: str = "",
    requires_grad: bool = True,
) -> st.SearchStrategy[Value]:
    """Values of the given shape (a tuple or a strategy of tuples; () for a scalar) whose numbers come
    from ``elements``: a strategy of floats or an ``Interval`` (default: floats in [-3, 3])."""
    _needs_hypothesis("values")
    if elements is None or isinstance(elements, Interval):
        elements = floats_in(elements or REAL)
    shapes = shape if isinstance(shape, st.SearchStrategy) else st.just(tuple(shape))
    arrays = shapes.flatmap(lambda s: hnp.arrays(np.float64, s, elements=elements))
    return arrays.map(lambda a: Value(a, label=label, requires_grad=requires_grad))


def shapes_broadcastable(
    num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3, max_side: int = 4
) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """Tuples of ``num_shapes`` shapes that broadcast together, as numpy's rules allow."""
    _needs_hypothesis("shapes_broadcastable")
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side
    ).map(lambda b: b.input_shapes)
