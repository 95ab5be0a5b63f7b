"""The chain rule in motion: the backward pass as a table, one row per gradient contribution.

Each row says: this node's gradient (upstream) times the local derivative of its op with
respect to one input gives that input's contribution; contributions to a node used
more than once are summed, and the running total shows the sum growing.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinygrad_edu.engine import Value, backprop
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


class BackwardTrace:
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
        def show(x) -> str:
            return "-" if x is None else summary(x)

        return [
            (
                str(r.step),
                self._names[r.node],
                r.op,
                show(r.upstream),
                self._names[r.input],
                show(r.local),
                show(r.contribution),
                show(r.total),
            )
            for r in self.rows
        ]

    def __str__(self) -> str:
        return text_table(self.HEAD, self._cells())

    def _repr_html_(self) -> str:
        """Jupyter shows the trace as a table."""
        return html_table(self.HEAD, self._cells())


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
