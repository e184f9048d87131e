"""Import an MLflow model registry into mreg, through MLflow's own client API.

Everything is read with ``MlflowClient`` (registered models, versions, aliases, the
deprecated stages, each version's source run: params, metrics, dataset inputs) and
``mlflow.artifacts.download_artifacts`` (the version's files), so any store MLflow can open
works: a sqlite or other SQL store, or a tracking server. The mapping onto mreg is the
table in docs/remotes.md ("Importing from MLflow").

Re-running adds only what is new: a version already registered is left alone, and a state
is imported only if no earlier import recorded the same state at the same MLflow time and
the version is not already in it.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mreg.clock import format_time
from mreg.errors import MissingDependency, ModelNotFound, UsageError
from mreg.lifecycle import State, parse_state
from mreg.manifest import ModelSpec
from mreg.results import Result

STAGES = {"Staging": State.CANDIDATE, "Production": State.PRODUCTION, "Archived": State.ARCHIVED}
SOURCE = "MLflow"
PAGE = 1000


class ImportReport(Result):
    tracking_uri: str
    models_added: list[str]
    versions_added: list[str]
    events_added: list[str]  # MODEL@VERSION -> state, in the order appended
    already_there: int  # versions already registered


@dataclass
class _Plan:
    added_models: list[str] = field(default_factory=list)
    added_versions: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    already: int = 0


def model_id(name: str) -> str:
    """An MLflow model name as an mreg model id: characters outside the grammar become '-'."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "-", name).strip("-.") or "model"
    return re.sub(r"\.\.+", ".", cleaned)[:128]


def _time(milliseconds: int | None) -> datetime | None:
    return datetime.fromtimestamp(milliseconds / 1000, tz=timezone.utc).replace(microsecond=0) if milliseconds else None


def _client(tracking_uri: str):
    # MLflow draws its own download bars and logs schema migrations on stderr; mreg's
    # output is its own, so both are turned down before MLflow is first imported.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise MissingDependency("mlflow-skinny", "mlflow") from None
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def _paged(search, **query) -> list:
    found, token = [], None
    while True:
        page = search(max_results=PAGE, page_token=token, **query)
        found += list(page)
        token = page.token
        if not token:
            return found


def _datasets(run) -> list[dict]:
    rows = []
    for item in run.inputs.dataset_inputs if run and run.inputs else []:
        dataset = item.dataset
        context = next((tag.value for tag in item.tags if tag.key == "mlflow.data.context"), None)
        row = {"name": dataset.name, "source": dataset.source or None, "snapshot": dataset.digest or None,
               "features": f"MLflow context: {context}" if context else None}
        rows.append({k: v for k, v in row.items() if v is not None})
    unique = {row["name"]: row for row in rows}  # mreg requires distinct dataset names
    return list(unique.values())


def _manifest(client, version, run) -> dict[str, Any]:
    data: dict[str, Any] = {"notes": version.description or None, "tags": dict(version.tags or {})}
    if run is not None:
        data["parameters"] = dict(run.data.params)
        data["metrics"] = {key: float(value) for key, value in run.data.metrics.items()}
        data["datasets"] = _datasets(run)
        data["run"] = {"system": "mlflow", "pathspec": f"{run.info.experiment_id}/{run.info.run_id}"}
    return {key: value for key, value in data.items() if value not in (None, {}, [])}


def _download(tracking_uri: str, source: str, into: Path) -> Path | None:
    """The version's files, as MLflow resolves its ``source`` URI; None if it holds none."""
    import mlflow.artifacts

    into.mkdir(parents=True)
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=str(into), tracking_uri=tracking_uri))
    return local if local.is_file() or any(local.rglob("*")) else None


def _wanted_states(registered, versions, alias_map: dict[str, State]) -> dict[str, tuple[State, datetime, str]]:
    """MLflow's view of each version: (state, MLflow time, why). Aliases win over stages;
    of several versions claiming Production, the most recently updated keeps it."""
    wanted: dict[str, tuple[State, datetime, str]] = {}
    for version in versions:
        state = STAGES.get(version.current_stage or "None")
        if state is not None:
            wanted[str(version.version)] = (state, _time(version.last_updated_timestamp), f"stage {version.current_stage}")
    for alias, number in sorted((registered.aliases or {}).items()):
        if alias in alias_map:
            wanted[str(number)] = (alias_map[alias], _time(registered.last_updated_timestamp), f"alias {alias}")
    serving = [number for number, (state, _, _) in wanted.items() if state == State.PRODUCTION]
    keep = max(serving, key=lambda number: (wanted[number][1], int(number)), default=None)
    return {number: value for number, value in wanted.items() if value[0] != State.PRODUCTION or number == keep}


def _already_imported(files, version: str, state: State, reason: str, when: str) -> bool:
    return any(
        stored.event.action == "import" and stored.event.reason == reason and stored.event.time >= when
        and any(record.version == version and record.to == state for record in stored.event.changes)
        for stored in files.events
    )


def import_mlflow(registry, tracking_uri: str, names: list[str] = (), alias_map: dict[str, State] | None = None) -> ImportReport:
    """Import every registered model (or those ``names``) of the MLflow store at ``tracking_uri``."""
    client = _client(tracking_uri)
    alias_map = alias_map or {}
    everything = {model.name: model for model in _paged(client.search_registered_models)}
    missing = [name for name in names if name not in everything]
    if missing:
        raise ModelNotFound(f"{missing[0]} (in MLflow at {tracking_uri})")
    plan = _Plan()
    with tempfile.TemporaryDirectory(prefix="mreg-mlflow-") as scratch:
        for name in sorted(names or everything):
            _import_model(registry, client, tracking_uri, everything[name], alias_map, Path(scratch), plan)
    return ImportReport(
        tracking_uri=tracking_uri, models_added=plan.added_models, versions_added=plan.added_versions,
        events_added=plan.events, already_there=plan.already,
    )


def _import_model(registry, client, tracking_uri, registered, alias_map, scratch: Path, plan: _Plan) -> None:
    model = model_id(registered.name)
    tags = dict(registered.tags or {})
    if model not in registry.model_ids():
        spec = {"id": model, "name": registered.name, "purpose": registered.description or None,
                "owners": [tags["owner"]] if tags.get("owner") else []}
        registry.add_model(ModelSpec.from_data({k: v for k, v in spec.items() if v}, f"MLflow model {registered.name}"),
                           by=SOURCE, at=_time(registered.creation_timestamp))
        plan.added_models.append(model)
    versions = sorted(_paged(client.search_model_versions, filter_string=f"name = '{registered.name}'"),
                      key=lambda version: int(version.version))
    known = set(registry.repository.model_files(model).manifests)
    for version in versions:
        ref = f"{model}@v{version.version}"
        if f"v{version.version}" in known:
            plan.already += 1
            continue
        run = client.get_run(version.run_id) if version.run_id else None
        manifest = _manifest(client, version, run)
        for alias in version.aliases or []:
            if alias not in alias_map:
                manifest.setdefault("tags", {})[f"mlflow.alias.{alias}"] = str(version.version)
        files = _download(tracking_uri, version.source, scratch / model / f"v{version.version}") if version.source else None
        registry.register(ref, manifest, [str(files)] if files else [],
                          by=version.user_id or SOURCE, at=_time(version.creation_timestamp))
        plan.added_versions.append(ref)
    wanted = _wanted_states(registered, versions, alias_map)
    for number, (state, when, why) in sorted(wanted.items(), key=lambda item: (item[1][1], int(item[0]))):
        files = registry.repository.model_files(model)
        version = f"v{number}"
        reason = f"imported from {SOURCE}: {why}"
        if files.state().state_of(version) == state or _already_imported(files, version, state, reason, format_time(when)):
            continue
        registry.import_state(f"{model}@{version}", state, reason, by=SOURCE, at=when)
        plan.events.append(f"{model}@{version} -> {state.value}")


def parse_alias_map(pairs: list[str]) -> dict[str, State]:
    """``--map champion=production`` -> {"champion": State.PRODUCTION}."""
    mapping = {}
    for pair in pairs:
        alias, sep, state = pair.partition("=")
        if not sep or not alias:
            raise UsageError(f"--map expects ALIAS=STATE, got {pair!r}")
        mapping[alias] = parse_state(state)
    return mapping
