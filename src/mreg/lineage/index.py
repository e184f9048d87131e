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
from typing import TYPE_CHECKING, Callable

from mreg import layout
from mreg.errors import MregError
from mreg.store import FileInfo

if TYPE_CHECKING:
    from mreg.repository import ModelFiles, Repository

INDEX_PATH = layout.LINEAGE_INDEX
INDEX_FORMAT = 1


def _fingerprint(files: dict[str, FileInfo]) -> str:
    """Changes whenever model.yaml or a version manifest is added, removed or edited."""
    relevant = sorted(
        f"{path}\0{info.size}\0{info.token}"
        for path, info in files.items()
        if path.endswith("/model.yaml") or "/versions/" in path
    )
    return hashlib.sha256("\n".join(relevant).encode()).hexdigest()


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
    def refreshed(
        cls, repository: "Repository", references: Callable[["ModelFiles"], list[str]]
    ) -> "ReferenceIndex":
        """The index brought up to date with one listing, re-reading only changed models;
        ``references`` names what one model's files mention (the graph knows how)."""
        stored = _read(repository.storage)
        fresh: dict[str, dict] = {}
        for model, files in repository.models_listing().items():
            if layout.model_path(model) not in files:
                continue
            fingerprint = _fingerprint(files)
            entry = stored.get(model)
            if entry is None or entry.get("fingerprint") != fingerprint:
                entry = {"fingerprint": fingerprint, "references": references(repository.model_files(model))}
            fresh[model] = entry
        if fresh != stored:
            _write(repository.storage, fresh)
        return cls(fresh)


def drop(storage) -> None:
    """Forget the index (``reindex``): the next downstream walk rebuilds it."""
    try:
        storage.delete(INDEX_PATH)
    except (MregError, OSError):
        return


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
