"""Quality gates: ``test_gate[<variant>-<metric>]`` for every metric of pipeline.harness.scoring.GATES.

Run: ``pytest evals -m smoke`` (thresholds: ``evaluation.thresholds.<metric>_min``).
"""

from __future__ import annotations

import pytest

from pipeline.harness.gates import gate_check, junit_properties, regression_check


def test_gate(variant, gate_metric, harness, results, record_property):
    check = gate_check(harness.cfg, results[variant], gate_metric, gate_on=harness.gate_on)
    for key, value in junit_properties(check):
        record_property(key, value)
    if check.passed is None:
        pytest.skip(f"no case in the {harness.sample} sample feeds {gate_metric} (see pipeline/harness/scoring.py)")
    problems = [] if check.passed else [check.message()]
    if harness.fail_on_regression:
        regression = regression_check(harness.cfg, results[variant], gate_metric, harness.previous_cases(variant))
        problems += [regression] if regression else []
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)

