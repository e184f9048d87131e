"""Artifacts in and out: files and directories into the blob store, external URLs by digest,
and everything back out to a directory with every byte verified.

Sources are all checked before the first byte is stored, so a bad ``-a`` leaves the
registry untouched. Pulled files are written to a temporary name and renamed only after
their bytes hashed to the recorded digest.
"""

from __future__ import annotations

import errno
import hashlib
import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

from mreg.errors import (
    AlreadyExists, CorruptObject, IntegrityError, MissingDependency, StoreUnavailable, UsageError, os_errors,
)
from mreg.manifest import Artifact
from mreg.paths import paths_problem
from mreg.results import PulledFile
from mreg.store.blobs import CHUNK, BlobStore, MalformedTree, Progress, check_artifact_source, walk_tree
from mreg.store.digests import DigestCache


@dataclass(frozen=True)
class Source:
    """One ``-a`` argument: a local file, a local directory, or an external URL.

    A directory is walked once, here: ``files`` is that walk (stored as is) and ``size``
    the bytes it holds (what a progress bar expects)."""

    name: str
    kind: str
    location: str
    files: tuple[tuple[str, Path], ...] = ()
    size: int = 0


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
            files = tuple(walk_tree(path))  # raises on links out, loops and special files
            size = sum(_size_of(source) for _, source in files)
        else:
            files, size = (), _size_of(path)
        sources.append(Source(path.resolve().name, kind, str(path), files, size))
    names = [source.name for source in sources]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise UsageError(f"two artifacts would both be named {duplicated[0]!r}; rename one")
    return sources


def _size_of(path: Path) -> int:
    with os_errors("reading", path):
        return path.stat().st_size


def store(blobs: BlobStore, sources: list[Source], progress: Progress | None = None) -> list[Artifact]:
    """Store collected sources (a directory from its walk in ``collect``, not walked again)."""
    expect = getattr(progress, "expect", None)  # a progress bar that wants the total up front
    if expect is not None:
        expect(sum(source.size for source in sources) or None)
    digests = DigestCache()
    artifacts = []
    for source in sources:
        if source.kind == "file":
            stored = blobs.put_file(Path(source.location), progress, digests)
        elif source.kind == "tree":
            stored = blobs.put_tree(list(source.files), progress, digests)
        else:
            digest, size = hash_external(source.location, progress)
            artifacts.append(Artifact(path=source.name, kind="external", digest=digest, size=size, url=source.location))
            continue
        artifacts.append(
            Artifact(path=source.name, kind=source.kind, digest=stored.digest, size=stored.size, files=stored.files)
        )
    digests.save()
    return artifacts


def store_bytes(blobs: BlobStore, files: dict[str, bytes]) -> list[Artifact]:
    """Artifacts that arrive as bytes (a tracking system's artifacts), stored like files."""
    artifacts = []
    for name, data in files.items():
        stored = blobs.put_bytes(data)
        artifacts.append(Artifact(path=name, kind="file", digest=stored.digest, size=stored.size))
    return artifacts


def check_records(blobs: BlobStore, records: list[Artifact], arriving: set[str] = frozenset()) -> None:
    """Refuse artifact records (a manifest's ``artifacts:``) that the blob store does not
    back: a blob absent, a tree record naming a blob that is no tree listing, or a size (or
    file count) other than the blob's. ``arriving`` are digests the same batch stores.
    External records name no blob here and are taken as given."""
    stored = [record for record in records if record.kind != "external"]
    sizes = blobs.sizes({record.digest for record in stored} - set(arriving))
    for record in stored:
        if record.digest in arriving:
            continue
        if record.digest not in sizes:
            raise UsageError(f"artifact {record.path}: blob {record.digest} is not in the blob store "
                             "(register the file with -a to store it)")
        if record.kind == "file" and sizes[record.digest] != record.size:
            raise UsageError(f"artifact {record.path}: size {record.size} does not match its blob's {sizes[record.digest]} bytes")
        if record.kind == "tree":
            _check_tree_record(blobs, record)


def _check_tree_record(blobs: BlobStore, record: Artifact) -> None:
    try:
        entries = blobs.tree_entries(record.digest)
    except MalformedTree:
        raise UsageError(f"artifact {record.path}: blob {record.digest} is a file, not a directory tree") from None
    size = sum(entry["size"] for entry in entries)
    if (size, len(entries)) != (record.size, record.files):
        raise UsageError(f"artifact {record.path}: the tree holds {len(entries)} files of {size} bytes, "
                         f"the record says {record.files} of {record.size}")
    present = blobs.sizes(entry["digest"] for entry in entries)
    missing = [entry["path"] for entry in entries if present.get(entry["digest"]) != entry["size"]]
    if missing:
        raise UsageError(f"artifact {record.path}: the blob of {missing[0]} is absent or of another size")


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


def _storage_options(url: str) -> dict:
    """An ``s3://`` artifact is read with the registry's own timeouts and retries (and its
    botocore session, which has parsed the service model already)."""
    if urlparse(url).scheme in ("s3", "s3a"):
        from mreg.store.s3 import client_config, session

        return {"config_kwargs": client_config(), "session": session()}
    return {}


def _missing_filesystem(url: str) -> MissingDependency:
    from fsspec.registry import known_implementations

    scheme = urlparse(url).scheme
    if scheme in ("s3", "s3a"):
        return MissingDependency("s3fs", "s3")
    package = known_implementations.get(scheme, {}).get("class", scheme).partition(".")[0]
    return MissingDependency(package, None)


def _external_chunks(url: str) -> Iterator[bytes]:
    import fsspec

    try:
        with fsspec.open(url, "rb", **_storage_options(url)) as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
    except FileNotFoundError:
        raise UsageError(f"external artifact {url} does not exist") from None
    except ImportError:  # fsspec's "Install s3fs to access S3", and its kin for gcs://, az://...
        raise _missing_filesystem(url) from None
    except (OSError, ValueError) as exc:
        raise StoreUnavailable(url, _first_line(exc)) from None
    except Exception as exc:  # botocore's and aiohttp's errors are not OSErrors
        if type(exc).__module__.partition(".")[0] not in _NETWORK_LIBRARIES:
            raise
        raise StoreUnavailable(url, _first_line(exc)) from None


_NETWORK_LIBRARIES = frozenset({"botocore", "aiobotocore", "aiohttp", "s3fs", "gcsfs", "adlfs", "requests", "urllib3"})


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def hash_external(url: str, progress: Progress | None = None) -> tuple[str, int]:
    """Digest and size of an external object, read once and not copied."""
    hasher, size = hashlib.sha256(), 0
    for chunk in _external_chunks(url):
        hasher.update(chunk)
        size += len(chunk)
        if progress:
            progress(len(chunk))
    return f"sha256:{hasher.hexdigest()}", size


class _OutputDirectory:
    """The directory ``pull`` writes into, walked one name at a time through directory file
    descriptors with ``O_NOFOLLOW``: no path from a document and no symbolic link already in
    the directory can make a write land outside it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        with os_errors("creating", directory):
            if directory.exists() and not directory.is_dir():
                raise UsageError(f"cannot pull into {directory}: it is not a directory")
            directory.mkdir(parents=True, exist_ok=True)
            self._root = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)

    def close(self) -> None:
        os.close(self._root)

    def parent_of(self, relative: str) -> tuple[int, str]:
        """An open descriptor of ``relative``'s directory (made where missing) and its last name."""
        *folders, name = relative.split("/")
        fd = os.dup(self._root)
        walked = []
        try:
            for folder in folders:
                walked.append(folder)
                try:
                    os.mkdir(folder, dir_fd=fd)
                except FileExistsError:
                    pass
                try:
                    child = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                except OSError as error:
                    if error.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise AlreadyExists(
                            str(self.directory / "/".join(walked)),
                            "it is a symbolic link or a file, and pull writes only into real directories",
                        ) from None
                    raise
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd, name


def _write_verified(chunks: Iterator[bytes], parent: int, name: str, shown: str, digest: str,
                    progress: Progress | None) -> None:
    """Write to a temporary sibling, check the digest, then rename into place."""
    temp = f".{name}.mreg-partial"
    hasher = hashlib.sha256()
    try:
        os.unlink(temp, dir_fd=parent)  # a partial file left by an interrupted pull
    except FileNotFoundError:
        pass
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            for chunk in chunks:
                hasher.update(chunk)
                stream.write(chunk)
                if progress:
                    progress(len(chunk))
            stream.flush()
            os.fsync(stream.fileno())
        actual = f"sha256:{hasher.hexdigest()}"
        if actual != digest:
            raise CorruptObject(shown, digest, actual)
        os.replace(temp, name, src_dir_fd=parent, dst_dir_fd=parent)
    finally:
        try:
            os.unlink(temp, dir_fd=parent)
        except FileNotFoundError:
            pass


def _unchanged(parent: int, name: str, shown: str, digest: str) -> bool:
    """True if ``name`` already holds ``digest``; a different file (or a link) there is a conflict."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=parent)
    except FileNotFoundError:
        return False
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise AlreadyExists(shown, "it is a symbolic link, which pull never writes through") from None
        raise
    hasher = hashlib.sha256()
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise AlreadyExists(shown, "it is not a regular file; pull into an empty directory")
        while chunk := stream.read(CHUNK):
            hasher.update(chunk)
    if f"sha256:{hasher.hexdigest()}" != digest:
        raise AlreadyExists(shown, "a different file is there; pull into an empty directory")
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
    plan = _plan_files(blobs, artifacts)
    problem = paths_problem(relative for relative, _, _, _ in plan)
    if problem:  # the manifest and listings were checked when read; this is the last line
        raise UnsafePath(f"refusing to pull: {problem}")
    output = _OutputDirectory(directory)
    pulled = []
    try:
        for relative, digest, size, url in plan:
            shown = str(directory / relative)
            with os_errors("writing", shown):
                parent, name = output.parent_of(relative)
                try:
                    if not _unchanged(parent, name, shown, digest):
                        chunks = _external_chunks(url) if url else blobs.iter_verified(digest)
                        _write_verified(chunks, parent, name, shown, digest, progress)
                finally:
                    os.close(parent)
            pulled.append(PulledFile(path=relative, digest=digest, size=size))
    finally:
        output.close()
    return pulled


class UnsafePath(IntegrityError):
    """A stored document names a path that would leave, or alias within, its directory."""
