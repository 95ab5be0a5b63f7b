"""Recurrence: one step of an RNN or an LSTM written with the engine's ops, and the loop that unrolls it.

A recurrent layer applies the same step at every position of a sequence, carrying a hidden state forward:
h_t = step(x_t, h_{t-1}). Unrolled, T steps are one long graph in which every step reads the same weights, so
backward (backpropagation through time) adds up each step's share of a weight's gradient, and the gradient
reaching h_t from the last step is multiplied once per step in between by dh_{k+1}/dh_k: it shrinks or grows
geometrically (vanishing, exploding). No derivative is written here: each step is made of ops, whose
derivatives are in ops.py, so the graph, the stepper and compile show backprop through time step by step.

Weights as a Layer holds them: ``x @ w_ih`` with ``w_ih`` of shape (input_size, k * hidden_size) and
``h @ w_hh`` with ``w_hh`` (hidden_size, k * hidden_size); an LSTM's k = 4 gates side by side in PyTorch's
order (input, forget, cell, output), so PyTorch's ``weight_ih_l0`` is ``w_ih.T``.
"""

from __future__ import annotations

from collections.abc import Callable

from tinygrad_edu import functional as F
from tinygrad_edu.engine import Value

State = tuple[Value, ...]  # (h,) for an RNN, (h, c) for an LSTM
Step = Callable[[Value, State, Value, Value, "Value | None"], State]


def rnn_step(nonlinearity: str = "tanh") -> Step:
    """An RNN's step: h_t = tanh(x_t w_ih + h_{t-1} w_hh + b) (or relu). Its derivative is its ops':
    dh_t/dh_{t-1} = diag(1 - h_t^2) w_hh^T, the factor that backprop through time multiplies once per step."""
    activation = {"tanh": F.tanh, "relu": F.relu}[nonlinearity]

    def step(x: Value, state: State, w_ih: Value, w_hh: Value, b: Value | None = None) -> State:
        z = x @ w_ih + state[0] @ w_hh
        return (activation(z if b is None else z + b),)

    return step


def lstm_step(x: Value, state: State, w_ih: Value, w_hh: Value, b: Value | None = None) -> State:
    """An LSTM's step: four gates from x_t and h_{t-1}, then c_t = f * c_{t-1} + i * g and h_t = o * tanh(c_t).
    The cell state c is carried by a sum, scaled only by the forget gate f (dc_t/dc_{t-1} = f), so with f near 1
    its gradient reaches far back without vanishing."""
    h, c = state
    n = h.shape[-1]
    z = x @ w_ih + h @ w_hh  # the four gates' inputs side by side: (..., 4 n)
    z = z if b is None else z + b
    s = F.sigmoid(z)  # the gates squashed to (0, 1), all four blocks at once (the third, g's, goes unused)
    i, f, o = s[..., :n], s[..., n : 2 * n], s[..., 3 * n :]  # input, forget, output gates: write, keep, show
    g = F.tanh(z[..., 2 * n : 3 * n])  # the candidate values, in (-1, 1)
    c = f * c + i * g
    return o * F.tanh(c), c


def unroll(
    xs: list[Value], state: State, step: Step, w_ih: Value, w_hh: Value, b: Value | None = None, names: str = "hc"
) -> tuple[list[Value], State]:
    """Run ``step`` along a sequence (``xs``: one input (N, features) per time step) from ``state``, every step
    with the same weights. Returns every step's hidden state and the last state. The inputs are labelled x1,
    x2, ... (unless named already) and the states h1, h2, ... (and c1, c2, ...) from h0 (c0), so that the
    graph of the unrolled sequence reads in time order."""
    hs = []
    for name, s in zip(names, state):
        s.label = s.label or f"{name}0"
    for t, x in enumerate(xs):
        x.label = x.label or f"x{t + 1}"
        state = step(x, state, w_ih, w_hh, b)
        for name, s in zip(names, state):
            s.label = f"{name}{t + 1}"
        hs.append(state[0])
    return hs, state
