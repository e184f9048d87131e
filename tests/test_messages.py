"""Messages that say what to do: closest matches for typos, every validation problem with
its field path, and a guess of what kind of file was given instead."""

from __future__ import annotations

import pytest

from conftest import EXAMPLE, Cli, add_model, snapshot, write

pytestmark = pytest.mark.local_only


@pytest.fixture
def example():
    return Cli(str(EXAMPLE))


def refused(cli: Cli, *args: str, code: int = 2) -> str:
    """The one stderr line of a refused command (which must leave the registry unchanged)."""
    before = snapshot(cli.registry_url)
    outcome = cli(*args)
    assert outcome.exit_code == code, (outcome.exit_code, outcome.stderr)
    assert outcome.stdout == ""
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), outcome.stderr
    assert snapshot(cli.registry_url) == before
    return lines[0]


@pytest.mark.parametrize("typed", ["MDL-REC:v12.4", "MDL-REC/v12.4"])
def test_a_colon_or_slash_for_the_at_is_named(example, typed):
    assert "did you mean MDL-REC@v12.4?" in refused(example, "show", typed)
    assert "did you mean MDL-REC@v12.4?" in refused(example, "promote", typed, "--to", "canary")


def test_a_misspelt_state_names_the_closest(example):
    assert "did you mean experimentation?" in refused(example, "promote", "MDL-REC@v12.4", "--to", "experimentaion")


def test_a_model_file_given_as_a_manifest_lists_every_problem_and_says_what_it_is(cli, tmp_path):
    add_model(cli, "CHURN")
    model_file = write(tmp_path / "model.yaml", "schema_version: 1\nid: CHURN\nname: Churn\ntask: churn\n"
                       "framework: sklearn\nserving_mode: batch\nowners: [ml@example.com]\npurpose: keep\n")
    line = refused(cli, "register", "CHURN@v1", "-f", str(model_file))
    for field in ("id", "name", "task", "framework", "serving_mode", "owners", "purpose"):
        assert f"{field}: unknown field" in line
    assert "7 problems" in line and "more)" not in line
    assert "looks like a model file" in line and "mreg model add" in line


def test_problems_carry_their_field_paths_and_stay_bounded(cli, tmp_path):
    add_model(cli, "CHURN")
    fields = "".join(f"extra{i}: 1\n" for i in range(12))
    manifest = write(tmp_path / "v1.yaml", "metrics: {auc: high}\ndatasets: [{source: s3}]\n" + fields)
    line = refused(cli, "register", "CHURN@v1", "-f", str(manifest))
    assert "metrics.auc: " in line and "datasets.0.name: required field missing" in line
    assert "14 problems" in line and "and 6 more" in line


def test_a_version_manifest_given_as_a_model_file_says_so(cli, tmp_path):
    manifest = write(tmp_path / "v1.yaml", (EXAMPLE / "models/MDL-REC/versions/v12.4.yaml").read_text())
    line = refused(cli, "model", "add", "MDL-REC", "--from-file", str(manifest))
    assert "looks like a version manifest" in line and "mreg register" in line
