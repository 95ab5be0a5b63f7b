"""Lesson 13: a small CNN on the 8x8 digits. A convolution slides the same few 3x3 filters over the
whole image: far fewer weights than lesson 9's MLP, and a digit moved by a pixel still meets the same
filters. Both models are trained alike and tested on held-out digits, as drawn and moved by one pixel;
the first layer's filters are drawn with what they see; and a conv layer's backward pass, written by
hand in numpy, is checked against the engine's.
"""

import time

import numpy as np
from lesson import save, start, table

from tinygrad_edu import Value, data, nn, no_grad, train
from tinygrad_edu import functional as F

args, plt = start(__doc__)
X, y = data.digits()
X_train, X_test, y_train, y_test = data.train_test_split(X / 16.0, y, 0.2, seed=0)
images_train, images_test = X_train.reshape(-1, 1, 8, 8), X_test.reshape(-1, 1, 8, 8)  # (N, C, H, W)
MOVES = [(0, 1), (0, -1), (1, 0), (-1, 0)]  # one pixel right, left, down, up


def mlp() -> nn.Module:
    return nn.MLP(64, [64, 10], activation="relu", init="he", bias_init=0.01)  # lesson 9's


def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),  # 8 filters 3x3: (N, 8, 8, 8)
        nn.BatchNorm2d(8),
        nn.Activation("relu"),
        nn.MaxPool2d(2),  # (N, 8, 4, 4)
        nn.Conv2d(8, 16, 3, padding=1),  # (N, 16, 4, 4)
        nn.Activation("relu"),
        nn.MaxPool2d(2),  # (N, 16, 2, 2)
        nn.Flatten(),  # (N, 64)
        nn.Dropout(0.1),
        nn.Layer(64, 10, activation=None),  # logits, for cross_entropy
    )


def moved(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """The images moved dy pixels down and dx right (each -1, 0 or 1); the pixels moved in are blank."""
    padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))
    return padded[:, :, 1 - dy : 9 - dy, 1 - dx : 9 - dx]


def count(model: nn.Module) -> int:
    return sum(p.data.size for p in model.parameters())


# ---------------------------------------------------------------- 1. the two models, trained alike
steps, seeds = (300, 2) if args.quick else (1500, 3)
models, rows, summary = {}, [], {}
for name, make, train_in, test_in in [("MLP 64-64-10", mlp, X_train, X_test), ("CNN", cnn, images_train, images_test)]:
    runs = []
    for seed in range(seeds):
        nn.manual_seed(seed)  # the initial weights and the dropout masks
        model = make()
        start_time = time.perf_counter()
        train.fit(model, train_in, y_train, loss="cross_entropy", optimizer="adam", lr=0.005, steps=steps,
                  batch_size=64, seed=seed)  # fmt: skip
        seconds = time.perf_counter() - start_time
        shifted = [train.accuracy(model, moved(images_test, *m).reshape(test_in.shape), y_test) for m in MOVES]
        runs.append([seconds, train.accuracy(model, test_in, y_test), float(np.mean(shifted))])
        models.setdefault(name, model)  # seed 0's, for the pictures and the backward check
    seconds, held_out, shifted = np.mean(runs, axis=0)
    low, high = np.min(runs, axis=0)[1], np.max(runs, axis=0)[1]
    summary[name] = seconds, held_out, shifted, (high - low) * len(y_test)
    rows.append([name, count(models[name]), steps, f"{seconds:.1f}", f"{held_out:.1%}", f"{low:.1%}-{high:.1%}",
                 f"{shifted:.1%}"])  # fmt: skip

print(f"{len(y_train)} training images, {len(y_test)} held out; adam, lr 0.005, minibatches of 64; "
      f"mean over {seeds} seeds")  # fmt: skip
print(table(["model", "parameters", "steps", "seconds", "held-out accuracy", "range", "moved 1 pixel"], rows))
print("\nwhere the CNN's parameters are")
model = models["CNN"]
print(table(["parameter", "shape", "count"], [[n, p.shape, p.data.size] for n, p in model.named_parameters()]))

(t_mlp, a_mlp, s_mlp, _), (t_cnn, a_cnn, s_cnn, spread) = summary.values()
print(f"\nthe CNN has {count(model)} parameters, {count(model) / count(models['MLP 64-64-10']):.0%} of the MLP's; "
      f"on this engine its training took {t_cnn / t_mlp:.0f}x the MLP's time")  # fmt: skip
verdict = "beats" if a_cnn > a_mlp else "does not beat"
print(f"held out: the CNN {verdict} the MLP on these 8x8 images, {a_cnn:.1%} against {a_mlp:.1%}: "
      f"{(a_cnn - a_mlp) * len(y_test):+.1f} images of {len(y_test)}, while the CNN's seeds differ by up to "
      f"{spread:.0f} images")  # fmt: skip
print(f"moved by one pixel: the MLP falls to {s_mlp:.1%}, the CNN keeps {s_cnn:.1%} (its filters meet a stroke "
      "wherever it is, and max pooling forgets exactly where)")  # fmt: skip


# ---------------------------------------------------------------- 2. a conv layer's backward pass by hand
def correlate(images: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """What a conv layer computes (stride 1, no padding): out[n, f, h, w] = sum over c, i, j of
    images[n, c, h + i, w + j] * filters[f, c, i, j]. One kernel offset (i, j) at a time."""
    n, _, height, width = images.shape
    k = filters.shape[2]
    out = np.zeros((n, filters.shape[0], height - k + 1, width - k + 1))
    for i in range(k):
        for j in range(k):
            patch = images[:, :, i : i + out.shape[2], j : j + out.shape[3]]  # the pixels offset (i, j) meets
            out += np.einsum("nchw,fc->nfhw", patch, filters[:, :, i, j])
    return out


def pad(images: np.ndarray, p: int) -> np.ndarray:
    return np.pad(images, ((0, 0), (0, 0), (p, p), (p, p)))


def conv_backward(x: np.ndarray, w: np.ndarray, g: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dL/dx, dL/dw, dL/db of out = correlate(pad(x, p), w) + b, from the upstream gradient g = dL/dout."""
    k, xp = w.shape[2], pad(x, p)
    dw = np.zeros_like(w)
    for i in range(k):  # each weight met one input pixel per output position: sum upstream * that pixel
        for j in range(k):
            dw[:, :, i, j] = np.einsum("nfhw,nchw->fc", g, xp[:, :, i : i + g.shape[2], j : j + g.shape[3]])
    flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C, F, K, K): the kernel turned round, F as channels
    # the full correlation of the upstream with the flipped kernel: padded by k - 1, each input pixel meets every
    # output it fed (p less, as those k - 1 include the padding's rows, which are not the input's)
    dx = correlate(pad(g, k - 1 - p), flipped)
    db = g.sum(axis=(0, 2, 3))  # each bias was added at every position of every image
    return dx, dw, db


batch, labels = images_test[:8], y_test[:8]
model.zero_grad()  # fit leaves its last step's gradients in .grad, and backward adds to them
with train.mode(model, False):  # eval: dropout off, BatchNorm's running statistics
    h = Value(batch)  # requires a gradient: dL/dx of the first conv layer is the input's
    convs = []
    for layer in model:
        inp, h = h, layer(h)
        if isinstance(layer, nn.Conv2d):
            convs.append((layer, inp, h))
    F.cross_entropy(h, labels).backward()
rows = []
for layer, inp, out in convs:
    p = layer.padding[0]
    dx, dw, db = conv_backward(inp.data, layer.w.data, out.grad, p)
    forward = correlate(pad(inp.data, p), layer.w.data) + layer.b.data.reshape(1, -1, 1, 1)
    differences = [forward - out.data, dw - layer.w.grad, dx - inp.grad, db - layer.b.grad]
    name = f"{layer.in_channels} -> {layer.out_channels} channels, 3x3, padding {p}"
    rows.append([name, *(f"{np.abs(d).max():.1e}" for d in differences)])
print(
    f"\na conv layer by hand in numpy against the engine, on a batch of {len(batch)} held-out digits: max |difference|"
)
print(table(["layer", "output", "dL/dw", "dL/dx", "dL/db"], rows))
largest = max(np.abs(g).max() for layer, inp, _ in convs for g in (layer.w.grad, inp.grad, layer.b.grad))
print(f"(the gradients themselves reach {largest:.1e}: the hand-written formulas agree to rounding)")

# ---------------------------------------------------------------- 3. the first layer's filters, and what they see
if plt:
    digit = images_test[:1]
    with no_grad():
        maps = [model[0](Value(d)).data[0] for d in (digit, moved(digit, 0, 1))]
    filters = model[0].w.data[:, 0]
    fig = plt.figure(figsize=(15, 4.6), layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=[1, 2.4])
    ax = fig.add_subplot(grid[0])
    names, at = list(summary), np.arange(2)
    for shift, column, label in [(-0.2, 1, "as drawn"), (0.2, 2, "moved one pixel")]:
        bars = ax.bar(at + shift, [summary[n][column] for n in names], 0.4, label=label)
        ax.bar_label(bars, fmt="{:.1%}")
    ax.set(xticks=at, xticklabels=[f"{n}\n{count(models[n])} parameters" for n in names], ylim=(0, 1.22),
           ylabel=f"accuracy (mean of {seeds} seeds)", title="held-out digits")  # fmt: skip
    ax.legend(loc="upper center", ncols=2)
    cells = grid[1].subgridspec(3, 9)
    scale = np.abs(filters).max()
    for row, (title, image) in enumerate([("filters", None), (f"a {y_test[0]}", digit[0, 0]),
                                          ("moved 1 right", moved(digit, 0, 1)[0, 0])]):  # fmt: skip
        sub = fig.add_subplot(cells[row, 0])
        sub.axis("off")
        sub.set_title(title, fontsize=9)
        if image is not None:
            sub.imshow(image, cmap="gray_r")
        for f in range(len(filters)):
            sub = fig.add_subplot(cells[row, f + 1])
            sub.axis("off")
            if row == 0:  # white is 0, red positive, blue negative
                sub.imshow(filters[f], cmap="RdBu_r", vmin=-scale, vmax=scale)
                sub.set_title(f"filter {f + 1}", fontsize=8)
            else:  # one colour scale per filter, so that its two maps compare
                sub.imshow(maps[row - 1][f], vmin=min(m[f].min() for m in maps), vmax=max(m[f].max() for m in maps))
    fig.suptitle(
        "a small CNN on 8x8 digits: the first layer's 3x3 filters and their feature maps, which move with the digit"
    )
    save(plt, fig, args.out, "cnn_digits.png")
