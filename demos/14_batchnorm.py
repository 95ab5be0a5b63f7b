"""Lesson 14: batch normalisation against vanishing gradients. In a deep sigmoid network the gradient
fades layer by layer on its way back (lesson 7), so gradient descent hardly moves the first layers.
BatchNorm1d after each linear layer standardises every unit over the batch: the sigmoids work in their
steep middle, and the gradient reaches the first layer. Same initial weights, same steps, plain SGD
(Adam would rescale each weight's step by its own gradient and hide the fading).
"""

import numpy as np
from lesson import save, start, table

from tinygrad_edu import Value, data, losses, nn, train

args, plt = start(__doc__)
depth, width, batch, lr = 10, 32, 64, 0.5
steps = 150 if args.quick else 600
X, y = data.digits()
X_train, X_test, y_train, y_test = data.train_test_split(X / 16.0, y, 0.2, seed=0)


def network(batchnorm: bool) -> nn.Sequential:
    """depth x (linear, [BatchNorm1d], sigmoid), then a linear layer to the 10 digits; layer i's weights from
    seed i, so both networks start from the same weights."""
    sizes, layers = [64] + [width] * depth, []
    for i in range(depth):
        layers.append(nn.Layer(sizes[i], sizes[i + 1], activation=None, seed=i))
        layers += [nn.BatchNorm1d(width)] if batchnorm else []
        layers.append(nn.Activation("sigmoid"))
    return nn.Sequential(*layers, nn.Layer(width, 10, activation=None, seed=depth))


def linears(model: nn.Sequential) -> list[nn.Layer]:
    return [m for m in model if isinstance(m, nn.Layer)]


models = {"plain": network(False), "batchnorm": network(True)}
same = all(np.array_equal(a.w.data, b.w.data) for a, b in zip(*map(linears, models.values())))
print(f"{depth} sigmoid layers of {width} units on 8x8 digits; the same initial weights: {same}\n")

norms = {}
for name, model in models.items():
    losses.cross_entropy(model(Value(X_train[:256], requires_grad=False)), y_train[:256]).backward()
    norms[name] = [float(np.linalg.norm(layer.w.grad)) for layer in linears(model)]
print("gradient norm of each layer's weights, one backward pass on 256 images")
print(table(["network", *[f"L{i + 1}" for i in range(depth + 1)]], [[n, *v] for n, v in norms.items()]))
for name, v in norms.items():
    print(f"{name}: first layer's gradient is {v[0] / v[-2]:.2g} x the last hidden layer's")
print(f"batchnorm's first-layer gradient is {norms['batchnorm'][0] / norms['plain'][0]:.3g} x the plain network's")

curves = {}
for name, model in models.items():
    curves[name] = train.fit(model, X_train, y_train, loss="cross_entropy", optimizer="sgd", lr=lr, steps=steps,
                             batch_size=batch)  # fmt: skip
marks = [s for s in (1, 25, 50, 100, 150, 300, 600) if s <= steps]
print(f"\ntraining loss (cross-entropy, minibatches of {batch}, SGD lr {lr}) after each number of steps")
print(table(["network", *map(str, marks)], [[n, *(c[s - 1] for s in marks)] for n, c in curves.items()]))
last = {name: float(np.mean(c[-10:])) for name, c in curves.items()}
tested = {name: train.accuracy(model, X_test, y_test) for name, model in models.items()}
print(f"after {steps} steps: loss (mean of the last 10) plain {last['plain']:.3f}, batchnorm {last['batchnorm']:.3f}; "
      f"test accuracy plain {tested['plain']:.1%}, batchnorm {tested['batchnorm']:.1%} "
      f"(chance: 10%)")  # fmt: skip

if plt:
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
    for name, v in norms.items():
        left.plot(range(1, depth + 2), v, marker="o", label=name)
    left.set(yscale="log", xlabel="layer (1 = next to the input)", ylabel="|dL/dW| of the layer",
             title="gradient per layer, same initial weights")  # fmt: skip
    for name, c in curves.items():
        right.plot(range(1, steps + 1), c, lw=0.8, label=f"{name} (test accuracy {tested[name]:.0%})")
    right.set(xlabel="step", ylabel="cross-entropy of the minibatch", title=f"training, SGD lr {lr}")
    for ax in (left, right):
        ax.legend()
        ax.grid(alpha=0.3)
    save(plt, fig, args.out, "batchnorm.png")
