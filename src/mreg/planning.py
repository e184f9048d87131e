"""Planning a lifecycle event: the changes a command makes and the evidence that backs them.

``plan_*(files, ...) -> Plan(changes, evidence)`` reads one snapshot of a model's files
(``ModelFiles``) and does no I/O: every check runs here, so a refused command has written
nothing. The registry then stores the plan's evidence blobs and appends the event; when
another writer appended first it reads again and plans again. Evidence the user hands in
(``--evidence``, ``monitor --metrics``) is read once, before the first plan, and stored once.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from mreg import evidence, gates, lifecycle
from mreg.codec import digest_bytes, dump_json, read_input
from mreg.errors import CheckFailed, PathNotFound, UsageError
from mreg.evidence import EvidenceDocument, Subject
from mreg.gates import GateReport
from mreg.lifecycle import Change, State
from mreg.manifest import Evidence, EvidencePolicy
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
    return proof("file", read_input(path, "evidence"), summary=path.name)


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

class GivenEvidence(NamedTuple):
    """An ``--evidence`` file, read and parsed once: the document, its bytes, its name."""

    document: EvidenceDocument
    data: bytes
    source: str


def read_evidence(path: str | Path, ref: str) -> GivenEvidence:
    """Read and parse an ``--evidence`` file (within the codec's limits); only a judge report
    is evidence a user hands in: promote makes the gate reports itself."""
    source = str(path)
    if Path(path).exists() and not Path(path).is_file():
        raise UsageError(f"evidence {source} is not a regular file")
    data = read_input(Path(path), "evidence")
    document = evidence.parse(data, source, ref)
    if document.kind != "judge-report":
        raise UsageError(f"{source} is a {document.kind}, which promote makes itself; --evidence takes a judge report")
    return GivenEvidence(document, data, source)


class Moment(NamedTuple):
    """Who plans, and the one instant every retry of the plan uses (so its bytes stay equal)."""

    actor: str
    now: datetime


def subject(files: ModelFiles, version: str) -> Subject:
    serving = files.state().serving
    return Subject(files.spec.id, version, files.manifest(version).digest,
                   serving, files.manifest(serving).digest if serving else None)


def plan_promote(
    files: ModelFiles, version: str, target: State, force: bool, metrics: dict[str, float] | None,
    given: GivenEvidence | None, policy: EvidencePolicy, moment: Moment,
) -> Plan:
    """Promote along the table's edge (any move with ``force``), with the evidence the policy
    asks of that edge: its baseline gate, run here, and a passing judge report, given.

    ``force`` overrides the table, the requirements, a report's age and any verdict, but never
    a report's binding: one made for another version (or other bytes) is always refused."""
    files.manifest(version)
    state = files.state()
    changes = lifecycle.plan_forced(state, version, target) if force else lifecycle.plan_promote(state, version, target)
    move = changes[-1]  # the version's own change; a retired serving version leaves first
    row = lifecycle.taken_edge(state, move)
    needs = policy.requires(row) if row is not None and row.command == "promote" else ()
    about = subject(files, version)
    proofs = []
    if given is not None:
        proofs.append(_judged(given, about, force, policy, moment))
    elif "judge" in needs and not force:
        raise UsageError(
            f"{about.ref} {move.source} -> {target} needs a passing judge report (policy.evidence in mreg.yaml): "
            f"run 'mreg judge {about.ref} --canary FILE --baseline FILE -o judge.json', then promote with --evidence judge.json"
        )
    gate = lifecycle.gate_of(move)
    if gate and ("gate" in needs or row is None):
        report = gate_report(files, version, gate, metrics)
        if report.failures and not force:
            raise CheckFailed(f"{about.ref}: {report.summary()} (use --force --reason to override)")
        proofs.append(gate_proof(files, about, report, moment, metrics))
    return Plan(changes, proofs)


def _judged(given: GivenEvidence, about: Subject, force: bool, policy: EvidencePolicy, moment: Moment) -> Proof:
    document = given.document
    evidence.check_bound(document, given.source, about)
    stale = evidence.staleness(document, about, moment.now, policy.max_age_delta)
    if stale and not force:
        raise UsageError(f"{given.source}: {stale} (or --force --reason to override)")
    if document.verdict != "Pass" and not force:
        raise CheckFailed(f"{about.ref}: canary judgement is {document.verdict}, not Pass (use --force --reason to override)")
    score = document.report.get("summary_score")
    against = f"against {document.model}@{document.reference}" if document.reference else "with nothing serving"
    summary = f"judged {against} at {document.time}, score {score:g}" if isinstance(score, (int, float)) else None
    return proof("judge", given.data, document.verdict, summary)


def gate_proof(
    files: ModelFiles, about: Subject, report: GateReport, moment: Moment,
    metrics: dict[str, float] | None = None, verdict: str | None = None,
) -> Proof:
    """The gate's report as an evidence document, kept as a blob the event names by digest."""
    reference = (report.reference, files.manifest(report.reference).digest) if report.reference else None
    samples = {"metrics": digest_bytes(dump_json(metrics).encode())} if metrics else {}
    document = evidence.make("gate-report", about, report.to_json_data(), samples,
                             moment.actor, moment.now, reference)
    return proof(f"gate:{report.gate}", document.to_json(), verdict or report.verdict, report.summary())


def plan_monitor(files: ModelFiles, metrics: dict[str, float], scheduled: bool, moment: Moment) -> Plan:
    """A health check of the serving version against its baselines' alert thresholds."""
    state = files.state()
    serving = state.serving
    manifest = files.manifest(serving).manifest if serving else None
    report = gates.evaluate(
        "health", manifest.ref if manifest else files.spec.id, gates.health_baselines(files.spec.baselines), metrics
    )
    changes = lifecycle.plan_health_check(state, healthy=not report.failures and not scheduled)
    verdict = "drift" if report.failures else ("scheduled" if scheduled else "healthy")
    return Plan(changes, [gate_proof(files, subject(files, serving), report, moment, metrics, verdict)])
