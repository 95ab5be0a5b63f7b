"""``torch.nn.functional`` as tutorials use it, on this engine: activations, softmax, and the losses."""

from __future__ import annotations

import math
import numbers

import numpy as np

from tinygrad_edu import functional as F
from tinygrad_edu import losses
from tinygrad_edu.engine import Value
from tinygrad_edu.follow import numbers_of
from tinygrad_edu.torch import long
from tinygrad_edu.torch import tensor as make_tensor
from tinygrad_edu.torch.random import rng_of
from tinygrad_edu.torch.tensor import Tensor

SUPPORTED = (
    "relu sigmoid tanh leaky_relu gelu softplus softmax log_softmax mse_loss binary_cross_entropy "
    "binary_cross_entropy_with_logits cross_entropy nll_loss one_hot conv1d conv2d max_pool2d avg_pool2d"
).split()

# ---------------------------------------------------------------- normalisation, padding, dropout, embedding
SUPPORTED += "batch_norm layer_norm dropout embedding pad".split()


batch_norm, layer_norm = F.batch_norm, F.layer_norm  # PyTorch's signatures (the first argument: input)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Value:
    """Inverted dropout, its mask drawn from the generator ``torch.manual_seed`` seeds (not PyTorch's numbers)."""
    if inplace:
        raise ValueError("dropout(inplace=True) is not supported here; use the returned tensor")
    return F.dropout(input, p, training, generator=rng_of(None))


def embedding(
    input,
    weight,
    padding_idx=None,
    max_norm=None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Value:
    """weight[input]: the rows named by a long tensor (or an integer array) of any shape (``sparse`` changes
    nothing here: the gradient is a dense array)."""
    if padding_idx is not None or max_norm is not None or scale_grad_by_freq:
        raise ValueError("embedding's padding_idx, max_norm and scale_grad_by_freq are not supported here")
    if isinstance(input, Tensor) and input.dtype is not long:
        raise TypeError(f"embedding's indices must be a long tensor (torch.long), got {input.dtype}")
    return F.embedding(numbers_of(input, np.int64) if isinstance(input, Tensor) else input, weight)


def pad(input, pad, mode: str = "constant", value: float | None = None) -> Value:
    """PyTorch's pad order: last axis first, (left, right, top, bottom, ...); constant padding only."""
    if mode != "constant":
        raise ValueError(f"pad's mode {mode!r} is not supported here; only mode='constant'")
    return F.pad(input, pad, 0.0 if value is None else value)


relu, sigmoid, tanh = F.relu, F.sigmoid, F.tanh


def leaky_relu(x, negative_slope: float = 0.01) -> Value:
    return F.leaky_relu(x, negative_slope)


def gelu(x, approximate: str = "none") -> Value:
    """GELU as PyTorch's: exact (x * Phi(x), with erf) by default, the tanh approximation with "tanh"."""
    return F.gelu(x, approximate)


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Value:
    """ln(1 + e^(beta x)) / beta, and x itself where beta x > threshold, as PyTorch's."""
    return F.softplus(x, beta, threshold)


def softmax(x, dim: int) -> Value:
    return F.softmax(x, dim)


def log_softmax(x, dim: int) -> Value:
    return F.log_softmax(x, dim)


def mse_loss(input, target, reduction: str = "mean") -> Value:
    """PyTorch's: (input - target)^2 averaged ("mean"), summed ("sum") or one per element ("none")."""
    reduction = reduction_of(reduction, ("mean", "sum", "none"))
    if reduction == "none":  # the target a constant, as for the mean (losses.mse)
        return (_tensor(input) - numbers_of(target)) ** 2
    return _reduced(losses.mse(input, target), input, reduction, per_row=False)


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean") -> Value:
    """PyTorch's: -(t log p + (1 - t) log(1 - p)), each log clamped at -100, averaged ("mean"), summed ("sum") or
    one per element ("none"); the gradient (p - t) / max(p (1 - p), 1e-12), as PyTorch's. No ``weight`` here."""
    if weight is not None:
        raise ValueError("binary_cross_entropy's weight is not supported here; multiply the reduction='none' losses")
    reduction = reduction_of(reduction, ("mean", "sum", "none"))
    if reduction == "mean":
        return losses.bce(input, target)
    each = losses.bce_per_element(input, target)
    return each if reduction == "none" else each.sum()


def reduction_of(reduction: str, supported: tuple[str, ...] = ("mean", "sum")) -> str:
    """``reduction`` if this facade supports it for the loss, else a ValueError naming the ones it does."""
    if reduction not in supported:
        names = [repr(r) for r in supported]
        raise ValueError(f"only reduction={', '.join(names[:-1])} or {names[-1]} is supported here, got {reduction!r}")
    return reduction


def _tensor(x) -> Value:
    return x if isinstance(x, Value) else Tensor(x)


def _reduced(mean: Value, input, reduction: str, per_row: bool) -> Value:
    """A loss's mean as it is ("mean"), or its sum: the mean times the count it averaged (the elements, or the
    rows for cross-entropy)."""
    if reduction == "mean":
        return mean
    shape = np.shape(input)
    return mean * float((shape[0] if len(shape) == 2 else 1) if per_row else math.prod(shape))


def binary_cross_entropy_with_logits(input, target, reduction: str = "mean") -> Value:
    """PyTorch's: softplus(z) - t z, averaged ("mean") or summed ("sum")."""
    reduction = reduction_of(reduction, ("mean", "sum"))
    return _reduced(losses.bce_with_logits(input, target), input, reduction, per_row=False)


def cross_entropy(input, target, reduction: str = "mean") -> Value:
    """PyTorch's: -log softmax(input)[target] of each row, averaged over the rows ("mean"), summed ("sum") or one
    per row ("none": log_softmax then nll_loss, the same numbers)."""
    reduction = reduction_of(reduction, ("mean", "sum", "none"))
    if reduction == "none":
        x = _tensor(input)
        return nll_loss(log_softmax(x, x.ndim - 1), target, "none")
    return _reduced(losses.cross_entropy(input, target), input, reduction, per_row=True)


def nll_loss(input, target, reduction: str = "mean") -> Value:
    """The negative log-likelihood of each row's target class, -input[i, target_i], averaged over the rows
    ("mean"), summed ("sum") or one per row ("none"). ``input`` holds log-probabilities (log_softmax's output):
    log_softmax then nll_loss is cross_entropy. The gradient is -1 (over the rows averaged) at each target."""
    x = _tensor(input)
    y = F.class_labels("nll_loss", x, target, "log-probabilities")
    each = -(x[y] if x.ndim == 1 else x[np.arange(len(y)), y])
    reduction = reduction_of(reduction, ("mean", "sum", "none"))
    return each.mean() if reduction == "mean" else each.sum() if reduction == "sum" else each


def one_hot(tensor, num_classes: int = -1) -> Value:
    """Each class index as a row of zeros with a 1 at the index: shape (*input.shape, num_classes), a tensor of
    ``torch.long`` (no gradient: an index has none). ``num_classes=-1``: the largest index + 1."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < -1:
        raise ValueError(f"one_hot's num_classes must be -1 (the largest index + 1) or a count, got {num_classes!r}")
    index = np.asarray(tensor, dtype=np.float64)
    bad = index[~np.isfinite(index) | (index != np.round(index)) | (index < 0)]
    if bad.size:
        raise ValueError(f"one_hot takes class indices (whole numbers >= 0), got {bad[0]}")
    if num_classes == -1:
        if not index.size:
            raise ValueError("one_hot cannot infer num_classes from an empty tensor: give num_classes")
        num_classes = int(index.max()) + 1
    if index.size and index.max() >= num_classes:
        raise ValueError(f"one_hot's class index {int(index.max())} is not below num_classes={num_classes}")
    return make_tensor((index[..., None] == np.arange(num_classes)).astype(np.int64), dtype=long)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Value:
    """PyTorch's 2-d convolution of (N, C, H, W), or one image (C, H, W), by (F, C, KH, KW), plus a bias (F,);
    stride and padding an int or a pair. Only dilation=1 and groups=1 here."""
    _only_defaults("conv2d", dilation=(dilation, 1), groups=(groups, 1))
    refusal = "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: {}"
    return _batched(lambda x: F.conv2d(x, weight, bias, stride, padding), input, 4, refusal)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Value:
    """PyTorch's 1-d convolution of (N, C, L), or one sequence (C, L), by (F, C, K), plus a bias (F,). Only
    dilation=1 and groups=1 here."""
    _only_defaults("conv1d", dilation=(dilation, 1), groups=(groups, 1))
    refusal = "Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: {}"
    return _batched(lambda x: F.conv1d(x, weight, bias, one_size(stride), one_size(padding)), input, 3, refusal)


def one_size(n):
    """A size along one axis as PyTorch's 1-d layers take it: an int, or a tuple of one."""
    return n[0] if isinstance(n, (tuple, list)) and len(n) == 1 else n


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False) -> Value:
    """The largest element of each window of (N, C, H, W) or (C, H, W) (the gradient to each window's first
    maximum, as PyTorch's). Only padding=0, dilation=1, ceil_mode=False and return_indices=False here."""
    _only_defaults(
        "max_pool2d",
        padding=(padding, 0),
        dilation=(dilation, 1),
        ceil_mode=(ceil_mode, False),
        return_indices=(return_indices, False),
    )
    refusal = "non-empty 3D or 4D (batch mode) tensor expected for input, but got input of size: {}"
    return _batched(lambda x: F.max_pool2d(x, kernel_size, stride or None), input, 4, refusal)


def avg_pool2d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
) -> Value:
    """The mean of each window of (N, C, H, W) or (C, H, W). Only padding=0, ceil_mode=False and
    divisor_override=None here (count_include_pad only matters with padding)."""
    _only_defaults(
        "avg_pool2d", padding=(padding, 0), ceil_mode=(ceil_mode, False), divisor_override=(divisor_override, None)
    )
    refusal = "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:{}"
    return _batched(lambda x: F.avg_pool2d(x, kernel_size, stride or None), input, 4, refusal)


def _batched(layer, input, ndim: int, refusal: str) -> Value:
    """``layer(input)`` for a batch of ``ndim`` axes; one example without the batch axis (ndim - 1 axes, as
    PyTorch's layers take it too) goes through as a batch of one, unsqueeze(0) before and squeeze(0) after, both
    in the graph. Any other rank: ``refusal`` (PyTorch's message) with the shape as a list."""
    x = input if isinstance(input, Value) else Tensor(input)
    if x.ndim not in (ndim - 1, ndim):
        raise ValueError(refusal.format(list(x.shape)))
    return layer(x) if x.ndim == ndim else layer(x.unsqueeze(0)).squeeze(0)


def _only_defaults(what: str, **settings) -> None:
    """Refuse a setting this facade does not support (each given as (value, its default)), naming it."""
    for name, (value, default) in settings.items():
        if value != default and value != (default, default):
            raise ValueError(f"{what}: only {name}={default!r} is supported here, got {name}={value!r}")


def __getattr__(name: str):
    raise AttributeError(
        f"tinygrad_edu.torch.nn.functional has no {name!r}; this teaching subset supports: {', '.join(SUPPORTED)}"
    )
