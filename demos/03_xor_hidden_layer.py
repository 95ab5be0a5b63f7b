"""Lesson 3: XOR needs a hidden layer. XOR = (x1 OR x2) AND (x1 NAND x2).

First a hand-wired 2-2-1 step network computes it exactly: in the hidden space (h1, h2)
the four points become linearly separable. Then a 2-4-1 network with smooth (tanh)
units learns it by backprop.
"""

import numpy as np
from lesson import points, save, shade, start, table

from tinygrad_edu import Value, data, nn, train

args, plt = start(__doc__)
X, y = data.xor()


def hand_wired(x):
    """h1 = OR, h2 = NAND, y = AND of the two: every unit a step of a weighted sum."""
    x = Value(x, requires_grad=False)
    h1 = (x @ Value([1.0, 1.0]) - 0.5).step()  # OR: fires if at least one input is 1
    h2 = (x @ Value([-1.0, -1.0]) + 1.5).step()  # NAND: fires unless both are 1
    out = (h1 + h2 - 1.5).step()  # AND: fires only if both hidden units fire
    return h1.data, h2.data, out.data


h1, h2, out = hand_wired(X)
print("A hand-wired step network: h1 = OR(x1, x2), h2 = NAND(x1, x2), y = AND(h1, h2)\n")
print(
    table(
        ["x1", "x2", "h1 (OR)", "h2 (NAND)", "y", "XOR"],
        [[int(a), int(b), int(c), int(d), int(e), int(t)] for (a, b), c, d, e, t in zip(X, h1, h2, out, y)],
    )
)
exact = np.array_equal(out, y)
print(f"\nthe hand-wired network computes XOR exactly: {exact}")
hidden = ", ".join(f"({a:.0f},{b:.0f}) -> {t:.0f}" for a, b, t in zip(h1, h2, y))
print(f"in hidden space (h1, h2) the points are {hidden}: the line h1 + h2 = 1.5 separates them\n")

steps = 800 if args.quick else 2000
model = nn.MLP(2, [4, 1], activation="tanh", init="xavier", seed=0)
losses = train.fit(model, X, y, loss="bce_with_logits", optimizer="adam", lr=0.05, steps=steps)
acc = train.accuracy(model, X, y)
print(f"a 2-4-1 tanh network trained by backprop ({steps} Adam steps, lr 0.05): accuracy {acc:.0%}, "
      f"final loss {losses[-1]:.4f}")  # fmt: skip

if plt:
    fig, (ax1, ax2, ax3, ax4) = plt.subplots(1, 4, figsize=(17, 3.8), layout="constrained")
    points(ax1, X, y)
    ax1.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), xlabel="x1", ylabel="x2", title="input space: no line separates XOR")
    H = np.c_[h1, h2] + np.array([[-0.04, 0.0], [0.04, 0.04], [0.0, -0.04], [0.04, 0.0]])  # nudge the coincident pair
    shade(ax2, lambda P: (P[:, 0] + P[:, 1] - 1.5 >= 0).astype(float))
    points(ax2, H, y)
    ax2.set(xlabel="h1 = OR(x1, x2)", ylabel="h2 = NAND(x1, x2)", title="hidden space: h1 + h2 = 1.5 separates")
    shade(ax3, lambda P: (train.outputs(model, P)[:, 0] > 0).astype(float))
    points(ax3, X, y)
    ax3.set(xlabel="x1", ylabel="x2", title=f"learned 2-4-1 tanh network: {acc:.0%}")
    ax4.plot(losses)
    ax4.set(xlabel="step", ylabel="loss (binary cross-entropy)", yscale="log", title="training loss")
    save(plt, fig, args.out, "xor_hidden_layer.png")
