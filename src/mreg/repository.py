"""The read model: a registry's files as the domain reads them, over one ``Storage``.

A ``Repository`` opens the config, holds the blob store, lists ``models/`` once per
question and parses through the derived index (``store.index``: ``.cache/index.sqlite``). It knows where
files live (``layout``) and what they hold (``manifest``, ``events``, ``lifecycle``), but
no command: the facade (``registry``), ``integrity`` and ``lineage`` build on it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Callable

from mreg import folding, layout
from mreg.chain import Finding, Head, history_findings, tip_findings
from mreg.codec import digest_bytes, load_yaml
from mreg.errors import AlreadyExists, IntegrityError, InvalidManifest, ModelNotFound, PathNotFound, RegistryNotFound, UsageError, VersionNotFound
from mreg.events import Event, StoredEvent
from mreg.lifecycle import ModelState
from mreg.manifest import FORMAT_VERSION, ModelSpec, RegistryConfig, VersionManifest
from mreg.names import check_name, closest, natural_key
from mreg.seals import TamperedFile, check_sealed, seal_problem
from mreg.store import FileInfo, Storage, is_local, open_storage
from mreg.store.blobs import BlobStore
from mreg.store.index import FileIndex, Parsed


MANIFESTS = "manifests.1"  # the index's namespace for each model's manifest digests
FIND_RECORDS = "records.1"  # the index's namespace for each model's find records


READ_ATTEMPTS = 3  # listings of a model before a finding about its head or model.yaml refuses
RETRY_SECONDS = 0.02  # doubled after each attempt: 0.06 s in all, before a damaged model is refused
LEGACY_FORMAT = 1  # before head records, model events and a sealed mreg.yaml
FOLDER_KEY = "folders:"  # a kept value's key made of folder identities: "folders:<newest event>:<sha256>"
SETTLED_SECONDS = 2.0  # a folder changed more recently may change again within its mtime's tick


class UnreadableFile(IntegrityError):
    """A registry file that does not parse within the codec's limits: damaged or planted."""


class NeedsUpgrade(UsageError):
    def __init__(self, url: str) -> None:
        super().__init__(f"{url} is a registry of format {LEGACY_FORMAT}; run 'mreg upgrade' to migrate it to format {FORMAT_VERSION}")


def load_stored(raw: bytes, path: str) -> Any:
    """``load_yaml`` for a file read from the registry: a failure is exit 5, not 2, since
    no user input is wrong; the stored file is."""
    try:
        return load_yaml(raw, path)
    except InvalidManifest as exc:
        raise UnreadableFile(exc.message) from None


def check_stored(raw: bytes, path: str) -> None:
    """Refuse a written-once file (manifest, event) that does not hold the bytes mreg wrote,
    or a manifest that is not at its place: every read of one checks both, also one that
    wants its digest only (a sealed manifest copied to another name is still sealed)."""
    entry = layout.entry_of(path)
    if entry is not None:
        check_sealed(raw, path)
        if entry[0] == layout.VERSIONS:
            _check_placed(raw, path)


_TOP_LEVEL = {key: re.compile(rb"^%s: ([^\n]*)$" % key.encode(), re.MULTILINE) for key in ("model", "version")}


def _check_placed(raw: bytes, path: str) -> None:
    """The manifest's own model and version, read from its top-level lines (mreg's canonical
    YAML writes names plain or single-quoted, and names hold no quotes), must name ``path``."""
    found = []
    for pattern in _TOP_LEVEL.values():
        match = pattern.search(raw)
        value = match.group(1).decode(errors="replace") if match else "?"
        found.append(value[1:-1] if len(value) > 1 and value[0] == value[-1] == "'" else value)
    model, version = found
    if f"{layout.MODELS}/{model}/{layout.VERSIONS}/{version}.yaml" != path:
        raise UnreadableFile(f"{path}: holds {model}@{version}, which belongs elsewhere")


def parse_stored(raw: bytes, path: str) -> Any:
    """``load_stored``, after ``check_stored``."""
    check_stored(raw, path)
    return load_stored(raw, path)


def stored_index(storage: Storage) -> FileIndex:
    """The derived index over ``storage``, reading files as the repository does."""
    return FileIndex(storage, parse_stored, check=check_stored)


def stored_document(kind: type, data: Any, path: str):
    """Validate a document read from the registry: an invalid one is damage (exit 5), not bad input."""
    try:
        return kind.from_data(data, path)
    except InvalidManifest as exc:
        raise UnreadableFile(exc.message) from None


class StoredManifest:
    """A version manifest as stored: read and validated on first use, since listing a
    registry's inventory needs only which versions exist, not what thousands of manifests say."""

    def __init__(self, data: Any, digest: str, path: str) -> None:
        self.path = path
        self.__dict__["_parsed"] = Parsed(data, digest)

    @classmethod
    def listed(cls, path: str, info: FileInfo, index: FileIndex) -> "StoredManifest":
        """The manifest at ``path`` as listed, read through ``index`` when first used."""
        stored = cls.__new__(cls)
        stored.path, stored._info, stored._index = path, info, index
        return stored

    @functools.cached_property
    def _parsed(self) -> Parsed:
        return self._index.get(self.path, self._info)

    @property
    def digest(self) -> str:
        """Its bytes' sha256: from the parsed document if there is one, else without parsing."""
        if "_parsed" in self.__dict__:
            return self._parsed.digest
        return self._index.digests({self.path: self._info})[self.path]

    @functools.cached_property
    def manifest(self) -> VersionManifest:
        manifest = stored_document(VersionManifest, self._parsed.data, self.path)
        if layout.version_path(manifest.model, manifest.version) != self.path:
            raise UnreadableFile(f"{self.path}: holds {manifest.ref}, which belongs elsewhere")
        return manifest


class ModelFiles:
    """Everything stored for one model, as read from one listing: the spec and the kept fold
    at once, manifests and events when first used."""

    def __init__(self, spec: ModelSpec, manifests: dict[str, StoredManifest], event_files: dict[str, FileInfo],
                 read_event: Callable[[str, FileInfo], StoredEvent]) -> None:
        self.spec, self.manifests = spec, manifests
        self._event_files, self._read_event = event_files, read_event
        self.folded = folding.Folded()
        self.head_record: Head | None = None  # models/M/head.yaml (``mreg.heads``); ``head`` is the newest event
        self.spec_digest = ""  # of model.yaml's bytes, as model events record it
        self.signature = ""  # changes whenever the spec, a manifest or the newest event does

    @functools.cached_property
    def events(self) -> list[StoredEvent]:
        """The whole history, oldest first (parsed now: most commands need the newest only)."""
        return [self._read_event(path, info) for path, info in self._event_files.items()]

    @functools.cached_property
    def head(self) -> StoredEvent | None:
        """The newest event, or None before the first."""
        if not self._event_files:
            return None
        if "events" in self.__dict__:
            return self.events[-1]
        path = next(reversed(self._event_files))
        return self._read_event(path, self._event_files[path])

    def events_after(self, seq: int) -> list[StoredEvent] | None:
        """The events after ``seq``, if the listing holds exactly events ``1..head``."""
        paths = list(self._event_files)
        if len(paths) < seq or any(paths[index] != layout.event_path(self.spec.id, index + 1) for index in range(seq, len(paths))):
            return None
        return [self._read_event(path, self._event_files[path]) for path in paths[seq:]]

    def state(self) -> ModelState:
        return self.folded.state(self.spec.id, self.manifests)

    def archived(self) -> dict[str, str]:
        """Versions whose blobs an archive event moved, and where to."""
        return self.folded.archived

    def with_manifest(self, version: str, stored: StoredManifest) -> "ModelFiles":
        """These files plus a version just written (no second listing to see it)."""
        manifests = dict(sorted({**self.manifests, version: stored}.items(), key=lambda item: natural_key(item[0])))
        files = ModelFiles(self.spec, manifests, self._event_files, self._read_event)
        files.folded = self.folded  # the signature stays empty: these files were never listed together
        files.head_record, files.spec_digest = self.head_record, self.spec_digest
        return files

    def manifest(self, version: str) -> StoredManifest:
        try:
            return self.manifests[version]
        except KeyError:
            raise VersionNotFound(self.spec.id, version, closest(version, self.manifests)) from None


def _fingerprint(items: Iterable[tuple[str, Any]]) -> str:
    """Of a listing: changes whenever a listed file is added, removed, rewritten or touched."""
    return hashlib.sha256("\n".join(f"{name}\0{value}" for name, value in items).encode()).hexdigest()


def _files_fingerprint(listing: dict[str, FileInfo], newest_event: bool = False) -> str:
    """Of one model's listing: each non-event file's path, size and identity token, and with
    ``newest_event`` the newest event's (the events before it are vouched for by its digest)."""
    paths = [path for path in listing if "/events/" not in path]
    if newest_event:
        paths += [path for path in listing if "/events/" in path][-1:]
    return _fingerprint((path, f"{listing[path].size}:{listing[path].token}") for path in paths)


def _folder_key(folders: list[FileInfo | None], files: list[FileInfo | None], newest: str) -> str | None:
    """A model's key from the identities of its folder, versions/ and events/ (which change
    when a file is added to them, removed or renamed) and of model.yaml, head.yaml and the
    newest event (the replaceable files, and the event the head vouches for). None while a
    folder changed too recently to tell a later change within its mtime's tick from none
    (what git calls a racy entry): such a model is keyed by its listed files."""
    settled = time.time() - SETTLED_SECONDS
    if any(info is not None and info.modified > settled for info in folders):
        return None
    identities = "\n".join("-" if info is None else f"{info.size}:{info.token}" for info in folders + files)
    return f"{FOLDER_KEY}{newest}:{hashlib.sha256(identities.encode()).hexdigest()}"


def _is_legacy(data: Any) -> bool:
    return isinstance(data, dict) and data.get("format") == LEGACY_FORMAT and "seal" not in data


def _read_config(storage: Storage, index: FileIndex, info: FileInfo | None, where: str) -> Any:
    """mreg.yaml's data, through the index where a stat tells it is unchanged (``info``: local
    disks); read from the file, its seal is checked (a format-1 file has none) before the
    index may learn it."""
    parsed = index.cached(layout.CONFIG, info) if info else None
    if parsed is None:
        raw = storage.read(layout.CONFIG)
        data = load_stored(raw, where)
        if _is_legacy(data):
            return data
        problem = seal_problem(raw)
        if problem:
            raise TamperedFile(layout.CONFIG, f"{problem} (if you changed it on purpose, 'mreg config seal' checks and seals it)")
        parsed = Parsed(data, digest_bytes(raw))
        if info:
            index.learn(layout.CONFIG, info, parsed)
    return parsed.data


def find_records(files: ModelFiles) -> list[dict]:
    """A model's find records, one per version, from its files."""
    from mreg.query.records import version_record

    state = files.state()
    return [version_record(stored.manifest, files.spec, state.state_of(version).value)
            for version, stored in files.manifests.items()]


def archive_locations(history: list[StoredEvent]) -> dict[str, str]:
    """Versions whose blobs an archive event moved, and where to (the last move wins)."""
    moved = {}
    for stored in history:
        if stored.event.archived_to:
            for record in stored.event.changes:
                moved[record.version] = stored.event.archived_to
    return moved


class Repository:
    def __init__(self, storage: Storage, config: RegistryConfig, index: FileIndex | None = None, legacy: bool = False) -> None:
        self.storage = storage
        self.config = config
        self.legacy = legacy  # format 1, opened by mreg upgrade: no heads or model events to check yet
        self.blobs = BlobStore(self._blob_storage(config.blob_store))
        self._cache = index or stored_index(storage)

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
        storage.create(layout.CONFIG, config.sealed().to_yaml())
        if is_local(storage.url) and not storage.exists(layout.GITIGNORE):
            storage.create(layout.GITIGNORE, layout.GITIGNORE_TEXT.encode())
        return repository

    @classmethod
    def open(cls, url: str, upgrading: bool = False) -> "Repository":
        """Open the registry at ``url``; one of an older format only for ``mreg upgrade``."""
        storage = open_storage(url)
        file_info = getattr(storage, "file_info", None)  # local: one stat says exists and unchanged
        try:
            info = file_info(layout.CONFIG) if file_info else None
        except PathNotFound:
            raise RegistryNotFound(url) from None
        if info is None and not storage.exists(layout.CONFIG):
            raise RegistryNotFound(url)
        index = stored_index(storage)
        data = _read_config(storage, index, info, f"{url}/{layout.CONFIG}")
        if _is_legacy(data):
            if not upgrading:
                raise NeedsUpgrade(url)
            return cls(storage, RegistryConfig.from_data({**data, "format": FORMAT_VERSION}, layout.CONFIG), index, legacy=True)
        config = RegistryConfig.from_data(data, layout.CONFIG)  # sealed but invalid: a policy to fix (2), not damage
        if config.format != FORMAT_VERSION:
            raise UnreadableFile(f"{layout.CONFIG}: format {config.format} is not one this mreg reads ({FORMAT_VERSION}); upgrade mreg")
        return cls(storage, config, index)

    @staticmethod
    def seal_config(url: str) -> tuple[RegistryConfig, bool]:
        """Check mreg.yaml as a person edited it (schema, policy against the lifecycle table,
        format) and seal it; returns the config and whether it had to be sealed. The file is
        rewritten in canonical form, so comments do not survive."""
        storage = open_storage(url)
        try:
            raw = storage.read(layout.CONFIG)
        except PathNotFound:
            raise RegistryNotFound(url) from None
        data = load_stored(raw, layout.CONFIG)
        if _is_legacy(data):
            raise NeedsUpgrade(url)
        config = RegistryConfig.from_data(data, layout.CONFIG)
        if config.format != FORMAT_VERSION:
            raise UsageError(f"{layout.CONFIG}: format {config.format} is set by 'mreg upgrade' only; put back format: {FORMAT_VERSION}")
        if seal_problem(raw) is None:
            return config, False
        storage.replace(layout.CONFIG, config.sealed().to_yaml())
        return config, True

    def write_config(self, config: RegistryConfig) -> None:
        """Replace mreg.yaml, sealed (it is mutable, but only through mreg's commands)."""
        self.storage.replace(layout.CONFIG, config.sealed().to_yaml())
        self.config = config

    def flush(self) -> None:
        """Persist what reads learned into the derived cache (call after a successful command)."""
        self._cache.flush()

    def wrote(self, files: dict[str, tuple[FileInfo, bytes, Any]]) -> None:
        """Files a command just created: path -> (what the store said of it, its bytes, the
        document they hold). One call per command or batch; the index learns them as a read
        would have, without parsing them back."""
        for path, (info, raw, data) in files.items():
            self._cache.learn(path, info, Parsed(data, digest_bytes(raw)))

    # -- listing -----------------------------------------------------------------------

    def models_listing(self, model: str | None = None) -> dict[str, dict[str, FileInfo]]:
        """Every file under ``models/`` (or one model's folder) from one listing, by model id."""
        return layout.by_model(self.storage.listing(layout.model_dir(model) if model else layout.MODELS))

    def model_ids(self) -> list[str]:
        """The models' ids, from one listing (nothing parsed): shell completion calls this."""
        return [model for model, files in self.models_listing().items() if layout.model_path(model) in files]

    # -- reading -----------------------------------------------------------------------

    def model_files(self, model: str, listing: dict[str, FileInfo] | None = None) -> ModelFiles:
        """One model's files, parsed through the cache and checked (``mreg.chain``); ``listing``
        saves the listing when the caller already has it.

        A listing is not a snapshot: a writer may move the head or replace model.yaml between
        the moment they were listed and read. So a finding about those two files is confirmed
        by a fresh listing before it refuses the command; damage stays, a race does not."""
        check_name("model id", model)
        moving = {layout.head_path(model), layout.model_path(model)}
        for attempt in range(READ_ATTEMPTS):
            if listing is None:
                listing = self.storage.listing(layout.model_dir(model))
                self._cache.load_model(model)
            files, findings = self._parse_model(model, listing)
            if not findings:
                return files
            if not {finding.path for finding in findings} <= moving:
                break
            listing = None
            time.sleep(RETRY_SECONDS * 2 ** attempt)
        raise TamperedFile(*findings[0])

    def _parse_model(self, model: str, listing: dict[str, FileInfo]) -> tuple[ModelFiles, list[Finding]]:
        spec_path = layout.model_path(model)
        if spec_path not in listing:
            raise ModelNotFound(model, closest(model, self.model_ids()))
        parsed_spec = self._cache.get(spec_path, listing[spec_path])
        spec = stored_document(ModelSpec, parsed_spec.data, spec_path)
        head_path = layout.head_path(model)
        head_parsed = self._cache.get(head_path, listing[head_path]) if head_path in listing else None
        head_record = stored_document(Head, head_parsed.data, head_path) if head_parsed else None
        if head_record:
            listing = self._completed(model, listing, head_record.seq)
        manifests: dict[str, StoredManifest] = {}
        event_files: dict[str, FileInfo] = {}
        for path, info in listing.items():
            entry = layout.entry_of(path)
            if entry is None:
                continue
            folder, name = entry
            if folder == layout.VERSIONS:
                manifests[name] = StoredManifest.listed(path, info, self._cache)
            else:
                event_files[path] = info
        ordered = dict(sorted(manifests.items(), key=lambda item: natural_key(item[0])))
        files = ModelFiles(spec, ordered, dict(sorted(event_files.items())), self._stored_event)
        files.spec_digest = parsed_spec.digest
        files.head_record = head_record
        fingerprint = _files_fingerprint(listing)
        digests = self._manifest_digests(model, fingerprint, listing, files)
        files.folded = self._folded(files, digests)
        files.signature = _fingerprint([("spec", parsed_spec.digest), ("files", fingerprint), ("head", files.folded.head)])
        return files, self._head_and_spec_findings(files)

    def _completed(self, model: str, listing: dict[str, FileInfo], named: int) -> dict[str, FileInfo]:
        """``listing`` plus what the head names but the listing lacks: the events up to event
        ``named`` and the manifests they move, each asked for by name.

        The head is read after the listing, so a writer may have appended and moved the head
        in between (and on S3 a LIST may lag a PUT). A manifest is created before any event
        moves it, and an event before the head names it, so these exist unless deleted; one
        that is absent is left to the chain and head checks."""
        if layout.event_path(model, named) in listing:
            return listing
        listing = dict(listing)
        for seq in range(1, named + 1):
            path = layout.event_path(model, seq)
            if path in listing:
                continue
            read = self._read_by_name(path)
            if read is None:
                break
            listing[path] = read[0]
            self._cache.learn_read(path, *read)  # the event is parsed now: no second read
            for change in self._stored_event(path, read[0]).event.changes:
                version_path = layout.version_path(model, change.version)
                if version_path not in listing and (found := self._read_by_name(version_path)):
                    listing[version_path] = found[0]
        return dict(sorted(listing.items()))

    def _read_by_name(self, path: str) -> tuple[FileInfo, bytes] | None:
        """``path``'s bytes and what a listing would say of it now, from one read (None if absent)."""
        tagged = self.storage.read_tagged(path)
        return None if tagged is None else (FileInfo(len(tagged[0]), tagged[1].strip('"'), 0.0), tagged[0])

    def _head_and_spec_findings(self, files: ModelFiles) -> list[Finding]:
        """The head record and model.yaml against the events, on every read: the fold (kept or
        just made, its chain checked) vouches for the events, not for these two mutable files.
        The fold keeps the newest events' digests and model events (``chain.Tip``), so the
        check costs the same at 10 events as at 5,000."""
        if self.legacy:
            return []
        return tip_findings(files.spec.id, files.spec_digest, files.head_record, files.folded.tip())

    def _manifest_digests(self, model: str, fingerprint: str, listing: dict[str, FileInfo], files: ModelFiles) -> dict[str, str]:
        """Each version's manifest digest, every manifest's seal checked: kept in the index
        under a fingerprint of the listing (paths, sizes, identity tokens), so while no
        manifest changes a read parses none of them; any change re-reads what changed."""
        kept = self._cache.kept(MANIFESTS, model)
        if kept is not None and kept[0] == fingerprint:
            return kept[1]
        self._cache.load_model(model)
        by_path = self._cache.digests({stored.path: listing[stored.path] for stored in files.manifests.values()})
        digests = {version: by_path[stored.path] for version, stored in files.manifests.items()}
        self._cache.keep(MANIFESTS, model, fingerprint, digests)
        return digests

    def _stored_event(self, path: str, info: FileInfo) -> StoredEvent:
        parsed = self._cache.get(path, info)
        return StoredEvent(stored_document(Event, parsed.data, path), parsed.digest, path)

    def _folded(self, files: ModelFiles, digests: dict[str, str]) -> folding.Folded:
        """The model's kept fold, brought up to its newest event; a history that ``chain``
        finds wrong refuses the read (``TamperedFile``)."""
        head = files.head
        if head is None:
            return folding.Folded()
        model = files.spec.id
        kept = self._cache.kept(folding.NAMESPACE, model)
        if kept is not None:
            folded = folding.Folded.from_data(kept[1])
            if kept[0] == head.digest and folded.agrees_with(digests):
                return folded
            newer = files.events_after(folded.seq) if folded.seq < head.event.seq else None
            if newer is not None:
                advanced, findings = folded.advance(model, digests, newer)
                if not findings and advanced.agrees_with(digests):
                    self._cache.keep(folding.NAMESPACE, model, head.digest, advanced.to_data())
                    return advanced
        findings = history_findings(model, digests, files.events)
        if findings:
            raise TamperedFile(*findings[0])
        folded, _ = folding.Folded().advance(model, digests, files.events)
        self._cache.keep(folding.NAMESPACE, model, head.digest, folded.to_data())
        return folded

    def kept_fold_findings(self, model: str, manifests: Mapping[str, str], history: list[StoredEvent]) -> list[Finding]:
        """``verify``'s check of the kept fold against a fold from scratch; one that disagrees
        is dropped (the next read folds afresh)."""
        kept = self._cache.kept(folding.NAMESPACE, model)
        if kept is None or not history or kept[0] != history[-1].digest:
            return []  # none, or kept for an older head: a read advances it
        fresh, _ = folding.Folded().advance(model, manifests, history)
        if folding.Folded.from_data(kept[1]) == fresh:
            return []
        self._cache.drop_kept(folding.NAMESPACE, model)
        return [Finding(layout.INDEX, f"the index's kept state of {model} disagrees with its events")]

    def find(self, node, order, limit) -> list[dict]:
        """The records (``mreg.query.records``) of the versions a ``find`` query selects: SQL
        over the index's find tables, brought up to date model by model from each model's
        kept records first. Each hit is taken from the kept records (MAC'd), so a forged
        find row can select nothing that is not there."""
        from mreg.query import tables

        kept = self.kept_values(FIND_RECORDS, find_records)
        sources = {model: (key, functools.partial(json.loads, text)) for model, (key, text) in kept.items()}
        chosen = tables.select(self._cache.database(), sources, node, order, limit)
        records: dict[str, dict[str, dict]] = {}
        for model in dict.fromkeys(model for model, _ in chosen):
            if model in kept:
                records[model] = {record["version"]: record for record in json.loads(kept[model][1])}
        return [records[model][version] for model, version in chosen if version in records.get(model, {})]

    def find_table_findings(self) -> list[Finding]:
        """``verify``'s check of the find tables against the files (only where the index has them)."""
        from mreg.query import tables

        conn = self._cache.database() if self._cache.exists() else None
        if conn is None:
            return []
        grouped, keys = self._listed_models()
        sources = {files.spec.id: (keys[files.spec.id], functools.partial(find_records, files)) for files in self._files_of(grouped)}
        return [Finding(layout.INDEX, f"has find rows for {model} that differ from its files")
                for model in tables.stale_models(conn, sources)]

    # -- auditing the index (verify) ----------------------------------------------------

    def audit_index_against(self, listing: dict[str, dict[str, FileInfo]], model: str | None = None) -> None:
        """Load the index rows ``verify`` compares with the files it reads (``index_disagrees``):
        every row, or with ``model`` that model's."""
        self._audited = {path: info for files in listing.values() for path, info in files.items()}
        if model is None:
            self._cache.load_all()
        else:
            self._cache.load_model(model, events=True)

    def index_disagrees(self, path: str, raw: bytes) -> bool:
        """Whether the index has a row valid for ``path`` as listed whose digest is not ``raw``'s."""
        info = getattr(self, "_audited", {}).get(path)
        return info is not None and self._cache.disagrees(path, info, raw)

    def index_integrity(self, whole: bool = True) -> list[Finding]:
        """What is wrong with the index: rows read so far that fail their MAC, and with
        ``whole`` SQLite's own check of the file (which reads all of it)."""
        findings = [] if not whole or self._cache.intact() else [Finding(layout.INDEX, "is damaged (SQLite's quick_check fails)")]
        findings += [Finding(layout.INDEX, f"has a row for {path} that it did not write (its MAC fails)")
                     for path in sorted(self._cache.rejected)]
        return findings

    def all_model_files(self) -> list[ModelFiles]:
        """Every model's files from one listing of ``models/``, in model id order."""
        return list(self._files_of(self._listed_models()[0]))

    def derived_for_all(self, namespace: str, derive: Callable[[ModelFiles], Any]) -> list[Any]:
        """``derive(files)`` of every model, in model id order, through ``kept_values``."""
        return [json.loads(text) for _, text in self.kept_values(namespace, derive).values()]

    def kept_values(self, namespace: str, derive: Callable[[ModelFiles], Any]) -> dict[str, tuple[str, str]]:
        """Each model's ``derive(files)`` as JSON text, with the key it is kept under in the
        index, by model id: a key of the files a read of the model checks (model.yaml,
        head.yaml, the newest event, each version's manifest). While the key holds, the kept
        value is what the read would derive, so the model's files are neither parsed nor
        assembled; any change (a new version, an event, an edit) reads that model as
        ``model_files`` does.

        On a local disk the key is made of folders (``_folder_key``), so a model whose files
        did not change costs six ``lstat`` calls, not one per version; elsewhere it is made of
        one listing of ``models/``."""
        self._cache.load_kept(namespace)
        folders = self._model_folders()
        kept: dict[str, tuple[str, str]] = {}
        if folders is not None:
            for model in folders:
                entry = self._cache.kept_text(namespace, model)
                if entry is not None and entry[0] == self._kept_folder_key(model, entry[0]):
                    kept[model] = entry
        grouped, fresh = self._listed_models(exclude=set(kept))
        stale = {}
        for model, listing in grouped.items():
            entry = self._cache.kept_text(namespace, model)
            if entry is not None and entry[0] in (fresh[model], _files_fingerprint(listing, newest_event=True)):
                # kept under the listed files' key while its folders had not settled: re-keyed by them now
                kept[model] = (fresh[model], self._cache.keep_text(namespace, model, fresh[model], entry[1]))
            else:
                stale[model] = listing
        for files in self._files_of(stale):
            model = files.spec.id
            kept[model] = (fresh[model], self._cache.keep(namespace, model, fresh[model], derive(files)))
        return dict(sorted(kept.items()))

    def _model_folders(self) -> list[str] | None:
        """The folders in ``models/`` where the store can tell what changed in a folder
        without listing it (a local disk), else None."""
        folders = getattr(self.storage, "folders", None)
        return folders(layout.MODELS) if folders else None

    def _folder_identities(self, model: str, *files: str) -> list[FileInfo | None]:
        """The identities of a model's folder, versions/ and events/, then of ``files``."""
        base = layout.model_dir(model)
        return self.storage.identities([base, f"{base}/{layout.VERSIONS}", f"{base}/{layout.EVENTS}", *files])

    def _kept_folder_key(self, model: str, key: str) -> str | None:
        """What ``_folder_key`` is now for a model kept under the folder key ``key``, which
        names the newest event it was made with."""
        if not key.startswith(FOLDER_KEY):
            return None
        newest = key[len(FOLDER_KEY):].rpartition(":")[0]
        found = self._folder_identities(model, layout.model_path(model), layout.head_path(model), *([newest] if newest else []))
        return _folder_key(found[:3], found[3:], newest)

    def _listed_models(self, exclude: set[str] = frozenset()) -> tuple[dict[str, dict[str, FileInfo]], dict[str, str]]:
        """Each model's files by model id (models with a model.yaml), and the key to keep a
        value derived from them under: from one listing of ``models/``, or where the store
        lists folders, of each model's folder but those in ``exclude``."""
        folders = self._model_folders()
        keys: dict[str, str] = {}
        if folders is None:
            grouped = self.models_listing()
            self._cache.forget_missing({path for files in grouped.values() for path in files})
        else:
            grouped = {}
            for model in (model for model in folders if model not in exclude):
                identities = self._folder_identities(model)  # before the listing: a change after it shows
                grouped[model] = listing = self.storage.listing(layout.model_dir(model))
                newest = next((path for path in reversed(listing) if "/events/" in path), "")
                files = [listing.get(path) for path in (layout.model_path(model), layout.head_path(model), newest) if path]
                keys[model] = _folder_key(identities, files, newest) or ""
            self._cache.forget_missing({path for files in grouped.values() for path in files}, within=set(grouped), keep=set(folders))
        models = {model: files for model, files in grouped.items() if layout.model_path(model) in files}
        return models, {model: keys.get(model) or _files_fingerprint(files, newest_event=True) for model, files in models.items()}

    def _files_of(self, grouped: dict[str, dict[str, FileInfo]]) -> Iterator[ModelFiles]:
        """Each model's files, one model at a time (a caller that derives and lets go holds
        one model's documents, not the registry's); their specs, heads and newest events
        are fetched first, many at a time."""
        if not grouped:
            return
        present = {path: info for files in grouped.values() for path, info in files.items()}
        self._cache.load_kept(folding.NAMESPACE)
        self._cache.load_kept(MANIFESTS)
        heads = [next(reversed(events)) for events in (
            [path for path in files if "/events/" in path] for files in grouped.values()) if events]
        needed = [path for path in present if path.endswith((f"/{layout.SPEC}", f"/{layout.HEAD}"))] + heads
        self._cache.prefetch({path: present[path] for path in needed})
        for model, files in grouped.items():
            yield self.model_files(model, files)

    def blobs_for(self, files: ModelFiles, version: str) -> BlobStore:
        """The main blob store, or the archive store an archive event moved ``version`` to."""
        moved = files.archived().get(version)
        return BlobStore(open_storage(moved)) if moved else self.blobs

    def reindex(self) -> int:
        """Drop the index and rebuild it from every file; returns how many were listed."""
        self._cache.clear()
        file_info = getattr(self.storage, "file_info", None)
        if file_info:
            _read_config(self.storage, self._cache, file_info(layout.CONFIG), layout.CONFIG)
        count = sum(len(files) for files in self.models_listing().values())
        self.all_model_files()
        self._cache.flush()
        return count
