"""Lifecycle commands: states, promote, rollback, deprecate, archive, monitor, status."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from mreg.cli import complete, output, session
from mreg.cli.application import app
from mreg.cli.core import JSON
from mreg.cli.inputs import parse_instant, read_metrics
from mreg.cli.session import command
from mreg.errors import CheckFailed, UsageError
from mreg.lifecycle import TRANSITIONS, State, parse_state, to_mermaid

if TYPE_CHECKING:
    from mreg.results import EventResult

STATE_NAMES = ", ".join(state.value for state in State)
REASON = typer.Option(None, "--reason", metavar="TEXT", help="Why; recorded in the event (required with --force).")


def _report(result: EventResult, as_json: bool) -> None:
    if as_json:
        output.emit_json(result.to_json_data())
        return
    moves = ", ".join(f"{move.version} {move.from_} -> {move.to}" for move in result.changes)
    forced = " (forced)" if result.forced else ""
    output.line(f"{result.model} event {result.seq}: {result.action} {moves}{forced}")
    for proof in result.evidence:
        output.line(f"  evidence {proof.kind}: {proof.verdict or ''} {proof.summary or ''}".rstrip())


@command(app)
def states(
    format: str = typer.Option("table", "--format", metavar="table|mermaid|json", help="How to print the table."),
    as_json: bool = JSON,
) -> None:
    """The lifecycle: every allowed transition, drawn from the same table that enforces it.

    Example: mreg states --format mermaid
    """
    from mreg.results import TransitionRow

    format = "json" if as_json else format
    rows = [TransitionRow.of(edge) for edge in TRANSITIONS]
    if format == "mermaid":
        output.line(to_mermaid().rstrip("\n"))
    elif format == "json":
        output.emit_json([row.to_json_data() for row in rows])
    elif format == "table":
        output.table(["From", "To", "Label", "Command", "Gate", "Origin"],
                     [[r.from_ or "[*]", r.to, r.label, r.command, r.gate, r.origin] for r in rows])
    else:
        raise UsageError(f"unknown format {format!r} (table, mermaid or json)")


@command(app)
def promote(
    ref: str = typer.Argument(..., metavar="MODEL@VERSION", help="The version to move.", autocompletion=complete.version_refs),
    to: str = typer.Option(..., "--to", metavar="STATE", help=f"Target state: {STATE_NAMES}.", autocompletion=complete.promote_targets),
    reason: Optional[str] = REASON,
    evidence: Optional[Path] = typer.Option(
        None, "--evidence", metavar="PATH", help="A judge report made by 'mreg judge -o' for this version (checked by digest, stored); canary -> production needs one."
    ),
    metrics: Optional[Path] = typer.Option(None, "--metrics", metavar="PATH", help="Metrics measured for this step (YAML/JSON mapping)."),
    force: bool = typer.Option(False, "--force", help="Skip the transition table and gates; needs --reason; recorded."),
    as_json: bool = JSON,
) -> None:
    """Move a version to the next lifecycle state, with the evidence its edge requires (mreg.yaml policy).

    Gated edges check the model's baselines first; canary -> production also needs a passing
    judge report for this version (--evidence). Promoting to production retires the version it
    replaces to deprecated in the same event.
    Example: mreg promote MDL-REC@v12.5 --to canary --reason 'offline eval passed'
    """
    measured = read_metrics(metrics) if metrics else None
    result = session.registry().promote(ref, parse_state(to), reason, evidence, force, measured)
    _report(result, as_json)


@command(app)
def rollback(
    target: str = typer.Argument(..., metavar="MODEL[@VERSION]", help="The model (or the exact version) to roll back.", autocompletion=complete.version_refs),
    to: Optional[str] = typer.Option(None, "--to", metavar="VERSION", help="The version to restore to production (default: the one before)."),
    reason: Optional[str] = REASON,
    force: bool = typer.Option(False, "--force", hidden=True, help="Skip the transition table; needs --reason; recorded."),
    as_json: bool = JSON,
) -> None:
    """Roll back a failing canary, or a bad production release (restoring the previous version).

    Example: mreg rollback MDL-REC --reason 'p95 latency regression'
    """
    _report(session.registry().rollback(target, to, reason, force), as_json)


@command(app)
def deprecate(
    ref: str = typer.Argument(..., metavar="MODEL@VERSION", help="The version.", autocompletion=complete.version_refs),
    reason: Optional[str] = REASON,
    as_json: bool = JSON,
) -> None:
    """Take a serving version out of production without a replacement.

    Example: mreg deprecate MDL-EXP@v3.0 --reason 'superseded by the new platform'
    """
    _report(session.registry().deprecate(ref, reason), as_json)


@command(app)
def archive(
    ref: str = typer.Argument(..., metavar="MODEL@VERSION", help="The version.", autocompletion=complete.version_refs),
    reason: Optional[str] = REASON,
    move_artifacts: Optional[str] = typer.Option(
        None, "--move-artifacts", metavar="URL",
        help="Move blobs no other version uses to this archive store (default: policy.archive_store).",
    ),
    as_json: bool = JSON,
) -> None:
    """Archive a deprecated version, optionally moving its artifacts to an archive store.

    Example: mreg archive MDL-REC@v10.0 --move-artifacts s3://ml-archive/blobs
    """
    _report(session.registry().archive(ref, reason, move_artifacts), as_json)


@command(app)
def monitor(
    model: str = typer.Argument(..., metavar="MODEL", help="The model whose serving version is checked.", autocompletion=complete.model_ids),
    metrics: Path = typer.Option(..., "--metrics", metavar="PATH", help="Observed metrics (YAML/JSON mapping, or {metrics: {...}})."),
    scheduled: bool = typer.Option(False, "--scheduled", help="Retraining is scheduled: go to retraining regardless."),
    as_json: bool = JSON,
) -> None:
    """A health check: production -> monitoring -> production, or -> retraining on drift.

    Drift is a metric past its baseline's alert threshold (max/min). Example: mreg monitor MDL-REC --metrics today.yaml
    """
    result = session.registry().monitor(model, read_metrics(metrics), metrics, scheduled)
    _report(result, as_json)
    drifted = [move.version for move in result.changes if move.to == State.RETRAINING]
    if drifted and not scheduled:
        raise CheckFailed(f"drift: {model}@{drifted[0]} went to retraining: a metric is past its alert threshold")


@command(app)
def status(
    model: str = typer.Argument(..., metavar="MODEL", help="The model.", autocompletion=complete.model_ids),
    at: Optional[str] = typer.Option(None, "--at", metavar="TIME", help="An instant, e.g. 2025-06-01 or 2025-06-01T00:00Z (UTC if no zone)."),
    as_json: bool = JSON,
) -> None:
    """Which version is in which state, now or at any past instant.

    Example: mreg status MDL-REC --at 2025-06-01
    """
    view = session.registry().status(model, parse_instant("--at", at))
    if as_json:
        output.emit_json(view.to_json_data())
        return
    when = f" at {view.at}" if view.at else ""
    if not view.versions:
        output.line(f"{view.model}{when}: no version was registered yet")
        return
    output.line(f"{view.model}{when}: serving {view.serving or 'nothing'}")
    output.table(["Version", "Status"], [[v, output.state_title(s)] for v, s in view.versions.items()])

