"""The checks on what enters the graph and on what comes out of it, with errors that say what was wrong.

``as_data`` cleans what a user gives as a Value's data (a float for a scalar, a float64 array otherwise);
``clean`` does the same for an op's raw output; ``retry`` redoes in numpy what Python's floats refuse
(``1/0``); ``check_finite`` is ``detect_anomaly``'s test; ``need_graph`` says why a backward pass from a
constant cannot reach anything, from the marker the constant carries.
"""

from __future__ import annotations

import numbers
import os

import numpy as np

from tinygrad_edu import modes
from tinygrad_edu.follow import Argument, Followed, frame, is_node, numbers_of

NO_KWARGS: dict = {}  # the settings of a leaf (no op) and of an op without any
# Why a constant (requires_grad=False) is one, kept in its _kwargs, which only op nodes use (compared by identity)
MADE_IN_NO_GRAD: dict = {}
MADE_FROM_CONSTANTS: dict = {}
DETACHED: dict = {}
CONSTANT_GRADIENT: dict = {}
FLOAT64 = np.dtype(np.float64)
PACKAGE = os.path.dirname(os.path.abspath(__file__))


def called_from_package() -> bool:
    """True when the code that called the caller is this package's (not the user's)."""
    return os.path.abspath(frame(2).f_code.co_filename).startswith(PACKAGE + os.sep)


def creation_site() -> str:
    """The first line outside this package on the call stack: where the user's code made the node."""
    at = frame(1)
    while at is not None and os.path.abspath(at.f_code.co_filename).startswith(PACKAGE + os.sep):  # (subpackages too)
        at = at.f_back
    if at is None:
        return "unknown"
    return f"{at.f_code.co_filename}:{at.f_lineno} in {at.f_code.co_name}"


def as_data(x, what: str = "Value data"):
    """Clean user data: a Python float for scalars, a float64 array (a copy) otherwise."""
    if x.__class__ is float:
        return x
    if x.__class__ is int:
        return float(x)
    if x.__class__ is np.ndarray and x.dtype.kind in "biuf" and x.ndim:
        data = x.astype(np.float64)  # one copy, so the caller's array is not shared
        if modes.open_blocks and modes.state.reads is not None:
            modes.state.reads.came_from(data, x, ("as", np.float64, None))
        return data
    if x.__class__ is Argument or x.__class__ is Followed:  # inside compile's trace: numbers given, followed
        given = numbers_of(x, np.float64)
        data = float(given) if given.ndim == 0 else np.array(given)  # a copy, as for any array
        modes.state.reads.came_from(data, given, ("float",) if given.ndim == 0 else ("as", None, None))
        return data
    if isinstance(x, (bool, numbers.Real, np.bool_)) and not isinstance(x, np.ndarray):
        return float(x)
    if is_node(x):
        raise TypeError(f"{what} must be a number, list or numpy array, got a Value: pass the Value itself")
    if isinstance(x, (complex, numbers.Complex)):
        raise TypeError(f"{what} must be real, got the complex number {x!r}")
    if not isinstance(x, (list, tuple, np.ndarray)):
        raise TypeError(f"{what} must be a number, nested list or numpy array, got {type(x).__name__} {x!r}")
    if holds_value(x):
        raise TypeError(
            f"{what} must be numbers, got a list holding Values: their data would be copied and the "
            "graph cut; keep them as Values (at scalar granularity) or use their .data"
        )
    try:
        arr = np.array(x)
    except ValueError as e:
        raise ValueError(f"{what} is a ragged nested list (rows of different lengths): {x!r}") from e
    if arr.dtype.kind not in "biuf":
        kind = {"c": "complex numbers", "U": "strings", "S": "bytes", "O": "objects such as None"}
        raise TypeError(f"{what} must hold real numbers, got {kind.get(arr.dtype.kind, arr.dtype)}: {x!r}")
    return float(arr) if arr.ndim == 0 else arr.astype(np.float64, copy=False)


def holds_value(x) -> bool:
    """True if a (nested) list or tuple holds a Value anywhere."""
    stack = [x]
    while stack:
        item = stack.pop()
        if is_node(item):
            return True
        if isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


def clean(x):
    """An op's raw output as Value data: numpy scalars and 0-d arrays become Python floats."""
    if x.__class__ is np.ndarray and x.dtype is FLOAT64 and x.ndim:
        return x
    if x.__class__ is np.float64 or np.ndim(x) == 0:
        return float(x)
    return np.asarray(x, dtype=np.float64)


def shape_of(x) -> tuple:
    return () if x.__class__ is float else x.shape


def retry(fn, args, kwargs, error, op):
    """fn(*args) raised. Python floats raise where IEEE arithmetic gives inf/nan (1/0, log(0),
    exp(1000)): redo those in numpy float64. Other errors get the op's name and the shapes."""
    if all(a.__class__ is float for a in args):
        try:
            with np.errstate(all="ignore"):
                return fn(*map(np.float64, args), **kwargs)
        except (ArithmeticError, ValueError) as e:
            error = e
    if not isinstance(error, ValueError):
        raise error
    shapes = " and ".join(str(shape_of(a)) for a in args)
    raise ValueError(f"{op.name} of shapes {shapes}: {error}") from None


def need_graph(root, what: str) -> None:
    """A backward pass from a constant reaches no gradient: say why, rather than leave every .grad at 0."""
    if root.requires_grad:
        return
    made = root._kwargs  # noqa: SLF001 (why a constant is one: see the markers above)
    if made is MADE_IN_NO_GRAD:
        why = "it was computed inside no_grad(), which records no graph; compute it outside that block"
    elif made is MADE_FROM_CONSTANTS:
        why = (
            "it was computed only from Values with requires_grad=False (data, constants); make the leaves "
            "you want gradients for with requires_grad=True"
        )
    elif made is CONSTANT_GRADIENT:
        why = (
            "it is a gradient (from create_graph=True or grad()) that depends on no Value requiring grad: the "
            "derivative is constant there (as d(2x)/dx = 2), so its own derivative is zero"
        )
    elif made is DETACHED:
        why = "it was made by .detach(), which cuts it from the graph; call backward on the Value it came from"
    else:
        why = "it is a constant (requires_grad=False); make it with requires_grad=True to get its gradient"
    raise RuntimeError(
        f"{what} on a Value that does not require grad and has no graph, so no gradient can "
        f"reach anything: {why} (PyTorch: element 0 of tensors does not require grad and does "
        "not have a grad_fn)"
    )


def describe(values) -> str:
    return ", ".join(f"{v.label or 'unnamed'} {v.shape}" for v in values)


def check_finite(what: str, data, op, inputs, site: str | None) -> None:
    if not np.all(np.isfinite(data)):
        where = f" (created at {site})" if site else ""
        raise FloatingPointError(f"{what} of {op.name}{where} produced nan/inf; inputs: {describe(inputs)}")


def seed_for(output, grad):
    """The gradient a backward pass from ``output`` starts from: ``grad`` checked, or 1 for a one-element Value."""
    shape = output.shape
    if grad is None:
        if shape == ():
            return 1.0
        if int(np.prod(shape)) == 1:
            return np.ones(shape)
        raise ValueError(
            f"backward() on a non-scalar Value of shape {shape} needs grad= "
            "(dL/d(this), same shape), or reduce it first, e.g. .sum()"
        )
    if not is_node(grad):
        grad = as_data(grad, "grad")
    if shape_of(grad) != shape:  # (a Value's shape too)
        raise ValueError(f"backward grad has shape {shape_of(grad)}, but this Value has shape {shape}")
    return grad


def fitting_grad(node, value):
    """``value`` as ``node``'s gradient (``node.grad = value``): numbers of node's shape (a number is spread)."""
    g = as_data(value, "grad")
    if shape_of(g) != node.shape:
        g = np.broadcast_to(g, node.shape).copy() if np.ndim(g) == 0 else g
        if shape_of(g) != node.shape:
            raise ValueError(f"grad of shape {shape_of(g)} does not match Value of shape {node.shape}")
    return g
