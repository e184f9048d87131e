"""Numeric building blocks of the canary judge (pure functions, no I/O).

The semantics follow Kayenta's NetflixACAJudge closely enough to reproduce its
asserted test values, including the artefacts of its root finder; see
docs/judge.md for the places where we deliberately differ.
"""

from __future__ import annotations

import hashlib
import math
import sys
from dataclasses import dataclass, replace
from typing import Callable, Literal, Sequence

from statistics import NormalDist

import numpy as np

NanStrategy = Literal["remove", "replace"]

ROOT_TOLERANCE = 1e-4
ROOT_MAX_ITERATIONS = 1000
NOISE_RELATIVE_SIGMA = 1e-5


# --------------------------------------------------------------------- NaNs


def handle_nans(values: Sequence[float], strategy: NanStrategy) -> list[float]:
    """Drop or zero non-finite values, keeping order.

    inf is treated like NaN: it has no rank-free meaning for a mean ratio and
    would make the root-finder bracket infinite.
    """
    if strategy == "replace":
        return [v if math.isfinite(v) else 0.0 for v in values]
    return [v for v in values if math.isfinite(v)]


# ----------------------------------------------------------------- outliers


def percentile_r7(values: Sequence[float], p: float) -> float:
    """R-7 percentile (p in 0..100), with the same arithmetic as commons-math.

    numpy's "linear" method is the same estimator but rounds differently for
    fractions >= 0.5; the Kayenta vectors assert exact equality.
    """
    if not values:
        raise ValueError("percentile of an empty sample is undefined")
    ordered = sorted(values)
    n = len(ordered)
    q = p / 100.0
    pos = float(n) if q == 1.0 else 1.0 + (n - 1) * q
    if pos < 1.0:
        return ordered[0]
    if pos >= n:
        return ordered[-1]
    whole = math.floor(pos)
    fraction = pos - whole
    lower, upper = ordered[int(whole) - 1], ordered[int(whole)]
    return lower + fraction * (upper - lower)


def iqr_outlier_flags(
    values: Sequence[float], factor: float, reduce_sensitivity: bool
) -> list[bool]:
    """Flag values strictly outside the IQR fences.

    With reduce_sensitivity the fences are widened to at least p1/p99, so a
    tight sample does not lose its natural tails (the judge's setting).
    """
    if not values:
        return []
    q1, q3 = percentile_r7(values, 25), percentile_r7(values, 75)
    low, high = q1 - factor * (q3 - q1), q3 + factor * (q3 - q1)
    if reduce_sensitivity:
        low = min(percentile_r7(values, 1), low)
        high = max(percentile_r7(values, 99), high)
    return [v < low or v > high for v in values]


def remove_outliers(
    values: Sequence[float], factor: float, reduce_sensitivity: bool = True
) -> list[float]:
    """Keep the non-outliers in their original order."""
    flags = iqr_outlier_flags(values, factor, reduce_sensitivity)
    return [v for v, is_outlier in zip(values, flags) if not is_outlier]


# -------------------------------------------------------------- effect size


def mean_ratio(experiment: Sequence[float], control: Sequence[float]) -> float:
    """mean(experiment)/mean(control); NaN when either mean is exactly zero,
    because a ratio to (or of) zero carries no usable scale."""
    if not experiment or not control:
        return math.nan
    with np.errstate(over="ignore"):
        exp_mean, ctl_mean = float(np.mean(experiment)), float(np.mean(control))
    if exp_mean == 0.0 or ctl_mean == 0.0:
        return math.nan
    return exp_mean / ctl_mean


def rankdata(values) -> np.ndarray:
    """Ranks from 1, ties sharing the mean of the ranks they span (mid-ranks)."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    ranks = np.empty(len(values), dtype=float)
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[start]:
            end += 1
        ranks[order[start:end + 1]] = (start + end) / 2.0 + 1.0
        start = end + 1
    return ranks


def cles(experiment: Sequence[float], control: Sequence[float]) -> float:
    """Common-language effect size P(exp > ctl) + P(tie)/2, from mid-ranks."""
    m, n = len(experiment), len(control)
    if m == 0 or n == 0:
        return math.nan
    ranks = rankdata(np.concatenate([experiment, control]))
    rank_sum = float(np.sum(ranks[:m]))
    return (2.0 * rank_sum - m * (m + 1)) / (2.0 * n * m)


# ------------------------------------------------------------ Mann-Whitney


def normal_quantile(p: float) -> float:
    """Standard normal inverse CDF (Wichura's AS 241, as scipy's ndtri, to ~1e-16)."""
    if p <= 0.0 or p >= 1.0:
        return -math.inf if p == 0.0 else math.inf if p == 1.0 else math.nan
    return NormalDist().inv_cdf(p)


def wilcoxon_diff(
    mu: float, quantile: float, x: Sequence[float], y: Sequence[float]
) -> float:
    """Standardised rank-sum statistic of (x - mu) vs y, minus `quantile`.

    Tie- and continuity-corrected normal approximation, exactly the function
    R's wilcox.test inverts for its confidence interval; it decreases in mu,
    so its roots are CI bounds. All-tied data (sigma 0) counts as no shift.
    """
    xs = np.asarray(x, dtype=float) - mu
    pooled = np.concatenate([xs, np.asarray(y, dtype=float)])
    nx, ny = len(xs), len(y)
    total = nx + ny
    ranks = rankdata(pooled)
    s = float(np.sum(ranks[:nx])) - nx * (nx + 1) / 2.0 - nx * ny / 2.0
    _, tie_sizes = np.unique(pooled, return_counts=True)
    tie_term = float(np.sum(tie_sizes.astype(float) ** 3 - tie_sizes))
    variance = (nx * ny / 12.0) * ((total + 1) - tie_term / (total * (total - 1)))
    if variance <= 0.0:
        return -quantile
    correction = 0.5 * math.copysign(1.0, s) if s != 0.0 else 0.0
    return (s - correction) / math.sqrt(variance) - quantile


def zeroin(
    f: Callable[[float], float],
    lower: float,
    upper: float,
    f_lower: float,
    f_upper: float,
    tolerance: float = ROOT_TOLERANCE,
    max_iterations: int = ROOT_MAX_ITERATIONS,
) -> float:
    """Brent's root finder in the formulation of R's zeroin.

    Reproducing this exact iteration matters: on step functions the returned
    point is only defined up to `tolerance`, and Kayenta's asserted values are
    the points this sequence lands on. Keeps a bracket [b, c] with a sign
    change, b the best guess, and tries inverse quadratic or secant steps,
    falling back to bisection when they do not shrink the bracket enough.
    """
    a, b, fa, fb = lower, upper, f_lower, f_upper
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(max_iterations + 1):
        previous_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * sys.float_info.epsilon * abs(b) + tolerance / 2.0
        step = (c - b) / 2.0
        if abs(step) <= tol_act or fb == 0.0:
            return b
        if abs(previous_step) >= tol_act and abs(fa) > abs(fb):
            step = _interpolated_step(a, b, c, fa, fb, fc, step, previous_step, tol_act)
        if abs(step) < tol_act:
            step = tol_act if step > 0.0 else -tol_act
        a, fa = b, fb
        b += step
        fb = f(b)
        if (fb > 0.0 and fc > 0.0) or (fb < 0.0 and fc < 0.0):
            c, fc = a, fa
    return b


def _interpolated_step(
    a: float, b: float, c: float, fa: float, fb: float, fc: float,
    bisect_step: float, previous_step: float, tol_act: float,
) -> float:
    """Secant (two distinct points) or inverse quadratic (three) step, if it
    stays well inside the bracket; otherwise keep the bisection step."""
    cb = c - b
    if a == c:
        t1 = fb / fa
        p, q = cb * t1, 1.0 - t1
    else:
        q, t1, t2 = fa / fc, fb / fc, fb / fa
        p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
        q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
    if p > 0.0:
        q = -q
    else:
        p = -p
    if p < 0.75 * cb * q - abs(tol_act * q) / 2.0 and p < abs(previous_step * q / 2.0):
        return p / q
    return bisect_step


@dataclass(frozen=True)
class MannWhitneyResult:
    """CI and point estimate of the shift x - y, plus the test at mu = 0."""

    ci_lower: float
    ci_upper: float
    estimate: float
    z: float
    p_value: float


def shift_bracket(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Every root of wilcoxon_diff lies in [min(x) - max(y), max(x) - min(y)]."""
    return min(x) - max(y), max(x) - min(y)


def _clamped_root(x: Sequence[float], y: Sequence[float], quantile: float) -> float:
    """Root of wilcoxon_diff(., quantile); an end of the bracket if the normal
    approximation cannot reach the quantile inside it (small samples)."""
    lo, hi = shift_bracket(x, y)
    f_lo, f_hi = wilcoxon_diff(lo, quantile, x, y), wilcoxon_diff(hi, quantile, x, y)
    if f_lo <= 0.0:
        return lo
    if f_hi >= 0.0:
        return hi
    return zeroin(lambda mu: wilcoxon_diff(mu, quantile, x, y), lo, hi, f_lo, f_hi)


def shift_estimate(x: Sequence[float], y: Sequence[float]) -> float:
    """Root of wilcoxon_diff(., 0) without clamping: Kayenta's (and R's
    normal-approximation) point estimate of the shift."""
    lo, hi = shift_bracket(x, y)
    f = lambda mu: wilcoxon_diff(mu, 0.0, x, y)  # noqa: E731
    return zeroin(f, lo, hi, f(lo), f(hi))


def mann_whitney(
    x: Sequence[float], y: Sequence[float], confidence: float
) -> MannWhitneyResult:
    """Two-sided CI and estimate for the shift x - y, as Kayenta computes them.

    The p-value is 2·Φ(-|z|) of the continuity-corrected, tie-corrected z at
    mu = 0, i.e. scipy.stats.mannwhitneyu(method="asymptotic",
    use_continuity=True); Kayenta never reports one.
    """
    if not x or not y:
        raise ValueError("mann_whitney needs two non-empty samples")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if not math.isfinite(3.0 * max(abs(v) for v in (*x, *y))):
        return _rescaled_mann_whitney(x, y, confidence)
    z_alpha = normal_quantile((1.0 - confidence) / 2.0)
    z = wilcoxon_diff(0.0, 0.0, x, y)
    return MannWhitneyResult(
        ci_lower=_clamped_root(x, y, -z_alpha),
        ci_upper=_clamped_root(x, y, z_alpha),
        estimate=shift_estimate(x, y),
        z=z,
        p_value=min(1.0, math.erfc(abs(z) / math.sqrt(2.0))),
    )


def _rescaled_mann_whitney(
    x: Sequence[float], y: Sequence[float], confidence: float
) -> MannWhitneyResult:
    """x - mu (|mu| up to twice the largest value) overflows near the float
    limit. Ranks ignore scale, so test x/4 vs y/4 (exact: a power of two) and
    scale the shift back; it may then be inf, reported as null."""
    quarter = mann_whitney([v / 4.0 for v in x], [v / 4.0 for v in y], confidence)
    return replace(
        quarter,
        ci_lower=quarter.ci_lower * 4.0,
        ci_upper=quarter.ci_upper * 4.0,
        estimate=quarter.estimate * 4.0,
    )


# ------------------------------------------------------------------- noise


def add_deterministic_noise(
    values: Sequence[float], salt: bytes
) -> list[float]:
    """Jitter a single-valued sample by N(0, (1e-5·value)²) so ranks untie.

    Kayenta uses an unseeded RNG here; we seed from the data (and `salt`) so
    the same inputs always give the same verdict.
    """
    digest = hashlib.sha256(salt + np.asarray(values, dtype=float).tobytes()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    sigma = abs(NOISE_RELATIVE_SIGMA * values[0])
    return [v + sigma * float(e) for v, e in zip(values, rng.standard_normal(len(values)))]
