"""``torch.autograd.functional``: ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp`` with PyTorch's signatures.
They are this package's own (``tinygrad_edu.jacobians``, where the method of each is written): given the facade's
tensors, they answer with its tensors."""

from tinygrad_edu.jacobians import hessian, hvp, jacobian, jvp, vjp

__all__ = ["jacobian", "hessian", "vjp", "jvp", "hvp"]
