"""Exercise 1: the product rule, as a backward with three inputs (a warm-up)."""

import numpy as np

from tinygrad_edu.exercises.exercise import Exercise, by_differences, by_engine, planted

STUB = '''
import numpy as np


def product_backward(g, out, a, b, c):
    """Return (dL/da, dL/db, dL/dc) for out = a * b * c, given g = dL/d(out)."""
    raise NotImplementedError("TODO: the chain rule, for each of a, b and c")
'''

SOLUTION = '''
import numpy as np


def product_backward(g, out, a, b, c):
    """Return (dL/da, dL/db, dL/dc) for out = a * b * c, given g = dL/d(out)."""
    da = g * b * c
    db = g * a * c
    dc = g * a * b
    return da, db, dc
'''


def _forward(a, b, c):
    return a * b * c


def _cases(rng: np.random.Generator) -> list[tuple]:
    cases = []
    for shape in [(3,), (2, 3), (4, 2)]:
        a, b, c = (rng.normal(size=shape) for _ in range(3))
        cases.append((rng.normal(size=shape), a * b * c, a, b, c))
    return cases


EXERCISE = Exercise(
    number=1,
    slug="product",
    title="the product rule: backward of a * b * c",
    lesson="A neuron in ten lines (README); ops.py's Mul",
    task="""
out = a * b * c, element by element (a, b, c arrays of one shape). Write its backward: given
g = dL/d(out), the gradient of the final result L with respect to out, return the three gradients
(dL/da, dL/db, dL/dc), in that order.

What to use:
  - the local derivative d(out)/da: how much out changes per unit change of a while b and c are
    held fixed (held fixed, they are just a constant factor);
  - the chain rule: dL/da = dL/d(out) * d(out)/da, and the same for b and c.
The engine builds out as two Mul nodes, (a * b) * c, and backprop chains their backwards
(ops.Mul.backward); your one-step formula must give the same numbers.
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("product_backward",),
    outputs=("da", "db", "dc"),
    cases=_cases,
    expected=lambda g, out, a, b, c: by_engine(_forward, g, a, b, c),
    numeric=lambda g, out, a, b, c: by_differences(_forward, g, a, b, c),
    hints=(
        "Each input's gradient is the upstream gradient g times that input's local derivative.",
        "d(a*b*c)/da holds every factor except a itself: b * c. Then multiply by g.",
        "return g * b * c, g * a * c, g * a * b",
    ),
    mistakes=(
        planted("wrong sign", SOLUTION, "db = -g * a * c", "db = g * a * c", "sign"),
        planted(
            "forgot the upstream gradient",
            SOLUTION,
            "da = b * c\n    db = a * c\n    dc = a * b",
            "da = g * b * c\n    db = g * a * c\n    dc = g * a * b",
            "upstream gradient g",
        ),
        planted("two outputs swapped", SOLUTION, "return da, dc, db", "return da, db, dc", "swapped"),
    ),
    proves="You can apply the product rule and the chain rule to a node with several inputs: what every "
    "Mul node in a graph does in backward.",
)
