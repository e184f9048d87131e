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
    assert "event 1 recorded its digest" in outcome.stderr
    _refused(cli("promote", "CHURN@v2", "--to", "candidate"), "models/CHURN/versions/v2.yaml")


def test_promote_refuses_a_chain_that_verify_rejects(cli, two_versions):
    cli.ok("promote", "CHURN@v1", "--to", "experimentation")
    cli.ok("promote", "CHURN@v2", "--to", "experimentation")
    _reseal(two_versions / "models/CHURN/events/00000002.yaml", "previous: sha256:", "previous: sha256:0")
    assert cli("verify").exit_code == 5
    before = snapshot(two_versions)
    _refused(cli("promote", "CHURN@v1", "--to", "candidate"), "models/CHURN/events/00000002.yaml")
    assert snapshot(two_versions) == before


def test_nothing_is_appended_after_an_event_from_a_newer_mreg(cli, two_versions):
    cli.ok("promote", "CHURN@v1", "--to", "experimentation")
    _reseal(two_versions / "models/CHURN/events/00000001.yaml", "schema_version: 1", "schema_version: 2")
    before = snapshot(two_versions)
    outcome = cli("promote", "CHURN@v2", "--to", "experimentation")
    _refused(outcome, "models/CHURN/events/00000001.yaml")
    assert "newer than this mreg" in outcome.stderr
    assert snapshot(two_versions) == before
    assert "newer than this mreg" in cli("verify").stdout
