"""Exercises the engine grades: write a backward by hand, and the checker says which number is wrong and why.

``Exercise`` and ``Mistake`` (in ``exercise``) describe one exercise; the pack is every module in ``pack/``.
"""

from tinygrad_edu.exercises.exercise import Exercise, Mistake

__all__ = ["Exercise", "Mistake"]
