"""``verify`` and ``gc``: checking a registry against its own digests, and collecting blobs.

verify reads every file afresh (never the derived index) and reports each problem with the
file it is in, and where the index disagrees with the files (then rebuilds it): a manifest whose seal or recorded digest no longer matches its bytes, an
event chain with a gap or a wrong ``previous``, a transition the lifecycle table forbids,
a missing blob, and with ``deep`` a blob whose bytes do not hash to its name.
"""

from __future__ import annotations

import time
from mreg.codec import digest_bytes, load_json
from mreg.errors import CorruptObject, MregError
from mreg.chain import Head, model_findings
from mreg.events import Event, StoredEvent
from mreg.layout import INDEX, head_path, model_dir, model_path, object_path, version_path
from mreg.manifest import ModelSpec, VersionManifest
from mreg.artifacts import blob_digests
from mreg.repository import Repository, archive_locations
from mreg.results import GcReport, Problem, VerifyReport
from mreg.store import markers, open_storage
from mreg.store.blobs import BlobStore


class _Checker:
    def __init__(self, repository: Repository) -> None:
        self.repository = repository
        self.problems: list[Problem] = []
        self.counts = {"models": 0, "versions": 0, "events": 0}
        self.held: set[str] = set()  # the blobs the checked models reference that are held here
        self._remote_stores: list[tuple[BlobStore, set[str]]] | None = None

    def on_remote(self, digest: str) -> BlobStore | None:
        """A remote's blob store holding ``digest`` (each remote's objects/ listed once, when first needed)."""
        if self._remote_stores is None:
            from mreg.remotes.stores import remote_blob_stores

            self._remote_stores = [(store, set(store.all_objects())) for store in remote_blob_stores(self.repository)]
        return next((store for store, held in self._remote_stores if digest in held), None)

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path=path, message=message))

    def _load(self, path: str, kind: type):
        raw = self.repository.storage.read(path)
        if self.repository.index_disagrees(path, raw):
            self.fail(INDEX, f"holds other content for {path} than the file")
        try:
            return kind.from_yaml(raw, path), raw
        except MregError as exc:
            self.fail(path, exc.message.removeprefix(f"{path}: "))
            return None, raw

    def model(self, model: str, paths: list[str]) -> None:
        self.counts["models"] += 1
        spec, spec_raw = self._load(model_path(model), ModelSpec)
        if spec is not None and spec.id != model:
            self.fail(model_path(model), f"names model {spec.id}, but lives under {model_dir(model)}")
        manifests = {}
        for path in paths:
            if path.startswith(f"{model_dir(model)}/versions/"):
                manifest, raw = self.manifest(model, path)
                if manifest is not None:
                    manifests[manifest.version] = (manifest, digest_bytes(raw))
        history = []
        for path in sorted(p for p in paths if p.startswith(f"{model_dir(model)}/events/")):
            event, raw = self._load(path, Event)
            self.counts["events"] += 1
            if event is not None:
                self.sealed(path, event, raw)
                history.append(StoredEvent(event, digest_bytes(raw), path))
        head = self._load(head_path(model), Head)[0] if head_path(model) in paths else None
        digests = {version: digest for version, (_, digest) in manifests.items()}
        for finding in model_findings(model, digest_bytes(spec_raw), digests, history, head) + self.repository.kept_fold_findings(model, digests, history):
            self.fail(*finding)
        archived = archive_locations(history)
        for version, (manifest, _) in manifests.items():
            self.blobs_of(manifest, archived.get(version))
        upgraded_from = min((stored.event.seq for stored in history if stored.event.spec), default=0)
        for stored in history:
            self.evidence_of(stored, digests, format_1=stored.event.seq < upgraded_from)

    def manifest(self, model: str, path: str):
        self.counts["versions"] += 1
        manifest, raw = self._load(path, VersionManifest)
        if manifest is None:
            return None, raw
        if path != version_path(manifest.model, manifest.version) or manifest.model != model:
            self.fail(path, f"holds {manifest.ref}, which belongs at {version_path(manifest.model, manifest.version)}")
        self.sealed(path, manifest, raw)
        return manifest, raw

    def sealed(self, path: str, document, raw: bytes) -> None:
        """A document written once must still match its seal and the bytes mreg wrote."""
        if document.seal != document.expected_seal():
            self.fail(path, "edited after it was written: its content no longer matches its seal")
        elif document.to_yaml() != raw:
            self.fail(path, "edited after it was written: not in the canonical form mreg wrote")

    def holder(self, blobs: BlobStore, digest: str, archived: bool) -> BlobStore | None:
        """Where a blob is: here, else (not for archived versions) on a remote; None if nowhere."""
        if blobs.has(digest):
            if blobs is self.repository.blobs:
                self.held.add(digest)
            return blobs
        return None if archived else self.on_remote(digest)

    def evidence_of(self, stored: StoredEvent, manifests: dict[str, str], format_1: bool) -> None:
        """Every evidence blob an event names exists (the proof a gated promotion rests on),
        and each judge or gate report held here is bound to a version the event is about.
        ``format_1``: history from before the model's first model event, which ``mreg upgrade``
        took over; reports written then may predate bound documents (no ``kind``)."""
        for proof in stored.event.evidence:
            if not proof.digest:
                continue
            holder = self.holder(self.repository.blobs, proof.digest, archived=False)
            if holder is None:
                self.fail(object_path(proof.digest), f"missing evidence blob ({proof.kind}) of {stored.path}")
            elif holder is self.repository.blobs and (proof.kind == "judge" or proof.kind.startswith("gate:")):
                try:
                    raw = holder.read(proof.digest)
                except CorruptObject as exc:
                    why = f"is corrupt: it hashes to {exc.actual}"
                else:
                    why = None if format_1 and _unbound_era(raw) else self.unbound(raw, stored.event, manifests)
                if why:
                    self.fail(object_path(proof.digest), f"evidence ({proof.kind}) of {stored.path} {why}")

    @staticmethod
    def unbound(raw: bytes, event: Event, manifests: dict[str, str]) -> str | None:
        """Why a stored report does not prove what its event claims, or None: it must be an
        intact mreg evidence document for this model's version as stored, and for a version the
        event moves (a health check that moved nothing judged the serving version)."""
        from mreg import evidence

        try:
            document = evidence.parse(raw, "it", f"{event.model}@?")
        except MregError as exc:
            return f"is not an intact evidence document ({exc.message})"
        moved = {change.version for change in event.changes}
        if document.model != event.model or (moved and document.version not in moved):
            return f"is a {document.kind} for {document.ref}, which the event does not move"
        if manifests.get(document.version) != document.manifest:
            return f"judged a manifest of {document.ref} with digest {document.manifest}, not the one stored"
        return None

    def blobs_of(self, manifest: VersionManifest, archive_url: str | None) -> None:
        """Every blob of the version exists here or on a remote (a clone holds none until pulled)."""
        blobs = BlobStore(open_storage(archive_url)) if archive_url else self.repository.blobs
        where = version_path(manifest.model, manifest.version)
        nowhere = " here or on any remote" if self.repository.config.remotes and not archive_url else ""
        if self.repository.config.blob_store and not archive_url:
            nowhere = f" in the blob store {blobs.storage.url}{nowhere.replace(' here', ',')}"
        for artifact in manifest.artifacts:
            if artifact.kind == "external":
                continue
            holder = self.holder(blobs, artifact.digest, bool(archive_url))
            if holder is None:
                self.fail(object_path(artifact.digest), f"missing blob of {manifest.ref} artifact {artifact.path} ({where}){nowhere}")
                continue
            if artifact.kind == "tree":
                try:
                    entries = holder.tree_entries(artifact.digest)
                except CorruptObject as exc:
                    self.fail(object_path(artifact.digest), exc.message)
                    continue
                for entry in entries:
                    if self.holder(blobs, entry["digest"], bool(archive_url)) is None:
                        self.fail(object_path(entry["digest"]), f"missing blob of {manifest.ref} {artifact.path}/{entry['path']}{nowhere}")


def _unbound_era(raw: bytes) -> bool:
    """A report from before mreg bound its reports: JSON with no ``kind`` (docs/security.md)."""
    try:
        data = load_json(raw, "evidence")
    except MregError:
        return False
    return isinstance(data, dict) and "kind" not in data


def verify(repository: Repository, model: str | None = None, deep: bool = False) -> VerifyReport:
    """``model``: that model's files, the blobs it references and its index rows only, so a
    check of one model costs the same in a registry of 3 models as in one of 3,000."""
    checker = _Checker(repository)
    listing = repository.models_listing(model)
    repository.audit_index_against(listing, model)
    if model is not None and model_path(model) not in listing.get(model, {}):
        repository.model_files(model)  # "not found", with the closest ids
    for name, paths in listing.items():
        if model_path(name) not in paths:
            checker.fail(model_dir(name), "has files but no model.yaml")
            continue
        checker.model(name, list(paths))
    objects = sorted(checker.held) if model else sorted(repository.blobs.all_objects())
    if deep:
        for digest in objects:
            try:
                for _chunk in repository.blobs.iter_verified(digest):
                    pass
            except CorruptObject as exc:
                checker.fail(object_path(digest), f"corrupt: hashes to {exc.actual}")
    clean = not checker.problems  # the find tables are checked only against files that verify
    whole = model is None
    for finding in repository.index_integrity(whole) + (repository.find_table_findings() if whole and clean else []):
        checker.fail(*finding)
    if any(problem.path == INDEX for problem in checker.problems):
        try:
            repository.reindex()  # the index disagreed with the files: rebuilt from them
        except MregError:
            pass  # files that do not read (reported above): the index stays dropped until they do
    external = repository.blobs.storage.url if repository.config.blob_store else None
    return VerifyReport(
        ok=not checker.problems, deep=deep, objects=len(objects), blob_store=external,
        problems=sorted(checker.problems, key=lambda p: (p.path, p.message)), **checker.counts,
    )


def referenced_digests(repository: Repository, exclude: tuple[str, str] | None = None) -> set[str]:
    """Every blob a live manifest or an event's evidence names (trees with their entries),
    leaving out the version ``exclude`` = (model, version). Reads through the validated
    cache, so gc and archive do not re-parse every file of a large registry."""
    referenced: set[str] = set()
    for files in repository.all_model_files():
        moved = archive_locations(files.events)
        for stored in files.events:
            referenced.update(proof.digest for proof in stored.event.evidence if proof.digest)
        for version, stored in files.manifests.items():
            if version not in moved and (files.spec.id, version) != exclude:
                referenced |= blob_digests(repository.blobs, stored.manifest.artifacts)
    return referenced


TEMPORARY_FLOOR_SECONDS = 600  # a younger temporary may be any command's write in progress, whatever --grace


def collect_garbage(
    repository: Repository, dry_run: bool = False, grace: int | None = None, include_unpushed: bool = False
) -> GcReport:
    """Delete unreferenced blobs older than ``grace`` seconds, and the temporaries killed
    writers left under ``.tmp/`` older than that too. While any registration is in flight
    (it holds a marker, ``mreg.store.markers``), no blob is deleted at all, whatever ``grace``.

    In a registry with remotes, a blob no remote holds is kept unless ``include_unpushed``:
    it may be the only copy of something a remote's history still needs."""
    grace = repository.config.policy.gc_grace_seconds if grace is None else grace
    with markers.collecting(repository.blobs.storage) as in_flight:
        objects = repository.blobs.all_objects()
        cutoff = time.time() - grace
        doomed: list[str] = []
        unpushed: list[str] = []
        if not in_flight:  # whatever the grace, never race a registration (see mreg.store.markers)
            referenced = referenced_digests(repository)
            doomed = sorted(d for d, info in objects.items() if d not in referenced and info.modified <= cutoff)
        if repository.config.remotes and not include_unpushed and doomed:
            from mreg.remotes.stores import blobs_on_remotes

            held = blobs_on_remotes(repository)
            unpushed = [d for d in doomed if d not in held]
            doomed = [d for d in doomed if d in held]
        if not dry_run:
            for digest in doomed:
                repository.blobs.storage.delete(object_path(digest))
        sweep = getattr(repository.storage, "sweep_temporaries", None)  # local stores; S3 expires .tmp/ by rule
        swept = sweep is not None and not dry_run and not in_flight
        temporaries = sweep(min(cutoff, time.time() - TEMPORARY_FLOOR_SECONDS)) if swept else []
    return GcReport(
        dry_run=dry_run, kept=len(objects) - len(doomed), removed=doomed, kept_unpushed=unpushed,
        bytes_freed=sum(objects[d].size for d in doomed), temporaries=temporaries, in_flight=in_flight,
    )
