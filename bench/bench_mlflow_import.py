"""``mreg import mlflow`` of 100 versions from a real sqlite tracking store.

    python bench/bench_mlflow_import.py [--models 4] [--versions 25]

Builds the MLflow store through MlflowClient (a run with params, metrics, a dataset input
and a small artifact directory per version; every 5th version staged, the newest in
Production), then times the first import and a second one (nothing new).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path


def build(root: Path, models: int, versions: int) -> str:
    from mlflow import MlflowClient
    from mlflow.entities import Dataset, DatasetInput

    uri = f"sqlite:///{root}/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("bench", artifact_location=str(root / "artifacts"))
    files = root / "files"
    files.mkdir()
    for m in range(models):
        name = f"model-{m}"
        client.create_registered_model(name)
        for v in range(1, versions + 1):
            run_id = client.create_run(experiment).info.run_id
            client.log_param(run_id, "lr", str(v / 1000))
            client.log_metric(run_id, "auc", 0.5 + v / 1000)
            client.log_inputs(run_id, [DatasetInput(Dataset("clicks", f"d{v}", "local", "/data/clicks"), [])])
            (files / "weights.bin").write_bytes(os.urandom(4096))
            client.log_artifacts(run_id, str(files), "model")
            created = client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
            stage = "Production" if v == versions else ("Staging" if v % 5 == 0 else None)
            if stage:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    client.transition_model_version_stage(name, created.version, stage)
    return uri


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=4)
    parser.add_argument("--versions", type=int, default=25)
    options = parser.parse_args()
    import mreg

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        uri = build(root, options.models, options.versions)
        print(f"setup: MLflow store with {options.models * options.versions} versions in {time.perf_counter() - started:.0f} s")
        registry = mreg.init(str(root / "registry"))
        for label in ("first import", "second import (no-op)"):
            started = time.perf_counter()
            report = mreg.open(str(root / "registry")).import_mlflow(uri)
            print(f"{label:22s} {time.perf_counter() - started:6.1f} s  versions added {len(report.versions_added)}  "
                  f"state changes {len(report.events_added)}  already there {report.already_there}")
        assert registry.verify().ok


if __name__ == "__main__":
    main()
