"""Text views of a model and of a version, built from the same result models as ``--json``."""

from __future__ import annotations

from typing import Any

from mreg.cli import output
from mreg.gates import describe
from mreg.manifest import Document, Environment, RunRef
from mreg.results import ModelView, VersionView


def render_model(view: ModelView) -> None:
    spec = view.model
    output.heading(f"{spec.id}  {spec.name}")
    output.fields([
        ("Task", spec.task),
        ("Framework", spec.framework),
        ("Current version", view.current_version),
        ("Status", output.state_title(view.status)),
        ("Serving mode", spec.serving_mode),
        ("Owners", ", ".join(spec.owners)),
        ("Purpose", spec.purpose),
    ])
    output.line()
    output.table(
        ["Version", "Training Period", "Key Change", "Status", "Notes"],
        [[r.version, r.training_period, r.key_change, output.state_title(r.status), r.notes] for r in view.versions],
        title="Versioning",
    )
    dependencies = [(direction, dependency) for direction in ("upstream", "downstream")
                    for dependency in getattr(spec.dependencies, direction)]
    if dependencies:
        output.line()
        output.table(
            ["Direction", "Service", "Role"],
            [[direction.capitalize(), d.service, d.role] for direction, d in dependencies],
            title="Dependencies",
        )
    if spec.baselines:
        output.line()
        output.table(
            ["Metric", "Description", "Alert Threshold", "Check", "Gates"],
            [[b.title or b.metric, b.description, b.alert_threshold, describe(b), ", ".join(b.gates) or "none"]
             for b in spec.baselines],
            title="Performance Baselines",
        )


def render_version(view: VersionView) -> None:
    manifest = view.manifest
    run = manifest.run
    output.heading(f"{manifest.ref}  ({output.state_title(view.status)})")
    output.fields([
        ("Training period", manifest.training_period),
        ("Key change", manifest.key_change),
        ("Notes", manifest.notes),
        ("Parents", ", ".join(manifest.parents)),
        ("Registered", " by ".join(filter(None, [manifest.registered_at, manifest.registered_by]))),
        ("Run", " ".join(filter(None, [run.pathspec or run.url, run.system and f"({run.system})"]))),
        ("Manifest digest", view.manifest_digest),
    ])
    _section_table("Architecture", manifest.architecture, ["component", "role", "framework"])
    _section_table(
        "Training Data Lineage", manifest.datasets, ["name", "source", "scale", "features", "refresh", "snapshot"],
    )
    _mapping_table("Metrics", manifest.metrics)
    _mapping_table("Parameters", manifest.parameters)
    _mapping_table("Environment", _environment_rows(manifest.environment))
    _mapping_table("Training Run", _run_rows(run))
    _section_table("Run Artifacts", run.artifacts, ["name", "path", "sha"])
    card = [(name.replace("_", " ").capitalize(), value) for name, value in manifest.model_card]
    if any(value is not None for _, value in card):
        output.line()
        output.heading("Model Card")
        output.fields(card)
    _section_table("Artifacts", manifest.artifacts, ["path", "kind", "size", "digest", "url"])


def _environment_rows(environment: Environment) -> dict[str, Any]:
    """Interpreter facts, git state, lock-file digests, then every package with its version."""
    facts = {key: getattr(environment, key) for key in ("python", "implementation", "platform", "source")}
    rows = {key: value for key, value in facts.items() if value is not None}
    if environment.git:
        rows["git"] = environment.git.commit + (" (dirty)" if environment.git.dirty else "")
    rows.update({f"lock {lock.path}": lock.digest for lock in environment.lock_files})
    urls = environment.urls
    rows.update({name: f"{version} ({urls[name]})" if name in urls else version
                 for name, version in environment.packages.items()})
    return rows


def _run_rows(run: RunRef) -> dict[str, Any]:
    """What the tracking system said about the run, beyond the pathspec shown above."""
    facts = {key: getattr(run, key) for key in ("flow", "run_id", "step", "user", "started_at", "finished_at")}
    rows = {key: value for key, value in facts.items() if value is not None}
    if run.steps:
        rows["steps"] = " -> ".join(run.steps)
    if run.tags:
        rows["tags"] = ", ".join(run.tags)
    if run.code_package:
        rows["code package"] = run.code_package.sha
    return rows


def _section_table(title: str, rows: list[Document], keys: list[str]) -> None:
    """One row per entry; a column only where some entry has a value for it."""
    if not rows:
        return
    shown = [key for key in keys if any(getattr(row, key) is not None for row in rows)]
    output.line()
    output.table([key.replace("_", " ").title() for key in shown], [[getattr(row, k) for k in shown] for row in rows], title)


def _mapping_table(title: str, mapping: dict[str, Any]) -> None:
    if not mapping:
        return
    output.line()
    output.table(["Name", "Value"], [[key, value] for key, value in mapping.items()], title)
