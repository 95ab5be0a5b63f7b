"""Speed, measured side by side: ``python bench/run.py [--quick] [--repeat N]``.

Every workload runs on our engine and on its peers in the same process, interleaved
(ours, peer, ours, peer, ...), single-threaded, from the same initial weights. The table
gives the median time of each and the ratio ours / peer (below 1: we are faster), and
checks that both reached the same final loss. A peer that is not installed is reported
as skipped (install them with ``pip install -e ".[bench]"``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy starts its thread pools

import argparse  # noqa: E402
import functools  # noqa: E402
import gc  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import numpy as np  # noqa: E402
from bare import Bare, BareMLP  # noqa: E402  (bench/ is on the path when this script runs)

from tinygrad_edu import Value, compile, data, functional, losses, nn  # noqa: E402


def _optional(name: str):
    try:
        return __import__(name)
    except ImportError:
        return None


torch = _optional("torch")
micrograd = _optional("micrograd.nn")
if torch is not None:
    torch.set_num_threads(1)
jax = _optional("jax")
if jax is not None:
    jax.config.update("jax_enable_x64", True)  # float64, as every other engine here
    jax.config.update("jax_platforms", "cpu")
autograd = _optional("autograd")
mygrad = _optional("mygrad")


@dataclass
class Row:
    workload: str
    peer: str
    ours: list[float] = field(default_factory=list)
    theirs: list[float] = field(default_factory=list)
    loss_ours: float = float("nan")
    loss_theirs: float = float("nan")
    note: str = ""
    mode: str = "eager"  # ours: the eager engine or compile()
    trace: list[float] = field(default_factory=list)  # compile's first call (trace and write the code), seconds


# ---------------------------------------------------------------- the same training code for scalar engines


def eagerly(loss_fn: Callable) -> Callable:
    """A training step the eager way: build the graph, then backward()."""

    def step(*args):
        loss = loss_fn(*args)
        loss.backward()
        return loss

    return step


def scalar_moons(value_cls, model, params, X, y, steps: int, make_step: Callable = eagerly) -> float:
    """micrograd's demo: hinge loss + 1e-4 L2, full-batch SGD with a decaying learning rate."""

    def loss_fn():
        inputs = [list(map(value_cls, row)) for row in X]
        scores = list(map(model, inputs))
        data_loss = sum((1 + -yi * si).relu() for yi, si in zip(y, scores)) * (1.0 / len(scores))
        reg = 1e-4 * sum(p * p for p in params)
        return data_loss + reg

    step, total = make_step(loss_fn), None
    for k in range(steps):
        for p in params:
            p.grad = 0.0
        total = step()
        lr = 1.0 - 0.9 * k / 100
        for p in params:
            p.data -= lr * p.grad
    return total.data


def scalar_xor(value_cls, model, params, X, y, steps: int, make_step: Callable = eagerly) -> float:
    """MSE, SGD lr 0.1, full batch of the four points."""

    def loss_fn():
        scores = [model(list(map(value_cls, row))) for row in X]
        return sum((s - yi) ** 2 for s, yi in zip(scores, y)) * (1.0 / len(scores))

    step, loss = make_step(loss_fn), None
    for _ in range(steps):
        for p in params:
            p.grad = 0.0
        loss = step()
        for p in params:
            p.data -= 0.1 * p.grad
    return loss.data


def _ours_scalar(sizes, seed):
    model = nn.MLP(sizes[0], sizes[1:], activation="relu", granularity="scalar", seed=seed)
    return model, model.parameters()


def _micrograd_scalar(ours_params, sizes):
    from micrograd.nn import MLP

    model = MLP(sizes[0], sizes[1:])
    params = model.parameters()
    for mine, theirs in zip(ours_params, params):
        theirs.data = float(mine.data)
    return model, params


# ---------------------------------------------------------------- tensor engines: ours, PyTorch, numpy by hand


def _weights(sizes, seed):
    model = nn.MLP(sizes[0], sizes[1:], activation="relu", seed=seed)
    return [np.array(p.data) for p in model.parameters()]


def _mlp(params):
    """The MLP's forward pass, the same code for either engine: x @ W + b, ReLU between layers."""

    def forward(x):
        for i in range(0, len(params), 2):
            x = x @ params[i] + params[i + 1]
            if i + 2 < len(params):
                x = x.relu()
        return x

    return forward, params


def _ours_train(loss_fn, params, lrs, batches=((),), make_step=eagerly):
    """SGD with our engine: zero the gradients, a step (eager or compiled), update; over lrs x batches."""
    step, loss = make_step(loss_fn), None
    for lr in lrs:
        for args in batches:
            for p in params:
                p.zero_grad()
            loss = step(*args)
            for p in params:
                p.data -= lr * p.grad
    return loss.item()


def _torch_train(loss_fn, params, lrs, batches=((),)):
    loss = None
    for lr in lrs:
        for args in batches:
            for p in params:
                p.grad = None
            loss = loss_fn(*args)
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
    return loss.item()


@dataclass(frozen=True)
class TensorEngine:
    """What differs between our engine and PyTorch in the tensor workloads; their training code is shared."""

    params: Callable  # the weights (numpy arrays) as trainable tensors
    const: Callable  # a numpy array as a constant tensor, made once before the loop
    train: Callable  # train(loss_fn, params, lrs, batches=((),)): SGD, a step per lr and batch


OURS = TensorEngine(lambda ws: [Value(w) for w in ws], lambda a: Value(a, requires_grad=False), _ours_train)
TORCH = None
if torch is not None:
    TORCH = TensorEngine(
        lambda ws: [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in ws], torch.tensor, _torch_train
    )


def compiled(record: list) -> TensorEngine:
    """Our engine with compile(): the same training code; each compiled step is noted in ``record``."""

    def make_step(loss_fn):
        record.append(compile(loss_fn))
        return record[-1]

    return TensorEngine(OURS.params, OURS.const,
                        lambda loss_fn, params, lrs, batches=((),): _ours_train(loss_fn, params, lrs, batches,
                                                                                make_step))  # fmt: skip


def tensor_moons(engine: TensorEngine, weights, X, y, steps):
    forward, params = _mlp(engine.params(weights))
    Xc, yc = engine.const(X), engine.const(y.reshape(-1, 1))

    def loss_fn():
        return (1.0 - yc * forward(Xc)).relu().mean() + 1e-4 * sum((p * p).sum() for p in params)

    return engine.train(loss_fn, params, [1.0 - 0.9 * k / 100 for k in range(steps)])


def tensor_xor(engine: TensorEngine, weights, X, y, steps):
    forward, params = _mlp(engine.params(weights))
    Xc, yc = engine.const(X), engine.const(y.reshape(-1, 1))
    return engine.train(lambda: ((forward(Xc) - yc) ** 2).mean(), params, [0.1] * steps)


def moons_numpy(weights, X, y, steps):
    """The floor for tensor moons: forward and backward by hand (hinge loss, ReLU, L2 on every parameter)."""
    W1, b1, W2, b2, W3, b3 = (w.copy() for w in weights)
    t, n, loss = y.reshape(-1, 1), len(y), None
    for k in range(steps):
        h1 = X @ W1 + b1
        a1 = np.maximum(h1, 0.0)
        h2 = a1 @ W2 + b2
        a2 = np.maximum(h2, 0.0)
        z = a2 @ W3 + b3
        margin = 1.0 - t * z
        loss = np.maximum(margin, 0.0).mean() + 1e-4 * sum((w * w).sum() for w in (W1, b1, W2, b2, W3, b3))
        dz = -t * (margin > 0) / n
        dh2 = (dz @ W3.T) * (h2 > 0)
        dh1 = (dh2 @ W2.T) * (h1 > 0)
        lr = 1.0 - 0.9 * k / 100
        W3 -= lr * (a2.T @ dz + 2e-4 * W3)
        b3 -= lr * (dz.sum(axis=0) + 2e-4 * b3)
        W2 -= lr * (a1.T @ dh2 + 2e-4 * W2)
        b2 -= lr * (dh2.sum(axis=0) + 2e-4 * b2)
        W1 -= lr * (X.T @ dh1 + 2e-4 * W1)
        b1 -= lr * (dh1.sum(axis=0) + 2e-4 * b1)
    return float(loss)


def xor_numpy(weights, X, y, steps):
    """The floor for tensor XOR: forward and backward by hand (mean squared error, ReLU)."""
    W1, b1, W2, b2 = (w.copy() for w in weights)
    t, loss = y.reshape(-1, 1), None
    for _ in range(steps):
        h = X @ W1 + b1
        a = np.maximum(h, 0.0)
        d = a @ W2 + b2 - t
        loss = (d * d).mean()
        dz = d * (2.0 / d.size)
        dh = (dz @ W2.T) * (h > 0)
        W2 -= 0.1 * (a.T @ dz)
        b2 -= 0.1 * dz.sum(axis=0)
        W1 -= 0.1 * (X.T @ dh)
        b1 -= 0.1 * dh.sum(axis=0)
    return float(loss)


def _batches(n, epochs, batch, seed=0):
    rng = np.random.default_rng(seed)
    return [order[i : i + batch] for _ in range(epochs) for order in [rng.permutation(n)] for i in range(0, n, batch)]


def digits_ours(weights, X, y, batches, engine: TensorEngine = OURS):
    forward, params = _mlp(engine.params(weights))
    return engine.train(
        lambda xb, yb: losses.cross_entropy(forward(xb), yb), params, [0.1], ((X[idx], y[idx]) for idx in batches)
    )  # fmt: skip  (each batch cut just before its step)


def digits_torch(weights, X, y, batches):
    forward, params = _mlp(TORCH.params(weights))
    Xt, yt = torch.tensor(X), torch.tensor(y)
    return TORCH.train(lambda xb, yb: torch.nn.functional.cross_entropy(forward(xb), yb), params, [0.1],
                       ((Xt[i], yt[i]) for i in map(torch.from_numpy, batches)))  # fmt: skip


# ---------------------------------------------------------------- functional peers: jax (eager and jit), HIPS autograd
# The same networks and losses written once over a numpy-like module; each peer differentiates and steps its way.


def _functional_losses(xnp, relu, log_softmax):
    def forward(params, x):
        for i in range(0, len(params), 2):
            x = x @ params[i] + params[i + 1]
            if i + 2 < len(params):
                x = relu(x)
        return x

    def moons(params, X, y):
        return relu(1.0 - y * forward(params, X)).mean() + 1e-4 * sum((p * p).sum() for p in params)

    def xor(params, X, y):
        return ((forward(params, X) - y) ** 2).mean()

    def digits(params, X, y):
        return -log_softmax(forward(params, X))[xnp.arange(len(y)), y].mean()

    return {"moons": moons, "xor": xor, "digits": digits}


def functional_train(peer: str, workload: str, weights, lrs, batches):
    """SGD with jax (``jax eager`` or ``jax jit``, the whole step jitted) or HIPS ``autograd``."""
    if peer == "autograd":
        import autograd.numpy as anp

        losses_ = _functional_losses(anp, lambda x: anp.maximum(x, 0.0), lambda z: z - _logsumexp(anp, z))
        value_and_grad = autograd.value_and_grad(losses_[workload])
        params = [np.array(w) for w in weights]
    else:
        jnp = jax.numpy
        losses_ = _functional_losses(jnp, jax.nn.relu, jax.nn.log_softmax)
        value_and_grad = jax.value_and_grad(losses_[workload])
        params = [jnp.asarray(w) for w in weights]

    def step(params, lr, X, y):
        loss, grads = value_and_grad(params, X, y)
        return [p - lr * g for p, g in zip(params, grads)], loss

    if peer == "jax jit":  # one jitted step per workload, kept: its compilation is paid once, before the timing
        step = _JITTED.setdefault(workload, jax.jit(step))
    loss = None
    for lr in lrs:
        for X, y in batches:
            params, loss = step(params, lr, X, y)
    return float(loss)


_JITTED: dict = {}


def _logsumexp(xnp, z):
    top = z.max(axis=1, keepdims=True)
    return top + xnp.log(xnp.exp(z - top).sum(axis=1, keepdims=True))


def mygrad_train(workload: str, weights, lrs, batches):
    """SGD with MyGrad's tensors (numpy-backed, eager, like ours)."""
    import mygrad as mg
    from mygrad.nnet.activations import relu
    from mygrad.nnet.losses import softmax_crossentropy

    params = [mg.Tensor(w) for w in weights]

    def forward(x):
        for i in range(0, len(params), 2):
            x = mg.matmul(x, params[i]) + params[i + 1]
            if i + 2 < len(params):
                x = relu(x)
        return x

    loss = None
    for lr in lrs:
        for X, y in batches:
            if workload == "moons":
                loss = relu(1.0 - y * forward(X)).mean() + 1e-4 * sum((p * p).sum() for p in params)
            elif workload == "xor":
                loss = ((forward(X) - y) ** 2).mean()
            else:
                loss = softmax_crossentropy(forward(X), y)
            loss.backward()
            params[:] = [mg.Tensor(p.data - lr * p.grad) for p in params]
    return float(loss.item())


def digits_numpy(weights, X, y, batches):
    """The floor: the same network's forward and backward written out by hand, no autodiff."""
    W1, b1, W2, b2 = (w.copy() for w in weights)
    loss = None
    for idx in batches:
        x, t = X[idx], y[idx]
        h = x @ W1 + b1
        a = np.maximum(h, 0.0)
        z = a @ W2 + b2
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        n = len(t)
        loss = -logp[np.arange(n), t].mean()
        dz = np.exp(logp)
        dz[np.arange(n), t] -= 1.0
        dz /= n
        da = dz @ W2.T
        dh = da * (h > 0)
        W2 -= 0.1 * (a.T @ dz)
        b2 -= 0.1 * dz.sum(axis=0)
        W1 -= 0.1 * (x.T @ dh)
        b1 -= 0.1 * dh.sum(axis=0)
    return float(loss)


# ---------------------------------------------------------------- a CNN on the digits: ours, PyTorch, numpy by hand


def _cnn_weights(seed: int = 0) -> list[np.ndarray]:
    """conv 1->8 3x3, conv 8->16 3x3, linear 64->10, each uniform in +-1/sqrt(fan_in) (PyTorch's default)."""
    rng = np.random.default_rng(seed)
    shapes = [((8, 1, 3, 3), 9), ((8,), 9), ((16, 8, 3, 3), 72), ((16,), 72), ((64, 10), 64), ((10,), 64)]
    return [rng.uniform(-1, 1, shape) / np.sqrt(fan_in) for shape, fan_in in shapes]


def _cnn(conv2d: Callable, max_pool2d: Callable, params):
    """The CNN's forward pass, the same code for either engine: two (conv 3x3 padding 1, ReLU, max-pool 2), then
    the (N, 16, 2, 2) maps flattened (channel first, as PyTorch) into a linear layer to 10 scores."""
    w1, b1, w2, b2, W, b = params

    def forward(x):
        h = max_pool2d(conv2d(x, w1, b1, padding=1).relu(), 2)
        h = max_pool2d(conv2d(h, w2, b2, padding=1).relu(), 2)
        return h.reshape(h.shape[0], -1) @ W + b

    return forward, params


def cnn_ours(weights, X, y, batches, engine: TensorEngine = OURS):
    forward, params = _cnn(functional.conv2d, functional.max_pool2d, engine.params(weights))
    return engine.train(
        lambda xb, yb: losses.cross_entropy(forward(xb), yb), params, [0.1], ((X[idx], y[idx]) for idx in batches)
    )  # fmt: skip


def cnn_torch(weights, X, y, batches):
    F = torch.nn.functional
    forward, params = _cnn(F.conv2d, F.max_pool2d, TORCH.params(weights))
    Xt, yt = torch.tensor(X), torch.tensor(y)
    return TORCH.train(lambda xb, yb: F.cross_entropy(forward(xb), yb), params, [0.1],
                       ((Xt[i], yt[i]) for i in map(torch.from_numpy, batches)))  # fmt: skip


def _im2col(x: np.ndarray) -> np.ndarray:
    """Images (C, H, W, N), batch last, padded by 1: each 3x3 window a column (C 3 3, H W N), as the filters' rows."""
    c, h, w, n = x.shape
    padded = np.zeros((c, h + 2, w + 2, n))
    padded[:, 1:-1, 1:-1] = x
    sc, sh, sw, sn = padded.strides
    windows = np.ndarray((c, 3, 3, h, w, n), buffer=padded, strides=(sc, sh, sw, sh, sw, sn))  # a view
    return windows.reshape(c * 9, -1)


def _col2im(columns: np.ndarray, shape: tuple) -> np.ndarray:
    """The reverse of ``_im2col``: each column's gradient added onto the pixels (C, H, W, N) its window covers."""
    c, h, w, n = shape
    columns = columns.reshape(c, 3, 3, h, w, n)
    padded = np.zeros((c, h + 2, w + 2, n))
    for a in range(3):
        for b in range(3):
            pixels = padded[:, a : a + h, b : b + w]
            pixels += columns[:, a, b]
    return padded[:, 1:-1, 1:-1]


def _pool(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x2 max-pool of (C, H, W, N): the maxima, and a mask (C, H/2, 2, W/2, 2, N) of each window's first maximum."""
    c, h, w, n = a.shape
    windows = a.reshape(c, h // 2, 2, w // 2, 2, n)
    top = np.maximum(np.maximum(windows[:, :, 0, :, 0], windows[:, :, 0, :, 1]),
                     np.maximum(windows[:, :, 1, :, 0], windows[:, :, 1, :, 1]))  # fmt: skip
    mask = windows == top[:, :, None, :, None]
    seen = mask[:, :, 0, :, 0].copy()
    for i, j in ((0, 1), (1, 0), (1, 1)):  # keep each window's first maximum in row-major order
        hit = mask[:, :, i, :, j]
        hit &= ~seen
        seen |= hit
    return top, mask


def _unpool(g: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Max-pool's backward: each window's gradient to its first maximum, back to (C, H, W, N)."""
    c, oh, ow, n = g.shape
    return (mask * g[:, :, None, :, None]).reshape(c, 2 * oh, 2 * ow, n)


def cnn_numpy(weights, X, y, batches):
    """The floor for the CNN: forward and backward by hand, images batch last, convolutions as im2col products."""
    w1, b1, w2, b2, W, b = (w.copy() for w in weights)
    loss = None
    for idx in batches:
        x, t = X[idx].transpose(1, 2, 3, 0), y[idx]  # (1, 8, 8, N)
        n = len(t)
        c1 = _im2col(x)
        h1 = (w1.reshape(8, -1) @ c1 + b1[:, None]).reshape(8, 8, 8, n)
        p1, m1 = _pool(np.maximum(h1, 0.0))
        c2 = _im2col(p1)
        h2 = (w2.reshape(16, -1) @ c2 + b2[:, None]).reshape(16, 4, 4, n)
        p2, m2 = _pool(np.maximum(h2, 0.0))
        flat = p2.reshape(-1, n).T  # (N, 64), flattened channel first, as the engines do
        z = flat @ W + b
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(n), t].mean()
        dz = np.exp(logp)
        dz[np.arange(n), t] -= 1.0
        dz /= n
        dp2 = (dz @ W.T).T.reshape(16, 2, 2, n)
        dh2 = np.where(h2 <= 0, 0.0, _unpool(dp2, m2)).reshape(16, -1)
        dp1 = _col2im(w2.reshape(16, -1).T @ dh2, p1.shape)
        dh1 = np.where(h1 <= 0, 0.0, _unpool(dp1, m1)).reshape(8, -1)
        W -= 0.1 * (flat.T @ dz)
        b -= 0.1 * dz.sum(axis=0)
        w2 -= 0.1 * (dh2 @ c2.T).reshape(w2.shape)
        b2 -= 0.1 * dh2.sum(axis=1)
        w1 -= 0.1 * (dh1 @ c1.T).reshape(w1.shape)
        b1 -= 0.1 * dh1.sum(axis=1)
    return float(loss)


# ---------------------------------------------------------------- an LSTM on the adding problem: ours, PyTorch, numpy


def adding_problem(n: int, steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hochreiter and Schmidhuber's adding problem: each step is (a number in [0, 1], a mark 0 or 1); two steps are
    marked, and the answer is the sum of their numbers. Sequences (n, steps, 2), answers (n, 1)."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, steps, 2))
    x[..., 0] = rng.uniform(size=(n, steps))
    for row in x:
        row[rng.choice(steps, 2, replace=False), 1] = 1.0
    return x, (x[..., 0] * x[..., 1]).sum(axis=1, keepdims=True)


def _lstm_weights(hidden: int = 32, seed: int = 0) -> list[np.ndarray]:
    """w_ih (2, 4H), w_hh (H, 4H), b (4H,) as our nn.LSTM holds them (gates i, f, g, o), then a head H -> 1."""
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(hidden)
    shapes = [(2, 4 * hidden), (hidden, 4 * hidden), (4 * hidden,), (hidden, 1), (1,)]
    return [rng.uniform(-bound, bound, shape) for shape in shapes]


def lstm_ours(weights, X, y, batches, engine: TensorEngine = OURS):
    """Our nn.LSTM (its steps unrolled from tinygrad_edu.recurrent), the last step's state through a linear head."""
    lstm = nn.LSTM(2, weights[1].shape[0], seed=0)
    cell = lstm.cells[0]
    params = engine.params(weights)
    cell.w_ih, cell.w_hh, cell.b, W, b = params

    def loss_fn(xb, yb):
        out, _ = lstm(xb)
        return losses.mse(out[:, -1] @ W + b, yb)

    return engine.train(loss_fn, params, [0.1], ((X[idx], y[idx]) for idx in batches))


def lstm_torch(weights, X, y, batches):
    """PyTorch's nn.LSTM (its own loop in C++) with the same weights, its two biases as our one and zeros."""
    w_ih, w_hh, b, W, c = weights
    lstm = torch.nn.LSTM(2, w_hh.shape[0], batch_first=True).double()
    head = TORCH.params([W, c])
    with torch.no_grad():
        for name, value in [("weight_ih_l0", w_ih.T), ("weight_hh_l0", w_hh.T), ("bias_ih_l0", b)]:
            getattr(lstm, name).copy_(torch.from_numpy(np.ascontiguousarray(value)))
        lstm.bias_hh_l0.zero_()
    lstm.bias_hh_l0.requires_grad_(False)  # our one bias is bias_ih; this one stays zero
    params = [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, *head]
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def loss_fn(xb, yb):
        out, _ = lstm(xb)
        return torch.nn.functional.mse_loss(out[:, -1] @ head[0] + head[1], yb)

    return TORCH.train(loss_fn, params, [0.1], ((Xt[i], yt[i]) for i in map(torch.from_numpy, batches)))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def lstm_numpy(weights, X, y, batches):
    """The floor for the LSTM: forward and backpropagation through time by hand, the gates as one product a step."""
    w_ih, w_hh, b, W, c = (w.copy() for w in weights)
    hidden = w_hh.shape[0]
    loss = None
    for idx in batches:
        x, t = X[idx], y[idx]
        n, steps, _ = x.shape
        xw = x @ w_ih + b
        h, cell = np.zeros((n, hidden)), np.zeros((n, hidden))
        saved = []
        for k in range(steps):
            z = xw[:, k] + h @ w_hh
            gates = _sigmoid(z)
            g = np.tanh(z[:, 2 * hidden : 3 * hidden])
            i, f, o = gates[:, :hidden], gates[:, hidden : 2 * hidden], gates[:, 3 * hidden :]
            saved.append((h, cell, i, f, g, o))
            cell = f * cell + i * g
            tc = np.tanh(cell)
            h = o * tc
        pred = h @ W + c
        loss = np.mean((pred - t) ** 2)
        dpred = 2 * (pred - t) / pred.size
        dW, dc = h.T @ dpred, dpred.sum(axis=0)
        dh, dcell = dpred @ W.T, np.zeros((n, hidden))
        dw_hh, dz_all = np.zeros_like(w_hh), np.empty((n, steps, 4 * hidden))
        for k in reversed(range(steps)):
            h_prev, c_prev, i, f, g, o = saved[k]
            c_now = f * c_prev + i * g
            tc = np.tanh(c_now)
            dcell = dcell + dh * o * (1 - tc * tc)
            dz = dz_all[:, k]
            dz[:, :hidden] = dcell * g * i * (1 - i)
            dz[:, hidden : 2 * hidden] = dcell * c_prev * f * (1 - f)
            dz[:, 2 * hidden : 3 * hidden] = dcell * i * (1 - g * g)
            dz[:, 3 * hidden :] = dh * tc * o * (1 - o)
            dw_hh += h_prev.T @ dz
            dh, dcell = dz @ w_hh.T, dcell * f
        flat = dz_all.reshape(n * steps, -1)
        w_ih -= 0.1 * (x.reshape(n * steps, -1).T @ flat)
        b -= 0.1 * flat.sum(axis=0)
        w_hh -= 0.1 * dw_hh
        W -= 0.1 * dW
        c -= 0.1 * dc
    return float(loss)


# ---------------------------------------------------------------- running side by side


def _timed(fn: Callable[[], float]) -> tuple[float, float]:
    gc.collect()
    start = time.perf_counter()
    loss = fn()
    return time.perf_counter() - start, loss


def side_by_side(row: Row, ours: Callable[[], float], theirs: Callable[[], float] | None, repeat: int,
                 record: list | None = None) -> Row:  # fmt: skip
    """Time ours and theirs in turn, ``repeat`` times; ``record`` collects the compiled steps ours made."""
    for _ in range(repeat):
        if record is not None:
            record.clear()
        t, row.loss_ours = _timed(ours)
        if record:  # compiled: the trace (its first call, eager, included) is reported apart from the rest
            traces = [trace for step in record for kept in step.traces.values() for trace in kept]  # every shape's
            row.trace.append(sum(trace.seconds for trace in traces))  # (digits: batches of 64, and the last one of 5)
            t -= row.trace[-1]
            record.clear()  # a big compiled step kept alive slows the peers that follow (micrograd by ~10%)
        row.ours.append(t)
        if theirs is not None:
            t, row.loss_theirs = _timed(theirs)
            row.theirs.append(t)
    return row


def chain_scaling(sizes: list[int], repeat: int) -> list[tuple[str, int, float, float]]:
    """Build and back-propagate a chain of n ops: seconds (median of ``repeat`` runs) and peak bytes per node."""
    out = []
    for kind in ("scalar", "tensor"):
        for n in sizes:

            def run(n=n, kind=kind) -> float:
                x = Value(0.5) if kind == "scalar" else Value(np.full(4, 0.5))
                y = x
                for i in range(n):
                    y = y * 1.000001 if i % 2 else y + 0.001
                y.backward() if kind == "scalar" else y.sum().backward()
                return float(np.sum(x.grad))

            seconds = statistics.median(_timed(run)[0] for _ in range(repeat))
            tracemalloc.start()
            run()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            out.append((kind, n, seconds / n, peak / n))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (10 moons points), to check that it runs")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each workload and engine (default 3)")
    parser.add_argument("--only", default="12345678", help="the workloads to run, by number (default 12345678: all)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or not args.only or set(args.only) - set("12345678"):
        parser.error(f"--repeat must be at least 1 and --only digits from 1 to 8, got {args.repeat} and {args.only!r}")
    repeat = 1 if args.quick else args.repeat
    s = {"points": 10, "moons": 2, "xor": 5, "epochs": 1, "chain": [1_000, 10_000]} if args.quick else \
        {"points": 100, "moons": 20, "xor": 500, "epochs": 10, "chain": [10_000, 100_000, 1_000_000]}  # fmt: skip

    X, y01 = data.moons(s["points"], 0.1, seed=0)
    y = 2 * y01 - 1
    Xx, yx = data.xor()
    Xd, yd = data.digits()
    Xd = Xd / 16.0
    batches = _batches(len(yd), s["epochs"], 64)
    Xi = np.ascontiguousarray(Xd.reshape(-1, 1, 8, 8))  # the CNN's images (N, 1, 8, 8)
    cnn_batches = _batches(len(yd), 5, 32)[: 3 if args.quick else None]  # 5 epochs of 32 (--quick: 3 batches)
    Xa, ya = adding_problem(512, 10)  # the LSTM's sequences: 512 of 10 steps, 5 epochs of 32
    lstm_batches = _batches(len(ya), 5, 32)[: 3 if args.quick else None]
    rows = []
    # Everything imported so far (PyTorch is large) is moved out of the garbage collector's sight,
    # so that its size does not slow the collections that graph building triggers, for every engine.
    gc.collect()
    gc.freeze()

    sizes_moons, sizes_xor = [2, 16, 16, 1], [2, 4, 1]
    record: list = []  # the compiled steps of the latest run

    def make_step(loss_fn):
        record.append(compile(loss_fn))
        return record[-1]

    for name, sizes, fn, (Xw, yw, steps) in [
        ("1 scalar moons 2-16-16-1", sizes_moons, scalar_moons, (X.tolist(), y.tolist(), s["moons"])),
        ("2 scalar XOR 2-4-1", sizes_xor, scalar_xor, (Xx.tolist(), yx.tolist(), s["xor"])),
    ]:
        if name[0] not in args.only:
            continue

        def ours(sizes=sizes, fn=fn, Xw=Xw, yw=yw, steps=steps):
            model, params = _ours_scalar(sizes, 0)
            return fn(Value, model, params, Xw, yw, steps)

        theirs = None
        if micrograd is not None:
            from micrograd.engine import Value as MValue

            def theirs(sizes=sizes, fn=fn, Xw=Xw, yw=yw, steps=steps):
                model, params = _micrograd_scalar(_ours_scalar(sizes, 0)[1], sizes)
                return fn(MValue, model, params, Xw, yw, steps)

        rows.append(side_by_side(Row(name, "micrograd"), ours, theirs, repeat))

        def bare(sizes=sizes, fn=fn, Xw=Xw, yw=yw, steps=steps):
            model = BareMLP(_ours_scalar(sizes, 0)[1], sizes)
            return fn(Bare, model, model.parameters(), Xw, yw, steps)

        rows.append(side_by_side(Row(name, "bare engine"), ours, bare, repeat))

        def ours_compiled(sizes=sizes, fn=fn, Xw=Xw, yw=yw, steps=steps):
            model, params = _ours_scalar(sizes, 0)
            return fn(Value, model, params, Xw, yw, steps, make_step)

        for peer, theirs_fn in [("micrograd", theirs), ("ours eager", ours), ("bare engine", bare)]:
            rows.append(side_by_side(Row(name, peer, mode="compiled"), ours_compiled, theirs_fn, repeat, record))

    w_moons, w_xor, w_digits = _weights(sizes_moons, 0), _weights(sizes_xor, 0), _weights([64, 128, 10], 0)
    has_torch = torch is not None
    for name, ours, theirs in [
        ("3 tensor moons 2-16-16-1", lambda: tensor_moons(OURS, w_moons, X, y, s["moons"]),
         lambda: tensor_moons(TORCH, w_moons, X, y, s["moons"])),
        ("4 tensor XOR 2-4-1", lambda: tensor_xor(OURS, w_xor, Xx, yx, s["xor"]),
         lambda: tensor_xor(TORCH, w_xor, Xx, yx, s["xor"])),
        ("5 digits 64-128-10", lambda: digits_ours(w_digits, Xd, yd, batches),
         lambda: digits_torch(w_digits, Xd, yd, batches)),
    ]:  # fmt: skip
        if name[0] in args.only:
            rows.append(side_by_side(Row(name, "pytorch"), ours, theirs if has_torch else None, repeat))
    workloads = {  # name: (workload, weights, learning rates, batches): the same runs for the functional peers
        "3": ("moons", w_moons, [1.0 - 0.9 * k / 100 for k in range(s["moons"])], [(X, y.reshape(-1, 1))]),
        "4": ("xor", w_xor, [0.1] * s["xor"], [(Xx, yx.reshape(-1, 1))]),
        "5": ("digits", w_digits, [0.1], [(Xd[idx], yd[idx]) for idx in batches]),
    }
    ours_runs = {
        "3": (lambda: tensor_moons(OURS, w_moons, X, y, s["moons"]), "3 tensor moons 2-16-16-1"),
        "4": (lambda: tensor_xor(OURS, w_xor, Xx, yx, s["xor"]), "4 tensor XOR 2-4-1"),
        "5": (lambda: digits_ours(w_digits, Xd, yd, batches), "5 digits 64-128-10"),
    }
    for number, (workload, weights, lrs, data_batches) in workloads.items():
        if number not in args.only:
            continue
        ours, name = ours_runs[number]
        for peer, installed in [("jax eager", jax), ("autograd", autograd), ("mygrad", mygrad)]:
            train = mygrad_train if peer == "mygrad" else functools.partial(functional_train, peer)
            theirs = installed and functools.partial(train, workload, weights, lrs, data_batches)
            rows.append(side_by_side(Row(name, peer), ours, theirs or None, repeat))
    if "5" in args.only:
        rows.append(side_by_side(Row("5 digits 64-128-10", "numpy by hand"),
                                 lambda: digits_ours(w_digits, Xd, yd, batches),
                                 lambda: digits_numpy(w_digits, Xd, yd, batches), repeat))  # fmt: skip
    w_cnn, cnn = _cnn_weights(0), "7 CNN on digits"
    if "7" in args.only:
        for peer, theirs in [("pytorch", has_torch and (lambda: cnn_torch(w_cnn, Xi, yd, cnn_batches))),
                             ("numpy by hand", lambda: cnn_numpy(w_cnn, Xi, yd, cnn_batches))]:  # fmt: skip
            rows.append(
                side_by_side(Row(cnn, peer), lambda: cnn_ours(w_cnn, Xi, yd, cnn_batches), theirs or None, repeat)
            )
    w_lstm, lstm = _lstm_weights(), "8 LSTM adding, 10 steps"
    if "8" in args.only:
        for peer, theirs in [("pytorch", has_torch and (lambda: lstm_torch(w_lstm, Xa, ya, lstm_batches))),
                             ("numpy by hand", lambda: lstm_numpy(w_lstm, Xa, ya, lstm_batches))]:  # fmt: skip
            rows.append(
                side_by_side(Row(lstm, peer), lambda: lstm_ours(w_lstm, Xa, ya, lstm_batches), theirs or None, repeat)
            )
    fast = compiled(record)
    jitted = {number: jax and functools.partial(functional_train, "jax jit", *run) for number, run in workloads.items()}
    for number, (workload, weights, _, data_batches) in workloads.items():  # compile jax's steps, untimed, as
        if jax and number in args.only:  # compile()'s trace is reported apart: every batch shape once
            functional_train("jax jit", workload, weights, [0.1], [data_batches[0], data_batches[-1]])
    for name, ours, peers in [
        ("3 tensor moons 2-16-16-1", lambda: tensor_moons(fast, w_moons, X, y, s["moons"]),
         [("numpy by hand", lambda: moons_numpy(w_moons, X, y, s["moons"])),
          ("pytorch", has_torch and (lambda: tensor_moons(TORCH, w_moons, X, y, s["moons"]))), ("jax jit", jitted["3"]),
          ("ours eager", lambda: tensor_moons(OURS, w_moons, X, y, s["moons"]))]),
        ("4 tensor XOR 2-4-1", lambda: tensor_xor(fast, w_xor, Xx, yx, s["xor"]),
         [("numpy by hand", lambda: xor_numpy(w_xor, Xx, yx, s["xor"])),
          ("pytorch", has_torch and (lambda: tensor_xor(TORCH, w_xor, Xx, yx, s["xor"]))), ("jax jit", jitted["4"]),
          ("ours eager", lambda: tensor_xor(OURS, w_xor, Xx, yx, s["xor"]))]),
        ("5 digits 64-128-10", lambda: digits_ours(w_digits, Xd, yd, batches, fast),
         [("numpy by hand", lambda: digits_numpy(w_digits, Xd, yd, batches)),
          ("pytorch", has_torch and (lambda: digits_torch(w_digits, Xd, yd, batches))), ("jax jit", jitted["5"]),
          ("ours eager", lambda: digits_ours(w_digits, Xd, yd, batches))]),
        (cnn, lambda: cnn_ours(w_cnn, Xi, yd, cnn_batches, fast),
         [("numpy by hand", lambda: cnn_numpy(w_cnn, Xi, yd, cnn_batches)),
          ("pytorch", has_torch and (lambda: cnn_torch(w_cnn, Xi, yd, cnn_batches))),
          ("ours eager", lambda: cnn_ours(w_cnn, Xi, yd, cnn_batches))]),
        (lstm, lambda: lstm_ours(w_lstm, Xa, ya, lstm_batches, fast),
         [("numpy by hand", lambda: lstm_numpy(w_lstm, Xa, ya, lstm_batches)),
          ("pytorch", has_torch and (lambda: lstm_torch(w_lstm, Xa, ya, lstm_batches))),
          ("ours eager", lambda: lstm_ours(w_lstm, Xa, ya, lstm_batches))]),
    ]:  # fmt: skip
        if name[0] in args.only:
            for peer, theirs in peers:
                rows.append(side_by_side(Row(name, peer, mode="compiled"), ours, theirs or None, repeat, record))

    print(f"tinygrad_edu bench on {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, numpy {np.__version__}"
          + (f", torch {torch.__version__}" if has_torch else "") + f"; median of {repeat} runs\n")  # fmt: skip
    header = (f"{'workload':<26} {'ours':<9} {'peer':<14} {'ours s':>9} {'peer s':>9} {'ours/peer':>10} "
              f"{'speedup':>8} {'trace s':>8}  same loss")  # fmt: skip
    print(header)
    print("-" * len(header))
    footnotes = ["compiled: 'ours s' leaves out the traces (each shape's first call, run eagerly, recorded and written "
                 "out as code), which 'trace s' gives"]  # fmt: skip
    differ = 0  # rows whose engines reached different losses: the run fails
    for r in sorted(rows, key=lambda r: (r.workload[0], r.mode != "eager")):
        mine = statistics.median(r.ours)
        trace = f"{statistics.median(r.trace):>8.4f}" if r.trace else f"{'':>8}"
        if not r.theirs:
            print(f"{r.workload:<26} {r.mode:<9} {r.peer:<14} {mine:>9.4f} {'skipped: not installed':>29}")
            continue
        peer = statistics.median(r.theirs)
        rel = abs(r.loss_ours - r.loss_theirs) / max(abs(r.loss_theirs), 1e-300)
        tolerance = 1e-9 if r.peer == "ours eager" else 1e-6  # compiled and eager: the same arithmetic
        same = f"yes ({rel:.1e})" if rel <= tolerance else f"NO: {r.loss_ours:.6g} vs {r.loss_theirs:.6g}"
        differ += rel > tolerance
        ratios = f"{mine / peer:>10.3f} {peer / mine:>7.1f}x"
        print(f"{r.workload:<26} {r.mode:<9} {r.peer:<14} {mine:>9.4f} {peer:>9.4f} {ratios} {trace}  {same}")
    print("\n".join(footnotes))

    if "6" in args.only:
        print(f"\n{'6 chain of n ops':<26} {'n':>9} {'µs/node':>9} {'bytes/node':>11}")
        for kind, n, sec, mem in chain_scaling(s["chain"], repeat):
            print(f"  {kind:<24} {n:>9,} {sec * 1e6:>9.2f} {mem:>11.0f}")
    if differ:
        print(f"{differ} row(s) reached a different loss than their peer (NO in 'same loss')", file=sys.stderr)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
