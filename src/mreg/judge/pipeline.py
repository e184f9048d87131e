"""Canary judge: compare canary vs baseline metric samples, Kayenta-style.

Pure functions plus pydantic result models; no I/O. The numeric pieces live
in ``mreg.judge.stats``; this module holds the per-metric rule, the weighted scorer,
the top-level `judge` and the samples-file validator. Semantics and the
deliberate differences from Kayenta's NetflixACAJudge are in docs/judge.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal, Mapping, Optional, Protocol, Sequence

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from mreg.judge.stats import (
    MannWhitneyResult,
    NanStrategy,
    add_deterministic_noise,
    cles,
    handle_nans,
    mann_whitney,
    mean_ratio,
    remove_outliers,
)
from mreg.results import Result

Label = Literal["Pass", "High", "Low", "Nodata", "NodataFailMetric"]
Verdict = Literal["Pass", "Marginal", "Fail"]
Direction = Literal["increase", "decrease", "either"]
EffectMeasure = Literal["meanRatio", "cles"]

NODATA_OVERRIDE_SHARE = 0.5
DEFAULT_GROUP = "default"
_NEUTRAL_THRESHOLD = {"meanRatio": 1.0, "cles": 0.5}


def _nan_to_none(value: Any) -> Any:
    """NaN/inf become None so JSON shows null and round-trips validate."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


MaybeFloat = Annotated[Optional[float], BeforeValidator(_nan_to_none)]


# ------------------------------------------------------------------ inputs


class MetricSpec(BaseModel):
    """How one metric is judged. `direction` names the BAD direction."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1)
    direction: Direction = "either"
    critical: bool = False
    groups: list[str] = Field(default_factory=lambda: [DEFAULT_GROUP], min_length=1)
    allowed_increase: Optional[float] = None
    allowed_decrease: Optional[float] = None
    critical_increase: Optional[float] = None
    critical_decrease: Optional[float] = None
    effect_measure: EffectMeasure = "meanRatio"
    nan_strategy: NanStrategy = "remove"
    outlier_strategy: Literal["keep", "remove"] = "keep"
    outlier_factor: float = Field(default=3.0, gt=0)
    must_have_data: bool = False
    muted: bool = False

    def threshold(self, which: str) -> float:
        """A configured effect-size threshold, or the measure's neutral value
        (1.0 for meanRatio, 0.5 for cles), which makes the gate a no-op."""
        value = getattr(self, which)
        return _NEUTRAL_THRESHOLD[self.effect_measure] if value is None else value


class JudgeConfig(BaseModel):
    """Run-wide settings; defaults are Kayenta's production values."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    tolerance: float = Field(default=0.25, ge=0)
    confidence: float = Field(default=0.98, gt=0, lt=1)
    group_weights: dict[str, float] = Field(default_factory=dict)
    pass_threshold: float = 95.0
    marginal_threshold: float = 75.0

    @model_validator(mode="after")
    def _check_consistency(self) -> "JudgeConfig":
        if any(w < 0 for w in self.group_weights.values()):
            raise ValueError("group weights must be >= 0")
        if sum(self.group_weights.values()) > 100.0:
            raise ValueError("group weights must sum to at most 100")
        if self.marginal_threshold > self.pass_threshold:
            raise ValueError("marginal_threshold must not exceed pass_threshold")
        return self


# ----------------------------------------------------------------- outputs


class SampleCounts(Result):
    """How many values survived each preprocessing step."""

    total: int
    nonfinite: int
    after_nan: int
    outliers_removed: int
    used: int


class MetricReport(Result):
    """Verdict for one metric; `critical` is true only for a critical failure.
    Undefined numbers (no test run, zero mean) are None, i.e. JSON null."""

    name: str
    label: Label
    critical: bool
    muted: bool
    groups: list[str]
    direction: Direction
    effect_measure: EffectMeasure
    statistic_z: MaybeFloat = None
    p_value: MaybeFloat = None
    ci: tuple[MaybeFloat, MaybeFloat] = (None, None)
    estimate: MaybeFloat = None
    effect_size: MaybeFloat = None
    deviation: MaybeFloat = None
    canary_counts: SampleCounts
    baseline_counts: SampleCounts
    rule: str
    explanation: str


class GroupScore(Result):
    """100·Pass/(Pass+High+Low+NodataFailMetric); no_data when nothing counts."""

    score: float
    weight: float
    no_data: bool
    counted: int
    passed: int


class ScoreSummary(Result):
    """Scorer output: per-group scores, summary, overrides and the verdict."""

    groups: dict[str, GroupScore]
    weighted_score: float
    summary_score: float
    overrides: list[str]
    verdict: Verdict


class JudgeReport(ScoreSummary):
    """Everything the judge decided, JSON-serialisable with stable keys."""

    config: JudgeConfig
    metrics: list[MetricReport]


# ----------------------------------------------------------- classification


@dataclass(frozen=True)
class Classification:
    """Result of classify_metric; `test` is None when no test was needed."""

    label: Label
    critical: bool
    deviation: float
    effect_size: float
    rule: str
    explanation: str
    test: Optional[MannWhitneyResult] = None


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def effect_size(measure: EffectMeasure, canary: Sequence[float], baseline: Sequence[float]) -> float:
    """The configured effect size of canary relative to baseline."""
    if measure == "cles":
        return cles(canary, baseline)
    return mean_ratio(canary, baseline)


def classify_metric(
    canary: Sequence[float],
    baseline: Sequence[float],
    spec: MetricSpec,
    *,
    tolerance: float,
    confidence: float,
) -> Classification:
    """Classify already-cleaned samples as Pass/High/Low/Nodata/NodataFailMetric.

    Checks in Kayenta's order: no data, identical samples, one shared value,
    then the Mann-Whitney CI against the band ±tolerance·|estimate|, gated by
    the effect size.
    """
    if not canary or not baseline:
        return _classify_empty(canary, spec)
    if sorted(canary) == sorted(baseline):
        return Classification("Pass", False, 1.0, effect_size(spec.effect_measure, canary, baseline),
                              "identical_samples", "sorted canary equals sorted baseline → Pass")
    if len(set(canary) | set(baseline)) == 1:
        return Classification("Pass", False, 1.0, effect_size(spec.effect_measure, canary, baseline),
                              "single_value", f"every value equals {_fmt(canary[0])} → Pass")
    test = mann_whitney(*_untied(canary, baseline), confidence)
    return _classify_shift(canary, baseline, spec, tolerance, test)


def _classify_empty(canary: Sequence[float], spec: MetricSpec) -> Classification:
    side = "canary" if not canary else "baseline"
    if spec.nan_strategy == "replace":
        return Classification("Pass", False, math.nan, math.nan, "no_data_replace",
                              f"no {side} data, nan_strategy=replace → Pass")
    if spec.must_have_data and not spec.critical:
        return Classification("NodataFailMetric", False, math.nan, math.nan, "no_data_required",
                              f"missing data for {spec.name}: no {side} data and must_have_data → NodataFailMetric")
    return Classification("Nodata", spec.critical, math.nan, math.nan, "no_data",
                          f"missing data for {spec.name}: no {side} data → Nodata")


def _untied(canary: Sequence[float], baseline: Sequence[float]) -> tuple[list[float], list[float]]:
    """Two single-valued (but different) samples have all-tied ranks, so the
    normal approximation degenerates; jitter them first, deterministically."""
    if len(set(canary)) == 1 and len(set(baseline)) == 1:
        return add_deterministic_noise(canary, b"canary"), add_deterministic_noise(baseline, b"baseline")
    return list(canary), list(baseline)


def _passes_gate(value: float, threshold: float, bad_is_high: bool) -> bool:
    """An effect-size gate; a NaN effect size (zero mean) cannot veto."""
    if math.isnan(value):
        return True
    return value >= threshold if bad_is_high else value <= threshold


def _classify_shift(
    canary: Sequence[float], baseline: Sequence[float], spec: MetricSpec,
    tolerance: float, test: MannWhitneyResult,
) -> Classification:
    size = effect_size(spec.effect_measure, canary, baseline)
    deviation = mean_ratio(canary, baseline)
    band = tolerance * abs(test.estimate)
    ci_text = f"CI [{_fmt(test.ci_lower)}, {_fmt(test.ci_upper)}]"
    stats = f" (Mann–Whitney z={_fmt(test.z)}, p={_fmt(test.p_value)})"
    for bad_is_high in (True, False):
        outcome = _check_side(spec, size, band, tolerance, test, bad_is_high)
        if outcome is not None:
            label, critical, rule, text = outcome
            return Classification(label, critical, deviation, size, rule, text + stats, test)
    reason = _pass_reason(spec, size, band, tolerance, test)
    return Classification("Pass", False, deviation, size, "within_band", f"{ci_text} {reason} → Pass{stats}", test)


def _check_side(
    spec: MetricSpec, size: float, band: float, tolerance: float,
    test: MannWhitneyResult, bad_is_high: bool,
) -> Optional[tuple[Label, bool, str, str]]:
    """High (or Low) if direction, CI and effect-size gate all agree."""
    watched = spec.direction in (("increase", "either") if bad_is_high else ("decrease", "either"))
    outside = test.ci_lower > band if bad_is_high else test.ci_upper < -band
    allowed = spec.threshold("allowed_increase" if bad_is_high else "allowed_decrease")
    if not (watched and outside and _passes_gate(size, allowed, bad_is_high)):
        return None
    label: Label = "High" if bad_is_high else "Low"
    text = _side_text(spec, size, band, tolerance, test, bad_is_high) + f" → {label}"
    critical_at = spec.threshold("critical_increase" if bad_is_high else "critical_decrease")
    critical = spec.critical and _passes_gate(size, critical_at, bad_is_high)
    if spec.critical:
        text += "; critical failure" if critical else (
            f"; not critical: {spec.effect_measure} {_fmt(size)} does not reach critical threshold {_fmt(critical_at)}")
    return label, critical, "ci_above_band" if bad_is_high else "ci_below_band", text


def _side_text(
    spec: MetricSpec, size: float, band: float, tolerance: float,
    test: MannWhitneyResult, bad_is_high: bool,
) -> str:
    if bad_is_high:
        ci = f"CI lower bound {_fmt(test.ci_lower)} > {_fmt(tolerance)}·|{_fmt(test.estimate)}| = {_fmt(band)}"
        gate, name = "≥", "allowed increase " + _fmt(spec.threshold("allowed_increase"))
    else:
        ci = f"CI upper bound {_fmt(test.ci_upper)} < -{_fmt(tolerance)}·|{_fmt(test.estimate)}| = {_fmt(-band)}"
        gate, name = "≤", "allowed decrease " + _fmt(spec.threshold("allowed_decrease"))
    if math.isnan(size):
        return f"{ci} and {spec.effect_measure} undefined (zero mean), effect gate skipped"
    return f"{ci} and {spec.effect_measure} {_fmt(size)} {gate} {name}"


def _pass_reason(
    spec: MetricSpec, size: float, band: float, tolerance: float, test: MannWhitneyResult,
) -> str:
    """Say which condition kept a metric at Pass."""
    band_text = f"±{_fmt(tolerance)}·|{_fmt(test.estimate)}| = ±{_fmt(band)}"
    if test.ci_lower > band:
        if spec.direction == "decrease":
            return f"above {band_text} but only decreases are bad"
        return (f"above {band_text} but {spec.effect_measure} {_fmt(size)} < allowed increase "
                f"{_fmt(spec.threshold('allowed_increase'))}")
    if test.ci_upper < -band:
        if spec.direction == "increase":
            return f"below {band_text} but only increases are bad"
        return (f"below {band_text} but {spec.effect_measure} {_fmt(size)} > allowed decrease "
                f"{_fmt(spec.threshold('allowed_decrease'))}")
    return f"does not clear {band_text}"


# ------------------------------------------------------------------ scoring


class Scorable(Protocol):
    """What the scorer needs from a metric result (MetricReport fits)."""

    name: str
    label: Label
    critical: bool
    groups: list[str]
    muted: bool


def _round_half_up(value: float) -> float:
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def group_scores(results: Sequence[Scorable], group_weights: Mapping[str, float]) -> dict[str, GroupScore]:
    """Score every group a result names. Nodata is left out of the
    denominator; an unweighted group shares what configured weights leave."""
    names = sorted({g for r in results for g in r.groups})
    unweighted = [g for g in names if g not in group_weights]
    leftover = (100.0 - sum(group_weights.values())) / len(unweighted) if unweighted else 0.0
    scores = {}
    for name in names:
        members = [r for r in results if name in r.groups and r.label != "Nodata"]
        passed = sum(r.label == "Pass" for r in members)
        scores[name] = GroupScore(
            score=100.0 * passed / len(members) if members else 0.0,
            weight=group_weights.get(name, leftover),
            no_data=not members,
            counted=len(members),
            passed=passed,
        )
    return scores


def _overrides(results: Sequence[Scorable]) -> list[str]:
    if not results:
        return ["no unmuted metrics to score"]
    reasons = [f"critical metric {r.name} is {r.label}" for r in results if r.critical and r.label != "Pass"]
    nodata = sum(r.label == "Nodata" for r in results)
    if nodata / len(results) >= NODATA_OVERRIDE_SHARE:
        reasons.append(f"{nodata} of {len(results)} metrics have no data (≥ {NODATA_OVERRIDE_SHARE:.0%})")
    return reasons


def score(
    results: Sequence[Scorable],
    group_weights: Mapping[str, float],
    pass_threshold: float,
    marginal_threshold: float,
) -> ScoreSummary:
    """Weighted sum of group scores; critical failures or too much Nodata
    force 0. Muted results are ignored entirely."""
    active = [r for r in results if not r.muted]
    groups = group_scores(active, group_weights)
    weighted = _round_half_up(
        sum((100.0 if g.no_data else g.score) * g.weight / 100.0 for g in groups.values()))
    overrides = _overrides(active)
    summary = 0.0 if overrides else weighted
    if summary >= pass_threshold:
        verdict: Verdict = "Pass"
    elif summary >= marginal_threshold:
        verdict = "Marginal"
    else:
        verdict = "Fail"
    return ScoreSummary(groups=groups, weighted_score=weighted, summary_score=summary,
                        overrides=overrides, verdict=verdict)


# --------------------------------------------------------------------- judge


def prepare_sample(values: Sequence[float], spec: MetricSpec) -> tuple[list[float], SampleCounts]:
    """NaN handling, then (optionally) IQR outlier removal, with counts."""
    cleaned = handle_nans(values, spec.nan_strategy)
    used = remove_outliers(cleaned, spec.outlier_factor) if spec.outlier_strategy == "remove" else cleaned
    counts = SampleCounts(
        total=len(values),
        nonfinite=sum(not math.isfinite(v) for v in values),
        after_nan=len(cleaned),
        outliers_removed=len(cleaned) - len(used),
        used=len(used),
    )
    return used, counts


def _missing_metric(spec: MetricSpec, canary: Mapping, baseline: Mapping) -> Classification:
    where = " and ".join(side for side, data in (("canary", canary), ("baseline", baseline)) if spec.name not in data)
    if spec.must_have_data and not spec.critical:
        return Classification("NodataFailMetric", False, math.nan, math.nan, "missing_metric",
                              f"{spec.name} absent from {where} samples and must_have_data → NodataFailMetric")
    return Classification("Nodata", spec.critical, math.nan, math.nan, "missing_metric",
                          f"{spec.name} absent from {where} samples → Nodata")


def judge_metric(
    canary: Mapping[str, Sequence[float]],
    baseline: Mapping[str, Sequence[float]],
    spec: MetricSpec,
    config: JudgeConfig,
) -> MetricReport:
    """Preprocess and classify one metric into its report entry."""
    canary_values, canary_counts = prepare_sample(canary.get(spec.name, []), spec)
    baseline_values, baseline_counts = prepare_sample(baseline.get(spec.name, []), spec)
    if spec.name in canary and spec.name in baseline:
        result = classify_metric(canary_values, baseline_values, spec,
                                 tolerance=config.tolerance, confidence=config.confidence)
    else:
        result = _missing_metric(spec, canary, baseline)
    test = result.test
    return MetricReport(
        name=spec.name, label=result.label, critical=result.critical, muted=spec.muted,
        groups=spec.groups, direction=spec.direction, effect_measure=spec.effect_measure,
        statistic_z=test.z if test else None,
        p_value=test.p_value if test else None,
        ci=(test.ci_lower, test.ci_upper) if test else (None, None),
        estimate=test.estimate if test else None,
        effect_size=result.effect_size, deviation=result.deviation,
        canary_counts=canary_counts, baseline_counts=baseline_counts,
        rule=result.rule, explanation=result.explanation,
    )


def _all_specs(specs: Sequence[MetricSpec], canary: Mapping, baseline: Mapping) -> list[MetricSpec]:
    """Given specs first, then a default spec for every unspecified metric."""
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError("duplicate metric names in specs")
    extra = sorted((set(canary) | set(baseline)) - set(names))
    return list(specs) + [MetricSpec(name=name) for name in extra]


def judge(
    canary: dict[str, list[float]],
    baseline: dict[str, list[float]],
    specs: list[MetricSpec],
    config: JudgeConfig,
) -> JudgeReport:
    """Judge every metric, score the run and return the full report."""
    metrics = [judge_metric(canary, baseline, s, config) for s in _all_specs(specs, canary, baseline)]
    summary = score(metrics, config.group_weights, config.pass_threshold, config.marginal_threshold)
    return JudgeReport(**summary.model_dump(), config=config, metrics=metrics)


# ----------------------------------------------------------------- samples


_SPECIAL_STRINGS = {"nan": math.nan, "inf": math.inf, "+inf": math.inf, "-inf": -math.inf}


def _to_float(metric: str, index: int, value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, str) and value.strip().lower() in _SPECIAL_STRINGS:
        return _SPECIAL_STRINGS[value.strip().lower()]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            raise ValueError(f"metric {metric!r}[{index}]: number too large") from None
    raise ValueError(f"metric {metric!r}[{index}]: expected a number, null, \"nan\" or \"inf\", got {value!r}")


def load_samples(data: Any) -> dict[str, list[float]]:
    """Validate parsed samples: {"metrics": {NAME: [values]}} or {NAME: [values]}.

    null and "nan" become NaN, "inf"/"-inf" infinities; anything else that is
    not a number raises ValueError with a one-line message.
    """
    if not isinstance(data, dict):
        raise ValueError(f"samples must be a JSON object, got {type(data).__name__}")
    metrics = data["metrics"] if isinstance(data.get("metrics"), dict) else data
    samples: dict[str, list[float]] = {}
    for name, values in metrics.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"metric names must be non-empty strings, got {name!r}")
        if not isinstance(values, list):
            raise ValueError(f"metric {name!r}: expected a list of values, got {type(values).__name__}")
        samples[name] = [_to_float(name, i, v) for i, v in enumerate(values)]
    return samples
