"""The one rule for a path that comes from a document: an artifact's ``path`` in a manifest,
an entry of a tree listing. ``pull`` joins such paths to its output directory, so a path
that could climb out of it (``../x``, ``/etc/x``), alias another (``a//b``, ``a/./b``) or
collide with another (two entries ``a``, or a file ``a`` beside a file ``a/b``) is refused
wherever it is met: at registration, by ``verify``, and again by ``pull``.
"""

from __future__ import annotations

from typing import Iterable

MAX_PATH_BYTES = 4096
MAX_SEGMENT_BYTES = 255  # what Linux, macOS and Windows file systems allow for one name


def path_problem(path: object) -> str | None:
    """Why ``path`` is not a safe relative path, or None if it is."""
    if not isinstance(path, str):
        return f"a path must be text, not {type(path).__name__}"
    if not path:
        return "a path must not be empty"
    if len(path.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        return f"path is longer than {MAX_PATH_BYTES} bytes"
    if path.startswith("/") or path[1:3] == ":/" or path.startswith("\\"):
        return f"path {path!r} is absolute; it must be relative"
    if "\\" in path:
        return f"path {path!r} contains a backslash"
    if any(char == "\x00" or ord(char) < 0x20 or ord(char) == 0x7F for char in path):
        return f"path {path!r} contains a control character"
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            shown = "an empty" if not segment else f"a {segment!r}"
            return f"path {path!r} has {shown} segment; it must be normalized and stay inside its directory"
        if len(segment.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
            return f"path {path!r} has a segment longer than {MAX_SEGMENT_BYTES} bytes"
    return None


def collision_problem(paths: Iterable[str]) -> str | None:
    """Why a set of safe paths cannot all be files of one directory: a duplicate, or one
    path being a directory of another. None when they can."""
    seen: set[str] = set()
    for path in paths:
        if path in seen:
            return f"path {path!r} appears twice"
        seen.add(path)
    for path in seen:
        parts = path.split("/")
        for end in range(1, len(parts)):
            if "/".join(parts[:end]) in seen:
                return f"path {'/'.join(parts[:end])!r} is a file and also a directory of {path!r}"
    return None


def paths_problem(paths: Iterable[object]) -> str | None:
    """The first problem of a list of document paths, each checked and then all together."""
    listed = list(paths)
    for path in listed:
        problem = path_problem(path)
        if problem:
            return problem
    return collision_problem(listed)  # type: ignore[arg-type]
