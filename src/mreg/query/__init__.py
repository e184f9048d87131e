"""``mreg find``'s filter language: parse once, then evaluate in Python or compile to SQL.

See docs/find.md for the grammar and the rules (``evaluate`` is their reference).
"""

from mreg.query.evaluate import matches, select
from mreg.query.grammar import parse, parse_order
from mreg.query.syntax import Field, Node, OrderKey

__all__ = ["Field", "Node", "OrderKey", "matches", "parse", "parse_order", "select"]
