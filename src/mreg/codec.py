"""The one canonical serializer: YAML for stored files, JSON for ``--json`` output.

Same content, same bytes: mappings keep the field order of the pydantic model that made
them (free-form mappings such as metrics are sorted by the model), block style, UTF-8,
no line folding. YAML is only ever loaded in safe mode.
"""

from __future__ import annotations

import functools
import io
import json
import math
from datetime import date, datetime
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from mreg.errors import InvalidManifest


_LINE_BREAKS = frozenset("\r\x85\u2028\u2029")


def _represent_str(representer, text: str):
    """Double-quote (with escapes) any string a plain or single-quoted scalar would alter:
    YAML folds NEL and the Unicode line separators, and drops control characters."""
    if any(char in _LINE_BREAKS or (not char.isprintable() and char not in "\n\t") for char in text):
        return representer.represent_scalar("tag:yaml.org,2002:str", text, style='"')
    return representer.represent_str(text)


@functools.cache
def _dumper() -> YAML:
    """The pure-Python emitter, so output bytes never depend on an optional C extension.
    Made once: building a YAML object costs more than loading a small document."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.width = 1 << 16
    yaml.sort_base_mapping_type_on_output = False
    yaml.representer.add_representer(str, _represent_str)
    return yaml


@functools.cache
def _loaders() -> tuple[YAML, ...]:
    """Safe loading, first through ruamel's C parser where installed (about 4x faster on a
    cold read of a large registry; same YAML 1.2 resolver), then the pure-Python parser,
    which also accepts the YAML 1.2 that libyaml's scanner refuses (``{url: s3://b/k}``)."""
    return (YAML(typ="safe"), YAML(typ="safe", pure=True))


def dump_yaml(data: Any) -> bytes:
    """Canonical YAML bytes for plain data (dicts, lists, scalars)."""
    buffer = io.StringIO()
    _dumper().dump(data, buffer)
    return buffer.getvalue().encode("utf-8")


def _dates_as_text(value: Any) -> Any:
    """An unquoted ``2025-10-31`` is a YAML timestamp; every field of ours wants the text."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _dates_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(item) for item in value]
    return value


def load_yaml(data: bytes | str, source: str) -> Any:
    """Parse YAML safely; a syntax error names the source."""
    for loader in _loaders():
        try:
            return _dates_as_text(loader.load(data))
        except YAMLError as exc:
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    raise InvalidManifest(source, f"not valid YAML ({problem})")


def _json_safe(value: Any) -> Any:
    """Replace NaN and infinities, which JSON cannot carry, with null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


def dump_json(data: Any) -> str:
    """Canonical JSON text for ``--json``: sorted keys, two-space indent, trailing newline."""
    return json.dumps(_json_safe(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
