"""Where a version came from, merged into its manifest data before it is validated: the run it
was trained in, the environment it was trained with, and its configuration.

Sources are laid over the manifest file's data in a fixed order, later winning: the file,
then the run (its reference, parameters, mapped datasets, environment), then a captured
environment, then the ``--params`` file. Pure: the caller reads the run and the files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mreg.errors import UsageError
from mreg.manifest import Environment, RunRef


@dataclass(frozen=True)
class RunRecord:
    """What a registration takes from a tracking system's run (``integrations``): the run
    reference, its parameters (flattened), the chosen artifacts as ``{file name: bytes}``, the
    datasets mapped from its values, and the environment it ran in when the system knows it."""

    run: RunRef
    parameters: dict[str, Any]
    files: dict[str, bytes]
    datasets: list[dict[str, Any]] = field(default_factory=list)
    environment: Environment | None = None


def flatten_parameters(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A configuration as a sorted flat mapping: nested keys dotted (``optimizer.lr``), lists of
    scalars kept, any other value by its ``repr`` (so it is recorded, not lost)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_parameters(value, f"{name}."))
        elif isinstance(value, (list, tuple)) and all(_is_scalar(item) for item in value):
            flat[name] = list(value)
        else:
            flat[name] = value if _is_scalar(value) else repr(value)
    return dict(sorted(flat.items()))


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def parameters_from_file(data: Any, source: str) -> dict[str, Any]:
    """A ``--params`` file: a mapping, or ``{parameters: mapping}`` (a manifest-shaped file)."""
    if isinstance(data, dict) and set(data) == {"parameters"}:
        data = data["parameters"]
    if not isinstance(data, dict):
        raise UsageError(f"{source}: parameters must be a mapping of names to values")
    return flatten_parameters(data)


def merge_datasets(rows: list[dict[str, Any]], mapped: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The manifest's dataset rows with mapped fields laid over them by name; new names are added."""
    by_name = {row["name"]: dict(row) for row in rows}
    for row in mapped:
        by_name[row["name"]] = {**by_name.get(row["name"], {}), **row}
    return list(by_name.values())


def with_provenance(
    data: dict[str, Any],
    run: RunRecord | None = None,
    environment: Environment | None = None,
    parameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``data`` (a manifest mapping) with the run, environment and parameters laid over it."""
    merged = dict(data)
    merged_parameters = flatten_parameters(merged.get("parameters") or {})
    if run is not None:
        merged["run"] = run.run.to_data()
        merged_parameters.update(run.parameters)
        if run.datasets:
            merged["datasets"] = merge_datasets(list(merged.get("datasets") or []), run.datasets)
        if run.environment is not None:
            merged["environment"] = run.environment.to_data()
    if environment is not None:
        merged["environment"] = environment.to_data()
    merged_parameters.update(parameters or {})
    if merged_parameters:
        merged["parameters"] = dict(sorted(merged_parameters.items()))
    return merged
