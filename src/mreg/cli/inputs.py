"""Parsing what users type or point at: ``NAME=VALUE`` metrics and YAML/JSON input files."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

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
