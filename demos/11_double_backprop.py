"""Lesson 11: the derivative is a computation too. With create_graph=True each op's backward is
built from ops, so dy/dx comes back as a graph that can be drawn and differentiated again:
d/dx tanh(x) = 1 - tanh(x)^2 as four nodes, then its own derivative. The same trick gives a
Hessian-vector product H v of a network's loss for the price of two backward passes, without
ever forming H (which has one row and one column per parameter).
"""

import math

import numpy as np
from lesson import save, start, table

from tinygrad_edu import Value, data, grad, gradgradcheck, losses, nn, viz
from tinygrad_edu.engine import toposort

args, plt = start(__doc__)

# ---- 1. the derivative of tanh, as a graph
x = Value(0.5, label="x")
y = x.tanh()
y.label = "y"
(dy,) = grad(y, x, create_graph=True)
dy.label = "dy/dx"
t = math.tanh(0.5)
print(f"y = tanh(x) at x = 0.5: dy/dx = {dy.data:.12f}; 1 - tanh(x)^2 = {1 - t * t:.12f}")
print("the graph of dy/dx, as the backward of tanh built it (1 - y * y, times the upstream gradient 1):")
for k, node in enumerate(n for n in reversed(toposort(dy)) if n.op):
    node.label = node.label or f"n{k}"
    args_ = ", ".join(p.label or f"{p.data:g}" for p in node.parents)
    print(f"  {node.label} = {node.op}({args_}) = {node.data:.6f}")
(d2y,) = grad(dy, x)
print(f"d2y/dx2 = {d2y.data:.12f}; -2 tanh(x) (1 - tanh(x)^2) = {-2 * t * (1 - t * t):.12f}")
print(gradgradcheck(lambda x: x.tanh(), x))
print("picture:", viz.render_graph(dy, args.out / "tanh_derivative.png", inputs=("x",), show_grad=False))

# ---- 2. a Hessian-vector product on a small network's loss
X, labels = data.xor()
model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
params = model.parameters()
inputs = Value(X, requires_grad=False)


def gradient(create_graph: bool = False):
    return grad(losses.mse(model(inputs), labels), params, create_graph=create_graph)


rng = np.random.default_rng(0)
v = [rng.normal(size=p.shape) for p in params]
g = gradient(create_graph=True)  # dL/dp for every parameter, as graphs
hv = grad(sum((gi * vi).sum() for gi, vi in zip(g, v)), params)  # d/dp of (g . v) = H v
hv = np.concatenate([np.ravel(h.data) for h in hv])

sizes = [p.data.size for p in params]
n, eps = sum(sizes), 1e-5
hessian = np.zeros((n, n))
flat = [(p, k) for p in params for k in range(p.data.size)]
for j, (p, k) in enumerate(flat):  # column j: central differences of the whole gradient in parameter j
    column = []
    for step in (eps, -eps):
        p.data.flat[k] += step
        column.append(np.concatenate([np.ravel(gi.data) for gi in gradient()]))
        p.data.flat[k] -= step
    hessian[:, j] = (column[0] - column[1]) / (2 * eps)
hv_full = hessian @ np.concatenate([np.ravel(vi) for vi in v])
eigen = np.linalg.eigvalsh((hessian + hessian.T) / 2)
print(f"\nMLP 2-3-1 on XOR, mean squared error: {n} parameters, so H is {n} x {n}")
print(table(["quantity", "value"], [
    ["max |H v (double backprop) - H v (full Hessian)|", float(np.max(np.abs(hv - hv_full)))],
    ["max |H v|", float(np.max(np.abs(hv_full)))],
    ["max |H - H^T| (finite differences)", float(np.max(np.abs(hessian - hessian.T)))],
    ["smallest eigenvalue of H", float(eigen[0])],
    ["largest eigenvalue of H", float(eigen[-1])],
]))  # fmt: skip
print("backward passes: double backprop 2, the full Hessian by finite differences", 2 * n)

if plt:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained",
                                      gridspec_kw={"width_ratios": [3, 1.4]})  # fmt: skip
    limit = np.max(np.abs(hessian))
    image = left.imshow(hessian, cmap="RdBu_r", vmin=-limit, vmax=limit)
    names = [f"{name}[{k}]" for name, p in model.named_parameters() for k in range(p.data.size)]
    left.set(title=f"the Hessian of the loss ({n} x {n}, finite differences)", xticks=range(n), yticks=range(n))
    left.set_xticklabels(names, rotation=90, fontsize=6)
    left.set_yticklabels(names, fontsize=6)
    fig.colorbar(image, ax=left, shrink=0.8)
    right.barh(range(n), hv_full, color="#cccccc", label="H v, full Hessian")
    right.plot(hv, range(n), "o", ms=4, color="C3", label="H v, double backprop")
    right.set(title="H v, two ways", ylim=(n - 0.5, -0.5), yticks=[])
    right.legend(fontsize=8, loc="upper left")
    save(plt, fig, args.out, "hessian_vector.png")
