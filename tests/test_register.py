"""Registering versions: artifacts stored once, manifests immutable, refusals change nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import mreg
from mreg.store.blobs import object_path

from conftest import add_model, snapshot, write


@pytest.fixture
def model(cli):
    add_model(cli, "M1")
    return cli


def test_registering_identical_artifacts_again_adds_no_blob(model, tmp_path, registry_url):
    weights = write(tmp_path / "w" / "weights.bin", os.urandom(4096))
    model.ok("register", "M1@v1", "-a", str(weights))
    before = set(mreg.open(registry_url).blobs.all_objects())
    model.ok("register", "M1@v2", "-a", str(weights))
    assert set(mreg.open(registry_url).blobs.all_objects()) == before


def test_show_version_lists_artifacts_with_digest_and_size(model, tmp_path):
    weights = write(tmp_path / "weights.bin", b"12345")
    model.ok("register", "M1@v1", "-a", str(weights), "-m", "auc=0.91")
    shown = json.loads(model.ok("show", "M1@v1", "--json"))
    assert shown["status"] == "development"
    assert shown["manifest"]["metrics"] == {"auc": 0.91}
    assert shown["manifest"]["artifacts"] == [{
        "path": "weights.bin", "digest": "sha256:5994471abb01112afcc18159f6cc74b4f511b99806da59b3caf5a9c173cacfc5", "size": 5,
    }]


def test_pull_returns_identical_bytes(model, tmp_path):
    source = tmp_path / "model"
    write(source / "weights.bin", os.urandom(10_000))
    write(source / "nested" / "config.json", b'{"layers": 3}')
    model.ok("register", "M1@v1", "-a", str(source))
    out = tmp_path / "out"
    result = json.loads(model.ok("pull", "M1@v1", "-o", str(out), "--json"))
    assert {f["path"] for f in result["files"]} == {"model/weights.bin", "model/nested/config.json"}
    for relative in ("weights.bin", "nested/config.json"):
        assert (out / "model" / relative).read_bytes() == (source / relative).read_bytes()


@pytest.mark.local_only
def test_pull_refuses_a_corrupted_blob_and_writes_nothing(model, tmp_path, registry_url):
    weights = write(tmp_path / "weights.bin", b"good weights")
    shown = json.loads(model.ok("register", "M1@v1", "-a", str(weights), "--json"))
    blob = Path(registry_url) / object_path(shown["manifest"]["artifacts"][0]["digest"])
    blob.write_bytes(b"evil weights")
    out = tmp_path / "out"
    outcome = model("pull", "M1@v1", "-o", str(out))
    assert outcome.exit_code == 5
    assert object_path(shown["manifest"]["artifacts"][0]["digest"]) in outcome.stderr
    assert not any(out.rglob("*.bin")) and not any(out.rglob("*partial*"))


def test_pull_does_not_overwrite_a_different_file(model, tmp_path):
    weights = write(tmp_path / "weights.bin", b"registered")
    model.ok("register", "M1@v1", "-a", str(weights))
    out = write(tmp_path / "out" / "weights.bin", b"local edit")
    outcome = model("pull", "M1@v1", "-o", str(out.parent))
    assert outcome.exit_code == 4
    assert out.read_bytes() == b"local edit"


def test_external_artifact_is_recorded_by_digest_not_copied(model, tmp_path, registry_url):
    external = write(tmp_path / "bucket" / "big.bin", b"x" * 1000)
    shown = json.loads(model.ok("register", "M1@v1", "-a", external.as_uri(), "--json"))
    artifact = shown["manifest"]["artifacts"][0]
    assert artifact["kind"] == "external" and artifact["url"] == external.as_uri() and artifact["size"] == 1000
    assert mreg.open(registry_url).blobs.all_objects() == {}
    out = tmp_path / "out"
    model.ok("pull", "M1@v1", "-o", str(out))
    assert (out / "big.bin").read_bytes() == b"x" * 1000


def test_manifest_file_fields_and_parents_are_kept(model, tmp_path):
    model.ok("register", "M1@v1")
    manifest = write(tmp_path / "v2.yaml", (
        "training_period: 2025-Q1\nkey_change: bigger\ndatasets:\n- name: clicks\n  snapshot: '2025-01-31'\n"
        "environment:\n  packages:\n    torch: '2.5'\n"
    ))
    model.ok("register", "M1@v2", "-f", str(manifest), "--parent", "v1")
    shown = json.loads(model.ok("show", "M1@v2", "--json"))["manifest"]
    assert shown["parents"] == ["v1"] and shown["training_period"] == "2025-Q1"
    assert shown["datasets"] == [{"name": "clicks", "snapshot": "2025-01-31"}]


REFUSALS = [
    (["register", "M1@v1"], 4, "already exists"),
    (["register", "M1@../../etc"], 2, "invalid version"),
    (["register", "M1@"], 2, "invalid version"),
    (["register", "NOPE@v1"], 3, "model NOPE not found"),
    (["register", "M1@v9", "-a", "/no/such/file"], 3, "no such file"),
    (["register", "M1@v9", "--parent", "v7"], 3, "M1@v7 not found"),
    (["register", "M1@v9", "--parent", "v9"], 2, "own parent"),
    (["register", "M1@v9", "-m", "auc=high"], 2, "not a number"),
    (["register", "M1@v9", "-f", "{bad}"], 2, "unknown field"),
    (["register", "M1@v9", "-f", "{not yaml}"], 2, "not valid YAML"),
    (["register", "M1@v9", "-a", "{dup}", "-a", "{dup}"], 2, "both be named"),
    (["register", "M1@v9", "-a", "{outside}"], 2, "points outside"),
    (["show", "M1@v404"], 3, "not found"),
    (["model", "add", "M1", "--name", "again"], 4, "already exists"),
    (["model", "add", "bad/name", "--name", "x"], 2, "invalid model id"),
]


@pytest.mark.parametrize("args, code, message", REFUSALS, ids=[" ".join(r[0]) for r in REFUSALS])
def test_a_refused_command_says_why_in_one_line_and_changes_nothing(model, tmp_path, registry_url, args, code, message):
    weights = write(tmp_path / "weights.bin", b"w")
    model.ok("register", "M1@v1", "-a", str(weights))
    bad = write(tmp_path / "bad.yaml", "notes: fine\nsurprise: field\n")
    not_yaml = write(tmp_path / "broken.yaml", "notes: [unclosed\n")
    outside = tmp_path / "leaky"
    write(outside / "ok.bin", "x")
    os.symlink(weights, outside / "link")
    args = [a.replace("{bad}", str(bad)).replace("{not yaml}", str(not_yaml)).replace("{dup}", str(weights))
             .replace("{outside}", str(outside)) for a in args]
    before = snapshot(registry_url)
    outcome = model(*args)
    assert outcome.exit_code == code, outcome.stderr
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert message.lower() in lines[0].lower() or (message == "unknown field" and "surprise" in lines[0])
    assert snapshot(registry_url) == before


def test_register_reads_a_large_file_once(model, tmp_path):
    """Hash and store in one pass: the process reads the file's bytes once, not twice."""
    size = 64 * 1024 * 1024
    big = tmp_path / "big.bin"
    with open(big, "wb") as stream:
        for _ in range(size // (1 << 20)):
            stream.write(os.urandom(1 << 20))
    read = model.bytes_read("register", "M1@big", "-a", str(big))
    assert size <= read < 1.5 * size, f"read {read} bytes for a {size}-byte file"


class CountingStorage:
    """A real store with every call through the ``Storage`` interface recorded as (method, path)."""

    def __init__(self, inner) -> None:
        self.inner, self.url, self.calls = inner, inner.url, []

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def counted(*args, **kwargs):
            self.calls.append((name, args[0] if args else None))
            return method(*args, **kwargs)

        return counted

    def count(self, name: str, path: str | None = None) -> int:
        return sum(1 for called, where in self.calls if called == name and path in (None, where))


def test_register_lists_the_model_once_reads_it_once_and_walks_a_directory_once(
    model, tmp_path, registry_url, monkeypatch
):
    """Issue 9: one LIST of the model (was three on S3), model.yaml read once, and an -a
    directory walked once (was three times: the CLI's progress sizing, collect, put_tree)."""
    import mreg.repository

    tree = tmp_path / "model"
    for name in ("a.bin", "b.bin", "sub/c.bin"):
        write(tree / name, os.urandom(100))
    stores: list[CountingStorage] = []
    real_open = mreg.repository.open_storage
    monkeypatch.setattr(mreg.repository, "open_storage",
                        lambda url: stores.append(CountingStorage(real_open(url))) or stores[-1])
    walked = []
    real_scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path=".": walked.append(Path(path)) or real_scandir(path))

    model.ok("register", "M1@v1", "-a", str(tree), "-m", "auc=0.9")

    storage = stores[0]
    # the model once, and the blob store's markers once (is gc running? mreg.store.markers)
    assert [where for called, where in storage.calls if called == "listing"] == ["models/M1", ".tmp/locks"]
    assert storage.count("read", "models/M1/model.yaml") <= 1  # 0 when the cache holds it
    assert storage.count("create", "models/M1/versions/v1.yaml") == 1
    assert walked.count(tree) == 1 and walked.count(tree / "sub") == 1
    assert json.loads(model.ok("show", "M1@v1", "--json"))["manifest"]["artifacts"][0]["files"] == 3


def test_a_sealed_manifest_is_dumped_once_and_equals_the_example_registry_files():
    """``sealed_yaml`` (one dump, the seal line appended) gives exactly the bytes mreg has
    always written: every manifest of the example registry, rebuilt, is byte-identical."""
    from mreg.manifest import VersionManifest

    example = Path(__file__).resolve().parents[1] / "registry-example"
    paths = sorted(example.glob("models/*/versions/*.yaml"))
    assert paths
    for path in paths:
        raw = path.read_bytes()
        document = VersionManifest.from_yaml(raw, str(path))
        sealed, dumped = document.sealed_yaml()
        assert dumped == raw == sealed.to_yaml()
        assert sealed == document
