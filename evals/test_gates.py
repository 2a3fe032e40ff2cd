"""Quality gates: ``test_gate[<variant>-<metric>]`` for every metric of pipeline.evaluate.GATES.

Run: ``pytest evals -m smoke`` (thresholds: ``evaluation.thresholds.<metric>_min``).
"""

from __future__ import annotations

import pytest

from pipeline.evaluate import gate_check


def test_gate(variant, gate_metric, rc, results, record_property):
    check = gate_check(rc.cfg, results[variant], gate_metric)
    for key, value in (("variant", variant), ("metric", gate_metric), ("threshold", check.threshold),
                       ("actual", check.actual), ("n_cases", check.n)):
        record_property(key, value)
    if check.passed is None:
        pytest.skip(f"no case in the {rc.sample} sample feeds {gate_metric} (see pipeline/evaluate.py)")
    if not check.passed:
        pytest.fail(check.message(), pytrace=False)
