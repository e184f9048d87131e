"""Bundles: one file that carries models to a registry with no network path to this one.

A bundle is an uncompressed POSIX tar, written deterministically so that the same content
always gives the same bytes: members in a fixed order (the table of contents, then paths
sorted), every header with mtime 0, uid/gid 0, no owner names, mode 0644. Compression is
left to the carrier (``gzip -n`` keeps it deterministic); blobs rarely compress anyway.

``mreg-bundle.yaml`` comes first and lists every other member with its sha256 and size,
and per model the digests of model.yaml, each manifest and the event chain, which is what
``apply`` plans a fast-forward against. The member paths are the registry's own paths.
``apply`` reads the whole bundle and checks every member against the table before the
destination is touched; then the bundle is an ordinary transfer source (``BundleSide``).
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path
from typing import Iterator

from mreg.codec import dump_yaml, load_yaml
from mreg.errors import CorruptObject, IntegrityError, UsageError
from mreg.events import Event, StoredEvent
from mreg.remotes.plan import ModelSide, Plan
from mreg.remotes.sides import Side, moves_of, specs_of
from mreg.store.blobs import CHUNK, digest_bytes, digest_of_path, object_path
from mreg.store.storage import check_path

TOC = "mreg-bundle.yaml"
FORMAT = "mreg-bundle-1"


class InvalidBundle(IntegrityError):
    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: not a valid bundle: {problem}; nothing was written")
        self.path = path


def _header(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


class _ChunkReader(io.RawIOBase):
    """A file object over an iterator of chunks, for ``TarFile.addfile``."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._rest = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._rest:
            try:
                self._rest = next(self._chunks)
            except StopIteration:
                return 0
        count = min(len(buffer), len(self._rest))
        buffer[:count], self._rest = self._rest[:count], self._rest[count:]
        return count


def write_bundle(target: Path, source: Side, plan: Plan) -> dict:
    """Write everything ``plan`` (made against an empty destination) selects; returns the TOC."""
    models, files = {}, {}
    members: list[tuple[str, object]] = []
    for model_plan in plan.models:
        side = source.model(model_plan.model)
        prefix = f"models/{model_plan.model}"
        chosen = {f"{prefix}/model.yaml": side.spec}
        chosen.update({f"{prefix}/versions/{v}.yaml": side.manifests[v] for v in model_plan.versions})
        chosen.update({f"{prefix}/events/{seq:08d}.yaml": side.events[seq - 1] for seq in model_plan.events})
        models[model_plan.model] = {
            "spec": side.spec,
            "versions": {v: side.manifests[v] for v in model_plan.versions},
            "events": [side.events[seq - 1] for seq in model_plan.events],
        }
        for path, digest in chosen.items():
            data = source.read(path)
            if digest_bytes(data) != digest:
                raise UsageError(f"{path} changed while the bundle was written; rerun")
            files[path] = {"digest": digest, "size": len(data)}
            members.append((path, data))
    sizes = source.blob_sizes()
    for digest in plan.blobs:
        files[object_path(digest)] = {"digest": digest, "size": sizes[digest]}
        members.append((object_path(digest), digest))
    toc = {"format": FORMAT, "models": dict(sorted(models.items())), "files": dict(sorted(files.items()))}
    temp = target.with_name(f".{target.name}.partial")
    with open(temp, "wb") as stream, tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as tar:
        encoded = dump_yaml(toc)
        tar.addfile(_header(TOC, len(encoded)), io.BytesIO(encoded))
        for path, content in sorted(members, key=lambda member: member[0]):
            if isinstance(content, bytes):
                tar.addfile(_header(path, len(content)), io.BytesIO(content))
            else:
                reader = io.BufferedReader(_ChunkReader(source.blob_chunks(content)), CHUNK)
                tar.addfile(_header(path, files[path]["size"]), reader)
    temp.replace(target)
    return toc


def _check_toc(path: Path, toc) -> None:
    if not isinstance(toc, dict) or toc.get("format") != FORMAT:
        raise InvalidBundle(path, f"{TOC} does not declare format {FORMAT}")
    for name, entry in toc.get("files", {}).items():
        try:
            check_path(name)
        except UsageError:
            raise InvalidBundle(path, f"member {name!r} is not a registry path") from None
        if not (name.startswith("models/") or digest_of_path(name) == entry.get("digest")):
            raise InvalidBundle(path, f"member {name} is neither a model file nor a blob named by its digest")


class BundleSide:
    """A verified bundle as the source of a transfer (read-only)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = str(path)
        try:
            self._tar = tarfile.open(path, mode="r:")
        except (OSError, tarfile.TarError) as exc:
            raise InvalidBundle(path, str(exc)) from None
        try:
            self._members = {member.name: member for member in self._tar.getmembers()}
            if TOC not in self._members:
                raise InvalidBundle(path, f"no {TOC}")
            self.toc = load_yaml(self._tar.extractfile(self._members[TOC]).read(), f"{path}:{TOC}")
            _check_toc(path, self.toc)
            self._verify()
        except BaseException:
            self._tar.close()
            raise

    def __enter__(self) -> "BundleSide":
        return self

    def __exit__(self, *_exc) -> None:
        self._tar.close()

    def _verify(self) -> None:
        """Every member listed, every listed member present, every byte hashing to the table."""
        listed = self.toc["files"]
        extra = sorted(set(self._members) - set(listed) - {TOC})
        if extra:
            raise InvalidBundle(self.path, f"member {extra[0]} is not in the table of contents")
        for name, entry in listed.items():
            member = self._members.get(name)
            if member is None or not member.isfile():
                raise InvalidBundle(self.path, f"{name} is listed but missing")
            hasher = hashlib.sha256()
            for chunk in self._chunks(name):
                hasher.update(chunk)
            actual = f"sha256:{hasher.hexdigest()}"
            if actual != entry["digest"] or member.size != entry["size"]:
                raise InvalidBundle(self.path, f"{name} hashes to {actual}, the table says {entry['digest']}")
        for model, entry in self.toc["models"].items():
            prefix = f"models/{model}"
            expected = {f"{prefix}/model.yaml": entry["spec"]}
            expected.update({f"{prefix}/versions/{v}.yaml": d for v, d in entry["versions"].items()})
            expected.update({f"{prefix}/events/{i:08d}.yaml": d for i, d in enumerate(entry["events"], start=1)})
            for name, digest in expected.items():
                if listed.get(name, {}).get("digest") != digest:
                    raise InvalidBundle(self.path, f"{name} does not match the table's entry for {model}")

    def _chunks(self, name: str) -> Iterator[bytes]:
        stream = self._tar.extractfile(self._members[name])
        while chunk := stream.read(CHUNK):
            yield chunk

    def model_ids(self) -> list[str]:
        return sorted(self.toc["models"])

    def _history(self, model: str) -> list[StoredEvent]:
        history = []
        for seq, digest in enumerate(self.toc["models"][model]["events"], start=1):
            path = f"models/{model}/events/{seq:08d}.yaml"
            history.append(StoredEvent(Event.from_yaml(self.read(path), f"{self.path}:{path}"), digest, path))
        return history

    def model(self, model: str) -> ModelSide | None:
        entry = self.toc["models"].get(model)
        if entry is None:
            return None
        history = self._history(model)
        return ModelSide(entry["spec"], dict(entry["versions"]), tuple(entry["events"]), moves_of(history), specs_of(history))

    def read(self, path: str) -> bytes:
        return b"".join(self._chunks(path))

    def blob_sizes(self) -> dict[str, int]:
        sizes = {}
        for name, entry in self.toc["files"].items():
            if digest_of_path(name):
                sizes[entry["digest"]] = entry["size"]
        return sizes

    def blob_chunks(self, digest: str) -> Iterator[bytes]:
        name = object_path(digest)
        hasher = hashlib.sha256()
        for chunk in self._chunks(name):
            hasher.update(chunk)
            yield chunk
        if f"sha256:{hasher.hexdigest()}" != digest:
            raise CorruptObject(f"{self.path}:{name}", digest, f"sha256:{hasher.hexdigest()}")

    def referenced_blobs(self, model: str, versions: tuple[str, ...], seqs: tuple[int, ...]) -> set[str]:
        """All blobs the bundle holds (it was cut for exactly these models)."""
        return set(self.blob_sizes())
