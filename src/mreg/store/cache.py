"""A derived, rebuildable cache of parsed registry files, so reads do not re-parse YAML.

The source of truth is always the files themselves: each read lists the files it needs
(one listing, not one request per file), and a cached entry is used only while the file's
size and change token (mtime locally, ETag on S3) are the ones it was parsed from. The
cache lives at ``.cache/files.json`` inside the registry, is ignored by git, may be deleted
at any time, and is written only when a command succeeds (``flush``), so a refused command
leaves the registry as it was. ``verify`` never consults it.

One file keeps a whole-registry read to one request on S3; inside it, each model's entries
are a *shard* kept as a JSON string and decoded only when that model is read, so a command
about one model of thousands does not pay for parsing all of them.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, NamedTuple

from mreg.errors import MregError
from mreg.layout import FILE_CACHE
from mreg.store.storage import FileInfo, Storage

CACHE_PATH = FILE_CACHE
CACHE_FORMAT = 2
PARALLEL_READS = 16


class Parsed(NamedTuple):
    """A file's parsed document and the sha256 of its bytes."""

    data: Any
    digest: str


def shard_of(path: str) -> str:
    """``models/M/versions/v1.yaml`` -> ``models/M``: one shard per model."""
    return "/".join(path.split("/", 2)[:2])


class FileCache:
    def __init__(self, storage: Storage, parse: Callable[[bytes, str], Any]) -> None:
        self._storage = storage
        self._parse = parse
        self._encoded: dict[str, str] | None = None  # shard -> JSON text, as stored
        self._decoded: dict[str, dict[str, dict]] = {}  # shard -> {path: entry}, once read
        self._dirty: set[str] = set()

    def _shards(self) -> dict[str, str]:
        if self._encoded is None:
            self._encoded = {}
            try:
                document = json.loads(self._storage.read(CACHE_PATH))
                if document.get("format") == CACHE_FORMAT:
                    self._encoded = dict(document["shards"])
            except (MregError, ValueError, KeyError, TypeError, AttributeError):
                self._encoded = {}
        return self._encoded

    def _entries(self, shard: str) -> dict[str, dict]:
        if shard not in self._decoded:
            text = self._shards().get(shard)
            try:
                self._decoded[shard] = json.loads(text) if text else {}
            except ValueError:
                self._decoded[shard] = {}
        return self._decoded[shard]

    def _cached(self, path: str, info: FileInfo) -> Parsed | None:
        entry = self._entries(shard_of(path)).get(path)
        if entry and entry["size"] == info.size and entry["token"] == info.token:
            return Parsed(entry["data"], entry["digest"])
        return None

    def written(self, path: str, info: FileInfo, raw: bytes, data: Any) -> None:
        """Learn a file this process just created from its bytes and document (``info`` is
        what the store said of it), so the command after a bulk import does not parse it back."""
        self._remember(path, info, raw, data)

    def _learn(self, path: str, info: FileInfo, raw: bytes) -> Parsed:
        return self._remember(path, info, raw, self._parse(raw, path))

    def _remember(self, path: str, info: FileInfo, raw: bytes, data: Any) -> Parsed:
        parsed = Parsed(data, f"sha256:{hashlib.sha256(raw).hexdigest()}")
        shard = shard_of(path)
        self._entries(shard)[path] = {"size": info.size, "token": info.token, **parsed._asdict()}
        self._dirty.add(shard)
        return parsed

    def get(self, path: str, info: FileInfo) -> Parsed:
        """The parsed content and digest of ``path``, re-reading it if it changed."""
        return self._cached(path, info) or self._learn(path, info, self._storage.read(path))

    def prefetch(self, listing: dict[str, FileInfo]) -> None:
        """Read every listed YAML file the cache does not hold as listed, many at a time: on S3
        a cold read then costs round trips in parallel rather than one after another."""
        missing = [(path, info) for path, info in listing.items()
                   if path.endswith(".yaml") and self._cached(path, info) is None]
        if len(missing) < 2:
            return
        with ThreadPoolExecutor(PARALLEL_READS) as pool:
            contents = list(pool.map(lambda item: self._storage.read(item[0]), missing))
        for (path, info), raw in zip(missing, contents):
            self._learn(path, info, raw)

    def forget_missing(self, present: set[str]) -> None:
        """Drop shards and entries of files that no longer exist (after a full listing)."""
        live = {shard_of(path) for path in present}
        for shard in [shard for shard in self._shards() if shard not in live]:
            del self._encoded[shard]
            self._decoded.pop(shard, None)
            self._dirty.add(shard)
        for shard in live:
            entries = self._entries(shard)
            stale = [path for path in entries if path not in present]
            for path in stale:
                del entries[path]
            if stale:
                self._dirty.add(shard)

    def flush(self) -> None:
        """Write the cache back if it learned anything; a failure here is harmless."""
        if not self._dirty:
            return
        shards = dict(self._shards())
        for shard in self._dirty:
            entries = self._decoded.get(shard)
            if entries:
                shards[shard] = json.dumps(entries, sort_keys=True, separators=(",", ":"))
            else:
                shards.pop(shard, None)
        document = {"format": CACHE_FORMAT, "shards": dict(sorted(shards.items()))}
        try:
            self._storage.replace(CACHE_PATH, json.dumps(document, separators=(",", ":")).encode())
        except (MregError, OSError):
            return
        self._encoded, self._dirty = shards, set()

    def clear(self) -> None:
        self._storage.delete(CACHE_PATH)
        self._encoded, self._decoded, self._dirty = {}, {}, set()
