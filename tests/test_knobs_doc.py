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
        return ", ".join(str(v) for v in value)
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
