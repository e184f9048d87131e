"""Registering many versions at once: ``Registry.register_many`` and ``mreg import manifests``.

Every check ``register`` makes is made for every version before anything is written (the
document, its model, its parents, its artifact records against the blob store), so bad
input refuses the whole batch and leaves the registry unchanged. The writes then go in
the usual order, blobs before manifests, each group durable as one batch
(``Storage.create_many``: one flush for all files, one fsync per directory). A version
already registered with the same content is left alone, so an interrupted import is
finished by running it again; one registered with other content is a conflict (exit 4),
never an overwrite.
"""

from __future__ import annotations

from datetime import datetime
from graphlib import CycleError, TopologicalSorter
from typing import Any, Iterable, Mapping, NamedTuple

from mreg import artifacts, clock, layout
from mreg.codec import digest_bytes
from mreg.errors import Conflict, NotFound, UsageError
from mreg.manifest import Artifact, VersionManifest
from mreg.names import parse_ref
from mreg.repository import ModelFiles, Repository

STAMPS = ("registered_by", "registered_at")


class NewVersion(NamedTuple):
    """One version to register: its manifest data (naming model and version), where it came
    from (shown in every refusal), and bytes to store as file artifacts, by name."""

    manifest: Mapping[str, Any]
    source: str = "manifest"
    files: Mapping[str, bytes] = {}


class Planned(NamedTuple):
    manifest: VersionManifest  # sealed, as it will be written
    raw: bytes
    source: str
    blobs: list[bytes]


def _identity(manifest: VersionManifest, keep_stamps: bool) -> dict[str, Any]:
    """What makes two registrations of a version the same: everything but the seal, and the
    registration stamps only when the imported document states them."""
    ignored = {"seal"} | (set() if keep_stamps else set(STAMPS))
    return {key: value for key, value in manifest.to_data().items() if key not in ignored}


def _prepare(item: NewVersion, by: str, at: str) -> tuple[Planned, bool]:
    """The sealed manifest for one input (its file bytes hashed, not yet stored), and whether
    the input stated its own registration stamps."""
    draft = VersionManifest.from_data(item.manifest, item.source)  # refuses what is not a mapping
    data = dict(item.manifest)
    if draft.seal is not None and draft.seal != draft.expected_seal():
        raise UsageError(f"{item.source}: its seal does not match its content (edited after it was sealed?)")
    stored = [Artifact.from_data({"path": name, "digest": digest_bytes(content), "size": len(content)}, item.source)
              for name, content in item.files.items()]
    if {a.path for a in stored} & {a.path for a in draft.artifacts}:
        raise UsageError(f"{item.source}: an artifact's bytes have the same name as a record in the manifest")
    stated = all(data.get(key) is not None for key in STAMPS)
    final, raw = VersionManifest.from_data(
        {
            **draft.to_data(),
            "artifacts": [a.to_data() for a in [*draft.artifacts, *stored]],
            "registered_by": draft.registered_by or by,
            "registered_at": draft.registered_at or at,
            "seal": None,
        },
        item.source,
    ).sealed_yaml()
    return Planned(final, raw, item.source, list(item.files.values())), stated


class _Models:
    """Each model's files, listed once for the whole batch."""

    def __init__(self, repository: Repository) -> None:
        self.repository, self._files = repository, {}

    def __getitem__(self, model: str) -> ModelFiles:
        if model not in self._files:
            self._files[model] = self.repository.model_files(model)
        return self._files[model]


def plan(repository: Repository, versions: Iterable[NewVersion], by: str | None = None,
         at: datetime | None = None) -> tuple[list[Planned], list[str]]:
    """Check the whole batch; returns what to write and the refs already registered alike."""
    actor, time = clock.stamp(by, at)
    models = _Models(repository)
    new: dict[str, tuple[Planned, bool]] = {}
    already: list[str] = []
    for item in versions:
        planned, stated = _prepare(item, actor, time)
        ref = planned.manifest.ref
        existing = models[planned.manifest.model].manifests.get(planned.manifest.version)
        if ref in new:
            if _identity(new[ref][0].manifest, stated) != _identity(planned.manifest, stated):
                raise UsageError(f"{item.source}: {ref} is also in {new[ref][0].source}, with other content")
        elif existing is not None:
            if _identity(existing.manifest, stated) != _identity(planned.manifest, stated):
                raise Conflict(f"{item.source}: {ref} is already registered with other content; "
                               "versions are immutable (register a new version)")
            already.append(ref)
        else:
            new[ref] = (planned, stated)
    batch = [planned for planned, _ in new.values()]
    _check_parents(models, batch)
    arriving = {digest_bytes(blob) for planned in batch for blob in planned.blobs}
    for planned in batch:
        try:
            artifacts.check_records(repository.blobs, list(planned.manifest.artifacts), arriving)
        except UsageError as exc:
            raise UsageError(f"{planned.source}: {exc}") from None
    return batch, already


def _check_parents(models: _Models, batch: list[Planned]) -> None:
    """Each parent is registered or in the batch, and the batch's own parents form no cycle."""
    in_batch = {planned.manifest.ref for planned in batch}
    graph: dict[str, set[str]] = {}
    for planned in batch:
        manifest = planned.manifest
        for parent in manifest.parents:
            model, version = parse_ref(parent, version_required=False)
            if version is None:
                model, version = manifest.model, model
            ref = f"{model}@{version}"
            if ref == manifest.ref:
                raise UsageError(f"{planned.source}: {ref} cannot be its own parent (a cycle)")
            if ref in in_batch:
                graph.setdefault(manifest.ref, set()).add(ref)
            elif version not in models[model].manifests:
                raise NotFound(f"{planned.source}: parent {ref} is neither registered nor in this import")
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        raise UsageError(f"parents form a cycle: {' -> '.join(exc.args[1])}") from None


def write(repository: Repository, batch: list[Planned]) -> None:
    """Blobs, then manifests, each group one durable batch; the read model learns them once."""
    repository.blobs.put_many(blob for planned in batch for blob in planned.blobs)
    planned = {layout.version_path(p.manifest.model, p.manifest.version): p for p in batch}
    created = repository.storage.create_many({path: p.raw for path, p in planned.items()})
    repository.wrote({path: (info, planned[path].raw, planned[path].manifest.to_data()) for path, info in created.items()})
    taken = sorted(set(planned) - set(created))
    if taken:
        raise Conflict(f"{taken[0]} was registered by another writer meanwhile; "
                       f"run the import again to see whether it is the same ({len(created)} others written)")
