"""Custom ops for the gradcheck tests: one with a right derivative, one with a planted bug."""

from tinygrad_edu.ops import REAL, Op


class Cube(Op):
    """x^3, with the right derivative 3x^2."""

    name, domain, kinks = "cube", (REAL,), None

    @staticmethod
    def forward(x):
        return x**3

    @staticmethod
    def backward(g, out, x):
        return g * 3 * x * x


class WrongCube(Cube):
    """x^3 with a planted bug: its derivative should be 3x^2, this says 2x^2."""

    name = "wrong_cube"

    @staticmethod
    def backward(g, out, x):
        return g * 2 * x * x
