"""Random training programs run compiled and eagerly, call after call, from one seed: compile is exact or loud.

``compile(fn)`` traces fn once and replays it as straight-line code, so it can go wrong wherever one call
looks like another: two arguments equal at trace time, one-row batches, rows all equal, the same batch
again, an index built from an argument, weights updated in place, a parameter replaced, bad targets
after a good trace. Each program here is a model (an MLP at tensor or scalar granularity, or a bare
weight matrix), a loss and 4-10 calls drawn from those patterns. Two twins are built from the seed with
the same weights; each call runs eagerly on one and compiled on the other:

* a call eager accepts: the loss and every ``.grad`` agree to rtol 1e-10, the arguments are left as they
  were, and (mse, bce_with_logits, cross-entropy) the eager loss is PyTorch's from the same weights;
* a call eager refuses (nan targets, labels out of range, ...): the compiled step raises the same
  exception with the same message, and leaves every ``.grad`` and weight as it was;
* a CompileWarning only where fn reads an argument in a way a trace cannot follow (numpy on it: such
  programs must warn and still give eager's numbers), or a Python list argument changes more than 8 times.

    python -m tests.compile_fuzz 3000          # run 3,000 programs, print a summary and the first mismatch
"""

from __future__ import annotations

import contextlib
import functools
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from tests.fuzz import _report
from tinygrad_edu import Value, activations, compile, losses, nn, no_grad, optim
from tinygrad_edu import functional as F
from tinygrad_edu.compiler import CompileWarning

LOSSES = ["mse", "bce", "bce_with_logits", "hinge", "cross_entropy", "log_softmax"]
ACTIVATIONS = ["tanh", "relu", "sigmoid", "leaky_relu", "softplus", "gelu", "identity"]
TORCH_LOSSES = {"mse", "bce_with_logits", "cross_entropy", "log_softmax"}  # where PyTorch's loss is one call
TORCH_ACTIVATIONS = {"tanh", "relu", "sigmoid", "leaky_relu", "softplus", "identity"}  # gelu: see item 11

# How fn reaches its parameters. A parameter replaced after the trace must be seen through each.
MODEL_REACH = ["closure", "partial", "method of a Module", "method of a plain object", "model in a dict"]
BARE_REACH = ["closure", "list", "dict", "attribute of a plain object"]

# numpy (or Python) on an argument, which a trace cannot follow: the program must warn, naming the argument.
# name -> (the argument the warning names, or None for any message; the losses it keeps valid targets for)
READS = {
    "1 - T": ("T", ("mse", "bce", "bce_with_logits")),
    "-T": ("T", ("mse", "hinge")),
    "T[::-1]": ("T", tuple(LOSSES)),
    "np.asarray(T)": ("T", tuple(LOSSES)),
    "(T + 1) % C": ("T", ("cross_entropy", "log_softmax")),
    "np.tanh(X)": ("X", tuple(LOSSES)),
    "X[:, ::-1]": ("X", tuple(LOSSES)),
    "if np.sum(T) > 1": ("T", tuple(LOSSES)),
    "float(T.flat[0])": ("T", tuple(LOSSES)),
    "if out.data.sum() > 0": (None, tuple(LOSSES)),  # a node's numbers (issue #20 item 6)
}
# numpy on an argument that the compiled step redoes (engine.Argument): these must compile, exactly, unwarned
FOLLOWED = {"1 - T", "-T", "T[::-1]", "(T + 1) % C", "np.tanh(X)", "X[:, ::-1]"}


@dataclass
class Program:
    """One random program: what fn computes, and the calls made to it."""

    seed: int
    kind: str  # "tensor", "scalar" (an MLP of scalar Values, fed lists) or "bare" (a weight matrix)
    loss: str
    nin: int
    nout: int
    hidden: list
    activation: str
    out_activation: str
    reach: str
    inputs: str = "array"  # "indexed": X is a Value, fn uses X[:, cols]; "index argument": X[:, r], r passed
    cols: np.ndarray | None = None  # the columns of "indexed" (made outside fn)
    width: int = 0  # X's columns when indexed
    targets: str = "array"  # or "value": T is a Value argument
    bias: bool = True
    float_labels: bool = False  # cross-entropy labels as whole numbers in a float array
    flat_targets: bool = False  # (n,) targets for one output
    x_grad: bool = False  # an indexed X (a Value argument) requires a gradient
    l2: bool = False  # fn adds 0.01 * the sum of the squared parameters
    reads: str | None = None
    optimizer: str | None = None
    events: list = field(default_factory=list)
    program: list = field(default_factory=list)  # one line per choice, to print a failing program

    def line(self, text: str) -> None:
        self.program.append(text)


def draw(seed: int) -> Program:
    """A random program from one seed."""
    rng = np.random.default_rng(seed)
    pick = lambda options: options[rng.integers(len(options))]  # noqa: E731
    kind = pick(["tensor"] * 6 + ["scalar", "bare", "bare"])
    loss = pick(LOSSES if kind != "scalar" else ["mse", "bce", "bce_with_logits", "hinge"])
    labels = loss in ("cross_entropy", "log_softmax")
    nout = int(rng.integers(2, 5)) if labels else 1 if kind == "scalar" or loss == "hinge" else int(rng.integers(1, 4))
    nin = nout if not labels and rng.random() < 0.4 else int(rng.integers(1, 5))  # nin == nout: step(X, X.copy())
    hidden = [] if kind == "bare" else [int(rng.integers(1, 5)) for _ in range(rng.integers(0, 3))]
    out_activation = "sigmoid" if loss == "bce" else "identity"
    if kind == "bare" and loss not in ("bce",) and rng.random() < 0.3:
        out_activation = pick(["tanh", "relu", "softplus"])
    reach = pick(BARE_REACH if kind == "bare" else MODEL_REACH)
    p = Program(seed, kind, loss, nin, nout, hidden, pick(ACTIVATIONS), out_activation, reach)
    if kind != "scalar":
        p.inputs = pick(["array"] * 3 + ["indexed", "index argument"])
        p.targets = pick(["array"] * 3 + ["value"])
        p.bias = bool(rng.random() < 0.7)
        p.float_labels = loss == "cross_entropy" and rng.random() < 0.3
        p.flat_targets = nout == 1 and loss != "hinge" and rng.random() < 0.3 or loss == "hinge" and rng.random() < 0.5
    if p.inputs != "array":
        p.width = nin + int(rng.integers(0, 3))
        p.cols = rng.integers(0, p.width, size=nin)
        p.x_grad = bool(rng.random() < 0.2)
    readable = [r for r in READS if loss in READS[r][1] and (READS[r][0] != "X" or p.inputs == "array")]
    if kind != "scalar" and p.targets == "array" and rng.random() < 0.1 and readable:
        p.reads = pick(readable)
    p.optimizer = pick([None, "sgd", "sgd momentum", "adam", "adamw"])
    p.l2 = bool(rng.random() < 0.2)
    p.line(
        f"{kind} model: nin={nin}, hidden={hidden}, nout={nout}, activation={p.activation}, "
        f"out={out_activation}, bias={p.bias}; fn reaches it by {reach}"
    )
    p.line(
        f"loss {loss}: inputs {p.inputs}"
        + (f" cols={p.cols.tolist()} of {p.width}" if p.cols is not None else "")
        + f", targets {p.targets}"
        + (" (float labels)" if p.float_labels else "")
        + (" (flat)" if p.flat_targets else "")
        + (" (X needs a gradient)" if p.x_grad else "")
        + (f"; fn does {p.reads}" if p.reads else "")
        + ("; fn adds an L2 penalty" if p.l2 else "")
        + f"; optimizer {p.optimizer}"
    )
    n = int(rng.integers(2, 7))
    p.events.append((pick(["fresh"] * 3 + ["equal", "rows equal", "one row"]), n))  # the trace's own call too
    for _ in range(rng.integers(3, 10)):
        event = pick(
            ["fresh"] * 4
            + [
                "new size",
                "equal",
                "same object",
                "same values",
                "changed in place",
                "one row",
                "rows equal",
                "float32 input",
                "int input",
                "no_grad",
                "optimizer",
                "replace",
                "zero_grad",
                "bad",
                "bad",
                "nan input",
            ]
        )
        if event == "new size":
            n = int(rng.integers(1, 7))
            event = "fresh"
        if event == "optimizer" and p.optimizer is None:
            event = "fresh"
        if event == "replace":
            p.events.append(("replace", int(rng.integers(1 << 30)), pick(["new optimizer", "same optimizer"])))
            event = "fresh"
        elif event in ("optimizer", "zero_grad"):
            p.events.append((event,))
            event = "fresh"
        p.events.append((event, n))
    p.line("calls: " + ", ".join(" ".join(map(str, e)) for e in p.events))
    return p


# ---------------------------------------------------------------- what fn computes


def objective(p: Program, net, X, T, r=None) -> Value:
    """The loss of one call: the model's outputs on X (or X[:, cols], X[:, r]) against the targets T."""
    if p.reads == "np.tanh(X)":
        X = np.tanh(X)
    elif p.reads == "X[:, ::-1]":
        X = X[:, ::-1]
    out = forward(p, net, X, r)
    if p.reads == "1 - T":
        T = 1 - T
    elif p.reads == "-T":
        T = -T
    elif p.reads == "T[::-1]":
        T = T[::-1]
    elif p.reads == "np.asarray(T)":
        T = np.asarray(T)
    elif p.reads == "(T + 1) % C":
        T = (T + 1) % p.nout
    if p.loss == "log_softmax":
        loss = -out.log_softmax(1)[np.arange(len(T)), T].mean()
    elif p.loss == "cross_entropy":
        loss = F.cross_entropy(out, T)
    else:
        loss = losses.get(p.loss)(out, T)
    if p.l2:  # weight decay written into the loss, through the model's parameters
        loss = loss + 0.01 * sum(
            (w * w).sum() for w in (net.parameters() if isinstance(net, nn.Module) else net) if w is not None
        )
    if p.reads == "if np.sum(T) > 1":
        loss = loss if np.sum(T) > 1 else loss * 2.0
    elif p.reads == "float(T.flat[0])":
        loss = loss * (1.0 + float(T.flat[0]) ** 2)
    elif p.reads == "if out.data.sum() > 0":
        loss = loss if out.data.sum() > 0 else loss * 2.0
    return loss


def forward(p: Program, net, X, r=None):
    if p.inputs == "indexed":
        X = X[:, p.cols]
    elif p.inputs == "index argument":
        X = X[:, r]
    if p.kind == "scalar":
        return [net(x) for x in X]
    if p.kind == "tensor":
        return net(X)
    W, b = net
    out = X @ W if b is None else X @ W + b
    return activations.get(p.out_activation)(out)


class Net(nn.Module):
    """A model inside a Module whose method is the loss: compile(net.loss)."""

    def __init__(self, p: Program, mlp: nn.MLP):
        self.p, self.mlp = p, mlp

    def loss(self, X, T, r=None) -> Value:
        return objective(self.p, self.mlp, X, T, r)


class Trainer:
    """The same, in a plain object (not a Module): compile(trainer.loss)."""

    def __init__(self, p: Program, mlp: nn.MLP):
        self.p, self.mlp = p, mlp

    def loss(self, X, T, r=None) -> Value:
        return objective(self.p, self.mlp, X, T, r)


class Holder:
    """Bare weights as attributes of a plain object."""


class Twin:
    """One of the two worlds a program runs in: its parameters, fn reaching them as the program says, an optimizer.
    Both twins of a program start from the same weights."""

    def __init__(self, p: Program):
        self.p = p
        rng = np.random.default_rng([p.seed, 1])
        if p.kind == "bare":
            W = Value(rng.normal(size=(p.nin, p.nout)) * 0.8, label="W")
            b = Value(rng.normal(size=p.nout) * 0.3, label="b") if p.bias else None
            self.fn, self.params, self.set = self._bare(W, b)
        else:
            self.model = nn.MLP(
                p.nin,
                p.hidden + [p.nout],
                activation=p.activation,
                out_activation=p.out_activation,
                granularity=p.kind,
                seed=p.seed,
            )
            self.fn = self._reach(self.model)
            self.params, self.set = self.model.parameters, self._set_in_model
        self.opt = self._optimizer()

    def _reach(self, model: nn.MLP):
        p = self.p
        if p.reach == "closure":
            return lambda X, T, r=None: objective(p, model, X, T, r)
        if p.reach == "partial":
            return functools.partial(objective, p, model)
        if p.reach == "method of a Module":
            return Net(p, model).loss
        if p.reach == "method of a plain object":
            return Trainer(p, model).loss
        models = {"net": model}
        return lambda X, T, r=None: objective(p, models["net"], X, T, r)

    def _bare(self, W: Value, b: Value | None):
        """fn reading W and b through the program's holder; the parameters; and how to replace one."""
        p = self.p
        if p.reach == "closure":

            def fn(X, T, r=None):
                return objective(p, (W, b), X, T, r)

            def put(k, v):
                nonlocal W, b
                W, b = (v, b) if k == 0 else (W, v)

            return fn, lambda: [w for w in (W, b) if w is not None], put
        if p.reach == "list":
            ws = [W, b]
            fn = lambda X, T, r=None: objective(p, (ws[0], ws[1]), X, T, r)  # noqa: E731
            return fn, lambda: [w for w in ws if w is not None], ws.__setitem__
        if p.reach == "dict":
            d = {"W": W, "b": b}
            fn = lambda X, T, r=None: objective(p, (d["W"], d["b"]), X, T, r)  # noqa: E731
            return fn, lambda: [w for w in d.values() if w is not None], lambda k, v: d.__setitem__("Wb"[k], v)
        h = Holder()
        h.W, h.b = W, b
        fn = lambda X, T, r=None: objective(p, (h.W, h.b), X, T, r)  # noqa: E731
        return fn, lambda: [w for w in (h.W, h.b) if w is not None], lambda k, v: setattr(h, "Wb"[k], v)

    def _set_in_model(self, k: int, v: Value) -> None:
        path = [name for name, _ in self.model.named_parameters()][k].split(".")
        parent = functools.reduce(
            lambda o, part: o[int(part)] if isinstance(o, list) else getattr(o, part), path[:-1], self.model
        )
        if isinstance(parent, list):
            parent[int(path[-1])] = v
        else:
            setattr(parent, path[-1], v)

    def _optimizer(self):
        name = self.p.optimizer
        if name is None:
            return None
        if name in ("adam", "adamw"):
            return (optim.Adam if name == "adam" else optim.AdamW)(self.params(), lr=0.01)
        return optim.SGD(self.params(), lr=0.05, momentum=0.9 if name == "sgd momentum" else 0.0)

    def replace(self, k: int, data, new_optimizer: bool) -> None:
        old = self.params()[k]
        self.set(k, Value(data, label=old.label))
        if new_optimizer:
            self.opt = self._optimizer()


# ---------------------------------------------------------------- the calls


class Batches:
    """The arguments of each call, drawn from the program's random numbers."""

    def __init__(self, p: Program, rng: np.random.Generator):
        self.p, self.rng = p, rng
        self.last: tuple | None = None

    def make(self, event: str, n: int) -> tuple:
        p, rng = self.p, self.rng
        last = self.last
        if event in ("same object", "same values", "changed in place") and last is not None:
            if event == "changed in place":
                self.change(last)
                self.last = last
            return _copied(last) if event == "same values" else last
        n = 1 if event == "one row" else n
        T = self.targets(n)
        X = rng.normal(size=(n, p.width or p.nin)) * 1.5
        if event == "rows equal":
            X[:] = X[0]
            T[:] = T[0]
        fits = p.inputs == "array" and p.kind != "scalar" and T.dtype.kind == "f" and T.reshape(n, -1).shape == X.shape
        if event == "equal" and fits:
            X = T.reshape(X.shape) if rng.random() < 0.5 else T.reshape(X.shape).copy()
        if event == "nan input":
            X[rng.integers(n), rng.integers(X.shape[1])] = np.nan
        elif event in ("float32 input", "int input"):
            X = X.astype(np.float32) if event == "float32 input" else np.round(X).astype(np.int64)
        if event == "bad":
            T = self.spoil(T)
        r = p.cols if p.inputs != "index argument" else rng.integers(0, p.width, size=p.nin)
        if event == "bad" and p.inputs == "index argument" and rng.random() < 0.3:
            r = r.copy()
            r[0] = p.width  # out of range
        if p.kind == "scalar":
            args = (X.tolist(), T.tolist())
        else:
            if p.inputs != "array":
                X = Value(X, requires_grad=p.x_grad)
            if p.targets == "value":
                T = Value(T, requires_grad=False)
            args = (X, T) if p.inputs != "index argument" else (X, T, r)
        self.last = args
        return args

    def change(self, args: tuple) -> None:
        """New numbers in the same objects: arrays and lists written in place, a Value's data assigned anew."""
        fresh = self.make("fresh", len(args[0].data if isinstance(args[0], Value) else args[0]))
        for old, new in zip(args, fresh):
            if isinstance(old, Value):
                old.data = new.data
            elif isinstance(old, np.ndarray):
                old[...] = new
            elif isinstance(old[0], list):
                for row, numbers in zip(old, new):
                    row[:] = numbers
            else:
                old[:] = new

    def targets(self, n: int) -> np.ndarray:
        p, rng = self.p, self.rng
        shape = (n,) if p.flat_targets or p.kind == "scalar" else (n, p.nout)
        if p.loss in ("cross_entropy", "log_softmax"):
            y = rng.integers(0, p.nout, size=n)
            return y.astype(float) if p.float_labels else y
        if p.loss == "hinge":
            return rng.choice([-1.0, 1.0], size=shape)
        if p.loss in ("bce", "bce_with_logits"):
            return rng.integers(0, 2, size=shape).astype(float) if rng.random() < 0.5 else rng.random(shape)
        return rng.normal(size=shape)

    def spoil(self, T: np.ndarray) -> np.ndarray:
        """Targets eager refuses: nan or inf, outside [0, 1], not +-1, labels fractional or out of range."""
        p, rng = self.p, self.rng
        k = (rng.integers(len(T)),) + ((rng.integers(T.shape[1]),) if T.ndim == 2 else ())
        if p.loss in ("cross_entropy", "log_softmax"):
            how = rng.integers(4 if p.loss == "cross_entropy" else 3)
            if how == 0:  # a class that does not exist
                T = T.copy()
                T[k] = p.nout + rng.integers(2)
                return T
            if how == 1:  # fractional labels: refused by cross_entropy, an IndexError in the idiom
                return T + 0.5 if p.loss == "cross_entropy" else T.astype(float)
            T = T.copy()
            T[k] = -1  # a negative label would index from the end
            return T.astype(float) if how == 3 else T
        T = T.astype(float)
        bad = {
            "mse": [np.nan, np.inf, -np.inf],
            "hinge": [0.3, 0.0, np.nan],
            "bce": [3.0, -0.5, np.nan],
            "bce_with_logits": [3.0, -0.5, np.inf],
        }[p.loss]
        value = bad[rng.integers(len(bad))]
        if rng.random() < 0.5:
            T[k] = value
        else:
            T[:] = T * value if p.loss == "hinge" and value == 0.3 else value
        return T


def _copied(args, memo=None, twins=None):
    """A deep copy of the arguments that keeps which of them were the same object (step(X, X)). With ``twins``
    (Value -> its twin, kept across calls), a Value passed again gets the same twin, given its current numbers,
    so that the gradients it gathers over the calls are compared too."""
    memo = {} if memo is None else memo
    if isinstance(args, tuple):
        return tuple(_copied(a, memo, twins) for a in args)
    if id(args) in memo:
        return memo[id(args)]
    if isinstance(args, Value):
        data = np.array(args.data) if args.shape else args.data
        if twins is not None and id(args) in twins:
            made = twins[id(args)][1]
            made.data = data
        else:
            made = Value(data, requires_grad=args.requires_grad)
        if twins is not None:
            twins[id(args)] = (args, made)  # (the argument kept alive, so that its id stays its own)
    elif isinstance(args, np.ndarray):
        made = args.copy()
    elif isinstance(args, list):
        made = [_copied(a, memo) for a in args]
    else:
        made = args
    memo[id(args)] = made
    return made


def _numbers(args) -> list:
    return [np.array(a.data if isinstance(a, Value) else a, dtype=float) for a in args]


def _differ(got, expected, rtol: float = 1e-10) -> bool:
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        return True
    finite = expected[np.isfinite(expected)]
    scale = max(1.0, float(np.max(np.abs(finite), initial=0.0)))
    return not np.allclose(got, expected, rtol=rtol, atol=1e-13 * scale, equal_nan=True)


@dataclass
class Outcome:
    problem: str | None = None
    calls: int = 0
    refused: int = 0  # calls eager refused, refused alike by the compiled step
    torch_checked: int = 0
    warned: bool = False


def run(seed: int, torch=None) -> Outcome:
    """Draw one program and run its calls on the two twins; the outcome says what was checked, and the first
    mismatch as a report that names the seed (None if every call agreed)."""
    p = draw(seed)
    eager, compiled = Twin(p), Twin(p)
    step = compile(compiled.fn)
    batches = Batches(p, np.random.default_rng([seed, 2]))
    out = Outcome()
    shapes, replaced, lists, twins = set(), 0, {}, {}
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        for k, event in enumerate(p.events):
            if event[0] == "optimizer":
                eager.opt.step()
                compiled.opt.step()
                continue
            if event[0] == "zero_grad":
                for w in eager.params() + compiled.params():
                    w.zero_grad()
                continue
            if event[0] == "replace":
                replaced += 1
                which = np.random.default_rng(event[1])
                i = int(which.integers(len(eager.params())))
                shape = eager.params()[i].shape
                data = which.normal(size=shape) if shape else float(which.normal())
                for twin in (eager, compiled):
                    twin.replace(i, np.array(data) if shape else data, event[2] == "new optimizer")
                continue
            args = batches.make(*event)
            problem = _call(p, event[0], step, eager, compiled, args, twins, torch, out)
            if problem:
                out.problem = _report(p, f"call {k} ({event[0]}): {problem}")
                return out
            if p.kind == "scalar":
                lists.setdefault(str(_shapes(args)), set()).add(repr(args))
            shapes.add(str(_shapes(args)))
    messages = [str(w.message) for w in caught if issubclass(w.category, CompileWarning)]
    out.warned = bool(messages)
    problem = _judge_warnings(p, messages, lists)
    if problem is None and p.kind != "scalar" and (not p.reads or p.reads in FOLLOWED):
        traces = sum(len(t) for t in step.traces.values())
        if traces > len(shapes) * (1 + replaced):
            problem = f"traced {traces} times for {len(shapes)} shapes and {replaced} replaced parameters"
    out.problem = _report(p, problem) if problem else None
    return out


def _shapes(args) -> tuple:
    return tuple(
        (type(a).__name__, np.shape(a.data if isinstance(a, Value) else a), getattr(a, "dtype", None)) for a in args
    )


def _judge_warnings(p: Program, messages: list[str], lists: dict) -> str | None:
    """A CompileWarning where fn reads what a trace cannot follow, and nowhere else."""
    if p.reads and p.reads not in FOLLOWED:
        named = READS[p.reads][0]
        if not messages:
            return f"fn does {p.reads}, which a trace cannot follow, and no CompileWarning was given"
        if named and not any(f"argument {named}" in m for m in messages):
            return f"fn does {p.reads}, but the CompileWarning does not name the argument {named}: {messages}"
        return None
    if p.kind == "scalar" and max(map(len, lists.values()), default=0) > 8:
        return None  # Python lists changing on every call: a warning after the 8th, then eager
    return f"a CompileWarning for a program that reads nothing a trace cannot follow: {messages}" if messages else None


def _call(p: Program, what: str, step, eager: Twin, compiled: Twin, args: tuple, twins: dict, torch, out: Outcome):
    """One call on both twins; a description of the first difference, or None."""
    mine = _copied(args, twins=twins)  # eager gets its own copy (its Value arguments are its own)
    before = _numbers(args)
    grads = [np.array(w.grad) for w in compiled.params()]
    weights = [np.array(w.data) for w in compiled.params()]
    refused = got = None
    graphless = what == "no_grad"  # a call inside no_grad(): the loss alone, .grad untouched
    try:
        with no_grad() if graphless else contextlib.nullcontext():
            expected = eager.fn(*mine)
        if not graphless:
            expected.backward()
    except Exception as error:  # noqa: BLE001 (any error eager raises, the compiled step must raise too)
        refused = error
    try:
        with no_grad() if graphless else contextlib.nullcontext():
            got = step(*args)
    except Exception as error:  # noqa: BLE001
        if refused is None:
            return f"the compiled step raised {type(error).__name__}: {error}; eager gave {expected.data!r}"
        if type(error) is not type(refused) or str(error) != str(refused):
            return (
                f"eager raised {type(refused).__name__}: {refused}\n  but the compiled step raised "
                f"{type(error).__name__}: {error}"
            )
    if refused is not None and got is not None:
        return f"eager raised {type(refused).__name__}: {refused}; the compiled step returned {got.data!r}"
    if refused is None and any(_differ(a, b, 0.0) for a, b in zip(_numbers(args), before)):
        return "the compiled step changed its arguments"
    if refused is None and _differ(got.data, expected.data):
        return f"loss compiled {got.data!r}, eager {expected.data!r}"
    if refused is not None or graphless:
        out.refused += refused is not None
        out.calls += graphless
        for w, g, d in zip(compiled.params(), grads, weights):
            if _differ(w.grad, g, 0.0) or _differ(w.data, d, 0.0):
                return f"the call changed {w.label}: .grad {g} -> {w.grad}, data {d} -> {w.data}"
        return None
    out.calls += 1
    for a, b in zip(eager.params() + _needing_grad(mine), compiled.params() + _needing_grad(args)):
        if _differ(b.grad, a.grad):
            return f"gradient of {a.label} {a.shape}: compiled {b.grad!r}, eager {a.grad!r}"
    if torch is not None and p.loss in TORCH_LOSSES and not p.reads and _torch_ready(p):
        theirs = torch_loss(torch, p, eager, mine)
        out.torch_checked += 1
        if _differ(expected.data, theirs):
            return f"eager loss {expected.data!r}, PyTorch {theirs!r}"
    return None


def _needing_grad(args: tuple) -> list[Value]:
    return [a for a in args if isinstance(a, Value) and a.requires_grad]


def _torch_ready(p: Program) -> bool:
    acts = {p.out_activation} | ({p.activation} if p.hidden else set())
    return acts <= TORCH_ACTIVATIONS


def torch_loss(torch, p: Program, twin: Twin, args: tuple) -> float:
    """The loss PyTorch computes from the twin's current weights on the same arguments."""
    tf = torch.nn.functional
    X, T = args[0], args[1]
    X = np.asarray(X.data if isinstance(X, Value) else X, dtype=float)
    T = np.asarray(T.data if isinstance(T, Value) else T)
    if p.inputs == "indexed":
        X = X[:, p.cols]
    elif p.inputs == "index argument":
        X = X[:, args[2]]
    if p.kind == "bare":
        W, b = twin.params()[0], twin.params()[1] if p.bias else None
        layers = [(W.data, 0.0 if b is None else b.data, p.out_activation)]
    elif p.kind == "tensor":
        layers = [(layer.w.data, layer.b.data, p.activation) for layer in twin.model.layers]
    else:
        neurons = [layer.neurons for layer in twin.model.layers]
        layers = [
            (np.array([[w.data for w in n.w] for n in ns]).T, np.array([n.b.data for n in ns]), p.activation)
            for ns in neurons
        ]
    layers[-1] = layers[-1][:2] + (p.out_activation,)
    act = {
        "tanh": torch.tanh,
        "relu": torch.relu,
        "sigmoid": torch.sigmoid,
        "leaky_relu": tf.leaky_relu,
        "softplus": tf.softplus,
        "identity": lambda x: x,
    }
    h = torch.tensor(X, dtype=torch.float64)
    for W, b, name in layers:
        h = act[name](h @ torch.tensor(np.asarray(W), dtype=torch.float64) + torch.tensor(b, dtype=torch.float64))
    penalty = sum(0.01 * (torch.tensor(w.data, dtype=torch.float64) ** 2).sum() for w in twin.params()) if p.l2 else 0.0
    if p.loss in ("cross_entropy", "log_softmax"):
        return float(tf.cross_entropy(h, torch.tensor(T.astype(np.int64) % p.nout)) + penalty)
    target = torch.tensor(T, dtype=torch.float64).reshape(h.shape)
    return float((tf.mse_loss if p.loss == "mse" else tf.binary_cross_entropy_with_logits)(h, target) + penalty)


def check(seed: int, torch=None) -> str | None:
    """Run one program; None if compiled and eager (and PyTorch) agree on every call, else the mismatch."""
    return run(seed, torch).problem


def main(argv: list[str]) -> int:
    try:
        import torch
    except ImportError:
        torch = None
    n = int(argv[0]) if argv else 1000
    start = time.perf_counter()
    totals, problems = Outcome(), []
    for seed in range(n):
        out = run(seed, torch)
        totals.calls += out.calls
        totals.refused += out.refused
        totals.torch_checked += out.torch_checked
        totals.warned += out.warned
        if out.problem:
            problems.append(out.problem)
    print(
        f"{n} random programs in {time.perf_counter() - start:.1f} s: {totals.calls} calls compared with eager, "
        f"{totals.refused} refused alike, {totals.torch_checked} losses compared with PyTorch"
        f"{'' if torch else ' (torch not installed)'}, {int(totals.warned)} programs warned; "
        f"{len(problems)} mismatches"
    )
    if problems:
        print(problems[0])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
