"""Concurrent writers on one model: lost races are retried when the plan still holds and
are conflicts (exit 4) when it does not; a 4-process race loses no event."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import mreg
from conftest import REPO, judge_report
from mreg.codec import load_yaml
from mreg.errors import ConcurrentUpdate, ExitCode
from mreg.lifecycle import State
from mreg.manifest import ModelSpec

pytestmark = pytest.mark.local_only


def released(registry, *versions: str) -> None:
    for version in versions:
        registry.register(f"M@{version}")
        for state in ("experimentation", "candidate", "canary"):
            registry.promote(f"M@{version}", State(state))
        registry.promote(f"M@{version}", State.PRODUCTION, evidence_file=judged(registry, version))


def judged(registry, version: str) -> Path:
    return judge_report(registry, f"M@{version}", Path.cwd())


def rival_goes_first(registry, rival_step) -> None:
    """Let ``rival_step`` (another Registry on the same store) append just before our
    first create: the interleaving two processes produce when both read the same history."""
    create = registry.storage.create
    pending = [rival_step]

    def create_after_rival(path: str, data: bytes) -> None:
        if pending and "/events/" in path:  # not the gc marker a write takes first
            pending.pop()()
        create(path, data)

    registry.storage.create = create_after_rival


@pytest.fixture
def model(registry):
    registry.add_model(ModelSpec(id="M", name="M"))
    released(registry, "v1")
    registry.register("M@v2")
    for state in ("experimentation", "candidate", "canary"):
        registry.promote("M@v2", State(state))
    return registry


def test_a_lost_race_whose_plan_still_holds_is_retried(model, registry_url):
    rival = mreg.open(registry_url)
    model.register("M@v3")
    rival_goes_first(model, lambda: rival.promote("M@v3", State.EXPERIMENTATION))

    result = model.promote("M@v2", State.PRODUCTION, evidence_file=judged(model, "v2"))

    assert result.seq == 10  # the rival took 9 (event 1 is model add)
    assert model.status("M").versions == {"v1": "deprecated", "v2": "production", "v3": "experimentation"}
    assert model.verify().ok


def test_a_lost_race_whose_plan_no_longer_holds_is_a_conflict(model, registry_url):
    rival = mreg.open(registry_url)
    evidence = judged(model, "v2")
    rival_goes_first(model, lambda: rival.promote("M@v2", State.PRODUCTION, evidence_file=evidence))

    with pytest.raises(ConcurrentUpdate) as lost:
        model.promote("M@v2", State.PRODUCTION, evidence_file=evidence)

    assert lost.value.exit_code == ExitCode.CONFLICT
    assert "another writer appended first, and now M@v2 is production" in lost.value.message
    assert len(model.log("M")) == 11  # 2 registrations, the rival's event and 8 before it (model add first)


def replay(events_dir: Path) -> dict[str, str]:
    """The final state from the event files alone, applied in SEQ order."""
    states: dict[str, str] = {}
    for path in sorted(events_dir.glob("*.yaml")):
        for change in load_yaml(path.read_bytes(), str(path)).get("changes", []):  # model events have none
            states[change["version"]] = change["to"]
    return states


@pytest.mark.slow
def test_four_processes_racing_on_one_model_lose_no_event(registry_url):
    done = subprocess.run(
        [sys.executable, str(REPO / "bench/bench_race.py"), registry_url,
         "--processes", "4", "--promotions", "50", "--json"],
        capture_output=True, text=True, timeout=600, check=True,
    )
    report = json.loads(done.stdout)
    events_dir = Path(registry_url, "models/RACE/events")
    registry = mreg.open(registry_url)

    assert [worker["appended"] for worker in report["workers"]] == [50] * 4
    assert len(list(events_dir.glob("*.yaml"))) - 1 == report["appended"] == 200  # and model add's event
    assert registry.verify().ok
    status = registry.status("RACE")
    assert {v: s for v, s in status.versions.items() if s != "development"} == replay(events_dir)
    assert list(status.versions.values()).count("production") == 1
