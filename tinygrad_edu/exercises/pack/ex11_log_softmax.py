"""Exercise 11: log-softmax's backward, as ops.LogSoftmax writes it: two paths from each input."""

import numpy as np

from tinygrad_edu import ops
from tinygrad_edu.exercises.exercise import Exercise, by_differences, op_cases, planted

STUB = '''
import numpy as np


def log_softmax_backward(g, out, x):
    """Return dL/dx for out = log_softmax(x) over the last axis, given g = dL/d(out) (out and g: x's shape)."""
    raise NotImplementedError("TODO: both paths from each x_j, for every row at once")
'''

SOLUTION = '''
import numpy as np


def log_softmax_backward(g, out, x):
    """Return dL/dx for out = log_softmax(x) over the last axis, given g = dL/d(out) (out and g: x's shape)."""
    return g - np.exp(out) * np.sum(g, axis=-1, keepdims=True)
'''


def _log_softmax(x):
    return x.log_softmax(axis=-1)


def _cases(rng: np.random.Generator) -> list[tuple]:
    shapes = [(5,), (3, 4), (2, 3, 5), (4, 4), (1, 6)]
    inputs = [(rng.normal(size=s) * 2,) for s in shapes]
    return op_cases(lambda x: ops.LogSoftmax.forward(x, axis=-1), inputs, rng)


EXERCISE = Exercise(
    number=11,
    slug="log_softmax",
    title="log-softmax's backward",
    lesson="Classification (README: softmax and cross-entropy) and ops.py's LogSoftmax",
    task="""
out = log_softmax(x) over the last axis: in each row, out_i = x_i - log(sum_k e^(x_k)), the log of
the softmax, computed without forming it (no log of a tiny number). Write its backward: given
g = dL/d(out), return dL/dx (x's shape).

What to use:
  - d ln(u)/dx = u' / u (u a function of x), and d e^(x_k) / d x_j is e^(x_j) for k = j, else 0;
  - x_j reaches out_i by two paths: directly, through the x_i term (only when i = j), and through
    the log-sum-exp that every output of the row subtracts. The chain rule adds the paths, and sums
    over every output x_j reaches: dL/dx_j = sum over i of g_i * d out_i / d x_j.
Which part of your sum is one number per row, and does it broadcast back along the row
(keepdims=True)? Backward is given out, the log of the softmax: what is e^out?
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("log_softmax_backward",),
    cases=_cases,
    expected=lambda g, out, x: ops.LogSoftmax.backward(g, out, x, axis=-1),
    numeric=lambda g, out, x: by_differences(_log_softmax, g, x),
    hints=(
        "x_j reaches every output of its row two ways: directly (only out_j, derivative 1) and through the "
        "log-sum-exp that every output subtracts, whose derivative is softmax(x)_j = exp(out_j). That second path "
        "carries the sum of g over the row (axis=-1, keepdims=True).",
        "d out_i / d x_j = delta_ij - softmax(x)_j. Summed with g_i over i: g_j - softmax(x)_j * sum_i g_i.",
        "dx = g - np.exp(out) * np.sum(g, axis=-1, keepdims=True)",
    ),
    mistakes=(
        planted(
            "wrong sign",
            SOLUTION,
            "return np.exp(out) * np.sum(g, axis=-1, keepdims=True) - g",
            "return g - np.exp(out) * np.sum(g, axis=-1, keepdims=True)",
            "sign",
        ),
        planted(
            "no sum over the row (as if each output had its own log-sum-exp)",
            SOLUTION,
            "return g - np.exp(out) * g",
            "return g - np.exp(out) * np.sum(g, axis=-1, keepdims=True)",
            "sum of g over the row",
            says=(
                "yours gives each output its own log-sum-exp: but x_j's second path, through the log-sum-exp that every"
                " output of its row subtracts, reaches all of them, so it carries the sum of g over the row, not g_j "
                "alone."
            ),
        ),
        planted(
            "e^x where the softmax belongs",
            SOLUTION,
            "return g - np.exp(x) * np.sum(g, axis=-1, keepdims=True)",
            "return g - np.exp(out) * np.sum(g, axis=-1, keepdims=True)",
            "softmax(x)_j = exp(out_j)",
            says=(
                "yours has e^x where the softmax belongs: the log-sum-exp's derivative by x_j is softmax(x)_j = "
                "exp(out_j), e^(x_j) divided by its row's sum of e^x."
            ),
        ),
        planted(
            "the row's sum without keepdims",
            SOLUTION,
            "np.sum(g, axis=-1)",
            "np.sum(g, axis=-1, keepdims=True)",
            "broadcast",
        ),
    ),
    proves="You can follow an input along every path to the output and add the paths up: log-softmax's "
    "backward g - softmax * sum(g), the half of cross-entropy's gradient that does not depend on the labels.",
)
