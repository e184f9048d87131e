"""The reference meaning of a query: evaluation over plain per-version records in Python.

A record is a dict (see ``records.version_record``). The rules, which the SQL compiler
must reproduce exactly (a property test compares the two):

- a comparison with an absent value is false (so ``NOT`` of it is true);
- a number literal compares only with numbers, a quoted literal only with text;
- ``dataset`` holds several names: a comparison holds if it holds for one of them;
- booleans are the text ``'true'``/``'false'``; NaN counts as absent;
- ``LIKE`` patterns: ``%`` any run, ``_`` one character, ``\\`` escapes; ``ILIKE`` ignores case;
- ordering puts absent values last in either direction; ties go by model, then version
  in natural order (v9 before v10).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from mreg.names import natural_key
from mreg.query.syntax import COLUMNS, MULTI, And, Compare, Field, In, Like, Node, Not, Or, OrderKey

OPERATORS = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def normalize(value: Any) -> str | int | float | None:
    """A stored value as the query sees it: bools as text, NaN, None and lists as absent,
    integers beyond 64 bits as floats (SQLite's limit)."""
    if not isinstance(value, (str, int, float)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return float(value)
    return value


def values_of(record: dict, field: Field) -> list:
    """Every value ``field`` has in ``record``: none, one, or (for ``dataset``) several."""
    if field.kind in COLUMNS:
        found = [record.get(field.kind)]
    elif field.kind in MULTI:
        found = list(record.get("datasets") or [])
    else:
        found = [(record.get(field.kind) or {}).get(field.name)]
    return [value for value in map(normalize, found) if value is not None]


def _same_kind(actual: Any, literal: Any) -> bool:
    return isinstance(actual, str) == isinstance(literal, str)


@lru_cache(maxsize=256)
def like_pattern(pattern: str, ignore_case: bool) -> re.Pattern:
    parts, escaped = [], False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
    if escaped:
        parts.append(re.escape("\\"))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def like(pattern: str, text: str, ignore_case: bool) -> bool:
    return like_pattern(pattern, bool(ignore_case)).fullmatch(text) is not None


def matches(node: Node, record: dict) -> bool:
    if isinstance(node, And):
        return all(matches(operand, record) for operand in node.operands)
    if isinstance(node, Or):
        return any(matches(operand, record) for operand in node.operands)
    if isinstance(node, Not):
        return not matches(node.operand, record)
    values = values_of(record, node.field)
    if isinstance(node, Like):
        return any(isinstance(value, str) and like(node.pattern, value, node.ignore_case) for value in values)
    if isinstance(node, In):
        return any(_same_kind(value, literal) and value == literal for value in values for literal in node.values)
    assert isinstance(node, Compare)
    compare = OPERATORS[node.op]
    return any(_same_kind(value, node.value) and compare(value, node.value) for value in values)


def _order_value(record: dict, field: Field):
    found = values_of(record, field)
    return None if not found else (1, found[0]) if isinstance(found[0], str) else (0, found[0])


def select(records: Iterable[dict], node: Node | None = None, order: tuple[OrderKey, ...] = (),
           limit: int | None = None) -> list[dict]:
    """The records ``node`` matches, sorted by ``order`` (then model, version), at most ``limit``."""
    chosen = [record for record in records if node is None or matches(node, record)]
    chosen.sort(key=lambda record: (record["model"], natural_key(record["version"]), record["version"]))
    for key in reversed(order):
        present = [record for record in chosen if _order_value(record, key.field) is not None]
        absent = [record for record in chosen if _order_value(record, key.field) is None]
        present.sort(key=lambda record: _order_value(record, key.field), reverse=key.descending)
        chosen = present + absent
    return chosen if limit is None else chosen[:limit]
