"""docs/knobs.md and the config schema stay in step: every knob documented, every documented knob real,
and the documented default of each profile equal to what config.yaml resolves to."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from pipeline.config import Config, load_config

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "knobs.md"
_CELL = re.compile(r"(?<!\\)\|")  # a table cell border: a pipe not escaped as \|


def _leaves(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        if name in ("profile", "root"):
            continue
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys |= _leaves(ann, f"{prefix}{name}.")
        else:
            keys.add(f"{prefix}{name}")
    return keys


def _documented() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip().replace("\\|", "|") for c in _CELL.split(line)]
        if len(cells) >= 5 and re.fullmatch(r"`[a-z0-9_.]+`", cells[1]):
            rows[cells[1].strip("`")] = (cells[2], cells[3])
    return rows


def _same(doc: str, actual: str) -> bool:
    try:
        return float(doc) == float(actual)
    except ValueError:
        return doc == actual


def _value(cfg: Config, dotted: str):
    obj = cfg
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _render(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) if value else "[]"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v:g}" for k, v in value.items())
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def test_every_knob_documented_and_every_documented_knob_real():
    schema = _leaves(Config)
    documented = set(_documented())
    assert not schema - documented, f"knobs missing from docs/knobs.md: {sorted(schema - documented)}"
    assert not documented - schema, f"docs/knobs.md documents unknown knobs: {sorted(documented - schema)}"


@pytest.mark.parametrize("profile, column", [("full", 0), ("cpu", 1)])
def test_documented_defaults_match_config(profile, column):
    cfg = load_config(REPO / "config.yaml", profile=profile)
    wrong = []
    for key, cells in _documented().items():
        doc = cells[column].strip("` ")
        actual = _render(_value(cfg, key))
        if not _same(doc.replace("`", ""), actual):
            wrong.append(f"{key}: doc says {doc!r}, config.yaml ({profile}) gives {actual!r}")
    assert not wrong, "\n".join(wrong)


def test_config_yaml_spells_out_every_knob():
    """config.yaml's header promises every knob at the top level: none may hide behind a schema default."""
    import yaml

    raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))

    def has(tree, dotted: str) -> bool:
        for part in dotted.split("."):
            if not isinstance(tree, dict) or part not in tree:
                return False
            tree = tree[part]
        return True

    missing = sorted(k for k in _leaves(Config) if not has(raw, k))
    assert not missing, f"config.yaml lacks these knobs at the top level: {missing}"


def _raw():
    import yaml

    return yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))


def _lookup(tree, dotted: str):
    for part in dotted.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return _MISSING
        tree = tree[part]
    return tree


_MISSING = object()


def test_full_profile_is_the_guides_reference_run():
    """The guide's full column is the default: what the full profile resolves to, and config.yaml's top level."""
    full = load_config(REPO / "config.yaml", profile="full")
    raw = _raw()
    assert not raw["profiles"].get("full"), "profiles.full must not override the reference values"
    wrong = []
    for key, (doc_full, _) in _documented().items():
        actual = _render(_value(full, key))
        top = _render(_lookup(raw, key))
        doc = doc_full.strip("` ").replace("`", "")
        if not (_same(doc, actual) and _same(doc, top)):
            wrong.append(f"{key}: guide {doc!r}, full profile {actual!r}, config.yaml top level {top!r}")
    assert not wrong, "\n".join(wrong)


# The reference values the knob guide prescribes for the full run (a regression guard for
# the values it once lacked: tight generation limits, short llm requests, every category).
REFERENCE = {
    "generation_limits.question_max_tokens": 64, "generation_limits.answer_max_tokens": 80,
    "generation_limits.min_question_length": 15, "generation_limits.min_answer_length": 15,
    "generation_limits.min_variation_length": 15, "generation_limits.max_question_words": 15,
    "generation_limits.max_answer_sentences": 2, "generation_limits.max_answer_words": 50,
    "validation.context_token_warn": 2000,
    "llm_defaults.temperature": 0.7, "llm_defaults.max_tokens": 128, "llm_defaults.variation_max_tokens": 64,
    "llm_defaults.long_question_skip_prob": 0.1,
    "dataset.include_military": True, "dataset.has_recommendations": True,
    "sft.dataloader_num_workers": 2, "evaluation.report_output": "data/eval_reports",
}


@pytest.mark.parametrize("key", sorted(REFERENCE))
def test_full_profile_has_the_reference_values(key):
    full = load_config(REPO / "config.yaml", profile="full")
    assert _value(full, key) == REFERENCE[key]
    assert _same(_documented()[key][0].strip("` "), _render(REFERENCE[key]))


def test_cpu_differs_from_full_only_where_its_profile_says_so():
    raw = _raw()
    full = load_config(REPO / "config.yaml", profile="full")
    cpu = load_config(REPO / "config.yaml", profile="cpu")
    differ = sorted(k for k in _leaves(Config) if _value(full, k) != _value(cpu, k))
    unset = [k for k in differ if _lookup(raw["profiles"]["cpu"], k) is _MISSING]
    assert not unset, f"cpu differs from full without setting it in profiles.cpu: {unset}"


def test_group_by_length_says_packing_replaces_it():
    text = _documented()["sft.group_by_length"]
    row = next(line for line in DOC.read_text(encoding="utf-8").splitlines() if "`sft.group_by_length`" in line)
    assert text and "packing replaces it" in row and "packing: false" in row
