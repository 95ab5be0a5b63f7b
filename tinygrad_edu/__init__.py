"""tinygrad_edu: reverse-mode autodiff from scratch, for learning how backpropagation works.

Read the modules in this order; each one imports only modules above it:

1. ``ops``: every operation's forward and its derivative, side by side (start with Add and Mul).
2. ``engine``: the node (``Value``), ``toposort``, ``backprop`` and ``apply``: the whole algorithm.
3. ``functional``: each op as a plain function, ``F.relu(x)``.
4. ``gradcheck``, ``forward``, ``jacobians``: derivatives checked against finite differences, op by op; forward
   mode, tangents carried from the inputs to the outputs (each op's rule read from its backward); whole
   Jacobians and Hessians, and their products with a vector (``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``),
   each by the mode that costs least.
5. ``names``, ``trace``, ``code``, ``compiler``: one name per node for every view; the backward pass as a
   table, one row per use of the chain rule; and as straight-line code (``compile(fn)``, which runs the
   ops' own forward and backward on symbols that write code), which runs a training step without a graph.
6. ``viz``: the graph as a picture, and the backward pass step by step.
7. ``activations``, ``init``, ``recurrent``, ``nn``, ``losses``, ``optim``, ``train``, ``data``: neural
   networks (``recurrent``: an RNN's and an LSTM's step, and the loop that unrolls it along time).
8. ``examples``, ``watch``, ``cli``: the example graphs, training you can watch (``fit(..., live=True)``), and
   the ``tinygrad-edu`` command.
9. ``micrograd``, ``torch``, ``dezero``: the APIs of micrograd, of beginner PyTorch and of DeZero on this
   engine, for code learners already have.

Helpers, read after the engine: ``methods`` (a Value's operators and its numpy, PyTorch and micrograd
habits, each handing its work to ``engine.apply``), ``modes`` (``no_grad``, ``detect_anomaly``: the
switches), ``checks`` (what enters the graph, and the errors that say what was wrong), ``follow`` (what
compile's trace follows), ``domains`` (where each op is defined, for gradcheck), ``arguments`` (checking
what users pass), ``registry`` (looking things up by name), ``files`` (saving whole files), ``tables``
(how numbers and tables are shown), ``testing`` (strategies for your own gradient tests).
"""

from tinygrad_edu import forward, functional, viz, watch
from tinygrad_edu.compiler import compile
from tinygrad_edu.engine import Value, apply, grad
from tinygrad_edu.gradcheck import (
    GradcheckError,
    GradcheckWarning,
    check_graph,
    gradcheck,
    gradgradcheck,
    numerical_grad,
)
from tinygrad_edu.jacobians import hessian, hvp, jacobian, jvp, vjp
from tinygrad_edu.modes import detect_anomaly, enable_grad, no_grad
from tinygrad_edu.nn import manual_seed
from tinygrad_edu.trace import trace_backward, trace_forward

__all__ = [
    "Value",
    "apply",
    "grad",
    "compile",
    "no_grad",
    "enable_grad",
    "detect_anomaly",
    "forward",
    "functional",
    "viz",
    "watch",
    "manual_seed",
    "gradcheck",
    "gradgradcheck",
    "numerical_grad",
    "check_graph",
    "trace_backward",
    "trace_forward",
    "GradcheckError",
    "GradcheckWarning",
    "jacobian",
    "hessian",
    "vjp",
    "jvp",
    "hvp",
]
__version__ = "0.1.0"
