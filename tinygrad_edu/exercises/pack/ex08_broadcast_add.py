"""Exercise 8: a + b with broadcasting: the gradient summed back to each input's shape (engine.reduce_broadcast)."""

import numpy as np

from tinygrad_edu.exercises.exercise import Exercise, by_differences, by_engine, planted

STUB = '''
import numpy as np


def unbroadcast(g, shape):
    """Sum g over the axes broadcasting added or stretched, back to ``shape``."""
    raise NotImplementedError("TODO: g brought back to shape")


def add_backward(g, out, a, b):
    """Return (dL/da, dL/db) for out = a + b (numpy broadcasting), given g = dL/d(out)."""
    raise NotImplementedError("TODO: each input's gradient, in its input's shape")
'''

SOLUTION = '''
import numpy as np


def unbroadcast(g, shape):
    """Sum g over the axes broadcasting added or stretched, back to ``shape``."""
    while g.ndim > len(shape):  # axes added in front
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):  # size-1 axes stretched
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def add_backward(g, out, a, b):
    """Return (dL/da, dL/db) for out = a + b (numpy broadcasting), given g = dL/d(out)."""
    return unbroadcast(g, a.shape), unbroadcast(g, b.shape)
'''


def _add(a, b):
    return a + b


def _cases(rng: np.random.Generator) -> list[tuple]:
    """One input broadcast, then neither, then both (each stretched, or one given a leading axis too): a
    backward that unbroadcasts only the input whose shape differs from out's fails the last three."""
    cases = []
    one = [((3, 4), (4,)), ((3, 4), (1, 4)), ((3, 1), (3, 4)), ((2, 3, 4), (3, 1)), ((2, 3), (2, 3))]
    for sa, sb in one + [((3, 1), (1, 4)), ((4,), (3, 1)), ((2, 1, 4), (3, 1))]:
        a, b = rng.normal(size=sa), rng.normal(size=sb)
        out = a + b
        cases.append((rng.normal(size=out.shape), out, a, b))
    return cases


EXERCISE = Exercise(
    number=8,
    slug="broadcast_add",
    title="broadcast add: the gradient summed back",
    lesson="Networks (README: a bias added to every row) and engine.reduce_broadcast",
    task="""
out = a + b with numpy's broadcasting: a of shape (3, 4) plus b of shape (4,) adds b to every row
(a bias); (3, 1) + (3, 4) adds a column to every column. Write the backward: given g = dL/d(out)
(out's shape), return (dL/da, dL/db), each of its input's shape. Write unbroadcast(g, shape) first
and use it for both.

What to use:
  - d(a + b)/da = 1 and d(a + b)/db = 1, element by element;
  - a number used several times gets the SUM of the gradients of its uses (the multivariable chain
    rule): b[j] went into out[0, j], out[1, j] and out[2, j];
  - numpy's broadcasting lines the shapes up at the right, adds the missing axes in front, and
    stretches axes of size 1.
For each input: which axes of g did broadcasting add, and which did it stretch? After your sums,
does the gradient have its input's shape (what happens to an axis of size 1 that you sum over)?
The engine does this in one place for every op (engine.reduce_broadcast): here, write your own.
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("add_backward", "unbroadcast"),
    outputs=("da", "db"),
    cases=_cases,
    expected=lambda g, out, a, b: by_engine(_add, g, a, b),
    numeric=lambda g, out, a, b: by_differences(_add, g, a, b),
    hints=(
        "Each input's gradient has that input's shape: sum g over every axis broadcasting added or stretched.",
        "Added axes (in front): g.sum(axis=0) until g has as many axes as the input; stretched size-1 axes: "
        "g.sum(axis=axis, keepdims=True).",
        "In unbroadcast: while g.ndim > len(shape): g = g.sum(axis=0); then for each axis where shape has 1: "
        "g = g.sum(axis=axis, keepdims=True). add_backward returns unbroadcast(g, a.shape), unbroadcast(g, b.shape).",
    ),
    mistakes=(
        planted(
            "no sum over the broadcast axis",
            SOLUTION,
            "return g, g",
            "return unbroadcast(g, a.shape), unbroadcast(g, b.shape)",
            "sum over the broadcast axis",
        ),
        planted("mean for sum", SOLUTION, "g = g.mean(axis=0)", "g = g.sum(axis=0)", "factor"),
        planted(
            "the size-1 axis dropped",
            SOLUTION,
            "g = g.sum(axis=axis)",
            "g = g.sum(axis=axis, keepdims=True)",
            "keepdims",
        ),
        planted(
            "wrong sign (as for a - b)",
            SOLUTION,
            "return unbroadcast(g, a.shape), -unbroadcast(g, b.shape)",
            "return unbroadcast(g, a.shape), unbroadcast(g, b.shape)",
            "sign",
        ),
    ),
    proves="You can bring a gradient back through broadcasting: an input used many times gets the sum of its "
    "uses' gradients, in its own shape; what engine.reduce_broadcast does after every op.",
)
