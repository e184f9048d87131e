"""Artifacts in and out: files and directories into the blob store, external URLs by digest,
and everything back out to a directory with every byte verified.

Sources are all checked before the first byte is stored, so a bad ``-a`` leaves the
registry untouched. Pulled files are written to a temporary name and renamed only after
their bytes hashed to the recorded digest.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

from mreg.errors import AlreadyExists, CorruptObject, StoreUnavailable, UsageError
from mreg.manifest import Artifact
from mreg.results import PulledFile
from mreg.store.blobs import CHUNK, BlobStore, Progress, check_artifact_source, walk_tree
from mreg.store.digests import DigestCache


@dataclass(frozen=True)
class Source:
    """One ``-a`` argument: a local file, a local directory, or an external URL."""

    name: str
    kind: str
    location: str


def is_url(text: str) -> bool:
    scheme = urlparse(text).scheme
    return len(scheme) > 1 and "://" in text


def collect(arguments: list[str]) -> list[Source]:
    """Check every artifact argument; refuse missing paths, odd files and duplicate names."""
    sources = []
    for argument in arguments:
        if is_url(argument):
            name = posixpath.basename(urlparse(argument).path.rstrip("/")) or argument
            sources.append(Source(name, "external", argument))
            continue
        path = Path(argument)
        kind = check_artifact_source(path)
        if kind == "tree":
            walk_tree(path)  # raises on links out, loops and special files
        sources.append(Source(path.resolve().name, kind, str(path)))
    names = [source.name for source in sources]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise UsageError(f"two artifacts would both be named {duplicated[0]!r}; rename one")
    return sources


def store(blobs: BlobStore, sources: list[Source], progress: Progress | None = None) -> list[Artifact]:
    digests = DigestCache()
    artifacts = []
    for source in sources:
        if source.kind == "file":
            stored = blobs.put_file(Path(source.location), progress, digests)
        elif source.kind == "tree":
            stored = blobs.put_tree(Path(source.location), progress, digests)
        else:
            digest, size = hash_external(source.location, progress)
            artifacts.append(Artifact(path=source.name, kind="external", digest=digest, size=size, url=source.location))
            continue
        artifacts.append(
            Artifact(path=source.name, kind=source.kind, digest=stored.digest, size=stored.size, files=stored.files)
        )
    digests.save()
    return artifacts


def blob_digests(blobs: BlobStore, artifacts: list[Artifact]) -> set[str]:
    """Every blob the artifacts occupy: files, trees and the trees' entries. A tree whose
    listing is missing contributes only its own digest (verify reports it)."""
    digests = set()
    for artifact in artifacts:
        if artifact.kind == "external":
            continue
        digests.add(artifact.digest)
        if artifact.kind == "tree" and blobs.has(artifact.digest):
            digests.update(entry["digest"] for entry in blobs.tree_entries(artifact.digest))
    return digests


def _external_chunks(url: str) -> Iterator[bytes]:
    import fsspec

    try:
        with fsspec.open(url, "rb") as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
    except FileNotFoundError:
        raise UsageError(f"external artifact {url} does not exist") from None
    except (OSError, ValueError, ImportError) as exc:
        raise StoreUnavailable(url, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


def hash_external(url: str, progress: Progress | None = None) -> tuple[str, int]:
    """Digest and size of an external object, read once and not copied."""
    hasher, size = hashlib.sha256(), 0
    for chunk in _external_chunks(url):
        hasher.update(chunk)
        size += len(chunk)
        if progress:
            progress(len(chunk))
    return f"sha256:{hasher.hexdigest()}", size


def _write_verified(chunks: Iterator[bytes], target: Path, digest: str, progress: Progress | None) -> None:
    """Write to a temporary sibling, check the digest, then rename into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.mreg-partial")
    hasher = hashlib.sha256()
    try:
        with open(temp, "wb") as stream:
            for chunk in chunks:
                hasher.update(chunk)
                stream.write(chunk)
                if progress:
                    progress(len(chunk))
            stream.flush()
            os.fsync(stream.fileno())
        actual = f"sha256:{hasher.hexdigest()}"
        if actual != digest:
            raise CorruptObject(str(target), digest, actual)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _unchanged(target: Path, digest: str) -> bool:
    """True if ``target`` already holds ``digest``; a different file there is a conflict."""
    if not target.exists():
        return False
    hasher = hashlib.sha256()
    with open(target, "rb") as stream:
        while chunk := stream.read(CHUNK):
            hasher.update(chunk)
    if f"sha256:{hasher.hexdigest()}" != digest:
        raise AlreadyExists(str(target), "a different file is there; pull into an empty directory")
    return True


def _plan_files(blobs: BlobStore, artifacts: list[Artifact]) -> list[tuple[str, str, int, str | None]]:
    """(relative path, digest, size, external url) for every file the artifacts expand to."""
    files = []
    for artifact in artifacts:
        if artifact.kind == "tree":
            for entry in blobs.tree_entries(artifact.digest):
                files.append((f"{artifact.path}/{entry['path']}", entry["digest"], entry["size"], None))
        else:
            files.append((artifact.path, artifact.digest, artifact.size, artifact.url))
    return files


def materialize(
    blobs: BlobStore, artifacts: list[Artifact], directory: Path, progress: Progress | None = None
) -> list[PulledFile]:
    pulled = []
    for relative, digest, size, url in _plan_files(blobs, artifacts):
        target = directory / relative
        if not _unchanged(target, digest):
            chunks = _external_chunks(url) if url else blobs.iter_verified(digest)
            _write_verified(chunks, target, digest, progress)
        pulled.append(PulledFile(path=relative, digest=digest, size=size))
    return pulled
