"""Exercise 16: conv2d's backward (stride 1, no padding): dx and dw, window by window."""

import numpy as np

from tinygrad_edu import functional
from tinygrad_edu.exercises.exercise import Exercise, Mistake, by_differences, by_engine, planted

STUB = '''
import numpy as np


def conv2d_backward(g, x, w):
    """Return (dx, dw) for out = conv2d(x, w), stride 1, no padding: x (N, C, H, W), w (F, C, KH, KW),
    g = dL/d(out) of shape (N, F, OH, OW) with OH = H - KH + 1, OW = W - KW + 1."""
    kh, kw = w.shape[2:]
    oh, ow = g.shape[2:]
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i : i + kh, j : j + kw]  # (N, C, KH, KW): what out[:, :, i, j] read
            gij = g[:, :, i, j]  # (N, F): the gradient arriving at that output position
            raise NotImplementedError("TODO: add gij's share into dw (through the window) and into dx's window")
    # TODO: return dx, dw (in that order)
'''

SOLUTION = '''
import numpy as np


def conv2d_backward(g, x, w):
    """Return (dx, dw) for out = conv2d(x, w), stride 1, no padding: x (N, C, H, W), w (F, C, KH, KW),
    g = dL/d(out) of shape (N, F, OH, OW) with OH = H - KH + 1, OW = W - KW + 1."""
    kh, kw = w.shape[2:]
    oh, ow = g.shape[2:]
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i : i + kh, j : j + kw]  # (N, C, KH, KW): what out[:, :, i, j] read
            gij = g[:, :, i, j]  # (N, F): the gradient arriving at that output position
            dw += np.tensordot(gij, window, axes=(0, 0))  # sum over the images n: (F, C, KH, KW)
            dx[:, :, i : i + kh, j : j + kw] += np.tensordot(gij, w, axes=(1, 0))  # sum over filters f
    return dx, dw
'''

PER_IMAGE = SOLUTION.replace("dw = np.zeros_like(w)", "dw = np.zeros((len(x),) + w.shape)").replace(
    "np.tensordot(gij, window, axes=(0, 0))", "gij[:, :, None, None, None] * window[:, None]"
)  # a planted mistake: dw with one slice per image


def _conv(x, w):
    return functional.conv2d(x, w)


def _cases(rng: np.random.Generator) -> list[tuple]:
    """(g, x, w) for images (N, C, H, W) and filters (F, KH, KW)."""
    cases = []
    for (n, c, h, wd), (f, kh, kw) in [
        ((2, 3, 5, 6), (4, 3, 2)),
        ((1, 2, 4, 4), (3, 2, 2)),
        ((3, 1, 5, 5), (2, 1, 1)),
        ((2, 2, 3, 4), (1, 3, 4)),
    ]:
        x, w = rng.normal(size=(n, c, h, wd)), rng.normal(size=(f, c, kh, kw))
        cases.append((rng.normal(size=(n, f, h - kh + 1, wd - kw + 1)), x, w))
    return cases


EXERCISE = Exercise(
    number=16,
    slug="conv2d",
    title="conv2d's backward: dx and dw",
    lesson="Convolutional networks (README: Conv2d) and ops.py's Conv2d",
    task="""
A 2-d convolution as PyTorch's conv2d computes it (no kernel flip), stride 1, no padding: images
x (N, C, H, W) and filters w (F, C, KH, KW) give out (N, F, OH, OW), OH = H - KH + 1,
OW = W - KW + 1, with
    out[n, f, i, j] = sum over c, a, b of w[f, c, a, b] * x[n, c, i + a, j + b].
Given g = dL/d(out), return (dx, dw), of the shapes of x and w. The stub loops over the output
positions (i, j); out[:, :, i, j] read one window of x, x[:, :, i : i + KH, j : j + KW].

The math. out[n, f, i, j] is a sum of products, so (as for a matmul) each factor gets the other
times g[n, f, i, j]:
    dw[f, c, a, b] = sum over n, i, j of g[n, f, i, j] * x[n, c, i + a, j + b]
        (at position (i, j): the window times g, summed over the images: tensordot over n);
    dx[n, c, i + a, j + b] += sum over f of g[n, f, i, j] * w[f, c, a, b]
        (at position (i, j): w times g, summed over the filters, ADDED into the window's pixels:
        windows overlap, and a pixel gets a share from every window it is in).
np.tensordot(A, B, axes=(k, m)) multiplies and sums A's axis k against B's axis m. Nothing is
flipped in this form (textbooks' "full convolution of g with the flipped kernel" is the same dx,
written as one convolution).
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("conv2d_backward",),
    outputs=("dx", "dw"),
    cases=_cases,
    expected=lambda g, x, w: by_engine(_conv, g, x, w),
    numeric=lambda g, x, w: by_differences(_conv, g, x, w),
    hints=(
        "Each output position (i, j) read one window of x through w. Its gradient g[:, :, i, j] goes back to "
        "w through the window (dw: summed over every position and every image) and to the window through w (dx: "
        "windows overlap, so add into dx with +=). PyTorch's conv2d does not flip the kernel, so nothing is "
        "flipped here either.",
        "At position (i, j): dw gets np.tensordot(gij, window, axes=(0, 0)) (g (N, F) against the window "
        "(N, C, KH, KW) over n); dx's window gets np.tensordot(gij, w, axes=(1, 0)) (over f).",
        "dw += np.tensordot(gij, window, axes=(0, 0)); dx[:, :, i : i + kh, j : j + kw] += "
        "np.tensordot(gij, w, axes=(1, 0))",
    ),
    mistakes=(
        Mistake("dw kept per image (no sum over the batch)", PER_IMAGE, "sum over"),
        planted("dw averaged over the batch", SOLUTION, "return dx, dw / len(x)", "return dx, dw", "factor"),
        planted(
            "the kernel flipped",
            SOLUTION,
            "np.tensordot(gij, w[:, :, ::-1, ::-1], axes=(1, 0))",
            "np.tensordot(gij, w, axes=(1, 0))",
            "not flip",
        ),
        planted(
            "dx's windows overwritten, not added (= for +=)",
            SOLUTION,
            "dx[:, :, i : i + kh, j : j + kw] = ",
            "dx[:, :, i : i + kh, j : j + kw] += ",
            "windows overlap",
        ),
    ),
    proves="You can backpropagate through a convolution: a weight is shared by every position, so its gradient "
    "sums over them all, and a pixel is read by every window over it, so its gradient adds up their shares: "
    "what ops.Conv2d's backward does with im2col, as two matrix products.",
)
