"""Things looked up by name (activations, initializers): one lookup, one error message."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable


def lookup(registry: dict[str, Callable], kind: str, name: str | Callable, options: dict) -> Callable:
    """``registry[name]``, or ``name`` itself if it is callable, with ``options`` bound as keywords.

    An unknown name raises ValueError listing the known ones; an option the function does not
    take raises ValueError at once (not at its first call), listing the ones it does.
    """
    if callable(name):
        fn = name
    elif isinstance(name, str) and name in registry:
        fn = registry[name]
    else:
        raise ValueError(f"unknown {kind} {name!r}; known: {', '.join(sorted(registry))}")
    if not options:
        return fn
    try:
        inspect.signature(fn).bind_partial(**options)
    except TypeError:
        takes = [p for p in list(inspect.signature(fn).parameters)[1:] if p != "rng"]
        label = name if isinstance(name, str) else getattr(fn, "__name__", kind)
        raise ValueError(
            f"{kind} {label!r} takes no option {', '.join(map(repr, options))}; "
            f"its options: {', '.join(takes) or 'none'}"
        ) from None
    except ValueError:  # a callable whose signature Python cannot read: bind and let its call decide
        pass
    return functools.partial(fn, **options)
