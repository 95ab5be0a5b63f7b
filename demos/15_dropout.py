"""Lesson 15: dropout against overfitting. A wide network trained on 40 noisy points learns them all,
noise included, and does worse on new points than its training score says. Dropout zeroes each hidden
unit with probability p in training (a different random half of the network every step), so no unit can
rely on another; the held-out score comes closer to the training one. In eval mode it is the identity.
"""

import numpy as np
from lesson import points, save, shade, start, table

from tinygrad_edu import Value, data, losses, nn, train

args, plt = start(__doc__)
width, p, lr = 64, 0.5, 0.01
steps = 500 if args.quick else 2000
every = steps // 50
X_train, y_train = data.moons(40, 0.3, seed=0)
X_test, y_test = data.moons(1000, 0.3, seed=1)

print("inverted dropout on 100 000 numbers drawn uniformly from [0, 2]")
x = Value(np.random.default_rng(0).uniform(0, 2, 100_000), requires_grad=False)
rows = []
for rate in (0.2, 0.5, 0.8):
    layer = nn.Dropout(rate, seed=1)
    out = layer(x).data
    kept = out != 0
    same = np.array_equal(layer.eval()(x).data, x.data)
    rows.append([rate, f"{1 - kept.mean():.1%}", float(np.mean(out[kept] / x.data[kept])), float(x.data.mean()),
                 float(out.mean()), float(np.mean(x.data * kept)), same])  # fmt: skip
print(table(["p", "zeroed", "kept scaled by", "input mean", "training mean", "without the 1/(1-p)", "eval = input"],
            rows))  # fmt: skip
print("training keeps the mean: the kept elements are scaled by 1/(1-p); eval is the identity\n")


def network(dropout: float) -> nn.Sequential:
    """2 -> width -> width -> 1, ReLU, a Dropout after each hidden layer; the same initial weights for any p."""
    layers = []
    for i, nin in enumerate((2, width)):
        layers.append(nn.Layer(nin, width, activation="relu", init="he", seed=i))
        layers += [nn.Dropout(dropout, seed=i)] if dropout else []
    return nn.Sequential(*layers, nn.Layer(width, 1, activation=None, seed=2))


def measure(model: nn.Module) -> list[float]:
    """Loss on the training points and on the held-out ones, then accuracy on each, in eval mode (dropout off)."""
    sets = ((X_train, y_train), (X_test, y_test))
    return [losses.bce_with_logits(Value(train.outputs(model, X)), y).item() for X, y in sets] + [
        train.accuracy(model, X, y) for X, y in sets
    ]


models = {"no dropout": network(0.0), f"dropout p={p}": network(p)}
curves = {}
for name, model in models.items():
    curve = []

    def record(step: int, loss: float, model=model, curve=curve) -> None:
        if (step + 1) % every == 0:
            curve.append(measure(model))

    train.fit(model, X_train, y_train, optimizer="adam", lr=lr, steps=steps, on_step=record)
    curves[name] = np.array(curve)

print(f"2-{width}-{width}-1 ReLU network, {len(y_train)} training points, {len(y_test)} held-out, Adam lr {lr}, "
      f"{steps} full-batch steps; scores in eval mode")  # fmt: skip
marks = [m for m in (50, 200, 500, 1000, 2000) if m <= steps]
progress = [
    [name, *(f"{c[m // every - 1, 2]:.0%} / {c[m // every - 1, 3]:.0%}" for m in marks)] for name, c in curves.items()
]
print(table(["accuracy train / held-out", *map(str, marks)], progress))
print(table(["final", "train loss", "held-out loss", "train acc", "held-out acc"],
            [[name, *c[-1]] for name, c in curves.items()]))  # fmt: skip
gaps = {name: c[-1, 2] - c[-1, 3] for name, c in curves.items()}
print(f"train - held-out accuracy: {gaps['no dropout']:.1%} without dropout, {gaps[f'dropout p={p}']:.1%} with")

if plt:
    fig, axes = plt.subplots(1, 4, figsize=(19, 4.2), layout="constrained")
    shown = np.arange(1, len(curves["no dropout"]) + 1) * every
    for (name, c), colour in zip(curves.items(), ("tab:blue", "tab:orange")):
        axes[0].plot(shown, c[:, 0], color=colour, ls="--", label=f"{name}, train")
        axes[0].plot(shown, c[:, 1], color=colour, label=f"{name}, held-out")
        axes[1].plot(shown, c[:, 2], color=colour, ls="--", label=f"{name}, train")
        axes[1].plot(shown, c[:, 3], color=colour, label=f"{name}, held-out")
    axes[0].set(xlabel="step", ylabel="binary cross-entropy", yscale="log", title="loss (eval mode)")
    axes[1].set(xlabel="step", ylabel="accuracy", title="accuracy (eval mode)")
    axes[1].set_ylim(0.7, 1.02)
    for ax, place in zip(axes[:2], ("center right", "lower right")):
        ax.legend(fontsize=8, loc=place)
        ax.grid(alpha=0.3)
    for ax, (name, model) in zip(axes[2:], models.items()):
        shade(ax, lambda P, model=model: train.outputs(model, P)[:, 0] > 0, xlim=(-1.8, 2.8), ylim=(-1.3, 1.8))
        points(ax, X_train, y_train, size=40)
        ax.set_title(f"{name}: train {curves[name][-1, 2]:.0%}, held-out {curves[name][-1, 3]:.0%}")
    save(plt, fig, args.out, "dropout.png")
