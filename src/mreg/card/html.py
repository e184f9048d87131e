"""The card as one self-contained HTML page: inline CSS, no script, no font or image from
anywhere, so it opens the same offline, in a mail attachment or in an archive years later."""

from __future__ import annotations

from html import escape
from typing import Any

from mreg.card import document
from mreg.card.document import MISSING, CardDocument, Code, Fields, Table, Text, Verdict
from mreg.card.facts import CardFacts
from mreg.card.markdown import cell

TONES = {"pass": "good", "improvement": "good", "production": "good", "regression": "bad", "fail": "bad",
         "rollback": "bad", "no data": "muted", "deprecated": "muted", "archived": "muted", "development": "muted"}

STYLE = """
:root { --ink: #1d2430; --muted: #5b6576; --rule: #d9dee7; --paper: #ffffff; --desk: #eef1f5;
  --good: #1f7a4a; --good-bg: #e3f4ea; --bad: #a4262c; --bad-bg: #fbe7e8; --info: #1f5fa8; --info-bg: #e5eefa;
  --muted-bg: #eceff3; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--desk); color: var(--ink);
  font: 15px/1.5 system-ui, "Segoe UI", "Helvetica Neue", "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1000px; margin: 32px auto; background: var(--paper); border: 1px solid var(--rule);
  border-radius: 10px; padding: 36px 44px 28px; box-shadow: 0 2px 10px rgba(20, 30, 50, .06); }
header { display: flex; justify-content: space-between; align-items: flex-start; gap: 24px;
  border-bottom: 3px solid var(--ink); padding-bottom: 14px; margin-bottom: 18px; }
h1 { font-size: 28px; margin: 0; letter-spacing: -.01em; }
.subtitle { color: var(--muted); margin: 4px 0 0; }
h2 { font-size: 17px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--rule); }
p { margin: 6px 0 10px; }
.missing { color: var(--muted); font-style: italic; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 6px 0 12px; }
dt { color: var(--muted); font-weight: 600; }
dd { margin: 0; overflow-wrap: break-word; }
dl.summary { grid-template-columns: max-content 1fr max-content 1fr; background: #f7f9fb;
  border: 1px solid var(--rule); border-radius: 8px; padding: 12px 16px; }
table { width: 100%; border-collapse: collapse; margin: 6px 0 14px; font-size: 13.5px; }
th { text-align: left; background: #f1f4f8; color: var(--muted); font-weight: 600; }
th, td { padding: 6px 9px; border-bottom: 1px solid var(--rule); vertical-align: top; overflow-wrap: break-word; }
tbody tr:nth-child(even) td { background: #fafbfc; }
code { font: 12.5px/1.4 "DejaVu Sans Mono", Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.chip { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12.5px; font-weight: 600;
  background: var(--info-bg); color: var(--info); white-space: nowrap; }
.chip.good { background: var(--good-bg); color: var(--good); }
.chip.bad { background: var(--bad-bg); color: var(--bad); }
.chip.muted { background: var(--muted-bg); color: var(--muted); }
header .chip { font-size: 15px; padding: 4px 14px; margin-top: 6px; }
footer { margin-top: 30px; padding-top: 14px; border-top: 1px solid var(--rule); color: var(--muted); font-size: 13px; }
.signoff { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 28px; margin-top: 26px; }
.signoff div { border-top: 1px solid var(--ink); padding-top: 4px; }
@media print { body { background: none; } main { box-shadow: none; border: 0; margin: 0; max-width: none; } }
"""


def _value(value: Any) -> str:
    if value is None or value == "":
        return f'<span class="missing">{MISSING}</span>'
    if isinstance(value, list):
        return " ".join(_value(item) for item in value)
    if isinstance(value, Verdict):
        tone = TONES.get(value.lower())
        return f'<span class="{f"chip {tone}" if tone else "chip"}">{escape(value)}</span>'
    if isinstance(value, Code):
        return f"<code>{escape(value)}</code>"
    return escape(cell(value))


def _fields(fields: Fields, css: str = "") -> str:
    items = "".join(f"<dt>{escape(key)}</dt><dd>{_value(value)}</dd>" for key, value in fields.items)
    attribute = f' class="{css}"' if css else ""
    return f"<dl{attribute}>{items}</dl>"


def _block(block: Text | Fields | Table) -> str:
    if isinstance(block, Text):
        return f'<p class="missing">{escape(block.text)}</p>' if block.text == MISSING else f"<p>{escape(block.text)}</p>"
    if isinstance(block, Fields):
        return _fields(block)
    head = "".join(f"<th>{escape(column)}</th>" for column in block.columns)
    body = "".join("<tr>" + "".join(f"<td>{_value(value)}</td>" for value in row) + "</tr>" for row in block.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(facts: CardFacts) -> str:
    card: CardDocument = document.build(facts)
    status = _value(Verdict(facts.status.capitalize()))
    sections = "\n".join(
        f"<section><h2>{escape(section.title)}</h2>{''.join(_block(block) for block in section.blocks)}</section>"
        for section in card.sections
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="mreg">
<title>{escape(card.title)}: {escape(facts.ref)}</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<header><div><h1>{escape(card.title)}</h1><p class="subtitle">{escape(card.subtitle)}</p></div>{status}</header>
{_fields(card.summary, "summary")}
{sections}
<footer>
<p>Generated by mreg from the registry's records of {escape(facts.ref)} only; a fact the registry does not hold is shown as not recorded.
Manifest <code>{escape(facts.manifest_digest)}</code>.</p>
<div class="signoff"><div>Reviewed by</div><div>Role</div><div>Date</div></div>
</footer>
</main>
</body>
</html>
"""
