"""Bootstrap intervals: bounds, determinism, width, pairing (``pytest tests/test_uncertainty.py``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.harness.uncertainty import bootstrap_ci, paired_diff_ci

unit = st.floats(0, 1, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(unit, min_size=1, max_size=60), st.integers(0, 2**31))
def test_interval_holds_the_mean_and_stays_in_range(values, seed):
    low, high = bootstrap_ci(values, resamples=200, seed=seed)
    mean = sum(values) / len(values)
    assert min(values) - 1e-12 <= low <= mean + 1e-12 <= high + 2e-12 <= max(values) + 3e-12


def test_same_seed_same_interval_and_constant_values_have_zero_width():
    values = [1, 0, 1, 1, 0, 1, 0, 1, 1, 1]
    assert bootstrap_ci(values, resamples=500, seed=7) == bootstrap_ci(values, resamples=500, seed=7)
    assert bootstrap_ci([1.0] * 30, resamples=100, seed=1) == (1.0, 1.0)
    assert bootstrap_ci([], resamples=100, seed=1) is None


def test_width_shrinks_like_one_over_root_n():
    rng = np.random.default_rng(0)
    small = rng.integers(0, 2, 40).tolist()
    large = small * 16  # same rate, 16x the cases
    w_small = np.subtract(*bootstrap_ci(small, resamples=2000, seed=3)[::-1])
    w_large = np.subtract(*bootstrap_ci(large, resamples=2000, seed=3)[::-1])
    assert w_large == pytest.approx(w_small / 4, rel=0.25)
    # a 50% rate over 40 cases: normal approximation 2 * 1.96 * sqrt(.25/40) = 0.31
    assert bootstrap_ci([0, 1] * 20, resamples=4000, seed=5)[1] - bootstrap_ci([0, 1] * 20, resamples=4000,
                                                                               seed=5)[0] == pytest.approx(0.31, abs=0.05)


def test_paired_interval_is_of_the_difference_on_the_same_cases():
    a = [1, 1, 1, 0, 1, 1, 0, 1] * 5
    b = [1, 1, 0, 0, 1, 1, 0, 1] * 5
    delta, (low, high) = paired_diff_ci(a, b, resamples=1000, seed=0)
    assert delta == pytest.approx(0.125) and 0 <= low <= delta <= high
    same, (lo0, hi0) = paired_diff_ci(a, a, resamples=100, seed=0)
    assert same == 0 and lo0 == hi0 == 0
    with pytest.raises(ValueError, match="equal lengths"):
        paired_diff_ci([1], [1, 0], resamples=10, seed=0)
    with pytest.raises(ValueError, match="resamples"):
        bootstrap_ci([1], resamples=0, seed=0)
