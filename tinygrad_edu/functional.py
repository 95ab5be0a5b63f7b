"""Every operation as a plain function: ``F.relu(x)`` is ``x.relu()``.

Numbers and arrays are accepted wherever a Value is (they become constants), so
``F.tanh(0.5)`` works and returns a Value.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from tinygrad_edu import arguments, modes, ops
from tinygrad_edu.engine import Value, apply, as_value, where
from tinygrad_edu.follow import check, numbers_of

__all__ = [
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "pow",
    "matmul",
    "exp",
    "log",
    "log2",
    "log10",
    "norm",
    "sqrt",
    "sin",
    "cos",
    "abs",
    "tanh",
    "sigmoid",
    "relu",
    "leaky_relu",
    "softplus",
    "gelu",
    "erf",
    "step",
    "clip",
    "maximum",
    "minimum",
    "sum",
    "mean",
    "max",
    "min",
    "var",
    "std",
    "softmax",
    "log_softmax",
    "reshape",
    "transpose",
    "index",
    "cat",
    "stack",
    "cross_entropy",
    "bce",
    "broadcast_to",
    "where",
    "scatter",
    "batch_norm",
    "layer_norm",
    "pad",
    "flatten",
    "dropout",
    "embedding",
    "conv1d",
    "conv2d",
    "conv_transpose2d",
    "conv2d_weight",
    "max_pool2d",
    "avg_pool2d",
]


def add(a, b) -> Value:
    return as_value(a) + b


def sub(a, b) -> Value:
    return as_value(a) - b


def mul(a, b) -> Value:
    return as_value(a) * b


def div(a, b) -> Value:
    return as_value(a) / b


def neg(x) -> Value:
    return -as_value(x)


def pow(x, y) -> Value:
    """x ** y; y a number (power rule) or a Value (then x must be >= 0)."""
    return as_value(x) ** y


def matmul(a, b) -> Value:
    return as_value(a) @ b


def exp(x) -> Value:
    return as_value(x).exp()


def log(x) -> Value:
    return as_value(x).log()


def log2(x) -> Value:
    return as_value(x).log2()


def norm(x) -> Value:
    """The 2-norm of all the elements, sqrt(sum(x**2)); its gradient is x / norm (0 at x = 0, as PyTorch's)."""
    return as_value(x).norm()


def log10(x) -> Value:
    return as_value(x).log10()


def sqrt(x) -> Value:
    return as_value(x).sqrt()


def sin(x) -> Value:
    """sin x, whose derivatives cycle: cos x, -sin x, -cos x, sin x (the classic higher-order example)."""
    return as_value(x).sin()


def cos(x) -> Value:
    return as_value(x).cos()


def abs(x) -> Value:
    return as_value(x).abs()


def tanh(x) -> Value:
    """tanh(x), output in (-1, 1), zero-centred; gradient at most 1, vanishing for large |x|."""
    return as_value(x).tanh()


def sigmoid(x) -> Value:
    """1 / (1 + e^-x), output in (0, 1); gradient at most 1/4, vanishing for large |x|."""
    return as_value(x).sigmoid()


def relu(x) -> Value:
    """max(x, 0): gradient 1 for x > 0, so it does not vanish; 0 for x < 0, so a unit can die."""
    return as_value(x).relu()


def leaky_relu(x, alpha: float = 0.01) -> Value:
    """max(alpha*x, x): like ReLU, but a small gradient alpha below 0 keeps units alive."""
    return as_value(x).leaky_relu(alpha)


def softplus(x, beta: float = 1.0, threshold: float = math.inf) -> Value:
    """ln(1 + e^(beta x)) / beta: a smooth ReLU whose derivative is sigmoid(beta x); x itself where
    beta x > threshold (PyTorch's F.softplus has threshold=20; here none unless given)."""
    beta = arguments.real("softplus beta", beta)
    if beta == 0:
        raise ValueError("softplus beta must be nonzero (it divides the result), got 0.0")
    threshold = arguments.real("softplus threshold", threshold, finite=False)
    if beta == 1.0 and threshold == math.inf:
        return as_value(x).softplus()
    return apply(ops.Softplus, x, beta=beta, threshold=threshold)


def gelu(x, approximate: str = "none") -> Value:
    """x * Phi(x), Phi the normal distribution's CDF: a smooth ReLU used in transformers. Exact by default
    (with erf, as PyTorch's default); ``approximate="tanh"`` is the tanh approximation."""
    return as_value(x).gelu(approximate)


def erf(x) -> Value:
    """The error function, 2/sqrt(pi) times the integral of e^(-t^2) from 0 to x; GELU is built on it."""
    return apply(ops.Erf, x)


def step(x) -> Value:
    """Heaviside step: 0/1 output, zero gradient: the perceptron's unit, untrainable by backprop."""
    return as_value(x).step()


def clip(x, lo: float | None = None, hi: float | None = None) -> Value:
    return as_value(x).clip(lo, hi)


def maximum(a, b) -> Value:
    """The larger of a and b, element by element (broadcast); at a tie each gets half the gradient."""
    return as_value(a).maximum(b)


def minimum(a, b) -> Value:
    """The smaller of a and b, element by element (broadcast); at a tie each gets half the gradient."""
    return as_value(a).minimum(b)


def sum(x, axis=None, keepdims: bool = False) -> Value:
    return as_value(x).sum(axis, keepdims)


def mean(x, axis=None, keepdims: bool = False) -> Value:
    return as_value(x).mean(axis, keepdims)


def max(x, axis=None, keepdims: bool = False) -> Value:
    return as_value(x).max(axis, keepdims)


def min(x, axis=None, keepdims: bool = False) -> Value:
    return as_value(x).min(axis, keepdims)


def var(x, axis=None, keepdims: bool = False, correction: float = 1) -> Value:
    """The variance over axis: the mean squared distance from the mean, with n - correction as the divisor."""
    return as_value(x).var(axis, keepdims, correction=correction)


def std(x, axis=None, keepdims: bool = False, correction: float = 1) -> Value:
    return as_value(x).std(axis, keepdims, correction=correction)


def softmax(x, axis: int = -1) -> Value:
    return as_value(x).softmax(axis)


def log_softmax(x, axis: int = -1) -> Value:
    return as_value(x).log_softmax(axis)


def reshape(x, *shape) -> Value:
    return as_value(x).reshape(*shape)


def transpose(x, *axes) -> Value:
    return as_value(x).transpose(*axes)


def index(x, idx) -> Value:
    """x[idx]."""
    return as_value(x)[idx]


def cat(values, axis: int = 0) -> Value:
    """The Values joined end to end along an existing ``axis`` (PyTorch's ``torch.cat``, numpy's concatenate);
    their other axes must match. Each join is a node, so the gradient is cut back into the pieces."""
    vs = _values("cat", values)
    first = vs[0]
    if first.ndim == 0:
        raise ValueError("cat joins along an existing axis, but input 0 is a scalar (shape ()); stack adds an axis")
    axis = arguments.axis("cat", axis, first.shape)
    for i, v in enumerate(vs[1:], 1):
        if v.ndim != first.ndim or _without(v.shape, axis) != _without(first.shape, axis):
            raise ValueError(
                f"cat along axis {axis}: the shapes must match on every other axis, but input 0 has shape "
                f"{first.shape} and input {i} has {v.shape}"
            )
    out = first
    for v in vs[1:]:
        out = apply(ops.Concat, out, v, axis=axis)
    return out


def stack(values, axis: int = 0) -> Value:
    """Values of one shape, piled along a new ``axis`` (PyTorch's ``torch.stack``): each gets a new axis of
    length 1 (a reshape), then they are joined with ``cat``."""
    vs = _values("stack", values)
    for i, v in enumerate(vs[1:], 1):
        if v.shape != vs[0].shape:
            raise ValueError(
                f"stack needs Values of one shape, but input 0 has shape {vs[0].shape} and input {i} {v.shape}"
            )
    axis = arguments.axis("stack", axis, vs[0].shape + (1,))  # the new axis may also come last
    return cat([v.reshape(v.shape[:axis] + (1,) + v.shape[axis:]) for v in vs], axis)


def _values(what: str, values) -> list[Value]:
    """The Values a cat or stack joins: a list or tuple of at least one (numbers become constants)."""
    if isinstance(values, Value) or not isinstance(values, (list, tuple)):
        raise TypeError(f"{what} takes a list or tuple of Values, got {type(values).__name__}")
    if not values:
        raise ValueError(f"{what} needs at least one Value, got an empty {type(values).__name__}")
    return [as_value(v) for v in values]


def _without(shape: tuple, axis: int) -> tuple:
    """The shape with one axis left out."""
    return shape[:axis] + shape[axis + 1 :]


def broadcast_to(x, *shape) -> Value:
    """x repeated along new or size-1 axes (numpy's broadcast_to); its gradient sums the copies."""
    return as_value(x).broadcast_to(*shape)


def scatter(x, shape: tuple, idx) -> Value:
    """Zeros of ``shape`` with x added at ``idx`` (PyTorch's index_put with accumulate=True): the backward
    of indexing, ``x == F.index(F.scatter(x, shape, idx), idx)`` when idx picks each element once."""
    x = as_value(x)
    shape = tuple(arguments.integer("scatter size", n, low=0) for n in np.atleast_1d(shape))
    try:
        picked = np.empty(shape)[idx].shape
    except IndexError as e:
        raise IndexError(f"scatter: index {idx!r} does not fit shape {shape}: {e}") from None
    if picked != x.shape:
        raise ValueError(f"scatter: index {idx!r} picks shape {picked} out of {shape}, but x has shape {x.shape}")
    return apply(ops.Scatter, x, shape=shape, index=idx)


def cross_entropy(logits: Value, labels) -> Value:
    """Softmax cross-entropy: -mean(log softmax(logits)[i, label_i]), from raw scores and integer labels.

    Stable for any logits (log_softmax subtracts the row maximum); d/dlogits = (softmax - onehot) / n.
    """
    y = class_labels("cross_entropy", logits, labels)
    return apply(ops.CrossEntropy, logits, labels=y)


def class_labels(name: str, scores: Value, labels, what: str = "logits") -> np.ndarray:
    """``labels`` checked as one class index per row of ``scores`` (shape (classes,) or (batch, classes)): whole
    numbers in 0 .. classes - 1, as int64. ``name`` is the loss asking, named in the errors."""
    if not isinstance(scores, Value) or scores.ndim not in (1, 2):
        shape = scores.shape if isinstance(scores, Value) else type(scores).__name__
        raise TypeError(f"{name} needs a Value of {what}, shape (classes,) or (batch, classes), got {shape}")
    y = numbers_of(labels)  # a Value gives its data
    if y.dtype.kind not in "iuf":
        raise ValueError(f"{name} needs integer class labels, got {y.dtype} values")
    check(functools.partial(_whole_numbers, name), y)
    y = numbers_of(y, np.int64)
    batch = () if scores.ndim == 1 else (scores.shape[0],)
    if y.shape != batch:
        raise ValueError(f"{name}: {what} of shape {scores.shape} need labels of shape {batch}, got {y.shape}")
    if np.size(scores.numbers) == 0:
        raise ValueError(f"{name}: {what} of shape {scores.shape} hold no elements: the mean of nothing")
    check(functools.partial(_classes, name, scores.shape[-1]), y)
    return y


def bce(p, target) -> Value:
    """Binary cross-entropy of each probability p against its target t, element by element (PyTorch's
    ``binary_cross_entropy`` with reduction="none"): -(t log p + (1 - t) log(1 - p)), each log clamped at -100.

    Nothing is checked here (p outside [0, 1] gives nan, as log does): ``losses.bce`` checks both and averages.
    """
    p, t = as_value(p), as_value(target)
    return apply(ops.BinaryCrossEntropy, p, t, needs=(p.requires_grad, t.requires_grad))


def _whole_numbers(name: str, y: np.ndarray) -> None:
    """Labels name classes: 3.0 is class 3, 2.5 is no class."""
    if y.dtype.kind == "f" and not np.all(y == np.round(y)):
        raise ValueError(f"{name} needs integer class labels, got {y.dtype} values")


def _classes(name: str, classes: int, y: np.ndarray) -> None:
    """Each label is one of the classes 0 .. classes - 1 (a negative one would index from the end)."""
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"{name}: labels must be in 0..{classes - 1}, got {y.min()}..{y.max()}")


# ---------------------------------------------------------------- normalisation, dropout, embedding


def batch_norm(
    x,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Value:
    """Batch normalisation as PyTorch's: per channel (axis 1 of (N, C) or (N, C, H, W)), x_hat * weight + bias.

    Training: x_hat from the batch's own mean and biased variance (``ops.BatchNorm``), and the running
    statistics (numpy arrays or Values of shape (C,), if given) updated in place:
    running = (1 - momentum) * running + momentum * batch, the variance's with n / (n - 1) (unbiased), as PyTorch.
    Eval: x_hat = (x - running_mean) / sqrt(running_var + eps), plain arithmetic.
    """
    x = as_value(x)
    if x.ndim < 2:
        raise ValueError(f"batch_norm needs input of shape (N, C) or (N, C, ...), got shape {x.shape}")
    training = arguments.flag("batch_norm's training", training)
    eps = arguments.real("batch_norm's eps", eps, positive=True)
    channels, axes = x.shape[1], (0, *range(2, x.ndim))
    view = (1, channels) + (1,) * (x.ndim - 2)  # a (C,) statistic, spread over the other axes
    if training:
        n = math.prod(x.shape[a] for a in axes)
        if n < 2:
            raise ValueError(
                f"batch_norm in training needs more than 1 value per channel, got input of shape {x.shape}"
            )
        momentum = arguments.real("batch_norm's momentum", momentum, low=0.0)
        out = apply(ops.BatchNorm, x, axes=axes, eps=eps)
        if running_mean is not None or running_var is not None:
            modes.note_frozen("batch_norm's running statistics in training (updated in place)")
            numbers = x.numbers  # (redo this update: the step runs eagerly)
            _update_running("running_mean", running_mean, numbers.mean(axis=axes), momentum, channels)
            _update_running("running_var", running_var, numbers.var(axis=axes, ddof=1), momentum, channels)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm in eval mode (training=False) needs running_mean and running_var")
        for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
            _statistic(name, stat, channels)  # checked
        # a model's buffers stay Values in the graph: a compiled step reads their numbers anew on every call
        mean, var = as_value(running_mean).reshape(view), as_value(running_var).reshape(view)
        out = (x - mean) / (var + eps).sqrt()
    return _affine("batch_norm", out, weight, bias, (channels,), view)


def _statistic(name: str, stat, channels: int) -> np.ndarray:
    """A running statistic's numbers: a float64 array of shape (channels,) (a Value's own, to update in place)."""
    numbers = stat.numbers if isinstance(stat, Value) else stat
    if not isinstance(numbers, np.ndarray) or numbers.dtype != np.float64 or numbers.shape != (channels,):
        what = f"shape {numbers.shape}, {numbers.dtype}" if isinstance(numbers, np.ndarray) else type(stat).__name__
        raise ValueError(f"batch_norm's {name} must be a float64 array or Value of shape ({channels},), got {what}")
    return numbers


def _update_running(name: str, stat, batch: np.ndarray, momentum: float, channels: int) -> None:
    """running = (1 - momentum) * running + momentum * batch, in place."""
    if stat is None:
        raise ValueError(f"batch_norm got no {name}: give both running statistics or neither")
    numbers = _statistic(name, stat, channels)
    numbers[...] = (1.0 - momentum) * numbers + momentum * batch


def _affine(what: str, out: Value, weight, bias, shape: tuple, view: tuple) -> Value:
    """out * weight + bias, each of ``shape`` (if given) spread over out as ``view``."""
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None:
            p = as_value(p)
            if p.shape != shape:
                raise ValueError(f"{what}'s {name} must have shape {shape}, got {p.shape}")
            out = out * p.reshape(view) if name == "weight" else out + p.reshape(view)
    return out


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Value:
    """Layer normalisation as PyTorch's: each example standardised over its last axes (``normalized_shape``,
    an int or a tuple equal to x.shape's end) with ``ops.LayerNorm``, then * weight + bias (of that shape)."""
    x = as_value(x)
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    shape = tuple(arguments.integer("layer_norm's normalized_shape", n, low=1) for n in shape)
    if not shape or x.shape[len(x.shape) - len(shape) :] != shape or len(shape) > x.ndim:
        raise ValueError(f"layer_norm: normalized_shape {shape} must be the last axes of the input's shape {x.shape}")
    eps = arguments.real("layer_norm's eps", eps, positive=True)
    out = apply(ops.LayerNorm, x, axes=tuple(range(x.ndim - len(shape), x.ndim)), eps=eps)
    return _affine("layer_norm", out, weight, bias, shape, shape)


def pad(x, pad, value: float = 0.0) -> Value:
    """x with ``value`` around it, PyTorch's ``pad`` order: last axis first, (left, right, top, bottom, ...).
    Its gradient is the inside cut back out (``ops.Pad``)."""
    x = as_value(x)
    widths = tuple(arguments.integer("pad width", n, low=0) for n in pad)
    if len(widths) % 2 or len(widths) > 2 * x.ndim:
        raise ValueError(
            f"pad takes (before, after) pairs, last axis first, at most {x.ndim} for shape {x.shape}; got {pad!r}"
        )
    pairs = [(0, 0)] * (x.ndim - len(widths) // 2) + [widths[i : i + 2] for i in range(len(widths) - 2, -1, -2)]
    value = arguments.real("pad value", value, finite=False)
    return apply(ops.Pad, x, widths=tuple(pairs), value=value)


def dropout(x, p: float = 0.5, training: bool = True, generator: np.random.Generator | None = None) -> Value:
    """Inverted dropout: each element kept with probability 1 - p and scaled by 1 / (1 - p) (so its expected value
    is unchanged and eval needs no rescaling), else 0. A product with a constant mask, so no op of its own:
    d/dx = the mask. The mask comes from ``generator`` (a numpy Generator: the same seed, the same mask; None:
    fresh randomness). The identity in eval and for p = 0; zeros for p = 1."""
    p = arguments.real("dropout probability p", p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p must be between 0 and 1, got {p}")
    if generator is not None and not isinstance(generator, np.random.Generator):
        raise TypeError(f"dropout's generator must be a numpy Generator or None, got {type(generator).__name__}")
    x = as_value(x)
    if not arguments.flag("dropout's training", training) or p == 0.0:
        return x
    if p == 1.0:
        return x * np.zeros(x.shape)
    modes.note_frozen("a dropout mask (random numbers, new on every call)")  # compile then calls fn once, eagerly
    keep = (generator or np.random.default_rng()).random(x.shape) >= p  # True with probability 1 - p
    return x * (keep * (1.0 / (1.0 - p)))


def embedding(indices, weight) -> Value:
    """Rows of ``weight`` (num_embeddings, dim) picked by integer ``indices`` of any shape: weight[indices], of
    shape indices.shape + (dim,). Its gradient is Index's: each row used gets its gradients, repeats summed."""
    weight = as_value(weight)
    if weight.ndim != 2:
        raise ValueError(f"embedding's weight must be a matrix (num_embeddings, dim), got shape {weight.shape}")
    idx = numbers_of(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding needs integer indices (an int array or a long tensor), got {idx.dtype} values")
    check(functools.partial(_rows, weight.shape[0]), idx)
    return apply(ops.Index, weight, index=idx)


def _rows(rows: int, idx: np.ndarray) -> None:
    """Each index names a row 0 .. rows - 1 (a negative one would count from the end, as PyTorch refuses)."""
    if idx.size and (idx.min() < 0 or idx.max() >= rows):
        raise IndexError(
            f"embedding: indices must be in 0..{rows - 1} (the weight's rows), got {idx.min()}..{idx.max()}"
        )


# ---------------------------------------------------------------- convolution and pooling


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> Value:
    """Axes ``start_dim`` to ``end_dim`` joined into one (a reshape): ``flatten(images, 1)`` makes each image of a
    batch (N, C, H, W) a row (N, C*H*W), the step between convolutions and a layer of neurons."""
    x = as_value(x)
    shape = x.shape or (1,)  # a 0-d input flattens to one element, as in PyTorch
    start = arguments.axis("flatten start_dim", start_dim, shape)
    end = arguments.axis("flatten end_dim", end_dim, shape)
    if start > end:
        raise ValueError(f"flatten of shape {x.shape}: start_dim {start_dim} comes after end_dim {end_dim}")
    return x.reshape(shape[:start] + (-1,) + shape[end + 1 :])


def conv1d(x, w, b=None, stride: int = 1, padding: int = 0) -> Value:
    """The 1-d convolution of sequences x (N, C, L) by filters w (F, C, K), plus a bias b (F,): (N, F, OL),
    OL = (L + 2 padding - K) // stride + 1 (PyTorch's conv1d). It is conv2d on images one pixel high, so its
    graph and gradients are conv2d's."""
    x, w = as_value(x), as_value(w)
    for name, v, layout in (("input", x, "(N, C, L)"), ("weight", w, "(F, C, K)")):
        if v.ndim != 3:
            raise ValueError(f"conv1d needs a 3-d {name} {layout}, got shape {v.shape}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"conv1d: the input has {x.shape[1]} channels (axis 1 of its shape {x.shape}) but the weight, "
            f"(F, C, K) = {w.shape}, expects C = {w.shape[1]}"
        )
    stride = arguments.integer("conv1d stride", stride, low=1)
    padding = arguments.integer("conv1d padding", padding, low=0)
    if w.shape[2] > x.shape[2] + 2 * padding:
        raise ValueError(
            f"conv1d: the kernel {w.shape[2]} is longer than the input {x.shape[2]} padded by {padding} on each side"
        )
    out = conv2d(x.reshape(x.shape[0], x.shape[1], 1, -1), w.reshape(*w.shape[:2], 1, -1), b, (1, stride), (0, padding))
    return out.reshape(*out.shape[:2], -1)


def conv2d(x, w, b=None, stride=1, padding=0) -> Value:
    """The 2-d convolution of images x (N, C, H, W) by filters w (F, C, KH, KW), plus a bias b (F,) per filter:
    (N, F, OH, OW), OH = (H + 2 padding - KH) // stride + 1 (PyTorch's conv2d; stride and padding an int or a pair).
    The bias is added outside the op, broadcast over (1, F, 1, 1): its gradient is g summed over n, i, j."""
    x, w = _image("conv2d", "input", x), _image("conv2d", "weight", w, "(F, C, KH, KW)")
    stride, padding = _pair("conv2d stride", stride, 1), _pair("conv2d padding", padding, 0)
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"conv2d: the input has {x.shape[1]} channels (axis 1 of its shape {x.shape}) but the weight, "
            f"(F, C, KH, KW) = {w.shape}, expects C = {w.shape[1]}"
        )
    _fits("conv2d", x.shape, w.shape[2:], padding)
    out = apply(ops.Conv2d, x, w, stride=stride, padding=padding, needs=(x.requires_grad, w.requires_grad))
    if b is None:
        return out
    b = as_value(b)
    if b.shape != (w.shape[0],):
        raise ValueError(f"conv2d: the bias needs one number per filter, shape ({w.shape[0]},), got {b.shape}")
    return out + b.reshape(1, -1, 1, 1)


def conv_transpose2d(g, w, stride=1, padding=0, output_padding=0) -> Value:
    """The transposed convolution (PyTorch's conv_transpose2d, no bias): g (N, F, OH, OW) spread back through
    w (F, C, KH, KW) onto (N, C, H, W), H = (OH - 1) stride - 2 padding + KH + output_padding; conv2d's
    gradient to its input."""
    g, w = _image("conv_transpose2d", "input", g), _image("conv_transpose2d", "weight", w, "(F, C, KH, KW)")
    stride, padding = _pair("conv_transpose2d stride", stride, 1), _pair("conv_transpose2d padding", padding, 0)
    extra = _pair("conv_transpose2d output_padding", output_padding, 0)
    if g.shape[1] != w.shape[0]:
        raise ValueError(
            f"conv_transpose2d: the input has {g.shape[1]} channels (axis 1 of its shape {g.shape}) but the weight, "
            f"(F, C, KH, KW) = {w.shape}, takes F = {w.shape[0]}"
        )
    if any(e >= s for e, s in zip(extra, stride)):
        raise ValueError(f"conv_transpose2d: output_padding {extra} must be smaller than the stride {stride}")
    size = [(o - 1) * s - 2 * p + k + e for o, s, p, k, e in zip(g.shape[2:], stride, padding, w.shape[2:], extra)]
    if size[0] < 1 or size[1] < 1:  # (min and max here are this module's ops)
        raise ValueError(f"conv_transpose2d: the output would be {size[0]}x{size[1]}; padding {padding} is too large")
    return apply(ops.ConvTranspose2d, g, w, stride=stride, padding=padding, output_padding=extra)


def conv2d_weight(x, weight_size, g, stride=1, padding=0) -> Value:
    """conv2d's gradient to its weights of shape ``weight_size`` (F, C, KH, KW), from the input x (N, C, H, W) and
    the output gradient g (N, F, OH, OW): PyTorch's ``torch.nn.grad.conv2d_weight``."""
    x, g = _image("conv2d_weight", "input", x), _image("conv2d_weight", "grad_output", g)
    stride, padding = _pair("conv2d_weight stride", stride, 1), _pair("conv2d_weight padding", padding, 0)
    size = tuple(arguments.integer("conv2d_weight weight_size", n, low=1) for n in weight_size)
    if len(size) != 4 or size[:2] != (g.shape[1], x.shape[1]):
        raise ValueError(
            f"conv2d_weight: weight_size must be (F, C, KH, KW) = ({g.shape[1]}, {x.shape[1]}, KH, KW) for an input "
            f"of shape {x.shape} and grad_output of shape {g.shape}, got {tuple(weight_size)}"
        )
    _fits("conv2d_weight", x.shape, size[2:], padding)
    out = [(n + 2 * p - k) // s + 1 for n, p, k, s in zip(x.shape[2:], padding, size[2:], stride)]
    expected = (x.shape[0], size[0], *out)
    if g.shape != expected:
        raise ValueError(f"conv2d_weight: grad_output must have shape {expected} for this input, got {g.shape}")
    return apply(ops.Conv2dWeight, x, g, kernel_size=size[2:], stride=stride, padding=padding)


def max_pool2d(x, kernel_size, stride=None) -> Value:
    """The largest element of each kernel_size window of images x (N, C, H, W), stride apart (by default
    kernel_size: windows side by side). The gradient goes to each window's first maximum (row-major), as PyTorch's."""
    return _pool("max_pool2d", ops.MaxPool2d, x, kernel_size, stride)


def avg_pool2d(x, kernel_size, stride=None) -> Value:
    """The mean of each kernel_size window of images x (N, C, H, W), stride apart (by default kernel_size)."""
    return _pool("avg_pool2d", ops.AvgPool2d, x, kernel_size, stride)


def _pool(what: str, op: type[ops.Op], x, kernel_size, stride) -> Value:
    x, kernel = _image(what, "input", x), _pair(f"{what} kernel_size", kernel_size, 1)
    stride = kernel if stride is None else _pair(f"{what} stride", stride, 1)
    _fits(what, x.shape, kernel, (0, 0))
    return apply(op, x, kernel_size=kernel, stride=stride)


def _image(what: str, name: str, x, layout: str = "(N, C, H, W)") -> Value:
    """x as a Value of 4 axes (a batch of images, or filters)."""
    x = as_value(x)
    if x.ndim != 4:
        raise ValueError(f"{what} needs a 4-d {name} {layout}, got shape {x.shape}")
    return x


def _pair(name: str, n, low: int) -> tuple[int, int]:
    """An int for both image axes, or a pair (height, width), each at least ``low``."""
    pair = tuple(n) if isinstance(n, (tuple, list)) else (n, n)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair (height, width), got {n!r}")
    return tuple(arguments.integer(name, k, low=low) for k in pair)


def _fits(what: str, shape: tuple, kernel: tuple, padding: tuple) -> None:
    """The kernel fits inside the padded image (one output pixel at least)."""
    padded = tuple(n + 2 * p for n, p in zip(shape[2:], padding))
    if kernel[0] > padded[0] or kernel[1] > padded[1]:
        raise ValueError(
            f"{what}: the kernel {kernel[0]}x{kernel[1]} is larger than the input {shape[2]}x{shape[3]} "
            f"padded by {padding} ({padded[0]}x{padded[1]})"
        )
