"""Events: append-only, hash-chained records of a model's state changes.

``models/<MODEL>/events/<SEQ>.yaml`` with SEQ = 00000001, 00000002, ... Each event names
its changes (version, from, to, and the digest of the version's manifest at that moment),
who and when, why, whether it was forced, its evidence, and ``previous``: the sha256 of the
previous event file's bytes, as a git commit names its parent. Appending is a
compare-and-swap without a lock server: fold the events read, plan the change, create
SEQ+1 exclusively. If another writer created it first, re-read and plan again; a plan that
no longer holds is refused as a conflict that says what changed.
"""

from __future__ import annotations

from typing import Callable, Literal, NamedTuple

from pydantic import Field, field_validator

from mreg.codec import digest_bytes
from mreg.errors import AlreadyExists, ConcurrentUpdate, UsageError
from mreg.layout import event_path
from mreg.lifecycle import Change, State
from mreg.manifest import SCHEMA_VERSION, Digest, Document, Name, check_schema

MAX_ATTEMPTS = 64


class ChangeRecord(Document):
    version: Name
    from_: State = Field(alias="from")
    to: State
    manifest: Digest | None = None

    def as_change(self) -> Change:
        return Change(self.version, self.from_, self.to)


class Evidence(Document):
    """What justified a change: a gate's verdict, a judge report, a health check, a file."""

    kind: str
    verdict: str | None = None
    digest: Digest | None = None
    summary: str | None = None


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


def append(model: str, plan: Callable[[], Event], create: Callable[[str, bytes], None]) -> StoredEvent:
    """Append the event ``plan`` builds from a fresh read of the history, retrying lost races.

    ``plan`` must re-read and re-validate on every call and take ``seq``/``previous`` from
    the last event it read (see ``next_links``). If a retry's plan no longer holds, the
    other writer changed what this one relied on: that is a conflict.
    """
    for attempt in range(MAX_ATTEMPTS):
        try:
            event = plan()
        except UsageError as refusal:
            if attempt == 0:
                raise
            raise ConcurrentUpdate(model, f"another writer appended first, and now {refusal.message}") from None
        data = event.sealed().to_yaml()
        path = event_path(model, event.seq)
        try:
            create(path, data)
        except AlreadyExists:
            continue
        return StoredEvent(event, digest_bytes(data), path)
    raise ConcurrentUpdate(model, f"gave up after {MAX_ATTEMPTS} attempts; too many concurrent writers")


def next_links(history: list[StoredEvent]) -> dict:
    """``seq`` and ``previous`` for the event after ``history``."""
    if not history:
        return {"seq": 1, "previous": None}
    last = history[-1]
    return {"seq": last.event.seq + 1, "previous": last.digest}

