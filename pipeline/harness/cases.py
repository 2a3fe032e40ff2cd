"""Evaluation cases: the eval sets and the validation split, validated and sampled.

Used by the harness (``pytest evals -m smoke``; :mod:`pipeline.harness.session`) and
``benchmarks/eval_throughput.py``. Cases: ``<evaluation.eval_data_dir>/{golden,adversarial,ood}.jsonl``
plus the dataset's validation split (user message → question, assistant message → reference).
``full`` scores every case of every set and the whole validation split; ``smoke`` keeps
``evaluation.smoke_samples`` cases per set, stratified by category, drawn with
``random.Random(f"{seed}:{set}:{category}")`` and kept in file order, so every worker and
every rerun sees the same cases.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline import metrics
from pipeline.config import Config
from pipeline.dataset import eval_sets
from pipeline.errors import DatasetError
from pipeline.resume.ingest import ingest

EVAL_SETS = ("golden", "adversarial", "ood")
VALIDATION = "validation"
_REGEN = eval_sets.REGENERATE


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
        source: who wrote the case: the line's ``source`` (``hand``; ``template`` for the starter
            sets ``python -m pipeline dataset`` bootstraps; ``""`` when the line does not say).
    """

    id: str
    set: str
    category: str
    question: str
    reference: str
    expected_behavior: str
    keywords: tuple[str, ...] = ()
    keyword_source: str = "none"
    source: str = ""


def _keywords(tags: Iterable[str], reference: str, behavior: str, exclude: Sequence[str]) -> tuple[tuple[str, ...], str]:
    tagged = tuple(t[3:].strip() for t in tags if t.startswith("kw:") and t[3:].strip())
    if tagged:
        return tagged, "tags"
    if behavior == "answer" and reference.strip():
        inferred = tuple(metrics.infer_keywords(reference, exclude=exclude))
        if inferred:
            return inferred, "inferred"
    return (), "none"


def load_eval_set(path: Path, set_name: str, exclude: Sequence[str] = ()) -> list[EvalCase]:
    """Read one curated eval set (fields id, category, question, reference_answer,
    expected_behavior, tags).

    Args:
        path: the ``.jsonl`` file.
        set_name: recorded on each case.
        exclude: names never used as inferred keywords (the person's names).

    Lines are validated by :class:`pipeline.dataset.eval_sets.CaseLine`, the validator
    ``python -m pipeline dataset`` uses for the kept sets, so both accept the same files.

    Raises:
        DatasetError: missing/empty file, or a malformed line: ``file:line: reason; fix``.
    """
    cases: list[EvalCase] = []
    for _, line in eval_sets.read_cases(path):
        kws, source = _keywords(line.tags, line.reference_answer, line.expected_behavior, exclude)
        origin = getattr(line, "source", None)
        cases.append(EvalCase(line.id, set_name, line.category, line.question, line.reference_answer,
                              line.expected_behavior, kws, source, origin if isinstance(origin, str) else ""))
    if not cases:
        raise DatasetError(f"{path}: no cases; add cases, {_REGEN}")
    return cases


def check_eval_sets(cfg: Config) -> None:
    """Validate the eval sets next to the config, before anything is built.

    A missing or empty file is fine (the dataset stage bootstraps it); a present one must
    load with :func:`load_eval_set`, and its cases must fit the resume: every ``kw:`` tag
    must occur in the (scrubbed) resume text, every proper name in an answer case's
    reference too (:func:`pipeline.metrics.infer_keywords`, the person's names excluded),
    and no question may appear twice across the sets (verbatim, up to whitespace: a
    lower-cased or re-punctuated copy is a deliberate robustness case). The
    harness calls this in ``pytest_configure`` so a broken file is one usage error, not one
    error per gate.

    Raises:
        DatasetError: ``evaluation.eval_data_dir`` is a file, the sets were bootstrapped for
            another person, a line is malformed, or cases do not fit the resume; one message
            listing every offending ``file:line`` with its fix.
    """
    eval_sets.check_folder(cfg)  # the folder, source.json, and every present set line by line
    folder = cfg.path(cfg.evaluation.eval_data_dir)
    present = {path: eval_sets.read_cases(path) for path in (folder / f"{name}.jsonl" for name in EVAL_SETS)
               if path.is_file() and path.read_bytes().strip()}
    if present:
        problems = fit_problems(cfg, present)
        if problems:
            raise DatasetError(f"{len(problems)} eval case(s) do not fit the resume {cfg.resume_path}:\n"
                               + "\n".join(f"  {p}" for p in problems))


# A reference may spell out a month the resume writes as a number ("June 2016" for 2016-06).
_MONTHS = frozenset("january february march april may june july august september october november december "
                    "jan feb mar apr jun jul aug sep sept oct nov dec".split())


def fit_problems(cfg: Config, sets: Mapping[Path, Sequence[tuple[int, eval_sets.CaseLine]]]) -> list[str]:
    """``file:line: problem; fix`` for each eval case whose ``kw:`` tags or reference names are
    not in the resume, and for each question repeated across the sets (see :func:`check_eval_sets`).

    Args:
        sets: eval set file → its validated ``(line number, case)`` pairs (:func:`pipeline.dataset.eval_sets.read_cases`).
    """
    text = ingest(cfg.path(cfg.resume_path)).text
    # Resume tokens plus the parts of dates and ranges ("2021-03" also counts as "2021").
    have_set = {part for tok in metrics.tokens(text) for part in (tok, *re.split(r"[-/–]", tok)) if part}

    def occurs(phrase: str) -> bool:
        want = metrics.tokens(phrase)
        if len(want) > 1:
            return metrics.keyword_coverage(text, [phrase]) == 1.0 or all(w in have_set for w in want)
        return bool(want) and want[0] in have_set

    names = (cfg.person_full_name, cfg.person_name)
    problems: list[str] = []
    seen: dict[tuple[str, ...], str] = {}
    for path, lines in sets.items():
        for number, line in lines:
            where = f"{path.name}:{number}"
            for tag in line.tags:
                if tag.startswith("kw:") and tag[3:].strip() and not occurs(tag[3:].strip()):
                    problems.append(f"{where}: tag {tag!r} does not occur in the resume (a typo?); fix the tag "
                                    "to the resume's wording or remove it")
            if line.expected_behavior == "answer":
                absent = [k for k in metrics.infer_keywords(line.reference_answer, exclude=names, limit=50)
                          if not any(c.isdigit() for c in k) and k not in have_set and k.removesuffix("'s") not in have_set
                          and k not in _MONTHS]
                if absent:
                    problems.append(f"{where}: reference_answer names {', '.join(absent)}, which the resume does "
                                    "not; answer from the resume only (or fix the spelling)")
            key = tuple(line.question.split())  # verbatim: a re-cased copy is a deliberate noise case
            if key in seen:
                problems.append(f"{where}: the same question as {seen[key]}; remove one of them or rephrase it")
            else:
                seen[key] = where
    return problems


def load_validation_cases(path: Path, exclude: Sequence[str] = ()) -> list[EvalCase]:
    """Cases from the dataset's ``validation.jsonl`` (columns id, category, behavior, messages).

    Question = the user message, reference = the assistant message; keywords are inferred.

    Raises:
        DatasetError: missing file or a row without those columns (``file:line: reason``).
    """
    fix = "rebuild it with `python -m pipeline dataset --force`"
    cases = []
    for number, row in eval_sets.read_jsonl(path, fix):
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
    """A deterministic sample of ``n`` cases stratified by category, in file order.

    Each category gets its share of ``n`` by largest remainder (``n * size / total``; every
    category keeps at least one case while ``n`` allows), and its cases are drawn without
    replacement with ``random.Random(f"{seed}:{set_name}:{category}")``. All cases when
    ``n >= len(cases)``. The same cases, seed and ``n`` always give the same sample.
    """
    if n >= len(cases):
        return list(cases)
    by_category: dict[str, list[int]] = {}
    for i, case in enumerate(cases):
        by_category.setdefault(case.category, []).append(i)
    quotas = _quotas({c: len(idx) for c, idx in by_category.items()}, n)
    keep: list[int] = []
    for category, idx in by_category.items():
        keep += random.Random(f"{seed}:{set_name}:{category}").sample(idx, quotas[category])
    return [cases[i] for i in sorted(keep)]


def _quotas(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Largest-remainder apportionment of ``n`` over categories of the given sizes (ties by
    name), with one case per category first while ``n`` allows; no quota exceeds its size."""
    total = sum(sizes.values())
    quotas = {c: 0 for c in sizes}
    order = sorted(sizes, key=lambda c: (-sizes[c], c))
    for c in order[:n]:  # one each first, largest categories first when n < number of categories
        quotas[c] = 1
    left = n - sum(quotas.values())
    if left > 0:
        ideal = {c: left * (sizes[c] - quotas[c]) / max(1, total - sum(quotas.values())) for c in sizes}
        for c in sizes:
            quotas[c] += min(int(ideal[c]), sizes[c] - quotas[c])
        rest = n - sum(quotas.values())
        for c in sorted(sizes, key=lambda c: (-(ideal[c] - int(ideal[c])), c)) * 2:
            if rest <= 0:
                break
            if quotas[c] < sizes[c]:
                quotas[c] += 1
                rest -= 1
    return quotas


def load_cases(cfg: Config, dataset_dir: Path, sample: str) -> list[EvalCase]:
    """All cases of a run: the three curated sets, then the validation split.

    ``full`` scores every case of every set and the whole validation split; ``smoke`` a
    stratified sample of ``evaluation.smoke_samples`` cases per set (:func:`sample_cases`,
    seeded with ``evaluation.seed``).

    Args:
        cfg: resolved config (eval_data_dir, seed, smoke sample size, person names).
        dataset_dir: the dataset artifact folder (holds ``validation.jsonl``).
        sample: ``smoke`` or ``full``.

    Raises:
        DatasetError: from the loaders; ValueError for an unknown ``sample``.
    """
    if sample not in ("smoke", "full"):
        raise ValueError(f"sample must be 'smoke' or 'full', got {sample!r}")
    ev = cfg.evaluation
    names = (cfg.person_full_name, cfg.person_name)
    sets = {name: load_eval_set(cfg.path(ev.eval_data_dir) / f"{name}.jsonl", name, names) for name in EVAL_SETS}
    sets[VALIDATION] = load_validation_cases(Path(dataset_dir) / "validation.jsonl", names)
    out: list[EvalCase] = []
    for name, cases in sets.items():
        out += cases if sample == "full" else sample_cases(cases, ev.smoke_samples, ev.seed, name)
    return out


def sample_notes(cfg: Config, cases: Sequence[EvalCase], sample: str) -> list[str]:
    """Lines for the report: how many cases each set contributed, which sets are smaller than
    the smoke sample size, and a warning for template-generated cases."""
    sizes: dict[str, int] = {}
    template = 0
    for c in cases:
        sizes[c.set] = sizes.get(c.set, 0) + 1
        template += c.source == "template"
    n = cfg.evaluation.smoke_samples
    notes = [f"sample `{sample}`: " + ("every case of every set and the whole validation split" if sample == "full"
                                        else f"{n} cases per set, stratified by category, seed "
                                             f"{cfg.evaluation.seed}")]
    if sample == "smoke":
        small = [f"{s} ({k})" for s, k in sizes.items() if k < n]
        if small:
            notes.append(f"sets smaller than evaluation.smoke_samples={n}, used whole: {', '.join(small)}")
    if template:
        notes.append(f"{template} case(s) come from the template bootstrap (`source: template`): their questions are "
                     "held-out phrasings of trained intents, so their scores measure phrasing recall only; write "
                     "your own sets (README, 'Write your own eval sets')")
    return notes
