"""Tests for the canary judge: every Kayenta vector, constructed cases, properties."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import mannwhitneyu, norm

from mreg.judge.pipeline import (
    JudgeConfig,
    JudgeReport,
    MetricSpec,
    classify_metric,
    judge,
    load_samples,
    score,
)
from mreg.judge.stats import (
    cles,
    handle_nans,
    iqr_outlier_flags,
    mann_whitney,
    mean_ratio,
    normal_quantile,
    percentile_r7,
    remove_outliers,
    shift_bracket,
    wilcoxon_diff,
    zeroin,
)

from conftest import data_file


@dataclass(frozen=True)
class Outcome:
    """Just what the scorer reads of a metric's result (``pipeline.Scorable``)."""

    name: str
    label: str
    groups: list[str]
    critical: bool = False
    muted: bool = False


# ------------------------------------------------------------- vector files


VECTORS = json.loads(data_file("kayenta/vectors.json", "MREG_KAYENTA_VECTORS").read_text())


def _nan_list(values: list) -> list[float]:
    """JSON null in a vector sample stands for NaN."""
    return [math.nan if v is None else float(v) for v in values]


def _close(actual: float, expected: float, tolerance: float) -> bool:
    return actual == expected if tolerance == 0.0 else abs(actual - expected) <= tolerance


def _tolerance(expected: dict, key: str) -> float:
    tol = expected["tolerance"]
    return tol[key] if isinstance(tol, dict) else tol


# --------------------------------------------------------- vector checkers


def _check_mannwhitney(case: dict) -> None:
    inp, exp = case["input"], case["expected"]
    if case["function"].startswith("MannWhitney.wilcoxonDiff(mu"):
        actual = wilcoxon_diff(inp["mu"], inp["quantile"], inp["x"], inp["y"])
        assert _close(actual, exp["value"], exp["tolerance"]), actual
    elif case["function"].startswith("NormalDistribution"):
        assert _close(normal_quantile(inp["p"]), exp["value"], exp["tolerance"])
    elif case["function"].startswith("MannWhitney.mannWhitneyUTest"):
        result = mann_whitney(inp["x"], inp["y"], inp["confidence_level"])
        for key, actual in (("ci_lower", result.ci_lower), ("ci_upper", result.ci_upper),
                            ("estimate", result.estimate)):
            assert _close(actual, exp[key], _tolerance(exp, key)), (key, actual, exp[key])
    else:
        _check_solver_intermediates(inp, exp)


def _check_solver_intermediates(inp: dict, exp: dict) -> None:
    """mw-08: bracket, quantiles, end values and unclamped roots."""
    x, y, tol = inp["x"], inp["y"], exp["tolerance"]
    mu_min, mu_max = shift_bracket(x, y)
    zq = -normal_quantile((1 - inp["confidence_level"]) / 2)
    actual = {"mu_min": mu_min, "mu_max": mu_max, "zq_lower": zq, "zq_upper": -zq}
    for suffix, q in (("1", zq), ("2", -zq)):
        actual["f_lower" + suffix] = wilcoxon_diff(mu_min, q, x, y)
        actual["f_upper" + suffix] = wilcoxon_diff(mu_max, q, x, y)
    for key, q in (("ci_lower", zq), ("ci_upper", -zq), ("estimate", 0.0)):
        f = lambda mu, q=q: wilcoxon_diff(mu, q, x, y)  # noqa: E731
        actual[key] = zeroin(f, mu_min, mu_max, f(mu_min), f(mu_max))
    for key, value in actual.items():
        assert _close(value, exp[key], tol), (key, value, exp[key])
    result = mann_whitney(x, y, inp["confidence_level"])
    assert (result.ci_lower, result.ci_upper, result.estimate) == (
        actual["ci_lower"], actual["ci_upper"], actual["estimate"])


def _spec_from_classifier_case(inp: dict) -> tuple[MetricSpec, dict]:
    cfg = inp["classifier"]
    spec = MetricSpec(
        name="vector-metric",
        direction=inp["direction"],
        nan_strategy=inp["nan_strategy"],
        critical=inp["is_critical"],
        must_have_data=inp["is_data_required"],
        effect_measure=cfg["effect_size_measure"],
        **cfg["effect_size_thresholds"],
        **cfg["critical_thresholds"],
    )
    return spec, {"tolerance": cfg["tolerance"], "confidence": cfg["confidence_level"]}


def _check_classifier(case: dict) -> None:
    inp, exp = case["input"], case["expected"]
    if case["function"].startswith("EffectSizes"):
        measure = mean_ratio if "meanRatio" in case["function"] else cles
        actual = measure(inp["experiment"], inp["control"])
        if exp.get("is_nan"):
            assert math.isnan(actual)
        else:
            assert _close(actual, exp["value"], exp["tolerance"]), actual
        return
    spec, params = _spec_from_classifier_case(inp)
    result = classify_metric(inp["experiment"], inp["control"], spec, **params)
    if "classification" in exp:
        assert result.label == exp["classification"], result.explanation
    if "critical" in exp:
        assert result.critical == exp["critical"], result.explanation
    if exp.get("reason_non_empty"):
        assert result.explanation and result.label == "Nodata" and result.critical
    if exp.get("deviation_is_nan"):
        assert math.isnan(result.deviation)
    if "deviation" in exp:
        assert result.deviation == exp["deviation"]


def _check_scorer(case: dict) -> None:
    inp, exp = case["input"], case["expected"]
    outcomes = [Outcome(m["name"], m["classification"], m["groups"], m.get("critical", False))
                for m in inp["metrics"]]
    summary = score(outcomes, inp["group_weights"], 95.0, 75.0)
    assert summary.summary_score == exp["summary_score"]
    if "group_scores" in exp:
        assert {k: g.score for k, g in summary.groups.items()} == exp["group_scores"]
    if "group_scores_sorted" in exp:
        assert sorted(g.score for g in summary.groups.values()) == exp["group_scores_sorted"]


def _check_outliers(case: dict) -> None:
    inp, exp = case["input"], case["expected"]
    if "percentiles" in inp:
        for item in exp["values"]:
            actual = percentile_r7(inp["data"], item["p"])
            assert _close(actual, item["value"], item["tolerance"]), (item, actual)
    elif "outlier_flags" in exp:
        flags = iqr_outlier_flags(inp["data"], inp["factor"], inp["reduce_sensitivity"])
        assert flags == exp["outlier_flags"]
    else:
        assert remove_outliers(inp["data"], inp["factor"], inp["reduce_sensitivity"]) == exp["values"]


def _check_nan(case: dict) -> None:
    inp = case["input"]
    strategy = "replace" if "replacement" in inp else "remove"
    assert handle_nans(_nan_list(inp["data"]), strategy) == case["expected"]["values"]


CHECKERS = {
    "mannwhitney": _check_mannwhitney,
    "classifier": _check_classifier,
    "scorer": _check_scorer,
    "outliers": _check_outliers,
    "nan": _check_nan,
}


def test_vector_file_is_complete():
    assert len(VECTORS) == 76
    assert {c["kind"] for c in VECTORS} == set(CHECKERS)


@pytest.mark.parametrize("case", VECTORS, ids=[c["id"] for c in VECTORS])
def test_kayenta_vector(case):
    CHECKERS[case["kind"]](case)


# -------------------------------------------------------- constructed cases


RNG = np.random.default_rng(20240601)
BASELINE = list(RNG.normal(100.0, 10.0, 200))
SAME = list(RNG.normal(100.0, 10.0, 200))
SHIFTED_UP = list(RNG.normal(200.0, 10.0, 200))
SHIFTED_DOWN = list(RNG.normal(40.0, 10.0, 200))


def _judge_one(canary, baseline, **spec_fields) -> JudgeReport:
    spec = MetricSpec(name="latency", **spec_fields)
    return judge({"latency": canary}, {"latency": baseline}, [spec], JudgeConfig())


def test_noisy_but_equal_samples_pass():
    report = _judge_one(SAME, BASELINE)
    assert report.metrics[0].label == "Pass"
    assert report.verdict == "Pass" and report.summary_score == 100.0


@pytest.mark.parametrize(("canary", "direction", "label"), [
    (SHIFTED_UP, "increase", "High"),
    (SHIFTED_UP, "either", "High"),
    (SHIFTED_DOWN, "decrease", "Low"),
    (SHIFTED_DOWN, "either", "Low"),
])
def test_clearly_shifted_sample_fails(canary, direction, label):
    report = _judge_one(canary, BASELINE, direction=direction)
    metric = report.metrics[0]
    assert metric.label == label and metric.rule in ("ci_above_band", "ci_below_band")
    assert report.verdict == "Fail"
    assert f"→ {label}" in metric.explanation


@pytest.mark.parametrize(("canary", "direction"), [(SHIFTED_UP, "decrease"), (SHIFTED_DOWN, "increase")])
def test_shift_in_the_harmless_direction_passes(canary, direction):
    metric = _judge_one(canary, BASELINE, direction=direction).metrics[0]
    assert metric.label == "Pass" and "only" in metric.explanation


def test_critical_failure_fails_the_whole_run():
    names = [f"m{i}" for i in range(10)]
    canary = {n: SAME for n in names} | {"errors": SHIFTED_UP}
    baseline = {n: BASELINE for n in names} | {"errors": BASELINE}
    specs = [MetricSpec(name="errors", critical=True, direction="increase")]
    report = judge(canary, baseline, specs, JudgeConfig())
    assert report.metrics[0].critical and report.metrics[0].label == "High"
    assert report.weighted_score == pytest.approx(100 * 10 / 11, abs=0.01)
    assert report.summary_score == 0.0 and report.verdict == "Fail"
    assert report.overrides == ["critical metric errors is High"]


def test_muted_metric_does_not_count():
    report = _judge_one(SHIFTED_UP, BASELINE, muted=True, critical=True)
    assert report.metrics[0].label == "High" and report.metrics[0].muted
    assert report.groups == {} and report.overrides == ["no unmuted metrics to score"]
    assert report.verdict == "Fail"


def test_missing_metric_is_nodata_and_overrides():
    spec = MetricSpec(name="absent", critical=False)
    report = judge({"cpu": SAME}, {"cpu": BASELINE}, [spec], JudgeConfig())
    by_name = {m.name: m for m in report.metrics}
    assert [m.name for m in report.metrics] == ["absent", "cpu"]
    assert by_name["absent"].label == "Nodata" and by_name["absent"].rule == "missing_metric"
    assert by_name["cpu"].label == "Pass"
    assert report.summary_score == 0.0 and report.verdict == "Fail"
    assert report.overrides == ["1 of 2 metrics have no data (≥ 50%)"]


def test_must_have_data_counts_as_failure():
    spec = MetricSpec(name="cpu", must_have_data=True, groups=["g"])
    report = judge({"cpu": []}, {"cpu": BASELINE}, [spec], JudgeConfig())
    assert report.metrics[0].label == "NodataFailMetric"
    assert report.groups["g"].score == 0.0 and report.verdict == "Fail"


@pytest.mark.parametrize("canary", [
    [], [math.nan], [math.inf, -math.inf], [math.nan, 1.0], [5.0], [0.0, 0.0], [1e308, -1e308],
])
@pytest.mark.parametrize("nan_strategy", ["remove", "replace"])
@pytest.mark.parametrize("outlier_strategy", ["keep", "remove"])
def test_degenerate_inputs_do_not_crash(canary, nan_strategy, outlier_strategy):
    for baseline in ([], [math.nan], [1.0, 2.0, 3.0], [0.0]):
        report = _judge_one(canary, baseline, nan_strategy=nan_strategy, outlier_strategy=outlier_strategy)
        assert report.metrics[0].label in ("Pass", "High", "Low", "Nodata")
        json.loads(report.model_dump_json())


def test_inf_is_treated_as_nan():
    report = _judge_one([1.0, math.inf, 2.0, 3.0], [1.0, 2.0, 3.0])
    counts = report.metrics[0].canary_counts
    assert (counts.total, counts.nonfinite, counts.after_nan, counts.used) == (4, 1, 3, 3)
    assert report.metrics[0].rule == "identical_samples"
    replaced = _judge_one([math.inf], [0.0], nan_strategy="replace").metrics[0]
    assert replaced.rule == "identical_samples"


def test_outlier_removal_is_counted():
    canary = SAME[:50] + [1e6]
    metric = _judge_one(canary, BASELINE, outlier_strategy="remove").metrics[0]
    assert metric.canary_counts.outliers_removed == 1 and metric.canary_counts.used == 50


def test_single_valued_samples_are_deterministic():
    first = _judge_one([10.0] * 5, [1.0] * 5)
    second = _judge_one([10.0] * 5, [1.0] * 5)
    assert first.metrics[0].label == "High"
    assert first.model_dump_json() == second.model_dump_json()


def test_report_json_has_stable_keys_and_null_for_nan():
    report = _judge_one([0.0, 0.0, 0.0, 5.0, 7.0], [0.0, 0.0, 0.0, 0.0, 0.0])
    payload = json.loads(report.model_dump_json())
    assert list(payload) == ["groups", "weighted_score", "summary_score", "overrides", "verdict",
                             "config", "metrics"]
    metric = payload["metrics"][0]
    assert list(metric) == ["name", "label", "critical", "muted", "groups", "direction",
                            "effect_measure", "statistic_z", "p_value", "ci", "estimate",
                            "effect_size", "deviation", "canary_counts", "baseline_counts",
                            "rule", "explanation"]
    assert metric["deviation"] is None and len(metric["ci"]) == 2
    assert JudgeReport.model_validate_json(report.model_dump_json()) == report


def test_final_verdict_thresholds():
    def verdict(passing: int, total: int) -> str:
        results = [Outcome(f"m{i}", "Pass" if i < passing else "High", ["g"]) for i in range(total)]
        return score(results, {}, 95.0, 75.0).verdict

    assert (verdict(19, 20), verdict(15, 20), verdict(14, 20)) == ("Pass", "Marginal", "Fail")


@pytest.mark.parametrize("data", [
    [1, 2], {"m": 3}, {"m": [1, "x"]}, {"m": [True]}, {"m": [{}]}, {"metrics": {"": [1]}}, {"m": [10**400]},
])
def test_load_samples_rejects_bad_input(data):
    with pytest.raises(ValueError) as info:
        load_samples(data)
    assert "\n" not in str(info.value)


def test_load_samples_accepts_both_shapes():
    wrapped = load_samples({"metrics": {"a": [1, 2.5, None, "nan", "inf", "-inf"]}})
    bare = load_samples({"a": [1, 2.5, None, "NaN", "INF", "-inf"]})
    for samples in (wrapped, bare):
        values = samples["a"]
        assert values[:2] == [1.0, 2.5] and math.isnan(values[2]) and math.isnan(values[3])
        assert values[4:] == [math.inf, -math.inf]


def test_config_validation():
    with pytest.raises(ValueError):
        JudgeConfig(group_weights={"a": 70, "b": 40})
    with pytest.raises(ValueError):
        JudgeConfig(tolerance=math.inf)
    with pytest.raises(ValueError):
        MetricSpec(name="x", direction="sideways")
    with pytest.raises(ValueError):
        MetricSpec(name="x", groups=[])
    with pytest.raises(ValueError):
        judge({}, {}, [MetricSpec(name="x"), MetricSpec(name="x")], JudgeConfig())


# ------------------------------------------------------ scipy cross-checks


@pytest.mark.parametrize("seed", range(6))
def test_p_value_matches_scipy_mannwhitneyu(seed):
    rng = np.random.default_rng(seed)
    x = list(np.round(rng.normal(10.0, 2.0, 40 + seed), 1))
    y = list(np.round(rng.normal(10.5, 2.0, 35), 1))
    ours = mann_whitney(x, y, 0.98)
    theirs = mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)
    assert abs(ours.z) == pytest.approx(norm.isf(theirs.pvalue / 2), rel=1e-7)


def test_judge_reports_scipy_p_value():
    metric = _judge_one(SHIFTED_UP, BASELINE).metrics[0]
    theirs = mannwhitneyu(SHIFTED_UP, BASELINE, method="asymptotic", use_continuity=True)
    assert metric.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)


# ------------------------------------------------------------- properties


samples = st.lists(st.integers(-50, 50).map(lambda v: v / 2), min_size=2, max_size=30)
positive_samples = st.lists(st.integers(1, 100).map(lambda v: v / 2), min_size=2, max_size=30)


@settings(max_examples=150, deadline=None, database=None)
@given(samples, samples)
def test_ci_brackets_the_estimate(x, y):
    assume(len(set(x)) > 1 or len(set(y)) > 1)
    result = mann_whitney(x, y, 0.95)
    slack = 2e-4
    assert result.ci_lower - slack <= result.estimate <= result.ci_upper + slack


def _margin(result, tolerance: float) -> float:
    """Distance of the CI from the decision band, in solver-tolerance units."""
    band = tolerance * abs(result.estimate)
    return min(abs(result.ci_lower - band), abs(result.ci_upper + band))


@settings(max_examples=150, deadline=None, database=None)
@given(st.one_of(
    st.tuples(st.just("meanRatio"), positive_samples, positive_samples),
    st.tuples(st.just("cles"), samples, samples),
))
def test_swapping_samples_mirrors_the_label(case):
    """meanRatio only mirrors for positive means (a ratio of signed means
    does not invert on swap); cles(y, x) = 1 - cles(x, y) always does."""
    measure, x, y = case
    spec = MetricSpec(name="m", direction="either", effect_measure=measure)
    forward = classify_metric(x, y, spec, tolerance=0.25, confidence=0.95)
    backward = classify_metric(y, x, spec, tolerance=0.25, confidence=0.95)
    for result in (forward, backward):
        assume(result.test is None or _margin(result.test, 0.25) > 1e-3)
    mirror = {"High": "Low", "Low": "High"}
    assert backward.label == mirror.get(forward.label, forward.label)
