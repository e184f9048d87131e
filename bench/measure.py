"""One process timed as a user would see it: wall-clock seconds and its own peak RSS."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from typing import NamedTuple


class Sample(NamedTuple):
    seconds: float
    peak_rss_mib: float


def run_process(args: list[str]) -> Sample:
    """Run ``args`` to completion (output discarded); ``wait4`` gives this child's own rusage,
    where ``RUSAGE_CHILDREN`` would report the largest child so far."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{' '.join(args)} exited {process.returncode}: {stderr.decode()[-400:]}")
    return Sample(elapsed, usage.ru_maxrss / 1024)


def summary(samples: list[Sample]) -> dict[str, float]:
    seconds = [sample.seconds for sample in samples]
    return {
        "median_s": round(statistics.median(seconds), 4),
        "min_s": round(min(seconds), 4),
        "max_s": round(max(seconds), 4),
        "peak_rss_mib": round(max(sample.peak_rss_mib for sample in samples), 1),
        "n": len(samples),
    }
