"""Format 1 -> 2: an old registry is refused until ``mreg upgrade``, which gives each model a
head and a model event and seals mreg.yaml; rerunning it (or finishing a killed one) adds nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import REPO, Cli, snapshot

pytestmark = pytest.mark.local_only
FORMAT_1 = REPO / "tests/data/format-1"


@pytest.fixture
def old(tmp_path) -> Path:
    copy = tmp_path / "old"
    shutil.copytree(FORMAT_1, copy)
    return copy


def test_an_old_registry_is_refused_with_a_pointer_to_upgrade(old):
    before = snapshot(old)
    for command in (["show", "CHURN"], ["verify"], ["promote", "CHURN@v2", "--to", "experimentation"]):
        outcome = Cli(str(old))(*command)
        assert outcome.exit_code == 2 and outcome.stderr.count("\n") == 1
        assert "run 'mreg upgrade'" in outcome.stderr
    assert snapshot(old) == before


def test_upgrade_migrates_and_the_registry_then_checks_what_format_1_could_not(old):
    cli = Cli(str(old))
    status_before = cli.subprocess("status", "CHURN")
    assert "mreg upgrade" in status_before.stderr
    assert cli.ok("upgrade").startswith("upgraded to format 2: 1 models recorded")
    assert (old / "models/CHURN/head.yaml").read_text().startswith("seq: 3\n")
    assert cli("verify", "--deep").exit_code == 0
    assert "Candidate" in cli.ok("show", "CHURN")
    assert cli.ok("upgrade").startswith("already format 2")
    spec = old / "models/CHURN/model.yaml"
    spec.write_text(spec.read_text().replace("min: 0.7", "min: 0.1"))
    assert cli("show", "CHURN").exit_code == 5  # format 1 could not see this edit


def test_a_killed_upgrade_is_finished_by_a_rerun_without_a_second_model_event(old):
    legacy_config = (old / "mreg.yaml").read_bytes()
    cli = Cli(str(old))
    cli.ok("upgrade")
    (old / "mreg.yaml").write_bytes(legacy_config)  # killed before its last write, mreg.yaml
    assert cli.ok("upgrade").startswith("upgraded to format 2: 0 models recorded")
    assert len(list((old / "models/CHURN/events").glob("*.yaml"))) == 3
    assert cli("verify").exit_code == 0
