"""Lesson 2: the perceptron rule on logic gates. AND, OR and NAND converge; XOR never does.

A perceptron outputs H(w.x + b), the Heaviside step. On each mistake it moves its line:
w <- w + lr (y - y_hat) x, b <- b + lr (y - y_hat). A line that separates the classes
exists for AND, OR and NAND, so the rule finds one; for XOR none exists.
"""

from lesson import points, save, shade, start, table, whole_ticks

from tinygrad_edu import data, nn

args, plt = start(__doc__)
epochs = 30 if args.quick else 100
results = {}
rows = []
for gate in ["and", "or", "nand", "xor"]:
    X, y = data.gates(gate)
    p = nn.Perceptron(2).fit(X, y, epochs=epochs, lr=1.0)
    results[gate] = (p, X, y)
    verdict = f"converged after {len(p.errors_)} epochs" if p.converged else \
        f"never converged in {epochs} epochs (fewest mistakes in an epoch: {min(p.errors_)})"  # fmt: skip
    rows.append([gate.upper(), verdict, f"({p.w.data[0]:+.0f}, {p.w.data[1]:+.0f})", f"{p.b.data:+.0f}"])
print(table(["gate", "result", "w", "b"], rows))
print("\nmistakes per epoch for XOR, first 12:", results["xor"][0].errors_[:12])

if plt:
    fig, (left, *rest) = plt.subplots(1, 5, figsize=(18, 3.6), layout="constrained")
    for gate, (p, _, _) in results.items():
        left.plot(range(1, len(p.errors_) + 1), p.errors_, marker=".", label=gate.upper())
    left.set(xlabel="epoch", ylabel="mistakes in the epoch", title="perceptron rule: mistakes per epoch")
    whole_ticks(left)
    left.set_xlim(0, 20)
    left.legend()
    for ax, (gate, (p, X, y)) in zip(rest, results.items()):
        shade(ax, p.predict)
        points(ax, X, y)
        wrong = int((p.predict(X) != y).sum())
        ax.set(
            xlabel="x1",
            ylabel="x2",
            title=f"{gate.upper()}: " + ("separated" if p.converged else f"last line tried: {wrong} of 4 wrong"),
        )
    fig.suptitle("red: output 1, blue: output 0; shaded: the perceptron's answer, dashed: its line")
    save(plt, fig, args.out, "perceptron_gates.png")
