"""The one grammar for model ids and version names, and ``MODEL@VERSION`` references.

A name becomes a path segment in the store (``models/<MODEL>/versions/<VERSION>.yaml``),
so it is checked before anything touches the store: 1-128 characters of letters, digits,
``.``, ``-`` and ``_``, starting with a letter or digit, and never containing ``..``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from mreg.errors import InvalidName

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
GRAMMAR = "1-128 of letters, digits, '.', '-', '_', starting with a letter or digit, no '..'"


def check_name(kind: str, value: str) -> str:
    """Return ``value`` if it is a valid model id or version name, else raise InvalidName."""
    if not NAME_PATTERN.fullmatch(value) or ".." in value:
        raise InvalidName(kind, value, GRAMMAR)
    return value


def natural_key(name: str) -> list:
    """Order versions as people do: v9.1 before v10.0."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name)]


class VersionRef(NamedTuple):
    model: str
    version: str

    def __str__(self) -> str:
        return f"{self.model}@{self.version}"


def parse_ref(text: str, *, version_required: bool = True) -> tuple[str, str | None]:
    """Split ``MODEL@VERSION`` (or a bare ``MODEL`` when allowed) and check both names."""
    model, sep, version = text.partition("@")
    check_name("model id", model)
    if not sep:
        if version_required:
            raise InvalidName("version reference", text, "expected MODEL@VERSION")
        return model, None
    return model, check_name("version", version)


def parse_version_ref(text: str) -> VersionRef:
    model, version = parse_ref(text)
    assert version is not None
    return VersionRef(model, version)
