"""Read a Metaflow run through Metaflow's client API (the ``mreg[metaflow]`` extra).

Only the public client is used (``namespace``, ``Run``/``Step``/``Task``, ``task[name].data``
and ``.sha``, ``run.code``, ``step.environment_info``), never the datastore's files, so
whatever metadata service and datastore the user's Metaflow is configured for is what
mreg reads. The result is plain data: ``registry.register`` stores the chosen artifacts'
bytes as blobs like any other file, and nothing is written unless the whole run reads.

Artifacts are Python objects; their bytes are: ``bytes`` as they are, ``str`` as UTF-8
(``NAME.txt``), JSON-able values as canonical JSON (``NAME.json``), numpy arrays as
``.npy``, anything else pickled (``NAME.pkl``). Metaflow's own sha of each artifact (of its
pickled form) is recorded next to ours in ``run.artifacts``.
"""

from __future__ import annotations

import io
import json
import pickle
from datetime import datetime, timezone
from typing import Any

from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename

from mreg.errors import MissingDependency, RunNotFound, RunNotUsable, UsageError
from mreg.manifest import CodePackage, Dataset, Environment, RunArtifact, RunRef
from mreg.provenance import RunRecord, flatten_parameters

HIDDEN_PARAMETERS = {"name"}  # Metaflow stores the flow's name among the parameters
DATASET_FIELDS = set(Dataset.model_fields)


def read_run(pathspec: str, artifacts: list[str], datasets: dict[str, str] | None = None) -> RunRecord:
    """Read ``Flow/RUN[/STEP[/TASK]]``: its artifacts named in ``artifacts`` come from that
    step's task (the ``end`` step's when no step is named); ``datasets`` maps a manifest
    dataset name to the artifact or parameter that names its snapshot."""
    client = _client()
    parts = pathspec.strip("/").split("/")
    if not 2 <= len(parts) <= 4 or not all(parts):
        raise UsageError(f"--from-metaflow expects FLOW/RUN[/STEP[/TASK]], got {pathspec!r}")
    client.namespace(None)  # a run is named by its pathspec, whoever ran it
    _lookup(client.Flow, parts[0], "no such flow")
    run = _lookup(client.Run, "/".join(parts[:2]), "the flow has no such run")
    if not run.successful:
        failed = [step.id for step in run for task in step if task.metadata_dict.get("attempt_ok") == "False"]
        raise RunNotUsable(run.pathspec, f"the run failed at step {failed[0]}; only a successful run can back a version"
                           if failed else "the run has not finished; register it once it has")
    step_name = parts[2] if len(parts) > 2 else "end"
    task = _task(client, run, step_name, parts[3] if len(parts) > 3 else None)
    parameters = _parameters(run)
    files, recorded = _artifact_files(task, artifacts)
    values = {**{name: task[name].data for name in (datasets or {}).values() if name in task}, **parameters}
    return RunRecord(
        run=RunRef(
            system="metaflow", pathspec="/".join(parts), flow=parts[0], run_id=run.id,
            step=step_name if len(parts) > 2 else None,
            steps=[step.id for step in reversed(list(run))],
            user=next((tag.partition(":")[2] for tag in run.system_tags if tag.startswith("user:")), None),
            tags=sorted(run.user_tags), started_at=_utc(run.created_at), finished_at=_utc(run.finished_at),
            code_package=_code_package(run), artifacts=recorded,
        ),
        parameters=parameters,
        files=files,
        datasets=[_mapped_dataset(name, source, values, run.pathspec) for name, source in (datasets or {}).items()],
        environment=_run_environment(task),
    )


def _client():
    try:
        import metaflow
    except ImportError:
        raise MissingDependency("metaflow", "metaflow") from None
    return metaflow


def _lookup(kind, pathspec: str, what: str):
    from metaflow.exception import MetaflowNotFound

    try:
        return kind(pathspec)
    except MetaflowNotFound:
        raise RunNotFound(pathspec, what) from None


def _task(client, run, step_name: str, task_id: str | None):
    step = _lookup(client.Step, f"{run.pathspec}/{step_name}", f"the run has no step {step_name!r} "
                   f"(its steps: {', '.join(step.id for step in reversed(list(run)))})")
    if task_id:
        return _lookup(client.Task, f"{step.pathspec}/{task_id}", "no such task")
    tasks = list(step)
    if len(tasks) != 1:
        raise RunNotUsable(step.pathspec, f"the step ran {len(tasks)} tasks; name one: {step.pathspec}/TASK")
    return tasks[0]


def _parameters(run) -> dict[str, Any]:
    """Parameters and configs, as the run saw them; a config's nested keys become dotted keys."""
    try:
        task = run["_parameters"].task
    except KeyError:
        return {}
    return flatten_parameters({a.id: a.data for a in task if a.id not in HIDDEN_PARAMETERS})


def _artifact_files(task, names: list[str]) -> tuple[dict[str, bytes], list[RunArtifact]]:
    missing = [name for name in names if name not in task]
    if missing:
        present = sorted(a.id for a in task if not a.id.startswith("_"))
        raise RunNotFound(task.pathspec, f"no artifact {', '.join(map(repr, missing))} (it has: {', '.join(present)})")
    files, recorded = {}, []
    for name in dict.fromkeys(names):
        artifact = task[name]
        path, data = artifact_bytes(name, artifact.data)
        files[path] = data
        recorded.append(RunArtifact(name=name, path=path, sha=artifact.sha))
    return files, recorded


def artifact_bytes(name: str, value: Any) -> tuple[str, bytes]:
    """The file name and bytes an artifact value is stored as (see the module docstring)."""
    if isinstance(value, (bytes, bytearray)):
        return name, bytes(value)
    if isinstance(value, str):
        return f"{name}.txt", value.encode()
    try:
        return f"{name}.json", json.dumps(value, sort_keys=True, indent=2, allow_nan=False).encode() + b"\n"
    except (TypeError, ValueError):
        pass
    if type(value).__module__ == "numpy" and type(value).__name__ == "ndarray":
        import numpy

        buffer = io.BytesIO()
        numpy.save(buffer, value, allow_pickle=False)
        return f"{name}.npy", buffer.getvalue()
    return f"{name}.pkl", pickle.dumps(value, protocol=4)


def _mapped_dataset(name: str, source: str, values: dict[str, Any], pathspec: str) -> dict[str, Any]:
    """A dataset row from the artifact or parameter ``source``: a string is the snapshot, a
    mapping gives dataset fields (source, snapshot, digest, ...)."""
    if source not in values:
        raise RunNotFound(pathspec, f"no artifact or parameter {source!r} to map onto dataset {name!r}")
    value = values[source]
    if isinstance(value, dict):
        unknown = sorted(set(value) - DATASET_FIELDS)
        if unknown:
            raise UsageError(f"{pathspec}: {source!r} has fields a dataset does not: {', '.join(unknown)}")
        return {**value, "name": name}
    return {"name": name, "snapshot": str(value)}


def _code_package(run) -> CodePackage | None:
    code = run.code  # only runs with a remote step (or an always-upload config) have one
    if code is None:
        return None
    return CodePackage(sha=code.path.rstrip("/").rsplit("/", 1)[-1], location=code.path)


def _run_environment(task) -> Environment | None:
    """The @pypi/@conda environment the task ran in, from the packages Metaflow resolved."""
    info = task.environment_info if task.code else None
    if not info:
        return None
    packages = dict(sorted(filter(None, map(package_from_url, _urls(info)))))
    return Environment(source=f"metaflow:{task.code.info.get('environment_type')}", packages=packages) if packages else None


def _urls(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [url for key, item in value.items() for url in ([item] if key == "url" and isinstance(item, str) else _urls(item))]
    if isinstance(value, list):
        return [url for item in value for url in _urls(item)]
    return []


def package_from_url(url: str) -> tuple[str, str] | None:
    """``(name, version)`` from a wheel, sdist or conda package file name, else None."""
    filename = url.split("#", 1)[0].rsplit("/", 1)[-1]
    try:
        if filename.endswith(".whl"):
            name, version, *_ = parse_wheel_filename(filename)
            return str(name), str(version)
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return str(name), str(version)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    for suffix in (".conda", ".tar.bz2"):
        if filename.endswith(suffix):
            name, version, _build = (filename[: -len(suffix)].rsplit("-", 2) + ["", ""])[:3]
            return (name, version) if name and version else None
    return None


def _utc(moment: datetime | None) -> str | None:
    """Metaflow's client gives naive local times; the registry writes UTC."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
