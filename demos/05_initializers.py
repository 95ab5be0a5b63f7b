"""Lesson 5: initialization. Equal weights keep every hidden unit identical forever (the symmetry
problem). The scale matters: too small and signals fade layer by layer, too large and tanh
saturates; Xavier (Var = 2/(n_in+n_out)) suits tanh, He (Var = 2/n_in) suits ReLU.
A small positive bias keeps ReLU units alive at the start.
"""

import numpy as np
from lesson import save, start, table

from tinygrad_edu import Value, data, init, nn, no_grad, train

args, plt = start(__doc__)

# 1. the symmetry problem
X, y = data.xor()
model = nn.MLP(2, [4, 1], activation="tanh", init="zeros", bias_init=0.1, seed=0)
train.fit(model, X, y, loss="bce_with_logits", optimizer="sgd", lr=0.5, steps=200 if args.quick else 1000)
W1, b1 = model.layers[0].w.data, model.layers[0].b.data
print("zero init, after training: each hidden unit's incoming weights and bias (one column per unit)")
print(table(["", *[f"unit {j}" for j in range(4)]], [["w from x1", *W1[0]], ["w from x2", *W1[1]], ["bias", *b1]]))
identical = bool(np.all(W1 == W1[:, :1]) and np.all(b1 == b1[0]))
print(
    f"all hidden units identical: {identical}; accuracy {train.accuracy(model, X, y):.0%} "
    "(four copies of one unit can do no more than one unit)\n"
)

# 2. activation scale by depth
depth, width, batch = 10, 64 if args.quick else 128, 256
inputs = np.random.default_rng(0).normal(size=(batch, width))
schemes = {
    "too small N(0, 0.01^2)": init.get("normal", std=0.01),
    "Xavier": init.get("xavier_normal"),
    "He": init.get("he_normal"),
    "too large N(0, 1)": init.get("normal", std=1.0),
}
scales = {}
for act in ("tanh", "relu"):
    for name, fn in schemes.items():
        rng = np.random.default_rng(1)
        h, stds = Value(inputs, requires_grad=False), []
        with no_grad():
            for _ in range(depth):
                h = getattr(h @ Value(fn((width, width), rng=rng)), act)()
                stds.append(float(np.std(h.data)))
        scales[act, name] = stds
for act in ("tanh", "relu"):
    print(f"{act}: standard deviation of each layer's output, {depth} layers of {width} units")
    print(table(["init", *[f"L{i + 1}" for i in range(depth)]],
                [[name, *scales[act, name]] for name in schemes]))  # fmt: skip
    print()

# 3. the small positive bias
moons_X, _ = data.moons(200, 0.1, seed=0)


def dead_fraction(model) -> float:
    """Share of hidden ReLU units that output 0 for every example: they get no gradient at all."""
    h, dead, total = Value(moons_X, requires_grad=False), 0, 0
    with no_grad():
        for layer in model.layers[:-1]:
            h = layer(h)
            dead += int(np.sum(np.all(h.data == 0, axis=0)))
            total += h.shape[1]
    return dead / total


for bias in (0.0, 0.01):
    fractions = [dead_fraction(nn.MLP(2, [16, 16, 16, 1], activation="relu", init="he", bias_init=bias, seed=s))
                 for s in range(20)]  # fmt: skip
    print(f"ReLU 2-16-16-16-1 at initialization, bias {bias}: {np.mean(fractions):.1%} of hidden units dead "
          "on all 200 moons points (mean of 20 seeds)")  # fmt: skip

if plt:
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), layout="constrained")
    for ax, act in zip(axes, ("tanh", "relu")):
        for name in schemes:
            ax.plot(range(1, depth + 1), scales[act, name], marker="o", label=name)
        ax.set(yscale="log", xlabel="layer", ylabel="std of the layer's output", title=f"{act}: signal scale by depth")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    save(plt, fig, args.out, "initializers.png")
