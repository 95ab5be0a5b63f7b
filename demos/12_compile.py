"""Lesson 12: what backprop computes, as code. compile(fn) runs fn once, records its graph, and
writes the forward pass and the chain rule out as plain Python: one line per op, one line per
gradient contribution, which is what backward() does node by node. Then it runs that code, with
no graph to build: the same numbers, faster.
"""

import time

import numpy as np
from lesson import start, table

from tinygrad_edu import Value, compile, data, losses, nn, trace_backward

args, _ = start(__doc__)

# ---- 1. micrograd's neuron: the eager trace, then the same pass as code
x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
b = Value(6.8813735870195432, label="b")
leaves = [x1, x2, w1, w2, b]


def neuron() -> Value:
    x1w1, x2w2 = x1 * w1, x2 * w2
    x1w1.label, x2w2.label = "x1w1", "x2w2"
    n = x1w1 + x2w2 + b
    n.label = "n"
    out = n.tanh()
    out.label = "out"
    return out


eager = neuron()
eager.backward()
print("the backward pass of the neuron, as the eager engine runs it (one row per contribution):\n")
print(trace_backward(eager))
expected = [v.grad for v in leaves]
for v in leaves:
    v.zero_grad()
step = compile(neuron)
step()  # the first call runs eagerly and records the graph
for v in leaves:
    v.zero_grad()
step()  # this one runs the code below
print("\nthe same pass, as the code compile() wrote and runs (step.source):\n")
print(step.source)
print("gradients, eager and compiled:", [f"{v.label} {e:.4f} {v.grad:.4f}" for v, e in zip(leaves, expected)])
print(f"the same gradients: {all(v.grad == e for v, e in zip(leaves, expected))}")

# ---- 2. a training step: XOR with a 2-4-1 network
X, y = data.xor()
steps = 200 if args.quick else 2000
models = [nn.MLP(2, [4, 1], seed=0) for _ in range(2)]
print("\nthe XOR training step, compiled:\n")
xor_step = compile(lambda X, y: losses.mse(models[1](X), y))
xor_step(X, y)
print(xor_step.source)

rows = []
for name, model in (("eager", models[0]), ("compiled", models[1])):
    params = model.parameters()
    start_time = time.perf_counter()
    for _ in range(steps):
        for p in params:
            p.zero_grad()
        if name == "eager":
            loss = losses.mse(model(X), y)
            loss.backward()
        else:
            loss = xor_step(X, y)
        for p in params:
            p.data -= 0.1 * p.grad
    seconds = time.perf_counter() - start_time
    rows.append([name, steps, float(loss.data), seconds * 1e6 / steps])
print(table(["engine", "steps", "final loss", "us per step"], rows))
print(f"the same final loss: {np.isclose(rows[0][2], rows[1][2], rtol=1e-12, atol=0)}; "
      f"compiled is {rows[0][3] / rows[1][3]:.1f}x faster per step")  # fmt: skip
