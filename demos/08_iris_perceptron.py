"""Lesson 8: real data a perceptron can separate. Iris setosa against versicolor, by sepal
length and petal length: one straight line divides them, and the perceptron rule finds it.
"""

import numpy as np
from lesson import points, save, shade, start, table, whole_ticks

from tinygrad_edu import data, nn

args, plt = start(__doc__)
X, y = data.iris(binary=True)
X = X[:, [0, 2]]  # sepal length, petal length (cm)
p = nn.Perceptron(2).fit(X, y, epochs=50, lr=0.1)
print(f"{len(y)} flowers (50 setosa, 50 versicolor), features: sepal length and petal length (cm)")
print(table(["epoch", *range(1, len(p.errors_) + 1)], [["mistakes", *p.errors_]]))
w, b = p.w.data, p.b.data
state = f"converged after {len(p.errors_)} epochs" if p.converged else "did not converge"
print(f"\nperceptron {state}: {w[0]:.2f} * sepal {w[1]:+.2f} * petal {b:+.2f} = 0 separates them; "
      f"training accuracy {np.mean(p.predict(X) == y):.0%}")  # fmt: skip

if plt:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.3), layout="constrained")
    lims = (X[:, 0].min() - 0.3, X[:, 0].max() + 0.3), (X[:, 1].min() - 0.5, X[:, 1].max() + 0.5)
    shade(ax1, p.predict, *lims)
    points(ax1, X, y, size=30)
    ax1.set(
        xlabel="sepal length (cm)",
        ylabel="petal length (cm)",
        title="setosa (blue) vs versicolor (red): the learned line",
    )
    ax2.plot(range(1, len(p.errors_) + 1), p.errors_, marker="o")
    ax2.set(xlabel="epoch", ylabel="mistakes in the epoch", title="perceptron rule: mistakes per epoch")
    whole_ticks(ax2)
    ax2.grid(alpha=0.3)
    save(plt, fig, args.out, "iris_perceptron.png")
