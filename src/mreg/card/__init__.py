"""Model cards generated from registry facts only, as Markdown (with the Hugging Face Hub's
front matter) or as one self-contained HTML page; same registry, same bytes.

``facts`` says what a card may state, ``document`` arranges it into sections once, and
``markdown``/``html`` render that one arrangement.
"""

from __future__ import annotations

from mreg.card.facts import CardFacts

FORMATS = ("md", "html")


def render(facts: CardFacts, format: str = "md") -> str:  # noqa: A002 - the CLI's --format
    """The card in ``format`` (``md`` or ``html``)."""
    if format == "html":
        from mreg.card import html

        return html.render(facts)
    from mreg.card import markdown

    return markdown.render(facts)
