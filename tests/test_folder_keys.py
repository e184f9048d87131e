"""``models`` on a local disk keys each model's kept inventory row by folder identities
(``Repository.derived_for_all``): once a model's folders have settled, a warm ``models`` lists
no model folder, yet a version added, a manifest planted or copied, model.yaml or head.yaml
replaced, or a folder turned into a symbolic link is still seen by the next ``models``."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import mreg
from mreg.repository import FOLDER_KEY
from mreg.registry import SUMMARIES

from conftest import Cli, add_model, settle_folders

pytestmark = pytest.mark.local_only


def _reading(root: Path, command=lambda registry: registry.models()) -> tuple[list, list[str], list[str]]:
    """``command`` (``models``) in a fresh process's registry, the folders it listed and the
    models it read."""
    registry = mreg.open(str(root))
    repository = registry.repository
    listed, read = [], []
    listing, parse_model = repository.storage.listing, repository._parse_model
    repository.storage.listing = lambda prefix: listed.append(prefix) or listing(prefix)
    repository._parse_model = lambda model, files: read.append(model) or parse_model(model, files)
    rows = command(registry)
    registry.flush()
    return rows, listed, read


def _kept_key(root: Path, model: str) -> str:
    return mreg.open(str(root)).repository._cache.kept(SUMMARIES, model)[0]


@pytest.fixture
def settled(cli: Cli, registry_url: str) -> Path:
    """Two models with versions, settled, their rows kept under folder keys."""
    add_model(cli, "CHURN")
    add_model(cli, "FRAUD")
    cli.ok("register", "CHURN@v1", "-m", "auc=0.8")
    cli.ok("register", "FRAUD@v1", "-m", "auc=0.7")
    cli.ok("promote", "CHURN@v1", "--to", "experimentation")
    root = Path(registry_url)
    settle_folders(root)
    cli.ok("models")
    return root


def test_rows_of_just_written_folders_are_kept_by_their_files_until_the_folderssettle_folders(cli, registry_url):
    add_model(cli, "CHURN")
    cli.ok("models")
    root = Path(registry_url)
    assert not _kept_key(root, "CHURN").startswith(FOLDER_KEY)  # a change within the same mtime tick would not show
    settle_folders(root)
    cli.ok("models")
    assert _kept_key(root, "CHURN").startswith(FOLDER_KEY)


def test_a_warm_models_on_settled_folders_lists_no_model_folder(cli, settled):
    fresh = cli.ok("models", "--json")
    rows, listed, read = _reading(settled)
    assert listed == [] and read == []
    shutil.rmtree(settled / ".cache")
    assert cli.ok("models", "--json") == fresh  # what a read of every file says


def test_a_warm_find_on_settled_folders_reads_no_model_and_sees_a_new_version(cli, settled):
    query = "metrics.auc >= 0.75"
    cli.ok("find", query)
    found, listed, read = _reading(settled, lambda registry: registry.find(query))
    assert [(row.model, row.version) for row in found.versions] == [("CHURN", "v1")]
    assert listed == [] and read == []
    cli.ok("register", "FRAUD@v2", "-m", "auc=0.9")
    found, listed, read = _reading(settled, lambda registry: registry.find(query))
    assert [(row.model, row.version) for row in found.versions] == [("CHURN", "v1"), ("FRAUD", "v2")]
    assert read == ["FRAUD"]


def test_a_version_added_to_a_settled_model_is_seen_and_only_that_model_is_read(cli, settled):
    cli.ok("register", "FRAUD@v2", "-m", "auc=0.75")
    rows, listed, read = _reading(settled)
    assert listed == ["models/FRAUD"] and read == ["FRAUD"]
    assert [row.versions for row in rows] == [1, 2]
    cli.ok("promote", "CHURN@v1", "--to", "development", "--force", "--reason", "test")
    rows, listed, read = _reading(settled)
    assert read == ["CHURN"] and rows[0].status == "development"


def test_a_manifest_copied_to_another_name_in_a_settled_model_is_refused(cli, settled):
    versions = settled / "models/CHURN/versions"
    shutil.copy(versions / "v1.yaml", versions / "v9.yaml")  # sealed, but not where it belongs
    for command in (("models",), ("status", "CHURN")):
        refused = cli(*command)
        assert refused.exit_code == 5
        assert "models/CHURN/versions/v9.yaml: holds CHURN@v1, which belongs elsewhere" in refused.stderr


def test_a_replaced_model_yaml_in_a_settled_model_is_refused(cli, settled):
    spec = settled / "models/CHURN/model.yaml"
    status = os.stat(spec)
    spec.write_text(spec.read_text().replace("Model CHURN", "Model CHURX"))  # same size, in place
    os.utime(spec, ns=(status.st_atime_ns, status.st_mtime_ns))
    refused = cli("models")
    assert refused.exit_code == 5 and "models/CHURN/model.yaml: edited by hand" in refused.stderr


def test_a_manifest_edited_in_place_is_refused_by_every_read_that_uses_it(cli, settled):
    """``models`` shows nothing a manifest says (only which versions exist), so on settled
    folders it does not stat each one; every command that reads the manifest refuses it."""
    manifest = settled / "models/CHURN/versions/v1.yaml"
    manifest.write_bytes(manifest.read_bytes().replace(b"auc: 0.8", b"auc: 0.9"))
    for command in (("status", "CHURN"), ("show", "CHURN"), ("show", "CHURN@v1"), ("verify",)):
        refused = cli(*command)
        assert refused.exit_code == 5, command
        assert "models/CHURN/versions/v1.yaml" in refused.stderr + refused.stdout, command


def test_a_settled_folder_turned_into_a_symbolic_link_is_refused(cli, settled, tmp_path):
    versions = settled / "models/FRAUD/versions"
    shutil.copytree(versions, tmp_path / "elsewhere")
    shutil.rmtree(versions)
    versions.symlink_to(tmp_path / "elsewhere")
    refused = cli("models")
    assert refused.exit_code == 5 and "models/FRAUD/versions: is a symbolic link" in refused.stderr


def test_a_removed_model_is_gone_from_models_and_its_rows_from_the_index(cli, settled):
    shutil.rmtree(settled / "models/FRAUD")
    assert [row["id"] for row in json.loads(cli.ok("models", "--json"))] == ["CHURN"]
    index = mreg.open(str(settled)).repository._cache
    conn = index.database()
    assert conn.execute("SELECT count(*) FROM files WHERE model = 'FRAUD'").fetchone() == (0,)
