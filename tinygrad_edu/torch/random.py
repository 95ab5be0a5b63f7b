"""PyTorch's seeded randomness, as Karpathy's makemore lectures use it: ``g = torch.Generator().manual_seed(s)``,
then ``torch.randn(..., generator=g)``, ``torch.randint(0, n, (32,), generator=g)`` and
``torch.multinomial(probs, 1, generator=g)``.

A Generator wraps a numpy generator. The same seed gives the same numbers, draw after draw, but NOT the
numbers PyTorch's generator gives for that seed (PyTorch's Mersenne Twister and its sampling are its own): a
lecture's printed losses agree in size and shape, not in their digits. Without ``generator=``, the draws come
from the generator ``torch.manual_seed`` seeds. Indices come back as tensors of ``torch.long``.
"""

from __future__ import annotations

import numbers

import numpy as np

from tinygrad_edu.engine import Value
from tinygrad_edu.torch import generator as default_generator
from tinygrad_edu.torch import long, tensor

# PyTorch's manual_seed takes any integer in [-2**63, 2**64): a negative one counts as seed + 2**64.
SEEDS = range(-(2**63), 2**64)


class Generator:
    """PyTorch's ``torch.Generator()``: a source of random numbers of its own, seeded with ``manual_seed``.
    The same seed gives the same numbers every run, but not the numbers PyTorch's generator gives."""

    def __init__(self, device: str = "cpu") -> None:
        if device != "cpu":
            raise ValueError(f"only device 'cpu' is supported here, got {device!r}")
        self.device = device
        self.manual_seed(int(np.random.SeedSequence().entropy % 2**63))  # unseeded: fresh numbers each run

    def manual_seed(self, seed: int) -> Generator:
        """Restart the numbers from ``seed``; returns the generator itself, so ``Generator().manual_seed(42)``."""
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed not in SEEDS:
            raise ValueError(f"manual_seed's seed must be an integer in [-2**63, 2**64), got {seed!r}")
        self._seed = int(seed) % 2**64
        self.rng = np.random.default_rng(self._seed)  # the numpy generator every draw comes from
        return self

    def initial_seed(self) -> int:
        """The seed the numbers started from."""
        return self._seed

    def __repr__(self) -> str:
        return f"<tinygrad_edu.torch.Generator seeded {self._seed}>"


def rng_of(generator: Generator | None) -> np.random.Generator:
    """The numpy generator a draw takes its numbers from: ``generator``'s, or (None) ``torch.manual_seed``'s."""
    if generator is None:
        return default_generator()
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return generator.rng


def _shape(size) -> tuple[int, ...]:
    """``size`` as a tuple of sizes: ``(32,)``, ``[4, 3]``, or one int."""
    shape = (size,) if isinstance(size, numbers.Integral) else size
    if not isinstance(shape, (tuple, list)) or not all(
        isinstance(n, numbers.Integral) and not isinstance(n, (bool, np.bool_)) and n >= 0 for n in shape
    ):
        raise TypeError(f"size must be a tuple of sizes >= 0, like (32,), got {size!r}")
    return tuple(int(n) for n in shape)


def randint(*args, size=None, generator: Generator | None = None, dtype=None, device=None) -> Value:
    """Whole numbers drawn uniformly from [low, high): ``randint(high, size)`` or ``randint(low, high, size)``
    (``size`` a tuple such as ``(32,)``, or ``size=``); a tensor of ``torch.long`` unless ``dtype`` says."""
    if size is None and args:
        *args, size = args
    if size is None or len(args) not in (1, 2):
        raise TypeError("randint takes (high, size) or (low, high, size), the size a tuple such as (32,)")
    low, high = (0, *args) if len(args) == 1 else args
    for name, bound in (("low", low), ("high", high)):
        if isinstance(bound, (bool, np.bool_)) or not isinstance(bound, numbers.Integral):
            raise TypeError(f"randint's {name} must be an integer, got {type(bound).__name__} {bound!r}")
    if low >= high:
        raise ValueError(f"randint needs low < high (draws from [low, high)), got low={low}, high={high}")
    draws = rng_of(generator).integers(low, high, _shape(size))
    return tensor(draws, dtype=long if dtype is None else dtype, device=device)


def multinomial(input, num_samples: int, replacement: bool = False, *, generator: Generator | None = None) -> Value:
    """Draw ``num_samples`` category indices from each row of ``input`` (weights >= 0, one row or a matrix of rows,
    not necessarily summing to 1): category i with probability input[i] / sum(input). Without ``replacement``
    each index comes at most once per row. A tensor of ``torch.long``: (num_samples,), or (rows, num_samples)."""
    weights = np.asarray(input, dtype=np.float64)
    if weights.ndim not in (1, 2) or weights.shape[-1] == 0:
        raise ValueError(f"multinomial's input must be a row or a matrix of category weights, got {weights.shape}")
    if isinstance(num_samples, (bool, np.bool_)) or not isinstance(num_samples, numbers.Integral) or num_samples < 1:
        raise ValueError(f"multinomial's num_samples must be an integer >= 1, got {num_samples!r}")
    if not isinstance(replacement, (bool, np.bool_)):
        raise TypeError(f"multinomial's replacement must be True or False, got {replacement!r}")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("multinomial's probability tensor contains either inf, nan or an element < 0")
    rows = weights.reshape(-1, weights.shape[-1])
    totals = rows.sum(axis=1)
    if np.any(totals <= 0):
        raise ValueError("multinomial: a row's weights sum to 0, so no category can be drawn from it")
    if not replacement and num_samples > np.count_nonzero(rows, axis=1).min():
        raise ValueError(
            f"multinomial without replacement cannot draw {num_samples} different categories from a row "
            f"with only {np.count_nonzero(rows, axis=1).min()} of weight > 0 (pass replacement=True)"
        )
    rng = rng_of(generator)
    draws = np.array(
        [rng.choice(len(row), num_samples, replace=replacement, p=row / t) for row, t in zip(rows, totals)]
    )
    return tensor(draws.reshape(*weights.shape[:-1], num_samples), dtype=long)
