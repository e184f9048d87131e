"""Whole-process timings of everyday commands at the seed's scale, written to docs/benchmarks.md.

    python bench/run.py [--sizes 3x10,300x10,3000x30] [--runs 5] [--cold-runs 1] [--history 10,1000,5000]

For each size MODELSxVERSIONS a registry is generated once under ``bench/results/``
(``bench/generate.py``, kept between runs) and every command runs as a fresh ``mreg``
process, as a user runs it. Each round runs ``python -c pass`` and ``mreg --help`` next to
the commands, so the ratios compare figures taken under the same machine load. "cold"
deletes the derived index (``.cache/``) before the run; "warm" runs after a previous
command filled it. Each figure is the median, with min-max and the peak RSS of the
process (from ``wait4``). Then the library's ``register`` is timed against the durable
floor (sha256 of the bytes plus two fsynced exclusive creates). Results go to
``bench/results/mreg-<size>.json``; ``bench/report.py`` renders them (and the peers'
from ``bench/peers.sh``) into ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402  (a sibling script)
import report  # noqa: E402
from measure import Sample, run_process, summary  # noqa: E402

PYTHON = sys.executable


def parse_size(text: str) -> tuple[int, int]:
    models, _, versions = text.partition("x")
    return int(models), int(versions)


def registry_for(size: str, depths: list[int], label: str = "") -> Path:
    """The generated registry of ``size`` under bench/results, made once and kept."""
    root = RESULTS / f"registry{label and '-' + label}-{size}"
    if not (root / "mreg.yaml").exists():
        shutil.rmtree(root, ignore_errors=True)
        models, versions = parse_size(size)
        # a process of its own: a child forked from a parent holding mreg would count the
        # parent's pages in its peak RSS
        subprocess.run([PYTHON, str(BENCH / "generate.py"), "--models", str(models), "--versions", str(versions),
                        "--history", ",".join(map(str, depths)), "--out", str(root)], check=True)
    return root


class Workload:
    """The commands of one run against one registry, with fresh names for the writes."""

    def __init__(self, root: Path, models: int, versions: int, depths: list[int], scratch: Path) -> None:
        self.root, self.depths = root, depths
        self.model = generate.model_id(models // 2)
        self.newest = generate.version_name(versions - 1)
        self.tag = f"b{int(time.time())}"
        self.counter = 0
        self.payload = scratch / "weights.bin"
        self.promotable: dict[str, list[str]] = {}
        self.versions = versions

    def mreg(self, *args: str) -> list[str]:
        return [PYTHON, "-m", "mreg", "--registry", str(self.root), *args]

    def _fresh_version(self) -> str:
        self.counter += 1
        return f"{self.tag}-{self.counter}"

    def register(self) -> list[str]:
        """A 1 KiB artifact under a new version name each time."""
        version = self._fresh_version()
        self.payload.write_bytes(version.encode().ljust(1024, b"."))
        self.promotable.setdefault(self.model, []).append(version)
        return self.mreg("register", f"{self.model}@{version}", "-a", str(self.payload))

    def promote(self, model: str) -> list[str]:
        """Development -> Experimentation of a version not moved yet (registered by ``register``
        for the middle model; the generated versions of a history model still in Development)."""
        if model not in self.promotable:  # the registry is kept between runs: ask which are unmoved
            status = subprocess.run(self.mreg("status", model, "--json"), check=True, capture_output=True).stdout
            versions = json.loads(status)["versions"]
            self.promotable[model] = [version for version in (generate.version_name(i) for i in range(self.versions - 1))
                                      if versions.get(version) == "development"]
        queue = self.promotable[model]
        if not queue:
            return []
        return self.mreg("promote", f"{model}@{queue.pop(0)}", "--to", "experimentation")

    def commands(self, find: bool) -> dict[str, callable]:
        ref = f"{self.model}@{self.newest}"
        fixed = {
            "models": ["models"],
            "show M": ["show", self.model],
            "show M@V": ["show", ref],
            "status M": ["status", self.model],
            "log M": ["log", self.model],
            "lineage M@V": ["lineage", ref, "--format", "json"],
            "verify M": ["verify", self.model],
        }
        if find:
            fixed["find"] = ["find", "framework = 'PyTorch' and metrics.auc > 0.9"]
        table = {name: (lambda args=args: self.mreg(*args)) for name, args in fixed.items()}
        table["register (1 KiB)"] = self.register
        table["promote"] = lambda: (self.register_quietly(), self.promote(self.model))[1]
        for depth in self.depths:
            model = generate.history_id(depth)
            table[f"status, {depth} events"] = lambda model=model: self.mreg("status", model)
            table[f"promote, {depth} events"] = lambda model=model: self.promote(model)
        return table

    def register_quietly(self) -> None:
        """An untimed registration, so ``promote`` has a version of its own to move."""
        subprocess.run(self.register(), check=True, stdout=subprocess.DEVNULL)

    def drop_index(self) -> None:
        shutil.rmtree(self.root / ".cache", ignore_errors=True)


def has_find() -> bool:
    probe = subprocess.run([PYTHON, "-m", "mreg", "find", "--help"], capture_output=True)
    return probe.returncode == 0


def compile_bytecode() -> None:
    """Write mreg's bytecode once, as pip does for an installed package: from an editable
    install under ``PYTHONDONTWRITEBYTECODE`` every timed process would compile its ~45
    modules from source again (~80 ms each time)."""
    package = importlib.util.find_spec("mreg").submodule_search_locations[0]
    compileall.compile_dir(package, quiet=1)


def time_commands(work: Workload, runs: int, cold_runs: int) -> dict[str, dict]:
    """Cold then warm samples of every command, each round paired with the two baselines."""
    baselines = {"python -c pass": lambda: [PYTHON, "-c", "pass"], "--help": lambda: work.mreg("--help")}
    table = work.commands(has_find())
    samples: dict[str, dict[str, list[Sample]]] = {name: {"cold": [], "warm": []} for name in [*baselines, *table]}
    for _ in range(cold_runs):
        for name, build in {**baselines, **table}.items():
            args = build()
            if args:
                work.drop_index()
                samples[name]["cold"].append(run_process(args))
    for name, build in table.items():  # fill the index once before the warm rounds
        args = build() if name not in ("register (1 KiB)",) and "promote" not in name else None
        if args:
            run_process(args)
    for _ in range(runs):
        for name, build in {**baselines, **table}.items():
            args = build()
            if args:
                samples[name]["warm"].append(run_process(args))
    return {name: {phase: summary(values) for phase, values in phases.items() if values}
            for name, phases in samples.items()}


def fsync_floor(scratch: Path, count: int) -> float:
    """Seconds per durable 1 KiB registration's unavoidable work: sha256, then two exclusive
    creates (blob and manifest), each written, fsynced and its directory fsynced."""
    times = []
    for index in range(count):
        data = f"{index}".encode().ljust(1024, b"-")
        started = time.perf_counter()
        digest = hashlib.sha256(data).hexdigest()
        for name in (f"blob-{digest}", f"manifest-{index}.yaml"):
            folder = scratch / name[:6]
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, data)
            os.fsync(fd)
            os.close(fd)
            dir_fd = os.open(folder, os.O_RDONLY)
            os.fsync(dir_fd)
            os.close(dir_fd)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def api_register(scratch: Path, count: int) -> dict[str, float]:
    """The library's register (1 KiB distinct artifact each) next to the floor, interleaved."""
    import mreg
    from mreg.manifest import ModelSpec

    registry = mreg.init(str(scratch / "api-registry"))
    registry.add_model(ModelSpec.from_data({"id": "API", "name": "API benchmark"}, "API"))
    payload = scratch / "payload.bin"
    mreg_times, floor_times = [], []
    for index in range(count):
        payload.write_bytes(f"api-{index}".encode().ljust(1024, b"."))
        started = time.perf_counter()
        registry.register(f"API@v{index}", {}, artifact_sources=[str(payload)])
        mreg_times.append(time.perf_counter() - started)
        floor_times.append(fsync_floor(scratch / f"floor-{index}", 1))
    registry.flush()
    mreg_median, floor_median = statistics.median(mreg_times), statistics.median(floor_times)
    return {"register_ms": round(1000 * mreg_median, 2), "floor_ms": round(1000 * floor_median, 2),
            "ratio": round(mreg_median / floor_median, 2), "count": count}


def bulk_import(scratch: Path, count: int) -> dict[str, float]:
    """The bulk path per version, two ways: ``Registry.register_many`` of ``count`` versions
    with a stored artifact each (what bench/generate.py does), and ``mreg import manifests``
    of ``count`` manifest files as a whole process (a migration; records name stored blobs)."""
    import mreg
    from mreg.manifest import ModelSpec
    from mreg.registry import NewVersion

    registry = mreg.init(str(scratch / "bulk-registry"))
    for model in ("BULK", "FILES"):
        registry.add_model(ModelSpec.from_data(generate.model_spec(model, 1), model))
    batch = [NewVersion(generate.manifest("BULK", 1, index, count), "bench",
                        {"model.bin": generate.artifact_bytes("BULK", str(index))}) for index in range(count)]
    started = time.perf_counter()
    registry.register_many(batch)
    api = time.perf_counter() - started
    folder = scratch / "manifests"
    folder.mkdir()
    stored = registry.repository.model_files("BULK").manifests
    for index in range(count):
        record = stored[generate.version_name(index)].manifest.artifacts[0].to_data()
        data = {**generate.manifest("FILES", 1, index, count), "artifacts": [record]}
        (folder / f"{index:05d}.json").write_text(json.dumps(data))
    cli = run_process([PYTHON, "-m", "mreg", "--registry", str(registry.storage.url), "import", "manifests", str(folder)])
    return {"per_version_ms": round(1000 * api / count, 3), "cli_per_version_ms": round(1000 * cli.seconds / count, 3),
            "cli_peak_rss_mib": cli.peak_rss_mib, "count": count}


def mlflow_api(scratch: Path, count: int) -> dict | None:
    """MLflow's ``create_model_version`` on sqlite, in this same run, if bench/peers.sh
    installed its venv (it records a source URI only: no artifact bytes are stored)."""
    python = RESULTS / "venvs" / "mlflow" / "bin" / "python"
    if not python.exists():
        return None
    from peers import MLflow

    (scratch / "mlflow").mkdir()
    return MLflow(str(python), scratch / "mlflow").api_register(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3x10,300x10,3000x30")
    parser.add_argument("--history", default="10,1000,5000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=1)
    parser.add_argument("--api-count", type=int, default=50)
    parser.add_argument("--bulk-count", type=int, default=3000)
    parser.add_argument("--label", default="", help="a name for this run in the JSON (e.g. before)")
    options = parser.parse_args()
    depths = [int(depth) for depth in options.history.split(",") if depth]
    RESULTS.mkdir(parents=True, exist_ok=True)
    compile_bytecode()
    for size in filter(None, options.sizes.split(",")):
        models, versions = parse_size(size)
        root = registry_for(size, depths, options.label)
        with tempfile.TemporaryDirectory() as scratch:
            work = Workload(root, models, versions, depths, Path(scratch))
            commands = time_commands(work, options.runs, options.cold_runs)
        result = {"size": size, "models": models, "versions": versions, "label": options.label,
                  "runs": options.runs, "cold_runs": options.cold_runs, "commands": commands}
        (RESULTS / f"mreg{options.label and '-' + options.label}-{size}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(report.command_table(result))
    if options.api_count:
        with tempfile.TemporaryDirectory() as scratch:
            api = api_register(Path(scratch), options.api_count)
            api["bulk"] = bulk_import(Path(scratch), options.bulk_count)
            mlflow = mlflow_api(Path(scratch), options.api_count)
            if mlflow:
                api["mlflow_ms"] = mlflow["register_ms"]
        (RESULTS / f"mreg{options.label and '-' + options.label}-api.json").write_text(json.dumps(api, indent=2) + "\n")
        print(api)
    report.write()


if __name__ == "__main__":
    main()
