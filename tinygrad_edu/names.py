"""One name per node, the same in every view of a graph: the trace table, ``print_graph``, the pictures,
the stepper's captions and the code ``compile`` writes.

A node's name is its label when it has one (``x1``, a parameter's path such as ``layers.0.w``); the
other nodes are numbered ``n1``, ``n2``, ... in the order the forward pass made them, inputs first.
"""

from __future__ import annotations

from tinygrad_edu.engine import Value, toposort


def node_names(root: Value) -> dict[Value, str]:
    """Every node of ``root``'s graph with its name: its label, or ``n<k>`` for the k-th unnamed node."""
    names: dict[Value, str] = {}
    unnamed = 0
    for node in reversed(toposort(root)):  # inputs first
        if not node.label:
            unnamed += 1
        names[node] = node.label or f"n{unnamed}"
    return names
