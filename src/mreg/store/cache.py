"""A derived, rebuildable cache of parsed registry files, so reads do not re-parse YAML.

The source of truth is always the files themselves: each read lists the files it needs
(one listing, not one request per file), and a cached entry is used only while the file's
size and change token (mtime locally, ETag on S3) are the ones it was parsed from. The
cache lives at ``.cache/files.json`` inside the registry, is ignored by git, may be deleted
at any time, and is written only when a command succeeds (``flush``), so a refused command
leaves the registry as it was. ``verify`` never consults it.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, NamedTuple

from mreg.errors import MregError
from mreg.store.storage import FileInfo, Storage

CACHE_PATH = ".cache/files.json"
CACHE_FORMAT = 1
PARALLEL_READS = 16


class Parsed(NamedTuple):
    """A file's parsed document and the sha256 of its bytes."""

    data: Any
    digest: str


class FileCache:
    def __init__(self, storage: Storage, parse: Callable[[bytes, str], Any]) -> None:
        self._storage = storage
        self._parse = parse
        self._entries: dict[str, dict] | None = None
        self._dirty = False

    def _load(self) -> dict[str, dict]:
        if self._entries is None:
            self._entries = {}
            try:
                document = json.loads(self._storage.read(CACHE_PATH))
                if document.get("format") == CACHE_FORMAT:
                    self._entries = document["files"]
            except (MregError, ValueError, KeyError, TypeError, AttributeError):
                self._entries = {}
        return self._entries

    @staticmethod
    def _fresh(entry: dict | None, info: FileInfo) -> bool:
        return bool(entry) and entry["size"] == info.size and entry["token"] == info.token

    def _learn(self, path: str, info: FileInfo, raw: bytes) -> Parsed:
        parsed = Parsed(self._parse(raw, path), f"sha256:{hashlib.sha256(raw).hexdigest()}")
        self._load()[path] = {"size": info.size, "token": info.token, **parsed._asdict()}
        self._dirty = True
        return parsed

    def get(self, path: str, info: FileInfo) -> Parsed:
        """The parsed content and digest of ``path``, re-reading it if it changed."""
        entry = self._load().get(path)
        if self._fresh(entry, info):
            return Parsed(entry["data"], entry["digest"])
        return self._learn(path, info, self._storage.read(path))

    def prefetch(self, listing: dict[str, FileInfo]) -> None:
        """Read every listed YAML file the cache does not hold as listed, many at a time: on S3
        a cold read then costs round trips in parallel rather than one after another."""
        entries = self._load()
        missing = [(path, info) for path, info in listing.items()
                   if path.endswith(".yaml") and not self._fresh(entries.get(path), info)]
        if len(missing) < 2:
            return
        with ThreadPoolExecutor(PARALLEL_READS) as pool:
            contents = list(pool.map(lambda item: self._storage.read(item[0]), missing))
        for (path, info), raw in zip(missing, contents):
            self._learn(path, info, raw)

    def forget_missing(self, present: set[str], prefix: str) -> None:
        entries = self._load()
        stale = [path for path in entries if path.startswith(prefix) and path not in present]
        for path in stale:
            del entries[path]
        self._dirty = self._dirty or bool(stale)

    def flush(self) -> None:
        """Write the cache back if it learned anything; a failure here is harmless."""
        if not self._dirty or self._entries is None:
            return
        document = {"format": CACHE_FORMAT, "files": dict(sorted(self._entries.items()))}
        try:
            self._storage.replace(CACHE_PATH, json.dumps(document, separators=(",", ":")).encode())
        except (MregError, OSError):
            return
        self._dirty = False

    def clear(self) -> None:
        self._storage.delete(CACHE_PATH)
        self._entries, self._dirty = {}, False
