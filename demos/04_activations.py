"""Lesson 4: why smooth activations. The step's derivative is 0 almost everywhere, so backprop
cannot move the weights; sigmoid, tanh and ReLU pass usable gradients. Sigmoid and tanh
saturate (gradient -> 0 for large |z|); ReLU's gradient is 1 for every z > 0.

Every derivative here is computed by the engine's backward pass, not by a formula.
"""

import numpy as np
from lesson import save, start, table

from tinygrad_edu import Value, activations, data, nn, train

args, plt = start(__doc__)
NAMES = ["step", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "gelu"]


def value_and_derivative(name: str, z: np.ndarray):
    v = Value(z)
    activations.get(name)(v).sum().backward()  # d/dz_i of sum_j f(z_j) = f'(z_i)
    return activations.get(name)(Value(z)).data, v.grad


rows = []
for name in NAMES:
    f, d = value_and_derivative(name, np.array([-2.0, 2.0]))
    rows.append([name, f[0], d[0], f[1], d[1]])
print(table(["activation", "f(-2)", "f'(-2)", "f(2)", "f'(2)"], rows))

X, y = data.xor()
steps = 300 if args.quick else 1500
curves = {}
for name in NAMES:
    model = nn.MLP(2, [4, 1], activation=name, init="xavier", bias_init=0.5 if "relu" in name else 0.0, seed=0)
    before = [p.data.copy() for p in model.layers[0].parameters()]
    curves[name] = train.fit(model, X, y, loss="bce_with_logits", optimizer="adam", lr=0.05, steps=steps)
    moved = max(float(np.max(np.abs(p.data - b))) for p, b in zip(model.layers[0].parameters(), before))
    curves[name] = (curves[name], train.accuracy(model, X, y), moved)
print(f"\nthe same 2-4-1 network on XOR, {steps} Adam steps:")
print(table(["hidden units", "final loss", "accuracy", "largest change of a hidden weight"],
            [[n, c[-1], f"{a:.0%}", m] for n, (c, a, m) in curves.items()]))  # fmt: skip
print("\nstep: its hidden weights never change (the gradient through a step is 0), so only the output "
      "layer learns and XOR stays out of reach")  # fmt: skip

if plt:
    z = np.linspace(-4, 4, 401)
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(17, 4.2), layout="constrained")
    for name in NAMES:
        f, d = value_and_derivative(name, z)
        a1.plot(z, f, label=name)
        a2.plot(z, d, label=name)
        a3.plot(curves[name][0], label=name)
    a1.set(xlabel="z", ylabel="f(z)", title="activations", ylim=(-1.5, 4))
    a2.set(xlabel="z", ylabel="f'(z), by backward()", title="their derivatives: step's is 0")
    a3.set(xlabel="step", ylabel="loss", yscale="log", title="XOR 2-4-1: step does not learn")
    for ax in (a1, a2, a3):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    save(plt, fig, args.out, "activations.png")
