"""The content-addressed store: names are hashes, writes are exclusive, trees are canonical."""

from __future__ import annotations

import hashlib
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from mreg.errors import AlreadyExists, CorruptObject, PathNotFound, UsageError
from mreg.store import check_path, open_storage
from mreg.store.blobs import BlobStore, digest_of_path, object_path, tree_listing, walk_tree

from conftest import write


def fresh_store(tmp_path_factory) -> BlobStore:
    return BlobStore(open_storage(str(tmp_path_factory.mktemp("store"))))


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=3 * 1024 * 1024 // 2))
def test_any_bytes_round_trip_under_their_sha256(tmp_path_factory, data):
    blobs = fresh_store(tmp_path_factory)
    stored = blobs.put_bytes(data)
    assert stored.digest == f"sha256:{hashlib.sha256(data).hexdigest()}"
    assert stored.size == len(data)
    assert blobs.read(stored.digest) == data


@settings(max_examples=40, deadline=None)
@given(chunks=st.lists(st.binary(min_size=1, max_size=2048), max_size=20))
def test_identical_bytes_are_stored_once_however_they_are_chunked(tmp_path_factory, chunks):
    blobs = fresh_store(tmp_path_factory)
    whole = b"".join(chunks)
    first = blobs.put_chunks(chunks)
    second = blobs.put_bytes(whole)
    assert first == second
    assert list(blobs.all_objects()) == [first.digest]


@settings(max_examples=40, deadline=None)
@given(contents=st.lists(st.binary(max_size=64), min_size=1, max_size=8))
def test_a_name_never_maps_to_two_contents(tmp_path_factory, contents):
    blobs = fresh_store(tmp_path_factory)
    names = {blobs.put_bytes(content).digest: content for content in contents}
    assert len(names) == len(set(contents))
    for digest, content in names.items():
        assert blobs.read(digest) == content


@given(st.binary(min_size=0, max_size=64))
def test_object_path_and_digest_of_path_are_inverse(data):
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    assert digest_of_path(object_path(digest)) == digest


@pytest.mark.parametrize("path", [
    "objects/sha256/ab/short", "objects/sha256/abc/" + "0" * 61, "objects/md5/ab/" + "0" * 62,
    "objects/sha256/AB/" + "0" * 62, "elsewhere/ab/" + "0" * 62,
])
def test_digest_of_path_rejects_paths_that_do_not_fit(path):
    assert digest_of_path(path) is None


@pytest.mark.parametrize("digest", ["sha256:xyz", "md5:" + "0" * 32, "sha256:" + "0" * 63, "0" * 64])
def test_object_path_rejects_malformed_digests(digest):
    with pytest.raises(UsageError):
        object_path(digest)


def test_a_corrupted_blob_is_reported_with_its_path(tmp_path):
    blobs = BlobStore(open_storage(str(tmp_path)))
    stored = blobs.put_bytes(b"original bytes")
    target = tmp_path / object_path(stored.digest)
    target.chmod(0o644)
    target.write_bytes(b"tampered bytes")
    with pytest.raises(CorruptObject) as caught:
        blobs.read(stored.digest)
    assert object_path(stored.digest) in caught.value.message


@pytest.mark.parametrize("path", ["", "/abs", "a//b", "a/./b", "a/../b", "a/", ".."])
def test_store_paths_cannot_escape_or_alias(path):
    with pytest.raises(UsageError):
        check_path(path)


def test_create_is_exclusive_and_leaves_the_first_content(tmp_path):
    storage = open_storage(str(tmp_path))
    storage.create("models/M/events/00000001.yaml", b"first")
    with pytest.raises(AlreadyExists):
        storage.create("models/M/events/00000001.yaml", b"second")
    assert storage.read("models/M/events/00000001.yaml") == b"first"
    assert [p.name for p in (tmp_path / "models/M/events").iterdir()] == ["00000001.yaml"]


def test_reading_a_missing_file_is_not_found(tmp_path):
    with pytest.raises(PathNotFound):
        open_storage(str(tmp_path)).read("nothing/here.yaml")


def test_tree_listing_is_canonical_whatever_the_entry_order():
    entries = [{"path": "b", "digest": "sha256:" + "1" * 64, "size": 1}, {"path": "a", "digest": "sha256:" + "2" * 64, "size": 2}]
    assert tree_listing(entries) == tree_listing(list(reversed(entries)))


def test_a_directory_tree_is_stored_file_by_file(tmp_path):
    source = tmp_path / "model"
    write(source / "weights.bin", b"w" * 100)
    write(source / "sub" / "config.json", b"{}")
    blobs = BlobStore(open_storage(str(tmp_path / "store")))
    stored = blobs.put_tree(walk_tree(source))
    assert (stored.size, stored.files) == (102, 2)
    assert [entry["path"] for entry in blobs.tree_entries(stored.digest)] == ["sub/config.json", "weights.bin"]
    assert blobs.put_tree(walk_tree(source)) == stored  # same directory, same tree


def test_walk_tree_follows_links_that_stay_inside(tmp_path):
    write(tmp_path / "d" / "real.txt", "x")
    os.symlink("real.txt", tmp_path / "d" / "alias.txt")
    assert [name for name, _ in walk_tree(tmp_path / "d")] == ["alias.txt", "real.txt"]


@pytest.mark.parametrize("make, message", [
    (lambda d, outside: os.symlink(outside, d / "link"), "points outside"),
    (lambda d, outside: os.symlink(d, d / "loop"), "symlink loop"),
    (lambda d, outside: os.mkfifo(d / "pipe"), "not a regular file"),
    (lambda d, outside: os.symlink(d / "missing", d / "dangling"), "broken symlink"),
])
def test_walk_tree_refuses_what_cannot_be_an_artifact(tmp_path, make, message):
    directory = tmp_path / "d"
    write(directory / "ok.txt", "x")
    outside = write(tmp_path / "secret.txt", "s")
    make(directory, outside)
    with pytest.raises(UsageError, match=message):
        walk_tree(directory)


NAMES = st.sampled_from(["models/M/versions/v1.yaml", "models/M/versions/v2.yaml", "models/N/versions/v1.yaml",
                         "objects/sha256/ab/" + "c" * 62, "a/b/c/d.txt"])


@pytest.mark.parametrize("syncfs", [True, False], ids=["syncfs", "fsync-each"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.dictionaries(NAMES, st.binary(max_size=64), max_size=3),
       batch=st.dictionaries(NAMES, st.binary(max_size=64), min_size=1, max_size=5))
def test_create_many_creates_what_is_new_and_leaves_what_exists(tmp_path_factory, monkeypatch, syncfs, before, batch):
    """The batch create keeps ``create``'s promise for every file: exclusive (an existing
    file is reported and left as it was), complete, and no temporary left behind; with
    syncfs or, where it is missing, an fsync per file."""
    import mreg.store.local as local

    if not syncfs:
        monkeypatch.setattr(local, "_syncfs", lambda: None)
    storage = open_storage(str(tmp_path_factory.mktemp("store")))
    for path, data in before.items():
        storage.create(path, data)
    created = storage.create_many(batch)
    assert set(created) == set(batch) - set(before)
    listing = storage.listing("")
    assert listing.keys() == set(before) | set(batch)
    assert all(listing[path] == info for path, info in created.items())  # what a listing says of it
    for path in set(before) | set(batch):
        assert storage.read(path) == before.get(path, batch.get(path))
    assert list((storage.root / ".tmp").iterdir()) == []
