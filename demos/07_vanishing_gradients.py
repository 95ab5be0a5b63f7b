"""Lesson 7: vanishing gradients. Backprop multiplies one local derivative per layer; sigmoid's is
at most 1/4, so in a deep sigmoid network the gradient shrinks layer by layer on its way back to
the first layers. With ReLU (derivative 1 where active) and He initialization it holds.
"""

import numpy as np
from lesson import save, start, table

from tinygrad_edu import Value, data, losses, nn

args, plt = start(__doc__)
depth, width = 10, 32
X, y = data.moons(256, 0.1, seed=0)
norms = {}
for name, act, init in [("sigmoid + Xavier", "sigmoid", "xavier"), ("tanh + Xavier", "tanh", "xavier"),
                        ("ReLU + He", "relu", "he")]:  # fmt: skip
    runs = []
    for seed in range(2 if args.quick else 5):
        model = nn.MLP(2, [width] * depth + [1], activation=act, init=init, seed=seed)
        losses.bce_with_logits(model(Value(X, requires_grad=False)), y).backward()
        runs.append([float(np.linalg.norm(layer.w.grad)) for layer in model.layers])
    norms[name] = np.exp(np.mean(np.log(runs), axis=0))  # geometric mean over seeds

print(f"gradient norm of each layer's weights, {depth} hidden layers of {width} units, one backward pass on moons")
print(table(["network", *[f"L{i + 1}" for i in range(depth + 1)]], [[n, *v] for n, v in norms.items()]))
for name, v in norms.items():
    print(f"{name}: first layer's gradient is {v[0] / v[-2]:.2g} x the last hidden layer's")

if plt:
    fig, ax = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
    for name, v in norms.items():
        ax.plot(range(1, depth + 2), v, marker="o", label=name)
    ax.set(
        yscale="log",
        xlabel="layer (1 = next to the input)",
        ylabel="|dL/dW| of the layer",
        title="vanishing gradients: sigmoid fades toward the input, ReLU + He holds",
    )
    ax.legend()
    ax.grid(alpha=0.3)
    save(plt, fig, args.out, "vanishing_gradients.png")
