"""`mreg judge`: canary against baseline samples, judged by the model's baselines, explained."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats

from conftest import write

pytestmark = pytest.mark.local_only  # the judge reads only model.yaml; storage is covered elsewhere

MODEL = """\
id: MDL-REC
name: Recommendation Ensemble
baselines:
  - metric: p95_latency_ms
    direction: lower
    max: 250
    tolerance: 0.10
    critical: true
  - metric: engagement_rate
    direction: higher
    tolerance: 0.02
  - metric: retention_correlation
    direction: higher
"""


@pytest.fixture
def rec(cli, tmp_path):
    cli.ok("model", "add", "MDL-REC", "-f", str(write(tmp_path / "model.yaml", MODEL)))
    cli.ok("register", "MDL-REC@v12.5")
    return cli


def samples(seed: int, latency: float = 220.0, engagement: float = 0.30, n: int = 80) -> dict[str, list[float]]:
    """Noisy measurements around the given centres, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    return {
        "p95_latency_ms": rng.normal(latency, 12.0, n).round(3).tolist(),
        "engagement_rate": rng.normal(engagement, 0.01, n).round(5).tolist(),
    }


def judged(cli, tmp_path, canary: dict, baseline: dict, *, expect: int) -> dict:
    canary_file = write(tmp_path / "canary.json", json.dumps({"metrics": canary}))
    baseline_file = write(tmp_path / "baseline.json", json.dumps({"metrics": baseline}))
    outcome = cli("judge", "MDL-REC@v12.5", "--canary", str(canary_file), "--baseline", str(baseline_file), "--json")
    assert outcome.exit_code == expect, outcome.stderr
    return json.loads(outcome.stdout)


def by_name(report: dict) -> dict[str, dict]:
    return {metric["name"]: metric for metric in report["metrics"]}


def test_noisy_but_equal_samples_pass_with_explanations(rec, tmp_path):
    report = judged(rec, tmp_path, samples(1), samples(2), expect=0)
    assert (report["verdict"], report["summary_score"], report["overrides"]) == ("Pass", 100.0, [])
    metrics = by_name(report)
    for name in ("p95_latency_ms", "engagement_rate"):
        metric = metrics[name]
        assert (metric["label"], metric["rule"]) == ("Pass", "within_band")
        assert metric["p_value"] > 0.05
        assert metric["ci"][0] < 0 < metric["ci"][1]
        assert "does not clear" in metric["explanation"] and "p=" in metric["explanation"]
    assert (metrics["p95_latency_ms"]["direction"], metrics["engagement_rate"]["direction"]) == ("increase", "decrease")


def test_a_latency_shift_fails_the_run_as_a_critical_metric(rec, tmp_path):
    outcome_report = judged(rec, tmp_path, samples(1, latency=270.0), samples(2), expect=6)
    assert outcome_report["verdict"] == "Fail" and outcome_report["summary_score"] == 0.0
    assert outcome_report["overrides"] == ["critical metric p95_latency_ms is High"]
    latency = by_name(outcome_report)["p95_latency_ms"]
    assert (latency["label"], latency["rule"], latency["critical"]) == ("High", "ci_above_band", True)
    assert latency["ci"][0] > 0.25 * abs(latency["estimate"])
    assert latency["effect_size"] >= 1.10
    assert "≥ allowed increase 1.1 → High; critical failure" in latency["explanation"]


def test_failing_judgement_prints_the_report_and_one_error_line(rec, tmp_path):
    canary = write(tmp_path / "c.yaml", json.dumps({"metrics": samples(1, latency=270.0)}))
    baseline = write(tmp_path / "b.yaml", json.dumps({"metrics": samples(2)}))
    outcome = rec("judge", "MDL-REC@v12.5", "--canary", str(canary), "--baseline", str(baseline))
    assert outcome.exit_code == 6
    assert outcome.stdout.startswith("judge MDL-REC@v12.5: Fail (score 0; pass >= 95, marginal >= 75)\n")
    assert "score set to 0: critical metric p95_latency_ms is High" in outcome.stdout
    assert "  p95_latency_ms: CI lower bound" in outcome.stdout
    assert outcome.stderr == "error: canary judgement for MDL-REC@v12.5 is Fail (score 0)\n"


def test_a_shift_the_good_way_passes_and_says_why(rec, tmp_path):
    report = judged(rec, tmp_path, samples(1, engagement=0.36), samples(2), expect=0)
    engagement = by_name(report)["engagement_rate"]
    assert engagement["label"] == "Pass"
    assert "but only decreases are bad" in engagement["explanation"]


def test_a_shift_within_the_baseline_tolerance_passes(rec, tmp_path):
    """+5 % latency is statistically clear, but the baseline tolerates 10 %."""
    report = judged(rec, tmp_path, samples(1, latency=231.0, n=400), samples(2, n=400), expect=0)
    latency = by_name(report)["p95_latency_ms"]
    assert latency["label"] == "Pass" and latency["ci"][0] > 0
    assert "< allowed increase 1.1" in latency["explanation"]


def test_a_non_critical_regression_lowers_the_score(rec, tmp_path):
    report = judged(rec, tmp_path, samples(1, engagement=0.24), samples(2), expect=6)
    assert by_name(report)["engagement_rate"]["label"] == "Low"
    assert (report["summary_score"], report["overrides"], report["verdict"]) == (50.0, [], "Fail")


def test_statistics_agree_with_scipy(rec, tmp_path):
    canary, baseline = samples(3, latency=236.0), samples(4)
    report = judged(rec, tmp_path, canary, baseline, expect=0)
    for name in ("p95_latency_ms", "engagement_rate"):
        metric = by_name(report)[name]
        reference = scipy.stats.mannwhitneyu(canary[name], baseline[name], method="asymptotic", use_continuity=True)
        assert metric["p_value"] == pytest.approx(reference.pvalue, rel=1e-9)
        hodges_lehmann = float(np.median(np.subtract.outer(canary[name], baseline[name])))
        width = metric["ci"][1] - metric["ci"][0]
        assert metric["estimate"] == pytest.approx(hodges_lehmann, abs=0.02 * width)
        assert metric["ci"][0] < hodges_lehmann < metric["ci"][1]
        ratio = float(np.mean(canary[name]) / np.mean(baseline[name]))
        assert metric["effect_size"] == pytest.approx(ratio, rel=1e-12)


def test_nan_inf_and_null_values_are_dropped_and_counted(rec, tmp_path):
    canary, baseline = samples(1), samples(2)
    canary["p95_latency_ms"] += [None, "nan", "inf", "-inf"]
    report = judged(rec, tmp_path, canary, baseline, expect=0)
    counts = by_name(report)["p95_latency_ms"]["canary_counts"]
    assert (counts["total"], counts["nonfinite"], counts["used"]) == (84, 4, 80)


def test_yaml_samples_with_special_floats(rec, tmp_path):
    values = ", ".join(str(v) for v in samples(5)["p95_latency_ms"])
    canary = write(tmp_path / "c.yaml", f"metrics:\n  p95_latency_ms: [{values}, .nan, .inf]\n")
    baseline = write(tmp_path / "b.yaml", f"p95_latency_ms: [{values}]\n")
    report = json.loads(rec.ok("judge", "MDL-REC@v12.5", "--canary", str(canary), "--baseline", str(baseline), "--json"))
    latency = by_name(report)["p95_latency_ms"]
    assert (latency["label"], latency["rule"]) == ("Pass", "identical_samples")
    assert latency["canary_counts"]["nonfinite"] == 2


def test_empty_samples_are_no_data_and_fail_explicitly(rec, tmp_path):
    report = judged(rec, tmp_path, {"p95_latency_ms": []}, samples(2), expect=6)
    latency = by_name(report)["p95_latency_ms"]
    assert (latency["label"], latency["rule"]) == ("Nodata", "no_data")
    assert "no canary data" in latency["explanation"]
    assert "critical metric p95_latency_ms is Nodata" in report["overrides"]


def test_unmeasured_baselines_are_reported_but_not_scored(rec, tmp_path):
    report = judged(rec, tmp_path, samples(1), samples(2), expect=0)
    retention = by_name(report)["retention_correlation"]
    assert (retention["label"], retention["muted"]) == ("Nodata", True)
    assert retention["explanation"] == "retention_correlation absent from canary and baseline samples → Nodata"


def test_a_metric_without_a_baseline_is_judged_either_way(rec, tmp_path):
    canary, baseline = samples(1), samples(2)
    canary["cpu"], baseline["cpu"] = [0.5, 0.52, 0.55, 0.51] * 10, [0.7, 0.72, 0.71, 0.69] * 10
    report = judged(rec, tmp_path, canary, baseline, expect=6)
    cpu = by_name(report)["cpu"]
    assert (cpu["direction"], cpu["label"]) == ("either", "Low")


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"metrics": {"p95_latency_ms": [1, "fast"]}}', "metric 'p95_latency_ms'[1]: expected a number"),
        ('{"metrics": {"p95_latency_ms": 3}}', "expected a list of values"),
        ("[1, 2]", "samples must be a JSON object"),
        ("", "samples must be a JSON object, got NoneType"),
        ("{oops", "not valid YAML"),
    ],
)
def test_bad_sample_files_exit_2_with_one_line(rec, tmp_path, content, message):
    bad = write(tmp_path / "bad.json", content)
    good = write(tmp_path / "good.json", json.dumps(samples(2)))
    outcome = rec("judge", "MDL-REC@v12.5", "--canary", str(bad), "--baseline", str(good))
    assert outcome.exit_code == 2
    assert message in outcome.stderr and outcome.stderr.count("\n") == 1


def test_unknown_version_and_missing_file(rec, tmp_path):
    good = write(tmp_path / "good.json", json.dumps(samples(2)))
    missing = rec("judge", "MDL-REC@v99", "--canary", str(good), "--baseline", str(good))
    assert missing.exit_code == 3 and "MDL-REC@v99 not found" in missing.stderr
    no_file = rec("judge", "MDL-REC@v12.5", "--canary", str(tmp_path / "nope.json"), "--baseline", str(good))
    assert no_file.exit_code == 3 and "nope.json" in no_file.stderr


def test_the_judge_needs_no_scipy_and_names_numpy_when_it_is_missing(rec, tmp_path):
    good = write(tmp_path / "good.json", json.dumps(samples(2)))

    def judge_without(module: str):
        script = f"import sys; sys.modules[{module!r}] = None\nfrom mreg.cli import main; main()"  # unimportable
        return subprocess.run(
            [sys.executable, "-c", script, "--registry", rec.registry_url, "judge", "MDL-REC@v12.5",
             "--canary", str(good), "--baseline", str(good), "--json"],
            capture_output=True, text=True, timeout=60, env={**os.environ, "SOURCE_DATE_EPOCH": "1780000000"},
        )  # one instant: the evidence document records when it was made

    without_scipy, with_everything = judge_without("scipy"), judge_without("no-such-module")
    assert without_scipy.returncode == with_everything.returncode == 0, without_scipy.stderr
    assert without_scipy.stdout == with_everything.stdout
    without_numpy = judge_without("numpy")
    assert without_numpy.returncode == 8  # a missing extra (README), not a bug
    assert without_numpy.stderr == "error: this command needs numpy, which is not installed: pip install 'mreg[judge]'\n"


def test_help_and_other_commands_do_not_import_scipy():
    script = (
        "import sys\nfrom typer.testing import CliRunner\nfrom mreg.cli import app\n"
        "for args in (['--help'], ['judge', '--help'], ['diff', '--help']):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0\n"
        "print(sorted(m for m in ('scipy', 'numpy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout == "[]\n", done.stderr


def test_the_table_column_says_critical_failure_not_critical(rec, tmp_path):
    """A metric declared critical that passes is not a critical failure: the column says so."""
    good = write(tmp_path / "good.json", json.dumps(samples(2)))
    text = rec.ok("judge", "MDL-REC@v12.5", "--canary", str(good), "--baseline", str(good))
    header = next(line for line in text.splitlines() if line.startswith("Metric"))
    assert "Critical failure" in header and "Critical  " not in header.replace("Critical failure", "")
