"""Evidence bound to its version, the policy that says which edges need it, and the planning
step that checks everything before anything is stored (docs/gates.md, "Evidence")."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import mreg
from conftest import Cli, add_model, resealed, snapshot, stored_bytes, write
from mreg.codec import digest_bytes
from mreg.lifecycle import State
from mreg.store import open_storage
from mreg.store.blobs import object_path

DAY = 86400
T0 = 1_780_000_000  # a fixed instant (2026-05-28), so ages are exact


def at(seconds: int) -> dict[str, str]:
    return {"SOURCE_DATE_EPOCH": str(T0 + seconds)}


@pytest.fixture
def canary(cli, registry_url) -> Cli:
    """M@v1 serving in production, M@v2 and M@v5 in canary-ready states; v2 on the canary."""
    add_model(cli, "M")
    registry = mreg.open(registry_url)
    for version in ("v1", "v2", "v5"):
        registry.register(f"M@{version}", metrics={"accuracy": 0.9})
        for state in (State.EXPERIMENTATION, State.CANDIDATE):
            registry.promote(f"M@{version}", state)
    registry.promote("M@v1", State.CANARY)
    registry.promote("M@v1", State.PRODUCTION, reason="set-up", force=True)
    registry.promote("M@v2", State.CANARY)
    return cli


def refused(cli: Cli, registry_url: str, *args: str, code: int = 2, env: dict | None = None) -> str:
    """Run a command that must be refused: its exit code, one error line, nothing written."""
    before = snapshot(registry_url)
    outcome = cli(*args, env=env)
    assert outcome.exit_code == code, (outcome.exit_code, outcome.stdout, outcome.stderr)
    assert outcome.stderr.startswith("error: ") and outcome.stderr.count("\n") == 1, outcome.stderr
    assert snapshot(registry_url) == before
    return outcome.stderr


def test_canary_to_production_without_evidence_is_refused_saying_what_to_make(canary, registry_url):
    message = refused(canary, registry_url, "promote", "M@v2", "--to", "production")
    assert "M@v2 canary -> production needs a passing judge report" in message
    assert "mreg judge M@v2 --canary FILE --baseline FILE -o judge.json" in message
    assert "--evidence judge.json" in message


def test_a_real_subprocess_is_refused_the_same_way(canary, registry_url):
    outcome = canary.subprocess("promote", "M@v2", "--to", "production")
    assert outcome.exit_code == 2 and outcome.stderr.count("\n") == 1
    assert "needs a passing judge report" in outcome.stderr and "Traceback" not in outcome.stderr


def test_the_judge_report_names_the_version_its_digest_the_reference_and_the_samples(canary, registry_url):
    judged = Path(canary.judged("M@v2", env=at(0)))
    document = json.loads(judged.read_bytes())
    samples = Path("samples-M-v2.json").read_bytes()
    registry = mreg.open(registry_url)

    assert (document["kind"], document["schema_version"]) == ("judge-report", 1)
    assert (document["model"], document["version"]) == ("M", "v2")
    assert document["manifest"] == registry.show_version("M@v2").manifest_digest
    assert document["reference"] == "v1"
    assert document["reference_manifest"] == registry.show_version("M@v1").manifest_digest
    digest = "sha256:" + hashlib.sha256(samples).hexdigest()
    assert document["samples"] == {"canary": digest, "baseline": digest}
    assert (document["time"], document["actor"]) == ("2026-05-28T20:26:40Z", "tester")
    assert document["verdict"] == "Pass" and document["metrics"]  # the judge's own keys stay top-level
    assert canary.ok("judge", "M@v2", "--canary", "samples-M-v2.json", "--baseline", "samples-M-v2.json",
                     "--json", env=at(0)) == judged.read_text()  # -o writes what --json prints


def test_a_bound_passing_report_promotes_and_is_stored_as_the_event_names_it(canary, registry_url):
    judged = canary.judged("M@v2", env=at(0))
    result = json.loads(canary.ok("promote", "M@v2", "--to", "production", "--evidence", judged, "--json", env=at(60)))
    proof, gate = result["evidence"]
    assert (proof["kind"], proof["verdict"]) == ("judge", "Pass")
    assert proof["summary"] == "judged against M@v1 at 2026-05-28T20:26:40Z, score 100"
    assert stored_bytes(registry_url, object_path(proof["digest"])) == Path(judged).read_bytes()
    stored_gate = json.loads(stored_bytes(registry_url, object_path(gate["digest"])))
    assert (stored_gate["kind"], stored_gate["model"], stored_gate["version"]) == ("gate-report", "M", "v2")
    assert stored_gate["gate"] == "production" and stored_gate["verdict"] == "pass"
    assert {c["version"]: c["to"] for c in result["changes"]} == {"v1": "deprecated", "v2": "production"}


def test_a_report_for_another_version_is_refused(canary, registry_url):
    judged = canary.judged("M@v2", env=at(0))
    mreg.open(registry_url).promote("M@v5", State.CANARY)
    message = refused(canary, registry_url, "promote", "M@v5", "--to", "production", "--evidence", judged, env=at(60))
    assert "is a judge-report for M@v2, not M@v5" in message


def test_a_report_for_other_bytes_of_the_same_name_is_refused(canary, registry_url, tmp_path):
    other = Cli(str(tmp_path / "other"))
    mreg.init(other.registry_url)
    add_model(other, "M")
    other.ok("register", "M@v2", "-m", "accuracy=0.5")  # same name, different manifest
    foreign = other.judged("M@v2", env=at(0))
    message = refused(canary, registry_url, "promote", "M@v2", "--to", "production", "--evidence", foreign, env=at(60))
    assert "judged a manifest of M@v2 with digest" in message and "but the registry's has" in message


@pytest.mark.parametrize(("content", "expected"), [
    ('{"verdict": "Pass"}', "is not an mreg evidence document (no 'kind')"),
    ('{"verdict": "Pass", "summary_score": 100, "metrics": []}', "is not an mreg evidence document"),
    ('{"kind": "kayenta-report", "verdict": "Pass"}', "unknown evidence kind 'kayenta-report'"),
    ("- 1\n- 2\n", "is not an mreg evidence document"),
])
def test_a_file_that_is_not_a_bound_report_is_refused(canary, registry_url, tmp_path, content, expected):
    evidence = write(tmp_path / "evidence.json", content)
    assert expected in refused(canary, registry_url, "promote", "M@v2", "--to", "production", "--evidence", str(evidence))


def test_a_version_manifest_is_not_evidence(canary, registry_url, tmp_path):
    manifest = write(tmp_path / "v1.yaml", stored_bytes(registry_url, "models/M/versions/v1.yaml"))
    message = refused(canary, registry_url, "promote", "M@v2", "--to", "production", "--evidence", str(manifest))
    assert "is not an mreg evidence document" in message


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("summary_score", 99.0, "edited after mreg wrote it (its seal does not match)"),
    ("verdict", "Great", "verdict 'Great' is not one of Pass, Marginal, Fail"),
    ("schema_version", 99, "schema_version 99 is newer than this mreg understands"),
    ("time", "yesterday", "'yesterday' is not an ISO 8601 instant"),
])
def test_a_hand_edited_or_malformed_report_is_refused(canary, registry_url, field, value, expected):
    judged = Path(canary.judged("M@v2", env=at(0)))
    document = json.loads(judged.read_text())
    document[field] = value
    judged.write_text(json.dumps(document))
    message = refused(canary, registry_url, "promote", "M@v2", "--to", "production", "--evidence", str(judged), env=at(60))
    assert expected in message


def test_a_failing_judgement_is_refused_as_a_failed_check(canary, registry_url, tmp_path):
    worse = write(tmp_path / "canary.json", json.dumps({"metrics": {"availability": [0.5, 0.6, 0.55, 0.52] * 10}}))
    better = write(tmp_path / "baseline.json", json.dumps({"metrics": {"availability": [9.5, 9.6, 9.55, 9.52] * 10}}))
    out = tmp_path / "fail.json"
    assert canary("judge", "M@v2", "--canary", str(worse), "--baseline", str(better), "-o", str(out), env=at(0)).exit_code == 6
    assert json.loads(out.read_text())["verdict"] == "Fail"
    message = refused(canary, registry_url, "promote", "M@v2", "--to", "production", "--evidence", str(out),
                      code=6, env=at(60))
    assert "canary judgement is Fail, not Pass" in message


def test_a_report_older_than_the_policy_allows_is_refused(canary, registry_url):
    judged = canary.judged("M@v2", env=at(0))
    message = refused(canary, registry_url, "promote", "M@v2", "--to", "production", "--evidence", judged,
                      env=at(7 * DAY + 1))
    assert "older than the policy's max_age of 7d; judge again" in message
    canary.ok("promote", "M@v2", "--to", "production", "--evidence", judged, env=at(7 * DAY))  # 7 days is still fresh


def test_max_age_comes_from_mreg_yaml(canary, registry_url):
    mreg.open(registry_url).update_config(policy={"evidence": {"max_age": "1h"}})
    judged = canary.judged("M@v2", env=at(0))
    message = refused(canary, registry_url, "promote", "M@v2", "--to", "production", "--evidence", judged, env=at(3601))
    assert "max_age of 1h" in message


def test_a_report_judged_against_a_version_that_no_longer_serves_is_refused(canary, registry_url):
    judged = canary.judged("M@v2", env=at(0))  # against v1
    registry = mreg.open(registry_url)
    registry.promote("M@v5", State.CANARY)
    registry.promote("M@v5", State.PRODUCTION, force=True, reason="v5 went first")
    message = refused(canary, registry_url, "promote", "M@v2", "--to", "production", "--evidence", judged, env=at(60))
    assert "judged against M@v1, but M@v5 serves now; judge again" in message


def test_force_with_a_reason_promotes_without_evidence_and_records_it(canary, registry_url):
    result = json.loads(canary.ok("promote", "M@v2", "--to", "production", "--force", "--reason", "judge is down", "--json"))
    assert result["forced"] is True
    [entry] = [e for e in json.loads(canary.ok("log", "M", "--json")) if e["seq"] == result["seq"]]
    assert entry["forced"] is True and entry["reason"] == "judge is down"


def test_force_never_accepts_a_report_for_another_version(canary, registry_url):
    judged = canary.judged("M@v2", env=at(0))
    message = refused(canary, registry_url, "promote", "M@v5", "--to", "production", "--evidence", judged,
                      "--force", "--reason", "try", env=at(60))
    assert "for M@v2, not M@v5" in message


def test_the_policy_can_drop_the_judgement_or_ask_for_it_elsewhere(canary, registry_url):
    registry = mreg.open(registry_url)
    registry.update_config(policy={"evidence": {"require": {"canary -> production": ["gate"],
                                                            "candidate -> canary": ["judge"]}}})
    message = refused(canary, registry_url, "promote", "M@v5", "--to", "canary")
    assert "M@v5 candidate -> canary needs a passing judge report" in message
    canary.ok("promote", "M@v2", "--to", "production")  # no judgement asked on this edge any more


@pytest.mark.parametrize(("policy", "expected"), [
    ({"require": {"canary -> rollback": ["judge"]}}, "is not a promote edge of the lifecycle"),
    ({"require": {"candidate -> canary": ["gate"]}}, "has no baseline gate in the lifecycle table"),
    ({"require": {"canary -> production": ["kayenta"]}}, "Input should be 'gate' or 'judge'"),
    ({"require": {"canary": ["judge"]}}, "name an edge as 'SOURCE -> TARGET'"),
    ({"max_age": "1w"}, "is not a duration like 7d"),
])
def test_a_policy_the_table_does_not_support_is_a_config_error(canary, registry_url, policy, expected):
    config = open_storage(registry_url).read("mreg.yaml")
    edited = config + b"policy:\n  evidence: " + json.dumps(policy).encode() + b"\n"
    open_storage(registry_url).replace("mreg.yaml", resealed(edited))
    message = refused(canary, registry_url, "promote", "M@v2", "--to", "production")
    assert "mreg.yaml" in message and expected in message


def test_verify_reports_a_deleted_evidence_blob(canary, registry_url):
    judged = canary.judged("M@v2", env=at(0))
    result = json.loads(canary.ok("promote", "M@v2", "--to", "production", "--evidence", judged, "--json", env=at(60)))
    digest = result["evidence"][0]["digest"]
    open_storage(registry_url).delete(object_path(digest))
    outcome = canary("verify")
    assert outcome.exit_code == 5
    assert f"{object_path(digest)}: missing evidence blob (judge) of models/M/events/" in outcome.stdout


def _promoted_with_judgement(canary) -> tuple[dict, str]:
    judged = canary.judged("M@v2", env=at(0))
    result = json.loads(canary.ok("promote", "M@v2", "--to", "production", "--evidence", judged, "--json", env=at(60)))
    [judge] = [proof for proof in result["evidence"] if proof["kind"] == "judge"]
    return result, judge["digest"]


def test_plain_verify_reads_each_judge_report_and_reports_a_swapped_one(canary, registry_url):
    _, digest = _promoted_with_judgement(canary)
    other = Path(canary.judged("M@v5", env=at(0))).read_bytes()  # sealed, intact, for another version
    open_storage(registry_url).replace(object_path(digest), other)
    outcome = canary("verify")  # not --deep: evidence is read and checked on every verify
    assert outcome.exit_code == 5
    assert f"{object_path(digest)}: evidence (judge) of models/M/events/" in outcome.stdout
    assert "is corrupt: it hashes to" in outcome.stdout


def test_verify_reports_an_event_rewritten_to_name_a_report_for_another_version(canary, registry_url):
    """Whoever recomputes the event's seal and the head can make the chain hold; the judge report
    it names must still be about the version the event moves."""
    result, digest = _promoted_with_judgement(canary)
    other, event_path = _rewrite_evidence(registry_url, result["seq"], digest, Path(canary.judged("M@v5", env=at(0))).read_bytes())
    outcome = canary("verify")
    assert outcome.exit_code == 5
    assert f"{object_path(other)}: evidence (judge) of {event_path} is a judge-report for M@v5, which the event does not move" in outcome.stdout


def test_only_history_an_upgrade_took_over_may_name_an_unbound_report(canary, registry_url):
    """A report without ``kind`` predates bound reports: accepted before a model's first model
    event (format-1 history), never after it."""
    result, digest = _promoted_with_judgement(canary)
    other, event_path = _rewrite_evidence(registry_url, result["seq"], digest, b'{"verdict": "Pass"}')
    outcome = canary("verify")
    assert outcome.exit_code == 5
    assert f"{object_path(other)}: evidence (judge) of {event_path} is not an intact evidence document" in outcome.stdout


def _rewrite_evidence(registry_url: str, seq: int, digest: str, report: bytes) -> tuple[str, str]:
    """Make event ``seq`` name ``report`` instead of ``digest``, its seal and the head recomputed."""
    storage, registry = open_storage(registry_url), mreg.open(registry_url)
    other = registry.blobs.put_bytes(report).digest
    event_path = f"models/M/events/{seq:08d}.yaml"
    old_event = storage.read(event_path)
    new_event = resealed(old_event.replace(digest.encode(), other.encode()))
    storage.replace(event_path, new_event)
    head = storage.read("models/M/head.yaml")
    storage.replace("models/M/head.yaml", head.replace(digest_bytes(old_event).encode(), digest_bytes(new_event).encode()))
    return other, event_path


def test_a_refused_monitor_stores_nothing_not_even_its_metrics_file(cli, registry_url, tmp_path):
    add_model(cli, "M")
    cli.ok("register", "M@v1")
    metrics = write(tmp_path / "today.yaml", "latency: 1.5\n")
    before = snapshot(registry_url)
    refused = cli("monitor", "M", "--metrics", str(metrics))
    assert refused.exit_code == 2, refused.stderr
    assert "no version in production" in refused.stderr
    assert snapshot(registry_url) == before  # the metrics file was not kept as an orphan blob


def test_the_evidence_is_stored_once_even_when_a_lost_race_is_replanned(canary, registry_url, monkeypatch):
    registry = mreg.open(registry_url)
    judged = canary.judged("M@v2")
    rival = mreg.open(registry_url)
    create, writes, pending, rivals = registry.storage.create, [], [lambda: rival.promote("M@v5", State.CANARY)], []

    def create_after_rival(path: str, data: bytes):
        if pending:
            rivals.append(pending.pop()())
        return create(path, data)

    put = registry.blobs.put_bytes
    monkeypatch.setattr(registry.storage, "create", create_after_rival)
    monkeypatch.setattr(registry.blobs, "put_bytes", lambda data: writes.append(data) or put(data))
    result = registry.promote("M@v2", State.PRODUCTION, evidence_file=judged)
    assert result.seq == rivals[0].seq + 1  # the rival took the next seq; the plan still held and was made again
    assert len(writes) == 2  # the judge report and the gate report, each stored once
