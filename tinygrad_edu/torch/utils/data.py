"""``torch.utils.data``: a dataset is anything with ``len()`` and ``[i]``; a ``DataLoader`` walks it in minibatches.

    dataset = TensorDataset(X, y)                     # row i is (X[i], y[i])
    loader = DataLoader(dataset, batch_size=32, shuffle=True, generator=g)
    for xb, yb in loader:                              # one epoch: every row once, in shuffled order
        ...

Each batch stacks the rows' fields along a new first axis (PyTorch's default collate): tensors stay tensors (a
long one stays long), numbers become a tensor. A ``TensorDataset`` is indexed by the whole batch at once.
``shuffle`` draws a new order each epoch from ``generator`` (a ``torch.Generator``) or ``torch.manual_seed``'s
numbers: the same seed gives the same batches, but not PyTorch's order.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator

import numpy as np

from tinygrad_edu.engine import Value
from tinygrad_edu.torch import stack, tensor
from tinygrad_edu.torch.random import rng_of

SUPPORTED = ["Dataset", "TensorDataset", "DataLoader"]


class Dataset:
    """Base of a dataset: subclass it with ``__len__`` and ``__getitem__(i)`` returning one sample."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index), returning one sample")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__()")


class TensorDataset(Dataset):
    """Tensors of the same length as one dataset: sample i is ``(t[i] for t in tensors)``."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        tensors = tuple(t if isinstance(t, Value) else tensor(t) for t in tensors)
        if any(t.ndim == 0 for t in tensors) or len({len(t) for t in tensors}) != 1:
            raise ValueError(
                "Size mismatch between tensors: TensorDataset's tensors need one first axis of the same length, "
                f"got shapes {[t.shape for t in tensors]}"
            )
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0])


class DataLoader:
    """Minibatches of ``dataset``: ``batch_size`` samples each (the last one smaller unless ``drop_last``), in
    order, or with ``shuffle=True`` in a new random order each epoch (from ``generator``)."""

    def __init__(
        self,
        dataset,
        batch_size: int | None = 1,
        shuffle: bool = False,
        *,
        drop_last: bool = False,
        generator=None,
        num_workers: int = 0,
    ):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader needs a dataset with len() and [i], got {type(dataset).__name__}")
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1
        ):
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size!r}")
        if num_workers != 0:
            raise ValueError(f"num_workers must be 0 here (batches are made in this process), got {num_workers!r}")
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, bool(shuffle)
        self.drop_last, self.generator = bool(drop_last), generator
        rng_of(generator)  # (checked now: a wrong generator is said at once, not at the first epoch)

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator:
        n = len(self.dataset)
        order = rng_of(self.generator).permutation(n) if self.shuffle else np.arange(n)
        if self.batch_size is None:  # PyTorch's batch_size=None: the samples one by one, not batched
            yield from (self.dataset[int(i)] for i in order)
            return
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            rows = order[start : start + self.batch_size]
            if isinstance(self.dataset, TensorDataset):  # the whole batch in one index per tensor
                yield list(self.dataset[tensor(rows)])
            else:
                yield collate([self.dataset[int(i)] for i in rows])


def collate(samples: list):
    """PyTorch's default collate: samples that are tuples give a list of batched fields; tensors and numbers
    are stacked along a new first axis."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return [collate([s[k] for s in samples]) for k in range(len(first))]
    if isinstance(first, dict):
        return {key: collate([s[key] for s in samples]) for key in first}
    if isinstance(first, Value):
        return stack(samples)
    return tensor(samples)


def __getattr__(name: str):
    raise AttributeError(
        f"tinygrad_edu.torch.utils.data has no {name!r}; this teaching subset supports: {', '.join(SUPPORTED)}"
    )
