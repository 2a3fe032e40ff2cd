"""The eval sets are kept apart from training: no reference answer is a training answer, and
no eval question is a near-copy of any training question (across all intents).

Run: ``pytest tests/test_eval_disjoint.py`` (builds the template dataset of the sample
resume into a temporary folder, under a minute; no model is trained).

Measure: questions and answers are compared as bags of :func:`pipeline.metrics.tokens`
(case, accents and punctuation folded). An answer is a copy when its token sequence equals a
training answer's. A question is a near-copy when the Jaccard similarity of its token set
and a training question's reaches :data:`NEAR_COPY` (0.8: one changed content word in a
ten-word question stays under it; reordered or re-punctuated copies do not). Refusal
references are exempt: every refusal answer is the one fixed refusal sentence by design.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pipeline import metrics
from pipeline.config import load_config
from pipeline.dataset.build import build
from pipeline.harness.cases import EVAL_SETS

NEAR_COPY = 0.8
REPO = Path(__file__).resolve().parents[1]


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


@pytest.fixture(scope="module")
def training(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("disjoint")  # the repo's config, outputs in a temp folder

    raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    raw["default_profile"] = "cpu"
    raw["resume_path"] = str(REPO / raw["resume_path"])
    for key in ("dataset_output", "model_output", "merged_output", "onnx_output", "cache_dir"):
        raw[key] = str(tmp / raw[key])
    raw["evaluation"]["eval_data_dir"] = str(REPO / "data" / "eval")  # the committed sets, only read
    (tmp / "config.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    cfg = load_config(tmp / "config.yaml")
    art = build(cfg)
    rows = []
    for split in ("train.jsonl", "validation.jsonl"):
        for line in (art.path / split).read_text(encoding="utf-8").splitlines():
            msgs = json.loads(line)["messages"]
            rows.append((msgs[1]["content"], msgs[2]["content"]))
    return cfg, rows


def _eval_cases(cfg):
    folder = cfg.path(cfg.evaluation.eval_data_dir)
    for name in EVAL_SETS:
        for i, line in enumerate((folder / f"{name}.jsonl").read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                yield f"{name}.jsonl:{i}", json.loads(line)


def test_no_reference_answer_is_a_training_answer(training):
    cfg, rows = training
    answers = {tuple(metrics.tokens(a)) for _, a in rows}
    copies = [f"{where}: {case['reference_answer']!r}" for where, case in _eval_cases(cfg)
              if case["expected_behavior"] == "answer" and tuple(metrics.tokens(case["reference_answer"])) in answers]
    assert not copies, "eval references that are training answers:\n" + "\n".join(copies)


def test_no_eval_question_is_a_near_copy_of_a_training_question(training):
    cfg, rows = training
    questions = [(q, set(metrics.tokens(q))) for q, _ in rows]
    near = []
    for where, case in _eval_cases(cfg):
        mine = set(metrics.tokens(case["question"]))
        best = max(questions, key=lambda q: _jaccard(mine, q[1]))
        score = _jaccard(mine, best[1])
        if score >= NEAR_COPY:
            near.append(f"{where}: {case['question']!r} ~ training {best[0]!r} (Jaccard {score:.2f})")
    assert not near, "eval questions that near-copy training questions:\n" + "\n".join(near)


def test_the_measure_flags_copies_and_spares_paraphrases():
    def j(a, b):
        return _jaccard(set(metrics.tokens(a)), set(metrics.tokens(b)))

    assert j("Where does Maya work now?", "where does maya work now") == 1.0
    assert j("Where does Maya work now?", "Now, where does Maya work?") == 1.0
    assert j("Which company employs Maya at the moment?", "Where does Maya work now?") < NEAR_COPY
