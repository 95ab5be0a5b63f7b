"""The checker recognises the known mistakes: a learner's numbers equal to a planted mistake's get what that
mistake says, every exercise has at least three planted mistakes with answers specific to them, and a known
mistake that fails or runs on is passed over."""

import dataclasses
import signal
import time

import pytest

from tinygrad_edu.exercises import Mistake, catalog, grading
from tinygrad_edu.exercises.grading import TIME_LIMITS, Tries, check_source, time_limit

PACK = catalog.builtin()
SAYS = [pytest.param(ex, m, id=f"ex{ex.number:02d}-{m.what}") for ex in PACK for m in ex.mistakes if m.says]


def first_answer(ex, source: str) -> grading.Verdict:
    return check_source(ex, source, tries=Tries(None))


@pytest.mark.parametrize("ex", PACK, ids=lambda ex: f"ex{ex.number:02d}_{ex.slug}")
def test_every_exercise_has_three_planted_mistakes_with_their_own_first_answer(ex):
    """A diagnosis (generic or the mistake's own words), never the ladder's general hint, and no two alike."""
    specific = set()
    for mistake in ex.mistakes:
        verdict = first_answer(ex, mistake.source)
        if verdict.diagnosis and verdict.hint is None and "Hint (try 1)" not in verdict.text:
            specific.add(verdict.diagnosis)
    assert len(specific) >= 3, f"exercise {ex.number}: only {len(specific)} specific first answers: {specific}"


@pytest.mark.parametrize("ex, mistake", SAYS)
def test_a_mistake_that_says_what_it_is_gets_its_words_first(ex, mistake):
    verdict = first_answer(ex, mistake.source)
    assert verdict.status == "wrong" and verdict.diagnosis == mistake.says, verdict.text
    *_, numbers, said = verdict.text.splitlines()  # the element and both numbers, as for any wrong answer, then
    assert numbers.startswith(f"{verdict.output} at element") and "the right one is" in numbers and said == mistake.says
    assert verdict.hint is None and verdict.tries == 1  # a try still counts; the ladder starts on the next


def test_mistakes_with_words_cover_every_one_that_no_generic_diagnosis_names():
    """Without its ``says``, each such mistake would get only the ladder's general hint: the words are needed."""
    for ex in PACK:
        bare = dataclasses.replace(ex, mistakes=tuple(dataclasses.replace(m, says="") for m in ex.mistakes))
        for plain, mistake in zip(bare.mistakes, ex.mistakes):
            verdict = first_answer(bare, plain.source)
            assert (verdict.diagnosis is None) == bool(mistake.says), (ex.number, mistake.what, verdict.text)


# A learner's own files: the planted mistake, written another way (other names, other but equal code).
OWN_WAY = [
    (
        10,
        "only the Jacobian's diagonal (as for a sigmoid)",
        "import numpy as np\n\ndef softmax_backward(g, out, x):\n    s = np.exp(x - x.max(-1, keepdims=True))\n"
        "    s = s / s.sum(-1, keepdims=True)\n    local = s - s * s\n    return local * g\n",
    ),
    (
        12,
        "1 taken off whole columns",
        "import numpy as np\n\ndef cross_entropy_backward(logits, labels):\n"
        "    e = np.exp(logits)\n    p = e / e.sum(axis=1)[:, None]\n    for y in set(labels.tolist()):\n"
        "        p[:, y] = p[:, y] - 1.0\n    return p * (1.0 / len(logits))\n",
    ),
    (
        15,
        "gamma forgotten",
        "import numpy as np\n\ndef batchnorm_backward(g, x, gamma, eps=1e-5):\n    m = len(x)\n"
        "    mu = x.sum(0) / m\n    v = ((x - mu) ** 2).sum(0) / m\n    r = (v + eps) ** -0.5\n    xh = (x - mu) * r\n"
        "    dxh = g\n    dx = r * (dxh - dxh.mean(0) - xh * (dxh * xh).mean(0))\n"
        "    return dx, (g * xh).sum(0), g.sum(0)\n",
    ),
]


@pytest.mark.parametrize("number, what, source", OWN_WAY, ids=[f"ex{n}-{w}" for n, w, _ in OWN_WAY])
def test_a_learners_own_file_that_makes_a_known_mistake_gets_its_words(number, what, source):
    ex = catalog.find(number)
    mistake = next(m for m in ex.mistakes if m.what == what)
    assert source != mistake.source
    verdict = first_answer(ex, source)
    assert verdict.status == "wrong" and verdict.diagnosis == mistake.says, verdict.text


def test_a_generic_diagnosis_comes_before_a_known_mistakes_words():
    """The wrong sign of a known mistake is not that mistake: the sign is said."""
    ex = catalog.find(5)
    verdict = first_answer(ex, "def log_backward(g, out, x):\n    return -g / x\n")
    assert verdict.diagnosis.startswith("wrong sign")


def test_says_must_hold_the_hint():
    with pytest.raises(ValueError, match="its hint 'sum over' is not in what it says"):
        Mistake("no sum", "def f(g): return g", "sum over", says="yours keeps every row")


LOG_BY_OUTPUT = Mistake(
    "divided by the output", "def log_backward(g, out, x):\n    return g / out\n", "output", "by the output"
)


def test_a_known_mistake_that_fails_or_runs_on_is_passed_over(monkeypatch):
    """A course's known mistake that fails to load, raises or loops is skipped (each under the time limit, which
    pauses the learner's own); the next one is still recognised, and each file is loaded once per exercise."""
    broken = Mistake("broken", "def log_backward(g, out, x):\n    return g /\n", "x", says="x")
    raises = Mistake("raises", "def log_backward(g, out, x):\n    raise KeyError('no')\n", "x", says="x")
    loops = Mistake("loops", "def log_backward(g, out, x):\n    while True:\n        pass\n", "x", says="x")
    ex = dataclasses.replace(catalog.find(5), mistakes=(broken, raises, loops, LOG_BY_OUTPUT))
    loaded = []
    real_load = grading.load_source
    monkeypatch.setattr(grading, "load_source", lambda ex, src, name: loaded.append(name) or real_load(ex, src, name))
    learner = "def log_backward(g, out, x):\n    return g * (1 / out)\n"
    start = time.perf_counter()
    verdicts = [check_source(ex, learner, "mine.py", Tries(None), timeout=0.5 if TIME_LIMITS else None) for _ in "ab"]
    if not TIME_LIMITS:  # without SIGALRM the looping mistake would never return
        pytest.skip("no time limits on this platform")
    assert [v.diagnosis for v in verdicts] == ["by the output"] * 2 and all(v.status == "wrong" for v in verdicts)
    assert time.perf_counter() - start < 5  # the loop stopped after 0.5 s, each time
    assert sum("mine.py" not in name for name in loaded) == 4  # each known mistake's file loaded once


@pytest.mark.skipif(not TIME_LIMITS, reason="time limits need SIGALRM")
def test_a_time_limit_inside_another_pauses_it_and_the_outer_one_still_stops():
    start = time.perf_counter()
    with pytest.raises(grading._TimeUp), time_limit(0.6):
        with pytest.raises(grading._TimeUp), time_limit(0.2):
            while True:
                pass
        while True:
            pass
    assert 0.7 < time.perf_counter() - start < 3  # the outer 0.6 s ran on after the inner 0.2 s
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
