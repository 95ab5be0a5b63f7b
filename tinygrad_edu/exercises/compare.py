"""``compare(name, mine, node)``: a gradient you worked out by hand against the one the engine found.

Karpathy's makemore part 4 ("Becoming a backprop ninja") checks every hand-written gradient with a small
function, ``cmp``, that prints whether it equals PyTorch's exactly, approximately, and the largest difference.
``compare`` is that function with our names, and it also says *where* a wrong gradient first differs (the index,
your number and the right one) and, when the shapes differ, says so instead of failing on a broadcast::

    compare("dlogits", dlogits, logits)
    dlogits         | exact: False | close: True  | max diff: 5.55e-17

``gradients_by_name`` reads the engine's gradient of every named intermediate after one backward pass, in the
order the pass reaches them: the answers of the exercises that work through a graph node by node;
``differences_by_name`` finds the same by finite differences, nudging each intermediate of a forward pass written
one line a variable (``run_lines``).
"""

from __future__ import annotations

import functools
import html
import textwrap
import warnings
from collections.abc import Callable, Mapping

import numpy as np

from tinygrad_edu.checks import seed_for
from tinygrad_edu.engine import Value, backprop, broadcast_axes, toposort
from tinygrad_edu.gradcheck import central_differences
from tinygrad_edu.train import in_notebook

EPS = 1e-6  # the step of the finite differences (as gradcheck's)
RTOL, ATOL = 1e-5, 1e-8  # numpy's and PyTorch's allclose defaults: "close" means what makemore's cmp means
HTML_WIDTHS = (15, 12, 12, 18)  # characters: the name, "exact: False", "close: False", "max diff: 1.23e-05"


class Comparison:
    """The outcome of ``compare``: ``exact`` (every number equal), ``close`` (``np.allclose``), ``max_diff``
    (the largest absolute difference; nan when the shapes differ) and, when not close, ``where`` (the index
    of the first element that is not close) with ``mine_at`` and ``right_at``, the two numbers there.

    A gradient of another shape than its node's is wrong, never exact nor close: makemore's ``cmp`` says False
    too (its broadcasting compares (8,) with (8, 1) as an 8 x 8 table). When the shapes differ only by axes of
    size 1 ((64,) for (1, 64), as makemore's ``dbnmeani``; ``shapes_fit``), the numbers are compared once
    reshaped, and the line says whether they agree and how to reshape; for other shapes it says which axes a sum
    would remove.

    Printed, it is one line like makemore's ``cmp``; a notebook shows it as a one-row table, green or red.
    """

    def __init__(self, name: str, mine: np.ndarray, right: np.ndarray):
        self.name = name
        self.mine_shape, self.right_shape = mine.shape, right.shape
        self.shapes_fit = mine.size == right.size and _squeezed(mine.shape) == _squeezed(right.shape)
        self.where: tuple[int, ...] | None = None
        self.mine_at = self.right_at = None
        self.right_zero = False
        self.reshaped_close = False  # shapes that fit: the numbers agree once reshaped
        self.shown_in = None  # the notebook cell that has shown it already (see _ipython_display_)
        self.exact = self.close = False
        self.max_diff = float("nan")
        if not self.shapes_fit:
            return
        mine = mine.reshape(right.shape)
        with np.errstate(invalid="ignore"):
            near = np.isclose(mine, right, rtol=RTOL, atol=ATOL)
            self.reshaped_close = bool(np.all(near))
            if self.mine_shape == self.right_shape:
                self.exact = bool(np.array_equal(mine, right))
                self.close = self.reshaped_close
                self.max_diff = float(np.max(np.abs(mine - right))) if mine.size else 0.0
        self.right_zero = not np.any(right)
        if not self.reshaped_close:
            self.where = tuple(int(i) for i in np.argwhere(~near)[0])
            self.mine_at, self.right_at = float(mine[self.where]), float(right[self.where])

    def detail(self) -> str:
        """What differs, in words: the shapes, and where the numbers first differ ("" when all is right)."""
        said = []
        if self.mine_shape != self.right_shape:
            if not self.shapes_fit:
                fix = self._summed()
            else:
                agree = "the numbers agree" if self.reshaped_close else "the numbers still differ"
                fix = f": {agree} once reshaped (.reshape{self.right_shape})"
            said.append(f"shapes differ: yours {self.mine_shape}, the right one {self.right_shape}{fix}")
        if self.where is not None:
            at = f" at {list(self.where)}" if self.where else ""
            at += " once reshaped" if self.mine_shape != self.right_shape else ""
            unrun = " (the right gradient is all zeros: has backward() run?)" if self.right_zero else ""
            said.append(f"first differs{at}: yours {self.mine_at:.6g}, right {self.right_at:.6g}{unrun}")
        return "; ".join(said)

    def _summed(self) -> str:
        """The hint for a gradient left in a broadcast shape: which axes to sum over."""
        try:
            added, stretched = broadcast_axes(self.mine_shape, self.right_shape)
        except ValueError:
            return ""
        axes = added + tuple(len(added) + i for i in stretched)
        keep = ", keepdims=True" if stretched else ""
        return f" (a broadcast input: sum yours over axis {axes[0] if len(axes) == 1 else axes}{keep})"

    def __str__(self) -> str:
        cells = [f"{self.name:15s}", f"exact: {str(self.exact):5s}", f"close: {str(self.close):5s}"]
        if self.mine_shape == self.right_shape:
            cells.append(f"max diff: {self.max_diff:.3g}")
        detail = self.detail()
        return " | ".join(cells + [detail] if detail else cells)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        """One table row: the name, exact, close, the largest difference, and what differs (red if not close).
        Each call is a table of its own, so the first four columns have fixed widths (``HTML_WIDTHS``, in
        characters) and do not wrap: the rows of consecutive calls line up as the printed lines do."""
        color = "#1a7f37" if self.close else "#cf222e"
        diff = f"max diff: {self.max_diff:.3g}" if self.mine_shape == self.right_shape else ""
        cells = (self.name, f"exact: {self.exact}", f"close: {self.close}", diff)
        fixed = "padding: 0 8px; text-align: left; vertical-align: top; white-space: nowrap; box-sizing: content-box"
        row = "".join(
            f'<td style="{fixed}; width: {w}ch; min-width: {w}ch">{html.escape(c)}</td>'
            for c, w in zip(cells, HTML_WIDTHS)
        )
        row += f'<td style="padding: 0 8px; text-align: left; vertical-align: top">{html.escape(self.detail())}</td>'
        return f'<table style="font-family: monospace; color: {color}; margin: 0"><tr>{row}</tr></table>'

    def _ipython_display_(self) -> None:
        """Shown once per cell: ``compare`` shows its line as it runs (several calls in a cell each show one),
        so the same object echoed as the cell's result is not shown again."""
        from IPython import get_ipython
        from IPython.display import display

        shell = get_ipython()
        count = getattr(shell, "execution_count", None)
        if self.shown_in is not None and self.shown_in == count:
            return
        self.shown_in = count
        display({"text/plain": str(self), "text/html": self._repr_html_()}, raw=True)


def _squeezed(shape: tuple) -> tuple:
    return tuple(n for n in shape if n != 1)


def _numbers(x, what: str) -> np.ndarray:
    """x as a float64 array: a Value's (or a facade tensor's) numbers, a PyTorch tensor's, or an array's."""
    if isinstance(x, Value):
        return np.asarray(x.numbers, dtype=np.float64)
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # a PyTorch tensor
        return x.detach().cpu().double().numpy()
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"compare: {what} must be numbers (an array, a number or a Value), got {x!r}") from None
    return a


def _right_answer(name: str, node) -> np.ndarray:
    """The right gradient: ``node.grad`` for a Value or a tensor (ours or PyTorch's), else node itself (numbers).
    A tensor whose ``.grad`` is None is an error that says why: no backward yet, or an intermediate that did not
    call ``retain_grad()`` (PyTorch keeps no gradient of a non-leaf without it, and neither does our facade)."""
    if hasattr(node, "retain_grad") and hasattr(node, "is_leaf"):  # a tensor: ours (tinygrad_edu.torch) or PyTorch's
        with warnings.catch_warnings():  # the warning of .grad on a non-leaf: said below, in words
            warnings.simplefilter("ignore")
            grad = node.grad
        if grad is None:
            if not node.is_leaf and not node.retains_grad:
                raise ValueError(
                    f"compare({name!r}, ...): the tensor's .grad is None: it is an intermediate, whose gradient "
                    f"is not kept: call {name}.retain_grad() before backward(), as in PyTorch"
                )
            raise ValueError(
                f"compare({name!r}, ...): the tensor's .grad is None: call loss.backward() first, and "
                "retain_grad() on an intermediate before it"
            )
        return _numbers(grad, "the node's gradient")
    if isinstance(node, Value):
        return np.asarray(node.gradient, dtype=np.float64)  # zeros until a backward pass reaches it
    return _numbers(node, "the right answer")


def compare(name: str, mine, node, show: bool = True) -> Comparison:
    """Compare your gradient ``mine`` with the right one: ``node.grad`` when ``node`` is a Value (or a PyTorch
    tensor), else ``node`` itself (an array or a number). Shows one line (``show=False``: silent) and returns it
    as a ``Comparison`` (``.exact``, ``.close``, ``.max_diff``, ``.where``)."""
    if not isinstance(name, str):
        raise TypeError(f"compare: name must be a string, got {name!r}")
    result = Comparison(name, _numbers(mine, "mine (your gradient)"), _right_answer(name, node))
    if show:
        if in_notebook():
            result._ipython_display_()
        else:
            print(result)
    return result


def backward_order(root: Value, nodes: dict[str, Value]) -> list[str]:
    """The names of ``nodes`` in the order a backward pass from ``root`` reaches them (nearest the root first)."""
    position = {id(v): i for i, v in enumerate(toposort(root))}
    missing = [name for name, v in nodes.items() if id(v) not in position]
    if missing:
        raise ValueError(f"{', '.join(missing)} not on the graph of the root")
    return sorted(nodes, key=lambda name: position[id(nodes[name])])


def gradients_by_name(root: Value, nodes: dict[str, Value], grad_output=None) -> dict[str, object]:
    """The gradient of ``root`` with respect to each of ``nodes`` (name -> Value), as numbers, in the order the
    backward pass reaches them: what ``root.backward(grad_output)`` leaves in their ``.grad``, read from the pass
    itself (nothing is written into any ``.grad``)."""
    names = backward_order(root, nodes)
    reached = backprop(root, seed_for(root, grad_output))
    return {name: reached[nodes[name]] for name in names}


@functools.cache
def _statements(lines: str) -> tuple[tuple[str, object], ...]:
    """Each line of a forward pass compiled once: (the variable it assigns, its code)."""
    return tuple(
        (line.split("=", 1)[0].strip(), compile(line, "<forward>", "exec"))
        for line in textwrap.dedent(lines).strip().splitlines()
    )


def run_lines(lines: str, variables: dict, functions: dict, nudges: Mapping | None = None) -> dict:
    """Run a forward pass written one assignment a line (``name = expression``, indented as in a function body)
    on ``variables``, with ``functions`` (``exp``, ``np``, ...) as its globals; return every variable by name.
    ``nudges[name]``, if given, is added to variable ``name`` as soon as it is made (inputs: before the first
    line): the derivative of the output by that nudge is the variable's gradient (``differences_by_name``)."""
    nudges = nudges or {}
    env = {name: value + nudges[name] if name in nudges else value for name, value in variables.items()}
    for name, code in _statements(lines):
        exec(code, dict(functions), env)
        if name in nudges:
            env[name] = env[name] + nudges[name]
    return env


def differences_by_name(output: Callable[[dict], object], shapes: dict[str, tuple], grad_output=None) -> dict:
    """Central finite differences of sum(grad_output * output) by a nudge added to each named variable, in the
    order of ``shapes`` (name -> shape): ``output(nudges)`` runs the forward pass with them (``run_lines``, on
    numpy's functions) and returns its output. Each variable's gradient, found without any backward pass."""
    g = 1.0 if grad_output is None else np.asarray(grad_output)
    return {
        name: central_differences(lambda nudge, name=name: np.sum(g * output({name: nudge})), np.zeros(shape), EPS)
        for name, shape in shapes.items()
    }
