"""register --from-metaflow: a real local Metaflow run of examples/metaflow/recommendation_flow.py
(local datastore and metadata in a temp dir), read through Metaflow's client, registered
through the CLI, its bytes pulled back and compared with what Metaflow itself returns."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, Cli, snapshot

# not imported here: Metaflow reads its configuration (datastore root) once, on first import,
# which must happen after the fixture below has pointed it at the test's directory
if importlib.util.find_spec("metaflow") is None:
    pytest.skip("metaflow is not installed (pip install 'mreg[metaflow]')", allow_module_level=True)
pytestmark = pytest.mark.local_only

FLOW = REPO / "examples" / "metaflow" / "recommendation_flow.py"
NAME = "RecommendationEnsembleFlow"


def _metaflow_env(root: Path) -> dict[str, str]:
    return {
        "HOME": str(root / "home"), "USERNAME": "tester", "METAFLOW_USER": "tester",
        "METAFLOW_DEFAULT_DATASTORE": "local", "METAFLOW_DEFAULT_METADATA": "local",
        "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(root / "datastore"),
    }


def _run_flow(root: Path, env: dict[str, str], *args: str, check: bool = True, extra: dict | None = None) -> str:
    id_file = root / f"run-{len(list(root.glob('run-*')))}.id"
    done = subprocess.run([sys.executable, str(FLOW), "run", "--run-id-file", str(id_file), *args],
                          cwd=root, env={**os.environ, **env, **(extra or {})}, capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stderr[-2000:]
    return id_file.read_text().strip()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One successful run (with a code package) and one that failed, shared by the module."""
    root = tmp_path_factory.mktemp("metaflow")
    (root / "home").mkdir()
    env = _metaflow_env(root)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        good = _run_flow(root, env, "--lr", "0.02", "--tag", "nightly", extra={"METAFLOW_FEAT_ALWAYS_UPLOAD_CODE_PACKAGE": "1"})
        failed = _run_flow(root, env, "--epochs", "0", check=False)
        yield {"root": root, "env": env, "good": good, "failed": failed}


@pytest.fixture
def rec(runs, cli, monkeypatch) -> Cli:
    for key, value in runs["env"].items():
        monkeypatch.setenv(key, value)
    cli.ok("model", "add", "MDL-REC", "--name", "Recommendation Ensemble")
    return cli


def _from_metaflow(runs, expression: str) -> str:
    """What Metaflow's own client says, in a separate process: the test's independent witness."""
    code = f"import metaflow, sys\nmetaflow.namespace(None)\nsys.stdout.write(repr({expression}))"
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, **runs["env"]}, capture_output=True,
                          text=True, timeout=120, cwd=runs["root"])
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_register_records_the_run_its_parameters_and_the_artifact_bytes(runs, rec, tmp_path):
    pathspec = f"{NAME}/{runs['good']}/train"
    rec.ok("register", "MDL-REC@v12.5", "--from-metaflow", pathspec, "--artifact", "model", "--artifact", "eval",
           "--dataset-from", "Member interaction history=snapshot")
    manifest = json.loads(rec.ok("show", "MDL-REC@v12.5", "--json"))["manifest"]
    run = manifest["run"]
    assert run["system"] == "metaflow" and run["pathspec"] == pathspec
    assert (run["flow"], run["run_id"], run["step"], run["steps"]) == (NAME, runs["good"], "train", ["start", "train", "end"])
    assert run["user"] == "tester" and run["tags"] == ["nightly"]
    assert run["started_at"] < run["finished_at"] and run["finished_at"].endswith("Z")
    assert len(run["code_package"]["sha"]) == 40  # Metaflow's content address of the code package
    assert manifest["parameters"] == {"embedding_dim": 8, "epochs": 30, "lr": 0.02, "seed": 7, "snapshot": "2025-10-31"}
    assert manifest["datasets"] == [{"name": "Member interaction history", "snapshot": "2025-10-31"}]
    shas = {artifact["name"]: artifact["sha"] for artifact in run["artifacts"]}
    task = f"metaflow.Step('{pathspec}').task"
    assert shas == {"model": eval(_from_metaflow(runs, f"{task}['model'].sha")),
                    "eval": eval(_from_metaflow(runs, f"{task}['eval'].sha"))}

    rec.ok("pull", "MDL-REC@v12.5", "-o", str(tmp_path / "pulled"))
    assert (tmp_path / "pulled" / "model").read_bytes() == eval(_from_metaflow(runs, f"{task}['model'].data"))
    assert json.loads((tmp_path / "pulled" / "eval.json").read_text()) == eval(_from_metaflow(runs, f"{task}['eval'].data"))


def test_the_run_is_a_lineage_node_with_its_flow_and_steps(runs, rec):
    pathspec = f"{NAME}/{runs['good']}/train"
    rec.ok("register", "MDL-REC@v12.5", "--from-metaflow", pathspec, "--artifact", "model")
    graph = json.loads(rec.ok("lineage", "MDL-REC@v12.5", "--format", "json"))
    node = next(node for node in graph["nodes"] if node["id"] == f"run:{pathspec}")
    assert node["type"] == "run" and node["flow"] == NAME and node["steps"] == ["start", "train", "end"]
    assert {"source": f"run:{pathspec}", "target": "version:MDL-REC@v12.5"}.items() <= next(
        edge for edge in graph["edges"] if edge["source"] == f"run:{pathspec}").items()


def test_a_run_without_a_step_takes_the_end_steps_artifacts_and_more_params_override(runs, rec, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("lr: 0.05\noptimizer:\n  name: sgd\n")
    rec.ok("register", "MDL-REC@v1", "--from-metaflow", f"{NAME}/{runs['good']}", "-a", "eval", "--params", str(params))
    manifest = json.loads(rec.ok("show", "MDL-REC@v1", "--json"))["manifest"]
    assert manifest["run"]["pathspec"] == f"{NAME}/{runs['good']}" and "step" not in manifest["run"]
    assert manifest["parameters"]["lr"] == 0.05 and manifest["parameters"]["optimizer.name"] == "sgd"
    assert [a["path"] for a in manifest["artifacts"]] == ["eval.json"]


@pytest.mark.parametrize("pathspec, artifacts, code, message", [
    ("{failed}", ["eval"], 2, "the run failed at step start"),
    ("{good}/evaluate", ["eval"], 3, "the run has no step 'evaluate' (its steps: start, train, end)"),
    ("{good}/train", ["model", "weights"], 3, "no artifact 'weights'"),
    ("{good}1", ["eval"], 3, "the flow has no such run"),
    ("NoSuchFlow", ["eval"], 2, "expects FLOW/RUN"),
])
def test_an_unusable_run_is_one_error_line_and_nothing_is_written(runs, rec, registry_url, pathspec, artifacts, code, message):
    spec = pathspec.format(**runs)
    spec = spec if spec.startswith("NoSuch") else f"{NAME}/{spec}"
    before = snapshot(registry_url)
    outcome = rec("register", "MDL-REC@v2", "--from-metaflow", spec, *[arg for name in artifacts for arg in ("-a", name)])
    assert outcome.exit_code == code, outcome.stderr
    assert outcome.stderr.startswith("error: ") and message in outcome.stderr and outcome.stderr.count("\n") == 1
    assert snapshot(registry_url) == before


def test_artifact_values_become_bytes_by_type():
    from mreg.integrations.metaflow import artifact_bytes

    assert artifact_bytes("model", b"\x00weights") == ("model", b"\x00weights")
    assert artifact_bytes("notes", "héllo") == ("notes.txt", "héllo".encode())
    assert artifact_bytes("eval", {"b": 1, "a": [0.5]}) == ("eval.json", b'{\n  "a": [\n    0.5\n  ],\n  "b": 1\n}\n')
    numpy = pytest.importorskip("numpy")
    name, data = artifact_bytes("w", numpy.arange(3.0))
    assert name == "w.npy" and numpy.load(__import__("io").BytesIO(data)).tolist() == [0.0, 1.0, 2.0]
    assert artifact_bytes("nan", float("nan"))[0] == "nan.pkl"  # not JSON: pickled, never lost


@pytest.mark.parametrize("url, package", [
    ("https://files.example/numpy-2.1.3-cp311-cp311-manylinux_2_17_x86_64.whl", ("numpy", "2.1.3")),
    ("https://files.example/pkgs/main/linux-64/python-3.11.9-h955ad1f_0.conda#sha256=ab", ("python", "3.11.9")),
    ("https://files.example/scikit-learn-1.5.2.tar.gz", ("scikit-learn", "1.5.2")),
    ("https://files.example/readme.html", None),
])
def test_pypi_and_conda_package_files_name_their_package_and_version(url, package):
    from mreg.integrations.metaflow import package_from_url

    assert package_from_url(url) == package
