"""d2l.ai on this engine with only the import changed: "Automatic Differentiation" (chapter Preliminaries,
PyTorch tab) cell by cell, its exercises, and the linear regression from scratch.

Sources (d2l-ai/d2l-en): chapter_preliminaries/autograd.md at 23d7a5a (the current edition), and
chapter_linear-networks/linear-regression-scratch.md at v0.17.6 (the edition whose PyTorch tab trains with a
plain loop; the current one wraps the same steps in d2l's Module/Trainer classes). Each cell is written out
here in the original's order; what d2l's page prints is asserted as printed, and with PyTorch installed the
same cells run on real PyTorch and must print the same (float64 there, as the numbers are here).
"""

import importlib
import random

import numpy as np
import pytest

import tinygrad_edu.torch as torch  # was: import torch
from tinygrad_edu.engine import toposort
from tinygrad_edu.torch.tensor import FREED


@pytest.fixture
def libraries():
    """This facade, then real PyTorch too when it is installed (float64 by default, put back afterwards): a test
    runs the same code on each, checks each, and checks that the rest agree with ours."""
    try:
        real = importlib.import_module("torch")
    except ImportError:
        yield [torch]
        return
    before = real.get_default_dtype()
    real.set_default_dtype(real.float64)
    yield [torch, real]
    real.set_default_dtype(before)


@pytest.fixture
def pytorch(libraries):
    """Real PyTorch (float64 by default, as ``libraries`` sets it), for the tests that compare with it only."""
    if len(libraries) == 1:
        pytest.skip("PyTorch is the oracle; install the 'torch' extra")
    return libraries[1]


# ---------------------------------------------------------------- the section, cell by cell


def f(a):
    """The section's function with Python control flow: a loop and a branch that depend on ``a``'s value."""
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def automatic_differentiation(torch) -> list[str]:
    """The section's PyTorch cells in order; returns what the notebook shows under each (its last line's repr,
    nothing for None), taken when the cell runs."""
    shown = []
    display = lambda value: shown.append("" if value is None else repr(value))  # noqa: E731
    x = torch.arange(4.0)
    display(x)
    # Can also create x = torch.arange(4.0, requires_grad=True)
    x.requires_grad_(True)
    display(x.grad)  # The gradient is None by default
    y = 2 * torch.dot(x, x)
    display(y)
    y.backward()
    display(x.grad)
    display(x.grad == 4 * x)
    x.grad.zero_()  # Reset the gradient
    y = x.sum()
    y.backward()
    display(x.grad)
    # Backward for non-scalar variables
    x.grad.zero_()
    y = x * x
    y.backward(gradient=torch.ones(len(y)))  # Faster: y.sum().backward()
    display(x.grad)
    # Detaching computation
    x.grad.zero_()
    y = x * x
    u = y.detach()
    z = u * x
    z.sum().backward()
    display(x.grad == u)
    x.grad.zero_()
    y.sum().backward()
    display(x.grad == 2 * x)
    # Gradients and Python control flow
    a = torch.randn(size=(), requires_grad=True)
    d = f(a)
    d.backward()
    display(a.grad == d / a)
    return shown


# What d2l's page shows under each cell (x.grad before any backward is None: the page shows nothing)
D2L_SHOWS = [
    "tensor([0., 1., 2., 3.])",
    "",
    "tensor(28., grad_fn=<MulBackward0>)",
    "tensor([ 0.,  4.,  8., 12.])",
    "tensor([True, True, True, True])",
    "tensor([1., 1., 1., 1.])",
    "tensor([0., 2., 4., 6.])",
    "tensor([True, True, True, True])",
    "tensor([True, True, True, True])",
    "tensor(True)",
]


def test_the_section_prints_what_d2ls_page_shows():
    torch.manual_seed(0)
    shown = automatic_differentiation(torch)
    assert shown == D2L_SHOWS


def test_the_section_prints_what_pytorch_prints(pytorch):
    torch.manual_seed(0)
    pytorch.manual_seed(0)
    ours, theirs = automatic_differentiation(torch), automatic_differentiation(pytorch)
    assert ours == theirs


@pytest.mark.parametrize("start", [0.3, -0.0007, 1e-6, -2.5, 1500.0])
def test_control_flow_gradient_is_d_over_a_as_pytorchs(start, libraries):
    """``f`` is linear in ``a`` with a scale the loop and the branch pick, so a.grad == d / a; both ways
    through the branch, with and without loop turns, against PyTorch at the same a."""
    grads = []
    for lib in libraries:
        a = lib.tensor(start, requires_grad=True)
        d = f(a)
        d.backward()
        assert lib.allclose(a.grad, d / a, rtol=1e-15)
        grads.append((d.item(), a.grad.item()))
    assert all(other == grads[0] for other in grads[1:])


# ---------------------------------------------------------------- the exercises


def test_exercise_1_second_derivative_of_sin_is_minus_sin(libraries):
    """The second derivative differentiates the first one's graph: create_graph=True records the backward pass,
    a graph larger than the function's (that is why it costs more), then a backward through it."""
    results = []
    for lib in libraries:
        x = lib.linspace(-3.0, 3.0, 7, requires_grad=True)
        y = lib.sin(x)
        (dy,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        (d2y,) = lib.autograd.grad(dy.sum(), x)
        np.testing.assert_allclose(d2y.numpy(), -y.detach().numpy(), rtol=1e-12, atol=1e-15)
        if lib is torch:  # the first derivative's graph, built by create_graph=True, outgrows the function's
            assert len(toposort(dy)) > len(toposort(y))
        results.append((y.detach().numpy(), dy.detach().numpy(), d2y.numpy()))
    for theirs in results[1:]:
        for mine, real in zip(results[0], theirs):
            np.testing.assert_allclose(mine, real, rtol=1e-12, atol=1e-15)


def test_exercise_2_running_backward_again_is_pytorchs_error(libraries):
    """A second y.backward() right after the first: PyTorch freed what the multiplications saved, so it refuses
    with its hint; with retain_graph=True the gradient adds up (8x); a sum saves nothing and runs twice."""
    errors, added = [], []
    for lib in libraries:
        x = lib.arange(4.0, requires_grad=True)
        y = 2 * lib.dot(x, x)
        y.backward()
        with pytest.raises(RuntimeError) as error:
            y.backward()
        errors.append(str(error.value))
        x.grad.zero_()
        y = 2 * lib.dot(x, x)
        y.backward(retain_graph=True)
        y.backward()
        assert (x.grad == 8 * x).all()
        x.grad.zero_()
        y = x.sum()
        y.backward()
        y.backward()
        added.append(repr(x.grad))
    assert errors[0] == FREED and added[0] == "tensor([2., 2., 2., 2.])"
    assert errors[1:] == errors[:1] * (len(libraries) - 1) and added[1:] == added[:1] * (len(libraries) - 1)


@pytest.mark.parametrize("size", [(3,), (2, 3)])
def test_exercise_3_control_flow_with_a_vector_or_matrix(size, libraries):
    """f(a) is then a vector (or matrix): backward() without a gradient is PyTorch's error. f(a) = k * a with one
    scale k for the whole a (the loop looks at its norm, the branch at its sum), so the Jacobian is k times the
    identity: gradient=ones gives a.grad == d / a, and each Jacobian row (one backward per output) is k e_i."""
    torch.manual_seed(1)
    start = torch.randn(size=size).numpy()
    seen = []
    for lib in libraries:
        a = lib.tensor(start, requires_grad=True)
        d = f(a)
        with pytest.raises(RuntimeError) as error:
            d.backward()
        assert str(error.value) == "grad can be implicitly created only for scalar outputs"
        rows = []
        for i in range(len(d.reshape(-1))):
            e = lib.zeros(len(d.reshape(-1)))
            e[i] = 1.0
            (row,) = lib.autograd.grad(d, a, grad_outputs=e.reshape(d.shape), retain_graph=True)
            rows.append(row.reshape(-1).numpy())
        jacobian = np.stack(rows)
        k = (d / a).detach().numpy().ravel()
        np.testing.assert_allclose(jacobian, np.diag(k), rtol=1e-15)
        d.backward(gradient=lib.ones_like(d))
        assert lib.allclose(a.grad, d / a, rtol=1e-15)
        seen.append((d.detach().numpy(), jacobian))
    for d, jacobian in seen[1:]:
        np.testing.assert_array_equal(d, seen[0][0])
        np.testing.assert_array_equal(jacobian, seen[0][1])


def test_exercise_4_plot_sin_and_its_derivative_by_autograd(libraries):
    """f'(x) from autograd on torch.linspace (not from knowing it is cos). d2l plots with its own helper
    ``d2l.plot(x.detach(), [y.detach(), x.grad], 'x', 'f(x)', legend=['f(x)', 'df/dx'])``: replaced by the
    same two lines on a matplotlib Figure (drawn in memory, not shown or saved)."""
    figure = pytest.importorskip("matplotlib.figure")
    x = torch.linspace(-5, 5, 100, requires_grad=True)
    y = torch.sin(x)
    y.sum().backward()
    axes = figure.Figure().subplots()
    axes.plot(x.detach(), y.detach(), label="f(x)")
    axes.plot(x.detach(), x.grad, label="df/dx")
    axes.set_xlabel("x")
    axes.legend()
    f_line, df_line = axes.get_lines()
    assert [f_line.get_label(), df_line.get_label()] == ["f(x)", "df/dx"]
    np.testing.assert_allclose(df_line.get_ydata(), np.cos(f_line.get_xdata()), rtol=1e-14, atol=1e-15)
    for lib in libraries[1:]:
        real = lib.linspace(-5, 5, 100, requires_grad=True)
        lib.sin(real).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), real.grad.numpy(), rtol=1e-14, atol=1e-15)


def dependency_graph(fn) -> list:
    """Exercise 5's dependency graph read off autograd's record: a backward function and its inputs' (from f to x)."""
    return [fn.name(), [dependency_graph(g) for g, _ in fn.next_functions if g is not None]]


def test_exercises_5_to_7_log_x_squared_times_sin_plus_reciprocal(libraries):
    """f(x) = log(x^2) sin x + 1/x. Its dependency graph (5) is PyTorch's; the chain rule (6) evaluated forward
    from x to f and backward from f to x (7) both give autograd's df/dx and the hand-derived
    2 sin x / x + log(x^2) cos x - 1/x^2."""
    values = [0.5, 1.0, 2.0, -3.0]
    graphs, grads = [], []
    for lib in libraries:
        x = lib.tensor(values, requires_grad=True)
        y = lib.log(x**2) * lib.sin(x) + x**-1
        graphs.append(dependency_graph(y.grad_fn))
        y.sum().backward()
        grads.append(x.grad.numpy())
        if lib is torch:
            function = y.detach().numpy()
    x_ = ["torch::autograd::AccumulateGrad", []]  # x, the leaf
    assert graphs[0] == [
        "AddBackward0",
        [
            ["MulBackward0", [["LogBackward0", [["PowBackward0", [x_]]]], ["SinBackward0", [x_]]]],
            ["PowBackward0", [x_]],
        ],
    ]
    assert graphs[1:] == graphs[:1] * (len(libraries) - 1)
    for theirs in grads[1:]:
        np.testing.assert_allclose(grads[0], theirs, rtol=1e-14)
    with torch.no_grad():  # the chain rule by hand, on the graph's nodes
        x = torch.tensor(values)
        a, c, e = x**2, torch.sin(x), x**-1
        b = torch.log(a)
        np.testing.assert_array_equal((b * c + e).numpy(), function)  # the nodes make f
        da, dc, de = 2 * x, torch.cos(x), -(x**-2)  # forward: d(node)/dx, from x towards f
        db = da / a
        forward = db * c + b * dc + de
        bar_b, bar_c, bar_e = c, b, 1.0  # backward: df/d(node), from f towards x
        bar_a = bar_b / a
        backward = bar_a * 2 * x + bar_c * torch.cos(x) + bar_e * -(x**-2)
    by_hand = 2 * np.sin(values) / values + np.log(np.square(values)) * np.cos(values) - np.power(values, -2.0)
    for result in (forward.numpy(), backward.numpy(), grads[0]):
        np.testing.assert_allclose(result, by_hand, rtol=1e-14)


# ---------------------------------------------------------------- linear regression from scratch (d2l 0.17)


def synthetic_data(w, b, num_examples):
    """Generate y = Xw + b + noise."""
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def train_linear_regression(torch, features, labels, w, b, num_epochs=3) -> list:
    """d2l's reading of minibatches, model, loss, SGD and training loop, in order; returns what it prints."""
    printed = []

    def data_iter(batch_size, features, labels):
        num_examples = len(features)
        indices = list(range(num_examples))
        # The examples are read at random, in no particular order
        random.shuffle(indices)
        for i in range(0, num_examples, batch_size):
            batch_indices = torch.tensor(indices[i : min(i + batch_size, num_examples)])
            yield features[batch_indices], labels[batch_indices]

    batch_size = 10
    for X, y in data_iter(batch_size, features, labels):
        printed.append(f"{X} \n {y}")
        break

    def linreg(X, w, b):
        """The linear regression model."""
        return torch.matmul(X, w) + b

    def squared_loss(y_hat, y):
        """Squared loss."""
        return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2

    def sgd(params, lr, batch_size):
        """Minibatch stochastic gradient descent."""
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()

    lr = 0.03
    net = linreg
    loss = squared_loss
    for epoch in range(num_epochs):
        for X, y in data_iter(batch_size, features, labels):
            l = loss(net(X, w, b), y)  # noqa: E741 (d2l's name) Minibatch loss in `X` and `y`
            # Compute gradient on `l` with respect to [`w`, `b`]
            l.sum().backward()
            sgd([w, b], lr, batch_size)  # Update parameters using their gradient
        with torch.no_grad():
            train_l = loss(net(features, w, b), labels)
            printed.append(f"epoch {epoch + 1}, loss {float(train_l.mean()):f}")
    return printed


def test_linear_regression_from_scratch_learns_true_w_and_b():
    """d2l's three epochs on 1000 synthetic examples: w and b end within 0.01 of true_w and true_b (d2l prints
    errors like tensor([ 0.0005, -0.0008], grad_fn=<SubBackward0>)), the loss at the noise's floor."""
    torch.manual_seed(0)
    random.seed(0)
    true_w = torch.tensor([2, -3.4])
    true_b = 4.2
    features, labels = synthetic_data(true_w, true_b, 1000)
    assert features.shape == (1000, 2) and labels.shape == (1000, 1)
    assert str(features[0]).startswith("tensor([") and str(labels[0]).startswith("tensor([")
    w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    printed = train_linear_regression(torch, features, labels, w, b)
    assert [line.split(",")[0] for line in printed[1:]] == ["epoch 1", "epoch 2", "epoch 3"]
    assert float(printed[-1].split("loss ")[1]) < 2e-4
    w_error, b_error = true_w - w.reshape(true_w.shape), true_b - b
    assert repr(w_error).endswith("grad_fn=<SubBackward0>)") and repr(b_error).endswith("grad_fn=<RsubBackward1>)")
    assert np.all(np.abs(w_error.detach().numpy()) < 0.01) and abs(b_error.item()) < 0.01


def test_linear_regression_data_cells_print_and_plot_as_pytorch(pytorch, capsys):
    """The data cells: the first example printed as PyTorch prints the same numbers, and d2l's scatter plot
    ``d2l.set_figsize(); d2l.plt.scatter(d2l.numpy(features[:, 1]), d2l.numpy(labels), 1)`` drawn with
    matplotlib's Axes.scatter at d2l's figure size (``d2l.numpy(x)`` is ``x.detach().numpy()``)."""
    figure = pytest.importorskip("matplotlib.figure")
    torch.manual_seed(2)
    true_w = torch.tensor([2, -3.4])
    true_b = 4.2
    features, labels = synthetic_data(true_w, true_b, 1000)
    print("features:", features[0], "\nlabel:", labels[0])
    printed = [capsys.readouterr().out]
    print("features:", pytorch.tensor(features.numpy())[0], "\nlabel:", pytorch.tensor(labels.numpy())[0])
    printed.append(capsys.readouterr().out)
    assert printed[0] == printed[1] and printed[0].startswith("features: tensor([")
    axes = figure.Figure(figsize=(3.5, 2.5)).subplots()
    points = axes.scatter(features[:, 1].detach().numpy(), labels.detach().numpy(), 1)
    np.testing.assert_array_equal(points.get_offsets(), np.column_stack([features.numpy()[:, 1], labels.numpy()]))
    slope = np.polyfit(features.numpy()[:, 1], labels.numpy()[:, 0], 1)[0]
    assert abs(slope - -3.4) < 0.3  # the picture d2l shows: labels fall with the second feature


def test_linear_regression_from_scratch_prints_and_learns_as_pytorch(pytorch):
    """The same data, start and shuffles on real PyTorch: the same printed batch and losses, the same w and b."""
    torch.manual_seed(1)
    features, labels = synthetic_data(torch.tensor([2, -3.4]), 4.2, 200)
    start = torch.normal(0, 0.01, size=(2, 1)).numpy()
    runs = []
    for lib in (torch, pytorch):
        random.seed(3)
        w = lib.tensor(start, requires_grad=True)
        b = lib.zeros(1, requires_grad=True)
        printed = train_linear_regression(lib, lib.tensor(features.numpy()), lib.tensor(labels.numpy()), w, b, 2)
        runs.append((printed, w.detach().numpy(), b.detach().numpy(), repr(4.2 - b)))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-12)
    np.testing.assert_allclose(runs[0][2], runs[1][2], rtol=1e-12)
    assert runs[0][3] == runs[1][3]


def current_edition(torch, start=None) -> tuple:
    """The current edition's linear regression from scratch (chapter_linear-regression at 23d7a5a): its data
    (synthetic-regression-data.md, with the loader written from scratch there), model, SGD and
    ``Trainer.fit_epoch`` as written, on stand-ins for d2l's base classes: ``d2l.Module`` is ``nn.Module`` with
    ``training_step``/``validation_step`` without plotting the loss, ``save_hyperparameters()`` is written out,
    and ``d2l.Trainer.fit`` keeps its loop without the progress board. ``start``: another run's data and model,
    numbers (X, y, w) this run starts from (to compare with PyTorch); returns (data, model, printed lines, and
    the numbers it started from)."""

    class Module(torch.nn.Module):  # d2l.Module, without its ProgressBoard
        def training_step(self, batch):
            return self.loss(self(*batch[:-1]), batch[-1])

        def validation_step(self, batch):
            self.loss(self(*batch[:-1]), batch[-1])

    class SyntheticRegressionData:  # (d2l.DataModule)
        """Synthetic data for linear regression."""

        def __init__(self, w, b, noise=0.01, num_train=1000, num_val=1000, batch_size=32):
            self.w, self.b, self.num_train, self.num_val, self.batch_size = w, b, num_train, num_val, batch_size
            n = num_train + num_val
            self.X = torch.randn(n, len(w))
            noise = torch.randn(n, 1) * noise
            self.y = torch.matmul(self.X, w.reshape((-1, 1))) + b + noise

        def get_dataloader(self, train):
            if train:
                indices = list(range(0, self.num_train))
                # The examples are read in random order
                random.shuffle(indices)
            else:
                indices = list(range(self.num_train, self.num_train + self.num_val))
            for i in range(0, len(indices), self.batch_size):
                batch_indices = torch.tensor(indices[i : i + self.batch_size])
                yield self.X[batch_indices], self.y[batch_indices]

        def train_dataloader(self):  # d2l.DataModule's, iterable once per epoch as a DataLoader is
            return Batches(self, train=True)

        def val_dataloader(self):
            return Batches(self, train=False)

    class Batches:
        def __init__(self, data, train):
            self.data, self.train = data, train

        def __iter__(self):
            return self.data.get_dataloader(self.train)

    class LinearRegressionScratch(Module):
        """The linear regression model implemented from scratch."""

        def __init__(self, num_inputs, lr, sigma=0.01):
            super().__init__()
            self.num_inputs, self.lr, self.sigma = num_inputs, lr, sigma
            self.w = torch.normal(0, sigma, (num_inputs, 1), requires_grad=True)
            self.b = torch.zeros(1, requires_grad=True)

        def forward(self, X):
            return torch.matmul(X, self.w) + self.b

        def loss(self, y_hat, y):
            l = (y_hat - y) ** 2 / 2  # noqa: E741 (d2l's name)
            return l.mean()

        def configure_optimizers(self):
            return SGD([self.w, self.b], self.lr)

    class SGD:  # (d2l.HyperParameters)
        """Minibatch stochastic gradient descent."""

        def __init__(self, params, lr):
            self.params, self.lr = params, lr

        def step(self):
            for param in self.params:
                param -= self.lr * param.grad

        def zero_grad(self):
            for param in self.params:
                if param.grad is not None:
                    param.grad.zero_()

    class Trainer:  # (d2l.HyperParameters)
        def __init__(self, max_epochs, gradient_clip_val=0):
            self.max_epochs, self.gradient_clip_val = max_epochs, gradient_clip_val

        def fit(self, model, data):
            self.train_dataloader, self.val_dataloader = data.train_dataloader(), data.val_dataloader()
            self.model = model
            self.optim = model.configure_optimizers()
            self.train_batch_idx = self.val_batch_idx = 0
            for self.epoch in range(self.max_epochs):  # noqa: B020 (d2l's loop)
                self.fit_epoch()

        def prepare_batch(self, batch):
            return batch

        def fit_epoch(self):
            self.model.train()
            for batch in self.train_dataloader:
                loss = self.model.training_step(self.prepare_batch(batch))
                self.optim.zero_grad()
                with torch.no_grad():
                    loss.backward()
                    self.optim.step()
                self.train_batch_idx += 1
            self.model.eval()
            for batch in self.val_dataloader:
                with torch.no_grad():
                    self.model.validation_step(self.prepare_batch(batch))
                self.val_batch_idx += 1

    model = LinearRegressionScratch(2, lr=0.03)
    data = SyntheticRegressionData(w=torch.tensor([2, -3.4]), b=4.2)
    if start is not None:
        data.X, data.y = torch.tensor(start[0]), torch.tensor(start[1])
        with torch.no_grad():
            model.w.copy_(torch.tensor(start[2]))
    begun = (data.X.numpy(), data.y.numpy(), model.w.detach().numpy())
    trainer = Trainer(max_epochs=3)
    trainer.fit(model, data)
    with torch.no_grad():
        printed = [
            f"error in estimating w: {data.w - model.w.reshape(data.w.shape)}",
            f"error in estimating b: {data.b - model.b}",
        ]
    return data, model, printed, begun


def test_linear_regression_current_editions_steps_learn():
    """Its 3 epochs of 32-example batches at lr 0.03 (the loss a mean): d2l's page prints errors near 0.1-0.2;
    the gradient is filled by backward() inside torch.no_grad(), as d2l's fit_epoch calls it."""
    torch.manual_seed(0)
    random.seed(0)
    data, model, printed, _ = current_edition(torch)
    errors = np.abs(np.append(data.w.numpy() - model.w.detach().numpy().ravel(), 4.2 - model.b.item()))
    assert np.all(errors < 0.4) and np.all(errors > 0.01)  # learning, not yet there after 96 steps
    assert printed[0].startswith("error in estimating w: tensor([") and "grad_fn" not in printed[0]


def test_linear_regression_current_editions_steps_as_pytorch(pytorch):
    """The same data, start and shuffles on real PyTorch: the same printed errors, the same w and b."""
    torch.manual_seed(1)
    random.seed(4)
    ours = current_edition(torch)
    random.seed(4)
    theirs = current_edition(pytorch, start=ours[3])
    assert ours[2] == theirs[2]
    np.testing.assert_allclose(ours[1].w.detach().numpy(), theirs[1].w.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours[1].b.detach().numpy(), theirs[1].b.detach().numpy(), rtol=1e-12)


# ---------------------------------------------------------------- what the facade gained for d2l


def test_dot_is_pytorchs(pytorch):
    ours = torch.dot(torch.tensor([1.0, 2.0, 3.0], requires_grad=True), torch.tensor([4.0, -5.0, 0.5]))
    theirs = pytorch.dot(pytorch.tensor([1.0, 2.0, 3.0], requires_grad=True), pytorch.tensor([4.0, -5.0, 0.5]))
    assert repr(ours) == repr(theirs) == "tensor(-4.5000, grad_fn=<DotBackward0>)"
    with pytest.raises(ValueError, match="1-D"):
        torch.dot(torch.ones(2, 2), torch.ones(2, 2))


def test_normal_draws_pytorchs_shapes_with_its_mean_and_std(pytorch):
    torch.manual_seed(0)
    cases = [((0, 0.01, (2, 1)), {"requires_grad": True}), ((3.0, 2.0), {"size": (4000,)}),
             ((torch.zeros(2, 1), torch.ones(3)), {}), ((5.0, torch.full((3,), 0.0)), {})]  # fmt: skip
    for args, kwargs in cases:
        ours = torch.normal(*args, **kwargs)
        real_args = [pytorch.tensor(a.numpy()) if isinstance(a, torch.Tensor) else a for a in args]
        theirs = pytorch.normal(*real_args, **kwargs)
        assert ours.shape == tuple(theirs.shape) and ours.requires_grad == theirs.requires_grad
    big = torch.normal(3.0, 2.0, size=(4000,))
    assert abs(big.mean().item() - 3.0) < 0.2 and abs(big.std().item() - 2.0) < 0.2
    assert torch.normal(5.0, torch.full((3,), 0.0)).tolist() == [5.0, 5.0, 5.0]
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0, but found std -1"):
        torch.normal(0, -1, (2,))
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0"):
        pytorch.normal(0, -1, (2,))
    with pytest.raises(TypeError, match="needs a size"):
        torch.normal(0, 1)
    with pytest.raises(RuntimeError, match="do not broadcast"):
        torch.normal(torch.zeros(2), torch.ones(3))


def test_number_minus_tensor_is_rsub_and_long_reprs_wrap_as_pytorchs(pytorch):
    """4.2 - b is PyTorch's RsubBackward1 (d2l prints it); a grad_fn or requires_grad that would pass 80
    characters goes on a line of its own, as PyTorch prints it."""
    exprs = ["4.2 - x", "x - 4.2", "lib.tensor(4.2) - x", "x * 7", "(x * 7).reshape(3, -1)"]
    for n in (6, 9, 30):
        reprs = []
        for lib in (torch, pytorch):
            x = lib.linspace(-3.14, 3.14, n, requires_grad=True)
            reprs.append([repr(eval(e, {"lib": lib, "x": x})) for e in exprs])
        assert reprs[0] == reprs[1]
    wide = torch.linspace(-3.14, 3.14, 5, requires_grad=True) * 7
    assert repr(wide) == "tensor([-21.9800, -10.9900,   0.0000,  10.9900,  21.9800],\n       grad_fn=<MulBackward0>)"
