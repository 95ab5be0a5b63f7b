"""The graph as text, for terminals without Graphviz: an indented tree, output at the top."""

from __future__ import annotations

from tinygrad_edu.engine import Value, grad_numbers
from tinygrad_edu.names import node_names
from tinygrad_edu.tables import summary


def format_graph(root: Value, max_lines: int = 200) -> str:
    """The graph as an indented text tree, output at the top, each node under its name in every view
    (``names.node_names``: its label, or ``n4``).

    A node used twice is printed once and referred to afterwards; the tree stops after
    ``max_lines`` lines. No recursion, so deep graphs are fine.
    """
    if not isinstance(root, Value):
        raise TypeError(f"expected a Value, got {type(root).__name__}")
    names = node_names(root)
    lines, seen = [], set()
    stack = [(root, "", "")]
    while stack and len(lines) < max_lines:
        node, head, pad = stack.pop()
        if node in seen:
            lines.append(f"{head}{names[node]} (shown above)")
            continue
        seen.add(node)
        what = f"{node.op}({', '.join(names[p] for p in node.parents)})" if node.parents else "leaf"
        grad = f"  grad {summary(grad_numbers(node))}" if node.requires_grad else ""
        lines.append(f"{head}{names[node]} = {what}  data {summary(node.numbers)}{grad}")
        for i in reversed(range(len(node.parents))):
            last = i == len(node.parents) - 1
            stack.append((node.parents[i], pad + ("└─ " if last else "├─ "), pad + ("   " if last else "│  ")))
    if stack:
        lines.append(f"... (stopped after {max_lines} lines)")
    return "\n".join(lines)


def print_graph(root: Value, max_lines: int = 200) -> None:
    """Print ``format_graph(root)``."""
    print(format_graph(root, max_lines))
