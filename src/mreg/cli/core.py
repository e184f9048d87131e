"""Core commands: init, model add/update, models, register, show, log, pull, verify, gc."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from mreg.cli import complete, output, session
from mreg.cli.application import app
from mreg.cli.inputs import parse_instant, parse_metrics, read_document, read_mapping
from mreg.cli.session import command
from mreg.errors import IntegrityError, UsageError
from mreg.names import check_name, parse_ref

JSON = typer.Option(False, "--json", help="Print JSON (stable keys, see README) instead of text.")

model_app = typer.Typer(help="Add or update a model's identity, dependencies and baselines.", no_args_is_help=True)
app.add_typer(model_app, name="model")
config_app = typer.Typer(help="The registry's own settings in mreg.yaml (policy, blob store, remotes).", no_args_is_help=True)
app.add_typer(config_app, name="config")


@command(app)
def init(
    path: Optional[str] = typer.Argument(None, metavar="[PATH_OR_URL]", help="Directory or URL for the new registry (default: .)."),
    blob_store: Optional[str] = typer.Option(
        None, "--blob-store", metavar="URL", help="Keep artifact blobs elsewhere, e.g. s3://bucket/blobs, manifests stay here."
    ),
) -> None:
    """Create a registry: mreg.yaml, and a .gitignore for derived files.

    Example: mreg init ./registry --blob-store s3://ml-artifacts/blobs
    """
    from mreg.registry import Registry

    registry = Registry.create(path or session.current.registry_url or ".", blob_store)
    output.line(f"initialised registry at {registry.storage.url}")


def _spec_data(model_id: str, values: dict, from_file: Optional[Path]) -> dict:
    check_name("model id", model_id)
    data = read_mapping(from_file, "model file") if from_file else {}
    data.setdefault("id", model_id)
    if data["id"] != model_id:
        raise UsageError(f"{from_file} describes model {data['id']!r}, not {model_id!r}")
    for key, value in values.items():
        if value not in (None, []):
            data[key] = value
    return data


@command(model_app, "add")
def model_add(
    model_id: str = typer.Argument(..., metavar="MODEL", help="Model id, e.g. MDL-REC."),
    name: Optional[str] = typer.Option(None, "--name", metavar="TEXT", help="Human name, e.g. 'Recommendation Ensemble'."),
    task: Optional[str] = typer.Option(None, "--task", metavar="TEXT", help="What the model does."),
    framework: Optional[str] = typer.Option(None, "--framework", metavar="TEXT", help="e.g. 'PyTorch (Transformer)'."),
    serving_mode: Optional[str] = typer.Option(None, "--serving-mode", metavar="TEXT", help="e.g. 'Real-time', 'Batch'."),
    owner: List[str] = typer.Option([], "--owner", metavar="EMAIL", help="An owner (repeatable)."),
    from_file: Optional[Path] = typer.Option(None, "--from-file", "-f", metavar="PATH", help="A model.yaml with every field."),
    as_json: bool = JSON,
) -> None:
    """Add a model to the inventory.

    Example: mreg model add MDL-SEARCH --name 'Search Ranking' --framework 'PyTorch (Transformer)'
    """
    from mreg.manifest import ModelSpec

    values = {"name": name, "task": task, "framework": framework, "serving_mode": serving_mode, "owners": owner}
    spec = ModelSpec.from_data(_spec_data(model_id, values, from_file), from_file and str(from_file) or model_id)
    view = session.registry().add_model(spec)
    if as_json:
        output.emit_json(view.to_json_data())
    else:
        output.line(f"added model {spec.id}")


@command(model_app, "update")
def model_update(
    model_id: str = typer.Argument(..., metavar="MODEL", help="Model id."),
    from_file: Path = typer.Option(..., "--from-file", "-f", metavar="PATH", help="The model.yaml that replaces the current one."),
) -> None:
    """Replace a model's model.yaml (identity, dependencies, baselines); versions and events stay.

    Example: mreg model update MDL-REC -f MDL-REC.yaml
    """
    from mreg.manifest import ModelSpec

    spec = ModelSpec.from_data(_spec_data(model_id, {}, from_file), str(from_file))
    session.registry().update_model(spec)
    output.line(f"updated model {spec.id}")


@command(app)
def models(
    status: Optional[str] = typer.Option(None, "--status", metavar="STATE", help="Only models whose current version is in this state."),
    as_json: bool = JSON,
) -> None:
    """The model inventory: id, name, task, framework, current version, status, serving mode.

    Example: mreg models --status production
    """
    from mreg.lifecycle import parse_state

    rows = session.registry().models(parse_state(status) if status else None)
    if as_json:
        output.emit_json([row.to_json_data() for row in rows])
        return
    output.table(
        ["Model ID", "Name", "Task", "Framework", "Current Version", "Status", "Serving Mode"],
        [[r.id, r.name, r.task, r.framework, r.current_version, output.state_title(r.status), r.serving_mode] for r in rows],
    )


@command(app)
def register(
    ref: str = typer.Argument(..., metavar="MODEL@VERSION", help="The version to create.", autocompletion=complete.version_refs),
    manifest: Optional[Path] = typer.Option(None, "--manifest", "-f", metavar="PATH", help="YAML with the version's metadata."),
    artifact: List[str] = typer.Option(
        [], "--artifact", "-a", metavar="PATH_OR_URL",
        help="A file, directory or URL (stored by reference) to attach; with --from-metaflow, a run artifact's name (repeatable).",
    ),
    parent: List[str] = typer.Option([], "--parent", metavar="VERSION", help="A parent version: VERSION or MODEL@VERSION (repeatable)."),
    metric: List[str] = typer.Option([], "--metric", "-m", metavar="NAME=VALUE", help="An offline metric NAME=VALUE (repeatable)."),
    from_metaflow: Optional[str] = typer.Option(
        None, "--from-metaflow", metavar="FLOW/RUN[/STEP]",
        help="Record this Metaflow run (pathspec, parameters, tags, user, times, code package) and take -a artifacts from it.",
    ),
    dataset_from: List[str] = typer.Option(
        [], "--dataset-from", metavar="DATASET=NAME",
        help="With --from-metaflow: the run's artifact or parameter NAME gives DATASET's snapshot (repeatable).",
    ),
    capture_env: bool = typer.Option(
        False, "--capture-env", help="Record this interpreter's environment: packages, platform, lock files, git commit."
    ),
    params: Optional[Path] = typer.Option(None, "--params", metavar="PATH", help="A YAML or JSON file of the version's parameters."),
    as_json: bool = JSON,
) -> None:
    """Register a version: artifacts are hashed and stored once by sha256, the manifest is written once.

    Example: mreg register MDL-REC@v12.5 --from-metaflow TrainFlow/1712/train -a model -a eval --capture-env
    """
    data = read_mapping(manifest, "manifest") if manifest else None
    parameters = read_document(params, "parameters file") if params else None
    if dataset_from and not from_metaflow:
        raise UsageError("--dataset-from maps a Metaflow run's values; add --from-metaflow")
    datasets = _pairs(dataset_from, "--dataset-from", "DATASET=NAME")
    local = [] if from_metaflow else artifact  # with --from-metaflow, -a names the run's artifacts
    registry = session.registry()
    with output.progress("storing") as advance:  # the library tells it the total (one walk)
        view = registry.register(
            ref, data, local, parent, parse_metrics(metric), advance, from_metaflow=from_metaflow,
            run_artifacts=artifact if from_metaflow else [], datasets_from=datasets, capture_env=capture_env,
            parameters=parameters, parameters_source=str(params),
        )
    if as_json:
        output.emit_json(view.to_json_data())
        return
    stored = view.manifest.artifacts
    output.line(f"registered {ref} ({len(stored)} artifacts, {sum(artifact.size for artifact in stored)} bytes)")


def _pairs(values: list[str], option: str, shape: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key.strip() or not item.strip():
            raise UsageError(f"{option} expects {shape}, got {value!r}")
        pairs[key.strip()] = item.strip()
    return pairs


@command(app)
def show(
    target: str = typer.Argument(..., metavar="MODEL[@VERSION]", help="A model, or one of its versions.", autocompletion=complete.version_refs),
    as_json: bool = JSON,
) -> None:
    """Show a model (inventory row, versions, dependencies, baselines) or a version (its whole manifest).

    Example: mreg show MDL-REC ; mreg show MDL-REC@v12.4 --json
    """
    from mreg.cli import views

    model, version = parse_ref(target, version_required=False)
    registry = session.registry()
    view = registry.show_version(target) if version else registry.show_model(model)
    if as_json:
        output.emit_json(view.to_json_data())
    elif version:
        views.render_version(view)
    else:
        views.render_model(view)


@command(app)
def card(
    ref: str = typer.Argument(..., metavar="MODEL@VERSION", help="The version.", autocompletion=complete.version_refs),
    format: str = typer.Option("md", "--format", metavar="md|html", help="md (Markdown with Hugging Face front matter) or html (one self-contained page)."),
    out: Optional[Path] = typer.Option(None, "--output", "-o", metavar="PATH", help="Write the card to this file instead of stdout."),
    as_json: bool = JSON,
) -> None:
    """Write a version's model card from registry facts only: intended use, limitations, fairness,
    architecture, training data and lineage, dependencies, parameters, environment, metrics
    against baselines, version history and every gate verdict on the path to production.
    Deterministic, so it can be committed and reviewed.

    Example: mreg card MDL-REC@v12.4 --format html -o model-card.html
    """
    from mreg.card import FORMATS, render

    if format not in FORMATS:
        raise UsageError(f"unknown card format {format!r} ({', '.join(FORMATS)})")
    facts = session.registry().card(ref)
    if as_json:
        output.emit_json(facts.to_json_data())
    elif out:
        output.write_file(out, render(facts, format))
    else:
        output.write(render(facts, format))


@command(app)
def env(
    ref: str = typer.Argument(..., metavar="MODEL@VERSION", help="The version.", autocompletion=complete.version_refs),
    format: str = typer.Option("requirements", "--format", metavar="requirements|json", help="requirements (pinned, for pip install -r) or json."),
) -> None:
    """Print the environment a version was trained with, to recreate it.

    Example: mreg env MDL-REC@v12.5 --format requirements > requirements.txt && pip install -r requirements.txt
    """
    if format not in ("requirements", "json"):
        raise UsageError(f"unknown environment format {format!r} (requirements, json)")
    registry = session.registry()
    if format == "json":
        output.emit_json(registry.environment(ref).to_data())
    else:
        output.write(registry.requirements(ref))


@command(app)
def log(
    target: Optional[str] = typer.Argument(
        None, metavar="[MODEL|MODEL@VERSION]", help="Only this model's history, or only what touched this version.",
        autocompletion=complete.version_refs,
    ),
    since: Optional[str] = typer.Option(None, "--since", metavar="TIME", help="Only entries at or after TIME (e.g. 2025-06-01)."),
    limit: Optional[int] = typer.Option(None, "--limit", "-n", min=1, metavar="N", help="At most N entries, the newest."),
    as_json: bool = JSON,
) -> None:
    """History, newest first: registrations and every event (who, when, from -> to, reason, evidence).

    Example: mreg log MDL-REC@v12.4 --since 2025-01-01 --limit 5
    """
    entries = session.registry().log(target, parse_instant("--since", since), limit)
    if as_json:
        output.emit_json([entry.to_json_data() for entry in entries])
        return
    rows = []
    for entry in entries:
        moves = ", ".join(f"{m.version} {m.from_ + ' -> ' if m.from_ else ''}{m.to}" for m in entry.changes)
        evidence = ", ".join(proof.verdict or (proof.digest or "")[:19] for proof in entry.evidence)
        reason = (entry.reason or "") + (" [forced]" if entry.forced else "")
        rows.append([entry.time, entry.model, entry.seq, entry.action, moves, entry.actor, reason, evidence])
    output.table(["Time", "Model", "Seq", "Action", "Changes", "Actor", "Reason", "Evidence"], rows)


@command(app)
def pull(
    ref: str = typer.Argument(..., metavar="MODEL@VERSION", help="The version whose artifacts to fetch.", autocompletion=complete.version_refs),
    out: Path = typer.Option(Path("."), "--output", "-o", metavar="DIR", help="Directory to write the artifacts into."),
    as_json: bool = JSON,
) -> None:
    """Fetch a version's artifacts, every byte verified against its recorded digest.

    Example: mreg pull MDL-REC@v12.4 -o ./model
    """
    registry = session.registry()
    manifest = registry.manifest(ref)
    with output.progress("pulling", sum(a.size for a in manifest.artifacts) or None) as advance:
        result = registry.pull(ref, out, advance)
    if as_json:
        output.emit_json(result.to_json_data())
    else:
        output.line(f"pulled {len(result.files)} files ({result.bytes} bytes) of {result.ref} into {out}")


@command(app)
def verify(
    model: Optional[str] = typer.Argument(None, metavar="[MODEL]", help="Only this model: its files, the blobs it references and its index rows."),
    deep: bool = typer.Option(False, "--deep", help="Also re-hash the bytes of every blob checked."),
    as_json: bool = JSON,
) -> None:
    """Check integrity: hash chains, manifest seals and digests, blobs present (--deep: re-hashed).

    Exits 5 naming each bad file. Example: mreg verify --deep
    """
    report = session.registry().verify(model, deep)
    if as_json:
        output.emit_json(report.to_json_data())
    else:
        for problem in report.problems:
            output.line(f"FAIL {problem.path}: {problem.message}")
        verdict = "ok" if report.ok else f"{len(report.problems)} problems"
        output.line(
            f"{verdict}: {report.models} models, {report.versions} versions, {report.events} events, "
            f"{report.objects} objects{' re-hashed' if deep else ''}"
            f"{f' in the blob store {report.blob_store}' if report.blob_store else ''}"
        )
    if not report.ok:
        raise IntegrityError(f"verify found {len(report.problems)} problems (listed on stdout)")


@command(app)
def gc(
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="List what would be removed, remove nothing."),
    grace: Optional[int] = typer.Option(
        None, "--grace", metavar="SECONDS", help="Keep unreferenced blobs younger than this many seconds (default: policy, 3600)."
    ),
    include_unpushed: bool = typer.Option(
        False, "--include-unpushed", help="With remotes: also remove unreferenced blobs that no remote holds."
    ),
    as_json: bool = JSON,
) -> None:
    """Remove blobs that no version references (older than the grace period, so in-flight registrations survive).

    With remotes, a blob no remote holds is kept unless --include-unpushed. Example: mreg gc --dry-run
    """
    report = session.registry().gc(dry_run, grace, include_unpushed)
    if as_json:
        output.emit_json(report.to_json_data())
        return
    for digest in report.removed:
        output.line(f"{'would remove' if dry_run else 'removed'} {digest}")
    unpushed = f" ({len(report.kept_unpushed)} only here, on no remote)" if report.kept_unpushed else ""
    output.line(f"{len(report.removed)} blobs ({report.bytes_freed} bytes) {'to free' if dry_run else 'freed'}; {report.kept} kept{unpushed}")
    if report.temporaries:
        output.line(f"{len(report.temporaries)} stale temporary files removed from .tmp/")
    if report.in_flight:
        output.line(f"{report.in_flight} registrations in flight: no blob was removed; rerun gc when they end")


@command(app)
def upgrade(as_json: bool = JSON) -> None:
    """Migrate a registry of an older format (1) to this mreg's: head records, model events, a sealed mreg.yaml.

    Other commands refuse an old registry until it is upgraded. Example: mreg upgrade
    """
    from mreg.registry import Registry

    report = Registry.upgrade(session.registry_url())
    if as_json:
        output.emit_json(report.to_json_data())
    elif report.upgraded:
        output.line(f"upgraded to format {report.format}: {len(report.models)} models recorded")
    else:
        output.line(f"already format {report.format}; nothing to do")


@command(config_app, "seal")
def config_seal(as_json: bool = JSON) -> None:
    """Accept a hand edit of mreg.yaml (a policy change reviewed in a pull request): check it, then seal it.

    Every other command refuses an mreg.yaml whose seal does not hold (exit 5), so a flipped byte is
    never obeyed. This one checks the file as a whole (exit 2 naming the field) and rewrites it in
    canonical form with a new seal; comments are not kept. Example: mreg config seal
    """
    from mreg.registry import Registry

    config, sealed = Registry.seal_config(session.registry_url())
    if as_json:
        output.emit_json({"sealed": sealed, "config": config.to_data()})
    else:
        output.line("mreg.yaml checked and sealed" if sealed else "mreg.yaml is sealed already; nothing to do")


@command(app)
def reindex(as_json: bool = JSON) -> None:
    """Rebuild the derived index (.cache/index.sqlite) from the registry's files; never needed for correctness.

    Example: mreg reindex
    """
    registry = session.registry()
    count = registry.reindex()
    if as_json:
        output.emit_json({"files": count})
    else:
        output.line(f"reindexed {count} files")


@command(app)
def find(
    query: Optional[str] = typer.Argument(
        None, metavar="[QUERY]", help="A filter, e.g. \"metrics.ndcg >= 0.3 AND state IN ('production','canary')\"; "
        "none: every version. Grammar: docs/find.md.",
    ),
    order_by: Optional[str] = typer.Option(
        None, "--order-by", metavar="FIELD [ASC|DESC], ...", help="Sort keys; absent values last. Default: model, version."
    ),
    limit: Optional[int] = typer.Option(None, "--limit", "-n", min=1, metavar="N", help="At most N versions."),
    as_json: bool = JSON,
) -> None:
    """Find versions across every model: metrics, params, tags, datasets, state, framework...

    Example: mreg find "framework LIKE 'PyTorch%' AND metrics.engagement_rate >= 0.28" --order-by "metrics.engagement_rate DESC"
    """
    result = session.registry().find(query, order_by, limit)
    if as_json:
        output.emit_json(result.to_json_data())
        return
    rows = [[f"{found.model}@{found.version}", output.state_title(found.state),
             *(_found_value(found, field) for field in result.fields)] for found in result.versions]
    output.table(["Version", "State", *result.fields], rows)


def _found_value(found, field: str):
    """The column of a field the query mentions: ``metrics.ndcg``, ``dataset``, ``framework``."""
    kind, _, name = field.partition(".")
    if kind == "dataset":
        return ", ".join(found.datasets)
    value = getattr(found, kind)
    return value.get(name) if name else value
