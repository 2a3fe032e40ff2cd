"""Per-variant generation and per-case scoring, and the metrics aggregated over the cases.

Used by the pytest harness (``pytest evals -m smoke``) and ``benchmarks/eval_throughput.py``.


Which cases feed which metric (per variant):

================================  =====================================================
exact_match_rate, token_f1        answer cases with a non-empty reference (all sets)
keyword_coverage                  answer cases with keywords: ``kw:`` tags, else
                                  :func:`pipeline.metrics.infer_keywords` on the reference
refusal_accuracy                  refuse cases (share answered with a refusal marker)
response_length_compliance        answer cases (``generation_limits.max_answer_sentences``
                                  and ``max_answer_words``)
behavior_accuracy                 every case (answer vs refuse, empty never correct)
fp32_alignment                    every case: token F1 of the variant's response against
                                  model.onnx's response to the same case
tokens_per_s, latency_mean/p95    every case of the quality pass (batched when
                                  ``evaluation.batch_size`` > 1: then a case's latency is
                                  its batch's wall time; the p95 gate measures separately)
per-category pass rate            share of cases without a triage reason
================================  =====================================================

A case gets a triage reason (and a line in failures.jsonl) when its response is empty,
has the wrong behavior, is too long, or scores under ``case_token_f1_min`` /
``case_keyword_coverage_min``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline import metrics
from pipeline.config import Config
from pipeline.harness.cases import EvalCase

GATES = ("exact_match_rate", "token_f1", "keyword_coverage", "refusal_accuracy",
         "response_length_compliance", "behavior_accuracy")
QUANTIZED = ("model_int8.onnx", "model_uint8.onnx", "model_q4.onnx")


@dataclass
class CaseResult:
    """One case's response and scores for one variant (JSON-ready via ``asdict``).

    ``scores`` keys: exact_match, token_f1, keyword_coverage (None where the case does not
    feed that metric), refused, behavior_correct, length_ok, sentences, words.
    ``reasons``: triage reasons (empty = the case passes).
    """

    case: EvalCase
    response: str
    new_tokens: int
    latency_ms: float
    stopped_on_eos: bool
    scores: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CaseResult:
        """Inverse of ``dataclasses.asdict``."""
        case = dict(data["case"])
        case["keywords"] = tuple(case["keywords"])
        return cls(**{**data, "case": EvalCase(**case), "reasons": list(data["reasons"])})


def score_case(cfg: Config, case: EvalCase, response: str) -> tuple[dict[str, Any], list[str]]:
    """Score one response and list its triage reasons (see the module docstring)."""
    th, lim = cfg.evaluation.thresholds, cfg.generation_limits
    markers = cfg.evaluation.refusal_markers
    refused = metrics.is_refusal(response, markers)
    scores: dict[str, Any] = {
        "refused": refused,
        "behavior_correct": metrics.behavior_correct(case.expected_behavior, response, markers),
        "sentences": metrics.count_sentences(response), "words": metrics.count_words(response),
        "exact_match": None, "token_f1": None, "keyword_coverage": None, "length_ok": None,
    }
    reasons: list[str] = []
    if not response.strip():
        reasons.append("empty response")
    elif not scores["behavior_correct"]:
        reasons.append("refused an answerable question" if case.expected_behavior == "answer"
                       else "answered a question it should refuse")
    if case.expected_behavior == "answer":
        scores["length_ok"] = metrics.length_compliant(response, lim.max_answer_sentences, lim.max_answer_words)
        if not scores["length_ok"]:
            reasons.append(f"too long: {scores['sentences']} sentences / {scores['words']} words "
                           f"(max {lim.max_answer_sentences} / {lim.max_answer_words})")
        if case.reference.strip():
            scores["exact_match"] = metrics.exact_match(case.reference, response)
            scores["token_f1"] = metrics.token_f1(case.reference, response)
            if scores["token_f1"] < th.case_token_f1_min:
                reasons.append(f"token F1 {scores['token_f1']:.2f} < case_token_f1_min {th.case_token_f1_min}")
        if case.keywords:
            scores["keyword_coverage"] = metrics.keyword_coverage(response, case.keywords)
            if scores["keyword_coverage"] < th.case_keyword_coverage_min:
                missing = ", ".join(metrics.missing_keywords(response, case.keywords))
                reasons.append(f"keyword coverage {scores['keyword_coverage']:.2f} < case_keyword_coverage_min "
                               f"{th.case_keyword_coverage_min} (missing: {missing})")
    return scores, reasons


# metric -> (score key, case filter, per-case failure test)
_METRIC_SCORE = {
    "exact_match_rate": "exact_match", "token_f1": "token_f1", "keyword_coverage": "keyword_coverage",
    "refusal_accuracy": "refused", "response_length_compliance": "length_ok",
    "behavior_accuracy": "behavior_correct",
}


def metric_cases(results: Sequence[CaseResult], metric: str) -> list[tuple[CaseResult, float]]:
    """(case, per-case value) for the cases that feed ``metric`` (see the module docstring)."""
    key = _METRIC_SCORE[metric]
    out = []
    for r in results:
        if metric == "refusal_accuracy":
            if r.case.expected_behavior == "refuse":
                out.append((r, float(r.scores["refused"])))
        elif r.scores[key] is not None:
            out.append((r, float(r.scores[key])))
    return out


def aggregate(cfg: Config, results: Sequence[CaseResult], wall_s: float) -> dict[str, Any]:
    """Per-variant metrics: each gate metric (mean over its cases, None without cases), case
    counts, tokens/s, mean and p95 quality-pass latency (ms), per-category pass rates."""
    out: dict[str, Any] = {"metrics": {}, "n": {}}
    for metric in GATES:
        values = [v for _, v in metric_cases(results, metric)]
        out["metrics"][metric] = sum(values) / len(values) if values else None
        out["n"][metric] = len(values)
    latencies = [r.latency_ms for r in results]
    tokens = sum(r.new_tokens for r in results)
    out["tokens_per_s"] = tokens / wall_s if wall_s > 0 else None
    out["latency_mean_ms"] = sum(latencies) / len(latencies) if latencies else None
    out["latency_p95_ms"] = metrics.percentile(latencies, 95) if latencies else None
    categories: dict[str, list[bool]] = {}
    for r in results:
        categories.setdefault(r.case.category, []).append(not r.reasons)
    out["per_category"] = {c: {"pass_rate": sum(v) / len(v), "n": len(v)} for c, v in sorted(categories.items())}
    out["cases"] = len(results)
    out["failing_cases"] = sum(1 for r in results if r.reasons)
    return out


@dataclass
class VariantResult:
    """Responses, scores and metrics of one ONNX variant over the sampled cases."""

    variant: str
    sample: str
    cases: list[CaseResult]
    summary: dict[str, Any]
    generation: dict[str, Any]

    def to_json(self) -> str:
        """JSON text (the shared-directory format workers hand to the controller)."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> VariantResult:
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        data["cases"] = [CaseResult.from_dict(c) for c in data["cases"]]
        return cls(**data)

    def texts(self) -> dict[tuple[str, str], str]:
        """(set, id) → response."""
        return {(r.case.set, r.case.id): r.response for r in self.cases}


def make_generator(cfg: Config, model_dir: Path, variant: str):
    """A :class:`pipeline.onnx.runtime.Generator` with the training system prompt, greedy
    decoding, ``inference.repetition_penalty`` and ``evaluation.max_new_tokens``."""
    from pipeline.onnx.runtime import Generator

    return Generator(Path(model_dir), variant, system_prompt=cfg.system_prompt,
                     max_new_tokens=cfg.evaluation.max_new_tokens,
                     repetition_penalty=cfg.inference.repetition_penalty)


def evaluate_variant(cfg: Config, generator, cases: Sequence[EvalCase], sample: str) -> VariantResult:
    """Generate a response to every case with ``generator`` and score it.

    Uses ``generator.generate_batch`` when ``evaluation.batch_size`` > 1 (its answers equal
    one-at-a-time greedy answers, tests/test_generate.py), else ``generate`` per case.
    """
    started = time.perf_counter()
    questions = [c.question for c in cases]
    bs = cfg.evaluation.batch_size
    gens = (generator.generate_batch(questions, batch_size=bs) if bs > 1
            else [generator.generate(q) for q in questions])
    wall = time.perf_counter() - started
    results = []
    for case, gen in zip(cases, gens, strict=True):
        scores, reasons = score_case(cfg, case, gen.text)
        results.append(CaseResult(case, gen.text, gen.new_tokens, gen.latency_ms, gen.stopped_on_eos, scores, reasons))
    return VariantResult(generator.variant, sample, results, aggregate(cfg, results, wall),
                         {"wall_s": wall, "batch_size": bs, "max_new_tokens": cfg.evaluation.max_new_tokens,
                          "repetition_penalty": cfg.inference.repetition_penalty, "decoding": "greedy"})


def alignment(reference: VariantResult, variant: VariantResult) -> list[tuple[CaseResult, float]]:
    """Per case: :func:`pipeline.metrics.fp32_alignment` of ``variant``'s response against
    ``reference``'s (model.onnx) response to the same case; cases missing from either are skipped."""
    ref = reference.texts()
    return [(r, metrics.fp32_alignment(ref[(r.case.set, r.case.id)], r.response))
            for r in variant.cases if (r.case.set, r.case.id) in ref]
