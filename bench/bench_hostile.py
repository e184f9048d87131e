"""How long mreg takes to refuse the hostile corpus's worst inputs, each a fresh process.

    python bench/bench_hostile.py [--only deep,bomb,huge,comments,json,listing] [--runs 3]

Baseline in the same run: ``python -m mreg --help`` (start-up and import, which every
command pays). Prints the median wall time per case, slowest first, and the code it exited.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hostile_cases import all_cases, build_base  # noqa: E402


def timed(argv: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="deep,bomb,huge,comments,json-20mb,listing-deep,dev-zero")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    words = options.only.split(",")
    cases = [case for case in all_cases() if any(word in case.id for word in words) and not case.xfail]
    with tempfile.TemporaryDirectory() as scratch_root:
        root = Path(scratch_root)
        build_base(root / "base", root / "sources")
        mreg = [sys.executable, "-m", "mreg"]
        baseline = statistics.median(timed([*mreg, "--help"])[0] for _ in range(options.runs))
        rows = []
        for case in cases:
            scratch = root / case.id
            scratch.mkdir()
            registry = root / "base"
            if case.craft is not None:
                registry = scratch / "registry"
                shutil.copytree(root / "base", registry, symlinks=True)
                case.craft(registry, scratch)
            (scratch / "in").mkdir()
            for name, make in case.inputs.items():
                (scratch / "in" / name).write_bytes(make())
            argv = [*mreg, "-r", str(registry),
                    *(part.replace("{in}", str(scratch / "in")).replace("{scratch}", str(scratch)) for part in case.argv)]
            runs = [timed(argv) for _ in range(options.runs)]
            rows.append((statistics.median(t for t, _ in runs), runs[0][1], case.id))
        print(f"start-up baseline (mreg --help): {baseline:.3f} s; {len(rows)} cases, median of {options.runs}")
        for seconds, code, name in sorted(rows, reverse=True):
            print(f"{seconds:7.3f} s  exit {code}  {name}")


if __name__ == "__main__":
    main()
