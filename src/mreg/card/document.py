"""The card as a document: titled sections of text, key-value facts and tables, built from
``CardFacts`` alone. Markdown and HTML render this one structure, so both formats always
say the same thing; a fact the registry lacks becomes ``MISSING`` (never a guess).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mreg import gates
from mreg.card.facts import CardFacts
from mreg.manifest import Environment, RunRef

MISSING = "Not recorded."
PACKAGES_SHOWN = 12  # the environment section lists this many packages, then counts the rest


class Verdict(str):
    """A verdict word (pass, regression, ...) that a renderer may highlight."""


class Code(str):
    """A digest, path or identifier, shown in a fixed-width font."""


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Fields:
    items: list[tuple[str, Any]]


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[Any]]


@dataclass(frozen=True)
class Section:
    title: str
    blocks: list[Text | Fields | Table] = field(default_factory=list)


@dataclass(frozen=True)
class CardDocument:
    title: str
    subtitle: str
    summary: Fields
    sections: list[Section]


def _or_missing(text: str | None) -> Text:
    return Text(text.strip() if text and text.strip() else MISSING)


def _table_or_missing(columns: list[str], rows: list[list[Any]], missing: str = MISSING) -> Text | Table:
    return Table(columns, rows) if rows else Text(missing)


def build(facts: CardFacts) -> CardDocument:
    model, manifest = facts.model, facts.manifest
    card = manifest.model_card
    summary = Fields([
        ("Model", f"{model.name} ({model.id})"),
        ("Version", manifest.version),
        ("Status", Verdict(facts.status.capitalize())),
        ("Task", model.task),
        ("Framework", model.framework),
        ("Serving mode", model.serving_mode),
        ("Owners", ", ".join(model.owners) or None),
        ("License", model.license),
        ("Training period", manifest.training_period),
        ("Registered", _registered(manifest.registered_at, manifest.registered_by)),
        ("Manifest", Code(facts.manifest_digest)),
    ])
    sections = [
        Section("Purpose and intended use", [Fields([("Purpose", model.purpose), ("Intended use", card.intended_use)])]),
        Section("Limitations", [_or_missing(card.limitations)]),
        Section("Fairness assessment", [_or_missing(card.fairness)]),
        Section("Ethical considerations", [_or_missing(card.ethical_considerations)]),
        Section("This version", [Fields([("Key change", manifest.key_change), ("Notes", manifest.notes)])]),
        Section("Architecture", [_table_or_missing(
            ["Component", "Role", "Framework"],
            [[c.component, c.role, c.framework] for c in manifest.architecture])]),
        _training_data(facts),
        _dependencies(facts),
        Section("Parameters", [_table_or_missing(
            ["Parameter", "Value"], [[Code(name), value] for name, value in manifest.parameters.items()])]),
        _environment(manifest.environment),
        _metrics(facts),
        Section("Version history", [_table_or_missing(
            ["Version", "Training period", "Key change", "Status", "Registered"],
            [[row.version, row.training_period, row.key_change, Verdict(row.status.capitalize()), row.registered_at]
             for row in facts.history])]),
        _path_to_production(facts),
        _training_run(manifest.run),
        Section("Artifacts", [_table_or_missing(
            ["Artifact", "Kind", "Size (bytes)", "Digest"],
            [[Code(a.path), a.kind, a.size, Code(a.digest)] for a in manifest.artifacts])]),
    ]
    return CardDocument(title=f"{model.name}", subtitle=f"Model card for {facts.ref}", summary=summary, sections=sections)


def _registered(at: str | None, by: str | None) -> str | None:
    if not at:
        return None
    return f"{at} by {by}" if by else at


def _training_data(facts: CardFacts) -> Section:
    manifest = facts.manifest
    datasets = _table_or_missing(
        ["Dataset", "Source", "Scale", "Refresh", "Snapshot"],
        [[d.name, d.source, d.scale, d.refresh, Code(d.digest) if d.digest else d.snapshot] for d in manifest.datasets],
    )
    lineage = Fields([
        ("Derived from", ", ".join(manifest.parents) or None),
        ("Versions derived from it", ", ".join(facts.derived) or None),
        ("Trained by run", Code(manifest.run.pathspec) if manifest.run.pathspec else manifest.run.url),
    ])
    return Section("Training data and lineage", [datasets, lineage])


def _dependencies(facts: CardFacts) -> Section:
    dependencies = facts.model.dependencies
    return Section("Dependencies", [
        Table(["Direction", "Service", "Role"],
              [["upstream", d.service, d.role] for d in dependencies.upstream]
              + [["downstream", d.service, d.role] for d in dependencies.downstream])
        if dependencies.upstream or dependencies.downstream else Text(MISSING),
    ])


def _environment(environment: Environment) -> Section:
    if environment == Environment():
        return Section("Environment", [Text(MISSING)])
    packages = list(environment.packages.items())
    shown = ", ".join(f"{name} {version}" for name, version in packages[:PACKAGES_SHOWN])
    more = f" and {len(packages) - PACKAGES_SHOWN} more (mreg env)" if len(packages) > PACKAGES_SHOWN else ""
    git = environment.git
    return Section("Environment", [Fields([
        ("Python", " ".join(filter(None, [environment.python, environment.implementation])) or None),
        ("Platform", environment.platform),
        ("Recorded from", environment.source),
        ("Packages", f"{len(packages)}: {shown}{more}" if packages else None),
        ("Lock files", ", ".join(f"{lock.path} ({lock.digest})" for lock in environment.lock_files) or None),
        ("Git commit", Code(f"{git.commit}{' (uncommitted changes)' if git.dirty else ''}") if git else None),
    ])])


def _metrics(facts: CardFacts) -> Section:
    check = facts.check
    by_metric = {baseline.metric: baseline for baseline in facts.model.baselines}
    reference = f"Reference ({check.reference})" if check.reference else "Reference"
    rows = [
        [by_metric[m.metric].title if m.metric in by_metric and by_metric[m.metric].title else Code(m.metric),
         m.value, m.reference, gates.describe(by_metric[m.metric]) if m.metric in by_metric else None,
         Verdict(m.verdict), m.rule]
        for m in check.metrics
    ]
    baselined = {m.metric for m in check.metrics}
    rows += [[Code(name), value, None, None, None, "no baseline"] for name, value in facts.manifest.metrics.items()
             if name not in baselined]
    intro = Text(f"Judged against {check.reference}: {check.verdict}." if check.reference
                 else f"No reference version to compare with; bounds only: {check.verdict}.")
    if not rows:
        return Section("Metrics against baselines", [Text(MISSING)])
    return Section("Metrics against baselines", [intro, Table(["Metric", "Value", reference, "Baseline", "Verdict", "Rule"], rows)])


def _path_to_production(facts: CardFacts) -> Section:
    rows = [
        [t.time, f"{t.source} -> {t.target}", t.actor, " ".join(filter(None, [t.reason, "(forced)" if t.forced else None])),
         [Verdict(e.verdict) for e in t.evidence if e.verdict] or "no gate",
         [_evidence(e) for e in t.evidence] or "none"]
        for t in facts.transitions
    ]
    reached = any(t.target == "production" for t in facts.transitions)
    note = Text("Every lifecycle event of this version, oldest first: who moved it, when, why, the gate verdicts "
                "and the evidence recorded with the event." + ("" if reached else " This version has not reached Production."))
    return Section("Path to production", [note, _table_or_missing(
        ["When", "Transition", "Who", "Reason", "Verdict", "Evidence"], rows,
        "No lifecycle events: the version is in development.")])


def _evidence(evidence) -> Code:
    """``kind: summary (digest)``: the digest names the stored evidence document."""
    text = f"{evidence.kind}: {evidence.summary}" if evidence.summary else evidence.kind
    return Code(f"{text} ({evidence.digest})" if evidence.digest else text)


def _training_run(run: RunRef) -> Section:
    if run == RunRef():
        return Section("Training run", [Text(MISSING)])
    items = [
        ("System", run.system), ("Run", Code(run.pathspec) if run.pathspec else None), ("URL", run.url),
        ("Flow", run.flow), ("Steps", " -> ".join(run.steps) or None), ("User", run.user),
        ("Tags", ", ".join(run.tags) or None), ("Started", run.started_at), ("Finished", run.finished_at),
        ("Code package", Code(run.code_package.sha) if run.code_package else None),
    ]
    blocks: list[Text | Fields | Table] = [Fields(items)]
    if run.artifacts:
        blocks.append(Table(["Run artifact", "Stored as", "Metaflow sha"], [[a.name, Code(a.path), Code(a.sha)] for a in run.artifacts]))
    return Section("Training run", blocks)
