"""Curated evaluation sets bootstrapped from the resume: golden, adversarial and out-of-domain.

``python -m pipeline dataset`` writes ``<evaluation.eval_data_dir>/{golden,adversarial,ood}.jsonl``
when a file is missing or empty, and keeps an existing (possibly hand-edited) file unless
``--overwrite-eval-sets`` is given. One JSON object per line: ``id``, ``category``,
``question``, ``reference_answer``, ``expected_behavior`` (``answer``/``refuse``), ``tags``
(``kw:<keyword>`` = a keyword a correct answer must contain).

- golden: questions about the resume in the held-out ``eval`` phrasings of
  ``pipeline/dataset/questions.yaml`` (never trained on), with the canonical answer.
- adversarial: prompt injections, PII requests and false premises (refuse), plus answerable
  questions wrapped in noise: lower case, typos, chit-chat (answer).
- ood: out-of-domain questions (refuse).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.cache import write_atomic
from pipeline.config import Config
from pipeline.dataset.refusals import eval_refusals
from pipeline.dataset.samples import refusal_answer
from pipeline.dataset.template import phrasings, question_groups
from pipeline.errors import DatasetError
from pipeline.metrics import infer_keywords
from pipeline.resume.ingest import Resume

FILES = ("golden.jsonl", "adversarial.jsonl", "ood.jsonl")
FIELDS = ("id", "category", "question", "reference_answer", "expected_behavior", "tags")  # CaseLine
GOLDEN_CASES = 30
_NOISE = (
    lambda q: "".join(c for c in q.lower() if c.isalnum() or c.isspace()),
    lambda q: f"Hi there! Quick question: {q}",
    lambda q: f"{q} Keep it short, please.",
    lambda q: _typo(q),
    lambda q: f"Be honest with me. {q}",
    lambda q: q.upper(),
)


def _typo(question: str) -> str:
    words = question.split()
    i = max(range(len(words)), key=lambda k: (len(words[k]) if words[k].isalpha() else 0, -k))
    w = words[i]
    j = next((k for k in range(1, len(w) - 1) if w[k] != w[k + 1]), None)
    if j is not None:
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


def _keywords(cfg: Config, group) -> list[str]:
    """The group's keywords, or distinctive words of its answer when it has none."""
    if group.keywords:
        return list(group.keywords)
    return infer_keywords(group.answer, exclude=(cfg.person_name, cfg.person_full_name), limit=3)


def _case(prefix: str, i: int, category: str, question: str, answer: str, behavior: str,
          tags: list[str]) -> dict[str, Any]:
    return {"id": f"{prefix}-{i:03d}", "category": category, "question": question,
            "reference_answer": answer, "expected_behavior": behavior, "tags": tags}


def _interleave(groups: list) -> list:
    """Round-robin over categories, each in its own priority order; skill items last."""
    by_cat: dict[str, list] = {}
    for g in groups:
        by_cat.setdefault(g.category, []).append(g)
    for cat, items in by_cat.items():
        by_cat[cat] = [g for g in items if g.intent != "item"] + [g for g in items if g.intent == "item"]
    out, rank = [], 0
    while any(rank < len(v) for v in by_cat.values()):
        out.extend(v[rank] for v in by_cat.values() if rank < len(v))
        rank += 1
    return out


def build_cases(cfg: Config, resume: Resume) -> dict[str, list[dict[str, Any]]]:
    """The three eval sets for ``resume`` (deterministic: same resume and config, same cases)."""

    refusal = refusal_answer(cfg)
    groups = _interleave(question_groups(cfg, resume))
    golden = []
    for g in groups[:GOLDEN_CASES]:
        question = phrasings(cfg, g, "eval")[0][1]
        golden.append(_case("golden", len(golden) + 1, g.category, question, g.answer, "answer",
                            [f"intent:{g.intent}", *(f"kw:{k}" for k in _keywords(cfg, g))]))
    adversarial = []
    for kind, count in (("injection", 6), ("pii", 6), ("false_premise", 8)):
        for q in eval_refusals(cfg, resume, kind, count):
            adversarial.append(_case("adversarial", len(adversarial) + 1, kind, q, refusal, "refuse",
                                     [f"kind:{kind}"]))
    for i, g in enumerate(groups[GOLDEN_CASES // 3: GOLDEN_CASES // 3 + 12]):
        templates = phrasings(cfg, g, "eval")
        question = _NOISE[i % len(_NOISE)](templates[-1][1])
        adversarial.append(_case("adversarial", len(adversarial) + 1, g.category, question, g.answer, "answer",
                                 ["kind:noisy_rephrasing", *(f"kw:{k}" for k in _keywords(cfg, g))]))
    ood = [_case("ood", i + 1, "ood", q, refusal, "refuse", ["kind:ood"])
           for i, q in enumerate(eval_refusals(cfg, resume, "ood", 24))]
    return {"golden.jsonl": golden, "adversarial.jsonl": adversarial, "ood.jsonl": ood}


REGENERATE = "or regenerate the file with `python -m pipeline dataset --overwrite-eval-sets`"
_FIELD_FIX = {
    "id": "give the case a unique, non-empty string id such as \"golden-031\"",
    "category": "set category to a string (a resume section such as \"education\", or the set's label)",
    "question": "set question to the non-empty question text, as a string",
    "reference_answer": "set reference_answer to a string (\"\" is allowed for a refusal)",
    "expected_behavior": "set expected_behavior to \"answer\" or \"refuse\"",
    "tags": "set tags to a list of strings such as [\"kw:Uppsala\"] (or [])",
}


class CaseLine(BaseModel):
    """One line of an eval set: the single validator of the dataset stage and the harness.

    Strict types: a number is not a string, a string is not a list of tags, null is no value.
    Extra keys are kept (hand-written notes are allowed).
    """

    model_config = ConfigDict(extra="allow", strict=True)

    id: str
    category: str
    question: str
    reference_answer: str
    expected_behavior: str
    tags: list[str] = Field(default_factory=list)

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


def read_jsonl(path: Path, fix: str = REGENERATE) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, JSON object) for every non-blank line of ``path``.

    Raises:
        DatasetError: the file is missing, not UTF-8, or a line is not a JSON object; the
            message names ``file:line`` and ends with ``fix``.
    """
    if not path.is_file():
        raise DatasetError(f"{path}: eval set not found; run `python -m pipeline dataset` to bootstrap it")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 ({exc}); save the file as UTF-8, {fix}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{number}: not valid JSON ({exc.msg}); fix the line, {fix}") from exc
        if not isinstance(row, dict):
            raise DatasetError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}; "
                               f"fix the line, {fix}")
        yield number, row


def read_cases(path: Path, regenerate: str = REGENERATE) -> list[tuple[int, CaseLine]]:
    """Every case of an eval set file, validated by :class:`CaseLine`, with its line number.

    ``regenerate`` ends every message (how to get a good file back; a hand-written holdout set
    passes its own words, since nothing regenerates it).

    Raises:
        DatasetError: see :func:`read_jsonl`; a line that :class:`CaseLine` rejects (missing
            field, wrong type, blank id or question, unknown expected_behavior); a repeated id.
            Each message reads ``file:line: field X: reason; how to fix it``.
    """
    cases: list[tuple[int, CaseLine]] = []
    seen: dict[str, int] = {}
    for number, row in read_jsonl(path, regenerate):
        try:
            case = CaseLine.model_validate(row)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"]) or "(line)"
            field = str(err["loc"][0]) if err["loc"] else ""
            fix = _FIELD_FIX.get(field, "fix the line")
            raise DatasetError(f"{path}:{number}: field {key}: {err['msg']}; {fix}, {regenerate}") from exc
        if case.id in seen:
            raise DatasetError(f"{path}:{number}: duplicate id {case.id!r} (first on line {seen[case.id]}); "
                               f"give every case a unique id, {regenerate}")
        seen[case.id] = number
        cases.append((number, case))
    return cases


def validate(path: Path) -> int:
    """Check an eval set file with :func:`read_cases` (the harness loads it the same way);
    returns its number of cases.

    Raises:
        DatasetError: a malformed line or a repeated id; the message names the file and line
            and how to fix it.
    """
    return len(read_cases(path))


def _write_atomic(path: Path, cases: list[dict[str, Any]]) -> None:
    write_atomic(path, "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases))


SOURCE = "source.json"  # who the bootstrapped sets are about; written beside them


def check_folder(cfg: Config, *, overwrite: bool = False) -> None:
    """Fail early, before any dataset work, when the eval sets cannot be kept or written.

    Raises:
        DatasetError: ``evaluation.eval_data_dir`` is a file; unless ``overwrite``: the kept
            sets were bootstrapped for another person (``source.json`` names them),
            ``source.json`` is not UTF-8 JSON, or a kept set is malformed (:func:`validate`).
    """
    folder = cfg.path(cfg.evaluation.eval_data_dir)
    if folder.exists() and not folder.is_dir():
        raise DatasetError(f"evaluation.eval_data_dir {folder} is a file; point it at a folder")
    if overwrite:
        return
    _check_source(cfg, folder)
    for name in FILES:
        path = folder / name
        if path.is_file() and path.read_bytes().strip():
            validate(path)


def _check_source(cfg: Config, folder: Path) -> None:
    source = folder / SOURCE
    if not source.is_file():
        return
    try:
        built_for = json.loads(source.read_text(encoding="utf-8")).get("person_full_name")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start}); delete it or rerun "
                           "with --overwrite-eval-sets (it is rewritten as UTF-8 JSON)") from exc
    except (json.JSONDecodeError, AttributeError) as exc:
        raise DatasetError(f"{source}: not a JSON object; delete it or rerun with --overwrite-eval-sets "
                           "(it is rewritten)") from exc
    if built_for != cfg.person_full_name:
        raise DatasetError(
            f"{folder}: the eval sets were built for {built_for!r}, but person_full_name is "
            f"{cfg.person_full_name!r}; rerun with --overwrite-eval-sets, or set evaluation.eval_data_dir "
            "to a new folder")


def bootstrap(cfg: Config, resume: Resume, *, overwrite: bool = False) -> dict[str, str]:
    """Write each eval set that is missing or empty (or every set when ``overwrite``).

    Returns:
        File name → ``"written (N cases)"`` or ``"kept (N cases)"``.

    Raises:
        DatasetError: an existing, kept file is malformed (see :func:`validate`).
    """
    folder = cfg.path(cfg.evaluation.eval_data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    status: dict[str, str] = {}
    cases = None
    for name in FILES:
        path = folder / name
        if not overwrite and path.is_file() and path.read_bytes().strip():
            status[name] = f"kept ({validate(path)} cases)"
            continue
        cases = cases or build_cases(cfg, resume)
        _write_atomic(path, cases[name])
        status[name] = f"written ({len(cases[name])} cases)"
    if cases is not None:
        payload = {"person_full_name": cfg.person_full_name, "resume": Path(resume.source).name}
        write_atomic(folder / SOURCE, json.dumps(payload, indent=2) + "\n")
    return status
