"""A real ``mreg push`` process, SIGKILLed while its blobs go up to the S3 server, leaves the
remote valid, and rerunning the push sends only what is missing and finishes the job.

The killed push talks to the server through a bandwidth-capped relay, so that the kill lands
mid-transfer however fast the machine's loopback is (on CI's, an uncapped push once sent all
48 blobs between two polls)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest

import mreg
from mreg.manifest import ModelSpec
from mreg.store import open_storage

from conftest import Cli, write
from slowlink import SlowLink

VERSIONS = 48
BLOB = 1 << 20
UPLOAD_RATE = 4 << 20  # bytes/s through the relay: the whole push would take ~12 s


def _source(tmp_path) -> tuple[str, dict[str, bytes]]:
    url = str(tmp_path / "here")
    registry = mreg.init(url)
    registry.add_model(ModelSpec(id="M", name="m"))
    weights = {}
    for number in range(VERSIONS):
        data = os.urandom(BLOB)
        registry.register(f"M@v{number}", artifact_sources=[str(write(tmp_path / "w" / f"v{number}" / "w.bin", data))])
        weights[f"v{number}"] = data
    registry.promote("M@v0", "experimentation")
    return url, weights


def _blobs_on(remote: str) -> int:
    try:
        return len(open_storage(remote).listing("objects"))
    except mreg.MregError:
        return 0


def _settled_count(remote: str) -> int:
    """Blobs on the remote once the server has finished any upload it had fully received."""
    count = _blobs_on(remote)
    while True:
        time.sleep(0.5)
        if (again := _blobs_on(remote)) == count:
            return count
        count = again


@pytest.mark.slow
def test_a_push_killed_mid_transfer_leaves_the_remote_valid_and_a_rerun_finishes(s3_url, tmp_path):
    here, weights = _source(tmp_path)
    remote = f"{s3_url}/remote"
    Cli(here).ok("remote", "add", "origin", remote)
    endpoint = urlsplit(os.environ["AWS_ENDPOINT_URL"])
    with SlowLink((endpoint.hostname, endpoint.port), UPLOAD_RATE) as link:
        push = subprocess.Popen([sys.executable, "-m", "mreg", "--registry", here, "push", "--json"],
                                env={**os.environ, "AWS_ENDPOINT_URL": link.endpoint},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while _blobs_on(remote) < 3 and push.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        push.send_signal(signal.SIGKILL)
        push.communicate(timeout=60)
    assert push.returncode == -signal.SIGKILL, "the push finished before it could be killed"
    sent = _settled_count(remote)
    assert 3 <= sent < VERSIONS, sent

    killed = mreg.open(remote)
    assert killed.verify().ok  # blobs without manifests: unreferenced, never a broken registry
    assert killed.model_ids() == []  # blobs go first: no model.yaml, manifest or event yet

    again = json.loads(Cli(here).ok("push", "--json"))
    assert again["already_there"]["blobs"] == sent and again["moved"]["blobs"] == VERSIONS - sent
    assert again["moved"]["manifests"] == VERSIONS and again["moved"]["events"] == 2  # model add, the promotion
    assert mreg.open(remote).verify(deep=True).ok

    Cli(str(tmp_path / "clone")).ok("clone", remote, str(tmp_path / "clone"))
    clone = mreg.open(str(tmp_path / "clone"))
    for version in ("v0", f"v{VERSIONS - 1}"):
        clone.pull(f"M@{version}", tmp_path / "out" / version)
        assert (tmp_path / "out" / version / "w.bin").read_bytes() == weights[version]
    assert clone.status("M").versions["v0"] == "experimentation"
