"""The checks a model's stored history must pass, on every read of the model and in ``verify``.

They use digests only (each file's, as read or as the index recorded it): every event names
the event before it (``previous``) and the manifest digest of each version it moves, and
replaying the events must follow the lifecycle table unless an event says it was forced; the
head record (``head.yaml``) must name the newest event, and model.yaml must hash to what the
newest model event recorded. A read of one model runs them over that model's files, so a
command never acts on a history that ``verify`` would reject.
"""

from __future__ import annotations

from typing import ClassVar, Mapping, NamedTuple

from pydantic import Field

from mreg import lifecycle
from mreg.errors import MregError
from mreg.events import StoredEvent
from mreg.layout import event_path, head_path, model_path, version_path
from mreg.lifecycle import ModelState
from mreg.manifest import Digest, Document


class Finding(NamedTuple):
    path: str
    message: str


class Head(Document):
    """``models/<MODEL>/head.yaml``: the newest event's seq and digest (see ``mreg.heads``)."""

    ALWAYS_WRITTEN: ClassVar[tuple[str, ...]] = ()
    seq: int = Field(ge=1)
    event: Digest


def link_findings(model: str, history: list[StoredEvent], after: int = 0, previous: str | None = None) -> list[Finding]:
    """Breaks in the chain itself: gaps in SEQ, a wrong model, a ``previous`` that does not match.
    ``after``/``previous``: the history continues event ``after``, whose digest is ``previous``."""
    found = []
    for index, stored in enumerate(history, start=after + 1):
        event = stored.event
        if event.seq != index or stored.path != event_path(model, index):
            found.append(Finding(stored.path, f"expected event {index} of {model}, found seq {event.seq}"))
        if event.model != model:
            found.append(Finding(stored.path, f"names model {event.model}, not {model}"))
        if event.previous != previous:
            found.append(Finding(stored.path, f"previous is {event.previous}, but the event before hashes to {previous}"))
        previous = stored.digest
    return found


def replay_findings(model: str, manifests: Mapping[str, str], history: list[StoredEvent],
                    state: ModelState | None = None) -> list[Finding]:
    """Events against the manifests (``version -> digest``) and the lifecycle table; ``state``:
    the model's state before ``history`` (updated), else every version in Development."""
    found = []
    if state is None:
        state = ModelState(model, {version: lifecycle.State.DEVELOPMENT for version in manifests})
    for stored in history:
        event = stored.event
        for record in event.changes:
            known = manifests.get(record.version)
            if known is None:
                found.append(Finding(stored.path, f"moves {model}@{record.version}, which is not registered"))
            elif record.manifest and record.manifest != known:
                found.append(Finding(
                    version_path(model, record.version),
                    f"changed since event {event.seq} recorded its digest {record.manifest}",
                ))
        if not event.forced:
            try:
                lifecycle.check(state, event.as_changes())
            except MregError as exc:
                found.append(Finding(stored.path, f"not a lifecycle transition: {exc.message}"))
        state.apply(event.as_changes())
    return found


def history_findings(model: str, manifests: Mapping[str, str], history: list[StoredEvent]) -> list[Finding]:
    return link_findings(model, history) + replay_findings(model, manifests, history)


def spec_findings(model: str, spec_digest: str, tip: Tip, committed: int) -> list[Finding]:
    """model.yaml against the model events (``model add``/``model update`` record its digest).

    It must be what the newest model event among the first ``committed`` (the head's seq)
    recorded, or what a model event beyond the head records: that write was interrupted
    before or after model.yaml was replaced. A model with no events yet is a ``model add``
    that has not appended its event."""
    recorded = [spec for spec in tip.specs if spec[0] <= committed][-1:]
    in_flight = [spec for spec in tip.specs if spec[0] > committed]  # the head is at most one behind
    allowed = {digest for _, digest in recorded + in_flight}
    if spec_digest in allowed or not tip.newest:
        return []
    path = model_path(model)
    if not allowed:
        return [Finding(path, "is recorded by no event ('mreg model add' and 'mreg model update' record it)")]
    seq, digest = (recorded + in_flight)[-1]
    return [Finding(path, f"edited by hand: it hashes to {spec_digest}, not the {digest} "
                          f"event {seq} recorded (change it with 'mreg model update')")]


class Tip(NamedTuple):
    """What the head and model.yaml checks need of a history, at any depth: how many events it
    has, the digests of the newest two (by seq) and its newest two model events (seq and the
    model.yaml digest each recorded). The kept fold keeps one, so a read checks in O(1)."""

    newest: int
    digests: Mapping[int, str]
    specs: tuple[tuple[int, str], ...]

    @classmethod
    def of(cls, history: list[StoredEvent]) -> "Tip":
        first = max(len(history) - 1, 1)
        specs = [(seq, stored.event.spec) for seq, stored in enumerate(history, start=1) if stored.event.spec]
        return cls(len(history), {seq: stored.digest for seq, stored in enumerate(history[-2:], start=first)}, tuple(specs[-2:]))


def head_findings(model: str, head: Head | None, tip: Tip) -> list[Finding]:
    """The head against the chain: it must name an event that exists with that digest, at most
    one event behind the newest (a crash between an event and its head)."""
    path, newest = head_path(model), tip.newest
    named = head.seq if head else 0
    if named > newest:
        return [Finding(path, f"names event {named}, but the newest event is {newest}: events were deleted")]
    if newest - named > 1:
        what = f"names event {named}" if head else "is missing"
        return [Finding(path, f"{what}, but the model has {newest} events: the head was removed or moved back")]
    if head and tip.digests[named] != head.event:
        return [Finding(path, f"names event {named} as {head.event}, but that event hashes to {tip.digests[named]}")]
    return []


def interrupted_update(spec_digest: str, history: list[StoredEvent], head: Head | None) -> StoredEvent | None:
    """A model event beyond the head whose model.yaml was never written: ``model update`` was
    killed between its event and model.yaml. Nothing else may be appended until it is rerun."""
    pending = history[head.seq if head else 0:]
    if pending and pending[-1].event.spec and pending[-1].event.spec != spec_digest:
        return pending[-1]
    return None


def tip_findings(model: str, spec_digest: str, head: Head | None, tip: Tip) -> list[Finding]:
    """The head record and model.yaml against the newest events."""
    return head_findings(model, head, tip) + spec_findings(model, spec_digest, tip, head.seq if head else 0)


def model_findings(
    model: str, spec_digest: str, manifests: Mapping[str, str], history: list[StoredEvent], head: Head | None
) -> list[Finding]:
    """Everything a read of one model checks, from digests: chain, replay, head, model.yaml."""
    return history_findings(model, manifests, history) + tip_findings(model, spec_digest, head, Tip.of(history))
