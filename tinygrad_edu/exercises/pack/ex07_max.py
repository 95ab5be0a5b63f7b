"""Exercise 7: max over an axis, and what its gradient does at a tie, as ops.Max writes it."""

import numpy as np

from tinygrad_edu import ops
from tinygrad_edu.exercises.exercise import Exercise, by_differences, op_cases, planted

STUB = '''
import numpy as np


def max_backward(g, out, x, axis):
    """Return dL/dx for out = x.max(axis=axis) (the axis removed), given g = dL/d(out)."""
    raise NotImplementedError("TODO: route g to the maximum; ties share it")
'''

SOLUTION = '''
import numpy as np


def max_backward(g, out, x, axis):
    """Return dL/dx for out = x.max(axis=axis) (the axis removed), given g = dL/d(out)."""
    winners = x == np.expand_dims(out, axis)
    count = winners.sum(axis=axis, keepdims=True)
    return winners / count * np.expand_dims(g, axis)
'''


def _forward(x, axis):
    return ops.Max.forward(x, axis, False)


def _cases(rng: np.random.Generator) -> list[tuple]:
    no_ties = (rng.normal(size=(3, 4)), 1)
    ties = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [0.0, 5.0, 1.0, 4.0]])  # 2, 4 and 1 winners
    more = rng.integers(0, 3, size=(4, 5)).astype(float)  # small whole numbers: many ties
    more[0] = [0.0, 1.0, 2.0, 1.0, 0.0]  # a row with a single maximum beside rows with ties
    return op_cases(_forward, [no_ties, (ties, 1), (ties, 0), (more, 0), (more, -1)], rng)


def _numeric(g, out, x, axis):
    """Finite differences only where there is no tie: at a tie max has no derivative (the sides differ)."""
    winners = x == np.expand_dims(out, axis)
    if np.any(winners.sum(axis=axis) > 1):
        return None
    return by_differences(lambda v: v.max(axis=axis), g, x)


EXERCISE = Exercise(
    number=7,
    slug="max",
    title="max over an axis, with ties",
    lesson="ops.py's Max (reductions), and Checking gradients (README) on kinks",
    task="""
out = x.max(axis=axis): the largest element along one axis, which the output no longer has
(x of shape (3, 4) and axis 1 give out of shape (3,)). Write its backward: given g = dL/d(out)
(out's shape), the output, x and the axis, return dL/dx (x's shape).

What to use:
  - the local derivatives: where one element is the maximum, nudge it a little: how does out move?
    Nudge another element of its row: how does out move? The chain rule multiplies by g;
  - at a tie, where k elements share the maximum, max has no derivative (nudging one up or down
    changes out differently). The engine's rule (ops.Max.backward), as PyTorch's amax: the k tied
    elements share g equally, each gets g / k. (torch.max(x, dim) instead gives all of g to the
    one index it returns.)
  - shapes: g and out have lost the reduced axis; np.expand_dims(a, axis) puts it back (as size 1),
    so that a broadcasts against x.
How do you find which elements of x equal their row's maximum, and how many there are per row?
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("max_backward",),
    cases=_cases,
    expected=lambda g, out, x, axis: ops.Max.backward(g, out, x, axis, False),
    numeric=_numeric,
    hints=(
        "Only the elements equal to the maximum get gradient; when several tie, they share g equally (g / k each).",
        "winners = x == np.expand_dims(out, axis); count them along the axis (keepdims=True); each winner gets "
        "its row's g divided by the count.",
        "return winners / winners.sum(axis=axis, keepdims=True) * np.expand_dims(g, axis)",
    ),
    mistakes=(
        planted(
            "every tied element gets all of g",
            SOLUTION,
            "return winners * np.expand_dims(g, axis)",
            "return winners / count * np.expand_dims(g, axis)",
            "tie",
            says=(
                "yours gives all of g to every element that ties for the maximum, so k tied elements pass on k times g."
                " The engine's rule (as PyTorch's amax): the winners of a row share its g equally; count them along the"
                " axis."
            ),
        ),
        planted(
            "forgot the upstream gradient",
            SOLUTION,
            "return winners / count * 1.0",
            "return winners / count * np.expand_dims(g, axis)",
            "upstream",
        ),
        planted(
            "all of g to the first maximum only (argmax)",
            SOLUTION,
            "dx = np.zeros_like(x)\n    first = np.expand_dims(np.argmax(x, axis=axis), axis)\n"
            "    np.put_along_axis(dx, first, np.expand_dims(g, axis), axis=axis)\n    return dx",
            "return winners / count * np.expand_dims(g, axis)",
            "tie",
            says=(
                "yours gives all of g to the first maximum only, as argmax picks it; where several elements tie for the"
                " maximum, the engine's rule (as PyTorch's amax) shares g among all of them equally."
            ),
        ),
        planted(
            "wrong sign",
            SOLUTION,
            "return -(winners / count) * np.expand_dims(g, axis)",
            "return winners / count * np.expand_dims(g, axis)",
            "sign",
        ),
    ),
    proves="You can route a gradient through a reduction (the reduced axis put back) and you know the engine's "
    "rule at a tie of max: the tied elements share g equally, as PyTorch's amax.",
)
