"""Random training programs compiled and run eagerly, call after call (see tests/compile_fuzz.py): 150 in every
run, ``TINYGRAD_EDU_COMPILE_FUZZ=5000 python -m pytest tests/test_compile_fuzz.py`` for thousands; proof that
the fuzz catches a compiled step that is silently wrong; and each pattern it found silently wrong (issue #20),
as the smallest program that shows it, each passing since its fix."""

import functools
import os
import warnings

import numpy as np
import pytest

from tests import compile_fuzz
from tinygrad_edu import Value, compile, compiler, engine, losses, nn
from tinygrad_edu.compiler import CompileWarning, _Writer

try:
    import torch  # the oracle of the losses it computes in one call; without it, compiled is compared with eager
except ImportError:
    torch = None

PROGRAMS = int(os.environ.get("TINYGRAD_EDU_COMPILE_FUZZ", "150"))
CHUNKS = 3


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_random_programs_compile_exactly_or_loudly(chunk):
    for seed in range(chunk, PROGRAMS, CHUNKS):
        problem = compile_fuzz.check(seed, torch)
        assert problem is None, problem


def _first_failure(limit: int) -> str | None:
    return next(filter(None, (compile_fuzz.check(seed, torch) for seed in range(limit))), None)


def test_a_compiled_step_that_skips_the_checks_is_caught(monkeypatch):
    """Item 4 undone: a compiled call accepting the nan targets or stray labels that eager refuses."""
    monkeypatch.setattr(_Writer, "checks", lambda self: [])
    problem = _first_failure(100)
    assert problem is not None and "eager raised" in problem and "the compiled step returned" in problem


def test_a_replaced_parameter_left_unseen_is_caught(monkeypatch):
    """Item 5 undone: the step keeps reading the Value the trace saw, after the model got a new one."""
    monkeypatch.setattr(compiler, "_current", lambda links, persistent: lambda: True)
    problem = _first_failure(200)
    assert problem is not None and "replace" in problem and "compiled" in problem


def test_numpy_on_an_argument_without_a_warning_is_caught(monkeypatch):
    """fn's numpy on an argument no longer noted: the trace freezes it, and the fuzz sees it (no warning, or
    numbers that differ from eager's)."""
    monkeypatch.setattr(engine.Argument, "_note", lambda self, what: None)
    problem = _first_failure(300)
    assert problem is not None and "fn does" in problem


# ---------------------------------------------------------------- what the fuzz found silently wrong, now fixed


def _replaced_after_the_trace(make):
    """make() -> (fn, replace): compile fn, call it, replace a parameter, call again; the loss it gives
    and eager's."""
    fn, replace = make()
    step = compile(fn)
    x = np.array([[1.0, 2.0]])
    step(x)
    replace()
    return step(x).data, fn(x).data


def test_item5_a_parameter_replaced_in_a_dict_is_seen():
    def make():
        params = {"W": Value(np.array([[1.0], [2.0]]))}
        return lambda X: (X @ params["W"]).sum(), lambda: params.update(W=Value(np.array([[3.0], [4.0]])))

    got, expected = _replaced_after_the_trace(make)
    assert got == expected == 11.0  # the compiled step gave 5.0, the old W's


def test_item5_a_parameter_replaced_on_a_plain_object_is_seen():
    def make():
        holder = compile_fuzz.Holder()
        holder.W = Value(np.array([[1.0], [2.0]]))
        return lambda X: (X @ holder.W).sum(), lambda: setattr(holder, "W", Value(np.array([[3.0], [4.0]])))

    got, expected = _replaced_after_the_trace(make)
    assert got == expected == 11.0  # the compiled step gave 5.0


class _Trainer:
    """Not a Module: a plain object whose method is the loss, a common way to organise training code."""

    def __init__(self, model):
        self.model = model

    def loss(self, X):
        return self.model(X).sum()


def test_item5_a_model_reached_through_a_plain_objects_method_is_followed():
    def make():
        trainer = _Trainer(nn.MLP(2, [1], seed=0))
        replace = functools.partial(setattr, trainer.model.layers[0], "w", Value(np.array([[3.0], [4.0]])))
        return trainer.loss, replace

    got, expected = _replaced_after_the_trace(make)
    assert got == expected == 11.0  # the compiled step gave the old weights' loss


def test_item5_a_model_held_in_a_dict_is_followed():
    def make():
        models = {"net": nn.MLP(2, [1], seed=0)}
        replace = functools.partial(setattr, models["net"].layers[0], "w", Value(np.array([[3.0], [4.0]])))
        return lambda X: models["net"](X).sum(), replace

    got, expected = _replaced_after_the_trace(make)
    assert got == expected == 11.0


def test_item4_a_hinge_message_with_nan_labels_is_the_same_on_every_call():
    """hinge's message listed sorted(set(labels)), whose order with a nan in it depended on where Python put the
    floats: eager's and a compiled call's differed."""
    messages, kept = set(), []
    for k in range(20):
        kept.append([float(i) + 0.5 for i in range(k)])  # other floats alive, as in a program that does anything
        with pytest.raises(ValueError, match="hinge needs labels -1 or") as error:
            losses.hinge(Value(np.zeros(3)), np.array([-1.0, 1.0, np.nan]))
        messages.add(str(error.value))
    assert len(messages) == 1, messages


def test_random_numbers_drawn_inside_fn_run_eagerly_with_a_warning():
    """Not drawn by the fuzz: fn with a random stream cannot run on two twins alike (a trace calls fn twice).
    The first call's numbers were frozen into the step without a word."""
    model = nn.MLP(2, [2], seed=0)
    rng = np.random.default_rng(0)
    step = compile(lambda X: (model(X) * Value(rng.random((3, 2)), requires_grad=False)).sum())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seen = {float(step(np.ones((3, 2))).data) for _ in range(4)}
    assert len(seen) == 4  # a new loss each call, as eager gives
    assert any(issubclass(c.category, CompileWarning) and "random numbers" in str(c.message) for c in caught)
