"""Lesson 9: handwritten digits. An MLP 64-64-10 learns to read 8x8 images: the hidden layer
extracts features, the output layer scores the ten digits. Accuracy is measured on 359 images
it never saw in training.
"""

import time

import numpy as np
from lesson import save, start, table

from tinygrad_edu import data, nn, train

args, plt = start(__doc__)
X, y = data.digits()
X_train, X_test, y_train, y_test = data.train_test_split(X / 16.0, y, 0.2, seed=0)
model = nn.MLP(64, [64, 10], activation="relu", init="he", bias_init=0.01, seed=0)
steps = 400 if args.quick else 1500
start_time = time.perf_counter()
losses = train.fit(model, X_train, y_train, loss="cross_entropy", optimizer="adam", lr=0.005, steps=steps,
                   batch_size=64)  # fmt: skip
seconds = time.perf_counter() - start_time
predicted = train.outputs(model, X_test).argmax(axis=1)
accuracy = float(np.mean(predicted == y_test))
print(f"trained on {len(y_train)} images for {steps} steps of 64 in {seconds:.1f} s; "
      f"test accuracy {accuracy:.1%} on {len(y_test)} held-out images")  # fmt: skip
confusion = np.zeros((10, 10), int)
np.add.at(confusion, (y_test, predicted), 1)
print("\nconfusion matrix (rows: true digit, columns: predicted)")
print(table(["", *range(10)], [[d, *confusion[d]] for d in range(10)]))
wrong = np.flatnonzero(predicted != y_test)

if plt:
    fig = plt.figure(figsize=(15, 4.3), layout="constrained")
    grid = fig.add_gridspec(1, 3)
    ax = fig.add_subplot(grid[0])
    ax.imshow(confusion, cmap="Blues")
    for i in range(10):
        for j in range(10):
            ax.text(j, i, confusion[i, j], ha="center", va="center", fontsize=7,
                    color="white" if confusion[i, j] > confusion.max() / 2 else "black")  # fmt: skip
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="true", title=f"test accuracy {accuracy:.1%}")
    ax = fig.add_subplot(grid[1])
    ax.plot(losses, lw=0.8)
    ax.set(xlabel="step", ylabel="cross-entropy", yscale="log", title="training loss")
    thumbs = grid[2].subgridspec(2, 4)
    for k, i in enumerate(wrong[:8]):
        sub = fig.add_subplot(thumbs[k // 4, k % 4])
        sub.imshow(X_test[i].reshape(8, 8), cmap="gray_r")
        sub.set_title(f"{y_test[i]} read as {predicted[i]}", fontsize=8)
        sub.axis("off")
    save(plt, fig, args.out, "digits_mlp.png")
