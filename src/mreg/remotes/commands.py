"""The remote commands over a registry: remotes in mreg.yaml, push, fetch, clone, pull's
missing blobs, bundles. The facade (``Registry``) delegates here; see docs/remotes.md.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Callable

from mreg.errors import AlreadyExists, NotFound, UsageError
from mreg.names import check_name
from mreg.remotes.sides import RegistrySide
from mreg.remotes.transfer import execute, plan_transfer
from mreg.results import TransferReport
from mreg.remotes.stores import remote_blob_stores
from mreg.repository import Repository

# Given the bytes a transfer will move, a context yielding the per-chunk callback (a bar).
ProgressFactory = Callable[[int], AbstractContextManager]
GIT_IGNORED_BLOBS = "# blobs live in the remotes (docs/remotes.md); manifests and events stay in git\nobjects/\n"


def _no_progress(_total: int) -> AbstractContextManager:
    return nullcontext(None)


def remote_url(registry, name: str | None) -> str:
    remotes = registry.config.remotes
    if name is None:
        if not remotes:
            raise UsageError("this registry has no remote (add one with 'mreg remote add origin URL')")
        name = "origin" if "origin" in remotes else sorted(remotes)[0]
    try:
        return remotes[name]
    except KeyError:
        raise NotFound(f"no remote named {name!r} (see 'mreg remote list')") from None


def ignore_blobs_in_git(registry) -> bool:
    """Add ``objects/`` to a local registry's .gitignore; True if it was added."""
    from mreg.store import is_local

    if not is_local(registry.storage.url):
        return False
    current = registry.storage.read(".gitignore").decode() if registry.storage.exists(".gitignore") else ""
    if any(line.strip() in ("objects/", "/objects/", "objects") for line in current.splitlines()):
        return False
    registry.storage.replace(".gitignore", (current + ("\n" if current and not current.endswith("\n") else "") + GIT_IGNORED_BLOBS).encode())
    return True


def open_or_create(url: str):
    """The registry at ``url``; a location that holds none becomes an empty registry (a first push)."""
    from mreg.errors import RegistryNotFound

    try:
        return Repository.open(url)
    except RegistryNotFound:
        try:
            return Repository.create(url)
        except AlreadyExists:  # another first push created it meanwhile
            return Repository.open(url)


def _run(source, destination, refs, with_blobs: bool, dry_run: bool, progress: ProgressFactory | None) -> TransferReport:
    plan = plan_transfer(source, destination, list(refs), with_blobs)
    sizes = source.blob_sizes() if plan.blobs else {}
    with (progress or _no_progress)(sum(sizes.get(d, 0) for d in plan.blobs)) as advance:
        lock = threading.Lock()

        def locked(count: int) -> None:
            with lock:
                advance(count)

        report = execute(source, destination, plan, dry_run, locked if advance else None)
    if not dry_run:
        destination.repository.flush()
    return report


def push(registry, refs=(), remote: str | None = None, dry_run: bool = False,
         progress: ProgressFactory | None = None) -> TransferReport:
    url = remote_url(registry, remote)
    destination = _existing_or_empty(url) if dry_run else open_or_create(url)
    return _run(RegistrySide(registry.repository), RegistrySide(destination), refs, True, dry_run, progress)


def _existing_or_empty(url: str):
    """For a dry run: the remote as it is, or an empty one in memory, without creating it."""
    from mreg.errors import RegistryNotFound
    from mreg.manifest import RegistryConfig
    from mreg.store import open_storage

    try:
        return Repository.open(url)
    except RegistryNotFound:
        return Repository(open_storage(url), RegistryConfig())


def fetch(registry, models=(), remote: str | None = None, dry_run: bool = False) -> TransferReport:
    """New versions and events from a remote; blobs stay there until a pull needs them."""
    for model in models:
        check_name("model id", model)
    source = RegistrySide(Repository.open(remote_url(registry, remote)))
    return _run(source, RegistrySide(registry.repository), models, False, dry_run, None)


def clone(url: str, directory: str) -> TransferReport:
    """A new registry at ``directory`` with ``url`` as its origin, holding its manifests and events."""
    source = RegistrySide(Repository.open(url))  # refuse a URL with no registry before creating anything
    repository = Repository.create(directory, remotes={"origin": url})
    ignore_blobs_in_git(repository)
    return _run(source, RegistrySide(repository), (), False, False, None)


def remote_add(registry, name: str, url: str) -> dict[str, str]:
    from mreg.store import open_storage

    check_name("remote name", name)
    if name in registry.config.remotes:
        raise AlreadyExists(f"remote {name}", "remove it first with 'mreg remote remove'")
    open_storage(url)  # a malformed or unsupported URL is refused before mreg.yaml changes
    remotes = registry.update_config(remotes={**registry.config.remotes, name: url}).remotes
    ignore_blobs_in_git(registry)
    return remotes


def remote_remove(registry, name: str) -> dict[str, str]:
    if name not in registry.config.remotes:
        raise NotFound(f"no remote named {name!r} (see 'mreg remote list')")
    return registry.update_config(remotes={k: v for k, v in registry.config.remotes.items() if k != name}).remotes


def fetch_missing_blobs(registry, digests: set[str], progress=None) -> int:
    """Copy blobs the local store lacks from the first remote holding each, verified; returns how many."""
    missing = {d for d in digests if not registry.blobs.has(d)}
    fetched = 0
    for store in remote_blob_stores(registry) if missing else []:
        held = store.all_objects()
        for digest in sorted(missing & set(held)):
            registry.blobs.put_chunks(store.iter_verified(digest), progress)
            fetched += 1
        missing -= set(held)
        if not missing:
            break
    return fetched


def bundle_create(registry, target: Path, refs) -> dict:
    from mreg.remotes.bundle import write_bundle

    if not refs:
        raise UsageError("name the models (or MODEL@VERSION) to bundle")
    source = RegistrySide(registry.repository)
    return write_bundle(target, source, plan_transfer(source, None, list(refs)))


def bundle_apply(registry, path: Path, dry_run: bool = False, progress: ProgressFactory | None = None) -> TransferReport:
    from mreg.remotes.bundle import BundleSide

    if not path.is_file():
        raise NotFound(f"no such bundle: {path}")
    with BundleSide(path) as bundle:
        return _run(bundle, RegistrySide(registry.repository), (), True, dry_run, progress)

