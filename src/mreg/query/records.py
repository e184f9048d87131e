"""One flat record per version: what ``find`` filters, orders and prints.

The record joins the version's manifest with its model's identity (framework, task,
serving mode) and the state folded from events. The derived index stores the same records
(``sql.insert_records``), so both ways of answering a query see the same values.
"""

from __future__ import annotations

from typing import Any


def run_tags(tags: list[str]) -> dict[str, str]:
    """Tracking-system tags as a mapping: ``team:ranking`` is ``tags.team = 'ranking'``, a
    plain tag ``nightly`` is ``tags.nightly = 'true'``."""
    mapping = {}
    for tag in tags:
        name, sep, value = tag.partition(":")
        mapping[name] = value if sep else "true"
    return mapping


def version_record(manifest, spec, state: str) -> dict[str, Any]:
    """``manifest`` a VersionManifest, ``spec`` its model's ModelSpec, ``state`` a State value."""
    return {
        "model": manifest.model,
        "version": manifest.version,
        "state": str(state),
        "framework": spec.framework,
        "task": spec.task,
        "serving_mode": spec.serving_mode,
        "registered": manifest.registered_at,
        "datasets": [dataset.name for dataset in manifest.datasets],
        "metrics": dict(manifest.metrics),
        "params": dict(manifest.parameters),
        "tags": run_tags(getattr(manifest.run, "tags", [])),
    }
