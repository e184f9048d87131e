"""verify: passes on an intact registry, and names the file when anything was edited by hand."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import mreg
from mreg.store.blobs import object_path

from conftest import EXAMPLE, Cli, add_model

pytestmark = pytest.mark.local_only


@pytest.fixture
def example(tmp_path) -> Path:
    copy = tmp_path / "example"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(".cache", ".tmp"))
    return copy


def verify(registry: Path, *extra: str):
    return Cli(str(registry))("verify", "--deep", *extra)


def test_the_example_verifies_deeply(example):
    outcome = verify(example, "--json")
    report = json.loads(outcome.stdout)
    assert outcome.exit_code == 0 and report["ok"] and report["problems"] == []
    assert (report["models"], report["versions"], report["events"]) == (5, 8, 37)  # 32 lifecycle, 5 model add


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


EDITS = {
    "manifest metric": ("models/MDL-REC/versions/v12.4.yaml", "engagement_rate: 0.291", "engagement_rate: 0.391"),
    "manifest formatting": ("models/MDL-REC/versions/v12.4.yaml", "training_period: 2025-Q4", "training_period:   2025-Q4"),
    "event reason": ("models/MDL-REC/events/00000003.yaml", "offline evaluation passed", "offline evaluation skipped"),
    "event target": ("models/MDL-EXP/events/00000005.yaml", "to: production", "to: canary"),
    "last event actor": ("models/MDL-EXP/events/00000005.yaml", "actor: ml-platform@example.com", "actor: someone-else"),
}


@pytest.mark.parametrize("edit", list(EDITS), ids=list(EDITS))
def test_a_hand_edit_fails_verify_naming_the_file(example, edit):
    relative, old, new = EDITS[edit]
    _edit(example / relative, old, new)
    outcome = verify(example)
    assert outcome.exit_code == 5
    failures = [line for line in outcome.stdout.splitlines() if line.startswith("FAIL ")]
    assert failures, outcome.stdout
    named = {line.split()[1].rstrip(":") for line in failures}
    assert relative in named, failures  # its seal no longer matches, whatever follows it


def test_a_corrupted_blob_fails_only_deep_verify(example):
    manifest = (example / "models/MDL-PERS/versions/v8.2.yaml").read_text()
    digest = manifest.split("digest: ")[1].split()[0]
    blob = example / object_path(digest)
    blob.write_bytes(b"{}")
    assert Cli(str(example))("verify").exit_code == 0
    outcome = verify(example)
    assert outcome.exit_code == 5
    assert f"FAIL {object_path(digest)}" in outcome.stdout


def test_verify_of_one_model_checks_and_rehashes_its_own_blobs_only(example):
    manifest = (example / "models/MDL-PERS/versions/v8.2.yaml").read_text()
    digest = manifest.split("digest: ")[1].split()[0]
    (example / object_path(digest)).write_bytes(b"{}")
    whole = json.loads(verify(example, "--json").stdout)
    other = verify(example, "MDL-REC", "--json")
    own = verify(example, "MDL-PERS", "--json")
    assert other.exit_code == 0 and 0 < json.loads(other.stdout)["objects"] < whole["objects"]
    assert own.exit_code == 5 and [p["path"] for p in json.loads(own.stdout)["problems"]] == [object_path(digest)]


def test_a_missing_blob_fails_verify(example):
    manifest = (example / "models/MDL-PERS/versions/v8.2.yaml").read_text()
    digest = manifest.split("digest: ")[1].split()[0]
    (example / object_path(digest)).unlink()
    outcome = Cli(str(example))("verify", "MDL-PERS")
    assert outcome.exit_code == 5 and "missing blob of MDL-PERS@v8.2" in outcome.stdout


def test_a_removed_event_breaks_the_chain(example):
    (example / "models/MDL-REC/events/00000007.yaml").unlink()
    outcome = verify(example)
    assert outcome.exit_code == 5 and "models/MDL-REC/events/00000008.yaml" in outcome.stdout


def test_a_failing_verify_lists_problems_on_stdout_and_one_line_on_stderr(tmp_path):
    registry = tmp_path / "registry"
    mreg.init(str(registry))
    cli = Cli(str(registry))
    add_model(cli, "M")
    (tmp_path / "w.bin").write_bytes(b"w")
    cli.ok("register", "M@v1", "-a", str(tmp_path / "w.bin"))
    manifest = registry / "models/M/versions/v1.yaml"
    manifest.write_bytes(manifest.read_bytes().replace(b"size: 1", b"size: 2"))
    outcome = cli("verify")
    assert outcome.exit_code == 5
    assert "FAIL models/M/versions/v1.yaml" in outcome.stdout
    assert outcome.stderr.splitlines() == ["error: verify found 1 problems (listed on stdout)"]
