"""Lesson 10: Newton's method, from a second derivative the engine computes by differentiating
its own first derivative. On y = x^4 - 2x^2, gradient descent steps downhill by lr * y'(x) and
needs a learning rate guessed in advance; Newton's step y'(x) / y''(x) uses the curvature and,
near the minimum, doubles the correct digits each step.
"""

import numpy as np
from lesson import save, start, table

from tinygrad_edu import Value, grad

args, plt = start(__doc__)


def f(x):
    return x**4 - 2 * x**2


def derivatives(x0: float) -> tuple[float, float]:
    """y'(x0) and y''(x0): the first by grad with create_graph=True, so that it can be differentiated again."""
    x = Value(x0, label="x")
    (dy,) = grad(f(x), x, create_graph=True)  # 4x^3 - 4x, as a graph of its own
    (d2y,) = grad(dy, x)  # 12x^2 - 4
    return dy.data, d2y.data


def newton(x: float, tol: float, limit: int = 100) -> list[float]:
    path = [x]
    while len(path) <= limit:
        dy, d2y = derivatives(x)
        if abs(dy) < tol:
            break
        x = x - dy / d2y
        path.append(x)
    return path


def gradient_descent(x: float, lr: float, tol: float, limit: int = 10_000) -> list[float]:
    path = [x]
    while len(path) <= limit:
        dy, _ = derivatives(x)
        if abs(dy) < tol or not np.isfinite(x):
            break
        x = x - lr * dy
        path.append(x)
    return path


x0, tol = 2.0, 1e-10
runs = {"Newton": newton(x0, tol)}
for lr in (0.01, 0.05, 0.1):
    runs[f"gradient descent, lr {lr}"] = gradient_descent(x0, lr, tol)
dy, d2y = derivatives(x0)
print(f"y = x^4 - 2x^2 at x = {x0}: y' = {dy:g} (4x^3 - 4x = {4 * x0**3 - 4 * x0:g}), "
      f"y'' = {d2y:g} (12x^2 - 4 = {12 * x0**2 - 4:g})")  # fmt: skip
print(f"\nsteps until |y'(x)| < {tol:g}, starting at x = {x0}")
rows = []
for name, path in runs.items():
    steps = len(path) - 1
    rows.append([name, steps if abs(derivatives(path[-1])[0]) < tol else f"> {steps}", path[-1]])
print(table(["method", "steps", "x at the end"], rows))
print("lr 0.1 jumps over the hump at x = 0 into the other valley; lr 0.01 crawls; Newton needs no lr at all")
print("\nNewton's iterates (the error |x - 1| about squares each step):")
for k, x in enumerate(runs["Newton"]):
    print(f"  step {k}: x = {x:.15f}, |x - 1| = {abs(x - 1):.1e}")

if plt:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    xs = np.linspace(-1.6, 2.1, 300)
    left.plot(xs, xs**4 - 2 * xs**2, color="#888888")
    for (name, path), colour in zip(runs.items(), ["C3", "C0", "C1", "C2"]):
        p = np.array(path[:12])  # the first steps
        left.plot(p, p**4 - 2 * p**2, "o-", ms=4, lw=1, color=colour, label=name)
        p = np.array(path)
        right.semilogy(np.minimum(abs(p - 1), abs(p + 1)) + 1e-17, "o-", ms=3, lw=1, color=colour, label=name)
    left.set(xlabel="x", ylabel="y", title="y = x^4 - 2x^2: the first steps", ylim=(-1.3, 8.5))
    right.set(xlabel="step", ylabel="distance to the nearest minimum (x = 1 or -1)", xlim=(0, 60),
              title="how fast each one gets there")  # fmt: skip
    left.legend(fontsize=8)
    right.grid(alpha=0.3)
    save(plt, fig, args.out, "newton.png")
