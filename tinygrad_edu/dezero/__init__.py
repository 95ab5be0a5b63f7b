"""DeZero's API (the book "Deep Learning from Scratch 3") on this engine: change the import, keep the code.

    from tinygrad_edu.dezero import Variable, Function    # was: from dezero import Variable, Function
    import tinygrad_edu.dezero.functions as F             # was: import dezero.functions as F
    import tinygrad_edu.dezero.layers as L                # was: import dezero.layers as L
    from tinygrad_edu.dezero.models import MLP            # was: from dezero.models import MLP
    from tinygrad_edu.dezero.utils import plot_dot_graph  # was: from dezero.utils import plot_dot_graph

A ``Variable`` is this package's ``Value`` (float64 numbers), so ``viz.draw_graph(y)``, ``trace_backward(y)``
and ``gradcheck`` work on what the book builds, and a ``Function`` the learner writes becomes an op of the
engine. What differs from DeZero: the numbers are float64 whatever the ndarray given; ``x.grad`` is a
Variable (an ndarray in ``core_simple``, as in DeZero's simple core); a Function takes one or two inputs and
returns one output; ``Layer.params()`` come in the order they were set; no GPU. Steps 1 to 48 run.
"""

from tinygrad_edu.dezero import datasets, functions, layers, models, optimizers, utils
from tinygrad_edu.dezero.core import (
    Config,
    Function,
    Parameter,
    Variable,
    as_array,
    as_variable,
    no_grad,
    setup_variable,
    test_mode,
    using_config,
)
from tinygrad_edu.dezero.layers import Layer
from tinygrad_edu.dezero.models import Model

is_simple_core = False  # as DeZero's package ships: steps 28 and 29 then import core_simple's names

__all__ = [
    "Variable",
    "Function",
    "Parameter",
    "Config",
    "using_config",
    "no_grad",
    "test_mode",
    "as_array",
    "as_variable",
    "setup_variable",
    "Layer",
    "Model",
    "datasets",
    "functions",
    "layers",
    "models",
    "optimizers",
    "utils",
    "is_simple_core",
]


def __getattr__(name: str):
    raise AttributeError(f"tinygrad_edu.dezero has no {name!r}; it has: {', '.join(__all__)}")
