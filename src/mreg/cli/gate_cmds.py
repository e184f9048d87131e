"""Gate commands: diff, check, judge. Each prints its report, then exits 6 ("check failed")
when the report says the version should not go forward, so CI can gate on the exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from mreg.cli import complete, output, session
from mreg.cli.application import app
from mreg.cli.core import JSON
from mreg.cli.inputs import read_metrics
from mreg.codec import digest_bytes, load_yaml, read_input
from mreg.cli.session import command
from mreg.errors import CheckFailed


def _number(value: float | None) -> str | None:
    return None if value is None else f"{value:+g}"


def _percent(value: float | None) -> str | None:
    return None if value is None else f"{value:+.2%}"


def _short(value: Any) -> str:
    """A value for the terminal: lists joined, digests shortened (``--json`` has them whole)."""
    text = ", ".join(map(output.cell_text, value)) if isinstance(value, list) else output.cell_text(value)
    return text[:19] if text.startswith("sha256:") else text


def _item_details(change) -> str:
    if change.change == "changed":
        return "; ".join(f"{name}: {_short(change.a.get(name))} -> {_short(change.b.get(name))}" for name in change.fields)
    item = change.a if change.change == "removed" else change.b
    return ", ".join(f"{key} {_short(item[key])}" for key in ("kind", "snapshot", "digest", "size") if key in item)


def _render_diff(diff) -> None:
    from mreg.diff import SECTIONS

    output.heading(f"{diff.a} -> {diff.b}")
    changed = diff.changed_sections
    output.line(f"changed: {', '.join(changed) or 'nothing'}")
    unchanged = [name for name in SECTIONS if name not in changed]
    if unchanged:
        output.line(f"unchanged: {', '.join(unchanged)}")

    def fields(values) -> list[list[Any]]:
        return [[v.field, v.change, _short(v.a), _short(v.b)] for v in values]

    def items(entries) -> list[list[Any]]:
        return [[i.name, i.change, _item_details(i)] for i in entries]

    packages = [[p.name, p.change, p.a, p.b] for p in diff.packages]
    tables = (
        ("Metadata", ["Field", "Change", "A", "B"], fields(diff.metadata)),
        ("Architecture", ["Name", "Change", "Details"], items(diff.architecture)),
        ("Datasets", ["Name", "Change", "Details"], items(diff.datasets)),
        ("Parameters", ["Field", "Change", "A", "B"], fields(diff.parameters)),
        ("Environment", ["Name", "Change", "A", "B"], fields(diff.environment) + packages),
        ("Artifacts", ["Name", "Change", "Details"], items(diff.artifacts)),
    )
    for title, columns, rows in tables:
        if rows:
            output.line()
            output.table(columns, rows, title)
    if diff.metrics:
        output.line()
        output.table(
            ["Metric", "A", "B", "Delta", "Relative", "Baseline", "Verdict"],
            [[m.metric, m.a, m.b, _number(m.delta), _percent(m.relative), m.baseline, m.verdict] for m in diff.metrics],
            "Metrics (B judged against A)",
        )
        for row in diff.metrics:
            if row.verdict in ("regression", "improvement"):
                output.line(f"  {row.verdict}: {row.rule}")


@command(app)
def diff(
    ref_a: str = typer.Argument(..., metavar="MODEL@A", help="The version to compare from (the reference).", autocompletion=complete.version_refs),
    ref_b: str = typer.Argument(..., metavar="MODEL@B", help="The version to compare to (judged against A).", autocompletion=complete.version_refs),
    fail_on_regression: bool = typer.Option(
        False, "--fail-on-regression", help="Exit 6 if any of B's metrics regresses against A under its baseline."
    ),
    as_json: bool = JSON,
) -> None:
    """What changed between two versions: metadata, datasets, parameters, environment, artifacts, metrics.

    The metric table judges B against the model's baselines with A as the reference.
    Example: mreg diff MDL-REC@v12.0 MDL-REC@v12.4 --fail-on-regression
    """
    result = session.registry().diff(ref_a, ref_b)
    if as_json:
        output.emit_json(result.to_json_data())
    else:
        _render_diff(result)
    if fail_on_regression and result.regressions:
        rules = "; ".join(row.rule for row in result.regressions)
        raise CheckFailed(f"{result.b} regresses against {result.a}: {rules}")


@command(app)
def check(
    ref: str = typer.Argument(..., metavar="MODEL@VERSION", help="The version to check.", autocompletion=complete.version_refs),
    against: Optional[str] = typer.Option(
        None, "--against", metavar="production|VERSION",
        help="Reference for relative tolerances: the serving version (default) or a version of the same model.",
    ),
    metrics: Optional[Path] = typer.Option(
        None, "--metrics", metavar="PATH", help="Measured metrics overriding the manifest's (YAML/JSON mapping, or {metrics: {...}})."
    ),
    as_json: bool = JSON,
) -> None:
    """Evaluate a version against every baseline of its model: bounds, and tolerances against a reference.

    Exits 6 if a metric regresses or a critical metric has no data.
    Example: mreg check MDL-REC@v12.5 --against production --metrics eval.yaml
    """
    measured = read_metrics(metrics) if metrics else None
    report = session.registry().check(ref, against, measured)
    if as_json:
        output.emit_json(report.to_json_data())
    else:
        output.heading(f"check {report.subject} against {report.reference or 'no reference'}: {report.verdict}")
        output.table(
            ["Metric", "Value", "Reference", "Delta", "Relative", "Bound", "Critical", "Verdict", "Rule"],
            [[m.metric, m.value, m.reference, _number(m.delta), _percent(m.relative), m.bound, m.critical,
              m.verdict, m.rule] for m in report.metrics],
        )
    if report.verdict == "fail":
        raise CheckFailed(report.summary())


def _render_judgement(ref: str, report) -> None:
    config = report.config
    output.heading(
        f"judge {ref}: {report.verdict} (score {report.summary_score:g}; pass >= {config.pass_threshold:g}, "
        f"marginal >= {config.marginal_threshold:g})"
    )
    for reason in report.overrides:
        output.line(f"score set to 0: {reason}")
    output.table(
        ["Metric", "Label", "Bad if", "p-value", "CI (canary - baseline)", "Effect", "Critical failure", "Muted", "Rule"],
        [
            [m.name, m.label, m.direction, m.p_value, _interval(m.ci), m.effect_size, m.critical, m.muted, m.rule]
            for m in report.metrics
        ],
    )
    for metric in report.metrics:
        output.line(f"  {metric.name}: {metric.explanation}")


def _interval(ci: tuple[float | None, float | None]) -> str | None:
    low, high = ci
    return None if low is None or high is None else f"[{low:.6g}, {high:.6g}]"


@command(app)
def judge(
    ref: str = typer.Argument(..., metavar="MODEL@VERSION", help="The version on the canary.", autocompletion=complete.version_refs),
    canary: Path = typer.Option(..., "--canary", metavar="PATH", help="Canary samples: YAML/JSON {metrics: {NAME: [values]}}."),
    baseline: Path = typer.Option(..., "--baseline", metavar="PATH", help="Baseline samples, same schema as --canary."),
    out: Optional[Path] = typer.Option(
        None, "--output", "-o", metavar="PATH",
        help="Also write the evidence document (the --json output) to this file, for 'promote --evidence'.",
    ),
    as_json: bool = JSON,
) -> None:
    """Judge canary samples against baseline samples per metric, as Netflix's Kayenta does.

    Each metric gets a Mann-Whitney test with a confidence interval on the shift, judged by
    its baseline's direction, tolerance and criticality; every verdict says why. The evidence
    document (--json, -o) names the version, its manifest digest, the version serving now and
    the samples' digests; 'promote --to production --evidence FILE' accepts only that. Exits 6
    unless the verdict is Pass. Needs numpy (pip install 'mreg[judge]'); scipy is not needed.
    Example: mreg judge MDL-REC@v12.5 --canary canary.json --baseline baseline.json -o judge.json
    """
    from mreg import gates

    samples, digests = {}, {}
    for side, path in (("canary", canary), ("baseline", baseline)):
        raw = read_input(path, f"{side} samples")
        samples[side] = gates.samples(load_yaml(raw, str(path)), str(path))
        digests[side] = digest_bytes(raw)
    judgement = session.registry().judge(ref, samples["canary"], samples["baseline"], digests)
    report, document = judgement
    if out is not None:
        output.write_file(out, document.to_json().decode())
    if as_json:
        output.write(document.to_json().decode())
    else:
        _render_judgement(ref, report)
    if report.verdict != "Pass":
        raise CheckFailed(f"canary judgement for {ref} is {report.verdict} (score {report.summary_score:g})")
