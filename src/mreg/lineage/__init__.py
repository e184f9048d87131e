"""Lineage: ``graph`` (the typed networkx graph, lazy loading, walks, lineage and impact),
``index`` (the derived reference index behind downstream walks) and ``render`` (tree,
Mermaid, DOT and JSON drawings). Needs networkx (the ``lineage`` extra); reads a registry
through a ``Repository``, never through the facade.
"""
