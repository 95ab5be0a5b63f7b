"""Exercise 6: the power rule, x ** p for a fixed number p, as ops.PowConst writes it."""

import numpy as np

from tinygrad_edu import ops
from tinygrad_edu.exercises.exercise import Exercise, by_differences, op_cases, planted

STUB = '''
import numpy as np


def pow_backward(g, out, x, p):
    """Return dL/dx for out = x ** p (p a fixed number, x > 0), given g = dL/d(out)."""
    raise NotImplementedError("TODO: g times the power rule's derivative")
'''

SOLUTION = '''
import numpy as np


def pow_backward(g, out, x, p):
    """Return dL/dx for out = x ** p (p a fixed number, x > 0), given g = dL/d(out)."""
    return g * p * x ** (p - 1)
'''


def _cases(rng: np.random.Generator) -> list[tuple]:
    inputs = [(rng.uniform(0.5, 2.0, size=4), 2.0)]
    inputs += [(rng.uniform(0.2, 3.0, size=(2, 3)), p) for p in (3.0, 0.5, -1.5)]
    return op_cases(ops.PowConst.forward, inputs, rng)


EXERCISE = Exercise(
    number=6,
    slug="power",
    title="the power rule: backward of x ** p",
    lesson="Gradients of gradients (README) and ops.py's PowConst",
    task="""
out = x ** p, with p a fixed number (2, 3, 0.5, -1.5 ...) and x > 0. Write the backward of the
op: given g = dL/d(out), the output out, the input x and the exponent p, return dL/dx.

What to use:
  - for x > 0 and any real p: x^p = e^(p ln x);
  - d(e^u)/dx = e^u * u' (u a function of x), and d(ln x)/dx = 1/x (exercise 5);
  - the chain rule: dL/dx = g * d(out)/dx.
Write your result as a power of x again. Check it on p = 2 (the product rule on x * x) and on
p = 0.5 (the square root). (p is a constant here; ops.Pow, where p is a Value too, also passes a
gradient to p.)
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("pow_backward",),
    cases=_cases,
    expected=ops.PowConst.backward,
    numeric=lambda g, out, x, p: by_differences(lambda v: v**p, g, x),
    hints=(
        "The power rule: the exponent p comes down as a factor, and the power drops to p - 1.",
        "d e^(p ln x)/dx = e^(p ln x) * p / x = x^p * p / x = p * x^(p - 1), for any real p; then multiply by g.",
        "return g * p * x ** (p - 1)",
    ),
    mistakes=(
        planted("missing factor p", SOLUTION, "return g * x ** (p - 1)", "return g * p * x ** (p - 1)", "factor"),
        planted("wrong sign", SOLUTION, "return -g * p * x ** (p - 1)", "return g * p * x ** (p - 1)", "sign"),
        planted(
            "the power not lowered",
            SOLUTION,
            "return g * p * x ** p",
            "return g * p * x ** (p - 1)",
            "p - 1",
            says=(
                "yours brings p down as a factor but keeps the power p: the power rule also lowers the power by one, to"
                " p - 1."
            ),
        ),
    ),
    proves="You can apply the power rule for any real exponent, as ops.PowConst.backward does (square, cube, "
    "square root and reciprocal square root were among the cases).",
)
