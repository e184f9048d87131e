"""push, fetch, clone, pull and remotes through the CLI, on every pair of backends."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import mreg
from mreg.codec import load_yaml

from conftest import Cli, snapshot, stored_bytes, write

PAIRS = [("local", "local"), ("local", "s3"), ("s3", "local"), ("s3", "s3")]


def _location(kind: str, name: str, tmp_path: Path, request) -> str:
    return f"{request.getfixturevalue('s3_url')}/{name}" if kind == "s3" else str(tmp_path / name)


def _populated(url: str, tmp_path: Path) -> Cli:
    mreg.init(url)
    cli = Cli(url)
    cli.ok("model", "add", "M1", "--name", "Model one")
    write(tmp_path / "art" / "tree" / "a.txt", "alpha")
    write(tmp_path / "art" / "tree" / "b.txt", "beta")
    write(tmp_path / "art" / "w.bin", b"\x00weights")
    cli.ok("register", "M1@v1", "-a", str(tmp_path / "art" / "w.bin"))
    cli.ok("register", "M1@v2", "-a", str(tmp_path / "art" / "tree"))
    cli.ok("promote", "M1@v1", "--to", "experimentation")
    return cli


@pytest.mark.parametrize("source_kind,remote_kind", PAIRS)
def test_pushed_and_cloned_elsewhere_it_verifies_and_pulls_the_same_bytes(source_kind, remote_kind, tmp_path, request):
    source_url = _location(source_kind, "here", tmp_path, request)
    remote_url = _location(remote_kind, "remote", tmp_path, request)
    cli = _populated(source_url, tmp_path)
    cli.ok("remote", "add", "origin", remote_url)
    assert load_yaml(stored_bytes(source_url, "mreg.yaml"), "mreg.yaml")["remotes"] == {"origin": remote_url}
    summary = json.loads(cli.ok("push", "--json"))
    stored = sum(info.size for info in mreg.open(source_url).blobs.all_objects().values())  # 3 files + 1 tree listing
    assert summary["moved"] == {"models": 1, "manifests": 2, "events": 2, "blobs": 4, "bytes": stored}
    assert summary["failed"] == [] and summary["destination"].rstrip("/").endswith("remote")
    again = json.loads(cli.ok("push", "--json"))
    assert again["moved"]["blobs"] == again["moved"]["manifests"] == 0 and again["already_there"]["blobs"] == 4

    clone_dir = tmp_path / "clone"
    Cli(str(clone_dir)).ok("clone", remote_url, str(clone_dir))
    clone = Cli(str(clone_dir))
    assert not list((clone_dir / "objects").rglob("*")) if (clone_dir / "objects").exists() else True
    assert "objects/" in (clone_dir / ".gitignore").read_text()
    clone.ok("verify")  # blobs live on the remote: that is not a missing blob
    clone.ok("pull", "M1@v2", "-o", str(tmp_path / "out"))
    clone.ok("pull", "M1@v1", "-o", str(tmp_path / "out1"))
    pulled = {p.relative_to(tmp_path / "out").as_posix(): p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert pulled == {"tree/a.txt": b"alpha", "tree/b.txt": b"beta"}  # the same bytes, and nothing else
    assert (tmp_path / "out1" / "w.bin").read_bytes() == (tmp_path / "art" / "w.bin").read_bytes()
    assert json.loads(clone.ok("show", "M1@v1", "--json"))["status"] == "experimentation"
    clone.ok("verify", "--deep")


@pytest.mark.parametrize("remote_kind", ["local", "s3"])
def test_diverged_histories_are_refused_on_push_and_fetch_naming_model_and_event(remote_kind, tmp_path, request):
    remote = _location(remote_kind, "remote", tmp_path, request)
    cli = _populated(str(tmp_path / "here"), tmp_path)
    cli.ok("remote", "add", "origin", remote)
    cli.ok("push")
    Cli(str(tmp_path / "other")).ok("clone", remote, str(tmp_path / "other"))
    other = Cli(str(tmp_path / "other"))
    other.ok("promote", "M1@v2", "--to", "experimentation")
    other.ok("push")
    cli.ok("promote", "M1@v1", "--to", "candidate")
    before = snapshot(tmp_path / "here"), snapshot(remote)
    for command in ("push", "fetch"):
        outcome = cli(command)
        assert outcome.exit_code == 4, outcome.stderr
        assert outcome.stderr.startswith("error: M1: histories diverged at event 3")
        assert (snapshot(tmp_path / "here"), snapshot(remote)) == before


def test_fetch_fast_forwards_and_dry_runs_change_nothing(tmp_path):
    cli = _populated(str(tmp_path / "here"), tmp_path)
    cli.ok("remote", "add", "origin", str(tmp_path / "remote"))
    planned = json.loads(cli.ok("push", "--dry-run", "--json"))
    assert planned["dry_run"] and planned["moved"]["manifests"] == 2
    assert not (tmp_path / "remote").exists()
    cli.ok("push")
    Cli(str(tmp_path / "other")).ok("clone", str(tmp_path / "remote"), str(tmp_path / "other"))
    other = Cli(str(tmp_path / "other"))
    write(tmp_path / "v3.bin", "three")
    cli.ok("register", "M1@v3", "-a", str(tmp_path / "v3.bin"))
    cli.ok("push", "M1@v3")
    before = snapshot(tmp_path / "other")
    assert json.loads(other.ok("fetch", "--dry-run", "--json"))["moved"]["manifests"] == 1
    assert snapshot(tmp_path / "other") == before
    fetched = json.loads(other.ok("fetch", "--json"))
    assert fetched["moved"]["manifests"] == 1 and fetched["moved"]["blobs"] == 0
    other.ok("pull", "M1@v3", "-o", str(tmp_path / "out3"))
    assert (tmp_path / "out3" / "v3.bin").read_text() == "three"


def test_remotes_are_listed_removed_and_checked(tmp_path):
    cli = _populated(str(tmp_path / "here"), tmp_path)
    cli.ok("remote", "add", "origin", str(tmp_path / "remote"))
    assert json.loads(cli.ok("remote", "list", "--json")) == {"origin": str(tmp_path / "remote")}
    before = snapshot(tmp_path / "here")
    for args, code in ((("remote", "add", "origin", "x"), 4), (("remote", "add", "bad/name", "x"), 2),
                       (("remote", "add", "web", "http://example.com/r"), 2), (("remote", "remove", "nope"), 3),
                       (("push", "--remote", "nope"), 3)):
        outcome = cli(*args)
        assert outcome.exit_code == code and outcome.stderr.startswith("error: "), (args, outcome)
        assert snapshot(tmp_path / "here") == before
    cli.ok("remote", "remove", "origin")
    assert cli("push").exit_code == 2


@pytest.mark.local_only
def test_blobs_stay_out_of_git_in_a_work_tree_and_gc_keeps_unpushed_ones(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    url = str(tmp_path / "repo" / "registry")
    Cli(url).ok("init", url)
    assert "objects/" in (tmp_path / "repo" / "registry" / ".gitignore").read_text()
    write(tmp_path / "big.bin", b"x" * 1000)
    cli = Cli(url)
    cli.ok("model", "add", "M1", "--name", "m")
    cli.ok("register", "M1@v1", "-a", str(tmp_path / "big.bin"))
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=tmp_path / "repo",
                            capture_output=True, text=True, check=True).stdout
    assert "objects/" not in status and "models/M1/versions/v1.yaml" in status
    stray = mreg.open(url).blobs.put_bytes(b"unreferenced").digest
    cli.ok("remote", "add", "origin", str(tmp_path / "remote"))
    kept = json.loads(cli.ok("gc", "--grace", "0", "--json"))
    assert kept["removed"] == [] and kept["kept_unpushed"] == [stray]
    assert json.loads(cli.ok("gc", "--grace", "0", "--include-unpushed", "--json"))["removed"] == [stray]


def test_verify_reports_a_blob_that_is_neither_here_nor_on_any_remote(tmp_path):
    cli = _populated(str(tmp_path / "here"), tmp_path)
    cli.ok("remote", "add", "origin", str(tmp_path / "remote"))
    cli.ok("push")
    Cli(str(tmp_path / "clone")).ok("clone", str(tmp_path / "remote"), str(tmp_path / "clone"))
    manifest = mreg.open(str(tmp_path / "here")).manifest("M1@v1")
    digest = manifest.artifacts[0].digest
    (tmp_path / "remote" / "objects" / "sha256" / digest[7:9] / digest[9:]).unlink()
    outcome = Cli(str(tmp_path / "clone"))("verify")
    assert outcome.exit_code == 5 and "here or on any remote" in outcome.stdout
