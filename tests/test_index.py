"""The derived index (.cache/index.sqlite) never changes an answer: a forged or damaged row
is a miss, a hand edit that keeps size and mtime is still seen, verify reports an index
that disagrees with the files and rebuilds it, and a command about one model or one new
event reads only that."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

import mreg
from mreg import folding
from mreg.store.index import index_location

from conftest import Cli, add_model, write

pytestmark = pytest.mark.local_only


@pytest.fixture
def warm(cli: Cli, registry_url: str, tmp_path: Path) -> Path:
    """Two models, one with an artifact and a promotion, the index filled by a read."""
    add_model(cli, "CHURN")
    add_model(cli, "FRAUD")
    weights = write(tmp_path / "weights.bin", b"real weights")
    cli.ok("register", "CHURN@v1", "-a", str(weights), "-m", "auc=0.8")
    cli.ok("register", "FRAUD@v1", "-m", "auc=0.7")
    cli.ok("promote", "CHURN@v1", "--to", "experimentation")
    cli.ok("models")
    return Path(registry_url)


def _index(root: Path) -> sqlite3.Connection:
    return sqlite3.connect(index_location(mreg.open(str(root)).storage))


def _forge_row(root: Path, path: str, edit) -> None:
    """Rewrite a row's parsed document in the index file, its size, token and MAC kept."""
    with _index(root) as conn:
        (data,) = conn.execute("SELECT data FROM files WHERE path = ?", (path,)).fetchone()
        conn.execute("UPDATE files SET data = ? WHERE path = ?", (json.dumps(edit(json.loads(data))), path))


def test_a_forged_row_changes_nothing_models_prints_and_verify_reports_then_rebuilds_it(cli, warm):
    before = cli.ok("models", "--json")
    _forge_row(warm, "models/CHURN/model.yaml", lambda spec: {**spec, "name": "Forged name"})
    verified = cli("verify")
    assert verified.exit_code == 5
    assert ".cache/index.sqlite: has a row for models/CHURN/model.yaml that it did not write" in verified.stdout
    assert cli("verify").exit_code == 0  # rebuilt from the files
    _forge_row(warm, "models/CHURN/model.yaml", lambda spec: {**spec, "name": "Forged name"})
    assert cli.ok("models", "--json") == before


def test_verify_of_one_model_audits_that_models_rows_its_events_too(cli, warm):
    cli.ok("status", "CHURN")  # the event rows are in the index
    _forge_row(warm, "models/FRAUD/model.yaml", lambda spec: {**spec, "name": "Forged name"})
    assert cli("verify", "CHURN").exit_code == 0  # another model's row: not this check's business
    _forge_row(warm, "models/CHURN/events/00000002.yaml", lambda event: {**event, "reason": "forged"})
    verified = cli("verify", "CHURN")
    assert verified.exit_code == 5
    assert "has a row for models/CHURN/events/00000002.yaml that it did not write" in verified.stdout


def test_a_forged_artifact_path_never_reaches_pull(cli, warm, tmp_path):
    def planted(manifest):
        manifest["artifacts"][0]["path"] = "../../escaped.bin"
        return manifest

    _forge_row(warm, "models/CHURN/versions/v1.yaml", planted)
    cli.ok("pull", "CHURN@v1", "-o", str(tmp_path / "out" / "sub"))
    assert (tmp_path / "out" / "sub" / "weights.bin").read_bytes() == b"real weights"
    assert not (tmp_path / "escaped.bin").exists()


def test_a_forged_kept_state_is_not_used(cli, warm):
    with _index(warm) as conn:
        (value,) = conn.execute("SELECT value FROM kept WHERE model = 'CHURN' AND namespace LIKE 'fold%'").fetchone()
        forged = value.replace('"experimentation"', '"production"')
        assert forged != value
        conn.execute("UPDATE kept SET value = ? WHERE model = 'CHURN' AND namespace LIKE 'fold%'", (forged,))
    assert "v1       Experimentation" in cli.ok("status", "CHURN")


def test_verify_reports_a_kept_fold_that_disagrees_with_the_events_and_drops_it(cli, warm):
    registry = mreg.open(str(warm))
    index = registry.repository._cache
    key, value = index.kept(folding.NAMESPACE, "CHURN")
    index.keep(folding.NAMESPACE, "CHURN", key, {**value, "versions": {"v1": "canary"}})  # what a bug would keep
    index.flush()
    verified = cli("verify")
    assert verified.exit_code == 5 and "kept state of CHURN disagrees with its events" in verified.stdout
    assert cli("verify").exit_code == 0
    assert "v1       Experimentation" in cli.ok("status", "CHURN")


def test_a_damaged_index_file_is_replaced_and_answers_stay_the_same(cli, warm):
    before = cli.ok("models", "--json"), cli.ok("show", "CHURN@v1", "--json")
    index_location(mreg.open(str(warm)).storage).write_bytes(b"not a database at all" * 100)
    assert (cli.ok("models", "--json"), cli.ok("show", "CHURN@v1", "--json")) == before
    assert cli("verify").exit_code == 0


def test_an_edit_that_keeps_size_and_mtime_is_still_caught(cli, warm):
    spec = warm / "models/CHURN/model.yaml"
    status = os.stat(spec)
    text = spec.read_text()
    spec.write_text(text.replace("Model CHURN", "Model CHURX"))  # same size
    os.utime(spec, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert os.stat(spec).st_size == status.st_size and os.stat(spec).st_mtime_ns == status.st_mtime_ns
    refused = cli("models")  # the index's row (stat unchanged) is not served: the edit is read and caught
    assert refused.exit_code == 5 and "models/CHURN/model.yaml: edited by hand" in refused.stderr


def test_a_command_about_one_model_reads_no_row_of_another(cli, warm):
    _forge_row(warm, "models/FRAUD/model.yaml", lambda spec: {**spec, "name": "Forged"})
    _forge_row(warm, "models/FRAUD/versions/v1.yaml", lambda manifest: manifest)
    registry = mreg.open(str(warm))
    registry.show("CHURN")
    registry.status("CHURN")
    registry.show("CHURN@v1")
    assert registry.repository._cache.rejected == set()  # FRAUD's (forged) rows were never fetched
    registry.repository.all_model_files()  # the control: a read of every model fetches them
    assert "models/FRAUD/model.yaml" in registry.repository._cache.rejected


class _CountingReads:
    """The registry's storage with every read recorded."""

    def __init__(self, storage) -> None:
        self._storage, self.paths = storage, []

    def read(self, path: str) -> bytes:
        self.paths.append(path)
        return self._storage.read(path)

    def __getattr__(self, name):
        return getattr(self._storage, name)


def _history(cli: Cli, registry_url: str, rounds: int) -> None:
    """Model M with one version and 1 + 2 * ``rounds`` events (model add, forced moves)."""
    add_model(cli, "M")
    cli.ok("register", "M@v1")
    registry = mreg.open(registry_url)
    for _ in range(rounds):
        registry.promote("M@v1", "experimentation", force=True, reason="setup")
        registry.promote("M@v1", "development", force=True, reason="setup")
    registry.flush()


def test_status_and_promote_read_the_newest_event_not_the_history(cli, registry_url):
    _history(cli, registry_url, 4)
    cli.ok("status", "M")  # folds once; the fold is kept

    registry = mreg.open(registry_url)
    counting = _CountingReads(registry.repository.storage)
    registry.repository.storage = registry.repository._cache._storage = counting
    registry.promote("M@v1", "experimentation")
    assert registry.status("M").versions == {"v1": "experimentation"}
    assert [p for p in counting.paths if "/events/" in p] == ["models/M/events/00000010.yaml"]  # the new one only (1 is model add)


def test_a_cold_models_parses_no_manifest_and_a_later_show_parses_the_one_it_shows(cli, warm):
    index_location(mreg.open(str(warm)).storage).unlink()  # cold: no index
    registry = mreg.open(str(warm))
    cache = registry.repository._cache
    parsed, parse = [], cache._parse
    cache._parse = lambda raw, path: parsed.append(path) or parse(raw, path)
    assert [row.id for row in registry.models()] == ["CHURN", "FRAUD"]
    registry.flush()
    assert not [path for path in parsed if "/versions/" in path]  # digests only, seals checked

    registry = mreg.open(str(warm))
    cache = registry.repository._cache
    parsed, parse = [], cache._parse
    cache._parse = lambda raw, path: parsed.append(path) or parse(raw, path)
    assert registry.show("FRAUD@v1").manifest.metrics == {"auc": 0.7}  # a digest-only row is no document
    assert parsed == ["models/FRAUD/versions/v1.yaml"]


def _models_reading(root: Path) -> tuple[list, list[str]]:
    """``models`` in a fresh process's registry, and the models it had to read (not kept)."""
    registry = mreg.open(str(root))
    read, parse_model = [], registry.repository._parse_model
    registry.repository._parse_model = lambda model, listing: read.append(model) or parse_model(model, listing)
    rows = registry.models()
    registry.flush()
    return rows, read


def test_a_warm_models_reads_only_the_models_whose_files_changed(cli, warm, tmp_path):
    first, _ = _models_reading(warm)
    rows, read = _models_reading(warm)
    assert read == [] and rows == first  # every row kept: no model's files parsed or assembled
    cli.ok("register", "FRAUD@v2", "-m", "auc=0.75")
    rows, read = _models_reading(warm)
    assert read == ["FRAUD"] and [row.versions for row in rows] == [1, 2]
    cli.ok("promote", "FRAUD@v2", "--to", "experimentation")
    rows, read = _models_reading(warm)
    assert read == ["FRAUD"] and rows[1].status == "experimentation"
    manifest = warm / "models/CHURN/versions/v1.yaml"
    manifest.write_bytes(manifest.read_bytes().replace(b"auc: 0.8", b"auc: 0.9"))  # a hand edit
    refused = cli("models")
    assert refused.exit_code == 5 and "models/CHURN/versions/v1.yaml" in refused.stderr


def test_a_broken_seal_is_refused_by_a_cold_models_that_wants_digests_only(cli, warm):
    index_location(mreg.open(str(warm)).storage).unlink()
    manifest = warm / "models/FRAUD/versions/v1.yaml"
    manifest.write_text(manifest.read_text().replace("0.7", "0.9"))
    refused = cli("models")
    assert refused.exit_code == 5 and "models/FRAUD/versions/v1.yaml" in refused.stderr


def test_an_append_decodes_the_newest_events_only_at_any_depth(cli, registry_url):
    """The head and model.yaml checks work from the kept fold's tip, not from the history:
    format 2's first cut re-decoded every event on every append (quadratic generation)."""
    _history(cli, registry_url, 20)

    registry = mreg.open(registry_url)
    decoded, stored_event = [], registry.repository._stored_event
    registry.repository._stored_event = lambda path, info: decoded.append(path) or stored_event(path, info)
    registry.promote("M@v1", "experimentation")
    assert registry.status("M").versions == {"v1": "experimentation"}
    assert set(decoded) == {"models/M/events/00000041.yaml", "models/M/events/00000042.yaml"}  # of 42


def test_find_runs_over_the_index_and_a_forged_find_row_is_reported_by_verify(cli, warm):
    query = "metrics.auc >= 0.75"
    assert [v["model"] for v in json.loads(cli.ok("find", query, "--json"))["versions"]] == ["CHURN"]
    with _index(warm) as conn:
        conn.execute("UPDATE find_values SET value = 0.9 WHERE field = 'metrics' AND name = 'auc'")
    # a forged row cannot add a version: each hit is re-checked against the kept records (MAC'd)
    assert [v["model"] for v in json.loads(cli.ok("find", query, "--json"))["versions"]] == ["CHURN"]
    with _index(warm) as conn:
        conn.execute("UPDATE kept SET value = replace(value, '0.7', '0.9') WHERE namespace = 'records.1'")
    assert [v["model"] for v in json.loads(cli.ok("find", query, "--json"))["versions"]] == ["CHURN"]
    verified = cli("verify")
    assert verified.exit_code == 5 and "has find rows for FRAUD that differ from its files" in verified.stdout
    assert cli("verify").exit_code == 0
