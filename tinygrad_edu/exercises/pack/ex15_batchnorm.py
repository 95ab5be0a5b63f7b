"""Exercise 15: batchnorm's backward in one expression (training mode, statistics over the batch)."""

import numpy as np

from tinygrad_edu import functional
from tinygrad_edu.exercises.exercise import Exercise, by_differences, by_engine, planted

HEAD = '''
import numpy as np


def batchnorm_backward(g, x, gamma):
    """Return (dx, dgamma, dbeta) for out = gamma * xhat + beta, xhat = x normalised over the batch (axis 0)."""
    n = x.shape[0]
    mean = x.mean(axis=0)
    var = x.var(axis=0)  # biased: the sum of squares divided by n, as batchnorm does in training
    inv_std = (var + 1e-5) ** -0.5
    xhat = (x - mean) * inv_std
'''

STUB = (
    HEAD
    + """    raise NotImplementedError("TODO: dgamma and dbeta (sums over the batch), then dx in one expression")
"""
)

SOLUTION = (
    HEAD
    + """    dgamma = (g * xhat).sum(axis=0)
    dbeta = g.sum(axis=0)
    dx = gamma * inv_std / n * (n * g - g.sum(axis=0) - xhat * (g * xhat).sum(axis=0))
    return dx, dgamma, dbeta
"""
)


def _batchnorm(x, gamma, beta):
    return functional.batch_norm(x, None, None, gamma, beta, training=True)


def _cases(rng: np.random.Generator) -> list[tuple]:
    """(g, x, gamma): a batch of n rows of c features, its scale gamma, an upstream gradient."""
    cases = []
    for n, c in [(8, 3), (5, 4), (2, 6), (16, 2)]:
        x = rng.normal(size=(n, c)) * rng.uniform(0.5, 3, size=c) + rng.normal(size=c)
        cases.append((rng.normal(size=(n, c)), x, rng.normal(size=c) * 0.3 + 1))
    return cases


def _zero_beta(g, x, gamma):
    return np.zeros_like(gamma)  # beta moves the output, not the gradients: any value gives the same answer


EXERCISE = Exercise(
    number=15,
    slug="batchnorm",
    title="batchnorm's backward in one expression",
    lesson="Training deep networks (README: batch normalisation); makemore part 4's exercise 3",
    task="""
Batch normalisation in training mode, for x of shape (n, c) (n examples, c features): each
feature is normalised over the batch, then scaled and shifted,
    mean = x.mean(axis=0),  var = x.var(axis=0)  (biased: divided by n),
    xhat = (x - mean) / sqrt(var + eps),  out = gamma * xhat + beta.
Given g = dL/d(out), return (dx, dgamma, dbeta): dgamma and dbeta of shape (c,), and dx in ONE
expression (makemore part 4, exercise 3), not step by step through the mean and the variance.

What to use:
  - gamma and beta are used by every row of the batch: a number used several times gets the sum
    of its uses' gradients;
  - dL/dxhat = gamma * g. One number x_i of a column reaches every xhat_j of that column three
    ways: directly, through the mean and through the variance. The chain rule adds the three
    paths, each summed over the j it reaches;
  - d mean / d x_i = 1/n and d var / d x_i = 2 (x_i - mean) / n (var divides by n);
    xhat_j = (x_j - mean) * (var + eps)^(-1/2), whose derivatives by mean and by var follow from
    the power rule;
  - to simplify, write the result with xhat and inv_std = 1 / sqrt(var + eps).
Careful: makemore's lecture uses the unbiased variance (divided by n - 1) and so gets a factor
n / (n - 1) in its formula; batchnorm in training (PyTorch's, ours) divides by n.
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("batchnorm_backward",),
    outputs=("dx", "dgamma", "dbeta"),
    cases=_cases,
    expected=lambda g, x, gamma: by_engine(_batchnorm, g, x, gamma, _zero_beta(g, x, gamma)),
    numeric=lambda g, x, gamma: by_differences(_batchnorm, g, x, gamma, _zero_beta(g, x, gamma)),
    hints=(
        "out = gamma * xhat + beta: dbeta is the sum of g over the batch, dgamma the sum of g * xhat (xhat, not "
        "x), and dxhat = gamma * g. Then x_i reaches xhat three ways: directly (times inv_std), through the mean "
        "(every x_i moves it by 1/n) and through the variance, which batchnorm in training divides by n, "
        "not n - 1.",
        "The mean's path takes the batch's average of dxhat * inv_std off every row; the variance's path takes "
        "off xhat times the batch's average of dxhat * xhat * inv_std.",
        "dx = gamma * inv_std / n * (n * g - g.sum(axis=0) - xhat * (g * xhat).sum(axis=0))",
    ),
    mistakes=(
        planted("the 1/n forgotten", SOLUTION, "dx = gamma * inv_std * (", "dx = gamma * inv_std / n * (", "factor"),
        planted("no sum over the batch", SOLUTION, "dbeta = g\n", "dbeta = g.sum(axis=0)\n", "sum over"),
        planted(
            "makemore's unbiased variance (n - 1)",
            SOLUTION,
            "- n / (n - 1) * xhat * (g * xhat)",
            "- xhat * (g * xhat)",
            "not n - 1",
            says=(
                "yours has makemore's factor n / (n - 1), from the unbiased variance: batchnorm in training (PyTorch's,"
                " ours) divides the variance by n, not n - 1, so that factor does not belong."
            ),
        ),
        planted(
            "gamma forgotten",
            SOLUTION,
            "dx = inv_std / n * (",
            "dx = gamma * inv_std / n * (",
            "gamma * g",
            says=(
                "dx misses gamma: what reaches xhat is dxhat = gamma * g (out = gamma * xhat + beta), and every path "
                "from x goes through xhat."
            ),
        ),
        planted(
            "x where xhat belongs",
            SOLUTION,
            "dgamma = (g * x).sum",
            "dgamma = (g * xhat).sum",
            "xhat, not x",
            says=(
                "dgamma sums g times x: gamma multiplies xhat in out = gamma * xhat + beta, so its gradient sums g "
                "times xhat, not x."
            ),
        ),
        planted(
            "the mean's path added, not subtracted",
            SOLUTION,
            "(n * g + g.sum(axis=0) -",
            "(n * g - g.sum(axis=0) -",
            "subtracts",
            says=(
                "the mean's path has the wrong sign: x_i raises the mean, which every xhat_j of its column subtracts, "
                "so that path takes the batch's sum of g off every row; yours adds it."
            ),
        ),
    ),
    proves="You can differentiate through batch statistics: every example's gradient depends on the whole batch "
    "(through the mean and the variance), and the three paths fold into one expression, batchnorm's backward.",
)
