"""One neuron, forward and backward: out = tanh(x1*w1 + x2*w2 + b).

Run it to see each node's value and its gradient d(out)/d(node), computed by reverse mode.
"""

from tinygrad_edu import Value

x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
b = Value(6.8813735870195432, label="b")
n = x1 * w1 + x2 * w2 + b
n.label = "n"
out = n.tanh()
out.label = "out"
out.backward()
for v in (out, n, b, w1, w2, x1, x2):
    print(f"{v.label:>3}  data={v.data:+.4f}  grad={v.grad:+.4f}")
