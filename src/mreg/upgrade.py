"""``mreg upgrade``: migrate a registry of format 1 to format 2 in place.

Format 2 records what format 1 could not check: a head record per model (so deleting the
newest event is detected), a model event holding model.yaml's digest (so a hand edit of it
is), and a seal on mreg.yaml. The upgrade reads each model with format 1's checks (the chain,
the manifest digests events recorded, the lifecycle) and refuses a history they reject; then
it appends one model event recording model.yaml as it is and writes the head. mreg.yaml is
rewritten last: a killed upgrade is rerun and skips the models it finished.
"""

from __future__ import annotations

from mreg import clock, events, heads
from mreg.events import Event
from mreg.manifest import FORMAT_VERSION
from mreg.repository import Repository
from mreg.results import UpgradeReport


def upgrade(url: str) -> UpgradeReport:
    repository = Repository.open(url, upgrading=True)
    if not repository.legacy:
        return UpgradeReport(format=FORMAT_VERSION, upgraded=False)
    upgraded = [model for model in repository.model_ids() if _record(repository, model)]
    repository.write_config(repository.config)
    return UpgradeReport(format=FORMAT_VERSION, upgraded=True, models=upgraded)


def _record(repository: Repository, model: str) -> bool:
    """Give ``model`` its model event and head unless a rerun finds them there already."""
    files = repository.model_files(model)
    newest = files.head
    if files.head_record and newest and newest.event.spec == files.spec_digest:
        return False

    def plan() -> Event:
        fresh = repository.model_files(model)
        heads.catch_up(repository.storage, fresh)
        actor, time = clock.stamp()
        return Event(model=model, action="model", actor=actor, time=time,
                     reason=f"recorded by mreg upgrade (format {FORMAT_VERSION})", spec=fresh.spec_digest,
                     **events.next_links(fresh.head))

    stored = events.append_planned(repository.storage, model, plan)
    heads.advance(repository.storage, model, stored.event.seq, stored.digest)
    return True
