"""Where everything lives in a registry: every path mreg reads or writes, in one place.

::

    mreg.yaml                              the registry's config (format, blob store, policy)
    models/<MODEL>/model.yaml              a model's identity, dependencies and baselines
    models/<MODEL>/versions/<VERSION>.yaml a version manifest, written once
    models/<MODEL>/events/<SEQ>.yaml       the model's hash-chained lifecycle events
    models/<MODEL>/head.yaml               the newest event's seq and digest (as a git ref)
    objects/sha256/<2 hex>/<62 hex>        content-addressed blobs
    .cache/                                derived files (index.sqlite)
    .tmp/                                  bytes being written, before their final name

Ground module: it imports nothing but ``errors``, so the store and the domain both use it.
"""

from __future__ import annotations

import re
from typing import Mapping, TypeVar

from mreg.errors import UsageError

CONFIG = "mreg.yaml"
GITIGNORE = ".gitignore"
MODELS = "models"
OBJECTS = "objects/sha256"
CACHE_DIR = ".cache"
INDEX = f"{CACHE_DIR}/index.sqlite"
LINEAGE_INDEX = f"{CACHE_DIR}/lineage.json"  # the reference index of earlier releases: reindex deletes it
TEMP_DIR = ".tmp"
GITIGNORE_TEXT = f"# derived and temporary files; never the source of truth\n{CACHE_DIR}/\n{TEMP_DIR}/\n"

VERSIONS, EVENTS, SPEC, HEAD = "versions", "events", "model.yaml", "head.yaml"
_HEX = re.compile(r"[0-9a-f]{64}")

Info = TypeVar("Info")


def model_dir(model: str) -> str:
    return f"{MODELS}/{model}"


def model_path(model: str) -> str:
    return f"{model_dir(model)}/{SPEC}"


def head_path(model: str) -> str:
    return f"{model_dir(model)}/{HEAD}"


def version_path(model: str, version: str) -> str:
    return f"{model_dir(model)}/{VERSIONS}/{version}.yaml"


def event_dir(model: str) -> str:
    return f"{model_dir(model)}/{EVENTS}"


def event_path(model: str, seq: int) -> str:
    return f"{event_dir(model)}/{seq:08d}.yaml"


def model_of(path: str) -> str:
    """``models/M/...`` -> ``M``."""
    return path.split("/", 2)[1]


def entry_of(path: str) -> tuple[str, str] | None:
    """``models/M/versions/v1.yaml`` -> ``("versions", "v1")``, events likewise; else None."""
    parts = path.split("/", 3)
    if len(parts) == 4 and parts[2] in (VERSIONS, EVENTS) and path.endswith(".yaml"):
        return parts[2], parts[3][: -len(".yaml")]
    return None


def by_model(listing: Mapping[str, Info]) -> dict[str, dict[str, Info]]:
    """A listing of ``models/`` grouped by model id, models in sorted order."""
    grouped: dict[str, dict[str, Info]] = {}
    for path, info in listing.items():
        grouped.setdefault(model_of(path), {})[path] = info
    return dict(sorted(grouped.items()))


def is_digest(text: object) -> bool:
    """``sha256:`` and 64 lowercase hex digits: the only digests objects are named by."""
    return isinstance(text, str) and text.startswith("sha256:") and bool(_HEX.fullmatch(text[len("sha256:"):]))


def object_path(digest: str) -> str:
    """``sha256:<hex>`` -> ``objects/sha256/xx/rest``; rejects anything else."""
    algorithm, _, hexdigest = digest.partition(":")
    if algorithm != "sha256" or not _HEX.fullmatch(hexdigest):
        raise UsageError(f"invalid digest {digest!r} (expected sha256:<64 hex>)")
    return f"{OBJECTS}/{hexdigest[:2]}/{hexdigest[2:]}"


def digest_of_path(path: str) -> str | None:
    """The inverse of ``object_path``; None for a path that is not a well-formed object."""
    prefix, _, rest = path.rpartition("/")
    head = prefix.rpartition("/")[2]
    hexdigest = head + rest
    if prefix != f"{OBJECTS}/{head}" or len(head) != 2 or not _HEX.fullmatch(hexdigest):
        return None
    return f"sha256:{hexdigest}"
