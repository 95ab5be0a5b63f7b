"""Forward mode: derivatives carried from the inputs to the outputs, along one direction at a time.

Reverse mode (``engine.backprop``) starts at an output and asks of every node: how much does the output move
when this node moves? One pass answers for every input at once: one row of the Jacobian, v^T J. Forward mode
starts at the inputs. Pick a direction t (how much each input moves) and carry beside each node's value its
rate of change along t, its *tangent* J t: a dual number, value + tangent * eps with eps^2 = 0. One pass
answers for every output at once: one column of the Jacobian, J t (JAX's ``jvp``, PyTorch's
``torch.func.jvp``). So a full Jacobian of f: R^n -> R^m takes n forward passes or m backward ones: training,
one loss (m = 1) and a million weights, uses reverse mode.

The passes differ in what each op must provide. Reverse mode uses the op's ``backward``: g -> J_i^T g for each
input i. Forward mode needs t_i -> J_i t_i, and the node's tangent is the sum over its inputs. Each op's rule
comes from its one backward in ``ops.py``, never from a second copy of the math:

* ``"diagonal"`` ops (elementwise: exp, tanh, +, *): J_i is diagonal (once input i is broadcast to the output's
  shape), so it is its own transpose: J_i t_i = backward(t_i broadcast)[i];
* ``"linear"`` ops (sum, reshape, indexing): the op is its own derivative, J t = op(t);
* ``"multilinear"`` ops (matmul, convolution: linear in each input with the other held): J_a t_a = op(t_a, b);
* any other op (softmax, max, norms): the backward is linear in g, so <backward(g)_i, t_i> is a linear function
  of g whose gradient is J_i t_i. One small reverse pass through the backward's own graph (built by running it
  on Values, as ``create_graph`` does) gives it: ``transposed_backward``.

Each op declares which it is (``Op.jacobian``); a test checks every declaration against the last, general way.
``tangents`` is the sweep (the forward twin of ``backprop``); ``jvp`` is ``torch.func.jvp`` on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tinygrad_edu import ops
from tinygrad_edu.checks import MADE_IN_NO_GRAD, as_data, retry, shape_of
from tinygrad_edu.engine import Value, apply, as_value, grad, reduce_broadcast, toposort
from tinygrad_edu.modes import enable_grad, no_grad, quiet

__all__ = ["tangents", "local_jvp", "transposed_backward", "jvp", "forward_order", "leaf_like", "constant_like"]


def forward_order(outputs: Sequence[Value]) -> list[Value]:
    """The nodes that lead to ``outputs``, each after every node it was made from (inputs first): the reverse
    of ``toposort``, the order a forward pass visits them."""
    order, seen = [], set()
    for out in outputs:
        for node in reversed(toposort(out)):
            if node not in seen:
                seen.add(node)
                order.append(node)
    return order


@quiet
def tangents(
    outputs, inputs, directions, *, graph: bool = False, on_edge: Callable | None = None
) -> dict[Value, object]:
    """One forward-mode pass over a recorded graph: the tangent of every node ``outputs`` were made from that
    depends on ``inputs``, when input k moves along ``directions[k]`` (one per input, of its shape).

    Returns {node: tangent} in the order the pass filled it: the inputs first (their tangent is their
    direction), then every node after all its inputs, its tangent the sum over its inputs i of J_i t_i
    (``local_jvp``). A node that does not depend on the inputs is left out: its tangent is 0. Tangents are
    numbers (a float for a scalar node, else an array of the node's shape); with ``graph=True`` they are Values
    made by ops, which can be differentiated again (a direction may then be a Value that requires a gradient).
    ``on_edge(node, i, contribution, total_so_far)`` is called for every input i of a node that passes a
    tangent on, as ``backprop``'s is: for tools that show the pass (``trace.trace_forward``, the stepper).
    An input made from other nodes is taken as given: its tangent is its direction, not computed from theirs.
    """
    outputs = _values(outputs, "outputs")
    inputs = _values(inputs, "inputs")
    directions = (directions,) if len(inputs) == 1 and not isinstance(directions, (tuple, list)) else directions
    if len(directions) != len(inputs):
        raise ValueError(
            f"tangents: {len(directions)} directions for {len(inputs)} inputs: give one direction per input, "
            "of its shape"
        )
    found: dict[Value, object] = {}
    for k, (x, t) in enumerate(zip(inputs, directions)):
        if not x.requires_grad:
            raise ValueError(
                f"tangents: input {k} ({x.label or 'unnamed'}, shape {x.shape}) has requires_grad=False, so no graph "
                "was recorded through it; make it with requires_grad=True before computing the outputs"
            )
        t = _direction(t, x, k, graph)
        found[x] = t if x not in found else found[x] + t  # an input given twice moves along both
    for k, out in enumerate(outputs):
        if out._kwargs is MADE_IN_NO_GRAD:  # noqa: SLF001 (why a constant is one: checks.py's markers)
            raise ValueError(
                f"tangents: output {k} ({out.label or 'unnamed'}) was computed inside no_grad(), which records no "
                "graph for a forward pass to follow; compute it outside that block"
            )
    given = set(found)
    for node in forward_order(outputs):
        if node in given or node.operation is None:
            continue
        total = None
        for i, p in enumerate(node.parents):
            t = found.get(p)
            if t is None:
                continue
            contribution = local_jvp(node, i, t, graph)
            total = contribution if total is None else total + contribution
            if on_edge is not None:
                on_edge(node, i, contribution, total)
        if total is not None:
            found[node] = total
    return found


def local_jvp(node: Value, i: int, t, graph: bool = False):
    """J_i t: how ``node`` moves when its input i moves by ``t`` (its other input held), read from its op as
    ``Op.jacobian`` declares (see the module's doc). The result has the node's shape; with ``graph=True`` it is
    a Value computed by ops from the graph's own nodes (so it can be differentiated again)."""
    op, kwargs = node.operation, node.settings
    if not kwargs.get("needs", (True, True))[i]:
        p = node.parents[i]
        raise ValueError(
            f"{op.name}: its input {i} ({p.label or 'unnamed'}, shape {p.shape}) needed no gradient when the graph "
            "was recorded (requires_grad was set afterwards), so the op kept no derivative for it: compute the "
            "outputs again from inputs that require a gradient"
        )
    if graph:
        t, out, inputs = as_value(t), node, node.parents
    else:
        out, inputs = node.numbers, tuple(p.numbers for p in node.parents)
    kind = op.jacobian
    if kind == "diagonal":  # J_i = J_i^T: the backward itself, given t spread over the output's shape
        if shape_of(t) != shape_of(out):
            t = ops.math_for(t).broadcast_to(t, shape_of(out))
        grads = _call(op.backward, (t, out, *inputs), kwargs, op)
        jt = grads if op.arity == 1 else grads[i]
    elif kind == "linear":  # the op applied to the tangent (the other input's tangent 0)
        moved = tuple(t if k == i else _zeros(x, graph) for k, x in enumerate(inputs))
        jt = apply(op, *moved, **kwargs) if graph else _call(op.forward, moved, kwargs, op)
    elif kind == "multilinear":  # the op with input i replaced by its tangent
        moved = tuple(t if k == i else x for k, x in enumerate(inputs))
        jt = apply(op, *moved, **kwargs) if graph else _call(op.forward, moved, kwargs, op)
    elif kind is None:
        jt = transposed_backward(op, i, t, out, inputs, kwargs, graph)
    else:
        raise ValueError(
            f"{op.name} declares jacobian = {kind!r}; it must be 'diagonal', 'linear', 'multilinear' or None"
        )
    return _fit(jt, out, graph)


def transposed_backward(op: type[ops.Op], i: int, t, out, inputs: tuple, kwargs: dict, graph: bool = False):
    """J_i t from ``op.backward`` alone, for any op: backward(g)_i = J_i^T g is linear in g, so
    <J_i^T g, t> = <g, J_i t>, and its gradient with respect to g is J_i t. The backward runs on Values (g a
    leaf, the rest constants, or the graph's own nodes with ``graph=True``), which records it as a graph of
    ops; one reverse pass through that graph gives the gradient. ``out`` and ``inputs`` are the node's
    numbers (or its Values with ``graph``); the value of g does not matter (linear), so it is 0."""
    with enable_grad():
        g = Value(np.zeros(shape_of(out)) if shape_of(out) else 0.0)
        if not graph:
            out, inputs, t = as_value(out), tuple(as_value(x) for x in inputs), as_value(t)
        grads = op.backward(g, out, *inputs, **kwargs)
        gi = grads if op.arity == 1 else grads[i]
        if gi is None:  # (``needs`` said this input wants no gradient)
            return _zeros(out, graph)
        gi = as_value(gi)
        if gi.shape != shape_of(inputs[i]):  # summed back over broadcast axes, as the engine does
            gi = reduce_broadcast(gi, inputs[i].numbers)
        product = (gi * t).sum()
        if not product.requires_grad:  # a backward that ignores g (step's): the derivative is 0
            return _zeros(out, graph)
        (jt,) = grad(product, g, create_graph=graph, allow_unused=True)
    return jt if graph else jt.numbers


def jvp(f: Callable, primals, tangents_in) -> tuple:
    """(f(*primals), J t): the outputs and their tangents when the primals move along ``tangents_in`` (one per
    primal, of its shape), by one forward pass: ``torch.func.jvp``'s contract. ``primals`` is a tuple (or one
    Value or number); the answer keeps the shape of what f returns (a Value, or a tuple of them), without graphs.
    """
    for what, given in (("primals", primals), ("tangents", tangents_in)):
        if isinstance(given, list):  # torch.func.jvp's rule too: one vector, or one number per input?
            raise TypeError(
                f"jvp: {what} must be a tuple (one entry per input of f) or one Value or array, not a list: "
                f"{what}=(np.array({given!r}),) is one vector input, {what}={tuple(given)!r} one input per number"
            )
    primals = primals if isinstance(primals, tuple) else (primals,)
    tangents_in = tangents_in if isinstance(tangents_in, tuple) else (tangents_in,)
    if len(tangents_in) != len(primals):
        raise ValueError(
            f"jvp: {len(tangents_in)} tangents for {len(primals)} primals: give one tangent per primal, of its shape "
            "(a tangent says how that primal moves)"
        )
    xs = tuple(leaf_like(p if isinstance(p, Value) else Value(p, requires_grad=False)) for p in primals)
    with enable_grad():
        out = f(*xs)
    outs = out if isinstance(out, tuple) else (out,)
    for k, o in enumerate(outs):
        if not isinstance(o, Value):
            which = f"output {k} of the tuple is" if isinstance(out, tuple) else "it returned"
            raise TypeError(f"jvp: f must return a Value or a tuple of Values, but {which} {type(o).__name__} {o!r}")
    found = tangents(outs, xs, tuple(tangents_in))
    answers = tuple(constant_like(o, found.get(o)) for o in outs)
    if isinstance(out, tuple):
        return tuple(o.detach() for o in outs), answers
    return outs[0].detach(), answers[0]


# ---------------------------------------------------------------- small steps


def leaf_like(x: Value) -> Value:
    """A new leaf holding x's numbers (of x's class: a facade's tensor stays one), cut from x's graph, that
    requires a gradient: an input of its own to record a function's graph from."""
    with no_grad():
        leaf = apply(ops.Reshape, x, shape=x.shape)
    leaf.requires_grad = True
    return leaf


def _values(xs, what: str) -> tuple[Value, ...]:
    """One Value or a sequence of them, as a tuple; anything else is named."""
    xs = (xs,) if isinstance(xs, Value) else tuple(xs) if isinstance(xs, (tuple, list)) else xs
    if not isinstance(xs, tuple):
        raise TypeError(f"tangents: {what} must be a Value or a sequence of Values, got {type(xs).__name__}")
    for k, x in enumerate(xs):
        if not isinstance(x, Value):
            raise TypeError(f"tangents: {what}[{k}] must be a Value, got {type(x).__name__} {x!r}")
    return xs


def _direction(t, x: Value, k: int, graph: bool):
    """Input k's direction as the pass holds it (numbers, or a Value with ``graph``), checked against x's shape."""
    if graph:
        t = as_value(t)
        shape = t.shape
    else:
        t = as_data(t.numbers if isinstance(t, Value) else t, f"the direction of input {k}")
        shape = shape_of(t)
    if shape != x.shape:
        raise ValueError(
            f"the direction (tangent) for input {k} ({x.label or 'unnamed'}) has shape {shape}, but the input has "
            f"shape {x.shape}: a tangent says how far each element of the input moves, so it has the input's shape"
        )
    return t


def _call(fn: Callable, args: tuple, kwargs: dict, op: type[ops.Op]):
    """fn(*args, **kwargs); on Python floats' errors (1/0, log 0) rerun in numpy, as the engine does."""
    try:
        return fn(*args, **kwargs)
    except (ArithmeticError, ValueError) as e:
        return retry(fn, args, kwargs, e, op)


def _zeros(like, graph: bool):
    """A zero tangent of ``like``'s shape: 0.0 or an array, or a constant Value with ``graph``."""
    shape = shape_of(like.numbers if isinstance(like, Value) else like)
    zeros = np.zeros(shape) if shape else 0.0
    return Value(zeros, requires_grad=False) if graph else zeros


def _fit(jt, out, graph: bool):
    """A tangent in the node's own form: a float for a scalar node, an array of its shape otherwise (a Value of
    its shape with ``graph``): a backward may give a smaller shape that broadcasts (a constant 0, say)."""
    shape = shape_of(out.numbers if graph else out)
    if graph:
        jt = as_value(jt)
        return jt if jt.shape == shape else apply(ops.BroadcastTo, jt, shape=shape)
    if jt.__class__ is Value:  # (a constant, from a backward on numbers that made one: step's zeros)
        jt = jt.numbers
    if not shape:
        return float(jt)
    if jt.__class__ is not np.ndarray or jt.shape != shape:
        return ops.ArrayMath.broadcast_to(jt, shape)
    return jt


def constant_like(like: Value, numbers=None) -> Value:
    """A constant holding ``numbers`` (None: zeros of ``like``'s shape, as for a tangent nothing reached), of
    ``like``'s class: a facade's tensor makes its own kind."""
    if numbers is None:
        numbers = np.zeros(like.shape) if like.shape else 0.0
    return type(like)(numbers, requires_grad=False)
