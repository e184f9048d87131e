"""Race: N processes promoting versions of one model at once, on one registry.

    python bench/bench_race.py REGISTRY [--processes 4] [--promotions 50] [--json]

Each worker is its own ``python`` process using the library: it registers its own versions
(``w<ID>-<N>``) and promotes each through experimentation, candidate, canary and
production, until it has made ``--promotions`` successful calls. Every call appends one
event to the same model's chain, so the workers race for each next ``SEQ``; a promotion
to production also retires whatever another worker just put there. A lost race is retried
when the plan still holds (counted as a retry) and is a conflict (exit 4) otherwise.
Workers start together at an agreed instant. The registry's policy (mreg.yaml) is set to
ask no judge report on canary -> production, so every call is an append. Prints events/s, retries and conflicts;
tests/test_race.py runs it and checks the chain it leaves.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

MODEL = "RACE"
CHAIN = ("experimentation", "candidate", "canary", "production")


def worker(url: str, ident: int, promotions: int, start: float) -> dict:
    import mreg
    from mreg.errors import AlreadyExists, ConcurrentUpdate
    from mreg.lifecycle import State

    registry = mreg.open(url)
    create, lost = registry.storage.create, []

    def counting_create(path: str, data: bytes):
        try:
            return create(path, data)
        except AlreadyExists:
            lost.append(path)
            raise

    registry.storage.create = counting_create  # count lost races; the store still decides
    appended = conflicts = number = 0
    time.sleep(max(0.0, start - time.time()))
    began = time.perf_counter()
    while appended < promotions:
        number += 1
        version = f"w{ident}-{number}"
        registry.register(f"{MODEL}@{version}")
        for state in CHAIN[: promotions - appended]:
            try:
                registry.promote(f"{MODEL}@{version}", State(state), reason=f"worker {ident}")
                appended += 1
            except ConcurrentUpdate:
                conflicts += 1
                break
    return {"appended": appended, "retries": len(lost), "conflicts": conflicts,
            "seconds": time.perf_counter() - began}


def race(url: str, processes: int, promotions: int) -> dict:
    """Run the workers as subprocesses; their reports and the totals."""
    import mreg
    from mreg.errors import AlreadyExists
    from mreg.manifest import ModelSpec

    registry = mreg.open(url)
    try:
        registry.add_model(ModelSpec(id=MODEL, name="Race"))
    except AlreadyExists:
        pass
    # appends are what race here, not the canary judge: this registry's policy asks none
    registry.update_config(policy={"evidence": {"require": {"canary -> production": []}}})
    start = time.time() + 2.0  # interpreter start-up and imports happen before the race
    children = [
        subprocess.Popen(
            [sys.executable, __file__, url, "--worker", str(ident), "--promotions", str(promotions),
             "--start", repr(start)],
            stdout=subprocess.PIPE, text=True,
        )
        for ident in range(processes)
    ]
    reports = []
    for child in children:
        out, _ = child.communicate(timeout=600)
        if child.returncode != 0:
            raise RuntimeError(f"worker exited {child.returncode}")
        reports.append(json.loads(out))
    wall = max(report["seconds"] for report in reports)
    appended = sum(report["appended"] for report in reports)
    return {
        "processes": processes, "promotions": promotions, "workers": reports,
        "appended": appended, "retries": sum(r["retries"] for r in reports),
        "conflicts": sum(r["conflicts"] for r in reports), "seconds": wall, "events_per_second": appended / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("registry")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--promotions", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--start", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.registry, args.worker, args.promotions, args.start)))
        return
    result = race(args.registry, args.processes, args.promotions)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['processes']} processes x {result['promotions']} promotions on one model: "
          f"{result['appended']} events in {result['seconds']:.1f} s ({result['events_per_second']:.1f} events/s), "
          f"{result['retries']} lost races retried, {result['conflicts']} conflicts")


if __name__ == "__main__":
    main()
