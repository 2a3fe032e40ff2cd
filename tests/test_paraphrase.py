"""The ``hybrid`` dataset backend (:mod:`pipeline.dataset.paraphrase`): which rephrasings are kept.

Run: ``pytest tests/test_paraphrase.py``. The model is stubbed here (its outputs are the cases);
one slow test runs the real embedded base model on a few phrasings.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.config import load_config
from pipeline.dataset import build as dataset
from pipeline.dataset import paraphrase, template
from pipeline.dataset.filters import normalize_question

NAMES = ["Ada", "Babbage Engines"]
SOURCE = "What was Ada's role at Babbage Engines?"


@pytest.mark.parametrize("question, kind", [
    ("When did Ada join Babbage Engines?", "when"),
    ("In what year did Ada start at Babbage Engines?", "when"),
    ("Where did Ada work as Analyst?", "where"),
    ("How many engineers did Ada lead?", "how_many"),
    ("For how many years was Ada at Babbage Engines?", "how_many"),
    ("How long did Ada work at Babbage Engines?", "how_long"),
    ("Does Ada know Python?", "yes_no"),
    ("Do you know when Ada joined Babbage Engines?", "when"),
    ("At which company was Ada an Analyst?", "what"),
    ("Who recommended Ada?", "who"),
    ("Tell me about Ada.", "other"),
])
def test_question_class(question, kind):
    assert paraphrase.question_class(question) == kind


@pytest.mark.parametrize("variation, problem", [
    ("What position did Ada hold at Babbage Engines?", None),
    ("Which role did Ada have at Babbage Engines?", None),
    ("Ada was an Analyst at Babbage Engines.", "variation_not_question"),
    ("Yes, Ada was an Analyst at Babbage Engines?", "variation_answers"),
    ("Ada's role at Babbage Engines was what?", "variation_answers"),
    ("Where did Ada have a role at Babbage Engines?", "variation_class"),
    ("What was Ada's role at the company?", "variation_lost_name"),
    ("What was Maya's role at Babbage Engines?", "variation_lost_name"),
    ("What did Ada eat at Babbage Engines?", "variation_lost_content"),
    ("what was ada's role at babbage engines", "variation_not_question"),
    ("What was Ada's role at Babbage Engines?", "variation_same"),
    ("What was Ada's role at Babbage Engines before John joined Acme Corp?", "variation_copies_example"),
])
def test_variation_problem(variation, problem):
    assert paraphrase.variation_problem(variation, SOURCE, NAMES) == problem


def test_a_date_question_never_becomes_a_place_question():
    """The failure seen with the embedded model: 'When did ...' rephrased as 'Where did ...'."""
    assert paraphrase.variation_problem("Where did Ada start at Babbage Engines?",
                                        "When did Ada start at Babbage Engines?", NAMES) == "variation_class"


@pytest.mark.parametrize("raw, cleaned", [
    ("What position did Ada hold?\nAnother line", "What position did Ada hold?"),
    ("1. \"What position did Ada hold?\" extra", "What position did Ada hold?"),
    ("  - Which role?  ", "Which role?"),
    ("", ""),
])
def test_clean_variation(raw, cleaned):
    assert paraphrase.clean_variation(raw) == cleaned


def test_to_template_puts_placeholders_back():
    slots = {"organization": "Babbage Engines", "title": "Analyst"}
    assert paraphrase.to_template("Which job did Ada have at babbage engines as Analyst?", slots, "Ada") == \
        "Which job did {name} have at {organization} as {title}?"
    assert paraphrase.to_template("Which job did Ada have?", slots, "Ada") is None
    assert paraphrase.to_template("Which {job} did Ada have at Babbage Engines as Analyst?", slots, "Ada") is None


@given(st.text(min_size=1, max_size=40).filter(lambda s: "{" not in s and "}" not in s))
def test_to_template_round_trips(noise):
    """Filling the template back in with the same values gives the variation again (up to case)."""
    slots = {"organization": "Babbage Engines"}
    variation = f"At Babbage Engines, what did Ada do {noise}?"
    pattern = paraphrase.to_template(variation, slots, "Ada")
    if pattern is not None:
        assert normalize_question(pattern.format(name="Ada", **slots)) == normalize_question(variation)


def _hybrid_cfg(write_config, **dataset_knobs):
    return load_config(write_config({"person_name": "Ada", "person_full_name": "Ada Byron",
                                     "dataset": {"backend": "hybrid", **dataset_knobs}}))


def test_hybrid_backend_keeps_answers_and_adds_checked_phrasings(write_config, ada_resume):
    """A stub model that rewrites 'What was' as 'Which was' for role questions and answers otherwise."""
    cfg = _hybrid_cfg(write_config, variations_per_question=3)
    asked: list[tuple[str, int]] = []

    def rephrase(questions, n):
        asked.extend((q, n) for q in questions)
        return [[q.replace("What was", "Which was").replace("What job title", "Which job title"),
                 "Ada is great.", q] for q in questions]

    resume = ada_resume
    result = paraphrase.generate(cfg, resume, Path("."), rephrase=rephrase)
    plain = template.generate(cfg, resume, Path("."))
    assert asked and all(n == 2 for _, n in asked)  # variations_per_question - 1 per phrasing
    # one request per train phrasing of every intent in use, not per group
    groups = template.question_groups(cfg, resume)
    intents = {(g.category, g.intent): g for g in groups}
    assert len(asked) == sum(len(template.phrasings(cfg, g)) for g in intents.values())
    # the answers are the template backend's, group by group
    assert {(s.group, s.answer) for s in result.samples} == {(s.group, s.answer) for s in plain.samples}
    assert len(result.samples) == len(plain.samples)
    llm = [s for s in result.samples if f".{paraphrase.VARIATION_PREFIX}" in s.template]
    assert llm and all(s.question.startswith("Which") for s in llm)
    assert result.rejects["variation_not_question"] > 0 and result.rejects["variation_same"] > 0


def test_no_variations_requested_with_one_phrasing_per_group(write_config, ada_resume):
    cfg = _hybrid_cfg(write_config, variations_per_question=1)

    def rephrase(questions, n):
        raise AssertionError("no rephrasing should be asked for")

    result = paraphrase.generate(cfg, ada_resume, Path("."), rephrase=rephrase)
    assert result.samples


def test_hybrid_dispatch_and_cache_key(write_config):
    cfg = _hybrid_cfg(write_config)
    assert dataset._backend(cfg) is paraphrase.generate
    key, _ = dataset._key(cfg, "sha")
    moved_temp, _ = dataset._key(_hybrid_cfg(write_config, temperatures={"variation": 0.5}), "sha")
    moved_question_temp, _ = dataset._key(_hybrid_cfg(write_config, temperatures={"question": 0.5}), "sha")
    assert moved_temp != key  # the rephrasing temperature shapes the data
    assert moved_question_temp == key  # the llm backend's question temperature does not
    tokens = load_config(write_config({"person_name": "Ada", "person_full_name": "Ada Byron",
                                       "dataset": {"backend": "hybrid"}, "llm_defaults": {"variation_max_tokens": 9}}))
    assert dataset._key(tokens, "sha")[0] != key


@pytest.mark.slow
def test_embedded_model_rephrases_into_kept_variations(write_config):
    """The real embedded base model: some rephrasings of a few phrasings pass every check."""
    cfg = _hybrid_cfg(write_config, variations_per_question=3, temperatures={"variation": 0.7})
    rephrase = paraphrase.TransformersRephraser(cfg, batch_size=4)
    questions = ["What was Ada's role at Babbage Engines?", "When did Ada join Babbage Engines?",
                 "Which languages does Ada know?", "What did Ada study at Home Tutoring?"]
    replies = rephrase(questions, 2)
    assert len(replies) == 4 and all(len(r) == 2 for r in replies)
    assert any(paraphrase.variation_problem(paraphrase.clean_variation(r), q, ["Ada"]) is None
               for q, rs in zip(questions, replies, strict=True) for r in rs)


def test_variations_benchmark_prints_counts(write_config, load_benchmark, capsys, monkeypatch):
    """benchmarks/variations.py with a stub model: JSON with kept + rejected == requested."""
    import json

    bench = load_benchmark("variations")

    class Stub:
        def __init__(self, cfg):
            pass

        def __call__(self, questions, n):
            return [[q.replace("What", "Which", 1), "No idea."][:n] + [q] * max(0, n - 2) for q in questions]

    monkeypatch.setattr(paraphrase, "TransformersRephraser", Stub)
    assert bench.main(["--config", str(write_config()), "--show", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kept"] + sum(out["rejects"].values()) == out["requested"] > 0
    assert out["kept"] > 0 and len(out["examples"]) <= 3


def test_rephrasing_length_is_capped_by_the_question_limit(write_config):
    """variation_max_tokens acts below the question limit; above it, the limit caps (longer replies are rejected)."""
    small = _hybrid_cfg(write_config)
    small = small.model_copy(update={"llm_defaults": small.llm_defaults.model_copy(update={"variation_max_tokens": 9})})
    assert paraphrase.TransformersRephraser(small).max_new_tokens == 9
    big = small.model_copy(update={"llm_defaults": small.llm_defaults.model_copy(update={"variation_max_tokens": 999})})
    assert paraphrase.TransformersRephraser(big).max_new_tokens == big.generation_limits.question_max_tokens
