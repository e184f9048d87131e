"""Digests of local files already hashed, so an unchanged file is not read or uploaded twice.

One pass over a file both hashes and stores it, so until the digest is known nothing can
tell whether the store already holds those bytes. This cache closes that gap the way git's
index and DVC's state database do: a file's real path maps to its digest while its size,
mtime (ns), inode and device are unchanged. An entry is written only when the file did not
change while it was read and its mtime was already more than ``RACY_SECONDS`` old when
reading began, so a write in the same clock tick cannot leave a stale digest behind.

It describes this machine's files, not a registry, so it lives in the user's cache
directory: ``$MREG_CACHE_DIR``, else ``$XDG_CACHE_HOME/mreg``, else ``~/.cache/mreg``.
Losing it costs one re-read; a failure to save it is ignored. Files under ``MIN_SIZE`` are
hashed rather than looked up (and the cache is then not read at all): reading it costs
more than hashing them, and a 1 KiB registration paid that on every call.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from pathlib import Path

RACY_SECONDS = 2.0
MIN_SIZE = 1 << 20  # smaller files are hashed faster than the cache is read
MAX_ENTRIES = 20_000
FORMAT = 1


def cache_dir() -> Path:
    """This user's cache directory for mreg (also home of S3 registries' derived indexes)."""
    base = os.environ.get("MREG_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "mreg"


def cache_file() -> Path:
    return cache_dir() / "digests.json"


def _identity(status: os.stat_result) -> list[int]:
    return [status.st_size, status.st_mtime_ns, status.st_ino, status.st_dev]


class DigestCache:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_file()
        self._lock = threading.Lock()
        self._changed = False

    @functools.cached_property
    def _entries(self) -> dict[str, dict]:
        """Read on first use: a registration of small files (hashed, never looked up) pays nothing."""
        try:
            document = json.loads(self.path.read_text())
            return document["files"] if document.get("format") == FORMAT else {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}

    def lookup(self, file: Path) -> tuple[str, int] | None:
        """(digest, size) of ``file`` if it is unchanged since it was last hashed."""
        entry = self._entries.get(os.path.realpath(file))
        try:
            status = os.stat(file)
        except OSError:
            return None
        if entry is None or entry["identity"] != _identity(status):
            return None
        return entry["digest"], status.st_size

    def remember(self, file: Path, before: os.stat_result, started: float, digest: str) -> None:
        """Record ``digest`` for ``file`` if it held still while read and was not racy."""
        try:
            after = os.stat(file)
        except OSError:
            return
        if _identity(after) != _identity(before) or before.st_mtime > started - RACY_SECONDS:
            return
        with self._lock:
            self._entries.pop(os.path.realpath(file), None)
            self._entries[os.path.realpath(file)] = {"identity": _identity(before), "digest": digest}
            while len(self._entries) > MAX_ENTRIES:
                del self._entries[next(iter(self._entries))]
            self._changed = True

    def save(self) -> None:
        if not self._changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{time.monotonic_ns()}")
            temp.write_text(json.dumps({"format": FORMAT, "files": self._entries}, separators=(",", ":")))
            os.replace(temp, self.path)
        except OSError:
            return
        self._changed = False
