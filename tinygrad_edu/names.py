"""One name per node, the same in every view of a graph: the trace table, ``print_graph``, the pictures,
the stepper's captions and the code ``compile`` writes. A node's backward function is named as PyTorch
names it (``backward_name``: ``MulBackward0``), in the facade's ``grad_fn`` and in the backward graph.

A node's name is its label when it has one (``x1``, a parameter's path such as ``layers.0.w``); the
other nodes are numbered ``n1``, ``n2``, ... in the order the forward pass made them, inputs first.
"""

from __future__ import annotations

from tinygrad_edu import ops
from tinygrad_edu.engine import Value, toposort

# PyTorch's names of the backward functions, where ours are not the op's class name (MatMul's depends on the shapes)
BACKWARD_NAMES = {"PowConst": "Pow", "ReLU": "Relu", "LeakyReLU": "LeakyRelu", "GELU": "Gelu", "Transpose": "T",
                  "Reshape": "View", "Concat": "Cat", "CrossEntropy": "NllLoss", "Norm": "LinalgVectorNorm",
                  "BroadcastTo": "Expand", "Clip": "Clamp"}  # fmt: skip
# PyTorch numbers its overloads: x ** tensor is PowBackward1, sum(dim) SumBackward1, max() MaxBackward1
SECOND_OVERLOAD = {ops.Pow, ops.Clip}
SECOND_WITH_AXIS, SECOND_WITHOUT_AXIS = {ops.Sum, ops.Mean}, {ops.Max, ops.Min}


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


def backward_name(node: Value) -> str:
    """PyTorch's name for the backward function of the op that made ``node``: ``MulBackward0``, ``MmBackward0``
    (a matrix product of two matrices), ``SumBackward1`` (a sum over an axis); ``node`` must not be a leaf."""
    op = node.operation
    if getattr(op, "function", None) is not None:  # a user's torch.autograd.Function: PyTorch's name for it
        return f"{op.function.__name__}Backward"
    if getattr(node, "_rsub", False):  # the facade's number - tensor
        return "RsubBackward1"
    base = BACKWARD_NAMES.get(op.__name__, op.__name__)
    if op is ops.MatMul:
        a, b = (p.ndim for p in node.parents)
        base = "Mm" if a == b == 2 else "Mv" if (a, b) == (2, 1) else "Dot" if a == b == 1 else "Matmul"
    axis = node.settings.get("axis")
    second = op in SECOND_OVERLOAD or (
        op in SECOND_WITH_AXIS and axis is not None or op in SECOND_WITHOUT_AXIS and axis is None
    )
    return f"{base}Backward{int(second)}"
