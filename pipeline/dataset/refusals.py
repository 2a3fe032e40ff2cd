"""Questions the model must refuse: out-of-domain, prompt injection, PII requests, false premises.

Used by :mod:`pipeline.dataset.build` (training refusals, ``dataset.refusal_share`` of the set) and
:mod:`pipeline.dataset.eval_sets` (``ood.jsonl`` and the refusal half of ``adversarial.jsonl``);
``python -m pipeline dataset`` runs both. The pools live in
``pipeline/dataset/questions.yaml`` under ``refusals:``; training and evaluation
use disjoint templates and slot values.
"""

from __future__ import annotations

import itertools
import random
import string
from collections.abc import Iterator

from pipeline import metrics
from pipeline.config import Config
from pipeline.dataset.samples import Sample
from pipeline.dataset.template import load_phrasings
from pipeline.resume.ingest import Resume

KINDS = ("ood", "injection", "pii", "false_premise")
_MATH = [str(n) for n in range(3, 60, 2)]


def _slots(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f and f != "name"]


def _candidates(cfg: Config, resume_text: str, pool: str, kind: str) -> Iterator[tuple[int, int, str]]:
    """(family index, phrasing index, question) for every slot filling of the pool's templates.

    False-premise fillers that the resume does mention (an employer that is real) are skipped.
    """
    data = load_phrasings()["refusals"]
    slots = {**data["slots"][pool], "a": _MATH, "b": _MATH}
    known = f" {metrics.normalize(resume_text)} "
    for fam, phrasings in enumerate(data[pool][kind]):
        for phr, template in enumerate(phrasings):
            names = _slots(template)
            values = [[v for v in slots[n] if kind != "false_premise"
                       or f" {metrics.normalize(v)} " not in known] for n in names]
            for combo in itertools.product(*values):
                yield fam, phr, template.format(name=cfg.person_name, **dict(zip(names, combo, strict=True)))


def training_refusals(cfg: Config, resume: Resume, n: int, answer: str) -> list[Sample]:
    """``n`` refusal samples (fewer when the pools run out), seeded by ``dataset.seed``.

    Kinds are mixed by the pool's ``weights``; within a kind the template families take
    turns (so the many arithmetic fillers do not crowd out the rest); each family is one
    question group.

    Returns:
        Samples with ``category="refusal"``, ``behavior="refuse"`` and ``answer`` as the reply.
    """
    if n <= 0:
        return []
    rng = random.Random(f"refusals:{cfg.dataset.seed}")
    weights = load_phrasings()["refusals"]["weights"]
    quota = {k: int(n * weights[k]) for k in KINDS}
    quota["ood"] += n - sum(quota.values())
    out: list[Sample] = []
    for kind in KINDS:
        families: dict[int, list[tuple[int, int, str]]] = {}
        for cand in _candidates(cfg, resume.text, "train", kind):
            families.setdefault(cand[0], []).append(cand)
        for items in families.values():
            rng.shuffle(items)
        mixed = [c for row in itertools.zip_longest(*families.values()) for c in row if c is not None]
        for fam, phr, question in mixed[:quota[kind]]:
            out.append(Sample(question=question, answer=answer, category="refusal", fact_id="",
                              template=f"refusal.{kind}.{fam}.{phr}", group=f"refusal:{kind}:{fam}",
                              behavior="refuse"))
    return out


def eval_refusals(cfg: Config, resume: Resume, kind: str, count: int) -> list[str]:
    """``count`` evaluation questions of ``kind`` (round-robin over template families).

    Deterministic for a given resume and name; disjoint from the training pool's templates.
    """
    by_family: dict[int, list[str]] = {}
    for fam, _phr, question in _candidates(cfg, resume.text, "eval", kind):
        by_family.setdefault(fam, []).append(question)
    rng = random.Random(f"eval:{kind}")
    for items in by_family.values():
        rng.shuffle(items)
    columns = itertools.zip_longest(*by_family.values())
    flat = [q for row in columns for q in row if q is not None]
    return flat[:count]
