"""The math of every operation: its forward and its derivative, side by side.

An op is a small class with two functions:

* ``forward(*inputs, **kwargs)`` computes the output from the inputs' data;
* ``backward(g, out, *inputs, **kwargs)`` gets ``g = dL/d(out)``, the gradient of the final
  result L with respect to this op's output (the "upstream" gradient), and returns
  ``dL/d(input)`` for each input. That is the chain rule, one op at a time:
  ``dL/dx = dL/d(out) * d(out)/dx``.

A worked example: ``out = a * b`` with a = 2, b = 3, and say dL/d(out) = g = 10. Then
d(out)/da = b = 3, so dL/da = 10 * 3 = 30; and d(out)/db = a = 2, so dL/db = 20.
That is ``Mul.backward(10, 6, 2, 3) == (30, 20)``.

Nothing here knows about graphs: ``engine.py`` wires ops into one. The same definition
serves scalars (Python floats), tensors (float64 numpy arrays) and Values: ``math_for(x)``,
at the end of this file, picks the ``math`` module, numpy, or (for Values) functions that
build graph nodes. So a backward run on the graph's own nodes is itself a graph, which can
be differentiated again: gradients of gradients (``create_graph=True``). A gradient may come back in the
broadcast shape of the output; the engine sums it back to each input's shape in one place
(``engine.reduce_broadcast``). Each op also declares where it is defined (``domain``) and
where it has no derivative (``kinks``), for the gradient checks (``domains.py``).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from tinygrad_edu.domains import NONZERO, POSITIVE, REAL, Interval, near


class Op:
    """Base of all operations.

    ``name`` is what the graph shows; ``arity`` the number of inputs (1 or 2); ``domain``
    one ``Interval`` per input (where the op and its derivative are defined); ``kinks`` is
    None for a smooth op, else ``kinks(eps, *inputs, **kwargs)`` returns, per input, where
    an element lies within eps of a point where the op has no derivative.

    ``jacobian`` says what the op's derivative looks like, for forward mode (``forward.py``), which reads each
    op's rule from its backward: "diagonal" (elementwise: each output element depends only on the elements at
    its place in the inputs broadcast to the output's shape, so backward is a product by a diagonal matrix,
    its own transpose), "linear" (the op is linear in its inputs together: a tangent goes through the op
    itself), "multilinear" (linear in each input when the other is held: matmul, convolution), or None: no
    shortcut, forward mode transposes the backward (a test checks each declaration against that).
    """

    name = "op"
    arity = 1
    domain: tuple[Interval, ...] | None = None
    kinks = None
    jacobian: str | None = None

    @staticmethod
    def forward(*inputs, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(g, out, *inputs, **kwargs):
        raise NotImplementedError


REGISTRY: dict[str, type[Op]] = {}


def register(op: type[Op]) -> type[Op]:
    """Enrol a built-in op: the registry test checks its declarations and gradient-checks it."""
    REGISTRY[op.__name__] = op
    return op


# ---------------------------------------------------------------- arithmetic


@register
class Add(Op):
    """a + b;  d/da = 1, d/db = 1: the gradient flows through unchanged to both."""

    name, arity, domain, kinks, jacobian = "add", 2, (REAL, REAL), None, "diagonal"  # smooth

    @staticmethod
    def forward(a, b):
        return a + b

    @staticmethod
    def backward(g, out, a, b):
        return g, g


@register
class Mul(Op):
    """a * b;  product rule: d/da = b, d/db = a."""

    name, arity, domain, kinks, jacobian = "mul", 2, (REAL, REAL), None, "diagonal"  # smooth

    @staticmethod
    def forward(a, b):
        return a * b

    @staticmethod
    def backward(g, out, a, b):
        return g * b, g * a


@register
class Sub(Op):
    """a - b;  d/da = 1, d/db = -1."""

    name, arity, domain, kinks, jacobian = "sub", 2, (REAL, REAL), None, "diagonal"  # smooth

    @staticmethod
    def forward(a, b):
        return a - b

    @staticmethod
    def backward(g, out, a, b):
        return g, -g


@register
class Div(Op):
    """a / b;  d/da = 1/b, d/db = -a/b^2 = -out/b."""

    name, arity, domain, kinks, jacobian = "div", 2, (REAL, NONZERO), None, "diagonal"  # smooth

    @staticmethod
    def forward(a, b):
        return a / b

    @staticmethod
    def backward(g, out, a, b):
        return g / b, -g * out / b


@register
class Neg(Op):
    """-x;  d/dx = -1."""

    name, domain, kinks, jacobian = "neg", (REAL,), None, "diagonal"  # smooth

    @staticmethod
    def forward(x):
        return -x

    @staticmethod
    def backward(g, out, x):
        return -g


@register
class PowConst(Op):
    """x ** p for a fixed number p;  power rule: d/dx = p * x^(p-1)."""

    name, domain, kinks, jacobian = "pow", (POSITIVE,), None, "diagonal"  # smooth

    @staticmethod
    def forward(x, p):
        return math_for(x).power(x, p)

    @staticmethod
    def backward(g, out, x, p):
        if p == 0:  # x^0 = 1 is constant, also at x = 0 (where p * x^(p-1) would be 0 * inf)
            return g * 0.0
        return g * p * math_for(x).power(x, p - 1)


@register
class Pow(Op):
    """x ** y with y a Value;  d/dx = y * x^(y-1), d/dy = x^y * ln(x) (needs x > 0).

    ``needs`` says which inputs want a gradient: only when y does must the base be >= 0; with a
    constant y a negative base gives what PyTorch gives ((-2)^3 = -8, (-2)^0.5 = nan).
    At x = 0 the exponent's derivative is taken as 0 (the limit of x^y ln x for y > 0).
    """

    name, arity, domain, kinks, jacobian = "pow", 2, (POSITIVE, REAL), None, "diagonal"  # smooth

    @staticmethod
    def forward(x, y, needs=(True, True)):
        if needs[1] and ((x < 0) if x.__class__ is float else np.any(x < 0)):
            raise ValueError(
                f"a Value exponent that needs a gradient needs a base >= 0 (d/dy = x^y ln x), got base {x}"
            )
        return math_for(x).power(x, y)

    @staticmethod
    def backward(g, out, x, y, needs=(True, True)):
        m = math_for(x)
        return (
            g * y * m.power(x, y - 1) if needs[0] else None,
            g * out * m.log(m.where(x > 0, x, 1.0)) if needs[1] else None,
        )


@register
class MatMul(Op):
    """a @ b;  d/da = g @ b^T, d/db = a^T @ g (vectors are made matrices, then made vectors again).

    ``needs`` says which inputs want a gradient: a constant input (a batch of data)
    costs no product in backward.
    """

    name, arity, domain, kinks, jacobian = "matmul", 2, (REAL, REAL), None, "multilinear"  # smooth

    @staticmethod
    def forward(a, b, needs=(True, True)):
        try:
            return a @ b
        except (ValueError, TypeError):  # numpy's message speaks of gufunc signatures (two floats: no @)
            raise ValueError(matmul_mismatch(np.shape(a), np.shape(b))) from None

    @staticmethod
    def backward(g, out, a, b, needs=(True, True)):
        if a.ndim == 2 and b.ndim == 2:  # the usual case, written plainly
            return (g @ b.T if needs[0] else None), (a.T @ g if needs[1] else None)
        if a.ndim == 1 and b.ndim == 1:  # a dot product: d/da = b, d/db = a
            return g * b, g * a
        m = math_for(g)  # otherwise make vectors matrices, multiply as above, and make them vectors again
        a2 = m.reshape(a, (1, -1)) if a.ndim == 1 else a  # (n,) -> (1, n)
        b2 = m.reshape(b, (-1, 1)) if b.ndim == 1 else b  # (n,) -> (n, 1)
        gs, g2 = np.shape(g), g
        if b.ndim == 1:  # out lost b's column axis: (..., m) -> (..., m, 1)
            g2 = m.reshape(g, gs + (1,))
        elif a.ndim == 1:  # out lost a's row axis: (..., p) -> (..., 1, p)
            g2 = m.reshape(g, gs[:-1] + (1, gs[-1]))
        ga, gb = g2 @ _swap_last(m, b2), _swap_last(m, a2) @ g2
        if a.ndim == 1:  # (..., 1, n) -> (..., n)
            ga = m.reshape(ga, np.shape(ga)[:-2] + np.shape(ga)[-1:])
        if b.ndim == 1:  # (..., n, 1) -> (..., n)
            gb = m.reshape(gb, np.shape(gb)[:-1])
        return ga, gb


def matmul_mismatch(sa: tuple, sb: tuple) -> str:
    """Why a @ b does not fit: which sizes differ, and a transpose that would fit."""
    if not sa or not sb:
        return "matmul needs at least one axis on both sides, got a scalar; use * to multiply by a number"
    ka, kb = sa[-1], sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        if len(sa) == 1 and len(sb) == 1:
            return f"a dot product needs two vectors of the same length, got {ka} and {kb}"
        cols = "its length" if len(sa) == 1 else "its columns, axis -1"
        rows = "its length" if len(sb) == 1 else "its rows, axis -2"
        fixes = []
        if len(sa) >= 2 and sa[-2] == kb:
            fixes.append(f"transposing a: {_swapped(len(sa), 'a')} @ b")
        if len(sb) >= 2 and sb[-1] == ka:
            fixes.append(f"transposing b: a @ {_swapped(len(sb), 'b')}")
        hint = f"; did you mean {' or '.join(fixes)}?" if fixes else ""
        return (
            f"the inner sizes differ: a has {ka} ({cols}) but b has {kb} ({rows}); a @ b "
            f"needs a.shape[-1] == b.shape[-2]{hint}"
        )
    return f"the batch axes {sa[:-2]} and {sb[:-2]} (all but the last two) do not broadcast: each must match or be 1"


def _swapped(ndim: int, name: str) -> str:
    """How to write ``name`` with its last two axes swapped: ``a.T`` for a matrix."""
    axes = (*range(ndim - 2), ndim - 1, ndim - 2)
    return f"{name}.T" if ndim == 2 else f"{name}.transpose({', '.join(map(str, axes))})"


def _swap_last(m, x):
    """x with its last two axes swapped (the transpose of each matrix in a stack)."""
    n = len(np.shape(x))
    return m.transpose(x, (*range(n - 2), n - 1, n - 2))


# ---------------------------------------------------------------- elementwise functions


@register
class Exp(Op):
    """e^x;  d/dx = e^x, which is the output itself."""

    name, domain, kinks, jacobian = "exp", (REAL,), None, "diagonal"  # smooth

    @staticmethod
    def forward(x):
        return math_for(x).exp(x)

    @staticmethod
    def backward(g, out, x):
        return g * out


@register
class Log(Op):
    """ln x (x > 0);  d/dx = 1/x."""

    name, domain, kinks, jacobian = "log", (POSITIVE,), None, "diagonal"  # smooth

    @staticmethod
    def forward(x):
        return math_for(x).log(x)

    @staticmethod
    def backward(g, out, x):
        return g / x


@register
class Log2(Op):
    """log2 x = ln x / ln 2 (x > 0);  d/dx = 1 / (x ln 2). Its own op, so log2(8.0) is exactly 3.0."""

    name, domain, kinks, jacobian = "log2", (POSITIVE,), None, "diagonal"  # smooth

    @staticmethod
    def forward(x):
        return math_for(x).log2(x)

    @staticmethod
    def backward(g, out, x):
        return g / (x * math.log(2.0))


@register
class Log10(Op):
    """log10 x = ln x / ln 10 (x > 0);  d/dx = 1 / (x ln 10). Its own op, so log10(1000.0) is exactly 3.0."""

    name, domain, kinks, jacobian = "log10", (POSITIVE,), None, "diagonal"  # smooth

    @staticmethod
    def forward(x):
        return math_for(x).log10(x)

    @staticmethod
    def backward(g, out, x):
        return g / (x * math.log(10.0))


@register
class Sqrt(Op):
    """sqrt(x) (x >= 0);  d/dx = 1 / (2 sqrt(x))."""

    name, domain, kinks, jacobian = "sqrt", (POSITIVE,), None, "diagonal"  # smooth

    @staticmethod
    def forward(x):
        return math_for(x).sqrt(x)

    @staticmethod
    def backward(g, out, x):
        return g / (2.0 * out)


@register
class Sin(Op):
    """sin x;  d/dx = cos x (and cos's derivative is -sin x: each derivative is the last one shifted a quarter turn)."""

    name, domain, kinks, jacobian = "sin", (REAL,), None, "diagonal"  # smooth

    @staticmethod
    def forward(x):
        return math_for(x).sin(x)

    @staticmethod
    def backward(g, out, x):
        return g * math_for(x).cos(x)


@register
class Cos(Op):
    """cos x;  d/dx = -sin x."""

    name, domain, kinks, jacobian = "cos", (REAL,), None, "diagonal"  # smooth

    @staticmethod
    def forward(x):
        return math_for(x).cos(x)

    @staticmethod
    def backward(g, out, x):
        return -g * math_for(x).sin(x)


@register
class Abs(Op):
    """|x|;  d/dx = sign(x) = [x > 0] - [x < 0]: 0 at the kink x = 0 (and at nan), as in PyTorch."""

    name, domain, jacobian = "abs", (REAL,), "diagonal"

    @staticmethod
    def kinks(eps, x):
        return (near(x, 0.0, eps),)

    @staticmethod
    def forward(x):
        return abs(x)

    @staticmethod
    def backward(g, out, x):
        return g * ((x > 0) * 1.0 - (x < 0))


@register
class Tanh(Op):
    """tanh(x);  d/dx = 1 - tanh(x)^2: saturates (-> 0) for large |x|."""

    name, domain, kinks, jacobian = "tanh", (REAL,), None, "diagonal"  # smooth

    @staticmethod
    def forward(x):
        return math_for(x).tanh(x)

    @staticmethod
    def backward(g, out, x):
        return g * (1.0 - out * out)


@register
class Sigmoid(Op):
    """1 / (1 + e^-x);  d/dx = s (1 - s), at most 1/4 (at x = 0).

    Written as it reads, as PyTorch computes it: below x = -709 e^-x overflows to inf and s is 0, where the
    true value is below 1e-308; everywhere else each step keeps its relative precision.
    """

    name, domain, kinks, jacobian = "sigmoid", (REAL,), None, "diagonal"  # smooth

    @staticmethod
    def forward(x):
        return 1.0 / (1.0 + math_for(x).exp(-x))

    @staticmethod
    def backward(g, out, x):
        return g * out * (1.0 - out)


@register
class ReLU(Op):
    """max(x, 0);  d/dx = 1 for x > 0, else 0 (a unit stuck below 0 gets no gradient).

    The gradient is blocked where x <= 0 and passed elsewhere: a selection, not a product
    with 0, so even a nan upstream stays out of a blocked unit (as in PyTorch); ``blocked``
    multiplies only when every number of g is finite, where the two agree (but for the sign of a
    zero: a negative g blocked shows -0.0, which equals 0.0).
    """

    name, domain, jacobian = "relu", (REAL,), "diagonal"

    @staticmethod
    def kinks(eps, x):
        return (near(x, 0.0, eps),)

    @staticmethod
    def forward(x):
        return math_for(x).maximum(x, 0.0)

    @staticmethod
    def backward(g, out, x):
        return math_for(x).blocked(x <= 0, g)


@register
class LeakyReLU(Op):
    """x for x > 0, alpha*x otherwise;  d/dx = 1 or alpha: never exactly 0, so units cannot die."""

    name, domain, jacobian = "leaky_relu", (REAL,), "diagonal"

    @staticmethod
    def kinks(eps, x, alpha):
        return (near(x, 0.0, eps),)

    @staticmethod
    def forward(x, alpha):
        return math_for(x).where(x > 0, x, alpha * x)

    @staticmethod
    def backward(g, out, x, alpha):
        return g * math_for(x).where(x > 0, 1.0, alpha)


@register
class Softplus(Op):
    """ln(1 + e^(beta x)) / beta, a smooth ReLU;  d/dx = sigmoid(beta x).

    Written as (max(bx, 0) + ln(1 + e^-|bx|)) / beta to stay finite. As PyTorch's, it is x itself
    where beta x > ``threshold`` (gradient 1); the default threshold inf never cuts (PyTorch's is 20).
    """

    name, domain, jacobian = "softplus", (REAL,), "diagonal"

    @staticmethod
    def kinks(eps, x, beta=1.0, threshold=math.inf):
        """Where beta x crosses the threshold the function jumps (by ~ e^-threshold / beta)."""
        return (near(x, threshold / beta, eps),)

    @staticmethod
    def forward(x, beta=1.0, threshold=math.inf):
        m = math_for(x)
        bx = x if beta == 1.0 else beta * x
        out = m.maximum(bx, 0.0) + m.log1p(m.exp(-abs(bx)))
        out = out if beta == 1.0 else out / beta
        return out if threshold == math.inf else m.where(bx > threshold, x, out)

    @staticmethod
    def backward(g, out, x, beta=1.0, threshold=math.inf):
        m = math_for(x)
        s = m.apply(Sigmoid, x if beta == 1.0 else beta * x)
        return g * (s if threshold == math.inf else m.where(beta * x > threshold, 1.0, s))


@register
class Erf(Op):
    """The error function erf(x) = 2/sqrt(pi) * integral from 0 to x of e^(-t^2) dt;
    d/dx = 2/sqrt(pi) * e^(-x^2).  numpy has none: ``math.erf`` (accurate to the last bit), element by element.
    """

    name, domain, kinks, jacobian = "erf", (REAL,), None, "diagonal"  # smooth

    @staticmethod
    def forward(x):
        return math.erf(x) if x.__class__ is float else _erf_elementwise(x)

    @staticmethod
    def backward(g, out, x):
        return g * _TWO_OVER_SQRT_PI * math_for(x).exp(-(x * x))


_erf_elementwise = np.vectorize(math.erf, otypes=[float])
_TWO_OVER_SQRT_PI, _SQRT_HALF, _INV_SQRT_2PI = 2.0 / math.sqrt(math.pi), math.sqrt(0.5), 1.0 / math.sqrt(2.0 * math.pi)
_GELU_K = math.sqrt(2.0 / math.pi)


@register
class GELU(Op):
    """x * Phi(x), Phi the standard normal's cumulative distribution: Phi(x) = (1 + erf(x / sqrt 2)) / 2;
    d/dx = Phi(x) + x phi(x), phi(x) = e^(-x^2/2) / sqrt(2 pi) the normal's density.

    ``approximate="tanh"`` computes instead 0.5 x (1 + tanh(k (x + 0.044715 x^3))), k = sqrt(2/pi)
    (PyTorch's option of the same name): d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 * 0.044715 x^2),
    t the tanh. The default, "none", is exact, as PyTorch's default.
    """

    name, domain, kinks, jacobian = "gelu", (REAL,), None, "diagonal"  # smooth

    @staticmethod
    def forward(x, approximate="none"):
        if approximate == "tanh":
            return 0.5 * x * (1.0 + math_for(x).tanh(_GELU_K * (x + 0.044715 * x * x * x)))
        if approximate != "none":
            raise ValueError(f"approximate must be 'none' (exact) or 'tanh', got {approximate!r}")
        return x * 0.5 * (1.0 + Erf.forward(x * _SQRT_HALF))

    @staticmethod
    def backward(g, out, x, approximate="none"):
        m = math_for(x)
        if approximate == "tanh":
            t = m.tanh(_GELU_K * (x + 0.044715 * x * x * x))
            return g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_K * (1.0 + 3 * 0.044715 * x * x))
        cdf = 0.5 * (1.0 + m.apply(Erf, x * _SQRT_HALF))
        return g * (cdf + x * (_INV_SQRT_2PI * m.exp(-0.5 * (x * x))))


@register
class Step(Op):
    """Heaviside step: 1 if x >= 0 else 0;  d/dx = 0 everywhere it exists.

    That zero is why a perceptron's step unit cannot be trained by backprop.
    """

    name, domain, jacobian = "step", (REAL,), "diagonal"

    @staticmethod
    def kinks(eps, x):
        return (near(x, 0.0, eps),)

    @staticmethod
    def forward(x):
        return math_for(x).where(x >= 0, 1.0, 0.0)

    @staticmethod
    def backward(g, out, x):
        return math_for(x).zeros_like(x)


@register
class Clip(Op):
    """min(max(x, lo), hi);  d/dx = 1 inside [lo, hi] (bounds included, as PyTorch's clamp), 0 outside.

    Like relu's, the gradient is selected inside and blocked outside, not multiplied by 0.
    """

    name, domain, jacobian = "clip", (REAL,), "diagonal"

    @staticmethod
    def kinks(eps, x, lo, hi):
        return (near(x, lo, eps) | near(x, hi, eps),)

    @staticmethod
    def forward(x, lo, hi):
        return math_for(x).clip(x, lo, hi)

    @staticmethod
    def backward(g, out, x, lo, hi):
        return math_for(x).where((x >= lo) * (x <= hi), g, 0.0)  # the product of two 0/1 tests: both hold


@register
class Maximum(Op):
    """The larger of a and b, element by element;  d/da = 1 where a wins, 0 where b wins, and at a tie
    each gets half (as PyTorch's maximum): the gradient is routed, like max's, not multiplied.

    A nan on either side gives nan, as in numpy and PyTorch (Python's max alone would keep a when b is nan).
    """

    name, arity, domain, jacobian = "maximum", 2, (REAL, REAL), "diagonal"

    @staticmethod
    def kinks(eps, a, b):
        return _ties(eps, a, b)

    @staticmethod
    def forward(a, b):
        m = _math_of_both(a, b)
        return m.where(b != b, b, m.maximum(a, b))  # b != b: b is nan

    @staticmethod
    def backward(g, out, a, b):
        tie = (a >= b) * (a <= b)
        return _routed(g, a < b, tie), _routed(g, b < a, tie)


@register
class Minimum(Op):
    """The smaller of a and b, element by element;  d/da = 1 where a wins, 0 where b wins, half each at a tie."""

    name, arity, domain, jacobian = "minimum", 2, (REAL, REAL), "diagonal"

    @staticmethod
    def kinks(eps, a, b):
        return _ties(eps, a, b)

    @staticmethod
    def forward(a, b):
        m = _math_of_both(a, b)
        return m.where(b != b, b, m.minimum(a, b))  # b != b: b is nan (see Maximum)

    @staticmethod
    def backward(g, out, a, b):
        tie = (a >= b) * (a <= b)
        return _routed(g, a > b, tie), _routed(g, b > a, tie)


def _math_of_both(a, b):
    """The functions for two inputs: the ``math`` module's only when both are Python floats."""
    return math_for(b) if a.__class__ is float else math_for(a)


def _routed(g, loses, tie):
    """An input's share of g: none where it loses, half at a tie, all of it where it wins."""
    m = math_for(g)
    return m.where(loses, 0.0, m.where(tie, 0.5 * g, g))


def _ties(eps, a, b):
    """Per input, the elements within eps of a tie with some element of the other they meet (broadcast)."""
    close = near(np.asarray(a) - np.asarray(b), 0.0, eps)
    return tuple(_any_over_broadcast(close, np.shape(x)) for x in (a, b))


def _any_over_broadcast(mask: np.ndarray, shape: tuple) -> np.ndarray:
    """A broadcast mask brought back to ``shape``: true where any of an element's copies is."""
    lead = mask.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1)
    return np.any(mask, axis=axes).reshape(shape)


# ---------------------------------------------------------------- reductions


def _count(shape: tuple, axis) -> int:
    """How many elements a reduction over ``axis`` combines into each output element."""
    return math.prod(shape) if axis is None else math.prod(shape[a] for a in np.atleast_1d(axis))


def unreduce(g, shape: tuple, axis, keepdims: bool):
    """Spread the gradient of a reduction back over the axes it removed (each summed element gets it)."""
    m = math_for(g)
    if axis is not None and not keepdims:  # put the removed axes back as size 1
        axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
        g = m.reshape(g, tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return m.broadcast_to(g, shape)


@register
class Norm(Op):
    """The 2-norm of all the elements, sqrt(sum_i x_i^2);  d/dx_i = x_i / norm. At x = 0 (every element) it has
    no derivative: the gradient there is 0, as PyTorch's (x_i / 1 with x_i = 0)."""

    name, domain = "norm", (REAL,)

    @staticmethod
    def kinks(eps, x):
        """Every element is at the kink when the whole vector is within eps of 0."""
        return (np.full(np.shape(x), bool(near(np.sqrt(_sum(np.square(x), axis=None)), 0.0, eps))),)

    @staticmethod
    def forward(x):
        m = math_for(x)
        return m.sqrt(m.sum(x * x))

    @staticmethod
    def backward(g, out, x):
        return g * x / math_for(x).where(out == 0.0, 1.0, out)


@register
class Sum(Op):
    """sum over axis;  d/dx_i = 1: every summed element gets the whole upstream gradient."""

    name, domain, kinks, jacobian = "sum", (REAL,), None, "linear"  # smooth

    @staticmethod
    def forward(x, axis, keepdims):
        return math_for(x).sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(g, out, x, axis, keepdims):
        return unreduce(g, np.shape(x), axis, keepdims)


@register
class Mean(Op):
    """mean over axis;  d/dx_i = 1/n, n the number of elements averaged."""

    name, domain, kinks = "mean", (REAL,), None  # smooth

    @staticmethod
    def forward(x, axis, keepdims):
        n = _count(np.shape(x), axis)
        total = math_for(x).sum(x, axis=axis, keepdims=keepdims)
        return total * (1.0 / n) if n else total * np.nan  # the mean of nothing is nan, as in PyTorch

    @staticmethod
    def backward(g, out, x, axis, keepdims):
        n = _count(np.shape(x), axis)
        return unreduce(g, np.shape(x), axis, keepdims) * (1.0 / n) if n else np.zeros(np.shape(x))


@register
class Max(Op):
    """max over axis;  d/dx_i = 1 at the maximum, 0 elsewhere (ties share the gradient equally)."""

    name, domain = "max", (REAL,)

    @staticmethod
    def kinks(eps, x, axis, keepdims):
        """Ties: an element within 2 eps of the maximum, which another element also reaches."""
        x = np.asarray(x)
        close = x >= _max(x, axis=axis, keepdims=True) - 2 * eps
        return (close & (_sum(close, axis=axis, keepdims=True) > 1),)

    @staticmethod
    def forward(x, axis, keepdims):
        return math_for(x).max(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(g, out, x, axis, keepdims):
        x = np.asarray(x)  # where the maximum is: numbers, constant for the derivative
        winners = x == _max(x, axis=axis, keepdims=True)
        share = winners / _sum(winners, axis=axis, keepdims=True)
        return share * unreduce(g, x.shape, axis, keepdims)


@register
class Min(Op):
    """min over axis;  d/dx_i = 1 at the minimum, 0 elsewhere (ties share the gradient equally).

    Max's mirror. Its gradient is PyTorch's ``amin``'s (ties split evenly); ``torch.min(x)`` does the
    same, while ``torch.min(x, dim)`` sends all of it to the one index it returns.
    """

    name, domain = "min", (REAL,)

    @staticmethod
    def kinks(eps, x, axis, keepdims):
        """Ties: an element within 2 eps of the minimum, which another element also reaches."""
        x = np.asarray(x)
        close = x <= _min(x, axis=axis, keepdims=True) + 2 * eps
        return (close & (_sum(close, axis=axis, keepdims=True) > 1),)

    @staticmethod
    def forward(x, axis, keepdims):
        return math_for(x).min(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(g, out, x, axis, keepdims):
        x = np.asarray(x)  # where the minimum is: numbers, constant for the derivative
        winners = x == _min(x, axis=axis, keepdims=True)
        share = winners / _sum(winners, axis=axis, keepdims=True)
        return share * unreduce(g, x.shape, axis, keepdims)


@register
class Var(Op):
    """The variance over axis: sum((x - mean)^2) / (n - correction);  d/dx_i = 2 (x_i - mean) / (n - correction).

    (The mean's own dependence on x_i drops out: the deviations sum to 0.) correction=1, PyTorch's default,
    is Bessel's: it makes the variance of a sample an unbiased estimate; 0 gives the population's.
    """

    name, domain, kinks = "var", (REAL,), None  # smooth

    @staticmethod
    def forward(x, axis, keepdims, correction):
        d = _deviations(x, axis)
        return math_for(x).sum(d * d, axis=axis, keepdims=keepdims) * (1.0 / _dof(np.shape(x), axis, correction))

    @staticmethod
    def backward(g, out, x, axis, keepdims, correction):
        dof = _dof(np.shape(x), axis, correction)
        return unreduce(g, np.shape(x), axis, keepdims) * _deviations(x, axis) * (2.0 / dof)


@register
class Std(Op):
    """The standard deviation over axis, sqrt(var);  d/dx_i = (x_i - mean) / ((n - correction) std):
    by the chain rule, var's derivative times 1 / (2 sqrt(var)). No derivative where all x are equal (std 0):
    there the gradient is taken as 0, as in PyTorch.
    """

    name, domain = "std", (REAL,)

    @staticmethod
    def kinks(eps, x, axis, keepdims, correction):
        """Where the elements reduced together lie within 2 eps of each other: std is near 0, like |x| at 0."""
        x = np.asarray(x)
        spread = _max(x, axis=axis, keepdims=True) + _max(-x, axis=axis, keepdims=True)
        return (np.broadcast_to(spread <= 2 * eps, x.shape),)

    @staticmethod
    def forward(x, axis, keepdims, correction):
        return math_for(x).sqrt(Var.forward(x, axis, keepdims, correction))

    @staticmethod
    def backward(g, out, x, axis, keepdims, correction):
        m, dof, flat = math_for(g), _dof(np.shape(x), axis, correction), out == 0
        g_over_std = m.where(flat, 0.0, g) / m.where(flat, 1.0, out)  # 0 where std = 0 (all equal), as PyTorch
        return unreduce(g_over_std, np.shape(x), axis, keepdims) * _deviations(x, axis) * (1.0 / dof)


def _deviations(x, axis):
    """x - mean(x) over axis, in x's shape."""
    return x - math_for(x).sum(x, axis=axis, keepdims=True) * (1.0 / _count(np.shape(x), axis))


def _dof(shape: tuple, axis, correction: float) -> float:
    """The degrees of freedom n - correction, var's divisor; refused when not positive (PyTorch warns, gives inf)."""
    n = _count(shape, axis)
    if n - correction <= 0:
        hint = "; correction=0 gives the variance of one element, 0" if n == 1 else ""
        raise ValueError(
            f"correction={correction} needs more than {correction} elements per result, but axis={axis} of "
            f"shape {shape} reduces {n}: no degrees of freedom left (n - correction = {n - correction}){hint}"
        )
    return n - correction


# ---------------------------------------------------------------- shape and indexing


@register
class Reshape(Op):
    """Same numbers, new shape;  the gradient is reshaped back."""

    name, domain, kinks, jacobian = "reshape", (REAL,), None, "linear"  # smooth

    @staticmethod
    def forward(x, shape):
        return math_for(x).reshape(x, shape)

    @staticmethod
    def backward(g, out, x, shape):
        return math_for(g).reshape(g, np.shape(x))


@register
class Transpose(Op):
    """Permute axes (reverse them when axes is None);  the gradient gets the inverse permutation."""

    name, domain, kinks, jacobian = "transpose", (REAL,), None, "linear"  # smooth

    @staticmethod
    def forward(x, axes):
        return np.transpose(x, axes)

    @staticmethod
    def backward(g, out, x, axes):
        inverse = None if axes is None else tuple(int(i) for i in np.argsort(np.mod(axes, np.ndim(x))))
        return math_for(g).transpose(g, inverse)


@register
class Concat(Op):
    """a and b joined along ``axis`` (all other axes equal);  the gradient is cut back into the two pieces:
    d/da = g[..., :n], d/db = g[..., n:] along that axis, n = a's length there.
    ``cat`` of several Values is a chain of these, one node per join.
    """

    name, arity, domain, kinks, jacobian = "cat", 2, (REAL, REAL), None, "linear"  # smooth

    @staticmethod
    def forward(a, b, axis):
        return math_for(a).concatenate((a, b), axis=axis)

    @staticmethod
    def backward(g, out, a, b, axis):
        m, n = math_for(g), np.shape(a)[axis]
        before = (slice(None),) * (axis % np.ndim(a))  # every element of the axes before ``axis``
        return m.apply(Index, g, index=(*before, slice(None, n))), m.apply(Index, g, index=(*before, slice(n, None)))


@register
class Index(Op):
    """x[index] (basic or integer-array indexing);  the gradient is scattered back.

    ``np.add.at`` adds, so an element picked twice gets both contributions.
    """

    name, domain, kinks, jacobian = "index", (REAL,), None, "linear"  # smooth

    @staticmethod
    def forward(x, index):
        return x[index]

    @staticmethod
    def backward(g, out, x, index):
        return math_for(g).apply(Scatter, g, shape=np.shape(x), index=index)


def picks_once(index) -> bool:
    """Does ``index`` pick each element at most once (ints, slices, None, ...: numpy's basic indexing)? Then a
    gradient can be assigned there, not added with ``np.add.at``."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (slice, int, type(None), type(Ellipsis))) for i in parts)


@register
class Scatter(Op):
    """Index's backward as an op of its own: zeros of ``shape`` with g added at ``index``;
    d/dg = g'[index]: each element of g landed in one place (so the two ops are each other's backward).

    ``np.add.at`` adds, so an element picked twice gets both contributions; slices pick each element once, so
    for them a plain assignment does.
    """

    name, domain, kinks, jacobian = "scatter", (REAL,), None, "linear"  # smooth

    @staticmethod
    def forward(g, shape, index):
        gx = np.zeros(shape)
        if picks_once(index):
            gx[index] = g
        else:
            np.add.at(gx, index, g)
        return gx

    @staticmethod
    def backward(g, out, x, shape, index):
        return math_for(g).apply(Index, g, index=index)


# ---------------------------------------------------------------- convolution and pooling
#
# Images come in batches (N, C, H, W). Each output pixel of a convolution or a pooling reads one window of the
# (zero-padded) input. ``_columns`` lays every window out as a column of a matrix (im2col), so a convolution is
# one matrix product W X, and its gradients are those of a matrix product: d/dX = W^T g, d/dW = g X^T.
# ``_col2im`` goes back: each column's gradient is added onto the pixels its window came from. Both hold the
# images as (C, H, W, N), the batch last: then a window's row, for all images, is one run of memory (fast copies).


def _windows(x, kernel: tuple, stride: tuple) -> np.ndarray:
    """Every KH x KW window of x, ``stride`` apart: (N, C, OH, OW, KH, KW), a view (no copy)."""
    x = np.asarray(x)  # numbers (on compile's symbols this raises, and compile calls the op as a line)
    return np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(2, 3))[:, :, :: stride[0], :: stride[1]]


def _columns(x, kernel: tuple, stride: tuple, padding: tuple) -> np.ndarray:
    """im2col: one column per output pixel (i, j, n), holding its window of x padded by zeros: (C KH KW, OH OW N)."""
    (n, c, h, w), (ph, pw), (sh, sw) = np.shape(x), padding, stride
    padded = np.zeros((c, h + 2 * ph, w + 2 * pw, n))
    padded[:, ph : ph + h, pw : pw + w] = np.asarray(x).transpose(1, 2, 3, 0)
    (oh, ow), (kh, kw) = _output_size((h, w), kernel, stride, padding), kernel
    step_c, step_h, step_w, step_n = padded.strides  # bytes from one element to the next along each axis
    windows = np.ndarray(  # a view of padded's memory: windows[c, a, b, i, j, n] = padded[c, i sh + a, j sw + b, n]
        (c, kh, kw, oh, ow, n), buffer=padded, strides=(step_c, step_h, step_w, step_h * sh, step_w * sw, step_n)
    )
    return windows.reshape(c * kh * kw, -1)


def _col2im(columns, shape: tuple, kernel: tuple, out_hw: tuple, stride: tuple, padding: tuple) -> np.ndarray:
    """col2im, the reverse of ``_columns``: each column (C KH KW, OH OW N) added onto the pixels of an (N, C, H, W)
    image its window covers (where windows overlap, their parts add up). One loop over the KH KW offsets of the
    kernel, each adding a whole strided slice; the padding is cut off at the end."""
    (n, c, h, w), (kh, kw), (oh, ow), (sh, sw), (ph, pw) = shape, kernel, out_hw, stride, padding
    columns = columns.reshape(c, kh, kw, oh, ow, n)
    image = np.zeros((c, h + 2 * ph, w + 2 * pw, n))
    for a in range(kh):
        for b in range(kw):
            pixels = image[:, a : a + sh * oh : sh, b : b + sw * ow : sw]  # a view, added to in place
            pixels += columns[:, a, b]
    return image[:, ph : ph + h, pw : pw + w].transpose(3, 0, 1, 2)


def _as_rows(g) -> np.ndarray:
    """An output gradient (N, F, OH, OW) as the matrix (F, OH OW N) of W X's shape."""
    return np.asarray(g).transpose(1, 2, 3, 0).reshape(np.shape(g)[1], -1)


def _output_size(size: tuple, kernel: tuple, stride: tuple, padding: tuple) -> tuple:
    """How many windows fit along each axis: (H + 2p - KH) // s + 1."""
    return tuple((n + 2 * p - k) // s + 1 for n, k, s, p in zip(size, kernel, stride, padding))


def _output_padding(size: tuple, kernel: tuple, stride: tuple, padding: tuple) -> tuple:
    """What a transposed convolution adds to get back H (not only H rounded down to the stride): (H + 2p - K) % s."""
    return tuple((n + 2 * p - k) % s for n, k, s, p in zip(size, kernel, stride, padding))


@register
class Conv2d(Op):
    """A 2-d convolution (PyTorch's: no kernel flip): x (N, C, H, W) and w (F, C, KH, KW) give (N, F, OH, OW),
    out[n, f, i, j] = sum_{c, a, b} w[f, c, a, b] x_pad[n, c, i s + a, j s + b],  OH = (H + 2p - KH) // s + 1.

    With X the columns of x's windows (im2col) and W the filters as rows, out = W X, so as for a matmul:
    d/dX = W^T g, added back onto the pixels (col2im): the transposed convolution of g by w (``ConvTranspose2d``);
    d/dW = g X^T (``Conv2dWeight``). Both are ops, so the backward runs on Values too.
    ``needs`` says which inputs want a gradient (an image batch wants none: no col2im for it).
    """

    name, arity, domain, kinks, jacobian = "conv2d", 2, (REAL, REAL), None, "multilinear"  # smooth (bilinear)

    @staticmethod
    def forward(x, w, stride, padding, needs=(True, True)):
        (n, _, h, wd), (f, _, kh, kw) = np.shape(x), np.shape(w)
        oh, ow = _output_size((h, wd), (kh, kw), stride, padding)
        out = np.asarray(w).reshape(f, -1) @ _columns(x, (kh, kw), stride, padding)  # W X: (F, OH OW N)
        return out.reshape(f, oh, ow, n).transpose(3, 0, 1, 2)

    @staticmethod
    def backward(g, out, x, w, stride, padding, needs=(True, True)):
        m, kernel = math_for(g), np.shape(w)[2:]
        extra = _output_padding(np.shape(x)[2:], kernel, stride, padding)
        return (
            m.apply(ConvTranspose2d, g, w, stride=stride, padding=padding, output_padding=extra) if needs[0] else None,
            m.apply(Conv2dWeight, x, g, kernel_size=kernel, stride=stride, padding=padding) if needs[1] else None,
        )


@register
class ConvTranspose2d(Op):
    """The transposed convolution, conv2d's backward to its input: g (N, F, OH, OW) and w (F, C, KH, KW) give
    (N, C, H, W), H = (OH - 1) s - 2p + KH + output_padding: the columns W^T G put back as pixels (col2im).
    With stride 1 it is a convolution: each pixel gathers what it spread, from g padded by K - 1 - p, through
    the kernel flipped and its channels swapped (F in, C out); that path is taken when K - 1 - p >= 0.

    It is linear in g and in w, and <conv2d(x, w), g> = <x, conv_transpose2d(g, w)> = <w, conv2d_weight(x, g)>;
    so with upstream gradient G: d/dg = conv2d(G, w), d/dw = conv2d_weight(G, g).
    """

    name, arity, domain, kinks, jacobian = "conv_transpose2d", 2, (REAL, REAL), None, "multilinear"  # smooth

    @staticmethod
    def forward(g, w, stride, padding, output_padding):
        (n, _, oh, ow), (_, c, kh, kw) = np.shape(g), np.shape(w)
        if tuple(stride) == (1, 1) and padding[0] < kh and padding[1] < kw:
            flipped = np.asarray(w)[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C, F, KH, KW)
            return Conv2d.forward(g, flipped, stride, (kh - 1 - padding[0], kw - 1 - padding[1]))
        h, wd = (
            (o - 1) * s - 2 * p + k + e for o, s, p, k, e in zip((oh, ow), stride, padding, (kh, kw), output_padding)
        )
        columns = np.asarray(w).reshape(np.shape(w)[0], -1).T @ _as_rows(g)  # W^T G: (C KH KW, OH OW N)
        return _col2im(columns, (n, c, h, wd), (kh, kw), (oh, ow), stride, padding)

    @staticmethod
    def backward(G, out, g, w, stride, padding, output_padding):
        m = math_for(G)
        return (
            m.apply(Conv2d, G, w, stride=stride, padding=padding),
            m.apply(Conv2dWeight, G, g, kernel_size=np.shape(w)[2:], stride=stride, padding=padding),
        )


@register
class Conv2dWeight(Op):
    """conv2d's backward to its weights (PyTorch's ``torch.nn.grad.conv2d_weight``): x (N, C, H, W) and the output
    gradient g (N, F, OH, OW) give (F, C, KH, KW),  dW[f, c, a, b] = sum_{n, i, j} g[n, f, i, j] x_pad[n, c, i s + a,
    j s + b], the product g X^T.  Linear in x and in g (see ``ConvTranspose2d``): with upstream gradient G (a
    weight's shape), d/dx = conv_transpose2d(g, G), d/dg = conv2d(x, G).
    """

    name, arity, domain, kinks, jacobian = "conv2d_weight", 2, (REAL, REAL), None, "multilinear"  # smooth

    @staticmethod
    def forward(x, g, kernel_size, stride, padding):
        f, c = np.shape(g)[1], np.shape(x)[1]
        return (_as_rows(g) @ _columns(x, kernel_size, stride, padding).T).reshape(f, c, *kernel_size)

    @staticmethod
    def backward(G, out, x, g, kernel_size, stride, padding):
        m = math_for(G)
        extra = _output_padding(np.shape(x)[2:], kernel_size, stride, padding)
        return (
            m.apply(ConvTranspose2d, g, G, stride=stride, padding=padding, output_padding=extra),
            m.apply(Conv2d, x, G, stride=stride, padding=padding),
        )


@register
class MaxPool2d(Op):
    """The largest element of each KH x KW window, ``stride`` apart: (N, C, H, W) -> (N, C, OH, OW);
    d/dx = 1 at the window's maximum, 0 elsewhere: each window's gradient goes to one element, and at a tie to
    the first maximum in row-major order, as PyTorch's (where windows overlap, an element gets each window's).
    Windows that tile x (stride = kernel, no rows left over) are axes of x reshaped, and g goes to each window's
    first maximum through a mask on those axes; other windows scatter g (an op). Either way the backward runs on
    Values too. Ties are kinks.
    """

    name, domain = "max_pool2d", (REAL,)

    @staticmethod
    def kinks(eps, x, kernel_size, stride):
        """A tie: an element within 2 eps of its window's maximum, which another element of the window also reaches."""
        x = np.asarray(x)
        windows = _windows(x, kernel_size, stride)
        flat = windows.reshape(*windows.shape[:4], -1)  # (N, C, OH, OW, KH KW)
        close = flat >= flat.max(axis=-1, keepdims=True) - 2 * eps
        close &= close.sum(axis=-1, keepdims=True) > 1
        every = np.broadcast_to(np.arange(flat.shape[-1]), flat.shape)  # each element of each window
        mask = np.zeros(x.size)
        np.add.at(mask, _window_index(x.shape, kernel_size, stride, every), close)
        return (mask.reshape(x.shape) > 0,)

    @staticmethod
    def forward(x, kernel_size, stride):
        return functools.reduce(np.maximum, _window_elements(x, kernel_size, stride))  # nan wins, as in PyTorch

    @staticmethod
    def backward(g, out, x, kernel_size, stride):
        m, x, top = math_for(g), np.asarray(x), np.asarray(out)  # numbers: where the maxima are, constant for d/dx
        (n, c, h, w), (oh, ow), (kh, kw) = x.shape, top.shape[2:], kernel_size
        if tuple(stride) == (kh, kw) and (h, w) == (oh * kh, ow * kw):  # the windows tile x: window (i, j) is
            windows = x.reshape(n, c, oh, kh, ow, kw)  # windows[:, :, i, :, j, :]
            hits = windows == top.reshape(n, c, oh, 1, ow, 1)  # every maximum of every window
            if not _keep_first(hits).all():  # a window with no hit holds nan: its maximum is the nan, as in PyTorch
                hits |= windows != windows
                _keep_first(hits)
            return m.reshape(_masked(hits, m.reshape(_laid_out_as(g, top), (n, c, oh, 1, ow, 1))), x.shape)
        nan = bool(np.isnan(top).any())  # a window holding nan: its maximum is the nan, as in PyTorch
        first = 0  # overlapping windows: the (row-major) number of each window's first maximum, and g scattered there
        for k, e in reversed(list(enumerate(_window_elements(x, kernel_size, stride)))):  # back to front: the
            first = np.where(((e == top) | (e != e)) if nan else e == top, k, first)  # first maximum wins
        index = _window_index(x.shape, kernel_size, stride, first)
        return m.reshape(m.apply(Scatter, g, shape=(x.size,), index=index), x.shape)


def _window_elements(x, kernel: tuple, stride: tuple) -> list:
    """The k-th element of every window, for each k in row-major order: KH KW views of shape (N, C, OH, OW), x
    sliced from row a and column b of the first window, ``stride`` apart."""
    x, (kh, kw), (sh, sw) = np.asarray(x), kernel, stride  # numbers (see ``_windows``)
    oh, ow = _output_size(x.shape[2:], kernel, stride, (0, 0))
    return [
        x[:, :, a : a + sh * (oh - 1) + 1 : sh, b : b + sw * (ow - 1) + 1 : sw] for a in range(kh) for b in range(kw)
    ]


def _window_index(shape: tuple, kernel: tuple, stride: tuple, k: np.ndarray) -> np.ndarray:
    """Where the k-th element (row-major) of each window lies in x, as a position in x flattened: the window's
    first element plus k's offset in it, (k // KW) rows and k % KW columns on. ``k`` has the windows' shape
    (N, C, OH, OW), or one more axis to name several elements per window."""
    starts = _window_starts(shape, stride, k.shape[2:4])
    return starts.reshape(starts.shape + (1,) * (k.ndim - 4)) + (k // kernel[1]) * shape[3] + k % kernel[1]


def _keep_first(hits: np.ndarray) -> np.ndarray:
    """Clear in place every hit of a window (axes 3 and 5 of hits) after its first in row-major order: one pass
    over the kernel offsets. Returns, per window, whether it has a hit."""
    kth = [hits[:, :, :, a, :, b] for a in range(hits.shape[3]) for b in range(hits.shape[5])]  # views of hits
    seen = kth[0].copy(order="K")
    for hit in kth[1:]:
        hit &= ~seen
        seen |= hit
    return seen


def _laid_out_as(g, like: np.ndarray):
    """Numbers g copied into the memory order of ``like``: numpy's elementwise ops are fastest on arrays laid out
    alike. A Value, or numbers laid out so already, stay as they are."""
    if g.__class__ is not np.ndarray or g.strides == like.strides:
        return g
    out = np.empty_like(like)
    out[...] = g
    return out


def _masked(mask: np.ndarray, g):
    """g where mask holds, 0 elsewhere (spread over mask's shape). On finite numbers that is ``g * mask``, faster
    than numpy's ``where``; a nan or inf in g must not leak where mask is off (0 * inf is nan): then, and on a
    Value, ``where``."""
    if g.__class__ is np.ndarray and np.isfinite(g).all():
        return g * mask
    return math_for(g).where(mask, g, 0.0)


@functools.lru_cache(maxsize=32)
def _window_starts(shape: tuple, stride: tuple, out: tuple) -> np.ndarray:
    """The position in x flattened of each window's first element, (N, C, OH, OW); the same for every batch of a
    shape, so kept (read-only) rather than made again at every step."""
    (n, c, h, w), (sh, sw), (oh, ow) = shape, stride, out
    starts = (np.arange(n * c).reshape(n, c, 1, 1) * h + (np.arange(oh) * sh).reshape(oh, 1)) * w + np.arange(ow) * sw
    starts.flags.writeable = False
    return starts


@register
class AvgPool2d(Op):
    """The mean of each KH x KW window, ``stride`` apart: (N, C, H, W) -> (N, C, OH, OW);
    d/dx: every element of a window gets g / (KH KW), summed where windows overlap. That is the transposed
    convolution of each channel by a constant kernel of 1 / (KH KW) (``ConvTranspose2d``), so it runs on Values too.
    """

    name, domain, kinks, jacobian = "avg_pool2d", (REAL,), None, "linear"  # smooth (linear)

    @staticmethod
    def forward(x, kernel_size, stride):
        return sum(_window_elements(x, kernel_size, stride)) / math.prod(kernel_size)

    @staticmethod
    def backward(g, out, x, kernel_size, stride):
        m, (n, c, h, w), (oh, ow) = math_for(g), np.shape(x), np.shape(g)[2:]
        mean = np.full((1, 1, *kernel_size), 1.0 / math.prod(kernel_size))  # one channel in, one out
        extra = _output_padding((h, w), kernel_size, stride, (0, 0))
        per_channel = m.reshape(g, (n * c, 1, oh, ow))  # each channel of each image on its own
        gx = m.apply(ConvTranspose2d, per_channel, mean, stride=stride, padding=(0, 0), output_padding=extra)
        return m.reshape(gx, (n, c, h, w))


@register
class BroadcastTo(Op):
    """x repeated along new or size-1 axes up to ``shape`` (numpy's broadcast_to, PyTorch's expand).

    d/dx: each copy passes its gradient back, and the copies of one element are summed, which the
    engine does for all broadcasting in one place; so the backward returns g as it is.
    """

    name, domain, kinks, jacobian = "broadcast_to", (REAL,), None, "diagonal"  # smooth

    @staticmethod
    def forward(x, shape):
        return ArrayMath.broadcast_to(x, shape)

    @staticmethod
    def backward(g, out, x, shape):
        return g


# ---------------------------------------------------------------- normalisation, dropout, embedding
# dropout is a product with a constant mask and embedding is Index (weight[indices]): neither needs an op.


class Standardize(Op):
    """x_hat = (x - mean) / sqrt(var + eps), mean and (biased) var taken over ``axes``: each slice along the
    other axes gets mean 0 and variance 1. Registered twice, under PyTorch's names: BatchNorm, LayerNorm.

    Backward, in its compact form (cs231n's, makemore's): with n the number of elements reduced together,
    inv_std = 1 / sqrt(var + eps), and sums over ``axes``,
        dx = (1/n) * inv_std * (n * g - sum(g) - x_hat * sum(g * x_hat)).
    The three terms: g itself, minus what flows back through the mean (every x_i moves it by 1/n), minus
    what flows back through the variance (d var / d x_i = 2 (x_i - mean) / n, which is x_hat_i's direction).
    """

    domain, kinks = (REAL,), None  # smooth: eps > 0 keeps var + eps away from 0

    @staticmethod
    def forward(x, axes, eps):
        m = math_for(x)
        d = _deviations(x, axes)
        var = m.sum(d * d, axis=axes, keepdims=True) * (1.0 / _count(np.shape(x), axes))
        return d * m.power(var + eps, -0.5)

    @staticmethod
    def backward(g, out, x, axes, eps):
        m = math_for(g)
        inv_std = m.power(m.apply(Var, x, axis=axes, keepdims=True, correction=0) + eps, -0.5)
        mean_g = m.sum(g, axis=axes, keepdims=True) * (1.0 / _count(np.shape(x), axes))
        mean_gx = m.sum(g * out, axis=axes, keepdims=True) * (1.0 / _count(np.shape(x), axes))
        return inv_std * (g - mean_g - out * mean_gx)  # the form above, with (1/n) taken into the sums


@register
class BatchNorm(Standardize):
    """Standardize over the batch axes (0 for (N, C); 0, 2, 3 for (N, C, H, W)): statistics per channel."""

    name, domain, kinks = "batch_norm", (REAL,), None  # smooth


@register
class LayerNorm(Standardize):
    """Standardize over the last axes (``normalized_shape``): statistics per example."""

    name, domain, kinks = "layer_norm", (REAL,), None  # smooth


@register
class Pad(Op):
    """x with ``value`` around it, ``widths`` = ((before, after), ...) one pair per axis (numpy's pad);
    d/dx = g with the border cut off: g[before : before + n] on each axis (Index), the border being constants.
    """

    name, domain, kinks = "pad", (REAL,), None  # smooth

    @staticmethod
    def forward(x, widths, value):
        return np.pad(x, widths, constant_values=value)

    @staticmethod
    def backward(g, out, x, widths, value):
        inside = tuple(slice(before, before + n) for (before, _), n in zip(widths, np.shape(x)))
        return math_for(g).apply(Index, g, index=inside)


@register
class Where(Op):
    """a where mask holds, b elsewhere (mask: fixed booleans, not differentiated);
    d/da = mask, d/db = not mask: the gradient goes to whichever input was picked, not multiplied by 0.
    """

    name, arity, domain, kinks, jacobian = "where", 2, (REAL, REAL), None, "diagonal"  # smooth in a and b

    @staticmethod
    def forward(a, b, mask):
        return (a if mask else b) if mask.__class__ is bool else np.where(mask, a, b)

    @staticmethod
    def backward(g, out, a, b, mask):
        m = math_for(g)
        return m.where(mask, g, 0.0), m.where(mask, 0.0, g)


# ---------------------------------------------------------------- softmax


@register
class Softmax(Op):
    """s_i = e^(x_i) / sum_j e^(x_j);  ds_i/dx_j = s_i (delta_ij - s_j), so dL/dx = s * (g - sum(g * s)).

    The row maximum is subtracted first: same result, no overflow.
    """

    name, domain, kinks = "softmax", (REAL,), None  # smooth

    @staticmethod
    def forward(x, axis):
        m = math_for(x)
        e = m.exp(x - m.max(x, axis=axis, keepdims=True, initial=-np.inf))  # initial: zero-size axes work
        return e / m.sum(e, axis=axis, keepdims=True)

    @staticmethod
    def backward(g, out, x, axis):
        return out * (g - math_for(g).sum(g * out, axis=axis, keepdims=True))


@register
class LogSoftmax(Op):
    """x_i - log sum_j e^(x_j);  dL/dx = g - softmax(x) * sum(g)."""

    name, domain, kinks = "log_softmax", (REAL,), None  # smooth

    @staticmethod
    def forward(x, axis):
        m = math_for(x)
        shifted = x - m.max(x, axis=axis, keepdims=True, initial=-np.inf)
        return shifted - m.log(m.sum(m.exp(shifted), axis=axis, keepdims=True))

    @staticmethod
    def backward(g, out, x, axis):
        m = math_for(g)
        return g - m.exp(out) * m.sum(g, axis=axis, keepdims=True)


@register
class CrossEntropy(Op):
    """Softmax cross-entropy of logits (n, classes) against integer labels, averaged over the n rows:
    mean_i(logsumexp(z_i) - z_i[label_i]).  Fused, because its derivative is so simple:
    dL/dz = (softmax(z) - onehot(labels)) / n.
    """

    name, domain, kinks = "cross_entropy", (REAL,), None  # smooth

    @staticmethod
    def forward(z, labels):
        m, shape = math_for(z), np.shape(z)
        n, c = (1, shape[0]) if len(shape) == 1 else shape
        logp = m.apply(LogSoftmax, z if len(shape) == 2 else m.reshape(z, (1, c)), axis=1)
        return -m.sum(logp[np.arange(n), math_for(labels).reshape(labels, (n,))]) / n

    @staticmethod
    def backward(g, out, z, labels):
        m, shape = math_for(z), np.shape(z)
        n, c = (1, shape[0]) if len(shape) == 1 else shape
        p = m.apply(Softmax, z if len(shape) == 2 else m.reshape(z, (1, c)), axis=1)
        onehot = math_for(labels).reshape(labels, (n, 1)) == np.arange(c)  # row i: True at column labels[i]
        dz = (p - onehot) * (g / n)
        return dz if len(shape) == 2 else m.reshape(dz, shape)


_UNIT = Interval(0.0, 1.0, lo_open=False, hi_open=False)  # [0, 1]: probabilities
_LOG_FLOOR = -100.0  # PyTorch clamps each log of binary_cross_entropy here: log 0 = -inf would give an infinite loss
_BCE_EPS = float(np.float32(1e-12))  # PyTorch's EPSILON is a C float: 9.99999996e-13 as a double


@register
class BinaryCrossEntropy(Op):
    """Binary cross-entropy of a probability p against a target t, element by element, as PyTorch computes it
    (``binary_cross_entropy``, reduction "none"):  -(t max(log p, -100) + (1 - t) max(log(1 - p), -100)).

    The clamps keep p = 0 or 1 finite (a loss of 100 at worst). PyTorch's gradient is
    d/dp = (p - t) / max(p (1 - p), 1e-12): the derivative, except within ~1e-12 of 0 and 1, where the clamp
    keeps it at most 1e12 (the derivative of the clamped forward would be 0 or 1/p, up to 1e300); these
    edges are declared kinks. d/dt = -log(p / (1 - p)) (the logit, unclamped: -inf at p = 1, as PyTorch's).
    ``needs`` says which inputs want a gradient (a loss's targets do not).
    """

    name, arity, domain, jacobian = "bce", 2, (_UNIT, _UNIT), "diagonal"

    @staticmethod
    def kinks(eps, p, t, needs=(True, True)):
        """p within eps of the edge zones [0, 1e-12] and [1 - 1e-12, 1], where the gradient is PyTorch's
        convention; the target's gradient depends on p only, so it is at a kink wherever p is."""
        edge = near(p, 0.0, eps + _BCE_EPS) | near(p, 1.0, eps + _BCE_EPS)
        same = np.shape(edge) == np.shape(t)
        return edge, edge if same else np.full(np.shape(t), bool(np.any(edge)))

    @staticmethod
    def forward(p, t, needs=(True, True)):
        if p.__class__ is float and t.__class__ is float:  # math raises at log 0: the engine reruns it in numpy
            return (t - 1.0) * max(math.log1p(-p), _LOG_FLOOR) - t * max(math.log(p), _LOG_FLOOR)
        return (t - 1.0) * np.maximum(np.log1p(-p), _LOG_FLOOR) - t * np.maximum(np.log(p), _LOG_FLOOR)

    @staticmethod
    def backward(g, out, p, t, needs=(True, True)):
        m = math_for(p)
        d = (1.0 - p) * p
        return (
            g * (p - t) / m.where(d < _BCE_EPS, _BCE_EPS, d) if needs[0] else None,
            -g * m.log(p / (1.0 - p)) if needs[1] else None,
        )


# ---------------------------------------------------------------- one definition for scalars, arrays and Values


class ArrayMath:
    """numpy's functions, under the names the ops use.

    ``apply(op, ...)`` runs another op: here its forward on numbers; on Values (``engine.ValueMath``)
    it makes a node, which is how a backward built from ops can be differentiated again.
    """

    exp, log, log1p, sqrt, tanh, sin, cos = np.exp, np.log, np.log1p, np.sqrt, np.tanh, np.sin, np.cos
    log2, log10 = np.log2, np.log10
    maximum, minimum, where, clip, power = np.maximum, np.minimum, np.where, np.clip, np.power
    zeros_like, reshape, transpose, concatenate = np.zeros_like, np.reshape, np.transpose, np.concatenate

    @staticmethod
    def blocked(cond, g):
        """g with 0 where cond holds. A selection: a nan or inf in g must not reach a blocked element (0 * inf
        is nan); on finite g that is the product ``g * ~cond``, faster than numpy's ``where``."""
        return g * ~cond if np.isfinite(g).all() else np.where(cond, 0.0, g)

    @staticmethod
    def sum(x, axis=None, keepdims: bool = False):
        return _sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def max(x, axis=None, keepdims: bool = False, initial=None):
        return _max(x, axis=axis, keepdims=keepdims, initial=initial)  # initial None: the first element

    @staticmethod
    def min(x, axis=None, keepdims: bool = False):
        return _min(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def broadcast_to(x, shape: tuple) -> np.ndarray:
        """x repeated up to ``shape``, as a new array (numpy's own broadcast_to is a read-only view)."""
        out = np.empty(shape)
        out[...] = x
        return out

    @staticmethod
    def apply(op: type[Op], *inputs, **kwargs):
        return op.forward(*inputs, **kwargs)


class ScalarMath(ArrayMath):
    """numpy's functions for one Python float, from the ``math`` module (much faster on one number).

    Python raises where IEEE arithmetic gives inf or nan (``1/0``, ``math.log(0)``,
    ``math.exp(1000)``); the engine catches that and reruns the op in numpy float64.
    """

    exp, log, log1p, sqrt, tanh, sin, cos = math.exp, math.log, math.log1p, math.sqrt, math.tanh, math.sin, math.cos
    log2, log10 = math.log2, math.log10
    maximum, minimum = max, min

    @staticmethod
    def where(cond: bool, a: float, b: float) -> float:
        return a if cond else b

    @staticmethod
    def blocked(cond: bool, g: float) -> float:
        return 0.0 if cond else g

    @staticmethod
    def clip(x: float, lo: float, hi: float) -> float:
        return min(max(x, lo), hi)

    @staticmethod
    def power(x: float, p: float) -> float:
        r = x**p
        if r.__class__ is complex:  # a negative base to a fractional power
            raise ValueError("math domain error")
        return r

    @staticmethod
    def zeros_like(x: float) -> float:
        return 0.0


def math_for(x):
    """The functions for this data: ``ScalarMath`` for a Python float, ``ArrayMath`` (numpy) for an
    array, and for a Value the functions it brings (``engine.ValueMath``), which build graph nodes."""
    c = x.__class__
    return ScalarMath if c is float else ArrayMath if c is np.ndarray else getattr(x, "_math", ArrayMath)


# np.sum, np.max and np.min without their Python wrappers
_sum, _max, _min = np.add.reduce, np.maximum.reduce, np.minimum.reduce
