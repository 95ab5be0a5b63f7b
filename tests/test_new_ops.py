"""The ops added for the tutorials' material (issue 22): what the op table cannot show, such as sine's
cycle of derivatives, and the PyTorch facade's names for them."""

import math

import numpy as np

import tinygrad_edu.torch as torch  # the facade, as a tutorial imports it
from tinygrad_edu import Value, grad


def test_the_derivatives_of_sin_cycle_through_cos_minus_sin_minus_cos_and_back():
    x = Value(0.7)
    d, seen = x.sin(), []
    for _ in range(4):
        (d,) = grad(d, [x], create_graph=True)
        seen.append(d.data)
    expected = [math.cos(0.7), -math.sin(0.7), -math.cos(0.7), math.sin(0.7)]
    np.testing.assert_allclose(seen, expected, rtol=1e-14)


def test_the_facade_has_sin_and_cos():
    x = torch.linspace(-math.pi, math.pi, 5, requires_grad=True)
    (torch.sin(x) + torch.cos(x)).sum().backward()
    np.testing.assert_allclose(x.grad, np.cos(x.data) - np.sin(x.data), atol=1e-15)
