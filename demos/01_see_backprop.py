"""Lesson 1: seeing backprop. The graph of one neuron, tanh(x1 w1 + x2 w2 + b), with each value
and its gradient; backprop by hand, one node at a time, as in the lecture; the backward pass as
a table, step by step; and a page that replays it.
"""

from lesson import start

from tinygrad_edu import trace_backward, viz
from tinygrad_edu.engine import toposort
from tinygrad_edu.examples import neuron_graph
from tinygrad_edu.names import node_names

args, _ = start(__doc__)
out = neuron_graph()  # micrograd's neuron, after backward()
viz.print_graph(out)

print("\nbackprop by hand: output first, each node passes grad x local derivative to its inputs\n")
by_hand = neuron_graph()
for node in toposort(by_hand):
    node.zero_grad()
by_hand.grad = 1.0  # d(out)/d(out)
names = node_names(by_hand)  # a node's label, else n1, n2, ...: the names of the tree above and the table below
for node in toposort(by_hand):  # every node after all the nodes made from it
    node.chain_rule()  # micrograd's node._backward()
    if node.parents:
        inputs = ", ".join(f"{names[p]} += {p.grad:.4f}" for p in node.parents)
        print(f"  {names[node]:>4} ({node.op}): grad {node.grad:.4f} -> {inputs}")
same = all(a.grad == b.grad for a, b in zip(toposort(by_hand), toposort(out)))
print(f"the same gradients as backward(): {same}")
print("\nthe backward pass, one row per gradient contribution (upstream x local derivative):\n")
print(trace_backward(out))
for name in ("neuron.svg", "neuron.png"):
    print(f"picture: {viz.render_graph(out, args.out / name)}")
print(f"page: {viz.render_backward(out, args.out / 'neuron_backward.html')} (open it, press Next)")
