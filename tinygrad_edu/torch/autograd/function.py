"""``torch.autograd.Function``: a derivative the user writes, as PyTorch's custom functions are, made an op.

Each Function class gets an ``ops.Op`` subclass of its own (one per number of tensor inputs, 1 or 2: an op of
this engine has one or two), named after it; ``apply`` runs ``engine.apply`` with that op and a ``FunctionCtx``
as the op's setting. So the node is drawn with the Function's name, ``gradcheck`` and ``trace_backward`` run the
user's forward and backward as they run any op's, and ``compile`` writes a line that calls them.

* forward: the user's code runs under no_grad on tensors without graphs, made of the inputs' numbers;
* backward: the upstream gradient as a tensor; the user returns one gradient per forward argument (None for one
  with no gradient, and for a non-tensor argument, which is a setting of the node). With ``create_graph`` the
  backward runs on the graph's own nodes (``ctx.saved_tensors`` gives those nodes), so a backward written with
  tensor ops is differentiable again.

A tool may run the op's forward on other numbers (finite differences); the backward notices that the numbers it
is given are not those its ctx saw, and runs the forward on them first, so it never uses stale saved tensors.
"""

from __future__ import annotations

import contextlib
import weakref

import numpy as np

from tinygrad_edu import modes, ops
from tinygrad_edu.code import NotSymbolic
from tinygrad_edu.engine import Value, apply, reduce_broadcast
from tinygrad_edu.modes import is_grad_enabled, no_grad


class untraced(no_grad):
    """no_grad, with compile's trace not watching: the user's forward and backward are called as lines of a
    compiled step, so what they read of the numbers is theirs to read."""

    changes = {"grad_enabled": False, "reads": None}


class FunctionCtx:
    """PyTorch's ``ctx``: what forward leaves for backward. ``save_for_backward(*tensors)`` then
    ``saved_tensors``; ``needs_input_grad``, one bool per forward argument; any attribute the user sets.
    Two contexts are equal when they are of the same Function called the same way (compile compares the
    settings of two traced calls)."""

    def __init__(self, function: type[Function], needs_input_grad: tuple[bool, ...]):
        self.function, self.needs_input_grad = function, needs_input_grad
        self.given: tuple = ()  # the numbers forward last ran on
        self.inputs: tuple = ()  # the tensors it made of them, and its output
        self.output = None
        self.nodes: tuple | None = None  # (output, inputs) as graph nodes, while a backward runs on them
        self._saved: tuple = ()
        self.marked: set[int] = set()  # ids of the tensors mark_non_differentiable named

    def save_for_backward(self, *tensors) -> None:
        """Keep these tensors (inputs, the output, or anything computed in forward) for backward."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Value):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} is of type {type(t)}")
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple:
        """What ``save_for_backward`` kept; under create_graph an input or the output is the graph's own node."""
        if self.nodes is None:
            return self._saved
        output, inputs = self.nodes
        own = {id(t): node for t, node in zip(self.inputs, inputs)}
        own[id(self.output)] = output
        return tuple(t if t is None else own.get(id(t), t) for t in self._saved)

    def mark_non_differentiable(self, *tensors) -> None:
        """The output given here gets no gradient (an index, a mask): it is returned without a graph."""
        self.marked.update(id(t) for t in tensors)

    def __eq__(self, other) -> bool:
        return (
            type(other) is FunctionCtx
            and other.function is self.function
            and other.needs_input_grad == self.needs_input_grad
        )

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<{self.function.__name__} ctx>"


class FunctionOp(ops.Op):
    """The op of a Function: forward and backward hand the numbers (or the graph's nodes) to the user's code.
    ``constants`` are the non-tensor arguments as (position, value) pairs."""

    function: type[Function]

    @staticmethod
    def forward(*numbers, ctx: FunctionCtx, constants: tuple = ()):
        return _forward(numbers, ctx, constants)

    @staticmethod
    def backward(g, out, *inputs, ctx: FunctionCtx, constants: tuple = ()):
        return _backward(g, out, inputs, ctx, constants)


class Function:
    """PyTorch's custom function: subclass it, write ``@staticmethod forward(ctx, *args)`` and
    ``@staticmethod backward(ctx, grad_output)``, call it as ``MyFunction.apply(x)``."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple, output) -> None:
        """PyTorch 2's other style: ``forward(*args)`` without ctx, and this fills ctx."""
        raise NotImplementedError

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs):
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom autograd.Function to use it "
            "with backward mode AD."
        )

    def __call__(self, *args):
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use new-style "
            "autograd function with static forward method. (Example: "
            "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)"
        )

    @classmethod
    def apply(cls, *args) -> Value:
        """Run the Function on ``args`` (one or two tensors; other arguments are settings): a node of the graph."""
        if cls is Function:
            raise TypeError("apply a subclass of torch.autograd.Function, not Function itself")
        positions = [i for i, a in enumerate(args) if isinstance(a, Value)]
        if len(positions) > 2:
            raise TypeError(
                f"{cls.__name__}.apply got {len(positions)} tensors; a torch.autograd.Function here takes one or "
                "two tensor inputs (an op of this engine has one or two): combine them, or split the function"
            )
        grad = is_grad_enabled()
        needs = tuple(i in positions and grad and args[i].requires_grad for i in range(len(args)))
        ctx = FunctionCtx(cls, needs)
        constants = tuple((i, a) for i, a in enumerate(args) if i not in positions)
        if modes.open_blocks and modes.state.reads is not None and not all(_fixed(a) for _, a in constants):
            modes.state.reads.notes.append(  # compile's trace: the step would keep this call's (runs eagerly)
                f"a non-tensor argument of {cls.__name__}.apply that is not a Python number or string"
            )
        settings = {"ctx": ctx, "constants": constants} if constants else {"ctx": ctx}
        if not positions:  # nothing to differentiate by: the user's forward, and no node
            return _tensor(_forward((), ctx, constants))
        out = apply(_op_for(cls, len(positions)), *[args[i] for i in positions], **settings)
        return out.detach() if id(ctx.output) in ctx.marked else out


_OPS: weakref.WeakValueDictionary[str, type[FunctionOp]] = weakref.WeakValueDictionary()  # op name -> op class


def _op_for(function: type[Function], arity: int) -> type[FunctionOp]:
    """The op of ``function`` with this many tensor inputs, made on first use. Its class name is the
    Function's, made unique (compile's lines call it by that name) and never a built-in op's."""
    key = f"_op{arity}"
    op = function.__dict__.get(key)
    if op is None:
        name, k = function.__name__, 1
        while name in _OPS or name in ops.REGISTRY:
            k += 1
            name = f"{function.__name__}_{k}"
        doc = f"The op of torch.autograd.Function {function.__qualname__}: {function.__doc__ or ''}".strip()
        op = type(name, (FunctionOp,), {"name": function.__name__, "arity": arity, "function": function})
        op.__doc__ = doc
        _OPS[name] = op
        setattr(function, key, op)
    return op


def _fixed(x) -> bool:
    """A Python number, bool, string or None, or a tuple of them: compile compares these between calls."""
    return x is None or type(x) in (int, float, bool, str) or type(x) is tuple and all(_fixed(v) for v in x)


def _numbers(x) -> bool:
    return isinstance(x, (float, np.ndarray))


def _tensor(numbers) -> Value:
    """A tensor of the PyTorch facade holding a copy of these numbers, without a graph."""
    from tinygrad_edu.torch import tensor  # (the facade imports this module: its tensors exist by now)

    return tensor(numbers)


def _expands(shape: tuple, to: tuple) -> bool:
    """Whether numpy broadcasting stretches ``shape`` to ``to`` (a gradient of that shape is summed back)."""
    try:
        return np.broadcast_shapes(shape, to) == to
    except ValueError:
        return False


def _arguments(tensors: list, constants: tuple) -> list:
    """The forward's arguments in the order the user gave them: tensors, with the constants in their places."""
    args = list(tensors)
    for i, value in constants:
        args.insert(i, value)
    return args


def _forward(numbers: tuple, ctx: FunctionCtx, constants: tuple):
    """The user's forward on tensors made of ``numbers``, under no_grad; returns the output's numbers."""
    if not all(_numbers(x) for x in numbers):  # compile's symbols: the op is called as a line, on numbers
        raise NotSymbolic("a torch.autograd.Function runs the user's Python on numbers")
    tensors = [_tensor(x) for x in numbers]
    args = _arguments(tensors, constants)
    function = ctx.function
    with untraced():
        if function.setup_context is Function.setup_context:
            out = function.forward(ctx, *args)
        else:
            out = function.forward(*args)
            function.setup_context(ctx, tuple(args), out)
    if not isinstance(out, Value):
        raise TypeError(f"{function.__name__}.forward must return one tensor here, it returned {type(out).__name__}")
    ctx.given, ctx.inputs, ctx.output = numbers, tuple(tensors), out
    return out.numbers


def _backward(g, out, inputs: tuple, ctx: FunctionCtx, constants: tuple):
    """The user's backward: on numbers (as tensors without graphs), or on the graph's own nodes (create_graph)."""
    graph = isinstance(g, Value)
    given = tuple(x.numbers for x in inputs) if graph else inputs
    if not graph and not (_numbers(g) and all(_numbers(x) for x in inputs)):
        raise NotSymbolic("a torch.autograd.Function runs the user's Python on numbers")
    if len(given) != len(ctx.given) or any(a is not b for a, b in zip(given, ctx.given)):
        _forward(given, ctx, constants)  # forward last ran on other numbers (a tool's): its saved tensors are not these
    name = f"{ctx.function.__name__}Backward"
    if graph:
        ctx.nodes = (out, inputs)
    try:
        with contextlib.nullcontext() if graph else untraced():
            grads = ctx.function.backward(ctx, g if graph else _tensor(g))
    finally:
        ctx.nodes = None
    grads = grads if isinstance(grads, tuple) else (grads,)
    expected = len(inputs) + len(constants)
    if len(grads) > expected and all(r is None for r in grads[expected:]):
        grads = grads[:expected]  # extra Nones are ignored, as in PyTorch
    if len(grads) != expected:
        raise RuntimeError(
            f"function {name} returned an incorrect number of gradients (expected {expected}, got {len(grads)})"
        )
    fixed = {i for i, _ in constants}
    result = []
    for i, r in enumerate(grads):
        if i in fixed:
            if r is not None:
                raise RuntimeError(
                    f"function {name} returned a gradient different than None at position {i + 1}, but the "
                    "corresponding forward input was not a Variable"
                )
            continue
        like = given[len(result)]
        if r is None:
            result.append(None if graph else 0.0 if like.__class__ is float else np.zeros(like.shape))
            continue
        if not isinstance(r, Value):
            raise RuntimeError(f"expected Variable or None (got {type(r).__name__})")
        shape, wanted = r.shape, np.shape(like)
        if shape != wanted:
            if not _expands(wanted, shape):
                raise RuntimeError(
                    f"Function {name} returned an invalid gradient at index {i} - got {list(shape)} but expected "
                    f"shape compatible with {list(wanted)}"
                )
            r = reduce_broadcast(r if graph else r.numbers, like)  # summed back, as PyTorch's sum_to
        result.append(r if graph or not isinstance(r, Value) else r.numbers)
    return result[0] if len(result) == 1 else tuple(result)
