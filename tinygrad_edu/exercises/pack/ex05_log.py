"""Exercise 5: the natural logarithm's backward, as ops.Log writes it."""

import numpy as np

from tinygrad_edu import ops
from tinygrad_edu.exercises.exercise import Exercise, by_differences, op_cases, planted

STUB = '''
import numpy as np


def log_backward(g, out, x):
    """Return dL/dx for out = ln(x) (x > 0), given g = dL/d(out)."""
    raise NotImplementedError("TODO: g times d(ln x)/dx")
'''

SOLUTION = '''
import numpy as np


def log_backward(g, out, x):
    """Return dL/dx for out = ln(x) (x > 0), given g = dL/d(out)."""
    return g / x
'''


def _cases(rng: np.random.Generator) -> list[tuple]:
    inputs = [
        (rng.uniform(0.2, 3.0, size=5),),
        (rng.uniform(0.05, 10.0, size=(3, 3)),),
        (np.array([0.5, 1.5, 2.0, 4.0]),),
    ]
    return op_cases(ops.Log.forward, inputs, rng)


EXERCISE = Exercise(
    number=5,
    slug="log",
    title="ln's backward",
    lesson="Checking gradients (README) and ops.py's Log",
    task="""
out = ln(x) for x > 0. Write the backward of the op: given g = dL/d(out), the output out and the
input x, return dL/dx.

What to use:
  - ln is the inverse of exp: x = e^out. Differentiate both sides by x (on the right, the chain
    rule: d(e^out)/dx = e^out * d(out)/dx) and solve for d(out)/dx;
  - the chain rule: dL/dx = g * d(out)/dx.
Which number does the derivative divide by, in the end? What happens to it as x goes to 0, and
what does that mean for a loss like -ln(p)?
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("log_backward",),
    cases=_cases,
    expected=ops.Log.backward,
    numeric=lambda g, out, x: by_differences(lambda v: v.log(), g, x),
    hints=(
        "The derivative of ln is the reciprocal of its input x (not of its output).",
        "d ln(x)/dx = 1 / x; multiply it by the upstream g.",
        "return g / x",
    ),
    mistakes=(
        planted("wrong sign", SOLUTION, "return -g / x", "return g / x", "sign"),
        planted("forgot the upstream gradient", SOLUTION, "return 1 / x", "return g / x", "upstream"),
        planted(
            "divided by the output",
            SOLUTION,
            "return g / out",
            "return g / x",
            "input x",
            says=(
                "yours divides g by the output ln(x): the derivative of ln is the reciprocal of its input x, not of its"
                " output."
            ),
        ),
    ),
    proves="You can differentiate ln and know which number its derivative divides by: the input x.",
)
