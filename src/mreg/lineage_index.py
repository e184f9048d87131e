"""A derived reference index: for each node id, which models' files mention it.

Walking downstream needs "who refers to this?": the versions that name a version as
parent, the models trained on a dataset, the models consuming a service. Answering that
from the files means reading every manifest, so this index keeps, per model, the node ids
of other owners (and the sha256 digests) that the model's files mention, with a
fingerprint of those files (paths, sizes and change tokens from one listing). A query
lists ``models/`` once, re-reads only models whose fingerprint changed, and inverts the
result in memory.

Like the file cache it is derived and rebuildable: it lives at ``.cache/lineage.json``,
may be deleted at any time, is never the source of truth, and a failure to write it is
harmless. Events are not fingerprinted: states are read from the models a query loads.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from typing import TYPE_CHECKING

from mreg.errors import MregError
from mreg.store.storage import FileInfo

if TYPE_CHECKING:
    from mreg.registry import Registry

INDEX_PATH = ".cache/lineage.json"
INDEX_FORMAT = 1


def _fingerprint(files: dict[str, FileInfo]) -> str:
    """Changes whenever model.yaml or a version manifest is added, removed or edited."""
    relevant = sorted(
        f"{path}\0{info.size}\0{info.token}"
        for path, info in files.items()
        if path.endswith("/model.yaml") or "/versions/" in path
    )
    return hashlib.sha256("\n".join(relevant).encode()).hexdigest()


def references(registry: "Registry", model: str) -> list[str]:
    """Node ids owned elsewhere, and digests, that one model's files mention."""
    import networkx as nx

    from mreg.lineage import add_model, owner_of

    graph = nx.DiGraph()
    add_model(graph, registry.model_files(model))
    mentioned = {node for node in graph if owner_of(node) != model}
    for _, data in graph.nodes(data=True):
        mentioned.update(data.get("digests", ()))
        if data.get("digest"):
            mentioned.add(data["digest"])
    return sorted(mentioned)


class ReferenceIndex:
    def __init__(self, by_model: dict[str, dict]) -> None:
        self._referrers: dict[str, set[str]] = defaultdict(set)
        for model, entry in by_model.items():
            for reference in entry["references"]:
                self._referrers[reference].add(model)

    def referrers(self, reference: str) -> list[str]:
        """Models whose files mention ``reference`` (a node id or a digest)."""
        return sorted(self._referrers.get(reference, ()))

    @classmethod
    def refreshed(cls, registry: "Registry") -> "ReferenceIndex":
        """The index brought up to date with one listing, re-reading only changed models."""
        storage = registry.storage
        by_listing: dict[str, dict[str, FileInfo]] = defaultdict(dict)
        for path, info in storage.listing("models").items():
            by_listing[path.split("/")[1]][path] = info
        stored = _read(storage)
        fresh: dict[str, dict] = {}
        for model, files in sorted(by_listing.items()):
            if f"models/{model}/model.yaml" not in files:
                continue
            fingerprint = _fingerprint(files)
            entry = stored.get(model)
            if entry is None or entry.get("fingerprint") != fingerprint:
                entry = {"fingerprint": fingerprint, "references": references(registry, model)}
            fresh[model] = entry
        if fresh != stored:
            _write(storage, fresh)
        return cls(fresh)


def _read(storage) -> dict[str, dict]:
    try:
        document = json.loads(storage.read(INDEX_PATH))
        return document["models"] if document.get("format") == INDEX_FORMAT else {}
    except (MregError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _write(storage, models: dict[str, dict]) -> None:
    document = {"format": INDEX_FORMAT, "models": models}
    try:
        storage.replace(INDEX_PATH, json.dumps(document, separators=(",", ":"), sort_keys=True).encode())
    except (MregError, OSError):
        return
