"""Exercise 10: softmax's backward, as ops.Softmax writes it: a row's outputs share one denominator."""

import numpy as np

from tinygrad_edu import ops
from tinygrad_edu.exercises.exercise import Exercise, by_differences, op_cases, planted

STUB = '''
import numpy as np


def softmax_backward(g, out, x):
    """Return dL/dx for out = softmax(x) over the last axis, given g = dL/d(out) (out and g: x's shape)."""
    raise NotImplementedError("TODO: each row's Jacobian applied to g, for every row at once")
'''

SOLUTION = '''
import numpy as np


def softmax_backward(g, out, x):
    """Return dL/dx for out = softmax(x) over the last axis, given g = dL/d(out) (out and g: x's shape)."""
    return out * (g - np.sum(g * out, axis=-1, keepdims=True))
'''


def _softmax(x):
    return x.softmax(axis=-1)


def _cases(rng: np.random.Generator) -> list[tuple]:
    shapes = [(5,), (3, 4), (2, 3, 5), (4, 4), (1, 6)]
    return op_cases(lambda x: ops.Softmax.forward(x, axis=-1), [(rng.normal(size=s) * 2,) for s in shapes], rng)


EXERCISE = Exercise(
    number=10,
    slug="softmax",
    title="softmax's backward",
    lesson="Classification (README: softmax and cross-entropy) and ops.py's Softmax",
    task="""
out = softmax(x) over the last axis: in each row, out_i = e^(x_i) / sum_j e^(x_j), so the row's
numbers are positive and add up to 1. Write its backward: given g = dL/d(out), return dL/dx
(x's shape). x may have one axis (one row) or more (every axis but the last counts rows).

What to use:
  - every x_j of a row is in the denominator of every output of that row, so the Jacobian of one
    row is a full matrix:
        d out_i / d x_j = out_i * (delta_ij - out_j)      (delta_ij = 1 if i = j, else 0);
  - the chain rule sums over every output x_j reaches: dL/dx_j = sum over i of g_i * d out_i / d x_j.
Turn that sum into array code without building the Jacobian: write it out; does a part of it not
depend on j (one number per row)? Computed for all rows at once, over which axis is that sum, and
does it broadcast back along its row (what does keepdims=True do)?
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("softmax_backward",),
    cases=_cases,
    expected=lambda g, out, x: ops.Softmax.backward(g, out, x, axis=-1),
    numeric=lambda g, out, x: by_differences(_softmax, g, x),
    hints=(
        "softmax couples the numbers of a row: the Jacobian is not diagonal, since every x_j of a row is in the "
        "denominator of every output. So dx_j collects g_i from every output of its row: a sum over the row "
        "(the last axis, keepdims=True), one number per row.",
        "d out_i / d x_j = out_i * (delta_ij - out_j). Summed with g_i over i: out_j * g_j minus out_j times "
        "(sum over i of g_i * out_i).",
        "dx = out * (g - np.sum(g * out, axis=-1, keepdims=True))",
    ),
    mistakes=(
        planted(
            "wrong sign",
            SOLUTION,
            "return out * (np.sum(g * out, axis=-1, keepdims=True) - g)",
            "return out * (g - np.sum(g * out, axis=-1, keepdims=True))",
            "sign",
        ),
        planted(
            "only the Jacobian's diagonal (as for a sigmoid)",
            SOLUTION,
            "return out * (1 - out) * g",
            "return out * (g - np.sum(g * out, axis=-1, keepdims=True))",
            "not diagonal",
            says=(
                "yours is what an elementwise op would give: out * (1 - out) * g, the Jacobian's diagonal only. "
                "softmax's Jacobian is not diagonal: every x_j of a row moves every output of the row, so dx_j collects"
                " g_i from all of them (a sum over the row)."
            ),
        ),
        planted(
            "the sum over the wrong axis",
            SOLUTION,
            "np.sum(g * out, axis=0, keepdims=True)",
            "np.sum(g * out, axis=-1, keepdims=True)",
            "sum over the row",
            says=(
                "your sum runs down the columns (axis 0), across different rows: each row is its own softmax, so the "
                "sum that couples its outputs is a sum over the row, the last axis (one number per row)."
            ),
        ),
        planted(
            "the row's sum without keepdims",
            SOLUTION,
            "np.sum(g * out, axis=-1)",
            "np.sum(g * out, axis=-1, keepdims=True)",
            "broadcast",
        ),
    ),
    proves="You can push a gradient through an op whose outputs all depend on all its inputs: softmax's "
    "Jacobian-vector product out * (g - sum(g * out)), in one line, without building the Jacobian.",
)
