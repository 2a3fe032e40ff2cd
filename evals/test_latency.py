"""p95 latency gates: ``test_p95_latency[<variant>]`` through the pytest-benchmark fixture.

One request at a time (``benchmark.pedantic``, one generation per round, 1 warmup round,
``evaluation.latency_rounds`` rounds cycling over the sampled questions); p95 from the raw
round timings (``benchmark.stats.stats.data``) against ``thresholds.p95_latency_ms_max``.
Serial only: run ``pytest evals -m "smoke and latency"`` (tox -e full runs it after the
parallel quality pass).
"""

from __future__ import annotations

import itertools

import pytest

from pipeline.harness.gates import latency_check


def test_p95_latency(latency_variant, harness, onnx_dir, eval_cases, benchmark, record_property):
    cfg = harness.cfg
    record_property("variant", latency_variant)
    record_property("metric", "p95_latency_ms")
    record_property("threshold", cfg.evaluation.thresholds.p95_latency_ms_max[latency_variant])
    if harness.workers:
        pytest.skip(f"latency is not measured under xdist (-n {harness.workers}): pytest-benchmark disables itself and "
                    "workers contend for the CPU; rerun serially: pytest evals -m '<size> and latency'")
    if benchmark.disabled:
        pytest.skip("pytest-benchmark is disabled (--benchmark-disable); latency was not measured")
    generator = harness.generator(onnx_dir, latency_variant)
    questions = itertools.cycle([c.question for c in eval_cases])
    rounds = cfg.evaluation.latency_rounds
    benchmark.extra_info.update(variant=latency_variant, max_new_tokens=cfg.evaluation.max_new_tokens)
    benchmark.pedantic(generator.generate, setup=lambda: ((next(questions),), {}), rounds=rounds,
                       iterations=1, warmup_rounds=1)
    rounds_ms = [s * 1000.0 for s in benchmark.stats.stats.data]
    check = latency_check(cfg, latency_variant, rounds_ms)
    benchmark.extra_info.update(p95_ms=check.actual, budget_ms=check.threshold)
    record_property("actual", check.actual)
    record_property("n_cases", check.n)
    harness.save_latency(latency_variant, {
        "rounds_ms": rounds_ms, "p95_ms": check.actual, "mean_ms": sum(rounds_ms) / len(rounds_ms),
        "budget_ms": check.threshold, "rounds": len(rounds_ms), "warmup_rounds": 1,
        "stats": {k: getattr(benchmark.stats.stats, k) for k in ("min", "max", "mean", "median", "stddev")},
    })
    if not check.passed:
        pytest.fail(check.message(), pytrace=False)
