"""Text views of a model and of a version, built from the same result models as ``--json``."""

from __future__ import annotations

from typing import Any

from mreg.cli import output
from mreg.gates import describe
from mreg.manifest import Baseline
from mreg.results import ModelView, VersionView


def render_model(view: ModelView) -> None:
    spec = view.model
    output.heading(f"{spec['id']}  {spec['name']}")
    output.fields([
        ("Task", spec.get("task")),
        ("Framework", spec.get("framework")),
        ("Current version", view.current_version),
        ("Status", output.state_title(view.status)),
        ("Serving mode", spec.get("serving_mode")),
        ("Owners", ", ".join(spec.get("owners", []))),
        ("Purpose", spec.get("purpose")),
    ])
    output.line()
    output.table(
        ["Version", "Training Period", "Key Change", "Status", "Notes"],
        [[r.version, r.training_period, r.key_change, output.state_title(r.status), r.notes] for r in view.versions],
        title="Versioning",
    )
    dependencies = spec.get("dependencies", {})
    if dependencies:
        output.line()
        output.table(
            ["Direction", "Service", "Role"],
            [[direction.capitalize(), d["service"], d.get("role")]
             for direction in ("upstream", "downstream") for d in dependencies.get(direction, [])],
            title="Dependencies",
        )
    baselines = [Baseline.model_validate(b) for b in spec.get("baselines", [])]
    if baselines:
        output.line()
        output.table(
            ["Metric", "Description", "Alert Threshold", "Check", "Gates"],
            [[b.title or b.metric, b.description, b.alert_threshold, describe(b), ", ".join(b.gates) or "none"]
             for b in baselines],
            title="Performance Baselines",
        )


def render_version(view: VersionView) -> None:
    manifest = view.manifest
    run = manifest.get("run", {})
    output.heading(f"{manifest['model']}@{manifest['version']}  ({output.state_title(view.status)})")
    output.fields([
        ("Training period", manifest.get("training_period")),
        ("Key change", manifest.get("key_change")),
        ("Notes", manifest.get("notes")),
        ("Parents", ", ".join(manifest.get("parents", []))),
        ("Registered", " by ".join(filter(None, [manifest.get("registered_at"), manifest.get("registered_by")]))),
        ("Run", " ".join(filter(None, [run.get("pathspec") or run.get("url"), run.get("system") and f"({run['system']})"]))),
        ("Manifest digest", view.manifest_digest),
    ])
    _section_table("Architecture", manifest.get("architecture", []), ["component", "role", "framework"])
    _section_table(
        "Training Data Lineage", manifest.get("datasets", []),
        ["name", "source", "scale", "features", "refresh", "snapshot"],
    )
    _mapping_table("Metrics", manifest.get("metrics", {}))
    _mapping_table("Parameters", manifest.get("parameters", {}))
    _mapping_table("Environment", _environment_rows(manifest.get("environment", {})))
    _mapping_table("Training Run", _run_rows(run))
    _section_table("Run Artifacts", run.get("artifacts", []), ["name", "path", "sha"])
    card = manifest.get("model_card", {})
    if card:
        output.line()
        output.heading("Model Card")
        output.fields([(key.replace("_", " ").capitalize(), value) for key, value in card.items()])
    _section_table("Artifacts", manifest.get("artifacts", []), ["path", "kind", "size", "digest", "url"])


def _environment_rows(environment: dict[str, Any]) -> dict[str, Any]:
    """Interpreter facts, git state, lock-file digests, then every package with its version."""
    rows = {key: environment[key] for key in ("python", "implementation", "platform", "source") if key in environment}
    if "git" in environment:
        rows["git"] = environment["git"]["commit"] + (" (dirty)" if environment["git"]["dirty"] else "")
    rows.update({f"lock {lock['path']}": lock["digest"] for lock in environment.get("lock_files", [])})
    urls = environment.get("urls", {})
    rows.update({name: f"{version} ({urls[name]})" if name in urls else version
                 for name, version in environment.get("packages", {}).items()})
    return rows


def _run_rows(run: dict[str, Any]) -> dict[str, Any]:
    """What the tracking system said about the run, beyond the pathspec shown above."""
    rows = {key: run[key] for key in ("flow", "run_id", "step", "user", "started_at", "finished_at") if key in run}
    if run.get("steps"):
        rows["steps"] = " -> ".join(run["steps"])
    if run.get("tags"):
        rows["tags"] = ", ".join(run["tags"])
    if run.get("code_package"):
        rows["code package"] = run["code_package"]["sha"]
    return rows


def _section_table(title: str, rows: list[dict[str, Any]], keys: list[str]) -> None:
    if not rows:
        return
    shown = [key for key in keys if any(key in row for row in rows)]
    output.line()
    output.table([key.replace("_", " ").title() for key in shown], [[row.get(k) for k in shown] for row in rows], title)


def _mapping_table(title: str, mapping: dict[str, Any]) -> None:
    if not mapping:
        return
    output.line()
    output.table(["Name", "Value"], [[key, value] for key, value in mapping.items()], title)
