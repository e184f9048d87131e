"""What a model card may say: registry facts only, typed, gathered in one place.

Renderers read nothing else, so a card can never state what the registry does not hold;
a fact that is absent stays ``None`` or empty and the card says it is not recorded.
"""

from __future__ import annotations

from mreg.gates import GateReport
from mreg.manifest import Evidence, ModelSpec, VersionManifest
from mreg.results import Result


class HistoryRow(Result):
    """One version of the model, as its Versioning table shows it."""

    version: str
    status: str
    training_period: str | None
    key_change: str | None
    registered_at: str | None


class Transition(Result):
    """One lifecycle event that moved this version, with who, when, why and the evidence."""

    seq: int
    time: str
    source: str
    target: str
    actor: str
    reason: str | None
    forced: bool
    evidence: list[Evidence]


class CardFacts(Result):
    """The model, the version's manifest and state, its check against the reference version,
    the model's version history, the transitions this version went through (oldest first),
    and the versions that name it as a parent."""

    model: ModelSpec
    manifest: VersionManifest
    status: str
    manifest_digest: str
    check: GateReport
    history: list[HistoryRow]
    transitions: list[Transition]
    derived: list[str]

    @property
    def ref(self) -> str:
        return self.manifest.ref
