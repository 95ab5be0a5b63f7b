"""Gradient checks that teach: the guilty op and its line, kinks and domains, the chain rule as a table."""

import inspect
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings

from tests.planted import Cube, WrongCube
from tinygrad_edu import (
    GradcheckError,
    GradcheckWarning,
    Value,
    apply,
    check_graph,
    detect_anomaly,
    gradcheck,
    trace_backward,
    viz,
)
from tinygrad_edu.testing import assert_gradients_match, shapes_broadcastable, values

PLANTED_LINE = None


def deep(x, w):
    """A 50-op graph with the wrong op buried in the middle."""
    global PLANTED_LINE
    h = x
    for i in range(12):
        h = (h * w).tanh() + 0.1 * h
        if i == 6:
            PLANTED_LINE = inspect.currentframe().f_lineno + 1
            h = apply(WrongCube, h)
    return h.sum()


def test_the_report_names_the_planted_op_and_its_line():
    x = Value(np.array([0.3, -0.5, 0.8]), label="x")
    w = Value(0.9, label="w")
    with pytest.raises(GradcheckError) as err:
        gradcheck(deep, x, w)
    message = str(err.value)
    assert "the first wrong op: wrong_cube" in message
    assert f"test_teaching_checks.py:{PLANTED_LINE} in deep" in message
    assert "inputs unnamed (3,)" in message and "analytic" in message and "numeric" in message
    report = check_graph(deep(x, w))
    assert len(report.ops) >= 50
    assert [c.op for c in report.failures] == ["wrong_cube"]
    assert report.first_failure.node.op == "wrong_cube"
    assert {c.status for c in report.ops} == {"pass", "fail"}
    assert "wrong_cube" in str(report) and "fail" in str(report)


def test_check_graph_skips_ops_too_big_to_check():
    x = Value(np.ones(50))
    report = check_graph((x * 2.0).sum(), max_elements=20)
    assert [c.status for c in report.ops] == ["skipped", "skipped"]


@pytest.mark.parametrize("fn", [lambda x: x.relu(), lambda x: abs(x)], ids=["relu", "abs"])
def test_kinks_are_warnings_not_failures(fn):
    with pytest.warns(GradcheckWarning, match="is at a kink"):
        report = gradcheck(fn, Value(0.0))
    assert any("kink" in note for note in report.notes)


def test_relu_away_from_its_kink_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gradcheck(lambda x: x.relu(), Value(0.5))


def test_leaving_the_domain_is_a_domain_report_not_a_failure():
    with pytest.warns(GradcheckWarning, match=r"leaves the domain of log \(x > 0\)"):
        report = gradcheck(lambda x: x.log(), Value(0.05, label="x"), eps=0.1)
    assert any("domain" in note for note in report.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gradcheck(lambda x: x.log(), Value(0.05), eps=1e-6)  # with a small eps it is simply right


def test_trace_backward_shows_a_reused_node_summing_its_contributions():
    a = Value(3.0, label="a")
    b = a + a
    b.label = "b"
    c = b * b
    c.label = "c"
    trace = trace_backward(c)
    assert trace.contributions(a) == [12.0, 12.0]  # dc/db = 2b = 12, passed to a twice
    rows_a = [r for r in trace.rows if r.input is a]
    assert [r.total for r in rows_a] == [12.0, 24.0] and [r.local for r in rows_a] == [1.0, 1.0]
    rows_b = [r for r in trace.rows if r.input is b]
    assert [(r.upstream, r.local, r.contribution, r.total) for r in rows_b] == [
        (1.0, 6.0, 6.0, 6.0),
        (1.0, 6.0, 6.0, 12.0),
    ]
    text = str(trace)
    assert text.splitlines()[0].split() == [
        "step",
        "node",
        "op",
        "upstream",
        "input",
        "local",
        "d",
        "contribution",
        "total",
        "so",
        "far",
    ]
    assert a.grad == 0.0  # tracing leaves .grad alone
    c.backward()
    assert a.grad == 24.0


def test_graph_edges_can_show_contributions():
    a = Value(3.0, label="a")
    c = (a + a) * 2.0
    source = viz.draw_graph(c, show_contributions=True).source
    labels = re.findall(r"(v\d+) -> (v\d+op) \[label=(\S+)", source)
    # a feeds the add twice (2 each: d/da of 2(a + a), per use), the sum feeds the mul once (2);
    # the constant 2.0 needs no gradient, so its edge has no label
    assert sorted(label for _, _, label in labels) == ["2", "2", "2"]
    assert "->" in source and len(re.findall(r"->", source)) == 6


def test_anomaly_names_the_file_and_line():
    x = Value(np.array([1.0, -1.0]), label="x")
    with detect_anomaly(), pytest.raises(FloatingPointError) as err, np.errstate(invalid="ignore"):
        line = inspect.currentframe().f_lineno + 1
        x.sqrt()
    assert f"test_teaching_checks.py:{line} in test_anomaly_names_the_file_and_line" in str(err.value)


def test_sites_are_recorded_only_when_asked():
    assert (Value(1.0) * 2.0).site is None


@settings(max_examples=20, deadline=None)
@given(x=values(shape=(3,)), w=values())
def test_users_write_property_tests_in_three_lines(x, w):
    assert_gradients_match(lambda x, w: apply(Cube, x * w).sum(), x, w)


@settings(max_examples=20, deadline=None)
@given(shapes=shapes_broadcastable())
def test_shapes_broadcastable_broadcast(shapes):
    a, b = shapes
    assert (Value(np.ones(a)) + Value(np.ones(b))).shape == np.broadcast_shapes(a, b)


def test_assert_gradients_match_catches_a_custom_op():
    with pytest.raises(AssertionError, match="the first wrong op: wrong_cube"):
        assert_gradients_match(lambda x: apply(WrongCube, x).sum(), Value([0.5, 1.5]))
