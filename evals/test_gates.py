"""Quality gates: ``test_gate[<variant>-<metric>]`` for every metric of pipeline.harness.scoring.GATES.

Run: ``pytest evals -m smoke`` (thresholds: ``evaluation.thresholds.<metric>_min``).
"""

from __future__ import annotations

import pytest

from pipeline.harness.gates import gate_check


def test_gate(variant, gate_metric, harness, results, record_property):
    check = gate_check(harness.cfg, results[variant], gate_metric)
    for key, value in (("variant", variant), ("metric", gate_metric), ("threshold", check.threshold),
                       ("actual", check.actual), ("n_cases", check.n)):
        record_property(key, value)
    if check.passed is None:
        pytest.skip(f"no case in the {harness.sample} sample feeds {gate_metric} (see pipeline/harness/scoring.py)")
    if not check.passed:
        pytest.fail(check.message(), pytrace=False)
