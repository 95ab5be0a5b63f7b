"""torch.utils.data in the facade: TensorDataset, DataLoader (batch_size, shuffle with a generator, drop_last) and
the default collate, against real PyTorch where the order is not random."""

import numpy as np
import pytest

import tinygrad_edu.torch as ours
from tinygrad_edu.torch.utils.data import DataLoader, Dataset, TensorDataset


def _batches(lib, dataset_of, **settings):
    X = lib.tensor(np.arange(14.0).reshape(7, 2))
    y = lib.tensor([0, 1, 2, 0, 1, 2, 0])
    loader = lib.utils.data.DataLoader(dataset_of(lib, X, y), **settings)
    return len(loader), [[(tuple(t.shape), str(t.dtype), t.tolist()) for t in batch] for batch in loader]


def _tensors(lib, X, y):
    return lib.utils.data.TensorDataset(X, y)


def _pairs(lib, X, y):  # a plain list of (row, label) samples: the default collate stacks them
    return [(X[i], int(y[i])) for i in range(len(X))]


@pytest.mark.parametrize("dataset_of", [_tensors, _pairs])
@pytest.mark.parametrize("settings", [{"batch_size": 3}, {"batch_size": 3, "drop_last": True}, {"batch_size": 7}, {}])
def test_batches_in_order_are_pytorchs(dataset_of, settings):
    real = pytest.importorskip("torch")
    mine = _batches(ours, dataset_of, **settings)
    theirs = _batches(real, dataset_of, **settings)
    theirs = (theirs[0], [[(s, d.replace("float32", "float64"), v) for s, d, v in b] for b in theirs[1]])
    assert mine == theirs


def test_shuffle_is_a_new_order_each_epoch_and_the_same_for_the_same_seed():
    data = TensorDataset(ours.arange(10.0), ours.arange(10))

    def epochs(seed):
        loader = DataLoader(data, batch_size=4, shuffle=True, generator=ours.Generator().manual_seed(seed))
        return [[b[1].tolist() for b in loader] for _ in range(2)]

    first, again = epochs(5), epochs(5)
    assert first == again
    assert first[0] != first[1]
    for epoch in first:
        assert sorted(sum(epoch, [])) == list(range(10)) and [len(b) for b in epoch] == [4, 4, 2]


def test_a_batch_trains_a_model_and_keeps_its_graph():
    ours.manual_seed(0)
    model = ours.nn.Linear(2, 1)
    loader = DataLoader(TensorDataset(ours.randn(8, 2), ours.randn(8, 1)), batch_size=4)
    for xb, yb in loader:
        ours.nn.MSELoss()(model(xb), yb).backward()
    assert model.weight.grad is not None and model.weight.grad.shape == (1, 2)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="Size mismatch between tensors"):
        TensorDataset(ours.zeros(3, 2), ours.zeros(4))
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(TensorDataset(ours.zeros(3)), batch_size=0)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        DataLoader(TensorDataset(ours.zeros(3)), shuffle=True, generator=3)
    with pytest.raises(NotImplementedError, match="must define __getitem__"):
        Dataset()[0]
    with pytest.raises(AttributeError, match="supports: Dataset, TensorDataset, DataLoader"):
        ours.utils.data.Sampler  # noqa: B018
