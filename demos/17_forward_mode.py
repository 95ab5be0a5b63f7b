"""Lesson 17: forward mode beside reverse mode. The chain rule can be run either way through a graph. Reverse mode
(backprop) starts at the output and carries d(output)/d(node) back: one pass gives the derivative with respect to
every input, a row of the Jacobian. Forward mode starts at the inputs, moves them along one direction and carries
each node's rate of change d(node)/d(direction) forward beside its value (a dual number): one pass gives the
derivative of every output, a column. So a full Jacobian of f: R^n -> R^m costs n forward passes or m backward
ones, and training (one loss, many weights) uses reverse mode.
"""

import time

import numpy as np
from lesson import save, start, table

from tinygrad_edu import Value, forward, jacobian, numerical_grad, trace_backward, trace_forward

args, plt = start(__doc__)

# ---- 1. one function, differentiated both ways: the neuron o = tanh(x1 w1 + x2 w2 + b)
numbers = {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": 6.8813735870195432}


def neuron(x1, x2, w1, w2, b):
    return (x1 * w1 + x2 * w2 + b).tanh()


leaves = {name: Value(v, label=name) for name, v in numbers.items()}
o = neuron(*leaves.values())
o.label = "o"
back = trace_backward(o)  # one backward pass: do/d(every input)
rows = []
for name, leaf in leaves.items():
    ahead = forward.tangents(o, leaf, 1.0)  # one forward pass per input: that input moves, the others stay
    nudged = numerical_grad(lambda *vs: neuron(*vs), *[Value(v) for v in numbers.values()])
    rows.append([name, ahead.get(o, 0.0), back.gradients.get(leaf, 0.0), float(nudged[list(numbers).index(name)])])
print("o = tanh(x1 w1 + x2 w2 + b): do/d(input), three ways")
print(table(["input", "forward mode (its own pass)", "reverse mode (one pass for all)", "finite differences"], rows))
print(f"forward mode took {len(numbers)} passes (one per input), reverse mode 1; largest difference between them: "
      f"{max(abs(r[1] - r[2]) for r in rows):.1g}")  # fmt: skip

# ---- 2. the tangents flowing forward, the gradients flowing back
print("\nforward mode, w1 moving at speed 1 (its tangent 1, every other input's 0): each node's tangent is the sum")
print("over its inputs of (local derivative) x (the input's tangent)")
ahead = trace_forward(o, [leaves["w1"]], [1.0])
print(ahead)
print("\nreverse mode from o: each input's gradient is the sum over its uses of (upstream) x (local derivative)")
print(back)
print(f"do/dw1: the last tangent forward {ahead.tangents[o]:.6g}, w1's gradient backward "
      f"{back.gradients[leaves['w1']]:.6g}. The forward pass visited only the {len(ahead.rows)} nodes w1 reaches "
      f"and answered for w1 alone; the backward pass answered for all {len(numbers)} inputs.")  # fmt: skip


# ---- 3. a whole Jacobian: n forward passes or m backward ones
def layers(n: int, m: int, hidden: int = 32, seed: int = 0):
    """f: R^n -> R^m, two tanh layers with fixed random weights."""
    rng = np.random.default_rng(seed)
    w1, w2 = rng.normal(0, 1 / np.sqrt(n), (n, hidden)), rng.normal(0, 1 / np.sqrt(hidden), (hidden, m))
    return lambda x: ((x @ w1).tanh() @ w2).tanh()


def seconds(f, x, mode: str, repeats: int) -> float:
    """The best of ``repeats`` runs of the full Jacobian."""
    best = float("inf")
    for _ in range(repeats):
        begin = time.perf_counter()
        jacobian(f, x, mode=mode)
        best = min(best, time.perf_counter() - begin)
    return best


sizes, fixed, repeats = ([1, 4, 16, 64] if args.quick else [1, 2, 4, 8, 16, 32, 64, 128]), 8, (2 if args.quick else 7)
weights = [1, 8, 64, 512] if args.quick else [1, 4, 16, 64, 256, 1024]
f = layers(16, 16)
x = Value(np.random.default_rng(1).normal(size=16))
difference = np.max(np.abs(jacobian(f, x, mode="forward").numbers - jacobian(f, x, mode="reverse").numbers))
print(f"\nf: R^16 -> R^16 (two tanh layers): forward and reverse Jacobians agree, max difference {difference:.1g}")


def both_modes(n: int, m: int) -> tuple[float, float]:
    """Seconds for the whole Jacobian of an f: R^n -> R^m, by forward mode and by reverse mode."""
    return tuple(seconds(layers(n, m), Value(np.ones(n) / n), mode, repeats) for mode in ("forward", "reverse"))


grow_n = {n: both_modes(n, fixed) for n in sizes}
grow_m = {m: both_modes(fixed, m) for m in sizes}
loss = {n: both_modes(n, 1) for n in weights}  # one output, as a loss: n weights
print(f"the time for a whole Jacobian (best of {repeats}), n inputs and m outputs")
cases = [(n, fixed, *grow_n[n]) for n in sizes] + [(fixed, m, *grow_m[m]) for m in sizes if m != fixed]
cases += [(n, 1, *loss[n]) for n in weights]
rows = [[n, m, n, f"{fwd * 1e3:.2f} ms", m, f"{rev * 1e3:.2f} ms", "forward" if fwd < rev else "reverse"]
        for n, m, fwd, rev in cases]  # fmt: skip
print(table(["n", "m", "forward passes", "forward", "backward passes", "reverse", "faster"], rows))
biggest = max(sizes)
fwd, rev = grow_n[biggest]
print(f"{biggest} inputs, {fixed} outputs: reverse mode is {fwd / rev:.1f}x faster ({fixed} passes against {biggest})")
fwd, rev = grow_m[biggest]
print(f"{fixed} inputs, {biggest} outputs: forward mode is {rev / fwd:.1f}x faster ({fixed} passes against {biggest})")
fwd, rev = loss[max(weights)]
print(f"one output (a loss) and {max(weights)} inputs (weights): reverse mode is {fwd / rev:.0f}x faster, one backward "
      f"pass against {max(weights)} forward ones. That is why training uses reverse mode.")  # fmt: skip

if plt:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3), layout="constrained", sharey=True)
    panels = [
        (grow_n, f"n inputs (m = {fixed} outputs)", "as the inputs grow", fixed),
        (grow_m, f"m outputs (n = {fixed} inputs)", "as the outputs grow", fixed),
        (loss, "n inputs, weights (m = 1 output, a loss)", "a loss: one output", None),
    ]
    for ax, (times, label, title, same) in zip(axes, panels):
        xs = list(times)
        for k, (mode, colour, passes) in enumerate(
            (("forward", "C1", "one pass per input"), ("reverse", "C0", "one pass per output"))
        ):
            ax.plot(xs, [times[v][k] * 1e3 for v in xs], marker="o", color=colour, label=f"{mode} mode ({passes})")
        if same is not None:
            ax.axvline(same, color="k", lw=0.7, ls="--", label="n = m")
        ax.set(xscale="log", yscale="log", xlabel=label, title=f"time for the whole Jacobian: {title}")
        ax.set_xticks(xs, [str(v) for v in xs])
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, loc="upper left")
    axes[0].set_ylabel("milliseconds (best of runs)")
    save(plt, fig, args.out, "forward_mode.png")
