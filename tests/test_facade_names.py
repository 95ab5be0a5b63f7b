"""The facade's names from issue #22, each run as a tutorial writes it on this engine and on real PyTorch:
the same values, shapes and gradients (to 1e-12), and clear errors for what PyTorch would refuse."""

import numpy as np
import pytest

import tinygrad_edu.torch as torch
import tinygrad_edu.torch.nn as nn

TOL = {"rtol": 1e-12, "atol": 1e-12}


def _real():
    return pytest.importorskip("torch", reason="PyTorch is the oracle; install the 'torch' extra")


def _both(fn, *arrays):
    """``fn(lib, *tensors)`` on ours and on PyTorch's, from the same float64 arrays (requiring gradients):
    the outputs, and each input's gradient after ``output.sum().backward()``, must agree."""
    real = _real()
    results = []
    for lib in (torch, real):
        xs = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
        out = fn(lib, *xs)
        out.sum().backward()
        results.append((out.detach().numpy(), tuple(out.shape), [np.asarray(x.grad) for x in xs]))
    (ours, ours_shape, ours_grads), (theirs, theirs_shape, theirs_grads) = results
    assert ours_shape == theirs_shape
    np.testing.assert_allclose(ours, theirs, **TOL)
    for a, b in zip(ours_grads, theirs_grads):
        np.testing.assert_allclose(a, b, **TOL)


rng = np.random.default_rng(22)
M, N, V, W = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=4), rng.normal(size=4)
B = rng.normal(size=(2, 3, 4))


# ------------------------------------------------------------ 1. matmul, dtype names, the device


@pytest.mark.parametrize("a, b", [(M, N), (M, V), (V, N), (V, W), (B, N)], ids=["mm", "mv", "vm", "vv", "batch"])
def test_matmul_matches_pytorch(a, b):
    _both(lambda lib, x, y: lib.matmul(x, y), a, b)


def test_matmul_of_mismatched_shapes_names_them():
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3, 4\)|shapes"):
        torch.matmul(torch.tensor(M), torch.tensor(M))


@pytest.mark.parametrize("name", ["float", "float32", "float64"])
def test_dtype_names_are_accepted_and_the_numbers_stay_float64(name):
    real = _real()
    dtype = getattr(torch, name)
    for make in (
        lambda: torch.tensor([1, 2], dtype=dtype),
        lambda: torch.zeros(2, dtype=dtype),
        lambda: torch.ones(2, dtype=dtype),
        lambda: torch.randn(2, dtype=dtype),
        lambda: torch.eye(2, dtype=dtype),
        lambda: torch.full((2,), 1.5, dtype=dtype),
    ):
        assert make().numpy().dtype == np.float64
    assert getattr(real, name).is_floating_point  # PyTorch has the same names
    x = torch.tensor([1.0, 2.0])
    assert x.to(dtype) is x


def test_a_dtype_that_is_not_a_name_here_is_refused():
    with pytest.raises(ValueError, match="dtype must be torch.float"):
        torch.zeros(2, dtype="float64")


def test_the_cpu_device_is_the_identity():
    real = _real()
    cpu = torch.device("cpu")
    assert cpu == "cpu" and cpu.type == real.device("cpu").type and repr(cpu) == repr(real.device("cpu"))
    x = torch.tensor([1.0, 2.0], device=cpu, requires_grad=True)
    assert x.to("cpu") is x and x.cpu() is x and x.to(cpu) is x and x.to(device="cpu", dtype=torch.float) is x
    with pytest.raises(ValueError, match="only device 'cpu'"):
        torch.device("cuda")
    with pytest.raises(ValueError, match="to\\(\\) takes only 'cpu'.*'cuda'"):
        x.to("cuda")
    with pytest.raises(ValueError, match="only device='cpu'"):
        torch.zeros(2, device="cuda")


# ------------------------------------------------------------ 2. Tensor methods


def test_requires_grad_and_is_leaf_as_in_pytorch():
    real = _real()
    for lib in (torch, real):
        w = lib.tensor([1.0, 2.0], dtype=lib.float64)
        assert w.is_leaf and not w.requires_grad
        assert w.requires_grad_() is w and w.requires_grad and w.is_leaf
        y = (w * 2).sum()
        assert not y.is_leaf
        y.backward()
        np.testing.assert_array_equal(np.asarray(w.grad), [2.0, 2.0])
        assert w.requires_grad_(False) is w and not w.requires_grad
        assert (w * 2).is_leaf  # computed from constants only: no graph, a leaf in PyTorch too
    with pytest.raises(RuntimeError, match="leaves only"):
        (torch.tensor([1.0], requires_grad=True) * 2).requires_grad_(False)
    with pytest.raises(TypeError, match="requires_grad must be True or False"):
        torch.tensor([1.0]).requires_grad_(1)


@pytest.mark.parametrize("a", [M, V], ids=["2d", "1d"])
def test_t_matches_pytorch(a):
    _both(lambda lib, x: x.t() * lib.tensor(np.arange(a.size, dtype=float).reshape(a.T.shape)), a)


def test_t_of_three_dimensions_names_the_shape():
    with pytest.raises(ValueError, match=r"at most 2 dimensions, got shape \(2, 3, 4\)"):
        torch.tensor(B).t()


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_unsqueeze_matches_pytorch(dim):
    _both(lambda lib, x: x.unsqueeze(dim) * 3, M)


def test_unsqueeze_out_of_range_names_the_axis():
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        torch.tensor(M).unsqueeze(3)


@pytest.mark.parametrize("dim", [None, 0, 1, 2, -1, -2])
def test_squeeze_matches_pytorch(dim):
    a = rng.normal(size=(1, 3, 1))
    _both(lambda lib, x: (x.squeeze() if dim is None else x.squeeze(dim)) * 2, a)


def test_squeeze_of_a_scalar_and_a_bad_axis():
    real = _real()
    assert torch.tensor(2.0).squeeze().shape == real.tensor(2.0).squeeze().shape == ()
    assert torch.tensor(2.0).squeeze(0).shape == ()
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        torch.tensor(B).squeeze(3)


def test_dot_and_pow_match_pytorch():
    _both(lambda lib, x, y: x.dot(y), V, W)
    _both(lambda lib, x: x.pow(3) + x.pow(2.0), V)
    _both(lambda lib, x, y: x.abs().pow(y), V, W)


def test_dot_names_the_shapes_it_cannot_take():
    with pytest.raises(ValueError, match=r"two 1-D Values, got shapes \(3, 4\) and \(4,\)"):
        torch.tensor(M).dot(torch.tensor(V))
    with pytest.raises(ValueError, match=r"same length, got shapes \(4,\) and \(3,\)"):
        torch.tensor(V).dot(torch.tensor(V[:3]))


# ------------------------------------------------------------ 3. creators, allclose, norm


def test_creators_match_pytorch():
    real = _real()
    for ours, theirs in [
        (torch.eye(3), real.eye(3)),
        (torch.eye(2, 4), real.eye(2, 4)),
        (torch.eye(3, m=1), real.eye(3, m=1)),
        (torch.full((2, 3), 0.5), real.full((2, 3), 0.5)),
        (torch.full([4], -2), real.full([4], -2.0)),
        (torch.zeros_like(torch.tensor(M)), real.zeros_like(real.tensor(M))),
        (torch.ones_like(torch.tensor(B)), real.ones_like(real.tensor(B))),
        (torch.ones_like(torch.tensor(3.0)), real.ones_like(real.tensor(3.0))),
    ]:
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert not ours.requires_grad
    assert torch.zeros_like(torch.tensor(M, requires_grad=True), requires_grad=True).requires_grad
    for t in (torch.randn(()), torch.randn(size=()), real.randn(()), real.randn(size=())):
        assert tuple(t.shape) == ()
    assert torch.randn(size=(2, 3)).shape == torch.randn(2, 3).shape == (2, 3)


def test_creators_refuse_bad_sizes_by_name():
    with pytest.raises(ValueError, match="eye n must be an integer >= 0, got -1"):
        torch.eye(-1)
    with pytest.raises(TypeError, match="eye m must be an integer"):
        torch.eye(2, 2.5)
    with pytest.raises(TypeError, match="full fill_value must be a real number"):
        torch.full((2,), "x")
    with pytest.raises(TypeError, match="size must be an integer"):
        torch.full((2.5,), 1.0)
    with pytest.raises(TypeError, match="shape twice"):
        torch.randn(2, size=(2,))


def test_allclose_matches_pytorch():
    real = _real()
    a = M + 1e-9
    for kwargs in [{}, {"rtol": 0, "atol": 1e-10}, {"rtol": 1e-3}, {"atol": 1e-8, "rtol": 0}]:
        ours = torch.allclose(torch.tensor(M), torch.tensor(a), **kwargs)
        theirs = real.allclose(real.tensor(M), real.tensor(a), **kwargs)
        assert ours is theirs
    with pytest.raises(ValueError, match=r"shapes \(3, 4\) and \(4, 2\) do not broadcast"):
        torch.allclose(torch.tensor(M), torch.tensor(N))
    with pytest.raises(ValueError, match="allclose rtol must be >= 0"):
        torch.allclose(torch.tensor(M), torch.tensor(M), rtol=-1)


@pytest.mark.parametrize("a", [M, V, B, np.array(-2.5)], ids=["2d", "1d", "3d", "0d"])
def test_norm_and_its_gradient_match_pytorch(a):
    _both(lambda lib, x: lib.norm(x), a)
    _both(lambda lib, x: x.norm() * 2, a)


# ------------------------------------------------------------ 4. nn.Flatten


@pytest.mark.parametrize("start, end", [(1, -1), (0, -1), (0, 1), (1, 2), (2, 2), (-2, -1)])
def test_flatten_matches_pytorch(start, end):
    real = _real()
    _both(lambda lib, x: (nn if lib is torch else real.nn).Flatten(start, end)(x) * 2, B)
    assert repr(nn.Flatten(start, end)) == repr(real.nn.Flatten(start, end))


def test_flatten_in_a_model_and_its_errors():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 1))
    assert model(torch.tensor(B)).shape == (2, 1)
    assert nn.Flatten()(torch.tensor(B)).shape == (2, 12)
    with pytest.raises(ValueError, match="start_dim 2 comes after end_dim 1"):
        nn.Flatten(2, 1)(torch.tensor(B))
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        nn.Flatten(3)(torch.tensor(B))
    with pytest.raises(TypeError, match="Flatten start_dim must be an integer"):
        nn.Flatten(1.0)
