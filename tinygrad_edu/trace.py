"""The chain rule in motion: the backward pass as a table, one row per gradient contribution, and the
forward-mode pass beside it, one row per tangent contribution.

Backward (``trace_backward``), each row says: this node's gradient (upstream) times the local derivative of its
op with respect to one input gives that input's contribution; contributions to a node used more than once are
summed, and the running total shows the sum growing. Forward (``trace_forward``), the same chain rule the other
way: an input's tangent times the local derivative gives this node's contribution from that input, and a node
with two inputs adds both.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinygrad_edu.engine import Value, backprop
from tinygrad_edu.forward import local_jvp, tangents
from tinygrad_edu.names import node_names
from tinygrad_edu.tables import html_table, summary, text_table


def gradients_from(root: Value, on_edge=None) -> dict[Value, object]:
    """Run one backward pass from ``root`` and return each node's gradient from it, in the order the
    pass fills them; ``.grad`` is left as it was (``backprop`` writes nothing there), so tools can show
    a pass without changing what the user has."""
    if root.shape != ():
        raise ValueError(f"needs a scalar root, this one has shape {root.shape}; reduce it first, e.g. .sum()")
    return backprop(root, 1.0, on_edge)


def name_of(node: Value, names: dict) -> str:
    """``node``'s label, or a number kept in ``names`` for an unnamed node (the trace's naming before
    ``names.node_names``, which every view uses now)."""
    return node.label or names.setdefault(node, f"n{len(names) + 1}")


@dataclass
class TraceRow:
    step: int  # which node's backward this is (1 = the root)
    node: Value
    op: str
    upstream: object  # dL/d(node)
    input: Value
    local: object  # d(node)/d(input) for scalars, None for tensors
    contribution: object  # upstream * local, what this edge adds to the input's gradient
    total: object  # the input's gradient so far in this pass


def _show(x) -> str:
    return "-" if x is None else summary(x)


class _Table:
    """A trace shown as a table: ``print(trace)`` in a terminal, the same table in Jupyter."""

    HEAD: tuple[str, ...] = ()

    def _cells(self) -> list[tuple[str, ...]]:
        raise NotImplementedError

    def __str__(self) -> str:
        return text_table(self.HEAD, self._cells())

    def _repr_html_(self) -> str:
        """Jupyter shows the trace as a table."""
        return html_table(self.HEAD, self._cells())


class BackwardTrace(_Table):
    """The rows of one backward pass; ``print(trace)`` shows them as a table, each node under its name in
    every view (``names.node_names``: its label, or ``n4``)."""

    def __init__(self, rows: list[TraceRow], names: dict[Value, str], gradients: dict | None = None):
        self.rows = rows
        self.gradients = gradients or {}  # each node's gradient from the pass, in the order the pass filled them
        self._names = names

    def contributions(self, node: Value) -> list:
        """Every contribution that flowed into ``node``, in order."""
        return [r.contribution for r in self.rows if r.input is node]

    HEAD = ("step", "node", "op", "upstream", "input", "local d", "contribution", "total so far")

    def _cells(self) -> list[tuple[str, ...]]:
        return [
            (
                str(r.step),
                self._names[r.node],
                r.op,
                _show(r.upstream),
                self._names[r.input],
                _show(r.local),
                _show(r.contribution),
                _show(r.total),
            )
            for r in self.rows
        ]


def trace_backward(root: Value) -> BackwardTrace:
    """The backward pass from ``root`` as rows (step, node, op, upstream gradient, local derivative,
    contribution to each input, running total of that input's gradient). ``.grad`` is left as it was."""
    events, steps = [], {}

    def on_edge(node, index, contribution, total):
        steps.setdefault(node, len(steps) + 1)
        events.append((steps[node], node, index, contribution, total))

    grads = gradients_from(root, on_edge)
    rows = []
    for step, node, index, contribution, total in events:
        upstream = grads[node]
        local = None
        if node.numbers.__class__ is float and node.parents[index].numbers.__class__ is float:
            datas = [p.numbers for p in node.parents]
            local = node.operation.backward(1.0, node.numbers, *datas, **node.settings)
            local = local if node.operation.arity == 1 else local[index]
        rows.append(TraceRow(step, node, node.op, upstream, node.parents[index], local, contribution, total))
    return BackwardTrace(rows, node_names(root), grads)


@dataclass
class ForwardRow:
    step: int  # which node's tangent this is (1 = the first node made from the inputs)
    node: Value
    op: str
    input: Value
    tangent_in: object  # the input's tangent: how fast it moves along the direction
    local: object  # d(node)/d(input) for scalars, None for tensors
    contribution: object  # local * tangent_in (J_i t_i): what this input adds to the node's tangent
    total: object  # the node's tangent so far in this pass


class ForwardTrace(_Table):
    """The rows of one forward-mode pass, inputs first; ``print(trace)`` shows them as a table, under the names
    of every view. ``tangents`` holds each node's tangent, in the order the pass filled them."""

    def __init__(self, rows: list[ForwardRow], names: dict[Value, str], found: dict):
        self.rows = rows
        self.tangents = found
        self._names = names

    HEAD = ("step", "node", "op", "input", "input's tangent", "local d", "contribution", "tangent so far")

    def _cells(self) -> list[tuple[str, ...]]:
        return [
            (
                str(r.step),
                self._names[r.node],
                r.op,
                self._names[r.input],
                _show(r.tangent_in),
                _show(r.local),
                _show(r.contribution),
                _show(r.total),
            )
            for r in self.rows
        ]


def trace_forward(output: Value, inputs, directions) -> ForwardTrace:
    """The forward-mode pass to ``output`` as rows (step, node, op, input, the input's tangent, local derivative,
    contribution to the node's tangent, the node's tangent so far), when ``inputs`` move along ``directions``
    (one per input, of its shape: ``forward.tangents``). Nothing in the graph is changed."""
    rows, steps = [], {}

    def on_edge(node, index, contribution, total):
        steps.setdefault(node, len(steps) + 1)
        parent = node.parents[index]
        scalars = node.numbers.__class__ is float and parent.numbers.__class__ is float
        local = local_jvp(node, index, 1.0) if scalars else None  # this use's own (x / x: two different ones)
        rows.append(ForwardRow(steps[node], node, node.op, parent, None, local, contribution, total))

    found = tangents(output, inputs, directions, on_edge=on_edge)
    for row in rows:
        row.tangent_in = found[row.input]
    return ForwardTrace(rows, node_names(output), found)
