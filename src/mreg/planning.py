"""Planning a lifecycle event: the changes a command makes and the evidence that backs them.

``plan_*(files, ...) -> Plan(changes, evidence)`` reads one snapshot of a model's files
(``ModelFiles``) and does no I/O: every check runs here, so a refused command has written
nothing. The registry then stores the plan's evidence blobs and appends the event; when
another writer appended first it reads again and plans again. Evidence the user hands in
(``--evidence``, ``monitor --metrics``) is read once, before the first plan, and stored once.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from mreg import gates, lifecycle
from mreg.codec import digest_bytes, dump_json, load_yaml
from mreg.errors import CheckFailed, MregError, PathNotFound, UsageError
from mreg.gates import GateReport
from mreg.lifecycle import Change, State
from mreg.manifest import Evidence
from mreg.repository import ModelFiles


class Proof(NamedTuple):
    """One piece of evidence: the record the event holds and the bytes stored as its blob."""

    record: Evidence  # record.digest is the sha256 of data
    data: bytes


class Plan(NamedTuple):
    changes: list[Change]
    evidence: list[Proof] = []


def proof(kind: str, data: bytes, verdict: str | None = None, summary: str | None = None) -> Proof:
    return Proof(Evidence(kind=kind, verdict=verdict, digest=digest_bytes(data), summary=summary), data)


def file_proof(path: str | Path) -> Proof:
    """A file the user gave as evidence, read once, to be kept as a blob the event names."""
    path = Path(path)
    if not path.exists():
        raise PathNotFound(str(path))
    if not path.is_file():
        raise UsageError(f"evidence {path} is not a regular file")
    return proof("file", path.read_bytes(), summary=path.name)


def gate_proof(report: GateReport, verdict: str | None = None) -> Proof:
    """The full gate report, kept as a blob; the event names it by digest."""
    data = dump_json(report.to_json_data()).encode()
    return proof(f"gate:{report.gate}", data, verdict or report.verdict, report.summary())


# -- gates ------------------------------------------------------------------------------------

def gate_report(files: ModelFiles, version: str, target: str, metrics: dict[str, float] | None = None) -> GateReport:
    """The baselines gating ``target`` for a version, against its reference version."""
    baselines = gates.gating(files.spec.baselines, target)
    reference = reference_version(files, baselines, exclude=version)
    return evaluate(files, version, target, baselines, reference, metrics)


def evaluate(
    files: ModelFiles, version: str, gate: str, baselines: list, reference: str | None,
    metrics: dict[str, float] | None,
) -> GateReport:
    """``baselines`` over the version's metrics (``metrics`` override them) and the reference's."""
    manifest = files.manifest(version).manifest
    observed = {**manifest.metrics, **(metrics or {})}
    reference_metrics = files.manifest(reference).manifest.metrics if reference else {}
    return gates.evaluate(gate, manifest.ref, baselines, observed, reference_metrics, reference)


def reference_version(files: ModelFiles, baselines: list, exclude: str) -> str | None:
    """The version a relative tolerance compares against: the baselines' ``reference``
    (``production`` means the serving version), skipping the version under test."""
    names = {baseline.reference for baseline in baselines if baseline.tolerance is not None}
    name = names.pop() if len(names) == 1 else "production"
    version = files.state().serving if name == "production" else name
    return version if version in files.manifests and version != exclude else None


# -- the plans of each command ------------------------------------------------------------------

def plan_promote(
    files: ModelFiles, version: str, target: State, force: bool,
    metrics: dict[str, float] | None, attached: Proof | None,
) -> Plan:
    """Promote: the table's edge (any move with ``force``), its gate, the canary judgement."""
    files.manifest(version)
    state = files.state()
    changes = lifecycle.plan_forced(state, version, target) if force else lifecycle.plan_promote(state, version, target)
    [gate] = [lifecycle.gate_of(change) for change in changes if change.version == version]
    report = gate_report(files, version, gate, metrics) if gate else None
    verdict = _judge_verdict(attached) if target == State.PRODUCTION else None
    ref = f"{files.spec.id}@{version}"
    if report is not None and report.failures and not force:
        raise CheckFailed(f"{ref}: {report.summary()} (use --force --reason to override)")
    if verdict not in (None, "Pass") and not force:
        raise CheckFailed(f"{ref}: canary judgement is {verdict}, not Pass (use --force --reason to override)")
    evidence = [attached] if attached else []
    if verdict is not None:  # the evidence file is a judge report: record its verdict too
        evidence = [attached._replace(record=attached.record.model_copy(update={"kind": "judge", "verdict": verdict}))]
    return Plan(changes, evidence + ([gate_proof(report)] if report is not None else []))


def _judge_verdict(attached: Proof | None) -> str | None:
    """The verdict of a ``mreg judge --json`` report given as evidence, if it is one."""
    if attached is None:
        return None
    try:
        data = load_yaml(attached.data, attached.record.summary or "evidence")
    except MregError:
        return None
    return data.get("verdict") if isinstance(data, dict) and "metrics" in data else None


def plan_monitor(files: ModelFiles, metrics: dict[str, float], scheduled: bool) -> Plan:
    """A health check of the serving version against its baselines' alert thresholds."""
    state = files.state()
    serving = state.serving
    manifest = files.manifest(serving).manifest if serving else None
    report = gates.evaluate(
        "health", manifest.ref if manifest else files.spec.id, gates.health_baselines(files.spec.baselines), metrics
    )
    changes = lifecycle.plan_health_check(state, healthy=not report.failures and not scheduled)
    verdict = "drift" if report.failures else ("scheduled" if scheduled else "healthy")
    return Plan(changes, [gate_proof(report, verdict)])
