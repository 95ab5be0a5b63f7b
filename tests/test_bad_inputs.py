"""Wrong calls across the API: each is refused at once, by the right exception, with a message that
names what was wrong. (The command line's are in test_cli.py, files' in test_files.py.)"""

import numpy as np
import pytest

from tinygrad_edu import Value, activations, data, gradcheck, init, losses, nn, numerical_grad, optim, train
from tinygrad_edu.gradcheck import check_graph

X4, Y4 = data.xor()
v2 = Value(np.ones((2, 3)), label="v2")


def _model():
    return nn.MLP(2, [3, 1], seed=0)


WRONG_CALLS = [
    # Value and its methods
    (lambda: Value("1.0"), TypeError, "nested list or numpy array, got str"),
    (lambda: Value(None), TypeError, "got NoneType"),
    (lambda: Value([[1.0], [2.0, 3.0]]), ValueError, "ragged"),
    (lambda: Value(1 + 2j), TypeError, "complex"),
    (lambda: Value(["a"]), TypeError, "strings"),
    (lambda: Value(1.0, label=5), TypeError, "label must be a string, got int"),
    (lambda: Value(1.0).clip("a"), TypeError, "clip lo must be a real number, got str"),
    (lambda: Value(1.0).clip(None, "b"), TypeError, "clip hi must be a real number"),
    (lambda: Value(1.0).clip(float("nan")), ValueError, "clip lo must be a finite number, got nan"),
    (lambda: Value(1.0).leaky_relu("x"), TypeError, "leaky_relu alpha must be a real number, got str"),
    (lambda: v2.reshape(2.5), TypeError, "reshape size must be an integer, got float"),
    (lambda: v2.reshape(-2, 3), ValueError, "reshape size must be an integer >= -1, got -2"),
    (lambda: v2.sum(axis=1.5), TypeError, "sum axis must be an integer, got float"),
    (lambda: v2.mean(axis=(0, 0)), ValueError, "mean got a repeated axis"),
    (lambda: v2.max(axis=-3), ValueError, "axis -3 is out of range for 2 dimensions"),
    (lambda: v2.sum(keepdims="yes"), TypeError, "sum keepdims must be True or False"),
    (lambda: v2.softmax(axis=2), ValueError, "softmax of shapes \\(2, 3\\): axis 2 is out of range"),
    (lambda: v2.log_softmax(axis="1"), TypeError, "log_softmax axis must be an integer, got str"),
    (lambda: v2.transpose(0, 0), ValueError, "transpose of shapes \\(2, 3\\) needs an order of all 2 axes"),
    (lambda: v2.transpose(0), ValueError, "needs an order of all 2 axes"),
    (lambda: v2.transpose(0, 2), ValueError, "axis 2 is out of range"),
    (lambda: Value(1.0).softmax(), TypeError, "softmax needs a Value with at least one dimension"),
    (lambda: Value(1.0)[0], TypeError, "indexing needs a Value with at least one dimension"),
    (lambda: Value(1.0) ** "2", TypeError, "exponent must be a real number or a Value, got str"),
    (lambda: Value(1.0).backward(grad=np.ones(2)), ValueError, "backward grad has shape \\(2,\\)"),
    (lambda: Value(np.ones(2)).backward(), ValueError, "non-scalar Value of shape \\(2,\\) needs grad="),
    (lambda: bool(v2), ValueError, "bool\\(\\) needs a Value with one element"),
    (lambda: float(v2), ValueError, "float\\(\\) needs a Value with one element"),
    (lambda: int(v2), ValueError, "int\\(\\) needs a Value with one element"),
    (lambda: v2.item(), ValueError, "item\\(\\) needs a Value with one element"),
    (lambda: len(Value(1.0)), TypeError, "len\\(\\) of a scalar Value"),
    (lambda: Value([Value(1.0)]), TypeError, "holding Values"),
    (lambda: setattr(Value(np.ones(2)), "grad", np.ones(3)), ValueError, "grad of shape \\(3,\\) does not match"),
    # losses
    (
        lambda: losses.mse(Value(np.ones((4, 3))), np.ones((3, 4))),
        ValueError,
        "predictions of shape \\(4, 3\\) but targets of shape \\(3, 4\\)",
    ),
    (lambda: losses.mse(Value(np.ones(4)), np.ones((4, 4))), ValueError, "targets of shape \\(4, 4\\)"),
    (lambda: losses.mse(Value(np.ones((4, 2))), np.ones(4)), ValueError, "targets of shape \\(4,\\)"),
    (lambda: losses.mse(Value(np.ones(3)), 0.0), ValueError, "targets of shape \\(\\)"),
    (lambda: losses.bce(Value(np.ones((4, 3)) * 0.5), np.ones((3, 4))), ValueError, "targets of shape \\(3, 4\\)"),
    (lambda: losses.bce_with_logits(Value(np.ones((2, 2))), np.ones(4)), ValueError, "targets of shape \\(4,\\)"),
    (lambda: losses.hinge(Value(np.ones(3)), np.ones(2)), ValueError, "targets of shape \\(2,\\)"),
    (lambda: losses.bce(Value(np.array([0.5, 1.5])), [0.0, 1.0]), ValueError, "probabilities in \\[0, 1\\]"),
    (lambda: losses.bce(Value(np.array([0.5, -0.1])), [0.0, 1.0]), ValueError, "bce_with_logits"),
    (lambda: losses.bce(Value(np.array([0.5, np.nan])), [0.0, 1.0]), ValueError, "outside it or nan"),
    (lambda: losses.bce([Value(0.5), Value(2.0)], [0.0, 1.0]), ValueError, "probabilities in \\[0, 1\\]"),
    (lambda: losses.bce(Value(np.array([0.5, 0.5])), [0.0, np.nan]), ValueError, "targets in \\[0, 1\\]"),
    (lambda: losses.bce_with_logits(Value(np.ones(2)), [0.0, np.nan]), ValueError, "targets in \\[0, 1\\]"),
    (lambda: losses.mse(Value(np.ones(2)), [0.0, np.inf]), ValueError, "targets hold nan or inf"),
    (lambda: losses.mse(Value(np.ones(2)), ["a", "b"]), TypeError, "targets must be numbers"),
    (lambda: losses.mse(Value(np.zeros((0, 1))), np.zeros(0)), ValueError, "hold no elements"),
    (lambda: losses.cross_entropy(Value(np.zeros((0, 3))), np.zeros(0, int)), ValueError, "hold no elements"),
    (lambda: losses.mse([1.0, 2.0], [1.0, 2.0]), TypeError, "one scalar Value per example"),
    (lambda: losses.mse([], []), TypeError, "one scalar Value per example"),
    # gradcheck
    (lambda: gradcheck(lambda x: x.tanh(), Value(1.0), eps=0), ValueError, "eps must be > 0, got 0"),
    (lambda: gradcheck(lambda x: x.tanh(), Value(1.0), eps=-1e-6), ValueError, "eps must be > 0"),
    (lambda: gradcheck(lambda x: x.tanh(), Value(1.0), eps=float("nan")), ValueError, "eps must be a finite"),
    (lambda: gradcheck(lambda x: x.tanh(), Value(1.0), atol=-1), ValueError, "atol must be >= 0"),
    (lambda: gradcheck(lambda x: x.tanh(), Value(1.0), rtol=float("nan")), ValueError, "rtol must be a finite"),
    (lambda: gradcheck(lambda x: x.tanh(), Value(1.0), rtol="0.1"), TypeError, "rtol must be a real number"),
    (lambda: gradcheck(lambda: Value(1.0)), ValueError, "at least one input"),
    (lambda: gradcheck(lambda x: x * 2, Value(1.0, requires_grad=False)), ValueError, "nothing to check"),
    (lambda: gradcheck(lambda x: 3.0, Value(1.0)), TypeError, "fn must return a Value, it returned float"),
    (lambda: gradcheck(lambda x: None, Value(1.0)), TypeError, "returned NoneType"),
    (lambda: numerical_grad(lambda x: x, Value(1.0), eps=0), ValueError, "eps must be > 0"),
    (lambda: check_graph(Value(1.0).tanh(), eps=0), ValueError, "eps must be > 0"),
    # optimizers
    (lambda: optim.SGD(_model(), lr=0.1), TypeError, "did you mean model.parameters\\(\\)"),
    (lambda: optim.Adam(_model()), TypeError, "did you mean model.parameters\\(\\)"),
    (lambda: optim.SGD(Value(1.0), lr=0.1), TypeError, "one Value; pass a list"),
    (lambda: optim.SGD(5, lr=0.1), TypeError, "iterable of Values, got int"),
    (lambda: optim.SGD([Value(1.0), 2.0], lr=0.1), TypeError, "parameter 1 is float"),
    (lambda: optim.SGD([], lr=0.1), ValueError, "empty parameter list"),
    (lambda: optim.Adam([v2, v2]), ValueError, "parameter 1 \\(v2, shape \\(2, 3\\)\\) is listed twice"),
    (lambda: optim.SGD([Value(1.0)], lr=-1), ValueError, "Invalid learning rate: -1 \\(lr must be a finite number"),
    (lambda: optim.SGD([Value(1.0)], lr=float("inf")), ValueError, "Invalid learning rate"),
    (lambda: optim.SGD([Value(1.0)], lr=float("nan")), ValueError, "Invalid learning rate"),
    (lambda: optim.SGD([Value(1.0)], lr="0.1"), ValueError, "Invalid learning rate"),
    (lambda: optim.SGD([Value(1.0)], lr=True), ValueError, "Invalid learning rate"),
    (lambda: optim.SGD([Value(1.0)], lr=0.1, momentum=-0.5), ValueError, "momentum must be >= 0"),
    (lambda: optim.SGD([Value(1.0)], lr=0.1, momentum=float("nan")), ValueError, "momentum must be a finite"),
    (lambda: optim.SGD([Value(1.0)], lr=0.1, weight_decay=-1), ValueError, "weight_decay must be >= 0"),
    (lambda: optim.Adam([Value(1.0)], betas=(0.9, 1.0)), ValueError, "betas must be in \\[0, 1\\)"),
    (lambda: optim.Adam([Value(1.0)], betas=(-0.1, 0.9)), ValueError, "betas\\[0\\] must be >= 0"),
    (lambda: optim.Adam([Value(1.0)], betas=(0.9,)), ValueError, "betas must be two numbers"),
    (lambda: optim.Adam([Value(1.0)], betas=0.9), ValueError, "betas must be two numbers"),
    (lambda: optim.Adam([Value(1.0)], betas=(0.9, "x")), TypeError, "betas\\[1\\] must be a real number"),
    (lambda: optim.Adam([Value(1.0)], eps=-1e-8), ValueError, "eps must be >= 0"),
    (lambda: optim.Adam([Value(1.0)], eps=float("inf")), ValueError, "eps must be a finite"),
    (lambda: optim.Adam([Value(1.0)], weight_decay=float("nan")), ValueError, "weight_decay must be a finite"),
    (lambda: optim.get("rmsprop"), ValueError, "unknown optimizer 'rmsprop'"),
    (lambda: optim.get("sgd", betas=(0.9, 0.99)), ValueError, "optimizer 'sgd' takes no option 'betas'"),
    # activations and initializers
    (lambda: activations.get("relu", alpha=0.1), ValueError, "'relu' takes no option 'alpha'; its options: none"),
    (lambda: activations.get("leaky_relu", slope=0.1), ValueError, "takes no option 'slope'; its options: alpha"),
    (lambda: activations.get("relux"), ValueError, "unknown activation 'relux'"),
    (lambda: activations.get(3), ValueError, "unknown activation 3"),
    (lambda: init.get("he", gain=2), ValueError, "initializer 'he' takes no option 'gain'"),
    (lambda: init.get("constant", val=1), ValueError, "takes no option 'val'; its options: value"),
    (lambda: init.get("orthogonal"), ValueError, "unknown initializer 'orthogonal'"),
    # models
    (lambda: nn.MLP(2, [4], activation="relux"), ValueError, "unknown activation 'relux'"),
    (lambda: nn.MLP(2, [4, 1], seed=-1), ValueError, "seed must be an integer >= 0, got -1"),
    (lambda: nn.MLP(2, [4, 1], seed=1.5), TypeError, "seed must be an integer, got float"),
    (lambda: nn.MLP(2, [4, 1], bias_init="x"), TypeError, "bias_init must be a real number, got str"),
    (lambda: nn.MLP(2, [4, 1], bias_init=float("nan")), ValueError, "bias_init must be a finite number"),
    (lambda: nn.Neuron(2, bias_init="x"), TypeError, "bias_init must be a real number"),
    (lambda: nn.Neuron(2, seed=-1), ValueError, "seed must be an integer >= 0"),
    (lambda: nn.Layer(2, 3, seed="a"), TypeError, "seed must be an integer, got str"),
    (lambda: nn.MLP(2, [4, 1], granularity="matrix"), ValueError, "granularity must be one of"),
    (lambda: nn.MLP(2, [0]), ValueError, "layer size must be a positive integer"),
    (lambda: nn.MLP(2.5, [1]), ValueError, "nin must be a positive integer"),
    (lambda: nn.Perceptron(2, seed=-1), ValueError, "seed must be an integer >= 0"),
    (lambda: nn.Perceptron(2).fit(X4, Y4, lr=-1), ValueError, "lr must be > 0, got -1"),
    (lambda: nn.Perceptron(2).fit(X4, Y4, lr=float("nan")), ValueError, "lr must be a finite number"),
    (lambda: nn.Perceptron(2).fit(X4, Y4, epochs=0), ValueError, "epochs must be a positive integer"),
    (lambda: nn.Perceptron(2).fit(X4, Y4 * 2), ValueError, "labels must be 0 or 1"),
    (lambda: _model()([1.0, 2.0, 3.0]), ValueError, "expects input of shape \\(2,\\) or \\(batch, 2\\)"),
    (lambda: _model().load_state_dict({"layers.0.w": np.full((2, 3), np.nan)}), ValueError, "holds nan or inf"),
    # training
    (lambda: train.fit(_model(), X4, Y4, batch_size=0), ValueError, "batch_size must be an integer >= 1, got 0"),
    (lambda: train.fit(_model(), X4, Y4, batch_size=-1), ValueError, "batch_size must be an integer >= 1"),
    (lambda: train.fit(_model(), X4, Y4, batch_size=2.5), TypeError, "batch_size must be an integer, got float"),
    (lambda: train.fit(_model(), X4, Y4, steps=0), ValueError, "steps must be a positive integer"),
    (lambda: train.fit(_model(), X4, Y4, loss="l1"), ValueError, "unknown loss 'l1'"),
    (lambda: train.fit(_model(), X4, Y4[:3]), ValueError, "X has 4 rows but y has 3 labels"),
    (lambda: train.fit(_model(), X4, Y4, lr=-0.5), ValueError, "Invalid learning rate"),
    # data
    (lambda: data.moons(1), ValueError, "n must be an integer >= 2"),
    (lambda: data.moons(10, noise=-1), ValueError, "noise must be >= 0"),
    (lambda: data.gates("maybe"), ValueError, "unknown gate 'maybe'"),
]


@pytest.mark.parametrize("call, error, words", WRONG_CALLS)
def test_a_wrong_call_is_refused_with_a_message_naming_what_was_wrong(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_targets_may_differ_by_one_trailing_axis_of_size_1():
    pred = Value(np.array([[0.2], [0.8]]))
    a = losses.mse(pred, [0.0, 1.0])
    b = losses.mse(pred, [[0.0], [1.0]])
    c = losses.mse(Value(np.array([0.2, 0.8])), [[0.0], [1.0]])
    assert a.data == b.data == c.data == pytest.approx(0.04)
    assert losses.mse(Value(np.array([0.5])), 1.0).data == pytest.approx(0.25)  # one output, one target


@pytest.mark.parametrize("loss", [losses.mse, losses.bce, losses.bce_with_logits])
def test_a_value_target_is_a_constant(loss):
    pred = Value(np.array([0.3, 0.6]))
    target = Value(np.array([0.0, 1.0]))
    a = loss(pred, target)
    b = loss(Value(pred.data), target.data)
    assert a.data == pytest.approx(b.data)
    a.backward()
    assert np.all(target.grad == 0)  # nothing flows into a target


def test_hinge_and_cross_entropy_take_value_targets():
    assert losses.hinge(Value(np.array([0.5, -2.0])), Value(np.array([1.0, -1.0]))).data == pytest.approx(0.25)
    logits = Value(np.array([[2.0, 0.0], [0.0, 2.0]]))
    assert losses.cross_entropy(logits, Value(np.array([0.0, 1.0]))).data == pytest.approx(
        losses.cross_entropy(logits, [0, 1]).data
    )


def test_the_table_is_large():
    assert len(WRONG_CALLS) >= 120
