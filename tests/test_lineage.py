"""Lineage graphs and impact, through the CLI a user runs, on registries built with the CLI."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

import mreg
from conftest import EXAMPLE, Cli, add_model, settle_folders, snapshot, write

# Lineage reads through the same Storage interface on every backend; one test below runs
# on S3, the rest on a local directory to keep the suite quick.
pytestmark = pytest.mark.local_only

KAFKA_MODEL = """\
id: REC
name: Recommender
dependencies:
  upstream: [Kafka, Flink]
  downstream: [API Gateway]
"""
DIGEST = "sha256:" + "ab" * 32


def _manifest(tmp_path, name: str, snapshot_date: str, run: str, artifact_digest: str | None = None) -> str:
    artifacts = f"artifacts: [{{path: emb.bin, kind: external, digest: '{artifact_digest}', size: 3, url: 's3://b/emb.bin'}}]\n" if artifact_digest else ""
    text = (
        "datasets:\n"
        "- name: Member interaction history\n"
        f"  snapshot: '{snapshot_date}'\n"
        "- name: Content metadata\n"
        f"run: {{system: metaflow, pathspec: {run}}}\n{artifacts}"
    )
    return str(write(tmp_path / f"{name}.yaml", text))


@pytest.fixture
def lineage_cli(cli: Cli, tmp_path) -> Cli:
    """REC v1 -> v2 (production); SEARCH@v1 derives from REC@v2; GATEWAY-USER consumes API Gateway."""
    cli.ok("model", "add", "REC", "-f", str(write(tmp_path / "rec.yaml", KAFKA_MODEL)))
    cli.ok("register", "REC@v1", "-f", _manifest(tmp_path, "v1", "2025-01-31", "Train/1", DIGEST))
    cli.ok("register", "REC@v2", "-f", _manifest(tmp_path, "v2", "2025-10-31", "Train/2", DIGEST), "--parent", "v1")
    cli.ok("promote", "REC@v2", "--to", "production", "--force", "--reason", "test set-up")
    add_model(cli, "SEARCH")
    cli.ok("register", "SEARCH@v1", "--parent", "REC@v2")
    cli.ok("model", "add", "GATEWAY-USER", "-f", str(write(
        tmp_path / "gw.yaml", "id: GATEWAY-USER\nname: Gateway user\ndependencies: {upstream: [API Gateway]}\n")))
    cli.ok("register", "GATEWAY-USER@v1")
    return cli


def _nodes(cli: Cli, *args: str) -> set[str]:
    data = json.loads(cli.ok("lineage", *args, "--json"))
    return {node["id"] for node in data["nodes"]}


def test_upstream_holds_datasets_snapshots_run_parents_and_consumed_services(lineage_cli):
    nodes = _nodes(lineage_cli, "REC@v2", "--upstream")
    assert {
        "model:REC", "service:Kafka", "service:Flink", "version:REC@v1", "run:Train/2",
        "dataset:Member interaction history", "dataset:Member interaction history@2025-10-31",
        "dataset:Member interaction history@2025-01-31", "dataset:Content metadata",
    } <= nodes
    assert "service:API Gateway" not in nodes and "version:SEARCH@v1" not in nodes


def test_downstream_holds_artifacts_served_services_and_derived_versions_of_other_models(lineage_cli):
    nodes = _nodes(lineage_cli, "REC@v1", "--downstream")
    assert {"version:REC@v2", "version:SEARCH@v1", "service:API Gateway", f"artifact:{DIGEST}"} <= nodes
    assert "version:GATEWAY-USER@v1" not in nodes  # a walk stops at services it did not start from
    assert "service:Kafka" not in nodes


def test_depth_limits_the_walk(lineage_cli):
    assert _nodes(lineage_cli, "REC@v2", "--upstream", "--depth", "0") == {"version:REC@v2"}
    one = _nodes(lineage_cli, "REC@v2", "--upstream", "--depth", "1")
    assert "version:REC@v1" in one and "service:Kafka" not in one


def test_a_model_lineage_is_its_versions_lineage(lineage_cli):
    nodes = _nodes(lineage_cli, "REC")
    assert {"model:REC", "version:REC@v1", "version:REC@v2", "service:Kafka", "version:SEARCH@v1"} <= nodes


def test_json_is_node_link_data_networkx_reads_back(lineage_cli):
    data = json.loads(lineage_cli.ok("lineage", "REC@v2", "--format", "json"))
    graph = nx.node_link_graph(data, edges="edges")
    assert graph.nodes["version:REC@v2"]["state"] == "production"
    assert graph.edges["version:REC@v1", "version:REC@v2"]["type"] == "derived_from"
    assert graph.edges["service:Kafka", "model:REC"]["type"] == "consumes"
    assert graph.edges["version:REC@v2", "service:API Gateway"]["type"] == "serves"
    assert graph.edges["run:Train/2", "version:REC@v2"]["type"] == "produced_by"
    assert graph.edges["dataset:Member interaction history@2025-10-31", "version:REC@v2"]["type"] == "trained_on"
    assert data["graph"] == {"focus": ["version:REC@v2"], "direction": "both"}


def test_output_is_deterministic_for_every_format(lineage_cli):
    for fmt in ("tree", "mermaid", "dot", "json"):
        assert lineage_cli.ok("lineage", "REC", "--format", fmt) == lineage_cli.ok("lineage", "REC", "--format", fmt)
    assert lineage_cli.ok("lineage", "--all", "--format", "dot") == lineage_cli.ok("lineage", "--all", "--format", "dot")


def test_tree_names_each_edge_and_the_state(lineage_cli):
    text = lineage_cli.ok("lineage", "REC@v2")
    assert text.splitlines()[0] == "version:REC@v2 [production]"
    assert "consumes service:Kafka" in text and "serves service:API Gateway" in text
    assert "derived_from version:SEARCH@v1 [development]" in text


def test_impact_of_a_dataset_lists_versions_production_first_with_the_snapshot_used(lineage_cli):
    rows = json.loads(lineage_cli.ok("impact", "dataset:Member interaction history", "--json"))["versions"]
    assert [(r["model"], r["version"], r["state"]) for r in rows] == [
        ("REC", "v2", "production"), ("REC", "v1", "development"), ("SEARCH", "v1", "development"),
    ]
    assert rows[0]["via"] == "dataset:Member interaction history@2025-10-31"
    assert rows[2]["via"] == "version:REC@v2"
    text = lineage_cli.ok("impact", "dataset:Member interaction history")
    assert text.splitlines()[2].split()[:3] == ["REC", "v2", "Production"]


def test_impact_of_a_service_reaches_the_models_that_consume_it(lineage_cli):
    rows = json.loads(lineage_cli.ok("impact", "service:API Gateway", "--json"))["versions"]
    assert [(r["model"], r["version"]) for r in rows] == [("GATEWAY-USER", "v1")]


def test_impact_of_a_digest_starts_at_the_versions_containing_it(lineage_cli):
    view = json.loads(lineage_cli.ok("impact", DIGEST, "--json"))
    assert view["matched"] == [f"artifact:{DIGEST}"]
    assert {(r["model"], r["version"]) for r in view["versions"]} == {("REC", "v1"), ("REC", "v2"), ("SEARCH", "v1")}


def test_impact_of_a_version_lists_what_derives_from_it(lineage_cli):
    rows = json.loads(lineage_cli.ok("impact", "REC@v1", "--json"))["versions"]
    assert [(r["model"], r["version"], r["distance"]) for r in rows] == [("REC", "v2", 1), ("SEARCH", "v1", 2)]


def test_a_new_version_elsewhere_shows_up_downstream_at_once(lineage_cli):
    assert "version:LATE@v1" not in _nodes(lineage_cli, "REC@v2", "--downstream")
    add_model(lineage_cli, "LATE")
    lineage_cli.ok("register", "LATE@v1", "--parent", "REC@v2")
    assert "version:LATE@v1" in _nodes(lineage_cli, "REC@v2", "--downstream")


def test_a_warm_downstream_walk_reads_only_the_models_it_reaches(lineage_cli, registry_url):
    from mreg.lineage.graph import LineageGraph

    settle_folders(Path(registry_url))
    lineage_cli.ok("impact", "service:API Gateway")  # the references of every model are kept
    registry = mreg.open(registry_url)
    read, parse_model = [], registry.repository._parse_model
    registry.repository._parse_model = lambda model, files: read.append(model) or parse_model(model, files)
    assert LineageGraph(registry.repository).index().referrers("version:REC@v2") == ["SEARCH"]
    assert read == []  # no model's files were parsed to answer "who refers to REC@v2?"


@pytest.mark.parametrize("node", ["dataset:Nope", "service:Nope", "NOPE", "REC@v9", "sha256:" + "cd" * 32])
def test_unknown_nodes_are_not_found(lineage_cli, node):
    for args in (["impact", node], ["lineage", node]):
        outcome = lineage_cli(*args)
        assert outcome.exit_code == 3 and outcome.stdout == ""
        assert outcome.stderr.startswith("error: ")


@pytest.mark.parametrize("args", [
    ["lineage"], ["lineage", "REC", "--all"], ["lineage", "REC", "--upstream", "--downstream"],
    ["lineage", "REC", "--format", "png"], ["lineage", "REC", "--depth", "-1"],
])
def test_bad_lineage_arguments_are_usage_errors(lineage_cli, args):
    assert lineage_cli(*args).exit_code == 2


def test_registration_refuses_every_way_to_make_a_parent_cycle(cli, registry_url, tmp_path):
    add_model(cli, "M")
    cli.ok("register", "M@v1")
    before = snapshot(tmp_path / "registry")
    self_parent = cli("register", "M@v2", "--parent", "v2")
    assert self_parent.exit_code == 2 and "cycle" in self_parent.stderr
    forward = cli("register", "M@v2", "--parent", "v3")  # a parent must exist before its child
    assert forward.exit_code == 3
    again = cli("register", "M@v1", "--parent", "v2")  # closing a loop would mean rewriting v1
    assert again.exit_code == 4
    assert snapshot(tmp_path / "registry") == before


def test_a_hand_made_parent_cycle_still_draws(cli, tmp_path):
    """A cycle mreg itself never writes, in a manifest resealed by hand (reads refuse an
    unsealed edit, exit 5): lineage must still draw it, not loop."""
    add_model(cli, "M")
    cli.ok("register", "M@v1")
    cli.ok("register", "M@v2", "--parent", "v1")
    manifest = tmp_path / "registry" / "models" / "M" / "versions" / "v1.yaml"
    body = manifest.read_text().rpartition("seal: ")[0] + "parents: [v2, GONE@v7]\n"
    manifest.write_text(f"{body}seal: sha256:{hashlib.sha256(body.encode()).hexdigest()}\n")
    for fmt in ("tree", "mermaid", "dot", "json"):
        cli.ok("lineage", "M@v1", "--format", fmt)
    nodes = _nodes(cli, "M@v1", "--upstream")
    assert {"version:M@v2", "version:GONE@v7"} <= nodes
    assert {(r["version"]) for r in json.loads(cli.ok("impact", "M@v1", "--json"))["versions"]} == {"v2"}


def test_lineage_and_impact_on_s3(s3_url, tmp_path):
    mreg.init(s3_url)
    cli = Cli(s3_url)
    cli.ok("model", "add", "REC", "-f", str(write(tmp_path / "rec.yaml", KAFKA_MODEL)))
    cli.ok("register", "REC@v1", "-f", _manifest(tmp_path, "v1", "2025-01-31", "Train/1"))
    add_model(cli, "SEARCH")
    cli.ok("register", "SEARCH@v1", "--parent", "REC@v1")
    assert {"service:Kafka", "version:SEARCH@v1"} <= _nodes(cli, "REC@v1")
    rows = json.loads(cli.ok("impact", "dataset:Content metadata", "--json"))["versions"]
    assert [(r["model"], r["version"]) for r in rows] == [("REC", "v1"), ("SEARCH", "v1")]


def test_help_does_not_import_networkx():
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom mreg.cli import app\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "assert CliRunner().invoke(app, ['lineage', '--help']).exit_code == 0\n"
        "print('networkx' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.fixture
def example(tmp_path) -> Cli:
    if not (EXAMPLE / "mreg.yaml").is_file():
        pytest.skip("registry-example/ is not in this checkout")
    copy = tmp_path / "example"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(".cache", ".tmp"))
    return Cli(str(copy))


def test_example_member_interaction_history_feeds_production_rec_v12_4(example):
    rows = json.loads(example.ok("impact", "dataset:Member interaction history", "--json"))["versions"]
    assert (rows[0]["model"], rows[0]["version"], rows[0]["state"]) == ("MDL-REC", "v12.4", "production")


def test_example_rec_v12_4_upstream_has_kafka_and_flink_downstream_api_gateway(example):
    assert {"service:Kafka", "service:Flink"} <= _nodes(example, "MDL-REC@v12.4", "--upstream")
    assert "service:API Gateway" in _nodes(example, "MDL-REC@v12.4", "--downstream")
