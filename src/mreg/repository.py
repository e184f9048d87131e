"""The read model: a registry's files as the domain reads them, over one ``Storage``.

A ``Repository`` opens the config, holds the blob store, lists ``models/`` once per
question and parses through the derived cache (``.cache/files.json``). It knows where
files live (``layout``) and what they hold (``manifest``, ``events``, ``lifecycle``), but
no command: the facade (``registry``), ``integrity`` and ``lineage`` build on it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, NamedTuple

from mreg import layout, lifecycle
from mreg.chain import history_findings
from mreg.codec import load_yaml
from mreg.errors import AlreadyExists, IntegrityError, InvalidManifest, ModelNotFound, RegistryNotFound, VersionNotFound
from mreg.events import Event, StoredEvent
from mreg.lifecycle import ModelState
from mreg.manifest import FORMAT_VERSION, ModelSpec, RegistryConfig, VersionManifest
from mreg.names import check_name, closest, natural_key
from mreg.seals import TamperedFile, check_sealed
from mreg.store import FileInfo, Storage, is_local, open_storage
from mreg.store.blobs import BlobStore
from mreg.store.cache import FileCache


class UnreadableFile(IntegrityError):
    """A registry file that does not parse within the codec's limits: damaged or planted."""


def load_stored(raw: bytes, path: str) -> Any:
    """``load_yaml`` for a file read from the registry: a failure is exit 5, not 2, since
    no user input is wrong; the stored file is."""
    try:
        return load_yaml(raw, path)
    except InvalidManifest as exc:
        raise UnreadableFile(exc.message) from None


def parse_stored(raw: bytes, path: str) -> Any:
    """``load_stored``, checking first that a written-once file (manifest, event) holds the
    bytes mreg wrote: every read that parses one checks its seal."""
    if layout.entry_of(path) is not None:
        check_sealed(raw, path)
    return load_stored(raw, path)


def stored_document(kind: type, data: Any, path: str):
    """Validate a document read from the registry: an invalid one is damage (exit 5), not bad input."""
    try:
        return kind.from_data(data, path)
    except InvalidManifest as exc:
        raise UnreadableFile(exc.message) from None


class StoredManifest:
    """A version manifest as stored: validated on first use, since listing a registry's
    inventory needs only which versions exist, not what thousands of manifests say."""

    def __init__(self, data: Any, digest: str, path: str) -> None:
        self._data, self.digest, self.path = data, digest, path

    @functools.cached_property
    def manifest(self) -> VersionManifest:
        manifest = stored_document(VersionManifest, self._data, self.path)
        if layout.version_path(manifest.model, manifest.version) != self.path:
            raise UnreadableFile(f"{self.path}: holds {manifest.ref}, which belongs elsewhere")
        return manifest


class ModelFiles(NamedTuple):
    """Everything stored for one model, as read from one listing."""

    spec: ModelSpec
    manifests: dict[str, StoredManifest]
    events: list[StoredEvent]

    def state(self) -> ModelState:
        return lifecycle.fold(
            self.spec.id, self.manifests, (stored.event.as_changes() for stored in self.events)
        )

    def with_manifest(self, version: str, stored: StoredManifest) -> "ModelFiles":
        """These files plus a version just written (no second listing to see it)."""
        manifests = dict(sorted({**self.manifests, version: stored}.items(), key=lambda item: natural_key(item[0])))
        return self._replace(manifests=manifests)

    def manifest(self, version: str) -> StoredManifest:
        try:
            return self.manifests[version]
        except KeyError:
            raise VersionNotFound(self.spec.id, version, closest(version, self.manifests)) from None


def archive_locations(history: list[StoredEvent]) -> dict[str, str]:
    """Versions whose blobs an archive event moved, and where to (the last move wins)."""
    moved = {}
    for stored in history:
        if stored.event.archived_to:
            for record in stored.event.changes:
                moved[record.version] = stored.event.archived_to
    return moved


class Repository:
    def __init__(self, storage: Storage, config: RegistryConfig) -> None:
        self.storage = storage
        self.config = config
        self.blobs = BlobStore(self._blob_storage(config.blob_store))
        self._cache = FileCache(storage, parse_stored)

    def _blob_storage(self, url: str | None) -> Storage:
        if url is None:
            return self.storage
        if is_local(url) and not Path(url).is_absolute() and is_local(self.storage.url):
            url = str(Path(self.storage.url, url))
        return open_storage(url)

    # -- opening -----------------------------------------------------------------------

    @classmethod
    def create(cls, url: str, blob_store: str | None = None, remotes: dict[str, str] | None = None) -> "Repository":
        """Lay out a new registry at ``url``; refuses a place that already holds one."""
        storage = open_storage(url)
        config = RegistryConfig(blob_store=blob_store, remotes=remotes or {})
        if storage.exists(layout.CONFIG):
            raise AlreadyExists(f"a registry at {url}")
        repository = cls(storage, config)  # opens the blob store first, so a bad URL writes nothing
        storage.create(layout.CONFIG, config.to_yaml())
        if is_local(storage.url) and not storage.exists(layout.GITIGNORE):
            storage.create(layout.GITIGNORE, layout.GITIGNORE_TEXT.encode())
        return repository

    @classmethod
    def open(cls, url: str) -> "Repository":
        storage = open_storage(url)
        if not storage.exists(layout.CONFIG):
            raise RegistryNotFound(url)
        where = f"{url}/{layout.CONFIG}"
        config = RegistryConfig.from_data(load_stored(storage.read(layout.CONFIG), where), where)
        if config.format != FORMAT_VERSION:
            raise InvalidManifest(layout.CONFIG, f"format {config.format} is not supported")
        return cls(storage, config)

    def flush(self) -> None:
        """Persist what reads learned into the derived cache (call after a successful command)."""
        self._cache.flush()

    def wrote(self, files: dict[str, tuple[FileInfo, bytes, Any]]) -> None:
        """Files a command just created: path -> (what the store said of it, its bytes, the
        document they hold). One call per command or batch; the derived cache learns them
        as a read would have, without parsing them back."""
        for path, (info, raw, data) in files.items():
            self._cache.written(path, info, raw, data)

    # -- listing -----------------------------------------------------------------------

    def models_listing(self, model: str | None = None) -> dict[str, dict[str, FileInfo]]:
        """Every file under ``models/`` (or one model's folder) from one listing, by model id."""
        return layout.by_model(self.storage.listing(layout.model_dir(model) if model else layout.MODELS))

    def model_ids(self) -> list[str]:
        """The models' ids, from one listing (nothing parsed): shell completion calls this."""
        return [model for model, files in self.models_listing().items() if layout.model_path(model) in files]

    # -- reading -----------------------------------------------------------------------

    def model_files(self, model: str, listing: dict[str, FileInfo] | None = None) -> ModelFiles:
        """One model's files, parsed through the cache; ``listing`` saves the listing when the
        caller already has it."""
        check_name("model id", model)
        if listing is None:
            listing = self.storage.listing(layout.model_dir(model))
        spec_path = layout.model_path(model)
        if spec_path not in listing:
            raise ModelNotFound(model, closest(model, self.model_ids()))
        self._cache.prefetch(listing)
        spec = stored_document(ModelSpec, self._cache.get(spec_path, listing[spec_path]).data, spec_path)
        manifests: dict[str, StoredManifest] = {}
        history: list[StoredEvent] = []
        for path, info in listing.items():
            entry = layout.entry_of(path)
            if entry is None:
                continue
            folder, name = entry
            parsed = self._cache.get(path, info)
            if folder == layout.VERSIONS:
                manifests[name] = StoredManifest(parsed.data, parsed.digest, path)
            else:
                history.append(StoredEvent(stored_document(Event, parsed.data, path), parsed.digest, path))
        history.sort(key=lambda stored: stored.path)
        ordered = dict(sorted(manifests.items(), key=lambda item: natural_key(item[0])))
        digests = {version: stored.digest for version, stored in ordered.items()}
        findings = history_findings(model, digests, history)
        if findings:
            raise TamperedFile(*findings[0])
        return ModelFiles(spec, ordered, history)

    def all_model_files(self) -> list[ModelFiles]:
        """Every model's files from one listing of ``models/``, in model id order."""
        grouped = self.models_listing()
        present = {path: info for files in grouped.values() for path, info in files.items()}
        self._cache.forget_missing(set(present))
        self._cache.prefetch(present)
        return [self.model_files(model, files) for model, files in grouped.items() if layout.model_path(model) in files]

    def blobs_for(self, files: ModelFiles, version: str) -> BlobStore:
        """The main blob store, or the archive store an archive event moved ``version`` to."""
        moved = archive_locations(files.events).get(version)
        return BlobStore(open_storage(moved)) if moved else self.blobs

    def reindex(self) -> int:
        """Drop the parsed-file cache and rebuild it from every file; returns how many were listed."""
        self._cache.clear()
        count = sum(len(files) for files in self.models_listing().values())
        self.all_model_files()
        self._cache.flush()
        return count
