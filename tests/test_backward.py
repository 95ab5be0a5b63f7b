"""Reverse mode itself: accumulation, reuse, non-scalar roots, depth, memory, no_grad, anomaly mode."""

import gc
import time
import tracemalloc
import weakref

import numpy as np
import pytest

from tinygrad_edu import Value, detect_anomaly, no_grad, ops
from tinygrad_edu.engine import apply, toposort


def test_a_node_used_twice_gets_both_contributions():
    a = Value(3.0)
    b = a * a + a  # db/da = 2a + 1
    b.backward()
    assert a.grad == 7.0


def test_gradients_accumulate_across_backward_calls():
    a = Value(2.0)
    b = Value(5.0)
    c = a * b
    d = c + a
    d.backward()
    d.backward()
    # each pass adds the same amounts, the intermediate c included
    assert (a.grad, b.grad, c.grad, d.grad) == (2 * 6.0, 2 * 2.0, 2 * 1.0, 2 * 1.0)
    a.zero_grad()
    d.backward()
    assert a.grad == 6.0


def test_non_scalar_root_needs_grad():
    x = Value(np.arange(3.0))
    y = x * 2.0
    with pytest.raises(ValueError, match=r"non-scalar Value of shape \(3,\) needs grad="):
        y.backward()
    with pytest.raises(ValueError, match=r"grad has shape \(2,\), but this Value has shape \(3,\)"):
        y.backward(np.ones(2))
    y.backward(np.array([1.0, 10.0, 100.0]))
    assert np.array_equal(x.grad, [2.0, 20.0, 200.0])


def test_broadcast_gradient_is_summed_back_to_each_input_shape():
    x = Value(np.ones((3, 1)))
    y = Value(np.ones(4))
    s = Value(2.0)
    ((x + y) * s).sum().backward()
    assert x.grad.shape == (3, 1) and np.all(x.grad == 8.0)  # each x[i] used 4 times, times s = 2
    assert y.grad.shape == (4,) and np.all(y.grad == 6.0)
    assert type(s.grad) is float and s.grad == 24.0  # a scalar times a (3, 4) array


def test_leaf_grads_are_not_shared():
    a, b = Value(np.ones(2)), Value(np.ones(2))
    (a + b).sum().backward()  # add passes the same gradient array to both inputs
    a.grad *= 0.5  # clipping one in place must leave the other alone
    assert np.array_equal(b.grad, [1.0, 1.0])


def test_a_copied_gradient_is_laid_out_as_its_node():
    """A gradient that arrives as a view is copied in the memory order of the node's data: a weight used as W.T
    keeps a C-order .grad, and a batch-last image (conv's output order) a batch-last one."""
    W, x = Value(np.arange(15.0).reshape(5, 3)), Value(np.ones((4, 3)))
    (x @ W.T).sum().backward()  # transpose's backward hands back a transposed view
    assert W.grad.flags.c_contiguous and np.array_equal(W.grad, np.full((5, 3), 4.0))
    batch_last = Value(np.ones((3, 2, 2, 4)).transpose(3, 0, 1, 2))  # (N, C, H, W), the batch innermost in memory
    (batch_last.reshape(4, -1) * np.arange(12.0)).sum().backward()  # reshape's backward: a view of g
    assert batch_last.grad.strides == batch_last.data.strides
    assert np.array_equal(batch_last.grad, np.broadcast_to(np.arange(12.0).reshape(3, 2, 2), (4, 3, 2, 2)))


def test_constants_get_no_gradient():
    x = Value(2.0)
    k = Value(3.0, requires_grad=False)
    (x * k).backward()
    assert x.grad == 3.0 and k.grad == 0.0
    assert not (k * 2.0).requires_grad and (k * 2.0).parents == ()


def test_chain_of_a_million_nodes():
    """No recursion anywhere: building, sorting, back-propagating and freeing a 10^6-deep chain. Each link multiplies
    by one constant made once (not a new 1.0 each time): as deep, half the nodes, half the time."""
    x, one = Value(0.5), Value(1.0, requires_grad=False)
    y = x
    for _ in range(1_000_000):
        y = y * one
    start = time.perf_counter()
    y.backward()
    seconds = time.perf_counter() - start
    assert x.grad == 1.0
    print(f"\n1,000,000-node chain: backward took {seconds:.2f} s")
    del y  # freeing must not recurse either


def test_sort_puts_every_node_before_its_inputs():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = b * 3.0
    d = a + c
    e = d * c  # c is used twice
    three = c.parents[1]
    assert toposort(e) == [e, d, c, three, b, a]  # here, the reverse of the order they were made
    for i, node in enumerate(toposort(e)):
        assert all(toposort(e).index(p) > i for p in node.parents)


def test_an_op_takes_one_or_two_inputs():
    with pytest.raises(TypeError, match="add got 3 inputs"):
        apply(ops.Add, Value(1.0), 2.0, 3.0)


def test_dropped_graph_is_freed_without_the_garbage_collector():
    """No reference cycles: reference counting alone frees every node once the user lets go."""
    gc.collect()
    gc.disable()
    try:
        w = Value(np.ones((3, 3)))
        h = (w @ Value(np.ones(3))).tanh()
        loss = (h * h).sum()
        loss.backward()
        refs = [weakref.ref(h), weakref.ref(loss)]
        del h, loss
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_memory_stays_flat_over_1000_training_steps():
    """Reference counting frees each step's graph: what 1,000 steps keep is under 2 bytes a step, as over the
    8,000 steps this test once took (8 s); a leak of one pointer a step would keep 8,000 bytes."""
    rng = np.random.default_rng(0)
    w1, b1 = Value(rng.normal(size=(2, 4))), Value(np.zeros(4))
    w2, b2 = Value(rng.normal(size=(4, 1))), Value(np.zeros(1))
    x = Value([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], requires_grad=False)
    y = np.array([[0.0], [1.0], [1.0], [0.0]])

    def train_step():
        loss = ((((x @ w1 + b1).tanh() @ w2 + b2).sigmoid() - y) ** 2).mean()
        for p in (w1, b1, w2, b2):
            p.zero_grad()
        loss.backward()
        for p in (w1, b1, w2, b2):
            p.data -= 0.5 * p.grad
        return loss.data

    first_loss = train_step()
    growth = memory_growth(train_step)
    assert growth < 2 * MEMORY_STEPS, f"memory grew by {growth} bytes over {MEMORY_STEPS:,} steps"
    assert train_step() < first_loss  # the steps really trained


MEMORY_STEPS = 1_000


def memory_growth(step, warmup: int = 200, steps: int = MEMORY_STEPS) -> int:
    """Bytes allocated and kept over ``steps`` calls of step(), after ``warmup`` calls (numpy's and Python's
    caches fill up during the first ones), with the garbage collector off: what reference counting leaves.
    What stays is a few dozen bytes whatever the number of steps; a leak grows with it."""
    gc.disable()
    tracemalloc.start()
    try:
        for _ in range(warmup):
            step()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(steps):
            step()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        gc.enable()


def test_memory_growth_sees_a_leak_of_one_pointer_a_step():
    kept = []
    assert memory_growth(lambda: kept.append(None)) > 4 * MEMORY_STEPS  # a list's slot: 8 bytes a step
    assert memory_growth(lambda: [None]) < 2 * MEMORY_STEPS  # made and freed each step


def test_no_grad_builds_no_graph():
    w = Value(2.0)
    with no_grad():
        y = w * 3.0 + 1.0
    assert y.parents == () and y.op == "" and not y.requires_grad and y.data == 7.0
    z = w * 3.0  # the graph is back after the block
    assert z.parents and z.requires_grad


def test_no_grad_restores_state_after_an_error():
    with pytest.raises(RuntimeError), no_grad():
        raise RuntimeError
    assert (Value(1.0) * 2.0).parents


def test_no_grad_as_decorator():
    @no_grad()
    def evaluate(v):
        return v * 2.0

    assert evaluate(Value(1.0)).parents == ()


def test_detect_anomaly_names_the_forward_op_and_its_inputs():
    x = Value(np.array([1.0, 0.0]), label="x")
    with detect_anomaly(), pytest.raises(FloatingPointError, match=r"forward of log.*x \(2,\)"):
        with np.errstate(divide="ignore"):
            x.log()


def test_detect_anomaly_in_backward():
    x = Value(0.0, label="x")
    y = x.sqrt()  # sqrt(0) = 0 is fine, but its derivative 1/(2 sqrt 0) is inf
    with detect_anomaly(), pytest.raises(FloatingPointError, match=r"backward of sqrt.*x \(\)"):
        y.backward()


def test_without_anomaly_mode_nan_flows_quietly():
    y = Value(0.0).sqrt()
    y.backward()
    assert y.parents[0].grad == float("inf")
