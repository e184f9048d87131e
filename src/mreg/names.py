"""The one grammar for model ids and version names, and ``MODEL@VERSION`` references.

A name becomes a path segment in the store (``models/<MODEL>/versions/<VERSION>.yaml``),
so it is checked before anything touches the store: 1-128 characters of letters, digits,
``.``, ``-`` and ``_``, starting with a letter or digit, and never containing ``..``.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable

from mreg.errors import InvalidName

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
GRAMMAR = "1-128 of letters, digits, '.', '-', '_', starting with a letter or digit, no '..'"


def check_name(kind: str, value: str) -> str:
    """Return ``value`` if it is a valid model id or version name, else raise InvalidName."""
    if not NAME_PATTERN.fullmatch(value) or ".." in value:
        raise InvalidName(kind, value, GRAMMAR)
    return value


def closest(value: str, candidates: Iterable[str]) -> str | None:
    """The candidate a typo most likely meant: the same name in another case, else the
    nearest by difflib's ratio (None when nothing is near)."""
    candidates = list(candidates)
    folded = {candidate.casefold(): candidate for candidate in candidates}
    if value.casefold() in folded:
        return folded[value.casefold()]
    near = difflib.get_close_matches(value.casefold(), list(folded), n=1, cutoff=0.6)
    return folded[near[0]] if near else None


_DIGITS = re.compile(r"(\d+)")


@functools.lru_cache(maxsize=1 << 16)
def natural_key(name: str) -> tuple:
    """Order versions as people do: v9.1 before v10.0 (cached: 3,000 models share v1..v30)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in _DIGITS.split(name))


def parse_ref(text: str, *, version_required: bool = True) -> tuple[str, str | None]:
    """Split ``MODEL@VERSION`` (or a bare ``MODEL`` when allowed) and check both names."""
    model, sep, version = text.partition("@")
    if not sep:
        _refuse_other_separators(text)
    check_name("model id", model)
    if not sep:
        if version_required:
            raise InvalidName("version reference", text, "expected MODEL@VERSION")
        return model, None
    return model, check_name("version", version)


def _refuse_other_separators(text: str) -> None:
    """``CHURN:v4`` (GTO and Docker write ``:``) or ``CHURN/v4`` most likely meant ``CHURN@v4``."""
    for separator in ":/":
        model, sep, version = text.partition(separator)
        if sep and NAME_PATTERN.fullmatch(model) and NAME_PATTERN.fullmatch(version):
            raise InvalidName("version reference", text, f"did you mean {model}@{version}? (MODEL@VERSION)")
