"""Lesson 6: dying ReLU. A ReLU unit whose input is negative for every example outputs 0 and its
weights get no gradient: it is dead, and backprop cannot revive it. A learning rate that is too high
knocks units there. Leaky ReLU, max(alpha z, z), is knocked there just as often, but its units below
zero still pass alpha times the gradient back: they are not dead, though they learn slowly.
Above 20-30% dead units, a network has lost a good part of its width.
"""

import numpy as np
from lesson import save, start, table

from tinygrad_edu import Value, data, losses, nn, no_grad, train

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


def gradient_below_zero(model) -> float:
    """Mean |gradient| of the incoming weights of the units below zero on every example, from one
    backward pass over the data: exactly 0 for dead ReLU units, not for leaky ones."""
    with no_grad():
        h, below = Value(X, requires_grad=False), []
        for layer in model.layers[:-1]:
            z = h @ layer.w + layer.b
            below.append(np.all(z.data <= 0, axis=0))
            h = layer.activation(z)
    model.zero_grad()
    losses.bce_with_logits(model(X), y).backward()
    grads = [np.abs(layer.w.grad[:, mask]).ravel() for layer, mask in zip(model.layers, below)]
    return float(np.mean(np.concatenate(grads))) if any(g.size for g in grads) else 0.0


history, accuracy, still_learning = {}, {}, {}
for name, (act, lr) in RUNS.items():
    curves, accs, grads = [], [], []
    for seed in range(seeds):
        model = nn.MLP(2, [32, 32, 1], activation=act, init="he", seed=seed)
        curve = [below_zero_everywhere(model)]
        for epoch in range(epochs):  # an epoch: 7 minibatches of 32
            train.fit(model, X, y, optimizer="sgd", lr=lr, steps=7, batch_size=32, seed=100 * seed + epoch)
            curve.append(below_zero_everywhere(model))
        curves.append(curve)
        accs.append(train.accuracy(model, X, y))
        grads.append(gradient_below_zero(model))
    history[name], accuracy[name], still_learning[name] = np.mean(curves, axis=0), float(np.mean(accs)), max(grads)

print(f"share of hidden units below zero on all 200 points (mean of {seeds} seeds), 2-32-32-1 on moons, SGD")
head = ["run", "at start", *[f"epoch {e}" for e in range(5, epochs + 1, 5)], "train accuracy", "|grad| into them (max)"]
print(table(head, [[n, h[0], *h[5::5], f"{accuracy[n]:.1%}", f"{still_learning[n]:.2g}"] for n, h in history.items()]))
high, sane = history["ReLU, lr 2.0 (too high)"][-1], history["ReLU, lr 0.1"][-1]
leaky = history["Leaky ReLU, lr 2.0"][-1]
print(f"\nafter {epochs} epochs: {high:.0%} of ReLU units dead at lr 2.0 against {sane:.0%} at lr 0.1. "
      f"Leaky ReLU has {leaky:.0%} of its units below zero too, but none dead: their weights still get a "
      f"gradient, small (mean |grad| {still_learning['Leaky ReLU, lr 2.0']:.2g}) but not "
      f"{still_learning['ReLU, lr 2.0 (too high)']:.2g} as for the dead ReLU units")  # fmt: skip

if plt:
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    for name, h in history.items():
        leaky = name.startswith("Leaky")
        label = f"{name}: below 0, not dead (gradient × 0.01)" if leaky else f"{name}: dead"
        ax.plot(range(epochs + 1), h, marker="o", linestyle="--" if leaky else "-", label=label)
    ax.axhspan(0.2, 1.0, color="tab:red", alpha=0.07, label="20% and more dead: much of the width lost")
    ax.set(
        xlabel="epoch",
        ylabel="share of hidden units below 0 on every input",
        ylim=(0, max(0.45, high + 0.05)),
        title="too high a learning rate pushes units below 0 on every input:\n"
        "dead for ReLU (no gradient), not for Leaky ReLU (a small one)",
    )
    ax.set_xticks(range(0, epochs + 1, 2))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save(plt, fig, args.out, "dying_relu.png")
