"""A command whose optional extra is not installed exits 8 with one line naming the extra,
and leaves the registry as it was. The extras are made unimportable in a real subprocess
(``sys.modules[name] = None`` in a ``sitecustomize``, which is what Python reports for a
package that is not there: ``ModuleNotFoundError``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import mreg
from mreg.manifest import ModelSpec

from conftest import snapshot, write

pytestmark = pytest.mark.local_only


def _without(packages: tuple[str, ...], tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    hide = tmp_path / "hide"
    write(hide / "sitecustomize.py", "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in packages))
    path = os.pathsep.join([str(hide), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y",
           "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    return subprocess.run([sys.executable, "-m", "mreg", *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def registry(tmp_path) -> str:
    url = str(tmp_path / "registry")
    reg = mreg.init(url)
    reg.add_model(ModelSpec(id="M", name="m"))
    reg.register("M@v1", metrics={"latency_ms": 1.0})
    return url


CASES = {
    "metaflow": (("metaflow",), ["register", "M@v2", "--from-metaflow", "Flow/1/train"]),
    "mlflow": (("mlflow",), ["import", "mlflow", "--tracking-uri", "sqlite:///nowhere.db"]),
    "s3": (("s3fs",), ["register", "M@v2", "-a", "s3://bucket/weights.bin"]),
    "judge": (("numpy",), ["judge", "M@v1", "--canary", "samples.yaml", "--baseline", "samples.yaml"]),
}


@pytest.mark.parametrize("extra", sorted(CASES))
def test_a_missing_extra_is_exit_8_naming_what_to_install(extra, registry, tmp_path):
    hidden, args = CASES[extra]
    write(tmp_path / "samples.yaml", "latency_ms: [1.0, 2.0, 3.0]\n")
    before = snapshot(registry)
    done = _without(hidden, tmp_path, "-r", registry, *args)
    assert done.returncode == 8, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: this command needs ")
    assert done.stderr.rstrip().endswith(f"pip install 'mreg[{extra}]'"), done.stderr
    assert "Traceback" not in done.stderr and snapshot(registry) == before


def test_an_s3_registry_without_s3fs_is_exit_8(tmp_path):
    done = _without(("s3fs",), tmp_path, "--registry", "s3://bucket/registry", "models")
    assert done.returncode == 8 and done.stderr == "error: this command needs s3fs, which is not installed: pip install 'mreg[s3]'\n"
