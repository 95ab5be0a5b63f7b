"""Lesson 6: dying ReLU. A ReLU unit whose input is negative for every example outputs 0 and gets
no gradient, so it never recovers. A learning rate that is too high knocks units there; Leaky
ReLU, max(alpha z, z), keeps a small gradient so such units can come back. Above 20-30% dead
units, a network has lost a good part of its width.
"""

import numpy as np
from lesson import save, start, table

from tinygrad_edu import Value, data, nn, no_grad, train

args, plt = start(__doc__)
X, y = data.moons(200, 0.15, seed=0)
epochs, seeds = (6, 2) if args.quick else (20, 3)
RUNS = {
    "ReLU, lr 2.0 (too high)": ("relu", 2.0),
    "ReLU, lr 0.1": ("relu", 0.1),
    "Leaky ReLU, lr 2.0": ("leaky_relu", 2.0),
}


def below_zero_everywhere(model) -> float:
    """Share of hidden units whose input is <= 0 on every example: dead for ReLU (no gradient ever)."""
    h, count, total = Value(X, requires_grad=False), 0, 0
    with no_grad():
        for layer in model.layers[:-1]:
            z = h @ layer.w + layer.b
            count += int(np.sum(np.all(z.data <= 0, axis=0)))
            total += z.shape[1]
            h = layer.activation(z)
    return count / total


history, accuracy = {}, {}
for name, (act, lr) in RUNS.items():
    curves, accs = [], []
    for seed in range(seeds):
        model = nn.MLP(2, [32, 32, 1], activation=act, init="he", seed=seed)
        curve = [below_zero_everywhere(model)]
        for epoch in range(epochs):  # an epoch: 7 minibatches of 32
            train.fit(model, X, y, optimizer="sgd", lr=lr, steps=7, batch_size=32, seed=100 * seed + epoch)
            curve.append(below_zero_everywhere(model))
        curves.append(curve)
        accs.append(train.accuracy(model, X, y))
    history[name], accuracy[name] = np.mean(curves, axis=0), float(np.mean(accs))

print(f"share of hidden units below zero on all 200 points (mean of {seeds} seeds), 2-32-32-1 on moons, SGD")
print(table(["run", "at start", *[f"epoch {e}" for e in range(5, epochs + 1, 5)], "train accuracy"],
            [[n, h[0], *h[5::5], f"{accuracy[n]:.1%}"] for n, h in history.items()]))  # fmt: skip
high, sane = history["ReLU, lr 2.0 (too high)"][-1], history["ReLU, lr 0.1"][-1]
print(f"\nafter {epochs} epochs: {high:.0%} of ReLU units dead at lr 2.0 against {sane:.0%} at lr 0.1; "
      "the leaky units below zero still get a gradient of alpha = 0.01 and can come back")  # fmt: skip

if plt:
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    for name, h in history.items():
        ax.plot(range(epochs + 1), h, marker="o", label=name)
    ax.axhspan(0.2, 1.0, color="tab:red", alpha=0.07, label="20% and more: a problem")
    ax.set(
        xlabel="epoch",
        ylabel="share of hidden units below 0 on every input",
        ylim=(0, max(0.45, high + 0.05)),
        title="dying ReLU: too high a learning rate kills units",
    )
    ax.set_xticks(range(0, epochs + 1, 2))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save(plt, fig, args.out, "dying_relu.png")
