"""The Python API speaks like the CLI: the same verbs, str or State, str or Path, typed
results, and State, ExitCode and the errors exported from ``mreg``."""

from __future__ import annotations

import json

import pytest

import mreg
import mreg.results
from conftest import EXAMPLE, Cli, write
from mreg.codec import load_yaml
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
    assert reg.promote("CHURN@v5", "experimentation").changes[0].to == "experimentation"
    assert reg.promote("CHURN@v5", mreg.State.CANDIDATE).changes[0].to == mreg.State.CANDIDATE
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


def test_results_hold_the_documents_themselves_and_print_them_as_stored():
    """A Python user reads attributes (no dicts); ``--json`` prints those very objects."""
    reg = mreg.open(EXAMPLE)
    version = reg.show_version("MDL-REC@v12.4")
    assert version.manifest.metrics["engagement_rate"] == 0.291
    assert version.manifest.datasets[0].name == "Member interaction history"
    assert reg.show_model("MDL-REC").model.baselines[0].gates == ["candidate"]
    stored = load_yaml((EXAMPLE / "models/MDL-REC/versions/v12.4.yaml").read_bytes(), "v12.4.yaml")
    assert version.to_json_data()["manifest"] == stored  # defaults left out, exactly as in the file
    assert json.loads(Cli(str(EXAMPLE)).ok("show", "MDL-REC@v12.4", "--json")) == version.to_json_data()

    [registered] = [e for e in reg.log("MDL-REC@v12.4") if e.action == "register"]
    assert registered.changes[0].from_ is None and registered.to_json_data()["changes"][0]["from"] == ""
    production = next(e for e in reg.log("MDL-REC@v12.4") if e.action == "promote")
    assert [(m.version, m.to) for m in production.changes] == [("v12.0", mreg.State.DEPRECATED), ("v12.4", mreg.State.PRODUCTION)]
    assert [(e.kind, e.verdict) for e in production.evidence] == [("judge", "Pass"), ("gate:production", "pass")]


def test_gate_judge_and_diff_reports_are_results_with_one_json_path():
    reg = mreg.open(EXAMPLE)
    check = reg.check("MDL-REC@v12.0")
    assert (check.reference, check.verdict) == ("v12.4", "pass")
    assert check.metrics[0].metric == "engagement_rate"
    diff = reg.diff("MDL-REC@v12.0", "MDL-REC@v12.4")
    assert diff.to_json_data()["changed_sections"] == diff.changed_sections
    for report in (check, diff, reg.card("MDL-REC@v12.4")):
        assert isinstance(report, mreg.results.Result)


def test_evidence_without_a_verdict_is_none_in_python_and_absent_in_json(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    reg = mreg.init(tmp_path / "registry")
    reg.add_model(ModelSpec(id="M", name="M"))
    reg.register("M@v1")
    reg.promote("M@v1", "production", reason="set-up", force=True)
    result = reg.monitor("M", {"latency": 1.0}, write(tmp_path / "today.yaml", "latency: 1\n"))  # the metrics file is kept
    proof = result.evidence[0]
    assert (proof.kind, proof.verdict, proof.summary) == ("file", None, "today.yaml")
    assert result.to_json_data()["evidence"][0] == {"kind": "file", "digest": proof.digest, "summary": "today.yaml"}
