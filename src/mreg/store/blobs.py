"""Content-addressed blobs: ``objects/sha256/<2 hex>/<62 hex>``, named by the sha256 of their bytes.

Invariants:

- A blob's name is the hash of its bytes; a name never maps to two contents, and identical
  bytes are stored once (a second put finds the name taken and discards its copy).
- A blob is hashed while it is written, in one pass over the source; it becomes visible
  only under its final name, complete, via the storage's exclusive commit.
- Reads can verify: ``iter_verified`` raises ``CorruptObject`` if the bytes do not hash to
  the name, after yielding them, so a caller that writes to a temporary file can discard it.
- A directory is stored as a *tree*: each file a blob, plus a canonical listing (sorted
  paths, JSON, one entry per file) stored as a blob whose digest names the directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple

from mreg.codec import TREE_LIMITS, load_json
from mreg.codec import digest_bytes as digest_bytes  # the store's name for it, kept for callers
from mreg.errors import CorruptObject, IntegrityError, InvalidManifest, PathNotFound, UsageError
from mreg.layout import OBJECTS, digest_of_path, is_digest, object_path
from mreg.paths import paths_problem
from mreg.store.digests import MIN_SIZE, DigestCache
from mreg.store.storage import FileInfo, Storage

CHUNK = 1 << 20
PARALLEL_PUTS = 8  # files of a tree stored at once (S3 connections stay below the pool size)
TREE_FORMAT = "mreg-tree-1"

Progress = Callable[[int], None]


class Stored(NamedTuple):
    digest: str
    size: int
    files: int | None = None


class BlobStore:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def has(self, digest: str) -> bool:
        return self.storage.exists(object_path(digest))

    def put_chunks(self, chunks: Iterable[bytes], progress: Progress | None = None) -> Stored:
        """Store a stream, hashing it as it is written; returns its digest and size."""
        hasher, size = hashlib.sha256(), 0
        staged = self.storage.stage()
        try:
            for chunk in chunks:
                hasher.update(chunk)
                staged.write(chunk)
                size += len(chunk)
                if progress:
                    progress(len(chunk))
        except BaseException:
            staged.abort()
            raise
        digest = f"sha256:{hasher.hexdigest()}"
        staged.commit(object_path(digest))
        return Stored(digest, size)

    def put_bytes(self, data: bytes) -> Stored:
        return self.put_chunks([data])

    def put_many(self, contents: Iterable[bytes]) -> list[Stored]:
        """Store many small blobs as one durable batch (``Storage.create_many``); a blob
        already here is the same bytes by its name, so finding it is not an error."""
        contents = list(contents)
        stored = [Stored(digest_bytes(data), len(data)) for data in contents]
        self.storage.create_many({object_path(blob.digest): data for blob, data in zip(stored, contents)})
        return stored

    def sizes(self, digests: Iterable[str]) -> dict[str, int]:
        """The size of each blob among ``digests`` that is here, from one listing per fan-out
        directory (``objects/sha256/xx``): checking thousands of records costs at most 256
        listings, not a request per blob."""
        wanted = set(digests)
        found: dict[str, int] = {}
        for folder in sorted({object_path(digest).rpartition("/")[0] for digest in wanted}):
            for path, info in self.storage.listing(folder).items():
                digest = digest_of_path(path)
                if digest in wanted:
                    found[digest] = info.size
        return found

    def put_file(self, path: Path, progress: Progress | None = None, digests: DigestCache | None = None) -> Stored:
        """Store a local file in one pass; a file of ``MIN_SIZE`` or more that ``digests``
        knows, whose blob is already here, is neither read nor uploaded again."""
        before, started = os.stat(path), time.time()
        if before.st_size < MIN_SIZE:
            digests = None
        known = digests.lookup(path) if digests is not None else None
        if known is not None and self.has(known[0]):
            if progress:
                progress(known[1])
            return Stored(*known)
        stored = self.put_chunks(_file_chunks(path), progress)
        if digests is not None:
            digests.remember(path, before, started, stored.digest)
        return stored

    def put_tree(
        self, files: list[tuple[str, Path]], progress: Progress | None = None, digests: DigestCache | None = None
    ) -> Stored:
        """Store a directory's files (``walk_tree``'s list: the caller walked it once) and the
        canonical listing that names the tree.

        Files go up ``PARALLEL_PUTS`` at a time: on S3 each put is a few round trips, and a
        directory artifact may hold thousands of small files.
        """
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(PARALLEL_PUTS) as pool:
            stored_files = list(pool.map(lambda item: self.put_file(item[1], progress, digests), files))
        entries = [
            {"path": relative, "digest": stored.digest, "size": stored.size}
            for (relative, _), stored in zip(files, stored_files)
        ]
        listing = tree_listing(entries)
        stored = self.put_bytes(listing)
        return Stored(stored.digest, sum(entry["size"] for entry in entries), len(entries))

    def read(self, digest: str) -> bytes:
        return b"".join(self.iter_verified(digest))

    def iter_verified(self, digest: str) -> Iterator[bytes]:
        path = object_path(digest)
        hasher = hashlib.sha256()
        for chunk in self.storage.iter_chunks(path):
            hasher.update(chunk)
            yield chunk
        actual = f"sha256:{hasher.hexdigest()}"
        if actual != digest:
            raise CorruptObject(f"{self.storage.url}/{path}", digest, actual)

    def tree_entries(self, digest: str) -> list[dict]:
        """The verified listing of a tree blob; ``MalformedTree`` unless it is one mreg wrote."""
        where = object_path(digest)
        raw = bytearray()
        for chunk in self.iter_verified(digest):
            raw += chunk
            if len(raw) > TREE_LIMITS.json_bytes:
                raise MalformedTree(where, f"larger than the limit of {TREE_LIMITS.json_bytes} bytes")
        raw = bytes(raw)
        try:
            document = load_json(raw, where, TREE_LIMITS)
        except InvalidManifest as exc:
            raise MalformedTree(where, exc.message.removeprefix(f"{where}: ")) from None
        problem = _listing_problem(document)
        if problem is None and tree_listing(document["entries"]) != raw:
            problem = "not in the canonical form mreg writes"
        if problem:
            raise MalformedTree(where, problem)
        return document["entries"]

    def all_objects(self) -> dict[str, FileInfo]:
        """Every well-formed object in the store, by digest, with its listing details."""
        listing = self.storage.listing(OBJECTS)
        found = {digest_of_path(path): info for path, info in listing.items()}
        found.pop(None, None)
        return found  # type: ignore[return-value]


class MalformedTree(IntegrityError):
    """A blob named as a tree that is not a well-formed listing (exit 5, naming the blob)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: not a valid tree listing: {problem}")
        self.path = path


def _listing_problem(document: object) -> str | None:
    if not isinstance(document, dict) or document.get("format") != TREE_FORMAT:
        return f"format is not {TREE_FORMAT}"
    entries = document.get("entries")
    if set(document) != {"format", "entries"} or not isinstance(entries, list):
        return "expected exactly the keys format and entries (a list)"
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or set(entry) != {"path", "digest", "size"}:
            return f"entry {number} is not a mapping of path, digest and size"
        size, digest = entry["size"], entry["digest"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            return f"entry {number} has size {size!r}, not a count of bytes"
        if not is_digest(digest):
            return f"entry {number} has digest {digest!r}, not sha256:<64 hex>"
    return paths_problem(entry["path"] for entry in entries)


def tree_listing(entries: list[dict]) -> bytes:
    """Canonical bytes of a tree: sorted entries, sorted keys, no whitespace variance."""
    ordered = sorted(entries, key=lambda entry: entry["path"])
    return json.dumps(
        {"format": TREE_FORMAT, "entries": ordered}, sort_keys=True, separators=(",", ":")
    ).encode("utf-8")


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            yield chunk


def check_artifact_source(path: Path) -> str:
    """``file`` or ``tree`` for a path a user asked to register; refuse anything else."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise PathNotFound(str(path)) from None
    except OSError as exc:  # a symlink loop, a permission problem
        raise UsageError(f"cannot read artifact {path}: {exc.strerror}") from None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "tree"
    raise UsageError(f"cannot register {path}: not a regular file or directory")


def walk_tree(root: Path) -> list[tuple[str, Path]]:
    """Files below ``root`` as (relative posix path, source), sorted.

    Symlinks are followed only while they stay inside ``root``; a link out of it, a link
    loop, a device, FIFO or socket is refused with the offending path named.
    """
    real_root = Path(os.path.realpath(root))
    found: list[tuple[str, Path]] = []

    def visit(directory: Path, relative: str, ancestors: frozenset[str]) -> None:
        for entry in sorted(os.scandir(directory), key=lambda item: item.name):
            shown = f"{relative}{entry.name}"
            target = os.path.realpath(entry.path)
            if entry.is_symlink():
                if not os.path.exists(target):
                    raise UsageError(f"cannot register {root}: broken symlink {shown}")
                if os.path.commonpath([target, real_root]) != str(real_root):
                    raise UsageError(f"cannot register {root}: symlink {shown} points outside it")
            mode = os.stat(entry.path).st_mode
            if stat.S_ISDIR(mode):
                if target in ancestors:
                    raise UsageError(f"cannot register {root}: symlink loop at {shown}")
                visit(Path(entry.path), f"{shown}/", ancestors | {target})
            elif stat.S_ISREG(mode):
                found.append((shown, Path(entry.path)))
            else:
                raise UsageError(f"cannot register {root}: {shown} is not a regular file")

    visit(root, "", frozenset({str(real_root)}))
    return found
