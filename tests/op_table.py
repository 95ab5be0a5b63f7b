"""The one table of op tests: every registered op has an entry here, in two forms.

* ``SPECS``: how to draw random calls of the op (shapes, settings) and the same op in
  PyTorch, for the property tests in ``test_registry.py``;
* ``CASES``: fixed calls as users write them (operators, reversed operands, functional
  forms, broadcasting pairs, every axis), each with its PyTorch twin, for ``test_ops.py``.

Inputs stay inside each op's domain and away from its kinks (|x| >= 0.2).
``test_registry.py`` checks that every op in ``ops.REGISTRY`` has a spec and appears in a case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_edu import functional as F
from tinygrad_edu.testing import floats_in, shapes_broadcastable


@dataclass
class Case:
    id: str
    ours: Callable
    torch: Callable | None
    inputs: list  # numpy arrays / floats; scalars are Python floats


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def away(shape, seed, lo=0.2, hi=2.0):
    """Random numbers with lo <= |x| <= hi, random signs: no kinks at 0."""
    r = _rng(seed)
    x = r.uniform(lo, hi, size=shape) * r.choice([-1.0, 1.0], size=shape)
    return float(x) if shape == () else x


def positive(shape, seed, lo=0.2, hi=2.0):
    x = _rng(seed).uniform(lo, hi, size=shape)
    return float(x) if shape == () else x


def distinct(shape, seed):
    """Values with no ties (for max), spread >= 0.05 apart."""
    n = int(np.prod(shape))
    x = _rng(seed).permutation(n) * 0.1 - n * 0.05
    return x.reshape(shape)


MASK = np.array([True, False, True])


def _torch():
    import torch

    return torch


def _torch_scatter(x, shape, index):
    """PyTorch's twin of Scatter: zeros with x added at integer-array indices (repeats add up)."""
    torch = _torch()
    index = index if isinstance(index, tuple) else (index,)
    return torch.zeros(shape, dtype=torch.float64).index_put(
        tuple(torch.as_tensor(i) for i in index), x, accumulate=True
    )


def _torch_fn(name: str) -> Callable:
    """PyTorch's function of that name, imported only when called."""
    return lambda *ts: getattr(_torch(), name)(*ts)


def _tf():
    import torch.nn.functional as tF

    return tF


BROADCAST_PAIRS = [
    ((), ()),
    ((3,), (3,)),
    ((3, 1), (4,)),
    ((2, 3), (3,)),
    ((), (2, 3)),
    ((2, 1, 3), (4, 1)),
    ((2, 3), ()),
]
UNARY_SHAPES = [(), (5,), (2, 3)]

CASES: list[Case] = []

for sa, sb in BROADCAST_PAIRS:
    tag = f"{sa}x{sb}"
    CASES += [
        Case(f"add{tag}", lambda a, b: a + b, lambda a, b: a + b, [away(sa, 1), away(sb, 2)]),
        Case(f"sub{tag}", lambda a, b: a - b, lambda a, b: a - b, [away(sa, 3), away(sb, 4)]),
        Case(f"mul{tag}", lambda a, b: a * b, lambda a, b: a * b, [away(sa, 5), away(sb, 6)]),
        Case(f"div{tag}", lambda a, b: a / b, lambda a, b: a / b, [away(sa, 7), away(sb, 8, lo=0.5)]),
        Case(f"pow_value{tag}", lambda a, b: a**b, lambda a, b: a**b, [positive(sa, 9), away(sb, 10)]),
        Case(f"maximum{tag}", F.maximum, _torch_fn("maximum"), [away(sa, 13), away(sb, 14)]),
        Case(f"minimum{tag}", F.minimum, _torch_fn("minimum"), [away(sa, 15), away(sb, 16)]),
        Case(f"functional_add{tag}", F.add, lambda a, b: a + b, [away(sa, 11), away(sb, 12)]),
    ]

for s in UNARY_SHAPES:
    tag = f"{s}"
    CASES += [
        Case(f"neg{tag}", lambda x: -x, lambda x: -x, [away(s, 20)]),
        Case(f"radd{tag}", lambda x: 2.5 + x, lambda x: 2.5 + x, [away(s, 21)]),
        Case(f"rsub{tag}", lambda x: 2.5 - x, lambda x: 2.5 - x, [away(s, 22)]),
        Case(f"rmul{tag}", lambda x: 2.5 * x, lambda x: 2.5 * x, [away(s, 23)]),
        Case(f"rdiv{tag}", lambda x: 2.5 / x, lambda x: 2.5 / x, [away(s, 24, lo=0.5)]),
        Case(f"rpow{tag}", lambda x: 2.5**x, lambda x: 2.5**x, [away(s, 25)]),
        Case(f"pow3{tag}", lambda x: x**3, lambda x: x**3, [away(s, 26)]),
        Case(f"pow2{tag}", lambda x: x**2, lambda x: x**2, [away(s, 27)]),
        Case(f"pow_neg_half{tag}", lambda x: x**-0.5, lambda x: x**-0.5, [positive(s, 28)]),
        Case(f"exp{tag}", lambda x: x.exp(), lambda x: x.exp(), [away(s, 29)]),
        Case(f"log{tag}", lambda x: x.log(), lambda x: x.log(), [positive(s, 30)]),
        Case(f"log2{tag}", F.log2, lambda x: x.log2(), [positive(s, 47)]),
        Case(f"log10{tag}", lambda x: x.log10(), lambda x: x.log10(), [positive(s, 48)]),
        Case(f"norm{tag}", lambda x: x.norm(), lambda x: x.norm(), [away(s, 49)]),
        Case(f"sqrt{tag}", lambda x: x.sqrt(), lambda x: x.sqrt(), [positive(s, 31)]),
        Case(f"sin{tag}", lambda x: x.sin(), lambda x: x.sin(), [away(s, 45, hi=6.0)]),
        Case(f"cos{tag}", F.cos, lambda x: x.cos(), [away(s, 46, hi=6.0)]),
        Case(f"abs{tag}", lambda x: abs(x), lambda x: x.abs(), [away(s, 32)]),
        Case(f"tanh{tag}", lambda x: x.tanh(), lambda x: x.tanh(), [away(s, 33)]),
        Case(f"sigmoid{tag}", lambda x: x.sigmoid(), lambda x: x.sigmoid(), [away(s, 34, hi=6.0)]),
        Case(f"relu{tag}", lambda x: x.relu(), lambda x: x.relu(), [away(s, 35)]),
        Case(f"leaky_relu{tag}", lambda x: x.leaky_relu(0.1), lambda x: _tf().leaky_relu(x, 0.1), [away(s, 36)]),
        Case(
            f"softplus{tag}",
            lambda x: x.softplus(),
            lambda x: _tf().softplus(x, threshold=np.inf),
            [away(s, 37, hi=5.0)],
        ),
        Case(
            f"softplus_beta_threshold{tag}",
            lambda x: F.softplus(x, beta=2.0, threshold=1.0),
            lambda x: _tf().softplus(x, beta=2.0, threshold=1.0),
            [away(s, 42, hi=5.0)],
        ),  # both sides of 0.5
        Case(f"gelu{tag}", lambda x: x.gelu(), lambda x: _tf().gelu(x), [away(s, 38, hi=4.0)]),
        Case(
            f"gelu_tanh{tag}",
            lambda x: F.gelu(x, approximate="tanh"),
            lambda x: _tf().gelu(x, approximate="tanh"),
            [away(s, 43)],
        ),
        Case(f"erf{tag}", F.erf, lambda x: x.erf(), [away(s, 44)]),
        Case(f"step{tag}", lambda x: x.step(), None, [away(s, 39)]),
        Case(f"clip{tag}", lambda x: x.clip(-1.0, 1.0), lambda x: x.clip(-1.0, 1.0), [away(s, 40, hi=1.8)]),
        Case(f"functional_tanh{tag}", F.tanh, lambda x: x.tanh(), [away(s, 41)]),
    ]

# reductions over every axis, with and without keepdims
for shape in [(3, 4), (2, 3, 4)]:
    axes = [None, 0, 1, -1, (0, 1)]
    for axis in axes:
        for keep in (False, True):
            dim = tuple(range(len(shape))) if axis is None else axis
            tag = f"{shape}_axis{axis}_keep{keep}"
            CASES += [
                Case(
                    f"sum{tag}",
                    lambda x, a=axis, k=keep: x.sum(a, k),
                    lambda x, d=dim, k=keep: x.sum(dim=d, keepdim=k),
                    [away(shape, 50)],
                ),
                Case(
                    f"mean{tag}",
                    lambda x, a=axis, k=keep: x.mean(a, k),
                    lambda x, d=dim, k=keep: x.mean(dim=d, keepdim=k),
                    [away(shape, 51)],
                ),
                Case(
                    f"max{tag}",
                    lambda x, a=axis, k=keep: x.max(a, k),
                    lambda x, d=dim, k=keep: x.amax(dim=d, keepdim=k),
                    [distinct(shape, 52)],
                ),
                Case(
                    f"min{tag}",
                    lambda x, a=axis, k=keep: x.min(a, k),
                    lambda x, d=dim, k=keep: x.amin(dim=d, keepdim=k),
                    [distinct(shape, 53)],
                ),
            ]

# variance and standard deviation, with PyTorch's default correction 1 and the population's 0
for shape, axis, keep, correction in [
    ((3, 4), None, False, 1),
    ((3, 4), 0, True, 0),
    ((3, 4), -1, False, 1),
    ((2, 3, 4), (0, 2), False, 1),
    ((2, 3, 4), 1, True, 1),
    ((5,), 0, False, 0),
]:
    dim = tuple(range(len(shape))) if axis is None else axis
    tag = f"{shape}_axis{axis}_keep{keep}_correction{correction}"
    CASES += [
        Case(
            f"var{tag}",
            lambda x, a=axis, k=keep, c=correction: x.var(a, k, correction=c),
            lambda x, d=dim, k=keep, c=correction: x.var(dim=d, keepdim=k, correction=c),
            [away(shape, 53)],
        ),
        Case(
            f"std{tag}",
            lambda x, d=dim, k=keep, c=correction: F.std(x, d, k, c),
            lambda x, d=dim, k=keep, c=correction: x.std(dim=d, keepdim=k, correction=c),
            [away(shape, 54)],
        ),
    ]

MATMUL_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),
    ((5, 2, 3), (5, 3, 4)),
    ((1, 2, 3), (4, 3, 2)),
    ((3,), (2, 3, 4)),
]
for sa, sb in MATMUL_SHAPES:
    CASES.append(Case(f"matmul{sa}@{sb}", lambda a, b: a @ b, lambda a, b: a @ b, [away(sa, 60), away(sb, 61)]))
CASES.append(
    Case(
        "rmatmul_array@value",
        lambda b: away((2, 3), 62) @ b,
        lambda b: b.new_tensor(away((2, 3), 62)) @ b,
        [away((3, 4), 63)],
    )
)

# normalisation, padding, dropout, embedding
RUNNING_MEAN, RUNNING_VAR = np.array([0.3, -0.2, 0.1]), np.array([0.8, 1.5, 0.6])
EMBEDDING_ROWS = np.array([[0, 2, 2], [4, 0, 1]])  # a repeated row: its gradients add up


def _dropout_mask(shape, p: float, seed: int) -> np.ndarray:
    """The scaled mask ``F.dropout`` draws from ``default_rng(seed)``: kept elements times 1 / (1 - p)."""
    return (np.random.default_rng(seed).random(shape) >= p) * (1.0 / (1.0 - p))


def _torch_pad(x, widths, value):
    """PyTorch's twin of Pad: its pad tuple lists the (before, after) pairs last axis first."""
    return _tf().pad(x, tuple(n for pair in reversed(widths) for n in pair), value=value)


CASES += [
    Case(
        "batch_norm_train(4,3)",
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        lambda x, w, b: _tf().batch_norm(x, None, None, w, b, training=True),
        [away((4, 3), 121), away((3,), 122), away((3,), 123)],
    ),
    Case(
        "batch_norm_train(2,3,2,2)",
        lambda x: F.batch_norm(x, None, None, training=True, eps=0.1),
        lambda x: _tf().batch_norm(x, None, None, training=True, eps=0.1),
        [away((2, 3, 2, 2), 124)],
    ),
    Case(
        "batch_norm_eval(2,3,2)",
        lambda x, w, b: F.batch_norm(x, RUNNING_MEAN, RUNNING_VAR, w, b),
        lambda x, w, b: _tf().batch_norm(x, x.new_tensor(RUNNING_MEAN), x.new_tensor(RUNNING_VAR), w, b),
        [away((2, 3, 2), 125), away((3,), 126), away((3,), 127)],
    ),
    Case(
        "layer_norm_last",
        lambda x, w, b: F.layer_norm(x, 4, w, b),
        lambda x, w, b: _tf().layer_norm(x, (4,), w, b),
        [away((3, 4), 128), away((4,), 129), away((4,), 130)],
    ),
    Case(
        "layer_norm_last2",
        lambda x: F.layer_norm(x, (3, 4)),
        lambda x: _tf().layer_norm(x, (3, 4)),
        [away((2, 3, 4), 131)],
    ),
    Case("pad_last", lambda x: F.pad(x, (1, 2)), lambda x: _tf().pad(x, (1, 2)), [away((2, 3), 132)]),
    Case(
        "pad_last2_value",
        lambda x: F.pad(x, (0, 1, 2, 1), value=-1.5),
        lambda x: _tf().pad(x, (0, 1, 2, 1), value=-1.5),
        [away((2, 3, 2), 133)],
    ),
    Case(
        "dropout_seeded",
        lambda x: F.dropout(x, 0.4, generator=np.random.default_rng(7)),
        lambda x: x * x.new_tensor(_dropout_mask((3, 5), 0.4, 7)),
        [away((3, 5), 134)],
    ),
    Case(
        "embedding_repeated",
        lambda w: F.embedding(EMBEDDING_ROWS, w),
        lambda w: _tf().embedding(_torch().as_tensor(EMBEDDING_ROWS), w),
        [away((5, 3), 135)],
    ),
]

CASES += [
    Case("reshape(3,2)", lambda x: x.reshape(3, 2), lambda x: x.reshape(3, 2), [away((2, 3), 70)]),
    Case("reshape(-1)", lambda x: x.reshape(-1), lambda x: x.reshape(-1), [away((2, 3), 71)]),
    Case("reshape_tuple(1,6)", lambda x: x.reshape((1, 6)), lambda x: x.reshape(1, 6), [away((2, 3), 72)]),
    Case("reshape_scalar(1,1)", lambda x: x.reshape(1, 1), lambda x: x.reshape(1, 1), [away((), 73)]),
    Case("T", lambda x: x.T, lambda x: x.T, [away((2, 3), 74)]),
    Case("transpose()", lambda x: x.transpose(), lambda x: x.permute(2, 1, 0), [away((2, 3, 4), 75)]),
    Case("transpose(1,0,2)", lambda x: x.transpose(1, 0, 2), lambda x: x.permute(1, 0, 2), [away((2, 3, 4), 76)]),
    Case("getitem_int", lambda x: x[1], lambda x: x[1], [away((3, 4), 80)]),
    Case("getitem_col", lambda x: x[:, 1], lambda x: x[:, 1], [away((3, 4), 81)]),
    Case("getitem_slice", lambda x: x[1:3, ::2], lambda x: x[1:3, ::2], [away((3, 4), 82)]),
    Case("getitem_repeated", lambda x: x[[0, 0, 2, 0]], lambda x: x[[0, 0, 2, 0]], [away((3, 4), 83)]),
    Case("getitem_pairs", lambda x: x[[0, 1, 1], [2, 2, 2]], lambda x: x[[0, 1, 1], [2, 2, 2]], [away((3, 4), 84)]),
    Case("getitem_array", lambda x: x[np.array([2, 2, 1])], lambda x: x[[2, 2, 1]], [away((5,), 85)]),
    Case(
        "getitem_mask", lambda x: x[np.array([True, False, True])], lambda x: x[[True, False, True]], [away((3, 2), 86)]
    ),
    Case(
        "cat_axis0",
        lambda a, b, c: F.cat([a, b, c]),
        lambda a, b, c: _torch().cat([a, b, c]),
        [away((2, 3), 87), away((1, 3), 88), away((4, 3), 89)],
    ),
    Case(
        "cat_axis-1",
        lambda a, b: F.cat((a, b), -1),
        lambda a, b: _torch().cat((a, b), -1),
        [away((2, 3), 97), away((2, 1), 98)],
    ),
    Case(
        "stack_axis0",
        lambda a, b, c: F.stack([a, b, c]),
        lambda a, b, c: _torch().stack([a, b, c]),
        [away((2, 3), 106), away((2, 3), 107), away((2, 3), 108)],
    ),
    Case(
        "stack_axis-1",
        lambda a, b: F.stack([a, b], -1),
        lambda a, b: _torch().stack([a, b], -1),
        [away((3,), 109), away((3,), 118)],
    ),
    Case(
        "stack_scalars",
        lambda a, b: F.stack([a, b]),
        lambda a, b: _torch().stack([a, b]),
        [away((), 119), away((), 120)],
    ),
    Case("softmax_rows", lambda x: x.softmax(), lambda x: x.softmax(-1), [away((3, 4), 90)]),
    Case("softmax_axis0", lambda x: x.softmax(0), lambda x: x.softmax(0), [away((3, 4), 91)]),
    Case("softmax_1d", lambda x: x.softmax(), lambda x: x.softmax(-1), [away((5,), 92)]),
    Case("softmax_3d_axis1", lambda x: x.softmax(1), lambda x: x.softmax(1), [away((2, 3, 4), 93)]),
    Case("log_softmax_rows", lambda x: x.log_softmax(), lambda x: x.log_softmax(-1), [away((3, 4), 94)]),
    Case("log_softmax_axis0", lambda x: x.log_softmax(0), lambda x: x.log_softmax(0), [away((3, 4), 95)]),
    Case("log_softmax_1d", lambda x: x.log_softmax(), lambda x: x.log_softmax(-1), [away((5,), 96)]),
    # compositions: a node used twice, a neuron, a softmax cross-entropy
    Case("reuse", lambda x: x * x + x, lambda x: x * x + x, [away((3,), 100)]),
    Case(
        "neuron",
        lambda x, w, b: (x @ w + b).tanh(),
        lambda x, w, b: (x @ w + b).tanh(),
        [away((4, 3), 101), away((3, 2), 102), away((2,), 103)],
    ),
    Case(
        "cross_entropy",
        lambda z: -z.log_softmax()[[0, 1, 2], [1, 0, 3]].mean(),
        lambda z: -z.log_softmax(-1)[[0, 1, 2], [1, 0, 3]].mean(),
        [away((3, 4), 104)],
    ),
    Case(
        "cross_entropy_fused",
        lambda z: F.cross_entropy(z, [1, 0, 3]),
        lambda z: _tf().cross_entropy(z, z.new_tensor([1, 0, 3]).long()),
        [away((3, 4), 105)],
    ),
    Case(
        "where",
        lambda a, b: F.where(MASK, a, b),
        lambda a, b: _torch().where(_torch().as_tensor(MASK), a, b),
        [away((2, 3), 110), away((3,), 111)],
    ),
    Case(
        "where_compare",
        lambda x: F.where(x > 0, x, 0.5 * x),
        lambda x: _torch().where(x > 0, x, 0.5 * x),
        [away((4,), 112)],
    ),
    Case("broadcast_to", lambda x: x.broadcast_to(2, 3, 4), lambda x: x.expand(2, 3, 4), [away((3, 1), 113)]),
    Case("broadcast_to_scalar", lambda x: F.broadcast_to(x, (2, 2)), lambda x: x.expand(2, 2), [away((), 114)]),
    Case(
        "scatter_repeated",
        lambda x: F.scatter(x, (3, 4), ([0, 1, 1], [2, 2, 2])),
        lambda x: _torch_scatter(x, (3, 4), ([0, 1, 1], [2, 2, 2])),
        [away((3,), 115)],
    ),
    # binary cross-entropy, element by element: targets 0, 1 and in between (probabilities away from the edges)
    Case(
        "bce",
        F.bce,
        lambda p, t: _tf().binary_cross_entropy(p, t, reduction="none"),
        [positive((2, 3), 116, hi=0.8), np.array([[0.0, 1.0, 0.3], [1.0, 0.0, 0.75]])],
    ),
    Case("bce_scalar", F.bce, lambda p, t: _tf().binary_cross_entropy(p, t, reduction="none"), [0.35, 0.6]),
    Case(
        "bce_mean",
        lambda p, t: F.bce(p, t).mean(),
        lambda p, t: _tf().binary_cross_entropy(p, t),
        [positive((4,), 117, hi=0.8), np.array([1.0, 0.0, 0.5, 1.0])],
    ),
]

# convolution and pooling: N = 2 images, C = 2 or 3 channels, stride 1 and 2, padding 0 and 1 (max-pool's ties, where
# gradcheck warns of a kink, are in test_conv_ops.py)


def _torch_conv2d_weight(x, g, kernel_size, stride=1, padding=0):
    """PyTorch's twin of Conv2dWeight (torch.nn.grad.conv2d_weight takes the weight's whole shape)."""
    import torch.nn.grad

    return torch.nn.grad.conv2d_weight(x, (g.shape[1], x.shape[1], *kernel_size), g, stride, padding)


for stride, padding in [(1, 0), (2, 1), (1, 1), (2, 0)]:
    tag = f"_stride{stride}_padding{padding}"
    CASES += [
        Case(
            f"conv2d{tag}",
            lambda x, w, b, s=stride, p=padding: F.conv2d(x, w, b, stride=s, padding=p),
            lambda x, w, b, s=stride, p=padding: _tf().conv2d(x, w, b, stride=s, padding=p),
            [away((2, 3, 5, 4), 130), away((2, 3, 3, 2), 131), away((2,), 132)],
        ),
        Case(
            f"conv_transpose2d{tag}",
            lambda g, w, s=stride, p=padding: F.conv_transpose2d(g, w, stride=s, padding=p, output_padding=s - 1),
            lambda g, w, s=stride, p=padding: _tf().conv_transpose2d(g, w, stride=s, padding=p, output_padding=s - 1),
            [away((2, 2, 3, 3), 133), away((2, 3, 2, 3), 134)],
        ),
        Case(
            f"conv2d_weight{tag}",
            lambda x, g, s=stride, p=padding: F.conv2d_weight(x, (2, 3, 2, 3), g, stride=s, padding=p),
            lambda x, g, s=stride, p=padding: _torch_conv2d_weight(x, g, (2, 3), s, p),
            [
                away((2, 3, 4, 5), 135),
                away((2, 2, (4 + 2 * padding - 2) // stride + 1, (5 + 2 * padding - 3) // stride + 1), 136),
            ],
        ),
    ]
for kernel, stride in [(2, None), (2, 1), (3, 2), ((2, 3), (1, 2))]:
    tag = f"_kernel{kernel}_stride{stride}"
    CASES += [
        Case(
            f"max_pool2d{tag}",
            lambda x, k=kernel, s=stride: F.max_pool2d(x, k, s),
            lambda x, k=kernel, s=stride: _tf().max_pool2d(x, k, s),
            [distinct((2, 3, 5, 6), 137)],
        ),
        Case(
            f"avg_pool2d{tag}",
            lambda x, k=kernel, s=stride: F.avg_pool2d(x, k, s),
            lambda x, k=kernel, s=stride: _tf().avg_pool2d(x, k, s),
            [away((2, 2, 5, 6), 138)],
        ),
    ]
IDS = [c.id for c in CASES]
assert len(set(IDS)) == len(IDS), "case ids must be unique"


# ---------------------------------------------------------------- random calls, per op

small = hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)
nonscalar = hnp.array_shapes(min_dims=1, max_dims=3, max_side=3)


@dataclass
class Spec:
    """How to draw a call of one op: its input shapes and ctx, and the same op in PyTorch."""

    draw: Callable  # draw(data) -> (shapes, ctx)
    torch: Callable | None  # torch(*tensors, **ctx), None where PyTorch has no such op
    # well_posed(*inputs, **ctx): inputs whose derivatives are numbers, not rounding amplified (None: all)
    well_posed: Callable | None = None


def draw_inputs(data, op, shapes, ctx) -> list:
    """Inputs of the given shapes inside the op's domain, away from its kinks (where it has no derivative)."""
    xs = [data.draw(hnp.arrays(np.float64, s, elements=floats_in(op.domain[i]))) for i, s in enumerate(shapes)]
    if op.kinks is not None:
        assume(not any(np.any(m) for m in op.kinks(0.05, *xs, **ctx)))
    spec = SPECS.get(op.__name__)
    if spec is not None and spec.well_posed is not None:
        assume(spec.well_posed(*xs, **ctx))
    return [float(x) if x.ndim == 0 else x for x in xs]


def _unary(data):
    return [data.draw(small)], {}


def _binary(data):
    return list(data.draw(shapes_broadcastable(2, max_dims=2, max_side=3))), {}


def _reduction(data):
    shape = data.draw(nonscalar)
    axis = data.draw(st.sampled_from([None, *range(-len(shape), len(shape))]))
    return [shape], {"axis": axis, "keepdims": data.draw(st.booleans())}


def _spread(data):
    """A reduction with a correction that leaves at least one degree of freedom."""
    shapes, ctx = _reduction(data)
    n = int(np.prod(shapes[0] if ctx["axis"] is None else shapes[0][ctx["axis"]]))
    correction = data.draw(st.sampled_from([0.0, 1.0]))
    assume(n > correction)
    return shapes, {**ctx, "correction": correction}


def _torch_spread(name: str) -> Callable:
    """PyTorch's var or std with our settings."""
    return lambda x, axis, keepdims, correction: getattr(x, name)(
        dim=tuple(range(x.ndim)) if axis is None else axis, keepdim=keepdims, correction=correction
    )


def _matmul(data):
    n, k, m = data.draw(st.tuples(*[st.integers(1, 3)] * 3))
    a = data.draw(st.sampled_from([(k,), (n, k), (2, n, k)]))
    b = data.draw(st.sampled_from([(k,), (k, m)]))
    return [a, b], {"needs": (True, True)}


def _softmax(data):
    shape = data.draw(nonscalar)
    return [shape], {"axis": data.draw(st.integers(-len(shape), len(shape) - 1))}


def _reshape(data):
    shape = data.draw(nonscalar)
    return [shape], {"shape": data.draw(st.sampled_from([(-1,), (1, -1), (int(np.prod(shape)), 1)]))}


def _transpose(data):
    shape = data.draw(nonscalar)
    return [shape], {"axes": data.draw(st.sampled_from([None, tuple(data.draw(st.permutations(range(len(shape)))))]))}


def _index(data):
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=4))
    index = data.draw(
        st.sampled_from([0, (slice(None), 1), (slice(0, 2), slice(None, None, 2)), [0, 0, 1], ([1, 0, 1], [1, 1, 0])])
    )
    return [shape], {"index": index}


def _concat(data):
    shape = data.draw(nonscalar)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    other = list(shape)
    other[axis] = data.draw(st.integers(1, 3))
    return [shape, tuple(other)], {"axis": axis}


def _where(data):
    sm, sa, sb = data.draw(shapes_broadcastable(3, max_dims=2, max_side=3))
    return [sa, sb], {"mask": data.draw(hnp.arrays(np.bool_, sm))}


def _broadcast_to(data):
    sx, sy = data.draw(shapes_broadcastable(2, max_dims=2, max_side=3))
    return [sx], {"shape": np.broadcast_shapes(sx, sy)}


def _scatter(data):
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=4))
    index = data.draw(st.sampled_from([([0, 0, 1],), ([1, 0, 1], [1, 1, 0]), ([0, 1], [1, 1])]))
    return [np.empty(shape)[index].shape], {"shape": shape, "index": index}


def _cross_entropy(data):
    n, c = data.draw(st.integers(1, 4)), data.draw(st.integers(2, 4))
    return [(n, c)], {"labels": np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))}


def _bce(data):
    shape = data.draw(small)
    return [shape, shape], {}  # PyTorch's binary_cross_entropy needs targets of the probabilities' shape


def _batch_norm(data):
    """(N, C) or (N, C, H, W) with N >= 2 (PyTorch refuses one value per channel in training), per-channel axes."""
    n, c = data.draw(st.integers(2, 3)), data.draw(st.integers(1, 3))
    four = data.draw(st.booleans())
    shape = (n, c, data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))) if four else (n, c)
    return [shape], {"axes": (0, 2, 3) if four else (0,), "eps": data.draw(st.sampled_from([1e-5, 0.1]))}


def _spread_out(x, axes, eps) -> bool:
    """Every group a norm standardises has a spread (variance >= 0.01): on a constant group, x - mean is rounding
    error divided by sqrt(eps), and a second derivative there (up to 1 / eps^1.5) compares noise with noise."""
    return bool(np.var(x, axis=axes).min() >= 0.01)


def _layer_norm(data):
    shape = data.draw(nonscalar)
    k = data.draw(st.integers(1, len(shape)))
    return [shape], {"axes": tuple(range(len(shape) - k, len(shape))), "eps": data.draw(st.sampled_from([1e-5, 0.1]))}


def _pad(data):
    shape = data.draw(nonscalar)
    widths = tuple(data.draw(st.tuples(st.integers(0, 2), st.integers(0, 2))) for _ in shape)
    return [shape], {"widths": widths, "value": data.draw(st.sampled_from([0.0, -1.5]))}


def _image_shape(data, channels: int | None = None) -> tuple:
    """A small batch of images (N, C, H, W)."""
    c = channels or data.draw(st.integers(1, 3))
    return (data.draw(st.integers(1, 2)), c, data.draw(st.integers(2, 5)), data.draw(st.integers(2, 5)))


def _conv_settings(data) -> dict:
    return {
        "stride": data.draw(st.sampled_from([(1, 1), (2, 2), (2, 1)])),
        "padding": data.draw(st.sampled_from([(0, 0), (1, 1), (0, 1)])),
    }


def _out_size(size, kernel, stride, padding) -> tuple:
    return tuple((n + 2 * p - k) // s + 1 for n, k, s, p in zip(size, kernel, stride, padding))


def _conv2d(data):
    x, ctx = _image_shape(data), _conv_settings(data)
    kernel = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    assume(all(k <= n + 2 * p for k, n, p in zip(kernel, x[2:], ctx["padding"])))
    return [x, (data.draw(st.integers(1, 3)), x[1], *kernel)], {**ctx, "needs": (True, True)}


def _conv_transpose2d(data):
    [x, w], ctx = _conv2d(data)
    del ctx["needs"]
    out = _out_size(x[2:], w[2:], ctx["stride"], ctx["padding"])
    extra = tuple((n + 2 * p - k) % s for n, k, s, p in zip(x[2:], w[2:], ctx["stride"], ctx["padding"]))
    return [(x[0], w[0], *out), w], {**ctx, "output_padding": extra}


def _conv2d_weight(data):
    [x, w], ctx = _conv2d(data)
    del ctx["needs"]
    out = _out_size(x[2:], w[2:], ctx["stride"], ctx["padding"])
    return [x, (x[0], w[0], *out)], {**ctx, "kernel_size": w[2:]}


def _pool(data):
    x = _image_shape(data)
    kernel = (data.draw(st.integers(1, min(3, x[2]))), data.draw(st.integers(1, min(3, x[3]))))
    return [x], {"kernel_size": kernel, "stride": data.draw(st.sampled_from([kernel, (1, 1), (2, 1)]))}


def _torch_max(x, axis, keepdims):
    dims = tuple(range(x.ndim)) if axis is None else axis
    return x.amax(dim=dims, keepdim=keepdims)


def _torch_min(x, axis, keepdims):
    dims = tuple(range(x.ndim)) if axis is None else axis
    return x.amin(dim=dims, keepdim=keepdims)


def _torch_sum(x, axis, keepdims):
    return x.sum(dim=tuple(range(x.ndim)) if axis is None else axis, keepdim=keepdims)


def _torch_mean(x, axis, keepdims):
    return x.mean(dim=tuple(range(x.ndim)) if axis is None else axis, keepdim=keepdims)


SPECS = {
    "Add": Spec(_binary, lambda a, b: a + b),
    "Sub": Spec(_binary, lambda a, b: a - b),
    "Mul": Spec(_binary, lambda a, b: a * b),
    "Div": Spec(_binary, lambda a, b: a / b),
    "Neg": Spec(_unary, lambda x: -x),
    "PowConst": Spec(
        lambda d: ([d.draw(small)], {"p": d.draw(st.sampled_from([2.0, 3.0, -1.0, 0.5, -1.5]))}), lambda x, p: x**p
    ),
    "Pow": Spec(_binary, lambda a, b: a**b),
    "MatMul": Spec(_matmul, lambda a, b, needs: a @ b),
    "Exp": Spec(_unary, lambda x: x.exp()),
    "Log": Spec(_unary, lambda x: x.log()),
    "Log2": Spec(_unary, lambda x: x.log2()),
    "Log10": Spec(_unary, lambda x: x.log10()),
    "Norm": Spec(_unary, lambda x: x.norm()),
    "Sqrt": Spec(_unary, lambda x: x.sqrt()),
    "Sin": Spec(_unary, lambda x: x.sin()),
    "Cos": Spec(_unary, lambda x: x.cos()),
    "Abs": Spec(_unary, lambda x: x.abs()),
    "Tanh": Spec(_unary, lambda x: x.tanh()),
    "Sigmoid": Spec(_unary, lambda x: x.sigmoid()),
    "ReLU": Spec(_unary, lambda x: x.relu()),
    "LeakyReLU": Spec(
        lambda d: ([d.draw(small)], {"alpha": d.draw(st.sampled_from([0.01, 0.2]))}),
        lambda x, alpha: _tf().leaky_relu(x, alpha),
    ),
    "Softplus": Spec(
        lambda d: (
            [d.draw(small)],
            d.draw(st.sampled_from([{}, {"beta": 2.0, "threshold": 1.0}, {"beta": -0.5, "threshold": 20.0}])),
        ),
        lambda x, beta=1.0, threshold=np.inf: _tf().softplus(x, beta=beta, threshold=threshold),
    ),
    "GELU": Spec(
        lambda d: ([d.draw(small)], d.draw(st.sampled_from([{}, {"approximate": "none"}, {"approximate": "tanh"}]))),
        lambda x, approximate="none": _tf().gelu(x, approximate=approximate),
    ),
    "Erf": Spec(_unary, lambda x: x.erf()),
    "Step": Spec(_unary, None),  # PyTorch's heaviside has no gradient to compare
    "Clip": Spec(lambda d: ([d.draw(small)], {"lo": -1.0, "hi": 1.0}), lambda x, lo, hi: x.clip(lo, hi)),
    "Maximum": Spec(_binary, _torch_fn("maximum")),
    "Minimum": Spec(_binary, _torch_fn("minimum")),
    "Sum": Spec(_reduction, _torch_sum),
    "Mean": Spec(_reduction, _torch_mean),
    "Max": Spec(_reduction, _torch_max),
    "Min": Spec(_reduction, _torch_min),
    "Var": Spec(_spread, _torch_spread("var")),
    "Std": Spec(_spread, _torch_spread("std")),
    "Reshape": Spec(_reshape, lambda x, shape: x.reshape(shape)),
    "Transpose": Spec(_transpose, lambda x, axes: x.permute(*(axes or reversed(range(x.ndim))))),
    "Concat": Spec(_concat, lambda a, b, axis: _torch().cat((a, b), axis)),
    "Index": Spec(_index, lambda x, index: x[index]),
    "Softmax": Spec(_softmax, lambda x, axis: x.softmax(axis)),
    "LogSoftmax": Spec(_softmax, lambda x, axis: x.log_softmax(axis)),
    "Where": Spec(_where, lambda a, b, mask: _torch().where(_torch().as_tensor(mask), a, b)),
    "BroadcastTo": Spec(_broadcast_to, lambda x, shape: x.broadcast_to(shape)),
    "Scatter": Spec(_scatter, _torch_scatter),
    "CrossEntropy": Spec(_cross_entropy, lambda z, labels: _tf().cross_entropy(z, z.new_tensor(labels).long())),
    # normalisation
    "BatchNorm": Spec(
        _batch_norm, lambda x, axes, eps: _tf().batch_norm(x, None, None, training=True, eps=eps), _spread_out
    ),
    "LayerNorm": Spec(_layer_norm, lambda x, axes, eps: _tf().layer_norm(x, x.shape[axes[0] :], eps=eps), _spread_out),
    "Pad": Spec(_pad, _torch_pad),
    "BinaryCrossEntropy": Spec(_bce, lambda p, t: _tf().binary_cross_entropy(p, t, reduction="none")),
    # convolution and pooling
    "Conv2d": Spec(_conv2d, lambda x, w, stride, padding, needs: _tf().conv2d(x, w, stride=stride, padding=padding)),
    "ConvTranspose2d": Spec(
        _conv_transpose2d,
        lambda g, w, stride, padding, output_padding: _tf().conv_transpose2d(
            g, w, stride=stride, padding=padding, output_padding=output_padding
        ),
    ),
    "Conv2dWeight": Spec(_conv2d_weight, _torch_conv2d_weight),
    "MaxPool2d": Spec(_pool, lambda x, kernel_size, stride: _tf().max_pool2d(x, kernel_size, stride)),
    "AvgPool2d": Spec(_pool, lambda x, kernel_size, stride: _tf().avg_pool2d(x, kernel_size, stride)),
}
