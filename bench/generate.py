"""Build a registry of the seed's scale for benchmarks: N models x V versions, plus deep histories.

    python bench/generate.py --models 3000 --versions 30 --out DIR [--history 10,1000,5000]

Every model gets V versions (datasets, metrics, parameters, environment, one small stored
artifact each, parents chaining within the model; every tenth model derives from the one
before it) and its newest version promoted to Production. ``--history`` adds one model per
depth, ``HIST-<depth>``, whose serving version went through that many health checks
(``monitor`` events), so a benchmark can compare a short history with a long one.
Versions go in through the bulk path (``Registry.register_many``: checked like
``register``, written as one durable batch per 100 models). Everything is deterministic
(SOURCE_DATE_EPOCH pins the clock) and the result passes ``mreg verify``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator

SERVICES = [f"Service {n}" for n in range(60)]
DATASETS = [f"Dataset {n}" for n in range(400)]
FRAMEWORKS = ["PyTorch", "XGBoost", "LightGBM", "scikit-learn", "TensorFlow"]
TASKS = ["Ranking", "Fraud detection", "Forecasting", "Search", "Churn prediction"]
EPOCH = 1735689600  # 2025-01-01T00:00:00Z


def model_id(n: int) -> str:
    return f"GEN-{n:04d}"


def history_id(depth: int) -> str:
    return f"HIST-{depth}"


def version_name(index: int) -> str:
    return f"v{index + 1}"


def model_spec(model: str, n: int) -> dict[str, Any]:
    return {
        "id": model,
        "name": f"Generated model {n}",
        "task": TASKS[n % len(TASKS)],
        "framework": FRAMEWORKS[n % len(FRAMEWORKS)],
        "serving_mode": "Real-time" if n % 2 else "Batch",
        "owners": [f"team-{n % 25}"],
        "dependencies": {
            "upstream": [SERVICES[n % 40], SERVICES[(n * 7 + 1) % 40]],
            "downstream": [SERVICES[40 + n % 20]],
        },
        "baselines": [
            {"metric": "auc", "direction": "higher", "min": 0.5},
            {"metric": "latency_p99_ms", "direction": "lower", "max": 500.0},
        ],
    }


def manifest(model: str, n: int, index: int, versions: int) -> dict[str, Any]:
    """The manifest of version ``index`` of model number ``n`` (``artifacts`` left to the writer)."""
    derived_from_previous_model = n % 10 == 0 and n and model == model_id(n)  # not a HIST-<depth> model
    parents = [version_name(index - 1)] if index else ([f"{model_id(n - 1)}@{version_name(versions - 1)}"] if derived_from_previous_model else [])
    return {
        "model": model,
        "version": version_name(index),
        "training_period": f"2025-{index % 12 + 1:02d}",
        "key_change": f"retrained with {3 + index % 5} new features",
        "parents": parents,
        "datasets": [
            {"name": DATASETS[(n + k) % len(DATASETS)], "snapshot": f"2025-{index % 12 + 1:02d}", "scale": f"{k + 1}M rows"}
            for k in range(3)
        ],
        "metrics": {
            "auc": round(0.70 + ((n * 31 + index * 7) % 250) / 1000, 4),
            "latency_p99_ms": float(40 + (n + index) % 120),
            "recall_at_10": round(0.20 + ((n + index * 3) % 500) / 1000, 4),
        },
        "parameters": {"learning_rate": 0.05, "depth": 4 + index % 6, "objective": "binary"},
        "environment": {"python": "3.11.9", "packages": {"numpy": "1.26.4", "torch": "2.3.1"}},
        "run": {"system": "metaflow", "pathspec": f"TrainFlow/{n * 100 + index}"},
    }


def artifact_bytes(model: str, version: str) -> bytes:
    return f"weights of {model}@{version}\n".encode()


def models_to_build(count: int, depths: list[int]) -> Iterator[tuple[str, int, int]]:
    """(model id, number, depth of history): the generated models, then one per depth."""
    for n in range(count):
        yield model_id(n), n, 0
    for depth in depths:
        yield history_id(depth), count + depth, depth


def build(root: Path, count: int, versions: int, depths: list[int], batch_models: int = 100) -> int:
    """Write the registry through the library's bulk path (``Registry.register_many``, one
    durable batch per ``batch_models`` models); returns the number of versions."""
    os.environ["SOURCE_DATE_EPOCH"] = str(EPOCH)
    import mreg
    from mreg.lifecycle import State
    from mreg.manifest import ModelSpec
    from mreg.registry import NewVersion

    registry = mreg.init(str(root))
    plan = list(models_to_build(count, depths))
    total = 0
    for start in range(0, len(plan), batch_models):
        chunk = plan[start:start + batch_models]
        batch = []
        for model, n, _ in chunk:
            registry.add_model(ModelSpec.from_data(model_spec(model, n), model))
            batch += [NewVersion(manifest(model, n, index, versions), model,
                                 {"model.bin": artifact_bytes(model, version_name(index))})
                      for index in range(versions)]
        total += len(registry.register_many(batch).registered)
        for model, _, depth in chunk:
            registry.promote(f"{model}@{version_name(versions - 1)}", State.PRODUCTION, reason="generated", force=True)
            for _ in range(depth):
                registry.monitor(model, {"auc": 0.9, "latency_p99_ms": 50.0})
    registry.flush()
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=3000)
    parser.add_argument("--versions", type=int, default=30)
    parser.add_argument("--history", default="", help="comma-separated history depths, e.g. 10,1000,5000")
    parser.add_argument("--out", type=Path, required=True)
    options = parser.parse_args(argv)
    if options.out.exists() and any(options.out.iterdir()):
        parser.error(f"{options.out} is not empty")
    depths = [int(depth) for depth in options.history.split(",") if depth]
    started = time.perf_counter()
    total = build(options.out, options.models, options.versions, depths)
    elapsed = time.perf_counter() - started
    print(f"{options.models + len(depths)} models, {total} versions in {elapsed:.1f} s "
          f"({1000 * elapsed / max(total, 1):.2f} ms/version)", file=sys.stderr)


if __name__ == "__main__":
    main()
