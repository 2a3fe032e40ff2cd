"""Bullet parsing and per-bullet question groups of the template backend.

Run: ``pytest tests/test_bullets.py`` (seconds; no model). The right values are read off the
bullets themselves: the verb a bullet opens with, what it counts, what changed "by N%".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import load_config
from pipeline.dataset import bullets, template
from pipeline.dataset.filters import grounding_problems
from pipeline.resume.ingest import ingest, publication_lines

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "resumes"


@pytest.mark.parametrize("line, base, topic", [
    ("Led a team of 6 engineers that rebuilt the stack, cutting mis-picks by 40%.", "lead", "team of 6 engineers"),
    ("Designed an on-device speech command model that runs in 12 ms", "design", "on-device speech command model"),
    ("Organises monthly meetups for 250+ members", "organise", "monthly meetups"),
    ("Cut model training cost by 55% by moving feature extraction", "cut", "model training cost"),
    ("Built foundation model infrastructure serving 2M+ monthly API requests", "build",
     "foundation model infrastructure"),
    ("Implemented novel self-supervised learning framework for low-resource modeling", "implement",
     "novel self-supervised learning framework"),
    ("Shipped a triage assistant used by 3 hospital networks", "ship", "triage assistant"),
])
def test_opening_verb_and_object(line, base, topic):
    b = bullets.parse(line)
    assert b.verb is not None and b.verb.base == base
    assert b.topic == topic


@pytest.mark.parametrize("line", [
    "GPA: 3.97/4.00", "Minor in Mathematics; Dean's List for 8 quarters.", "Awarded the unit's commendation",
    "Adopted by 3 major AI labs, 8,500+ GitHub stars", "Courses: DB1101 - Basic SQL", "Patent: granted 2024",
])
def test_lines_without_an_active_opening_verb(line):
    assert bullets.parse(line).verb is None


def test_counts_and_amounts():
    b = bullets.parse("Led a team of 6 engineers that rebuilt the stack, cutting mis-picks by 40%.")
    assert [(c.number, c.noun, c.verb.base, c.in_object) for c in b.counts] == [("6", "engineers", "lead", True)]
    assert [(a.verb.base, a.what, a.amount) for a in b.amounts] == [("cut", "mis-picks", "40%")]
    b = bullets.parse("Introduced an offline evaluation harness with 340+ regression scenarios")
    assert [(c.number, c.noun, c.in_object) for c in b.counts] == [("340+", "regression scenarios", False)]
    b = bullets.parse("Developed proprietary inference optimization reducing latency by 73% compared to baseline")
    assert [(a.verb.base, a.what) for a in b.amounts] == [("reduce", "latency")]
    # A passive participle after a comma is not something the person did ("cited 340+ times").
    assert not [c for c in bullets.parse("ICML 2022 paper, cited 340+ times within two years").counts if c.verb]
    # "from 3 to 28 across ..." counts nothing.
    assert not bullets.parse("Scaled engineering team from 3 to 28 across ML research").counts


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200))
def test_parse_never_raises_and_topic_is_in_the_line(line):
    b = bullets.parse(line)
    assert all(w in b.text for w in b.topic.split())
    assert all(c.number in b.text for c in b.counts)


@pytest.fixture(scope="module")
def maya():
    cfg = load_config(REPO / "config.yaml", profile="cpu")
    return cfg, ingest(cfg.path(cfg.resume_path))


def test_every_bullet_of_every_entry_gets_a_question(maya):
    """Issue: only the first two bullets of a job had questions; now each has its own."""
    cfg, resume = maya
    groups = template.question_groups(cfg, resume)
    asked = {fid for g in groups for fid in g.fact_id.split("+")}
    bullet_facts = [f for f in resume.facts if f.category in ("work_experience", "military", "leadership")
                    and not any(v and v in f.text for k, v in f.fields.items() if k in ("organization", "title"))]
    assert bullet_facts, "the sample resume has bullets"
    missing = [f.text for f in bullet_facts if f.id not in asked]
    assert not missing, missing


def test_questions_of_new_intents_and_their_answers(maya):
    cfg, resume = maya
    by_q = {template.phrasings(cfg, g)[0][1]: g.answer for g in template.question_groups(cfg, resume)}
    assert "6 engineers" in by_q["How many engineers did Maya lead at Northwind Robotics?"]
    assert "40%" in by_q["By how much did Maya cut mis-picks?"]
    assert by_q["Is Maya still at Tidewater Analytics?"].startswith("No, ")
    assert by_q["Did Maya work at Kestrel Health?"].startswith("Yes, ")
    assert "3.97" in by_q["What was Maya's master's GPA?"] and "3.82" in by_q["What was Maya's bachelor's GPA?"]
    assert "Lumen Maps" in by_q["Where did Maya intern?"]
    assert by_q["How many jobs has Maya had?"].startswith("Maya has worked at 4 companies")
    assert by_q["Did Maya serve in the military?"].startswith("Yes, ")
    assert "VP Engineering" in by_q["Who is Daniel Hoffmann?"]


def test_every_answer_is_grounded_and_yes_answers_start_with_yes(maya):
    cfg, resume = maya
    names = (cfg.person_name, cfg.person_full_name)
    for g in template.question_groups(cfg, resume):
        assert not grounding_problems(g.answer, resume.text, (*names, *g.computed)), g
        if g.intent.endswith("_yes") or g.intent == "bullet_yes":
            assert g.answer.startswith("Yes, "), g


def test_computed_count_comes_from_the_entries(maya):
    cfg, resume = maya
    count = next(g for g in template.question_groups(cfg, resume) if g.intent == "count")
    employers = {f.fields["organization"] for f in resume.facts
                 if f.category == "work_experience" and f.fields.get("organization")}
    assert count.computed[0] == str(len(employers))


def test_publication_lines_drop_coauthors_and_join_venues():
    lines = ["Sparse Routing for Trillion-Parameter Models John Doe, Sarah Williams, David Park",
             "10.1234/neurips.2023.1234 (NeurIPS 2023) (July 2023)",
             "Neural Architecture Search via Differentiable Pruning", "James Liu, John Doe",
             "10.1234/neurips.2022.5678 (NeurIPS 2022, Spotlight) (Dec 2022)"]
    assert publication_lines(lines, "John Doe") == [
        "Sparse Routing for Trillion-Parameter Models (NeurIPS 2023) (July 2023)",
        "Neural Architecture Search via Differentiable Pruning (NeurIPS 2022, Spotlight) (Dec 2022)"]
    assert publication_lines(["A paper by Ann Lee, Bo Chan"], "John Doe") == ["A paper by Ann Lee, Bo Chan"]


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/resumes is not present")
def test_john_doe_pdf_gives_no_coauthor_or_doi_achievements():
    """Issue: "WHAT IS JOHN'S MARIA GARCIA?" → "John's achievements include Maria Garcia, ..."."""
    cfg = load_config(REPO / "config.yaml", profile="cpu")
    cfg = cfg.model_copy(update={"resume_path": str(SHARED / "john_doe_classic.pdf"), "person_name": "John",
                                 "person_full_name": "John Doe",
                                 "dataset": cfg.dataset.model_copy(update={"include_military": False,
                                                                           "has_recommendations": False})})
    resume = ingest(SHARED / "john_doe_classic.pdf")
    groups = template.question_groups(cfg, resume)
    text = "\n".join(f"{template.phrasings(cfg, g)[0][1]} {g.answer}" for g in groups)
    for bad in ("Maria Garcia", "Kevin Wu", "Sarah Williams", "10.1234/"):
        assert bad not in text
    pubs = [g for g in groups if g.intent == "section_all" and g.slots["kind"] == "publications"]
    assert pubs and "Neural Architecture Search via Differentiable Pruning" in pubs[0].answer


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/resumes is not present")
def test_quality_benchmark_smoke_on_a_tiny_model(write_config, tiny_model_dir, tmp_path, capsys, load_benchmark):
    """benchmarks/quality.py end to end on the tiny model: trains on John Doe, prints every gate."""
    import json

    quality = load_benchmark("quality")
    config = write_config({"model": {"base": str(tiny_model_dir)},
                           "dataset": {"samples_per_category": 6, "variations_per_question": 2},
                           "lora": {"r": 4, "alpha": 8}, "sft": {"epochs": 1, "batch_size": 8, "max_length": 128},
                           "evaluation": {"max_new_tokens": 4, "batch_size": 8}})
    eval_dir = REPO / "data" / "eval" / "examples" / "john_doe"
    code = quality.main(["--config", str(config), "--resume", str(SHARED / "john_doe_classic.rendercv.yaml"),
                         "--eval-dir", str(eval_dir), "--variants", "model.onnx,model_q4.onnx",
                         "--work-dir", str(tmp_path / "quality")])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["person_name"] == "John" and (tmp_path / "quality" / "john_doe_classic.rendercv").is_dir()
    n_golden = sum(1 for line in (eval_dir / "golden.jsonl").read_text(encoding="utf-8").splitlines() if line.strip())
    assert out["cases"]["golden"] == n_golden
    q4 = out["variants"]["model_q4.onnx"]["gates"]
    assert set(q4) == {"exact_match_rate", "token_f1", "keyword_coverage", "refusal_accuracy",
                       "response_length_compliance", "behavior_accuracy", "fp32_alignment"}
    for gate in q4.values():
        assert 0.0 <= gate["value"] <= 1.0 and gate["ci"][0] <= gate["value"] <= gate["ci"][1]
        assert gate["passed"] == (gate["value"] >= gate["threshold"])


def test_quality_benchmark_refuses_a_missing_eval_dir(tmp_path, capsys, load_benchmark):
    """A missing --eval-dir is one error line and exit 2, before anything is built or bootstrapped."""

    quality = load_benchmark("quality")
    missing = tmp_path / "no-such-dir"
    code = quality.main(["--resume", str(REPO / "data/resume/maya_okonkwo_lindqvist.md"),
                         "--eval-dir", str(missing), "--work-dir", str(tmp_path / "work")])
    err = capsys.readouterr().err
    assert code == 2 and "--eval-dir" in err and "golden.jsonl" in err
    assert not missing.exists() and not (tmp_path / "work").exists()


def test_quality_benchmark_set_overrides_one_knob(tmp_path, capsys, load_benchmark):
    """--set KEY=VALUE reaches the resolved config (YAML-typed); a malformed item is one error line, exit 2."""
    import argparse

    quality = load_benchmark("quality")
    args = argparse.Namespace(config=str(REPO / "config.yaml"), profile="cpu",
                              resume=str(REPO / "data/resume/maya_okonkwo_lindqvist.md"),
                              eval_dir=str(REPO / "data/dev/maya"), name=None, full_name=None,
                              military=False, recommendations=False, work_dir=str(tmp_path / "w"),
                              set=["sft.epochs=1.9", "lora.r=32"])
    cfg = quality.configure(args)
    assert cfg.sft.epochs == 1.9 and cfg.lora.r == 32
    code = quality.main(["--resume", args.resume, "--eval-dir", args.eval_dir, "--set", "sft.epochs",
                         "--work-dir", str(tmp_path / "w")])
    err = capsys.readouterr().err
    assert code == 2 and "KEY=VALUE" in err and not (tmp_path / "w").exists()
