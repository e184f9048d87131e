"""The checks a model's stored history must pass, on every read of the model and in ``verify``.

They use digests only (each file's, as read or as the index recorded it): every event names
the event before it (``previous``) and the manifest digest of each version it moves, and
replaying the events must follow the lifecycle table unless an event says it was forced. A
read of one model runs them over that model's files, so a command never acts on a history
that ``verify`` would reject.
"""

from __future__ import annotations

from typing import Mapping, NamedTuple

from mreg import lifecycle
from mreg.errors import MregError
from mreg.events import StoredEvent
from mreg.layout import event_path, version_path
from mreg.lifecycle import ModelState


class Finding(NamedTuple):
    path: str
    message: str


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
