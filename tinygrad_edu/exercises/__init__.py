"""Exercises the engine grades: write a backward by hand, and the checker says which number is wrong and why.

``Exercise`` and ``Mistake`` (in ``exercise``) describe one exercise; the pack is every module in ``pack/``
(``catalog``); ``grading`` checks a learner's code and returns a ``Verdict``; ``command`` is
``tinygrad-edu exercise``. In a notebook: ``check_exercise(3, tanh_backward)``, and ``compare("dlogits", dlogits,
logits)`` (``compare``: makemore's ``cmp`` with our names).
"""

from tinygrad_edu.exercises.compare import compare
from tinygrad_edu.exercises.exercise import Exercise, Mistake
from tinygrad_edu.exercises.grading import Verdict, check_exercise

__all__ = ["Exercise", "Mistake", "Verdict", "check_exercise", "compare"]
