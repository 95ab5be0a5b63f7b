"""``torch.autograd.Function`` (a derivative of the user's, made an op): PyTorch's LegendrePolynomial3 tutorial
against real PyTorch, two inputs, gradients of gradients, and our tools (pictures, gradcheck, compile) on it."""

import math
import warnings

import numpy as np
import pytest

import tinygrad_edu.torch as ttorch
from tinygrad_edu import GradcheckError, check_graph, compile, gradcheck, gradgradcheck, trace_backward, viz
from tinygrad_edu.compiler import CompileWarning


def legendre(torch):
    """The tutorial's custom Function, for ``torch`` (ours or PyTorch): P3(x) = (5x^3 - 3x) / 2, dP3/dx =
    1.5 (5x^2 - 1)."""

    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input**3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input**2 - 1)

    return LegendrePolynomial3


def legendre_tutorial(torch, steps: int, dtype_name: str = "float64") -> tuple[list[float], list[float]]:
    """PyTorch's "Learning PyTorch with Examples", polynomial_custom_function.py: the same calls in the same order
    (PyTorch with dtype float64, so that it computes in our precision; fewer steps); returns every loss and the
    weights."""
    LegendrePolynomial3 = legendre(torch)
    dtype = getattr(torch, dtype_name)  # the tutorial's torch.float
    device = torch.device("cpu")
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)
    a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)
    learning_rate = 5e-6
    losses = []
    for _ in range(steps):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return losses, [a.item(), b.item(), c.item(), d.item()]


def test_the_legendre_tutorial_trains_as_in_pytorch():
    torch = pytest.importorskip("torch")
    ours, ours_weights = legendre_tutorial(ttorch, 300)
    theirs, their_weights = legendre_tutorial(torch, 300)
    assert ours[-1] < ours[0] / 2  # it learns
    assert legendre_tutorial(ttorch, 300, "float") == (ours, ours_weights)  # the tutorial's dtype: float64 here too
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=0)
    np.testing.assert_allclose(ours_weights, their_weights, rtol=1e-10, atol=1e-12)


LegendrePolynomial3 = legendre(ttorch)
P3 = LegendrePolynomial3.apply


def scaled_product(torch):
    """A Function of two tensors and a number: scale * x * y, with needs_input_grad recorded."""

    class ScaledProduct(torch.autograd.Function):
        seen = []

        @staticmethod
        def forward(ctx, x, scale, y):
            ctx.save_for_backward(x, y)
            ctx.scale = scale
            return scale * x * y

        @staticmethod
        def backward(ctx, grad_output):
            x, y = ctx.saved_tensors
            ScaledProduct.seen.append(ctx.needs_input_grad)
            gx = grad_output * ctx.scale * y if ctx.needs_input_grad[0] else None
            gy = grad_output * ctx.scale * x if ctx.needs_input_grad[2] else None
            return gx, None, gy

    return ScaledProduct


def test_a_function_of_two_tensors_and_a_number_matches_pytorch():
    torch = pytest.importorskip("torch")
    x0, y0 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]), np.array([2.0, -3.0, 0.5])
    results = []
    for lib in (ttorch, torch):
        fn = scaled_product(lib)
        x = lib.tensor(x0, requires_grad=True)
        y = lib.tensor(y0, requires_grad=True)
        out = fn.apply(x, 2.5, y)
        (out * out).sum().backward()
        y_const = lib.tensor(y0)
        x.grad = None
        fn.apply(x, 2.5, y_const).sum().backward()
        results.append((np.array(out.tolist()), np.array(y.grad.tolist()), np.array(x.grad.tolist()), fn.seen))
    (o1, gy1, gx1, seen1), (o2, gy2, gx2, seen2) = results
    np.testing.assert_allclose(o1, o2, rtol=1e-14)
    np.testing.assert_allclose(gy1, gy2, rtol=1e-14)  # y's gradient is summed over the broadcast rows
    np.testing.assert_allclose(gx1, gx2, rtol=1e-14)
    assert seen1 == seen2 == [(True, False, True), (True, False, False)]


def test_a_function_differentiated_twice_matches_pytorch():
    """Under create_graph the user's backward runs on the graph's own nodes: d2P3/dx2 = 15x."""
    torch = pytest.importorskip("torch")
    x0 = np.array([0.3, -0.7, 1.2])
    x = ttorch.tensor(x0, requires_grad=True)
    (g,) = ttorch.autograd.grad(P3(x).sum(), x, create_graph=True)
    (h,) = ttorch.autograd.grad((g * g).sum(), x)

    tx = torch.tensor(x0, requires_grad=True)
    (tg,) = torch.autograd.grad(legendre(torch).apply(tx).sum(), tx, create_graph=True)
    (th,) = torch.autograd.grad((tg * tg).sum(), tx)
    np.testing.assert_allclose(g.numbers, tg.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(h.numbers, th.numpy(), rtol=1e-14)
    np.testing.assert_allclose(h.numbers, 2 * g.numbers * 15 * x0, rtol=1e-14)


def test_a_function_is_drawn_traced_and_gradchecked_like_an_op():
    x = ttorch.tensor(np.array([0.3, -0.7, 1.2]), requires_grad=True)
    loss = P3(x * 2.0).sum()
    assert loss.parents[0].op == "LegendrePolynomial3"
    assert "LegendrePolynomial3" in viz.draw_graph(loss).source
    assert "LegendrePolynomial3" in str(trace_backward(loss))
    assert gradcheck(lambda x: P3(x * 2.0), x).max_abs_error < 1e-6
    assert gradgradcheck(lambda x: P3(x * 2.0).sum(), x).max_abs_error < 1e-6
    assert [c.status for c in check_graph(loss).ops] == ["pass", "pass", "pass"]


class WrongP3(LegendrePolynomial3):
    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (4 * input**2 - 1)  # (5x^2 - 1, planted wrong)


def test_gradcheck_names_a_function_with_a_wrong_backward():
    x = ttorch.tensor(np.array([0.3, -0.7, 1.2]), requires_grad=True)
    with pytest.raises(GradcheckError, match="the first wrong op: WrongP3"):
        gradcheck(lambda x: WrongP3.apply(x * 2.0), x)


def test_the_backward_uses_the_numbers_of_its_own_node_after_a_tool_reran_the_forward():
    """check_graph runs the op's forward on perturbed numbers; a later backward must not use those."""
    x = ttorch.tensor(np.array([0.3, -0.7, 1.2]), requires_grad=True)
    loss = P3(x).sum()
    check_graph(loss)
    loss.backward()
    np.testing.assert_allclose(x.gradient, 1.5 * (5 * x.numbers**2 - 1), rtol=1e-14)


def test_a_function_compiles_to_lines_that_call_it():
    w = ttorch.tensor(np.array([0.5, 1.0, -1.0]), requires_grad=True)

    def f(X):
        return (P3(w * X) * ScaledTwice.apply(w, 3.0)).sum()

    step = compile(f)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no CompileWarning: it is compiled, not run eagerly
        for k in range(4):
            X = np.array([0.5, 1.5, 0.2]) * (k + 1)
            w.grad = None
            got = step(X)
            got_grad = w.gradient.copy()
            w.grad = None
            want = f(X)
            want.backward()
            assert got.numbers == pytest.approx(want.numbers, rel=1e-14)
            np.testing.assert_allclose(got_grad, w.gradient, rtol=1e-14)
            with ttorch.no_grad():
                w -= 0.01 * w.grad  # the step reads the parameter's new numbers
    name = P3(w).operation.__name__  # LegendrePolynomial3 (with a number if another Function has that name)
    assert f"{name}.forward(n3, ctx=" in step.source and f"{name}.backward(g_n4, n4, n3, ctx=" in step.source
    assert step.made and max(step.made.values()) == 0  # one trace, reused


class ScaledTwice(ttorch.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        return x * k * 2.0

    @staticmethod
    def backward(ctx, g):
        return g * ctx.k * 2.0, None


def test_two_functions_of_the_same_name_are_two_ops():
    def make():
        class Twice(ttorch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2.0

            @staticmethod
            def backward(ctx, g):
                return g * 2.0

        return Twice

    first, second = make(), make()
    x = ttorch.tensor(np.array([1.0, 2.0]), requires_grad=True)
    a, b = first.apply(x), second.apply(x)
    assert a.op == b.op == "Twice" and a.operation is not b.operation
    assert a.operation.__name__ != b.operation.__name__  # compile's lines call them by these names


def pytorch_error(torch, fn_class_body, *args) -> str:
    """The message real PyTorch gives for a Function whose backward is wrong."""
    cls = type("Bad", (torch.autograd.Function,), fn_class_body)
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError) as error:
        cls.apply(x, *args).sum().backward()
    return str(error.value)


@pytest.mark.parametrize(
    "backward, extra",
    [
        (lambda ctx, g: g, (2.0,)),  # one gradient for two arguments
        (lambda ctx, g: (g, g), (2.0,)),  # a gradient for the number
        (lambda ctx, g: g[:2], ()),  # a wrong shape
        (lambda ctx, g: g.sum(), ()),  # a shape that does not broadcast back
        (lambda ctx, g: 3.0, ()),  # not a tensor
    ],
    ids=["count", "number", "shape", "sum", "float"],
)
def test_a_wrong_backward_gets_pytorchs_error(backward, extra):
    torch = pytest.importorskip("torch")
    body = {"forward": staticmethod(lambda ctx, x, *k: x * 2), "backward": staticmethod(backward)}
    theirs = pytorch_error(torch, body, *extra)
    cls = type("Bad", (ttorch.autograd.Function,), body)
    x = ttorch.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    with pytest.raises(RuntimeError) as error:
        cls.apply(x, *extra).sum().backward()
    assert str(error.value) == theirs


def test_extra_none_gradients_are_ignored_and_none_is_zero():
    body = {"forward": staticmethod(lambda ctx, x: x * 2), "backward": staticmethod(lambda ctx, g: (None, None))}
    cls = type("Nothing", (ttorch.autograd.Function,), body)
    x = ttorch.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (cls.apply(x) * x).sum().backward()
    np.testing.assert_array_equal(x.gradient, [2.0, 4.0])  # only the direct use of x


def test_what_a_function_refuses():
    x = ttorch.tensor(np.array([1.0, 2.0]), requires_grad=True)
    body = {"forward": staticmethod(lambda ctx, *xs: xs[0]), "backward": staticmethod(lambda ctx, g: g)}
    many = type("Many", (ttorch.autograd.Function,), body)
    with pytest.raises(TypeError, match="got 3 tensors; a torch.autograd.Function here takes one or two"):
        many.apply(x, x, x)
    with pytest.raises(RuntimeError, match="Legacy autograd function"):
        many()(x)
    no_backward = type("NoBackward", (ttorch.autograd.Function,), {"forward": staticmethod(lambda ctx, x: x * 2)})
    with pytest.raises(NotImplementedError, match="You must implement either the backward or vjp"):
        no_backward.apply(x).sum().backward()
    numbers = type("Numbers", (ttorch.autograd.Function,), {"forward": staticmethod(lambda ctx, x: 3.0)})
    with pytest.raises(TypeError, match="Numbers.forward must return one tensor here, it returned float"):
        numbers.apply(x)
    with pytest.raises(TypeError, match="save_for_backward can only save variables, but argument 1"):
        type(
            "Saves", (ttorch.autograd.Function,), {"forward": staticmethod(lambda ctx, x: ctx.save_for_backward(x, 3))}
        ).apply(x)


def test_no_graph_under_no_grad_or_for_a_marked_output():
    x = ttorch.tensor(np.array([1.0, -2.0]), requires_grad=True)
    with ttorch.no_grad():
        assert not P3(x).requires_grad

    class Sign(ttorch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = (x > 0) * 2.0 - 1.0
            ctx.mark_non_differentiable(out)
            return out

    out = Sign.apply(x)
    assert not out.requires_grad and out.tolist() == [1.0, -1.0]
    no_tensor = type(
        "Pair", (ttorch.autograd.Function,), {"forward": staticmethod(lambda ctx, k: ttorch.tensor([k, k]))}
    )
    out = no_tensor.apply(2.0)  # nothing to differentiate by: the forward's answer, without a graph
    assert isinstance(out, ttorch.Tensor) and out.tolist() == [2.0, 2.0] and not out.requires_grad


def test_the_setup_context_style_of_pytorch_2():
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (ttorch, torch):

        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(x):
                return x**3

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.save_for_backward(inputs[0])

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * 3 * x**2

        x = lib.tensor(np.array([1.0, -2.0]), requires_grad=True)
        Cube.apply(x).sum().backward()
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1] == [3.0, 12.0]


def swapped(torch):
    """x * y with the two gradients swapped (planted wrong)."""

    class Swapped(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * x, g * y

    return Swapped


def detached_cube(torch):
    """x^3 whose backward is right once but cut from the graph: its second derivative is wrong."""

    class DetachedCube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * (x * x).detach()

    return DetachedCube


def test_torch_autograd_gradcheck_answers_as_pytorchs():
    torch = pytest.importorskip("torch")
    x0, y0 = np.array([1.0, 2.0]), np.array([3.0, -4.0])
    answers = []
    for lib in (ttorch, torch):
        x, y = lib.tensor(x0, requires_grad=True), lib.tensor(y0, requires_grad=True)
        good = scaled_product(lib).apply
        bad = swapped(lib).apply
        with pytest.raises(RuntimeError) as error:
            lib.autograd.gradcheck(bad, (x, y))
        answers.append(
            (
                lib.autograd.gradcheck(good, (x, 2.0, y)),
                lib.autograd.gradcheck(bad, (x, y), raise_exception=False),
                str(error.value).splitlines()[0],
                lib.autograd.gradgradcheck(lambda x, y: (x * y.sin(), x.exp()), (x, y)),
                lib.autograd.gradcheck(detached_cube(lib).apply, x),
                lib.autograd.gradgradcheck(detached_cube(lib).apply, x, raise_exception=False),
            )
        )
    assert (
        answers[0]
        == answers[1]
        == (True, False, "Jacobian mismatch for output 0 with respect to input 0,", True, True, False)
    )


def test_torch_autograd_gradcheck_says_which_element_is_wrong():
    x = ttorch.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = ttorch.tensor(np.array([3.0, -4.0]), requires_grad=True)
    with pytest.raises(ttorch.autograd.GradcheckError) as error:
        ttorch.autograd.gradcheck(lambda a, b: (a + b, swapped(ttorch).apply(a, b)), (x, y))
    message = str(error.value)
    assert message.startswith("Jacobian mismatch for output 1 with respect to input 0,\n")
    assert "element (1,) of output element (1,): analytic 2, numeric -4" in message  # (the worst: x_1 gets y_1)
    assert "the first wrong op: Swapped" in message
    assert isinstance(error.value, RuntimeError) and isinstance(error.value, GradcheckError)
    with pytest.raises(ttorch.autograd.GradcheckError, match="Gradgradcheck failed: second derivatives mismatch"):
        ttorch.autograd.gradgradcheck(detached_cube(ttorch).apply, x)


def test_torch_autograd_gradcheck_refuses_what_pytorch_refuses():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError) as theirs:
        torch.autograd.gradcheck(lambda x: x * 2, (torch.tensor([1.0], dtype=torch.float64),))
    with pytest.raises(ValueError) as ours:
        ttorch.autograd.gradcheck(lambda x: x * 2, (ttorch.tensor([1.0]),))
    assert str(ours.value) == str(theirs.value)
    x = ttorch.tensor(np.array([1.0]), requires_grad=True)
    assert ttorch.autograd.gradcheck(lambda x: x * 2, x, fast_mode=True, nondet_tol=0.0)
    with pytest.raises(NotImplementedError, match="check_fwd_over_rev=True is not checked here"):
        ttorch.autograd.gradcheck(lambda x: x * 2, x, check_fwd_over_rev=True)
    with pytest.raises(TypeError, match="gradcheck\\(\\) got an unexpected keyword argument 'tolerance'"):
        ttorch.autograd.gradcheck(lambda x: x * 2, x, tolerance=1.0)


def test_torch_autograd_names_what_it_supports():
    with pytest.raises(AttributeError, match="torch.autograd has no 'Variable'; it supports: grad, Function"):
        ttorch.autograd.Variable  # noqa: B018
    from tinygrad_edu.torch.autograd import Function, functional, gradcheck  # as PyTorch's imports are written

    assert Function is ttorch.autograd.Function and gradcheck is ttorch.autograd.gradcheck
    assert functional.jacobian is __import__("tinygrad_edu").jacobian


def test_compile_refuses_a_function_given_an_array_as_a_setting():
    """An array (or any non-Python-number) argument would be kept from the traced call: compile runs eagerly."""

    class Scale(ttorch.autograd.Function):
        @staticmethod
        def forward(ctx, x, s):
            ctx.s = ttorch.tensor(np.asarray(s, dtype=float))
            return x * ctx.s

        @staticmethod
        def backward(ctx, g):
            return g * ctx.s, None

    w = ttorch.tensor([1.0, 2.0], requires_grad=True)
    step = compile(lambda X: Scale.apply(w, X).sum())
    with pytest.warns(CompileWarning, match="a non-tensor argument of Scale.apply that is not a Python number"):
        step(np.array([1.0, 3.0]))
    w.grad = None
    assert step(np.array([2.0, 5.0])).item() == 12.0 and w.grad.tolist() == [2.0, 5.0]


def test_a_functions_grad_fn_is_named_as_pytorch_names_it():
    real = pytest.importorskip("torch")

    def make(lib):
        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * x * g

        return Square.apply(lib.tensor([1.0, 2.0], requires_grad=True)).grad_fn.name()

    assert make(ttorch) == make(real) == "SquareBackward"


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")  # PyTorch's own, inside
def test_gradcheck_checks_forward_mode_when_asked():
    """check_forward_ad=True: the Jacobian by forward mode against differences; a wrong backward (from which forward
    mode reads its rule) is caught by it alone, with check_backward_ad=False, at the element that is wrong."""
    torch = pytest.importorskip("torch")
    x = ttorch.tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert ttorch.autograd.gradcheck(lambda x: (x * x).sin(), x, check_forward_ad=True)
    theirs = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: (x * x).sin(), theirs, check_forward_ad=True)

    class Square(ttorch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x  # 2 * x is right

    with pytest.raises(ttorch.autograd.GradcheckError) as error:
        ttorch.autograd.gradcheck(Square.apply, x, check_forward_ad=True, check_backward_ad=False)
    assert str(error.value) == (
        "Jacobian computed with forward mode mismatch for output 0 with respect to input 0,\n"
        "element (1, 1) of the Jacobian: forward mode gives 6, central differences 4"
    )
    assert not ttorch.autograd.gradcheck(Square.apply, x, check_forward_ad=True, check_backward_ad=False,
                                         raise_exception=False)  # fmt: skip
    assert ttorch.autograd.gradcheck(Square.apply, x, check_backward_ad=False)  # nothing asked, nothing checked
