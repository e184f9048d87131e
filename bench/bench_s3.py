"""S3 figures on a local SeaweedFS: a 200 MiB artifact upload and `mreg models` over 300 models.

    python bench/bench_s3.py [--runs 3] [--mib 200] [--models 300]

Starts its own ``weed mini`` (tests/s3server.py), prints medians. The upload is compared
with a raw s3fs ``put_file`` of the same file in the same run, the baseline it cannot beat
by much: mreg also hashes every byte and gives the blob its final name by a server-side
copy. Requests are counted on the wire through botocore's ``before-send`` hook.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from s3server import S3Server, counting_requests  # noqa: E402


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bench_upload(server: S3Server, source: Path, runs: int) -> None:
    from mreg.store import open_storage
    from mreg.store.blobs import BlobStore

    raw, stored, again = [], [], []
    for _ in range(runs):
        storage = open_storage(f"s3://{server.bucket}/{uuid.uuid4().hex}")
        raw.append(timed(lambda: storage.fs.put_file(str(source), f"{server.bucket}/raw/{uuid.uuid4().hex}")))
        blobs = BlobStore(storage)
        stored.append(timed(lambda: blobs.put_file(source)))
        again.append(timed(lambda: blobs.put_file(source)))
    size = source.stat().st_size / 2**20
    for label, times in (("s3fs put_file (baseline)", raw), ("mreg put_file (new blob)", stored),
                         ("mreg put_file (present)", again)):
        median = statistics.median(times)
        print(f"upload {size:.0f} MiB  {label:26s} median {median:6.2f} s  {size / median:7.1f} MiB/s")


def bench_models(server: S3Server, count: int, runs: int) -> None:
    import mreg
    from mreg.store.index import index_location
    from mreg.manifest import ModelSpec

    url = f"s3://{server.bucket}/{uuid.uuid4().hex}/registry"
    registry = mreg.init(url)
    setup = timed(lambda: [
        registry.add_model(ModelSpec.from_data({"id": f"M{index:04d}", "name": f"Model {index}"}, "bench"))
        for index in range(count)
    ])
    print(f"models  setup: {count} x add_model in {setup:.1f} s")

    def once(cold: bool) -> tuple[float, int]:
        if cold:
            index_location(mreg.open(url).storage).unlink(missing_ok=True)
        started = time.perf_counter()
        opened = mreg.open(url)  # what a CLI invocation does: open, one call, flush
        with counting_requests(opened.storage) as requests:
            rows = opened.models()
            opened.flush()
        assert len(rows) == count
        return time.perf_counter() - started, sum(requests.values())

    for label, cold in (("cold (no cache)", True), ("warm (shared cache)", False)):
        results = [once(cold) for _ in range(runs)]
        median = statistics.median(seconds for seconds, _ in results)
        requests = statistics.median(number for _, number in results)
        print(f"models  {count} models {label:20s} median {median:6.3f} s  {requests:5.0f} requests (+2 to open)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mib", type=int, default=200)
    parser.add_argument("--models", type=int, default=300)
    options = parser.parse_args()
    server = S3Server().start()
    try:
        os.environ.update(server.env)
        with tempfile.TemporaryDirectory() as scratch:
            source = Path(scratch, "artifact.bin")
            with open(source, "wb") as stream:
                for _ in range(options.mib):
                    stream.write(os.urandom(1 << 20))
            bench_upload(server, source, options.runs)
        bench_models(server, options.models, options.runs)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
