"""The records every dataset module shares: :class:`Sample`, :class:`BackendResult`, the
enabled categories and the refusal sentence.

The leaf of :mod:`pipeline.dataset`: the backends (:mod:`~pipeline.dataset.template`,
:mod:`~pipeline.dataset.llm`), the filters, the refusal pools and the stage
(:mod:`~pipeline.dataset.build`, ``python -m pipeline dataset``) import from here, and this
module imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline import metrics
from pipeline.config import Config
from pipeline.errors import DatasetError
from pipeline.resume.ingest import CATEGORIES


@dataclass(frozen=True)
class Sample:
    """One Q/A pair before the split.

    Attributes:
        question: the user turn.
        answer: the assistant turn (third person, grounded; or the refusal sentence).
        category: a :data:`pipeline.resume.ingest.CATEGORIES` entry, or ``"refusal"``.
        fact_id: the source fact's id (``+``-joined for answers built from several facts;
            ``""`` for refusals).
        template: the phrasing id that produced the question (provenance).
        group: the question group (one fact + one intent); the split keeps groups together
            on the train side and holds out some of their phrasings.
        behavior: ``"answer"`` or ``"refuse"``.
        computed: words of the answer that the backend computed from the resume's own
            structure rather than copied (the ``4`` of "Maya has worked at 4 companies");
            the grounding check allows them.
    """

    question: str
    answer: str
    category: str
    fact_id: str
    template: str
    group: str
    behavior: str = "answer"
    computed: tuple[str, ...] = ()


@dataclass(frozen=True)
class BackendResult:
    """What a backend's ``generate(cfg, resume, work_dir)`` returns.

    Attributes:
        samples: candidate samples, at most ``samples_per_category`` per category.
        rejects: filter name → samples the backend itself rejected.
    """

    samples: list[Sample]
    rejects: dict[str, int] = field(default_factory=dict)


def enabled_categories(cfg: Config) -> tuple[str, ...]:
    """The categories the dataset covers: all but military/recommendations unless switched on."""
    return tuple(c for c in CATEGORIES
                 if (c != "military" or cfg.dataset.include_military)
                 and (c != "recommendations" or cfg.dataset.has_recommendations))


def refusal_answer(cfg: Config) -> str:
    """The one refusal sentence of the dataset, ``dataset.refusal_answer`` with the name filled in.

    Raises:
        DatasetError: the sentence contains none of ``evaluation.refusal_markers``.
    """
    text = cfg.dataset.refusal_answer.format(person_name=cfg.person_name, person_full_name=cfg.person_full_name)
    if not metrics.is_refusal(text, cfg.evaluation.refusal_markers):
        raise DatasetError(
            f"dataset.refusal_answer {text!r} contains none of evaluation.refusal_markers; "
            "make it contain one (e.g. \"I don't know\")"
        )
    return text
