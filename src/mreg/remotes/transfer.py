"""Carry out a transfer plan: blobs, then a new model's model.yaml, manifests, then each event
followed by the head naming it (a changed model.yaml is replaced after the newest model
event is created and before the head names it, as ``model update`` does).

That order is the store's own write order, so the destination is valid at every instant:
a kill mid-transfer leaves at most unreferenced blobs or a shorter (still fast-forward)
chain, and a rerun plans only what is still missing. Manifests and events are copied byte
for byte and checked against the digests the plan was made from; a create that finds its
name taken compares bytes, so a race with another writer is either harmless (same bytes)
or a conflict (exit 4) — never an overwrite.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from mreg import heads
from mreg.errors import AlreadyExists, ConcurrentUpdate, CorruptObject, ModelNotFound, MregError, VersionNotFound
from mreg.events import event_path
from mreg.names import parse_ref
from mreg.remotes.plan import Diverged, ModelPlan, Plan, SpecConflict, VersionConflict, plan_blobs, plan_model
from mreg.remotes.sides import RegistrySide, Side
from mreg.results import TransferReport
from mreg.store import markers
from mreg.store.blobs import digest_bytes

PARALLEL_BLOBS = 8
Progress = Callable[[int], None]


class TransferFailed(MregError):
    """Some blobs could not be copied; nothing that needs them was written."""

    def __init__(self, report: TransferReport, first: MregError) -> None:
        super().__init__(
            f"{len(report.failed)} blob(s) could not be copied, so no manifest or event was written "
            f"(first: {first.message}); rerun to finish"
        )
        self.exit_code = first.exit_code
        self.report = report


@dataclass(frozen=True)
class Selection:
    """``MODEL`` or ``MODEL@VERSION`` arguments, grouped: model -> versions (None: all)."""

    models: dict[str, frozenset[str] | None]

    @classmethod
    def parse(cls, refs: list[str]) -> "Selection":
        models: dict[str, frozenset[str] | None] = {}
        for ref in refs:
            model, version = parse_ref(ref, version_required=False)
            if version is None or models.get(model, frozenset()) is None:
                models[model] = None
            else:
                models[model] = models.get(model, frozenset()) | {version}
        return cls(models)


def _model_paths(model: str) -> tuple[str, str]:
    return f"models/{model}/model.yaml", f"models/{model}/versions"


def plan_transfer(source: Side, destination: Side | None, refs: list[str], with_blobs: bool = True) -> Plan:
    """Plan everything first: any conflict is raised before either side is touched.

    ``destination`` None plans against an empty registry (what a bundle carries).
    """
    selection = Selection.parse(refs)
    models = selection.models or {model: None for model in source.model_ids()}
    plans: list[ModelPlan] = []
    for model, versions in sorted(models.items()):
        here = source.model(model)
        if here is None:
            raise ModelNotFound(model)
        if versions is not None:
            for version in versions:
                if version not in here.manifests:
                    raise VersionNotFound(model, version)
        plans.append(plan_model(model, here, destination.model(model) if destination else None, versions))
    if not with_blobs:
        return Plan(tuple(plans))
    held = source.blob_sizes()
    needed: set[str] = set()
    for plan in plans:
        needed |= source.referenced_blobs(plan.model, plan.versions, plan.events)
        # Versions the destination has already: repair any blob it lacks that we hold.
        side = source.model(plan.model)
        older = tuple(v for v in (models[plan.model] or side.manifests) if v not in plan.versions)
        seqs = tuple(seq for seq in range(1, len(side.events) + 1) if seq not in plan.events)
        needed |= source.referenced_blobs(plan.model, older, seqs) & set(held)
    missing, present = plan_blobs(needed, set(destination.blob_sizes()) if destination else set())
    return Plan(tuple(plans), missing, present)


def _report(source: Side, destination: RegistrySide, plan: Plan, dry_run: bool, sizes: dict[str, int],
            failed: list[dict[str, str]]) -> TransferReport:
    copied = [digest for digest in plan.blobs if digest not in {f["blob"] for f in failed}]
    return TransferReport(
        source=source.url, destination=destination.url, dry_run=dry_run,
        moved={
            "models": sum(1 for p in plan.models if p.changes_anything),
            "manifests": sum(len(p.versions) for p in plan.models),
            "events": sum(len(p.events) for p in plan.models),
            "blobs": len(copied),
            "bytes": sum(sizes.get(digest, 0) for digest in copied),
        },
        already_there={
            "manifests": sum(p.present_versions for p in plan.models),
            "events": sum(p.present_events for p in plan.models),
            "blobs": plan.present_blobs,
        },
        failed=failed,
        behind=[p.model for p in plan.models if p.behind],
    )


def _copy_blobs(source: Side, destination: RegistrySide, digests: tuple[str, ...], progress: Progress | None) -> list[tuple[str, MregError]]:
    def copy(digest: str) -> tuple[str, MregError] | None:
        try:
            stored = destination.repository.blobs.put_chunks(source.blob_chunks(digest), progress)
        except MregError as exc:
            return digest, exc
        if stored.digest != digest:  # cannot happen unless the source lied about a name
            return digest, CorruptObject(digest, digest, stored.digest)
        return None

    with ThreadPoolExecutor(PARALLEL_BLOBS) as pool:
        return [failure for failure in pool.map(copy, digests) if failure is not None]


def _create_checked(destination: RegistrySide, path: str, data: bytes, on_clash: Callable[[], MregError]) -> None:
    """Create ``path``; a name taken by the same bytes is fine, by other bytes a conflict."""
    try:
        destination.repository.storage.create(path, data)
    except AlreadyExists:
        if destination.read(path) != data:
            raise on_clash() from None


def _source_bytes(source: Side, path: str, expected: str, model: str) -> bytes:
    data = source.read(path)
    if digest_bytes(data) != expected:
        raise ConcurrentUpdate(model, f"{path} changed on {source.url} while this transfer ran; rerun")
    return data


def _copy_model(source: Side, destination: RegistrySide, plan: ModelPlan) -> None:
    model = plan.model
    side = source.model(model)
    spec_path, versions_dir = _model_paths(model)
    if plan.create_spec:
        _create_checked(destination, spec_path, _source_bytes(source, spec_path, side.spec, model),
                        lambda: SpecConflict(model))
    for version in plan.versions:
        path = f"{versions_dir}/{version}.yaml"
        _create_checked(destination, path, _source_bytes(source, path, side.manifests[version], model),
                        lambda: VersionConflict(model, version))
    newest_spec = max((seq for seq in plan.events if side.specs[seq - 1]), default=None)
    if plan.events and plan.events[0] > 1:  # the destination's newest event, named before one is added past it
        heads.advance(destination.repository.storage, model, plan.events[0] - 1, side.events[plan.events[0] - 2])
    for seq in plan.events:
        path = event_path(model, seq)
        _create_checked(destination, path, _source_bytes(source, path, side.events[seq - 1], model),
                        lambda: Diverged(model, seq))
        if plan.replace_spec and seq == newest_spec:  # after its event, before the head names it
            destination.repository.storage.replace(spec_path, _source_bytes(source, spec_path, side.spec, model))
        heads.advance(destination.repository.storage, model, seq, side.events[seq - 1])


def execute(source: Side, destination: RegistrySide, plan: Plan, dry_run: bool = False,
            progress: Progress | None = None) -> TransferReport:
    sizes = source.blob_sizes() if plan.blobs else {}
    if dry_run:
        return _report(source, destination, plan, True, sizes, [])
    with markers.registering(destination.repository.blobs.storage):  # no gc there until manifests name the blobs
        failures = _copy_blobs(source, destination, plan.blobs, progress)
        failed = [{"blob": digest, "error": error.message} for digest, error in sorted(failures, key=lambda f: f[0])]
        report = _report(source, destination, plan, False, sizes, failed)
        if failures:
            raise TransferFailed(report, failures[0][1])
        for model_plan in plan.models:
            if model_plan.changes_anything:
                _copy_model(source, destination, model_plan)
    return report


def transfer(source: Side, destination: RegistrySide, refs: list[str] = (), with_blobs: bool = True,
             dry_run: bool = False, progress: Progress | None = None) -> TransferReport:
    plan = plan_transfer(source, destination, list(refs), with_blobs)
    return execute(source, destination, plan, dry_run, progress)
