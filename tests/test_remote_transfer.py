"""Transfers between two registries through the library: fast-forward, conflicts, resumption."""

from __future__ import annotations

import pytest

import mreg
from mreg.lifecycle import State
from mreg.manifest import ModelSpec
from mreg.remotes.plan import Diverged, VersionConflict
from mreg.remotes.sides import RegistrySide
from mreg.remotes.transfer import transfer

from conftest import snapshot, write


def _registry_with_history(url, tmp_path, model="M1", versions=("v1", "v2")):
    registry = mreg.init(url)
    registry.add_model(ModelSpec.from_data({"id": model, "name": model}, "test"))
    for version in versions:
        artifact = write(tmp_path / "src" / model / version / "weights.bin", f"{model} {version} weights".encode())
        registry.register(f"{model}@{version}", artifact_sources=[str(artifact)])
    registry.promote(f"{model}@{versions[0]}", State.EXPERIMENTATION)
    return registry


def _push(source, destination, *refs, **options):
    return transfer(RegistrySide(source.repository), RegistrySide(destination.repository), list(refs), **options)


def test_a_push_to_an_empty_registry_copies_everything_and_it_verifies(tmp_path):
    here = _registry_with_history(str(tmp_path / "here"), tmp_path)
    there = mreg.init(str(tmp_path / "there"))
    report = _push(here, there)
    assert report.moved == {"models": 1, "manifests": 2, "events": 2, "blobs": 2, "bytes": 26}  # model add, a promotion
    assert mreg.open(str(tmp_path / "there")).verify().ok
    assert snapshot(tmp_path / "there") == {k: v for k, v in snapshot(tmp_path / "here").items()}
    again = _push(here, mreg.open(str(tmp_path / "there")))
    assert again.moved == {"models": 0, "manifests": 0, "events": 0, "blobs": 0, "bytes": 0}
    assert again.already_there == {"manifests": 2, "events": 2, "blobs": 2}


def test_diverged_histories_are_refused_with_nothing_changed(tmp_path):
    here = _registry_with_history(str(tmp_path / "here"), tmp_path)
    there = mreg.init(str(tmp_path / "there"))
    _push(here, there)
    here.promote("M1@v1", State.CANDIDATE)
    mreg.open(str(tmp_path / "there")).promote("M1@v2", State.EXPERIMENTATION)
    before = snapshot(tmp_path / "here"), snapshot(tmp_path / "there")
    with pytest.raises(Diverged) as refusal:
        _push(here, mreg.open(str(tmp_path / "there")))
    assert refusal.value.model == "M1" and refusal.value.seq == 3 and refusal.value.exit_code == 4
    with pytest.raises(Diverged):
        _push(mreg.open(str(tmp_path / "there")), here)
    assert (snapshot(tmp_path / "here"), snapshot(tmp_path / "there")) == before


def test_a_version_registered_differently_on_each_side_is_a_conflict(tmp_path):
    here = _registry_with_history(str(tmp_path / "here"), tmp_path, versions=("v1",))
    there = mreg.init(str(tmp_path / "there"))
    _push(here, there)
    write(tmp_path / "a.bin", b"a")
    write(tmp_path / "b.bin", b"b")
    here.register("M1@v9", artifact_sources=[str(tmp_path / "a.bin")])
    mreg.open(str(tmp_path / "there")).register("M1@v9", artifact_sources=[str(tmp_path / "b.bin")])
    before = snapshot(tmp_path / "there")
    with pytest.raises(VersionConflict):
        _push(here, mreg.open(str(tmp_path / "there")))
    assert snapshot(tmp_path / "there") == before


def test_a_fetch_without_blobs_brings_manifests_and_events_only(tmp_path):
    remote = _registry_with_history(str(tmp_path / "remote"), tmp_path)
    local = mreg.init(str(tmp_path / "local"))
    report = _push(remote, local, with_blobs=False)
    assert report.moved["blobs"] == 0 and report.moved["manifests"] == 2
    assert not list((tmp_path / "local").glob("objects/**/*.*"))
    assert mreg.open(str(tmp_path / "local")).status("M1").versions == {"v1": "experimentation", "v2": "development"}


def test_a_partial_push_stops_the_chain_before_an_event_naming_a_version_left_behind(tmp_path):
    here = _registry_with_history(str(tmp_path / "here"), tmp_path)
    here.promote("M1@v2", State.EXPERIMENTATION)
    there = mreg.init(str(tmp_path / "there"))
    report = _push(here, there, "M1@v1")
    assert report.moved["manifests"] == 1 and report.moved["events"] == 2  # model add, v1's event
    assert mreg.open(str(tmp_path / "there")).verify().ok
