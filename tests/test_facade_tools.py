"""The package's tools on a facade's tensors: pictures, the text tree, the trace, gradcheck, the stepper, node
names and compile read a node's ``numbers`` and ``gradient``, never ``.data``/``.grad``, which a facade
overrides (PyTorch's ``.data`` is a tensor, its ``.grad`` None before a backward).

``Facade`` below is such a tensor: its ``.data`` and ``.grad`` show a stand-in that is not numbers (any use of
it raises) and count every read. Each tool must give on a graph of Facades exactly what it gives on the same
graph of plain Values, with no read of ``.data``/``.grad``.
"""

import warnings

import numpy as np
import pytest

from tinygrad_edu import Value, compile, functional, gradcheck, gradgradcheck, no_grad, trace_backward, viz
from tinygrad_edu.compiler import CompileWarning
from tinygrad_edu.engine import toposort
from tinygrad_edu.gradcheck import check_graph
from tinygrad_edu.names import node_names


class Touched(Exception):
    """A tool used what a facade's ``.data`` or ``.grad`` showed."""


class Shown:
    """What the facade's ``.data``/``.grad`` show: not numbers; numpy, arithmetic or any attribute on it raises."""

    def __getattr__(self, name):
        raise Touched(f"a tool read .{name} of what a facade's .data or .grad shows")

    def _refuse(self, *args, **kwargs):
        raise Touched("a tool computed with what a facade's .data or .grad shows")

    __array__ = __float__ = __index__ = __bool__ = __len__ = __iter__ = __getitem__ = __format__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __neg__ = _refuse
    __matmul__ = __rmatmul__ = __pow__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse


class Facade(Value):
    """A facade's tensor (no ``__slots__``, as torch's): ``.data`` shows a ``Shown``, ``.grad`` None before a
    backward and a ``Shown`` after; the setters take numbers, as a facade's do. ``reads`` counts the getters."""

    reads = 0

    @property
    def data(self):
        Facade.reads += 1
        return Shown()

    @data.setter
    def data(self, value) -> None:
        Value.data.fset(self, value)

    @property
    def grad(self):
        Facade.reads += 1
        return None if self._grad is None else Shown()

    @grad.setter
    def grad(self, value) -> None:
        Value.grad.fset(self, value)


@pytest.fixture(autouse=True)
def no_reads_yet():
    Facade.reads = 0


def scalar_leaves(cls) -> list[Value]:
    """micrograd's neuron: inputs x1, x2 (no gradient), weights w1, w2 and a bias."""
    return [
        cls(2.0, label="x1", requires_grad=False),
        cls(0.0, label="x2", requires_grad=False),
        cls(-3.0, label="w1"),
        cls(1.0, label="w2"),
        cls(6.881373587019543, label="b"),
    ]


def scalar_graph(x1, x2, w1, w2, b) -> Value:
    n = x1 * w1 + x2 * w2 + b
    return n.tanh() * n  # n used twice: its contributions add up


def tensor_leaves(cls) -> list[Value]:
    rng = np.random.default_rng(0)
    return [cls(rng.normal(size=3), label="x"), cls(rng.normal(size=(2, 3)), label="W"), cls(rng.normal(size=2))]


def tensor_graph(x, W, b) -> Value:
    h = (W @ x + b).tanh()
    return (h * h).sum() + x.relu().mean()


GRAPHS = {"scalar": (scalar_leaves, scalar_graph), "tensor": (tensor_leaves, tensor_graph)}


def both(kind: str) -> tuple[Value, Value]:
    """The same graph built from plain Values and from Facades (the output of ops on Facades is a Facade)."""
    leaves, graph = GRAPHS[kind]
    plain, facade = graph(*leaves(Value)), graph(*leaves(Facade))
    assert type(plain) is Value and type(facade) is Facade
    return plain, facade


def backward_both(plain: Value, facade: Value, **options) -> None:
    plain.backward(**options)
    facade.backward(**options)


@pytest.mark.parametrize("kind", GRAPHS)
def test_draw_graph_of_facade_tensors_is_the_plain_picture(kind):
    plain, facade = both(kind)
    assert viz.draw_graph(facade).source == viz.draw_graph(plain).source  # before backward: grad 0
    assert "grad 0" in viz.draw_graph(facade).source
    contributions = viz.draw_graph(facade, show_contributions=True).source
    assert contributions == viz.draw_graph(plain, show_contributions=True).source
    backward_both(plain, facade)
    source = viz.draw_graph(facade, legend=True).source
    assert source == viz.draw_graph(plain, legend=True).source
    assert "grad 1<" in source and "grad ?" not in source  # the root's gradient, every gradient filled
    assert Facade.reads == 0


def test_a_quick_svg_of_facade_tensors_is_the_plain_one():
    plain, facade = both("scalar")
    backward_both(plain, facade)
    assert viz.draw_graph(facade).pipe(format="svg") == viz.draw_graph(plain).pipe(format="svg")
    assert Facade.reads == 0


@pytest.mark.parametrize("kind", GRAPHS)
def test_pictures_and_text_after_create_graph_show_the_gradients_numbers(kind):
    plain, facade = both(kind)
    backward_both(plain, facade, create_graph=True)  # every gradient is a node (a Facade for the facade's graph)
    leaf = next(n for n in toposort(facade) if n.requires_grad and not n.parents)
    assert type(leaf.gradient) is Facade
    assert viz.draw_graph(facade).source == viz.draw_graph(plain).source
    assert viz.format_graph(facade) == viz.format_graph(plain)
    assert Facade.reads == 0


@pytest.mark.parametrize("kind", GRAPHS)
def test_print_graph_of_facade_tensors_prints_the_plain_tree(kind, capsys):
    plain, facade = both(kind)
    for _ in range(2):  # before and after backward
        viz.print_graph(plain)
        expected = capsys.readouterr().out
        viz.print_graph(facade)
        assert capsys.readouterr().out == expected
        backward_both(plain, facade)
    assert "grad 1" in expected.splitlines()[0]  # the root's line, after the backward
    assert Facade.reads == 0


@pytest.mark.parametrize("kind", GRAPHS)
def test_trace_backward_of_facade_tensors_is_the_plain_table(kind):
    plain, facade = both(kind)
    expected, got = trace_backward(plain), trace_backward(facade)
    assert str(got) == str(expected)
    assert [r.local for r in got.rows] == [r.local for r in expected.rows]  # scalars: the local derivatives
    names, plain_names = node_names(facade), node_names(plain)
    shown = {names[n]: g for n, g in got.gradients.items()}
    for node, g in expected.gradients.items():
        np.testing.assert_array_equal(shown[plain_names[node]], g)
    assert all(not n.has_grad for n in toposort(facade))  # .grad left as it was
    assert Facade.reads == 0


def test_node_names_of_facade_tensors_are_the_plain_names():
    def graph(cls):
        a, b, c = cls(1.5, label="n1"), cls(2.0, label="a"), cls(-1.0, label="a")  # a taken label, a shared one
        return ((a * b) + c).exp() * (a - c)

    plain, facade = graph(Value), graph(Facade)
    names, expected = node_names(facade), node_names(plain)
    assert [names[n] for n in toposort(facade)] == [expected[n] for n in toposort(plain)]
    assert sorted(names.values()) == ["a", "a_2", "n1", "n2", "n3", "n4", "n5", "n6"]
    assert Facade.reads == 0


def test_gradcheck_on_facade_tensors_matches_plain_values():
    def fn(x, W):
        return ((W @ x).tanh() * x.sum()).sum()

    def inputs(cls):
        rng = np.random.default_rng(1)
        return cls(rng.normal(size=3), label="x"), cls(rng.normal(size=(2, 3)), label="W")

    x, W = inputs(Facade)
    before = [x.numbers.copy(), W.numbers.copy()]
    got, expected = gradcheck(fn, x, W), gradcheck(fn, *inputs(Value))
    assert str(got) == str(expected) and len(got.inputs) == 2
    assert got.max_abs_error == expected.max_abs_error < 1e-7
    got, expected = gradgradcheck(fn, x, W), gradgradcheck(fn, *inputs(Value))
    assert str(got) == str(expected) and len(got.inputs) == 4  # each input's gradient, by each input
    assert got.max_abs_error == expected.max_abs_error < 1e-6
    np.testing.assert_array_equal(x.numbers, before[0])  # the perturbed numbers were put back
    np.testing.assert_array_equal(W.numbers, before[1])
    assert not x.has_grad and not W.has_grad  # gradcheck writes no .grad
    assert Facade.reads == 0


@pytest.mark.parametrize("kind", GRAPHS)
def test_check_graph_on_facade_tensors_matches_plain_values(kind):
    plain, facade = both(kind)
    got, expected = check_graph(facade), check_graph(plain)
    assert str(got) == str(expected)
    assert [c.status for c in got.ops] == [c.status for c in expected.ops] and not got.failures
    assert Facade.reads == 0


def test_stepper_page_and_frames_of_facade_tensors_are_the_plain_ones():
    plain, facade = both("scalar")
    page = viz.backward_page(facade)
    assert page == viz.backward_page(plain)
    assert page.count("<svg") == 1 and '"lines"' in page
    frames, plain_frames = viz.backward_frames(facade), viz.backward_frames(plain)
    assert len(frames) == len(plain_frames) == sum(n.requires_grad for n in toposort(facade)) == 9
    assert [f.source for f in frames] == [f.source for f in plain_frames]
    assert all(not n.has_grad for n in toposort(facade))
    assert Facade.reads == 0


def test_compiled_training_step_on_facade_tensors_trains_as_on_plain_values():
    """A small regression trained 6 steps by ``compile`` (every third call checked against eager): the same
    code, losses and parameters as for plain Values; the facade's X is an argument, read as ``A[0].numbers``."""
    rng = np.random.default_rng(2)
    X_numbers, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))

    def train(cls):
        W, b = cls(np.full((3, 2), 0.1), label="W"), cls(np.zeros(2), label="b")
        X = cls(X_numbers, label="X", requires_grad=False)
        labels = cls(np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0]), requires_grad=False)

        def loss_of(X, y):
            out = X @ W + b
            return ((out - y) ** 2).mean() + functional.cross_entropy(out, labels)

        step, losses = compile(loss_of, check_every=3), []
        with warnings.catch_warnings():
            warnings.simplefilter("error", CompileWarning)  # run eagerly instead: the test fails
            for _ in range(6):
                losses.append(float(step(X, y)))
                with no_grad():
                    W -= 0.1 * W.gradient
                    b -= 0.1 * b.gradient
                W.zero_grad()
                b.zero_grad()
        return step, losses, W.numbers, b.numbers

    step, losses, W, b = train(Facade)
    plain_step, plain_losses, plain_W, plain_b = train(Value)
    assert step.latest.step is not None and "A[0].numbers" in step.source
    assert step.source == plain_step.source
    assert losses == plain_losses and losses[-1] < losses[0]
    np.testing.assert_array_equal(W, plain_W)
    np.testing.assert_array_equal(b, plain_b)
    assert Facade.reads == 0


def test_methods_on_facade_tensors_read_the_numbers_not_data_or_grad():
    """repr, chain_rule (backprop by hand), detach, numpy, item, tolist, comparisons and an in-place update."""
    values = {cls: (cls(3.0, label="a"), cls(np.array([1.0, -2.0]), label="v")) for cls in (Value, Facade)}
    for a, v in values.values():
        out = a * a.tanh()
        out.grad = 1.0
        out.chain_rule()  # out's own step: into a (twice) and tanh(a)
        with no_grad():
            v -= 0.5 * v.numbers
    (pa, pv), (fa, fv) = values[Value], values[Facade]
    assert repr(fa) == repr(pa) == f"Value(data=3.0, grad={pa.gradient!r}, label='a')"
    assert fa.gradient == pa.gradient == np.tanh(3.0)
    assert repr(fv) == repr(pv)
    np.testing.assert_array_equal(fv.numpy(), [0.5, -1.0])
    assert fv.tolist() == pv.tolist() and fa.item() == 3.0 and float(fa) == 3.0
    detached = fv.detach()
    assert type(detached) is Value and not detached.requires_grad and detached.tolist() == [0.5, -1.0]
    assert (fv > 0.0).tolist() == [1.0, 0.0] and (fa == pa).item() == 1.0
    assert Facade.reads == 0
