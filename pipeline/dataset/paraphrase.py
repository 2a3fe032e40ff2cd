"""The ``hybrid`` dataset backend: template facts and answers, LLM-written question variations.

Runs inside ``python -m pipeline dataset`` when ``dataset.backend: hybrid``;
:mod:`pipeline.dataset.build` calls :func:`generate`.

The question groups and their canonical answers are the template backend's
(:func:`pipeline.dataset.template.question_groups`), so answers stay grounded (grounding rate
1.0) and name their entry. What the LLM adds is *phrasings*: for every ``train`` phrasing of
every intent in use, the base model (``model.base``, run in-process by transformers; the
embedded SmolLM2-135M-Instruct by default) is asked for ``dataset.variations_per_question - 1``
rephrasings, sampled at ``dataset.temperatures.variation`` with at most
``llm_defaults.variation_max_tokens`` new tokens, and never more than
``generation_limits.question_max_tokens``, past which a reply is rejected anyway (generation
also stops at the first ``?`` or line break). The request shows the phrasing filled in with the intent's first group (real
names read more naturally than placeholders); a kept rephrasing is turned back into a template
by putting the placeholders where the names were, so it serves every group of that intent.
Requests are per intent phrasing, not per group, which bounds the cost by the phrasings file
(about 270 requests) rather than by the resume's size.

A rephrasing is kept only when (:func:`variation_problem`, each failure counted as a reject):

* it is a question (ends in ``?``, does not open with "Yes"/"No" or the person's name);
* it asks the same kind of thing: its question word class (:func:`question_class`: when,
  where, who, how many, how long, why, how, what/which, yes/no) equals the phrasing's, so a
  "When did ..." never becomes a "Where did ..." with the date as its answer;
* every name of the phrasing is still there, verbatim (the person's name and each slot value:
  the employer, the school, the skill), so its answer still fits and facts do not fuse;
* it keeps at least half of the phrasing's other content words (a crude stem match), so the
  question is about the same thing ("engineers" stays in a team-size question);
* it passes the ``generation_limits`` question filters and is not a duplicate of a phrasing
  the intent already has.

Measured (``docs/experiments.md``, "Question variations from the base model"): with the embedded
SmolLM2-135M-Instruct on the sample resume, 87 of 582 rephrasings pass these checks and the pass
takes about 7 minutes on 2 cores, a third of the 20-minute training budget, so the cpu profile keeps
``backend: template``; the hybrid backend is for a stronger ``model.base`` or more time.
Each group then draws its ``variations_per_question`` phrasings from the intent's template and
kept LLM phrasings alike (seeded shuffle), so the dataset keeps its size and training its
token budget; the LLM phrasings make the pool, and so the questions across groups, more varied.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tqdm import tqdm

from pipeline import metrics
from pipeline.config import Config
from pipeline.dataset import template
from pipeline.dataset.filters import STOPWORDS, normalize_question, question_problem
from pipeline.dataset.samples import BackendResult
from pipeline.embedded import token_counter
from pipeline.resume.ingest import Resume

log = logging.getLogger(__name__)

PROMPT_VERSION = 1  # part of the dataset cache key through build.GENERATOR_VERSION's key sections
VARIATION_PREFIX = "llm"  # template ids of kept rephrasings: <category>.<intent>.llm<i>

_SYSTEM = "Rewrite the user's question with different words. Keep every name. Reply with the new question only."
# Worked examples as earlier chat turns (a small model copies a pattern far better than it follows
# an instruction); made-up people and employers, none from any resume here.
_SHOTS = (
    ("What programming languages does John know?", "Which programming languages is John familiar with?"),
    ("Where did Anna study for her master's degree?", "At which university did Anna get her master's?"),
    ("How long did Li work at Acme Corp?", "For how many years was Li employed by Acme Corp?"),
)

_SHOT_NAMES = ("John", "Anna", "Li", "Acme")  # a rephrasing that names these copied a worked example

# Question word classes, tried in order on the lower-cased question (first match anywhere wins,
# so "At which company ..." is a what/which question).
_CLASSES = (
    ("how_many", r"\bhow (?:many|much)\b"),
    ("how_long", r"\bhow long\b|\bfor how many years\b|\bsince when\b"),
    ("when", r"\bwhen\b|\bwhat (?:year|years|date|month)\b|\bwhich (?:year|years)\b|\bin what year\b"),
    ("where", r"\bwhere\b|\bin which (?:city|country|town)\b|\bwhat (?:city|country|town)\b"),
    ("who", r"\bwho(?:m)?\b"),
    ("why", r"\bwhy\b"),
    ("how", r"\bhow\b"),
    ("what", r"\bwhat(?:'s)?\b|\bwhich\b"),
)
_YES_NO = re.compile(r"^(?:is|are|was|were|does|do|did|has|have|had|can|could|will|would|should)\b")


def question_class(question: str) -> str:
    """The kind of answer ``question`` asks for: one of the :data:`_CLASSES` names, ``yes_no``, or ``other``.

    A question that opens with an auxiliary verb ("Does Maya know Rust?") is ``yes_no``
    unless a question word follows ("Do you know when ...?" is ``when``).
    """
    text = question.lower().strip()
    for name, pattern in _CLASSES:
        if re.search(pattern, text):
            return name
    return "yes_no" if _YES_NO.match(text) else "other"


# Words a rephrasing may swap for each other in resume questions (first 4 letters of each; one
# canonical stem per group). Without them the content check below rejects "role" → "position".
_SYNONYMS = (
    ("role", "posi", "titl", "job", "jobs"),
    ("comp", "firm", "orga", "busi"),
    ("work", "empl"),
    ("stud", "majo", "degr", "lear", "subj", "fiel"),
    ("lead", "head", "mana", "run", "ran", "supe", "dire", "over"),
    ("team", "grou", "staf", "peop", "repo"),
    ("star", "join", "bega", "begi"),
    ("left", "leav", "quit", "end", "ende", "fini"),
    ("know", "fami", "expe", "prof", "skil", "use", "uses", "able"),
    ("hobb", "inte", "free", "spar", "pass", "enjo", "like"),
    ("awar", "priz", "hono", "won", "win", "rece"),
    ("univ", "scho", "coll", "inst"),
    ("year", "long", "peri", "time", "dura"),
)
_CANON = {stem: group[0] for group in _SYNONYMS for stem in group}


def _stems(text: str, drop: Sequence[str]) -> set[str]:
    """Content-word stems of ``text`` (first 4 letters, synonyms folded by :data:`_SYNONYMS`),
    without stopwords and the words of ``drop``."""
    dropped = {t for d in drop for t in metrics.tokens(d)}
    return {_CANON.get(t[:4], t[:4]) for t in metrics.tokens(text)
            if t not in STOPWORDS and t not in dropped and not t.isdigit()}


def variation_problem(variation: str, source: str, names: Sequence[str]) -> str | None:
    """The reject name of the first check ``variation`` fails as a rephrasing of ``source``, or None.

    Args:
        variation: the model's rephrasing, already cut to one question (:func:`clean_variation`).
        source: the filled-in phrasing it rephrases.
        names: strings that must appear verbatim (case-insensitive): the person's name and the
            slot values of ``source``.

    Returns:
        ``variation_not_question``, ``variation_answers``, ``variation_class``,
        ``variation_lost_name``, ``variation_copies_example`` (names a person or employer of the
        worked examples), ``variation_lost_content`` or ``variation_same`` (its
        normalized form equals ``source``'s); None when it is kept.
    """
    text = variation.strip()
    low = text.lower()
    if not text.endswith("?") or len(text) < 2:
        return "variation_not_question"
    if re.match(r"^(?:yes|no)\b", low) or any(low.startswith(n.lower()) for n in names[:1]):
        return "variation_answers"
    if question_class(text) != question_class(source):
        return "variation_class"
    if any(n.lower() not in low for n in names):
        return "variation_lost_name"
    if any(re.search(rf"\b{w}\b", text) for w in _SHOT_NAMES):
        return "variation_copies_example"
    want = _stems(source, names)
    if want and len(want & _stems(text, names)) * 2 < len(want):
        return "variation_lost_content"
    if normalize_question(text) == normalize_question(source):
        return "variation_same"
    return None


def clean_variation(text: str) -> str:
    """One line of model output as a question: first line, list markers and quotes stripped, up to its first ``?``."""
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    line = re.sub(r"^\s*(?:[-*•]+|\d+[.)])\s*", "", line).strip().strip("\"'`").strip()
    if "?" in line:
        line = line[: line.index("?") + 1]
    return re.sub(r"\s+", " ", line)


def to_template(variation: str, slots: Mapping[str, str], name: str) -> str | None:
    """``variation`` with each slot value (longest first) and ``name`` put back as ``{slot}`` / ``{name}``.

    Returns None when a value is missing (the caller has checked, so only on overlapping values)
    or the text holds a brace of its own (it would break ``str.format``).
    """
    if "{" in variation or "}" in variation:
        return None
    out = variation
    pairs = sorted([*slots.items(), ("name", name)], key=lambda kv: -len(kv[1]))
    for key, value in pairs:
        pattern = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", re.IGNORECASE)
        if not pattern.search(out):
            return None
        out = pattern.sub("{" + key + "}", out)
    return out


Rephrase = Callable[[Sequence[str], int], list[list[str]]]
"""``rephrase(questions, n)`` → ``n`` raw model replies per question (same order)."""


class TransformersRephraser:
    """Samples rephrasings from the base model in-process (no server), a batch of questions at a time.

    Args:
        cfg: reads ``model.base``, ``dataset.temperatures.variation``,
            ``llm_defaults.variation_max_tokens`` and ``dataset.seed``.
        batch_size: questions per ``generate`` call (each with ``n`` sampled replies).

    Raises:
        ModelError: (on first use) the base model cannot be loaded
            (:func:`pipeline.embedded.load_causal_lm`).
    """

    def __init__(self, cfg: Config, batch_size: int = 16) -> None:
        self.cfg = cfg
        self.batch_size = batch_size
        self._model = None
        self._tok = None

    @property
    def max_new_tokens(self) -> int:
        """``llm_defaults.variation_max_tokens``, capped at ``generation_limits.question_max_tokens``.

        A reply longer than that cap fails the ``question_max_tokens`` filter anyway, and a
        batch runs until its slowest reply stops, so generating past it only costs time.
        """
        return min(self.cfg.llm_defaults.variation_max_tokens, self.cfg.generation_limits.question_max_tokens)

    def _load(self) -> None:
        from pipeline.embedded import load_causal_lm

        self._model, self._tok = load_causal_lm(self.cfg)
        self._tok.padding_side = "left"

    def __call__(self, questions: Sequence[str], n: int) -> list[list[str]]:
        import torch

        if self._model is None:
            self._load()
        tok, model = self._tok, self._model
        temperature = self.cfg.dataset.temperatures.variation
        out: list[list[str]] = []
        batches = range(0, len(questions), self.batch_size)
        for start in tqdm(batches, desc="question variations", unit="batch", disable=len(batches) < 2):
            chunk = list(questions[start:start + self.batch_size])
            texts = [tok.apply_chat_template(_messages(q), tokenize=False, add_generation_prompt=True) for q in chunk]
            enc = tok(texts, return_tensors="pt", padding=True)
            torch.manual_seed(zlib.crc32(f"{self.cfg.dataset.seed}:variations:{start}".encode()))
            with torch.inference_mode():
                ids = model.generate(
                    **enc, do_sample=temperature > 0, temperature=temperature if temperature > 0 else None,
                    top_p=0.95 if temperature > 0 else None, num_return_sequences=n,
                    max_new_tokens=self.max_new_tokens,
                    stop_strings=["?", "\n"], tokenizer=tok,
                    pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
            replies = tok.batch_decode(ids[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
            out.extend(replies[i * n:(i + 1) * n] for i in range(len(chunk)))
        return out


def _messages(question: str) -> list[dict[str, str]]:
    shots = [turn for q, a in _SHOTS for turn in ({"role": "user", "content": q}, {"role": "assistant", "content": a})]
    return [{"role": "system", "content": _SYSTEM}, *shots, {"role": "user", "content": question}]


def intent_variations(cfg: Config, groups: Sequence[template.QuestionGroup], rephrase: Rephrase,
                      count_tokens: Callable[[str], int]) -> tuple[dict[tuple[str, str], list[str]], Counter]:
    """Kept LLM phrasings (as templates) per ``(category, intent)`` of ``groups``, and the reject counts.

    Each intent's ``train`` phrasings are filled in with the slots of its first group and sent
    to ``rephrase`` for ``variations_per_question - 1`` replies each; see the module docstring
    for what is kept.
    """
    first: dict[tuple[str, str], template.QuestionGroup] = {}
    for g in groups:
        first.setdefault((g.category, g.intent), g)
    n = cfg.dataset.variations_per_question - 1
    jobs: list[tuple[tuple[str, str], str, template.QuestionGroup]] = []
    for key, g in first.items():
        jobs.extend((key, q, g) for _, q in template.phrasings(cfg, g))
    kept: dict[tuple[str, str], list[str]] = {key: [] for key in first}
    rejects: Counter[str] = Counter()
    if n < 1 or not jobs:
        return kept, rejects
    replies = rephrase([q for _, q, _ in jobs], n)
    seen = {key: {normalize_question(q) for _, q in template.phrasings(cfg, g)} for key, g in first.items()}
    for (key, source, g), outs in zip(jobs, replies, strict=True):
        used = {k: v for k, v in g.slots.items() if v and v.lower() in source.lower()}  # slots the phrasing names
        names = [cfg.person_name, *used.values()]
        for raw in outs:
            text = clean_variation(raw)
            problem = variation_problem(text, source, names) or question_problem(cfg, text, count_tokens, variation=True)
            if problem is None and normalize_question(text) in seen[key]:
                problem = "variation_duplicate"
            pattern = to_template(text, used, cfg.person_name) if problem is None else None
            if problem is None and pattern is None:
                problem = "variation_lost_name"
            if problem:
                rejects[problem] += 1
                continue
            seen[key].add(normalize_question(text))
            kept[key].append(pattern)
    return kept, rejects


def generate(cfg: Config, resume: Resume, work_dir: Path, rephrase: Rephrase | None = None) -> BackendResult:
    """Hybrid backend entry point (see the module docstring).

    Args:
        cfg: the resolved config.
        resume: the ingested resume.
        work_dir: unused (the dataset stage caches the whole result).
        rephrase: the model call; :class:`TransformersRephraser` of ``cfg`` by default
            (tests pass a stub).

    Returns:
        :class:`~pipeline.dataset.samples.BackendResult` with the template backend's samples,
        phrased from the larger pool, and the rephrasings rejected, per check (``variation_*``,
        ``question_*``).
    """
    groups = template.question_groups(cfg, resume)
    _, count_tokens = token_counter(cfg)
    kept, rejects = intent_variations(cfg, groups, rephrase or TransformersRephraser(cfg), count_tokens)
    n_kept = sum(len(v) for v in kept.values())
    log.info("hybrid: %d LLM question variations kept over %d intents (%s rejected)", n_kept, len(kept),
             sum(rejects.values()))

    def options(g: template.QuestionGroup) -> list[tuple[str, str]]:
        extra = [(f"{g.category}.{g.intent}.{VARIATION_PREFIX}{i}", t.format(name=cfg.person_name, **g.slots))
                 for i, t in enumerate(kept.get((g.category, g.intent), []))]
        return template.phrasings(cfg, g) + extra

    return BackendResult(samples=template.assemble(cfg, groups, options), rejects=dict(rejects))
