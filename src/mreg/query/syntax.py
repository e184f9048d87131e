"""The parsed form of a ``find`` query: fields, comparisons and boolean combinations.

Both the Python evaluator and the SQL compiler walk these nodes, so they are plain frozen
dataclasses without behaviour of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

COLUMNS = ("model", "version", "state", "framework", "task", "serving_mode", "registered")
MAPPINGS = ("metrics", "params", "tags")
MULTI = ("dataset",)  # one version has several datasets: a comparison holds if it holds for one

Value = str | float


@dataclass(frozen=True)
class Field:
    """``kind`` is a column name, ``dataset``, or a mapping (``metrics``) with its ``name``."""

    kind: str
    name: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}.{self.name}" if self.name is not None else self.kind


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str  # = != < <= > >=
    value: Value


@dataclass(frozen=True)
class In:
    field: Field
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Like:
    field: Field
    pattern: str
    ignore_case: bool


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


Node = Compare | In | Like | Not | And | Or


@dataclass(frozen=True)
class OrderKey:
    field: Field
    descending: bool = False


def fields_of(node: Node | None) -> list[Field]:
    """The fields a query mentions, in order of appearance, each once."""
    found: list[Field] = []

    def walk(item) -> None:
        if isinstance(item, (And, Or)):
            for operand in item.operands:
                walk(operand)
        elif isinstance(item, Not):
            walk(item.operand)
        elif item is not None and item.field not in found:
            found.append(item.field)

    walk(node)
    return found
