"""Exercise 13: a neuron's backward node by node, as micrograd's lecture does it by hand (each node's _backward)."""

import numpy as np

from tinygrad_edu import functional
from tinygrad_edu.engine import Value
from tinygrad_edu.exercises.compare import backward_order, differences_by_name, gradients_by_name, run_lines
from tinygrad_edu.exercises.exercise import Exercise, planted

FORWARD = """\
    x1w1 = x1 * w1
    x2w2 = x2 * w2
    x1w1x2w2 = x1w1 + x2w2
    n = x1w1x2w2 + b
    o = tanh(n)
"""

HEAD = f'''
from numpy import tanh


def neuron_backward(g, x1, w1, x2, w2, b):
    """Every node's gradient in o = tanh(x1*w1 + x2*w2 + b), given g = dL/do, as a dict "dname" -> array."""
    # the forward pass, one node per line (micrograd's lecture)
{FORWARD}
    # the backward pass: from o back to the leaves, each node's gradient from the node it went into
    do = g
'''

RETURN = """
    return dict(do=do, dn=dn, db=db, dx1w1x2w2=dx1w1x2w2, dx1w1=dx1w1, dx2w2=dx2w2,
                dx1=dx1, dw1=dw1, dx2=dx2, dw2=dw2)
"""

STUB = HEAD + """    raise NotImplementedError("TODO: dn, db, dx1w1x2w2, dx1w1, dx2w2, dx1, dw1, dx2, dw2")""" + RETURN

SOLUTION = (
    HEAD
    + """    dn = (1 - o**2) * do
    db = dn
    dx1w1x2w2 = dn
    dx1w1 = dx1w1x2w2
    dx2w2 = dx1w1x2w2
    dx1 = w1 * dx1w1
    dw1 = x1 * dx1w1
    dx2 = w2 * dx2w2
    dw2 = x2 * dx2w2"""
    + RETURN
)

LECTURE = dict(x1=2.0, w1=-3.0, x2=0.0, w2=1.0, b=6.8813735870195432)  # micrograd's numbers: o = 0.7071


def _cases(rng: np.random.Generator) -> list[tuple]:
    """k neurons at once per case (arrays of k numbers); the first case's first neuron is the lecture's."""
    cases = []
    for k in (6, 4, 1):
        g, *inputs = (rng.normal(size=k) for _ in range(6))
        if k == 6:
            g[0] = 1.0  # micrograd starts with o.grad = 1
            for column, name in zip(inputs, ("x1", "w1", "x2", "w2", "b")):
                column[0] = LECTURE[name]
        cases.append((g, *inputs))
    return cases


def graph(x1, w1, x2, w2, b, tanh=functional.tanh, nudges: dict | None = None) -> dict:
    """FORWARD's own lines run on the given inputs (the engine's Values and tanh, or numpy's): every node by
    name. ``nudges``: numbers added to the nodes as they are made, for finite differences (``run_lines``)."""
    return run_lines(FORWARD, dict(x1=x1, w1=w1, x2=x2, w2=w2, b=b), {"tanh": tanh}, nudges)


def _expected(g, *inputs) -> dict:
    """Every node's gradient from one backward pass of the engine, in the order the pass reaches them."""
    nodes = graph(*(Value(x, label=name) for name, x in zip(("x1", "w1", "x2", "w2", "b"), inputs)))
    return {f"d{name}": grad for name, grad in gradients_by_name(nodes["o"], nodes, g).items()}


def _numeric(g, *inputs) -> dict:
    """The same by central differences, on numpy: each node nudged in turn, the forward's lines run again."""
    nodes = graph(*(Value(x) for x in inputs))
    shapes = {name: nodes[name].shape for name in backward_order(nodes["o"], nodes)}
    found = differences_by_name(lambda nudges: graph(*inputs, tanh=np.tanh, nudges=nudges)["o"], shapes, g)
    return {f"d{name}": grad for name, grad in found.items()}


EXERCISE = Exercise(
    number=13,
    slug="neuron",
    title="a neuron's backward, node by node",
    lesson="Seeing backprop (README: the graph of one neuron) and micrograd's lecture",
    task="""
The neuron of micrograd's lecture: o = tanh(x1*w1 + x2*w2 + b), built one node at a time
(x1w1, x2w2, x1w1x2w2, n, o). Do its backward pass by hand, as the lecture does: from o back to
the leaves, one node at a time, each node's gradient from the gradient of the node it went into.
Return every node's gradient in a dict: "do", "dn", "db", "dx1w1x2w2", "dx1w1", "dx2w2",
"dx1", "dw1", "dx2", "dw2". The checker compares them in the order the engine's backward pass
reaches them and tells you the first one that is wrong.

Each argument is an array of k numbers: k neurons at once, elementwise (write the code as if for
one number; numpy does all k). g = dL/do; the lecture's o.grad = 1.0 is g = 1.

What to use (each node's _backward in micrograd):
  - the chain rule, one node at a time: a node's gradient is the gradient of the node it went
    into, times that node's local derivative by it;
  - the local derivatives: d(a + b)/da = 1, d(a * b)/da = b, d tanh(n)/dn = 1 - tanh(n)^2 (and
    tanh(n) is o, which the forward pass in the stub has computed).
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("neuron_backward",),
    cases=_cases,
    expected=_expected,
    numeric=_numeric,
    kind="intermediates",
    hints=(
        "Work from o back to the leaves, one node at a time: a node's gradient is the gradient of the node it "
        "went into, times that node's local derivative. A sum passes its gradient on unchanged; for out = a * b, "
        "a gets b times dout and b gets a times dout; for o = tanh(n), the local derivative is 1 - o**2.",
        "micrograd's _backward: for +, self.grad += out.grad and other.grad += out.grad; for *, self.grad += "
        "other.data * out.grad and other.grad += self.data * out.grad; for tanh, self.grad += (1 - t**2) * out.grad.",
        "dn = (1 - o**2) * do; db = dx1w1x2w2 = dn; dx1w1 = dx2w2 = dx1w1x2w2; dx1 = w1 * dx1w1; "
        "dw1 = x1 * dx1w1; dx2 = w2 * dx2w2; dw2 = x2 * dx2w2",
    ),
    mistakes=(
        planted("the upstream gradient forgotten", SOLUTION, "dn = 1 - o**2\n", "dn = (1 - o**2) * do\n", "upstream"),
        planted("wrong sign", SOLUTION, "dn = (o**2 - 1) * do", "dn = (1 - o**2) * do", "sign"),
        planted(
            "tanh's derivative as 1 - o",
            SOLUTION,
            "dn = (1 - o) * do",
            "dn = (1 - o**2) * do",
            "1 - o**2",
            says=(
                "dn has tanh's local derivative as 1 - o: the square is missing. d tanh(n)/dn = 1 - tanh(n)^2, and "
                "tanh(n) is o: 1 - o**2."
            ),
        ),
        planted("a sum that halves its gradient", SOLUTION, "db = dn / 2\n", "db = dn\n", "factor 1/2"),
        planted(
            "a product's own factor",
            SOLUTION,
            "dw1 = w1 * dx1w1",
            "dw1 = x1 * dx1w1",
            "b times dout",
            says=(
                "a product's input got its own factor: for out = a * b, a gets b times dout (the OTHER factor), so w1's"
                " gradient takes x1, not w1."
            ),
        ),
    ),
    proves="You can run the backward pass by hand, node by node, as the engine does: a sum passes its gradient "
    "on, a product swaps its factors, tanh multiplies by 1 - o**2, and every node's gradient is complete before "
    "it is passed on.",
)
