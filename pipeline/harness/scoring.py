"""Per-variant generation and per-case scoring, and the metrics aggregated over the cases.

Used by the pytest harness (``pytest evals -m smoke``) and ``benchmarks/eval_throughput.py``.


Which cases feed which metric: the registry :data:`METRICS` (one :class:`Metric` per gate:
per-case score, the cases that feed it, threshold key, per-case triage key). Beside the
gates: ``false_refusal_rate`` (answer cases that were refused; ``refusal_accuracy`` is recall
on refuse cases only, which an always-refusing model maximizes), fp32 alignment on answer
cases (gated) and on refuse cases (reported), and the quality pass's speed numbers. Every
metric carries a 95% bootstrap interval (:mod:`pipeline.harness.uncertainty`).

A case gets a triage reason (and a line in failures.jsonl) when its response is empty,
has the wrong behavior, is too long, or scores under ``case_token_f1_min`` /
``case_keyword_coverage_min``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline import metrics
from pipeline.cache import write_atomic
from pipeline.config import VARIANTS, Config
from pipeline.harness.cases import EvalCase
from pipeline.harness.uncertainty import bootstrap_ci
from pipeline.onnx.runtime import Generation

# Every variant but model.onnx: each is gated on its fp32 alignment.
QUANTIZED = tuple(v for v in VARIANTS if v != "model.onnx")


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
        # An empty reply says nothing: it is never length-compliant (only non-empty text is measured).
        scores["length_ok"] = bool(response.strip()) and metrics.length_compliant(
            response, lim.max_answer_sentences, lim.max_answer_words)
        if response.strip() and not scores["length_ok"]:
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


def _answer(r: CaseResult) -> bool:
    return r.case.expected_behavior == "answer"


def _refuse(r: CaseResult) -> bool:
    return r.case.expected_behavior == "refuse"


@dataclass(frozen=True)
class Metric:
    """One gate metric: how a case is scored for it, which cases feed it, and its threshold.

    Attributes:
        name: the metric's id (``test_gate[<variant>-<name>]``, metrics.json key).
        score_key: the per-case value in :attr:`CaseResult.scores` (bools count as 0/1).
        feeds: which cases feed it (a case whose score is None never does).
        cases_doc: ``feeds`` in words, for the docs table and the report.
        threshold_key: the ``evaluation.thresholds`` field the mean must reach (``>=``).
        case_min_key: the ``evaluation.thresholds`` field under which a case is listed as an
            offender; None = any case with a value below 1.
    """

    name: str
    score_key: str
    feeds: Callable[[CaseResult], bool]
    cases_doc: str
    threshold_key: str
    case_min_key: str | None = None

    def values(self, results: Sequence[CaseResult]) -> list[tuple[CaseResult, float]]:
        """(case, per-case value) for every case that feeds this metric, in case order."""
        return [(r, float(r.scores[self.score_key])) for r in results
                if self.feeds(r) and r.scores.get(self.score_key) is not None]

    def threshold(self, cfg: Config) -> float:
        """The gate's threshold from ``evaluation.thresholds``."""
        return float(getattr(cfg.evaluation.thresholds, self.threshold_key))

    def case_min(self, cfg: Config) -> float:
        """The per-case triage threshold (1.0 when the metric has none)."""
        return float(getattr(cfg.evaluation.thresholds, self.case_min_key)) if self.case_min_key else 1.0


# The registry: every gate metric, once. Gate ids, metric_cases, gate checks, aggregation and
# the docs table (docs/harness.md, checked by tests/test_harness_docs.py) read from here.
METRICS: tuple[Metric, ...] = (
    Metric("exact_match_rate", "exact_match", _answer, "answer cases with a non-empty reference",
           "exact_match_rate_min"),
    Metric("token_f1", "token_f1", _answer, "answer cases with a non-empty reference", "token_f1_min",
           "case_token_f1_min"),
    Metric("keyword_coverage", "keyword_coverage", _answer,
           "answer cases with keywords (`kw:` tags, else inferred from the reference)", "keyword_coverage_min",
           "case_keyword_coverage_min"),
    Metric("refusal_accuracy", "refused", _refuse, "refuse cases (recall: share refused)", "refusal_accuracy_min"),
    Metric("response_length_compliance", "length_ok", _answer,
           "answer cases (an empty reply is never compliant)", "response_length_compliance_min"),
    Metric("behavior_accuracy", "behavior_correct", lambda r: True, "every case (answer vs refuse)",
           "behavior_accuracy_min"),
)
METRIC = {m.name: m for m in METRICS}
GATES = tuple(m.name for m in METRICS)
# Reported beside the gates, never gated: the other side of refusal_accuracy's recall.
FALSE_REFUSAL = Metric("false_refusal_rate", "refused", _answer, "answer cases that were refused (lower is better)",
                       "refusal_accuracy_min")


def metric_cases(results: Sequence[CaseResult], metric: str) -> list[tuple[CaseResult, float]]:
    """(case, per-case value) for the cases that feed ``metric`` (a :data:`METRICS` name or
    ``false_refusal_rate``)."""
    return (FALSE_REFUSAL if metric == FALSE_REFUSAL.name else METRIC[metric]).values(results)


def aggregate(cfg: Config, results: Sequence[CaseResult], wall_s: float) -> dict[str, Any]:
    """Per-variant numbers over the scored cases.

    Returns:
        ``metrics``: each gate metric and ``false_refusal_rate`` (mean over the cases that
        feed it, None without cases); ``n``: those case counts; ``ci``: the 95% bootstrap
        interval of each (``evaluation.bootstrap_resamples`` resamples seeded with
        ``evaluation.seed``; :mod:`pipeline.harness.uncertainty`), ``[low, high]`` or None;
        ``tokens_per_s``, ``latency_mean_ms``, ``latency_p95_ms`` of the quality pass;
        ``per_category`` pass rates; ``cases`` and ``failing_cases`` counts.
    """
    ev = cfg.evaluation
    out: dict[str, Any] = {"metrics": {}, "n": {}, "ci": {}}
    for metric in (*GATES, FALSE_REFUSAL.name):
        values = [v for _, v in metric_cases(results, metric)]
        out["metrics"][metric] = sum(values) / len(values) if values else None
        out["n"][metric] = len(values)
        ci = bootstrap_ci(values, resamples=ev.bootstrap_resamples, seed=ev.seed)
        out["ci"][metric] = list(ci) if ci else None
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


def make_generator(cfg: Config, model_dir: Path, variant: str, sessions: int = 1):
    """A :class:`pipeline.onnx.runtime.Generator` with the training system prompt, greedy
    decoding, ``inference.repetition_penalty`` and ``evaluation.max_new_tokens``; with
    ``sessions`` > 1 a :class:`pipeline.onnx.runtime.GeneratorPool` of that many sessions
    (the quality pass; see :func:`quality_sessions`)."""
    from pipeline.onnx.runtime import Generator, GeneratorPool

    kw = dict(system_prompt=cfg.system_prompt, max_new_tokens=cfg.evaluation.max_new_tokens,
              repetition_penalty=cfg.inference.repetition_penalty)
    if sessions > 1:
        return GeneratorPool(Path(model_dir), variant, sessions=sessions, **kw)
    return Generator(Path(model_dir), variant, **kw)


def quality_sessions(cfg: Config, xdist_workers: int = 0) -> int:
    """Sessions of the quality pass: ``evaluation.sessions``, or when it is 0,
    ``min(4, usable cores)`` in a serial run and ``usable cores // xdist_workers`` (at least 1)
    under xdist, where the workers already share the cores. The cap of 4 bounds memory: each
    session holds its own copy of the weights (model.onnx: 514 MiB)."""
    from pipeline.onnx.runtime import usable_cores

    if cfg.evaluation.sessions:
        return cfg.evaluation.sessions
    if xdist_workers > 0:
        return max(1, usable_cores() // xdist_workers)
    return min(4, usable_cores())


def decode_settings(cfg: Config) -> dict[str, Any]:
    """What a cached response depends on besides the model file and the question."""
    return {"decoding": "greedy", "max_new_tokens": cfg.evaluation.max_new_tokens,
            "repetition_penalty": cfg.inference.repetition_penalty, "system_prompt": cfg.system_prompt}


class ResponseCache:
    """Generated responses of one variant file under fixed decode settings, kept on disk.

    ``<cache_dir>/responses/<key16>.json`` maps a question to its generation (text, new
    tokens, latency, EOS). The key hashes the variant's artifact key and file name with
    :func:`decode_settings`, so a rebuilt model or other settings never reuse old answers;
    greedy decoding makes a cached answer the answer the model would give again
    (``evaluation.batch_size`` is left out: batched answers equal one-at-a-time ones,
    tests/test_generate.py). Reads that fail (a torn file) count as empty; writes are atomic.
    """

    def __init__(self, folder: Path, artifact_key: str, variant: str, settings: Mapping[str, Any]) -> None:
        blob = json.dumps({"artifact": artifact_key, "variant": variant, **settings}, sort_keys=True)
        self.path = Path(folder) / f"{hashlib.sha256(blob.encode()).hexdigest()[:16]}.json"
        self.entries: dict[str, dict[str, Any]] = {}
        try:
            self.entries = json.loads(self.path.read_text(encoding="utf-8"))["responses"]
        except (OSError, ValueError, KeyError, TypeError):
            self.entries = {}

    def get(self, question: str) -> Generation | None:
        """The cached generation for ``question``, or None."""
        hit = self.entries.get(question)
        return Generation(hit["text"], hit["new_tokens"], hit["latency_ms"], hit["stopped_on_eos"]) if hit else None

    def put(self, question: str, gen: Generation) -> None:
        """Remember one generation (call :meth:`save` to write)."""
        self.entries[question] = {"text": gen.text, "new_tokens": gen.new_tokens, "latency_ms": gen.latency_ms,
                                  "stopped_on_eos": gen.stopped_on_eos}

    def save(self) -> None:
        """Write the file atomically (its folder is created)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps({"responses": self.entries}, ensure_ascii=False))


def evaluate_variant(cfg: Config, generator, cases: Sequence[EvalCase], sample: str,
                     cache: ResponseCache | None = None) -> VariantResult:
    """Generate a response to every case with ``generator`` and score it.

    Uses ``generator.generate_batch`` when ``evaluation.batch_size`` > 1 (its answers equal
    one-at-a-time greedy answers, tests/test_generate.py), else ``generate`` per case. With a
    ``cache``, only questions it lacks are generated (``generation["cached"]`` counts the
    hits), and the new answers are saved into it.
    """
    started = time.perf_counter()
    questions = list(dict.fromkeys(c.question for c in cases))
    known = {q: g for q in questions if cache is not None and (g := cache.get(q)) is not None}
    todo = [q for q in questions if q not in known]
    bs = cfg.evaluation.batch_size
    fresh = (generator.generate_batch(todo, batch_size=bs) if bs > 1 and todo
             else [generator.generate(q) for q in todo])
    answers = {**known, **dict(zip(todo, fresh, strict=True))}
    if cache is not None and todo:
        for q, g in zip(todo, fresh, strict=True):
            cache.put(q, g)
        cache.save()
    wall = time.perf_counter() - started
    results = []
    for case in cases:
        gen = answers[case.question]
        scores, reasons = score_case(cfg, case, gen.text)
        results.append(CaseResult(case, gen.text, gen.new_tokens, gen.latency_ms, gen.stopped_on_eos, scores, reasons))
    return VariantResult(generator.variant, sample, results, aggregate(cfg, results, wall),
                         {"wall_s": wall, "batch_size": bs, "cached": len(known),
                          "sessions": len(getattr(generator, "generators", [generator])),
                          **decode_settings(cfg)})


def alignment(reference: VariantResult, variant: VariantResult, behavior: str | None = "answer"
              ) -> list[tuple[CaseResult, float]]:
    """Per case: :func:`pipeline.metrics.fp32_alignment` of ``variant``'s response against
    ``reference``'s (model.onnx) response to the same case; cases missing from either are skipped.

    Args:
        behavior: only cases expecting this behavior (``answer``: what the fp32_alignment gate
            uses; ``refuse``: reported apart, since one fixed refusal sentence matches itself
            for free); None = every case.
    """
    ref = reference.texts()
    return [(r, metrics.fp32_alignment(ref[(r.case.set, r.case.id)], r.response))
            for r in variant.cases if (r.case.set, r.case.id) in ref
            and (behavior is None or r.case.expected_behavior == behavior)]
