"""The card as Markdown with a YAML front matter block (the Hub's README.md model-card form)."""

from __future__ import annotations

from typing import Any

from mreg.card import document
from mreg.card.document import MISSING, CardDocument, Code, Fields, Table, Text
from mreg.card.facts import CardFacts
from mreg.card.metadata import front_matter
from mreg.codec import dump_yaml


def cell(value: Any) -> str:
    """A table cell or field value as card text: numbers without float noise, absent as a dash."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(cell(item) for item in value)
    return str(value)


def _inline(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_inline(item) for item in value)
    text = cell(value).replace("|", "\\|").replace("\n", " ")
    return f"`{text}`" if isinstance(value, Code) else text


def _block(block: Text | Fields | Table) -> list[str]:
    if isinstance(block, Text):
        return [f"_{block.text}_" if block.text == MISSING else block.text, ""]
    if isinstance(block, Fields):
        return [f"- **{key}:** {_inline(value) if value not in (None, '') else '_' + MISSING + '_'}"
                for key, value in block.items] + [""]
    lines = ["| " + " | ".join(block.columns) + " |", "|" + "|".join("---" for _ in block.columns) + "|"]
    return lines + ["| " + " | ".join(_inline(value) for value in row) + " |" for row in block.rows] + [""]


def render(facts: CardFacts) -> str:
    card: CardDocument = document.build(facts)
    lines = ["---", dump_yaml(front_matter(facts)).decode().rstrip("\n"), "---", "",
             f"# {card.title}", "", card.subtitle, ""]
    lines += _block(Table(["Field", "Value"], [[key, MISSING if value in (None, "") else value] for key, value in card.summary.items]))
    for section in card.sections:
        lines += [f"## {section.title}", ""]
        for block in section.blocks:
            lines += _block(block)
    return "\n".join(lines).rstrip("\n") + "\n"
