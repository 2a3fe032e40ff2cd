"""Dataset stage: resume facts → grounded Q/A samples → train/validation DatasetDict + eval sets.

Run it with ``python -m pipeline dataset [--profile cpu] [--force] [--overwrite-eval-sets]``.

Flow (:func:`build`): ingest the resume, check every enabled category has facts, call the
backend (``dataset.backend``: ``template`` → :mod:`pipeline.dataset.template`, ``hybrid`` →
:mod:`pipeline.dataset.paraphrase` (template answers, base-model question variations), ``llm`` →
:mod:`pipeline.dataset.llm`), apply every ``generation_limits`` filter and the grounding
check (counting each filter's rejects; :mod:`pipeline.dataset.filters`), add refusal samples (:mod:`pipeline.dataset.refusals`) up
to ``dataset.refusal_share`` of the total, split by question group, give
``dataset.noisy_question_share`` of the training questions surface noise, and write
``dataset_dict/`` (``datasets.DatasetDict``), ``train.jsonl``, ``validation.jsonl`` and
``metadata.json`` through the artifact cache (temp folder, then rename). Afterwards the eval
sets are bootstrapped (:mod:`pipeline.dataset.eval_sets`) when missing or empty.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from pipeline import metrics
from pipeline.cache import Artifact, file_sha256, make_key
from pipeline.cache import build as cache_build
from pipeline.config import Config
from pipeline.dataset import eval_sets, llm, paraphrase, refusals, template
from pipeline.dataset.filters import (
    apply_filters,
    drop_near_copies,
    normalize_question,
    question_problem,
    split_by_group,
)
from pipeline.dataset.samples import Sample, enabled_categories, refusal_answer
from pipeline.dataset.template import load_phrasings
from pipeline.embedded import token_counter
from pipeline.errors import DatasetError
from pipeline.resume.ingest import Resume, ingest

log = logging.getLogger(__name__)

STAGE = "dataset"
# Part of the cache key: bump it when the same config and resume would now give other rows
# (2: lower-case noise keeps "C++"/"3.97"; a no-op noise leaves the question clean;
# 3: sample ids are "s" + hex, never all digits; 4: every bullet gets questions, yes/no,
# count, degree-level and keyed intents, "Yes," answers).
GENERATOR_VERSION = 4
MIN_FACTS_FOR_DATASET = 8  # fewer facts than this cannot teach more than a handful of answers


# -- writing ------------------------------------------------------------------------------------
SAMPLE_ID_PREFIX = "s"


def _sample_id(s: Sample) -> str:
    """``s`` + 12 hex digits of the sha1 of group and question, e.g. ``s3f09a1c27be4``.

    The letter directly before the hex (no separator) keeps an id from ever reading as a
    phone number to :func:`pipeline.resume.pii.find_pii`: a bare 12-digit hash prefix such as
    ``688668792787`` did, which blocked every publish with a false PII hit.
    """
    return SAMPLE_ID_PREFIX + hashlib.sha1(f"{s.group}\n{s.question}".encode()).hexdigest()[:12]


def _rows(cfg: Config, samples: Sequence[Sample]) -> list[dict[str, Any]]:
    return [{
        "id": _sample_id(s),
        "messages": [{"role": "system", "content": cfg.system_prompt},
                     {"role": "user", "content": s.question}, {"role": "assistant", "content": s.answer}],
        **{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(s).items()},
    } for s in samples]


def _write(cfg: Config, out: Path, splits: dict[str, list[Sample]], metadata: dict[str, Any]) -> None:
    from datasets import Dataset, DatasetDict, Features, Value
    from datasets.utils import logging as ds_logging

    features = Features({
        "id": Value("string"),
        "messages": [{"role": Value("string"), "content": Value("string")}],
        **{k: Value("string") for k in ("question", "answer", "category", "fact_id", "template", "group", "behavior")},
        "computed": [Value("string")],
    })
    rows = {name: _rows(cfg, samples) for name, samples in splits.items()}
    for name, items in rows.items():
        with open(out / f"{name}.jsonl", "w", encoding="utf-8") as fh:
            for row in items:
                fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    bars = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()
    try:
        DatasetDict({name: Dataset.from_list(items, features=features) for name, items in rows.items()}).save_to_disk(
            str(out / "dataset_dict"))
    finally:
        if bars:
            ds_logging.enable_progress_bar()
    (out / "metadata.json").write_text(json.dumps(metadata, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
                                       encoding="utf-8")


# -- the stage ----------------------------------------------------------------------------------
_FIX = {
    "military": "add a 'Military Service' section or set dataset.include_military: false",
    "recommendations": "add a 'Recommendations' section or set dataset.has_recommendations: false",
    "character": "add a 'Summary' section describing the person",
}


# A resume without these cannot make a useful dataset; the other categories are filled when
# the resume has them (a shortfall is recorded), and military/recommendations are opt-in.
CORE_CATEGORIES = ("work_experience", "education", "technical_skills")


def check_facts(cfg: Config, resume: Resume) -> dict[str, int]:
    """Facts per enabled category; raises when the resume cannot fill the dataset.

    Core categories (:data:`CORE_CATEGORIES`) and the opt-in ones that are switched on
    (``include_military``, ``has_recommendations``) must have facts; other categories
    without facts are logged and recorded as a shortfall in ``metadata.json``.

    Raises:
        DatasetError: fewer than :data:`MIN_FACTS_FOR_DATASET` facts overall, or required categories
            without facts; one message names the resume file, every such category and its fix.
    """
    counts = Counter(f.category for f in resume.facts)
    if len(resume.facts) < MIN_FACTS_FOR_DATASET:
        raise DatasetError(
            f"{resume.source}: only {len(resume.facts)} facts extracted, at least {MIN_FACTS_FOR_DATASET} are needed; "
            "add sections (Experience, Education, Skills, Projects, ...) with dated entries"
        )
    enabled = enabled_categories(cfg)
    required = [c for c in enabled if c in CORE_CATEGORIES or c in ("military", "recommendations")]
    missing = [c for c in required if not counts[c]]
    if missing:
        fixes = "; ".join(
            f"{c!r}: " + _FIX.get(c, f"add a {c.replace('_', ' ').title()!r} section to the resume")
            for c in missing)
        raise DatasetError(f"{resume.source}: no facts for required categor{'y' if len(missing) == 1 else 'ies'} "
                           f"{', '.join(map(repr, missing))}; {fixes}")
    for cat in enabled:
        if not counts[cat]:
            log.warning("%s: no facts for category %r; its questions are skipped", resume.source, cat)
    return {c: counts[c] for c in enabled}


def _backend(cfg: Config):
    return {"llm": llm.generate, "hybrid": paraphrase.generate}.get(cfg.dataset.backend, template.generate)


_LLM_ONLY_DATASET_KNOBS = ("temperatures",)  # dataset.* read by the llm backend only


def _key(cfg: Config, resume_sha: str, held_out: Sequence[str] = ()) -> tuple[str, dict[str, Any]]:
    """Cache key over the config sections the backend uses, the resume bytes, the phrasings file,
    the held-out eval questions and :data:`GENERATOR_VERSION`.

    Knobs a backend ignores stay out of its key, so moving them never rebuilds the dataset (and
    retrains the model): ``dataset.hub_id`` (publishing only) is never in it; the sampling and
    server knobs (``dataset.temperatures``, ``llm_defaults``, ``server``) only with ``backend: llm``,
    and with ``backend: hybrid`` the two its rephrasings read (``dataset.temperatures.variation``,
    ``llm_defaults.variation_max_tokens``).
    """
    sections: dict[str, Any] = {
        # holdout_dirs counts through the questions it holds (held_out_sha256), not its spelling
        "dataset": cfg.dataset.model_dump(mode="json", exclude={"hub_id", "holdout_dirs", *_LLM_ONLY_DATASET_KNOBS}),
        "generation_limits": cfg.generation_limits.model_dump(mode="json"),
        "person_name": cfg.person_name, "person_full_name": cfg.person_full_name,
        "system_prompt": cfg.system_prompt,
        "refusal_markers": list(cfg.evaluation.refusal_markers),
        "tokenizer_base": cfg.model.base,
    }
    if cfg.dataset.backend == "llm":
        sections["dataset"].update(cfg.dataset.model_dump(mode="json", include=set(_LLM_ONLY_DATASET_KNOBS)))
        sections["llm_defaults"] = cfg.llm_defaults.model_dump(mode="json")
        sections["server"] = cfg.server.model_dump(mode="json")
    elif cfg.dataset.backend == "hybrid":  # in-process rephrasings: only their two sampling knobs
        sections["dataset"]["temperatures"] = {"variation": cfg.dataset.temperatures.variation}
        sections["llm_defaults"] = {"variation_max_tokens": cfg.llm_defaults.variation_max_tokens,
                                    "paraphrase_prompt_version": paraphrase.PROMPT_VERSION}
    phrasings = hashlib.sha256(json.dumps(load_phrasings(), sort_keys=True).encode()).hexdigest()
    held = hashlib.sha256("\n".join(sorted(set(held_out))).encode()).hexdigest()
    extra = {"resume_sha256": resume_sha, "phrasings_sha256": phrasings, "held_out_sha256": held,
             "generator_version": GENERATOR_VERSION}
    return make_key(STAGE, sections, extra=extra), sections


# Surface noise for training questions. Users type in lower case, in capitals, with typos and
# with greetings around the question; a model trained on clean questions only refuses or
# drifts on those. The eval sets' adversarial noise (pipeline/dataset/eval_sets.py) shares the two
# casing transformations but uses other wrappers and another typo (a swap; here a dropped
# letter), so its chit-chat and typo cases still test generalisation.
NOISE_SUFFIX = "+noise"
_WRAPPERS = ("Hey! {q}", "Quick one: {q}", "I was wondering: {q}", "Hello. {q}", "{q} Thanks!",
             "{q} One sentence is enough.")


def _renamed(question: str, name: str, other: str) -> str:
    """``question`` with the person's first name as ``other`` ("Maya's" → "the candidate's")."""
    return re.sub(rf"\b{re.escape(name)}\b", lambda m: other, question, count=1)


def _noisy(question: str, rng: random.Random, names: tuple[str, str] | tuple[()] = ()) -> str:
    kind = rng.randrange(6 if names else 4)
    if kind >= 4:  # the person named otherwise: by full name, or as recruiters write, "the candidate"
        name, full = names
        if re.search(rf"\b{re.escape(name)}\b", question):
            return _renamed(question, name, full if kind == 4 else "the candidate")
        kind = 3
    if kind == 0:  # lower case without punctuation; "C++", "C#" and "3.97" keep their symbols
        return re.sub(r"[^\w\s+#.]|\.(?!\w)", "", question.lower())
    if kind == 1:
        return question.upper()
    words = question.split()
    i = max(range(len(words)), key=lambda k: len(words[k]))
    if kind == 2 and len(words[i]) > 3:  # drop one inner letter of the longest word
        j = rng.randrange(1, len(words[i]) - 1)
        words[i] = words[i][:j] + words[i][j + 1:]
        return " ".join(words)
    return rng.choice(_WRAPPERS).format(q=question)


def add_question_noise(samples: Sequence[Sample], share: float, seed: int, avoid: set[str] = frozenset(),
                       fits: Callable[[str], bool] = lambda q: True,
                       names: tuple[str, str] | tuple[()] = ()) -> list[Sample]:
    """Rewrite the questions of ``round(share * len(samples))`` seeded samples with surface noise.

    The noise is one of: lower case without punctuation, upper case, a dropped letter, or a
    greeting/closing around the question; with ``names`` (``person_name``, ``person_full_name``)
    also the person named by full name or as "the candidate" (answerable and refusal questions
    alike, so neither form signals which to do). Answers, groups and order are unchanged; the
    template id gets :data:`NOISE_SUFFIX`. A noisy question whose normalized form is in
    ``avoid`` (the validation questions), or that ``fits`` rejects (the ``generation_limits``
    question filters), keeps its clean form, so the split stays disjoint and within limits;
    so does one the noise would leave unchanged (it is not counted as noisy).

    Args:
        samples: the training split.
        share: ``dataset.noisy_question_share``, in [0, 1].
        seed: ``dataset.seed``.
        avoid: normalized questions that must not appear.

    Returns:
        A new list of the same length.
    """
    rng = random.Random(f"noise:{seed}")
    chosen = set(rng.sample(range(len(samples)), round(share * len(samples))))
    out = list(samples)
    for i in sorted(chosen):
        question = _noisy(samples[i].question, rng, names)
        if question != samples[i].question and normalize_question(question) not in avoid and fits(question):
            out[i] = replace(samples[i], question=question, template=samples[i].template + NOISE_SUFFIX)
    return out


def held_out_questions(cfg: Config) -> list[str]:
    """Every question of the eval sets (``evaluation.eval_data_dir``) and of ``dataset.holdout_dirs``.

    Training must not near-copy them (:func:`pipeline.dataset.filters.drop_near_copies`); they
    are part of the dataset's cache key. Missing files are skipped.

    Raises:
        DatasetError: a file is malformed (:func:`pipeline.dataset.eval_sets.read_cases`).
    """
    eval_dir = cfg.path(cfg.evaluation.eval_data_dir).resolve()
    folders = dict.fromkeys([eval_dir, *(cfg.path(d).resolve() for d in cfg.dataset.holdout_dirs)])
    out = []
    for folder in folders:
        fix = eval_sets.REGENERATE if folder == eval_dir else \
            "a hand-written set listed in dataset.holdout_dirs (nothing regenerates it)"
        for name in eval_sets.FILES:
            if (folder / name).is_file():
                out += [case.question for _, case in eval_sets.read_cases(folder / name, fix)]
    return out


def _generate(cfg: Config, resume: Resume, work_dir: Path, out: Path, facts_per_category: dict[str, int],
              resume_sha: str, sections: dict[str, Any], held_out: Sequence[str]) -> dict[str, Any]:
    result = _backend(cfg)(cfg, resume, work_dir)
    counter_name, count_tokens = token_counter(cfg)
    answers, rejects, grounded = apply_filters(cfg, result.samples, resume.text, count_tokens)
    rejects.update(result.rejects)
    checked = grounded + rejects["grounding"]
    share = cfg.dataset.refusal_share
    n_refusals = round(share * len(answers) / (1 - share)) if answers else 0
    pool = refusals.training_refusals(cfg, resume, n_refusals, refusal_answer(cfg))
    refused, ref_rejects, _ = apply_filters(cfg, pool, resume.text, count_tokens)
    rejects.update({f"refusal.{k}": v for k, v in ref_rejects.items()})
    seen = {normalize_question(s.question) for s in answers}
    refused = [s for s in refused if normalize_question(s.question) not in seen]
    samples = answers + refused
    train, val = split_by_group(samples, cfg.dataset.train_split, cfg.dataset.seed)
    train = add_question_noise(train, cfg.dataset.noisy_question_share, cfg.dataset.seed,
                               avoid={normalize_question(s.question) for s in val},
                               fits=lambda q: question_problem(cfg, q, count_tokens, variation=True) is None,
                               names=(cfg.person_name, cfg.person_full_name))
    held = [frozenset(metrics.tokens(q)) for q in held_out]
    train, dropped_train = drop_near_copies(train, held)
    val, dropped_val = drop_near_copies(val, held)
    rejects["eval_near_copy"] += dropped_train + dropped_val
    if not train or not val:
        raise DatasetError(
            f"{resume.source}: {len(samples)} samples give an empty "
            f"{'validation' if train else 'train'} split; raise dataset.samples_per_category "
            f"(now {cfg.dataset.samples_per_category}) or dataset.variations_per_question "
            f"(now {cfg.dataset.variations_per_question}) so question groups have unseen phrasings"
        )
    per_cat = Counter(s.category for s in samples)
    target = {c: cfg.dataset.samples_per_category for c in facts_per_category}
    target["refusal"] = n_refusals
    numbers = {
        "profile": cfg.profile, "backend": cfg.dataset.backend, "total": len(samples),
        "train": len(train), "validation": len(val),
        "grounding_rate": round(grounded / checked, 4) if checked else 1.0,
        "refusal_share": round(len(refused) / len(samples), 4) if samples else 0.0,
        "noisy_questions": sum(1 for s in train if s.template.endswith(NOISE_SUFFIX)),
        "counts_per_category": dict(sorted(per_cat.items())),
        "counts_per_split": {name: dict(sorted(Counter(s.category for s in part).items()))
                             for name, part in (("train", train), ("validation", val))},
        "shortfall": {c: max(0, t - per_cat[c]) for c, t in target.items()},
        "rejects": dict(sorted((k, v) for k, v in rejects.items() if v)),
        "token_counter": counter_name,
    }
    metadata = {
        **numbers,
        "resume": {"path": str(resume.source), "sha256": resume_sha, "format": resume.format,
                   "facts_per_category": facts_per_category},
        "config": sections, "system_prompt": cfg.system_prompt, "refusal_answer": refusal_answer(cfg),
    }
    _write(cfg, out, {"train": train, "validation": val}, metadata)
    if numbers["shortfall"] and any(numbers["shortfall"].values()):
        log.info("dataset shortfall per category (fewer facts than samples_per_category): %s", numbers["shortfall"])
    return numbers


def build(cfg: Config, *, force: bool = False, overwrite_eval_sets: bool = False) -> Artifact:
    """Build (or reuse) the dataset artifact and bootstrap the eval sets.

    Args:
        cfg: the resolved configuration (``resume_path``, ``dataset``, ``generation_limits``,
            ``llm_defaults`` for the llm backend, ``evaluation.eval_data_dir``/``refusal_markers``).
        force: rebuild even when a cached artifact exists.
        overwrite_eval_sets: rewrite ``data/eval/*.jsonl`` even when they exist.

    Returns:
        The ``dataset`` :class:`~pipeline.cache.Artifact`; folder holds ``dataset_dict/``,
        ``train.jsonl``, ``validation.jsonl``, ``metadata.json``. ``numbers`` holds counts
        per category and split, rejects per filter, grounding rate, refusal share, shortfall
        per category, and ``eval_sets`` (file → ``written``/``kept``).

    Raises:
        ResumeError: the resume cannot be read (from :func:`pipeline.resume.ingest.ingest`).
        DatasetError: too few facts, an enabled category without facts, no samples left,
            a refusal sentence without a marker, a malformed existing eval set.
    """
    source = cfg.path(cfg.resume_path)
    eval_sets.check_folder(cfg, overwrite=overwrite_eval_sets)
    resume = ingest(source)
    facts_per_category = check_facts(cfg, resume)
    refusal_answer(cfg)
    resume_sha = file_sha256(source)
    # The eval sets first: training is kept from near-copying their questions (and a dev split's).
    status = eval_sets.bootstrap(cfg, resume, overwrite=overwrite_eval_sets)
    held_out = held_out_questions(cfg)
    key, sections = _key(cfg, resume_sha, held_out)
    root = cfg.path(cfg.dataset_output)

    def builder(out: Path) -> dict[str, Any]:
        numbers = _generate(cfg, resume, root / ".work", out, facts_per_category, resume_sha, sections, held_out)
        if not numbers["train"]:
            raise DatasetError(f"{source}: every generated sample was filtered out ({numbers['rejects']}); "
                               "relax generation_limits in the config file")
        return numbers

    art = cache_build(STAGE, root, key, builder, force=force,
                      inputs={"resume": str(source), "resume_sha256": resume_sha, "profile": cfg.profile})
    return replace(art, numbers={**art.numbers, "eval_sets": status})


def format_summary(art: Artifact) -> str:
    """A short human-readable summary of a dataset artifact's numbers (printed by the CLI)."""
    n = art.numbers
    lines = [f"dataset ({n.get('profile')}, backend {n.get('backend')}): {n.get('total')} samples, "
             f"train {n.get('train')}, validation {n.get('validation')}",
             f"  grounding rate {n.get('grounding_rate')}, refusal share {n.get('refusal_share')}, "
             f"token limits via {n.get('token_counter')}"]
    counts, short = n.get("counts_per_category", {}), n.get("shortfall", {})
    lines.append("  per category: " + ", ".join(
        f"{c}={v}" + (f" (short {short[c]})" if short.get(c) else "") for c, v in counts.items()))
    lines.append("  rejects: " + (", ".join(f"{k}={v}" for k, v in n.get("rejects", {}).items()) or "none"))
    if "eval_sets" in n:
        lines.append("  eval sets: " + ", ".join(f"{k} {v}" for k, v in n["eval_sets"].items()))
    return "\n".join(lines)
