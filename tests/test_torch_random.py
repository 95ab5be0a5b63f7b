"""The facade's seeded randomness (torch.Generator, randint, multinomial) and F.one_hot, as makemore uses them."""

import numpy as np
import pytest

import tinygrad_edu.torch as torch
import tinygrad_edu.torch.nn.functional as F


def test_a_generator_seeded_alike_draws_alike():
    g = torch.Generator().manual_seed(2147483647)  # manual_seed returns the generator itself
    assert isinstance(g, torch.Generator) and g.initial_seed() == 2147483647
    first = [
        torch.randint(0, 1000, (8,), generator=g),
        torch.multinomial(torch.tensor([0.2, 0.3, 0.5]), 6, True, generator=g),
    ]
    g.manual_seed(2147483647)  # restart: the same sequence of draws
    again = [
        torch.randint(0, 1000, (8,), generator=g),
        torch.multinomial(torch.tensor([0.2, 0.3, 0.5]), 6, True, generator=g),
    ]
    other = torch.randint(0, 1000, (8,), generator=torch.Generator().manual_seed(1))
    for a, b in zip(first, again):
        assert np.array_equal(a.numbers, b.numbers)
    assert not np.array_equal(first[0].numbers, other.numbers)
    # two unseeded generators draw differently
    a, b = (torch.randint(0, 2**30, (4,), generator=torch.Generator()) for _ in range(2))
    assert not np.array_equal(a.numbers, b.numbers)


def test_without_a_generator_the_draws_follow_torch_manual_seed():
    torch.manual_seed(7)
    a = torch.randint(5, (10,)), torch.multinomial(torch.tensor([[1.0, 1.0], [3.0, 1.0]]), 4, replacement=True)
    torch.manual_seed(7)
    b = torch.randint(5, (10,)), torch.multinomial(torch.tensor([[1.0, 1.0], [3.0, 1.0]]), 4, replacement=True)
    assert all(np.array_equal(x.numbers, y.numbers) for x, y in zip(a, b))


def test_seeds_are_pytorchs_range():
    """PyTorch takes seeds in [-2**63, 2**64), a negative one as seed + 2**64."""
    assert torch.Generator().manual_seed(-1).initial_seed() == 2**64 - 1
    for bad in (2**64, -(2**63) - 1, 1.5, True, "1"):
        with pytest.raises(ValueError, match="manual_seed's seed must be an integer in"):
            torch.Generator().manual_seed(bad)
    with pytest.raises(ValueError, match="only device 'cpu'"):
        torch.Generator("cuda")
    real = pytest.importorskip("torch")
    assert real.Generator().manual_seed(-1).initial_seed() == 2**64 - 1


def test_randint_draws_whole_numbers_in_low_to_high():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(3, 9, (2000,), generator=g)
    assert x.dtype == torch.long and x.shape == (2000,) and set(np.unique(x.numbers).tolist()) == set(range(3, 9))
    assert torch.randint(4, (2, 3), generator=g).shape == (2, 3)  # randint(high, size)
    assert torch.randint(0, 4, size=(5,), generator=g).shape == (5,)
    assert torch.randint(0, 4, 3, generator=g).shape == (3,)
    with pytest.raises(ValueError, match="randint needs low < high .* got low=5, high=5"):
        torch.randint(5, 5, (2,))
    with pytest.raises(TypeError, match=r"randint takes \(high, size\) or \(low, high, size\)"):
        torch.randint(5)
    with pytest.raises(TypeError, match="randint's high must be an integer, got float 2.5"):
        torch.randint(0, 2.5, (2,))
    with pytest.raises(TypeError, match="size must be a tuple of sizes >= 0"):
        torch.randint(0, 5, (-1,))
    with pytest.raises(TypeError, match="generator must be a torch.Generator or None, got int"):
        torch.randint(0, 5, (2,), generator=3)


def test_multinomial_draws_by_the_weights():
    g = torch.Generator().manual_seed(42)
    weights = torch.tensor([1.0, 0.0, 3.0, 6.0])  # not normalised: category i with weight / 10
    draws = torch.multinomial(weights, 20000, replacement=True, generator=g)
    assert draws.shape == (20000,) and draws.dtype == torch.long
    np.testing.assert_allclose(
        np.bincount(draws.numbers.astype(int), minlength=4) / 20000, [0.1, 0, 0.3, 0.6], atol=0.015
    )
    rows = torch.multinomial(torch.tensor([[0.0, 1.0, 1.0], [5.0, 0.0, 1.0]]), 2, generator=g)  # no replacement
    assert rows.shape == (2, 2)
    assert sorted(rows.numbers[0].tolist()) == [1, 2] and sorted(rows.numbers[1].tolist()) == [0, 2]
    one = torch.multinomial(F.softmax(torch.randn(1, 27), dim=1), num_samples=1, generator=g)
    assert one.shape == (1, 1) and 0 <= one.item() < 27  # makemore's sampling: .item() an index


def test_multinomial_refuses_what_pytorch_refuses():
    with pytest.raises(ValueError, match="contains either inf, nan or an element < 0"):
        torch.multinomial(torch.tensor([0.5, -0.1]), 1)
    with pytest.raises(ValueError, match="a row's weights sum to 0"):
        torch.multinomial(torch.tensor([0.0, 0.0]), 1)
    with pytest.raises(ValueError, match="cannot draw 2 different categories from a row with only 1 of weight > 0"):
        torch.multinomial(torch.tensor([0.0, 1.0, 0.0]), 2)
    with pytest.raises(ValueError, match="num_samples must be an integer >= 1"):
        torch.multinomial(torch.tensor([1.0]), 0)
    with pytest.raises(ValueError, match="a row or a matrix of category weights"):
        torch.multinomial(torch.tensor(1.0), 1)


def test_one_hot_is_pytorchs():
    labels = [[0, 3], [2, 2], [1, 0]]
    ours = F.one_hot(torch.tensor(labels))  # num_classes=-1: the largest index + 1
    assert ours.shape == (3, 2, 4) and ours.dtype == torch.long and ours.requires_grad is False
    assert F.one_hot(torch.tensor([1, 0]), num_classes=5).shape == (2, 5)
    with pytest.raises(ValueError, match="class index 4 is not below num_classes=3"):
        F.one_hot(torch.tensor([0, 4]), num_classes=3)
    with pytest.raises(ValueError, match=r"class indices \(whole numbers >= 0\), got -1"):
        F.one_hot(torch.tensor([-1, 0]))
    with pytest.raises(ValueError, match="cannot infer num_classes from an empty tensor"):
        F.one_hot(torch.tensor(np.zeros(0)))
    real = pytest.importorskip("torch")
    expected = real.nn.functional.one_hot(real.tensor(labels))
    np.testing.assert_array_equal(ours.numbers, expected.numpy())
    np.testing.assert_array_equal(
        F.one_hot(torch.tensor([1, 0]), num_classes=5).numbers,
        real.nn.functional.one_hot(real.tensor([1, 0]), num_classes=5).numpy(),
    )
