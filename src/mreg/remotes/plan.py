"""What a transfer must copy, decided from both sides' digests alone (pure: no I/O).

The rules are git's (docs/remotes.md):

- A version is immutable: present on both sides with different manifest digests is a
  ``VersionConflict``; present with the same digest, it is left alone.
- A model's events are a chain. The destination's chain must be a prefix of the source's
  (fast-forward, the missing tail is copied) or the source's a prefix of the destination's
  (the destination is ahead; nothing to copy). Otherwise the chains ``Diverged`` at the first
  sequence number where their event digests differ.
- An event is copied only if every version it moves is on the destination once the
  manifests are copied, so a partial push (``MODEL@VERSION``) stops the chain early rather
  than leave an event that names a missing version.
- Every refusal is raised while planning, before anything is written on either side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from mreg.errors import Conflict
from mreg.names import natural_key


class Diverged(Conflict):
    def __init__(self, model: str, seq: int) -> None:
        super().__init__(
            f"{model}: histories diverged at event {seq} (each side has a different event {seq}); "
            "nothing was changed on either side"
        )
        self.model, self.seq = model, seq


class VersionConflict(Conflict):
    def __init__(self, model: str, version: str) -> None:
        super().__init__(
            f"{model}@{version} differs between the two registries (versions are immutable); "
            "nothing was changed on either side"
        )
        self.model, self.version = model, version


class SpecConflict(Conflict):
    def __init__(self, model: str) -> None:
        super().__init__(
            f"{model}: model.yaml differs although no newer events explain it; nothing was changed on either side"
        )
        self.model = model


@dataclass(frozen=True)
class ModelSide:
    """One model as one side stores it: digests of model.yaml, of each manifest, of each event."""

    spec: str
    manifests: Mapping[str, str]
    events: tuple[str, ...]
    moves: tuple[frozenset[str], ...] = ()  # per event, the versions it names (source side only)
    specs: tuple[str | None, ...] = ()  # per event, the model.yaml digest a model event records


@dataclass(frozen=True)
class ModelPlan:
    model: str
    create_spec: bool = False
    replace_spec: bool = False
    versions: tuple[str, ...] = ()  # manifests to copy
    events: tuple[int, ...] = ()  # sequence numbers to copy, ascending
    present_versions: int = 0
    present_events: int = 0
    behind: bool = False  # the destination has events the source lacks

    @property
    def changes_anything(self) -> bool:
        return bool(self.create_spec or self.replace_spec or self.versions or self.events)


@dataclass(frozen=True)
class Plan:
    models: tuple[ModelPlan, ...]
    blobs: tuple[str, ...] = ()  # digests to copy, sorted
    present_blobs: int = 0
    extra: dict = field(default_factory=dict)


def common_prefix(left: tuple[str, ...], right: tuple[str, ...]) -> int:
    length = 0
    for a, b in zip(left, right):
        if a != b:
            break
        length += 1
    return length


def plan_model(model: str, source: ModelSide, destination: ModelSide | None, versions: Iterable[str] | None = None) -> ModelPlan:
    """The copies that bring ``model`` from ``source`` to ``destination`` (None: absent there).

    ``versions`` limits the manifests to copy (None: all of the source's).
    """
    there = destination or ModelSide(spec="", manifests={}, events=())
    wanted = sorted(source.manifests if versions is None else versions, key=natural_key)
    to_copy, present = [], 0
    for version in wanted:
        theirs = there.manifests.get(version)
        if theirs is None:
            to_copy.append(version)
        elif theirs != source.manifests[version]:
            raise VersionConflict(model, version)
        else:
            present += 1
    shared = common_prefix(source.events, there.events)
    if shared < min(len(source.events), len(there.events)):
        raise Diverged(model, shared + 1)
    available = set(there.manifests) | set(to_copy)
    events: list[int] = []
    for index in range(len(there.events), len(source.events)):
        moved = source.moves[index] if index < len(source.moves) else frozenset()
        if not moved <= available:
            break
        events.append(index + 1)
    events = _through_newest_spec(source, events)
    spec_differs = destination is not None and there.spec != source.spec
    if spec_differs and len(there.events) == len(source.events):
        raise SpecConflict(model)
    return ModelPlan(
        model=model,
        create_spec=destination is None,
        replace_spec=spec_differs and any(_records_spec(source, seq) for seq in events),
        versions=tuple(to_copy),
        events=tuple(events),
        present_versions=present,
        present_events=min(len(there.events), len(source.events)),
        behind=len(there.events) > len(source.events),
    )


def _records_spec(side: ModelSide, seq: int) -> bool:
    return seq <= len(side.specs) and side.specs[seq - 1] is not None


def _through_newest_spec(source: ModelSide, events: list[int]) -> list[int]:
    """Copied events may include model events only up to the source's newest one, since the
    only model.yaml a transfer can write is the source's current one: a copy stopping between
    two model events stops before the first instead."""
    newest = max((seq for seq in range(1, len(source.specs) + 1) if _records_spec(source, seq)), default=0)
    if not events or events[-1] >= newest:
        return events
    first = next((seq for seq in events if _records_spec(source, seq)), None)
    return events if first is None else [seq for seq in events if seq < first]


def plan_blobs(needed: Iterable[str], present: set[str]) -> tuple[tuple[str, ...], int]:
    """Blobs to copy (sorted) and how many the destination already holds."""
    wanted = set(needed)
    return tuple(sorted(wanted - present)), len(wanted & present)
