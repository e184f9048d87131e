"""What the library returns: plain pydantic models that the CLI renders as tables or ``--json``.

Each command has one result type whatever its flags, and its JSON keys are stable and
documented (README, "JSON output").
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Result(BaseModel):
    model_config = ConfigDict(frozen=True)

    def to_json_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class ModelSummary(Result):
    """One row of the seed's Model Inventory table."""

    id: str
    name: str
    task: str | None
    framework: str | None
    current_version: str | None
    status: str | None
    serving_mode: str | None
    versions: int


class FoundVersion(Result):
    """One version ``find`` matched: the record the query ran over (docs/find.md)."""

    model: str
    version: str
    state: str
    framework: str | None
    task: str | None
    serving_mode: str | None
    registered: str | None
    datasets: list[str]
    metrics: dict[str, float]
    params: dict[str, Any]
    tags: dict[str, str]


class FindResult(Result):
    query: str | None
    order_by: str | None
    fields: list[str]  # what the query and ordering mention, beyond model/version/state: the table's columns
    versions: list[FoundVersion]


class VersionRow(Result):
    """One row of a model's Versioning table."""

    version: str
    training_period: str | None
    key_change: str | None
    status: str
    notes: str | None
    registered_at: str | None
    metrics: dict[str, float] = {}  # so the best version is found from one `show --json`


class ModelView(Result):
    model: dict[str, Any]
    current_version: str | None
    status: str | None
    versions: list[VersionRow]


class VersionView(Result):
    manifest: dict[str, Any]
    status: str
    manifest_digest: str


class LogEntry(Result):
    time: str
    model: str
    action: str
    seq: int | None
    changes: list[dict[str, str]]
    actor: str | None
    reason: str | None
    forced: bool
    evidence: list[dict[str, Any]]


class StatusView(Result):
    model: str
    at: str | None
    serving: str | None
    versions: dict[str, str]


class EventResult(Result):
    model: str
    seq: int
    action: str
    changes: list[dict[str, str]]
    forced: bool
    evidence: list[dict[str, Any]]
    archived_to: str | None = None


class PulledFile(Result):
    path: str
    digest: str
    size: int


class PullResult(Result):
    ref: str
    directory: str
    files: list[PulledFile]
    bytes: int


class RegisterManyResult(Result):
    """What ``register_many`` (``mreg import manifests``) did: versions written, and those
    already registered with the same content (left alone)."""

    registered: list[str]
    already_there: list[str]


class Problem(Result):
    path: str
    message: str


class VerifyReport(Result):
    ok: bool
    deep: bool
    models: int
    versions: int
    events: int
    objects: int
    problems: list[Problem]
    blob_store: str | None = None  # where the blobs were looked for, when mreg.yaml names a store of its own


class GcReport(Result):
    dry_run: bool
    kept: int
    removed: list[str]
    bytes_freed: int
    temporaries: list[str] = []  # stale files under .tmp/ (killed writers), removed past the grace period
    kept_unpushed: list[str] = []  # unreferenced, but no remote holds them (gc --include-unpushed)


class TransferReport(Result):
    """What a push, fetch, clone or bundle apply moved, found already there, or failed to move."""

    source: str
    destination: str
    dry_run: bool
    moved: dict[str, int]  # models, manifests, events, blobs, bytes
    already_there: dict[str, int]  # manifests, events, blobs
    failed: list[dict[str, str]]  # {blob, error}
    behind: list[str]  # models whose destination has events the source lacks (fetch them)
