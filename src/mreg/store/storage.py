"""The storage interface every backend implements (the backends and the choice between
them by URL live in ``local``, ``s3`` and ``backends``)."""

from __future__ import annotations

from typing import BinaryIO, Iterator, Mapping, NamedTuple, Protocol

from mreg.errors import UsageError


class FileInfo(NamedTuple):
    """What a listing knows of a file: size, a token that changes when it does, and mtime."""

    size: int
    token: str
    modified: float


class Staged(Protocol):
    """Bytes being written to a temporary place, to be named once they are complete."""

    def write(self, chunk: bytes) -> None: ...

    def commit(self, path: str) -> bool:
        """Give the bytes ``path`` exclusively; False (and discard) if it already exists."""

    def abort(self) -> None: ...


class Storage(Protocol):
    url: str

    def read(self, path: str) -> bytes: ...

    def open_read(self, path: str) -> BinaryIO: ...

    def exists(self, path: str) -> bool: ...

    def create(self, path: str, data: bytes) -> FileInfo:
        """Create ``path`` exclusively; returns what a listing would now say of it."""

    def replace(self, path: str, data: bytes) -> None: ...

    def create_many(self, files: Mapping[str, bytes]) -> dict[str, FileInfo]:
        """``create`` for many files, durable as a batch when the call returns; returns the
        ones it created. The others already existed and are left as they were (not an
        error: the caller decides)."""

    def delete(self, path: str) -> None: ...

    def read_tagged(self, path: str) -> tuple[bytes, str] | None:
        """The bytes of ``path`` and a tag naming exactly them (for ``swap``); None if absent."""

    def swap(self, path: str, tag: str | None, data: bytes) -> bool:
        """Compare-and-swap: replace ``path`` with ``data`` only if it still holds what ``tag``
        (from ``read_tagged``) named, or, with ``tag`` None, only if it does not exist. False
        when another writer got there first. How git updates a ref."""

    def listing(self, prefix: str) -> dict[str, FileInfo]:
        """Every file below ``prefix``, recursively, keyed by path relative to the root."""

    def stage(self) -> Staged: ...

    def iter_chunks(self, path: str) -> Iterator[bytes]: ...


def check_path(path: str) -> str:
    """Refuse paths that could escape the root or alias another key (``a//b`` on S3)."""
    parts = path.split("/")
    if path.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise UsageError(f"invalid store path {path!r}")
    return path
