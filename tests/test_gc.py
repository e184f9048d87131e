"""gc collects only what nothing references, never a young blob, and the stale temporaries
of killed writers (never a lock); reindex rebuilds the cache."""

from __future__ import annotations

import json
import os
import time

import mreg
from mreg.store.index import index_location

from conftest import Cli, add_model, write


def _objects(registry_url: str) -> set[str]:
    return set(mreg.open(registry_url).blobs.all_objects())


def test_gc_removes_only_unreferenced_blobs_past_the_grace_period(cli, registry_url, tmp_path):
    add_model(cli)
    tree = tmp_path / "model"
    write(tree / "weights.bin", b"weights")
    write(tree / "config.json", b"{}")
    cli.ok("register", "M1@v1", "-a", str(tree), "-a", str(write(tmp_path / "eval.json", b"{}\n")))
    cli.ok("promote", "M1@v1", "--to", "experimentation")
    cli.ok("promote", "M1@v1", "--to", "candidate")  # stores the gate report as evidence
    kept = _objects(registry_url)
    orphan = mreg.open(registry_url).blobs.put_bytes(b"left by an interrupted registration").digest

    young = json.loads(cli.ok("gc", "--json"))  # default grace: an hour
    assert young["removed"] == [] and orphan in _objects(registry_url)

    dry = json.loads(cli.ok("gc", "--grace", "0", "--dry-run", "--json"))
    assert dry["removed"] == [orphan] and dry["dry_run"] and orphan in _objects(registry_url)

    done = json.loads(cli.ok("gc", "--grace", "0", "--json"))
    assert done["removed"] == [orphan] and done["bytes_freed"] == len(b"left by an interrupted registration")
    assert _objects(registry_url) == kept
    assert cli("verify", "--deep").exit_code == 0
    out = tmp_path / "out"
    cli.ok("pull", "M1@v1", "-o", str(out))
    assert (out / "model" / "weights.bin").read_bytes() == b"weights"


def test_reindex_rebuilds_the_derived_cache_without_changing_any_answer(cli, tmp_path):
    add_model(cli)
    cli.ok("register", "M1@v1", "-m", "auc=0.9")
    before = cli.ok("models", "--json"), cli.ok("show", "M1@v1", "--json")
    index = index_location(mreg.open(cli.registry_url).storage)
    index.unlink()
    assert cli.ok("reindex") == "reindexed 4 files\n"  # model.yaml, its event and head, the one manifest
    assert index.is_file()
    assert (cli.ok("models", "--json"), cli.ok("show", "M1@v1", "--json")) == before


def test_gc_removes_stale_temporaries_but_not_locks_or_young_ones(tmp_path):
    registry = tmp_path / "registry"
    mreg.init(str(registry))
    cli = Cli(str(registry))
    add_model(cli, "M")
    old = time.time() - 7200
    stale = registry / ".tmp" / ".tmp-killed"
    legacy = registry / "models/M" / ".tmp-from-an-older-release"
    lock = registry / ".tmp/locks/shared-1.yaml"
    young = registry / ".tmp" / ".tmp-in-flight"
    for path in (stale, legacy, lock, young):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    for path in (stale, legacy, lock):
        os.utime(path, (old, old))
    cli.ok("gc", "--grace", "3600")
    assert not stale.exists() and not legacy.exists()
    assert lock.exists() and young.exists()
    assert cli.ok("verify").startswith("ok")


def test_the_temporaries_sweep_ignores_files_a_live_writer_renames_away(tmp_path):
    """A writer renames its temporary into place at any moment; the sweep must treat a file
    that vanished between the listing and its stat or unlink as not its own (CI caught a
    FileNotFoundError here once)."""
    import threading

    from mreg.store.local import LocalStorage

    registry = tmp_path / "registry"
    mreg.init(str(registry))
    storage = LocalStorage(str(registry))
    temporaries, done = registry / ".tmp", registry / "done"
    done.mkdir()
    old = time.time() - 7200
    stop = threading.Event()

    def writer() -> None:
        number = 0
        while not stop.is_set():
            number += 1
            temporary = temporaries / f".tmp-{number}"
            temporary.write_bytes(b"x")
            try:  # old on purpose, so the sweep may take it first: then the rename misses it
                os.utime(temporary, (old, old))
                os.rename(temporary, done / f"{number}")
            except FileNotFoundError:
                continue

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(300):
            storage.sweep_temporaries(time.time() - 3600)
    finally:
        stop.set()
        thread.join()
    assert len(list(done.iterdir())) > 0
