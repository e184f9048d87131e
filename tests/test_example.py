"""registry-example/: rebuilt byte-for-byte by its script, and equal to the seed's tables."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import EXAMPLE, REPO, Cli, data_file, snapshot

pytestmark = pytest.mark.local_only
RETIRED_IS_DEPRECATED = {"Retired": "Deprecated"}  # README: the diagram's word wins over the table's


def seed_text() -> str:
    return data_file("seed/model-registry-view.md", "MREG_SEED").read_text()


def seed_table(after: str, within: str | None = None) -> list[dict[str, str]]:
    """The first Markdown table following the line that contains ``after`` (in ``within``)."""
    lines = (within or seed_text()).splitlines()
    start = next(i for i, line in enumerate(lines) if after in line)
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    header, _rule, *body = rows
    return [dict(zip(header, row)) for row in body]


def test_the_build_script_rebuilds_the_example_byte_for_byte(tmp_path):
    target = tmp_path / "rebuilt"
    subprocess.run(["bash", str(REPO / "examples/build-registry.sh"), str(target)], check=True, capture_output=True, timeout=300)
    rebuilt, committed = snapshot(target), snapshot(EXAMPLE)
    assert sorted(rebuilt) == sorted(committed)
    assert [path for path in committed if rebuilt[path] != committed[path]] == []


def test_models_shows_the_seed_inventory_row_for_row_cell_for_cell():
    expected = seed_table("## Model Inventory")
    rows = json.loads(Cli(str(EXAMPLE)).ok("models", "--json"))
    shown = [
        {"Model ID": r["id"], "Name": r["name"], "Task": r["task"], "Framework": r["framework"],
         "Current Version": r["current_version"], "Status": r["status"].capitalize(), "Serving Mode": r["serving_mode"]}
        for r in rows
    ]
    assert shown == expected
    text = Cli(str(EXAMPLE)).ok("models").splitlines()
    assert text[0].split() == ["Model", "ID", "Name", "Task", "Framework", "Current", "Version", "Status", "Serving", "Mode"]
    for line, row in zip(text[1:], expected):
        assert all(cell in line for cell in row.values()), (line, row)


def test_show_rec_shows_the_seed_versioning_table():
    expected = [
        {**row, "Status": RETIRED_IS_DEPRECATED.get(row["Status"], row["Status"])}
        for row in seed_table("**Versioning:**")
    ]
    view = json.loads(Cli(str(EXAMPLE)).ok("show", "MDL-REC", "--json"))
    shown = [
        {"Version": v["version"], "Training Period": v["training_period"], "Key Change": v["key_change"],
         "Status": v["status"].capitalize(), "Notes": v["notes"]}
        for v in view["versions"]
    ]
    assert shown == expected
    text = Cli(str(EXAMPLE)).ok("show", "MDL-REC")
    for row in expected:
        assert any(all(cell in line for cell in row.values()) for line in text.splitlines()), row


def test_the_example_holds_every_table_the_seed_gives_for_rec():
    cli = Cli(str(EXAMPLE))
    model = json.loads(cli.ok("show", "MDL-REC", "--json"))["model"]
    current = json.loads(cli.ok("show", "MDL-REC@v12.4", "--json"))["manifest"]
    components = [{"Component": c["component"], "Role": c["role"], "Framework": c["framework"]} for c in current["architecture"]]
    assert components == seed_table("**Architecture:**")
    datasets = [
        {"Dataset": d["name"], "Source": d["source"], "Scale": d["scale"], "Features": d["features"], "Refresh": d["refresh"]}
        for d in current["datasets"]
    ]
    assert datasets == seed_table("**Training Data Lineage:**")
    baselines = [
        {"Metric": b["title"], "Description": b["description"], "Alert Threshold": b["alert_threshold"]}
        for b in model["baselines"]
    ]
    assert baselines == seed_table("**Performance Baselines:**")
    upstream = [d["service"] for d in model["dependencies"]["upstream"]]
    downstream = [d["service"] for d in model["dependencies"]["downstream"]]
    assert upstream == ["Kafka", "Flink", "Amber", "Content Management System", "S3"]
    assert downstream == ["API Gateway", "Playback Service", "ABlaze", "Notification Service"]


@pytest.mark.parametrize("model, heading", [("MDL-QUAL", "### Content Quality Predictor"), ("MDL-SEARCH", "### Search Ranking")])
def test_quality_and_search_carry_their_seed_datasets(model, heading):
    text = seed_text()
    expected = seed_table("**Training Data Lineage:**", within=text[text.index(heading):])
    version = json.loads(Cli(str(EXAMPLE)).ok("models", "--json"))
    current = next(r["current_version"] for r in version if r["id"] == model)
    manifest = json.loads(Cli(str(EXAMPLE)).ok("show", f"{model}@{current}", "--json"))["manifest"]
    shown = [{"Dataset": d["name"], "Source": d["source"], "Scale": d["scale"], "Refresh": d["refresh"]} for d in manifest["datasets"]]
    assert shown == expected



@pytest.mark.parametrize("instant, serving", [
    ("2024-02-01", None), ("2024-06-01", "v10.0"), ("2024-12-31T23:59Z", "v11.0"),
    ("2025-06-01T00:00Z", "v12.0"), ("2025-11-23", "v12.0"), ("2025-11-24", "v12.4"), ("2026-06-01", "v12.4"),
])
def test_status_at_names_the_production_version_of_the_day(instant, serving):
    view = json.loads(Cli(str(EXAMPLE)).ok("status", "MDL-REC", "--at", instant, "--json"))
    assert view["serving"] == serving
