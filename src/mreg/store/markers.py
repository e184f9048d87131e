"""Markers that keep ``gc`` from deleting a blob a registration in flight will reference.

A writer stores blobs before the manifest or event that names them, so for a while they look
unreferenced; a grace period only makes the race unlikely. As restic's prune takes an
exclusive lock, a writer holds a *registration* marker in the blob store
(``.tmp/locks/register.<host>.<pid>.<id>``) from before its first blob until the file naming
them exists, and ``gc`` holds a *gc* marker while it decides and deletes. Each writes its own
marker, then lists the other kind: of two that overlap, at least one sees the other, since a
create is visible to every later listing (a local disk; S3 is strongly consistent). ``gc``
that sees a registration deletes nothing; a registration that sees ``gc`` waits for it to end.

A marker whose process is gone (same host, pid not running) or older than ``LEASE_SECONDS``
is ignored, so a killed writer never blocks ``gc`` for ever.
"""

from __future__ import annotations

import os
import re
import socket
import time
import uuid
from contextlib import contextmanager
from typing import Iterator

from mreg.errors import ExitCode, MregError
from mreg.layout import TEMP_DIR
from mreg.store.storage import FileInfo, Storage

MARKERS = f"{TEMP_DIR}/locks"
LEASE_SECONDS = 6 * 3600
WAIT_SECONDS = 600.0
POLL_SECONDS = 0.1
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:64] or "host"


class GcRunning(MregError):
    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, url: str) -> None:
        super().__init__(f"{url}: gc has been collecting blobs for over {WAIT_SECONDS:.0f} s; retry when it ends")


def _create(storage: Storage, kind: str) -> str:
    path = f"{MARKERS}/{kind}.{_HOST}.{os.getpid()}.{uuid.uuid4().hex}"
    storage.create(path, b"")
    return path


def _alive(name: str, info: FileInfo, now: float) -> bool:
    parts = name.split(".")
    if len(parts) != 4 or now - info.modified > LEASE_SECONDS:
        return False
    host, pid = parts[1], parts[2]
    if host != _HOST or not pid.isdigit():
        return True  # another machine's: trusted until its lease ends
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def live(storage: Storage, kind: str, mine: str | None = None) -> list[str]:
    """The live markers of ``kind`` (other than ``mine``), from one listing."""
    now = time.time()
    return [path for path, info in storage.listing(MARKERS).items()
            if path != mine and path.rpartition("/")[2].startswith(f"{kind}.")
            and _alive(path.rpartition("/")[2], info, now)]


@contextmanager
def registering(storage: Storage) -> Iterator[None]:
    """Hold a registration marker; waits (up to ``WAIT_SECONDS``) while a gc runs."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        marker = _create(storage, "register")
        if not live(storage, "gc"):
            break
        storage.delete(marker)
        if time.monotonic() > deadline:
            raise GcRunning(storage.url)
        time.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        storage.delete(marker)


@contextmanager
def collecting(storage: Storage) -> Iterator[int]:
    """Hold a gc marker; yields how many registrations are in flight (delete nothing unless 0)."""
    marker = _create(storage, "gc")
    try:
        yield len(live(storage, "register"))
    finally:
        storage.delete(marker)
