"""Evaluation cases, per-variant generation and scoring, gate checks.

Used by the pytest harness (``pytest evals -m smoke``) and ``benchmarks/eval_throughput.py``.

Cases: ``<evaluation.eval_data_dir>/{golden,adversarial,ood}.jsonl`` plus the dataset's
validation split (user message → question, assistant message → reference). Each set is
sampled on its own: ``smoke`` keeps ``evaluation.smoke_samples`` cases per set, ``full``
keeps ``evaluation.full_samples_per_set``, drawn with ``random.Random(f"{seed}:{set}")`` and
kept in file order, so every worker and every rerun sees the same cases.

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
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from pipeline import metrics
from pipeline.config import Config
from pipeline.errors import DatasetError

EVAL_SETS = ("golden", "adversarial", "ood")
VALIDATION = "validation"
GATES = ("exact_match_rate", "token_f1", "keyword_coverage", "refusal_accuracy",
         "response_length_compliance", "behavior_accuracy")
QUANTIZED = ("model_int8.onnx", "model_uint8.onnx", "model_q4.onnx")
_REGEN = "fix the line, or regenerate with `python -m pipeline dataset --overwrite-eval-sets`"


@dataclass(frozen=True)
class EvalCase:
    """One evaluation question.

    Attributes:
        id: unique within its set; ``set`` + ``id`` is unique overall.
        set: ``golden``, ``adversarial``, ``ood`` or ``validation``.
        category: resume category (or the set's own label, e.g. ``injection``).
        question / reference: the prompt and the reference answer (may be empty for refusals).
        expected_behavior: ``answer`` or ``refuse``.
        keywords: keywords the answer must contain.
        keyword_source: ``tags`` (from ``kw:`` tags), ``inferred`` (from the reference) or ``none``.
    """

    id: str
    set: str
    category: str
    question: str
    reference: str
    expected_behavior: str
    keywords: tuple[str, ...] = ()
    keyword_source: str = "none"


class _CaseLine(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    category: str
    question: str
    reference_answer: str
    expected_behavior: str
    tags: list[str] = []

    @field_validator("id", "question")
    @classmethod
    def _non_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must be a non-empty string")
        return v

    @field_validator("expected_behavior")
    @classmethod
    def _behavior(cls, v: str) -> str:
        if v not in ("answer", "refuse"):
            raise ValueError(f"must be 'answer' or 'refuse', got {v!r}")
        return v


def _keywords(tags: Iterable[str], reference: str, behavior: str, exclude: Sequence[str]) -> tuple[tuple[str, ...], str]:
    tagged = tuple(t[3:].strip() for t in tags if t.startswith("kw:") and t[3:].strip())
    if tagged:
        return tagged, "tags"
    if behavior == "answer" and reference.strip():
        inferred = tuple(metrics.infer_keywords(reference, exclude=exclude))
        if inferred:
            return inferred, "inferred"
    return (), "none"


def _read_jsonl(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise DatasetError(f"{path}: eval set not found; run `python -m pipeline dataset` to bootstrap it")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 ({exc}); save the file as UTF-8") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{number}: not valid JSON ({exc.msg}); {_REGEN}") from exc
        if not isinstance(row, dict):
            raise DatasetError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}; {_REGEN}")
        yield number, row


def load_eval_set(path: Path, set_name: str, exclude: Sequence[str] = ()) -> list[EvalCase]:
    """Read one curated eval set (fields id, category, question, reference_answer,
    expected_behavior, tags).

    Args:
        path: the ``.jsonl`` file.
        set_name: recorded on each case.
        exclude: names never used as inferred keywords (the person's names).

    Raises:
        DatasetError: missing/empty file, or a malformed line: ``file:line: reason; fix``.
    """
    cases: list[EvalCase] = []
    seen: dict[str, int] = {}
    for number, row in _read_jsonl(path):
        try:
            line = _CaseLine.model_validate(row)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"]) or "(line)"
            raise DatasetError(f"{path}:{number}: field {key}: {err['msg']}; {_REGEN}") from exc
        if line.id in seen:
            raise DatasetError(f"{path}:{number}: duplicate id {line.id!r} (first on line {seen[line.id]}); {_REGEN}")
        seen[line.id] = number
        kws, source = _keywords(line.tags, line.reference_answer, line.expected_behavior, exclude)
        cases.append(EvalCase(line.id, set_name, line.category, line.question, line.reference_answer,
                              line.expected_behavior, kws, source))
    if not cases:
        raise DatasetError(f"{path}: no cases; {_REGEN}")
    return cases


def check_eval_sets(cfg: Config) -> None:
    """Validate the curated eval sets that exist, before any artifact is built.

    A missing or empty file is fine (the dataset stage bootstraps it); a present one must
    load with :func:`load_eval_set`. The harness calls this in ``pytest_configure`` so a
    broken file is one usage error, not one error per gate.

    Raises:
        DatasetError: ``evaluation.eval_data_dir`` is a file, the sets were bootstrapped for
            another person, or a line is malformed (``file:line: reason; fix``).
    """
    from pipeline import eval_sets

    eval_sets.check_folder(cfg)
    folder = cfg.path(cfg.evaluation.eval_data_dir)
    for name in EVAL_SETS:
        path = folder / f"{name}.jsonl"
        if path.is_file() and path.read_text(encoding="utf-8", errors="replace").strip():
            load_eval_set(path, name, (cfg.person_full_name, cfg.person_name))


def load_validation_cases(path: Path, exclude: Sequence[str] = ()) -> list[EvalCase]:
    """Cases from the dataset's ``validation.jsonl`` (columns id, category, behavior, messages).

    Question = the user message, reference = the assistant message; keywords are inferred.

    Raises:
        DatasetError: missing file or a row without those columns (``file:line: reason``).
    """
    fix = "rebuild it with `python -m pipeline dataset --force`"
    cases = []
    for number, row in _read_jsonl(path):
        try:
            roles = {m["role"]: m["content"] for m in row["messages"]}
            question, reference = roles["user"], roles["assistant"]
            behavior, category, case_id = row["behavior"], row["category"], str(row["id"])
        except (KeyError, TypeError) as exc:
            raise DatasetError(f"{path}:{number}: missing {exc} (needs id, category, behavior and "
                               f"messages with user and assistant turns); {fix}") from exc
        if behavior not in ("answer", "refuse"):
            raise DatasetError(f"{path}:{number}: behavior must be 'answer' or 'refuse', got {behavior!r}; {fix}")
        kws, source = _keywords((), reference, behavior, exclude)
        cases.append(EvalCase(case_id, VALIDATION, category, question, reference, behavior, kws, source))
    if not cases:
        raise DatasetError(f"{path}: the validation split is empty; raise dataset.samples_per_category")
    return cases


def sample_cases(cases: Sequence[EvalCase], n: int, seed: int, set_name: str) -> list[EvalCase]:
    """``n`` cases drawn without replacement with ``random.Random(f"{seed}:{set_name}")``,
    returned in their original order (all of them when ``n >= len(cases)``)."""
    if n >= len(cases):
        return list(cases)
    keep = sorted(random.Random(f"{seed}:{set_name}").sample(range(len(cases)), n))
    return [cases[i] for i in keep]


def load_cases(cfg: Config, dataset_dir: Path, sample: str) -> list[EvalCase]:
    """All sampled cases for a run: the three curated sets, then the validation split.

    Args:
        cfg: resolved config (eval_data_dir, seed, sample sizes, person names).
        dataset_dir: the dataset artifact folder (holds ``validation.jsonl``).
        sample: ``smoke`` or ``full``.

    Raises:
        DatasetError: from the loaders; ValueError for an unknown ``sample``.
    """
    if sample not in ("smoke", "full"):
        raise ValueError(f"sample must be 'smoke' or 'full', got {sample!r}")
    ev = cfg.evaluation
    n = ev.smoke_samples if sample == "smoke" else ev.full_samples_per_set
    names = (cfg.person_full_name, cfg.person_name)
    out: list[EvalCase] = []
    for name in EVAL_SETS:
        cases = load_eval_set(cfg.path(ev.eval_data_dir) / f"{name}.jsonl", name, names)
        out += sample_cases(cases, n, ev.seed, name)
    out += sample_cases(load_validation_cases(Path(dataset_dir) / "validation.jsonl", names), n, ev.seed, VALIDATION)
    return out


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
    """A :class:`pipeline.generate.Generator` with the training system prompt, greedy
    decoding, ``inference.repetition_penalty`` and ``evaluation.max_new_tokens``."""
    from pipeline.generate import Generator

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


@dataclass(frozen=True)
class GateCheck:
    """A threshold check: ``actual`` against ``threshold`` (``kind`` min: actual >= threshold;
    max: actual <= threshold). ``offenders``: (case, value, reasons) worst first."""

    variant: str
    metric: str
    threshold: float
    actual: float | None
    n: int
    kind: str = "min"
    offenders: tuple[tuple[CaseResult, float, tuple[str, ...]], ...] = ()
    unit: str = ""

    @property
    def passed(self) -> bool | None:
        """True/False, or None when no case feeds the metric."""
        if self.actual is None:
            return None
        return self.actual >= self.threshold if self.kind == "min" else self.actual <= self.threshold

    def message(self) -> str:
        """One block: metric, threshold, actual, then every offending case."""
        op = ">=" if self.kind == "min" else "<="
        head = (f"{self.metric} on {self.variant}: actual {self.actual:.4g}{self.unit}, "
                f"required {op} {self.threshold:.4g}{self.unit} ({self.n} cases)")
        if not self.offenders:
            return head
        lines = [head, f"{len(self.offenders)} offending case(s), worst first:"]
        for r, value, reasons in self.offenders:
            lines.append(f"  [{r.case.set}/{r.case.id}] value={value:.3g} Q: {_clip(r.case.question)}")
            lines.append(f"      response: {_clip(r.response) or '(empty)'}")
            if r.case.reference:
                lines.append(f"      reference: {_clip(r.case.reference)}")
            if reasons:
                lines.append(f"      reasons: {'; '.join(reasons)}")
        return "\n".join(lines)


def _clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def gate_check(cfg: Config, result: VariantResult, metric: str) -> GateCheck:
    """The gate ``metric`` (one of :data:`GATES`) for one variant; threshold ``<metric>_min``."""
    th = cfg.evaluation.thresholds
    threshold = getattr(th, f"{metric}_min")
    pairs = metric_cases(result.cases, metric)
    case_min = {"token_f1": th.case_token_f1_min, "keyword_coverage": th.case_keyword_coverage_min}.get(metric, 1.0)
    offenders = sorted(((r, v, tuple(r.reasons)) for r, v in pairs if v < case_min), key=lambda x: x[1])
    actual = result.summary["metrics"][metric]
    return GateCheck(result.variant, metric, threshold, actual, len(pairs), "min", tuple(offenders))


def alignment_check(cfg: Config, reference: VariantResult, result: VariantResult) -> GateCheck:
    """The fp32_alignment gate: mean per-case alignment >= ``fp32_alignment_min``; offenders
    are the cases under that minimum, each with model.onnx's response as a reason."""
    threshold = cfg.evaluation.thresholds.fp32_alignment_min
    pairs = alignment(reference, result)
    ref = reference.texts()
    offenders = sorted(((r, v, (f"model.onnx said: {_clip(ref[(r.case.set, r.case.id)])}",))
                        for r, v in pairs if v < threshold), key=lambda x: x[1])
    actual = sum(v for _, v in pairs) / len(pairs) if pairs else None
    return GateCheck(result.variant, "fp32_alignment", threshold, actual, len(pairs), "min", tuple(offenders))


def latency_check(cfg: Config, variant: str, rounds_ms: Sequence[float]) -> GateCheck:
    """The p95 latency gate: p95 of the benchmark rounds (ms) <= ``p95_latency_ms_max[variant]``."""
    budget = cfg.evaluation.thresholds.p95_latency_ms_max[variant]
    actual = metrics.percentile(rounds_ms, 95) if rounds_ms else None
    return GateCheck(variant, "p95_latency_ms", budget, actual, len(rounds_ms), "max", unit=" ms")
