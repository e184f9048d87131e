"""Bundles: deterministic bytes, verified before anything is written, fast-forward only."""

from __future__ import annotations

import json
import tarfile

import pytest

import mreg
from mreg.lifecycle import State
from mreg.remotes.bundle import BundleSide, InvalidBundle, write_bundle
from mreg.remotes.plan import Diverged
from mreg.remotes.sides import RegistrySide
from mreg.remotes.transfer import plan_transfer, transfer

from conftest import snapshot
from test_remote_transfer import _registry_with_history


def _bundle(registry, target, *refs):
    side = RegistrySide(registry.repository)
    return write_bundle(target, side, plan_transfer(side, None, list(refs)))


def test_the_same_content_gives_the_same_bytes(tmp_path):
    here = _registry_with_history(str(tmp_path / "here"), tmp_path)
    _bundle(here, tmp_path / "one.mreg", "M1")
    _bundle(mreg.open(str(tmp_path / "here")), tmp_path / "two.mreg", "M1")
    assert (tmp_path / "one.mreg").read_bytes() == (tmp_path / "two.mreg").read_bytes()
    with tarfile.open(tmp_path / "one.mreg") as tar:
        names = tar.getnames()
        assert names[0] == "mreg-bundle.yaml" and names[1:] == sorted(names[1:])
        assert {(m.mtime, m.uid, m.gid, m.uname, m.mode) for m in tar.getmembers()} == {(0, 0, 0, "", 0o644)}


def test_a_bundle_applied_on_a_fresh_registry_verifies_and_pulls_the_same_bytes(tmp_path):
    here = _registry_with_history(str(tmp_path / "here"), tmp_path)
    toc = _bundle(here, tmp_path / "rec.mreg", "M1")
    assert set(toc["models"]["M1"]["versions"]) == {"v1", "v2"} and len(toc["models"]["M1"]["events"]) == 2  # model add, one promotion
    there = mreg.init(str(tmp_path / "there"))
    with BundleSide(tmp_path / "rec.mreg") as bundle:
        report = transfer(bundle, RegistrySide(there.repository))
    assert report.moved["manifests"] == 2 and report.moved["blobs"] == 2
    assert mreg.open(str(tmp_path / "there")).verify(deep=True).ok
    mreg.open(str(tmp_path / "there")).pull("M1@v2", tmp_path / "out")
    assert (tmp_path / "out" / "weights.bin").read_bytes() == b"M1 v2 weights"
    with BundleSide(tmp_path / "rec.mreg") as bundle:
        again = transfer(bundle, RegistrySide(mreg.open(str(tmp_path / "there")).repository))
    assert again.moved["manifests"] == again.moved["events"] == again.moved["blobs"] == 0


def test_a_tampered_bundle_is_refused_before_anything_is_written(tmp_path):
    here = _registry_with_history(str(tmp_path / "here"), tmp_path)
    _bundle(here, tmp_path / "rec.mreg", "M1")
    data = bytearray((tmp_path / "rec.mreg").read_bytes())
    at = data.find(b"M1 v2 weights")
    data[at] ^= 1
    (tmp_path / "bad.mreg").write_bytes(bytes(data))
    mreg.init(str(tmp_path / "there"))
    before = snapshot(tmp_path / "there")
    with pytest.raises(InvalidBundle) as refusal:
        transfer(BundleSide(tmp_path / "bad.mreg"), RegistrySide(mreg.open(str(tmp_path / "there")).repository))
    assert refusal.value.exit_code == 5 and "hashes to" in refusal.value.message
    assert snapshot(tmp_path / "there") == before


def test_applying_over_a_diverged_history_is_refused(tmp_path):
    here = _registry_with_history(str(tmp_path / "here"), tmp_path)
    there = mreg.init(str(tmp_path / "there"))
    transfer(RegistrySide(here.repository), RegistrySide(there.repository))
    here.promote("M1@v1", State.CANDIDATE)
    _bundle(here, tmp_path / "rec.mreg", "M1")
    mreg.open(str(tmp_path / "there")).promote("M1@v2", State.EXPERIMENTATION)
    before = snapshot(tmp_path / "there")
    with pytest.raises(Diverged), BundleSide(tmp_path / "rec.mreg") as bundle:
        transfer(bundle, RegistrySide(mreg.open(str(tmp_path / "there")).repository))
    assert snapshot(tmp_path / "there") == before


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_the_bundle_commands_carry_a_registry_to_a_fresh_one_that_verifies(kind, tmp_path, request):
    """Through real processes: bundle create here, bundle apply on a fresh registry (a
    directory or S3), then verify --deep and pull every version's bytes back."""
    from conftest import Cli
    from test_remotes_cli import _location, _populated

    here = _populated(str(tmp_path / "here"), tmp_path)
    made = here.subprocess("bundle", "create", str(tmp_path / "m1.mreg"), "M1")
    assert made.exit_code == 0, made.stderr
    fresh_url = _location(kind, "fresh", tmp_path, request)
    mreg.init(fresh_url)
    fresh = Cli(fresh_url)
    applied = fresh.subprocess("bundle", "apply", str(tmp_path / "m1.mreg"), "--json")
    assert applied.exit_code == 0, applied.stderr
    assert json.loads(applied.stdout)["moved"] == {"models": 1, "manifests": 2, "events": 2, "blobs": 4,
                                                   "bytes": sum(i.size for i in mreg.open(str(tmp_path / "here")).blobs.all_objects().values())}
    checked = fresh.subprocess("verify", "--deep")
    assert checked.exit_code == 0 and checked.stdout.startswith("ok: 1 models, 2 versions, 2 events, 4 objects re-hashed")
    for version in ("v1", "v2"):
        assert fresh.subprocess("pull", f"M1@{version}", "-o", str(tmp_path / "out" / version)).exit_code == 0
    assert (tmp_path / "out" / "v1" / "w.bin").read_bytes() == (tmp_path / "art" / "w.bin").read_bytes()
    assert {p.name: p.read_text() for p in (tmp_path / "out" / "v2" / "tree").iterdir()} == {"a.txt": "alpha", "b.txt": "beta"}
    assert json.loads(fresh.ok("status", "M1", "--json"))["versions"] == {"v1": "experimentation", "v2": "development"}
