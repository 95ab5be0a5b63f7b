"""Lesson 1: seeing backprop. The graph of one neuron, tanh(x1 w1 + x2 w2 + b), with each value
and its gradient; the backward pass as a table, step by step; and a page that replays it.
"""

from lesson import start

from tinygrad_edu import trace_backward, viz
from tinygrad_edu.examples import neuron_graph

args, _ = start(__doc__)
out = neuron_graph()  # micrograd's neuron, after backward()
viz.print_graph(out)
print("\nthe backward pass, one row per gradient contribution (upstream x local derivative):\n")
print(trace_backward(out))
for name in ("neuron.svg", "neuron.png"):
    print(f"picture: {viz.render_graph(out, args.out / name)}")
print(f"page: {viz.render_backward(out, args.out / 'neuron_backward.html')} (open it, press Next)")
