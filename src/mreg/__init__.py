"""mreg: a model registry in plain files.

    >>> import mreg
    >>> registry = mreg.open("registry-example")
    >>> [row.id for row in registry.models()]

``open`` and ``init`` return a ``Registry`` whose methods are the commands
(``Registry.promote`` is ``mreg promote``); they accept a ``State`` or its name, a ``Path``
or a string. Every failure is an ``MregError`` subclass carrying its ``ExitCode``.
Importing this package is cheap: the registry modules load on first use.
"""

from __future__ import annotations

from os import PathLike
from typing import TYPE_CHECKING

from mreg.errors import (
    AlreadyExists,
    CheckFailed,
    Conflict,
    ExitCode,
    IntegrityError,
    InvalidName,
    InvalidQuery,
    ModelNotFound,
    MregError,
    NotFound,
    StoreUnavailable,
    UsageError,
    VersionNotFound,
)
from mreg.lifecycle import State

if TYPE_CHECKING:
    from mreg.registry import Registry

__version__ = "0.1.0"
__all__ = [
    "open", "init", "Registry", "State", "ExitCode", "MregError", "UsageError", "InvalidName", "InvalidQuery",
    "NotFound", "ModelNotFound", "VersionNotFound", "Conflict", "AlreadyExists", "IntegrityError", "CheckFailed",
    "StoreUnavailable", "__version__",
]


def open(url: str | PathLike) -> "Registry":  # noqa: A001 - mirrors the builtin on purpose, as fsspec.open does
    """Open the registry at a directory, ``file://`` or ``s3://`` URL."""
    from mreg.registry import Registry

    return Registry.open(str(url))


def init(url: str | PathLike, blob_store: str | None = None) -> "Registry":
    """Create a registry at ``url``; blobs go to ``blob_store`` when given."""
    from mreg.registry import Registry

    return Registry.create(str(url), blob_store)


def __getattr__(name: str):
    """``mreg.Registry`` without importing the registry modules up front."""
    if name == "Registry":
        from mreg.registry import Registry

        return Registry
    raise AttributeError(f"module 'mreg' has no attribute {name!r}")
