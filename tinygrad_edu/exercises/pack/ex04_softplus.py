"""Exercise 4: softplus's backward, as ops.Softplus writes it."""

import numpy as np

from tinygrad_edu import ops
from tinygrad_edu.exercises.exercise import Exercise, by_differences, op_cases, planted

STUB = '''
import numpy as np


def softplus_backward(g, out, x):
    """Return dL/dx for out = softplus(x) = ln(1 + exp(x)), given g = dL/d(out)."""
    raise NotImplementedError("TODO: g times d(softplus)/dx: which function is it?")
'''

SOLUTION = '''
import numpy as np


def softplus_backward(g, out, x):
    """Return dL/dx for out = softplus(x) = ln(1 + exp(x)), given g = dL/d(out)."""
    return g / (1 + np.exp(-x))
'''


def _cases(rng: np.random.Generator) -> list[tuple]:
    inputs = [(rng.normal(size=5),), (rng.normal(scale=3.0, size=(2, 5)),), (np.array([-5.0, -1.0, 0.0, 1.5, 6.0]),)]
    return op_cases(ops.Softplus.forward, inputs, rng)


EXERCISE = Exercise(
    number=4,
    slug="softplus",
    title="softplus's backward",
    lesson="Lesson 4 (activations) and ops.py's Softplus",
    task="""
softplus(x) = ln(1 + e^x), a smooth ReLU. Write the backward of the op: given g = dL/d(out),
the output out and the input x, return dL/dx.

What to use:
  - d ln(u)/dx = u' / u, for u a function of x (here u = 1 + e^x);
  - the chain rule: dL/dx = g * d(out)/dx.
Is the derivative a function you have met in these exercises? Does the output help here, or the
input?
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("softplus_backward",),
    cases=_cases,
    expected=ops.Softplus.backward,
    numeric=lambda g, out, x: by_differences(lambda v: v.softplus(), g, x),
    hints=(
        "The derivative of softplus is a function you already know: sigmoid, of the input x.",
        "d/dx ln(1 + e^x) = e^x / (1 + e^x) = 1 / (1 + e^-x) = sigmoid(x) (mind the minus in e^-x).",
        "return g / (1 + np.exp(-x))",
    ),
    mistakes=(
        planted("wrong sign", SOLUTION, "return -g / (1 + np.exp(-x))", "return g / (1 + np.exp(-x))", "sign"),
        planted(
            "forgot the upstream gradient",
            SOLUTION,
            "return 1 / (1 + np.exp(-x))",
            "return g / (1 + np.exp(-x))",
            "upstream",
        ),
        planted(
            "sigmoid(-x) for sigmoid(x)",
            SOLUTION,
            "return g / (1 + np.exp(x))",
            "return g / (1 + np.exp(-x))",
            "sigmoid",
            says=(
                "yours is g times sigmoid(-x) = 1 - sigmoid(x), the mirror image: softplus's derivative is sigmoid of x"
                " itself, and 1 / (1 + e^x) has lost the minus of e^-x."
            ),
        ),
    ),
    proves="You can use the chain rule inside a function (ln of 1 + e^x) and recognise the result: softplus's "
    "derivative is sigmoid, which is why ops.Softplus.backward calls Sigmoid.",
)
