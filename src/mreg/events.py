"""Events: append-only, hash-chained records of a model's state changes.

``models/<MODEL>/events/<SEQ>.yaml`` with SEQ = 00000001, 00000002, ... Each event names
its changes (version, from, to, and the digest of the version's manifest at that moment),
who and when, why, whether it was forced, its evidence, and ``previous``: the sha256 of the
previous event file's bytes, as a git commit names its parent. Appending is a
compare-and-swap without a lock server: fold the events read, plan the change, create
SEQ+1 exclusively (``append``). If another writer created it first, the registry re-reads
and plans again; a plan that no longer holds is refused as a conflict that says what changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NamedTuple

from pydantic import Field, field_validator

from mreg.codec import digest_bytes
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
    action: Literal["promote", "rollback", "deprecate", "archive", "monitor", "import"]
    changes: list[ChangeRecord] = Field(min_length=1)
    actor: str
    time: str
    reason: str | None = None
    forced: bool = False
    evidence: list[Evidence] = []
    archived_to: str | None = None
    previous: Digest | None = None
    seal: Digest | None = None  # sha256 of this event without the seal: the last event is protected too

    _known_schema = field_validator("schema_version")(lambda cls, value: check_schema(value))

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


def next_links(head: StoredEvent | None) -> dict:
    """``seq`` and ``previous`` for the event after ``head`` (the newest event, if any)."""
    if head is None:
        return {"seq": 1, "previous": None}
    return {"seq": head.event.seq + 1, "previous": head.digest}

