"""Scorers of pipeline.metrics: every shared case with its expected value, plus properties."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import metrics as m
from pipeline.config import EvaluationSection

CASES = Path(__file__).resolve().parents[1].parent / "shared" / "cases"
MARKERS = EvaluationSection().refusal_markers

# Shared cases whose data contradicts their own stated purpose. The test still runs and
# fails loudly (strict xfail) the day the case or the scorer changes.
KNOWN_WRONG = {
    "too-many-words": "the text has 41 words (one sentence), not over 50: its expected value "
                      "contradicts its data; length_compliant correctly says True",
}


def _cases(name: str) -> list:
    path = CASES / name
    if not path.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{path} is absent (../shared missing)"))]
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            case = json.loads(line)
            marks = ([pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[case["id"]])]
                     if case["id"] in KNOWN_WRONG else [])
            out.append(pytest.param(case, id=case["id"], marks=marks))
    return out


@pytest.mark.parametrize("case", _cases("metrics.jsonl"))
def test_shared_metric_case(case):
    if case["kind"] == "exact_match":
        got = m.exact_match(case["reference"], case["prediction"])
    elif case["kind"] == "token_f1":
        got = m.token_f1(case["reference"], case["prediction"])
    elif case["kind"] == "keyword_coverage":
        got = m.keyword_coverage(case["response"], case["keywords"])
    else:
        pytest.fail(f"unknown kind {case['kind']!r} in metrics.jsonl")
    assert got == pytest.approx(case["expected"]), case["why"]


@pytest.mark.parametrize("case", _cases("behavior.jsonl"))
def test_shared_behavior_case(case):
    got = m.behavior_correct(case["expected_behavior"], case["response"], MARKERS)
    assert got is case["expected_correct"], case["why"]


@pytest.mark.parametrize("case", _cases("length.jsonl"))
def test_shared_length_case(case):
    got = m.length_compliant(case["text"], case["max_sentences"], case["max_words"])
    assert got is case["expected"], case["why"]


def test_too_many_words_case_really_has_41_words():
    text = ("John has worked on many things including compilers, databases, distributed systems, machine "
            "learning infrastructure, developer tooling, observability, networking, storage engines, query "
            "planners, schedulers, caches, consensus protocols, stream processing, search, ranking, "
            "recommendation, privacy, security, and a great deal more across his career.")
    assert (m.count_words(text), m.count_sentences(text)) == (41, 1)
    assert m.length_compliant(text, 2, 40) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Boğaziçi – “Straße” ’s", "bogazici strasse s"),
        ("He knows C++, C#, .NET and Node.js.", "he knows c++ c# .net and node.js"),
        ("GPA 3.97/4.00; uptime 99.97%; 2M+ users; 2,000 staff.", "gpa 3.97/4.00 uptime 99.97% 2m+ users 2000 staff"),
        ("Co-Founder & CTO (2019—2021)!", "co-founder cto 2019-2021"),
        ("don’t", "don't"),
        ("", ""),
    ],
)
def test_normalize_examples(text, expected):
    assert m.normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Dr. Smith met Mr. Jones at Acme Inc. in the U.S. last year.", 1),
        ("He worked at Acme Inc. He led the team.", 2),
        ("Tools, e.g. Rust and Go, i.e. systems languages.", 1),
        ("Wait… what? Yes!", 2),
        ("Version 2.1 shipped. Then 3.0 followed.", 2),
        ("   ", 0),
        ("...", 0),
    ],
)
def test_count_sentences_examples(text, sentences):
    assert m.count_sentences(text) == sentences


def test_refusal_rules():
    assert not m.is_refusal("", MARKERS) and not m.is_refusal(" \n", MARKERS)
    assert m.is_refusal("Sorry, I DON’T KNOW.", MARKERS)
    assert not m.is_refusal("I don't knowingly lie.", MARKERS)
    assert m.behavior_correct("answer", "She led 12 engineers.", MARKERS)
    assert not m.behavior_correct("answer", "I don't know.", MARKERS)
    with pytest.raises(ValueError, match="expected_behavior"):
        m.behavior_correct("maybe", "x", MARKERS)


def test_keyword_rules():
    assert m.keyword_coverage("Built on .NET and Node.js", [".NET", "node.js", "Node"]) == pytest.approx(2 / 3)
    assert m.keyword_coverage("Worked at Acme's lab", ["Acme"]) == 1.0
    assert m.keyword_coverage("machine learning at scale", ["machine learning", "learning machine"]) == 0.5
    assert m.keyword_coverage("anything", []) == 1.0
    assert m.missing_keywords("He used C", ["C++", "C"]) == ["C++"]


def test_infer_keywords_picks_distinctive_tokens():
    ref = "Maya worked at Nexus AI as Co-Founder & CTO from 2019 to 2021, using C++ and Python."
    assert m.infer_keywords(ref, exclude=["Maya Okonkwo-Lindqvist"]) == ["nexus", "ai", "co-founder", "cto", "2019"]
    assert m.infer_keywords("She is kind and patient.") == []


def test_percentile_matches_numpy_examples():
    assert m.percentile([1.0], 95) == 1.0
    assert m.percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    with pytest.raises(ValueError):
        m.percentile([], 95)


text_st = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)
word_st = st.text(alphabet="abcdefgh+#.-'", min_size=1, max_size=6)


@given(text_st, text_st)
def test_scores_are_bounded(a, b):
    for value in (m.exact_match(a, b), m.token_f1(a, b), m.keyword_coverage(a, b.split()),
                  m.fp32_alignment(a, b)):
        assert 0.0 <= value <= 1.0


@given(text_st, text_st)
def test_token_f1_symmetric(a, b):
    assert m.token_f1(a, b) == pytest.approx(m.token_f1(b, a))


@given(text_st)
def test_exact_match_and_f1_reflexive(a):
    assert m.exact_match(a, a) == 1.0
    assert m.token_f1(a, a) == 1.0


@given(text_st)
def test_normalize_idempotent(a):
    once = m.normalize(a)
    assert m.normalize(once) == once
    assert m.tokens(once) == m.tokens(a)


@given(st.lists(word_st, max_size=8), st.lists(word_st, max_size=8), st.lists(word_st, min_size=1, max_size=5))
def test_keyword_coverage_monotone_in_response(base, extra, keywords):
    """Appending text to a response never lowers its coverage."""
    short = " ".join(base)
    longer = short + " " + " ".join(extra)
    assert m.keyword_coverage(longer, keywords) >= m.keyword_coverage(short, keywords)


@given(text_st, st.integers(1, 5), st.integers(1, 60))
def test_length_compliance_monotone_in_limits(a, sentences, words):
    if m.length_compliant(a, sentences, words):
        assert m.length_compliant(a, sentences + 1, words + 1)


@given(text_st)
def test_empty_like_text_is_never_a_correct_refusal(a):
    blank = "".join(c for c in a if c.isspace())
    assert not m.behavior_correct("refuse", blank, MARKERS)
    assert not m.behavior_correct("answer", blank, MARKERS)


@given(st.lists(st.floats(0, 1e5, allow_nan=False), min_size=1, max_size=50), st.floats(0, 100))
def test_percentile_agrees_with_numpy(values, q):
    assert m.percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-9, abs=1e-9)
