"""Lineage commands: lineage (draw the graph around a node) and impact (what a change reaches).

networkx is loaded by the facade inside these commands only, so ``mreg --help`` never loads it.
"""

from __future__ import annotations

import sys
from typing import Optional

import typer

from mreg.cli import output, session
from mreg.cli.application import app
from mreg.cli.core import JSON
from mreg.cli.session import command
from mreg.errors import UsageError

FORMATS = ("tree", "mermaid", "dot", "json")
NODE_HELP = "MODEL, MODEL@VERSION, dataset:NAME, service:NAME, sha256:DIGEST or any node id."


@command(app)
def lineage(
    target: Optional[str] = typer.Argument(None, metavar="MODEL[@VERSION]", help=f"What to draw: {NODE_HELP}"),
    upstream: bool = typer.Option(False, "--upstream", help="Only what it was built from."),
    downstream: bool = typer.Option(False, "--downstream", help="Only what is built from it or uses it."),
    both: bool = typer.Option(False, "--both", help="Upstream and downstream (the default)."),
    depth: Optional[int] = typer.Option(None, "--depth", metavar="N", min=0, help="Follow at most N edges from the focus."),
    format: str = typer.Option("tree", "--format", metavar="tree|mermaid|dot|json", help="tree, mermaid, dot or json (networkx node-link)."),
    every: bool = typer.Option(False, "--all", help="The whole registry's graph instead of one node's."),
    as_json: bool = JSON,
) -> None:
    """Draw lineage: datasets, runs and services a version came from, and what uses it.

    Node ids: model:ID, version:ID@VERSION, dataset:NAME[@SNAPSHOT], service:NAME,
    artifact:sha256:HEX, run:PATHSPEC. Edges point downstream: consumes (service -> model),
    contains (model -> version -> artifact, dataset -> snapshot), trained_on (dataset -> version),
    derived_from (parent -> version), produced_by (run -> version), serves (version -> service).
    A walk stops at services it did not start from. See docs/lineage.md.
    Example: mreg lineage MDL-REC@v12.4 --upstream --format mermaid ; mreg lineage --all --format dot | dot -Tsvg
    """
    chosen = [name for name, flag in (("upstream", upstream), ("downstream", downstream), ("both", both)) if flag]
    if len(chosen) > 1:
        raise UsageError("choose one of --upstream, --downstream, --both")
    if as_json:
        format = "json"
    if format not in FORMATS:
        raise UsageError(f"unknown format {format!r} ({', '.join(FORMATS)})")
    if every == (target is not None):
        raise UsageError("name a MODEL[@VERSION] or node, or pass --all")
    view = session.registry().lineage(target, chosen[0] if chosen else "both", depth)
    from mreg.lineage import render

    if format == "json":
        output.emit_json(render.to_json(view))
    elif format == "mermaid":
        sys.stdout.write(render.to_mermaid(view))
    elif format == "dot":
        sys.stdout.write(render.to_dot(view))
    else:
        _print_rich(render.to_tree(view))


def _print_rich(renderable) -> None:
    """Styled on a terminal; plain and never wrapped when piped."""
    from rich.console import Console

    styled = output.is_rich()
    Console(file=sys.stdout, highlight=False, no_color=not styled, width=None if styled else 100_000,
            color_system="auto" if styled else None).print(renderable)


@command(app)
def impact(
    node: str = typer.Argument(..., metavar="NODE", help=NODE_HELP),
    as_json: bool = JSON,
) -> None:
    """What a change reaches: every model version downstream of NODE, with its state now, Production first.

    For sha256:DIGEST, the versions containing an artifact with that digest (or trained on a
    dataset snapshot with it) and everything derived from them. Example: mreg impact 'dataset:Member interaction history'
    """
    view = session.registry().impact(node)
    if as_json:
        output.emit_json(view.to_json_data())
        return
    output.line(f"{node}: {len(view.versions)} model versions downstream")
    output.table(["Model", "Version", "State", "Hops", "Via"],
                 [[row.model, row.version, row.state.capitalize(), row.distance, row.via] for row in view.versions])
