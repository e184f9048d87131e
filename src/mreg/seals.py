"""Seals: whether a written-once file still holds the bytes mreg wrote, cheap enough for every read.

A sealed document (a version manifest, an event, mreg.yaml) is written in canonical YAML whose
last line is ``seal: sha256:<hex>``: the sha256 of the document without its seal, which is
the same bytes as the file without that line, since ``seal`` is the last field. So a read checks
the seal on the raw bytes it already holds, with one hash and no YAML dump: any edit of the body
changes the hash, any edit of the seal line makes it name another hash or no hash at all.

A seal is not a signature: whoever edits a file can recompute it. The chain (each event names the
previous event's digest and each version's manifest digest) and the head record catch that for
everything but the newest event and the head itself (docs/security.md).
"""

from __future__ import annotations

import re

from mreg.codec import digest_bytes
from mreg.errors import IntegrityError

_SEAL_LINE = re.compile(rb"seal: (sha256:[0-9a-f]{64})")


class TamperedFile(IntegrityError):
    """A registry file whose bytes no longer match its seal or a digest recorded for it."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"{path}: {why}; refusing to use it (run 'mreg verify')")
        self.path = path


def seal_problem(raw: bytes) -> str | None:
    """Why ``raw`` is not a sealed document as mreg writes it, or None."""
    body, _, last = raw.removesuffix(b"\n").rpartition(b"\n")
    match = _SEAL_LINE.fullmatch(last)
    if not raw.endswith(b"\n") or match is None:
        return "edited after it was written: its last line is not its seal"
    if digest_bytes(body + b"\n") != match.group(1).decode():
        return "edited after it was written: its content no longer matches its seal"
    return None


def check_sealed(raw: bytes, path: str) -> None:
    """Refuse ``raw`` (read from ``path``) unless its seal holds."""
    problem = seal_problem(raw)
    if problem:
        raise TamperedFile(path, problem)
