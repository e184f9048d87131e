"""The one canonical serializer: YAML for stored files, JSON for ``--json`` output.

Same content, same bytes: mappings keep the field order of the pydantic model that made
them (free-form mappings such as metrics are sorted by the model), block style, UTF-8,
no line folding. YAML is only ever loaded in safe mode.

Loading is bounded, because every document may come from someone hostile (a ``-f`` file,
an ``--evidence`` report, a hand-crafted registry): a YAML document is at most
``LIMITS.yaml_bytes`` long, nests at most ``LIMITS.depth`` collections and expands to at
most ``LIMITS.nodes`` nodes with its aliases followed (the "billion laughs" bomb). The
limits are checked on libyaml's event stream, before any node is built: building is what
recursed in C (a segfault at 100,000 levels) and what an alias bomb multiplies. JSON
(which judge reports and tree listings are) goes through Python's own decoder, with a
larger size limit since it parses about fifty times faster. docs/security.md lists them.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mreg.errors import InvalidManifest, PathNotFound, SystemRefused, UsageError


if TYPE_CHECKING:
    from ruamel.yaml import YAML

# ruamel is imported where YAML is parsed or written, not here: a read served by the
# derived index parses no YAML, and importing ruamel costs a good part of a command's start.
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
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.width = 1 << 16
    yaml.sort_base_mapping_type_on_output = False
    yaml.representer.add_representer(str, _represent_str)
    return yaml


def dump_yaml(data: Any) -> bytes:
    """Canonical YAML bytes for plain data (dicts, lists, scalars).

    The bytes are ruamel's: a document of the shapes mreg writes is laid out by a direct
    writer that asks ruamel's own emitter and resolver how to quote each string (0.1 ms for
    a manifest where the event pipeline took 20 ms and dominated a registration); anything it is not
    sure of goes through ruamel itself. A property test keeps the two byte-identical.
    """
    try:
        return _FastWriter().document(data).encode("utf-8")
    except _Unsupported:
        return _ruamel_dump(data)


def _ruamel_dump(data: Any) -> bytes:
    buffer = io.StringIO()
    _dumper().dump(data, buffer)
    return buffer.getvalue().encode("utf-8")


class _Unsupported(Exception):
    """A value the direct writer leaves to ruamel's emitter."""


_STR_TAG = "tag:yaml.org,2002:str"
_MAX_SCALAR = 1024  # far below the line width, so ruamel never folds what we write


@functools.cache
def _style_oracle():
    """ruamel's emitter (for ``analyze_scalar``) and resolver, from one throwaway dump."""
    from ruamel.yaml.nodes import ScalarNode

    yaml = _dumper()
    yaml.dump({}, io.StringIO())
    return yaml.emitter, yaml.resolver, ScalarNode


@functools.lru_cache(maxsize=1 << 16)
def _string(text: str) -> str:
    """``text`` as ruamel would write it in block context: plain, 'single' or "double" quoted."""
    if not text or len(text) > _MAX_SCALAR or not text.isprintable():
        raise _Unsupported
    emitter, resolver, node = _style_oracle()
    analysis = emitter.analyze_scalar(text)
    if resolver.resolve(node, text, (True, False)) == _STR_TAG and analysis.allow_block_plain:
        return text
    if "'" in text and analysis.allow_double_quoted:
        if '"' in text or "\\" in text:
            raise _Unsupported
        return f'"{text}"'
    if analysis.allow_single_quoted:
        return f"'{text}'"
    raise _Unsupported


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if type(value) is int:
        return str(value)
    if type(value) is float:
        if value != value:
            return ".nan"
        if value in (math.inf, -math.inf):
            return ".inf" if value > 0 else "-.inf"
        return repr(value).lower()
    if type(value) is str:
        return _string(value)
    raise _Unsupported


class _FastWriter:
    """Block-style YAML exactly as mreg's ruamel dumper lays it out: two-space mappings,
    sequences not indented under their key, empty collections as ``{}``/``[]``."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def document(self, data: Any) -> str:
        if type(data) is not dict or not data:
            raise _Unsupported
        self.mapping(data, 0, "")
        return "\n".join(self.lines) + "\n"

    def mapping(self, data: dict, indent: int, first: str) -> None:
        """Write ``data``'s keys at ``indent``; the first line starts with ``first`` (a ``- ``)."""
        pad = " " * indent
        for number, (key, value) in enumerate(data.items()):
            if type(key) is not str or len(key) > 100:
                raise _Unsupported
            lead = f"{first if number == 0 else pad}{_string(key)}:"
            self.value(lead, value, indent)

    def value(self, lead: str, value: Any, indent: int) -> None:
        kind = type(value)
        if kind is dict:
            if not value:
                self.lines.append(f"{lead} {{}}")
                return
            self.lines.append(lead)
            self.mapping(value, indent + 2, " " * (indent + 2))
        elif kind is list:
            if not value:
                self.lines.append(f"{lead} []")
                return
            self.lines.append(lead)
            self.sequence(value, indent, " " * indent)
        else:
            self.lines.append(f"{lead} {_scalar(value)}")

    def sequence(self, data: list, indent: int, first: str) -> None:
        """Items at ``indent``, each ``- item``; the first line starts with ``first``."""
        pad = " " * indent
        for number, item in enumerate(data):
            lead = f"{first if number == 0 else pad}-"
            kind = type(item)
            if kind is dict and item:
                self.mapping(item, indent + 2, f"{lead} ")
            elif kind is list and item:
                self.sequence(item, indent + 2, f"{lead} ")
            elif kind is dict or kind is list:
                self.lines.append(f"{lead} {'{}' if kind is dict else '[]'}")
            else:
                self.lines.append(f"{lead} {_scalar(item)}")


def _dates_as_text(value: Any) -> Any:
    """An unquoted ``2025-10-31`` is a YAML timestamp; every field of ours wants the text."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _dates_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(item) for item in value]
    return value


class Limits(NamedTuple):
    """The most a document may ask of the parser (docs/security.md)."""

    yaml_bytes: int = 1 << 20
    json_bytes: int = 16 << 20
    depth: int = 64
    nodes: int = 1_000_000
    pure_retry_bytes: int = 64 << 10  # the slow pure-Python parser is retried only on small documents


LIMITS = Limits()
TREE_LIMITS = LIMITS._replace(json_bytes=256 << 20, nodes=8_000_000)  # a listing of ~1.5M files


class _Rejected(Exception):
    """A document over a limit or unparseable; the message says which."""


@functools.cache
def _loaders() -> tuple[YAML, ...]:
    """Safe loading, first through ruamel's C parser where installed (about 4x faster on a
    cold read of a large registry; same YAML 1.2 resolver), then the pure-Python parser,
    which also accepts the YAML 1.2 that libyaml's scanner refuses (``{url: s3://b/k}``)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.resolver import VersionedResolver

    class Yaml12Resolver(VersionedResolver):
        """YAML 1.2's rules for every document, named once: the stock resolver asks for the
        document's version at every scalar, and under the C parser each ask raises and
        catches an AttributeError (a fifth of the loading time of a cold read)."""

        @property
        def processing_version(self) -> tuple[int, int]:
            return (1, 2)

    loaders = (YAML(typ="safe"), YAML(typ="safe", pure=True))
    for loader in loaders:
        loader.Resolver = Yaml12Resolver
    return loaders


def _check_events(loader: YAML, data: bytes | str) -> None:
    """Walk the parser's events (no nodes built) and refuse a document that nests deeper
    than ``LIMITS.depth`` or expands, aliases followed, to more than ``LIMITS.nodes``."""
    from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent

    anchored: dict[str, int] = {}  # anchor -> nodes its value expands to
    open_collections: list[tuple[str | None, int]] = []  # (anchor, nodes before it started)
    nodes = 0
    for event in loader.parse(data):
        if isinstance(event, AliasEvent):
            nodes += anchored.get(event.anchor, 1)
        elif isinstance(event, CollectionStartEvent):
            nodes += 1
            open_collections.append((event.anchor, nodes))
            if len(open_collections) > LIMITS.depth:
                raise _Rejected(f"nested deeper than {LIMITS.depth} levels")
        elif isinstance(event, CollectionEndEvent):
            anchor, started = open_collections.pop()
            if anchor is not None:
                anchored[anchor] = nodes - started + 1
        elif isinstance(event, NodeEvent):  # a scalar
            nodes += 1
            if event.anchor is not None:
                anchored[event.anchor] = 1
        if nodes > LIMITS.nodes:
            raise _Rejected(f"expands to more than {LIMITS.nodes} nodes (aliases included)")


def _load_with(loader: YAML, data: bytes | str) -> Any:
    from ruamel.yaml.error import YAMLError

    try:
        _check_events(loader, data)
        return loader.load(data)
    except YAMLError as exc:
        raise _Rejected(f"not valid YAML ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # e.g. an integer of 5,000 digits
        raise _Rejected(f"not valid YAML ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None


def _check_size(data: bytes | str, limit: int, what: str) -> None:
    if len(data) > limit:
        raise _Rejected(f"{what} is {len(data)} bytes, over the limit of {limit}")


def load_yaml(data: bytes | str, source: str) -> Any:
    """Parse YAML (or JSON) safely and within ``LIMITS``; any refusal names the source."""
    try:
        if data[:1] in (b"{", b"[", "{", "["):  # JSON, most likely: the fast, larger-limit path
            try:
                return load_json(data, source)
            except InvalidManifest:
                pass  # YAML flow style, or not valid at all: the YAML parser decides
        _check_size(data, LIMITS.yaml_bytes, "a YAML document")
        c_loader, pure_loader = _loaders()
        try:
            return _dates_as_text(_load_with(c_loader, data))
        except _Rejected:
            if len(data) > LIMITS.pure_retry_bytes or c_loader is pure_loader:
                raise
            return _dates_as_text(_load_with(pure_loader, data))
    except _Rejected as exc:
        raise InvalidManifest(source, str(exc)) from None


def read_input(path: Path, what: str) -> bytes:
    """The bytes of a file a user named (``-f``, ``--evidence``, ``--canary``), read no
    further than the largest document ``load_yaml`` accepts: ``/dev/zero`` or a pipe that
    never ends is refused, not read forever."""
    limit = max(LIMITS.yaml_bytes, LIMITS.json_bytes)
    try:
        with open(path, "rb") as stream:
            data = stream.read(limit + 1)
    except FileNotFoundError:
        raise PathNotFound(str(path)) from None
    except IsADirectoryError:
        raise UsageError(f"{what} {path} is a directory, not a file") from None
    except OSError as error:
        raise SystemRefused(error, "reading", str(path)) from None
    if len(data) > limit:
        raise InvalidManifest(str(path), f"{what} is larger than the limit of {limit} bytes")
    return data


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"duplicate key {duplicate!r}")
    return mapping


def _check_shape(value: Any, limits: Limits) -> None:
    """Depth and node count of parsed JSON, without recursion."""
    stack, nodes = [(value, 1)], 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if isinstance(item, (dict, list)):
            if depth > limits.depth:
                raise _Rejected(f"nested deeper than {limits.depth} levels")
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
        if nodes > limits.nodes:
            raise _Rejected(f"has more than {limits.nodes} nodes")


def load_json(data: bytes | str, source: str, limits: Limits = LIMITS) -> Any:
    """Parse JSON within ``limits`` (duplicate keys refused, as YAML refuses them)."""
    try:
        _check_size(data, limits.json_bytes, "a JSON document")
        try:
            value = json.loads(data, object_pairs_hook=_refuse_duplicates)
        except RecursionError:
            raise _Rejected(f"nested deeper than {limits.depth} levels") from None
        except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise _Rejected(f"not valid JSON ({str(exc).splitlines()[0]})") from None
        _check_shape(value, limits)
        return value
    except _Rejected as exc:
        raise InvalidManifest(source, str(exc)) from None


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


def digest_bytes(data: bytes) -> str:
    """The ``sha256:<hex>`` name of ``data``, as blobs, manifests and events are named."""
    return f"sha256:{hashlib.sha256(data).hexdigest()}"
