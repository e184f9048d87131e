"""The remotes' blob stores, as verify, gc and pull consult them (below the facade)."""

from __future__ import annotations

from mreg.errors import MregError
from mreg.store.blobs import BlobStore


def remote_blob_stores(registry) -> list[BlobStore]:
    """The blob stores of a registry's (or repository's) remotes that can be opened."""
    from mreg.repository import Repository

    stores = []
    for _name, url in sorted(registry.config.remotes.items()):
        try:
            stores.append(Repository.open(url).blobs)
        except MregError:
            continue  # an unreachable remote holds nothing we can count on
    return stores


def blobs_on_remotes(registry) -> set[str]:
    """Every blob any reachable remote holds (one listing of each remote's objects/)."""
    held: set[str] = set()
    for store in remote_blob_stores(registry):
        held |= set(store.all_objects())
    return held
