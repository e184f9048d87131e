"""The kept fold: a model's events folded once and kept, keyed by the newest event's digest.

A model's state is the fold of all its events (``lifecycle.fold``). Replaying thousands of
events on every command is what made ``status`` and ``promote`` grow with history, so the
derived index keeps the fold of the events alone (no manifests: a small JSON value) under
the sha256 of the newest event file. That event names the one before it (``previous``),
and so on down the chain, so the key stands for the whole history: a read whose newest
event still has that digest takes the value as it is; a read with newer events folds only
those, after checking their links and transitions (``chain``); anything else folds from
scratch. ``verify`` always folds from scratch and reports a kept fold that disagrees.

The value also keeps, per version an event moved, the manifest digest the last such event
recorded, so a read still refuses a manifest changed since (as a full replay would), and
where archive events moved blobs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

from mreg.chain import Finding, Tip, link_findings, replay_findings
from mreg.events import StoredEvent
from mreg.lifecycle import ModelState, State

NAMESPACE = "fold.2"  # fold.1 had no tip (before, specs)


@dataclass
class Folded:
    seq: int = 0  # the newest event folded in
    head: str | None = None  # its digest: the key the index keeps this under
    versions: dict[str, str] = field(default_factory=dict)  # states of the versions events moved, in first-move order
    production: list[str] = field(default_factory=list)  # ModelState.production_history
    recorded: dict[str, list] = field(default_factory=dict)  # version -> [seq, manifest digest] of its last move
    archived: dict[str, str] = field(default_factory=dict)  # version -> archive store URL
    before: str | None = None  # the digest of event seq - 1 (the newest event's ``previous``)
    specs: list[list] = field(default_factory=list)  # the newest two model events: [seq, model.yaml digest]

    def to_data(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> "Folded":
        return cls(**data)

    def state(self, model: str, registered: Iterable[str]) -> ModelState:
        """What ``lifecycle.fold`` gives over ``registered`` and the folded events: the same
        states, in the same order (registered versions first, then versions only events name)."""
        state = ModelState(model, {version: State.DEVELOPMENT for version in registered})
        for version, value in self.versions.items():
            state.versions[version] = State(value)
        state.production_history = list(self.production)
        return state

    def advance(self, model: str, manifests: Mapping[str, str], history: list[StoredEvent]) -> tuple["Folded", list[Finding]]:
        """This fold with ``history`` (the events after ``seq``) folded in, and what is wrong
        with them; ``manifests`` maps each registered version to its manifest's digest."""
        findings = link_findings(model, history, self.seq, self.head)
        findings += replay_findings(model, manifests, history, self.state(model, manifests))
        state = ModelState(model, {version: State(value) for version, value in self.versions.items()}, list(self.production))
        recorded, archived, specs = dict(self.recorded), dict(self.archived), list(self.specs)
        for stored in history:
            event = stored.event
            state.apply(event.as_changes())
            if event.spec:
                specs = [*specs, [event.seq, event.spec]][-2:]
            for record in event.changes:
                if record.manifest:
                    recorded[record.version] = [event.seq, record.manifest]
                if event.archived_to:
                    archived[record.version] = event.archived_to
        last = history[-1] if history else None
        folded = Folded(
            seq=last.event.seq if last else self.seq, head=last.digest if last else self.head,
            versions={version: value.value for version, value in state.versions.items()},
            production=state.production_history, recorded=recorded, archived=archived,
            before=last.event.previous if last else self.before, specs=specs,
        )
        return folded, findings

    def tip(self) -> Tip:
        """The newest events as the head and model.yaml checks need them (``chain.Tip``)."""
        digests = {self.seq - 1: self.before, self.seq: self.head}
        return Tip(self.seq, {seq: digest for seq, digest in digests.items() if seq >= 1 and digest}, tuple(map(tuple, self.specs)))

    def agrees_with(self, manifests: Mapping[str, str]) -> bool:
        """Whether every version the events moved is still registered with the manifest they recorded."""
        return all(version in manifests for version in self.versions) and all(
            manifests.get(version) == digest for version, (_, digest) in self.recorded.items()
        )
