"""A registry on a local disk.

Atomic, durable, exclusive creation without locks: write a temporary file under the
registry's ``.tmp/``, fsync it, ``os.link`` it to the final name (which fails if the name
exists, unlike rename), unlink the temporary name, then fsync the directory so the new
entry survives a crash. ``replace`` uses rename, which overwrites atomically. A kill at any
point leaves at most a file in ``.tmp/``, which no reader looks at and ``gc`` removes.

Nothing is read or written through a symbolic link: a registry whose ``models/``,
``models/M`` or ``objects/`` is a link could be made to read or write anywhere on the disk,
so any link met below the root refuses the command (``UnsafeLayout``, exit 5). A blob store
elsewhere is named in ``mreg.yaml``, never smuggled in as a link. Every other ``OSError``
becomes ``SystemRefused`` with the path and what was being done (a full disk, a permission).
"""

from __future__ import annotations

import errno
import fcntl
import functools
import hashlib
import os
import stat
import sys
import uuid
from pathlib import Path
from typing import BinaryIO, Iterator, Mapping
from urllib.parse import unquote, urlparse

from mreg.errors import AlreadyExists, IntegrityError, PathNotFound, SystemRefused, os_errors
from mreg.layout import TEMP_DIR
from mreg.store.storage import FileInfo, check_path

CHUNK = 1 << 20
TEMP_PREFIX = ".tmp-"  # also the name older releases gave temporaries beside their target
LOCKS_DIR = f"{TEMP_DIR}/locks"  # lock files, which gc's sweep of .tmp/ leaves to their owners


class UnsafeLayout(IntegrityError):
    """A registry path is a symbolic link (or not the kind of file the layout says)."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"{path}: {why}; a registry holds no symbolic links (see docs/security.md)")
        self.path = path


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


def _file_info(status: os.stat_result) -> FileInfo:
    """What a listing says of a file: its size, its identity as the change token, mtime.
    The token is what git's index compares besides the size: a rewrite, a rename over the
    file or a touch changes one of them (ctime cannot be set back from user space)."""
    return FileInfo(status.st_size, f"{status.st_mtime_ns}:{status.st_ino}:{status.st_ctime_ns}", status.st_mtime)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _make_parents(directory: Path, root: Path) -> set[Path]:
    """``mkdir -p`` below ``root``; returns the parents of the directories it made, whose new
    entries must be fsynced too."""
    missing = []
    while directory != root and not directory.is_dir():
        missing.append(directory)
        directory = directory.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
    return {folder.parent for folder in missing}


def flush_all(paths: list[Path]) -> None:
    """Make ``paths`` (files, or directories whose entries changed) durable: one ``syncfs``
    of their filesystem where Linux has it (a whole batch for the price of one flush, as
    git's batch mode pays one), else an fsync of each."""
    syncfs = _syncfs() if len(paths) > 1 else None
    if syncfs is not None:
        fd = os.open(paths[0].parent, os.O_RDONLY)
        try:
            syncfs(fd)
        finally:
            os.close(fd)
        return
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@functools.cache
def _syncfs():
    """libc's ``syncfs`` (Linux) as a function raising ``OSError``, or None where it is
    missing; ctypes loads only for a batch."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None

    def syncfs(fd: int) -> None:
        if function(fd) != 0:
            number = ctypes.get_errno()
            raise OSError(number, os.strerror(number))

    return syncfs


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
        self._path = storage.temp_path()
        with os_errors("writing", self._path):
            self._file = open(self._path, "xb")

    def write(self, chunk: bytes) -> None:
        with os_errors("writing", self._path):
            self._file.write(chunk)

    def commit(self, path: str) -> bool:
        try:
            final = self._storage.path_of(path)
            if os.path.lexists(final):  # stored before: skip the fsync of bytes we are about to drop
                self.abort()
                return False
            with os_errors("writing", final):
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
                final.parent.mkdir(parents=True, exist_ok=True)
                return _link_exclusive(self._path, final)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        try:
            self._file.close()
        except OSError:  # a full disk refuses the flush of buffered bytes we are dropping anyway
            pass
        self._path.unlink(missing_ok=True)


class LocalStorage:
    def __init__(self, url: str) -> None:
        self.root = _root_of(url).resolve()
        self.url = str(self.root)
        self._real_dirs: set[str] = {""}  # directories already seen to be real, not links

    def _check_dirs(self, path: str, include_last: bool) -> None:
        """Refuse a path whose directories (below the root) include a symbolic link."""
        parts = path.split("/") if path else []
        for end in range(1, len(parts) + (1 if include_last else 0)):
            directory = "/".join(parts[:end])
            if directory in self._real_dirs:
                continue
            try:
                mode = os.lstat(self.root / directory).st_mode
            except (FileNotFoundError, NotADirectoryError):
                return  # created on write; nothing below it exists yet
            except OSError as error:
                raise SystemRefused(error, "reading", str(self.root / directory)) from None
            if stat.S_ISLNK(mode):
                raise UnsafeLayout(directory, f"is a symbolic link to {os.readlink(self.root / directory)}")
            if stat.S_ISDIR(mode):
                self._real_dirs.add(directory)

    def path_of(self, path: str) -> Path:
        self._check_dirs(check_path(path), include_last=False)
        return self.root / path

    def temp_path(self) -> Path:
        """A fresh name under ``.tmp/``, the only place temporaries are written."""
        directory = self.path_of(f"{TEMP_DIR}/x").parent
        with os_errors("creating", directory):
            directory.mkdir(parents=True, exist_ok=True)
        return directory / f"{TEMP_PREFIX}{uuid.uuid4().hex}"

    def _open_no_follow(self, path: str) -> BinaryIO:
        target = self.path_of(path)
        try:
            fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            raise PathNotFound(f"{self.url}/{path}") from None
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise UnsafeLayout(path, f"is a symbolic link to {os.readlink(target)}") from None
            raise SystemRefused(error, "reading", str(target)) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            if os.path.isdir(target):
                raise PathNotFound(f"{self.url}/{path}")
            raise UnsafeLayout(path, "is not a regular file")
        return os.fdopen(fd, "rb")

    def read(self, path: str) -> bytes:
        with self._open_no_follow(path) as stream, os_errors("reading", self.root / path):
            return stream.read()

    def open_read(self, path: str) -> BinaryIO:
        return self._open_no_follow(path)

    def iter_chunks(self, path: str) -> Iterator[bytes]:
        with self.open_read(path) as stream, os_errors("reading", self.root / path):
            while chunk := stream.read(CHUNK):
                yield chunk

    def exists(self, path: str) -> bool:
        target = self.path_of(path)
        try:
            mode = os.lstat(target).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as error:
            raise SystemRefused(error, "reading", str(target)) from None
        if stat.S_ISLNK(mode):
            raise UnsafeLayout(path, f"is a symbolic link to {os.readlink(target)}")
        return stat.S_ISREG(mode)

    def _write_temp(self, final: Path, data: bytes) -> Path:
        temp = self.temp_path()
        with os_errors("writing", final):
            try:
                with open(temp, "xb") as stream:
                    stream.write(data)
                    stream.flush()
                    os.fsync(stream.fileno())
                final.parent.mkdir(parents=True, exist_ok=True)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
        return temp

    def create(self, path: str, data: bytes) -> FileInfo:
        final = self.path_of(path)
        temp = self._write_temp(final, data)
        with os_errors("writing", final):
            created = _link_exclusive(temp, final)
            if not created:
                raise AlreadyExists(path)
            return _file_info(os.stat(final, follow_symlinks=False))

    def create_many(self, files: Mapping[str, bytes]) -> dict[str, FileInfo]:
        """Exclusive creates made durable as a batch, as git's ``core.fsyncMethod=batch``:
        every file is written under ``.tmp/``, all of them are flushed to disk together
        (``flush_all``), each is linked to its name, then every directory that gained a name
        is fsynced once. A kill leaves some files complete under their names, the rest
        under ``.tmp/``, never a partial file under a final name."""
        staged: list[tuple[str, Path, Path]] = []
        temp_dir = self.temp_path().parent
        try:
            for path, data in files.items():
                final = self.path_of(path)
                temp = temp_dir / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
                with os_errors("writing", final):
                    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                    staged.append((path, temp, final))
                    try:
                        _write_all(fd, data)
                    finally:
                        os.close(fd)
            with os_errors("writing", temp_dir):
                flush_all([temp for _, temp, _ in staged])
            created, touched = {}, set()
            for path, temp, final in staged:
                with os_errors("writing", final):
                    touched |= _make_parents(final.parent, self.root)
                    try:
                        os.link(temp, final)
                    except FileExistsError:
                        continue
                    temp.unlink()  # before the stat: dropping a link changes the ctime a listing reports
                    touched.add(final.parent)
                    created[path] = _file_info(os.stat(final, follow_symlinks=False))
            with os_errors("writing", self.root):
                flush_all(sorted(touched, key=lambda folder: len(folder.parts), reverse=True))
            return created
        finally:
            for _, temp, _ in staged:
                temp.unlink(missing_ok=True)

    def replace(self, path: str, data: bytes) -> None:
        final = self.path_of(path)
        temp = self._write_temp(final, data)
        with os_errors("writing", final):
            try:
                os.replace(temp, final)
            finally:
                temp.unlink(missing_ok=True)
            _fsync_dir(final.parent)

    def read_tagged(self, path: str) -> tuple[bytes, str] | None:
        try:
            data = self.read(path)
        except PathNotFound:
            return None
        return data, hashlib.sha256(data).hexdigest()

    def swap(self, path: str, tag: str | None, data: bytes) -> bool:
        """Under an exclusive lock on ``.tmp/locks/``: compare, then rename into place."""
        lock = self.path_of(f"{LOCKS_DIR}/{path.replace('/', '%')}.lock")
        with os_errors("locking", lock):
            lock.parent.mkdir(parents=True, exist_ok=True)
            handle = open(lock, "ab")
        with handle:
            with os_errors("locking", lock):
                fcntl.flock(handle, fcntl.LOCK_EX)
            current = self.read_tagged(path)
            if (current[1] if current else None) != tag:
                return False
            self.replace(path, data)
            return True

    def delete(self, path: str) -> None:
        target = self.path_of(path)
        with os_errors("deleting", target):
            target.unlink(missing_ok=True)

    def file_info(self, path: str) -> FileInfo:
        """What a listing would say of ``path`` (for the index to learn a file just written)."""
        target = self.path_of(path)
        try:
            info = os.lstat(target)
        except (FileNotFoundError, NotADirectoryError):
            raise PathNotFound(f"{self.url}/{path}") from None
        except OSError as error:
            raise SystemRefused(error, "reading", str(target)) from None
        if stat.S_ISLNK(info.st_mode):
            raise UnsafeLayout(path, f"is a symbolic link to {os.readlink(target)}")
        return _file_info(info)

    def listing(self, prefix: str) -> dict[str, FileInfo]:
        """Every file below ``prefix`` except in dot-directories and stray temporaries; a
        symbolic link anywhere else below refuses the whole listing (``UnsafeLayout``)."""
        if prefix:
            self._check_dirs(check_path(prefix), include_last=True)
        found: dict[str, FileInfo] = {}
        pending = [prefix]
        while pending:
            relative_dir = pending.pop()
            directory = os.path.join(self.url, relative_dir) if relative_dir else self.url
            try:
                entries = list(os.scandir(directory))
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as error:
                raise SystemRefused(error, "listing", str(directory)) from None
            for entry in entries:
                name = entry.name
                if name.startswith(TEMP_PREFIX):
                    continue
                relative = f"{relative_dir}/{name}" if relative_dir else name
                if entry.is_symlink():
                    raise UnsafeLayout(relative, f"is a symbolic link to {os.readlink(entry.path)}")
                if entry.is_dir(follow_symlinks=False):
                    if not name.startswith("."):  # .cache/, .tmp/: never registry files
                        self._real_dirs.add(relative)
                        pending.append(relative)
                elif entry.is_file(follow_symlinks=False):
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:  # deleted since the directory was read (gc, a marker)
                        continue
                    found[relative] = _file_info(info)
        return dict(sorted(found.items()))

    def folders(self, prefix: str) -> list[str]:
        """The names of the folders directly in ``prefix``, in sorted order, with nothing below
        them listed or stat'ed; a symbolic link there is refused as ``listing`` refuses it."""
        self._check_dirs(check_path(prefix), include_last=True)
        directory = os.path.join(self.url, prefix)
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as error:
            raise SystemRefused(error, "listing", directory) from None
        names = []
        for entry in entries:
            if entry.name.startswith(TEMP_PREFIX):
                continue
            if entry.is_symlink():
                raise UnsafeLayout(f"{prefix}/{entry.name}", f"is a symbolic link to {os.readlink(entry.path)}")
            if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                names.append(entry.name)
        return sorted(names)

    def identities(self, paths: list[str]) -> list[FileInfo | None]:
        """What ``lstat`` says of each path, file or folder (None: absent). A folder's token
        changes whenever an entry in it is added, removed or renamed, so a folder of write-once
        files whose token held still holds the files it held: git's untracked cache reasons
        the same way. A symbolic link is refused."""
        found: list[FileInfo | None] = []
        root = os.path.join(self.url, "")
        for path in paths:
            try:
                status = os.lstat(root + path)
            except (FileNotFoundError, NotADirectoryError):
                found.append(None)
                continue
            except OSError as error:
                raise SystemRefused(error, "reading", root + path) from None
            if stat.S_ISLNK(status.st_mode):
                raise UnsafeLayout(path, f"is a symbolic link to {os.readlink(root + path)}")
            found.append(_file_info(status))
        return found

    def stage(self) -> LocalStaged:
        return LocalStaged(self)

    def sweep_temporaries(self, older_than: float) -> list[str]:
        """Delete temporaries left by killed writers: files in ``.tmp/`` (not its locks) and
        stray ``.tmp-*`` files beside registry files, modified before ``older_than`` (epoch
        seconds). Returns the paths removed, relative to the root."""
        removed = []
        for directory, subdirs, files in os.walk(self.root):
            relative_dir = os.path.relpath(directory, self.root).replace(os.sep, "/")
            relative_dir = "" if relative_dir == "." else relative_dir
            subdirs[:] = [name for name in subdirs if _swept_dir(relative_dir, name)]
            in_tmp = relative_dir == TEMP_DIR or relative_dir.startswith(f"{TEMP_DIR}/")
            for name in files:
                path = os.path.join(directory, name)
                if (in_tmp or name.startswith(TEMP_PREFIX)) and _unlink_if_older(path, older_than):
                    removed.append(f"{relative_dir}/{name}" if relative_dir else name)
        return sorted(removed)


def _unlink_if_older(path: str, older_than: float) -> bool:
    """Delete ``path`` if it was modified before ``older_than``. A live writer renames its
    temporary into place at any moment, so a file gone before or between the two calls is
    not an error: it was never ours to delete."""
    with os_errors("deleting", path):
        try:
            if os.lstat(path).st_mtime > older_than:
                return False
            os.unlink(path)
        except FileNotFoundError:
            return False
    return True


def _swept_dir(parent: str, name: str) -> bool:
    """Which directories the temporaries sweep enters: ``.tmp`` (not ``.tmp/locks``) and
    every non-hidden directory, where older releases left ``.tmp-*`` files."""
    relative = f"{parent}/{name}" if parent else name
    if relative == LOCKS_DIR:
        return False
    return relative == TEMP_DIR or relative.startswith(f"{TEMP_DIR}/") or not name.startswith(".")

