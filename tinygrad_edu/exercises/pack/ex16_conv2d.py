"""Exercise 16: conv2d's backward (no padding, any stride): dx and dw, window by window."""

import numpy as np

from tinygrad_edu import functional
from tinygrad_edu.exercises.exercise import Exercise, Mistake, by_differences, by_engine, planted

STUB = '''
import numpy as np


def conv2d_backward(g, x, w, stride):
    """Return (dx, dw) for out = conv2d(x, w, stride=stride), no padding: x (N, C, H, W), w (F, C, KH, KW),
    g = dL/d(out) of shape (N, F, OH, OW) with OH = (H - KH) // stride + 1, OW = (W - KW) // stride + 1."""
    s = stride
    kh, kw = w.shape[2:]
    oh, ow = g.shape[2:]
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    for i in range(oh):
        for j in range(ow):
            rows, cols = slice(i * s, i * s + kh), slice(j * s, j * s + kw)  # the window out[:, :, i, j] read
            window = x[:, :, rows, cols]  # (N, C, KH, KW)
            gij = g[:, :, i, j]  # (N, F): the gradient arriving at that output position
            raise NotImplementedError("TODO: add gij's share into dw (through the window) and into dx's window")
    # TODO: return dx, dw (in that order)
'''

SOLUTION = '''
import numpy as np


def conv2d_backward(g, x, w, stride):
    """Return (dx, dw) for out = conv2d(x, w, stride=stride), no padding: x (N, C, H, W), w (F, C, KH, KW),
    g = dL/d(out) of shape (N, F, OH, OW) with OH = (H - KH) // stride + 1, OW = (W - KW) // stride + 1."""
    s = stride
    kh, kw = w.shape[2:]
    oh, ow = g.shape[2:]
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    for i in range(oh):
        for j in range(ow):
            rows, cols = slice(i * s, i * s + kh), slice(j * s, j * s + kw)  # the window out[:, :, i, j] read
            window = x[:, :, rows, cols]  # (N, C, KH, KW)
            gij = g[:, :, i, j]  # (N, F): the gradient arriving at that output position
            dw += np.tensordot(gij, window, axes=(0, 0))  # sum over the images n: (F, C, KH, KW)
            dx[:, :, rows, cols] += np.tensordot(gij, w, axes=(1, 0))  # sum over the filters f
    return dx, dw
'''

PER_IMAGE = SOLUTION.replace("dw = np.zeros_like(w)", "dw = np.zeros((len(x),) + w.shape)").replace(
    "np.tensordot(gij, window, axes=(0, 0))", "gij[:, :, None, None, None] * window[:, None]"
)  # a planted mistake: dw with one slice per image


def _conv(stride):
    return lambda x, w: functional.conv2d(x, w, stride=stride)


def _cases(rng: np.random.Generator) -> list[tuple]:
    """(g, x, w, stride) for images (N, C, H, W), filters (F, KH, KW) and a stride."""
    cases = []
    for (n, c, h, wd), (f, kh, kw), s in [
        ((2, 3, 5, 6), (4, 3, 2), 1),
        ((1, 2, 4, 4), (3, 2, 2), 1),
        ((3, 1, 5, 5), (2, 1, 1), 1),
        ((2, 2, 3, 4), (1, 3, 4), 1),
        ((2, 2, 7, 6), (3, 3, 2), 2),  # windows 2 apart: they overlap in rows, not in columns
        ((1, 3, 8, 9), (2, 2, 3), 3),  # the last row of x is in no window
    ]:
        x, w = rng.normal(size=(n, c, h, wd)), rng.normal(size=(f, c, kh, kw))
        cases.append((rng.normal(size=(n, f, (h - kh) // s + 1, (wd - kw) // s + 1)), x, w, s))
    return cases


EXERCISE = Exercise(
    number=16,
    slug="conv2d",
    title="conv2d's backward: dx and dw",
    lesson="Convolutional networks (README: Conv2d) and ops.py's Conv2d",
    task="""
A 2-d convolution as PyTorch's conv2d computes it (no kernel flip), no padding, windows stride
apart (s for short): images x (N, C, H, W) and filters w (F, C, KH, KW) give out (N, F, OH, OW),
OH = (H - KH) // s + 1, OW = (W - KW) // s + 1, with
    out[n, f, i, j] = sum over c, a, b of w[f, c, a, b] * x[n, c, i*s + a, j*s + b].
Given g = dL/d(out), return (dx, dw), of the shapes of x and w. The stub loops over the output
positions (i, j); out[:, :, i, j] read one window of x, x[:, :, rows, cols] with
rows = i*s ... i*s + KH - 1 and cols = j*s ... j*s + KW - 1.

What to use:
  - out[n, f, i, j] is a sum of products, so (as for a matmul) its derivative by one weight
    w[f, c, a, b] is the x it multiplies, and by one pixel x[n, c, i*s + a, j*s + b] the w;
  - a number used several times gets the sum of its uses' gradients: a weight is used at every
    position of every image, a pixel by every filter and by every window it is in;
  - np.tensordot(A, B, axes=(k, m)) multiplies A's axis k by B's axis m and sums over it; the
    result has A's other axes, then B's.
At one position (i, j): which axis does gij = g[:, :, i, j] (N, F) share with the window
(N, C, KH, KW), and which with w (F, C, KH, KW)? Windows overlap when s < KH (or s < KW): what
must happen where two windows reach the same pixel of dx, and where in dx does the window of
(i, j) sit? A pixel in no window: what is its gradient? Textbooks write dx as a "full convolution
of g with the flipped kernel": does this loop need a flip?
""",
    stub=STUB,
    solution=SOLUTION,
    functions=("conv2d_backward",),
    outputs=("dx", "dw"),
    cases=_cases,
    expected=lambda g, x, w, stride: by_engine(_conv(stride), g, x, w),
    numeric=lambda g, x, w, stride: by_differences(_conv(stride), g, x, w),
    hints=(
        "Each output position (i, j) read one window of x (windows stride apart) through w. Its gradient "
        "g[:, :, i, j] goes back to w through that window (dw: summed over every position and every image) and "
        "into the same window of dx through w (windows overlap, so add with +=). PyTorch's conv2d does not flip "
        "the kernel, so nothing is flipped here either.",
        "At position (i, j): dw gets np.tensordot(gij, window, axes=(0, 0)) (g (N, F) against the window "
        "(N, C, KH, KW) over n); dx's window gets np.tensordot(gij, w, axes=(1, 0)) (over f).",
        "dw += np.tensordot(gij, window, axes=(0, 0)); dx[:, :, rows, cols] += np.tensordot(gij, w, axes=(1, 0))",
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
            says=(
                "yours flips the kernel in dx: conv2d (PyTorch's, ours) is a correlation and does not flip the kernel, "
                "so each window of dx gets w as it is."
            ),
        ),
        planted(
            "dx's windows overwritten, not added (= for +=)",
            SOLUTION,
            "dx[:, :, rows, cols] = ",
            "dx[:, :, rows, cols] += ",
            "windows overlap",
            says=(
                "dx's windows are written with =, so where windows overlap the later one overwrites the earlier: an "
                "element of x read by several windows gets the sum of their gradients."
            ),
        ),
        planted(
            "dx's window placed without the stride",
            SOLUTION,
            "dx[:, :, i : i + kh, j : j + kw] += ",
            "dx[:, :, rows, cols] += ",
            "same window of dx",
            says=(
                "dx's windows are placed one element apart, not stride apart: the gradient of output (i, j) goes into "
                "the same window of dx that position read, which starts at (i * stride, j * stride)."
            ),
        ),
        planted(
            "dw's window read without the stride",
            SOLUTION,
            "window = x[:, :, i : i + kh, j : j + kw]",
            "window = x[:, :, rows, cols]",
            "the very window",
            says=(
                "dw meets windows of x one element apart, not stride apart: the gradient of output (i, j) meets the "
                "very window that position read through w, which starts at (i * stride, j * stride)."
            ),
        ),
    ),
    proves="You can backpropagate through a convolution, with any stride: a weight is shared by every position, so "
    "its gradient sums over them all, and a pixel is read by every window over it, so its gradient adds up their "
    "shares: what ops.Conv2d's backward does with im2col, as two matrix products.",
)
