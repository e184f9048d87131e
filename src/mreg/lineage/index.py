"""A derived reference index: for each node id, which models' files mention it.

Walking downstream needs "who refers to this?": the versions that name a version as
parent, the models trained on a dataset, the models consuming a service. Answering that
from the files means reading every manifest, so the index keeps, per model, the node ids
of other owners (and the sha256 digests) that the model's files mention, as a kept value of
the file index (``Repository.derived_for_all``): a query re-reads only models whose files
changed and inverts the result in memory.

Like every kept value it is derived and rebuildable (``mreg reindex``), checked by its MAC,
and never the source of truth: the models a walk reaches are loaded and checked in full.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Callable

from mreg import layout
from mreg.errors import MregError

if TYPE_CHECKING:
    from mreg.repository import ModelFiles, Repository

NAMESPACE = "references.1"  # the file index's namespace for each model's references


class ReferenceIndex:
    def __init__(self, references: list[tuple[str, list[str]]]) -> None:
        self._referrers: dict[str, set[str]] = defaultdict(set)
        for model, mentioned in references:
            for reference in mentioned:
                self._referrers[reference].add(model)

    def referrers(self, reference: str) -> list[str]:
        """Models whose files mention ``reference`` (a node id or a digest)."""
        return sorted(self._referrers.get(reference, ()))

    @classmethod
    def refreshed(
        cls, repository: "Repository", references: Callable[["ModelFiles"], list[str]]
    ) -> "ReferenceIndex":
        """The index brought up to date, re-reading only changed models; ``references``
        names what one model's files mention (the graph knows how)."""
        kept = repository.derived_for_all(NAMESPACE, lambda files: [files.spec.id, references(files)])
        return cls([(model, mentioned) for model, mentioned in kept])


def drop_legacy(storage) -> None:
    """Delete the reference file earlier releases kept beside the registry (``reindex``)."""
    try:
        storage.delete(layout.LINEAGE_INDEX)
    except (MregError, OSError):
        return
