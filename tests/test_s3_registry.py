"""A registry on S3 as a user meets it: bounded requests for listings, the split layout
(manifests local, blobs in S3), and the CLI as a subprocess on an ``s3://`` URL."""

from __future__ import annotations

import json
import os

import pytest

import mreg
from mreg.manifest import ModelSpec
from mreg.store.blobs import object_path
from mreg.store.index import index_location

from conftest import Cli, write
from s3server import counting_requests


def _add_models(registry, count: int) -> None:
    for index in range(count):
        registry.add_model(ModelSpec.from_data({"id": f"M{index:03d}", "name": f"Model {index}"}, "test"))


def _command(registry_url: str, call) -> int:
    """Requests one CLI command costs: open the registry, one library call, flush the cache."""
    registry = mreg.open(registry_url)
    with counting_requests(registry.storage) as requests:
        call(registry)
        registry.flush()
    return sum(requests.values())


@pytest.mark.slow
def test_listing_300_models_costs_a_few_requests_once_the_cache_is_warm(s3_url):
    url = f"{s3_url}/registry"
    _add_models(mreg.init(url), 300)
    mreg.open(url).reindex()  # what a first reader leaves behind, shared by every later one
    warm = _command(url, lambda registry: registry.models())
    assert warm <= 1  # one LIST page (< 1,000 files); the index is on this machine; 1 per file would be 300
    mreg.open(url).update_model(ModelSpec.from_data({"id": "M007", "name": "Renamed"}, "test"))  # another writer
    changed = _command(url, lambda registry: registry.models())
    assert changed <= 1 + 3  # the listing, and the model's changed files: model.yaml, its new event, head.yaml
    index_location(mreg.open(url).storage).unlink()
    cold = _command(url, lambda registry: registry.models())
    assert cold <= 3 * 300 + 3  # one GET per file (model.yaml, model add's event, head.yaml), then the index


def test_showing_a_model_with_100_versions_costs_a_few_requests(s3_url):
    url = f"{s3_url}/registry"
    registry = mreg.init(url)
    _add_models(registry, 1)
    for index in range(100):
        registry.register(f"M000@v{index}")
    registry.flush()
    assert _command(url, lambda registry: registry.show_model("M000")) <= 2
    assert _command(url, lambda registry: registry.show_version("M000@v57")) <= 2


def test_split_layout_keeps_manifests_local_and_blobs_in_s3(s3_url, tmp_path):
    blobs_url = f"{s3_url}/blobs"
    cli = Cli(str(tmp_path / "registry"))
    cli.ok("init", str(tmp_path / "registry"), "--blob-store", blobs_url)
    cli.ok("model", "add", "M1", "--name", "Model 1")
    weights = write(tmp_path / "weights.bin", os.urandom(100_000))
    shown = json.loads(cli.ok("register", "M1@v1", "-a", str(weights), "--json"))
    digest = shown["manifest"]["artifacts"][0]["digest"]

    assert not (tmp_path / "registry" / "objects").exists()
    assert (tmp_path / "registry" / "models/M1/versions/v1.yaml").is_file()
    blob_store = mreg.open(str(tmp_path / "registry")).blobs.storage
    assert blob_store.url == blobs_url and blob_store.exists(object_path(digest))

    cli.ok("pull", "M1@v1", "-o", str(tmp_path / "out"))
    assert (tmp_path / "out/weights.bin").read_bytes() == weights.read_bytes()
    checked = cli.ok("verify", "--deep")
    assert checked.startswith("ok:") and checked.rstrip().endswith(f"1 objects re-hashed in the blob store {blobs_url}")
    assert json.loads(cli.ok("verify", "--json"))["blob_store"] == blobs_url

    blob_store.delete(object_path(digest))
    failed = cli("verify")
    assert failed.exit_code == 5 and object_path(digest) in failed.stdout
    assert f"artifact weights.bin (models/M1/versions/v1.yaml) in the blob store {blobs_url}\n" in failed.stdout


def test_the_cli_works_unchanged_on_an_s3_url_and_draws_no_bar_when_piped(s3_url, tmp_path):
    url = f"{s3_url}/registry"
    cli = Cli(url)
    for args in (("init", url), ("model", "add", "M1", "--name", "Model 1")):
        assert cli.subprocess(*args).exit_code == 0
    weights = write(tmp_path / "weights.bin", os.urandom(40 << 20))
    registered = cli.subprocess("register", "M1@v1", "-a", str(weights))
    assert registered.exit_code == 0 and registered.stderr == ""
    pulled = cli.subprocess("pull", "M1@v1", "-o", str(tmp_path / "out"), "--json")
    assert pulled.exit_code == 0 and json.loads(pulled.stdout)["bytes"] == 40 << 20
    assert (tmp_path / "out/weights.bin").read_bytes() == weights.read_bytes()
    shown = json.loads(cli.subprocess("show", "M1", "--json").stdout)
    assert [row["version"] for row in shown["versions"]] == ["v1"]
    assert "ok:" in cli.subprocess("verify", "--deep").stdout
