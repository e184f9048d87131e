"""`mreg diff`: every section that changed between two versions, and a judged metric table."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from conftest import EXAMPLE, Cli, write
from mreg.codec import load_yaml
from mreg.diff import compare_versions, diff_versions
from mreg.manifest import Baseline, VersionManifest

BASELINES = [
    Baseline(metric="p95_latency_ms", direction="lower", max=250, critical=True),
    Baseline(metric="engagement_rate", direction="higher", tolerance=0.02),
    Baseline(metric="diversity", direction="higher", min=3),
]
DIGEST = {name: "sha256:" + name * 64 for name in "abcd"}

V1 = """\
training_period: 2025-Q1
key_change: Contextual bandit integration
architecture:
  - {component: Ensemble Aggregator, framework: learned weights}
datasets:
  - {name: interactions, source: Kafka, snapshot: s3://snap/2025-01, digest: %(a)s}
  - {name: profiles, snapshot: daily-0101}
parameters: {learning_rate: 0.01, layers: 4}
environment: {python: "3.11", packages: {torch: "2.3.1", numpy: "1.26.4", dgl: "1.1.3", horovod: "0.28.1"}}
metrics: {p95_latency_ms: 230, engagement_rate: 0.30, diversity: 4.2, ndcg: 0.41}
artifacts:
  - {path: model.pt, digest: %(a)s, size: 10}
  - {path: vocab.txt, digest: %(b)s, size: 3}
"""
V2 = """\
training_period: 2025-Q4
key_change: Multi-task learning refinements
architecture:
  - {component: Ensemble Aggregator, framework: learned weights}
  - {component: SemanticGNN, framework: DGL}
datasets:
  - {name: interactions, source: Kafka, snapshot: s3://snap/2025-10, digest: %(c)s}
  - {name: embeddings, snapshot: q4}
parameters: {learning_rate: 0.005, layers: 4, heads: 8}
environment: {python: "3.12", packages: {torch: "2.10.0", numpy: "1.26.4", dgl: "1.1.3rc1", scipy: "1.14"}}
metrics: {p95_latency_ms: 262, engagement_rate: 0.31, diversity: 2.5}
artifacts:
  - {path: model.pt, digest: %(d)s, size: 12}
  - {path: vocab.txt, digest: %(b)s, size: 3}
  - {path: card.md, digest: %(c)s, size: 5}
"""


def manifest(version: str, text: str) -> VersionManifest:
    data = {"model": "MDL-REC", "version": version, **load_yaml(text % DIGEST, version)}
    return VersionManifest.from_data(data, version)


@pytest.fixture
def changes():
    return diff_versions(manifest("v1", V1), manifest("v2", V2), BASELINES)


def test_every_changed_section_is_named(changes):
    assert changes.changed_sections == [
        "metadata", "architecture", "datasets", "parameters", "environment", "artifacts", "metrics",
    ]
    assert (changes.a, changes.b) == ("MDL-REC@v1", "MDL-REC@v2")


def test_metadata_and_parameters(changes):
    assert [(c.field, c.change, c.a, c.b) for c in changes.metadata] == [
        ("key_change", "changed", "Contextual bandit integration", "Multi-task learning refinements"),
        ("training_period", "changed", "2025-Q1", "2025-Q4"),
    ]
    assert [(c.field, c.change, c.a, c.b) for c in changes.parameters] == [
        ("heads", "added", None, 8),
        ("learning_rate", "changed", 0.01, 0.005),
    ]


def test_datasets_architecture_and_artifacts_matched_by_name(changes):
    assert [(c.name, c.change, c.fields) for c in changes.datasets] == [
        ("embeddings", "added", []),
        ("interactions", "changed", ["digest", "snapshot"]),
        ("profiles", "removed", []),
    ]
    assert [(c.name, c.change) for c in changes.architecture] == [("SemanticGNN", "added")]
    assert [(c.name, c.change, c.fields) for c in changes.artifacts] == [
        ("card.md", "added", []),
        ("model.pt", "changed", ["digest", "size"]),
    ]
    model_pt = changes.artifacts[1]
    assert (model_pt.a["digest"], model_pt.b["digest"]) == (DIGEST["a"], DIGEST["d"])


def test_environment_packages_in_version_order(changes):
    assert [(c.field, c.a, c.b) for c in changes.environment] == [("python", "3.11", "3.12")]
    assert [(p.name, p.change, p.a, p.b) for p in changes.packages] == [
        ("dgl", "downgraded", "1.1.3", "1.1.3rc1"),  # a release candidate precedes its release
        ("horovod", "removed", "0.28.1", None),
        ("scipy", "added", None, "1.14"),
        ("torch", "upgraded", "2.3.1", "2.10.0"),  # 10 > 3, not "1" < "3"
    ]


@pytest.mark.parametrize(
    "a, b, order",
    [
        ("1.9", "1.10", -1),
        ("2.0.0rc1", "2.0.0", -1),
        ("1.0", "1.0.0", 0),
        ("2.3.1+cu121", "2.3.1", 1),
        ("1.1-ubuntu9", "1.1-ubuntu10", -1),  # not PEP 440: natural order
        ("r8", "r10", -1),
    ],
)
def test_compare_versions(a, b, order):
    assert compare_versions(a, b) == order
    assert compare_versions(b, a) == -order


def test_metric_table_judges_b_against_a(changes):
    rows = {row.metric: row for row in changes.metrics}
    assert list(rows) == ["p95_latency_ms", "engagement_rate", "diversity", "ndcg"]  # baselines first

    latency = rows["p95_latency_ms"]
    assert (latency.a, latency.b, latency.delta, latency.verdict) == (230, 262, 32, "regression")
    assert latency.relative == pytest.approx(32 / 230)
    assert latency.baseline == "lower is better; <= 250; critical"
    assert latency.rule == "p95_latency_ms = 262 exceeds the bound 250"

    engagement = rows["engagement_rate"]
    assert engagement.verdict == "improvement" and engagement.relative == pytest.approx(0.01 / 0.30)
    assert rows["diversity"].verdict == "regression"  # below its min of 3

    ndcg = rows["ndcg"]  # only in A, and no baseline: shown, not judged
    assert (ndcg.a, ndcg.b, ndcg.delta, ndcg.baseline, ndcg.verdict) == (0.41, None, None, None, None)
    assert [row.metric for row in changes.regressions] == ["p95_latency_ms", "diversity"]


def test_a_baseline_metric_neither_version_has_is_no_data():
    bare = manifest("v1", "metrics: {}\n")
    [row] = diff_versions(bare, bare, BASELINES[:1]).metrics
    assert (row.a, row.b, row.verdict) == (None, None, "no data")


def test_identical_versions_have_no_changed_sections():
    same = diff_versions(manifest("v1", V1), manifest("v1b", V1), BASELINES)
    assert same.changed_sections == []
    assert {row.verdict for row in same.metrics} == {"pass", None}


# -- the command ------------------------------------------------------------------------


@pytest.fixture
def rec(cli, tmp_path):
    model = "id: MDL-REC\nname: Recommendation Ensemble\nbaselines:\n" + "".join(
        f"  - {json.dumps(b.to_data())}\n" for b in BASELINES
    )
    cli.ok("model", "add", "MDL-REC", "-f", str(write(tmp_path / "model.yaml", model)))
    for version, text, weights in (("v1", V1, b"weights one"), ("v2", V2, b"weights two")):
        body = text.split("artifacts:")[0] % DIGEST
        cli.ok("register", f"MDL-REC@{version}", "-f", str(write(tmp_path / f"{version}.yaml", body)),
               "-a", str(write(tmp_path / version / "model.pt", weights)))
    return cli


@pytest.mark.local_only  # rendering and argument checks; JSON and exit 6 run on S3 too
def test_diff_text_shows_each_section(rec):
    text = rec.ok("diff", "MDL-REC@v1", "MDL-REC@v2")
    assert text.startswith("MDL-REC@v1 -> MDL-REC@v2\nchanged: metadata, architecture, datasets, parameters, "
                           "environment, artifacts, metrics\n")
    for title in ("Metadata", "Architecture", "Datasets", "Parameters", "Environment", "Artifacts",
                  "Metrics (B judged against A)"):
        assert f"\n{title}\n" in text
    assert re.search(r"\ntorch +upgraded +2\.3\.1 +2\.10\.0\n", text)
    assert "snapshot: s3://snap/2025-01 -> s3://snap/2025-10" in text
    assert "  regression: p95_latency_ms = 262 exceeds the bound 250" in text


def test_diff_json_carries_every_number(rec):
    data = json.loads(rec.ok("diff", "MDL-REC@v1", "MDL-REC@v2", "--json"))
    assert set(data) == {"a", "b", "changed_sections", "metadata", "architecture", "datasets", "parameters",
                         "environment", "packages", "artifacts", "metrics"}
    latency = data["metrics"][0]
    assert {key: latency[key] for key in ("metric", "a", "b", "delta", "verdict", "critical")} == {
        "metric": "p95_latency_ms", "a": 230.0, "b": 262.0, "delta": 32.0, "verdict": "regression", "critical": True,
    }
    [weights] = data["artifacts"]
    assert weights["name"] == "model.pt" and weights["a"]["digest"] != weights["b"]["digest"]


def test_fail_on_regression_exits_6(rec):
    assert rec("diff", "MDL-REC@v1", "MDL-REC@v2").exit_code == 0
    outcome = rec("diff", "MDL-REC@v1", "MDL-REC@v2", "--fail-on-regression", "--json")
    assert outcome.exit_code == 6
    assert json.loads(outcome.stdout)["b"] == "MDL-REC@v2"
    assert outcome.stderr == (
        "error: MDL-REC@v2 regresses against MDL-REC@v1: p95_latency_ms = 262 exceeds the bound 250; "
        "diversity = 2.5 is below the bound 3\n"
    )
    backwards = rec("diff", "MDL-REC@v2", "MDL-REC@v1", "--fail-on-regression")
    assert backwards.exit_code == 6
    assert backwards.stderr == (
        "error: MDL-REC@v1 regresses against MDL-REC@v2: engagement_rate moved -3.23% against 0.31, "
        "beyond the tolerance 2.0%\n"
    )


@pytest.mark.local_only  # rendering and argument checks; JSON and exit 6 run on S3 too
@pytest.mark.parametrize(
    "args, code", [(("MDL-REC@v1", "MDL-REC@v9"), 3), (("NOPE@v1", "MDL-REC@v1"), 3), (("MDL-REC", "MDL-REC@v1"), 2)]
)
def test_diff_exit_codes(rec, args, code):
    outcome = rec("diff", *args)
    assert outcome.exit_code == code and outcome.stderr.count("\n") == 1


@pytest.mark.local_only
@pytest.mark.skipif(not (EXAMPLE / "mreg.yaml").is_file(), reason="registry-example/ not built yet")
def test_example_diff_shows_every_changed_section_and_metric(tmp_path):
    example = Cli(str(shutil.copytree(EXAMPLE, tmp_path / "example")))  # commands may refresh .cache/
    diff = json.loads(example.ok("diff", "MDL-REC@v12.0", "MDL-REC@v12.4", "--json"))
    a, b = (json.loads(example.ok("show", f"MDL-REC@{v}", "--json"))["manifest"] for v in ("v12.0", "v12.4"))
    sections = {
        "metadata": ("training_period", "key_change", "notes", "parents", "run", "model_card"),
        "architecture": ("architecture",), "datasets": ("datasets",), "parameters": ("parameters",),
        "environment": ("environment",), "artifacts": ("artifacts",), "metrics": ("metrics",),
    }
    changed = [name for name, keys in sections.items() if any(a.get(key) != b.get(key) for key in keys)]
    assert diff["changed_sections"] == changed
    assert {"metadata", "datasets", "parameters", "environment", "artifacts", "metrics"} <= set(changed)

    rows = {row["metric"]: row for row in diff["metrics"]}
    assert set(rows) == set(a["metrics"]) | set(b["metrics"])
    for name, row in rows.items():
        assert (row["a"], row["b"]) == (a["metrics"].get(name), b["metrics"].get(name))
        assert row["verdict"] in ("pass", "improvement", "regression", "no data")
    latency = rows["homepage_latency_p95_ms"]
    assert latency["baseline"] == "lower is better; <= 250; critical"

    text = example.ok("diff", "MDL-REC@v12.0", "MDL-REC@v12.4")
    for title in ("Metadata", "Datasets", "Parameters", "Environment", "Artifacts", "Metrics (B judged against A)"):
        assert f"\n{title}\n" in text
    assert all(re.search(rf"\n{name} +{row['a']:g} +{row['b']:g} ", text) for name, row in rows.items())
