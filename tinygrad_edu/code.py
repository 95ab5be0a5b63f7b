"""Symbols that write code: the third reader of ``ops.py``, beside numbers and graph nodes.

A ``Code`` stands for a value the compiled step will compute: it knows its shape and how to
write itself as Python (``np.tanh(z)`` for an array, ``math.tanh(z)`` for a float). Its
arithmetic operators and ``CodeMath`` (what ``ops.math_for`` returns for it) build bigger
expressions, so running an op's own ``forward`` or ``backward`` on symbols gives the code of that
op: ``Tanh.backward(g, h, z)`` gives ``g * (1.0 - h * h)``. That is how ``compile`` writes every line
from the one definition in ops.py.

Three rewrites keep the code fast without a second formula: ``x * 1.0`` is ``x`` (exact in IEEE
arithmetic), a ``broadcast_to`` stays the smaller value that numpy spreads when it is used elementwise
(a sum's gradient stays a number), and an expression used twice is computed once (``render``).
An op whose math needs numbers while tracing (numpy on its inputs) raises ``NotSymbolic``; compile
then writes a line that calls the op as ops.py writes it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

import numpy as np

from tinygrad_edu import ops


class NotSymbolic(TypeError):
    """An op's math needs the numbers (numpy on a symbol, an ``if`` on its value): call the op instead."""


_ATOM, _POWER, _UNARY, _PRODUCT, _SUM, _COMPARE, _IF = 9, 7, 6, 5, 4, 2, 1  # Python's operator precedence
_LEVEL = {"**": _POWER, "*": _PRODUCT, "/": _PRODUCT, "@": _PRODUCT, "+": _SUM, "-": _SUM}
_COMPARISONS = {"<", "<=", ">", ">=", "==", "!="}


class Code:
    """A value of the compiled step: its expression, its shape and, where numpy will spread it later, the
    smaller shape it really has (``real``). ``name`` is set once the writer assigns it to a variable."""

    __slots__ = ("kind", "parts", "shape", "real", "kind_of_number", "name", "value")
    __array_ufunc__ = None  # numpy's functions refuse a symbol, and ndarray + symbol asks the symbol
    __hash__ = object.__hash__  # (== builds an expression)

    def __init__(self, kind: str, parts: tuple, shape: tuple, real: tuple | None = None, number: str = "f", value=None):
        self.kind, self.parts, self.shape = kind, parts, tuple(shape)
        self.real = self.shape if real is None else tuple(real)
        self.kind_of_number = number  # "f" float, "i" integer, "b" bool
        self.name: str | None = None
        self.value = value  # the numbers at trace time, for a leaf that has them

    def __repr__(self) -> str:
        return f"Code({render(self)!r}, shape={self.shape})"

    # numbers are not known: asking for them means the op must be called on numbers
    def _numbers(self, *_, **__):
        raise NotSymbolic("a symbol has no numbers while tracing")

    __array__ = __float__ = __int__ = __index__ = __bool__ = __len__ = __iter__ = _numbers

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def scalar(self) -> bool:
        """A Python float in the code (``math`` functions), not a numpy array."""
        return self.shape == () and self.real == ()

    @property
    def T(self) -> Code:  # noqa: N802 (numpy's name)
        return CodeMath.transpose(self, None)

    def __neg__(self) -> Code:
        if self.kind == "literal":
            return literal(-self.value)
        if self.kind == "neg":
            return self.parts[0]
        return Code("neg", (self,), self.shape, self.real, self.kind_of_number)

    def __abs__(self) -> Code:
        return _elementwise("abs", (self,))

    def __add__(self, other):
        return binary("+", self, other)

    def __radd__(self, other):
        return binary("+", other, self)

    def __sub__(self, other):
        return binary("-", self, other)

    def __rsub__(self, other):
        return binary("-", other, self)

    def __mul__(self, other):
        return binary("*", self, other)

    def __rmul__(self, other):
        return binary("*", other, self)

    def __truediv__(self, other):
        return binary("/", self, other)

    def __rtruediv__(self, other):
        return binary("/", other, self)

    def __pow__(self, other):
        return CodeMath.power(self, other)

    def __matmul__(self, other):
        return _matmul(self, as_code(other))

    def __rmatmul__(self, other):
        return _matmul(as_code(other), self)

    def __lt__(self, other):
        return binary("<", self, other)

    def __le__(self, other):
        return binary("<=", self, other)

    def __gt__(self, other):
        return binary(">", self, other)

    def __ge__(self, other):
        return binary(">=", self, other)

    def __eq__(self, other):  # type: ignore[override]
        return binary("==", self, other)

    def __ne__(self, other):  # type: ignore[override]
        return binary("!=", self, other)

    def sum(self, axis=None, keepdims: bool = False) -> Code:
        return CodeMath.sum(self, axis, keepdims)

    def __getitem__(self, index) -> Code:
        x = full(self)
        parts = index if isinstance(index, tuple) else (index,)
        if any(isinstance(p, Code) and p.kind_of_number == "b" for p in parts):
            raise NotSymbolic("a boolean mask picks a number of elements known only from the numbers")
        dummy = tuple(_dummy(p) if isinstance(p, (Code, np.ndarray)) else p for p in parts)
        shape = np.empty(x.shape, dtype=np.int8)[dummy if isinstance(index, tuple) else dummy[0]].shape
        out = Code("index", (x, tuple(as_code(p) if isinstance(p, np.ndarray) else p for p in parts)), shape)
        return as_float(out)


def literal(v) -> Code:
    """A number written into the code."""
    number = "b" if isinstance(v, (bool, np.bool_)) else "i" if isinstance(v, (int, np.integer)) else "f"
    return Code("literal", (), (), number=number, value=v)


def leaf(name: str, shape: tuple, number: str = "f", value=None) -> Code:
    """A variable of the code (an input, a parameter, a constant's name)."""
    c = Code("leaf", (), shape, number=number, value=value)
    c.name = name
    return c


def as_code(x) -> Code:
    """x as a symbol: a number becomes a literal, an array a constant the writer names."""
    if isinstance(x, Code):
        return x
    if isinstance(x, np.ndarray):
        return Code("const", (), x.shape, number=number_kind(x.dtype), value=x)
    if isinstance(x, (bool, int, float, np.generic)):
        return literal(x.item() if isinstance(x, np.generic) else x)
    raise NotSymbolic(f"{type(x).__name__} is not a number")


def number_kind(dtype) -> str:
    return "b" if dtype.kind == "b" else "f" if dtype.kind in "fc" else "i"


def _dummy(x):
    """Numbers of x's shape, for learning the shape an index gives."""
    if isinstance(x, np.ndarray):
        return x
    if x.value is not None:
        return np.asarray(x.value)
    return np.zeros(x.shape, dtype=np.bool_ if x.kind_of_number == "b" else np.intp)


def full(x: Code) -> Code:
    """x with every element written out: a value numpy was to spread is spread now (for a use that is not
    elementwise: a product of matrices, a sum, a reshape, a gradient stored in ``.grad``)."""
    if x.real == x.shape:
        return x
    return Code("full", (x,), x.shape, number=x.kind_of_number)


def as_float(x: Code) -> Code:
    """A 0-d result of numpy as the Python float the engine keeps."""
    return Code("float", (x,), ()) if x.shape == () and x.kind != "float" else x


def binary(op: str, a, b) -> Code:
    """a op b, elementwise (numpy spreads the shapes), with the rewrites that change no number."""
    a, b = as_code(a), as_code(b)
    shape = a.shape if a.shape == b.shape else np.broadcast_shapes(a.shape, b.shape)  # (the check is slow)
    real = a.real if a.real == b.real else np.broadcast_shapes(a.real, b.real)
    known_a, known_b = _known(a), _known(b)
    if known_a is not None and known_b is not None and op in _FOLD and isinstance(known_a, float):
        return CodeMath.broadcast_to(literal(_folded(op, known_a, known_b)), shape)  # both known: the number itself
    if op in _COMPARISONS and "f" in (a.kind_of_number, b.kind_of_number):  # x <= 0 is x <= 0.0, a float's
        a, b = (literal(float(x.value)) if x.kind == "literal" and x.kind_of_number == "i" else x for x in (a, b))
    number = "b" if op in _COMPARISONS else "f" if "f" in (a.kind_of_number, b.kind_of_number) else "i"
    if op == "*" or op == "/":
        for keep, one in ((a, b), (b, a)) if op == "*" else ((a, b),):
            if _is(one, 1.0) and keep.kind_of_number == "f" and keep.shape == shape:
                return keep  # x * 1.0 is x
            if _is(one, -1.0) and keep.kind_of_number == "f" and keep.shape == shape:
                return -keep
    return Code("binary", (op, a, b), shape, real, number)


def _known(x: Code):
    """The number x is, when the code writes it as a number (spread or not), else None."""
    while x.kind == "spread":
        x = x.parts[0]
    return x.value if x.kind == "literal" and x.kind_of_number != "b" else None


def _is(x: Code, v: float) -> bool:
    return x.real == () and _known(x) == v


_FOLD: dict[str, Callable] = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def _folded(op: str, a: float, b: float) -> float:
    """a op b for two numbers the code knows, as IEEE arithmetic gives it: 1.0 / 0.0 is inf, as eager gives
    (Python's floats raise there, and the engine redoes the op in numpy)."""
    with np.errstate(all="ignore"):
        return float(_FOLD[op](np.float64(a), np.float64(b)))


def _elementwise(fn: str, args: tuple, number: str = "f") -> Code:
    """A function applied element by element (np.exp, np.where): the shape numpy spreads its inputs to."""
    args = tuple(as_code(a) for a in args)
    shape = np.broadcast_shapes(*(a.shape for a in args))
    real = np.broadcast_shapes(*(a.real for a in args))
    return Code("call", (fn, args, ()), shape, real, number)


def _call(fn: str, args: tuple, settings: tuple, shape: tuple, number: str = "f") -> Code:
    """A function of whole arrays (np.add.reduce, np.reshape): its inputs spread first."""
    return as_float(Code("call", (fn, tuple(full(as_code(a)) for a in args), settings), shape, number=number))


def _matmul(a: Code, b: Code) -> Code:
    a, b = full(a), full(b)
    try:
        shape = np.matmul(np.empty(a.shape, np.int8), np.empty(b.shape, np.int8)).shape
    except ValueError as e:
        raise ValueError(ops.matmul_mismatch(a.shape, b.shape)) from e
    return as_float(Code("binary", ("@", a, b), shape))


class CodeMath:
    """The functions an op uses (``ops.math_for``), for symbols: each returns the code that computes it,
    with the ``math`` module for a Python float and numpy for an array, as ``ScalarMath`` and
    ``ArrayMath`` compute it."""

    @staticmethod
    def exp(x):
        return _unary("exp", x)

    @staticmethod
    def log(x):
        return _unary("log", x)

    @staticmethod
    def log1p(x):
        return _unary("log1p", x)

    @staticmethod
    def log2(x):
        return _unary("log2", x)

    @staticmethod
    def log10(x):
        return _unary("log10", x)

    @staticmethod
    def sqrt(x):
        return _unary("sqrt", x)

    @staticmethod
    def tanh(x):
        return _unary("tanh", x)

    @staticmethod
    def sin(x):
        return _unary("sin", x)

    @staticmethod
    def cos(x):
        return _unary("cos", x)

    @staticmethod
    def maximum(x, y):
        x, y = as_code(x), as_code(y)
        if x.scalar and y.scalar and all(v.name is not None or v.kind == "literal" for v in (x, y)):
            return CodeMath.where(y > x, y, x)  # max(x, y) as Python computes it, without a call
        return _elementwise("max" if x.scalar and y.scalar else "np.maximum", (x, y))

    @staticmethod
    def minimum(x, y):
        x, y = as_code(x), as_code(y)
        if x.scalar and y.scalar and all(v.name is not None or v.kind == "literal" for v in (x, y)):
            return CodeMath.where(y < x, y, x)  # min(x, y) as Python computes it, without a call
        return _elementwise("min" if x.scalar and y.scalar else "np.minimum", (x, y))

    @staticmethod
    def where(cond, a, b):
        if isinstance(cond, (bool, np.bool_)):
            return as_code(a if cond else b)
        cond, a, b = as_code(cond), as_code(a), as_code(b)
        if cond.scalar and a.scalar and b.scalar:
            return Code("if", (cond, a, b), ())
        return _elementwise("np.where", (cond, a, b))

    @staticmethod
    def blocked(cond, g):
        """``ArrayMath.blocked`` written out: the product when g is finite, else the selection."""
        cond, g = as_code(cond), as_code(g)
        select = CodeMath.where(cond, 0.0, g)
        if g.real == () or _known(g) is not None:  # one number (numpy spreads it), or one the code knows (g = 1)
            return select
        finite = Code("attr", (_elementwise("np.isfinite", (g,), "b"), "all()"), (), number="b")  # (a method call)
        product = g * _elementwise("np.logical_not", (cond,), "b")
        return Code("if", (finite, product, select), select.shape, select.real)

    @staticmethod
    def clip(x, lo, hi):
        x = as_code(x)
        if x.scalar:
            return _elementwise("min", (_elementwise("max", (x, lo)), hi))
        return _elementwise("np.clip", (x, lo, hi))

    @staticmethod
    def power(x, p):
        x, p = as_code(x), as_code(p)
        if _is(p, 1.0) and x.kind_of_number == "f":
            return x  # x ** 1.0 is x
        if x.scalar and p.scalar and not (p.kind == "literal" and float(p.value).is_integer()):
            return _elementwise("math.pow", (x, p))  # raises, as ScalarMath.power does, for (-8.0) ** 0.5
        return Code("binary", ("**", x, p), np.broadcast_shapes(x.shape, p.shape), np.broadcast_shapes(x.real, p.real))

    @staticmethod
    def zeros_like(x):
        return CodeMath.broadcast_to(literal(0.0), as_code(x).shape)

    @staticmethod
    def sum(x, axis=None, keepdims: bool = False):
        return _reduce("np.add.reduce", x, axis, keepdims)

    @staticmethod
    def max(x, axis=None, keepdims: bool = False, initial=None):
        return _reduce("np.maximum.reduce", x, axis, keepdims, initial)

    @staticmethod
    def min(x, axis=None, keepdims: bool = False):
        return _reduce("np.minimum.reduce", x, axis, keepdims)

    @staticmethod
    def reshape(x, shape: tuple):
        x = as_code(x)
        new = np.empty(x.shape, np.int8).reshape(shape).shape
        return x if new == x.shape else _call("np.reshape", (x,), (("", tuple(shape)),), new, x.kind_of_number)

    @staticmethod
    def concatenate(xs: tuple, axis: int):
        xs = tuple(full(as_code(x)) for x in xs)
        shape = np.concatenate([np.empty(x.shape, np.int8) for x in xs], axis=axis).shape
        return _call("np.concatenate", (), (("", xs), ("axis", axis)), shape)

    @staticmethod
    def transpose(x, axes=None):
        x = full(as_code(x))
        if x.ndim < 2:
            return x
        new = np.empty(x.shape, np.int8).transpose(axes).shape
        if x.ndim == 2 and (axes is None or tuple(axes) == (1, 0)):
            return Code("attr", (x, "T"), new, number=x.kind_of_number)
        return _call("np.transpose", (x,), (("", tuple(axes) if axes is not None else None),), new)

    @staticmethod
    def broadcast_to(x, shape: tuple):
        """x to be spread over ``shape``: kept as it is, numpy spreads it when it is used elementwise."""
        x = as_code(x)
        if x.shape == tuple(shape):
            return x
        np.broadcast_shapes(x.shape, shape)  # (raises when it cannot be spread)
        return Code("spread", (x,), shape, x.real, x.kind_of_number)

    @staticmethod
    def apply(op: type[ops.Op], *inputs, **settings):
        """Another op's forward, on symbols; or a call of it, when its math needs the numbers."""
        try:
            out = op.forward(*inputs, **settings)
            if isinstance(out, Code):
                return out
        except (TypeError, ValueError):  # (NotSymbolic, and numpy refusing a symbol: "setting an array element")
            pass
        shape = np.shape(
            op.forward(
                *[_dummy(as_code(x)).astype(float) for x in inputs],
                **{k: _dummy(v) if isinstance(v, Code) else v for k, v in settings.items()},
            )
        )
        return call(op, "forward", inputs, settings, shape)


def _unary(fn: str, x) -> Code:
    x = as_code(x)
    return _elementwise(f"math.{fn}" if x.scalar else f"np.{fn}", (x,))


def _reduce(fn: str, x, axis, keepdims: bool, initial=None) -> Code:
    x = as_code(x)
    if x.scalar and axis is None:
        return x
    dummy = np.empty(x.shape, np.int8)
    shape = np.add.reduce(dummy, axis=axis, keepdims=keepdims).shape
    settings = (
        (("axis", axis),)
        + ((("keepdims", True),) if keepdims else ())
        + ((("initial", initial),) if initial is not None else ())
    )
    return _call(fn, (x,), settings, shape)


def call(op: type[ops.Op], method: str, inputs: tuple, settings: dict, shape: tuple | None) -> Code:
    """An expression that calls an op as ops.py writes it: ``Max.backward(g, out, x, axis=1, ...)``; shape None
    for a backward that gives a pair (``item`` picks one)."""
    args = tuple(full(as_code(x)) for x in inputs)
    whole = Code("op", (op, method, args, tuple(settings.items())), () if shape is None else shape)
    return whole if shape is None else as_float(whole)


def alias(x: Code) -> Code:
    """x under another name: a gradient passed on as it is (``g_a = g_out``) is a variable of its own."""
    return Code("alias", (x,), x.shape, x.real, x.kind_of_number)


def item(x: Code, i: int, shape: tuple) -> Code:
    """The i-th of the gradients an op's backward returns for its inputs, called as a function."""
    return as_float(Code("item", (x, i), shape))


Code._math = CodeMath  # noqa: SLF001 (same module) what ops.math_for(symbol) returns


# ---------------------------------------------------------------- writing an expression as text


def render(x: Code, name_of: Callable[[Code], str | None] = lambda c: c.name, level: int = 0) -> str:
    """The Python text of x; ``name_of`` gives the variable that already holds a part (or None)."""
    text, own = _text(x, name_of)
    return f"({text})" if own < level else text


def _text(x: Code, name_of: Callable) -> tuple[str, int]:
    name = name_of(x)
    if name is not None:
        return name, _ATOM
    kind, parts = x.kind, x.parts
    sub = lambda c, level=0: render(c, name_of, level)  # noqa: E731
    if kind == "literal":
        return number_text(x.value), _ATOM if x.value == x.value and x.value >= 0 or x.kind_of_number == "b" else _UNARY
    if kind == "neg":
        return f"-{sub(parts[0], _UNARY)}", _UNARY
    if kind == "binary":
        op, a, b = parts
        if op in _COMPARISONS:
            return f"{sub(a, _COMPARE + 1)} {op} {sub(b, _COMPARE + 1)}", _COMPARE
        level = _LEVEL[op]
        if op == "**":  # right-associative
            return f"{sub(a, _ATOM)} ** {sub(b, _UNARY)}", _POWER
        return f"{sub(a, level)} {op} {sub(b, level + 1)}", level
    if kind == "if":
        cond, a, b = parts
        return f"{sub(a, _IF + 1)} if {sub(cond, _IF + 1)} else {sub(b, _IF)}", _IF
    if kind == "call":
        fn, args, settings = parts
        words = [sub(a) for a in args] + [
            f"{k}={_setting(v, name_of)}" if k else _setting(v, name_of) for k, v in settings
        ]
        return f"{fn}({', '.join(words)})", _ATOM
    if kind == "attr":
        return f"{sub(parts[0], _ATOM)}.{parts[1]}", _ATOM
    if kind == "index":
        x_, index = parts
        words = [_setting(p, name_of) for p in index]
        return f"{sub(x_, _ATOM)}[{', '.join(words)}]", _ATOM
    if kind == "float":
        return f"float({sub(parts[0])})", _ATOM
    if kind == "spread" or kind == "alias":
        return _text(parts[0], name_of)
    if kind == "full":
        inner = parts[0]
        while inner.kind == "spread" and name_of(inner) is None:
            inner = inner.parts[0]
        if inner.real == ():
            return f"np.full({x.shape}, {sub(inner)})", _ATOM
        return f"np.broadcast_to({sub(inner)}, {x.shape}).copy()", _ATOM
    if kind == "op":
        op, method, args, settings = parts
        words = [sub(a) for a in args] + [f"{k}={_setting(v, name_of)}" for k, v in settings]
        return f"{op.__name__}.{method}({', '.join(words)})", _ATOM
    if kind == "item":
        return f"{sub(parts[0], _ATOM)}[{parts[1]}]", _ATOM
    raise NotSymbolic(f"a {kind} symbol has no name in the code")  # ("leaf", "const": the writer names them)


def _setting(v, name_of: Callable) -> str:
    """An op's setting as text: a symbol, a number, a tuple of them, a slice."""
    if isinstance(v, Code):
        return render(v, name_of)
    if isinstance(v, tuple):
        words = [_setting(x, name_of) for x in v]
        return f"({words[0]},)" if len(words) == 1 else f"({', '.join(words)})"
    if isinstance(v, np.ndarray):
        return render(as_code(v), name_of)
    if isinstance(v, float):
        return number_text(v)
    return repr(v)


def number_text(v) -> str:
    """A number as code that reads back as the same number: (-0.5), math.inf, math.nan."""
    if isinstance(v, (bool, int)):
        return repr(v)
    if math.isnan(v):
        return "math.nan"
    if math.isinf(v):
        return "math.inf" if v > 0 else "-math.inf"
    return repr(float(v))


def parts_of(x: Code) -> tuple:
    """The symbols x is computed from (for walking an expression)."""
    kind, parts = x.kind, x.parts
    if kind == "binary":
        return parts[1:]
    if kind == "call":
        return parts[1] + _codes_in(tuple(v for _, v in parts[2]))
    if kind == "op":
        return parts[2] + _codes_in(tuple(v for _, v in parts[3]))
    if kind == "index":
        return (parts[0],) + _codes_in(parts[1])
    if kind in ("neg", "if", "attr", "float", "spread", "full", "item", "alias"):
        return tuple(p for p in parts if isinstance(p, Code))
    return ()


def _codes_in(values: tuple) -> tuple:
    """The symbols in settings (an index is a tuple that may hold some)."""
    found: tuple = ()
    for v in values:
        found += (v,) if isinstance(v, Code) else _codes_in(v) if isinstance(v, tuple) else ()
    return found
