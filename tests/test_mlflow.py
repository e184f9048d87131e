"""``mreg import mlflow`` against a real MLflow sqlite tracking store built by the test."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

pytest.importorskip("mlflow")

import mreg

from conftest import Cli, snapshot, write

T0 = 1_700_000_000_000  # MLflow keeps milliseconds


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory) -> str:
    """Two registered models: rec (v1 Archived, v2 Production, v3 Staging with an alias), churn model (v1, no stage)."""
    from mlflow import MlflowClient
    from mlflow.entities import Dataset, DatasetInput, InputTag

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root}/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("recsys", artifact_location=str(root / "artifacts"))

    def version(model: str, number: int, stage: str | None = None) -> None:
        run = client.create_run(experiment)
        run_id = run.info.run_id
        client.log_param(run_id, "lr", str(0.1 * number))
        client.log_metric(run_id, "auc", 0.7 + number / 100, timestamp=T0)
        client.log_inputs(run_id, [DatasetInput(
            Dataset(name="clicks", digest=f"d{number}", source_type="local", source="/data/clicks.parquet"),
            [InputTag("mlflow.data.context", "training")],
        )])
        weights = write(root / "files" / f"{model}{number}" / "weights.bin", f"{model} v{number}".encode())
        write(root / "files" / f"{model}{number}" / "MLmodel", b"flavors: {}\n")
        client.log_artifacts(run_id, str(weights.parent), "model")
        client.set_terminated(run_id)
        created = client.create_model_version(model, f"runs:/{run_id}/model", run_id=run_id,
                                              description=f"{model} number {number}", tags={"team": "ranking"})
        if stage:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                client.transition_model_version_stage(model, created.version, stage)

    client.create_registered_model("rec", tags={"owner": "ranking-team"}, description="Recommendations")
    version("rec", 1, "Production")
    version("rec", 2, "Production")  # v1 leaves Production in mreg: one serving version
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        client.transition_model_version_stage("rec", "1", "Archived")
    version("rec", 3, "Staging")
    client.set_registered_model_alias("rec", "challenger", "3")
    client.create_registered_model("churn model")
    version("churn model", 1)
    return uri


def test_an_mlflow_store_imports_with_its_history_and_a_second_import_is_a_no_op(mlflow_store, tmp_path):
    url = str(tmp_path / "registry")
    mreg.init(url)
    cli = Cli(url)
    report = json.loads(cli.ok("import", "mlflow", "--tracking-uri", mlflow_store, "--map", "challenger=canary", "--json"))
    assert report["models_added"] == ["churn-model", "rec"]
    assert report["versions_added"] == ["churn-model@v1", "rec@v1", "rec@v2", "rec@v3"]
    assert sorted(report["events_added"]) == ["rec@v1 -> archived", "rec@v2 -> production", "rec@v3 -> canary"]

    registry = mreg.open(url)
    manifest = registry.manifest("rec@v2")
    assert manifest.parameters == {"lr": "0.2"} and manifest.metrics == {"auc": 0.72}
    assert manifest.tags == {"team": "ranking"} and manifest.notes == "rec number 2"
    assert [(d.name, d.source, d.snapshot) for d in manifest.datasets] == [("clicks", "/data/clicks.parquet", "d2")]
    assert manifest.run.system == "mlflow" and len(manifest.run.pathspec.split("/")[1]) == 32  # experiment/run id
    assert {a.path: a.kind for a in manifest.artifacts} == {"model": "tree"}
    registry.pull("rec@v2", tmp_path / "out")
    assert (tmp_path / "out" / "model" / "weights.bin").read_bytes() == b"rec v2"
    assert registry.model_spec("rec").owners == ["ranking-team"]
    assert registry.status("rec").versions == {"v1": "archived", "v2": "production", "v3": "canary"}

    history = [entry for entry in registry.log("rec") if entry.action == "import"]
    assert {entry.reason for entry in history} == {
        "imported from MLflow: stage Archived", "imported from MLflow: stage Production", "imported from MLflow: alias challenger"}
    assert all(entry.actor == "MLflow" and entry.time.startswith("20") for entry in history)
    assert registry.verify().ok

    before = snapshot(url)
    again = json.loads(cli.ok("import", "mlflow", "--tracking-uri", mlflow_store, "--map", "challenger=canary", "--json"))
    assert again["versions_added"] == again["events_added"] == [] and again["already_there"] == 4
    assert snapshot(url) == before


def test_an_unknown_model_is_refused_with_nothing_written(mlflow_store, tmp_path):
    url = str(tmp_path / "registry")
    mreg.init(url)
    before = snapshot(url)
    outcome = Cli(url)("import", "mlflow", "--tracking-uri", mlflow_store, "--model", "nope")
    assert outcome.exit_code == 3 and outcome.stderr.startswith("error: ") and "nope" in outcome.stderr
    assert snapshot(url) == before
