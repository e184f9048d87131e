"""The lifecycle through the library: serving rules, rollback, archive, monitor, force.

Each test plays a short history with the ``Registry`` API and checks what a user would see
afterwards: states, the events written, and that the chain still verifies.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import judge_report, write
from mreg import lifecycle
from mreg.errors import CheckFailed, ExitCode, MregError, UsageError
from mreg.lifecycle import SERVING, State
from mreg.manifest import ModelSpec

TO_PRODUCTION = ("experimentation", "candidate", "canary", "production")
local = pytest.mark.local_only  # the lifecycle is pure; two tests below also run on S3
HEALTHY = {"latency_p95_ms": 180.0}
DRIFTED = {"latency_p95_ms": 320.0}


@pytest.fixture
def reg(registry):
    """A registry with model M whose p95 latency must stay under 250 ms (gates and health)."""
    baseline = {"metric": "latency_p95_ms", "direction": "lower", "max": 250}
    registry.add_model(ModelSpec.from_data({"id": "M", "name": "Model M", "baselines": [baseline]}, "M"))
    return registry


def register(registry, version: str, latency: float = 200.0, *files: Path) -> None:
    registry.register(f"M@{version}", artifact_sources=[str(f) for f in files], metrics={"latency_p95_ms": latency})


def walk(registry, version: str, *states: str) -> None:
    """Promote along ``states``; into production with a judge report made for the version."""
    for state in states:
        judged = judge_report(registry, f"M@{version}", Path.cwd()) if state == "production" else None
        registry.promote(f"M@{version}", State(state), evidence_file=judged)


def in_production(registry, *versions: str) -> None:
    """Register each version and take it all the way to production, one after another."""
    for version in versions:
        register(registry, version)
        walk(registry, version, *TO_PRODUCTION)


def states(registry) -> dict[str, str]:
    return registry.status("M").versions


def event_count(registry) -> int:
    return sum(1 for entry in registry.log("M") if entry.seq is not None)


def moves(result) -> list[tuple[str, str, str]]:
    return [(move.version, move.from_, move.to) for move in result.changes]


def test_promoting_to_production_deprecates_the_previous_version_in_the_same_event(reg):
    in_production(reg, "v1")
    register(reg, "v2")
    walk(reg, "v2", "experimentation", "candidate", "canary")
    before = event_count(reg)

    result = reg.promote("M@v2", State.PRODUCTION, reason="better", evidence_file=judge_report(reg, "M@v2", Path.cwd()))

    assert event_count(reg) == before + 1
    assert moves(result) == [("v1", "production", "deprecated"), ("v2", "canary", "production")]
    assert states(reg) == {"v1": "deprecated", "v2": "production"}
    assert reg.status("M").serving == "v2"


@local
def test_no_reader_ever_sees_two_or_zero_production_versions(reg):
    in_production(reg, "v1", "v2", "v3")
    reg.rollback("M")
    history = reg.repository.model_files("M")
    serving_after_each = []
    for count in range(len(history.events) + 1):
        folded = lifecycle.fold("M", history.manifests, (s.event.as_changes() for s in history.events[:count]))
        serving_after_each.append([v for v, s in folded.versions.items() if s in SERVING])
    first = next(i for i, serving in enumerate(serving_after_each) if serving)
    assert all(len(serving) == 1 for serving in serving_after_each[first:])


@local
def test_rollback_of_a_failing_canary_keeps_production_serving(reg):
    in_production(reg, "v1")
    register(reg, "v2")
    walk(reg, "v2", "experimentation", "candidate", "canary")

    result = reg.rollback("M", reason="canary failed")

    assert moves(result) == [("v2", "canary", "rollback")]
    assert states(reg) == {"v1": "production", "v2": "rollback"}
    walk(reg, "v2", "experimentation")  # Rollback -> Experimentation: investigate and iterate
    assert states(reg)["v2"] == "experimentation"


@local
def test_rollback_of_a_bad_production_release_restores_the_previous_version(reg):
    in_production(reg, "v1", "v2")

    result = reg.rollback("M", reason="p95 regression")

    assert moves(result) == [("v2", "production", "rollback"), ("v1", "deprecated", "production")]
    assert states(reg) == {"v1": "production", "v2": "rollback"}


@local
def test_rollback_to_a_named_version(reg):
    in_production(reg, "v1", "v2", "v3")

    reg.rollback("M", to="v1")

    assert states(reg) == {"v1": "production", "v2": "deprecated", "v3": "rollback"}


@local
def test_rollback_restores_the_version_that_served_last_not_the_one_that_served_first(reg):
    in_production(reg, "v1", "v2", "v3")
    reg.rollback("M", to="v1")  # v1 serves again; v2 has been deprecated longer
    in_production(reg, "v4")

    reg.rollback("M")

    assert states(reg) == {"v1": "production", "v2": "deprecated", "v3": "rollback", "v4": "rollback"}


@local
@pytest.mark.parametrize("setup", ["one production version", "nothing serves"])
def test_rollback_with_nothing_to_restore_is_refused(reg, setup):
    register(reg, "v1")
    if setup == "one production version":
        walk(reg, "v1", *TO_PRODUCTION)
    before = event_count(reg)

    with pytest.raises(UsageError) as refused:
        reg.rollback("M")

    assert refused.value.exit_code == ExitCode.USAGE
    assert event_count(reg) == before


@local
def test_rollback_of_the_retraining_version_restores_the_previous_one(reg):
    in_production(reg, "v1", "v2")
    reg.monitor("M", DRIFTED)

    result = reg.rollback("M")

    assert moves(result) == [("v2", "retraining", "rollback"), ("v1", "deprecated", "production")]


@local
def test_archive_a_deprecated_version(reg):
    in_production(reg, "v1", "v2")

    result = reg.archive("M@v1", reason="old")

    assert moves(result) == [("v1", "deprecated", "archived")]
    assert result.archived_to is None
    with pytest.raises(MregError, match="allowed next: monitoring, deprecated, rollback"):
        reg.archive("M@v2")  # production is not deprecated yet


def test_archive_moves_only_blobs_no_live_version_uses(reg, tmp_path):
    shared = write(tmp_path / "src/shared.bin", b"embedding table used by both")
    own = write(tmp_path / "src/own.bin", b"weights only v1 has")
    register(reg, "v1", 200.0, shared, own)
    walk(reg, "v1", *TO_PRODUCTION)
    register(reg, "v2", 200.0, shared)
    walk(reg, "v2", *TO_PRODUCTION)
    digests = {a.path: a.digest for a in reg.manifest("M@v1").artifacts}
    archive_url = str(tmp_path / "archive")

    result = reg.archive("M@v1", move_to=archive_url)

    assert result.archived_to == archive_url
    assert not reg.blobs.has(digests["own.bin"])
    assert reg.blobs.has(digests["shared.bin"])
    archive_objects = {p.name for p in Path(archive_url).rglob("*") if p.is_file()}
    assert digests["own.bin"].split(":")[1][2:] in archive_objects
    pulled = reg.pull("M@v1", tmp_path / "out")
    assert {f.path for f in pulled.files} == {"own.bin", "shared.bin"}
    assert (tmp_path / "out/own.bin").read_bytes() == b"weights only v1 has"
    assert reg.pull("M@v2", tmp_path / "out2").files[0].path == "shared.bin"
    assert reg.verify().ok


@local
def test_a_healthy_check_returns_to_production(reg):
    in_production(reg, "v1")

    result = reg.monitor("M", HEALTHY)

    assert moves(result) == [("v1", "production", "monitoring"), ("v1", "monitoring", "production")]
    assert result.evidence[-1].verdict == "healthy"
    assert states(reg) == {"v1": "production"}


@local
@pytest.mark.parametrize(("metrics", "scheduled", "verdict"), [(DRIFTED, False, "drift"), (HEALTHY, True, "scheduled")])
def test_drift_or_a_schedule_sends_the_serving_version_to_retraining(reg, metrics, scheduled, verdict):
    in_production(reg, "v1")

    result = reg.monitor("M", metrics, scheduled=scheduled)

    assert moves(result)[-1] == ("v1", "monitoring", "retraining")
    assert result.evidence[-1].verdict == verdict
    assert reg.status("M").serving == "v1"  # a retraining version still serves


@local
def test_a_version_trained_during_retraining_enters_as_candidate_if_it_passes_the_gate(reg):
    in_production(reg, "v1")
    reg.monitor("M", DRIFTED)

    entered = reg.register("M@v2", metrics={"latency_p95_ms": 190.0})
    stayed = reg.register("M@v3", metrics={"latency_p95_ms": 400.0})

    assert states(reg) == {"v1": "retraining", "v2": "candidate", "v3": "development"}
    assert (entered.status, stayed.status) == ("candidate", "development")  # register says what status says
    walk(reg, "v2", "canary", "production")
    assert states(reg) == {"v1": "deprecated", "v2": "production", "v3": "development"}
    assert reg.verify().ok


@local
def test_the_retraining_version_itself_cannot_become_a_candidate(reg):
    in_production(reg, "v1")
    reg.monitor("M", DRIFTED)

    with pytest.raises(UsageError, match="cannot move to candidate"):
        reg.promote("M@v1", State.CANDIDATE)


@local
def test_promote_refuses_an_edge_another_command_owns(reg):
    in_production(reg, "v1")

    with pytest.raises(UsageError, match="mreg monitor"):
        reg.promote("M@v1", State.MONITORING)


@local
def test_a_failing_gate_refuses_the_promotion(reg):
    register(reg, "v1", latency=400.0)
    walk(reg, "v1", "experimentation")

    with pytest.raises(CheckFailed, match="candidate gate failed"):
        reg.promote("M@v1", State.CANDIDATE)


@local
def test_force_needs_a_reason(reg):
    register(reg, "v1")
    with pytest.raises(UsageError, match="--force needs --reason"):
        reg.promote("M@v1", State.PRODUCTION, force=True)


PROMOTE_EDGES = [t for t in lifecycle.TRANSITIONS if t.command == "promote" and not t.successor]


@local
@pytest.mark.parametrize("transition", PROMOTE_EDGES, ids=lambda t: f"{t.source}-{t.target}")
def test_promote_runs_the_gate_the_table_names_and_no_other(reg, transition):
    """`mreg states` prints the table promote enforces: a version breaking every bound is
    refused on each edge with a gate, by that gate, and moves on each edge without one."""
    register(reg, "v1", latency=900.0)
    if transition.source != State.DEVELOPMENT:
        reg.promote("M@v1", transition.source, reason="set up the edge's source", force=True)
    judged = judge_report(reg, "M@v1", Path.cwd()) if transition.target == State.PRODUCTION else None  # the policy's
    if transition.gate:
        with pytest.raises(CheckFailed, match=f"{transition.gate} gate failed: latency_p95_ms = 900 exceeds"):
            reg.promote("M@v1", transition.target, evidence_file=judged)
    else:
        assert moves(reg.promote("M@v1", transition.target)) == [("v1", transition.source, transition.target)]


def test_a_move_takes_its_edges_gate_and_an_off_table_one_the_gate_into_its_target():
    for transition in lifecycle.TRANSITIONS:
        if transition.source is not None:
            assert lifecycle.gate_of(lifecycle.Change("v1", transition.source, transition.target)) == transition.gate
    off_table = {target: lifecycle.gate_of(lifecycle.Change("v1", State.DEVELOPMENT, target))
                 for target in (State.CANDIDATE, State.PRODUCTION, State.CANARY)}
    assert off_table == {State.CANDIDATE: "candidate", State.PRODUCTION: "production", State.CANARY: None}


@local
def test_force_bypasses_table_and_gates_but_keeps_one_serving_version(reg):
    in_production(reg, "v1")
    register(reg, "v2", latency=900.0)

    result = reg.promote("M@v2", State.PRODUCTION, reason="hotfix, gate known broken", force=True)

    assert result.forced
    assert moves(result) == [("v1", "production", "deprecated"), ("v2", "development", "production")]
    assert result.evidence[-1].verdict == "fail"  # the gate still ran and says so
    assert reg.log("M")[0].forced
    assert reg.verify().ok  # verify accepts a forced event, and the chain after it
