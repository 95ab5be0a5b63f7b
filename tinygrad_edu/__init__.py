"""tinygrad_edu: reverse-mode autodiff from scratch, for learning how backpropagation works."""

from tinygrad_edu import functional
from tinygrad_edu.engine import Value, apply, detect_anomaly, no_grad
from tinygrad_edu.gradcheck import GradcheckError, GradcheckWarning, check_graph, gradcheck, numerical_grad
from tinygrad_edu.trace import trace_backward

__all__ = [
    "Value", "apply", "no_grad", "detect_anomaly", "functional",
    "gradcheck", "numerical_grad", "check_graph", "trace_backward", "GradcheckError", "GradcheckWarning",
]  # fmt: skip
__version__ = "0.1.0"
