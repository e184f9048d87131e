"""Pushing a registry to the local S3 server: 1,000 versions with 1 GiB of blobs by default.

    python bench/bench_push.py [--models 10] [--versions 100] [--kib 1024]

Builds a local registry (models x versions, one random blob of --kib KiB each), starts its
own ``weed mini`` (tests/s3server.py), and pushes everything to it, then pushes again
(nothing to move). Prints seconds and the HTTP requests that reached the server, by method
(botocore's ``before-send`` hook on the destination's client).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from s3server import S3Server, counting_requests  # noqa: E402


def build(root: Path, models: int, versions: int, kib: int):
    import mreg
    from mreg.manifest import ModelSpec

    os.environ.setdefault("SOURCE_DATE_EPOCH", "1700000000")
    registry = mreg.init(str(root / "registry"))
    blob = root / "weights.bin"
    for m in range(models):
        registry.add_model(ModelSpec.from_data({"id": f"M{m:03d}", "name": f"Model {m}"}, "bench"))
        for v in range(versions):
            blob.write_bytes(os.urandom(kib << 10))
            registry.register(f"M{m:03d}@v{v}", artifact_sources=[str(blob)])
    return mreg.open(str(root / "registry"))


def push(registry, url: str):
    from mreg.remotes.sides import RegistrySide
    from mreg.remotes.transfer import transfer

    from mreg.remotes.commands import open_or_create

    destination = open_or_create(url)
    with counting_requests(destination.storage) as requests:
        started = time.perf_counter()
        report = transfer(RegistrySide(registry.repository), RegistrySide(destination))
        destination.flush()
        seconds = time.perf_counter() - started
    return report, seconds, dict(requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--kib", type=int, default=1024)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        registry = build(Path(scratch), options.models, options.versions, options.kib)
        print(f"setup: {options.models * options.versions} versions, "
              f"{options.models * options.versions * options.kib / 2**20:.2f} GiB in {time.perf_counter() - started:.0f} s")
        server = S3Server().start()
        try:
            os.environ.update(server.env)
            url = f"s3://{server.bucket}/{uuid.uuid4().hex}/registry"
            for label in ("first push", "second push (nothing new)"):
                report, seconds, requests = push(registry, url)
                print(f"{label:26s} {seconds:7.1f} s  moved {report.moved}  requests {sum(requests.values())} {requests}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
