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
Pure functions: the registry supplies manifests and metrics, and stores the verdict.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict

from mreg.manifest import Baseline

Verdict = Literal["pass", "regression", "improvement", "no data"]
GATED_STATES = ("candidate", "production")


class MetricVerdict(BaseModel):
    model_config = ConfigDict(frozen=True)

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


class GateReport(BaseModel):
    model_config = ConfigDict(frozen=True)

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
    common = dict(metric=name, value=value, reference=reference, direction=baseline.direction,
                  bound=_bound_text(baseline), critical=baseline.critical)
    if value is None or not math.isfinite(value):
        return MetricVerdict(**common, delta=None, relative=None, verdict="no data", rule=f"{name}: no value")
    delta = relative = None
    if reference is not None and math.isfinite(reference):
        delta = value - reference
        relative = delta / abs(reference) if reference != 0 else None
    if baseline.max is not None and value > baseline.max:
        return MetricVerdict(**common, delta=delta, relative=relative, verdict="regression",
                             rule=f"{name} = {value:g} exceeds the bound {baseline.max:g}")
    if baseline.min is not None and value < baseline.min:
        return MetricVerdict(**common, delta=delta, relative=relative, verdict="regression",
                             rule=f"{name} = {value:g} is below the bound {baseline.min:g}")
    sign = _better_sign(baseline)
    if delta is None or sign == 0 or delta == 0:
        return MetricVerdict(**common, delta=delta, relative=relative, verdict="pass",
                             rule=f"{name} = {value:g} within bounds")
    change = relative if relative is not None else delta
    tolerance = baseline.tolerance or 0.0
    better = sign * delta > 0
    if not better and abs(change) > tolerance:
        return MetricVerdict(**common, delta=delta, relative=relative, verdict="regression",
                             rule=f"{name} {_moved(relative, delta)} against {reference:g}, beyond the tolerance {tolerance:.1%}")
    if better and abs(change) > tolerance:
        return MetricVerdict(**common, delta=delta, relative=relative, verdict="improvement",
                             rule=f"{name} {_moved(relative, delta)} against {reference:g}")
    return MetricVerdict(**common, delta=delta, relative=relative, verdict="pass",
                         rule=f"{name} {_moved(relative, delta)}, within the tolerance {tolerance:.1%}")


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
