"""Environment capture: what is installed, lock files by digest, git state by real git, and
a pinned requirements file that rebuilds the environment (slow test: two real venvs)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from importlib import metadata
from pathlib import Path

import pytest

from conftest import REPO
from mreg import environment
from mreg.manifest import Environment


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True, env=env).stdout


def test_capture_lists_every_installed_distribution_with_its_version(tmp_path):
    captured = environment.capture(tmp_path)
    assert captured.packages["pydantic"] == metadata.version("pydantic")
    assert captured.packages["ruamel-yaml"] == metadata.version("ruamel.yaml")  # canonical names
    assert captured.python == ".".join(map(str, sys.version_info[:3]))
    assert captured.implementation == sys.implementation.name and captured.platform
    assert list(captured.packages) == sorted(captured.packages)
    assert captured.git is None and captured.lock_files == []  # not a git tree, no lock file


def test_lock_files_are_recorded_by_digest_and_git_state_by_real_git(tmp_path):
    (tmp_path / "requirements.txt").write_text("numpy==2.0\n")
    (tmp_path / "requirements-dev.txt").write_text("pytest\n")
    (tmp_path / "uv.lock").write_text("version = 1\n")
    (tmp_path / "notes.txt").write_text("not a lock file\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "start")
    clean = environment.capture(tmp_path)
    assert [lock.path for lock in clean.lock_files] == ["requirements-dev.txt", "requirements.txt", "uv.lock"]
    assert clean.lock_files[1].digest == "sha256:" + hashlib.sha256(b"numpy==2.0\n").hexdigest()
    assert clean.git.commit == git(tmp_path, "rev-parse", "HEAD").strip() and clean.git.dirty is False
    (tmp_path / "train.py").write_text("print('changed')\n")
    assert environment.capture(tmp_path).git.dirty is True


def test_requirements_pin_every_package_and_name_direct_urls():
    env = Environment(python="3.11.7", implementation="cpython", platform="linux-x86_64",
                      packages={"numpy": "2.0.1", "mreg": "0.1.0"}, urls={"mreg": "file:///src/mreg"})
    text = environment.requirements(env)
    assert text.splitlines()[2:] == ["mreg @ file:///src/mreg", "numpy==2.0.1"]
    assert text.splitlines()[:2] == ["# Pinned by mreg from a recorded environment.", "# python 3.11.7 (cpython) on linux-x86_64"]


def _venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True).create(path)
    return path / "bin" / "python"


def _pip(python: Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args],
                   check=True, capture_output=True, timeout=600)


def _captured(python: Path, cwd: Path) -> dict:
    """Capture inside ``python``'s own environment, as ``register --capture-env`` would there."""
    code = "import json; from mreg import environment; print(json.dumps(environment.capture().to_data()))"
    done = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True, cwd=cwd,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    return json.loads(done.stdout)


@pytest.mark.slow
def test_a_captured_venv_is_rebuilt_from_its_requirements_and_captures_the_same(tmp_path):
    """mreg itself plus one pinned package into venv A; A's requirements into a fresh venv B;
    capturing B gives A's environment (packages, urls, interpreter, platform)."""
    first = _venv(tmp_path / "a")
    _pip(first, str(REPO), "six==1.16.0")
    workdir = tmp_path / "work"
    workdir.mkdir()
    captured = _captured(first, workdir)
    assert captured["packages"]["six"] == "1.16.0" and captured["urls"]["mreg"].startswith("file://")
    requirements = tmp_path / "requirements.txt"  # outside the working tree, which stays as captured
    requirements.write_text(environment.requirements(Environment.model_validate(captured)))
    second = _venv(tmp_path / "b")
    _pip(second, "-r", str(requirements))
    recaptured = _captured(second, workdir)
    assert recaptured == captured
