"""Issue #20, the engine's part: never silently wrong, and never a raw numpy message.

Item 7: a backward pass that can reach no gradient is an error saying why. Item 8: no numpy
RuntimeWarning escapes an op. Item 9: a matmul shape mismatch is explained. Item 18: a constant
Value exponent accepts a negative base. Item 19: a custom op's gradient of a wrong shape is refused;
``Value + None`` is Python's TypeError.
"""

import re
import warnings

import numpy as np
import pytest

import tinygrad_edu.torch as ttorch
from tinygrad_edu import Value, detect_anomaly, grad, no_grad


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")


# ---------------------------------------------------------------- item 7: backward without a graph


def _no_grad_root():
    x = Value(np.array([1.0, 2.0]), label="x")
    with no_grad():
        y = (x * 3).sum()
    return x, y


@pytest.mark.parametrize(
    "make, cause",
    [
        (lambda: _no_grad_root()[1], "inside no_grad()"),
        (lambda: (Value([1.0, 2.0], requires_grad=False) * 3).sum(), "only from Values with requires_grad=False"),
        (lambda: (Value([1.0, 2.0]) * 3).sum().detach(), r"\.detach\(\)"),
        (lambda: Value(2.0, requires_grad=False), r"a constant \(requires_grad=False\)"),
    ],
    ids=["no_grad", "constant_leaves", "detached", "constant_leaf"],
)
@pytest.mark.parametrize("how", ["backward", "create_graph", "grad"])
def test_item7_backward_without_graph_says_why(make, cause, how):
    root = make()
    with pytest.raises(RuntimeError, match=f"does not require grad.*{cause}"):
        if how == "backward":
            root.backward()
        elif how == "create_graph":
            root.backward(create_graph=True)
        else:
            grad(root, [Value(1.0)], allow_unused=True)


def test_item7_no_grad_backward_leaves_grad_untouched_and_pytorch_agrees():
    x, y = _no_grad_root()
    with pytest.raises(RuntimeError, match="inside no_grad"):
        y.backward()
    assert x._grad is None  # nothing was written
    torch = _torch()
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    with torch.no_grad():
        ty = (tx * 3).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        ty.backward()
    # the facade says PyTorch's words too
    fx = ttorch.tensor([1.0, 2.0], requires_grad=True)
    with ttorch.no_grad():
        fy = (fx * 3).sum()
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        fy.backward()


def test_item7_legitimate_backward_still_works():
    x = Value(3.0)
    x.backward()  # a leaf that requires grad, on itself
    assert x.grad == 1.0
    w = Value(np.array([1.0, 2.0]))
    c = Value(np.array([5.0, 7.0]), requires_grad=False)
    with no_grad():
        frozen = w * 10  # a constant now; mixed with a graph it is fine
    (w * c + frozen).sum().backward()
    np.testing.assert_array_equal(w.grad, [5.0, 7.0])
    loss = (w * w).sum()
    with no_grad():  # backward itself may run inside no_grad, as in PyTorch
        loss.backward()
    np.testing.assert_array_equal(w.grad, [7.0, 11.0])


# ---------------------------------------------------------------- item 8: no raw numpy RuntimeWarning from an op

BAD = [1e200, -1e200, 0.0, -1.0, np.inf, -np.inf, np.nan, 800.0, -800.0, 1e-320]
BAD_PAIRS = [
    (0.0, np.inf),
    (np.inf, 0.0),
    (1e200, 1e200),
    (1e200, -1e200),
    (1e-320, 0.0),
    (0.0, -1e200),
    (-1.0, 0.5),
    (np.inf, -np.inf),
]


def _bad_calls(case):
    """The case's inputs replaced by bad numbers: the same one everywhere, and for two inputs some pairs."""
    combos = [(v,) * len(case.inputs) for v in BAD]
    if len(case.inputs) == 2:
        combos += BAD_PAIRS
    for combo in combos:
        yield [v if isinstance(x, float) else np.full(np.shape(x), v) for x, v in zip(case.inputs, combo)]


def _run_everything(case, inputs):
    """Forward, backward, and a second-order pass (create_graph) of the case on these inputs."""
    xs = [Value(x) for x in inputs]
    try:
        y = case.ours(*xs)
    except ValueError as e:  # the one refusal on purpose: a negative base with an exponent that needs a gradient
        assert "base >= 0" in str(e)
        return
    (y.sum() if y.shape else y).backward()
    xs = [Value(x) for x in inputs]
    y = case.ours(*xs)
    gs = grad(y.sum() if y.shape else y, xs, create_graph=True, allow_unused=True)
    second = sum((g.sum() if g.shape else g) for g in gs)
    if second.requires_grad:  # else the first derivatives are constants
        second.backward()


def _cases():
    from tests.op_table import CASES

    return CASES


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c.id)
def test_item8_no_numpy_warning_from_any_op_on_bad_inputs(case):
    for inputs in _bad_calls(case):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning would raise here
            _run_everything(case, inputs)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")  # and none is merely shown either
            _run_everything(case, inputs)
        assert not seen, f"{case.id} on {inputs}: {[str(w.message) for w in seen]}"


def test_item8_every_registered_op_is_exercised():
    from tinygrad_edu import ops
    from tinygrad_edu.engine import toposort

    used = set()
    for case in _cases():
        y = case.ours(*[Value(x) for x in case.inputs])
        used |= {n._operation for n in toposort(y) if n._operation is not None}
    assert set(ops.REGISTRY.values()) <= used


def test_item8_nan_inf_propagate_as_in_pytorch():
    torch = _torch()
    x = np.array([-1.0, 0.0, 800.0, 1e200])
    for ours, theirs in [
        (lambda v: v.log(), lambda t: t.log()),
        (lambda v: v.sqrt(), lambda t: t.sqrt()),
        (lambda v: v.exp(), lambda t: t.exp()),
        (lambda v: 1.0 / v, lambda t: 1.0 / t),
        (lambda v: v * v, lambda t: t * t),
        (lambda v: v**-0.5, lambda t: t**-0.5),
    ]:
        v, t = Value(x), torch.tensor(x, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = ours(v)
            y.sum().backward()
        ty = theirs(t)
        ty.sum().backward()
        np.testing.assert_array_equal(y.data, ty.detach().numpy())
        np.testing.assert_array_equal(v.grad, t.grad.numpy())


def test_item8_detect_anomaly_still_names_the_op():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FloatingPointError, match="forward of log"), detect_anomaly():
            Value(np.array([-1.0, 2.0])).log()
        x = Value(np.array([0.0, 4.0]))
        y = x.sqrt().sum()
        with pytest.raises(FloatingPointError, match="backward of sqrt"), detect_anomaly():
            y.backward()


def test_item8_in_place_update_is_quiet():
    w = Value(np.array([1e300, 1.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with no_grad():
            w *= 1e300
    assert w.data[0] == np.inf


# ---------------------------------------------------------------- item 9: a matmul mismatch in the learner's terms


@pytest.mark.parametrize(
    "sa, sb, says",
    [
        ((3, 4), (3, 2), r"shapes \(3, 4\) and \(3, 2\).*a has 4 \(its columns.*b has 3 \(its rows.*a\.T @ b"),
        ((2, 3), (2, 3), r"a has 3.*b has 2.*a\.T @ b or transposing b: a @ b\.T"),
        ((4,), (3, 4), r"shapes \(4,\) and \(3, 4\).*a has 4 \(its length\).*b has 3.*a @ b\.T"),
        ((3, 4), (3,), r"a has 4.*b has 3 \(its length\).*a\.T @ b"),
        ((3,), (4,), r"dot product needs two vectors of the same length, got 3 and 4"),
        ((5, 3, 4), (5, 3, 2), r"a has 4.*b has 3.*a\.transpose\(0, 2, 1\) @ b"),
        ((2, 3, 4), (5, 4, 2), r"batch axes \(2,\) and \(5,\).*do not broadcast"),
        ((), (3,), r"at least one axis.*use \*"),
    ],
)
def test_item9_matmul_mismatch_names_sizes_and_suggests_transpose(sa, sb, says):
    a = Value(np.ones(sa)) if sa else Value(1.0)
    with pytest.raises(ValueError, match=says) as info:
        a @ Value(np.ones(sb))
    assert "gufunc" not in str(info.value) and "signature" not in str(info.value)


def test_item9_suggested_transpose_works():
    a, b = Value(np.arange(12.0).reshape(3, 4)), Value(np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal((a.T @ b).data, a.data.T @ b.data)


# ---------------------------------------------------------------- item 18: a constant Value exponent, negative base


def test_item18_constant_exponent_accepts_negative_base_as_pytorch():
    torch = _torch()
    base = np.array([-2.0, -1.5, 0.0, 3.0])
    for exponent in (np.array([1.0, 2.0, 3.0, 0.5]), np.array([3.0, 0.5, 2.0, -1.0])):
        x, t = ttorch.tensor(base, requires_grad=True), torch.tensor(base, requires_grad=True)
        p, tp = ttorch.tensor(exponent), torch.tensor(exponent)  # requires_grad=False
        for ours, theirs in ((x**p, t**tp), (x.pow(p), t.pow(tp))):
            np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
        x.zero_grad()
        (x**p).sum().backward()
        (t**tp).sum().backward()
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)
    # Value(..., requires_grad=False) and a scalar base
    y = Value(-2.0) ** Value(3.0, requires_grad=False)
    y.backward()
    assert y.data == -8.0


def test_item18_exponent_needing_a_gradient_still_refuses_a_negative_base():
    with pytest.raises(ValueError, match="base >= 0"):
        Value(np.array([-2.0, 1.0])) ** Value(np.array([2.0, 2.0]))
    with no_grad():  # nothing needs a gradient here, so the value is computed
        assert (Value(-2.0) ** Value(2.0)).data == 4.0


def test_item18_gradcheck_of_constant_exponent():
    from tinygrad_edu.gradcheck import gradcheck

    p = Value(np.array([2.0, 3.0, 4.0]), requires_grad=False)
    gradcheck(lambda x: (x**p).sum(), np.array([-1.3, -0.7, 2.1]))


# ---------------------------------------------------------------- item 19: wrong gradient shapes, bad operands


def test_item19_custom_op_gradient_of_a_wrong_shape_is_refused():
    from tinygrad_edu import ops
    from tinygrad_edu.engine import apply

    class Twice(ops.Op):
        name = "twice"

        @staticmethod
        def forward(x):
            return 2.0 * x

        @staticmethod
        def backward(g, out, x):
            return np.full((3, 3), 74.0)  # a (3, 3) gradient for a (3,) input and a (3,) output

    x = Value(np.ones(3), label="x")
    with pytest.raises(ValueError, match=r"backward of twice.*input 0 \(x\).*\(3, 3\).*\(3,\).*output"):
        apply(Twice, x).sum().backward()
    assert x._grad is None  # nothing half-written
    with pytest.raises(ValueError, match=r"backward of twice"):
        apply(Twice, x).sum().backward(create_graph=True)


def test_item19_gradient_in_the_output_shape_is_summed_back():
    from tinygrad_edu import ops
    from tinygrad_edu.engine import apply

    class Spread(ops.Op):  # (3,) -> (2, 3): the backward may return the output's shape
        name = "spread"

        @staticmethod
        def forward(x):
            return np.stack([x, x])

        @staticmethod
        def backward(g, out, x):
            return g

    x = Value(np.array([1.0, 2.0, 3.0]))
    (apply(Spread, x) * np.array([[1.0], [10.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad, [11.0, 11.0, 11.0])


OPERATORS = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "** or pow()": lambda a, b: a**b,
    "@": lambda a, b: a @ b,
}


@pytest.mark.parametrize("symbol", OPERATORS)
@pytest.mark.parametrize("other", [None, "a"], ids=["None", "str"])
def test_item19_bad_operand_is_pythons_type_error(symbol, other):
    fn, v = OPERATORS[symbol], Value(np.ones(3))
    kind = type(other).__name__
    with pytest.raises(
        TypeError, match=rf"unsupported operand type\(s\) for {re.escape(symbol)}: 'Value' and '{kind}'"
    ):
        fn(v, other)
    with pytest.raises(
        TypeError, match=rf"unsupported operand type\(s\) for {re.escape(symbol)}: '{kind}' and 'Value'"
    ):
        fn(other, v)
