"""Compile a query to SQLite: a WHERE clause with bound parameters over the find tables.

The tables (the index holds them; ``create_tables`` and ``insert_records`` are the
reference for their content):

- ``find_versions(rowid, model, version, state, framework, task, serving_mode, registered)``
- ``find_values(version_rowid, field, name, value)``: ``field`` is ``metrics``, ``params``,
  ``tags`` or ``dataset`` (whose ``name`` is also its ``value``).

Every literal is a bound parameter, never text in the SQL. The meaning is the one
``evaluate`` defines; ``prepare(conn)`` registers the two helpers the SQL calls (the
``mreg_like`` function, so LIKE has the same case rules as Python, and the ``mreg_natural``
collation for versions).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from mreg.names import natural_key
from mreg.query.evaluate import like, normalize
from mreg.query.syntax import COLUMNS, MAPPINGS, MULTI, And, Compare, Field, In, Like, Node, Not, Or, OrderKey

SCHEMA = """
CREATE TABLE IF NOT EXISTS find_versions (
    rowid INTEGER PRIMARY KEY, model TEXT NOT NULL, version TEXT NOT NULL, state TEXT,
    framework TEXT, task TEXT, serving_mode TEXT, registered TEXT, UNIQUE (model, version));
CREATE TABLE IF NOT EXISTS find_values (
    version_rowid INTEGER NOT NULL REFERENCES find_versions(rowid), field TEXT NOT NULL,
    name TEXT NOT NULL, value, PRIMARY KEY (version_rowid, field, name)) WITHOUT ROWID;
"""
SQL_OPERATORS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def prepare(conn: sqlite3.Connection) -> None:
    conn.create_function("mreg_like", 3, like, deterministic=True)
    conn.create_collation("mreg_natural", _natural_compare)


def _natural_compare(left: str, right: str) -> int:
    a, b = natural_key(left), natural_key(right)
    return (a > b) - (a < b)


def create_tables(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def insert_records(conn: sqlite3.Connection, records: Iterable[dict]) -> None:
    for record in records:
        cursor = conn.execute(
            "INSERT INTO find_versions (model, version, state, framework, task, serving_mode, registered)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", [record.get(column) for column in COLUMNS])
        rowid = cursor.lastrowid
        rows = [(rowid, "dataset", name, name) for name in record.get("datasets") or []]
        for kind in MAPPINGS:
            for name, value in (record.get(kind) or {}).items():
                value = normalize(value)
                if value is not None:
                    rows.append((rowid, kind, name, value))
        conn.executemany("INSERT INTO find_values VALUES (?, ?, ?, ?)", rows)


class _Compiler:
    def __init__(self) -> None:
        self.params: list = []

    def bind(self, value) -> str:
        self.params.append(value)
        return "?"

    def where(self, node: Node) -> str:
        if isinstance(node, (And, Or)):
            joiner = " AND " if isinstance(node, And) else " OR "
            return "(" + joiner.join(self.where(operand) for operand in node.operands) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.where(node.operand)})"
        if isinstance(node, In):
            return "(" + " OR ".join(self.where(Compare(node.field, "=", value)) for value in node.values) + ")"
        return self.exists(node.field, lambda value: self.test(node, value))

    def test(self, node: Compare | Like, value: str) -> str:
        if isinstance(node, Like):
            return f"(typeof({value}) = 'text' AND mreg_like({self.bind(node.pattern)}, {value}, {int(node.ignore_case)}))"
        kinds = "('text')" if isinstance(node.value, str) else "('integer', 'real')"
        return f"(typeof({value}) IN {kinds} AND {value} {SQL_OPERATORS[node.op]} {self.bind(node.value)})"

    def exists(self, field: Field, test) -> str:
        if field.kind in COLUMNS:
            return test(f"r.{field.kind}")
        condition = f"v.version_rowid = r.rowid AND v.field = {self.bind(field.kind)}"
        if field.kind not in MULTI:
            condition += f" AND v.name = {self.bind(field.name)}"
        return f"EXISTS (SELECT 1 FROM find_values AS v WHERE {condition} AND {test('v.value')})"

    def value(self, field: Field) -> str:
        if field.kind in COLUMNS:
            return f"r.{field.kind}"
        return (f"(SELECT v.value FROM find_values AS v WHERE v.version_rowid = r.rowid"
                f" AND v.field = {self.bind(field.kind)} AND v.name = {self.bind(field.name)})")

    def order(self, keys: tuple[OrderKey, ...]) -> str:
        terms = []
        for key in keys:
            terms.append(f"{self.value(key.field)} IS NULL")
            terms.append(f"{self.value(key.field)}{' DESC' if key.descending else ''}")
        return ", ".join([*terms, "r.model", "r.version COLLATE mreg_natural", "r.version"])


def compile_where(node: Node) -> tuple[str, list]:
    compiler = _Compiler()
    return compiler.where(node), compiler.params


def compile_select(node: Node | None = None, order: tuple[OrderKey, ...] = (),
                   limit: int | None = None) -> tuple[str, list]:
    """``SELECT model, version`` of the matching versions in order, with its parameters."""
    compiler = _Compiler()
    where = f" WHERE {compiler.where(node)}" if node is not None else ""
    sql = f"SELECT r.model, r.version FROM find_versions AS r{where} ORDER BY {compiler.order(order)}"
    if limit is not None:
        sql += f" LIMIT {compiler.bind(limit)}"
    return sql, compiler.params
