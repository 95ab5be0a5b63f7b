"""The facade's first layers of the next chapter (Dropout, Embedding, LayerNorm): PyTorch's names, shapes,
parameter names and start, train/eval, and a real PyTorch model that loads our state_dict gives our outputs."""

import numpy as np
import pytest

import tinygrad_edu.torch as ours


class Tagger(ours.nn.Module):
    """Embedding -> LayerNorm -> Dropout -> Linear, as a small sequence model writes it."""

    def __init__(self, nn):
        super().__init__()
        build(self, nn)

    def forward(self, idx):
        return self.out(self.drop(self.norm(self.emb(idx))))


def build(self, nn) -> None:
    self.emb = nn.Embedding(12, 6)
    self.norm = nn.LayerNorm(6)
    self.drop = nn.Dropout(0.25)
    self.out = nn.Linear(6, 3)


def _real_tagger(real):
    class RealTagger(real.nn.Module):
        def __init__(self):
            super().__init__()
            build(self, real.nn)

        forward = Tagger.forward

    return RealTagger()


def test_a_real_pytorch_model_loads_our_state_dict_and_agrees_in_eval():
    real = pytest.importorskip("torch")
    ours.manual_seed(0)
    model = Tagger(ours.nn)
    model.norm.weight.data += np.linspace(0.5, 1.5, 6)  # (not the ones it starts at)
    theirs = _real_tagger(real).double()
    state = model.state_dict()
    assert list(state) == list(theirs.state_dict())
    assert {k: v.shape for k, v in state.items()} == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    theirs.load_state_dict({k: real.from_numpy(np.asarray(v)) for k, v in state.items()})
    model.eval()
    theirs.eval()
    idx = [[1, 5, 11], [0, 0, 7]]
    mine = model(ours.tensor(idx))
    expected = theirs(real.tensor(idx))
    np.testing.assert_allclose(mine.detach().numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    mine.sum().backward()
    expected.sum().backward()
    for (name, p), q in zip(model.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_dropout_trains_and_is_the_identity_in_eval():
    drop = ours.nn.Dropout(0.5)
    x = ours.ones(1000)
    kept = drop(x).numpy()
    assert set(np.unique(kept)) <= {0.0, 2.0} and 300 < np.count_nonzero(kept) < 700
    drop.eval()
    assert drop(x) is x or np.array_equal(drop(x).numpy(), x.numpy())


def test_layers_print_and_start_as_pytorchs():
    real = pytest.importorskip("torch")
    for make in (lambda nn: nn.Dropout(0.2), lambda nn: nn.Embedding(5, 3), lambda nn: nn.LayerNorm((2, 3))):
        assert repr(make(ours.nn)) == repr(make(real.nn))
    norm = ours.nn.LayerNorm(4)
    assert norm.weight.tolist() == [1.0] * 4 and norm.bias.tolist() == [0.0] * 4
    ours.manual_seed(1)
    table = ours.nn.Embedding(2000, 5).weight.numpy()
    assert abs(table.mean()) < 0.05 and abs(table.std() - 1.0) < 0.05  # N(0, 1), as PyTorch's


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="between 0 and 1"):
        ours.nn.Dropout(1.5)
    with pytest.raises(ValueError, match="Embedding num_embeddings"):
        ours.nn.Embedding(0, 3)


def test_a_model_moved_to_the_cpu_or_to_float64_is_itself_and_permute_reorders_axes():
    """Tutorial habits: ``model.double()``, ``model.float()``, ``model.to("cpu")`` (every number is float64 on
    the CPU here), another device refused; ``x.permute(2, 0, 1)`` as PyTorch's, its gradient back in place."""
    model = ours.nn.Sequential(ours.nn.Linear(2, 3), ours.nn.ReLU())
    assert model.double() is model and model.float() is model and model.to("cpu") is model and model.cpu() is model
    with pytest.raises(ValueError, match="cuda"):
        model.to("cuda")
    x = ours.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    y = x.permute(2, 0, 1)
    np.testing.assert_array_equal(y.numpy(), np.arange(24.0).reshape(2, 3, 4).transpose(2, 0, 1))
    (y * ours.tensor(np.arange(24.0).reshape(4, 2, 3))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(24.0).reshape(4, 2, 3).transpose(1, 2, 0))


def test_tensor_flatten_as_pytorch():
    torch = pytest.importorskip("torch")
    data = np.arange(24.0).reshape(2, 3, 4)
    for args in [(), (1,), (0, 1), (-2,)]:
        mine, theirs = ours.tensor(data).flatten(*args), torch.tensor(data).flatten(*args)
        assert mine.shape == tuple(theirs.shape), args
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
