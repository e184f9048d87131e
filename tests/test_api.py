"""The Python API speaks like the CLI: the same verbs, str or State, str or Path, typed
results, and State, ExitCode and the errors exported from ``mreg``."""

from __future__ import annotations

import pytest

import mreg
from conftest import EXAMPLE, write
from mreg.manifest import ModelSpec

pytestmark = pytest.mark.local_only
VERBS = ["models", "show", "register", "promote", "rollback", "lineage", "impact", "diff", "check", "judge",
         "find", "verify", "gc", "pull"]


def test_the_registry_has_every_verb_of_the_cli():
    assert [verb for verb in VERBS if not callable(getattr(mreg.Registry, verb, None))] == []


def test_state_exitcode_and_errors_are_exported():
    assert mreg.State.PRODUCTION == "production"
    assert mreg.ExitCode.NOT_FOUND == 3
    assert issubclass(mreg.ModelNotFound, mreg.NotFound) and issubclass(mreg.NotFound, mreg.MregError)


def test_promote_takes_a_state_or_its_name_and_pull_takes_strings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    reg = mreg.init(tmp_path / "registry")
    reg.add_model(ModelSpec(id="CHURN", name="Churn"))
    for version in ("v3", "v5"):
        reg.register(f"CHURN@{version}", artifact_sources=[write(tmp_path / f"{version}.bin", version)])
    assert reg.promote("CHURN@v5", "experimentation").changes[0]["to"] == "experimentation"
    assert reg.promote("CHURN@v5", mreg.State.CANDIDATE).changes[0]["to"] == "candidate"
    pulled = reg.pull("CHURN@v3", "out")
    assert (tmp_path / "out" / "v3.bin").read_text() == "v3" and pulled.files[0].path == "v3.bin"
    assert [row.id for row in reg.models("candidate")] == ["CHURN"]


def test_show_lineage_impact_verify_gc_return_typed_results():
    reg = mreg.open(str(EXAMPLE))
    assert reg.show("MDL-REC").current_version == "v12.4"
    assert reg.show("MDL-REC@v12.4").status == "production"
    assert reg.verify().ok
    assert "MDL-REC@v12.4" in str(reg.lineage("MDL-REC@v12.4").focus)
    assert any(row.version == "v12.4" for row in reg.impact("dataset:Member interaction history").versions)
    assert reg.gc(dry_run=True).dry_run is True


def test_a_typo_in_a_model_or_version_names_the_closest():
    reg = mreg.open(EXAMPLE)
    with pytest.raises(mreg.ModelNotFound, match="did you mean MDL-REC"):
        reg.show("mdl-rec")
    with pytest.raises(mreg.VersionNotFound, match="did you mean MDL-REC@v12.4"):
        reg.show("MDL-REC@v12.5")
