"""Lesson 16: backpropagation through time. An RNN applies the same step T times, so the gradient reaching
k steps back has been multiplied by k factors dh_t/dh_{t-1} = diag(1 - h_t^2) w_hh^T: it shrinks geometrically
with small recurrent weights (vanishing) and grows with large ones (exploding); clipping its norm bounds the
step an explosion would take. An LSTM's cell state is scaled only by the forget gate f (dc_t/dc_{t-1} = f): with
f near 1 from the start it keeps the signal, and learns what the first of 50 numbers was; the RNN cannot.
"""

import time

import numpy as np
from lesson import save, start, table

from tinygrad_edu import Value, losses, nn, optim, train

args, plt = start(__doc__)


def memory_task(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n sequences of ``length`` numbers N(0, 1), shape (n, length, 1); the label: is the first one positive?"""
    X = np.random.default_rng(seed).normal(size=(n, length, 1))
    return X, (X[:, 0] > 0).astype(float)


class Reader(nn.Module):
    """A recurrent layer reads the sequence; a Layer turns its last hidden state into one logit."""

    def __init__(self, layer: nn.RNN):
        self.layer = layer
        self.head = nn.Layer(layer.hidden_size, 1, activation=None, seed=0)

    def forward(self, x):
        out, _ = self.layer(x)
        return self.head(out[:, -1])


# ---- 1. how far back the gradient reaches: d(sum of h_T)/dx_t for t = T, T-1, ..., 1
T, H, BACK = 30, 32, (0, 5, 10, 20)
inputs = np.random.default_rng(1).normal(size=(64, T, 1))


def scaled_rnn(gain: float, seed: int) -> nn.RNN:
    """A tanh RNN whose w_hh has entries N(0, gain^2 / H): its eigenvalues fill a disc of radius about gain."""
    rnn = nn.RNN(1, H, seed=seed)
    rnn.cells[0].w_hh.numbers[...] = np.random.default_rng(seed).normal(0, gain / np.sqrt(H), (H, H))
    return rnn


def backward(model: nn.RNN) -> tuple[np.ndarray, np.ndarray]:
    """d(sum of h_T)/dx for the batch ``inputs``, shape (N, T, 1), and the hidden states h_1 .. h_T."""
    x = Value(inputs)
    out, _ = model(x)
    out[:, -1].sum().backward()
    return x.grad, out.numbers


def reach(model: nn.RNN) -> np.ndarray:
    """|d(sum of h_T)/dx_t| over the batch at k = T - t = 0, 1, ... steps back, relative to k = 0."""
    norms = np.linalg.norm(backward(model)[0][:, ::-1, 0], axis=0)
    return norms / norms[0]


models = {
    "RNN (w_hh gain 0.5)": lambda seed: scaled_rnn(0.5, seed),
    "RNN (w_hh gain 3)": lambda seed: scaled_rnn(3.0, seed),
    "LSTM (forget bias 1)": lambda seed: nn.LSTM(1, H, seed=seed),
    "LSTM (forget bias 3)": lambda seed: nn.LSTM(1, H, forget_bias=3.0, seed=seed),
}
reaches = {name: np.exp(np.mean([np.log(reach(make(seed))) for seed in range(3)], axis=0))  # geometric mean
           for name, make in models.items()}  # fmt: skip
print(f"|d(sum of h_T)/dx_t| at k = T - t steps back, relative to k = 0: {H} hidden units, T = {T}, 3 seeds")
print(table(["model", *[f"k = {k}" for k in BACK], "per step"],
            [[name, *r[list(BACK)], r[20] ** (1 / 20)] for name, r in reaches.items()]))  # fmt: skip
for name, r in reaches.items():
    print(f"{name}: 20 steps back the gradient is {r[20]:.2g} x the last step's")

rnn = scaled_rnn(0.5, 0)  # the same gradient by hand: one factor diag(1 - h_t^2) w_hh^T per step back
grad, h = backward(rnn)
cell = rnn.cells[0]
g, by_hand = np.ones((len(inputs), H)), np.zeros_like(inputs)  # g: d(sum of h_T)/dh_T
for t in reversed(range(T)):
    g = g * (1 - h[:, t] ** 2)  # through tanh: d/d(x_t w_ih + b + h_{t-1} w_hh)
    by_hand[:, t] = g @ cell.w_ih.numbers.T
    g = g @ cell.w_hh.numbers.T  # now d/dh_{t-1}
print(f"backward's d/dx_t against the product of the factors diag(1 - h_t^2) w_hh^T by hand: max difference "
      f"{np.max(np.abs(grad - by_hand)):.1g}")  # fmt: skip
sigmoid = {b: 1 / (1 + np.exp(-b)) for b in (1, 3)}
print("an LSTM's cell state takes the gradient back through a factor f per step, f = sigmoid(forget bias) at "
      "first: " + ", ".join(f"sigmoid({b})^20 = {f**20:.2g}" for b, f in sigmoid.items()))  # fmt: skip

# ---- 2. gradient clipping: an RNN trained by SGD with a learning rate too large, with and without clipping
steps, lr, max_norm = (100 if args.quick else 300), 2.0, 1.0
X, y = memory_task(1024, T, seed=0)
X_test, y_test = memory_task(512, T, seed=1)


def gradient_norm(params) -> float:
    """The norm of all the gradients as one vector (what clip_grad_norm_ measures and bounds)."""
    return float(np.sqrt(sum(np.sum(p.grad**2) for p in params)))


print(f"\na tanh RNN as nn.RNN starts it ({H} units) learns the first number's sign, T = {T}: SGD at lr {lr:g}, "
      f"{steps} steps of 64; the loss at the end is the mean of the last 20 steps (chance: ln 2 = 0.693)")  # fmt: skip
curves, rows = {}, []
for name, clip in [("without clipping", False), (f"clipped to norm {max_norm:g}", True)]:
    model = Reader(nn.RNN(1, H, seed=0))
    params, batches = model.parameters(), np.random.default_rng(0)
    opt = optim.SGD(params, lr=lr)
    curve, norms = [], []
    for _ in range(steps):
        batch = batches.integers(0, len(y), 64)
        loss = losses.bce_with_logits(model(X[batch]), y[batch])
        opt.zero_grad()
        loss.backward()
        norms.append(gradient_norm(params))
        if clip:
            optim.clip_grad_norm_(params, max_norm)
        opt.step()
        curve.append(loss.item())
    curves[name] = curve
    end, finite = float(np.mean(curve[-20:])), bool(np.isfinite(curve).all())
    saturated = np.mean(np.abs(model.layer(X_test)[0].numbers) > 0.99)  # where tanh's slope 1 - h^2 is below 0.02
    accuracy = train.accuracy(model, X_test, y_test)
    rows.append([name, max(norms), int(np.argmax(norms)), end, finite, f"{saturated:.0%}", f"{accuracy:.1%}"])
headers = ["training", "largest |grad|", "at step", "loss at the end", "finite", "|h| > 0.99", "held-out accuracy"]
print(table(headers, rows))
print("tanh keeps every state in [-1, 1], so the loss stays finite; the harm an unclipped step (lr x |grad|) does "
      "is to throw the weights where the units saturate. Clipping bounds every step to lr x max_norm.")  # fmt: skip

# ---- 3. an LSTM against an RNN on the memory task, the answer further and further back
lengths, steps, hidden = ((10, 30) if args.quick else (10, 50)), (100 if args.quick else 300), 8
readers = {  # name: (the recurrent layer, its colour in the pictures: the same as in the reach's)
    "RNN": (lambda: nn.RNN(1, hidden, seed=0), "C0"),
    "LSTM (forget bias 1)": (lambda: nn.LSTM(1, hidden, seed=0), "C2"),
    "LSTM (forget bias 3)": (lambda: nn.LSTM(1, hidden, forget_bias=3.0, seed=0), "C3"),
}
results, fits = [], {}
for length in lengths:
    X, y = memory_task(1024, length, seed=0)
    X_test, y_test = memory_task(512, length, seed=1)
    row = [length]
    for name, (layer, _) in readers.items():
        model, begin = Reader(layer()), time.perf_counter()
        fits[name, length] = train.fit(model, X, y, optimizer="adam", lr=0.02, steps=steps, batch_size=64)
        row.append(f"{train.accuracy(model, X_test, y_test):.1%} ({time.perf_counter() - begin:.1f} s)")
    results.append(row)
print(f"\nis the first of T numbers positive? {hidden} hidden units each, Adam lr 0.02, {steps} steps of 64; "
      "accuracy on 512 held-out sequences (chance 50%) and the training time")  # fmt: skip
print(table(["T", *readers], results))
for length, *cells in results:
    print(f"first of {length} numbers: " + "; ".join(f"{name} {c.split()[0]}" for name, c in zip(readers, cells)))

if plt:
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 4.3), layout="constrained")
    for name, r in reaches.items():
        left.plot(r, marker="o", ms=3, label=name)
    left.set(yscale="log", xlabel="k: steps back from the last", ylabel="|d(sum of h_T)/dx_{T-k}|, relative",
             title="how far back the gradient reaches")  # fmt: skip
    left.legend(fontsize=8)
    for (name, curve), colour in zip(curves.items(), ["C1", "C4"]):
        middle.plot(curve, lw=0.8, color=colour, label=name)
    middle.axhline(np.log(2), color="k", lw=0.6, ls="--", label="chance (ln 2)")
    middle.set(yscale="log", xlabel="SGD step", ylabel="cross-entropy (minibatch)",
               title=f"an RNN at lr {lr:g}: clipping the gradient's norm")  # fmt: skip
    middle.legend(fontsize=8)
    for (name, length), curve in fits.items():
        smooth = np.convolve(curve, np.ones(10) / 10, mode="valid")
        style = "-" if length == max(lengths) else ":"
        right.plot(smooth, lw=1, ls=style, color=readers[name][1], label=f"{name}, T = {length}")
    right.axhline(np.log(2), color="k", lw=0.6, ls="--")
    right.set(xlabel="Adam step", ylabel="cross-entropy (mean of 10 steps)",
              title="remember the first number: LSTM against RNN")  # fmt: skip
    right.legend(fontsize=8)
    for ax in (left, middle, right):
        ax.grid(alpha=0.3)
    save(plt, fig, args.out, "bptt.png")
