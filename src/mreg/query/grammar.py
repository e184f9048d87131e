"""The ``find`` grammar (Lark, LALR) and the parser that turns a query into ``syntax`` nodes.

The grammar text below is the reference: docs/find.md quotes it and a test keeps the two
identical. Lark reports the column of a syntax error; we translate its terminal names into
words and check fields and literal types here, so every error points at a column.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from functools import cache

from mreg.errors import InvalidQuery
from mreg.query.syntax import COLUMNS, MAPPINGS, MULTI, And, Compare, Field, In, Like, Node, Not, Or, OrderKey

GRAMMAR = r"""
?start: disjunction
?disjunction: conjunction (_OR conjunction)*
?conjunction: negation (_AND negation)*
?negation: _NOT negation                            -> negated
         | "(" disjunction ")"
         | predicate
predicate: FIELD COMPARATOR literal                 -> compare
         | FIELD _IN "(" literal ("," literal)* ")" -> member
         | FIELD _NOT _IN "(" literal ("," literal)* ")" -> not_member
         | FIELD LIKE STRING                        -> like
         | FIELD _NOT LIKE STRING                   -> not_like
literal: STRING | NUMBER

order: order_key ("," order_key)*
order_key: FIELD DIRECTION?

FIELD: /[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z0-9_][A-Za-z0-9_.\-]*|`[^`]+`))?/
COMPARATOR: "!=" | "<=" | ">=" | "=" | "<" | ">"
LIKE: "LIKE"i | "ILIKE"i
DIRECTION: "ASC"i | "DESC"i
STRING: /'([^']|'')*'/ | /"([^"]|"")*"/
NUMBER: /[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/
_OR: "OR"i
_AND: "AND"i
_NOT: "NOT"i
_IN: "IN"i
%ignore /\s+/
"""

FIELDS = COLUMNS + MULTI + tuple(f"{kind}.<name>" for kind in MAPPINGS)
WORDS = {
    "FIELD": "a field", "COMPARATOR": "an operator", "LIKE": "LIKE", "STRING": "a quoted string",
    "NUMBER": "a number", "LPAR": "'('", "RPAR": "')'", "COMMA": "','", "_OR": "OR", "_AND": "AND",
    "_NOT": "NOT", "_IN": "IN", "DIRECTION": "ASC or DESC", "$END": "the end",
}


@cache
def _parser(start: str):
    from lark import Lark

    return Lark(GRAMMAR, start=start, parser="lalr", propagate_positions=False, maybe_placeholders=False)


def parse(text: str, known_values: Mapping[str, Collection[str]] | None = None) -> Node:
    """Parse a filter; ``known_values`` (e.g. the lifecycle states) turns a typo into an error."""
    tree = _run(text, "start")
    return _Build(text, known_values or {}).node(tree)


def parse_order(text: str) -> tuple[OrderKey, ...]:
    """``metrics.ndcg DESC, model``: fields to sort by, each ascending unless DESC."""
    tree = _run(text, "order")
    build = _Build(text, {})
    keys = []
    for key in tree.children:
        token, *direction = key.children
        field = build.field(token)
        if field.kind in MULTI:
            raise InvalidQuery(text, token.column, f"cannot order by {field.kind}: a version has several")
        keys.append(OrderKey(field, bool(direction) and direction[0].upper() == "DESC"))
    return tuple(keys)


def _run(text: str, start: str):
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    try:
        return _parser(start).parse(text)
    except UnexpectedToken as exc:
        if exc.token.type == "$END":
            raise InvalidQuery(text, len(text) + 1, f"unexpected end, expected {_expected(exc.expected)}") from None
        raise InvalidQuery(text, exc.column, f"unexpected {str(exc.token)!r}, expected {_expected(exc.expected)}") from None
    except UnexpectedCharacters as exc:
        raise InvalidQuery(text, exc.column, f"unexpected character {text[exc.pos_in_stream]!r}") from None
    except UnexpectedEOF as exc:
        raise InvalidQuery(text, len(text) + 1, f"unexpected end, expected {_expected(exc.expected)}") from None


def _expected(names) -> str:
    words = sorted({WORDS.get(name, name) for name in names})
    return " or ".join(words) if len(words) < 4 else ", ".join(words[:-1]) + " or " + words[-1]


class _Build:
    """Tree to nodes, checking what the grammar cannot: known fields, literal types, values."""

    def __init__(self, text: str, known_values: Mapping[str, Collection[str]]) -> None:
        self.text, self.known_values = text, known_values

    def fail(self, token, problem: str):
        raise InvalidQuery(self.text, token.column, problem)

    def node(self, tree) -> Node:
        kind = tree.data
        if kind in ("disjunction", "conjunction"):
            operands = tuple(self.node(child) for child in tree.children)
            return Or(operands) if kind == "disjunction" else And(operands)
        if kind == "negated":
            return Not(self.node(tree.children[0]))
        token, *rest = tree.children
        field = self.field(token)
        if kind in ("like", "not_like"):
            like, pattern = rest
            if field.kind == "metrics":
                self.fail(like, f"{field} is a number; LIKE compares text")
            node = Like(field, _unquote(pattern), like.upper() == "ILIKE")
            return Not(node) if kind == "not_like" else node
        if kind == "compare":
            operator, literal = rest
            return Compare(field, str(operator), self.literal(field, literal))
        values = tuple(self.literal(field, literal) for literal in rest)
        return In(field, values) if kind == "member" else Not(In(field, values))

    def field(self, token) -> Field:
        kind, dot, name = str(token).partition(".")
        if kind in MAPPINGS and name:
            return Field(kind, name[1:-1] if name.startswith("`") else name)
        if kind in COLUMNS + MULTI and not dot:
            return Field(kind)
        if kind in MAPPINGS:
            self.fail(token, f"{kind} needs a name: {kind}.<name>")
        guess = difflib.get_close_matches(str(token) if not dot else kind + ".", [*COLUMNS, *MULTI, *(m + "." for m in MAPPINGS)], n=1)
        hint = f"did you mean {guess[0] + (name if dot else '')}? " if guess else ""
        self.fail(token, f"unknown field {str(token)!r}; {hint}fields are {', '.join(FIELDS)}")

    def literal(self, field: Field, tree):
        token = tree.children[0]
        if token.type == "NUMBER":
            if field.kind not in ("metrics", "params"):
                self.fail(token, f"{field} is text: quote the value ('{token}')")
            return float(token)
        value = _unquote(token)
        if field.kind == "metrics":
            self.fail(token, f"{field} is a number: drop the quotes")
        known = self.known_values.get(field.kind)
        if known is not None and value not in known:
            guess = difflib.get_close_matches(value, sorted(known), n=1)
            hint = f"did you mean {guess[0]!r}? " if guess else ""
            self.fail(token, f"no {field.kind} {value!r}; {hint}known: {', '.join(sorted(known))}")
        return value


def _unquote(token) -> str:
    quote = token[0]
    return token[1:-1].replace(quote * 2, quote)
