"""Registering a large artifact: time against hashing and copying the same bytes, and bytes read.

    python bench/bench_register.py [--size-mib 1024] [--runs 3]

Baselines measured in the same run: (1) reading + sha256 of the file in Python, the least
any content-addressed store must do; (2) that plus writing a copy (what a registration
does). mreg's figure is ``mreg register`` as a subprocess, including interpreter start-up;
``rchar`` (bytes the process read, from /proc) shows the file is read once, and the peak
RSS (``wait4``) that it is streamed, not held. Registering
the same file again into the same registry hits the local digest cache (run with
MREG_CACHE_DIR set to a scratch folder to keep your own cache out of it).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBE = (
    "import atexit, runpy, sys\n"
    "atexit.register(lambda: sys.stderr.write([l for l in open('/proc/self/io') if l.startswith('rchar')][0]))\n"
    "sys.argv = ['mreg'] + sys.argv[1:]\n"
    "runpy.run_module('mreg', run_name='__main__')\n"
)


def make_file(path: Path, size_mib: int) -> None:
    block = os.urandom(1 << 20)
    with open(path, "wb") as stream:
        for index in range(size_mib):
            stream.write(block[:-8] + index.to_bytes(8, "big"))


def hash_only(path: Path) -> None:
    hasher = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            hasher.update(chunk)


def hash_and_copy(path: Path, target: Path) -> None:
    hasher = hashlib.sha256()
    with open(path, "rb") as source, open(target, "wb") as copy:
        while chunk := source.read(1 << 20):
            hasher.update(chunk)
            copy.write(chunk)
        copy.flush()
        os.fsync(copy.fileno())
    target.unlink()


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def mreg(registry: Path, *args: str) -> tuple[float, int, float]:
    """Seconds, bytes read (rchar) and peak RSS in MiB (``wait4``: this child's own) of one run."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", PROBE, "--registry", str(registry), *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(stderr[-400:])
    return time.perf_counter() - started, int(stderr.split("rchar:")[1].split()[0]), usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("MREG_BENCH_DIR")) as scratch:
        root = Path(scratch)
        big = root / "model.bin"
        make_file(big, options.size_mib)
        size = big.stat().st_size
        hashing = [timed(lambda: hash_only(big)) for _ in range(options.runs)]
        copying = [timed(lambda: hash_and_copy(big, root / "copy.bin")) for _ in range(options.runs)]
        registering, reads, again, peaks = [], [], [], []
        for run in range(options.runs):
            registry = root / f"registry-{run}"
            subprocess.run([sys.executable, "-m", "mreg", "init", str(registry)], check=True, capture_output=True)
            subprocess.run([sys.executable, "-m", "mreg", "-r", str(registry), "model", "add", "M", "--name", "bench"],
                           check=True, capture_output=True)
            seconds, read, peak = mreg(registry, "register", "M@v1", "-a", str(big))
            registering.append(seconds)
            reads.append(read)
            peaks.append(peak)
            again.append(mreg(registry, "register", "M@v2", "-a", str(big))[0])
            blobs = list((registry / "objects").rglob("*"))
            assert sum(1 for b in blobs if b.is_file()) == 1, "re-registering the same bytes added a blob"
            shutil.rmtree(registry)
    base, copy, reg = (statistics.median(x) for x in (hashing, copying, registering))
    print(f"file: {size / 2**20:.0f} MiB, {options.runs} runs, medians")
    print(f"  read + sha256 (baseline)      {base:7.2f} s  {size / base / 2**20:7.0f} MiB/s")
    print(f"  read + sha256 + copy + fsync  {copy:7.2f} s  ratio {copy / base:.2f}")
    print(f"  mreg register                 {reg:7.2f} s  ratio {reg / base:.2f} (vs copy {reg / copy:.2f})")
    print(f"  mreg register, same bytes     {statistics.median(again):7.2f} s  (dedup: no new blob)")
    print(f"  bytes read by mreg register   {statistics.median(reads) / size:7.3f} x the file size")
    print(f"  peak RSS of mreg register     {max(peaks):7.1f} MiB")


if __name__ == "__main__":
    main()
