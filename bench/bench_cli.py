"""Everyday commands on a large registry, each a fresh ``mreg`` process as a user runs it.

    python bench/bench_cli.py [--models 3000] [--runs 5]

Baseline in the same run: ``python -c pass`` (interpreter start-up, which every command
pays). "cold" deletes the derived cache (.cache/) first, so every file is read and parsed;
"warm" reuses it. The registry is the one bench_lineage.py generates (and keeps).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

from bench_lineage import generated_registry, model_id


def run(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    root = generated_registry(options.models)
    mreg = [sys.executable, "-m", "mreg", "--registry", str(root)]
    baseline = statistics.median(run([sys.executable, "-c", "pass"]) for _ in range(options.runs))
    print(f"{options.models} models; medians of {options.runs}; python -c pass = {baseline:.3f} s")
    commands = {
        "mreg --help": ["--help"],
        "mreg models": ["models"],
        "mreg models --json": ["models", "--json"],
        "mreg show MODEL": ["show", model_id(options.models // 2)],
        "mreg status MODEL": ["status", model_id(options.models // 2)],
        "mreg log (all models)": ["log", "--json"],
    }
    for name, args in commands.items():
        shutil.rmtree(root / ".cache", ignore_errors=True)
        cold = run(mreg + args)
        warm = statistics.median(run(mreg + args) for _ in range(options.runs))
        print(f"  {name:24} cold {cold:7.3f} s   warm {warm:7.3f} s   warm/baseline {warm / baseline:5.1f}x")


if __name__ == "__main__":
    main()
