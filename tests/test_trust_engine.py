"""Issue #20, the engine's part: never silently wrong, and never a raw numpy message.

Item 7: a backward pass that can reach no gradient is an error saying why. Item 8: no numpy
RuntimeWarning escapes an op. Item 9: a matmul shape mismatch is explained. Item 18: a constant
Value exponent accepts a negative base. Item 19: a custom op's gradient of a wrong shape is refused;
``Value + None`` is Python's TypeError.
"""

import numpy as np
import pytest

import tinygrad_edu.torch as ttorch
from tinygrad_edu import Value, grad, no_grad


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
