"""Exercise 9: matrix product's backward, as ops.MatMul writes it."""

import numpy as np

from tinygrad_edu import ops
from tinygrad_edu.exercises.exercise import Exercise, by_differences, op_cases, planted

STUB = '''
import numpy as np


def matmul_backward(g, out, A, B):
    """Return (dL/dA, dL/dB) for out = A @ B (A of shape (n, k), B of shape (k, m)), given g = dL/d(out)."""
    raise NotImplementedError("TODO: dL/dA and dL/dB, each of its input's shape")
'''

SOLUTION = '''
import numpy as np


def matmul_backward(g, out, A, B):
    """Return (dL/dA, dL/dB) for out = A @ B (A of shape (n, k), B of shape (k, m)), given g = dL/d(out)."""
    dA = g @ B.T
    dB = A.T @ g
    return dA, dB
'''


def _forward(A, B):
    return A @ B


def _cases(rng: np.random.Generator) -> list[tuple]:
    shapes = [((2, 3), (3, 4)), ((4, 2), (2, 5)), ((1, 3), (3, 2)), ((3, 3), (3, 3))]
    return op_cases(ops.MatMul.forward, [(rng.normal(size=sa), rng.normal(size=sb)) for sa, sb in shapes], rng)


EXERCISE = Exercise(
    number=9,
    slug="matmul",
    title="matrix product's backward",
    lesson="Networks (README: a layer is X @ W + b) and ops.py's MatMul",
    task="""
out = A @ B, A of shape (n, k) and B of shape (k, m), so out has shape (n, m):
out[i, j] = sum over t of A[i, t] * B[t, j]. Write its backward: given g = dL/d(out), of shape
(n, m), return (dL/dA, dL/dB), of the shapes of A and B.

What to use:
  - out[i, j] is a sum of products: d out[i, j] / d A[i, t] = B[t, j], and out[i, j] does not
    depend on the other rows of A; likewise for B;
  - a number used several times gets the sum of its uses' gradients: A[i, t] is used in out[i, j]
    for every j;
  - a gradient has its input's shape: dA is (n, k), dB is (k, m).
Write dL/dA[i, t] as a sum over j first: which matrix product computes that sum for every (i, t)
at once? Of the products of g (n, m) with B (k, m), which has A's shape?
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("matmul_backward",),
    outputs=("dA", "dB"),
    cases=_cases,
    expected=ops.MatMul.backward,
    numeric=lambda g, out, A, B: by_differences(_forward, g, A, B),
    hints=(
        "Each gradient is a product of g with the OTHER input, arranged to have its input's shape.",
        "dL/dA[i, t] = sum over j of g[i, j] * B[t, j]: row i of g against row t of B. "
        "dA must be (n, k) from g (n, m) and B (k, m): transpose B. dB must be (k, m) from A (n, k) and g: "
        "transpose A, and put it first.",
        "dA = g @ B.T and dB = A.T @ g",
    ),
    mistakes=(
        planted("B not transposed", SOLUTION, "dA = g @ B\n", "dA = g @ B.T\n", "transpose"),
        planted("transposed product", SOLUTION, "dB = g.T @ A", "dB = A.T @ g", "transpose"),
        planted("wrong sign", SOLUTION, "dB = -A.T @ g", "dB = A.T @ g", "sign"),
        planted("outputs swapped", SOLUTION, "return dB, dA", "return dA, dB", "swapped"),
    ),
    proves="You can derive a matrix product's gradients element by element and check them by their shapes: "
    "g @ B.T and A.T @ g, what every linear layer's backward computes.",
)
