"""Exercise 3: tanh's backward, as ops.Tanh writes it."""

import numpy as np

from tinygrad_edu import ops
from tinygrad_edu.exercises.exercise import Exercise, by_differences, op_cases, planted

STUB = '''
import numpy as np


def tanh_backward(g, out, x):
    """Return dL/dx for out = tanh(x), given g = dL/d(out)."""
    raise NotImplementedError("TODO: g times d(tanh)/dx, written with out")
'''

SOLUTION = '''
import numpy as np


def tanh_backward(g, out, x):
    """Return dL/dx for out = tanh(x), given g = dL/d(out)."""
    return g * (1 - out**2)
'''


def _cases(rng: np.random.Generator) -> list[tuple]:
    inputs = [(rng.normal(size=5),), (rng.normal(scale=2.0, size=(3, 4)),), (np.array([-4.0, -0.5, 0.0, 0.5, 3.0]),)]
    return op_cases(ops.Tanh.forward, inputs, rng)


EXERCISE = Exercise(
    number=3,
    slug="tanh",
    title="tanh's backward",
    lesson="Lesson 4 (activations) and ops.py's Tanh",
    task="""
tanh(x) = (e^x - e^-x) / (e^x + e^-x). Write the backward of the op: given g = dL/d(out), the
output out = tanh(x) and the input x, return dL/dx.

What to use:
  - the quotient rule: (u / v)' = (u' v - u v') / v^2;
  - d(e^x)/dx = e^x and d(e^-x)/dx = -e^-x;
  - the chain rule: dL/dx = g * d(out)/dx.
As for sigmoid: can you write the derivative with the output alone? What is it at x = 0, and for
large |x|?
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("tanh_backward",),
    cases=_cases,
    expected=ops.Tanh.backward,
    numeric=lambda g, out, x: by_differences(lambda v: v.tanh(), g, x),
    hints=(
        "Write the derivative with the output out = tanh(x): the quotient rule's numerator is "
        "(e^x + e^-x)^2 - (e^x - e^-x)^2; divided by (e^x + e^-x)^2 it is one minus the output squared.",
        "d tanh/dx = 1 - tanh(x)^2 = 1 - out * out (not 1 - out, not 1 - x^2); then multiply by g.",
        "return g * (1 - out**2)",
    ),
    mistakes=(
        planted("wrong sign", SOLUTION, "return g * (out**2 - 1)", "return g * (1 - out**2)", "sign"),
        planted("forgot the upstream gradient", SOLUTION, "return 1 - out**2", "return g * (1 - out**2)", "upstream"),
        planted(
            "the square left out",
            SOLUTION,
            "return g * (1 - out)",
            "return g * (1 - out**2)",
            "squared",
            says=(
                "yours is g * (1 - out): the square is missing. tanh's derivative is one minus the output squared (the "
                "quotient rule's (e^x - e^-x)^2 over (e^x + e^-x)^2 is out squared)."
            ),
        ),
    ),
    proves="You can differentiate tanh and write the derivative with its output, as ops.Tanh.backward does.",
)
