"""The registry facade: every operation a user can ask for, over one store.

Write order is blobs, then the version manifest, then events; reads go the other way.
Nothing here prints or exits: methods return result models and raise ``MregError``s.
Command verbs equal method names (``mreg promote`` is ``Registry.promote``).
"""

from __future__ import annotations

from datetime import datetime
from itertools import takewhile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from mreg import artifacts, bulk, chain, clock, events, evidence, gates, heads, layout, lifecycle, planning
from mreg.bulk import NewVersion
from mreg.codec import digest_bytes, dump_json
from mreg.errors import AlreadyExists, CheckFailed, ConcurrentUpdate, Conflict, NotFound, UsageError
from mreg.events import ChangeRecord, Event
from mreg.evidence import Judgement
from mreg.gates import GateReport
from mreg.layout import model_path, object_path, version_path
from mreg.lifecycle import Change, State
from mreg.manifest import Environment, ModelSpec, RegistryConfig, VersionManifest
from mreg.names import check_name, natural_key, parse_ref
from mreg.planning import Plan, Proof
from mreg.provenance import parameters_from_file, with_provenance
from mreg.repository import ModelFiles, Repository, StoredManifest
from mreg.results import (
    EventResult,
    FindResult,
    FoundVersion,
    GcReport,
    LogEntry,
    ModelSummary,
    ModelView,
    Move,
    PullResult,
    RegisterManyResult,
    StatusView,
    UpgradeReport,
    VerifyReport,
    VersionRow,
    VersionView,
)
from mreg.store import Storage, open_storage
from mreg.store import is_local
from mreg.store import markers
from mreg.store.blobs import BlobStore, Progress

if TYPE_CHECKING:
    from mreg.card.facts import CardFacts
    from mreg.diff import VersionDiff
    from mreg.lineage.graph import Direction, ImpactView, LineageView

SUMMARIES = "summaries.1"  # the index's namespace for each model's inventory row (``models``)


class Registry:
    """One method per command, over a ``Repository`` (the read model)."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository

    @property
    def storage(self) -> Storage:
        return self.repository.storage

    @property
    def config(self) -> RegistryConfig:
        return self.repository.config

    @property
    def blobs(self) -> BlobStore:
        return self.repository.blobs

    # -- opening -----------------------------------------------------------------------

    @classmethod
    def create(cls, url: str, blob_store: str | None = None, remotes: dict[str, str] | None = None) -> "Registry":
        """Lay out a new registry at ``url``; refuses a place that already holds one.

        In a git work tree (or with a remote) ``objects/`` is git-ignored: blobs belong in a
        blob store or remote, not in git history (docs/remotes.md)."""
        registry = cls(Repository.create(url, blob_store, remotes))
        if remotes or (is_local(registry.storage.url) and _in_git_work_tree(Path(registry.storage.url))):
            from mreg.remotes.commands import ignore_blobs_in_git

            ignore_blobs_in_git(registry)
        return registry

    def update_config(self, **changes) -> RegistryConfig:
        """Rewrite mreg.yaml with ``changes`` (e.g. remotes); the only mutable field of mreg.yaml's kind."""
        config = RegistryConfig.from_data({**self.config.to_data(), "seal": None, **changes}, layout.CONFIG)
        self.repository.write_config(config)
        return config

    @classmethod
    def open(cls, url: str) -> "Registry":
        return cls(Repository.open(url))

    @staticmethod
    def upgrade(url: str) -> UpgradeReport:
        """Migrate the registry at ``url`` to this mreg's format (docs/security.md)."""
        from mreg.upgrade import upgrade

        return upgrade(url)

    @staticmethod
    def seal_config(url: str) -> tuple[RegistryConfig, bool]:
        """Accept a reviewed hand edit of mreg.yaml (its policy, say): check it, then seal it."""
        return Repository.seal_config(url)

    def flush(self) -> None:
        """Persist what reads learned into the derived cache (call after a successful command)."""
        self.repository.flush()

    # -- reading -----------------------------------------------------------------------

    def model_ids(self) -> list[str]:
        """The models' ids, from one listing (nothing parsed): shell completion calls this."""
        return self.repository.model_ids()

    def _summary(self, files: ModelFiles) -> ModelSummary:
        current, status = _current(files)
        spec = files.spec
        return ModelSummary(
            id=spec.id, name=spec.name, task=spec.task, framework=spec.framework,
            current_version=current, status=status, serving_mode=spec.serving_mode,
            versions=len(files.manifests),
        )

    def models(self, status: State | str | None = None) -> list[ModelSummary]:
        """The inventory in the order models were added, current version and status folded from events."""
        status = None if status is None else lifecycle.parse_state(status)
        kept = self.repository.derived_for_all(SUMMARIES, lambda files: {
            "row": self._summary(files).to_json_data(), "added_at": files.spec.added_at or ""})
        rows = [ModelSummary.model_validate(value["row"]) for value in sorted(kept, key=lambda value: (value["added_at"], value["row"]["id"]))]
        return [row for row in rows if status is None or row.status == status.value]

    def show(self, ref: str) -> ModelView | VersionView:
        """``mreg show``: a model's view for ``MODEL``, a version's for ``MODEL@VERSION``."""
        return self.show_version(ref) if "@" in ref else self.show_model(ref)

    def show_model(self, model: str) -> ModelView:
        files = self.repository.model_files(model)
        state = files.state()
        current, status = _current(files)
        rows = [
            VersionRow(
                version=version, training_period=stored.manifest.training_period,
                key_change=stored.manifest.key_change, status=state.state_of(version).value,
                notes=stored.manifest.notes, registered_at=stored.manifest.registered_at,
                metrics=dict(stored.manifest.metrics),
            )
            for version, stored in files.manifests.items()
        ]
        return ModelView(model=files.spec, current_version=current, status=status, versions=rows)

    def show_version(self, ref: str) -> VersionView:
        model, version = parse_ref(ref)
        files = self.repository.model_files(model)
        stored = files.manifest(version)
        return VersionView(
            manifest=stored.manifest,
            status=files.state().state_of(version).value,
            manifest_digest=stored.digest,
        )

    def manifest(self, ref: str) -> VersionManifest:
        model, version = parse_ref(ref)
        return self.repository.model_files(model).manifest(version).manifest

    def model_spec(self, model: str) -> ModelSpec:
        return self.repository.model_files(model).spec

    def log(self, target: str | None = None, since: datetime | None = None, limit: int | None = None) -> list[LogEntry]:
        """Registrations and events interleaved by time, newest first; ``target`` is a model
        or ``MODEL@VERSION`` (only what touched that version), ``since`` an instant."""
        model, version = parse_ref(target, version_required=False) if target else (None, None)
        every = [self.repository.model_files(model)] if model else self.repository.all_model_files()
        if version is not None:
            every[0].manifest(version)  # an unknown version is an error, not an empty history
        entries = []
        for files in every:
            for stored in files.manifests.values():
                entries.append(_registration_entry(stored.manifest))
            entries += [_event_entry(stored.event) for stored in files.events]
        if version is not None:
            entries = [entry for entry in entries if any(move.version == version for move in entry.changes)]
        if since is not None:
            entries = [entry for entry in entries if entry.time >= clock.format_time(since)]
        entries.sort(key=lambda entry: (entry.time, entry.model, entry.seq or 0), reverse=True)
        return entries if limit is None else entries[:limit]

    def status(self, model: str, at: datetime | None = None) -> StatusView:
        """Each version's state now, or as it was at instant ``at``."""
        files = self.repository.model_files(model)
        registered, state = list(files.manifests), files.state()
        if at is not None:
            instant = clock.format_time(at)
            registered = [v for v, s in files.manifests.items() if (s.manifest.registered_at or "") <= instant]
            prefix = takewhile(lambda s: s.event.time <= instant, _lifecycle_events(files))  # a prefix of the chain
            state = lifecycle.fold(model, registered, (stored.event.as_changes() for stored in prefix))
        versions = {version: state.state_of(version).value for version in registered}
        return StatusView(
            model=model, at=clock.format_time(at) if at else None, serving=state.serving, versions=versions
        )

    # -- writing: models and versions --------------------------------------------------

    def add_model(self, spec: ModelSpec, by: str | None = None, at: datetime | None = None) -> ModelView:
        """Add a model; ``by``/``at`` keep an importer's source actor and time instead of now's."""
        path = model_path(spec.id)
        if self.storage.exists(path):
            raise AlreadyExists(f"model {spec.id}", "edit it with 'mreg model update'")
        added_by, added_at = clock.stamp(by, at)
        data = spec.model_copy(update={"added_by": added_by, "added_at": added_at}).to_yaml()
        self.storage.create(path, data)
        self._record_spec(spec.id, data, "model added", by, at)
        return self.show_model(spec.id)

    def update_model(self, spec: ModelSpec) -> ModelView:
        """Replace a model's identity, dependencies and baselines, recorded by a model event
        (versions are untouched). The event is written first and the head moved last, so a
        kill in between leaves model.yaml old or new, both of which the chain explains."""
        current = self.repository.model_files(spec.id).spec
        data = spec.model_copy(update={"added_by": current.added_by, "added_at": current.added_at}).to_yaml()
        self._record_spec(spec.id, data, "model updated",
                          before_head=lambda: self.storage.replace(model_path(spec.id), data))
        return self.show_model(spec.id)

    def _record_spec(
        self, model: str, data: bytes, reason: str, by: str | None = None, at: datetime | None = None,
        before_head: Callable[[], None] | None = None,
    ) -> None:
        """Append the model event recording model.yaml's digest (``data`` is what it holds)."""

        def plan() -> Event:
            files = self.repository.model_files(model)
            heads.catch_up(self.storage, files)
            actor, time = clock.stamp(by, at)
            return Event(model=model, action="model", actor=actor, time=time,
                         reason=reason, spec=digest_bytes(data), **events.next_links(files.head))

        stored = events.append_planned(self.storage, model, plan)
        if before_head is not None:
            before_head()
        heads.advance(self.storage, model, stored.event.seq, stored.digest)

    def register(
        self,
        ref: str,
        manifest: dict[str, Any] | None = None,
        artifact_sources: list[str | Path] = (),
        parents: list[str] = (),
        metrics: dict[str, float] | None = None,
        progress: Progress | None = None,
        from_metaflow: str | None = None,
        run_artifacts: list[str] = (),
        datasets_from: dict[str, str] | None = None,
        capture_env: bool = False,
        parameters: Any = None,
        parameters_source: str = "parameters",
        by: str | None = None,
        at: datetime | None = None,
    ) -> VersionView:
        """Store artifacts, then create the version manifest exclusively: that write registers it.

        ``from_metaflow`` (a run's pathspec: its ``run_artifacts`` are stored, ``datasets_from``
        maps dataset names to its values), a captured environment and ``parameters`` (a
        mapping) are laid over the manifest data (``provenance.with_provenance``). The run is
        read, and every input checked, before anything is stored. ``by``/``at`` record an
        importer's source actor and time instead of now's."""
        model, version = parse_ref(ref)
        artifact_sources = [str(source) for source in artifact_sources]
        files = self.repository.model_files(model)  # the one listing of the model
        if version in files.manifests:
            raise AlreadyExists(f"{model}@{version}", "versions are immutable; register a new version")
        run = None
        if from_metaflow:
            from mreg.integrations.metaflow import read_run

            run = read_run(from_metaflow, list(run_artifacts), datasets_from)
        environment = None
        if capture_env:
            from mreg.environment import capture

            environment = capture()
        flat = parameters_from_file(parameters, parameters_source) if parameters is not None else None
        data = with_provenance(dict(manifest or {}), run, environment, flat)
        for key, expected in (("model", model), ("version", version)):
            if data.setdefault(key, expected) != expected:
                raise UsageError(f"manifest says {key} {data[key]!r}, but the command names {expected!r}")
        data["parents"] = list(dict.fromkeys([*data.get("parents", []), *parents]))
        data["metrics"] = {**data.get("metrics", {}), **(metrics or {})}
        self._check_parents(files, version, data["parents"])
        source = f"manifest for {model}@{version}"
        draft = VersionManifest.from_data(data, source)  # validate before storing anything
        artifacts.check_records(self.blobs, draft.artifacts)
        sources = artifacts.collect(list(artifact_sources))
        with markers.registering(self.blobs.storage):  # gc deletes none of these blobs until the manifest names them
            stored = artifacts.store(self.blobs, sources, progress) + artifacts.store_bytes(self.blobs, run.files if run else {})
            registered_by, registered_at = clock.stamp(by, at)
            new_names = {artifact.path for artifact in stored}
            if new_names & {artifact.path for artifact in draft.artifacts}:
                raise UsageError("an -a artifact has the same name as one in the manifest file")
            final, raw = VersionManifest.from_data(
                {
                    **draft.to_data(),
                    "artifacts": [a.to_data() for a in [*draft.artifacts, *stored]],
                    "registered_by": registered_by,
                    "registered_at": registered_at,
                },
                source,
            ).sealed_yaml()
            path = version_path(model, version)
            try:
                info = self.storage.create(path, raw)
            except AlreadyExists:
                raise AlreadyExists(f"{model}@{version}", "registered concurrently by another writer") from None
        self.repository.wrote({path: (info, raw, final.to_data())})
        files = files.with_manifest(version, StoredManifest(final.to_data(), digest_bytes(raw), path))
        status = self._enter_candidate_if_retraining(files, version)
        return VersionView(manifest=final, status=status.value, manifest_digest=digest_bytes(raw))

    def register_many(
        self, versions: Iterable[NewVersion | Mapping[str, Any]], by: str | None = None, at: datetime | None = None
    ) -> RegisterManyResult:
        """Register many versions as one batch (migrations, generators; ``mreg import manifests``).

        Each item is a manifest mapping naming its model and version, or a ``NewVersion``
        (manifest, source for messages, bytes to store as file artifacts). Every check of
        ``register`` runs for every version first, and any refusal writes nothing; then blobs
        and manifests are written as two durable batches (one flush, one fsync per
        directory). A version already registered with the same content is skipped, one with
        other content is a ``Conflict``. Unlike ``register``, no event follows (no
        retraining -> candidate step): an import records versions as they were."""
        items = [item if isinstance(item, NewVersion) else NewVersion(item) for item in versions]
        with markers.registering(self.blobs.storage):  # one marker for the batch: gc waits for its manifests
            batch, already = bulk.plan(self.repository, items, by, at)
            bulk.write(self.repository, batch)
        return RegisterManyResult(registered=_ordered([planned.manifest.ref for planned in batch]),
                                  already_there=_ordered(already))

    def _enter_candidate_if_retraining(self, files: ModelFiles, version: str) -> State:
        """The seed's Retraining -> Candidate edge: a version registered while the serving one
        retrains becomes a Candidate at once if it passes the offline gate. Returns the state
        the new version is in (``files`` predates that promotion)."""
        retraining = files.state().in_state(State.RETRAINING)
        if not retraining:
            return State.DEVELOPMENT
        try:
            self.promote(f"{files.spec.id}@{version}", State.CANDIDATE,
                         reason=f"new version trained while {retraining[0]} retrains")
        except (CheckFailed, UsageError, Conflict):  # its gate refused it, or the model moved on: it stays in development
            return State.DEVELOPMENT
        return State.CANDIDATE

    def _check_parents(self, files: ModelFiles, version: str, parents: list[str]) -> None:
        for parent in parents:
            parent_model, parent_version = parse_ref(parent, version_required=False)
            if parent_version is None:
                parent_model, parent_version = files.spec.id, parent_model
            if (parent_model, parent_version) == (files.spec.id, version):
                raise UsageError(f"{files.spec.id}@{version} cannot be its own parent (a cycle)")
            owner = files if parent_model == files.spec.id else self.repository.model_files(parent_model)
            owner.manifest(parent_version)

    def pull(self, ref: str, directory: str | Path, progress: Progress | None = None) -> PullResult:
        """Write a version's artifacts under ``directory``, every byte checked against its digest.

        Blobs missing here (a clone fetches no blobs) are first copied from the remotes, verified."""
        directory = Path(directory)
        manifest = self.manifest(ref)
        blobs = self._blobs_for(manifest)
        if blobs is self.blobs and self.config.remotes:
            from mreg.remotes.commands import fetch_missing_blobs

            fetch_missing_blobs(self, _needed_blobs(self, manifest.artifacts))
        pulled = artifacts.materialize(blobs, manifest.artifacts, directory, progress)
        return PullResult(
            ref=manifest.ref, directory=str(directory), files=pulled, bytes=sum(f.size for f in pulled)
        )

    def import_mlflow(self, tracking_uri: str, names: list[str] = (), alias_map: list[str] = ()):
        """Import MLflow registered models (``alias_map``: ALIAS=STATE pairs); see docs/remotes.md."""
        from mreg.integrations import mlflow

        return mlflow.import_mlflow(self, tracking_uri, list(names), mlflow.parse_alias_map(list(alias_map)))

    # -- remotes (docs/remotes.md; the work is in mreg.remotes.commands) ------------------

    def remote_add(self, name: str, url: str) -> dict[str, str]:
        from mreg.remotes import commands

        return commands.remote_add(self, name, url)

    def remote_remove(self, name: str) -> dict[str, str]:
        from mreg.remotes import commands

        return commands.remote_remove(self, name)

    def push(self, refs: list[str] = (), remote: str | None = None, dry_run: bool = False, progress=None):
        """Copy versions and events to a remote: blobs, manifests, events; fast-forward only."""
        from mreg.remotes import commands

        return commands.push(self, refs, remote, dry_run, progress)

    def fetch(self, models: list[str] = (), remote: str | None = None, dry_run: bool = False):
        """Bring a remote's new versions and events here (blobs come on demand, with pull)."""
        from mreg.remotes import commands

        return commands.fetch(self, models, remote, dry_run)

    @classmethod
    def clone(cls, url: str, directory: str):
        from mreg.remotes import commands

        return commands.clone(url, directory)

    def bundle_create(self, target: Path, refs: list[str]) -> dict:
        from mreg.remotes import commands

        return commands.bundle_create(self, target, refs)

    def bundle_apply(self, path: Path, dry_run: bool = False, progress=None):
        from mreg.remotes import commands

        return commands.bundle_apply(self, path, dry_run, progress)

    def _blobs_for(self, manifest: VersionManifest) -> BlobStore:
        return self.repository.blobs_for(self.repository.model_files(manifest.model), manifest.version)

    # -- writing: lifecycle events -----------------------------------------------------

    def _append(
        self,
        model: str,
        action: str,
        plan_for: Callable[[ModelFiles], Plan],
        reason: str | None,
        forced: bool = False,
        attached: list[Proof] = (),
        archived_to: str | None = None,
        by: str | None = None,
        at: datetime | None = None,
    ) -> EventResult:
        """Plan against the freshest history and append one event; re-read and re-plan if
        another writer appended first (the compare-and-swap of ``events.append``).

        ``attached`` (what the user handed in) is stored once, after the first plan holds,
        so a refused command stores nothing. ``at`` (an importer's source time) is raised to
        the previous event's time if older, so a chain's times never go backwards
        (``status --at`` reads a prefix by time)."""
        if forced and not reason:
            raise UsageError("--force needs --reason: forced changes must say why")
        stored_digests: set[str] = set()

        def store(proofs: list[Proof]) -> None:
            for proof in proofs:
                if proof.record.digest not in stored_digests:
                    self.blobs.put_bytes(proof.data)
                    stored_digests.add(proof.record.digest)

        with markers.registering(self.blobs.storage):  # evidence blobs are stored before the event names them
            for attempt in range(events.MAX_ATTEMPTS):
                files = self.repository.model_files(model)
                unfinished = chain.interrupted_update(files.spec_digest, files.events, files.head_record) if _beyond_head(files) else None
                if unfinished is not None:
                    raise ConcurrentUpdate(model, f"'mreg model update' was interrupted after event {unfinished.event.seq}; rerun it first")
                heads.catch_up(self.storage, files)
                try:
                    plan = plan_for(files)
                except UsageError as refusal:
                    if attempt == 0:
                        raise
                    raise ConcurrentUpdate(model, f"another writer appended first, and now {refusal.message}") from None
                store([*attached, *plan.evidence])
                actor, time = clock.stamp(by, at)
                event = Event(
                    model=model, action=action, changes=[_change_record(files, change) for change in plan.changes],
                    actor=actor, time=max(time, _newest_time(files)), reason=reason, forced=forced,
                    evidence=[proof.record for proof in [*attached, *plan.evidence]], archived_to=archived_to,
                    **events.next_links(files.head),
                )
                try:
                    stored = events.append(self.storage, event)
                except AlreadyExists:
                    continue
                heads.advance(self.storage, model, stored.event.seq, stored.digest)
                return EventResult(
                    model=model, seq=event.seq, action=event.action,
                    changes=[Move.of(change) for change in event.as_changes()], forced=event.forced,
                    evidence=event.evidence, archived_to=event.archived_to,
                )
        raise ConcurrentUpdate(model, f"gave up after {events.MAX_ATTEMPTS} attempts; too many concurrent writers")

    def promote(
        self,
        ref: str,
        target: State | str,
        reason: str | None = None,
        evidence_file: str | Path | None = None,
        force: bool = False,
        metrics: dict[str, float] | None = None,
    ) -> EventResult:
        """Move a version along one edge; edges with a gate check the version's baselines first.

        ``metrics`` (e.g. measured on the canary) override the manifest's offline metrics for
        the gate. A failing gate raises ``CheckFailed`` unless ``force`` (which needs a reason).
        """
        model, version = parse_ref(ref)
        target = lifecycle.parse_state(target)
        given = planning.read_evidence(evidence_file, f"{model}@{version}") if evidence_file is not None else None
        moment = planning.Moment(clock.actor(), clock.now())  # one instant for every retry: the plan's bytes stay equal
        policy = self.config.policy.evidence

        def plan_for(files: ModelFiles) -> Plan:
            return planning.plan_promote(files, version, target, force, metrics, given, policy, moment)

        return self._append(model, "promote", plan_for, reason, force)

    def check(self, ref: str, against: str | None = None, metrics: dict[str, float] | None = None) -> GateReport:
        """Evaluate a version against every baseline and a reference (production by default)."""
        model, version = parse_ref(ref)
        files = self.repository.model_files(model)
        files.manifest(version)
        reference = files.state().serving if against in (None, "production") else against
        return planning.evaluate(
            files, version, "check", files.spec.baselines, None if reference == version else reference, metrics
        )

    def card(self, ref: str) -> "CardFacts":
        """What the version's model card may state, checked against production (or, for the
        production version itself, against the version it was derived from)."""
        from mreg.card.facts import CardFacts, HistoryRow, Transition

        model, version = parse_ref(ref)
        files = self.repository.model_files(model)
        stored = files.manifest(version)
        state = files.state()
        own_parents = [p for p in stored.manifest.parents if "@" not in p and p in files.manifests]
        against = own_parents[0] if state.serving == version and own_parents else None
        return CardFacts(
            model=files.spec, manifest=stored.manifest, status=state.state_of(version).value,
            manifest_digest=stored.digest, check=self.check(ref, against),
            history=[HistoryRow(version=row.version, status=row.status, training_period=row.training_period,
                                key_change=row.key_change, registered_at=row.registered_at)
                     for row in self.show_model(model).versions],
            transitions=[
                Transition(seq=e.event.seq, time=e.event.time, source=change.from_.value, target=change.to.value,
                           actor=e.event.actor, reason=e.event.reason, forced=e.event.forced, evidence=e.event.evidence)
                for e in files.events for change in e.event.changes if change.version == version
            ],
            derived=sorted((v for v, m in files.manifests.items() if version in m.manifest.parents), key=natural_key),
        )

    def environment(self, ref: str) -> Environment:
        """The environment recorded for the version (``register --capture-env`` or its run)."""
        manifest = self.manifest(ref)
        if manifest.environment == Environment():
            raise NotFound(f"{manifest.ref} has no recorded environment (register with --capture-env)")
        return manifest.environment

    def requirements(self, ref: str) -> str:
        """The recorded environment as a pinned requirements file."""
        from mreg.environment import requirements

        return requirements(self.environment(ref))

    def diff(self, ref_a: str, ref_b: str) -> "VersionDiff":
        """What changed from A to B, section by section; B's metrics are judged by its model's
        baselines with A as the reference."""
        from mreg.diff import diff_versions

        model_b, _ = parse_ref(ref_b)
        return diff_versions(self.manifest(ref_a), self.manifest(ref_b), self.model_spec(model_b).baselines)

    def judge(
        self, ref: str, canary: dict[str, list[float]], baseline: dict[str, list[float]],
        sample_digests: dict[str, str] | None = None,
    ) -> Judgement:
        """Kayenta-style judgement of a version's canary samples against the baseline's, with
        the model's baselines as metric specs (needs the ``judge`` extra: numpy), and the
        evidence document that binds it to the version (``promote --evidence`` takes it).

        ``sample_digests`` name the samples judged (the CLI gives each file's sha256); by
        default, the sha256 of each side's canonical JSON."""
        model, version = parse_ref(ref)
        files = self.repository.model_files(model)
        files.manifest(version)
        report = gates.judge_canary(files.spec.baselines, canary, baseline)
        samples = sample_digests or {side: digest_bytes(dump_json(values).encode())
                                     for side, values in (("canary", canary), ("baseline", baseline))}
        about = planning.subject(files, version)
        actor, time = clock.stamp()
        document = evidence.make("judge-report", about, report.to_json_data(), samples,
                                 actor, clock.parse_time(time), evidence.judged_reference(about))
        return Judgement(report, document)

    def rollback(
        self, target: str, to: str | None = None, reason: str | None = None, force: bool = False
    ) -> EventResult:
        model, version = parse_ref(target, version_required=False)
        if to is not None:
            check_name("version", to)

        def plan_for(files: ModelFiles) -> Plan:
            for name in (version, to):
                if name is not None:
                    files.manifest(name)
            return Plan(lifecycle.plan_rollback(files.state(), version, to))

        return self._append(model, "rollback", plan_for, reason, force)

    def import_state(self, ref: str, target: State, reason: str, by: str, at: datetime) -> EventResult:
        """Record a state another registry gave a version (``mreg import``): forced, since the
        source's stages need not follow mreg's table, and stamped with the source's actor and time."""
        model, version = parse_ref(ref)

        def plan_for(files: ModelFiles) -> Plan:
            files.manifest(version)
            return Plan(lifecycle.plan_forced(files.state(), version, target))

        return self._append(model, "import", plan_for, reason, forced=True, by=by, at=at)

    def deprecate(self, ref: str, reason: str | None = None) -> EventResult:
        return self._move(ref, State.DEPRECATED, "deprecate", reason)

    def archive(self, ref: str, reason: str | None = None, move_to: str | None = None) -> EventResult:
        """Deprecated -> Archived; with an archive store, blobs only this version uses move there.

        The archive gets a copy of every blob of the version (shared ones too), so pulling an
        archived version reads one store. Order: copy (verified) to the archive, append the
        event naming it, then delete the originals no one else uses, so a crash leaves the
        blobs in one place or both, never in none.
        """
        model, version = parse_ref(ref)
        move_to = move_to or self.config.policy.archive_store
        if move_to is None:
            return self._move(ref, State.ARCHIVED, "archive", reason)
        files = self.repository.model_files(model)
        lifecycle.plan_move(files.state(), version, State.ARCHIVED)  # refuse before copying anything
        exclusive = self._exclusive_blobs(files, version)
        archive = BlobStore(open_storage(move_to))
        for digest in sorted(artifacts.blob_digests(self.blobs, files.manifest(version).manifest.artifacts)):
            archive.put_chunks(self.blobs.iter_verified(digest))
        result = self._move(ref, State.ARCHIVED, "archive", reason, archived_to=move_to)
        for digest in exclusive:
            self.blobs.storage.delete(object_path(digest))
        return result

    def _exclusive_blobs(self, files: ModelFiles, version: str) -> list[str]:
        """Blobs of ``version`` that no other registered version of any model references."""
        from mreg.integrity import referenced_digests

        mine = artifacts.blob_digests(self.blobs, files.manifest(version).manifest.artifacts)
        others = referenced_digests(self.repository, exclude=(files.spec.id, version))
        return sorted(mine - others)

    def monitor(
        self, model: str, metrics: dict[str, float], source: str | Path | None = None, scheduled: bool = False
    ) -> EventResult:
        """A health check of the serving version against its baselines' alert thresholds.

        Production -> Monitoring -> Production when healthy; -> Retraining on drift, or when
        retraining is ``scheduled`` whatever the metrics say.
        """
        attached = [planning.file_proof(source)] if source is not None else []

        moment = planning.Moment(clock.actor(), clock.now())

        def plan_for(files: ModelFiles) -> Plan:
            return planning.plan_monitor(files, metrics, scheduled, moment)

        return self._append(model, "monitor", plan_for, None, attached=attached)

    def reindex(self) -> int:
        """Drop the derived index and rebuild it from every file; returns how many were read.
        The lineage references are rebuilt too when networkx is there."""
        from mreg.lineage import index

        count = self.repository.reindex()
        try:
            from mreg.lineage import graph
        except ImportError:
            index.drop_legacy(self.storage)
        else:
            graph.reindex(self.repository)
        return count

    # -- checking and collecting -------------------------------------------------------

    def verify(self, model: str | None = None, deep: bool = False) -> VerifyReport:
        """Hash chains, seals, digests and blobs re-checked from the files (never the cache)."""
        from mreg.integrity import verify

        return verify(self.repository, model, deep)

    def gc(self, dry_run: bool = False, grace: int | None = None, include_unpushed: bool = False) -> GcReport:
        """Remove blobs no version or event references, older than ``grace`` seconds (with
        remotes: only those some remote holds, unless ``include_unpushed``)."""
        from mreg.integrity import collect_garbage

        return collect_garbage(self.repository, dry_run, grace, include_unpushed)

    # -- find --------------------------------------------------------------------------

    def find(self, query: str | None = None, order_by: str | None = None, limit: int | None = None) -> FindResult:
        """Every version matching ``query`` (docs/find.md), ordered by ``order_by``
        (``'metrics.ndcg DESC, model'``), at most ``limit``; SQL over the derived index, whose
        answer is the Python evaluation's (``mreg.query.evaluate``; a property test compares)."""
        from mreg.query import matches, parse, parse_order
        from mreg.query.syntax import fields_of

        node = parse(query, {"state": [state.value for state in State]}) if query and query.strip() else None
        order = parse_order(order_by) if order_by and order_by.strip() else ()
        records = self.repository.find(node, order, limit)
        rows = [record for record in records if node is None or matches(node, record)]  # a forged find row adds nothing
        mentioned = [str(field) for field in [*fields_of(node), *(key.field for key in order)]]
        shown = [field for field in dict.fromkeys(mentioned) if field not in ("model", "version", "state")]
        return FindResult(query=query, order_by=order_by, fields=shown, versions=[FoundVersion(**row) for row in rows])

    # -- lineage -----------------------------------------------------------------------

    def lineage(self, target: str | None, direction: "Direction" = "both", depth: int | None = None) -> "LineageView":
        """The lineage graph around ``target`` (a model, version or node id); ``None``: all of it."""
        from mreg.lineage import graph  # networkx: loaded only here

        return graph.lineage(self.repository, target, direction, depth)

    def impact(self, node: str) -> "ImpactView":
        """Every model version downstream of ``node``, with its state now, Production first."""
        from mreg.lineage import graph

        return graph.impact(self.repository, node)

    def _move(self, ref: str, target: State, action: str, reason: str | None, **extra) -> EventResult:
        model, version = parse_ref(ref)

        def plan_for(files: ModelFiles) -> Plan:
            files.manifest(version)
            return Plan(lifecycle.plan_move(files.state(), version, target))

        return self._append(model, action, plan_for, reason, **extra)


def _ordered(refs: list[str]) -> list[str]:
    """Refs by model, then version in natural order (v2 before v10)."""
    return sorted(refs, key=lambda ref: (ref.partition("@")[0], natural_key(ref.partition("@")[2])))


def _in_git_work_tree(directory: Path) -> bool:
    """Whether ``directory`` (or a parent) holds ``.git``, as git itself looks upward."""
    return any((folder / ".git").exists() for folder in (directory, *directory.parents))


def _lifecycle_events(files: ModelFiles) -> list:
    """The events that move versions (model events record model.yaml and move none)."""
    return [stored for stored in files.events if stored.event.changes]


def _beyond_head(files: ModelFiles) -> bool:
    """Whether an event lies beyond the head record (a write was interrupted or is in flight)."""
    return files.head is not None and (files.head_record.seq if files.head_record else 0) < files.head.event.seq


def _newest_time(files: ModelFiles) -> str:
    """The newest lifecycle event's time: a new one is never older (``status --at`` reads a
    prefix of them by time); a model event's own time does not count (``model add`` may come
    after the history an importer replays)."""
    if files.head is not None and files.head.event.changes:
        return files.head.event.time  # the usual case: no history parsed
    moved = _lifecycle_events(files)
    return moved[-1].event.time if moved else ""


def _current(files: ModelFiles) -> tuple[str | None, str | None]:
    """The serving version, else the newest registered one, with its state."""
    state = files.state()
    version = state.serving or (list(files.manifests)[-1] if files.manifests else None)
    return (version, state.state_of(version).value) if version else (None, None)


def _needed_blobs(registry: "Registry", artifacts_: list) -> set[str]:
    """Blobs a pull reads: files and trees, and the entries of trees (listings fetched first)."""
    from mreg.remotes.commands import fetch_missing_blobs

    tops = {a.digest for a in artifacts_ if a.kind != "external"}
    fetch_missing_blobs(registry, tops)
    return tops | artifacts.blob_digests(registry.blobs, artifacts_)


def _change_record(files: ModelFiles, change: Change) -> ChangeRecord:
    """A change as the event records it, with the digest of the version's manifest now."""
    return ChangeRecord(**{"version": change.version, "from": change.source, "to": change.target,
                           "manifest": files.manifest(change.version).digest})


def _registration_entry(manifest: VersionManifest) -> LogEntry:
    return LogEntry(
        time=manifest.registered_at or "", model=manifest.model, action="register", seq=None,
        changes=[Move(version=manifest.version, from_=None, to=State.DEVELOPMENT)],
        actor=manifest.registered_by, reason=manifest.key_change, forced=False, evidence=[],
    )


def _event_entry(event: Event) -> LogEntry:
    return LogEntry(
        time=event.time, model=event.model, action=event.action, seq=event.seq,
        changes=[Move.of(change) for change in event.as_changes()], actor=event.actor,
        reason=event.reason, forced=event.forced, evidence=event.evidence,
    )
