"""The lifecycle law: the seed's state diagram as one table of transitions, and a pure fold.

Every state change mreg makes is an edge of ``TRANSITIONS``; enforcement, ``mreg states``,
help text and shell completion all read this table. Edges are the seed's, plus a few that
operating a registry needs (``origin="mreg"``), each with its reason:

- ``Production -> Rollback`` and ``Deprecated -> Production``: a bad production release is
  rolled back and the version it replaced serves again, in one event.
- ``Retraining -> Deprecated`` and ``Retraining -> Rollback``: the version being retrained
  still serves traffic, so it can be replaced by its successor or rolled back too.
  (Monitoring is no resting state: ``mreg monitor`` passes through it within one event, so
  it needs no such edges.)
- The seed's terminal edge ``Deprecated --> [*]: Artifacts archived in S3`` is the state
  ``Archived`` here, so an archived version stays visible in history.

States are per version. A model's *serving* version is the one in Production, Monitoring or
Retraining; at most one version serves at a time, and promoting a version to Production
moves the one it replaces to Deprecated in the same event. ``Retraining -> Candidate``
("new version trained") moves a *successor*: while the serving version is in Retraining, a
freshly registered version may go straight to Candidate.

Nothing here does I/O: the registry reads events, folds them with ``fold`` and asks
``plan_*`` which changes a command makes, then appends them as one event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Iterable, Literal, NamedTuple

from mreg.errors import InvalidTransition, UsageError
from mreg.names import closest


class State(StrEnum):
    DEVELOPMENT = "development"
    EXPERIMENTATION = "experimentation"
    CANDIDATE = "candidate"
    CANARY = "canary"
    PRODUCTION = "production"
    MONITORING = "monitoring"
    RETRAINING = "retraining"
    ROLLBACK = "rollback"
    DEPRECATED = "deprecated"
    ARCHIVED = "archived"

    @property
    def title(self) -> str:
        return self.value.capitalize()


SERVING = frozenset({State.PRODUCTION, State.MONITORING, State.RETRAINING})
Command = Literal["register", "promote", "rollback", "deprecate", "archive", "monitor"]


@dataclass(frozen=True)
class Transition:
    source: State | None  # None: the diagram's initial [*]
    target: State
    label: str
    command: Command
    gate: str | None = None  # the baseline gate checked on this edge (``gates:`` in a baseline)
    origin: Literal["seed", "mreg"] = "seed"
    successor: bool = False  # the edge moves a new version while the model is in `source`


S = State
TRANSITIONS: tuple[Transition, ...] = (
    Transition(None, S.DEVELOPMENT, "Data scientist creates flow", "register"),
    Transition(S.DEVELOPMENT, S.EXPERIMENTATION, "Run experiments via Metaflow", "promote"),
    Transition(S.EXPERIMENTATION, S.CANDIDATE, "Metrics pass offline evaluation", "promote", gate="candidate"),
    Transition(S.CANDIDATE, S.CANARY, "Deployed to small traffic fraction", "promote"),
    Transition(S.CANARY, S.PRODUCTION, "Canary metrics pass (Kayenta)", "promote", gate="production"),
    Transition(S.CANARY, S.ROLLBACK, "Canary metrics fail", "rollback"),
    Transition(S.ROLLBACK, S.EXPERIMENTATION, "Investigate and iterate", "promote"),
    Transition(S.PRODUCTION, S.MONITORING, "Continuous health checks", "monitor"),
    Transition(S.MONITORING, S.PRODUCTION, "All metrics healthy", "monitor"),
    Transition(S.MONITORING, S.RETRAINING, "Drift detected or scheduled", "monitor"),
    Transition(S.RETRAINING, S.CANDIDATE, "New version trained", "promote", gate="candidate", successor=True),
    Transition(S.PRODUCTION, S.DEPRECATED, "Replaced by new version", "deprecate"),
    Transition(S.DEPRECATED, S.ARCHIVED, "Artifacts archived in S3", "archive"),
    Transition(S.PRODUCTION, S.ROLLBACK, "Production release rolled back", "rollback", origin="mreg"),
    Transition(S.DEPRECATED, S.PRODUCTION, "Restored by a production rollback", "rollback", origin="mreg"),
    Transition(S.RETRAINING, S.DEPRECATED, "Replaced by the retrained version", "deprecate", origin="mreg"),
    Transition(S.RETRAINING, S.ROLLBACK, "Rolled back while retraining", "rollback", origin="mreg"),
)
_EDGES = {(edge.source, edge.target): edge for edge in TRANSITIONS}


def edge(source: State | None, target: State) -> Transition | None:
    return _EDGES.get((source, target))


_GATE_INTO = {edge.target: edge.gate for edge in TRANSITIONS if edge.gate}


def gate_of(change: Change) -> str | None:
    """The baseline gate a move must pass: the ``gate`` of its edge. A move with no edge of
    its own (a successor leaving Development while the model retrains, or a forced move) is
    held to the gate of the gated edge into its target, so forcing still runs, and records,
    the check it overrides."""
    taken = edge(change.source, change.target)
    return taken.gate if taken is not None else _GATE_INTO.get(change.target)


def taken_edge(state: "ModelState", change: "Change") -> Transition | None:
    """The table row ``change`` takes from ``state``: its own edge, or the successor edge it
    stands for (a fresh version entering Candidate while the serving one retrains takes
    Retraining -> Candidate); None for a move off the table (``promote --force``)."""
    direct = edge(change.source, change.target)
    if direct is not None and not direct.successor:
        return direct
    if not _is_successor_move(state, change):
        return None
    return next(e for e in TRANSITIONS if e.successor and e.target == change.target and state.in_state(e.source))



def allowed_targets(source: State) -> list[str]:
    return [edge.target.value for edge in TRANSITIONS if edge.source == source and not edge.successor]


def parse_state(text: str) -> State:
    try:
        return State(text.lower())
    except ValueError:
        names = ", ".join(state.value for state in State)
        guess = closest(text, [state.value for state in State])
        hint = f"; did you mean {guess}?" if guess else ""
        raise UsageError(f"unknown state {text!r}{hint} (one of: {names})") from None


class Change(NamedTuple):
    """One version moving along one edge; an event holds one or more, applied in order."""

    version: str
    source: State
    target: State


@dataclass
class ModelState:
    """A model's folded state: each registered version's state, and which one serves."""

    model: str
    versions: dict[str, State] = field(default_factory=dict)
    production_history: list[str] = field(default_factory=list)  # by when each last entered Production

    def state_of(self, version: str) -> State:
        return self.versions.get(version, State.DEVELOPMENT)

    @property
    def serving(self) -> str | None:
        for version, state in self.versions.items():
            if state in SERVING:
                return version
        return None

    def in_state(self, state: State) -> list[str]:
        return [version for version, current in self.versions.items() if current == state]

    def apply(self, changes: Iterable[Change]) -> None:
        for change in changes:
            self.versions[change.version] = change.target
            if change.target == State.PRODUCTION:
                if change.version in self.production_history:
                    self.production_history.remove(change.version)
                self.production_history.append(change.version)


def fold(model: str, versions: Iterable[str], events: Iterable[Iterable[Change]]) -> ModelState:
    """Replay events over registered versions (each starts in Development)."""
    state = ModelState(model, {version: State.DEVELOPMENT for version in versions})
    for changes in events:
        state.apply(changes)
    return state


def check(state: ModelState, changes: list[Change]) -> None:
    """Refuse a plan unless every change is a table edge from the version's folded state."""
    trial = ModelState(state.model, dict(state.versions), list(state.production_history))
    for change in changes:
        current = trial.state_of(change.version)
        if change.source != current:
            raise UsageError(f"{state.model}@{change.version} is {current}, not {change.source}")
        direct = edge(change.source, change.target)
        if (direct is None or direct.successor) and not _is_successor_move(trial, change):
            raise InvalidTransition(
                state.model, change.version, current.value, change.target.value, allowed_targets(current)
            )
        trial.apply([change])
    serving = [version for version, current in trial.versions.items() if current in SERVING]
    if len(serving) > 1:
        raise UsageError(f"{state.model} would serve {len(serving)} versions at once: {', '.join(serving)}")


def _is_successor_move(state: ModelState, change: Change) -> bool:
    successor_edges = [e for e in TRANSITIONS if e.successor and e.target == change.target]
    fresh = change.source in (State.DEVELOPMENT, State.EXPERIMENTATION)
    return fresh and any(state.in_state(e.source) for e in successor_edges if e.source)


def _retire_serving(state: ModelState, keep: str) -> list[Change]:
    serving = state.serving
    if serving is None or serving == keep:
        return []
    return [Change(serving, state.state_of(serving), State.DEPRECATED)]


def plan_promote(state: ModelState, version: str, target: State) -> list[Change]:
    """Changes for ``promote``: the move itself, plus retiring the replaced production version.

    Only edges whose command is ``promote`` are taken here; an edge another command owns is
    refused with the command to use, so each edge has one way in (and its own semantics).
    """
    current = state.state_of(version)
    move = Change(version, current, target)
    owner = edge(current, target)
    if owner is not None and owner.command != "promote":
        raise UsageError(f"{state.model}@{version} {current} -> {target} is done with 'mreg {owner.command}'")
    changes = [move]
    if target == State.PRODUCTION:
        changes += _retire_serving(state, keep=version)
        changes.reverse()  # the old version leaves first, so no reader sees two serving
    check(state, changes)
    return changes


def plan_rollback(state: ModelState, version: str | None, restore: str | None) -> list[Change]:
    """Changes for ``rollback``: a failing canary, or a bad production release.

    Without a version: the canary if there is one, else the serving version. A production
    rollback restores ``restore``, or by default the version that served before it.
    """
    if version is None:
        canaries = state.in_state(State.CANARY)
        version = canaries[0] if canaries and restore is None else state.serving
        if version is None:
            raise UsageError(f"{state.model} has no version in canary or production to roll back")
    current = state.state_of(version)
    changes = [Change(version, current, State.ROLLBACK)]
    if current in SERVING:
        restore = restore or _previous_production(state, version)
        if restore is None:
            raise UsageError(
                f"{state.model}@{version} has no earlier production version to restore; "
                "use 'mreg deprecate' or name one with --to"
            )
    if restore is not None:
        if state.state_of(restore) != State.DEPRECATED:  # else --to would skip a canary's gate
            raise UsageError(
                f"{state.model}@{restore} is {state.state_of(restore)}; "
                "a rollback restores a deprecated version (one that served before)"
            )
        changes.append(Change(restore, state.state_of(restore), State.PRODUCTION))
    check(state, changes)
    return changes


def _previous_production(state: ModelState, version: str) -> str | None:
    earlier = [
        candidate
        for candidate in state.production_history
        if candidate != version and state.state_of(candidate) == State.DEPRECATED
    ]
    return earlier[-1] if earlier else None


def plan_move(state: ModelState, version: str, target: State) -> list[Change]:
    """A single-edge change (deprecate, archive), checked against the table."""
    changes = [Change(version, state.state_of(version), target)]
    check(state, changes)
    return changes


def plan_health_check(state: ModelState, healthy: bool) -> list[Change]:
    """``monitor``: Production -> Monitoring -> Production (healthy) or Retraining (drift)."""
    version = state.serving
    if version is None or state.state_of(version) != State.PRODUCTION:
        where = f"{version} is {state.state_of(version)}" if version else "nothing serves"
        raise UsageError(f"{state.model} has no version in production to monitor ({where})")
    outcome = State.PRODUCTION if healthy else State.RETRAINING
    changes = [
        Change(version, State.PRODUCTION, State.MONITORING),
        Change(version, State.MONITORING, outcome),
    ]
    check(state, changes)
    return changes


def to_mermaid() -> str:
    """The table as a Mermaid ``stateDiagram-v2``, seed edges first, then mreg's additions."""
    lines = ["stateDiagram-v2"]
    for transition in TRANSITIONS:
        source = transition.source.title if transition.source else "[*]"
        lines.append(f"    {source} --> {transition.target.title}: {transition.label}")
    lines.append(f"    {State.ARCHIVED.title} --> [*]")
    return "\n".join(lines) + "\n"


def plan_forced(state: ModelState, version: str, target: State) -> list[Change]:
    """``promote --force``: any move, table or not, still keeping one serving version at most."""
    changes = [Change(version, state.state_of(version), target)]
    if target in SERVING:
        changes = _retire_serving(state, keep=version) + changes
    return changes
