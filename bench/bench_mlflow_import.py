"""``mreg import mlflow`` of 100 versions from a real sqlite tracking store.

    python bench/bench_mlflow_import.py [--models 4] [--versions 25] [--rounds 3]

Builds the MLflow store through MlflowClient (a run with params, metrics, a dataset input
and a small artifact directory per version; every 5th version staged, the newest in
Production). Each round, with the mreg of this checkout (its ``src/``):

1. the baseline: MLflow's own client reading what the import reads (every registered
   model, every version, its run, its artifacts downloaded), and nothing else;
2. ``Registry.import_mlflow`` into a fresh registry;
3. the same import again, which must add nothing and leave the registry byte-identical.

Prints medians of the rounds, per version, and the import / baseline ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests")]  # this checkout's mreg; conftest's snapshot


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


def read_like_the_import(uri: str, into: Path) -> int:
    """What the import asks MLflow for, through the same client calls; the versions read."""
    import mlflow.artifacts
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    count = 0
    for registered in client.search_registered_models():
        for version in client.search_model_versions(f"name = '{registered.name}'"):
            client.get_run(version.run_id)
            target = into / registered.name / str(version.version)
            target.mkdir(parents=True)
            mlflow.artifacts.download_artifacts(artifact_uri=version.source, dst_path=str(target), tracking_uri=uri)
            count += 1
    return count


def timed(action):
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=4)
    parser.add_argument("--versions", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mreg
    from conftest import snapshot

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        uri = build(root, options.models, options.versions)
        count = options.models * options.versions
        print(f"MLflow sqlite store: {options.models} models, {count} versions (built in {time.perf_counter() - started:.0f} s)")
        figures: dict[str, list[float]] = {"baseline": [], "first": [], "again": []}
        for round_ in range(options.rounds):
            seconds, read = timed(lambda: read_like_the_import(uri, root / f"read{round_}"))
            assert read == count
            figures["baseline"].append(seconds)
            url = str(root / f"registry{round_}")
            mreg.init(url)
            seconds, report = timed(lambda: mreg.open(url).import_mlflow(uri))
            assert len(report.versions_added) == count and mreg.open(url).verify().ok
            figures["first"].append(seconds)
            before = snapshot(url)
            seconds, report = timed(lambda: mreg.open(url).import_mlflow(uri))
            assert report.versions_added == report.events_added == [] and report.already_there == count
            assert snapshot(url) == before, "a second import changed the registry"
            figures["again"].append(seconds)
        events = sum(1 for entry in mreg.open(url).log() if entry.action == "import")
    for label, key in (("MLflow client reads (baseline)", "baseline"), ("mreg import mlflow", "first"),
                       ("second import (no-op)", "again")):
        times = figures[key]
        median = statistics.median(times)
        print(f"{label:32s} median {median:6.2f} s ({min(times):.2f}-{max(times):.2f})  "
              f"{median / count * 1000:6.1f} ms per version")
    print(f"import / baseline: {statistics.median(figures['first']) / statistics.median(figures['baseline']):.2f}x; "
          f"{count} versions and {events} state changes imported; second import byte-identical; {options.rounds} rounds")


if __name__ == "__main__":
    main()
