"""Shortcut models must fail the committed gates: a PASS has to mean more than a trick.

Run: ``pytest tests/test_shortcuts.py``. No model: fixed responders go through the same
scoring and gate code as a variant, on the committed hand-written eval sets
(``data/eval/{golden,adversarial,ood}.jsonl``) at the default thresholds.

- always "I don't know": maximizes refusal recall;
- always one plausible answer about the person: never refuses;
- refuses exactly when the question does not name the person, and otherwise answers with
  the reference itself where there is one (an oracle on named answer cases): the shortcut a
  model learns when every refusal it trained on lacks the name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.dataset.samples import refusal_answer
from pipeline.harness import gates, scoring
from pipeline.harness.cases import EVAL_SETS, load_eval_set
from pipeline.onnx.runtime import Generation

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def setup():
    cfg = load_config(REPO / "config.yaml", profile="cpu")
    folder = cfg.path(cfg.evaluation.eval_data_dir)
    cases = [c for name in EVAL_SETS
             for c in load_eval_set(folder / f"{name}.jsonl", name, (cfg.person_full_name, cfg.person_name))]
    return cfg, cases


class _Responder:
    variant = "model.onnx"

    def __init__(self, answer) -> None:
        self.answer = answer

    def generate(self, question: str) -> Generation:
        text = self.answer(question)
        return Generation(text, len(text.split()), 1.0, True)

    def generate_batch(self, questions, batch_size: int = 8):
        return [self.generate(q) for q in questions]


def _failed_gates(cfg, cases, answer) -> list[str]:
    res = scoring.evaluate_variant(cfg, _Responder(answer), cases, "full")
    return [m for m in scoring.GATES if gates.gate_check(cfg, res, m).passed is False]


def _names(cfg) -> re.Pattern:
    parts = {cfg.person_name, cfg.person_full_name, *cfg.person_full_name.split()}
    return re.compile("|".join(re.escape(p) for p in sorted(parts, key=len, reverse=True)), re.IGNORECASE)


def test_the_sets_are_big_enough_to_matter(setup):
    cfg, cases = setup
    answers = [c for c in cases if c.expected_behavior == "answer"]
    refusals = [c for c in cases if c.expected_behavior == "refuse"]
    assert len(answers) >= 80 and len(refusals) >= 80
    named = [c for c in refusals if _names(cfg).search(c.question)]
    assert len(named) / len(refusals) > 0.5, "most refuse cases must name the person"


def test_always_refusing_fails(setup):
    cfg, cases = setup
    failed = _failed_gates(cfg, cases, lambda q: refusal_answer(cfg))
    assert {"behavior_accuracy", "token_f1", "keyword_coverage"} <= set(failed)


def test_always_answering_the_same_fails(setup):
    cfg, cases = setup
    fixed = f"{cfg.person_full_name} is a Staff Machine Learning Engineer at Northwind Robotics."
    failed = _failed_gates(cfg, cases, lambda q: fixed)
    assert {"refusal_accuracy", "behavior_accuracy"} <= set(failed)


def test_refusing_when_the_name_is_missing_fails(setup):
    cfg, cases = setup
    names = _names(cfg)
    reference = {c.question: c.reference for c in cases if c.expected_behavior == "answer"}
    fallback = f"{cfg.person_name} works at Northwind Robotics."

    def shortcut(question: str) -> str:
        if not names.search(question):
            return refusal_answer(cfg)
        return reference.get(question, fallback)

    failed = _failed_gates(cfg, cases, shortcut)
    assert "refusal_accuracy" in failed
