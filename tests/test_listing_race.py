"""A listing is not a snapshot: a writer may append an event and move the head between a
reader's listing and its read of head.yaml (and on S3 a LIST may lag a PUT). The reader
asks for the events the head names instead of refusing the model or listing again."""

from __future__ import annotations

import mreg
from mreg import layout
from mreg.manifest import ModelSpec


class _Counting:
    """The registry's storage with every listing and every read of a file counted."""

    def __init__(self, storage) -> None:
        self._storage, self.listings, self.reads = storage, 0, []

    def listing(self, prefix: str):
        self.listings += 1
        return self._storage.listing(prefix)

    def read(self, path: str) -> bytes:
        self.reads.append(path)
        return self._storage.read(path)

    def read_tagged(self, path: str):
        self.reads.append(path)
        return self._storage.read_tagged(path)

    def __getattr__(self, name):
        return getattr(self._storage, name)


def test_a_head_newer_than_the_listing_is_read_with_the_events_it_names(registry_url):
    writer = mreg.open(registry_url)
    writer.add_model(ModelSpec(id="M", name="m"))
    writer.register("M@v1")
    reader = mreg.open(registry_url)
    stale = reader.repository.storage.listing(layout.model_dir("M"))

    writer.promote("M@v1", "experimentation")  # event 2 (1 is model add) and the head move after the listing
    writer.promote("M@v1", "development", force=True, reason="again")  # and event 3

    counting = _Counting(reader.repository.storage)
    reader.repository.storage = reader.repository._cache._storage = counting
    files = reader.repository.model_files("M", listing=stale)
    assert counting.listings == 0  # no second listing, no refusal: the two events were read
    unlisted = [path for path in counting.reads if "/events/" in path and path not in stale]
    assert sorted(unlisted) == ["models/M/events/00000002.yaml", "models/M/events/00000003.yaml"]  # read once each
    assert [stored.event.seq for stored in files.events] == [1, 2, 3]
    assert files.state().versions == {"v1": mreg.State.DEVELOPMENT}
