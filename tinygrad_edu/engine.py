"""The computation graph and reverse-mode autodiff: the whole algorithm, in four parts.

1. ``Value``: a node. It holds a number (a Python float) or a float64 numpy array (``data``), the
   gradient of the final result with respect to it (``grad``), and how it was made: its op (one of the
   small classes in ``ops.py``, which hold every forward and derivative) and the one or two inputs
   (``parents``) the op was applied to.
2. ``toposort``: list the nodes so that every node comes before the nodes it was made from.
3. ``backprop``: walk that list. When a node is reached, every use of it has already reported, so its
   gradient is complete; its op's ``backward`` turns it into one gradient per input (upstream gradient
   times local derivative), which is added to what those inputs have received so far.
4. ``apply``: how running an op forward makes a new node.

Then gradients of gradients (``ValueMath``: the functions an op's backward uses, as nodes) and ``grad``.
A Value's operators and methods (``x + y``, ``x.sum()``, numpy's and PyTorch's habits) are in
``methods.py``; the switches (``no_grad``, ``detect_anomaly``) in ``modes.py``; the checks on data in
``checks.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np

from tinygrad_edu import modes, ops
from tinygrad_edu.checks import (
    CONSTANT_GRADIENT,
    MADE_FROM_CONSTANTS,
    MADE_IN_NO_GRAD,
    NO_KWARGS,
    as_data,
    called_from_package,
    check_finite,
    clean,
    creation_site,
    fitting_grad,
    need_graph,
    retry,
    seed_for,
    shape_of,
)
from tinygrad_edu.follow import numbers_of
from tinygrad_edu.methods import ValueMethods, unsupported
from tinygrad_edu.modes import IGNORE_ALL, NUMPY_ERRORS, no_grad, quiet

# ---------------------------------------------------------------- 1. the node


class Value(ValueMethods):
    """A node of the computation graph: a scalar or a tensor, its gradient, and where it came from."""

    __slots__ = ("_data", "_grad", "label", "requires_grad",  # numbers, gradient, name, whether it wants one
                 "_a", "_b", "_operation", "_kwargs", "_site", "__weakref__")  # how it was made  # fmt: skip

    def __init__(self, data, label: str = "", requires_grad: bool = True):
        if not isinstance(label, str):
            raise TypeError(f"label must be a string, got {type(label).__name__} {label!r}")
        self._data = as_data(data)  # a float, or a float64 array of our own
        self._grad = None  # dL/d(self), filled by backward()
        self.label = label
        self.requires_grad = bool(requires_grad)
        self._a = self._b = None  # the inputs this node was made from (None for a leaf)
        self._operation = None  # the ops.Op class that made it
        self._kwargs = NO_KWARGS  # that op's settings, such as axis=0

    @property
    def data(self):
        """The numbers: a Python float for a scalar, else a float64 numpy array (may be assigned)."""
        if modes.open_blocks and modes.state.reads is not None and not called_from_package():  # compile's trace:
            modes.state.reads.notes.append(f".data of {self.label or 'a value'} of shape {self.shape}")  # user code
        return self._data  # reads numbers, which a trace cannot follow

    @data.setter
    def data(self, value) -> None:
        self._data = value

    @property
    def grad(self):
        """dL/d(self), same shape as data; zeros until a backward pass reaches this node."""
        if self._grad is None:
            return 0.0 if self._data.__class__ is float else np.zeros(self._data.shape)
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        self._grad = None if value is None else fitting_grad(self, value)

    @property
    def numbers(self):
        """The numbers as the engine holds them (a float or a float64 array), whatever ``.data`` shows: the tools
        (pictures, gradcheck, compile) read this, so they work on a facade's tensors, whose ``.data`` is a tensor."""
        return self._data

    gradient = grad  # .grad as numbers, whatever a facade's .grad shows (a tensor, or None): what the tools read

    def accumulate_grad(self, g) -> None:
        """Add ``g`` (dL/d(self) from one backward pass) into ``.grad``: gradients accumulate until cleared."""
        self._grad = g if self._grad is None else self._grad + g

    @property
    def parents(self) -> tuple[Value, ...]:
        """The Values this node was made from: () for a leaf or a constant, else one or two inputs."""
        a, b = self._a, self._b
        return () if a is None else (a,) if b is None else (a, b)

    @property
    def op(self) -> str:
        """Name of the operation that made this node; "" for leaves."""
        return self._operation.name if self._operation is not None else ""

    def backward(self, grad=None, create_graph: bool = False) -> None:
        """Reverse-mode autodiff: add d(self)/d(node) * grad into every node's .grad.

        ``grad`` is dL/d(self); it defaults to 1 for a one-element result. With ``create_graph=True``
        every ``.grad`` is a Value with a graph of its own (made by the ops' backwards), so it can be
        differentiated again: ``x.grad.backward()``.
        """
        need_graph(self, "backward()")
        if not create_graph:
            backprop(self, seed_for(self, grad._data if isinstance(grad, Value) else grad), accumulate=True)
        else:
            for node, g in backprop(self, _named_seed(self, grad), graph=True).items():
                node.accumulate_grad(g)


# ---------------------------------------------------------------- 2. the order of the backward pass


def toposort(root: Value) -> list[Value]:
    """The nodes that lead to ``root``, each placed before every node it was made from.

    A depth-first walk with an explicit stack (no recursion, so any depth works): the node
    on top waits while an input of it is unlisted, and is listed once both inputs are;
    reversed, that list puts every node before its inputs.
    """
    order, seen, stack = [], {root, None}, [root]  # None (a missing input) counts as seen
    while stack:
        node = stack[-1]
        if node._a not in seen:
            seen.add(node._a)
            stack.append(node._a)
        elif node._b not in seen:
            seen.add(node._b)
            stack.append(node._b)
        else:
            order.append(stack.pop())
    order.reverse()
    return order


@quiet
def backprop(
    root: Value,
    grad,
    on_edge: Callable | None = None,
    *,
    graph: bool = False,
    wanted: list[Value] | None = None,
    data: Callable | None = None,
    backward: Callable | None = None,
    first_step: bool = False,
    accumulate: bool = False,
    on_node: Callable | None = None,
) -> dict[Value, object]:
    """One reverse-mode pass from ``root`` (whose gradient is ``grad``): dL/d(node) for every node reached.

    Visits nodes in topological order, root first, so that a node's gradient is complete (all its uses
    have reported) before its op's backward passes it on to the op's inputs. Nothing is written into
    ``.grad`` (unless ``accumulate``: then each gradient is added into ``.grad`` as the walk completes it, as
    ``backward()`` asks for numbers; the dict is then empty). One loop serves every reader of the derivatives,
    which differ only in what an op's backward is given for a node:

    * its numbers (the default): the gradients are numbers, for training;
    * with ``graph=True`` the node itself, so the ops' backwards build graph nodes and each gradient is a
      Value that can be differentiated again (``create_graph=True``, ``grad()``);
    * ``data(node)``, whatever that returns: ``compile`` gives symbols that write code, and runs each op's
      backward itself (``backward(node, args)``: the op on symbols, or a line that calls it).

    ``wanted``: only gradients on a path to these nodes are computed. ``on_edge(node, i, contribution,
    total_so_far)`` is called for every input ``node.parents[i]`` that receives a gradient, for tools that
    show the chain rule at work. ``first_step``: only the root's own step (backprop by hand, one node at a
    time: ``Value.chain_rule``), returning what it passes to its inputs. ``on_node(node, g)``, when given, is
    called as each node's gradient is complete and returns the gradient to use (PyTorch's tensor hooks).
    """
    order = [root] if first_step else toposort(root)  # (one step needs no order)
    leads = None if wanted is None else leading_to(order, wanted)  # gradients elsewhere are not built
    pending = {root: grad}  # gradients arriving in this pass, summed per node
    done = {}
    take, get = pending.pop, pending.get
    anomaly = modes.open_blocks and modes.state.anomaly
    watch = on_edge is not None or anomaly
    numbers = not graph and data is None
    for node in order:
        g = take(node, None)  # dL/d(node), complete: every node made from it came earlier
        if g is None:
            continue
        if on_node is not None:
            g = on_node(node, g)
        if accumulate:  # backward(): straight into .grad (node.accumulate_grad(g), written out: the hot path)
            node._grad = g if node._grad is None else node._grad + g
        else:
            done[node] = g
        op = node._operation
        if op is None:  # a leaf: nothing to pass on
            continue
        a, b, kwargs = node._a, node._b, node._kwargs
        if numbers:  # the chain rule, locally: dL/d(input) = dL/d(node) * d(node)/d(input)
            args = (g, node._data, a._data) if b is None else (g, node._data, a._data, b._data)
            try:
                grads = op.backward(*args, **kwargs) if kwargs else op.backward(*args)
            except (ArithmeticError, ValueError) as e:
                grads = retry(op.backward, args, kwargs, e, op)
        else:
            if graph:  # the graph's own nodes: what the backward computes is recorded as a graph
                args = (g, node, a) if b is None else (g, node, a, b)
            else:
                args = (g, data(node), data(a)) if b is None else (g, data(node), data(a), data(b))
            grads = op.backward(*args, **kwargs) if backward is None else backward(node, args)
        if b is None:
            parents, grads = (a,), (grads,)
        else:
            parents = (a, b)
        for i, p in enumerate(parents):
            if not p.requires_grad or (leads is not None and id(p) not in leads):
                continue
            gp, like = grads[i], p._data
            if not numbers:
                if gp is None:  # (an op told by needs= that this input wants no gradient)
                    continue
                gp = as_value(gp) if graph else gp
                if gp.shape != shape_of(like):
                    gp = _reduce_broadcast_named(gp, like, op, i, p, node._data)
            elif like.__class__ is float:
                if gp.__class__ is not float:
                    gp = _reduce_broadcast_named(gp, like, op, i, p, node._data)
            elif gp.__class__ is not np.ndarray or gp.shape != like.shape:
                gp = _reduce_broadcast_named(gp, like, op, i, p, node._data)
            elif gp is g or gp.base is not None or (i and gp is grads[0]):
                # passed through, a view, or given to both inputs: every .grad is an array of its own, laid out in
                # memory as the node's data (a parameter's C order, an image batch's batch-last order)
                own = np.empty_like(like)
                own[...] = gp
                gp = own
            before = get(p)
            pending[p] = gp if before is None else before + gp  # a node used twice gets both contributions
            if watch:
                if anomaly and data is None:
                    check_finite("backward", gp._data if graph else gp, op, parents, node.site)
                if on_edge is not None:
                    on_edge(node, i, gp, pending[p])
    if first_step:  # what the root passed on, which the walk did not reach
        done.update(pending)
    if graph:  # a gradient that depends on nothing requiring grad (x * 2's): say so if it is differentiated again
        for g in done.values():
            if not g.requires_grad and g._operation is None:
                g._kwargs = CONSTANT_GRADIENT
    return done


# ---------------------------------------------------------------- 3. the forward pass: an op becomes a node


def apply(op: type[ops.Op], a, b=None, *more, **kwargs) -> Value:
    """Run ``op`` forward on its input ``a`` (and ``b`` for a binary op) and record the result as a node.

    Numbers and arrays become constants; ``kwargs`` are the op's settings (``axis=0``), kept for
    its backward. The new node joins the graph when an input needs a gradient (and no_grad is off).
    """
    if more:
        raise TypeError(f"{op.name} got {2 + len(more)} inputs; an op takes one or two")
    if a.__class__ is not Value:
        a = _operand(op, a, a, b)
    try:
        if b is None:
            track = a.requires_grad
            if a._data.__class__ is float:  # Python's floats raise instead of warning (handled below)
                data = op.forward(a._data, **kwargs) if kwargs else op.forward(a._data)
            else:  # numpy's warnings off (quietly, written out: this is the hot path): nan/inf propagate
                token = NUMPY_ERRORS.set(IGNORE_ALL)  # quietly, as in PyTorch
                try:
                    data = op.forward(a._data, **kwargs) if kwargs else op.forward(a._data)
                finally:
                    NUMPY_ERRORS.reset(token)
        else:
            if b.__class__ is not Value:
                b = _operand(op, b, a, b)
            track = a.requires_grad or b.requires_grad
            if a._data.__class__ is float and b._data.__class__ is float:
                data = op.forward(a._data, b._data, **kwargs) if kwargs else op.forward(a._data, b._data)
            else:
                token = NUMPY_ERRORS.set(IGNORE_ALL)
                try:
                    data = op.forward(a._data, b._data, **kwargs) if kwargs else op.forward(a._data, b._data)
                finally:
                    NUMPY_ERRORS.reset(token)
    except (ArithmeticError, ValueError) as e:
        data = retry(op.forward, (a._data,) if b is None else (a._data, b._data), kwargs, e, op)
    except TypeError:
        if b is None and op.arity == 2:  # x + None: the None was taken for "no second input"
            raise unsupported(op, a, None, "None is not a number") from None
        raise
    cls = a.__class__ if b is None or b.__class__ is Value else b.__class__  # a facade's tensor (a subclass,
    out = cls.__new__(cls)  # torch's or DeZero's) makes its own kind; __new__ skips __init__'s checks (clean data)
    out._data = data if data.__class__ is float else clean(data)
    out._grad = None
    out.label = ""
    blocks = modes.open_blocks  # while 0 (no no_grad, no anomaly block anywhere), every switch is at its default
    if track and (not blocks or modes.state.grad_enabled):
        out._a, out._b, out._operation, out._kwargs, out.requires_grad = a, b, op, kwargs or NO_KWARGS, True
    elif blocks and modes.state.reads is not None:  # compile's trace: constants made of the arguments
        # (X[:, r] of an argument X) or of parameters under no_grad are recorded too, so the compiled step computes them
        out._a, out._b, out._operation, out._kwargs, out.requires_grad = a, b, op, kwargs or NO_KWARGS, False
    else:  # a constant; its unused _kwargs say why, for backward()'s error
        out._a, out._b, out._operation, out.requires_grad = None, None, None, False
        in_no_grad = track or a._kwargs is MADE_IN_NO_GRAD or (b is not None and b._kwargs is MADE_IN_NO_GRAD)
        out._kwargs = MADE_IN_NO_GRAD if in_no_grad else MADE_FROM_CONSTANTS
    if blocks and modes.state.sites:
        out._site = creation_site()
        if modes.state.anomaly:
            check_finite("forward", out._data, op, (a,) if b is None else (a, b), out._site)
    return out


def _operand(op: type[ops.Op], x, a, b) -> Value:
    """``as_value(x)`` for an input of ``op`` (whose operands are a and b): for a binary op an operand
    that is not data (None, a string) gives Python's own TypeError naming both types."""
    try:
        return as_value(x)
    except TypeError as e:
        raise (unsupported(op, a, b, str(e)) if op.arity == 2 else e) from None


def as_value(x) -> Value:
    """x itself if it is a Value, else a constant Value (no gradient) holding it."""
    if x.__class__ is Value:
        return x
    if x.__class__ is float:  # the common constant: skip validation
        c = Value.__new__(Value)
        c._data, c._grad, c.label, c.requires_grad, c._operation, c._kwargs = x, None, "", False, None, NO_KWARGS
        c._a = c._b = None
        return c
    return x if isinstance(x, Value) else Value(x, requires_grad=False)


# ---------------------------------------------------------------- broadcasting: summed back in one place


def reduce_broadcast(g, like):
    """Sum a gradient over the axes that broadcasting added or stretched, back to the shape of ``like``.

    If x of shape (3, 1) was added to y of shape (4,), the output is (3, 4); each x[i, 0]
    was used 4 times, so its gradient is the sum of those 4 upstream gradients.  Only what
    broadcasting explains is summed: a gradient of any other shape is a bug in the op that
    made it, and raises ValueError.
    """
    if g.__class__ is Value or hasattr(g, "_math"):  # a node (create_graph) or compile's symbol: the same sums,
        # as Sum nodes, which can be differentiated, or as code
        added, stretched = broadcast_axes(g.shape, shape_of(like))
        g = g.sum(axis=added) if added else g
        return g.sum(axis=stretched, keepdims=True) if stretched else g
    if like.__class__ is float:  # a scalar broadcasts to any shape
        return g if g.__class__ is float else float(np.add.reduce(g, axis=None))
    g = np.asarray(g, dtype=np.float64)
    if g.shape == like.shape:
        return g
    added, stretched = broadcast_axes(g.shape, like.shape)
    if added:  # axes added in front: (16,) + (100, 16) made (100, 16)
        g = np.add.reduce(g, axis=added)
    return np.add.reduce(g, axis=stretched, keepdims=True) if stretched else g


def broadcast_axes(shape: tuple, original: tuple) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The axes broadcasting added in front of ``original`` to make ``shape``, and the size-1 axes it stretched."""
    extra = len(shape) - len(original)
    if extra < 0 or any(n != 1 and n != m for n, m in zip(original, shape[extra:])):
        raise ValueError(f"a gradient of shape {shape} is not a broadcast of the input's shape {original}")
    return tuple(range(extra)), tuple(i for i, n in enumerate(original) if n == 1 and shape[extra + i] != 1)


def _reduce_broadcast_named(g, like, op: type[ops.Op], i: int, p: Value, out):
    """``reduce_broadcast`` of what op's backward returned for its input i, after checking it: it may be
    summed only over axes of the op's output (``out``), which broadcasting added or stretched; a gradient
    of any other shape is a bug in the backward, named with the op and the input."""
    shape, out_shape, problem = np.shape(g), shape_of(out), None
    try:
        added, stretched = broadcast_axes(shape, shape_of(like))
    except ValueError as e:
        problem = str(e)
    else:
        summed = added + tuple(len(added) + j for j in stretched)  # the axes of g that are summed away
        extra = len(out_shape) - len(shape)
        if summed and (extra < 0 or any(shape[k] != out_shape[extra + k] for k in summed)):
            problem = (
                f"a gradient of shape {shape} for an input of shape {shape_of(like)}, but the op's output "
                f"has shape {out_shape}: only axes of the output can be summed back"
            )
    if problem:
        raise ValueError(
            f"the backward of {op.name} returned a wrong gradient for its input {i} ({p.label or 'unnamed'}): {problem}"
        )
    return reduce_broadcast(g, like)


# ---------------------------------------------------------------- gradients of gradients


class ValueMath:
    """The functions an op's backward uses (``ops.math_for``), for Values: each one makes graph nodes.

    So when ``backprop(graph=True)`` runs a backward on the graph's own nodes, the gradient it returns
    is a Value with a graph of its own, and can be differentiated again (as DeZero does).
    """

    @staticmethod
    def exp(x: Value) -> Value:
        return apply(ops.Exp, x)

    @staticmethod
    def log(x: Value) -> Value:
        return apply(ops.Log, x)

    @staticmethod
    def tanh(x: Value) -> Value:
        return apply(ops.Tanh, x)

    @staticmethod
    def sin(x: Value) -> Value:
        return apply(ops.Sin, x)

    @staticmethod
    def cos(x: Value) -> Value:
        return apply(ops.Cos, x)

    @staticmethod
    def power(x: Value, p) -> Value:
        return x**p

    @staticmethod
    def where(cond, a, b) -> Value:
        return where(cond, a, b)

    @staticmethod
    def blocked(cond, g: Value) -> Value:
        return where(cond, 0.0, g)

    @staticmethod
    def zeros_like(x: Value) -> Value:
        return Value(np.zeros(x.shape) if x.shape else 0.0, requires_grad=False)

    @staticmethod
    def reshape(x: Value, shape: tuple) -> Value:
        return apply(ops.Reshape, x, shape=tuple(shape))

    @staticmethod
    def transpose(x: Value, axes: tuple | None = None) -> Value:
        return apply(ops.Transpose, x, axes=axes)

    @staticmethod
    def sum(x: Value, axis=None, keepdims: bool = False) -> Value:
        return apply(ops.Sum, x, axis=axis, keepdims=keepdims)

    @staticmethod
    def broadcast_to(x: Value, shape: tuple) -> Value:
        return apply(ops.BroadcastTo, x, shape=tuple(shape))

    apply = staticmethod(apply)


def where(cond, a, b) -> Value:
    """``a`` where ``cond`` is nonzero, ``b`` elsewhere (torch.where). ``cond`` is a constant: comparisons
    such as ``x > 0`` give one; the gradient goes to whichever of a and b was picked."""
    mask = numbers_of(cond, bool)  # (compile's trace follows a mask given as an argument)
    a, b = as_value(a), as_value(b)
    if mask.ndim == 0 and a._data.__class__ is float and b._data.__class__ is float:
        return apply(ops.Where, a, b, mask=bool(mask))
    try:
        np.broadcast_shapes(mask.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"where: the condition {mask.shape}, a {a.shape} and b {b.shape} do not broadcast together"
        ) from None
    return apply(ops.Where, a, b, mask=mask)


def grad_numbers(v: Value):
    """v's gradient as numbers: ``.grad``, or its data when ``backward(create_graph=True)`` made it a Value."""
    g = v.gradient
    return g._data if isinstance(g, Value) else g


def _named_seed(output: Value, grad_output) -> Value:
    """The starting gradient as a Value; the default 1 is named d(out)/d(out), so a drawn gradient says what it is."""
    seed = as_value(seed_for(output, grad_output))
    if grad_output is None and output.label:
        seed.label = f"d{output.label}/d{output.label}"
    return seed


def leading_to(order: list[Value], wanted: list[Value]) -> set[int]:
    """The ids of the nodes of ``order`` (a toposort) with a path down to one of ``wanted``, and of those."""
    leads = {id(w) for w in wanted}
    for node in reversed(order):  # inputs first: a node leads there when one of its inputs does
        if id(node._a) in leads or id(node._b) in leads:
            leads.add(id(node))
    return leads


def grad(
    output: Value, inputs, grad_output=None, create_graph: bool = False, allow_unused: bool = False
) -> tuple[Value, ...]:
    """d(output)/d(input) for each input, returned as Values and not added into ``.grad``
    (``torch.autograd.grad``).

    ``grad_output`` is dL/d(output) (1 for a one-element output).  With ``create_graph=True`` the
    gradients have graphs of their own, so ``grad`` can be applied to them again: second
    derivatives, Hessian-vector products, Newton's method.  An input the output does not depend
    on is an error, or gets zeros with ``allow_unused=True``.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: output must be a Value, got {type(output).__name__}")
    inputs = (inputs,) if isinstance(inputs, Value) else tuple(inputs)
    if not inputs:
        raise ValueError("grad: inputs is empty; pass the Values to differentiate by")
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"grad: input {i} must be a Value, got {type(x).__name__}")
        if not x.requires_grad:
            raise ValueError(
                f"grad: input {i} ({x.label or 'unnamed'}, shape {x.shape}) has requires_grad=False, "
                "so it has no gradient"
            )
    need_graph(output, "grad()")
    seed = _named_seed(output, grad_output)
    with contextlib.nullcontext() if create_graph else no_grad():
        grads = backprop(output, seed, graph=True, wanted=list(inputs))
    result = []
    for i, x in enumerate(inputs):
        g = grads.get(x)
        if g is None:
            if not allow_unused:
                raise ValueError(
                    f"grad: input {i} ({x.label or 'unnamed'}, shape {x.shape}) is not used to "
                    "compute the output, so it has no gradient (allow_unused=True: zeros)"
                )
            g = ValueMath.zeros_like(x)
        result.append(g)
    return tuple(result)


def backprop_graph(root: Value, grad: Value, wanted: list[Value] | None = None) -> dict[Value, Value]:
    """``backprop(root, grad, graph=True, wanted=wanted)``, under the name it had before the walk was one."""
    return backprop(root, grad, graph=True, wanted=wanted)


# ---------------------------------------------------------------- what methods.py reaches the engine through

Value._apply = staticmethod(apply)  # x + y: apply(ops.Add, x, y)
Value._operand = staticmethod(_operand)  # an operand made a Value (a constant), or Python's TypeError
Value._constant = staticmethod(as_value)  # numbers as a constant (detach(), comparisons)
Value._backprop = staticmethod(backprop)  # chain_rule: backprop's first step
Value._math = ValueMath  # the functions an op's backward uses on Values (ops.math_for)

# The switches and compile's trace were engine's names before they got modules of their own; they still are.
from tinygrad_edu.follow import Argument, Followed, check, item_of  # noqa: E402, F401
from tinygrad_edu.modes import (  # noqa: E402, F401
    any_mode_open,
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    note_reads,
    quietly,
    record_sites,
)
