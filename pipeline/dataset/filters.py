"""Checks between a backend and the written dataset: grounding, length limits, de-duplication, split.

Used by :mod:`pipeline.dataset.build` (``python -m pipeline dataset``); the ``llm`` backend uses
:func:`grounding_problems` as its grounding filter. Tested by ``pytest tests/test_dataset.py``.
"""

from __future__ import annotations

import functools
import logging
import random
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence

import snowballstemmer

from pipeline import metrics
from pipeline.config import Config
from pipeline.dataset.samples import Sample

log = logging.getLogger(__name__)

# Words a grounded answer may use although the resume need not contain them: English
# function words, pronouns, and the connecting vocabulary of the answer templates. Facts
# (names, numbers, skills, places, titles) are never in this list.
STOPWORDS = frozenset(
    "a an the and or but nor of in on at to for from by with as is are was were be been being am has have "
    "had do does did done not no yes so than then there here this that these those it its it's into onto "
    "over under about after before during while within without across per via up out very more most such "
    "can could would should will may might must just only own same other some any each both all many much "
    "few one also too still yet ever when where why how what which who whom whose if because until since "
    "she her hers herself he him his himself they them their theirs themselves i me my we us our you your".split()
)
FRAME_WORDS = frozenset(
    "worked works work working studied study earned holds hold held graduated served serves built "
    "uses use used knows know include includes including achievements achievement projects project "
    "skills skill recommended wrote says said role roles grade point average gpa been has "
    "as both later currently now yes".split()
)

_SPLIT_PARTS = re.compile(r"[/'&@:_-]")


# -- grounding ----------------------------------------------------------------------------------
def _parts(tok: str) -> list[str]:
    return [p for p in _SPLIT_PARTS.split(tok) if p]


_STEMMER = snowballstemmer.stemmer("english")  # Snowball (Porter 2) English; not thread-safe
_STEM_LOCK = threading.Lock()


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    with _STEM_LOCK:
        return _STEMMER.stemWord(word)


@functools.lru_cache(maxsize=8)
def _stems(resume_text: str) -> dict[str, frozenset[str]]:
    """Stem → the resume's words of letters with that stem."""
    out: dict[str, set[str]] = defaultdict(set)
    for tok in _vocabulary(resume_text):
        if tok.isalpha():
            out[_stem(tok)].add(tok)
    return {k: frozenset(v) for k, v in out.items()}


_INFLECTIONS = ("s", "es", "d", "ed", "ing", "ly")


def _roots(word: str) -> set[str]:
    out = {word} | {word[: -len(s)] for s in _INFLECTIONS if word.endswith(s) and len(word) > len(s) + 2}
    return out | {r[:-1] for r in out if r.endswith("e")}


def _inflected(word: str, other: str) -> bool:
    """Whether ``word`` and ``other`` differ only by a regular inflection ("lead"/"leads",
    "improve"/"improved"/"improving"), not by derivation ("manage"/"manager"/"management")."""
    return bool(_roots(word) & _roots(other))


@functools.lru_cache(maxsize=8)
def _vocabulary(resume_text: str) -> frozenset[str]:
    vocab: set[str] = set()
    for tok in metrics.tokens(resume_text):
        vocab.add(tok)
        vocab.update(_parts(tok))
        vocab.add(tok.rstrip("+%#"))
    return frozenset(vocab)


def grounding_problems(answer: str, resume_text: str, allowed: Iterable[str] = ()) -> list[str]:
    """The names, numbers and content words of ``answer`` that ``resume_text`` does not hold.

    Both texts are compared as :func:`pipeline.metrics.tokens` (case- and accent-folded,
    ``3.97/4.00`` and ``c++`` kept whole). A token passes when the resume has it, when each
    of its ``-``/``/``-separated parts is in the resume (``2021-2024``), after dropping a
    possessive ``'s``, when it is in :data:`STOPWORDS`, :data:`FRAME_WORDS` or the words
    of ``allowed`` (the person's names), or when it is a word of letters only that shares its
    Snowball English stem with a resume word and differs from it by a regular inflection
    (``leading`` for a resume that says ``leads``; ``improved`` for ``improve``; but not
    ``manager`` for ``management``). Numbers get no leniency beyond the parts rule.

    Returns:
        The offending tokens in answer order; empty means grounded.
    """
    vocab = _vocabulary(resume_text)
    extra = {p for a in allowed for t in metrics.tokens(a) for p in [t, *_parts(t)]}
    bad: list[str] = []
    for tok in metrics.tokens(answer):
        base = tok[:-2] if tok.endswith("'s") and len(tok) > 2 else tok
        if any(t in vocab or t in STOPWORDS or t in FRAME_WORDS or t in extra for t in (tok, base)):
            continue
        parts = _parts(base)
        if parts and all(p in vocab or p in STOPWORDS or p in extra for p in parts):
            continue
        if base.isalpha() and any(_inflected(base, w) for w in _stems(resume_text).get(_stem(base), ())):
            continue
        bad.append(tok)
    return bad


# -- filters ------------------------------------------------------------------------------------
def normalize_question(question: str) -> str:
    """The form under which two questions count as identical (case, accents, punctuation)."""
    return metrics.normalize(question)


def question_problem(cfg: Config, question: str, count_tokens: Callable[[str], int], *,
                     variation: bool = False) -> str | None:
    """The reject name of the first ``generation_limits`` question filter ``question`` fails, or None.

    Filters, in order: ``question_min_length`` (characters), ``variation_min_length`` (only
    for a ``variation``), ``question_max_words``, ``question_max_tokens`` (``count_tokens``).
    """
    lim = cfg.generation_limits
    checks = (
        ("question_min_length", len(question) < lim.min_question_length),
        ("variation_min_length", variation and len(question) < lim.min_variation_length),
        ("question_max_words", metrics.count_words(question) > lim.max_question_words),
        ("question_max_tokens", count_tokens(question) > lim.question_max_tokens),
    )
    return next((name for name, bad in checks if bad), None)


def apply_filters(cfg: Config, samples: Sequence[Sample], resume_text: str,
                  count_tokens: Callable[[str], int]) -> tuple[list[Sample], Counter, int]:
    """Apply every ``generation_limits`` filter, the grounding check and de-duplication.

    The first sample of each group is its question; later ones are variations and must
    also reach ``min_variation_length`` characters. Refusal samples skip the grounding
    check. A normalized question seen with two different answers is dropped entirely.

    Returns:
        ``(kept, rejects, grounded_of_checked)``: kept samples in input order, reject counts
        per filter name, and how many answer samples passed the grounding check (of those
        that reached it).
    """
    lim = cfg.generation_limits
    allowed = (cfg.person_name, cfg.person_full_name)
    rejects: Counter[str] = Counter()
    seen_groups: set[str] = set()
    kept: list[Sample] = []
    grounded = 0
    for s in samples:
        first = s.group not in seen_groups
        seen_groups.add(s.group)
        q, a = s.question.strip(), s.answer.strip()
        checks = (
            ("answer_min_length", len(a) < lim.min_answer_length),
            ("answer_max_words", metrics.count_words(a) > lim.max_answer_words),
            ("answer_max_sentences", metrics.count_sentences(a) > lim.max_answer_sentences),
            ("answer_max_tokens", count_tokens(a) > lim.answer_max_tokens),
        )
        failed = question_problem(cfg, q, count_tokens, variation=not first) or next(
            (name for name, bad in checks if bad), None)
        if failed:
            rejects[failed] += 1
            continue
        if s.behavior == "answer":
            if grounding_problems(a, resume_text, (*allowed, *s.computed)):
                rejects["grounding"] += 1
                continue
            grounded += 1
        kept.append(s)
    answers: dict[str, set[str]] = defaultdict(set)
    for s in kept:
        answers[normalize_question(s.question)].add(metrics.normalize(s.answer))
    out: list[Sample] = []
    seen: set[str] = set()
    for s in kept:
        key = normalize_question(s.question)
        if len(answers[key]) > 1:
            rejects["conflicting_answer"] += 1
        elif key in seen:
            rejects["duplicate_question"] += 1
        else:
            seen.add(key)
            out.append(s)
    return out, rejects, grounded


# -- decontamination ----------------------------------------------------------------------------
NEAR_COPY = 0.8


def near_copy(question: str, held_out: Sequence[frozenset[str]], threshold: float = NEAR_COPY) -> bool:
    """Whether ``question`` near-copies one of ``held_out`` (token sets of eval questions).

    Questions are compared as sets of :func:`pipeline.metrics.tokens` (case, accents and
    punctuation folded); a near-copy has Jaccard similarity ≥ ``threshold`` (0.8: one changed
    content word in a ten-word question stays under it; a re-cased or re-punctuated copy does
    not). ``tests/test_eval_disjoint.py`` checks the written dataset with its own copy of the rule.
    """
    mine = frozenset(metrics.tokens(question))
    return any(len(mine & other) / len(mine | other) >= threshold for other in held_out if mine or other)


def drop_near_copies(samples: Sequence[Sample], held_out: Sequence[frozenset[str]]) -> tuple[list[Sample], int]:
    """``samples`` without those whose question near-copies a held-out eval question (:func:`near_copy`).

    Returns:
        ``(kept, dropped)``: kept samples in input order and how many were dropped.
    """
    kept = [s for s in samples if not near_copy(s.question, held_out)]
    return kept, len(samples) - len(kept)


# -- split --------------------------------------------------------------------------------------
def split_by_group(samples: Sequence[Sample], train_split: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Split so that validation holds unseen phrasings of trained question groups.

    Per group (in sorted order, phrasings shuffled with ``random.Random(seed)``) the first
    phrasing is the group's anchor and always goes to train; every other phrasing goes to
    validation with probability ``p = min(1, (1 - train_split) * N / (N - A))`` (N distinct
    questions, A anchors), so validation's expected share of all questions is
    ``1 - train_split`` although anchors cannot be held out. A normalized question lands on
    one side only (identical questions follow the first decision). When that leaves
    validation empty but some group has a second distinct phrasing, one moves there.

    Returns:
        ``(train, validation)``: disjoint in normalized questions; every validation group
        also has train samples.
    """
    rng = random.Random(seed)
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        groups[s.group].append(s)
    order = {gid: rng.sample(items, len(items)) for gid, items in sorted(groups.items())}
    side: dict[str, str] = {}
    for items in order.values():
        side.setdefault(normalize_question(items[0].question), "train")
    distinct = len({normalize_question(s.question) for s in samples})
    held = distinct - len(side)
    p = min(1.0, (1 - train_split) * distinct / held) if held else 0.0
    for items in order.values():
        for s in items[1:]:
            key = normalize_question(s.question)
            if key not in side:
                side[key] = "validation" if rng.random() < p else "train"
    if "validation" not in side.values():
        anchors = {normalize_question(items[0].question) for items in order.values()}
        spare = next((s for items in order.values() for s in items[1:]
                      if normalize_question(s.question) not in anchors), None)
        if spare is not None:
            side[normalize_question(spare.question)] = "validation"
    train = [s for items in order.values() for s in items if side[normalize_question(s.question)] == "train"]
    val = [s for items in order.values() for s in items if side[normalize_question(s.question)] == "validation"]
    return train, val
