"""Shell completion of what lives in the registry: model ids and ``MODEL@VERSION`` refs.

Completion must never fail loudly: with no registry in reach it offers nothing.
"""

from __future__ import annotations

from mreg.errors import MregError


def _registry():
    from mreg.cli import session

    return session.registry()


def model_ids(incomplete: str) -> list[str]:
    try:
        return [model for model in _registry().model_ids() if model.startswith(incomplete)]
    except MregError:
        return []


def version_refs(incomplete: str) -> list[str]:
    """``MODEL@`` completes to that model's versions; before the ``@``, to model ids."""
    if "@" not in incomplete:
        return [f"{model}@" for model in model_ids(incomplete)]
    model, _, prefix = incomplete.partition("@")
    try:
        versions = _registry().status(model).versions
    except MregError:
        return []
    return [f"{model}@{version}" for version in versions if version.startswith(prefix)]
