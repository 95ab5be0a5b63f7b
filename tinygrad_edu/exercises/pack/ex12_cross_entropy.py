"""Exercise 12: cross-entropy's gradient in one line, (softmax - onehot) / n, as makemore part 4 writes it."""

import numpy as np

from tinygrad_edu.exercises.exercise import Exercise, by_differences, by_engine, planted

STUB = '''
import numpy as np

from tinygrad_edu.ops import Softmax  # Softmax.forward(x, axis=1): the softmax of each row of x


def cross_entropy_backward(logits, labels):
    """Return dloss/dlogits for loss = cross_entropy(logits, labels): logits (n, classes), labels (n,) ints."""
    raise NotImplementedError("TODO: dloss/dlogits, one row at a time in the math, all rows at once in numpy")
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

What to use:
  - for one row z with label y: log softmax(z)_y = z_y - log(sum_k e^(z_k));
  - d ln(u)/dz_j = u' / u, and d e^(z_k) / d z_j is e^(z_j) for k = j, else 0;
  - the mean over n rows: each row's loss counts 1/n;
  - Softmax.forward(x, axis=1), imported in the stub, gives the softmax of each row (a new array).
Differentiate one row's loss by each z_j: for which columns does the label matter? Then in numpy:
how do you reach one element per row, row i's column labels[i]? (What does x[:, labels] take
instead?) Check: each row of your answer should add up to 0. Why?
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
            says=(
                "yours takes 1 off whole columns: dlogits[:, labels] is every row of each label's column. The 1 comes "
                "off one element per row, row i's column labels[i]: index with [np.arange(n), labels]."
            ),
        ),
        planted(
            "the logits where their softmax belongs",
            SOLUTION,
            "dlogits = logits.copy()",
            "dlogits = Softmax.forward(logits, axis=1)",
            "softmax(logits[i])",
            says=(
                "yours starts from the raw logits: the gradient by row i of the logits starts from its probabilities, "
                "softmax(logits[i]), not from the scores themselves."
            ),
        ),
    ),
    proves="You can collapse a chain of ops into its gradient by the math: log, softmax, pick and mean give "
    "(softmax - onehot) / n, which is what makemore's manual training loop (and every classifier) uses.",
)
