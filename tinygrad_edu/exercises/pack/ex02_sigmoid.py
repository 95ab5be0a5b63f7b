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

What to use:
  - the derivative of 1/u is -u' / u^2 (u a function of x), and d(e^-x)/dx = -e^-x;
  - the chain rule: dL/dx = g * d(out)/dx, element by element.
Backward is given the output too: can you write the derivative with s = out alone, so that no exp
is computed again? Once you have it: where is it largest, and what is it for large |x|?
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("sigmoid_backward",),
    cases=_cases,
    expected=ops.Sigmoid.backward,
    numeric=lambda g, out, x: by_differences(lambda v: v.sigmoid(), g, x),
    hints=(
        "Backward is given the output s = out: write the derivative with the output (not with the input x). "
        "The derivative of 1 / (1 + e^-x) is e^-x / (1 + e^-x)^2: a product of two fractions, each made of s.",
        "e^-x / (1 + e^-x)^2 = s * e^-x / (1 + e^-x), and e^-x / (1 + e^-x) = 1 - s: so ds/dx = s * (1 - s). "
        "Multiply by g.",
        "return g * out * (1 - out)",
    ),
    mistakes=(
        planted("wrong sign", SOLUTION, "return -g * out * (1 - out)", "return g * out * (1 - out)", "sign"),
        planted(
            "forgot the upstream gradient", SOLUTION, "return out * (1 - out)", "return g * out * (1 - out)", "upstream"
        ),
        planted(
            "x where s belongs",
            SOLUTION,
            "return g * x * (1 - x)",
            "return g * out * (1 - out)",
            "output",
            says=(
                "yours is s * (1 - s) with the input x put in place of s: sigmoid's derivative is written with its "
                "output s = out, which backward is given, and x is not s."
            ),
        ),
    ),
    proves="You can differentiate sigmoid and write the derivative with the op's output, as ops.Sigmoid.backward "
    "does; and you have seen why it saturates: s (1 - s) is at most 1/4.",
)
