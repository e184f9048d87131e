"""mreg: a model registry in plain files.

    >>> import mreg
    >>> registry = mreg.open("registry-example")
    >>> [row.id for row in registry.models()]

``open`` and ``init`` return a ``Registry``; every failure is an ``MregError`` subclass
carrying its exit code. Importing this package is cheap: the registry modules load on
first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mreg.errors import ExitCode, MregError

if TYPE_CHECKING:
    from mreg.registry import Registry

__version__ = "0.1.0"
__all__ = ["open", "init", "ExitCode", "MregError", "__version__"]


def open(url: str) -> "Registry":  # noqa: A001 - mirrors the builtin on purpose, as fsspec.open does
    """Open the registry at a directory, ``file://`` or ``s3://`` URL."""
    from mreg.registry import Registry

    return Registry.open(url)


def init(url: str, blob_store: str | None = None) -> "Registry":
    """Create a registry at ``url``; blobs go to ``blob_store`` when given."""
    from mreg.registry import Registry

    return Registry.create(url, blob_store)
