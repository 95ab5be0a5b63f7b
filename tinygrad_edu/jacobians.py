"""Whole derivatives and their products: ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``, with the signatures
and answers of PyTorch's ``torch.autograd.functional`` (the PyTorch facade's ``torch.autograd.functional`` is
this module).

Each is computed the way that costs least, from the one backward walk (``engine.backprop``, reverse mode) and the
one forward sweep (``forward.tangents``, forward mode):

* ``vjp(f, x, v)``: v^T J, one backward pass seeded with v: what ``backward()`` computes;
* ``jvp(f, x, v)``: J v, one forward pass with the inputs moving along v;
* ``jacobian(f, x)``: J, one backward pass per output element (a row e_i^T J each), or with
  ``mode="forward"`` (PyTorch: ``strategy="forward-mode"``) one forward pass per input element (a column J e_j
  each): reverse mode for few outputs, forward mode for few inputs;
* ``hessian(f, x)``: the jacobian of the gradient (the gradient made with ``create_graph``): reverse over reverse,
  or with ``mode="forward"`` forward over reverse (tangents pushed through the gradient's graph);
* ``hvp(f, x, v)``: H v, forward over reverse: the gradient made with ``create_graph``, then one forward pass
  through it with the inputs moving along v.

``inputs`` is a Value or a tuple of them (numbers and arrays become Values here); the answers are shaped as
PyTorch's: a tuple where the inputs (or outputs) were one. An input the outputs do not depend on gets zeros, or
PyTorch's error with ``strict=True``. ``create_graph=True`` gives answers with graphs, to differentiate again;
``vectorize`` is accepted as PyTorch documents it and changes nothing here (a row is one backward pass, a column
one forward pass, either way). PyTorch's messages are kept, also where its own method differs: its jvp and hvp use
the double-vjp trick (u -> u^T J is linear in u, so its own vjp with v is J v), and their ``strict`` errors speak
of it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np

from tinygrad_edu import functional, ops
from tinygrad_edu.engine import Value, apply, backprop
from tinygrad_edu.forward import constant_like, forward_order, leaf_like, tangents
from tinygrad_edu.modes import enable_grad, no_grad

__all__ = ["jacobian", "hessian", "vjp", "jvp", "hvp"]


def jacobian(
    func: Callable,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
    mode: str | None = None,
):
    """d(output)/d(input): of shape ``output.shape + input.shape`` for each output and input (a tuple over the
    inputs when they are a tuple, over the outputs when ``func`` returns a tuple, of tuples when both).

    ``mode="reverse"`` (the default) takes one backward pass per output element, a row each; ``mode="forward"``
    one forward pass per input element, a column each. ``strategy`` is PyTorch's name for the same choice
    ("reverse-mode", "forward-mode"), with PyTorch's conditions (forward-mode needs ``vectorize=True``, and
    neither ``create_graph`` nor ``strict``); ``mode`` has none."""
    name = "torch.autograd.functional.jacobian"
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your function has more '
            'outputs than inputs, "forward-mode" tends to be more performant. Otherwise, prefer to use "reverse-mode".'
        )
    if mode is not None and mode not in ("forward", "reverse"):
        raise ValueError(f'jacobian: mode must be "reverse" or "forward", got {mode!r}')
    if mode is not None and strategy != "reverse-mode":
        raise ValueError(f"jacobian: give mode= or strategy=, not both (got mode={mode!r}, strategy={strategy!r})")
    if strategy == "forward-mode":  # PyTorch's conditions
        if create_graph:
            raise NotImplementedError(
                f'{name}: `create_graph=True` and `strategy="forward-mode"` are not supported together (yet). Please '
                'either set `create_graph=False` or `strategy="reverse-mode"`.'
            )
        if strict:
            raise RuntimeError(
                f'{name}: `strict=True` and `strategy="forward-mode"` are not supported together (yet). Please '
                'either set `strict=False` or `strategy="reverse-mode"`.'
            )
        if not vectorize:
            raise NotImplementedError(
                "Computing Jacobian using forward-AD or forward-over-reverse Hessian is only implemented for "
                "`vectorize=True`."
            )
    if vectorize and strict:
        raise RuntimeError(
            f"{name}: `strict=True` and `vectorized=True` are not supported together. Please either set "
            "`strict=False` or `vectorize=False`."
        )
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _fresh(inputs, create_graph)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jacobian")
        _check_requires_grad(outputs, "outputs", strict)
        if mode == "forward" or strategy == "forward-mode":
            result = _columns(outputs, inputs, create_graph, strict)
        else:
            result = _rows(outputs, inputs, create_graph, strict)
        return _tuple_postprocess(result, (is_outputs_tuple, is_inputs_tuple))


def _rows(outputs: tuple, inputs: tuple, create_graph: bool, strict: bool) -> tuple:
    """Reverse mode: for each output, one backward pass per element j (seeded with e_j) gives row j of its
    Jacobian with every input."""
    result = []
    for i, out in enumerate(outputs):
        rows: list[list] = [[] for _ in inputs]
        for j in range(np.size(out.numbers)):
            seed = constant_like(out, _unit(out.shape, j))
            for k, (row, g) in enumerate(zip(rows, _grads((out,), inputs, (seed,), create_graph))):
                row.append(_entry(g, i, k, inputs[k], strict, create_graph))
        result.append(tuple(_stack(row, out.shape + x.shape, x, create_graph) for row, x in zip(rows, inputs)))
    return tuple(result)


def _columns(outputs: tuple, inputs: tuple, create_graph: bool, strict: bool) -> tuple:
    """Forward mode: for each input, one forward pass per element j (moving along e_j) gives column j of every
    output's Jacobian with it."""
    result: list[list] = [[] for _ in outputs]
    for k, x in enumerate(inputs):
        columns: list[list] = [[] for _ in outputs]
        for j in range(np.size(x.numbers)):
            direction = constant_like(x, _unit(x.shape, j)) if create_graph else _unit(x.shape, j)
            found = tangents(outputs, (x,), (direction,), graph=create_graph)
            for i, (column, out) in enumerate(zip(columns, outputs)):
                column.append(_entry(_found(found, out, create_graph), i, k, out, strict, create_graph))
        for i, (column, out) in enumerate(zip(columns, outputs)):
            stacked = _stack(column, x.shape + out.shape, x, create_graph)  # (input axes, output axes)
            result[i].append(stacked.transpose(*range(x.ndim, stacked.ndim), *range(x.ndim)) if out.ndim else stacked)
    return tuple(tuple(r) for r in result)


def _unit(shape: tuple, j: int):
    """e_j: zeros of ``shape`` with a 1 at element j (row-major), a float for shape ()."""
    if not shape:
        return 1.0
    e = np.zeros(shape)
    e.reshape(-1)[j] = 1.0
    return e


def _entry(d, i: int, k: int, like: Value, strict: bool, create_graph: bool) -> Value:
    """One row (or column) of the Jacobian of output i with input k: zeros of ``like``'s shape where output i does
    not depend on input k, or PyTorch's error when strict."""
    if d is None:
        if strict:
            raise RuntimeError(
                f"Output {i} of the user-provided function is independent of input {k}. This is not allowed in "
                "strict mode."
            )
        return _zeros(like)
    if strict and create_graph and not d.requires_grad:
        raise RuntimeError(
            f"The jacobian of the user-provided function is independent of input {k}. This is not allowed in "
            "strict mode when create_graph=True."
        )
    return d


def hessian(
    func: Callable,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
    mode: str | None = None,
):
    """The second derivatives of a function with one output element: the jacobian of its gradient, of shape
    ``input.shape + input.shape`` (a tuple of tuples, ``H[i][j]`` for inputs i and j, when they are a tuple).

    The gradient is made by a backward pass with ``create_graph``; its jacobian is taken by ``mode`` (as in
    ``jacobian``): "reverse" (the default: reverse over reverse, one more backward pass per gradient element) or
    "forward" (forward over reverse: one forward pass per input element, pushing tangents through the gradient's
    graph). PyTorch's name for it is ``outer_jacobian_strategy`` ("forward-mode" needs ``vectorize=True``)."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def single_output(*xs):
        out = func(*xs)
        is_out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(outs, "outputs", strict)
        if is_out_tuple:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if np.size(out.numbers) != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should contain a single element")
        return out.reshape(()) if out.shape else out

    def gradient(*xs):
        jac = jacobian(single_output, xs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        return jac

    res = jacobian(gradient, inputs, create_graph, strict, vectorize, outer_jacobian_strategy, mode)
    return _tuple_postprocess(res, (is_inputs_tuple, is_inputs_tuple))


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T J): the vector-Jacobian product, one backward pass seeded with ``v`` (the output's
    shape; may be left out for an output of one element)."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _fresh(inputs, create_graph)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "vjp")
        _check_requires_grad(outputs, "outputs", strict)
        if v is not None:
            _, v = _as_tuple(v, "v", "vjp")
            v = _fresh(v, create_graph, need_graph=False)
            _validate_v(v, outputs, is_outputs_tuple)
        elif len(outputs) != 1 or np.size(outputs[0].numbers) != 1:
            raise RuntimeError(
                "The vector v can only be None if the user-provided function returns a single Tensor with a "
                "single element."
            )
    with enable_grad() if create_graph else contextlib.nullcontext():
        products = _fill_in_zeros(_grads(outputs, inputs, v, create_graph), inputs, strict, create_graph, "back")
    return _answer(outputs, is_outputs_tuple, products, is_inputs_tuple, create_graph)


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), J v): the Jacobian-vector product by one forward pass, the inputs moving along ``v``
    (``forward.tangents``); ``v`` has the inputs' shapes (may be left out for one input of one element)."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _fresh(inputs, create_graph)
        v = _vector_of_inputs(v, inputs, is_inputs_tuple, create_graph, "jvp")
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jvp")
        _check_requires_grad(outputs, "outputs", strict)
        if strict:  # PyTorch's check of its first backward pass: every input reaches an output
            reached = set(forward_order(outputs))
            _check_requires_grad(tuple(x if x in reached else None for x in inputs), "grad_inputs", strict)
    with enable_grad() if create_graph else contextlib.nullcontext():
        found = tangents(outputs, inputs, (1.0,) if v is None else v, graph=create_graph)
        products = tuple(_found(found, out, create_graph) for out in outputs)
        products = _fill_in_zeros(products, outputs, strict, create_graph, "back_trick")
    return _answer(outputs, is_outputs_tuple, products, is_outputs_tuple, create_graph)


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H v) for a function with one output element, forward over reverse: the gradient g(x) made
    with a graph, then one forward pass through that graph, the inputs moving along ``v``: the tangent of g is
    H v."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hvp")
        inputs = _fresh(inputs, create_graph)
        v = _vector_of_inputs(v, inputs, is_inputs_tuple, create_graph, "hvp")
        is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "hvp")
        _check_requires_grad(outputs, "outputs", strict)
        if is_outputs_tuple:
            raise RuntimeError("The function given to hvp should return a single Tensor")
        if np.size(outputs[0].numbers) != 1:
            raise RuntimeError("The Tensor returned by the function given to hvp should contain a single element")
        jac = _grads(outputs, inputs, None, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        _check_requires_grad(jac, "hessian", strict)
    with enable_grad() if create_graph else contextlib.nullcontext():
        gradient = tuple(g for g in jac if g is not None)
        found = tangents(gradient, inputs, (1.0,) if v is None else v, graph=create_graph) if gradient else {}
        products = tuple(None if g is None else _found(found, g, create_graph) for g in jac)
        products = _fill_in_zeros(products, inputs, strict, create_graph, "double_back_trick")
    return _answer(outputs, is_outputs_tuple, products, is_inputs_tuple, create_graph)


def _found(found: dict, node: Value, create_graph: bool) -> Value | None:
    """The tangent a forward pass found for ``node`` as a Value (numbers become a constant of node's class), or
    None where the node does not depend on the inputs."""
    t = found.get(node)
    return t if t is None or create_graph else constant_like(node, t)


# ---------------------------------------------------------------- the steps they share, as PyTorch's


def _as_tuple(x, what: str, fn: str) -> tuple[bool, tuple[Value, ...]]:
    """(whether x was a tuple, x as a tuple of Values); numbers and arrays become Values."""
    is_tuple = isinstance(x, tuple)
    items = x if is_tuple else (x,)
    found = []
    for i, item in enumerate(items):
        if not isinstance(item, Value):
            try:
                item = Value(item, requires_grad=False)
            except TypeError:
                where = f"the value at index {i} has type {type(item)}" if is_tuple else f"the given {what} has type"
                raise TypeError(
                    f"The {what} given to {fn} must be either a Tensor or a tuple of Tensors but {where}"
                    + ("" if is_tuple else f" {type(item)}")
                    + "."
                ) from None
        found.append(item)
    return is_tuple, tuple(found)


def _fresh(values: tuple, create_graph: bool, need_graph: bool = True) -> tuple[Value, ...]:
    """A new node for each input (so that one passed twice is two inputs, as in PyTorch): with ``create_graph``
    one made from the input by an identity op (a view: the answers' graphs reach the input), else a leaf of the
    same numbers, cut from the input's graph, that requires a gradient when ``need_graph``."""
    fresh = []
    for x in values:
        if create_graph and x.requires_grad:
            fresh.append(apply(ops.Reshape, x, shape=x.shape))
        else:
            leaf = leaf_like(x)  # of x's class (a facade's tensor stays one)
            leaf.requires_grad = need_graph
            fresh.append(leaf)
    return tuple(fresh)


def _zeros(like: Value, requires_grad: bool = False) -> Value:
    zeros = constant_like(like)
    zeros.requires_grad = requires_grad
    return zeros


def _grads(outputs: tuple, inputs: tuple, grad_outputs, create_graph: bool) -> tuple:
    """d(sum_i <grad_output_i, output_i>)/d(input) for each input, None where no output depends on it
    (PyTorch's ``autograd.grad`` with ``allow_unused``): one ``backprop`` per output that has a graph, on the
    graph's own nodes with ``create_graph`` (the gradients are graphs), else on numbers (made constants at the end)."""
    found: list = [None] * len(inputs)
    grad_outputs = (None,) * len(outputs) if grad_outputs is None else grad_outputs
    with contextlib.nullcontext() if create_graph else no_grad():
        for out, g in zip(outputs, grad_outputs):
            if out is None or not out.requires_grad:
                continue
            seed = g if g is not None else constant_like(out, np.ones(out.shape) if out.shape else 1.0)
            if create_graph:
                grads = backprop(out, seed, graph=True, wanted=list(inputs))
            else:
                grads = backprop(out, seed.numbers, wanted=list(inputs))
            for k, x in enumerate(inputs):
                gx = grads.get(x)
                if gx is not None:
                    gx = gx if create_graph else constant_like(x, gx)
                    found[k] = gx if found[k] is None else found[k] + gx
    return tuple(found)


def _check_requires_grad(values: tuple, kind: str, strict: bool) -> None:
    """strict: every output (or gradient) must depend on the inputs; PyTorch's messages."""
    if not strict:
        return
    for i, v in enumerate(values):
        if v is None:
            raise RuntimeError(
                f"The output of the user-provided function is independent of input {i}. This is not allowed in "
                "strict mode."
            )
        if v.requires_grad:
            continue
        if kind == "hessian":
            raise RuntimeError(
                f"The hessian of the user-provided function with respect to input {i} is independent of the input. "
                "This is not allowed in strict mode. You should ensure that your function is thrice differentiable "
                "and that the hessian depends on the inputs."
            )
        if kind == "jacobian":
            raise RuntimeError(
                "While computing the hessian, found that the jacobian of the user-provided function with respect "
                f"to input {i} is independent of the input. This is not allowed in strict mode. You should ensure "
                "that your function is twice differentiable and that the jacobian depends on the inputs (this would "
                "be violated by a linear function for example)."
            )
        if kind == "grad_inputs":
            raise RuntimeError(
                f"The gradient with respect to input {i} is independent of the inputs of the user-provided "
                "function. This is not allowed in strict mode."
            )
        raise RuntimeError(
            f"Output {i} of the user-provided function does not require gradients. The outputs must be computed "
            "in a differentiable manner from the input when running in strict mode."
        )


_INDEPENDENT = {
    "back": "The output of the user-provided function is independent of input {i}. This is not allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the grad_outputs when "
    "using the double backward trick to compute forward mode gradients. This is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} in the "
    "grad_jacobian. This is not allowed in strict mode as it prevents from using the double backward trick to "
    "replace forward mode AD.",
}


def _fill_in_zeros(grads: tuple, refs: tuple, strict: bool, create_graph: bool, stage: str) -> tuple:
    """Zeros (of the reference's shape) where nothing depends on an input, or PyTorch's error when strict."""
    filled = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_INDEPENDENT[stage].format(i=i))
            g = _zeros(refs[i])
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(
                f"The {what} of the user-provided function is independent of input {i}. This is not allowed in "
                "strict mode when create_graph=True."
            )
        filled.append(g)
    return tuple(filled)


def _validate_v(v: tuple, other: tuple, is_other_tuple: bool) -> None:
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (a, b) in enumerate(zip(v, other)):
        if a.shape != b.shape:
            prepend = f"Entry {i} in " if is_other_tuple else ""
            raise RuntimeError(
                f"{prepend}v has invalid size: should be torch.Size({list(b.shape)}) but got "
                f"torch.Size({list(a.shape)})."
            )


def _stack(rows: list[Value], shape: tuple, like: Value, create_graph: bool) -> Value:
    """The rows of one Jacobian (one per output element) as one Value of ``shape`` (of ``like``'s class)."""
    if not rows:  # an output with no elements
        return constant_like(like, np.zeros(shape))
    if create_graph:
        return functional.stack(rows).reshape(shape)
    numbers = np.stack([np.asarray(r.numbers) for r in rows]).reshape(shape)
    return constant_like(like, numbers if shape else float(numbers))


def _vector_of_inputs(v, inputs: tuple, is_inputs_tuple: bool, create_graph: bool, fn: str):
    """The v of jvp and hvp, checked against the inputs' shapes (None for one input of one element: 1)."""
    if v is None:
        if len(inputs) != 1 or np.size(inputs[0].numbers) != 1:
            raise RuntimeError(
                "The vector v can only be None if the input to the user-provided function is a single Tensor "
                "with a single element."
            )
        return None
    _, v = _as_tuple(v, "v", fn)
    v = _fresh(v, create_graph, need_graph=False)
    _validate_v(v, inputs, is_inputs_tuple)
    return v


def _answer(outputs: tuple, outputs_tuple: bool, products: tuple, products_tuple: bool, create_graph: bool):
    """(func's output, the product), each unwrapped as it was given, without graphs unless ``create_graph``
    (PyTorch detaches them)."""
    if not create_graph:
        outputs, products = tuple(v.detach() for v in outputs), tuple(v.detach() for v in products)
    return _tuple_postprocess(outputs, outputs_tuple), _tuple_postprocess(products, products_tuple)


def _tuple_postprocess(res, to_unpack):
    """Unwrap the tuples made for a single input or output, so the answer has the shape of what was given."""
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(r[0] for r in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res
