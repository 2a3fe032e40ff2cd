"""Evaluation cases: the eval sets and the validation split, validated and sampled.

Used by the harness (``pytest evals -m smoke``; :mod:`pipeline.harness.session`) and
``benchmarks/eval_throughput.py``. Cases: ``<evaluation.eval_data_dir>/{golden,adversarial,ood}.jsonl``
plus the dataset's validation split (user message → question, assistant message → reference).
Each set is sampled on its own: ``smoke`` keeps ``evaluation.smoke_samples`` cases per set,
``full`` keeps ``evaluation.full_samples_per_set``, drawn with ``random.Random(f"{seed}:{set}")``
and kept in file order, so every worker and every rerun sees the same cases.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from pipeline import metrics
from pipeline.config import Config
from pipeline.dataset import eval_sets
from pipeline.errors import DatasetError

EVAL_SETS = ("golden", "adversarial", "ood")
VALIDATION = "validation"
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
