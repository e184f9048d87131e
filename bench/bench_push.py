"""Pushing a registry to the local S3 server: 1,000 versions with 1 GiB of blobs by default.

    python bench/bench_push.py [--models 10] [--versions 100] [--kib 1024] [--rounds 3]

Builds a local registry (models x versions, one random blob of --kib KiB each) with the
mreg of this checkout (its ``src/``), starts its own ``weed mini`` (tests/s3server.py) and,
in each round:

1. ``Registry.push`` to a remote of a fresh URL, as ``mreg push`` runs it;
2. the same push again, which has nothing to move, and a third time;
3. the baseline: s3fs ``put`` of the registry's own files (every blob, manifest and
   model.yaml: the same bytes) to another fresh prefix, as a plain upload tool copies a
   directory.

Prints medians of the rounds, the push / baseline ratio, and the HTTP requests that reached
the server by method (botocore's ``before-send`` hook on every S3 client of the process).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests")]  # this checkout's mreg, and the test server

from s3server import S3Server  # noqa: E402


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
        registry.promote(f"M{m:03d}@v0", "experimentation")


@contextmanager
def counting_requests():
    """Count every HTTP request (by method) that any S3 client made from now on sends."""
    from mreg.store.s3 import session

    counts: Counter = Counter()

    def count(request, **_) -> None:
        counts[request.method] += 1

    session = session()
    session.register("before-send.s3", count)
    try:
        yield counts
    finally:
        session.unregister("before-send.s3", count)


def timed(action) -> tuple[float, object, Counter]:
    with counting_requests() as requests:
        started = time.perf_counter()
        result = action()
        seconds = time.perf_counter() - started
    return seconds, result, requests


def baseline(registry_dir: Path, url: str):
    """s3fs put of every file of the registry (what mreg push moves, without its checks)."""
    import s3fs

    from mreg.store.s3 import session

    fs = s3fs.S3FileSystem(skip_instance_cache=True, use_listings_cache=False, session=session())
    files = [p for p in sorted(registry_dir.rglob("*")) if p.is_file() and not p.relative_to(registry_dir).parts[0].startswith(".")]
    target = url.removeprefix("s3://")
    fs.put([str(p) for p in files], [f"{target}/{p.relative_to(registry_dir).as_posix()}" for p in files])
    return sum(p.stat().st_size for p in files), len(files)


def push(registry, url: str):
    registry.repository.config = registry.config.model_copy(update={"remotes": {"bench": url}})
    return registry.push(remote="bench")


def record(figure: tuple[list[float], Counter], seconds: float, requests: Counter, rounds: int) -> None:
    figure[0].append(seconds)
    figure[1].update({method: count / rounds for method, count in requests.items()})


def round_counts(counts: Counter) -> Counter:
    return Counter({method: round(count) for method, count in counts.items()})


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def line(label: str, seconds: list[float], requests: Counter, extra: str = "") -> str:
    spread = f"{min(seconds):.1f}-{max(seconds):.1f}" if len(seconds) > 1 else ""
    by_method = " ".join(f"{method} {n}" for method, n in sorted(requests.items()))
    return (f"{label:28s} median {statistics.median(seconds):7.2f} s ({spread})  "
            f"requests {sum(requests.values()):6d} ({by_method}){extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--kib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    import mreg

    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        build(Path(scratch), options.models, options.versions, options.kib)
        peak_at_build = peak_rss()
        source = Path(scratch) / "registry"
        count = options.models * options.versions
        print(f"registry: {count} versions, {options.models} models, {count * options.kib / 2**20:.2f} GiB of blobs "
              f"(built in {time.perf_counter() - started:.0f} s)")
        server = S3Server().start()
        figures = {key: ([], Counter()) for key in ("push", "again", "third", "baseline")}
        peak_after_push = None
        try:
            os.environ.update(server.env)
            for _ in range(options.rounds):
                url = f"s3://{server.bucket}/{uuid.uuid4().hex}/registry"
                for key in ("push", "again", "third"):
                    seconds, report, requests = timed(lambda: push(mreg.open(str(source)), url))
                    record(figures[key], seconds, requests, options.rounds)
                    if key == "push":
                        moved = report.moved
                    else:
                        assert report.moved["bytes"] == 0 and report.moved["manifests"] == 0, report.moved
                peak_after_push = peak_after_push or peak_rss()
                raw = f"s3://{server.bucket}/{uuid.uuid4().hex}/registry"
                seconds, (size, files), requests = timed(lambda: baseline(source, raw))
                record(figures["baseline"], seconds, requests, options.rounds)
            assert mreg.open(url).verify().ok
        finally:
            server.stop()
        mib = size / 2**20
        base = statistics.median(figures["baseline"][0])
        first = statistics.median(figures["push"][0])
        print(line("s3fs put (baseline)", figures["baseline"][0], round_counts(figures["baseline"][1]),
                   f"  {files} files, {mib:.0f} MiB, {mib / base:.0f} MiB/s"))
        print(line("mreg push", figures["push"][0], round_counts(figures["push"][1]),
                   f"  moved {moved['blobs']} blobs, {moved['manifests']} manifests, {moved['events']} events, "
                   f"{moved['bytes'] / 2**20:.0f} MiB, {moved['bytes'] / 2**20 / first:.0f} MiB/s"))
        print(line("mreg push again (no-op)", figures["again"][0], round_counts(figures["again"][1]),
                   "  the remote's derived cache is cold: every manifest read once"))
        print(line("mreg push a third time", figures["third"][0], round_counts(figures["third"][1])))
        print(f"push / baseline: {first / base:.2f}x; {options.rounds} rounds; peak RSS "
              f"{peak_at_build} MiB after the build, {peak_after_push} MiB after the first push (before any baseline)")

if __name__ == "__main__":
    main()
