"""Registering in bulk (``Registry.register_many``, ``mreg import manifests``): the checks of
``register`` for every version, all-or-nothing on bad input, idempotent reruns, conflicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mreg
from mreg.errors import Conflict, NotFound, UsageError
from mreg.manifest import ModelSpec
from mreg.registry import NewVersion

from conftest import add_model, snapshot, write


def manifest_text(version: str, *extra: str) -> str:
    return "\n".join([f"model: M1\nversion: {version}\nkey_change: bulk {version}", *extra]) + "\n"


@pytest.fixture
def model(cli):
    add_model(cli, "M1")
    return cli


@pytest.fixture
def exported(tmp_path):
    """A directory of manifests as another system would write them: v1..v3, chained."""
    folder = tmp_path / "exported"
    write(folder / "v1.yaml", manifest_text("v1", "metrics: {auc: 0.8}"))
    write(folder / "nested" / "v2.yaml", manifest_text("v2", "parents: [v1]"))
    write(folder / "v3.json", json.dumps({"model": "M1", "version": "v3", "parents": ["v2"]}))
    return folder


def test_a_directory_of_manifests_imports_as_versions_that_verify(model, exported):
    out = json.loads(model.ok("import", "manifests", str(exported), "--json"))
    assert out == {"registered": ["M1@v1", "M1@v2", "M1@v3"], "already_there": []}
    shown = json.loads(model.ok("show", "M1", "--json"))
    assert [row["version"] for row in shown["versions"]] == ["v1", "v2", "v3"]
    assert json.loads(model.ok("show", "M1@v2", "--json"))["manifest"]["parents"] == ["v1"]
    assert json.loads(model.ok("verify", "--json"))["ok"] is True


def test_importing_again_changes_nothing_and_says_so(model, exported, registry_url):
    model.ok("import", "manifests", str(exported))
    before = snapshot(registry_url)
    assert model.ok("import", "manifests", str(exported)).strip() == "registered 0 versions (3 already there)"
    assert snapshot(registry_url) == before


def test_stdin_takes_a_stream_of_documents_in_a_real_process(model, registry_url):
    stream = manifest_text("v1") + "---\n" + manifest_text("v2", "parents: [v1]") + "--- # a list in one document\n" \
        + json.dumps([{"model": "M1", "version": "v3"}, {"model": "M1", "version": "v4"}]) + "\n"
    done = subprocess.run([sys.executable, "-m", "mreg", "-r", registry_url, "import", "manifests", "-"],
                          input=stream, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "registered 4 versions (0 already there)"), done.stderr
    assert sorted(mreg.open(registry_url).repository.model_files("M1").manifests) == ["v1", "v2", "v3", "v4"]


BAD_BATCHES = {
    "invalid-field": ({"v2.yaml": manifest_text("v2", "colour: blue")}, 2, "unknown field"),
    "unknown-model": ({"v2.yaml": "model: NOPE\nversion: v2\n"}, 3, "model NOPE not found"),
    "missing-parent": ({"v2.yaml": manifest_text("v2", "parents: [v9]")}, 3, "parent M1@v9 is neither registered"),
    "parent-cycle": ({"v2.yaml": manifest_text("v2", "parents: [v3]"), "v3.yaml": manifest_text("v3", "parents: [v2]")},
                     2, "parents form a cycle"),
    "own-parent": ({"v2.yaml": manifest_text("v2", "parents: [v2]")}, 2, "cannot be its own parent"),
    "absent-blob": ({"v2.yaml": manifest_text("v2", "artifacts: [{path: w.bin, digest: 'sha256:" + "ab" * 32 + "', size: 3}]")},
                    2, "is not in the blob store"),
    "twice-differently": ({"a.yaml": manifest_text("v2"), "b.yaml": manifest_text("v2", "notes: other")},
                          2, "with other content"),
    "changed-existing": ({"v1.yaml": manifest_text("v1", "notes: rewritten")}, 4, "already registered with other content"),
    "not-a-mapping": ({"v2.yaml": "- just\n- a list of strings\n"}, 2, "expected a mapping"),
    "bad-seal": ({"v2.yaml": manifest_text("v2", "seal: 'sha256:" + "0" * 64 + "'")}, 2, "seal does not match"),
}


@pytest.mark.parametrize("files,code,message", BAD_BATCHES.values(), ids=BAD_BATCHES.keys())
def test_one_bad_manifest_refuses_the_whole_import_and_writes_nothing(model, tmp_path, registry_url, files, code, message):
    model.ok("register", "M1@v1")
    folder = tmp_path / "batch"
    write(folder / "good.yaml", manifest_text("v5"))  # a fine manifest beside the bad one
    for name, text in files.items():
        write(folder / name, text)
    before = snapshot(registry_url)
    outcome = model("import", "manifests", str(folder))
    assert outcome.exit_code == code, outcome.stderr
    assert message in outcome.stderr and len(outcome.stderr.strip().splitlines()) == 1, outcome.stderr
    assert snapshot(registry_url) == before


def test_a_version_registered_alike_by_register_is_already_there(model, tmp_path):
    model.ok("register", "M1@v1", "-f", str(write(tmp_path / "v1.yaml", manifest_text("v1"))))
    out = json.loads(model.ok("import", "manifests", str(tmp_path / "v1.yaml"), "--json"))
    assert out == {"registered": [], "already_there": ["M1@v1"]}


def test_artifact_records_naming_stored_blobs_are_kept(model, tmp_path):
    weights = write(tmp_path / "w.bin", os.urandom(100))
    record = json.loads(model.ok("register", "M1@v1", "-a", str(weights), "--json"))["manifest"]["artifacts"][0]
    moved = write(tmp_path / "v2.json", json.dumps({"model": "M1", "version": "v2", "artifacts": [record]}))
    model.ok("import", "manifests", str(moved))
    model.ok("pull", "M1@v2", "-o", str(tmp_path / "out"))
    assert (tmp_path / "out" / "w.bin").read_bytes() == weights.read_bytes()


def test_register_many_stores_bytes_as_artifacts_and_keeps_given_stamps(registry):
    registry.add_model(ModelSpec(id="M", name="m"))
    stamped = {"model": "M", "version": "v1", "registered_by": "mlflow:alice", "registered_at": "2024-03-01T10:00:00Z"}
    result = registry.register_many([NewVersion(stamped, files={"w.bin": b"weights"}), {"model": "M", "version": "v2"}])
    assert result.registered == ["M@v1", "M@v2"]
    first = registry.manifest("M@v1")
    assert (first.registered_by, first.registered_at) == ("mlflow:alice", "2024-03-01T10:00:00Z")
    assert registry.blobs.read(first.artifacts[0].digest) == b"weights"
    assert registry.verify(deep=True).ok


def test_register_many_raises_the_errors_register_raises(registry):
    registry.add_model(ModelSpec(id="M", name="m"))
    registry.register_many([{"model": "M", "version": "v1"}])
    with pytest.raises(Conflict):
        registry.register_many([{"model": "M", "version": "v1", "notes": "changed"}])
    with pytest.raises(NotFound):
        registry.register_many([{"model": "M", "version": "v2", "parents": ["nope"]}])
    with pytest.raises(UsageError):
        registry.register_many([NewVersion({"model": "M", "version": "v3"}, files={"../w": b"x"})])
    assert list(registry.repository.model_files("M").manifests) == ["v1"]


VERSIONS = [f"v{n}" for n in range(1, 7)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(st.sampled_from(VERSIONS), min_size=1, max_size=6), min_size=1, max_size=4))
def test_any_sequence_of_overlapping_imports_gives_one_import_of_their_union(tmp_path_factory, batches):
    """Importing batches that overlap, in any order, ends with the same manifests (stamps
    pinned) as registering their union at once: reruns are no-ops, nothing is rewritten."""
    def fill(root):
        registry = mreg.init(str(root))
        registry.add_model(ModelSpec(id="M", name="m"))
        return registry

    def item(version):
        return NewVersion({"model": "M", "version": version, "notes": version},
                          files={"w.bin": version.encode()})

    pinned = {"by": "gen", "at": __import__("datetime").datetime(2025, 1, 1)}
    stepwise = fill(tmp_path_factory.mktemp("stepwise") / "r")
    seen: set[str] = set()
    for batch in batches:
        result = stepwise.register_many([item(v) for v in dict.fromkeys(batch)], **pinned)
        assert set(result.already_there) == {f"M@{v}" for v in set(batch) & seen}
        seen |= set(batch)
    at_once = fill(tmp_path_factory.mktemp("at_once") / "r")
    at_once.register_many([item(v) for v in sorted(seen)], **pinned)
    assert {p: b for p, b in snapshot(stepwise.storage.url).items() if p.startswith(("models/M/versions/", "objects/"))} == \
        {p: b for p, b in snapshot(at_once.storage.url).items() if p.startswith(("models/M/versions/", "objects/"))}
    assert stepwise.verify(deep=True).ok
