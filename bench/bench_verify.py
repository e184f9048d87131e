"""``verify --deep`` per GiB of blobs, against the floor of reading and hashing the same bytes.

    python bench/bench_verify.py [--size-mib 1024] [--files 8] [--runs 3]

One registry holds one version whose artifacts are ``--files`` random files totalling
``--size-mib``. Measured in the same run: ``python -c pass`` (interpreter start), ``mreg --help``,
the hash floor (read + sha256 of every blob in one Python process, no mreg), and ``mreg verify
--deep`` as a subprocess (which also checks every seal, chain link and head). Reports medians
and the ratio to the floor, and seconds per GiB. The page cache is warm after the first run;
the first (cold) run is reported apart.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from measure import run_process  # noqa: E402

FLOOR = """
import hashlib, sys
from pathlib import Path
for path in sorted(Path(sys.argv[1], "objects").rglob("*")):
    if path.is_file():
        hasher = hashlib.sha256()
        with open(path, "rb") as stream:
            while chunk := stream.read(1 << 20):
                hasher.update(chunk)
"""


def build(root: Path, size_mib: int, files: int) -> Path:
    registry, sources = root / "registry", root / "sources"
    sources.mkdir()
    block = os.urandom(1 << 20)
    per_file = size_mib // files
    for number in range(files):
        with open(sources / f"part-{number}.bin", "wb") as stream:
            for index in range(per_file):
                stream.write(hashlib.sha256(b"%d-%d" % (number, index)).digest() + block[32:])
    mreg = [sys.executable, "-m", "mreg", "--registry", str(registry)]
    run_process([sys.executable, "-m", "mreg", "init", str(registry)])
    run_process([*mreg, "model", "add", "BIG", "--name", "big"])
    run_process([*mreg, "register", "BIG@v1", "-a", str(sources)])
    return registry


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        registry = build(Path(scratch), options.size_mib, options.files)
        verify = [sys.executable, "-m", "mreg", "--registry", str(registry), "verify", "--deep"]
        cold = run_process(verify).seconds
        rows = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "mreg --help": [sys.executable, "-m", "mreg", "--help"],
            "hash floor (read + sha256)": [sys.executable, "-c", FLOOR, str(registry)],
            "mreg verify --deep": verify,
        }
        medians = {}
        for _ in range(options.runs):
            for name, args in rows.items():
                medians.setdefault(name, []).append(run_process(args).seconds)
        medians = {name: statistics.median(values) for name, values in medians.items()}
    gib = options.size_mib / 1024
    floor = medians["hash floor (read + sha256)"]
    report = {
        "size_mib": options.size_mib, "files": options.files, "runs": options.runs,
        "median_s": {name: round(value, 3) for name, value in medians.items()},
        "verify_deep_s_per_gib": round(medians["mreg verify --deep"] / gib, 3),
        "verify_deep_vs_floor": round(medians["mreg verify --deep"] / floor, 2),
        "first_run_s": round(cold, 3),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
