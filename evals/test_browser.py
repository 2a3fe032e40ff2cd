"""Browser speed per variant: ``test_browser_speed[<variant>]``, numbers for the report, not a gate.

The chat page of ``python -m pipeline demo`` in headless Chromium (transformers.js on WASM, one
thread: headless Chromium has no WebGPU) loads the variant, answers the first
:data:`QUESTIONS` sampled cases, and the report gets load time, time to first token and
tokens/s beside the gates. Serial only (``latency`` mark); skipped without Chromium or
``js/node_modules`` (the reason names the fix) and under xdist.
"""

from __future__ import annotations

import statistics

import pytest

from pipeline.config import DTYPES
from pipeline.errors import PipelineError
from pipeline.onnx import demo, parity

QUESTIONS = 2


def test_browser_speed(latency_variant, harness, onnx_dir, eval_cases, record_property):
    if harness.workers:
        pytest.skip(f"browser speed is not measured under xdist (-n {harness.workers}); rerun serially")
    reason = parity.chromium_unavailable()
    if reason:
        pytest.skip(reason)
    questions = [c.question for c in eval_cases[:QUESTIONS]]
    try:
        with demo.serve(harness.cfg, onnx_dir, latency_variant) as site:
            out = demo.drive(site.url, questions, dtype=DTYPES[latency_variant])
    except PipelineError as exc:
        pytest.fail(f"the chat page failed on {latency_variant}: {exc}", pytrace=False)
    answers = out["answers"]
    row = {"runtime": "chromium", "device": out["device"], "load_s": out["load_s"], "questions": len(answers),
           "first_token_ms": statistics.median(a["first_token_ms"] for a in answers),
           "tokens_per_s": sum(a["new_tokens"] for a in answers) / (sum(a["total_ms"] for a in answers) / 1000),
           "new_tokens": [a["new_tokens"] for a in answers]}
    for key in ("load_s", "first_token_ms", "tokens_per_s"):
        record_property(key, row[key])
    harness.save_browser(latency_variant, row)
