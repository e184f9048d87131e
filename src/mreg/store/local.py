"""A registry on a local disk.

Atomic, durable, exclusive creation without locks: write a temporary file in the target
directory, fsync it, ``os.link`` it to the final name (which fails if the name exists,
unlike rename), unlink the temporary name, then fsync the directory so the new entry
survives a crash. ``replace`` uses rename, which overwrites atomically.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import BinaryIO, Iterator
from urllib.parse import unquote, urlparse

from mreg.errors import AlreadyExists, PathNotFound
from mreg.store.storage import FileInfo, check_path

CHUNK = 1 << 20
TEMP_PREFIX = ".tmp-"


def _root_of(url: str) -> Path:
    if url.startswith("file://"):
        return Path(unquote(urlparse(url).path))
    return Path(url)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_name(directory: Path) -> Path:
    return directory / f"{TEMP_PREFIX}{uuid.uuid4().hex}"


def _link_exclusive(temp: Path, final: Path) -> bool:
    """Name ``temp`` as ``final`` unless ``final`` exists; the temporary name is removed."""
    try:
        os.link(temp, final)
    except FileExistsError:
        return False
    finally:
        temp.unlink(missing_ok=True)
    _fsync_dir(final.parent)
    return True


class LocalStaged:
    """A temporary file under the root's ``.tmp`` area, linked into place on commit."""

    def __init__(self, storage: "LocalStorage") -> None:
        self._storage = storage
        directory = storage.root / ".tmp"
        directory.mkdir(parents=True, exist_ok=True)
        self._path = _temp_name(directory)
        self._file = open(self._path, "xb")

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)

    def commit(self, path: str) -> bool:
        final = self._storage.path_of(path)
        if final.exists():  # stored before: skip the fsync of bytes we are about to drop
            self.abort()
            return False
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        final.parent.mkdir(parents=True, exist_ok=True)
        return _link_exclusive(self._path, final)

    def abort(self) -> None:
        self._file.close()
        self._path.unlink(missing_ok=True)


class LocalStorage:
    def __init__(self, url: str) -> None:
        self.root = _root_of(url).resolve()
        self.url = str(self.root)

    def path_of(self, path: str) -> Path:
        return self.root / check_path(path)

    def read(self, path: str) -> bytes:
        try:
            return self.path_of(path).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise PathNotFound(f"{self.url}/{path}") from None

    def open_read(self, path: str) -> BinaryIO:
        try:
            return open(self.path_of(path), "rb")
        except (FileNotFoundError, NotADirectoryError):
            raise PathNotFound(f"{self.url}/{path}") from None

    def iter_chunks(self, path: str) -> Iterator[bytes]:
        with self.open_read(path) as stream:
            while chunk := stream.read(CHUNK):
                yield chunk

    def exists(self, path: str) -> bool:
        return self.path_of(path).is_file()

    def _write_temp(self, final: Path, data: bytes) -> Path:
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = _temp_name(final.parent)
        with open(temp, "xb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        return temp

    def create(self, path: str, data: bytes) -> None:
        final = self.path_of(path)
        if not _link_exclusive(self._write_temp(final, data), final):
            raise AlreadyExists(path)

    def replace(self, path: str, data: bytes) -> None:
        final = self.path_of(path)
        temp = self._write_temp(final, data)
        os.replace(temp, final)
        _fsync_dir(final.parent)

    def delete(self, path: str) -> None:
        self.path_of(path).unlink(missing_ok=True)

    def listing(self, prefix: str) -> dict[str, FileInfo]:
        base = self.path_of(prefix) if prefix else self.root
        skip = len(str(self.root)) + 1  # string slicing: Path.relative_to costs ~40 us a file
        found: dict[str, FileInfo] = {}
        for directory, subdirs, files in os.walk(base):
            subdirs[:] = [name for name in subdirs if not name.startswith(".")]
            relative_dir = directory[skip:].replace(os.sep, "/")
            for name in files:
                if name.startswith(TEMP_PREFIX):
                    continue
                stat = os.stat(os.path.join(directory, name))
                relative = f"{relative_dir}/{name}" if relative_dir else name
                found[relative] = FileInfo(stat.st_size, f"{stat.st_mtime_ns}", stat.st_mtime)
        return dict(sorted(found.items()))

    def stage(self) -> LocalStaged:
        return LocalStaged(self)
