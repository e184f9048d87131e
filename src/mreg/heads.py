"""Head records: ``models/<MODEL>/head.yaml`` names a model's newest event, as a git ref names a commit.

The chain proves every event but the newest: each names the digest of the one before. Deleting
the newest event (truncating the history) leaves a shorter chain that is still whole; the head
catches that, since it names the newest event's seq and digest. It is written after each event
by compare-and-swap (``Storage.swap``), moving only forward, so concurrent appenders never move
it back. A crash between an event and its head leaves the head one event behind: at most one
event beyond the head is an interrupted write, not damage. What the head cannot catch without
signatures (someone rewriting it along with the events) is in docs/security.md.
"""

from __future__ import annotations

from mreg.chain import Head
from mreg.errors import ConcurrentUpdate, InvalidManifest
from mreg.layout import head_path
from mreg.seals import TamperedFile
from mreg.store import Storage

MAX_ATTEMPTS = 64


def read_head(raw: bytes, path: str) -> Head:
    try:
        return Head.from_yaml(raw, path)
    except InvalidManifest as exc:
        raise TamperedFile(path, exc.message.removeprefix(f"{path}: ")) from None


def catch_up(storage: Storage, files) -> None:
    """Before appending: move the head to an event beyond it (another writer's, not yet
    named, or a killed one's), so a new event is only ever created one past the head."""
    newest = files.head
    if newest is not None and (files.head_record.seq if files.head_record else 0) < newest.event.seq:
        advance(storage, files.spec.id, newest.event.seq, newest.digest)


def advance(storage: Storage, model: str, seq: int, digest: str) -> None:
    """Make the head name event ``seq`` (``digest``) unless it already names that one or a newer one."""
    path = head_path(model)
    wanted = Head(seq=seq, event=digest).to_yaml()
    for _ in range(MAX_ATTEMPTS):
        found = storage.read_tagged(path)
        if found is not None and read_head(found[0], path).seq >= seq:
            return
        if storage.swap(path, found[1] if found else None, wanted):
            return
    raise ConcurrentUpdate(model, f"gave up moving {path} after {MAX_ATTEMPTS} attempts")
