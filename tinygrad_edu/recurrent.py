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


def rnn_step(nonlinearity: str = "tanh") -> Callable[[Value, State, Value], State]:
    """An RNN's step: h_t = tanh(x_t w_ih + b + h_{t-1} w_hh) (or relu). The input's part ``xw`` = x_t w_ih + b
    comes computed for every step at once; dh_t/dh_{t-1} = diag(1 - h_t^2) w_hh^T, the factor BPTT repeats."""
    activation = {"tanh": F.tanh, "relu": F.relu}[nonlinearity]

    def step(xw: Value, state: State, w_hh: Value) -> State:
        return (activation(xw + state[0] @ w_hh),)

    return step


def lstm_step(xw: Value, state: State, w_hh: Value) -> State:
    """An LSTM's step: four gates from the input's part ``xw`` and h_{t-1}, then
    c_t = f * c_{t-1} + i * g and h_t = o * tanh(c_t). The cell state c is carried by a sum, scaled only by the
    forget gate f (dc_t/dc_{t-1} = f), so with f near 1 its gradient reaches far back without vanishing."""
    h, c = state
    n = h.shape[-1]
    z = xw + h @ w_hh  # the four gates' inputs side by side: (..., 4 n)
    i, f = F.sigmoid(z[..., :n]), F.sigmoid(z[..., n : 2 * n])  # input gate, forget gate: how much to write, keep
    g, o = F.tanh(z[..., 2 * n : 3 * n]), F.sigmoid(z[..., 3 * n :])  # the candidate values, the output gate
    c = f * c + i * g
    return o * F.tanh(c), c


def unroll(
    xw: Value, state: State, w_hh: Value, step: Callable[[Value, State, Value], State], names: str = "hc"
) -> tuple[Value, State]:
    """Run ``step`` along axis 1 of ``xw`` (N, T, ...), every step's input part computed at once, from ``state``.

    Returns the hidden states of every step, stacked to (N, T, hidden), and the last state. The states are
    labelled h1, h2, ... (and c1, c2, ...) so the graph of the unrolled sequence reads in time order."""
    outputs = []
    for t in range(xw.shape[1]):
        state = step(xw[:, t], state, w_hh)
        for name, s in zip(names, state):
            s.label = f"{name}{t + 1}"
        outputs.append(state[0])
    return F.stack(outputs, axis=1), state
