"""The CI recipes run as written: the pre-commit hook under real pre-commit, and every
``run:`` line of docs/ci.md's GitHub Actions workflow against a copy of the example."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLE, REPO, write
from mreg.codec import load_yaml

pytestmark = pytest.mark.local_only


def run(*args: str, cwd: Path, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, f"{args} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture
def shell_env(tmp_path) -> dict[str, str]:
    """What a CI runner has: ``mreg`` on PATH (this checkout's), git with an identity, no index."""
    bin_dir = tmp_path / "bin"
    write(bin_dir / "mreg", f'#!/bin/sh\nexec {sys.executable} -m mreg "$@"\n').chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
            "HOME": str(tmp_path), "GIT_AUTHOR_NAME": "dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
            "GIT_COMMITTER_NAME": "dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
            "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PRE_COMMIT_HOME": str(tmp_path / "pre-commit")}


def registry_repo(where: Path, env: dict) -> Path:
    """A git repository holding a copy of registry-example, committed on main."""
    shutil.copytree(EXAMPLE, where, ignore=shutil.ignore_patterns(".cache", ".tmp"))
    run("git", "init", "-q", "-b", "main", cwd=where, env=env)
    run("git", "add", "-A", cwd=where, env=env)
    run("git", "commit", "-q", "-m", "registry", cwd=where, env=env)
    return where


# --- pre-commit -------------------------------------------------------------------------

def test_the_pre_commit_hook_passes_a_clean_registry_and_fails_a_tampered_one(tmp_path, shell_env):
    if shutil.which("pre-commit", path=shell_env["PATH"]) is None:
        pytest.fail("pre-commit is part of the test extra (pip install -e '.[test]')")
    repo = registry_repo(tmp_path / "repo", shell_env)
    hooks = load_yaml((REPO / ".pre-commit-hooks.yaml").read_bytes(), ".pre-commit-hooks.yaml")
    assert {hook["id"] for hook in hooks} == {"mreg-verify", "mreg-verify-deep"}

    write(tmp_path / "weights.bin", b"weights")  # a new version staged: the hook runs and passes
    run("mreg", "register", "MDL-REC@v12.5", "-a", str(tmp_path / "weights.bin"), cwd=repo, env=shell_env)
    run("git", "add", "-A", cwd=repo, env=shell_env)
    clean = run("pre-commit", "try-repo", str(REPO), "mreg-verify-deep", cwd=repo, env=shell_env, check=False)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout

    manifest = repo / "models/MDL-REC/versions/v12.0.yaml"
    manifest.chmod(0o644)
    manifest.write_text(manifest.read_text().replace("engagement_rate: 0.", "engagement_rate: 0.9"))
    run("git", "add", "-A", cwd=repo, env=shell_env)
    tampered = run("pre-commit", "try-repo", str(REPO), "mreg-verify", cwd=repo, env=shell_env, check=False)
    assert tampered.returncode == 1 and "Failed" in tampered.stdout
    assert "exit code: 5" in tampered.stdout
    assert "FAIL models/MDL-REC/versions/v12.0.yaml" in tampered.stdout


# --- the GitHub Actions workflow --------------------------------------------------------

def workflow() -> dict:
    text = (REPO / "docs" / "ci.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "jobs:" in b)
    return load_yaml(block.encode(), "docs/ci.md")


def run_job(name: str, repo: Path, env: dict, expressions: dict[str, str]) -> tuple[int, str]:
    """Every ``run:`` step of one job, in order, as Actions runs them (bash -eo pipefail);
    ``${{ }}`` expressions in the job's env get the values a real event would give."""
    job = workflow()["jobs"][name]
    job_env = {key: re.sub(r"\$\{\{\s*(.*?)\s*\}\}", lambda m: expressions[m[1]], value)
               for key, value in (job.get("env") or {}).items()}
    output = ""
    for step in job["steps"]:
        if "run" not in step:
            assert step["uses"].split("@")[0] in {"actions/checkout", "actions/setup-python", "actions/upload-artifact"}
            continue
        assert "${{" not in step["run"], "run lines take expressions through env:"
        done = run("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"], cwd=repo,
                   env={**env, **job_env}, check=False)
        output += done.stdout + done.stderr
        if done.returncode != 0:
            return done.returncode, output
    return 0, output


def register(repo: Path, env: dict, version: str, **metrics: float) -> None:
    current = load_yaml((EXAMPLE / "models/MDL-REC/versions/v12.4.yaml").read_bytes(), "v12.4")["metrics"]
    manifest = write(repo.parent / f"{version}.yaml", "metrics:\n" + "".join(
        f"  {name}: {value}\n" for name, value in {**current, **metrics}.items()) + "key_change: retrained\n")
    weights = write(repo.parent / f"{version}.bin", f"weights of {version}")
    run("mreg", "register", f"MDL-REC@{version}", "-f", str(manifest), "-a", str(weights), "--parent", "v12.4",
        cwd=repo, env=env)
    run("git", "add", "-A", cwd=repo, env=env)
    run("git", "commit", "-q", "-m", f"Register MDL-REC@{version}", cwd=repo, env=env)


def checkout(origin: Path, ref: str, where: Path, env: dict) -> Path:
    """What actions/checkout with fetch-depth 0 leaves: a fresh clone at ``ref``, origin/* fetched."""
    run("git", "clone", "-q", str(origin), str(where), cwd=origin.parent, env=env)
    run("git", "checkout", "-q", ref, cwd=where, env=env)
    return where


def test_the_workflow_gates_publishes_the_card_and_promotes_as_written(tmp_path, shell_env):
    origin = tmp_path / "origin.git"
    run("git", "init", "-q", "--bare", "-b", "main", str(origin), cwd=tmp_path, env=shell_env)
    repo = registry_repo(tmp_path / "dev", shell_env)
    run("git", "remote", "add", "origin", str(origin), cwd=repo, env=shell_env)
    run("git", "push", "-q", "origin", "main", cwd=repo, env=shell_env)
    summary = tmp_path / "summary.md"
    env = {**shell_env, "GITHUB_STEP_SUMMARY": str(summary)}

    # a pull request registering a version that regresses on latency: the gate refuses it
    run("git", "checkout", "-q", "-b", "worse", cwd=repo, env=env)
    register(repo, env, "v12.6", homepage_latency_p95_ms=280.0)
    run("git", "push", "-q", "origin", "worse", cwd=repo, env=env)
    code, output = run_job("gate", checkout(origin, "worse", tmp_path / "run1", env), env, {"github.base_ref": "main"})
    assert code == 6, output
    assert "homepage_latency_p95_ms" in output

    # a pull request registering a sound version: verified, gated, card published
    run("git", "checkout", "-q", "main", cwd=repo, env=env)
    run("git", "checkout", "-q", "-b", "better", cwd=repo, env=env)
    register(repo, env, "v12.5", engagement_rate=0.3)
    run("git", "push", "-q", "origin", "better", cwd=repo, env=env)
    runner = checkout(origin, "better", tmp_path / "run2", env)
    code, output = run_job("gate", runner, env, {"github.base_ref": "main"})
    assert code == 0, output
    assert (runner / "new-versions.txt").read_text() == "MDL-REC@v12.5\n"
    card = (runner / "cards" / "MDL-REC@v12.5.md").read_text()
    assert "MDL-REC@v12.5" in card and card in summary.read_text()

    # merged: the push job promotes it to candidate and pushes the events
    before = run("git", "rev-parse", "main", cwd=repo, env=env).stdout.strip()
    run("git", "checkout", "-q", "main", cwd=repo, env=env)
    run("git", "merge", "-q", "--ff-only", "better", cwd=repo, env=env)
    run("git", "push", "-q", "origin", "main", cwd=repo, env=env)
    code, output = run_job("promote", checkout(origin, "main", tmp_path / "run3", env), env,
                           {"github.event.before": before})
    assert code == 0, output
    pushed = run("git", "log", "-1", "--format=%s", "main", cwd=origin, env=env).stdout.strip()
    assert pushed == "Promote MDL-REC@v12.5 to candidate"
    run("git", "pull", "-q", "origin", "main", cwd=repo, env=env)
    status = run("mreg", "status", "MDL-REC", cwd=repo, env=env).stdout
    assert re.search(r"v12\.5\s+Candidate", status), status
