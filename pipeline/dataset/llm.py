"""The ``llm`` dataset backend: questions, grounded answers and rephrasings from a llama.cpp server.

Run it with ``python -m pipeline dataset`` and ``dataset.backend: llm`` in config.yaml (add
``--managed-server`` or ``server.managed: true`` to have the pipeline start and stop a local
server with the embedded SmolLM2 GGUF). :mod:`pipeline.dataset.build` calls :func:`generate`.

Generation unit: one *question group* ``<category>:<index>`` focused on the resume fact
``facts[index % len(facts)]`` of that category. Each request shows the model that one fact
(PII-scrubbed, with its entry's title, organization and dates when the line lacks them),
after a short system message and three worked examples as earlier chat turns. (Why one fact and worked examples: ``docs/experiments.md``, "llm backend prompts".) The
examples are the same for every request, so the server's prompt cache reuses them. Per unit:

1. question: ``dataset.temperatures.question``, ``generation_limits.question_max_tokens``;
2. grounded answer: ``temperatures.answer``, ``answer_max_tokens``;
3. ``variations_per_question - 1`` rephrasings in one request: ``temperatures.variation``,
   ``llm_defaults.variation_max_tokens``; when the batch reply is malformed or short, single
   rephrasings fill the gap, each at ``llm_defaults.temperature`` with
   ``llm_defaults.max_tokens`` (the defaults for requests that have no dedicated knob).

Grounding: an answer is kept only when :func:`pipeline.dataset.filters.grounding_problems` finds
every name and content word in the resume (reject ``grounding``) and every number in the
answer is in the focus fact as shown to the model (:func:`fact_context`: the line plus its
entry's title, organization and dates; reject ``grounding_numbers``): a small model
recombines years from other jobs into invented date ranges, which the resume-wide check
alone accepts.

Every request carries ``llm_defaults.stop_sequences`` and a seed derived from
``dataset.seed`` and the unit id, so a unit's replies are reproducible on the same server.
``llm_defaults.long_question_skip_prob``: a question longer than half of
``generation_limits.max_question_words`` words (but within it) is a *long* question; it is
skipped (reject ``question_long_skipped``) with this probability, drawn from a generator
seeded with ``dataset.seed`` and the unit id, which biases the set towards the short
questions people type. 0 keeps every long question, 1 drops them all. Questions over
``max_question_words`` are always rejected (``question_max_words``).

Durable progress (``<work_dir>/llm-<key16>/``): each finished unit is one line appended to
``units.jsonl`` and fsynced, then ``progress.json`` is rewritten atomically (temp file +
``os.replace``). A run killed at any moment loses at most the units in flight and redoes
them on the next start (a torn last line is cut off); a unit id appears once in the
result, so nothing is duplicated. The key covers the resume text, the model and every knob
that shapes a reply, but not ``samples_per_category`` or ``variations_per_question``:
raising them backfills (more units, or more rephrasings for finished units).

The kept samples are a pure function of the unit records: units in index order, per
category, until ``samples_per_category`` samples are kept, so a resumed run ends with the
same samples as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import random
import re
import threading
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from pipeline import metrics
from pipeline.config import Config
from pipeline.dataset.filters import grounding_problems, normalize_question
from pipeline.dataset.samples import BackendResult, Sample
from pipeline.dataset.server import ChatReply, LlamaClient, managed_server
from pipeline.errors import ServerError
from pipeline.resume.ingest import CATEGORIES, Resume

log = logging.getLogger(__name__)

PROMPT_VERSION = 2
_ATTEMPT_FACTOR = 3  # units tried per category: at most 3 × the units the target needs (+2)
_CATEGORY_LABELS = {
    "work_experience": "work experience", "technical_skills": "technical skills",
    "education": "education", "projects": "projects", "leadership": "leadership",
    "achievements": "achievements and awards", "character": "character and interests",
    "military": "military service", "recommendations": "recommendations from colleagues",
}
_SOURCE_WORDS = ("resume", "context", "provided", "document", "the text")


# -- prompts --------------------------------------------------------------------------------------
# Worked examples, shown as earlier chat turns (small models copy a demonstrated pattern far
# better than they follow instructions). Category, a made-up resume line, question, answer.
_EXAMPLES = (
    ("work_experience", "Senior Data Engineer, Acme Corp (Oslo, Norway; 2015 - 2018)",
     "Where did {name} work as Senior Data Engineer?",
     "{name} worked at Acme Corp as Senior Data Engineer from 2015 to 2018."),
    ("technical_skills", "Frameworks: React, Django, Redis",
     "Which frameworks does {name} use?",
     "{name} uses React, Django and Redis."),
    ("achievements", "Cut build times by 40% by caching Docker layers.",
     "What did {name} do about build times?",
     "{name} cut build times by 40% by caching Docker layers."),
)


def _system(cfg: Config) -> str:
    return (f"You write training data for a chatbot that answers questions about {cfg.person_full_name} "
            f"({cfg.person_name}). Use only the facts you are given.")


def fact_context(fact) -> str:
    """The fact's text, plus its entry's title, organization and dates when the text lacks them."""
    fields = fact.fields
    extra = [fields[k] for k in ("title", "organization") if fields.get(k) and fields[k] not in fact.text]
    dates = " - ".join(fields[k] for k in ("start_date", "end_date") if fields.get(k))
    shown = next((fields[k] for k in ("start_date", "end_date") if fields.get(k)), "")
    if dates and shown not in fact.text:
        extra.append(dates)
    return f"{fact.text} ({', '.join(extra)})" if extra else fact.text


def _question_turn(cfg: Config, category: str, line: str) -> str:
    return (f"Resume line about {cfg.person_name}'s {_CATEGORY_LABELS.get(category, category)}: \"{line}\"\n"
            f"Write one short question about {cfg.person_name} that this line answers.")


def _answer_turn(cfg: Config, line: str, question: str) -> str:
    lim = cfg.generation_limits
    return (f"Resume line about {cfg.person_name}: \"{line}\"\nQuestion: {question}\n"
            f"Answer in at most {lim.max_answer_sentences} sentences and {lim.max_answer_words} words, "
            f"starting with \"{cfg.person_name}\", using only words and numbers from the line.")


def _question_messages(cfg: Config, category: str, line: str) -> list[dict[str, str]]:
    shots = [turn for ex_cat, ex_line, q, _ in _EXAMPLES for turn in (
        {"role": "user", "content": _question_turn(cfg, ex_cat, ex_line)},
        {"role": "assistant", "content": q.format(name=cfg.person_name)})]
    return [{"role": "system", "content": _system(cfg)}, *shots,
            {"role": "user", "content": _question_turn(cfg, category, line)}]


def _answer_messages(cfg: Config, line: str, question: str) -> list[dict[str, str]]:
    shots = [turn for _, ex_line, q, a in _EXAMPLES for turn in (
        {"role": "user", "content": _answer_turn(cfg, ex_line, q.format(name=cfg.person_name))},
        {"role": "assistant", "content": a.format(name=cfg.person_name)})]
    return [{"role": "system", "content": _system(cfg)}, *shots,
            {"role": "user", "content": _answer_turn(cfg, line, question)}]


def _variations_prompt(cfg: Config, question: str, count: int) -> str:
    return (f"Write {count} different ways to ask this question: \"{question}\"\n"
            f"Each must contain \"{cfg.person_name}\" and be 5 to 12 words. "
            "Write one question per line, no numbering. Output only the questions.")


def _rephrase_prompt(cfg: Config, question: str) -> str:
    return (f"Rephrase this question in other words, keeping \"{cfg.person_name}\": \"{question}\" "
            "Output only the new question.")


def _numbers_outside(answer: str, context: str) -> list[str]:
    """Number tokens of ``answer`` (and number parts of ``2016-2019``) that ``context`` lacks.

    Tokens come from :func:`pipeline.metrics.tokens` (dashes already folded to ``-``);
    a trailing ``+`` or ``%`` is ignored on both sides (``6+`` matches ``6``).
    """
    have = {p.rstrip("+%") for tok in metrics.tokens(context) for p in (tok, *re.split(r"[-/]", tok))}
    return [p for tok in metrics.tokens(answer) for p in re.split(r"[-/]", tok)
            if any(c.isdigit() for c in p) and p.rstrip("+%") not in have]


# -- records --------------------------------------------------------------------------------------
@dataclass
class _Unit:
    """The durable record of one question group (one JSONL line)."""

    unit: str
    category: str
    index: int
    fact_id: str
    question: str | None = None
    answer: str | None = None
    variations: list[str] = field(default_factory=list)
    variations_requested: int = 0
    rejects: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, sort_keys=True)


class _Store:
    """Append-only unit log (``units.jsonl``) plus atomically rewritten ``progress.json``."""

    def __init__(self, folder: Path, meta: Mapping[str, Any]) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.log_path = folder / "units.jsonl"
        self.meta = dict(meta)
        self.units: dict[str, _Unit] = {}
        self._lock = threading.Lock()
        self._load()
        self._fh = open(self.log_path, "a", encoding="utf-8")

    def _load(self) -> None:
        if not self.log_path.exists():
            return
        good = 0
        with open(self.log_path, "rb") as fh:
            for raw in fh:
                if not raw.endswith(b"\n"):
                    break  # torn last line from a kill mid-write
                try:
                    unit = _Unit(**json.loads(raw))
                except (ValueError, TypeError):
                    break
                self.units[unit.unit] = unit  # a later line for the same unit supersedes
                good += len(raw)
        if good != self.log_path.stat().st_size:
            log.warning("%s: dropping a torn record at byte %d (a run was killed mid-write)", self.log_path, good)
            with open(self.log_path, "r+b") as fh:
                fh.truncate(good)

    def put(self, unit: _Unit) -> None:
        """Append, flush and fsync the record, then rewrite progress.json atomically."""
        with self._lock:
            self._fh.write(unit.to_json() + "\n")
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self.units[unit.unit] = unit
            self._write_progress()

    def _write_progress(self) -> None:
        per_cat = Counter(u.category for u in self.units.values())
        data = {**self.meta, "units_done": len(self.units), "units_per_category": dict(sorted(per_cat.items()))}
        tmp = self.folder / f".progress.json.{os.getpid()}.{threading.get_ident()}"
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.folder / "progress.json")

    def close(self) -> None:
        with self._lock:
            self._fh.close()


# -- text helpers ---------------------------------------------------------------------------------
def _clean_line(text: str) -> str:
    text = re.sub(r"^\s*(?:[-*•]+|\d+[.)]|question\s*\d*\s*:|q\s*:)\s*", "", text, flags=re.IGNORECASE)
    return text.strip().strip("\"'`").strip()


def _as_question(text: str) -> str:
    """The first line that asks something (up to its first ``?``), else the first line; ends in ``?``."""
    lines = [ln for ln in (_clean_line(x) for x in text.splitlines()) if ln]
    asking = next((ln for ln in lines if "?" in ln), None)
    line = asking[: asking.index("?")] if asking else (lines[0] if lines else "")
    line = re.sub(r"\s+", " ", line)
    return (line.rstrip("?.! ") + "?") if line else ""


def _clean_answer(text: str) -> str:
    """Strip a label prefix (``Answer:``) and quotes, join lines into one paragraph."""
    text = re.sub(r"^\s*(?:answer|response|a)\s*:\s*", "", text, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", text).strip().strip("\"").strip()


def _seed(cfg: Config, unit: str, kind: str) -> int:
    return zlib.crc32(f"{cfg.dataset.seed}:{unit}:{kind}".encode()) & 0x7FFFFFFF


# -- one unit -------------------------------------------------------------------------------------
class _Generator:
    """Runs the request chain of one unit against the server (thread-safe, no shared state)."""

    def __init__(self, cfg: Config, client: LlamaClient, resume_text: str, grounding) -> None:
        self.cfg = cfg
        self.client = client
        self.resume_text = resume_text
        self.grounding = grounding
        self.allowed = (cfg.person_name, cfg.person_full_name)

    def _ask(self, unit: str, kind: str, prompt: str | list[dict[str, str]], temperature: float,
             max_tokens: int) -> ChatReply:
        messages = prompt if isinstance(prompt, list) else [
            {"role": "system", "content": _system(self.cfg)}, {"role": "user", "content": prompt}]
        return self.client.chat(messages, temperature=temperature, max_tokens=max_tokens,
                                stop=self.cfg.llm_defaults.stop_sequences, seed=_seed(self.cfg, unit, kind))

    def _usable(self, reply: ChatReply, what: str, rejects: Counter) -> bool:
        if not reply.content and reply.reasoning:
            rejects[f"{what}_reasoning_only"] += 1
            return False
        if reply.finish_reason == "length":
            rejects[f"{what}_max_tokens"] += 1  # cut by max_tokens: incomplete
            return False
        if not reply.content:
            rejects[f"{what}_empty"] += 1
            return False
        return True

    def _question_ok(self, question: str, unit: str, rejects: Counter) -> bool:
        lim = self.cfg.generation_limits
        n_words = metrics.count_words(question)
        if len(question) < lim.min_question_length:
            rejects["question_min_length"] += 1
        elif n_words > lim.max_question_words:
            rejects["question_max_words"] += 1
        elif self.cfg.person_name.lower() not in question.lower():
            rejects["question_without_name"] += 1
        elif any(w in question.lower() for w in _SOURCE_WORDS):
            rejects["question_mentions_source"] += 1
        elif (n_words > lim.max_question_words // 2
              and random.Random(_seed(self.cfg, unit, "long")).random() < self.cfg.llm_defaults.long_question_skip_prob):
            rejects["question_long_skipped"] += 1
        else:
            return True
        return False

    def _variation_ok(self, text: str, seen: set[str], rejects: Counter) -> bool:
        lim = self.cfg.generation_limits
        if len(text) < lim.min_variation_length:
            rejects["variation_min_length"] += 1
        elif metrics.count_words(text) > lim.max_question_words:
            rejects["variation_max_words"] += 1
        elif self.cfg.person_name.lower() not in text.lower():
            rejects["variation_without_name"] += 1
        elif normalize_question(text) in seen:
            rejects["variation_duplicate"] += 1
        else:
            seen.add(normalize_question(text))
            return True
        return False

    def run(self, unit: _Unit, fact_text: str, n_variations: int) -> _Unit:
        """Fill ``unit`` (question, answer, up to ``n_variations`` rephrasings) and return it.

        ``fact_text`` is the focus fact as shown to the model (:func:`fact_context`).
        """
        temps, lim, dflt = self.cfg.dataset.temperatures, self.cfg.generation_limits, self.cfg.llm_defaults
        rejects: Counter[str] = Counter(unit.rejects)
        if unit.question is None:
            reply = self._ask(unit.unit, "question", _question_messages(self.cfg, unit.category, fact_text),
                              temps.question, lim.question_max_tokens)
            if not self._usable(reply, "question", rejects):
                return self._done(unit, rejects)
            question = _as_question(reply.content)
            if not self._question_ok(question, unit.unit, rejects):
                return self._done(unit, rejects)
            reply = self._ask(unit.unit, "answer", _answer_messages(self.cfg, fact_text, question),
                              temps.answer, lim.answer_max_tokens)
            if not self._usable(reply, "answer", rejects):
                return self._done(unit, rejects)
            answer = _clean_answer(reply.content)
            if len(answer) < lim.min_answer_length:
                rejects["answer_min_length"] += 1
                return self._done(unit, rejects)
            if metrics.count_words(answer) > lim.max_answer_words:
                rejects["answer_max_words"] += 1
                return self._done(unit, rejects)
            if metrics.count_sentences(answer) > lim.max_answer_sentences:
                rejects["answer_max_sentences"] += 1
                return self._done(unit, rejects)
            if self.grounding(answer, self.resume_text, self.allowed):
                rejects["grounding"] += 1
                return self._done(unit, rejects)
            if _numbers_outside(answer, fact_text):
                rejects["grounding_numbers"] += 1
                return self._done(unit, rejects)
            unit.question, unit.answer = question, answer
        need = n_variations - len(unit.variations)
        if unit.answer is not None and need > 0 and n_variations > unit.variations_requested:
            seen = {normalize_question(unit.question or "")} | {normalize_question(v) for v in unit.variations}
            kind = f"variations{unit.variations_requested}"
            reply = self._ask(unit.unit, kind, _variations_prompt(self.cfg, unit.question or "", need),
                              temps.variation, dflt.variation_max_tokens)
            lines = reply.content.splitlines() if self._usable_batch(reply, rejects) else []
            got = [q for q in (_as_question(ln) for ln in lines if _clean_line(ln)) if q]
            for text in got:
                if len(unit.variations) < n_variations and self._variation_ok(text, seen, rejects):
                    unit.variations.append(text)
            if len(unit.variations) < n_variations:
                rejects["variation_batch_malformed"] += 1
            for attempt in range(n_variations - len(unit.variations)):
                reply = self._ask(unit.unit, f"{kind}.single{attempt}", _rephrase_prompt(self.cfg, unit.question or ""),
                                  dflt.temperature, dflt.max_tokens)
                if self._usable(reply, "variation", rejects):
                    text = _as_question(reply.content)
                    if self._variation_ok(text, seen, rejects):
                        unit.variations.append(text)
            unit.variations_requested = n_variations
        return self._done(unit, rejects)

    def _usable_batch(self, reply: ChatReply, rejects: Counter) -> bool:
        if not reply.content:
            rejects["variation_batch_reasoning_only" if reply.reasoning else "variation_batch_empty"] += 1
            return False
        if reply.finish_reason == "length":
            rejects["variation_batch_max_tokens"] += 1  # complete lines are still used
        return True

    @staticmethod
    def _done(unit: _Unit, rejects: Counter) -> _Unit:
        unit.rejects = {k: v for k, v in sorted(rejects.items()) if v}
        return unit


# -- the backend ----------------------------------------------------------------------------------
def categories(cfg: Config, resume: Resume) -> dict[str, list]:
    """Active category → its facts (military / recommendations only when switched on)."""
    active = [c for c in CATEGORIES
              if (c != "military" or cfg.dataset.include_military)
              and (c != "recommendations" or cfg.dataset.has_recommendations)]
    return {c: [f for f in resume.facts if f.category == c] for c in active}


def _progress_key(cfg: Config, resume_text: str, model_id: str) -> str:
    payload = {
        "prompt_version": PROMPT_VERSION, "resume": hashlib.sha256(resume_text.encode()).hexdigest(),
        "model": model_id, "names": [cfg.person_name, cfg.person_full_name],
        "temperatures": cfg.dataset.temperatures.model_dump(), "seed": cfg.dataset.seed,
        "limits": cfg.generation_limits.model_dump(), "llm_defaults": cfg.llm_defaults.model_dump(mode="json"),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _assemble(cfg: Config, cats: Mapping[str, list], units: Mapping[str, _Unit]):
    """Kept samples per category (units in index order up to samples_per_category), rejects, missing units.

    Returns:
        ``(samples, rejects, todo)``: ``todo`` lists ``(category, index)`` of units still to run
        (not done, or short of rephrasings), estimated optimistically so no unit is wasted.
    """
    target, n_var = cfg.dataset.samples_per_category, cfg.dataset.variations_per_question - 1
    max_units = math.ceil(target / (n_var + 1)) * _ATTEMPT_FACTOR + 2
    samples: list = []
    rejects: Counter[str] = Counter()
    todo: list[tuple[str, int]] = []
    seen: set[str] = set()
    for cat, facts in cats.items():
        if not facts:
            continue
        kept = 0
        for index in range(max_units):
            if kept >= target:
                break
            unit = units.get(f"{cat}:{index}")
            if unit is None or (unit.answer is not None and unit.variations_requested < n_var
                                and len(unit.variations) < n_var):
                todo.append((cat, index))
                kept += n_var + 1
                continue
            rejects.update(unit.rejects)
            if unit.question is None or unit.answer is None:
                continue
            phrasings = [("llm:question", unit.question)] + [("llm:variation", v) for v in unit.variations[:n_var]]
            for template, question in phrasings:
                if kept >= target:
                    break
                if normalize_question(question) in seen:
                    rejects["duplicate_question"] += 1
                    continue
                seen.add(normalize_question(question))
                samples.append(Sample(question=question, answer=unit.answer, category=cat, fact_id=unit.fact_id,
                                      template=template, group=f"llm:{unit.unit}", behavior="answer"))
                kept += 1
    return samples, rejects, todo


def generate(cfg: Config, resume: Resume, work_dir: Path):
    """Generate grounded Q/A samples from ``resume`` with the llama.cpp server in ``cfg.server``.

    Args:
        cfg: the configuration (``server``, ``dataset``, ``generation_limits``, ``llm_defaults``,
            ``validation.context_token_warn``).
        resume: a :class:`pipeline.resume.ingest.Resume`; its ``facts`` give the focus of each
            question (shown one at a time, PII-scrubbed) and its ``text`` is what answers are
            grounded against.
        work_dir: a folder that survives failed runs; progress lives in ``work_dir/llm-<key16>/``.

    Returns:
        ``pipeline.dataset.samples.BackendResult(samples, rejects)``: at most ``samples_per_category``
        samples per category with facts; ``rejects`` counts each filter's rejections (see the
        module docstring) plus ``server_retry.<fault>`` counts of retried server faults.

    Raises:
        ServerError: server unreachable / never ready (names ``server.host``, ``server.port``,
            ``server.health_check_timeout``), faults past ``server.max_retries``, or a context
            overflow (:class:`~pipeline.dataset.server.ContextOverflowError`, names the settings).
    """
    with contextlib.ExitStack() as stack:
        if cfg.server.managed:
            cfg = stack.enter_context(managed_server(cfg, log_dir=Path(work_dir)))
        client = stack.enter_context(LlamaClient(cfg.server))
        client.wait_ready()
        return _generate(cfg, resume, Path(work_dir), client)


def _model_id(client: LlamaClient) -> str:
    try:
        data = client._http.get("/v1/models").json()
        return str(data["data"][0]["id"]).rsplit("/", 1)[-1]
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
        log.info("model id unavailable (%s); progress keyed without it", exc)
        return "unknown"


def _check_context(cfg: Config, client: LlamaClient, resume_text: str, lines: Sequence[str] = ()) -> int:
    """Tokens of the resume plus the largest prompt (worked examples + the longest fact line).

    The resume itself is not sent (each request carries one fact); it is counted so that
    ``validation.context_token_warn`` keeps one meaning across the pipeline (``preview``
    warns on the same resume), and a warning names that setting when the total exceeds it.
    """
    longest = max(lines, key=len, default="")
    text = resume_text + "\n" + "\n".join(m["content"] for m in _answer_messages(cfg, longest, "?"))
    tokens = client.tokenize(text)
    if tokens is None:
        tokens = math.ceil(len(text) / 4)  # ~4 characters per token for English text
    if tokens > cfg.validation.context_token_warn:
        log.warning("the resume and the largest prompt are %d tokens, over validation.context_token_warn=%d: "
                    "small models lose track of long contexts and the server may reject them; shorten the "
                    "resume or raise the setting (and the server's context size)", tokens,
                    cfg.validation.context_token_warn)
    return tokens


def _generate(cfg: Config, resume: Resume, work_dir: Path, client: LlamaClient):
    cats = categories(cfg, resume)
    for cat, facts in cats.items():
        if not facts:
            log.warning("category %s has no facts in %s; no llm samples for it", cat, resume.source)
    context_tokens = _check_context(cfg, client, resume.text,
                                    [fact_context(f) for facts in cats.values() for f in facts])
    model_id = _model_id(client)
    key = _progress_key(cfg, resume.text, model_id)
    store = _Store(work_dir / f"llm-{key[:16]}", {
        "key": key, "model": model_id, "context_tokens": context_tokens,
        "samples_per_category": cfg.dataset.samples_per_category,
        "variations_per_question": cfg.dataset.variations_per_question,
    })
    gen = _Generator(cfg, client, resume.text, grounding_problems)
    n_var = cfg.dataset.variations_per_question - 1
    try:
        for _wave in range(10_000):  # each wave finishes >= 1 unit; bounded by the attempt cap
            samples, rejects, todo = _assemble(cfg, cats, store.units)
            if not todo:
                break
            log.info("llm backend: %d units to run on %d slot(s)", len(todo), cfg.server.slots)
            _run_units(gen, store, cats, todo, n_var, cfg.server.slots)
        for cat, facts in cats.items():
            kept = sum(1 for s in samples if s.category == cat)
            if facts and kept < cfg.dataset.samples_per_category:
                log.warning("category %s: %d of %d samples kept after the attempt cap; see the rejects",
                            cat, kept, cfg.dataset.samples_per_category)
    finally:
        store.close()
    for kind, n in sorted(client.faults.items()):
        rejects[f"server_retry.{kind}"] += n
    return BackendResult(samples=samples, rejects=dict(sorted(rejects.items())))


def _run_units(gen: _Generator, store: _Store, cats: Mapping[str, list], todo: list[tuple[str, int]],
               n_var: int, slots: int) -> None:
    def one(cat: str, index: int) -> None:
        facts = cats[cat]
        fact = facts[index % len(facts)]
        uid = f"{cat}:{index}"
        prev = store.units.get(uid)
        unit = _Unit(**json.loads(prev.to_json())) if prev else _Unit(uid, cat, index, fact.id)
        store.put(gen.run(unit, fact_context(fact), n_var))

    pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="llm")
    futures = [pool.submit(one, cat, index) for cat, index in todo]
    try:
        wait(futures, return_when=FIRST_EXCEPTION)
    except BaseException:  # Ctrl-C / SIGTERM: leave in-flight requests, their units are redone next run
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True, cancel_futures=True)  # units in flight finish (or fail) and are recorded
    for fut in futures:
        if fut.done() and not fut.cancelled() and fut.exception() is not None:
            raise fut.exception()


def iter_units(folder: Path) -> Iterator[dict[str, Any]]:
    """The unit records of a progress folder (for inspection and tests), torn last line skipped."""
    path = Path(folder) / "units.jsonl"
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.endswith("\n"):
            yield json.loads(line)


__all__ = ["generate", "categories", "fact_context", "iter_units", "ServerError"]
