"""Parsing what users type or point at: ``NAME=VALUE`` metrics and YAML/JSON input files."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any, Iterator

from mreg.codec import load_yaml, read_input
from mreg.errors import UsageError


def parse_metrics(pairs: list[str]) -> dict[str, float]:
    metrics = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--metric expects NAME=VALUE, got {pair!r}")
        try:
            number = float(value)
        except ValueError:
            raise UsageError(f"--metric {name}: {value!r} is not a number") from None
        if not math.isfinite(number):
            raise UsageError(f"--metric {name}: {value!r} is not a finite number")
        metrics[name.strip()] = number
    return metrics


def parse_instant(option: str, text: str | None):
    """``--at``/``--since``: a date or ISO 8601 time (UTC when no zone), or None."""
    from mreg import clock

    if text is None:
        return None
    try:
        return clock.parse_time(text)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not an ISO 8601 date or time (e.g. 2025-06-01)") from None


def read_document(path: Path, what: str) -> Any:
    """A YAML (or JSON, which is YAML) file, loaded safely and within the codec's limits."""
    return load_yaml(read_input(path, what), str(path))


def read_mapping(path: Path, what: str) -> dict[str, Any]:
    data = read_document(path, what)
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a {what} must be a mapping")
    return data


def read_metrics(path: Path) -> dict[str, float]:
    """A metrics file: ``{metrics: {NAME: VALUE}}`` or a bare ``{NAME: VALUE}`` mapping."""
    data = read_mapping(path, "metrics file")
    data = data.get("metrics", data)
    if not isinstance(data, dict):
        raise UsageError(f"{path}: 'metrics' must map metric names to numbers")
    return parse_metrics([f"{name}={value}" for name, value in data.items()])


MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_DOCUMENT_START = re.compile(rb"^---[ \t]*(?:#.*)?\r?$", re.MULTILINE)


def read_manifests(arguments: list[str]) -> list[tuple[str, Any]]:
    """(source, manifest data) for ``mreg import manifests``: each argument a file, a
    directory (its *.yaml, *.yml and *.json files, recursively, in path order) or ``-``,
    stdin as YAML documents separated by ``---`` lines. A document holding a list gives one
    manifest per element; each document stays within the codec's limits."""
    found: list[tuple[str, Any]] = []
    for argument in arguments:
        for source, raw in _inputs(argument):
            for number, text in enumerate(_DOCUMENT_START.split(raw), start=1):
                if not text.strip():
                    continue
                where = f"{source} (document {number})" if source == "stdin" else source
                data = load_yaml(text, where)
                items = data if isinstance(data, list) else [data]
                found += [(f"{where}[{index}]" if isinstance(data, list) else where, item)
                          for index, item in enumerate(items)]
    if not found:
        raise UsageError(f"no manifests in {', '.join(arguments)}")
    return found


def _inputs(argument: str) -> Iterator[tuple[str, bytes]]:
    if argument == "-":
        yield "stdin", sys.stdin.buffer.read()
        return
    path = Path(argument)
    if path.is_dir():
        for file in sorted(item for item in path.rglob("*") if item.suffix in MANIFEST_SUFFIXES and item.is_file()):
            yield str(file), read_input(file, "manifest")
        return
    yield str(path), read_input(path, "manifest")
