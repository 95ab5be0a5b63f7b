"""The training loop: forward, loss, backward, step, repeated; and reading a model's answers.

Modes: ``fit`` trains in training mode (dropout on, BatchNorm on each batch's statistics, moving its running
ones); ``outputs`` and ``accuracy`` answer in eval mode (dropout off, BatchNorm on its running statistics), as
a trained model is used. Each puts every module back in the mode it was in, so calling them never switches
a model's mode behind its user's back.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TextIO

import numpy as np

from tinygrad_edu import arguments, losses, optim
from tinygrad_edu.engine import Value
from tinygrad_edu.modes import no_grad
from tinygrad_edu.nn import Module

if TYPE_CHECKING:  # for the type hints only: watch imports this module, never the other way round
    from tinygrad_edu.watch import Live

# What ``fit(..., live=True)`` shows: ``watch.Live``, set here by ``tinygrad_edu.watch`` when it is imported
# (``import tinygrad_edu`` imports it), so that training needs no pictures: the link runs from watch to here.
watcher: Callable[[], Live] | None = None


def forward(model: Module, X) -> Value | list[Value]:
    """Run the model on a batch: one call at tensor granularity, one call per row at scalar granularity."""
    if getattr(model, "granularity", "tensor") == "scalar":
        return [model(list(row)) for row in np.asarray(X, dtype=np.float64)]
    return model(np.asarray(X, dtype=np.float64))


@contextlib.contextmanager
def mode(model: Module, training: bool) -> Iterator[Module]:
    """Inside ``with mode(model, False):`` the model and its sub-modules are in eval mode (True: training);
    afterwards each is back in the mode it was in."""
    was = [(m, m.training) for m in model.modules()]
    model.train(training)
    try:
        yield model
    finally:
        for m, training_before in was:
            m.training = training_before


def outputs(model: Module, X) -> np.ndarray:
    """The model's outputs for every row of X as an array of shape (n, outputs), in eval mode, without a graph."""
    with no_grad(), mode(model, False):
        out = forward(model, X)
    if isinstance(out, list):
        rows = [[v.data for v in o] if isinstance(o, list) else [o.data] for o in out]
        return np.array(rows)
    data = np.asarray(out.data)
    return data.reshape(len(data), -1)


def accuracy(model: Module, X, y, threshold: float = 0.0) -> float:
    """Fraction classified right: one output is class 1 above ``threshold`` (0 for logits), several: argmax."""
    out = outputs(model, X)
    pred = (out[:, 0] > threshold).astype(float) if out.shape[1] == 1 else out.argmax(axis=1)
    return float(np.mean(pred == np.asarray(y).reshape(-1)))


class TrainingDiverged(FloatingPointError):
    """Training stopped because the loss became nan or inf, or exploded (see ``fit``'s ``max_growth``).

    A FloatingPointError, as numpy raises for bad arithmetic. ``history`` holds the losses of the
    steps completed before the bad one; ``loss`` is the bad loss; ``lr`` the learning rate used.
    """

    def __init__(self, step: int, steps: int, loss: float, history: list[float], lr: float, growth: float | None):
        self.step, self.steps, self.loss, self.history, self.lr, self.growth = step, steps, loss, history, lr, growth
        super().__init__(self.describe("lr="))

    def describe(self, lr_name: str, keeps_model: bool = True) -> str:
        """The message, naming the learning rate as the caller sets it (``lr=`` in Python, ``--lr`` on the CLI),
        and saying what the model holds now when the caller keeps it."""
        h = self.history
        last = f"; the last finite loss was {h[-1]:.4g}, at step {len(h)}" if h else ""
        if np.isfinite(self.loss):
            what = (
                f"the loss grew to {self.loss:.4g} from {h[0]:.4g} at step 1 (more than {self.growth:g} times; "
                f"a first loss under 1 counts as 1): training diverged"
            )
            hint = ""
        else:
            what = f"the loss is {self.loss}"
            hint = ", or run a step under detect_anomaly() to find the op that made the first nan or inf"
        if not h:  # no update was made: the learning rate is not the cause
            return (
                f"training stopped at step 1 of {self.steps}: {what}, before any update. Check X, y and the "
                f"model's initial weights, or run a step under detect_anomaly() to find the op that "
                f"made it"
            )
        kept = "The model keeps the weights that gave this loss (this step's update was not applied). "
        return (
            f"training stopped at step {self.step + 1} of {self.steps}: {what}{last}. {kept * keeps_model}"
            f"Try a lower learning rate ({lr_name}{self.lr:g} now){hint}"
        )


def fit(
    model: Module,
    X,
    y,
    loss: str | Callable = "bce_with_logits",
    optimizer: str = "adam",
    lr: float = 0.05,
    steps: int = 2000,
    batch_size: int | None = None,
    seed: int | None = 0,
    on_step: Callable[[int, float], None] | None = None,
    progress: bool | str = False,
    max_growth: float | None = 1000.0,
    live: bool | Live = False,
) -> list[float]:
    """Train ``model`` on (X, y) for ``steps`` optimizer steps, in training mode; returns the loss at every step.

    ``batch_size=None`` uses all rows each step (full batch); otherwise minibatches are
    drawn from a shuffled order (seeded). ``on_step(step, loss)`` is called after each step.
    ``progress=True`` (or a title) shows a progress bar with the loss (see ``Progress``).
    ``live=True`` shows the training as it goes in a notebook, one frame every few steps (the loss, the decision
    boundary, each neuron's response, the weights, an example's graph), and does nothing elsewhere; a ``watch.Live``
    keeps the frames, for ``live.save("run.html")``: a page that replays them (see ``watch``).

    Training stops with ``TrainingDiverged`` (a FloatingPointError) at the first loss that is nan or
    inf, or above ``max_growth`` times the first loss on all the rows (at least 1; None: no such limit), so
    a learning rate far too high is reported, not trained on. The check comes before that step's
    backward pass: the model keeps the weights that gave the bad loss.
    """
    loss_fn = losses.get(loss)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if batch_size is not None:
        batch_size = arguments.integer("batch_size", batch_size, low=1)
    if max_growth is not None:
        max_growth = arguments.real("max_growth", max_growth, low=1.0)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    opt = optim.get(optimizer)(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    order, cursor = rng.permutation(len(y)), 0
    history, limit = [], np.inf
    full_batch = batch_size is None or batch_size >= len(y)
    bar = Progress(steps, progress if isinstance(progress, str) else "training") if progress else None
    if live is not None and not isinstance(live, bool) and not hasattr(live, "start"):
        raise TypeError(f"live must be True, False (or None) or a watch.Live (which keeps the frames), got {live!r}")
    if live is True:  # shown in a notebook; elsewhere no one would see it
        live = watcher() if watcher is not None and in_notebook() else None
    if live:
        live.start(model, X, y, steps)
    with mode(model, True):  # back in its own mode afterwards, even after an error
        try:
            for step in range(steps):
                if full_batch:
                    Xb, yb = X, y
                else:
                    if cursor + batch_size > len(y):
                        order, cursor = rng.permutation(len(y)), 0
                    idx = order[cursor : cursor + batch_size]
                    cursor += batch_size
                    Xb, yb = X[idx], y[idx]
                value = loss_fn(forward(model, Xb), yb)
                loss = value.item()
                if not (np.isfinite(loss) and loss <= limit):
                    raise TrainingDiverged(step, steps, loss, history, lr, max_growth)
                if step == 0 and max_growth is not None and loss >= 0:  # against the first loss on all the rows
                    first = loss if full_batch else _loss_on_all(loss_fn, model, X, y)  # (one hard minibatch is
                    limit = max_growth * max(first, 1.0)  # no explosion)
                opt.zero_grad()
                value.backward()
                opt.step()
                history.append(loss)
                if on_step is not None:
                    on_step(step, loss)
                if bar is not None:
                    bar.update(step, loss)
                if live:
                    live.update(step, history)
        finally:
            if bar is not None:
                bar.close()  # the bar goes before an error's message is shown
    return history


class Progress:
    """A progress bar with the loss, suited to where it runs: a bar that updates in place in a Jupyter
    notebook, a line redrawn in place in a terminal, and nothing when the output goes to a pipe or a
    log file (where a redrawn line would garble it). No extra packages, no warnings."""

    def __init__(self, total: int, title: str = "training", stream: TextIO | None = None):
        self.total, self.title = total, title
        self.stream = stream or sys.stderr
        self.every = max(1, total // 100)
        self.place = "notebook" if in_notebook() else "terminal" if self.stream.isatty() else None
        self.handle = None

    def update(self, step: int, loss: float) -> None:
        done = step + 1
        if self.place is None or (done % self.every and done != self.total):
            return
        text = f"{self.title}: step {done}/{self.total}, loss {loss:.4f}"
        if self.place == "terminal":
            filled = round(30 * done / self.total)
            self.stream.write(
                f"\r{self.title} [{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} loss {loss:.4f}"
            )
            self.stream.flush()
            return
        from IPython.display import HTML, display  # present wherever a notebook kernel runs

        bar = HTML(f'<progress value="{done}" max="{self.total}" style="width: 20em"></progress> {text}')
        if self.handle is None:
            self.handle = display(bar, display_id=True)
        else:
            self.handle.update(bar)

    def close(self) -> None:
        if self.place == "terminal":
            self.stream.write("\r" + " " * (len(self.title) + 70) + "\r")  # the bar goes; the results stay
            self.stream.flush()


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where HTML output is shown)."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


def _loss_on_all(loss_fn, model, X, y) -> float:
    """The loss on all the rows, without a graph, in eval mode (it moves no running statistics, draws no dropout
    mask): what a minibatch's loss is compared with."""
    with no_grad(), mode(model, False):
        return loss_fn(forward(model, X), y).item()
