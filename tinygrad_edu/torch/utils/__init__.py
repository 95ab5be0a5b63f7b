"""``torch.utils`` as tutorials use it: ``torch.utils.data`` (datasets and minibatches)."""

from tinygrad_edu.torch.utils import data as data  # noqa: F401 (as it is)

SUPPORTED = ["data"]


def __getattr__(name: str):
    raise AttributeError(f"tinygrad_edu.torch.utils has no {name!r}; this teaching subset supports: data")
