"""Exercise 2: sigmoid's backward, as ops.Sigmoid writes it."""

import numpy as np

from tinygrad_edu import ops
from tinygrad_edu.exercises.exercise import Exercise, by_differences, op_cases, planted

STUB = '''
import numpy as np


def sigmoid_backward(g, out, x):
    """Return dL/dx for out = sigmoid(x) = 1 / (1 + exp(-x)), given g = dL/d(out)."""
    raise NotImplementedError("TODO: g times d(sigmoid)/dx, written with out")
'''

SOLUTION = '''
import numpy as np


def sigmoid_backward(g, out, x):
    """Return dL/dx for out = sigmoid(x) = 1 / (1 + exp(-x)), given g = dL/d(out)."""
    return g * out * (1 - out)
'''


def _cases(rng: np.random.Generator) -> list[tuple]:
    inputs = [(rng.normal(size=5),), (rng.normal(scale=3.0, size=(3, 4)),), (np.array([-6.0, -1.0, 0.0, 2.0, 8.0]),)]
    return op_cases(ops.Sigmoid.forward, inputs, rng)


EXERCISE = Exercise(
    number=2,
    slug="sigmoid",
    title="sigmoid's backward",
    lesson="Lesson 4 (activations) and ops.py's Sigmoid",
    task="""
sigmoid(x) = 1 / (1 + e^-x). Write the backward of the op: given g = dL/d(out), the output
out = sigmoid(x) and the input x, return dL/dx (an array of x's shape).

The math. With s = sigmoid(x): ds/dx = e^-x / (1 + e^-x)^2 = s * (1 - s). So the derivative is
written with the op's own OUTPUT, which backward is given as out (no exp to compute again), and
the chain rule multiplies by the upstream g: dL/dx = g * s * (1 - s). It is at most 1/4 (at x = 0)
and close to 0 for large |x|: sigmoid saturates.
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("sigmoid_backward",),
    cases=_cases,
    expected=ops.Sigmoid.backward,
    numeric=lambda g, out, x: by_differences(lambda v: v.sigmoid(), g, x),
    hints=(
        "Write the derivative with the output s = out (not with the input x): ds/dx = s * (1 - s).",
        "Differentiate 1 / (1 + e^-x): e^-x / (1 + e^-x)^2, which is s * (1 - s). Multiply by g.",
        "return g * out * (1 - out)",
    ),
    mistakes=(
        planted("wrong sign", SOLUTION, "return -g * out * (1 - out)", "return g * out * (1 - out)", "sign"),
        planted(
            "forgot the upstream gradient", SOLUTION, "return out * (1 - out)", "return g * out * (1 - out)", "upstream"
        ),
        planted("x where s belongs", SOLUTION, "return g * x * (1 - x)", "return g * out * (1 - out)", "output"),
    ),
    proves="You can differentiate sigmoid and write the derivative with the op's output, as ops.Sigmoid.backward "
    "does; and you have seen why it saturates: s (1 - s) is at most 1/4.",
)
