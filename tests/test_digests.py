"""The local digest cache: an unchanged file is neither read nor stored twice, and a changed
or freshly written file is always hashed again."""

from __future__ import annotations

import json
import os
import time

import pytest

from conftest import add_model, write

pytestmark = pytest.mark.local_only
SIZE = 16 * 1024 * 1024


@pytest.fixture
def model(cli):
    add_model(cli, "M1")
    return cli


def settled(path, seconds_ago: float = 60.0):
    """Give a file an mtime in the past, as a file written earlier would have."""
    moment = time.time() - seconds_ago
    os.utime(path, (moment, moment))
    return path


def digest_of(cli, ref: str) -> str:
    return json.loads(cli.ok("show", ref, "--json"))["manifest"]["artifacts"][0]["digest"]


def test_an_unchanged_file_is_not_read_again(model, tmp_path):
    big = settled(write(tmp_path / "big.bin", os.urandom(SIZE)))
    first = model.bytes_read("register", "M1@v1", "-a", str(big))
    again = model.bytes_read("register", "M1@v2", "-a", str(big))
    # both runs read the interpreter's own modules too; only the first reads the file
    assert first >= SIZE and first - again > 0.9 * SIZE, (first, again)
    assert digest_of(model, "M1@v1") == digest_of(model, "M1@v2")


def test_a_changed_file_is_hashed_again(model, tmp_path):
    weights = settled(write(tmp_path / "w.bin", b"a" * 1000))
    model.ok("register", "M1@v1", "-a", str(weights))
    settled(write(weights, b"b" * 1000), seconds_ago=30)
    model.ok("register", "M1@v2", "-a", str(weights))
    assert digest_of(model, "M1@v1") != digest_of(model, "M1@v2")


def test_a_file_written_in_the_same_tick_is_not_trusted(model, tmp_path):
    """Racy case: same size, content rewritten, mtime put back to what it was."""
    weights = write(tmp_path / "w.bin", b"a" * 1000)
    stamp = os.stat(weights).st_mtime_ns
    model.ok("register", "M1@v1", "-a", str(weights))
    write(weights, b"b" * 1000)
    os.utime(weights, ns=(stamp, stamp))
    model.ok("register", "M1@v2", "-a", str(weights))
    assert digest_of(model, "M1@v1") != digest_of(model, "M1@v2")


def test_a_known_file_is_still_stored_in_a_registry_that_lacks_it(model, tmp_path, cli):
    weights = settled(write(tmp_path / "w.bin", b"weights"))
    model.ok("register", "M1@v1", "-a", str(weights))
    other = type(cli)(str(tmp_path / "other"))
    other.ok("init", str(tmp_path / "other"))
    add_model(other, "M1")
    other.ok("register", "M1@v1", "-a", str(weights))
    other.ok("pull", "M1@v1", "-o", str(tmp_path / "out"))
    assert (tmp_path / "out" / "w.bin").read_bytes() == b"weights"
