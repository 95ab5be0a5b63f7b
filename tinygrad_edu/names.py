"""One name per node, the same in every view of a graph: the trace table, ``print_graph``, the pictures,
the stepper's captions and the code ``compile`` writes.

A node's name is its label when it has one (``x1``, a parameter's path such as ``layers.0.w``); the
other nodes are numbered ``n1``, ``n2``, ... in the order the forward pass made them, inputs first.
"""

from __future__ import annotations

from tinygrad_edu.engine import Value, toposort


def node_names(root: Value) -> dict[Value, str]:
    """Every node of ``root``'s graph with its name: its label, or ``n<k>`` for the k-th unnamed node.

    Names are unique: a number a label already uses is skipped, and a label two nodes share gets ``_2`` on
    its second node (so no view can show two nodes under one name).
    """
    order = list(reversed(toposort(root)))  # inputs first
    labels = {node.label for node in order if node.label}
    names: dict[Value, str] = {}
    used: set[str] = set()
    unnamed = 0
    for node in order:
        name = node.label
        if not name:  # the next number no label uses
            unnamed += 1
            while f"n{unnamed}" in labels:
                unnamed += 1
            name = f"n{unnamed}"
        first, k = name, 2
        while name in used:
            name, k = f"{first}_{k}", k + 1
        used.add(name)
        names[node] = name
    return names
