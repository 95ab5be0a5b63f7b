"""The command line: ``tinygrad-edu xor --render xor.svg`` trains XOR by backprop and draws the network.

Subcommands: xor, gates, moons, spirals, digits, render, gradcheck, exercise (in ``exercises.command``).
``--live run.html`` (xor, moons, spirals) writes a page that replays the training (``watch.Live``). Bad arguments
exit with code 2 and one line.
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from tinygrad_edu import activations, arguments, data, nn, optim, train, viz, watch
from tinygrad_edu import init as initializers
from tinygrad_edu.engine import toposort
from tinygrad_edu.examples import NEURON_INPUTS, PRESETS, graph_for_input
from tinygrad_edu.exercises import command as exercise_command
from tinygrad_edu.files import check_writable
from tinygrad_edu.gradcheck import check_graph
from tinygrad_edu.modes import record_sites


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument costs one line on stderr (and exit code 2), not the whole usage."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _int_at_least(low: int, words: str) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``low``; anything else is refused with ``words``."""

    def parse(text: str) -> int:
        try:
            return arguments.integer("value", int(text), low=low)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {words}, got {text!r}") from None

    return parse


_positive_int = _int_at_least(1, "a positive integer")
_non_negative_int = _int_at_least(0, "an integer >= 0")
_at_least_8 = _int_at_least(8, "an integer >= 8 (enough points to train and test)")


def _positive_float(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        x = float("nan")
    if not x > 0 or x == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return x


def _widths(text: str) -> list[int]:
    """Hidden layer widths: "4" or "16,16"."""
    try:
        widths = [int(part) for part in text.split(",")]
    except ValueError:
        widths = []
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"expected hidden layer widths like 4 or 16,16, got {text!r}")
    return widths


def _finite_float(text: str, low: float | None = None) -> float:
    try:
        return arguments.real("value", float(text), low=low)
    except ValueError:
        more = f" >= {low:g}" if low is not None else ""
        raise argparse.ArgumentTypeError(f"expected a finite number{more}, got {text!r}") from None


def _picture_path(text: str, formats: Sequence[str] = viz.FORMATS) -> str:
    """A --render path whose suffix names a format this machine can write, in a folder that exists and takes
    new files: checked before any training, so a long run never ends in 'cannot write'."""
    suffix = text.rsplit(".", 1)[-1].lower() if "." in text else ""
    if suffix not in (*formats, "gv"):
        raise argparse.ArgumentTypeError(f"cannot tell the format of {text!r}: end it in .{', .'.join(formats)}")
    try:
        check_writable(text, probe=True)
        if suffix != "gv":
            viz.check_format("svg" if suffix == "html" else suffix)  # a page holds SVG frames
    except (OSError, RuntimeError, ValueError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _page_or_picture_path(text: str) -> str:
    return _picture_path(text, (*viz.FORMATS, "html"))


def _page_path(text: str) -> str:
    """A --live path: an .html page, in a folder that takes new files (checked before training)."""
    if not text.lower().endswith(".html"):
        raise argparse.ArgumentTypeError(f"the replay is a web page: end {text!r} in .html")
    try:
        check_writable(text, probe=True)
    except OSError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _live_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--live",
        metavar="PAGE",
        type=_page_path,
        help="write a page (.html, no network needed) that replays the training: loss, decision boundary, "
        "each neuron's response, the weights, an example's graph",
    )


def _model_options(p: argparse.ArgumentParser, activation: str, init: str, hidden: str, steps: int, lr: float):
    p.add_argument("--activation", default=activation, choices=sorted(activations.REGISTRY), help="hidden units")
    p.add_argument("--init", default=init, choices=sorted(initializers.REGISTRY), help="weight initializer")
    p.add_argument("--hidden", type=_widths, default=_widths(hidden), help="hidden layer widths, e.g. 4 or 16,16")
    p.add_argument(
        "--bias-init",
        type=_finite_float,
        default=None,
        help="initial bias; when not given: 0.5 for relu/leaky_relu (so no unit starts dead), else 0",
    )
    p.add_argument("--steps", type=_positive_int, default=steps, help="optimizer steps")
    p.add_argument("--lr", type=_positive_float, default=lr, help="learning rate")
    p.add_argument("--optimizer", default="adam", choices=sorted(optim.REGISTRY), help="how gradients update weights")
    p.add_argument("--seed", type=_non_negative_int, default=0, help="seed for weights and data")
    p.add_argument(
        "--render",
        metavar="PATH",
        type=_picture_path,
        help="draw the trained network's graph for one input (.svg .png .pdf .dot)",
    )
    p.add_argument(
        "--max-nodes",
        type=_positive_int,
        default=500,
        help="refuse (before training) a --render picture with more value nodes than this",
    )
    p.add_argument(
        "--depth",
        type=_positive_int,
        help="draw --render's picture with one box per module at this depth (1: one box per layer)",
    )


def _version() -> str:
    try:
        return importlib.metadata.version("tinygrad_edu")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tinygrad-edu", description="Learn backpropagation by watching it work.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add(name: str, about: str) -> argparse.ArgumentParser:
        """A subcommand whose help has a description and shows every default."""
        return sub.add_parser(
            name,
            help=about,
            description=about[0].upper() + about[1:] + ".",
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )

    p = add("xor", "train a 2-4-1 network on XOR by backprop")
    _model_options(p, "tanh", "xavier", "4", 2000, 0.05)
    p.add_argument(
        "--granularity",
        choices=nn.GRANULARITIES,
        default="scalar",
        help="scalar: one Value per weight, so the drawn graph shows every multiply",
    )
    _live_option(p)

    p = add("gates", "the perceptron rule on AND, OR, NAND, NOR, XOR")
    p.add_argument("--gate", default="all", choices=["all", *data.GATES])
    p.add_argument("--steps", type=_positive_int, default=100, help="epochs")
    p.add_argument("--lr", type=_positive_float, default=1.0)
    p.add_argument("--seed", type=_non_negative_int, default=0)
    p.add_argument("--render", metavar="PATH", type=_picture_path, help="draw the last perceptron's graph for (1, 1)")

    p = add("moons", "an MLP on two interleaving half moons")
    _model_options(p, "relu", "he", "16,16", 500, 0.02)
    p.add_argument("--n", type=_at_least_8, default=200, help="number of points")
    p.add_argument(
        "--noise",
        type=functools.partial(_finite_float, low=0.0),
        default=0.1,
        help="std of the noise added to the points",
    )
    _live_option(p)

    p = add("spirals", "an MLP on two spiral arms winding out from the centre")
    _model_options(p, "tanh", "xavier", "16,16", 1000, 0.02)
    p.add_argument("--n", type=_at_least_8, default=200, help="number of points")
    p.add_argument(
        "--noise",
        type=functools.partial(_finite_float, low=0.0),
        default=0.2,
        help="std of the noise added to each point's angle",
    )
    _live_option(p)

    p = add("digits", "an MLP on 8x8 handwritten digits, tested on held-out images")
    _model_options(p, "relu", "he", "64", 1500, 0.005)
    p.add_argument("--batch-size", type=_positive_int, default=64)

    p = add("gradcheck", "check every op of the preset graphs against finite differences")
    p.add_argument("--preset", default="all", choices=["all", *sorted(PRESETS)])
    p.add_argument("--eps", type=_positive_float, default=1e-6, help="finite-difference step")
    p.add_argument("--seed", type=_non_negative_int, default=0)

    p = add("render", "draw a preset computation graph (.html: the backward pass step by step)")
    p.add_argument("preset", choices=sorted(PRESETS), help="which graph")
    p.add_argument("path", type=_page_or_picture_path, help="where: .svg .png .pdf .dot, or .html")
    p.add_argument("--seed", type=_non_negative_int, default=0)
    p.add_argument(
        "--wrt",
        metavar="LEAF",
        help="with .html: forward mode instead, the tangents along this leaf (x1, w1, layers.0.neurons.0.w0, ...)",
    )

    exercise_command.configure(add("exercise", exercise_command.ABOUT))
    return parser


def _bias(args) -> float:
    if args.bias_init is not None:
        return args.bias_init
    return 0.5 if args.activation in ("relu", "leaky_relu") else 0.0


def _fit(model, X, y, args, loss: str, batch_size: int | None = None) -> tuple[list[float], float]:
    if args.render:
        _check_picture(model, X[0], args)
    live = watch.Live() if getattr(args, "live", None) else None
    start = time.perf_counter()
    history = train.fit(
        model,
        X,
        y,
        loss=loss,
        optimizer=args.optimizer,
        lr=args.lr,
        steps=args.steps,
        batch_size=batch_size,
        seed=args.seed,
        progress=args.command,
        live=live,
    )
    seconds = time.perf_counter() - start
    if live is not None:
        sizes = "-".join(str(s) for s in [X.shape[1], *args.hidden, 1])
        written = live.save(args.live, title=f"{args.command}: a {sizes} network training")
        print(f"training replayed in {len(live.frames)} frames written to {written}")
    return history, seconds


class _Refused(ValueError):
    """A combination of arguments refused before any work: exit code 2, like any bad argument."""


class _Diverged(FloatingPointError):
    """Training that gave nan, inf or an exploding loss: exit code 1, with one message."""


def _check_picture(model, x, args) -> None:
    """Refuse, before training, a --render picture too big to read (its size depends only on the architecture)."""
    nodes = len(toposort(graph_for_input(model, x)))
    model.zero_grad()
    if nodes > args.max_nodes and args.depth is None:
        raise _Refused(
            f"argument --render: this network's graph has {nodes} value nodes, more than --max-nodes "
            f"{args.max_nodes}: the picture would be unreadable. Draw one box per layer with --depth 1, "
            f"a smaller network, or use --granularity tensor"
        )


def _render(model, x, args) -> None:
    written = viz.render_graph(graph_for_input(model, x), args.render, max_nodes=args.max_nodes, depth=args.depth)
    shown = ", ".join(f"{v:g}" for v in x) if len(x) <= 8 else f"{len(x)} numbers"
    print(f"graph for input ({shown}) written to {written}")
    model.zero_grad()


def _truth_table(X, y, scores, pred, hidden_name: str = "p(y=1)") -> None:
    print(f"x[0] x[1] | target  {hidden_name:>7}  predicted")  # numbered as the weights w0, w1 that multiply them
    for xi, yi, si, pi in zip(X, y, scores, pred):
        print(f"{xi[0]:>4.0f} {xi[1]:>4.0f} | {yi:>5.0f}   {si:>7.3f}  {pi:>6.0f}")


def cmd_xor(args) -> int:
    X, y = data.xor()
    model = nn.MLP(
        2,
        [*args.hidden, 1],
        activation=args.activation,
        init=args.init,
        bias_init=_bias(args),
        granularity=args.granularity,
        seed=args.seed,
    )
    sizes = "-".join(str(s) for s in [2, *args.hidden, 1])
    print(
        f"XOR with a {sizes} network ({args.activation}, {args.init} init, {args.granularity} granularity), "
        f"{args.optimizer} lr {args.lr}, {args.steps} steps, binary cross-entropy on the logit"
    )
    history, seconds = _fit(model, X, y, args, "bce_with_logits")
    logits = train.outputs(model, X)[:, 0]
    probs = 0.5 + 0.5 * np.tanh(logits / 2)  # the sigmoid, without exp's overflow at large logits
    pred = (logits > 0).astype(float)
    _truth_table(X, y, probs, pred)
    acc = float(np.mean(pred == y))
    print(f"accuracy {acc:.0%} ({int(acc * 4)}/4)   final loss {history[-1]:.4g}   trained in {seconds:.2f} s")
    if args.render:
        _render(model, X[2], args)
    return 0


def cmd_gates(args) -> int:
    names = list(data.GATES) if args.gate == "all" else [args.gate]
    model = None
    for name in names:
        X, y = data.gates(name)
        with np.errstate(over="ignore", invalid="ignore"):  # checked just below, in words
            model = nn.Perceptron(2, seed=args.seed).fit(X, y, epochs=args.steps, lr=args.lr)
        errors = model.errors_
        if not np.all(np.isfinite([*model.w.numbers, model.b.numbers])):
            raise _Diverged(
                f"{name.upper()}: the perceptron's weights grew past the largest float (inf or nan) "
                f"within {len(errors)} epochs. Try a lower --lr ({args.lr:g} now): from zero weights "
                f"the perceptron rule learns the same line for any --lr"
            )
        verdict = (
            f"converged after {len(errors)} epochs"
            if model.converged
            else f"never converged in {len(errors)} epochs (errors in the last: {errors[-1]})"
        )
        w = ", ".join(f"{v:+.2f}" for v in model.w.numbers)
        print(f"{name.upper():>4}: {verdict}; w = ({w}), b = {model.b.numbers:+.2f}")
        _truth_table(X, y, X @ model.w.numbers + model.b.numbers, model.predict(X), "w.x+b")
        print()
    if args.render and model is not None:
        out = model(np.array([1.0, 1.0]))
        out.label = "output"
        print(f"graph for input [1, 1] written to {viz.render_graph(out, args.render)}")
    return 0


def _held_out_summary(model, split, history: list[float], seconds: float, args) -> int:
    """Accuracy on the training and the held-out rows, and the graph for the first held-out row."""
    X_train, X_test, y_train, y_test = split
    print(
        f"train accuracy {train.accuracy(model, X_train, y_train):.1%}   "
        f"test accuracy {train.accuracy(model, X_test, y_test):.1%}   "
        f"final loss {history[-1]:.4g}   trained in {seconds:.2f} s"
    )
    if args.render:
        _render(model, X_test[0], args)
    return 0


def cmd_moons(args) -> int:
    """Moons and spirals: a 2-D data set, a quarter held out."""
    make = data.moons if args.command == "moons" else data.spirals
    X, y = make(args.n, noise=args.noise, seed=args.seed)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, 0.25, seed=args.seed)
    model = nn.MLP(
        2, [*args.hidden, 1], activation=args.activation, init=args.init, bias_init=_bias(args), seed=args.seed
    )
    print(
        f"{args.command}: {len(y_train)} training and {len(y_test)} test points, "
        f"MLP 2-{'-'.join(map(str, args.hidden))}-1"
    )
    history, seconds = _fit(model, X_train, y_train, args, "bce_with_logits")
    return _held_out_summary(model, (X_train, X_test, y_train, y_test), history, seconds, args)


def cmd_digits(args) -> int:
    X, y = data.digits()
    X = X / 16.0  # pixels 0..16 -> 0..1
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, 0.2, seed=0)
    model = nn.MLP(
        64, [*args.hidden, 10], activation=args.activation, init=args.init, bias_init=_bias(args), seed=args.seed
    )
    print(
        f"digits: {len(y_train)} training and {len(y_test)} held-out images, "
        f"MLP 64-{'-'.join(map(str, args.hidden))}-10, minibatches of {args.batch_size}"
    )
    history, seconds = _fit(model, X_train, y_train, args, "cross_entropy", batch_size=args.batch_size)
    return _held_out_summary(model, (X_train, X_test, y_train, y_test), history, seconds, args)


def cmd_render(args) -> int:
    page = args.path.lower().endswith(".html")
    if args.wrt is not None and not page:
        raise _Refused(f"--wrt draws forward mode step by step, a page: give a .html path, not {args.path}")
    root = PRESETS[args.preset](args.seed)
    if args.wrt is not None:
        try:
            viz.tangent_steps(root, args.wrt)  # a leaf of this graph that needs a gradient, or refused by name
        except (ValueError, TypeError) as e:
            raise _Refused(str(e)) from None
        written = viz.render_forward_mode(root, args.path, args.wrt, inputs=NEURON_INPUTS)
        print(f"{args.preset}: forward mode along {args.wrt}, step by step, written to {written}")
    elif page:
        written = viz.render_backward(root, args.path, inputs=NEURON_INPUTS)
        steps = len(viz.backward_steps(root))
        print(f"{args.preset}: the forward pass, then the backward pass in {steps} steps, written to {written}")
    else:
        print(f"{args.preset}: graph written to {viz.render_graph(root, args.path, inputs=NEURON_INPUTS)}")
    return 0


def cmd_gradcheck(args) -> int:
    names = sorted(PRESETS) if args.preset == "all" else [args.preset]
    failed = 0
    for name in names:
        with record_sites():
            root = PRESETS[name](args.seed)
        report = check_graph(root, eps=args.eps)
        counts = Counter(c.status for c in report.ops)
        print(
            f"{name}: {len(report.ops)} ops checked one by one against central differences (eps {args.eps:g}): "
            + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        )
        print(report, end="\n\n")
        failed += len(report.failures)
    print("every op's backward agrees with its finite differences" if not failed else f"{failed} ops disagree")
    return 1 if failed else 0


COMMANDS = {
    "gradcheck": cmd_gradcheck,
    "xor": cmd_xor,
    "gates": cmd_gates,
    "moons": cmd_moons,
    "spirals": cmd_moons,
    "digits": cmd_digits,
    "render": cmd_render,
    "exercise": exercise_command.run,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except _Refused as e:
        print(f"tinygrad-edu {args.command}: error: {e}", file=sys.stderr)
        return 2
    except train.TrainingDiverged as e:
        print(f"tinygrad-edu {args.command}: error: {e.describe('--lr ', keeps_model=False)}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, RuntimeError, OSError, _Diverged) as e:
        print(f"tinygrad-edu {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
