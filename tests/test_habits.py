"""PyTorch's and micrograd's habits work on the main API too."""

import numpy as np
import pytest

import tinygrad_edu
from tinygrad_edu import Value, nn, viz


def test_dim_and_keepdim_beside_axis_and_keepdims():
    x = Value(np.arange(6.0).reshape(2, 3))
    assert x.sum(dim=1).tolist() == x.sum(axis=1).tolist() == [3.0, 12.0]
    assert x.mean(dim=0, keepdim=True).shape == (1, 3) and x.max(dim=-1, keepdim=True).shape == (2, 1)
    np.testing.assert_allclose(x.softmax(dim=0).data, x.softmax(axis=0).data)
    np.testing.assert_allclose(x.log_softmax(dim=0).data, x.log_softmax(0).data)
    with pytest.raises(TypeError, match="both axis= and dim="):
        x.sum(axis=0, dim=1)
    with pytest.raises(TypeError, match="sum keepdim must be True or False"):
        x.sum(keepdim=1)


def test_comparisons_are_constants_without_a_graph():
    x = Value(np.array([0.2, 0.7]))
    for mask, expected in [(x > 0.5, [0.0, 1.0]), (x <= 0.2, [1.0, 0.0]), (x == 0.7, [0.0, 1.0]), (x != x, [0, 0])]:
        assert mask.tolist() == expected and not mask.requires_grad and mask.parents == ()
    assert (Value(1.0) < Value(2.0)).item() == 1.0 and bool(Value(1.0) >= 2.0) is False
    assert len({x, Value(np.array([0.2, 0.7]))}) == 2  # still told apart by identity in sets


def test_detach_numpy_tolist():
    x = Value(np.array([1.0, 2.0]))
    y = x * 2
    d = y.detach()
    assert d.parents == () and not d.requires_grad and d.tolist() == [2.0, 4.0]
    assert isinstance(y.numpy(), np.ndarray) and Value(3.0).tolist() == 3.0


def test_train_and_eval_on_our_models():
    model = nn.MLP(2, [3, 1], seed=0)
    assert model.training
    assert model.eval() is model and not model.training
    assert model.train().training


def test_models_without_a_seed_follow_numpys_seed_and_manual_seed():
    np.random.seed(4)
    a = nn.MLP(2, [3, 1]).state_dict()
    tinygrad_edu.manual_seed(4)
    b = nn.MLP(2, [3, 1]).state_dict()
    c = nn.MLP(2, [3, 1]).state_dict()  # the state has moved on: another draw
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(b[k], c[k]) for k in b)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        tinygrad_edu.manual_seed(-1)


def test_granularity_mistakes_say_how_to_fix_them():
    with pytest.raises(TypeError, match=r"granularity='scalar'"):
        nn.Layer(2, 3)([Value(1.0), Value(2.0)])
    with pytest.raises(AttributeError, match=r"weight matrix \.w, not \.neurons.*granularity='scalar'"):
        getattr(nn.Layer(2, 3), "neurons")  # noqa: B009
    with pytest.raises(AttributeError, match="'Layer' object has no attribute 'weights'"):
        getattr(nn.Layer(2, 3), "weights")  # noqa: B009


def test_render_without_a_suffix_writes_svg_and_draw_graph_takes_a_format(tmp_path):
    x = Value(2.0, label="x")
    y = (x * x).tanh()
    y.backward()
    written = viz.render_graph(y, tmp_path / "gout")
    assert written.name == "gout.svg" and "<svg" in written.read_text()
    graph = viz.draw_graph(y, format="png")
    assert graph.format == "png" and graph.pipe()[:4] == b"\x89PNG"


def test_an_unlabeled_parameter_is_not_drawn_as_a_constant():
    w = Value(2.0)  # a trainable leaf with no label
    out = w * Value(3.0, requires_grad=False)
    source = viz.draw_graph(out).source
    assert "<B>param</B>" in source and "<B>const</B>" in source


def test_the_manual_update_under_no_grad_changes_the_parameter_in_place():
    """PyTorch's autograd tutorial updates its weights by hand: ``a -= lr * a.grad`` inside no_grad, then
    ``a.grad = None``. The Value must stay the same node (rebinding it to a new constant would
    leave the model training nothing)."""
    import tinygrad_edu.torch as torch

    x = torch.linspace(-1, 1, 50)
    y = 2 * x + 1
    a = torch.tensor(0.0, requires_grad=True)
    b = torch.tensor(np.zeros(1), requires_grad=True)
    first_a, first_b = a, b
    for _ in range(300):
        loss = ((a + b * x - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            a -= 0.1 * a.grad
            b -= 0.1 * b.grad
        a.grad = None
        b.grad = None
    assert a is first_a and b is first_b and a.requires_grad
    assert a.item() == pytest.approx(1.0, abs=1e-6) and b.data[0] == pytest.approx(2.0, abs=1e-6)


def test_in_place_operators_under_no_grad_and_with_the_graph_on():
    w = Value(np.array([1.0, 2.0]))
    with tinygrad_edu.no_grad():
        w += 1.0
        w *= Value(np.array([2.0, 0.5]))
        w /= 2
        w -= np.array([0.5, 0.5])
        with pytest.raises(ValueError, match=r"cannot change the shape: this Value has shape \(2,\)"):
            w += np.ones((3, 2))
    np.testing.assert_allclose(w.data, [1.5, 0.25])
    total = Value(0.0)  # micrograd's habit: with the graph on, += makes a new node
    node = total
    for v in (w, w):
        total += (v * v).sum()
    assert total is not node
    total.backward()
    np.testing.assert_allclose(w.grad, 4 * w.data)
