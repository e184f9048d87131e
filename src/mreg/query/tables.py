"""The find tables in the derived index, kept model by model.

Each model's rows (``sql.insert_records``) are stored with the signature of the files they
came from (its spec, manifests and newest event); a query first brings the tables up to
date, rebuilding only the models whose signature changed, then runs as SQL. Where the index
cannot be written (a read-only disk), the same tables are built in memory for the query.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping

from mreg.query.sql import compile_select, create_tables, insert_records, prepare
from mreg.query.syntax import Node, OrderKey

SIGNATURES = "CREATE TABLE IF NOT EXISTS find_models (model TEXT PRIMARY KEY, signature TEXT NOT NULL)"

Records = Callable[[], list[dict]]


def refresh(conn: sqlite3.Connection, models: Mapping[str, tuple[str, Records]]) -> None:
    """Make the tables hold exactly ``models`` (id -> (signature, its records)), in one transaction."""
    create_tables(conn)
    conn.execute(SIGNATURES)
    conn.execute("BEGIN IMMEDIATE")
    try:
        stored = dict(conn.execute("SELECT model, signature FROM find_models"))
        for model in stored.keys() - models.keys():
            _drop(conn, model)
        for model, (signature, records) in models.items():
            if stored.get(model) != signature:
                _drop(conn, model)
                insert_records(conn, records())
                conn.execute("INSERT INTO find_models VALUES (?, ?)", (model, signature))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _drop(conn: sqlite3.Connection, model: str) -> None:
    conn.execute("DELETE FROM find_values WHERE version_rowid IN (SELECT rowid FROM find_versions WHERE model = ?)", (model,))
    conn.execute("DELETE FROM find_versions WHERE model = ?", (model,))
    conn.execute("DELETE FROM find_models WHERE model = ?", (model,))


def stale_models(conn: sqlite3.Connection, models: Mapping[str, tuple[str, Records]]) -> list[str]:
    """Models whose rows claim the current signature but differ from rows made afresh from
    the files (``verify`` asks; they can differ only if the index file was edited)."""
    try:
        stored = dict(conn.execute("SELECT model, signature FROM find_models"))
    except sqlite3.Error:
        return []
    current = {model: entry for model, entry in models.items() if stored.get(model) == entry[0]}
    fresh = sqlite3.connect(":memory:", isolation_level=None)
    refresh(fresh, current)
    return [model for model in sorted(current) if _rows_of(conn, model) != _rows_of(fresh, model)]


def _rows_of(conn: sqlite3.Connection, model: str) -> tuple[list, list]:
    versions = conn.execute("SELECT model, version, state, framework, task, serving_mode, registered"
                            " FROM find_versions WHERE model = ? ORDER BY version", (model,)).fetchall()
    values = conn.execute("SELECT r.version, v.field, v.name, v.value FROM find_values AS v"
                          " JOIN find_versions AS r ON v.version_rowid = r.rowid WHERE r.model = ?"
                          " ORDER BY 1, 2, 3", (model,)).fetchall()
    return versions, values


def select(conn: sqlite3.Connection | None, models: Mapping[str, tuple[str, Records]], node: Node | None,
           order: tuple[OrderKey, ...], limit: int | None) -> list[tuple[str, str]]:
    """(model, version) of the versions ``node`` matches, in ``order``, at most ``limit``."""
    if conn is not None:
        try:
            refresh(conn, models)
        except sqlite3.Error:
            conn = None
    if conn is None:
        conn = sqlite3.connect(":memory:", isolation_level=None)
        refresh(conn, models)
    prepare(conn)
    sql, parameters = compile_select(node, order, limit)
    return conn.execute(sql, parameters).fetchall()
