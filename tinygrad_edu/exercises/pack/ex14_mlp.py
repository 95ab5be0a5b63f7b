"""Exercise 14: a 2-layer MLP's backward by hand, every intermediate, as makemore part 4's exercise 1."""

import numpy as np

from tinygrad_edu import functional
from tinygrad_edu.engine import Value
from tinygrad_edu.exercises.compare import backward_order, differences_by_name, gradients_by_name, run_lines
from tinygrad_edu.exercises.exercise import Exercise, planted

FORWARD = """\
    n = X.shape[0]
    hpreact = X @ W1 + b1
    h = tanh(hpreact)
    logits = h @ W2 + b2
    logit_maxes = logits.max(axis=1, keepdims=True)
    norm_logits = logits - logit_maxes
    counts = exp(norm_logits)
    counts_sum = counts.sum(axis=1, keepdims=True)
    counts_sum_inv = counts_sum**-1
    probs = counts * counts_sum_inv
    logprobs = log(probs)
    loss = -logprobs[np.arange(n), Y].mean()
"""

NODES = "logprobs probs counts_sum_inv counts_sum counts norm_logits logit_maxes logits h hpreact W1 b1 W2 b2".split()

RETURN = """
    return dict(dlogprobs=dlogprobs, dprobs=dprobs, dcounts_sum_inv=dcounts_sum_inv, dcounts_sum=dcounts_sum,
                dcounts=dcounts, dnorm_logits=dnorm_logits, dlogit_maxes=dlogit_maxes, dlogits=dlogits,
                dh=dh, dW2=dW2, db2=db2, dhpreact=dhpreact, dW1=dW1, db1=db1)
"""

HEAD = f'''
import numpy as np
from numpy import exp, log, tanh


def mlp_backward(X, Y, W1, b1, W2, b2):
    """Every intermediate's and parameter's gradient of the loss below, as a dict "dname" -> array."""
    # the forward pass in small steps (makemore part 4's cell 10, without the embedding and the batchnorm)
{FORWARD}
    # the backward pass by hand: from the loss back, one line of the forward at a time
'''

STUB = (
    HEAD
    + """    raise NotImplementedError("TODO: dlogprobs first, then each line of the forward in reverse order")"""
    + RETURN
)

SOLUTION = (
    HEAD
    + """    dlogprobs = np.zeros_like(logprobs)
    dlogprobs[np.arange(n), Y] = -1.0 / n
    dprobs = (1.0 / probs) * dlogprobs
    dcounts_sum_inv = (counts * dprobs).sum(axis=1, keepdims=True)
    dcounts = counts_sum_inv * dprobs
    dcounts_sum = -(counts_sum**-2) * dcounts_sum_inv
    dcounts += np.ones_like(counts) * dcounts_sum
    dnorm_logits = counts * dcounts
    dlogits = dnorm_logits.copy()
    dlogit_maxes = -dnorm_logits.sum(axis=1, keepdims=True)
    dlogits += (logits == logit_maxes) * dlogit_maxes
    dh = dlogits @ W2.T
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(axis=0)
    dhpreact = (1.0 - h**2) * dh
    dW1 = X.T @ dhpreact
    db1 = dhpreact.sum(axis=0)"""
    + RETURN
)


def _cases(rng: np.random.Generator) -> list[tuple]:
    """(X, Y, W1, b1, W2, b2): n rows of d inputs, a hidden layer of width w, c classes."""
    cases = []
    for n, d, w, c in [(8, 5, 6, 4), (5, 3, 7, 6), (1, 4, 3, 5)]:
        X, Y = rng.normal(size=(n, d)), rng.integers(0, c, size=n)
        W1, b1 = rng.normal(size=(d, w)) * 0.6, rng.normal(size=w) * 0.1
        W2, b2 = rng.normal(size=(w, c)) * 0.6, rng.normal(size=c) * 0.1
        cases.append((X, Y, W1, b1, W2, b2))
    return cases


ON_VALUES = {"np": np, "exp": functional.exp, "log": functional.log, "tanh": functional.tanh}  # the engine's
ON_NUMBERS = {"np": np, "exp": np.exp, "log": np.log, "tanh": np.tanh}  # the learner's file's own


def graph(X, Y, W1, b1, W2, b2) -> dict:
    """FORWARD's own lines run on the engine's Values (exp, log, tanh: the engine's): every node by name.
    The parameters may be given as Values or as numbers; X is a constant."""
    params = dict(W1=W1, b1=b1, W2=W2, b2=b2)
    params = {name: p if isinstance(p, Value) else Value(p) for name, p in params.items()}
    return run_lines(FORWARD, dict(X=Value(X, requires_grad=False), Y=Y, **params), ON_VALUES)


def _expected(X, Y, W1, b1, W2, b2) -> dict:
    """The loss's gradient at every intermediate and parameter, from one backward pass of the engine."""
    nodes = graph(X, Y, W1, b1, W2, b2)
    return {f"d{k}": g for k, g in gradients_by_name(nodes["loss"], {k: nodes[k] for k in NODES}).items()}


def _numeric(X, Y, W1, b1, W2, b2) -> dict:
    """The same by central differences, on numpy: each variable nudged in turn, the forward's lines run again."""
    nodes = graph(X, Y, W1, b1, W2, b2)
    shapes = {k: nodes[k].shape for k in backward_order(nodes["loss"], {k: nodes[k] for k in NODES})}
    inputs = dict(X=X, Y=Y, W1=W1, b1=b1, W2=W2, b2=b2)
    found = differences_by_name(lambda nudges: run_lines(FORWARD, inputs, ON_NUMBERS, nudges)["loss"], shapes)
    return {f"d{k}": g for k, g in found.items()}


EXERCISE = Exercise(
    number=14,
    slug="mlp",
    title="a 2-layer MLP's backward, every intermediate",
    lesson="Networks and Classification (README); makemore part 4's exercise 1 ('becoming a backprop ninja')",
    task="""
A 2-layer MLP with a cross-entropy loss, its forward pass written in small steps as in Karpathy's
makemore part 4 (cell 10, without the embedding and the batchnorm): X (n, d) inputs, Y (n,)
integer labels, hidden layer W1 (d, w), b1 (w,), tanh, output layer W2 (w, c), b2 (c,), then
cross-entropy step by step. Backpropagate through it by hand, one line at a time, from the loss
back, and return every gradient: dlogprobs, dprobs, dcounts_sum_inv, dcounts_sum, dcounts,
dnorm_logits, dlogit_maxes, dlogits, dh, dW2, db2, dhpreact, dW1, db1 (each of its variable's
shape). The checker compares them in the order the engine's backward pass reaches them and names
the first one that is wrong: fix that one first.

The rules you need, each used somewhere above:
  - the loss picks one logprob per row and averages: which elements of logprobs does it depend
    on, and how much does each move it?
  - log, exp, tanh, **-1: times the local derivative (1/x, e^x, 1 - tanh^2, -x^-2);
  - a product a * b: da = b * dout (and db = a * dout);
  - a variable used twice (counts goes into probs AND counts_sum) gets the sum of both (+=);
  - a variable broadcast along an axis (counts_sum_inv along each row, b2 down the batch) gets its
    gradient summed over that axis (keepdims=True where the variable kept that axis as 1);
  - max picks one element per row: its gradient goes to that element. (dlogit_maxes comes out
    ~1e-17, zero but for rounding: subtracting the row's max, there against overflow in exp, does
    not change the loss.)
  - C = A @ B: dA = dC @ B.T, dB = A.T @ dC (exercise 9).
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("mlp_backward",),
    cases=_cases,
    expected=_expected,
    numeric=_numeric,
    kind="intermediates",
    hints=(
        "Go back through the forward one line at a time: each line's inputs get its output's gradient times the "
        "local derivative. A variable used twice (counts goes into probs and into counts_sum) gets the sum of "
        "both gradients (+=); a variable broadcast along an axis (counts_sum_inv along a row, b2 down the batch) "
        "gets its gradient summed over that axis; for C = A @ B, dA = dC @ B.T and dB = A.T @ dC.",
        "Check each gradient's shape against its variable's (print both), and for the wrong one write its line of "
        "the forward out element by element: which elements of the output does one element of it reach, and "
        "with what local derivative?",
        "dprobs = dlogprobs / probs; dcounts_sum_inv = (counts * dprobs).sum(1, keepdims=True); dcounts_sum = "
        "-counts_sum**-2 * dcounts_sum_inv; dcounts = counts_sum_inv * dprobs + dcounts_sum; dnorm_logits = "
        "counts * dcounts; dlogit_maxes = -dnorm_logits.sum(1, keepdims=True); dlogits = dnorm_logits + "
        "(logits == logit_maxes) * dlogit_maxes; dh = dlogits @ W2.T; dW2 = h.T @ dlogits; db2 = dlogits.sum(0); "
        "dhpreact = (1 - h**2) * dh; dW1 = X.T @ dhpreact; db1 = dhpreact.sum(0)",
    ),
    mistakes=(
        planted("the mean's 1/n forgotten", SOLUTION, "= -1.0\n", "= -1.0 / n\n", "factor"),
        planted(
            "a variable used twice: the second use forgotten",
            SOLUTION,
            "",
            "    dcounts += np.ones_like(counts) * dcounts_sum\n",
            "used twice",
            says=(
                "dcounts has only one of its two uses: counts goes into probs AND into counts_sum, and a variable used "
                "twice gets the sum of both gradients (+= the path through counts_sum)."
            ),
        ),
        planted("transposed product", SOLUTION, "dW2 = dlogits.T @ h", "dW2 = h.T @ dlogits", "transposed"),
        planted("no sum over the batch", SOLUTION, "db2 = dlogits\n", "db2 = dlogits.sum(axis=0)\n", "sum over"),
        planted("wrong sign", SOLUTION, "dhpreact = (h**2 - 1.0) * dh", "dhpreact = (1.0 - h**2) * dh", "sign"),
        planted(
            "the row's sum without keepdims",
            SOLUTION,
            "(counts * dprobs).sum(axis=1)\n",
            "(counts * dprobs).sum(axis=1, keepdims=True)\n",
            "do not broadcast",
        ),
    ),
    proves="You can backpropagate through a whole network by hand, every intermediate, as makemore part 4 "
    "asks: the same numbers the engine (and PyTorch's loss.backward()) finds, one chain-rule step at a time.",
)
