"""Events: append-only, hash-chained records of a model's state changes.

``models/<MODEL>/events/<SEQ>.yaml`` with SEQ = 00000001, 00000002, ... Each event names
its changes (version, from, to, and the digest of the version's manifest at that moment) or,
for ``model add``/``model update`` (action ``model``), the digest of model.yaml it wrote,
who and when, why, whether it was forced, its evidence, and ``previous``: the sha256 of the
previous event file's bytes, as a git commit names its parent. Appending is a
compare-and-swap without a lock server: fold the events read, plan the change, create
SEQ+1 exclusively (``append``). If another writer created it first, the registry re-reads
and plans again; a plan that no longer holds is refused as a conflict that says what changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Literal, NamedTuple

from pydantic import Field, field_validator, model_validator

from mreg.codec import digest_bytes
from mreg.errors import AlreadyExists, ConcurrentUpdate
from mreg.layout import event_path
from mreg.lifecycle import Change, State
from mreg.manifest import SCHEMA_VERSION, Digest, Document, Evidence, Name, check_schema

if TYPE_CHECKING:
    from mreg.store import Storage

MAX_ATTEMPTS = 64


class ChangeRecord(Document):
    version: Name
    from_: State = Field(alias="from")
    to: State
    manifest: Digest | None = None

    def as_change(self) -> Change:
        return Change(self.version, self.from_, self.to)


class Event(Document):
    schema_version: int = SCHEMA_VERSION
    model: Name
    seq: int = Field(ge=1)
    action: Literal["promote", "rollback", "deprecate", "archive", "monitor", "import", "model"]
    changes: list[ChangeRecord] = []
    actor: str
    time: str
    reason: str | None = None
    forced: bool = False
    evidence: list[Evidence] = []
    archived_to: str | None = None
    spec: Digest | None = None  # action model: the digest of model.yaml as model add/update wrote it
    previous: Digest | None = None
    seal: Digest | None = None  # sha256 of this event without the seal: the last event is protected too

    _known_schema = field_validator("schema_version")(lambda cls, value: check_schema(value))

    @model_validator(mode="after")
    def _one_kind(self) -> "Event":
        """A model event records model.yaml and moves no version; every other event moves one."""
        if self.action == "model" and (self.changes or self.spec is None):
            raise ValueError("a model event records spec and changes no version")
        if self.action != "model" and (not self.changes or self.spec is not None):
            raise ValueError("a lifecycle event changes at least one version and records no spec")
        return self

    def as_changes(self) -> list[Change]:
        return [record.as_change() for record in self.changes]


class StoredEvent(NamedTuple):
    event: Event
    digest: str
    path: str


def append(storage: Storage, event: Event) -> StoredEvent:
    """Seal ``event`` and create its file exclusively: one attempt of the compare-and-swap.

    Raises ``AlreadyExists`` when another writer created SEQ first; the caller then reads
    the history again and plans again (``Registry._append``), at most ``MAX_ATTEMPTS`` times.
    """
    data = event.sealed().to_yaml()
    path = event_path(event.model, event.seq)
    storage.create(path, data)
    return StoredEvent(event, digest_bytes(data), path)


def append_planned(storage: "Storage", model: str, plan: Callable[[], Event]) -> StoredEvent:
    """``append`` the event ``plan`` builds from a fresh read, again while another writer wins
    (for events whose plan cannot be refused by a race: model events, mreg upgrade)."""
    for _ in range(MAX_ATTEMPTS):
        try:
            return append(storage, plan())
        except AlreadyExists:
            continue
    raise ConcurrentUpdate(model, f"gave up after {MAX_ATTEMPTS} attempts; too many concurrent writers")


def next_links(head: StoredEvent | None) -> dict:
    """``seq`` and ``previous`` for the event after ``head`` (the newest event, if any)."""
    if head is None:
        return {"seq": 1, "previous": None}
    return {"seq": head.event.seq + 1, "previous": head.digest}

