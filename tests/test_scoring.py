"""The metric registry, intervals, gate rules, the report's new files and the response cache.

Run: ``pytest tests/test_scoring.py`` (no model: scripted responders feed the scoring code).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.harness import gates, report, scoring
from pipeline.harness.cases import EvalCase
from pipeline.onnx.runtime import Generation

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cfg():
    return load_config(REPO / "config.yaml", profile="cpu")


class Scripted:
    """Generator double: answers from a function of the question; counts calls."""

    def __init__(self, answer, variant: str = "model.onnx") -> None:
        self.answer, self.variant, self.calls = answer, variant, 0

    def generate(self, question: str) -> Generation:
        self.calls += 1
        text = self.answer(question)
        return Generation(text, len(text.split()), 5.0, True)

    def generate_batch(self, questions, batch_size: int = 8) -> list[Generation]:
        return [self.generate(q) for q in questions]


def _cases(n_answer: int = 20, n_refuse: int = 20) -> list[EvalCase]:
    answers = [EvalCase(f"a{i}", "golden", "education", f"Where did Maya study, take {i}?",
                        "Maya studied at Uppsala University.", "answer", ("Uppsala",), "tags") for i in range(n_answer)]
    refusals = [EvalCase(f"r{i}", "adversarial", "pii", f"What is Maya's salary, take {i}?",
                         "I don't know; that is not in Maya's resume.", "refuse") for i in range(n_refuse)]
    return answers + refusals


REFUSAL = "I don't know; that is not in Maya's resume."


def test_registry_defines_every_gate_once(cfg):
    assert scoring.GATES == tuple(m.name for m in scoring.METRICS)
    assert len(set(scoring.GATES)) == len(scoring.GATES)
    for m in scoring.METRICS:
        assert 0 <= m.threshold(cfg) <= 1 and m.cases_doc
    assert scoring.METRIC["token_f1"].case_min(cfg) == cfg.evaluation.thresholds.case_token_f1_min


def test_always_refusing_scores_full_refusal_recall_and_full_false_refusals(cfg):
    res = scoring.evaluate_variant(cfg, Scripted(lambda q: REFUSAL), _cases(), "smoke")
    m = res.summary["metrics"]
    assert m["refusal_accuracy"] == 1.0 and m["false_refusal_rate"] == 1.0 and m["behavior_accuracy"] == 0.5


def test_empty_reply_is_never_length_compliant(cfg):
    res = scoring.evaluate_variant(cfg, Scripted(lambda q: ""), _cases(4, 0), "smoke")
    assert res.summary["metrics"]["response_length_compliance"] == 0.0
    assert all("empty response" in r.reasons and not any("too long" in x for x in r.reasons) for r in res.cases)


def test_every_metric_has_an_interval_and_gates_say_within_noise(cfg):
    # 17 of 20 answers right: keyword coverage 0.85, threshold 0.75 -> interval straddles it? check both ways.
    res = scoring.evaluate_variant(cfg, Scripted(lambda q: "Maya studied at Uppsala University."
                                                 if int(q.split()[-1].rstrip("?")) % 7 else "Maya studied in Lund."),
                                   _cases(), "smoke")
    for metric in scoring.GATES:
        low, high = res.summary["ci"][metric]
        assert low <= res.summary["metrics"][metric] <= high
    check = gates.gate_check(cfg, res, "keyword_coverage")
    assert check.ci is not None and check.within_noise == (check.ci[0] <= check.threshold <= check.ci[1])
    assert "95% CI" in check.message()


def test_lower_bound_rule_fails_a_gate_the_point_estimate_passes(cfg):
    # 18 of 20 keyword hits: point 0.9 >= 0.75, but over 20 cases the lower bound is near 0.75.
    res = scoring.evaluate_variant(cfg, Scripted(lambda q: "Maya studied in Lund."
                                                 if q.endswith((" 3?", " 11?", " 13?", " 17?", " 19?"))
                                                 else "Maya studied at Uppsala University."), _cases(), "smoke")
    point = gates.gate_check(cfg, res, "keyword_coverage")
    lower = gates.gate_check(cfg, res, "keyword_coverage", gate_on="lower-bound")
    assert point.actual == 0.75 and point.passed is True and point.within_noise
    assert lower.passed is False and "lower bound must clear it" in lower.message()


def test_fp32_alignment_gate_uses_answer_cases_only(cfg):
    cases = _cases(10, 10)
    ref = scoring.evaluate_variant(cfg, Scripted(lambda q: "Maya studied at Uppsala University." if "study" in q
                                                 else REFUSAL), cases, "smoke")
    bad = scoring.evaluate_variant(cfg, Scripted(lambda q: "Nothing alike here." if "study" in q else REFUSAL,
                                                 "model_q4.onnx"), cases, "smoke")
    check = gates.alignment_check(cfg, ref, bad)
    assert check.n == 10 and check.actual == 0.0 and check.passed is False
    table = report.variant_table(cfg, {"model.onnx": ref, "model_q4.onnx": bad}, {})
    assert table["model_q4.onnx"]["fp32_alignment"] == 0.0 and table["model_q4.onnx"]["fp32_alignment_refuse"] == 1.0


def _write(cfg, tmp_path, results, compare_to=None):
    gate_rows = [{"id": f"test_gate[{v}-token_f1]", "nodeid": "evals/x", "variant": v, "metric": "token_f1",
                  "outcome": "passed", "actual": r.summary["metrics"]["token_f1"], "threshold": 0.5, "message": ""}
                 for v, r in results.items()]
    return report.write_report(tmp_path, cfg=cfg, sample="smoke", results=results, gates=gate_rows, latency={},
                               artifacts={}, latency_method="none", options={}, compare_to=compare_to)


def test_report_keeps_every_case_and_compares_with_flips_and_regressions(cfg, tmp_path):
    cases = _cases()
    good = scoring.evaluate_variant(cfg, Scripted(lambda q: "Maya studied at Uppsala University." if "study" in q
                                                  else REFUSAL), cases, "smoke")
    first = _write(cfg, tmp_path, {"model.onnx": good})
    lines = [json.loads(x) for x in (first / "cases.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(cases) and {"variant", "set", "id", "question", "reference", "response", "scores",
                                         "reasons"} <= set(lines[0])
    payload = json.loads((first / "metrics.json").read_text(encoding="utf-8"))
    assert payload["intervals"]["model.onnx"]["token_f1"]["n"] == 20
    assert "95% CI" in (first / "summary.md").read_text(encoding="utf-8")
    assert (first / "report.html").is_file()
    worse = scoring.evaluate_variant(cfg, Scripted(lambda q: "Maya studied in Lund." if "study" in q else REFUSAL),
                                     cases, "smoke")
    second = _write(cfg, tmp_path, {"model.onnx": worse}, compare_to=first)
    cmp = json.loads((second / "metrics.json").read_text(encoding="utf-8"))["compare_to"]
    assert cmp["deltas"]["model.onnx"]["keyword_coverage"] == -1.0
    assert cmp["directions"]["model.onnx"]["keyword_coverage"] == "worse"
    assert len(cmp["flips"]["model.onnx"]["passed_to_failed"]) == 20
    assert "keyword_coverage" in cmp["regressions"]["model.onnx"]
    summary = (second / "summary.md").read_text(encoding="utf-8")
    assert "-1.000 worse" in summary and "20 passed → failed" in summary
    baseline = {(r.case.set, r.case.id): r.scores for r in good.cases}
    assert "regressed" in gates.regression_check(cfg, worse, "keyword_coverage", baseline)
    assert gates.regression_check(cfg, good, "keyword_coverage", baseline) is None


def test_response_cache_skips_generation_and_changes_with_settings(cfg, tmp_path):
    cases = _cases(5, 5)
    gen = Scripted(lambda q: "Maya studied at Uppsala University.")
    cache = scoring.ResponseCache(tmp_path, "k" * 64, "model.onnx", scoring.decode_settings(cfg))
    first = scoring.evaluate_variant(cfg, gen, cases, "smoke", cache=cache)
    assert gen.calls == 10 and first.generation["cached"] == 0
    again = scoring.ResponseCache(tmp_path, "k" * 64, "model.onnx", scoring.decode_settings(cfg))
    second = scoring.evaluate_variant(cfg, gen, cases, "smoke", cache=again)
    assert gen.calls == 10 and second.generation["cached"] == 10
    assert [r.response for r in second.cases] == [r.response for r in first.cases]
    other = scoring.ResponseCache(tmp_path, "j" * 64, "model.onnx", scoring.decode_settings(cfg))
    assert other.path != again.path and other.get(cases[0].question) is None
    settings = {**scoring.decode_settings(cfg), "max_new_tokens": 3}
    assert scoring.ResponseCache(tmp_path, "k" * 64, "model.onnx", settings).path != again.path


def test_smoke_sample_is_stratified_deterministic_and_full_takes_everything(cfg, tmp_path):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from pipeline.harness.cases import _quotas, sample_cases

    cases = [EvalCase(f"c{i}", "golden", ("work", "skills", "education")[i % 3 if i < 60 else 0], f"q{i}", "r",
                      "answer") for i in range(90)]
    a = sample_cases(cases, 30, 88, "golden")
    assert a == sample_cases(cases, 30, 88, "golden") and len(a) == 30
    per = {c: sum(1 for x in a if x.category == c) for c in ("work", "skills", "education")}
    assert per == {"work": 16, "skills": 7, "education": 7}  # 50/20/20 of 90 -> 30 cases by share
    assert [x.id for x in a] == sorted((x.id for x in a), key=lambda s: int(s[1:]))  # file order
    assert sample_cases(cases, 200, 88, "golden") == cases

    @settings(max_examples=80, deadline=None)
    @given(st.dictionaries(st.sampled_from("abcdefgh"), st.integers(1, 40), min_size=1), st.integers(0, 200))
    def quotas_are_exact(sizes, n):
        n = min(n, sum(sizes.values()))
        q = _quotas(sizes, n)
        assert sum(q.values()) == n and all(0 <= q[c] <= sizes[c] for c in sizes)
        if n >= len(sizes):
            assert all(q[c] >= 1 for c in sizes)

    quotas_are_exact()


def test_bootstrap_resamples_knob_reaches_the_intervals(cfg):
    from unittest import mock

    res = [scoring.CaseResult(c, "x", 1, 1.0, True, {"exact_match": float(i % 3 == 0), "token_f1": 0.5,
                                                      "keyword_coverage": None, "refused": False,
                                                      "behavior_correct": True, "length_ok": True}, [])
           for i, c in enumerate(_cases(30, 0))]
    seen = []
    real = scoring.bootstrap_ci
    with mock.patch.object(scoring, "bootstrap_ci", lambda v, **kw: seen.append(kw) or real(v, **kw)):
        for n in (100, 5000):
            ev = cfg.evaluation.model_copy(update={"bootstrap_resamples": n})
            scoring.aggregate(cfg.model_copy(update={"evaluation": ev}), res, 1.0)
    assert {kw["resamples"] for kw in seen} == {100, 5000} and {kw["seed"] for kw in seen} == {cfg.evaluation.seed}


@pytest.mark.parametrize(("knob", "cores", "xdist", "expected"), [
    (0, 2, 0, 2), (0, 16, 0, 4), (0, 1, 0, 1), (0, 2, 4, 1), (0, 16, 4, 4), (0, 8, 3, 2), (3, 2, 0, 3), (1, 16, 0, 1)])
def test_quality_sessions(monkeypatch, knob, cores, xdist, expected):
    """evaluation.sessions 0 = min(4, usable cores) serially, cores // xdist workers under xdist."""
    import pipeline.onnx.runtime as runtime

    monkeypatch.setattr(runtime, "usable_cores", lambda: cores)
    cfg = load_config(REPO / "config.yaml", overrides={"evaluation": {"sessions": knob}})
    assert scoring.quality_sessions(cfg, xdist) == expected


def test_evaluate_variant_records_the_session_count(cfg):
    class Pool(Scripted):
        generators = [object(), object(), object()]

    res = scoring.evaluate_variant(cfg, Pool(lambda q: "I don't know."), [], "smoke")
    assert res.generation["sessions"] == 3
    assert scoring.evaluate_variant(cfg, Scripted(lambda q: "x"), [], "smoke").generation["sessions"] == 1
