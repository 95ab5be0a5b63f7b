"""The shipped and generated data sets."""

import numpy as np
import pytest

from tinygrad_edu import data


def test_gates_and_xor():
    X, y = data.xor()
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [0, 1, 1, 0]
    assert data.gates("AND")[1].tolist() == [0, 0, 0, 1]
    assert data.gates("nand")[1].tolist() == [1, 1, 1, 0]
    with pytest.raises(ValueError, match="unknown gate 'maybe'; known: and, or"):
        data.gates("maybe")


def test_iris_is_the_classic_data():
    X, y = data.iris(binary=False)
    assert X.shape == (150, 4) and np.bincount(y.astype(int)).tolist() == [50, 50, 50]
    # the published means: sepal length 5.843, sepal width 3.057, petal length 3.758, petal width 1.199
    np.testing.assert_allclose(X.mean(axis=0), [5.843, 3.057, 3.758, 1.199], atol=1e-3)
    Xb, yb = data.iris()
    assert Xb.shape == (100, 4) and set(yb.tolist()) == {0.0, 1.0}
    # setosa and versicolor are separated by petal length alone
    assert Xb[yb == 0, 2].max() < Xb[yb == 1, 2].min()


def test_digits_is_the_classic_data():
    X, y = data.digits()
    assert X.shape == (1797, 64) and y.shape == (1797,) and y.dtype.kind == "i"
    assert X.min() == 0 and X.max() == 16 and np.all(X == np.round(X))
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


@pytest.mark.parametrize("make", [data.moons, data.circles, data.spirals])
def test_generated_sets_are_seeded(make):
    X1, y1 = make(60, seed=3)
    X2, y2 = make(60, seed=3)
    X3, _ = make(60, seed=4)
    assert X1.shape == (60, 2) and y1.shape == (60,)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2) and not np.array_equal(X1, X3)
    assert set(np.unique(y1).tolist()) == {0.0, 1.0}


def test_spirals_with_three_arms_and_bad_arguments():
    X, y = data.spirals(90, classes=3)
    assert np.bincount(y.astype(int)).tolist() == [30, 30, 30]
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        data.moons(1)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        data.moons(10, noise=-1)
    with pytest.raises(ValueError, match="factor must be between 0 and 1"):
        data.circles(10, factor=2)


def test_train_test_split_is_a_fixed_partition():
    X, y = data.digits()
    Xa, Xb, ya, yb = data.train_test_split(X, y, 0.2, seed=0)
    assert len(yb) == 359 and len(ya) + len(yb) == 1797
    again = data.train_test_split(X, y, 0.2, seed=0)
    assert np.array_equal(again[3], yb)
    with pytest.raises(ValueError, match="test_fraction"):
        data.train_test_split(X, y, 1.5)


def test_names_are_makemores_names_txt():
    """makemore's names.txt as its lectures read it: 32,033 names, the longest 15 letters, a-z only."""
    words = data.names()
    assert len(words) == 32033 and max(len(w) for w in words) == 15
    assert words[:8] == ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia"]
    assert words[-1] == "zzyzx" and sorted(set("".join(words))) == list("abcdefghijklmnopqrstuvwxyz")
    assert data.names() is not words and data.names() == words  # a fresh list each call: shuffling one is safe


def test_names_txt_is_package_data_with_its_source():
    """A non-editable install ships names.txt (pyproject's package-data globs), and SOURCES.md names its origin
    and carries makemore's MIT licence."""
    from importlib import resources
    from pathlib import Path

    sources = resources.files("tinygrad_edu").joinpath("datasets", "SOURCES.md").read_text(encoding="utf-8")
    assert "karpathy/makemore" in sources and "Copyright (c) 2022 Andrej Karpathy" in sources
    assert "Permission is hereby granted, free of charge" in sources
    tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml")
    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    globs = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]["tinygrad_edu"]
    assert any(Path("datasets/names.txt").match(g) for g in globs)
