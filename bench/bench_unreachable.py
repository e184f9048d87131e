"""How long mreg takes to give up on an S3 endpoint nobody listens on (exit 7).

    python bench/bench_unreachable.py [--runs 5] [--src DIR]

Runs, as whole processes with the mreg of ``--src`` (default: this checkout's ``src/``),
``mreg --registry s3://.../registry models`` and ``mreg register M@v1 -a s3://...`` against
127.0.0.1:9 (a closed port), beside ``python -c pass``, ``mreg --help`` and the same
``models`` on a live registry of the local S3 server (tests/s3server.py: it imports and
starts what the failing command does, so the difference is the time spent giving up), in
the same rounds, and prints medians and ratios. Point ``--src`` at an older tree's ``src/``
for a before figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from s3server import S3Server  # noqa: E402

CLOSED = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}


def run(command: list[str], env: dict[str, str], expect: int) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, timeout=300)
    seconds = time.perf_counter() - started
    assert done.returncode == expect, (command, done.returncode, done.stderr)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--src", default=str(REPO / "src"))
    options = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MREG_"))}
    env.update(CLOSED, PYTHONPATH=options.src)
    mreg = [sys.executable, "-m", "mreg"]
    server = S3Server().start()
    live = {**env, **server.env}
    live_url = f"s3://{server.bucket}/live/registry"
    subprocess.run([*mreg, "init", live_url], env=live, check=True, capture_output=True)
    with tempfile.TemporaryDirectory() as scratch:
        local = str(Path(scratch) / "registry")
        subprocess.run([*mreg, "init", local], env=env, check=True, capture_output=True)
        subprocess.run([*mreg, "-r", local, "model", "add", "M", "--name", "m"], env=env, check=True, capture_output=True)
        cases = {
            "python -c pass": ([sys.executable, "-c", "pass"], 0),
            "mreg --help": ([*mreg, "--help"], 0),
            "--registry s3://live models": ([*mreg, "--registry", live_url, "models"], 0),
            "--registry s3://closed models": ([*mreg, "--registry", "s3://bucket/registry", "models"], 7),
            "register -a s3://closed": ([*mreg, "-r", local, "register", "M@v1", "-a", "s3://bucket/k.bin"], 7),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        try:
            for _ in range(options.runs):
                for name, (command, expect) in cases.items():
                    times[name].append(run(command, live if "live" in name else env, expect))
        finally:
            server.stop()
    help_median = statistics.median(times["mreg --help"])
    live_median = statistics.median(times["--registry s3://live models"])
    for name, figures in times.items():
        median = statistics.median(figures)
        print(f"{name:32s} median {median:6.2f} s ({min(figures):.2f}-{max(figures):.2f})  "
              f"{median / help_median:5.2f}x --help  {median / live_median:5.2f}x live models")


if __name__ == "__main__":
    main()
