"""Loss functions: one number that says how wrong the predictions are, averaged over examples.

Each takes predictions (a Value, or at scalar granularity a list of scalar Values, one
per example) and targets (numbers or an array), and returns a scalar Value to call
``backward()`` on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from tinygrad_edu import functional
from tinygrad_edu.engine import Value, as_value
from tinygrad_edu.follow import check, item_of, numbers_of
from tinygrad_edu.functional import cross_entropy
from tinygrad_edu.registry import lookup

__all__ = ["mse", "bce", "bce_per_element", "bce_with_logits", "hinge", "cross_entropy", "get", "REGISTRY"]


def _targets(name: str, target, shape: tuple, valid: Callable[[str, np.ndarray], None] | None = None) -> np.ndarray:
    """The targets as an array of the predictions' ``shape``.

    Same shape, or one trailing axis of size 1 more or less: (n,) targets for (n, 1)
    predictions (one output per example) and the reverse. Anything else pairs wrong
    elements (broadcasting (n,) against (n, 1) would compare every prediction with every
    target), so it is an error naming both shapes. ``valid(name, t)`` checks the values too
    (the checks are made again by every call of a compiled step).
    """
    t = numbers_of(target)  # a Value gives its data
    if t.dtype.kind not in "biuf":
        raise TypeError(f"{name}: targets must be numbers, got {t.dtype} {target!r}")
    _pairs(name, t.shape, shape)
    t = numbers_of(t, np.float64, shape)
    check(functools.partial(valid or _finite, name), t)
    return t


def _pairs(name: str, targets: tuple, shape: tuple) -> None:
    """Targets pair with predictions one to one: the same shape, or one trailing axis of size 1 more or less."""
    if targets != shape and targets + (1,) != shape and targets != shape + (1,):
        raise ValueError(
            f"{name}: predictions of shape {shape} but targets of shape {targets}; they must match "
            "(or differ by one trailing axis of size 1)"
        )


def _finite(name: str, t: np.ndarray) -> None:
    """Targets are numbers: nan or inf would make the loss and every gradient nan."""
    if not np.all(np.isfinite(t)):
        raise ValueError(f"{name}: targets hold nan or inf")


def _mean_of(
    fn: Callable[[Value, np.ndarray | float], Value],
    pred,
    target,
    name: str,
    valid: Callable[[str, np.ndarray], None] | None = None,
) -> Value:
    """Average ``fn(prediction, target)`` over examples, for a Value or a list of scalar Values.

    Targets are constants: numbers, arrays, or a Value whose data is used (no gradient flows into them);
    ``fn`` gets them as a constant Value, so that what it computes of them (``1 - t``) is part of the graph.
    """
    if isinstance(pred, (list, tuple)):  # scalar granularity: one Value per example
        if not pred or not all(isinstance(p, Value) and p.shape == () for p in pred):
            raise TypeError(f"{name}: a list of predictions must hold one scalar Value per example")
        count = numbers_of(target).size  # not np.size: it would find Value.size, the method
        if count != len(pred):
            raise ValueError(f"{name}: {len(pred)} predictions but {count} targets")
        t = _targets(name, target, (len(pred),), valid)
        return sum(fn(p, as_value(item_of(t, k))) for k, p in enumerate(pred)) * (1.0 / len(pred))
    if not isinstance(pred, Value):
        raise TypeError(f"{name}: predictions must be a Value or a list of Values, got {type(pred).__name__}")
    if np.size(pred.data) == 0:
        raise ValueError(f"{name}: predictions of shape {pred.shape} hold no elements: the mean of nothing")
    if isinstance(target, Value) and target.operation is not None and not target.requires_grad:
        return fn(pred, _computed_targets(name, target, pred.shape, valid)).mean()
    t = _targets(name, target, pred.shape, valid)
    return fn(pred, as_value(item_of(t) if t.ndim == 0 else t)).mean()


def _computed_targets(name: str, target: Value, shape: tuple, valid) -> Value:
    """Targets fn computed of its arguments (``torch.tensor(y).view(-1, 1)``: nodes only while compile traces),
    kept in the graph, so that the compiled step computes them anew; checked as ``_targets`` checks numbers."""
    _pairs(name, target.shape, shape)
    t = target if target.shape == shape else target.reshape(shape)
    check(functools.partial(valid or _finite, name), t)
    return t


def mse(pred, target) -> Value:
    """Mean squared error: mean((pred - target)^2); d/dpred = 2 (pred - target) / n."""
    return _mean_of(lambda p, t: (p - t) ** 2, pred, target, "mse")


def bce(prob, target) -> Value:
    """Binary cross-entropy on probabilities in [0, 1]: -mean(t log p + (1 - t) log(1 - p)).

    As PyTorch's ``binary_cross_entropy``, values and gradients: each log is clamped at -100 (p = 1 with
    target 0 costs 100), and d/dp = (p - t) / max(p (1 - p), 1e-12) / n (``ops.BinaryCrossEntropy``).
    Probabilities outside [0, 1] (or nan) are an error: raw scores belong in ``bce_with_logits``.
    """
    if isinstance(prob, Value) or isinstance(prob, (list, tuple)) and all(isinstance(v, Value) for v in prob):
        check(_probabilities, prob if isinstance(prob, Value) else list(prob))
    return _mean_of(functional.bce, prob, target, "bce", _binary)


def bce_per_element(prob: Value, target) -> Value:
    """bce before its mean: the loss of each element of ``prob``, in its shape (PyTorch's reduction="none"),
    with bce's checks (probabilities and targets in [0, 1], targets of the same shape, as ``bce`` pairs them)."""
    if not isinstance(prob, Value):
        raise TypeError(f"bce: predictions must be a Value, got {type(prob).__name__}")
    check(_probabilities, prob)
    return functional.bce(prob, as_value(_targets("bce", target, prob.shape, _binary)))


def bce_with_logits(logits, target) -> Value:
    """Binary cross-entropy on raw scores z (sigmoid inside): mean(softplus(z) - t z).

    The same number as bce(sigmoid(z), t), but finite for any z; d/dz = sigmoid(z) - t.
    """
    return _mean_of(lambda z, t: z.softplus() - z * t, logits, target, "bce_with_logits", _binary)


def hinge(scores, target) -> Value:
    """Hinge loss for labels -1/+1: mean(max(0, 1 - t * score)), the SVM loss micrograd's demo uses."""
    return _mean_of(lambda s, t: (1.0 - t * s).relu(), scores, target, "hinge", _plus_minus_one)


def _probabilities(p: np.ndarray) -> None:
    """bce's predictions are probabilities: a raw score outside [0, 1] belongs in bce_with_logits."""
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError(
            "bce needs probabilities in [0, 1] (sigmoid outputs), got values outside it or nan; "
            "for raw scores use bce_with_logits"
        )


def _binary(name: str, t: np.ndarray) -> None:
    """Targets of a binary cross-entropy are probabilities: 0, 1 or in between."""
    if not np.all((t >= 0) & (t <= 1)):
        raise ValueError(f"{name} needs targets in [0, 1], got values from {t.min()} to {t.max()}")


def _plus_minus_one(name: str, t: np.ndarray) -> None:
    """The hinge loss's labels are -1 and +1."""
    if not np.isin(t, (-1.0, 1.0)).all():
        raise ValueError(f"hinge needs labels -1 or +1, got {np.unique(t).tolist()}")  # (sorted, nan last)


REGISTRY: dict[str, Callable] = {
    "mse": mse,
    "bce": bce,
    "bce_with_logits": bce_with_logits,
    "hinge": hinge,
    "cross_entropy": cross_entropy,
}


def get(name: str | Callable) -> Callable:
    """The loss called ``name``, or the callable itself; an unknown name raises ValueError listing the known ones."""
    return lookup(REGISTRY, "loss", name, {})
