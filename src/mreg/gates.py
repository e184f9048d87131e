"""Baselines as checks: per-metric verdicts, and the gates that promotions and health checks run.

A metric's verdict against its baseline, in order of the rules tried:

- ``no data``: the version (or the check input) has no value for the metric;
- ``regression``: an absolute bound (``max``/``min``) is broken, or, with a ``tolerance``
  and a reference value, the metric moved the wrong way by more than ``tolerance`` of the
  reference;
- ``improvement``: it moved the right way by more than the tolerance (or at all, with no
  tolerance);
- ``pass``: otherwise.

A gate fails when any gating metric regresses, or when a *critical* metric has no data.

With samples rather than single numbers, ``judge_canary`` turns the same baselines into the
canary judge's metric specs (``mreg.judge``, which needs numpy and is imported only there).
Pure functions: the registry supplies manifests, metrics and samples, and stores the verdict.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from mreg.errors import MissingDependency, UsageError
from mreg.manifest import Baseline
from mreg.results import Result

if TYPE_CHECKING:
    from mreg.judge.pipeline import JudgeReport, MetricSpec

Verdict = Literal["pass", "regression", "improvement", "no data"]


class MetricVerdict(Result):
    metric: str
    value: float | None
    reference: float | None
    delta: float | None
    relative: float | None
    direction: str | None
    bound: str | None
    critical: bool
    verdict: Verdict
    rule: str


class GateReport(Result):
    """What ``check``, a promotion's gate or a health check decided, metric by metric."""

    gate: str
    subject: str
    reference: str | None
    verdict: Literal["pass", "fail"]
    metrics: list[MetricVerdict]

    @property
    def failures(self) -> list[MetricVerdict]:
        return [m for m in self.metrics if m.verdict == "regression" or (m.critical and m.verdict == "no data")]

    def summary(self) -> str:
        if not self.failures:
            return f"{self.gate} gate passed ({len(self.metrics)} metrics)"
        return f"{self.gate} gate failed: " + "; ".join(m.rule for m in self.failures)


def _bound_text(baseline: Baseline) -> str | None:
    parts = [f"<= {baseline.max:g}" if baseline.max is not None else "", f">= {baseline.min:g}" if baseline.min is not None else ""]
    text = " and ".join(part for part in parts if part)
    return text or None


def _better_sign(baseline: Baseline) -> int:
    """+1 if higher is better, -1 if lower is, 0 if the baseline does not say."""
    return {"higher": 1, "lower": -1}.get(baseline.direction or "", 0)


def judge_metric(baseline: Baseline, value: float | None, reference: float | None) -> MetricVerdict:
    """One metric's verdict, with the rule that decided it spelled out."""
    name = baseline.metric
    delta = relative = None
    if value is not None and math.isfinite(value) and reference is not None and math.isfinite(reference):
        delta = value - reference
        relative = delta / abs(reference) if reference != 0 else None

    def verdict(kind: Verdict, rule: str) -> MetricVerdict:
        return MetricVerdict(metric=name, value=value, reference=reference, delta=delta, relative=relative,
                             direction=baseline.direction, bound=_bound_text(baseline),
                             critical=baseline.critical, verdict=kind, rule=rule)

    if value is None or not math.isfinite(value):
        return verdict("no data", f"{name}: no value")
    if baseline.max is not None and value > baseline.max:
        return verdict("regression", f"{name} = {value:g} exceeds the bound {baseline.max:g}")
    if baseline.min is not None and value < baseline.min:
        return verdict("regression", f"{name} = {value:g} is below the bound {baseline.min:g}")
    sign = _better_sign(baseline)
    if delta is None or sign == 0 or delta == 0:
        return verdict("pass", f"{name} = {value:g} within bounds")
    change = abs(relative if relative is not None else delta)
    better = sign * delta > 0
    tolerance = baseline.tolerance
    moved = f"{name} {_moved(relative, delta)} against {reference:g}"
    if not better and tolerance is not None and change > tolerance:
        return verdict("regression", f"{moved}, beyond the tolerance {tolerance:.1%}")
    if better and change > (tolerance or 0.0):
        return verdict("improvement", moved)
    limit = f"within the tolerance {tolerance:.1%}" if tolerance is not None else "no relative tolerance set"
    return verdict("pass", f"{moved}, {limit}")


def _moved(relative: float | None, delta: float) -> str:
    return f"moved {relative:+.2%}" if relative is not None else f"moved {delta:+g}"


def evaluate(
    gate: str,
    subject: str,
    baselines: list[Baseline],
    metrics: dict[str, float],
    reference_metrics: dict[str, float] | None = None,
    reference: str | None = None,
) -> GateReport:
    """Run every baseline in ``baselines`` against ``metrics`` (and the reference's, if any)."""
    reference_metrics = reference_metrics or {}
    verdicts = [
        judge_metric(baseline, metrics.get(baseline.metric), reference_metrics.get(baseline.metric))
        for baseline in baselines
    ]
    report = GateReport(gate=gate, subject=subject, reference=reference, verdict="pass", metrics=verdicts)
    return report.model_copy(update={"verdict": "fail" if report.failures else "pass"})


def gating(baselines: list[Baseline], target: str) -> list[Baseline]:
    """The baselines that gate promotions to ``target``."""
    return [b for b in baselines if target in b.gates]


def health_baselines(baselines: list[Baseline]) -> list[Baseline]:
    """A health check tests the alert thresholds: the baselines with an absolute bound."""
    return [b.model_copy(update={"tolerance": None}) for b in baselines if b.max is not None or b.min is not None]


def describe(baseline: Baseline) -> str:
    """The baseline as one short phrase, e.g. ``lower is better; <= 250; tolerance 5%; critical``."""
    parts = [f"{baseline.direction} is better" if baseline.direction else "", _bound_text(baseline) or ""]
    if baseline.tolerance is not None:
        parts.append(f"tolerance {baseline.tolerance:.0%}")
    if baseline.critical:
        parts.append("critical")
    return "; ".join(part for part in parts if part) or "tracked"


# -- the canary judge ---------------------------------------------------------------------

BAD_DIRECTION = {"higher": "decrease", "lower": "increase", None: "either"}


def judge_module() -> Any:
    """``mreg.judge.pipeline``, which needs numpy: a clear error when the ``judge`` extra is missing."""
    try:
        import mreg.judge.pipeline as judge
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing == "numpy":
            raise MissingDependency(missing, "judge") from None
        raise
    return judge


def canary_specs(baselines: list[Baseline], measured: set[str]) -> list["MetricSpec"]:
    """The judge's metric specs from a model's baselines.

    The judge names the *bad* direction, so higher-is-better watches decreases and
    lower-is-better increases. A relative ``tolerance`` becomes the allowed mean ratio
    (``1 + tolerance`` up, ``1 - tolerance`` down), so a shift the baseline tolerates on
    single numbers is tolerated on samples too. A critical baseline is a critical metric.
    A baseline is judged but *muted* (reported, not scored) when it does not gate
    production, or when neither sample file ``measured`` it and it is not critical: a
    canary measures what it can, and a critical metric without data still fails the run.
    """
    spec_type = judge_module().MetricSpec
    production = {baseline.metric for baseline in gating(baselines, "production")}
    specs = []
    for baseline in baselines:
        bad = BAD_DIRECTION[baseline.direction]
        limits = {}
        if baseline.tolerance is not None and bad != "decrease":
            limits["allowed_increase"] = 1 + baseline.tolerance
        if baseline.tolerance is not None and bad != "increase":
            limits["allowed_decrease"] = max(0.0, 1 - baseline.tolerance)
        unmeasured = baseline.metric not in measured and not baseline.critical
        specs.append(spec_type(
            name=baseline.metric, direction=bad, critical=baseline.critical,
            muted=baseline.metric not in production or unmeasured, **limits,
        ))
    return specs


def samples(data: Any, source: str) -> dict[str, list[float]]:
    """A parsed samples file (see docs/judge.md, "Input samples"), or a UsageError naming it."""
    try:
        return judge_module().load_samples(data)
    except ValueError as exc:
        raise UsageError(f"{source}: {exc}") from None


def judge_canary(
    baselines: list[Baseline], canary: dict[str, list[float]], baseline: dict[str, list[float]]
) -> "JudgeReport":
    """Judge canary against baseline samples with the model's baselines and Kayenta's settings."""
    judge = judge_module()
    specs = canary_specs(baselines, set(canary) | set(baseline))
    return judge.judge(canary, baseline, specs, judge.JudgeConfig())
