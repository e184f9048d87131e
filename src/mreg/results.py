"""What the library returns: plain pydantic models that the CLI renders as tables or ``--json``.

Each command has one result type whatever its flags, and its JSON keys are stable and
documented (README, "JSON output").
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_serializer

from mreg.lifecycle import Change, State, Transition
from mreg.manifest import Document, Evidence, ModelSpec, VersionManifest


class Result(BaseModel):
    """The base of every result: immutable, and one way to JSON (``--json`` prints this)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, defer_build=True)

    def to_json_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


D = TypeVar("D", bound=Document)
# a document inside a result: the object itself in Python, in JSON exactly as it is stored
AsStored = Annotated[D, PlainSerializer(lambda document: document.to_data(), when_used="json")]


class Move(Result):
    """One version's state change; ``from_`` is None for a registration (JSON ``""``)."""

    version: str
    from_: State | None = Field(alias="from")
    to: State

    @field_serializer("from_", when_used="json")
    def _empty_for_none(self, value: State | None) -> str:
        return value.value if value else ""

    @classmethod
    def of(cls, change: Change) -> "Move":
        return cls(version=change.version, from_=change.source, to=change.target)


class TransitionRow(Result):
    """One edge of the lifecycle table, as ``mreg states`` prints it; ``from_`` None is ``[*]``."""

    from_: State | None = Field(alias="from")
    to: State
    label: str
    command: str
    gate: str | None
    origin: str

    @classmethod
    def of(cls, edge: Transition) -> "TransitionRow":
        return cls(from_=edge.source, to=edge.target, label=edge.label, command=edge.command,
                   gate=edge.gate, origin=edge.origin)


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
    model: AsStored[ModelSpec]
    current_version: str | None
    status: str | None
    versions: list[VersionRow]


class VersionView(Result):
    manifest: AsStored[VersionManifest]
    status: str
    manifest_digest: str


class LogEntry(Result):
    time: str
    model: str
    action: str
    seq: int | None
    changes: list[Move]
    actor: str | None
    reason: str | None
    forced: bool
    evidence: list[AsStored[Evidence]]


class StatusView(Result):
    model: str
    at: str | None
    serving: str | None
    versions: dict[str, str]


class EventResult(Result):
    model: str
    seq: int
    action: str
    changes: list[Move]
    forced: bool
    evidence: list[AsStored[Evidence]]
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
    in_flight: int = 0  # registrations holding a marker: while there are any, nothing is removed


class TransferReport(Result):
    """What a push, fetch, clone or bundle apply moved, found already there, or failed to move."""

    source: str
    destination: str
    dry_run: bool
    moved: dict[str, int]  # models, manifests, events, blobs, bytes
    already_there: dict[str, int]  # manifests, events, blobs
    failed: list[dict[str, str]]  # {blob, error}
    behind: list[str]  # models whose destination has events the source lacks (fetch them)


class UpgradeReport(Result):
    """What ``mreg upgrade`` did: the format reached and the models given a head and a model event."""

    format: int
    upgraded: bool  # False: the registry was of this format already
    models: list[str] = []
