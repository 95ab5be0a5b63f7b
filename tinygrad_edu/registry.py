"""Things looked up by name (activations, initializers): one lookup, one error message."""

from __future__ import annotations

import functools
from collections.abc import Callable


def lookup(registry: dict[str, Callable], kind: str, name: str | Callable, options: dict) -> Callable:
    """``registry[name]``, or ``name`` itself if it is callable, with ``options`` bound as keywords.

    An unknown name raises ValueError listing the known ones.
    """
    if callable(name):
        fn = name
    elif isinstance(name, str) and name in registry:
        fn = registry[name]
    else:
        raise ValueError(f"unknown {kind} {name!r}; known: {', '.join(sorted(registry))}")
    return functools.partial(fn, **options) if options else fn
