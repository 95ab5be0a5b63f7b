"""Optimizers: turn gradients into parameter updates.  Call ``zero_grad()``, ``backward()``, ``step()``.

As in PyTorch, the settings live in ``param_groups`` (a list of dicts, each with its ``params``):
``step()`` reads every one of them from its group each time, so a schedule may change ``lr``,
``momentum``, ``betas``... between steps, and groups may differ (``add_param_group``). A parameter
that no gradient reached since ``zero_grad()`` (unused by this step's loss) is skipped, as PyTorch
skips a ``.grad`` of None: no decay, no momentum. ``state_dict()``/``load_state_dict()`` use
PyTorch's format, so real PyTorch's optimizers load ours and the reverse (arrays as numpy arrays).
The settings ``foreach``, ``fused`` and ``capturable`` are kept for that format and change nothing here.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np

from tinygrad_edu import arguments
from tinygrad_edu.engine import Value, grad_numbers
from tinygrad_edu.modes import quiet
from tinygrad_edu.registry import lookup


class Optimizer:
    """Holds the parameter groups and the per-parameter state; ``zero_grad`` clears the gradients."""

    state_keys: tuple[str, ...] = ()  # what ``state[p]`` may hold

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.state: dict[Value, dict] = {}
        self.param_groups: list[dict] = []
        params = _listed(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        for group in params if isinstance(params[0], dict) else [{"params": params}]:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters with settings of its own; a setting it does not give takes the default."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"a parameter group is a dict with a 'params' list, got {type(group).__name__}")
        params = [group["params"]] if isinstance(group["params"], Value) else group["params"]
        new = {**self.defaults, **group, "params": _parameter_list(params)}
        self._settings(new, f"param_groups[{len(self.param_groups)}] ")
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in taken for p in new["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(new)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients: to None (no gradient: ``step`` skips the parameter unless a backward reaches it
        again), or those that exist to zeros with ``set_to_none=False`` (a zero gradient: still decayed)."""
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    @quiet  # nan/inf in a gradient propagate into the parameters quietly, as in PyTorch
    def step(self) -> None:
        """One update of every parameter that has a gradient, with its group's settings as they are now."""
        for i, group in enumerate(self.param_groups):
            settings = self._settings(group, f"param_groups[{i}] ")
            for p in group["params"]:
                if p.has_grad:  # no gradient reached p: PyTorch's grad None, skipped
                    self._update(p, grad_numbers(p), self.state.setdefault(p, {}), **settings)

    def _settings(self, group: dict, where: str) -> dict:
        """The group's settings the update uses, checked (each names the group when it is wrong)."""
        raise NotImplementedError

    def _update(self, p: Value, g, state: dict, **settings) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """PyTorch's format: ``{"state": {index: {...}}, "param_groups": [{settings..., "params": [indices]}]}``,
        parameters numbered in order across the groups; arrays are copies."""
        index = {id(p): i for i, p in enumerate(p for g in self.param_groups for p in g["params"])}
        groups = [
            {**{k: v for k, v in g.items() if k != "params"}, "params": [index[id(p)] for p in g["params"]]}
            for g in self.param_groups
        ]
        state = {index[id(p)]: {k: _copy(v) for k, v in s.items()} for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Take the settings and state of ``state_dict`` (ours or real PyTorch's, tensors or arrays): all checked
        first, so a bad one changes nothing."""
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            what = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise TypeError(
                f"load_state_dict needs an optimizer's state_dict, a dict with 'state' and 'param_groups', got {what}"
            )
        saved = list(state_dict["param_groups"])
        if len(saved) != len(self.param_groups):
            raise ValueError(
                f"the state_dict has {len(saved)} parameter groups, this optimizer {len(self.param_groups)}"
            )
        groups, params = [], {}
        for i, (mine, theirs) in enumerate(zip(self.param_groups, saved)):
            if len(theirs["params"]) != len(mine["params"]):
                raise ValueError(
                    f"param_groups[{i}] holds {len(mine['params'])} parameters here, "
                    f"{len(theirs['params'])} in the state_dict"
                )
            group = {**self.defaults, **theirs, "params": mine["params"]}  # PyTorch's older files lack some keys
            self._settings(group, f"the state_dict's param_groups[{i}] ")
            groups.append(group)
            params.update(zip(theirs["params"], mine["params"]))
        state = {}
        for key, entries in state_dict["state"].items():
            if key not in params:
                raise ValueError(f"the state_dict has state for parameter {key!r}, which none of its groups lists")
            state[params[key]] = {k: _loaded(v, params[key], k, key, self) for k, v in entries.items() if v is not None}
        self.param_groups, self.state = groups, state


def zero_grads(params: Iterable[Value], set_to_none: bool = True) -> None:
    """Each parameter's gradient to None (no gradient yet), or with ``set_to_none=False`` each gradient
    that exists to zeros (as PyTorch: one that is None stays None)."""
    for p in params:
        if set_to_none:
            p.zero_grad()
        elif p.has_grad:
            p.grad = 0.0  # (broadcast to p's shape)


def _listed(params) -> list:
    if callable(getattr(params, "parameters", None)):
        raise TypeError(f"optimizer got a {type(params).__name__} model; did you mean model.parameters()?")
    if isinstance(params, Value):
        raise TypeError("optimizer got one Value; pass a list of parameters, e.g. [v]")
    try:
        return list(params)
    except TypeError:
        raise TypeError(f"optimizer parameters must be an iterable of Values, got {type(params).__name__}") from None


def _parameter_list(params) -> list[Value]:
    """The parameters as a list of distinct Values; anything else is refused with what to pass instead."""
    params = _listed(params)
    if not params:
        raise ValueError("optimizer got an empty parameter list")
    seen: set[int] = set()
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(
                f"optimizer parameters must be Values (use model.parameters()); parameter {i} is {type(p).__name__}"
            )
        if id(p) in seen:
            raise ValueError(
                f"parameter {i} ({p.label or 'unnamed'}, shape {p.shape}) is listed twice; "
                "it would be updated twice per step"
            )
        seen.add(id(p))
    return params


def _learning_rate(lr, where: str = "") -> float:
    """lr >= 0 (0 is allowed, as in PyTorch: nothing moves), finite, a real number; PyTorch's message otherwise."""
    if isinstance(lr, bool) or not (isinstance(lr, numbers.Real) and lr >= 0 and math.isfinite(lr)):
        raise ValueError(f"{where}Invalid learning rate: {lr!r} (lr must be a finite number >= 0)")
    return float(lr)


def _common(group: dict, where: str) -> dict:
    """The settings every optimizer has: lr, weight_decay, maximize; and PyTorch's that change nothing here."""
    if group.get("differentiable", False):
        raise ValueError(f"{where}differentiable=True (a step inside the graph) is not supported here")
    return {
        "lr": _learning_rate(group["lr"], where),
        "weight_decay": arguments.real(f"{where}weight_decay", group["weight_decay"], low=0.0),
        "maximize": arguments.flag(f"{where}maximize", group["maximize"]),
    }


def _copy(v):
    return v.copy() if isinstance(v, np.ndarray) else v


def _loaded(v, p: Value, key: str, index, opt: Optimizer):
    """One entry of a loaded state as this package keeps it: a float (``step``) or numbers shaped like p."""
    if key not in opt.state_keys:
        raise ValueError(
            f"the state_dict's state for parameter {index!r} has {key!r}, which {type(opt).__name__} "
            f"does not keep (its state: {', '.join(opt.state_keys)}); a state_dict of another optimizer?"
        )
    numbers_ = np.array(v.numpy() if hasattr(v, "numpy") else v, dtype=np.float64)  # a tensor, an array, a number
    if key == "step":
        return float(numbers_)
    if numbers_.shape != p.shape:
        raise ValueError(
            f"the state_dict's {key!r} for parameter {index!r} has shape {numbers_.shape}, the parameter {p.shape}"
        )
    return float(numbers_) if p.numbers.__class__ is float else numbers_


class SGD(Optimizer):
    """Stochastic gradient descent, as PyTorch's SGD:

    g = grad + weight_decay * p;  v = momentum * v + (1 - dampening) * g (v = g at first);
    p = p - lr * v, or with Nesterov p = p - lr * (g + momentum * v).  ``maximize`` climbs instead.
    """

    state_keys = ("momentum_buffer",)

    def __init__(
        self,
        params: Iterable[Value],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        *,
        dampening: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
        foreach=None,
        differentiable: bool = False,
        fused=None,
    ):
        super().__init__(
            params,
            {
                "lr": lr,
                "momentum": momentum,
                "dampening": dampening,
                "weight_decay": weight_decay,
                "nesterov": nesterov,
                "maximize": maximize,
                "foreach": foreach,
                "differentiable": differentiable,
                "fused": fused,
            },
        )

    def _settings(self, group: dict, where: str) -> dict:
        settings = {
            **_common(group, where),
            "momentum": arguments.real(f"{where}momentum", group["momentum"], low=0.0),
            "dampening": arguments.real(f"{where}dampening", group["dampening"]),
            "nesterov": arguments.flag(f"{where}nesterov", group["nesterov"]),
        }
        if settings["nesterov"] and (settings["momentum"] <= 0 or settings["dampening"] != 0):
            raise ValueError(f"{where}Nesterov momentum requires a momentum and zero dampening")
        return settings

    def _update(self, p, g, state, lr, weight_decay, maximize, momentum, dampening, nesterov) -> None:
        g = -g if maximize else g
        if weight_decay:
            g = g + weight_decay * p.numbers
        if momentum:
            v = state.get("momentum_buffer")
            v = state["momentum_buffer"] = _copy(g) if v is None else momentum * v + (1 - dampening) * g
            g = g + momentum * v if nesterov else v
        _move(p, lr * g)


class Adam(Optimizer):
    """Adam (Kingma & Ba), as PyTorch's: running means of the gradient (m) and of its square (v),
    bias-corrected, give each parameter its own step size; t counts each parameter's own steps:

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p = p - lr/(1 - b1^t) * m / (sqrt(v/(1 - b2^t)) + eps).

    ``weight_decay`` adds weight_decay * p to g (L2), or with ``decoupled_weight_decay`` (AdamW) shrinks
    p directly: p = p (1 - lr weight_decay). ``amsgrad`` divides by the largest v so far.
    """

    state_keys = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        foreach=None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused=None,
        decoupled_weight_decay: bool = False,
    ):
        super().__init__(
            params,
            {
                "lr": lr,
                "betas": betas,
                "eps": eps,
                "weight_decay": weight_decay,
                "amsgrad": amsgrad,
                "maximize": maximize,
                "foreach": foreach,
                "capturable": capturable,
                "differentiable": differentiable,
                "fused": fused,
                "decoupled_weight_decay": decoupled_weight_decay,
            },
        )

    def _settings(self, group: dict, where: str) -> dict:
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{where}betas must be two numbers in [0, 1), got {betas!r}")
        b1, b2 = (arguments.real(f"{where}betas[{i}]", b, low=0.0) for i, b in enumerate(betas))
        if not (b1 < 1 and b2 < 1):
            raise ValueError(f"{where}betas must be in [0, 1), got {tuple(betas)}")
        return {
            **_common(group, where),
            "b1": b1,
            "b2": b2,
            "eps": arguments.real(f"{where}eps", group["eps"], low=0.0),
            "amsgrad": arguments.flag(f"{where}amsgrad", group["amsgrad"]),
            "decoupled": arguments.flag(f"{where}decoupled_weight_decay", group["decoupled_weight_decay"]),
        }

    def _update(self, p, g, state, lr, weight_decay, maximize, b1, b2, eps, amsgrad, decoupled) -> None:
        g = -g if maximize else g
        if not state:
            zeros = 0.0 if p.numbers.__class__ is float else np.zeros(p.shape)
            state.update(step=0.0, exp_avg=zeros, exp_avg_sq=zeros)
            if amsgrad:
                state["max_exp_avg_sq"] = zeros
        t = state["step"] = state["step"] + 1.0
        if weight_decay and decoupled:
            p.data = p.numbers * (1.0 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * p.numbers
        m = state["exp_avg"] = _lerp(state["exp_avg"], g, 1.0 - b1)
        v = state["exp_avg_sq"] = b2 * state["exp_avg_sq"] + (1.0 - b2) * (g * g)
        if amsgrad:  # the largest v so far (zeros at first, as PyTorch's)
            most = state.get("max_exp_avg_sq", 0.0 * v)
            v = state["max_exp_avg_sq"] = max(most, v) if v.__class__ is float else np.maximum(most, v)
        denom = v**0.5 / math.sqrt(1.0 - b2**t) + eps
        _move(p, lr / (1.0 - b1**t) * (m / denom))


def _move(p: Value, step) -> None:
    """p's numbers minus ``step``, in place where they are an array (whoever holds that array sees the change)."""
    numbers = p.numbers
    if numbers.__class__ is float:
        p.data = numbers - step
    else:
        numbers -= step


def _lerp(a, b, w: float):
    """a + w (b - a), computed as PyTorch's lerp does (from the nearer end), so the running means agree to the bit."""
    return a + w * (b - a) if w < 0.5 else b - (b - a) * (1.0 - w)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch's AdamW: the decay shrinks the
    weights directly, p = p - lr * weight_decay * p, instead of being added to the gradient."""

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach=None,
        capturable: bool = False,
        differentiable: bool = False,
        fused=None,
    ):
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0) -> float:
    """Scale the gradients in place so that their total norm is at most ``max_norm`` (PyTorch's): the norm of
    all the gradients as one vector (``norm_type`` 2 by default, ``math.inf`` for the largest |g|), and if
    it exceeds max_norm every gradient times max_norm / (norm + 1e-6). Returns the norm before clipping.
    Parameters no gradient reached are skipped. Against exploding gradients (an RNN's, unrolled over time)."""
    params = [parameters] if isinstance(parameters, Value) else _listed(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"clip_grad_norm_ takes Values (model.parameters()); parameter {i} is {type(p).__name__}")
    max_norm = arguments.real("clip_grad_norm_'s max_norm", max_norm)
    norm_type = arguments.real("clip_grad_norm_'s norm_type", norm_type, positive=True, finite=False)
    with_grad = [p for p in params if p.has_grad]
    norms = [np.linalg.norm(np.ravel(grad_numbers(p)), norm_type) for p in with_grad]  # one per parameter,
    total = float(np.linalg.norm(norms, norm_type)) if norms else 0.0  # then the norm of those, as PyTorch
    scale = min(max_norm / (total + 1e-6), 1.0)
    for p in with_grad:
        g = grad_numbers(p)
        if g.__class__ is float:
            Value.grad.fset(p, g * scale)  # (a facade may show .grad as a tensor: set the numbers)
        else:
            g *= scale
    return total


REGISTRY: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


def get(name: str, **options):
    """The optimizer class called ``name`` ("sgd", "adam" or "adamw"), with ``options`` bound."""
    return lookup(REGISTRY, "optimizer", name, options)
