"""fp32 alignment gates: ``test_fp32_alignment[<quantized variant>]``.

Mean token F1 of the variant's responses against model.onnx's on the same answer cases must reach
``evaluation.thresholds.fp32_alignment_min``. Run: ``pytest evals -m smoke``.
"""

from __future__ import annotations

import pytest

from pipeline.harness.gates import alignment_check, junit_properties


def test_fp32_alignment(quantized_variant, harness, results, record_property):
    check = alignment_check(harness.cfg, results["model.onnx"], results[quantized_variant], gate_on=harness.gate_on)
    for key, value in junit_properties(check):
        record_property(key, value)
    if check.passed is None:
        pytest.skip("no case shared with model.onnx")
    if not check.passed:
        pytest.fail(check.message(), pytrace=False)
