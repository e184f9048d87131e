"""The storage contract on both backends, and what only S3 needs: conditional writes that
lose, listings that are directories, blobs streamed through a temporary key, clear errors."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from mreg.errors import AlreadyExists, PathNotFound, UsageError
from mreg.store import open_storage
from mreg.store import s3 as s3_store
from mreg.store.blobs import BlobStore, object_path, walk_tree

from conftest import write
from s3server import counting_requests


@pytest.fixture
def storage(request, backend, tmp_path):
    url = request.getfixturevalue("s3_url") if backend == "s3" else str(tmp_path / "store")
    return open_storage(url)


@pytest.fixture
def s3_storage(s3_url):
    return open_storage(s3_url)


def test_create_is_exclusive_and_the_first_writer_keeps_its_bytes(storage):
    storage.create("models/M/events/00000001.yaml", b"first")
    with pytest.raises(AlreadyExists):
        storage.create("models/M/events/00000001.yaml", b"second")
    assert storage.read("models/M/events/00000001.yaml") == b"first"


def test_swap_replaces_only_what_it_read_and_creates_only_what_is_absent(storage):
    assert storage.read_tagged("m/head.yaml") is None
    assert storage.swap("m/head.yaml", None, b"seq: 1\n")
    assert not storage.swap("m/head.yaml", None, b"seq: 9\n")  # it exists now: a create lost
    data, tag = storage.read_tagged("m/head.yaml")
    assert data == b"seq: 1\n"
    assert storage.swap("m/head.yaml", tag, b"seq: 2\n")
    assert not storage.swap("m/head.yaml", tag, b"seq: 3\n")  # a stale tag: another writer moved it
    assert storage.read("m/head.yaml") == b"seq: 2\n"


def test_markers_are_listed_below_the_temporary_area(storage):
    storage.create(".tmp/locks/register.h.1.x", b"")
    assert list(storage.listing(".tmp/locks")) == [".tmp/locks/register.h.1.x"]
    assert ".tmp/locks/register.h.1.x" not in storage.listing("")


def test_replace_overwrites(storage):
    storage.create("models/M/model.yaml", b"old")
    storage.replace("models/M/model.yaml", b"new")
    assert storage.read("models/M/model.yaml") == b"new"


def test_a_listing_is_a_directory_not_a_name_prefix(storage):
    for path in ("models/M/model.yaml", "models/M/versions/v1.yaml", "models/MX/model.yaml", "modelsX/a"):
        storage.create(path, path.encode())
    assert list(storage.listing("models/M")) == ["models/M/model.yaml", "models/M/versions/v1.yaml"]
    assert set(storage.listing("models")) == {"models/M/model.yaml", "models/M/versions/v1.yaml", "models/MX/model.yaml"}
    info = storage.listing("models/M")["models/M/model.yaml"]
    assert info.size == len(b"models/M/model.yaml") and info.token and info.modified > 0


def test_listing_leaves_out_caches_and_temporary_files(storage):
    storage.create("models/M/model.yaml", b"m")
    storage.replace(".cache/files.json", b"{}")
    assert list(storage.listing("")) == ["models/M/model.yaml"]


def test_existence_is_decided_by_an_object_not_a_prefix(storage):
    storage.create("models/M/model.yaml", b"m")
    assert storage.exists("models/M/model.yaml")
    assert not storage.exists("models/M")
    storage.delete("models/M/model.yaml")
    assert not storage.exists("models/M/model.yaml")
    with pytest.raises(PathNotFound):
        storage.read("models/M/model.yaml")


@pytest.mark.parametrize("path", ["a//b", "/a", "a/./b", "a/../b", "a/"])
def test_paths_with_empty_or_relative_segments_are_refused(storage, path):
    with pytest.raises(UsageError):
        storage.create(path, b"x")


def test_a_blob_larger_than_a_part_streams_and_is_stored_once(storage, tmp_path):
    data = os.urandom(s3_store.PART * 2 + 12345)
    source = write(tmp_path / "weights.bin", data)
    blobs = BlobStore(storage)
    stored = blobs.put_file(source)
    again = blobs.put_file(source)
    assert stored == again and stored.digest == f"sha256:{hashlib.sha256(data).hexdigest()}"
    assert blobs.read(stored.digest) == data
    assert list(storage.listing("")) == [object_path(stored.digest)]  # no temporary key left


def test_a_directory_goes_up_in_parallel_and_reads_back_file_by_file(storage, tmp_path):
    files = {f"part-{index:03d}/shard.bin": os.urandom(1000 + index) for index in range(40)}
    for relative, data in files.items():
        write(tmp_path / "tree" / relative, data)
    blobs = BlobStore(storage)
    stored = blobs.put_tree(walk_tree(tmp_path / "tree"))
    assert stored.files == 40 and stored.size == sum(map(len, files.values()))
    entries = {entry["path"]: entry["digest"] for entry in blobs.tree_entries(stored.digest)}
    assert {path: blobs.read(digest) for path, digest in entries.items()} == files


def test_a_small_blob_already_present_is_not_uploaded_again(s3_storage):
    blobs = BlobStore(s3_storage)
    blobs.put_bytes(b"weights" * 1000)
    with counting_requests(s3_storage) as requests:
        blobs.put_bytes(b"weights" * 1000)
    assert requests == {"HEAD": 1}


def test_a_blob_too_large_for_one_copy_is_copied_in_parts(s3_storage, tmp_path, monkeypatch):
    monkeypatch.setattr(s3_store, "COPY_LIMIT", 5 << 20)  # the minimum part size S3 allows
    data = os.urandom(s3_store.PART + (3 << 20))
    blobs = BlobStore(s3_storage)
    stored = blobs.put_file(write(tmp_path / "big.bin", data))
    assert blobs.read(stored.digest) == data
    assert blobs.put_file(tmp_path / "big.bin") == stored
    assert list(s3_storage.listing("")) == [object_path(stored.digest)]


def test_a_lost_conditional_write_is_recognised_in_the_exception_chain(s3_storage):
    s3_storage.create("events/1", b"mine")
    with pytest.raises(OSError) as lost:
        s3_storage.fs.pipe_file(s3_storage.full("events/1"), b"theirs", mode="create")
    assert lost.value.errno == 22 and s3_store.is_precondition_failed(lost.value)
    assert not s3_store.is_conditional_conflict(lost.value)


def test_an_s3_url_without_a_bucket_is_a_usage_error():
    with pytest.raises(UsageError):
        open_storage("s3:///registry")
    with pytest.raises(UsageError):
        open_storage("s3://bucket/a//b")


def _run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mreg", *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, **env},
    )


def test_wrong_credentials_are_one_line_exit_7_and_never_printed(s3_url):
    secret = "wrong-secret-that-must-not-appear"
    done = _run_cli("--registry", s3_url, "models", env={"AWS_SECRET_ACCESS_KEY": secret})
    assert done.returncode == 7, done.stderr
    assert done.stderr.count("\n") == 1 and "access denied" in done.stderr
    assert secret not in done.stderr + done.stdout


def test_an_unreachable_endpoint_is_exit_7(s3_url):
    done = _run_cli("--registry", s3_url, "models", env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert done.returncode == 7 and done.stderr.count("\n") == 1
    assert "Could not connect" in done.stderr


def test_changed_aws_keys_take_effect_in_a_running_process(s3_url, monkeypatch):
    """A notebook that switches credentials is not served by the keys it first used."""
    from mreg.errors import StoreUnavailable

    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    open_storage(s3_url).create("probe", b"x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "another-secret")
    with pytest.raises(StoreUnavailable, match="access denied"):
        open_storage(s3_url).read("probe")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    assert open_storage(s3_url).read("probe") == b"x"


CLOSED = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}


def _attempts_at_a_closed_port(monkeypatch, tmp_path, *args: str, **env: str) -> tuple[int, str]:
    """Run the CLI against a port nobody listens on; count the HTTP attempts botocore made."""
    from typer.testing import CliRunner

    from mreg.cli import app

    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    for name, value in {**CLOSED, **env}.items():
        monkeypatch.setenv(name, value)
    attempts = []
    hook = lambda request, **_: attempts.append(request.url)  # noqa: E731
    s3_store.session().register("before-send.s3", hook)
    try:
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    finally:
        s3_store.session().unregister("before-send.s3", hook)
    assert result.exit_code == 7 and result.stderr.count("\n") == 1, result.stderr
    return len(attempts), result.stderr


@pytest.mark.local_only
def test_a_closed_port_is_given_up_after_three_attempts_for_registries_and_artifacts(monkeypatch, tmp_path):
    """botocore's default (five 'legacy' attempts) kept a closed port busy for 8-10 s."""
    import mreg

    assert _attempts_at_a_closed_port(monkeypatch, tmp_path, "--registry", "s3://bucket/registry", "models")[0] == 3
    local = str(tmp_path / "registry")
    mreg.init(local).add_model(mreg.manifest.ModelSpec(id="M", name="m"))
    count, stderr = _attempts_at_a_closed_port(monkeypatch, tmp_path, "-r", local, "register", "M@v1", "-a", "s3://b/k.bin")
    assert count == 3 and stderr.startswith("error: cannot reach s3://b/k.bin")
    assert _attempts_at_a_closed_port(monkeypatch, tmp_path, "--registry", "s3://bucket/registry", "models",
                                      AWS_MAX_ATTEMPTS="1")[0] == 1  # the environment still decides


def test_missing_credentials_say_how_to_provide_them(s3_url, tmp_path):
    env = {name: "" for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true")
    done = _run_cli("--registry", s3_url, "models", env=env)
    assert done.returncode == 7 and "no AWS credentials" in done.stderr


def test_the_s3_backend_is_imported_only_for_s3_urls(registry_url):
    code = "import sys, mreg; mreg.open(sys.argv[1]).models(); print('s3fs' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code, registry_url], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == str(registry_url.startswith("s3://"))


def test_create_many_puts_what_is_new_and_reports_what_exists(storage):
    storage.create("models/M/versions/v1.yaml", b"first")
    batch = {"models/M/versions/v1.yaml": b"other", **{f"models/M/versions/v{n}.yaml": b"v%d" % n for n in range(2, 12)}}
    created = storage.create_many(batch)
    assert set(batch) - set(created) == {"models/M/versions/v1.yaml"}
    listing = storage.listing("models")
    assert all((listing[path].size, listing[path].token) == (info.size, info.token) for path, info in created.items())
    assert storage.read("models/M/versions/v1.yaml") == b"first"
    assert {path: storage.read(path) for path in storage.listing("models")} == {**batch, "models/M/versions/v1.yaml": b"first"}
