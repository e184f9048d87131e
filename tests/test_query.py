"""The find language: parsing, errors that point at a column, and SQL that means what the
Python reference evaluation means (hypothesis compares them row for row)."""

from __future__ import annotations

import math
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mreg.errors import InvalidQuery
from mreg.query import parse, parse_order, select
from mreg.query import sql as query_sql
from mreg.query.grammar import GRAMMAR
from mreg.query.syntax import And, Compare, Field, In, Like, Not, Or, OrderKey

EXAMPLE = "framework LIKE 'PyTorch%' AND metrics.engagement_rate >= 0.3 AND state IN ('production','canary')"


def test_the_issue_example_parses_to_its_meaning():
    assert parse(EXAMPLE) == And((
        Like(Field("framework"), "PyTorch%", ignore_case=False),
        Compare(Field("metrics", "engagement_rate"), ">=", 0.3),
        In(Field("state"), ("production", "canary")),
    ))


def test_precedence_not_binds_tighter_than_and_tighter_than_or():
    a, b, c = (Compare(Field("model"), "=", name) for name in "abc")
    assert parse("model = 'a' OR model = 'b' AND NOT model = 'c'") == Or((a, And((b, Not(c)))))
    assert parse("(model = 'a' or model = 'b') and model = 'c'") == And((Or((a, b)), c))


def test_keywords_ignore_case_and_names_may_be_quoted():
    assert parse("tags.`owner team` ilike 'ML%'") == Like(Field("tags", "owner team"), "ML%", ignore_case=True)
    assert parse("params.lr NOT IN (1e-3, 0.01)") == Not(In(Field("params", "lr"), (0.001, 0.01)))
    assert parse("model NOT LIKE 'MDL-%'") == Not(Like(Field("model"), "MDL-%", ignore_case=False))
    assert parse("task = 'it''s'") == Compare(Field("task"), "=", "it's")


@pytest.mark.parametrize(("query", "column", "words"), [
    ("metrics.x >= AND state = 'production'", 14, "unexpected 'AND', expected a number or a quoted string"),
    ("stat = 'production'", 1, "did you mean state?"),
    ("metric.ndcg > 0.3", 1, "did you mean metrics.ndcg?"),
    ("state = 'prodution'", 9, "did you mean 'production'?"),
    ("model = 'a' AND", 16, "unexpected end"),
    ("model = 'a')", 12, "unexpected ')'"),
    ("metrics.x = '0.3'", 13, "is a number: drop the quotes"),
    ("model = 3", 9, "is text: quote the value"),
    ("model # 'a'", 7, "unexpected character '#'"),
    ("metrics > 1", 1, "metrics needs a name"),
    ("metrics.x LIKE 'a%'", 11, "LIKE compares text"),
])
def test_errors_point_at_the_column_and_say_what_to_do(query, column, words):
    with pytest.raises(InvalidQuery) as caught:
        parse(query, {"state": ["production", "canary", "candidate"]})
    assert caught.value.column == column
    assert words in caught.value.message
    assert f"at column {column}:" in caught.value.message
    assert "\n" not in caught.value.message


def test_order_by_keys_and_their_errors():
    assert parse_order("metrics.ndcg DESC, model") == (
        OrderKey(Field("metrics", "ndcg"), descending=True), OrderKey(Field("model")))
    with pytest.raises(InvalidQuery, match="cannot order by dataset"):
        parse_order("dataset")
    with pytest.raises(InvalidQuery, match="column 14"):
        parse_order("metrics.ndcg DOWN")


def test_docs_quote_the_grammar_the_parser_uses():
    from conftest import REPO

    assert GRAMMAR.strip() in (REPO / "docs" / "find.md").read_text()


# --- the SQL compiler against the Python reference --------------------------------------

TEXT = st.sampled_from(["", "a", "A", "ab", "a%b", "Ä", "PyTorch 2", "pytorch", "x_y", "v10", "'q\"", "\\"]) | st.text(
    alphabet="aAbB_%\\' é", max_size=4)
NUMBER = st.integers(-3, 3).map(float) | st.floats(allow_nan=False, allow_infinity=False, width=32)
STATES = ["development", "candidate", "canary", "production"]
COLUMN_FIELDS = ["model", "version", "state", "framework", "task", "serving_mode", "registered"]
FIELDS = st.sampled_from(
    [Field(name) for name in COLUMN_FIELDS] + [Field("dataset")]
    + [Field(kind, name) for kind in ("metrics", "params", "tags") for name in ("a", "b")])
PARAM = (st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.integers(-3, 3)
         | st.floats(allow_nan=True, width=32) | TEXT)


def field_literal(field: Field):
    if field.kind == "metrics":
        return NUMBER
    if field.kind == "params":
        return NUMBER | TEXT
    return TEXT


@st.composite
def predicates(draw):
    field = draw(FIELDS)
    shape = draw(st.sampled_from(["compare", "in", "like"] if field.kind != "metrics" else ["compare", "in"]))
    if shape == "like":
        return Like(field, draw(TEXT), draw(st.booleans()))
    if shape == "in":
        return In(field, tuple(draw(st.lists(field_literal(field), min_size=1, max_size=3))))
    return Compare(field, draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="])), draw(field_literal(field)))


QUERIES = st.recursive(
    predicates(),
    lambda inner: st.builds(Not, inner)
    | st.lists(inner, min_size=2, max_size=3).map(lambda items: And(tuple(items)))
    | st.lists(inner, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
    max_leaves=6,
)

RECORD = st.fixed_dictionaries({
    "model": st.sampled_from(["A", "B", "MDL-REC"]),
    "version": st.sampled_from(["v1", "v2", "v10", "v01", "a"]),
    "state": st.sampled_from(STATES),
    "framework": st.none() | TEXT, "task": st.none() | TEXT, "serving_mode": st.none() | TEXT,
    "registered": st.none() | st.sampled_from(["2025-01-01T00:00:00Z", "2025-06-01T12:00:00Z", "2026"]),
    "datasets": st.lists(TEXT, max_size=3, unique=True),
    "metrics": st.dictionaries(st.sampled_from("abc"), st.floats(allow_nan=True, width=32) | NUMBER, max_size=3),
    "params": st.dictionaries(st.sampled_from("abc"), PARAM, max_size=3),
    "tags": st.dictionaries(st.sampled_from("ab"), TEXT, max_size=2),
})
RECORDS = st.lists(RECORD, max_size=8, unique_by=lambda record: (record["model"], record["version"]))
ORDER = st.lists(st.builds(OrderKey, FIELDS.filter(lambda field: field.kind != "dataset"), st.booleans()), max_size=2)


def sql_select(records, node, order=(), limit=None):
    conn = sqlite3.connect(":memory:")
    query_sql.prepare(conn)
    query_sql.create_tables(conn)
    query_sql.insert_records(conn, records)
    sql, params = query_sql.compile_select(node, tuple(order), limit)
    return [tuple(row) for row in conn.execute(sql, params)]


def keys(records):
    return [(record["model"], record["version"]) for record in records]


@settings(max_examples=150, deadline=None)
@given(RECORDS, QUERIES)
def test_sql_selects_the_rows_python_selects(records, node):
    assert sql_select(records, node) == keys(select(records, node))


@settings(max_examples=100, deadline=None)
@given(RECORDS, st.none() | QUERIES, ORDER, st.none() | st.integers(0, 5))
def test_sql_orders_and_limits_as_python_does(records, node, order, limit):
    assert sql_select(records, node, order, limit) == keys(select(records, node, tuple(order), limit))


def unparse(node) -> str:
    """Query text for a node (test-side printer), so parsing is checked against generated trees."""
    def literal(value):
        return repr(value) if isinstance(value, float) else "'" + value.replace("'", "''") + "'"

    def field(f):
        return str(f) if f.name is None else f"{f.kind}.`{f.name}`"

    if isinstance(node, And | Or):
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(unparse(operand) for operand in node.operands) + ")"
    if isinstance(node, Not):
        return f"NOT {unparse(node.operand)}"
    if isinstance(node, Like):
        return f"{field(node.field)} {'ILIKE' if node.ignore_case else 'LIKE'} {literal(node.pattern)}"
    if isinstance(node, In):
        return f"{field(node.field)} IN ({', '.join(map(literal, node.values))})"
    return f"{field(node.field)} {node.op} {literal(node.value)}"


@settings(max_examples=200, deadline=None)
@given(QUERIES.filter(lambda node: "inf" not in unparse(node)))
def test_printed_queries_parse_back_to_the_same_tree(node):
    assert parse(unparse(node)) == node


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab()=<>!'\" ANDORT.metrics,1%", max_size=30))
def test_any_text_parses_or_fails_with_a_column(text):
    try:
        parse(text)
    except InvalidQuery as error:
        assert 1 <= error.column <= len(text) + 1


def test_nan_metrics_count_as_absent():
    records = [{"model": "M", "version": "v1", "state": "production", "metrics": {"x": math.nan}}]
    assert select(records, parse("metrics.x != 1")) == []
    assert sql_select(records, parse("NOT metrics.x = 1")) == [("M", "v1")]
