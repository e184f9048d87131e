"""The bench/run.py workload on the peers: MLflow's model registry (API on sqlite) and GTO (CLI on git).

    bench/peers.sh [SIZES]        # installs each peer in its own venv, then runs this with it

    python bench/peers.py mlflow|gto --sizes 3x10,300x10 --python VENV_PYTHON [--runs 5]

Each peer gets a store of the same shape (MODELS registered models x VERSIONS versions,
the newest one in production) built once under ``bench/results/peer-<tool>-<size>/``, and
each command runs as a fresh process: for MLflow a short ``python -c`` over
``MlflowClient`` (that is what a script or CLI wrapper pays), for GTO its own CLI. Results
go to ``bench/results/peer-<tool>-<size>.json`` with bench/run.py's command names, so
``bench/report.py`` puts them side by side.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

from measure import run_process, summary  # noqa: E402

MLFLOW_PRELUDE = (
    "import sys; from mlflow import MlflowClient; "
    "c = MlflowClient(tracking_uri='sqlite:///{db}', registry_uri='sqlite:///{db}'); "
)


def model_name(n: int) -> str:
    return f"GEN-{n:04d}"


class MLflow:
    def __init__(self, python: str, root: Path) -> None:
        self.python, self.root, self.db = python, root, root / "mlflow.db"

    def script(self, body: str) -> list[str]:
        return [self.python, "-c", MLFLOW_PRELUDE.format(db=self.db) + body]

    def build(self, models: int, versions: int) -> None:
        body = (
            f"for n in range({models}):\n"
            "    name = f'GEN-{n:04d}'\n"
            "    c.create_registered_model(name)\n"
            f"    for v in range({versions}):\n"
            "        mv = c.create_model_version(name, source=f'/artifacts/{name}/{v}', tags={'auc': '0.9'})\n"
            "    c.set_registered_model_alias(name, 'production', mv.version)\n"
        )
        subprocess.run([self.python, "-c", MLFLOW_PRELUDE.format(db=self.db).replace("; ", "\n") + "\n" + body],
                       check=True)

    def commands(self, model: str, newest: int) -> dict:
        counter = iter(range(10**6))
        return {
            "models": lambda: self.script(  # every page: one holds at most 1,000 models
                "page = c.search_registered_models(max_results=1000); names = [m.name for m in page]\n"
                "while page.token:\n"
                "    page = c.search_registered_models(max_results=1000, page_token=page.token); names += [m.name for m in page]\n"),
            "show M": lambda: self.script(f"c.get_registered_model('{model}'); c.search_model_versions(\"name='{model}'\")"),
            "show M@V": lambda: self.script(f"c.get_model_version('{model}', '{newest}')"),
            "status M": lambda: self.script(f"c.get_model_version_by_alias('{model}', 'production')"),
            "register (1 KiB)": lambda: self.script(f"c.create_model_version('{model}', source='/artifacts/x/{next(counter)}')"),
            "promote": lambda: self.script(f"c.set_registered_model_alias('{model}', 'candidate', '{newest}')"),
        }

    def api_register(self, count: int) -> dict:
        """In-process ``create_model_version``, median of ``count``, on a fresh sqlite store."""
        code = (MLFLOW_PRELUDE.format(db=self.root / "api.db").replace("; ", "\n") +
                "\nimport time, statistics\nc.create_registered_model('API')\nt = []\n"
                f"for i in range({count}):\n    s = time.perf_counter(); c.create_model_version('API', source=f'/a/{{i}}'); "
                "t.append(time.perf_counter() - s)\nprint(statistics.median(t))\n")
        out = subprocess.run([self.python, "-c", code], check=True, capture_output=True, text=True).stdout
        return {"register_ms": round(1000 * float(out.split()[-1]), 2), "count": count}


class GTO:
    """GTO keeps registrations and stage assignments as annotated git tags (``M@v1.0.N``,
    ``M#prod#N``) and artifacts in ``artifacts.yaml``."""

    def __init__(self, python: str, root: Path) -> None:
        self.gto = str(Path(python).parent / "gto")
        self.root = root

    def git(self, *args: str) -> None:
        subprocess.run(["git", "-C", str(self.root), *args], check=True, capture_output=True)

    def build(self, models: int, versions: int) -> None:
        self.root.mkdir(parents=True)
        self.git("init", "-q")
        self.git("config", "user.email", "bench@example.com")
        self.git("config", "user.name", "bench")
        lines = [f"{model_name(n)}:\n  type: model\n  path: models/{model_name(n)}.pkl\n" for n in range(models)]
        (self.root / "artifacts.yaml").write_text("".join(lines))
        self.git("add", "artifacts.yaml")
        self.git("commit", "-qm", "artifacts")
        for n in range(models):
            for v in range(versions):  # GTO allows one version per commit
                self.git("commit", "-q", "--allow-empty", "-m", f"{model_name(n)} v1.0.{v}")
                self.git("tag", "-a", f"{model_name(n)}@v1.0.{v}", "-m", f"Registering {model_name(n)} version v1.0.{v}")
            self.git("tag", "-a", f"{model_name(n)}#prod#1", "-m", "Assigning stage prod", f"{model_name(n)}@v1.0.{versions - 1}")

    def commands(self, model: str, newest: int) -> dict:
        counter = iter(range(10**6))

        def register() -> list[str]:
            self.git("commit", "-q", "--allow-empty", "-m", "new weights")
            return [self.gto, "register", model, "--version", f"v2.{next(counter)}.0", "--repo", str(self.root)]

        return {
            "models": lambda: [self.gto, "show", "--repo", str(self.root)],
            "show M": lambda: [self.gto, "show", model, "--repo", str(self.root)],
            "status M": lambda: [self.gto, "show", f"{model}#prod", "--repo", str(self.root)],
            "log M": lambda: [self.gto, "history", model, "--repo", str(self.root)],
            "register (1 KiB)": register,
            "promote": lambda: [self.gto, "assign", model, "--version", f"v1.0.{newest}", "--stage", "staging",
                                "--force", "--repo", str(self.root)],
        }


def measure(commands: dict, runs: int) -> dict:
    samples = {name: [] for name in commands}
    for name, build in commands.items():  # one untimed run: imports cached, store opened once
        run_process(build())
    for _ in range(runs):
        for name, build in commands.items():
            samples[name].append(run_process(build()))
    return {name: {"warm": summary(values)} for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tool", choices=("mlflow", "gto"))
    parser.add_argument("--python", required=True, help="the peer venv's python")
    parser.add_argument("--sizes", default="3x10,300x10")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    kind = {"mlflow": MLflow, "gto": GTO}[options.tool]
    for size in options.sizes.split(","):
        models, versions = (int(part) for part in size.split("x"))
        root = RESULTS / f"peer-{options.tool}-{size}"
        peer = kind(options.python, root)
        if not (root / ".built").exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True, exist_ok=True) if options.tool == "mlflow" else None
            started = time.perf_counter()
            peer.build(models, versions)
            (root / ".built").write_text(f"{time.perf_counter() - started:.1f} s\n")
        newest = versions if options.tool == "mlflow" else versions - 1
        commands = measure(peer.commands(model_name(models // 2), newest), options.runs)
        result = {"size": size, "models": models, "versions": versions, "label": options.tool,
                  "runs": options.runs, "cold_runs": 0, "commands": commands}
        (RESULTS / f"peer-{options.tool}-{size}.json").write_text(json.dumps(result, indent=2) + "\n")
    if options.tool == "mlflow":
        api = MLflow(options.python, RESULTS / f"peer-mlflow-{options.sizes.split(',')[0]}").api_register(50)
        (RESULTS / "peer-mlflow-api.json").write_text(json.dumps(api, indent=2) + "\n")


if __name__ == "__main__":
    main()
