"""jacobian, hessian, vjp, jvp, hvp (tinygrad_edu.jacobians, and the facade's torch.autograd.functional): against
real PyTorch's torch.autograd.functional, and against finite differences."""

import numpy as np
import pytest

import tinygrad_edu.torch as ttorch
from tinygrad_edu import Value, enable_grad, grad, hessian, hvp, jacobian, jvp, numerical_grad, vjp

RNG = np.random.default_rng(7)
X0, Y0 = RNG.normal(size=3), RNG.normal(size=(2, 3))
V_OUT = (RNG.normal(size=2), np.array(1.5))  # a v for the outputs of two_outputs
V_IN = (RNG.normal(size=3), RNG.normal(size=(2, 3)))  # a v for the inputs


def two_outputs(x, y):
    """Two inputs, a vector and a scalar output."""
    return (x * y).sum(1).tanh(), (x.exp() * y).sum()


def scalar(x, y):
    return (x.sin() * y).sum() + (x * x).sum() * y.sum()


def vector(x):
    return x.tanh() * x.sum()


def cube(x):
    return (x**3).sum()


def same(ours, theirs, path="answer"):
    """Our nested tuples of tensors equal PyTorch's: the same nesting, shapes, numbers and requires_grad."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs), path
        for k, (a, b) in enumerate(zip(ours, theirs)):
            same(a, b, f"{path}[{k}]")
        return
    assert isinstance(ours, ttorch.Tensor), (path, type(ours))
    assert ours.shape == tuple(theirs.shape), path
    np.testing.assert_allclose(np.asarray(ours.numbers), theirs.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=path)
    assert ours.requires_grad == theirs.requires_grad, path


def both(torch):
    """The inputs as our facade's tensors and as PyTorch's, requiring gradients."""
    ours = (ttorch.tensor(X0, requires_grad=True), ttorch.tensor(Y0, requires_grad=True))
    theirs = (torch.tensor(X0, requires_grad=True), torch.tensor(Y0, requires_grad=True))
    return ours, theirs


CASES = {
    "jacobian, two inputs, two outputs": ("jacobian", two_outputs, True, None),
    "jacobian, one input": ("jacobian", vector, False, None),
    "hessian, two inputs": ("hessian", scalar, True, None),
    "hessian, one input": ("hessian", cube, False, None),
    "vjp": ("vjp", two_outputs, True, V_OUT),
    "vjp, one input, one element": ("vjp", cube, False, None),
    "jvp": ("jvp", two_outputs, True, V_IN),
    "jvp, one input": ("jvp", vector, False, V_IN[0]),
    "hvp": ("hvp", scalar, True, V_IN),
    "hvp, one input": ("hvp", cube, False, V_IN[0]),
}


@pytest.mark.parametrize("create_graph", [False, True], ids=["numbers", "create_graph"])
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_the_same_answers_as_pytorchs_functional(case, create_graph):
    torch = pytest.importorskip("torch")
    name, fn, pair, v = CASES[case]
    ours, theirs = both(torch)
    if not pair:
        ours, theirs = ours[0], theirs[0]
    extra, their_extra = (), ()
    if v is not None:
        extra = (tuple(ttorch.tensor(a) for a in v) if isinstance(v, tuple) else ttorch.tensor(v),)
        their_extra = (tuple(torch.tensor(a) for a in v) if isinstance(v, tuple) else torch.tensor(v),)
    got = getattr(ttorch.autograd.functional, name)(fn, ours, *extra, create_graph=create_graph)
    want = getattr(torch.autograd.functional, name)(fn, theirs, *their_extra, create_graph=create_graph)
    same(got, want)


def test_a_jacobian_made_with_create_graph_is_differentiated_as_pytorchs():
    torch = pytest.importorskip("torch")
    (x, y), (tx, ty) = both(torch)
    jx, jy = ttorch.autograd.functional.jacobian(lambda x, y: (x * y).sum(1).tanh(), (x, y), create_graph=True)
    tjx, tjy = torch.autograd.functional.jacobian(lambda x, y: (x * y).sum(1).tanh(), (tx, ty), create_graph=True)
    same(
        ttorch.autograd.grad((jx * jx).sum() + jy.sum(), [x, y]),
        torch.autograd.grad((tjx * tjx).sum() + tjy.sum(), [tx, ty]),
    )


def test_strict_and_the_checks_of_v_give_pytorchs_errors():
    torch = pytest.importorskip("torch")
    (x, y), (tx, ty) = both(torch)
    calls = [
        ("jacobian", lambda x, y: x * 2, {"strict": True}),  # y unused
        ("jacobian", lambda x, y: x * 2, {"strict": True, "vectorize": True}),
        ("jacobian", lambda x, y: x * 2, {"strategy": "forward-mode"}),  # (needs vectorize=True)
        ("hessian", lambda x, y: (x * 2).sum() + y.sum(), {"strict": True}),  # a linear function
        ("vjp", lambda x, y: x * y, {}),  # v needed for an output of 6 elements
        ("jvp", lambda x, y: x * y, {"v": (x, x)}),  # v of a wrong shape
        ("hvp", lambda x, y: x * y, {"v": (x, y)}),  # not one element
    ]
    for name, fn, options in calls:
        theirs_of = {id(x): tx, id(y): ty}
        their_options = {k: tuple(theirs_of[id(a)] for a in v) if k == "v" else v for k, v in options.items()}
        with pytest.raises(Exception) as theirs:
            getattr(torch.autograd.functional, name)(fn, (tx, ty), **their_options)
        with pytest.raises(type(theirs.value)) as ours:
            getattr(ttorch.autograd.functional, name)(fn, (x, y), **options)
        assert str(ours.value).split() == str(theirs.value).replace("isonly", "is only").split()  # (PyTorch's typo)


def test_against_finite_differences_in_our_own_api():
    """No PyTorch: each answer from the definitions (J by central differences, H as the Jacobian of the gradient)."""
    x, y = Value(X0), Value(Y0)
    jx, jy = jacobian(lambda x, y: (x * y).sum(1).tanh(), (x, y))
    nx, ny = numerical_grad(lambda x, y: (x * y).sum(1).tanh(), x, y)
    np.testing.assert_allclose(jx.numbers, nx, atol=1e-8)
    np.testing.assert_allclose(jy.numbers, ny, atol=1e-8)

    def gradient(x):  # (numerical_grad calls it under no_grad)
        with enable_grad():
            return grad(vector(x).sum(), x, create_graph=True)[0]

    h = hessian(lambda x: vector(x).sum(), x)
    np.testing.assert_allclose(h.numbers, numerical_grad(gradient, x)[0], atol=1e-8)
    v = V_IN[0]
    j = jacobian(vector, x).numbers
    np.testing.assert_allclose(jvp(vector, x, v)[1].numbers, j @ v, rtol=1e-12)
    np.testing.assert_allclose(vjp(vector, x, v)[1].numbers, v @ j, rtol=1e-12)
    np.testing.assert_allclose(hvp(lambda x: vector(x).sum(), x, v)[1].numbers, h.numbers @ v, rtol=1e-12)


def test_our_own_api_takes_arrays_and_gives_values():
    out, product = vjp(lambda x: (x * x).sum(), np.array([1.0, 2.0]))
    assert isinstance(out, Value) and out.numbers == 5.0 and not out.requires_grad
    np.testing.assert_array_equal(product.numbers, [2.0, 4.0])
    assert hessian(lambda x: x**3, 2.0).numbers == 12.0  # a scalar input: d2/dx2 x^3 = 6x


def test_an_input_given_twice_is_two_inputs_and_an_unused_one_gets_zeros():
    x = Value(np.array([1.0, 2.0]))
    j1, j2 = jacobian(lambda a, b: a * b, (x, x))
    np.testing.assert_array_equal(j1.numbers, np.diag([1.0, 2.0]))  # d(a b)/da = b, with a and b apart
    np.testing.assert_array_equal(j2.numbers, np.diag([1.0, 2.0]))
    _, unused = jacobian(lambda a, b: a * 2.0, (x, Value(np.ones(3))))
    assert unused.shape == (2, 3) and not unused.numbers.any()
    assert jacobian(lambda a: a[:0], x).shape == (0, 2)  # no output elements, no rows (PyTorch 2.13 raises here)
    with pytest.raises(RuntimeError, match="Output 0 of the user-provided function is independent of input 1"):
        jacobian(lambda a, b: a * 2.0, (x, Value(np.ones(3))), strict=True)


def test_bad_inputs_are_named():
    with pytest.raises(TypeError, match="The inputs given to jacobian must be either a Tensor or a tuple of Tensors"):
        jacobian(lambda x: x, "not numbers")
    with pytest.raises(ValueError, match='Expected strategy to be either "forward-mode" or "reverse-mode"'):
        jacobian(lambda x: x, Value(1.0), strategy="sideways")
    with pytest.raises(RuntimeError, match="The function given to hessian should return a single Tensor"):
        hessian(lambda x: (x, x), Value(1.0))
