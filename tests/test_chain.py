"""Reads that check what they use: a hand-edited manifest or event, a broken chain or an event
from a newer mreg makes every command about that model refuse (exit 5, one line naming the
file), and nothing is appended to such a history."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from conftest import Cli, add_model, snapshot

pytestmark = pytest.mark.local_only


def _reseal(path: Path, old: str, new: str) -> None:
    """Edit ``path`` as someone who knows the seal rule would: the seal recomputed to match."""
    body = path.read_text().rpartition("seal: ")[0]
    assert old in body, f"{old!r} not in {path}"
    body = body.replace(old, new, 1)
    path.write_text(f"{body}seal: sha256:{hashlib.sha256(body.encode()).hexdigest()}\n")


@pytest.fixture
def two_versions(cli: Cli, registry_url: str) -> Path:
    add_model(cli, "CHURN")
    cli.ok("register", "CHURN@v1", "-m", "accuracy=0.80")
    cli.ok("register", "CHURN@v2", "-m", "accuracy=0.84")
    return Path(registry_url)


def _refused(outcome, path: str) -> None:
    assert outcome.exit_code == 5, outcome.stdout + outcome.stderr
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1 and path in lines[0], outcome.stderr


def test_a_hand_edited_manifest_is_refused_by_show_diff_and_promote(cli, two_versions):
    manifest = two_versions / "models/CHURN/versions/v2.yaml"
    manifest.write_text(manifest.read_text().replace("accuracy: 0.84", "accuracy: 0.94"))
    before = snapshot(two_versions)
    for command in (["show", "CHURN@v2"], ["show", "CHURN"], ["diff", "CHURN@v1", "CHURN@v2"],
                    ["status", "CHURN"], ["promote", "CHURN@v2", "--to", "experimentation"], ["models"]):
        _refused(cli(*command), "models/CHURN/versions/v2.yaml")
    assert snapshot(two_versions) == before  # no event recorded the edited digest


def test_a_resealed_manifest_is_caught_by_the_digest_its_event_recorded(cli, two_versions):
    cli.ok("promote", "CHURN@v2", "--to", "experimentation")
    _reseal(two_versions / "models/CHURN/versions/v2.yaml", "accuracy: 0.84", "accuracy: 0.94")
    outcome = cli("show", "CHURN@v2")
    _refused(outcome, "models/CHURN/versions/v2.yaml")
    assert "event 2 recorded its digest" in outcome.stderr  # event 1 is model add
    _refused(cli("promote", "CHURN@v2", "--to", "candidate"), "models/CHURN/versions/v2.yaml")


def test_promote_refuses_a_chain_that_verify_rejects(cli, two_versions):
    cli.ok("promote", "CHURN@v1", "--to", "experimentation")
    cli.ok("promote", "CHURN@v2", "--to", "experimentation")
    _reseal(two_versions / "models/CHURN/events/00000003.yaml", "previous: sha256:", "previous: sha256:0")
    assert cli("verify").exit_code == 5
    before = snapshot(two_versions)
    _refused(cli("promote", "CHURN@v1", "--to", "candidate"), "models/CHURN/events/00000003.yaml")
    assert snapshot(two_versions) == before


def test_nothing_is_appended_after_an_event_from_a_newer_mreg(cli, two_versions):
    cli.ok("promote", "CHURN@v1", "--to", "experimentation")
    _reseal(two_versions / "models/CHURN/events/00000002.yaml", "schema_version: 1", "schema_version: 2")
    before = snapshot(two_versions)
    outcome = cli("promote", "CHURN@v2", "--to", "experimentation")
    _refused(outcome, "models/CHURN/events/00000002.yaml")
    assert "newer than this mreg" in outcome.stderr
    assert snapshot(two_versions) == before
    assert "newer than this mreg" in cli("verify").stdout


@pytest.fixture
def promoted(cli, two_versions) -> Path:
    cli.ok("promote", "CHURN@v1", "--to", "experimentation")
    cli.ok("promote", "CHURN@v1", "--to", "candidate")
    return two_versions


def test_deleting_the_newest_event_is_detected_by_reads_and_verify(cli, promoted):
    (promoted / "models/CHURN/events/00000003.yaml").unlink()
    _refused(cli("status", "CHURN"), "models/CHURN/head.yaml")
    outcome = cli("verify")
    assert outcome.exit_code == 5 and "events were deleted" in outcome.stdout


def test_a_head_moved_back_or_deleted_is_detected(cli, promoted):
    head = promoted / "models/CHURN/head.yaml"
    head.unlink()
    _refused(cli("show", "CHURN"), "models/CHURN/head.yaml")
    assert cli("verify").exit_code == 5


def test_one_event_beyond_the_head_is_an_interrupted_write_and_the_next_append_moves_the_head(cli, promoted):
    head = promoted / "models/CHURN/head.yaml"
    head.write_text(head.read_text().replace("seq: 3", "seq: 2").replace(
        head.read_text().split("event: ")[1].strip(), _digest(promoted / "models/CHURN/events/00000002.yaml")))
    assert cli("verify").exit_code == 0  # what a kill between the event and its head leaves
    cli.ok("promote", "CHURN@v2", "--to", "experimentation")
    assert head.read_text().startswith("seq: 4\n")
    assert cli("verify").exit_code == 0


def _digest(path: Path) -> str:
    return f"sha256:{hashlib.sha256(path.read_bytes()).hexdigest()}"


def test_hand_edits_of_model_yaml_are_refused_and_model_update_records_a_change(cli, promoted, tmp_path):
    spec = promoted / "models/CHURN/model.yaml"
    original = spec.read_bytes()
    middle = len(original) // 2
    spec.write_bytes(original[:middle] + bytes([original[middle] ^ 1]) + original[middle + 1:])
    _refused(cli("show", "CHURN"), "models/CHURN/model.yaml")
    spec.write_bytes(original)
    cli.ok("model", "update", "CHURN", "-f", str(write_spec(tmp_path, "min: 0.7")))
    lowered = spec.read_text().replace("min: 0.7", "min: 0.1")
    spec.write_text(lowered)  # a baseline's min lowered by hand, to let a version through the gate
    before = snapshot(promoted)
    _refused(cli("promote", "CHURN@v2", "--to", "experimentation"), "models/CHURN/model.yaml")
    assert snapshot(promoted) == before
    assert "edited by hand" in cli("verify").stdout


def write_spec(folder: Path, bound: str) -> Path:
    path = folder / "CHURN.yaml"
    path.write_text(f"id: CHURN\nname: Churn\nbaselines:\n- metric: accuracy\n  {bound}\n")
    return path


def test_a_deleted_evidence_blob_fails_verify(cli, promoted):
    events = sorted((promoted / "models/CHURN/events").glob("*.yaml"))
    gate = next(line.split("digest: ")[1] for line in events[-1].read_text().splitlines() if "digest: " in line)
    blob = promoted / "objects/sha256" / gate[7:9] / gate[9:]
    blob.unlink()
    outcome = cli("verify")
    assert outcome.exit_code == 5 and "missing evidence blob" in outcome.stdout


def test_a_flipped_byte_in_mreg_yaml_refuses_every_command_and_remote_add_reseals(cli, promoted, tmp_path):
    cli.ok("remote", "add", "origin", str(tmp_path / "elsewhere"))
    assert cli("verify").exit_code == 0
    config = promoted / "mreg.yaml"
    config.write_text(config.read_text().replace("elsewhere", "elsewherf"))
    for command in (["models"], ["show", "CHURN"], ["verify"], ["gc", "--dry-run"]):
        _refused(cli(*command), "mreg.yaml")
