"""Baseline verdicts, `mreg check`, and the gates `promote` applies (refuse, or --force and record)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from conftest import snapshot, write
from mreg.gates import evaluate, gating, judge_metric
from mreg.manifest import Baseline
from mreg.store import open_storage
from mreg.store.blobs import object_path

LATENCY = Baseline(metric="p95_latency_ms", direction="lower", max=250, critical=True)
ENGAGEMENT = Baseline(metric="engagement_rate", direction="higher", tolerance=0.02)

# Storage-independent gate logic runs on the local backend; the refusals (byte-identical
# registry) and the forced promotion run on every backend.
gate_logic = pytest.mark.local_only

MODEL = """\
id: MDL-REC
name: Recommendation Ensemble
baselines:
  - metric: p95_latency_ms
    description: End-to-end time from request to rendered homepage
    alert_threshold: < 250ms
    direction: lower
    max: 250
    critical: true
  - metric: engagement_rate
    direction: higher
    tolerance: 0.02
"""


# -- verdicts on constructed cases ------------------------------------------------------


def test_clear_regression_beyond_tolerance():
    verdict = judge_metric(ENGAGEMENT, 0.27, 0.30)
    assert verdict.verdict == "regression"
    assert verdict.delta == pytest.approx(-0.03)
    assert verdict.relative == pytest.approx(-0.10)
    assert "beyond the tolerance 2.0%" in verdict.rule


def test_improvement_within_tolerance_passes():
    verdict = judge_metric(ENGAGEMENT, 0.303, 0.30)
    assert verdict.verdict == "pass"
    assert "within the tolerance 2.0%" in verdict.rule


def test_improvement_beyond_tolerance_is_reported():
    assert judge_metric(ENGAGEMENT, 0.33, 0.30).verdict == "improvement"


def test_noise_the_wrong_way_within_tolerance_passes():
    verdict = judge_metric(ENGAGEMENT, 0.297, 0.30)
    assert verdict.verdict == "pass"
    assert verdict.relative == pytest.approx(-0.01)


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf])
def test_missing_or_non_finite_value_is_no_data(value):
    verdict = judge_metric(ENGAGEMENT, value, 0.30)
    assert verdict.verdict == "no data"
    assert verdict.delta is None


def test_absolute_bound_wins_over_a_relative_improvement():
    verdict = judge_metric(LATENCY, 262, 300)
    assert verdict.verdict == "regression"
    assert verdict.rule == "p95_latency_ms = 262 exceeds the bound 250"


def test_lower_bound_and_no_reference():
    diversity = Baseline(metric="diversity", direction="higher", min=3)
    assert judge_metric(diversity, 2.5, None).verdict == "regression"
    assert judge_metric(diversity, 3.5, None).verdict == "pass"


def test_critical_metric_without_data_fails_the_gate_and_others_do_not():
    report = evaluate("candidate", "MDL-REC@v2", [LATENCY, ENGAGEMENT], {})
    assert report.verdict == "fail"
    assert [m.metric for m in report.failures] == ["p95_latency_ms"]
    lenient = evaluate("candidate", "MDL-REC@v2", [ENGAGEMENT], {})
    assert lenient.verdict == "pass"
    assert lenient.metrics[0].verdict == "no data"


def test_gates_lists_limit_which_promotions_a_baseline_checks():
    offline_only = ENGAGEMENT.model_copy(update={"gates": ["candidate"]})
    assert gating([LATENCY, offline_only], "candidate") == [LATENCY, offline_only]
    assert gating([LATENCY, offline_only], "production") == [LATENCY]


# -- the registry: check and promote ----------------------------------------------------


@pytest.fixture
def rec(cli, tmp_path):
    """MDL-REC with the latency bound and an engagement tolerance; v1 serves in production."""
    cli.ok("model", "add", "MDL-REC", "-f", str(write(tmp_path / "model.yaml", MODEL)))
    register(cli, tmp_path, "v1", p95_latency_ms=230, engagement_rate=0.30)
    for state in ("experimentation", "candidate", "canary"):
        cli.ok("promote", "MDL-REC@v1", "--to", state)
    cli.ok("promote", "MDL-REC@v1", "--to", "production", "--evidence", cli.judged("MDL-REC@v1"))
    return cli


def register(cli, tmp_path: Path, version: str, **metrics: float) -> None:
    cli.ok("register", f"MDL-REC@{version}", *(f"-m{name}={value}" for name, value in metrics.items()))


@gate_logic
def test_check_passes_and_fails_with_exit_codes(rec, tmp_path):
    register(rec, tmp_path, "v2", p95_latency_ms=262, engagement_rate=0.31)
    report = json.loads(rec.ok("check", "MDL-REC@v1", "--json"))
    assert report["verdict"] == "pass"
    assert report["reference"] is None  # v1 is itself the production reference

    failed = rec("check", "MDL-REC@v2", "--json")
    assert failed.exit_code == 6
    report = json.loads(failed.stdout)
    assert (report["subject"], report["reference"], report["verdict"]) == ("MDL-REC@v2", "v1", "fail")
    latency, engagement = report["metrics"]
    assert latency["verdict"] == "regression" and latency["critical"] is True
    assert engagement["verdict"] == "improvement"
    assert engagement["relative"] == pytest.approx(0.01 / 0.30)
    assert failed.stderr == "error: check gate failed: p95_latency_ms = 262 exceeds the bound 250\n"

    text = rec("check", "MDL-REC@v2")
    assert "exceeds the bound 250" in text.stdout and text.exit_code == 6


@gate_logic
def test_check_with_measured_metrics_and_another_reference(rec, tmp_path):
    register(rec, tmp_path, "v2", p95_latency_ms=262, engagement_rate=0.31)
    measured = write(tmp_path / "eval.yaml", "metrics:\n  p95_latency_ms: 240\n  engagement_rate: 0.297\n")
    report = json.loads(rec.ok("check", "MDL-REC@v2", "--against", "v1", "--metrics", str(measured), "--json"))
    assert (report["reference"], report["verdict"]) == ("v1", "pass")
    assert [(m["value"], m["verdict"]) for m in report["metrics"]] == [(240, "pass"), (0.297, "pass")]


@gate_logic
def test_check_reports_a_missing_critical_metric(rec, tmp_path):
    register(rec, tmp_path, "v2", engagement_rate=0.30)
    outcome = rec("check", "MDL-REC@v2", "--json")
    assert outcome.exit_code == 6
    assert json.loads(outcome.stdout)["metrics"][0]["verdict"] == "no data"
    assert "p95_latency_ms: no value" in outcome.stderr


@gate_logic
@pytest.mark.parametrize(
    "content, message",
    [
        ("p95_latency_ms: .nan\n", "is not a finite number"),
        ("p95_latency_ms: .inf\n", "is not a finite number"),
        ("p95_latency_ms: fast\n", "is not a number"),
        ("metrics: [1, 2]\n", "must map metric names to numbers"),
        ("- 1\n", "must be a mapping"),
    ],
)
def test_check_rejects_bad_metrics_files_with_one_line(rec, tmp_path, content, message):
    outcome = rec("check", "MDL-REC@v1", "--metrics", str(write(tmp_path / "bad.yaml", content)))
    assert outcome.exit_code == 2
    assert message in outcome.stderr and outcome.stderr.count("\n") == 1


@gate_logic
@pytest.mark.parametrize(
    "args, code",
    [
        (("MDL-REC@v9",), 3),
        (("NOPE@v1",), 3),
        (("MDL-REC@v1", "--against", "v9"), 3),
        (("MDL-REC",), 2),
        (("MDL-REC@../x",), 2),
    ],
)
def test_check_exit_codes_for_bad_references(rec, args, code):
    outcome = rec("check", *args)
    assert outcome.exit_code == code
    assert outcome.stderr.startswith("error: ") and outcome.stderr.count("\n") == 1


def test_breaking_the_latency_bound_blocks_promotion_to_candidate(rec, registry_url, tmp_path):
    register(rec, tmp_path, "v2", p95_latency_ms=262, engagement_rate=0.31)
    rec.ok("promote", "MDL-REC@v2", "--to", "experimentation")
    before = snapshot(registry_url)

    refused = rec("promote", "MDL-REC@v2", "--to", "candidate")
    assert refused.exit_code == 6
    assert "p95_latency_ms = 262 exceeds the bound 250" in refused.stderr
    assert "--force --reason" in refused.stderr
    assert snapshot(registry_url) == before

    no_reason = rec("promote", "MDL-REC@v2", "--to", "candidate", "--force")
    assert no_reason.exit_code == 2 and "--force needs --reason" in no_reason.stderr
    assert snapshot(registry_url) == before


def test_forced_promotion_records_the_failing_verdict(rec, registry_url, tmp_path):
    register(rec, tmp_path, "v2", p95_latency_ms=262, engagement_rate=0.31)
    rec.ok("promote", "MDL-REC@v2", "--to", "experimentation")
    result = json.loads(rec.ok(
        "promote", "MDL-REC@v2", "--to", "candidate", "--force", "--reason", "latency fix ships separately", "--json"
    ))
    assert result["forced"] is True
    [proof] = result["evidence"]
    assert (proof["kind"], proof["verdict"]) == ("gate:candidate", "fail")
    assert "exceeds the bound 250" in proof["summary"]

    stored = json.loads(open_storage(registry_url).read(object_path(proof["digest"])))
    assert stored["verdict"] == "fail"
    assert stored["metrics"][0]["verdict"] == "regression"

    [entry] = [e for e in json.loads(rec.ok("log", "MDL-REC", "--json")) if e["seq"] == result["seq"]]
    assert entry["forced"] is True and entry["reason"] == "latency fix ships separately"
    assert entry["evidence"][0]["verdict"] == "fail"


def judge_report(cli, tmp_path: Path, verdict: str) -> Path:
    """A real ``mreg judge -o`` report for MDL-REC@v2 with ``verdict``: Fail shifts the critical
    latency up; Marginal drops engagement, one of six scored metrics."""
    baseline = {name: [float(i) for i in range(1, 21)] for name in ("a", "b", "c", "d")}
    baseline |= {"p95_latency_ms": [200.0 + i for i in range(20)], "engagement_rate": [0.30 + i / 1000 for i in range(20)]}
    canary = dict(baseline)
    if verdict == "Fail":
        canary["p95_latency_ms"] = [value + 100 for value in baseline["p95_latency_ms"]]
    if verdict == "Marginal":
        canary["engagement_rate"] = [value / 2 for value in baseline["engagement_rate"]]
    files = [write(tmp_path / f"{side}.json", json.dumps({"metrics": data})) for side, data in (("canary", canary), ("baseline", baseline))]
    out = tmp_path / f"judge-{verdict}.json"
    outcome = cli("judge", "MDL-REC@v2", "--canary", str(files[0]), "--baseline", str(files[1]), "-o", str(out))
    assert outcome.exit_code == (0 if verdict == "Pass" else 6), outcome.stderr
    assert json.loads(out.read_text())["verdict"] == verdict
    return out


@pytest.fixture
def on_canary(rec, tmp_path):
    register(rec, tmp_path, "v2", p95_latency_ms=240, engagement_rate=0.31)
    for state in ("experimentation", "candidate", "canary"):
        rec.ok("promote", "MDL-REC@v2", "--to", state)
    return rec


def test_a_failing_canary_judgement_refuses_production(on_canary, registry_url, tmp_path):
    evidence = judge_report(on_canary, tmp_path, "Fail")
    before = snapshot(registry_url)
    refused = on_canary("promote", "MDL-REC@v2", "--to", "production", "--evidence", str(evidence))
    assert refused.exit_code == 6
    assert "canary judgement is Fail, not Pass" in refused.stderr
    assert snapshot(registry_url) == before


@gate_logic
def test_a_passing_canary_judgement_is_recorded_with_its_digest(on_canary, registry_url, tmp_path):
    evidence = judge_report(on_canary, tmp_path, "Pass")
    result = json.loads(on_canary.ok("promote", "MDL-REC@v2", "--to", "production", "--evidence", str(evidence), "--json"))
    judged, gate = result["evidence"]
    assert (judged["kind"], judged["verdict"]) == ("judge", "Pass")
    assert judged["summary"].startswith("judged against MDL-REC@v1 at ")
    assert open_storage(registry_url).read(object_path(judged["digest"])) == evidence.read_bytes()
    assert (gate["kind"], gate["verdict"]) == ("gate:production", "pass")
    assert {c["version"]: c["to"] for c in result["changes"]} == {"v2": "production", "v1": "deprecated"}


@gate_logic
def test_forcing_past_a_failing_judgement_records_it(on_canary, tmp_path):
    evidence = judge_report(on_canary, tmp_path, "Marginal")
    result = json.loads(on_canary.ok(
        "promote", "MDL-REC@v2", "--to", "production", "--evidence", str(evidence),
        "--force", "--reason", "marginal on a holiday; accepted by on-call", "--json",
    ))
    assert result["forced"] is True
    assert result["evidence"][0]["verdict"] == "Marginal"
