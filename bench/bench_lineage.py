"""Benchmark: lineage of one model, and impact of a dataset, on a generated 3,000-model registry.

The registry is written through the library (``Registry.add_model``/``register``/``promote``),
once, into ``bench/results/registry-<N>`` (kept between runs; delete it to regenerate).
Every query runs as a fresh ``mreg`` subprocess, as a user would run it: "cold" drops the
derived caches under ``.cache/`` first, "warm" runs after a previous query filled them.
Medians are printed as a table and written to ``bench/results/lineage.json``.

    python bench/bench_lineage.py [--models 3000] [--runs 5] [--cold-runs 1]

A cold query that needs the reference index reads every file once (minutes at 3,000
models), so cold runs default to one.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
SERVICES = [f"Service {n}" for n in range(60)]
DATASETS = [f"Dataset {n}" for n in range(400)]
VERSIONS = ("v1", "v2", "v3")


def model_id(n: int) -> str:
    return f"GEN-{n:04d}"


def generate(root: Path, count: int) -> None:
    """Write ``count`` models with three versions each: parents chain within a model, every
    tenth model's first version derives from the previous model, datasets and services drawn
    from shared pools so queries cross models."""
    import mreg
    from mreg.lifecycle import State
    from mreg.manifest import ModelSpec

    registry = mreg.init(str(root))
    for n in range(count):
        model = model_id(n)
        registry.add_model(ModelSpec.from_data({
            "id": model, "name": f"Generated model {n}",
            "dependencies": {
                "upstream": [SERVICES[n % 40], SERVICES[(n * 7) % 40]],
                "downstream": [SERVICES[40 + n % 20]],
            },
        }, model))
        for index, version in enumerate(VERSIONS):
            parents = [VERSIONS[index - 1]] if index else ([f"{model_id(n - 1)}@v3"] if n and n % 10 == 0 else [])
            manifest = {
                "datasets": [
                    {"name": DATASETS[(n + k) % len(DATASETS)], "snapshot": f"2025-{index + 1:02d}"} for k in range(3)
                ],
                "artifacts": [{"path": "model.pt", "digest": f"sha256:{n:032x}{index:032x}", "size": 1}],
                "run": {"system": "metaflow", "pathspec": f"TrainFlow/{n * 10 + index}"},
            }
            registry.register(f"{model}@{version}", manifest, parents=parents)
        registry.promote(f"{model}@v3", State.PRODUCTION, reason="generated", force=True)
    registry.flush()


def generated_registry(count: int) -> Path:
    """The generated registry of ``count`` models under bench/results, made once and kept."""
    root = RESULTS / f"registry-{count}"
    if not (root / "mreg.yaml").exists():
        shutil.rmtree(root, ignore_errors=True)
        root.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        generate(root, count)
        print(f"generated {count} models in {time.perf_counter() - started:.1f} s")
    return root


def timed(root: Path, args: list[str], cold: bool) -> float:
    if cold:
        shutil.rmtree(root / ".cache", ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mreg", "--registry", str(root), *args],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=1)
    options = parser.parse_args()
    root = generated_registry(options.models)
    middle = model_id(options.models // 2)
    queries = {
        "lineage MODEL@v3 --upstream": ["lineage", f"{middle}@v3", "--upstream", "--format", "json"],
        "lineage MODEL@v3 --both": ["lineage", f"{middle}@v3", "--format", "json"],
        "lineage MODEL --both": ["lineage", middle, "--format", "dot"],
        "impact dataset:NAME": ["impact", f"dataset:{DATASETS[7]}", "--json"],
        "impact service:NAME": ["impact", f"service:{SERVICES[3]}", "--json"],
        "show MODEL (baseline)": ["show", middle],
        "mreg --help": ["--help"],
    }
    report = {}
    for name, args in queries.items():
        cold = [timed(root, args, cold=True) for _ in range(options.cold_runs)]
        timed(root, args, cold=False)
        warm = [timed(root, args, cold=False) for _ in range(options.runs)]
        report[name] = {"cold_median_s": round(statistics.median(cold), 3),
                        "warm_median_s": round(statistics.median(warm), 3)}
        print(f"{name:32} cold {report[name]['cold_median_s']:6.3f} s   warm {report[name]['warm_median_s']:6.3f} s")
    (RESULTS / "lineage.json").write_text(json.dumps({"models": options.models, "runs": options.runs,
                                                      "cold_runs": options.cold_runs,
                                                      "medians": report}, indent=2) + "\n")


if __name__ == "__main__":
    main()
