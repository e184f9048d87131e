"""Lineage: a typed networkx graph of datasets, models, versions, runs, artifacts and services.

Every edge points the way data and change flow, from what a thing is made of or fed by to
the thing, so *upstream* means ancestors and *downstream* means descendants:

=============  =============================  ==========================================
edge type      from -> to                     recorded in
=============  =============================  ==========================================
consumes       service -> model               model.yaml ``dependencies.upstream``
serves         version -> service             model.yaml ``dependencies.downstream``
contains       model -> version               the version's manifest path
contains       version -> artifact            manifest ``artifacts[].digest``
contains       dataset -> dataset snapshot    manifest ``datasets[].snapshot``/``digest``
trained_on     dataset (snapshot) -> version  manifest ``datasets[]``
derived_from   parent version -> version      manifest ``parents``
produced_by    run -> version                 manifest ``run.pathspec`` (else ``run.url``)
=============  =============================  ==========================================

Node ids are stable strings: ``model:MDL-REC``, ``version:MDL-REC@v12.4``,
``dataset:Member interaction history``, ``dataset:Member interaction history@2025-10-31``
(a snapshot, keyed by ``snapshot`` else ``digest``), ``service:Kafka``,
``artifact:sha256:<hex>``, ``run:TrainFlow/1842``. A run node carries the run's ``flow``,
``steps`` and ``user`` when the manifest recorded them (``register --from-metaflow``).

Services are endpoints outside the registry: a walk reaches them but does not continue
through them into other models (a hub such as Kafka would otherwise put every model
upstream of every other), unless the walk starts at the service.

Loading is lazy: a query loads the models it reaches, one at a time; upstream walks need
nothing else. Walks that need "who refers to this?" (downstream, impact, a dataset or
service focus) ask the derived reference index in ``mreg.lineage.index``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Literal, NamedTuple

import networkx as nx

from mreg.errors import ModelNotFound, NodeNotFound, UsageError
from mreg.lifecycle import State
from mreg.names import natural_key, parse_ref
from mreg.results import Result

from mreg.lineage.index import ReferenceIndex, drop_legacy

if TYPE_CHECKING:
    from mreg.repository import ModelFiles, Repository

Direction = Literal["upstream", "downstream", "both"]

# impact lists Production first, then the rest by how close they are to serving traffic
STATE_ORDER = (
    State.PRODUCTION, State.MONITORING, State.RETRAINING, State.CANARY, State.CANDIDATE,
    State.EXPERIMENTATION, State.DEVELOPMENT, State.ROLLBACK, State.DEPRECATED, State.ARCHIVED,
)


# -- node ids ---------------------------------------------------------------------------


def model_node(model: str) -> str:
    return f"model:{model}"


def version_node(model: str, version: str) -> str:
    return f"version:{model}@{version}"


def owner_of(node: str) -> str | None:
    """The model whose files define ``node`` (model and version nodes only)."""
    kind, _, rest = node.partition(":")
    if kind == "model":
        return rest
    if kind == "version":
        return rest.partition("@")[0]
    return None


def node_type(node: str) -> str:
    return node.partition(":")[0]


# -- building -----------------------------------------------------------------------------


def add_model(graph: nx.DiGraph, files: "ModelFiles") -> None:
    """Add one model's nodes and edges: its spec, every version's manifest, each version's state."""
    spec = files.spec
    model = model_node(spec.id)
    graph.add_node(model, type="model", label=f"{spec.id}\n{spec.name}", name=spec.name)
    state = files.state()
    for dependency in spec.dependencies.upstream:
        _add_edge(graph, _service(graph, dependency.service), model, "consumes", dependency.role)
    for version, stored in files.manifests.items():
        manifest = stored.manifest
        node = _version(graph, spec.id, version, state.state_of(version))
        _add_edge(graph, model, node, "contains")
        for dependency in spec.dependencies.downstream:
            _add_edge(graph, node, _service(graph, dependency.service), "serves", dependency.role)
        for parent in manifest.parents:
            parent_model, _, parent_version = parent.rpartition("@")
            _add_edge(graph, _version(graph, parent_model or spec.id, parent_version), node, "derived_from")
        for dataset in manifest.datasets:
            _add_edge(graph, _dataset(graph, dataset), node, "trained_on")
        run_id = manifest.run.pathspec or manifest.run.url
        if run_id:
            run = f"run:{run_id}"
            graph.add_node(run, **_run_attributes(manifest.run, run_id))
            _add_edge(graph, run, node, "produced_by")
        for artifact in manifest.artifacts:
            target = f"artifact:{artifact.digest}"
            paths = sorted({*graph.nodes[target]["paths"], artifact.path}) if target in graph else [artifact.path]
            graph.add_node(target, type="artifact", label=f"{paths[0]}\n{artifact.digest[:19]}",
                           digest=artifact.digest, size=artifact.size, paths=paths)
            _add_edge(graph, node, target, "contains")


def _add_edge(graph: nx.DiGraph, source: str, target: str, kind: str, role: str | None = None) -> None:
    graph.add_edge(source, target, type=kind, **({"role": role} if role else {}))


def _run_attributes(run, run_id: str) -> dict:
    """A run node: its id, and the flow and steps that produced the version when recorded."""
    steps = " -> ".join(run.steps)
    attributes = {"type": "run", "label": f"{run_id}\n{steps}" if steps else run_id, "system": run.system, "url": run.url}
    if run.flow:
        attributes.update(flow=run.flow, steps=list(run.steps), step=run.step, user=run.user)
    return attributes


def _service(graph: nx.DiGraph, name: str) -> str:
    node = f"service:{name}"
    graph.add_node(node, type="service", label=name, name=name)
    return node


def _version(graph: nx.DiGraph, model: str, version: str, state: State | None = None) -> str:
    """A version node; one only named as a parent stays ``missing`` until its model is added."""
    node = version_node(model, version)
    if state is not None:
        graph.add_node(node, type="version", label=f"{model}@{version}\n{state.value}",
                       model=model, version=version, state=state.value, missing=False)
    elif node not in graph:
        graph.add_node(node, type="version", label=f"{model}@{version}\n(not registered)",
                       model=model, version=version, state=None, missing=True)
    return node


def _dataset(graph: nx.DiGraph, dataset) -> str:
    """The dataset node, or its snapshot node (linked to the dataset) when one is pinned."""
    node = f"dataset:{dataset.name}"
    graph.add_node(node, type="dataset", label=dataset.name, name=dataset.name)
    pin = dataset.snapshot or dataset.digest
    if pin is None:
        return node
    snapshot = f"{node}@{pin}"
    digests = set(graph.nodes[snapshot]["digests"]) if snapshot in graph else set()
    digests.update([dataset.digest] if dataset.digest else [])
    graph.add_node(snapshot, type="dataset", label=f"{dataset.name}\n@{pin}", name=dataset.name,
                   snapshot=dataset.snapshot, digests=sorted(digests))
    _add_edge(graph, node, snapshot, "contains")
    return snapshot


def references(files: "ModelFiles") -> list[str]:
    """Node ids owned elsewhere, and digests, that one model's files mention (the reference
    index keeps these per model)."""
    graph = nx.DiGraph()
    add_model(graph, files)
    model = files.spec.id
    mentioned = {node for node in graph if owner_of(node) != model}
    for _, data in graph.nodes(data=True):
        mentioned.update(data.get("digests", ()))
        if data.get("digest"):
            mentioned.add(data["digest"])
    return sorted(mentioned)


def reindex(repository: "Repository") -> None:
    """Rebuild the reference index from every model's files (``mreg reindex``, after the
    file index was cleared)."""
    drop_legacy(repository.storage)
    ReferenceIndex.refreshed(repository, references)


# -- loading --------------------------------------------------------------------------------


class LineageGraph:
    """The part of a registry's lineage graph that queries have reached so far.

    Models load on demand (``load``); ``complete`` keeps loading until a walk from the focus
    sees every edge it could follow, so a query never reads models it cannot reach.
    """

    def __init__(self, repository: "Repository") -> None:
        self.repository = repository
        self.graph = nx.DiGraph()
        self.loaded: set[str] = set()
        self._index: ReferenceIndex | None = None

    def index(self) -> ReferenceIndex:
        if self._index is None:
            self._index = ReferenceIndex.refreshed(self.repository, references)
        return self._index

    def load(self, models: Iterable[str]) -> None:
        for model in sorted(set(models) - self.loaded):
            self.loaded.add(model)
            try:
                add_model(self.graph, self.repository.model_files(model))
            except ModelNotFound:
                continue  # a parent naming an unknown model stays a missing node

    def load_all(self) -> None:
        for files in self.repository.all_model_files():
            if files.spec.id not in self.loaded:
                self.loaded.add(files.spec.id)
                add_model(self.graph, files)

    def complete(self, focus: list[str], direction: Direction, depth: int | None) -> dict[str, Reach]:
        """Load until the walk from ``focus`` is closed; returns every node it reached."""
        while True:
            reached = walk(self.graph, focus, direction, depth)
            wanted = {owner for node in reached if (owner := owner_of(node))}
            if direction != "upstream":
                index = self.index()
                for node in reached:
                    if node_type(node) != "service" or node in focus:
                        wanted.update(index.referrers(node))
            if wanted <= self.loaded:
                return reached
            self.load(wanted)

    def resolve(self, text: str) -> list[str]:
        """Node ids for a user's NODE: MODEL, MODEL@VERSION, a node id, or ``sha256:DIGEST``."""
        if ":" not in text:
            model, version = parse_ref(text, version_required=False)
            self.load([model])
            candidates = [version_node(model, version) if version else model_node(model)]
        else:
            owner = owner_of(text)
            self.load([owner] if owner else self.index().referrers(text))
            candidates = [text]
            if text.startswith("sha256:"):
                candidates = [node for node, data in self.graph.nodes(data=True)
                              if text == data.get("digest") or text in data.get("digests", ())]
        found = [node for node in candidates if node in self.graph and not self.graph.nodes[node].get("missing")]
        if not found:
            raise NodeNotFound(text)
        return sorted(found)


# -- queries --------------------------------------------------------------------------------


class Reach(NamedTuple):
    distance: int
    via: str | None  # the node it was first reached from (None for the focus)


def walk(graph: nx.DiGraph, focus: list[str], direction: Direction, depth: int | None) -> dict[str, Reach]:
    """Breadth-first from ``focus`` along edges, stopping at services not in focus."""
    reached = {node: Reach(0, None) for node in focus if node in graph}
    frontier = list(reached)
    step = 0
    while frontier and (depth is None or step < depth):
        step += 1
        following = []
        for node in frontier:
            if node_type(node) == "service" and node not in focus:
                continue
            for neighbour in _neighbours(graph, node, direction):
                if neighbour not in reached:
                    reached[neighbour] = Reach(step, node)
                    following.append(neighbour)
        frontier = following
    return reached


def _neighbours(graph: nx.DiGraph, node: str, direction: Direction) -> list[str]:
    if direction == "upstream":
        return sorted(graph.predecessors(node))
    if direction == "downstream":
        return sorted(graph.successors(node))
    return sorted({*graph.predecessors(node), *graph.successors(node)})


@dataclass(frozen=True)
class LineageView:
    """What ``mreg lineage`` draws: the focus nodes and the subgraph around them."""

    focus: tuple[str, ...]
    direction: Direction
    graph: nx.DiGraph


def lineage(repository: "Repository", target: str | None, direction: Direction = "both",
            depth: int | None = None) -> LineageView:
    """The lineage of a model (all its versions), a version or any node; ``None``: everything."""
    if depth is not None and depth < 0:
        raise UsageError("--depth must be 0 or more")
    loaded = LineageGraph(repository)
    if target is None:
        loaded.load_all()
        return LineageView((), "both", _sorted_copy(loaded.graph, loaded.graph.nodes, loaded.graph.edges))
    focus = loaded.resolve(target)
    if focus == [model_node(target)]:
        focus += sorted(loaded.graph.successors(focus[0]))  # a model's lineage is its versions'
    sides = ["upstream", "downstream"] if direction == "both" else [direction]
    nodes: set[str] = set()
    edges: set[tuple[str, str]] = set()
    for side in sides:
        reached = loaded.complete(focus, side, depth)
        nodes |= set(reached)
        edges |= set(loaded.graph.subgraph(reached).edges)  # one side's edges, never across sides
    return LineageView(tuple(focus), direction, _sorted_copy(loaded.graph, nodes, edges))


def _sorted_copy(graph: nx.DiGraph, nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> nx.DiGraph:
    """A copy holding ``nodes`` and ``edges`` inserted in sorted order, so every output is stable."""
    copy = nx.DiGraph()
    copy.add_nodes_from((node, graph.nodes[node]) for node in sorted(nodes))
    copy.add_edges_from((u, v, graph.edges[u, v]) for u, v in sorted(edges))
    return copy


class ImpactRow(Result):
    model: str
    version: str
    state: str
    distance: int  # edges from the node
    via: str  # the node this version is reached from: the snapshot it was trained on, its parent, ...


class ImpactView(Result):
    node: str
    matched: list[str]
    versions: list[ImpactRow]


def impact(repository: "Repository", target: str) -> ImpactView:
    """Every model version downstream of a node, with its state now, Production first.

    An artifact is part of the versions that contain it, so its impact starts at them.
    """
    loaded = LineageGraph(repository)
    matched = loaded.resolve(target)
    lifted = {  # where each walk starts, and the matched node it stands for
        source: node
        for node in matched
        for source in (loaded.graph.predecessors(node) if node_type(node) == "artifact" else [node])
    }
    start = sorted(lifted)
    reached = loaded.complete(start, "downstream", None)
    rows = []
    for node, (distance, via) in reached.items():
        data = loaded.graph.nodes[node]
        if data["type"] == "version" and not data["missing"] and node not in matched:
            rows.append(ImpactRow(model=data["model"], version=data["version"], state=data["state"],
                                  distance=distance, via=via or lifted[node]))
    rows.sort(key=lambda row: (STATE_ORDER.index(State(row.state)), row.model, natural_key(row.version)))
    return ImpactView(node=target, matched=matched, versions=rows)
