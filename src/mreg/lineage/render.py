"""Renderers for a ``LineageView``: a rich tree, a Mermaid flowchart, Graphviz DOT, JSON node-link.

Each returns text (or a rich renderable) and never prints. Nodes and edges come out in
the sorted order of the view's graph, so the same registry always draws the same bytes.
Labels are escaped for each format: Mermaid and DOT both accept any dataset or service
name, with quotes, brackets, ``#``, ``;``, newlines or non-ASCII letters in it.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from mreg.lineage.graph import LineageView, node_type

# Mermaid shape brackets per node type: (open, close)
MERMAID_SHAPES = {
    "dataset": ('[("', '")]'),
    "model": ('[["', '"]]'),
    "version": ('("', '")'),
    "artifact": ('[/"', '"/]'),
    "run": ('>"', '"]'),
    "service": ('{{"', '"}}'),
}
MERMAID_STYLES = {
    "dataset": "fill:#e8f4ea,stroke:#3b7d4f",
    "model": "fill:#e7eefa,stroke:#3559a8",
    "version": "fill:#ffffff,stroke:#3559a8",
    "artifact": "fill:#f5f5f5,stroke:#777777",
    "run": "fill:#fdf3e1,stroke:#b07a1c",
    "service": "fill:#f3e8fa,stroke:#7a3fa8",
    "serving": "fill:#d9f2d9,stroke:#2e7d32,stroke-width:3px",
}
DOT_SHAPES = {
    "dataset": "cylinder", "model": "box3d", "version": "box", "artifact": "note",
    "run": "cds", "service": "hexagon",
}
SERVING_STATES = ("production", "monitoring", "retraining")

# Mermaid decodes #code; entities inside quoted labels; everything that could end the
# label, open markup or start an entity is written as one.
_MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;",
                     "`": "#96;", ";": "#59;", "\\": "#92;"}


def mermaid_text(text: str) -> str:
    escaped = "".join(_MERMAID_ENTITIES.get(char, char) for char in text)
    return escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def dot_text(text: str) -> str:
    """A DOT quoted string: backslashes and quotes escaped, newlines as centred line breaks."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n") + '"'


def _is_serving(data: dict) -> bool:
    return data.get("state") in SERVING_STATES


def to_mermaid(view: LineageView) -> str:
    """A ``flowchart LR`` that GitHub and other Markdown renderers draw inside ```mermaid."""
    graph = view.graph
    ids = {node: f"n{number}" for number, node in enumerate(graph.nodes)}
    lines = ["flowchart LR"]
    for node, data in graph.nodes(data=True):
        opening, closing = MERMAID_SHAPES[data["type"]]
        lines.append(f"    {ids[node]}{opening}{mermaid_text(data['label'])}{closing}")
    for source, target, data in graph.edges(data=True):
        lines.append(f"    {ids[source]} -->|{data['type']}| {ids[target]}")
    for kind, style in MERMAID_STYLES.items():
        lines.append(f"    classDef {kind} {style}")
    members: dict[str, list[str]] = {}
    for node, data in graph.nodes(data=True):
        members.setdefault("serving" if _is_serving(data) else data["type"], []).append(ids[node])
    for kind in MERMAID_STYLES:
        if kind in members:
            lines.append(f"    class {','.join(members[kind])} {kind}")
    focus = [ids[node] for node in view.focus if node in ids]
    if focus:
        lines.append(f"    style {','.join(focus)} stroke-width:4px")
    return "\n".join(lines) + "\n"


def to_dot(view: LineageView) -> str:
    """A Graphviz digraph, left to right; ``dot -Tsvg`` draws it."""
    lines = ["digraph lineage {", "    rankdir=LR;", '    node [fontname="Helvetica", fontsize=11];',
             '    edge [fontname="Helvetica", fontsize=9];']
    for node, data in view.graph.nodes(data=True):
        attributes = [f"label={dot_text(data['label'])}", f"shape={DOT_SHAPES[data['type']]}"]
        if _is_serving(data):
            attributes.append('style="filled,bold", fillcolor="#d9f2d9"')
        if node in view.focus:
            attributes.append("penwidth=3")
        lines.append(f"    {dot_text(node)} [{', '.join(attributes)}];")
    for source, target, data in view.graph.edges(data=True):
        lines.append(f"    {dot_text(source)} -> {dot_text(target)} [label={dot_text(data['type'])}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_json(view: LineageView) -> dict[str, Any]:
    """networkx node-link data (``edges`` key); ``nx.node_link_graph(data, edges="edges")`` reads it back."""
    data = nx.node_link_data(view.graph, edges="edges")
    data["graph"] = {"focus": list(view.focus), "direction": view.direction}
    return data


def to_tree(view: LineageView):
    """A rich ``Tree`` per focus node: its upstream branch, then its downstream branch.

    A node reached twice is expanded once and marked ``(above)`` after that; services that
    are not the focus are leaves, as in every lineage walk.
    """
    from rich.console import Group
    from rich.tree import Tree

    graph = view.graph
    focus = list(view.focus) or sorted(node for node in graph if graph.in_degree(node) == 0)
    expanded: set[str] = set()

    def grow(branch: Tree, node: str, upstream: bool) -> None:
        neighbours = graph.predecessors(node) if upstream else graph.successors(node)
        for other in sorted(neighbours):
            edge = graph.edges[other, node] if upstream else graph.edges[node, other]
            seen = other in expanded or other in focus
            child = branch.add(_tree_label(other, graph.nodes[other], edge["type"], seen))
            if not seen and (node_type(other) != "service"):
                expanded.add(other)
                grow(child, other, upstream)

    trees = []
    for node in focus:
        root = Tree(_tree_label(node, graph.nodes[node], None, False))
        for upstream, title in ((True, "upstream"), (False, "downstream")):
            has = graph.in_degree(node) if upstream else graph.out_degree(node)
            if view.direction in ("both", title) and has:
                grow(root.add(title, style="dim"), node, upstream)
        trees.append(root)
    return Group(*trees)


def _tree_label(node: str, data: dict, edge: str | None, seen: bool):
    from rich.text import Text

    text = Text()
    if edge:
        text.append(f"{edge} ", style="dim")
    text.append(node, style="bold green" if _is_serving(data) else "bold")
    if data.get("state"):
        text.append(f" [{data['state']}]", style="green" if _is_serving(data) else "yellow")
    if data["type"] == "model":
        text.append(f" {data['name']}")
    if data["type"] == "artifact":
        text.append(f" {', '.join(data['paths'])}")
    if data["type"] == "run" and data.get("steps"):
        text.append(f" steps {' -> '.join(data['steps'])}")
    if seen:
        text.append(" (above)", style="dim")
    return text
