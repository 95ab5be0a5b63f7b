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

The math. d tanh(x)/dx = 1 - tanh(x)^2: one minus the output squared (the quotient rule on the
definition gives it). So, as for sigmoid, the derivative is written with the op's own output, and
the chain rule multiplies by g: dL/dx = g * (1 - out^2). It is 1 at x = 0 and close to 0 for
large |x|: tanh saturates too.
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("tanh_backward",),
    cases=_cases,
    expected=ops.Tanh.backward,
    numeric=lambda g, out, x: by_differences(lambda v: v.tanh(), g, x),
    hints=(
        "d tanh/dx is one minus the output squared; the output is the argument out.",
        "1 - tanh(x)^2 is 1 - out * out (not 1 - out, not 1 - x^2); then multiply by g.",
        "return g * (1 - out**2)",
    ),
    mistakes=(
        planted("wrong sign", SOLUTION, "return g * (out**2 - 1)", "return g * (1 - out**2)", "sign"),
        planted("forgot the upstream gradient", SOLUTION, "return 1 - out**2", "return g * (1 - out**2)", "upstream"),
        planted("the square left out", SOLUTION, "return g * (1 - out)", "return g * (1 - out**2)", "squared"),
    ),
    proves="You can differentiate tanh and write the derivative with its output, as ops.Tanh.backward does.",
)
