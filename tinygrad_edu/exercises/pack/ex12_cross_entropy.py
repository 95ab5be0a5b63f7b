"""Exercise 12: cross-entropy's gradient in one line, (softmax - onehot) / n, as makemore part 4 writes it."""

import numpy as np

from tinygrad_edu.exercises.exercise import Exercise, by_differences, by_engine, planted

STUB = '''
import numpy as np

from tinygrad_edu.ops import Softmax  # Softmax.forward(x, axis=1): the softmax of each row of x


def cross_entropy_backward(logits, labels):
    """Return dloss/dlogits for loss = cross_entropy(logits, labels): logits (n, classes), labels (n,) ints."""
    raise NotImplementedError("TODO: the softmax of each row, 1 taken off at each row's label, divided by n")
'''

SOLUTION = '''
import numpy as np

from tinygrad_edu.ops import Softmax  # Softmax.forward(x, axis=1): the softmax of each row of x


def cross_entropy_backward(logits, labels):
    """Return dloss/dlogits for loss = cross_entropy(logits, labels): logits (n, classes), labels (n,) ints."""
    n = logits.shape[0]
    dlogits = Softmax.forward(logits, axis=1)
    dlogits[np.arange(n), labels] -= 1
    return dlogits / n
'''


def _loss(labels):
    """The loss as makemore part 4 builds it before fusing it: log-softmax, each row's label picked, the mean."""
    n = len(labels)
    return lambda logits: -logits.log_softmax(axis=1)[np.arange(n), labels].mean()


def _cases(rng: np.random.Generator) -> list[tuple]:
    shapes = [(4, 5), (1, 3), (6, 3), (3, 10), (5, 5)]
    return [(rng.normal(size=(n, c)) * 2, rng.integers(0, c, size=n)) for n, c in shapes]


EXERCISE = Exercise(
    number=12,
    slug="cross_entropy",
    title="cross-entropy's gradient in one line",
    lesson="Classification (README: softmax and cross-entropy); makemore part 4's exercise 2",
    task="""
loss = cross_entropy(logits, labels): for n rows of logits (n, classes) and n integer labels,
    loss = mean over the rows i of -log softmax(logits[i])[labels[i]].
Write its gradient with respect to the logits, dloss/dlogits (shape (n, classes)), in one line of
math, not step by step through log, softmax and mean (makemore part 4, exercise 2).

The math. For one row with p = softmax(z) and label y, -log p_y = -z_y + log(sum_j e^(z_j)), so
    d(-log p_y)/dz_j = -delta_jy + e^(z_j) / sum_k e^(z_k) = p_j - delta_jy:
the softmax, with 1 taken off at the label's column only. The mean divides every row by n:
    dlogits = (softmax(logits) - onehot(labels)) / n.
In numpy: p = Softmax.forward(logits, axis=1) (a new array), then p[np.arange(n), labels] -= 1
(row i, column labels[i]: one element per row), then divide by n. Each row of dlogits adds up to 0:
the gradient pulls the right class's logit up exactly as much as it pushes the others down.
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("cross_entropy_backward",),
    cases=_cases,
    expected=lambda logits, labels: by_engine(_loss(labels), 1.0, logits),
    numeric=lambda logits, labels: by_differences(_loss(labels), 1.0, logits),
    hints=(
        "Row i of dlogits is softmax(logits[i]) / n with 1 / n taken off at one element only: column "
        "labels[i]. Index one element per row with [np.arange(n), labels] (not [:, labels], which takes whole "
        "columns).",
        "d(-log softmax(z)_y)/dz_j = softmax(z)_j - (1 if j == y else 0); the mean over n rows divides by n.",
        "p = Softmax.forward(logits, axis=1); p[np.arange(n), labels] -= 1; return p / n",
    ),
    mistakes=(
        planted("the mean's 1/n forgotten", SOLUTION, "return dlogits\n", "return dlogits / n\n", "factor"),
        planted(
            "wrong sign (onehot - softmax)",
            SOLUTION,
            "return -dlogits / n",
            "return dlogits / n",
            "sign",
        ),
        planted(
            "1 taken off whole columns",
            SOLUTION,
            "dlogits[:, labels] -= 1",
            "dlogits[np.arange(n), labels] -= 1",
            "[np.arange(n), labels]",
        ),
        planted(
            "the logits where their softmax belongs",
            SOLUTION,
            "dlogits = logits.copy()",
            "dlogits = Softmax.forward(logits, axis=1)",
            "softmax(logits[i])",
        ),
    ),
    proves="You can collapse a chain of ops into its gradient by the math: log, softmax, pick and mean give "
    "(softmax - onehot) / n, which is what makemore's manual training loop (and every classifier) uses.",
)
