"""Both ends of a transfer seen the same way: a registry (any backend) or a bundle file.

A side answers in bulk: which models it holds and, per model, the digests of model.yaml,
of every manifest and of every event, from one listing of the model and the registry's
validated cache; which blobs it holds, from one listing of ``objects/``. Nothing asks the
store about one blob at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Protocol

from mreg.artifacts import blob_digests
from mreg.errors import ModelNotFound
from mreg.events import StoredEvent
from mreg.remotes.plan import ModelSide
from mreg.repository import archive_locations

if TYPE_CHECKING:
    from mreg.repository import Repository


class Side(Protocol):
    url: str

    def model_ids(self) -> list[str]: ...

    def model(self, model: str) -> ModelSide | None: ...

    def read(self, path: str) -> bytes: ...

    def blob_sizes(self) -> dict[str, int]:
        """Every blob this side holds, by digest, with its size."""

    def blob_chunks(self, digest: str) -> Iterator[bytes]:
        """A blob's bytes; raises ``CorruptObject`` after the last chunk if they do not hash to ``digest``."""

    def referenced_blobs(self, model: str, versions: tuple[str, ...], seqs: tuple[int, ...]) -> set[str]:
        """The blobs those versions' artifacts and those events' evidence occupy."""


def moves_of(history: list[StoredEvent]) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(record.version for record in stored.event.changes) for stored in history)


def specs_of(history: list[StoredEvent]) -> tuple[str | None, ...]:
    return tuple(stored.event.spec for stored in history)


def archived_versions(history: list[StoredEvent]) -> set[str]:
    """Versions whose blobs an archive event moved to another store (they travel by reference)."""
    return set(archive_locations(history))


class RegistrySide:
    """A registry as one end of a transfer."""

    def __init__(self, repository: "Repository") -> None:
        self.repository = repository
        self.url = repository.storage.url
        self._files: dict[str, object] = {}
        self._sizes: dict[str, int] | None = None

    def model_ids(self) -> list[str]:
        return self.repository.model_ids()

    def files(self, model: str):
        if model not in self._files:
            self._files[model] = self.repository.model_files(model)
        return self._files[model]

    def model(self, model: str) -> ModelSide | None:
        try:
            files = self.files(model)
        except ModelNotFound:
            return None
        return ModelSide(
            spec=files.spec_digest,
            manifests={version: stored.digest for version, stored in files.manifests.items()},
            events=tuple(stored.digest for stored in files.events),
            moves=moves_of(files.events),
            specs=specs_of(files.events),
        )

    def read(self, path: str) -> bytes:
        return self.repository.storage.read(path)

    def blob_sizes(self) -> dict[str, int]:
        if self._sizes is None:  # one listing of objects/ per transfer
            self._sizes = {digest: info.size for digest, info in self.repository.blobs.all_objects().items()}
        return self._sizes

    def blob_chunks(self, digest: str) -> Iterator[bytes]:
        return self.repository.blobs.iter_verified(digest)

    def referenced_blobs(self, model: str, versions: tuple[str, ...], seqs: tuple[int, ...]) -> set[str]:
        files = self.files(model)
        moved = archived_versions(files.events)
        found: set[str] = set()
        for version in versions:
            if version not in moved:
                found |= blob_digests(self.repository.blobs, files.manifests[version].manifest.artifacts)
        for seq in seqs:
            found.update(proof.digest for proof in files.events[seq - 1].event.evidence if proof.digest)
        return found

