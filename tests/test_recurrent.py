"""Recurrence: our nn's RNNCell, LSTMCell, RNN, LSTM (tinygrad_edu.recurrent's steps, unrolled) and the facade's
under PyTorch's names. Outputs, final states and gradients against real PyTorch (float64, 1e-10), our gradcheck
through the unrolled steps, the graph's step names, train.fit, compile, save/load, and bad inputs."""

import warnings

import numpy as np
import pytest

import tinygrad_edu
import tinygrad_edu.torch as ours
from tinygrad_edu import gradcheck, losses, nn, train
from tinygrad_edu.compiler import CompileWarning
from tinygrad_edu.engine import toposort

TIGHT = {"rtol": 1e-10, "atol": 1e-12}


def real_torch():
    torch = pytest.importorskip("torch")
    return torch


def to_real(ours_model, torch, cls: str, **options):
    """The same PyTorch layer with our facade model's weights (its state_dict, loaded as PyTorch's)."""
    real = getattr(torch.nn, cls)(ours_model.input_size, ours_model.hidden_size, **options).double()
    real.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours_model.state_dict().items()})
    return real


def core_to_real(model: nn.RNN, torch, cls: str):
    """PyTorch's layer with our nn's weights: weight_ih_lk = w_ih.T, bias_ih_lk = b, bias_hh_lk = 0."""
    real = getattr(torch.nn, cls)(model.input_size, model.hidden_size, model.num_layers, batch_first=True).double()
    with torch.no_grad():
        for k, cell in enumerate(model.cells):
            getattr(real, f"weight_ih_l{k}").copy_(torch.from_numpy(cell.w_ih.numbers.T))
            getattr(real, f"weight_hh_l{k}").copy_(torch.from_numpy(cell.w_hh.numbers.T))
            getattr(real, f"bias_ih_l{k}").copy_(torch.from_numpy(cell.b.numbers))
            getattr(real, f"bias_hh_l{k}").zero_()
    return real


@pytest.mark.parametrize("cls", ["RNN", "LSTM"])
@pytest.mark.parametrize("layers", [1, 2])
def test_our_nn_recurrent_layers_against_pytorch(cls, layers):
    torch = real_torch()
    model = getattr(nn, cls)(3, 5, num_layers=layers, seed=1)
    real = core_to_real(model, torch, cls)
    x = np.random.default_rng(0).normal(size=(4, 6, 3))
    out, final = model(x)
    real_out, real_final = real(torch.from_numpy(x))
    np.testing.assert_allclose(out.numbers, real_out.detach().numpy(), **TIGHT)
    finals = (final,) if cls == "RNN" else final
    real_finals = (real_final,) if cls == "RNN" else real_final
    for ours_state, real_state in zip(finals, real_finals):
        assert ours_state.shape == (layers, 4, 5)
        np.testing.assert_allclose(ours_state.numbers, real_state.detach().numpy(), **TIGHT)
    weights = np.random.default_rng(1).normal(size=out.shape)
    (out * weights).sum().backward()
    (real_out * torch.from_numpy(weights)).sum().backward()
    for k, cell in enumerate(model.cells):
        np.testing.assert_allclose(cell.w_ih.grad, getattr(real, f"weight_ih_l{k}").grad.numpy().T, **TIGHT)
        np.testing.assert_allclose(cell.w_hh.grad, getattr(real, f"weight_hh_l{k}").grad.numpy().T, **TIGHT)
        np.testing.assert_allclose(cell.b.grad, getattr(real, f"bias_ih_l{k}").grad.numpy(), **TIGHT)


def test_our_lstm_from_a_given_state_and_its_gradient_against_pytorch():
    torch = real_torch()
    model = nn.LSTM(2, 3, seed=0)
    real = core_to_real(model, torch, "LSTM")
    rng = np.random.default_rng(2)
    x, h0, c0 = rng.normal(size=(2, 4, 2)), rng.normal(size=(1, 2, 3)), rng.normal(size=(1, 2, 3))
    h0v, c0v = tinygrad_edu.Value(h0), tinygrad_edu.Value(c0)
    out, (h, c) = model(x, (h0v, c0v))
    th0, tc0 = torch.from_numpy(h0).requires_grad_(), torch.from_numpy(c0).requires_grad_()
    real_out, (real_h, real_c) = real(torch.from_numpy(x), (th0, tc0))
    (out.sum() + (c * c).sum()).backward()
    (real_out.sum() + (real_c * real_c).sum()).backward()
    np.testing.assert_allclose(h0v.grad, th0.grad.numpy(), **TIGHT)
    np.testing.assert_allclose(c0v.grad, tc0.grad.numpy(), **TIGHT)


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell"])
def test_our_cells_are_one_step_of_the_layer(cls):
    cell = getattr(nn, cls)(3, 4, seed=0)
    x = np.random.default_rng(0).normal(size=(2, 3))
    state = cell(x)
    h = state if cls == "RNNCell" else state[0]
    layer = getattr(nn, cls.removesuffix("Cell"))(3, 4, seed=0)
    out, _ = layer(x[:, None, :])
    np.testing.assert_allclose(h.numbers, out.numbers[:, 0], **TIGHT)
    assert cell(x[0]).shape == (4,) if cls == "RNNCell" else cell(x[0])[1].shape == (4,)  # one example, unbatched


def test_the_lstm_forget_gate_starts_remembering():
    cell = nn.LSTMCell(2, 3, seed=0)
    np.testing.assert_array_equal(cell.b.numbers, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    assert nn.LSTMCell(2, 3, forget_bias=0.0, seed=0).b.numbers.sum() == 0


@pytest.mark.parametrize("cls", ["RNN", "LSTM"])
def test_gradcheck_through_the_unrolled_steps(cls):
    model = getattr(nn, cls)(2, 3, seed=0)
    x = tinygrad_edu.Value(np.random.default_rng(0).normal(size=(2, 4, 2)))
    gradcheck(lambda x, *params: (model(x)[0] ** 2).sum(), x, *model.parameters())


def test_the_unrolled_graph_names_each_step_in_time_order():
    model = nn.LSTM(2, 3, seed=0)
    out, (h, c) = model(np.ones((1, 5, 2)))
    labels = {v.label for v in toposort(out)}
    assert {f"h{t}" for t in range(1, 6)} <= labels and {f"c{t}" for t in range(1, 6)} <= labels
    assert {f"x{t}" for t in range(1, 6)} <= labels
    # BPTT: every step's w_hh product reads the same parameter, so its gradient sums 5 steps' shares
    out[:, -1].sum().backward()
    assert np.abs(model.cells[0].w_hh.grad).sum() > 0


def test_vanilla_rnn_gradient_to_early_steps_vanishes_and_the_lstm_keeps_more():
    """The lesson in one assertion: d h_T / d x_1 shrinks with T for a tanh RNN with small recurrent weights."""
    rng = np.random.default_rng(0)
    rnn = nn.RNN(1, 8, seed=0)
    rnn.cells[0].w_hh.numbers[...] *= 0.5
    x = tinygrad_edu.Value(rng.normal(size=(1, 30, 1)))
    out, _ = rnn(x)
    out[:, -1].sum().backward()
    reach = np.abs(x.grad[0, :, 0])
    assert reach[0] < 1e-6 * reach[-1]


class Summer(nn.Module):
    """A sequence model on our nn: the LSTM's last hidden state, then a Layer to one number."""

    def __init__(self):
        self.lstm = nn.LSTM(1, 8, seed=0)
        self.head = nn.Layer(8, 1, activation=None, seed=0)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def test_a_sequence_model_trains_with_fit_in_minibatches():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(256, 6, 1))
    y = X.sum(axis=(1, 2))[:, None] / 3
    model = Summer()
    before = losses.mse(model(X), y).item()
    history = train.fit(model, X, y, loss="mse", optimizer="adam", lr=0.02, steps=200, batch_size=32)
    after = losses.mse(model(X), y).item()
    assert after < 0.05 * before and len(history) == 200


def test_a_compiled_lstm_step_equals_eager():
    rng = np.random.default_rng(0)
    X, y = rng.uniform(-1, 1, size=(32, 5, 1)), rng.normal(size=(32, 1))
    twins = [Summer(), Summer()]
    step = tinygrad_edu.compile(lambda xb, yb: losses.mse(twins[1](xb), yb))
    opts = [tinygrad_edu.optim.SGD(m.parameters(), lr=0.1) for m in twins]
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        for _ in range(4):
            for o in opts:
                o.zero_grad()
            eager = losses.mse(twins[0](X), y)
            eager.backward()
            compiled = step(X, y)
            assert compiled.item() == pytest.approx(eager.item(), abs=1e-13)
            for p, q in zip(twins[0].parameters(), twins[1].parameters()):
                np.testing.assert_allclose(q.grad, p.grad, rtol=1e-12, atol=1e-14)
            for o in opts:
                o.step()


def test_save_and_load_a_recurrent_model(tmp_path):
    model, other = nn.LSTM(2, 3, num_layers=2, seed=0), nn.LSTM(2, 3, num_layers=2, seed=1)
    model.save(tmp_path / "lstm.npz")
    other.load(tmp_path / "lstm.npz")
    x = np.ones((1, 3, 2))
    np.testing.assert_array_equal(model(x)[0].numbers, other(x)[0].numbers)


@pytest.mark.parametrize(
    "make, call, message",
    [
        (lambda: nn.RNN(3, 4), lambda m: m(np.ones((2, 3))), r"expects input of shape \(N, T, input_size\)"),
        (lambda: nn.RNN(3, 4), lambda m: m(np.ones((2, 5, 2))), "expects 3 input features"),
        (lambda: nn.LSTM(3, 4), lambda m: m(np.ones((2, 5, 3)), (np.zeros((1, 2, 4)),)), r"must be a pair \(h, c\)"),
        (
            lambda: nn.LSTM(3, 4),
            lambda m: m(np.ones((2, 5, 3)), (np.zeros((1, 2, 4)), np.zeros(4))),
            "c0 must have shape",
        ),
        (lambda: nn.RNN(3, 4), lambda m: m(np.ones((2, 5, 3)), np.zeros((2, 4))), r"h0 must have shape \(1, 2, 4\)"),
        (lambda: nn.RNNCell(3, 4), lambda m: m(np.ones(3), np.zeros(5)), r"h must have shape \(4,\)"),
        (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), None, "nonlinearity must be 'tanh' or 'relu'"),
        (lambda: nn.LSTM(3, 0), None, "hidden_size must be a positive integer"),
        (lambda: nn.RNN(3, 4, num_layers=0), None, "num_layers must be a positive integer"),
    ],
)
def test_bad_inputs_to_our_recurrent_layers_say_what_is_wrong(make, call, message):
    with pytest.raises(ValueError, match=message):
        call(make())


# ---- the facade: PyTorch's torch.nn.RNN, LSTM, RNNCell, LSTMCell ----


@pytest.mark.parametrize("cls", ["RNN", "LSTM"])
@pytest.mark.parametrize(
    "options",
    [{}, {"batch_first": True}, {"num_layers": 2}, {"bias": False}, {"nonlinearity": "relu"}, {"dropout": 0.3}],
)
def test_facade_recurrent_layers_against_pytorch(cls, options):
    torch = real_torch()
    if cls == "LSTM" and "nonlinearity" in options:
        with pytest.raises(TypeError, match="nonlinearity"):
            ours.nn.LSTM(3, 4, **options)
        return
    options = {**options, "num_layers": 2} if "dropout" in options else options
    model = getattr(ours.nn, cls)(3, 4, **options).eval()  # dropout between layers: only in training
    real = to_real(model, torch, cls, **options).eval()
    assert list(model.state_dict()) == list(real.state_dict())
    assert all(v.shape == tuple(real.state_dict()[k].shape) for k, v in model.state_dict().items())
    assert repr(model) == repr(real)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 3) if options.get("batch_first") else (5, 2, 3))
    layers = options.get("num_layers", 1)
    h0 = rng.normal(size=(layers, 2, 4))
    state = h0 if cls == "RNN" else (h0, rng.normal(size=(layers, 2, 4)))
    ours_x, real_x = ours.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, final = model(ours_x, ours.tensor(state) if cls == "RNN" else tuple(map(ours.tensor, state)))
    real_state = torch.from_numpy(state) if cls == "RNN" else tuple(map(torch.from_numpy, state))
    real_out, real_final = real(real_x, real_state)
    np.testing.assert_allclose(out.numbers, real_out.detach().numpy(), **TIGHT)
    for a, b in zip((final,) if cls == "RNN" else final, (real_final,) if cls == "RNN" else real_final):
        np.testing.assert_allclose(a.numbers, b.detach().numpy(), **TIGHT)
    weights = rng.normal(size=out.shape)
    (out * ours.tensor(weights)).sum().backward()
    (real_out * torch.from_numpy(weights)).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), real_x.grad.numpy(), **TIGHT)
    for (name, p), (_, q) in zip(model.named_parameters(), real.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), **TIGHT, err_msg=name)


@pytest.mark.parametrize("cls", ["RNN", "LSTM"])
def test_facade_unbatched_sequence_against_pytorch(cls):
    torch = real_torch()
    model = getattr(ours.nn, cls)(3, 4, num_layers=2)
    real = to_real(model, torch, cls, num_layers=2)
    x = np.random.default_rng(0).normal(size=(6, 3))
    out, final = model(ours.tensor(x))
    real_out, real_final = real(torch.from_numpy(x))
    assert out.shape == tuple(real_out.shape) == (6, 4)
    np.testing.assert_allclose(out.numbers, real_out.detach().numpy(), **TIGHT)
    h, real_h = (final, real_final) if cls == "RNN" else (final[1], real_final[1])
    assert h.shape == tuple(real_h.shape) == (2, 4)
    np.testing.assert_allclose(h.numbers, real_h.detach().numpy(), **TIGHT)


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell"])
@pytest.mark.parametrize("batch", [(2,), ()])
def test_facade_cells_against_pytorch(cls, batch):
    torch = real_torch()
    cell = getattr(ours.nn, cls)(3, 4)
    real = to_real(cell, torch, cls)
    assert list(cell.state_dict()) == list(real.state_dict()) and repr(cell) == repr(real)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(*batch, 3))
    h = ours.tensor(rng.normal(size=(*batch, 4)), requires_grad=True)
    real_h = torch.tensor(h.numbers, requires_grad=True)
    if cls == "RNNCell":
        new, real_new = cell(ours.tensor(x), h), real(torch.from_numpy(x), real_h)
    else:
        c = rng.normal(size=(*batch, 4))
        new, real_new = (
            cell(ours.tensor(x), (h, ours.tensor(c)))[1],
            real(torch.from_numpy(x), (real_h, torch.from_numpy(c)))[1],
        )
    np.testing.assert_allclose(new.numbers, real_new.detach().numpy(), **TIGHT)
    (new * new).sum().backward()
    (real_new * real_new).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), real_h.grad.numpy(), **TIGHT)
    np.testing.assert_allclose(cell.weight_hh.grad.numpy(), real.weight_hh.grad.numpy(), **TIGHT)


def test_facade_lstm_starts_as_pytorch_does():
    bound = 1 / np.sqrt(20)
    lstm = ours.nn.LSTM(3, 20)
    for name, p in lstm.named_parameters():
        assert np.abs(p.numbers).max() <= bound and np.abs(p.numbers).max() > 0.8 * bound, name
    assert lstm.weight_ih_l0.shape == (80, 3) and lstm.weight_hh_l0.shape == (80, 20)


def test_the_pytorch_lstm_tutorial_tagger_runs():
    """PyTorch's "Sequence Models and LSTM Networks" tutorial: lstm = nn.LSTM(3, 3), a sequence of 5 inputs of
    shape (1, 3), stepped one at a time with the hidden state carried, then all at once: the same outputs."""
    ours.manual_seed(1)
    lstm = ours.nn.LSTM(3, 3)
    inputs = [ours.randn(1, 3) for _ in range(5)]
    hidden = (ours.randn(1, 1, 3), ours.randn(1, 1, 3))
    start = hidden
    for i in inputs:
        out, hidden = lstm(i.view(1, 1, -1), hidden)
    inputs = ours.cat(inputs).view(len(inputs), 1, -1)
    all_out, all_hidden = lstm(inputs, start)
    np.testing.assert_allclose(all_out[-1].numbers, out[0].numbers, **TIGHT)
    np.testing.assert_allclose(all_hidden[1].numbers, hidden[1].numbers, **TIGHT)
    assert all_out.shape == (5, 1, 3)


@pytest.mark.parametrize(
    "make, call, error, message",
    [
        (lambda: ours.nn.RNN(3, 4), lambda m: m(ours.ones(3)), ValueError, "Expected input to be 2D or 3D, got 1D"),
        (lambda: ours.nn.LSTM(3, 4), lambda m: m(ours.ones(5, 2, 2)), ValueError, "input.size\\(-1\\) must be equal"),
        (
            lambda: ours.nn.RNN(3, 4),
            lambda m: m(ours.ones(5, 2, 3), ours.zeros(2, 2, 4)),
            RuntimeError,
            "expected hidden size \\(1, 2, 4\\)",
        ),  # fmt: skip
        (
            lambda: ours.nn.LSTM(3, 4),
            lambda m: m(ours.ones(5, 2, 3), ours.zeros(1, 2, 4)),
            TypeError,
            "tuple \\(h_0, c_0\\)",
        ),  # fmt: skip
        (lambda: ours.nn.RNN(3, 4, nonlinearity="gelu"), None, ValueError, "Unknown nonlinearity 'gelu'"),
        (lambda: ours.nn.LSTM(3, 4, bidirectional=True), None, ValueError, "bidirectional"),
        (lambda: ours.nn.LSTMCell(3, 4), lambda m: m(ours.ones(2, 2, 3)), ValueError, "Expected input to be 1D or 2D"),
    ],
)
def test_bad_inputs_to_the_facade_recurrent_layers(make, call, error, message):
    with pytest.raises(error, match=message):
        call(make())


def lstm_tagger_tutorial(torch, weights=None) -> dict:
    """PyTorch's "Sequence Models and Long Short-Term Memory Networks" tutorial, its part-of-speech tagger, as
    written there (``weights``: a state_dict loaded after the model is built, so real PyTorch starts where ours
    did). Returns what it prints and the model."""
    nn, F, optim = torch.nn, torch.nn.functional, torch.optim
    printed = []

    def prepare_sequence(seq, to_ix):
        idxs = [to_ix[w] for w in seq]
        return torch.tensor(idxs, dtype=torch.long)

    training_data = [
        # Tags are: DET - determiner; NN - noun; V - verb
        # For example, the word "The" is a determiner
        ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
        ("Everybody read that book".split(), ["NN", "V", "DET", "NN"]),
    ]
    word_to_ix = {}
    for sent, tags in training_data:  # noqa: B007 (the tutorial's loop)
        for word in sent:
            if word not in word_to_ix:
                word_to_ix[word] = len(word_to_ix)
    tag_to_ix = {"DET": 0, "NN": 1, "V": 2}
    EMBEDDING_DIM = 6  # noqa: N806 (the tutorial's names)
    HIDDEN_DIM = 6  # noqa: N806

    class LSTMTagger(nn.Module):
        def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
            super().__init__()
            self.hidden_dim = hidden_dim
            self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
            # The LSTM takes word embeddings as inputs, and outputs hidden states with dimensionality hidden_dim.
            self.lstm = nn.LSTM(embedding_dim, hidden_dim)
            # The linear layer that maps from hidden state space to tag space
            self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

        def forward(self, sentence):
            embeds = self.word_embeddings(sentence)
            lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
            tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
            tag_scores = F.log_softmax(tag_space, dim=1)
            return tag_scores

    model = LSTMTagger(EMBEDDING_DIM, HIDDEN_DIM, len(word_to_ix), len(tag_to_ix))
    if weights is not None:
        model.load_state_dict(weights)
    start = model.state_dict() if weights is None else None  # (not the tutorial's: where ours started)
    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    # See what the scores are before training
    with torch.no_grad():
        inputs = prepare_sequence(training_data[0][0], word_to_ix)
        tag_scores = model(inputs)
        printed.append(tag_scores)

    for epoch in range(300):  # noqa: B007 again, normally you would NOT do 300 epochs, it is toy data
        for sentence, tags in training_data:
            model.zero_grad()
            sentence_in = prepare_sequence(sentence, word_to_ix)
            targets = prepare_sequence(tags, tag_to_ix)
            tag_scores = model(sentence_in)
            loss = loss_function(tag_scores, targets)
            loss.backward()
            optimizer.step()

    # See what the scores are after training
    with torch.no_grad():
        inputs = prepare_sequence(training_data[0][0], word_to_ix)
        tag_scores = model(inputs)
        # The predicted sequence below is 0 1 2 0 1 since 0 is DET, 1 is NOUN, 2 is VERB
        printed.append(tag_scores)
    return {"printed": printed, "model": model, "start": start}


def test_the_pytorch_lstm_tagger_tutorial_learns_the_tags_as_pytorch_does():
    ours.manual_seed(1)
    mine = lstm_tagger_tutorial(ours)
    before, after = (t.numpy() for t in mine["printed"])
    assert before.shape == after.shape == (5, 3)
    assert list(after.argmax(axis=1)) == [0, 1, 2, 0, 1]  # DET NN V DET NN, as the tutorial says
    np.testing.assert_allclose(np.exp(after).sum(axis=1), 1.0, rtol=1e-12)  # log-probabilities
    torch = real_torch()
    default, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)  # (two threads on these tiny tensors, on a busy machine: 20x slower)
    try:
        theirs = lstm_tagger_tutorial(torch, {k: torch.from_numpy(v) for k, v in mine["start"].items()})
    finally:
        torch.set_default_dtype(default)
        torch.set_num_threads(threads)
    for a, b in zip(mine["printed"], theirs["printed"]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-12)
    assert repr(mine["model"]) == repr(theirs["model"])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_after_log_softmax_is_cross_entropy_as_in_pytorch(reduction):
    torch = real_torch()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 5)), np.array([0, 3, 4, 3])
    mine = ours.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    loss = ours.nn.NLLLoss(reduction=reduction)(ours.nn.LogSoftmax(dim=1)(mine), ours.tensor(y))
    real = torch.nn.NLLLoss(reduction=reduction)(torch.nn.LogSoftmax(dim=1)(theirs), torch.tensor(y))
    np.testing.assert_allclose(loss.numbers, real.detach().numpy(), **TIGHT)
    weights = rng.normal(size=np.shape(loss.numbers))
    (loss * ours.tensor(weights)).sum().backward()
    (real * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), **TIGHT)
    if reduction == "mean":
        np.testing.assert_allclose(
            loss.item(), ours.nn.functional.cross_entropy(mine, ours.tensor(y)).item(), rtol=1e-14
        )
    one = ours.nn.functional.nll_loss(ours.nn.functional.log_softmax(ours.tensor(x[0]), dim=0), ours.tensor(3))
    assert one.item() == pytest.approx(
        torch.nn.functional.nll_loss(torch.log_softmax(torch.tensor(x[0]), 0), torch.tensor(3)).item()
    )


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: ours.nn.NLLLoss()(ours.zeros(2, 3), ours.tensor([0, 3])), ValueError, r"labels must be in 0..2"),
        (lambda: ours.nn.NLLLoss()(ours.zeros(2, 3), ours.tensor([0.5, 1.0])), ValueError, "integer class labels"),
        (lambda: ours.nn.NLLLoss()(ours.zeros(2, 3), ours.tensor([0, 1, 2])), ValueError, r"labels of shape \(2,\)"),
        (lambda: ours.nn.NLLLoss(reduction="max"), ValueError, "reduction="),
        (lambda: ours.nn.LogSoftmax(), TypeError, "needs dim="),
    ],
)
def test_bad_inputs_to_nll_loss_name_the_loss(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_an_empty_sequence_or_a_state_of_the_wrong_length_is_refused_in_words():
    with pytest.raises(ValueError, match="at least one step"):
        nn.RNN(3, 4)(np.ones((2, 0, 3)))
    with pytest.raises(ValueError, match="sequence length to be larger than 0"):
        ours.nn.RNN(3, 4)(ours.ones(0, 2, 3))
    with pytest.raises(TypeError, match="tuple of 3"):
        ours.nn.LSTM(3, 4)(ours.ones(5, 2, 3), (ours.zeros(1, 2, 4),) * 3)
