"""A registry committed to git: parallel registrations on branches merge without conflict,
and two branches that change the same model's state conflict, as they should."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import Cli, write

pytestmark = pytest.mark.local_only


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=60)
    if done.returncode != 0 and args[0] != "merge":
        raise AssertionError(f"git {' '.join(args)}: {done.stderr}")
    return done.stdout + done.stderr


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "ci@example.com")
    git(root, "config", "user.name", "CI")
    cli = Cli(str(root / "registry"))
    cli.ok("init", str(root / "registry"))
    cli.ok("model", "add", "M1", "--name", "Model one")
    cli.ok("register", "M1@v1", "-a", str(write(tmp_path / "v1.bin", b"one")))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "start")
    return root


def on_branch(repo: Path, branch: str, *commands: list[str]) -> None:
    git(repo, "checkout", "-q", "-b", branch, "main")
    cli = Cli(str(repo / "registry"))
    for command in commands:
        cli.ok(*command)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", branch)


def test_branches_that_register_versions_and_add_models_merge_cleanly(repo, tmp_path):
    a, b = write(tmp_path / "a.bin", b"alpha"), write(tmp_path / "b.bin", b"beta")
    on_branch(repo, "alice", ["register", "M1@v2", "-a", str(a)], ["model", "add", "M2", "--name", "two"],
              ["register", "M2@v1", "-a", str(a)])
    on_branch(repo, "bob", ["register", "M1@v3", "-a", str(b)], ["model", "add", "M3", "--name", "three"],
              ["promote", "M1@v1", "--to", "experimentation"])
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-edit", "alice")
    out = git(repo, "merge", "--no-edit", "bob")
    assert "CONFLICT" not in out, out
    cli = Cli(str(repo / "registry"))
    assert cli("verify", "--deep").exit_code == 0
    status = cli.ok("status", "M1", "--json")
    assert '"v1": "experimentation"' in status and '"v2": "development"' in status and '"v3": "development"' in status
    assert "M2" in cli.ok("models") and "M3" in cli.ok("models")


def test_two_branches_moving_the_same_model_conflict_in_git(repo):
    on_branch(repo, "alice", ["promote", "M1@v1", "--to", "experimentation", "--reason", "alice"])
    git(repo, "checkout", "-q", "main")
    cli = Cli(str(repo / "registry"))
    cli.ok("promote", "M1@v1", "--to", "experimentation", "--reason", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "main moves too")
    out = git(repo, "merge", "--no-edit", "alice")
    assert "CONFLICT (add/add)" in out and "events/00000002.yaml" in out and "head.yaml" in out  # event 1 is model add


def test_derived_and_temporary_files_are_ignored_by_git(repo):
    cli = Cli(str(repo / "registry"))
    cli.ok("models")
    assert (repo / "registry" / ".cache").exists()
    assert git(repo, "status", "--porcelain") == ""


def test_two_branches_updating_the_same_model_yaml_conflict_in_git(repo, tmp_path):
    """model update is an event recording model.yaml's digest, so parallel updates collide on
    the event's name and the head as state changes do, never merging into a model.yaml that
    no event recorded."""
    alice = write(tmp_path / "alice.yaml", "id: M1\nname: Alice's name\n")
    bob = write(tmp_path / "bob.yaml", "id: M1\nname: Bob's name\n")
    on_branch(repo, "alice", ["model", "update", "M1", "-f", str(alice)])
    on_branch(repo, "bob", ["model", "update", "M1", "-f", str(bob)])
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-edit", "alice")
    out = git(repo, "merge", "--no-edit", "bob")
    assert "CONFLICT" in out and "events/00000002.yaml" in out and "head.yaml" in out and "model.yaml" in out, out
