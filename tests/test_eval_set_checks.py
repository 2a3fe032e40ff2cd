"""Eval cases that do not fit the resume are one clear message before anything is built.

Run: ``pytest tests/test_eval_set_checks.py``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.errors import DatasetError
from pipeline.harness.cases import check_eval_sets

REPO = Path(__file__).resolve().parents[1]


def _sets(write_config, tmp_path, edit=None):
    folder = tmp_path / "eval"
    folder.mkdir()
    for name in ("golden", "adversarial", "ood", "source"):
        suffix = ".json" if name == "source" else ".jsonl"
        shutil.copy(REPO / "data" / "eval" / f"{name}{suffix}", folder / f"{name}{suffix}")
    if edit:
        path = folder / "golden.jsonl"
        rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
        edit(rows)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cfg = load_config(write_config())
    return cfg.model_copy(update={"evaluation": cfg.evaluation.model_copy(update={"eval_data_dir": str(folder)})})


def test_committed_sets_fit_the_resume(write_config, tmp_path):
    check_eval_sets(_sets(write_config, tmp_path))


@pytest.mark.parametrize(("edit", "message"), [
    (lambda rows: rows[1]["tags"].append("kw:Northwnd Robotics"),
     "golden.jsonl:2: tag 'kw:Northwnd Robotics' does not occur in the resume"),
    (lambda rows: rows[2].update(reference_answer="She is a Staff Engineer at Spotify."),
     "golden.jsonl:3: reference_answer names spotify"),
    (lambda rows: rows[4].update(question=rows[0]["question"] + " "), "golden.jsonl:5: the same question as golden.jsonl:1"),
])
def test_cases_that_do_not_fit_are_named_with_the_fix(write_config, tmp_path, edit, message):
    cfg = _sets(write_config, tmp_path, edit)
    with pytest.raises(DatasetError) as err:
        check_eval_sets(cfg)
    assert message in str(err.value) and "1 eval case(s) do not fit" in str(err.value)
