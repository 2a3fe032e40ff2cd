"""Bootstrap confidence intervals for the gate metrics (percentile bootstrap, numpy).

Used by :mod:`pipeline.harness.scoring` (an interval for every metric of every variant),
:mod:`pipeline.harness.report` (paired intervals of each quantized variant's difference from
model.onnx, and of a metric's change against ``--rc-compare-to``) and the gate tests
(``within noise``, ``--rc-gate-on lower-bound``). ``pytest tests/test_uncertainty.py`` tests it.

Method (Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13): draw
``resamples`` samples of the n per-case values with replacement, take each sample's mean,
and report the 2.5th and 97.5th percentiles of those means (linear interpolation, as
``numpy.quantile``). Paired intervals resample case indices once for both arms, so the
interval is of the mean per-case difference on the same cases. The generator is
``numpy.random.default_rng(seed)``: the same values and seed give the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CONFIDENCE = 0.95  # two-sided; the report and the JUnit properties say "95% CI"


def bootstrap_ci(values: Sequence[float], *, resamples: int, seed: int,
                 confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Percentile-bootstrap interval of the mean of ``values``.

    Args:
        values: per-case values (e.g. 0/1 for a rate, token F1 in [0, 1]).
        resamples: bootstrap samples (``evaluation.bootstrap_resamples``).
        seed: generator seed (``evaluation.seed``).
        confidence: two-sided coverage, in (0, 1).

    Returns:
        ``(low, high)`` with low ≤ mean ≤ high for n ≥ 1 (a single value gives a zero-width
        interval), or None for no values.

    Raises:
        ValueError: ``resamples`` < 1 or ``confidence`` outside (0, 1).
    """
    _check(resamples, confidence)
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return None
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    return _interval(means, float(data.mean()), confidence)


def paired_diff_ci(a: Sequence[float], b: Sequence[float], *, resamples: int, seed: int,
                   confidence: float = CONFIDENCE) -> tuple[float, tuple[float, float]] | None:
    """Mean per-case difference ``a - b`` on the same cases, with its paired bootstrap interval.

    Args:
        a, b: per-case values of two systems on the same cases, in the same order.

    Returns:
        ``(mean difference, (low, high))``, or None for no cases.

    Raises:
        ValueError: ``a`` and ``b`` differ in length, or bad ``resamples``/``confidence``.
    """
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    interval = bootstrap_ci(diff, resamples=resamples, seed=seed, confidence=confidence)
    return None if interval is None else (float(diff.mean()), interval)


def _check(resamples: int, confidence: float) -> None:
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _interval(means: np.ndarray, point: float, confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    # Floating-point round-off can put a quantile a hair past the point estimate.
    return min(float(low), point), max(float(high), point)
