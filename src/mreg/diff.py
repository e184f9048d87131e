"""What changed between two versions, section by section, and how their metrics compare.

Sections: metadata (the manifest's descriptive fields), architecture, datasets (by name),
parameters, environment (interpreter, platform, lock files, git commit, and packages
added/removed/upgraded/downgraded in PEP 440 order),
artifacts (by path, compared by digest), and a metric table in which B is judged against
its model's baselines with A as the reference (``gates.judge_metric``), so a diff answers
"would B regress if it replaced A?". Registration time, registrant and seal always differ
and say nothing about the model, so they are left out.

Pure: the registry supplies the two manifests and the baselines.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import computed_field

from mreg import gates
from mreg.manifest import Baseline, Environment, VersionManifest
from mreg.names import natural_key
from mreg.results import Result

Change = Literal["added", "removed", "changed"]
PackageMove = Literal["added", "removed", "upgraded", "downgraded", "changed"]
METADATA_FIELDS = ("training_period", "key_change", "notes", "parents", "run", "model_card")
ENVIRONMENT_FIELDS = ("python", "implementation", "platform", "source")
SECTIONS = ("metadata", "architecture", "datasets", "parameters", "environment", "artifacts", "metrics")


class FieldChange(Result):
    """One named value that differs; ``a``/``b`` is None where the field is absent."""

    field: str
    change: Change
    a: Any = None
    b: Any = None


class ItemChange(Result):
    """A list entry (dataset, component, artifact) matched by name between A and B."""

    name: str
    change: Change
    fields: list[str]  # for "changed": the fields that differ
    a: dict[str, Any] | None = None
    b: dict[str, Any] | None = None


class PackageChange(Result):
    name: str
    change: PackageMove
    a: str | None = None
    b: str | None = None


class MetricRow(Result):
    """A metric in A and B; ``verdict`` is B's against the baseline with A as reference,
    or None when the model has no baseline for the metric."""

    metric: str
    a: float | None
    b: float | None
    delta: float | None
    relative: float | None
    baseline: str | None
    critical: bool
    verdict: gates.Verdict | None
    rule: str | None


class VersionDiff(Result):
    a: str
    b: str
    metadata: list[FieldChange]
    architecture: list[ItemChange]
    datasets: list[ItemChange]
    parameters: list[FieldChange]
    environment: list[FieldChange]
    packages: list[PackageChange]
    artifacts: list[ItemChange]
    metrics: list[MetricRow]

    @computed_field
    @property
    def changed_sections(self) -> list[str]:
        changed = {
            "metadata": self.metadata, "architecture": self.architecture, "datasets": self.datasets,
            "parameters": self.parameters, "environment": self.environment + self.packages,
            "artifacts": self.artifacts, "metrics": [row for row in self.metrics if row.a != row.b],
        }
        return [name for name in SECTIONS if changed[name]]

    @property
    def regressions(self) -> list[MetricRow]:
        return [row for row in self.metrics if row.verdict == "regression"]


def _value_changes(a: dict[str, Any], b: dict[str, Any]) -> list[FieldChange]:
    """Keys added, removed or with a different value, in key order."""
    changes = []
    for key in sorted(set(a) | set(b)):
        if key not in b:
            changes.append(FieldChange(field=key, change="removed", a=a[key]))
        elif key not in a:
            changes.append(FieldChange(field=key, change="added", b=b[key]))
        elif a[key] != b[key]:
            changes.append(FieldChange(field=key, change="changed", a=a[key], b=b[key]))
    return changes


def _item_changes(a: list[dict[str, Any]], b: list[dict[str, Any]], key: str) -> list[ItemChange]:
    """Entries matched by ``key``: added, removed, or changed with the differing fields named."""
    by_a = {item[key]: item for item in a}
    by_b = {item[key]: item for item in b}
    changes = []
    for name in sorted(set(by_a) | set(by_b)):
        old, new = by_a.get(name), by_b.get(name)
        if old is None:
            changes.append(ItemChange(name=name, change="added", fields=[], b=new))
        elif new is None:
            changes.append(ItemChange(name=name, change="removed", fields=[], a=old))
        elif old != new:
            differing = [c.field for c in _value_changes(old, new)]
            changes.append(ItemChange(name=name, change="changed", fields=differing, a=old, b=new))
    return changes


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1: PEP 440 order where both parse, else natural order (so 1.10 is newer
    than 1.9 either way, and a tag such as ``latest`` still compares)."""
    from packaging.version import InvalidVersion, Version

    try:
        left, right = Version(a), Version(b)
    except InvalidVersion:
        left, right = natural_key(a), natural_key(b)
    return (left > right) - (left < right)


def _package_changes(a: dict[str, str], b: dict[str, str]) -> list[PackageChange]:
    moves: dict[int, PackageMove] = {1: "upgraded", -1: "downgraded", 0: "changed"}
    changes = []
    for change in _value_changes(a, b):
        move = change.change if change.change != "changed" else moves[compare_versions(change.b, change.a)]
        changes.append(PackageChange(name=change.field, change=move, a=change.a, b=change.b))
    return changes


def _metric_rows(a: dict[str, float], b: dict[str, float], baselines: list[Baseline]) -> list[MetricRow]:
    """Every metric either version has or a baseline names, baselines' metrics first."""
    by_metric = {baseline.metric: baseline for baseline in baselines}
    names = [*by_metric, *sorted((set(a) | set(b)) - set(by_metric))]
    rows = []
    for name in names:
        baseline = by_metric.get(name)
        judged = gates.judge_metric(baseline or Baseline(metric=name), b.get(name), a.get(name))
        rows.append(MetricRow(
            metric=name, a=a.get(name), b=b.get(name), delta=judged.delta, relative=judged.relative,
            baseline=gates.describe(baseline) if baseline else None, critical=judged.critical,
            verdict=judged.verdict if baseline else None, rule=judged.rule if baseline else None,
        ))
    return rows


def _environment_facts(environment: Environment) -> dict[str, Any]:
    """The environment besides its packages, one comparable value per key: ``git.commit``,
    ``lock:requirements.txt`` (its digest)."""
    facts = {key: getattr(environment, key) for key in ENVIRONMENT_FIELDS if getattr(environment, key) is not None}
    if environment.git:
        facts.update({"git.commit": environment.git.commit, "git.dirty": environment.git.dirty})
    facts.update({f"lock:{lock.path}": lock.digest for lock in environment.lock_files})
    facts.update({f"url:{name}": url for name, url in environment.urls.items()})
    return facts


def diff_versions(a: VersionManifest, b: VersionManifest, baselines: list[Baseline]) -> VersionDiff:
    """Compare manifest ``a`` with ``b``; ``baselines`` judge B's metrics with A as reference."""
    data_a, data_b = a.to_data(), b.to_data()

    def picked(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
        """The fields named by ``keys``; a mapping (run, model card) one row per entry: ``run.pathspec``."""
        flat = {}
        for key in (key for key in keys if key in data):
            value = data[key]
            flat.update({f"{key}.{sub}": item for sub, item in value.items()} if isinstance(value, dict) else {key: value})
        return flat

    return VersionDiff(
        a=a.ref,
        b=b.ref,
        metadata=_value_changes(picked(data_a, METADATA_FIELDS), picked(data_b, METADATA_FIELDS)),
        architecture=_item_changes(data_a.get("architecture", []), data_b.get("architecture", []), "component"),
        datasets=_item_changes(data_a.get("datasets", []), data_b.get("datasets", []), "name"),
        parameters=_value_changes(a.parameters, b.parameters),
        environment=_value_changes(_environment_facts(a.environment), _environment_facts(b.environment)),
        packages=_package_changes(a.environment.packages, b.environment.packages),
        artifacts=_item_changes(data_a.get("artifacts", []), data_b.get("artifacts", []), "path"),
        metrics=_metric_rows(a.metrics, b.metrics, baselines),
    )
