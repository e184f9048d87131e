"""The registry's documents as pydantic models: mreg.yaml, model.yaml, version manifests.

Each document carries ``schema_version``; unknown fields are errors, never dropped. Every
table of the seed's Model Registry View has a home here:

- inventory row (id, name, task, framework, serving mode, owners) -> ``ModelSpec``;
  its *current version* and *status* are folded from events, never stored;
- versioning (version, training period, key change, notes) -> ``VersionManifest``;
  a version's *status* is folded from events too;
- architecture components, training-data lineage -> ``Component``, ``Dataset``;
- upstream/downstream dependencies -> ``Dependencies``;
- performance baselines (metric, description, alert threshold) -> ``Baseline``;
- Metaflow integration: run reference, parameters, environment, model card.

The seed says "Retired" where its lifecycle diagram says Deprecated; mreg follows the
diagram, so a retired version is Deprecated (and Archived once its artifacts move).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mreg.codec import digest_bytes, dump_yaml, load_yaml
from mreg import lifecycle
from mreg.errors import InvalidManifest, UsageError
from mreg.names import NAME_PATTERN
from mreg.paths import collision_problem, path_problem

SCHEMA_VERSION = 1
FORMAT_VERSION = 2  # 2: head records, model events, a sealed mreg.yaml (mreg upgrade migrates 1)

Name = Annotated[str, Field(pattern=f"^{NAME_PATTERN.pattern}$", max_length=128)]
Digest = Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]
Scalar = str | int | float | bool | None
Parameter = Scalar | list[Scalar]


class Document(BaseModel):
    """Strict base: unknown fields rejected, instances immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)
    ALWAYS_WRITTEN: ClassVar[tuple[str, ...]] = ("schema_version",)

    def to_data(self) -> dict[str, Any]:
        """Plain data in field order, leaving out fields at their default (so files stay short
        and reload to the same document); ``schema_version`` and the like are always written."""
        data = self.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        always = {name: getattr(self, name) for name in self.ALWAYS_WRITTEN if name in type(self).model_fields}
        return {**always, **data} if always else data

    def to_yaml(self) -> bytes:
        return dump_yaml(self.to_data())

    @classmethod
    def from_data(cls, data: Any, source: str):
        if not isinstance(data, dict):
            raise InvalidManifest(source, f"expected a mapping, got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise InvalidManifest(source, _describe(exc, cls, data)) from None

    @classmethod
    def from_yaml(cls, raw: bytes | str, source: str):
        return cls.from_data(load_yaml(raw, source), source)

    def expected_seal(self) -> str:
        """For documents written once (manifests, events): the sha256 of the document
        without its ``seal`` field, so that any later hand edit is detectable."""
        return digest_bytes(self.model_copy(update={"seal": None}).to_yaml())

    def sealed(self):
        return self.model_copy(update={"seal": self.expected_seal()})

    def sealed_yaml(self) -> tuple["Document", bytes]:
        """The sealed document and its YAML from one dump: ``seal`` is the last field, so the
        sealed file is the unsealed one plus its ``seal:`` line (a test checks it equals
        ``sealed().to_yaml()``)."""
        body = self.model_copy(update={"seal": None}).to_yaml()
        seal = digest_bytes(body)
        return self.model_copy(update={"seal": seal}), body + f"seal: {seal}\n".encode()


MAX_PROBLEMS = 8  # enough to fix a file in one go, few enough for one line


def _describe(exc: ValidationError, kind: type, data: dict) -> str:
    """Every problem (up to MAX_PROBLEMS) with its field path, and, when the file looks like
    another kind of document, which one and what to do with it."""
    errors = exc.errors()
    problems = [f"{'.'.join(str(part) for part in error['loc']) or 'document'}: {_plain(error)}"
                for error in errors[:MAX_PROBLEMS]]
    if len(errors) > MAX_PROBLEMS:
        problems.append(f"and {len(errors) - MAX_PROBLEMS} more")
    text = f"{len(errors)} problems: " + "; ".join(problems) if len(errors) > 1 else problems[0]
    guess = _looks_like(data)
    if guess and guess[0] is not kind:
        text += f" (this looks like {guess[1]}, not {_KIND_NAMES.get(kind, 'that document')}: {guess[2]})"
    return text


def _plain(error: dict) -> str:
    return {"extra_forbidden": "unknown field", "missing": "required field missing"}.get(error["type"], error["msg"])


def _looks_like(data: dict) -> tuple[type, str, str] | None:
    """The document kind whose telltale fields ``data`` has, e.g. a model file's ``id`` and
    ``name`` given where a version manifest was expected."""
    telltales = [
        (ModelSpec, {"id", "name"}, "a model file (model.yaml)", "add it with 'mreg model add ID --from-file FILE'"),
        (VersionManifest, {"model", "version"}, "a version manifest",
         "register it with 'mreg register MODEL@VERSION -f FILE'"),
        (RegistryConfig, {"format", "hash"}, "a registry's mreg.yaml", "it configures the registry itself"),
    ]
    for kind, fields, name, action in telltales:
        if fields <= data.keys():
            return kind, name, action
    return None


def _sorted_mapping(value: dict[str, Any] | None) -> dict[str, Any]:
    return dict(sorted((value or {}).items()))


EvidenceKind = Literal["gate", "judge"]
JUDGED_BY_DEFAULT = ("canary -> production",)  # the seed's "Canary metrics pass (Kayenta)"
_DURATION = re.compile(r"^([1-9][0-9]{0,8})([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def edge_key(edge: lifecycle.Transition) -> str:
    return f"{edge.source.value if edge.source else '[*]'} -> {edge.target.value}"


def _policy_edge(key: str) -> str:
    """``SOURCE -> TARGET`` naming a promote edge of the lifecycle table, in canonical spelling."""
    source, arrow, target = key.partition("->")
    if not arrow:
        raise ValueError(f"{key!r}: name an edge as 'SOURCE -> TARGET', e.g. 'canary -> production'")
    try:
        found = lifecycle.edge(lifecycle.parse_state(source.strip()), lifecycle.parse_state(target.strip()))
    except UsageError as exc:
        raise ValueError(f"{key!r}: {exc.message}") from None
    if found is None or found.command != "promote":
        promotions = ", ".join(edge_key(e) for e in lifecycle.TRANSITIONS if e.command == "promote")
        raise ValueError(f"{key!r} is not a promote edge of the lifecycle (one of: {promotions})")
    return edge_key(found)


class EvidencePolicy(Document):
    """Which promotions need which evidence, and how old a judge report may be (docs/gates.md).

    ``require`` maps a promote edge to evidence kinds and replaces that edge's default: ``gate``
    (the edge's baseline gate, which promote runs itself; only on an edge whose lifecycle row
    names a gate) and ``judge`` (a passing judge report bound to the version, ``--evidence``).
    By default every gated edge needs ``gate``, and canary -> production ``judge`` as well.
    """

    max_age: str = "7d"
    require: dict[str, list[EvidenceKind]] = {}

    @field_validator("max_age")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not _DURATION.match(value):
            raise ValueError(f"{value!r} is not a duration like 7d, 12h, 30m or 3600s")
        return value

    @field_validator("require")
    @classmethod
    def _edges(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        edges = {_policy_edge(key): sorted(set(kinds)) for key, kinds in value.items()}
        for key, kinds in edges.items():
            if "gate" in kinds and lifecycle.edge(*_states(key)).gate is None:
                raise ValueError(f"{key!r} has no baseline gate in the lifecycle table, so it cannot require 'gate'")
        return dict(sorted(edges.items()))

    @property
    def max_age_delta(self) -> timedelta:
        count, unit = _DURATION.match(self.max_age).groups()
        return timedelta(seconds=int(count) * _UNITS[unit])

    def requires(self, edge: lifecycle.Transition) -> tuple[str, ...]:
        """The evidence kinds a promotion along ``edge`` needs."""
        key = edge_key(edge)
        if key in self.require:
            return tuple(self.require[key])
        return (("gate",) if edge.gate else ()) + (("judge",) if key in JUDGED_BY_DEFAULT else ())


def _states(key: str) -> tuple[lifecycle.State, lifecycle.State]:
    source, _, target = key.partition(" -> ")
    return lifecycle.State(source), lifecycle.State(target)


class Policy(Document):
    archive_store: str | None = None
    gc_grace_seconds: int = 3600
    evidence: EvidencePolicy = EvidencePolicy()


class RegistryConfig(Document):
    """``mreg.yaml``: a registry refuses to open with a format it does not know."""

    ALWAYS_WRITTEN: ClassVar[tuple[str, ...]] = ("format", "hash")
    format: int = FORMAT_VERSION
    hash: Literal["sha256"] = "sha256"
    blob_store: str | None = None
    remotes: dict[str, str] = {}  # name -> registry URL (mreg remote add), as DVC's config
    policy: Policy = Policy()
    seal: Digest | None = None  # sha256 of mreg.yaml without the seal, rewritten by every command that changes it

    _sort_remotes = field_validator("remotes")(lambda cls, value: _sorted_mapping(value))


class Dependency(Document):
    """A service the model consumes (upstream) or serves (downstream), and what for."""

    service: str
    role: str | None = None


def _dependency_shorthand(value: Any) -> Any:
    """Let a plain string stand for a dependency without a role."""
    return [{"service": item} if isinstance(item, str) else item for item in value or []]


class Dependencies(Document):
    upstream: list[Dependency] = []
    downstream: list[Dependency] = []

    _shorthand = field_validator("upstream", "downstream", mode="before")(
        lambda cls, value: _dependency_shorthand(value)
    )


class Baseline(Document):
    """A performance contract: the seed's metric, description and alert threshold, made checkable.

    ``direction`` says which way is better. ``max``/``min`` are absolute bounds;
    ``tolerance`` is the relative change allowed against ``reference`` (``production`` or a
    version). ``gates`` lists the target states whose promotion this baseline checks (both
    by default; ``[]`` for a baseline that only informs ``diff``, ``check`` and ``monitor``).
    """

    metric: str
    title: str | None = None
    description: str | None = None
    alert_threshold: str | None = None
    unit: str | None = None
    direction: Literal["higher", "lower"] | None = None
    max: float | None = None
    min: float | None = None
    tolerance: float | None = Field(default=None, ge=0)
    reference: str = "production"
    critical: bool = False
    gates: list[Literal["candidate", "production"]] = ["candidate", "production"]


class ModelSpec(Document):
    """``models/<MODEL>/model.yaml``: a model's identity, dependencies and baselines."""

    schema_version: int = SCHEMA_VERSION
    id: Name
    name: str
    task: str | None = None
    framework: str | None = None
    serving_mode: str | None = None
    purpose: str | None = None
    license: str | None = None  # an SPDX id or a name, as the model card's front matter states it
    owners: list[str] = []
    dependencies: Dependencies = Dependencies()
    baselines: list[Baseline] = []
    added_by: str | None = None
    added_at: str | None = None  # the inventory lists models in the order they were added

    @field_validator("schema_version")
    @classmethod
    def _known_schema(cls, value: int) -> int:
        return check_schema(value)

    @field_validator("baselines")
    @classmethod
    def _unique_metrics(cls, value: list[Baseline]) -> list[Baseline]:
        names = [baseline.metric for baseline in value]
        if len(names) != len(set(names)):
            raise ValueError("each metric may have one baseline")
        return value


class Component(Document):
    component: str
    role: str | None = None
    framework: str | None = None


class Dataset(Document):
    """A training-data lineage row; ``snapshot``/``digest`` pin the exact data used."""

    name: str
    source: str | None = None
    scale: str | None = None
    features: str | None = None
    refresh: str | None = None
    snapshot: str | None = None
    digest: Digest | None = None


class Artifact(Document):
    """A stored file or directory tree, or an external object recorded by digest."""

    path: str
    kind: Literal["file", "tree", "external"] = "file"
    digest: Digest
    size: int = Field(ge=0)
    files: int | None = None
    url: str | None = None

    @field_validator("path")
    @classmethod
    def _safe_path(cls, value: str) -> str:
        problem = path_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> "Artifact":
        if (self.kind == "external") != (self.url is not None):
            raise ValueError(f"artifact {self.path}: an external artifact has a url, and only it")
        if self.files is not None and self.kind != "tree":
            raise ValueError(f"artifact {self.path}: only a tree counts files")
        return self


class RunArtifact(Document):
    """A run artifact that became one of the version's artifacts, with the run's own digest of
    it (Metaflow's sha), so either system's id finds the other."""

    name: str
    path: str
    sha: str


class CodePackage(Document):
    """The code package the run executed, as the tracking system identifies it."""

    sha: str
    location: str | None = None


class RunRef(Document):
    """Where the version was trained, e.g. the Metaflow pathspec ``TrainFlow/1842/train``.

    ``pathspec`` identifies the run (or its step); the other fields are what the tracking
    system said about it at registration time, kept so the registry answers without it."""

    system: str | None = None
    pathspec: str | None = None
    url: str | None = None
    flow: str | None = None
    run_id: str | None = None
    step: str | None = None
    steps: list[str] = []
    user: str | None = None
    tags: list[str] = []
    started_at: str | None = None
    finished_at: str | None = None
    code_package: CodePackage | None = None
    artifacts: list[RunArtifact] = []

    _sort_tags = field_validator("tags")(lambda cls, value: sorted(set(value)))


class LockFile(Document):
    path: str
    digest: Digest


class GitState(Document):
    """The working tree's commit, and whether it had uncommitted changes when captured."""

    commit: str
    dirty: bool  # no default, so that a clean tree is written as such


class Environment(Document):
    """The software a version was trained with: enough to rebuild it (``mreg env``).

    ``packages`` maps canonical distribution names to versions; ``urls`` holds the direct URL
    of a distribution installed from one (PEP 610) instead of from an index."""

    python: str | None = None
    implementation: str | None = None
    platform: str | None = None
    source: str | None = None
    packages: dict[str, str] = {}
    urls: dict[str, str] = {}
    lock_files: list[LockFile] = []
    git: GitState | None = None

    _sort_packages = field_validator("packages", "urls")(lambda cls, value: _sorted_mapping(value))
    _sort_locks = field_validator("lock_files")(lambda cls, value: sorted(value, key=lambda lock: lock.path))


class ModelCard(Document):
    intended_use: str | None = None
    limitations: str | None = None
    fairness: str | None = None
    ethical_considerations: str | None = None


class Evidence(Document):
    """What justified a state change (an event's ``evidence``): a gate's verdict, a judge
    report, a health check, a file. A document of events.py's, kept here with the other
    documents so that results can carry it without reaching the event store."""

    kind: str
    verdict: str | None = None
    digest: Digest | None = None
    summary: str | None = None


class VersionManifest(Document):
    """``models/<MODEL>/versions/<VERSION>.yaml``, written once; writing it registers the version."""

    schema_version: int = SCHEMA_VERSION
    model: Name
    version: Name
    training_period: str | None = None
    key_change: str | None = None
    notes: str | None = None
    parents: list[str] = []
    architecture: list[Component] = []
    datasets: list[Dataset] = []
    metrics: dict[str, float] = {}
    parameters: dict[str, Parameter] = {}
    environment: Environment = Environment()
    run: RunRef = RunRef()
    model_card: ModelCard = ModelCard()
    artifacts: list[Artifact] = []
    tags: dict[str, str] = {}
    registered_by: str | None = None
    registered_at: str | None = None
    seal: Digest | None = None  # sha256 of this manifest without the seal: edits are detectable

    _known_schema = field_validator("schema_version")(lambda cls, value: check_schema(value))
    _sort_metrics = field_validator("metrics", "parameters", "tags")(
        lambda cls, value: _sorted_mapping(value)
    )

    @field_validator("artifacts")
    @classmethod
    def _unique_paths(cls, value: list[Artifact]) -> list[Artifact]:
        problem = collision_problem(artifact.path for artifact in value)
        if problem:
            raise ValueError(f"artifact {problem}")
        return sorted(value, key=lambda artifact: artifact.path)

    @field_validator("datasets")
    @classmethod
    def _unique_datasets(cls, value: list[Dataset]) -> list[Dataset]:
        names = [dataset.name for dataset in value]
        if len(names) != len(set(names)):
            raise ValueError("dataset names must be unique")
        return value

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"


def check_schema(value: int) -> int:
    """Refuse documents of another schema: one from the future may mean what this mreg cannot read."""
    if value > SCHEMA_VERSION:
        raise ValueError(f"schema_version {value} is newer than this mreg reads ({SCHEMA_VERSION}); upgrade mreg")
    if value != SCHEMA_VERSION:
        raise ValueError(f"unsupported schema_version {value} (this mreg reads {SCHEMA_VERSION})")
    return value


_KIND_NAMES = {ModelSpec: "a model file", VersionManifest: "a version manifest", RegistryConfig: "mreg.yaml"}
