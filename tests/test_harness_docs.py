"""docs/harness.md's metric table is the registry ``pipeline.harness.scoring.METRICS`` in words.

Run: ``pytest tests/test_harness_docs.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.harness.scoring import METRICS

DOC = Path(__file__).resolve().parents[1] / "docs" / "harness.md"


def test_metrics_table_matches_the_registry():
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("<!-- metrics-table -->"):text.index("<!-- /metrics-table -->")]
    rows = [[c.strip().strip("`") for c in line.strip("|").split("|")] for line in table.splitlines()[3:]
            if line.startswith("|")]
    expected = [[m.name, m.cases_doc, m.threshold_key, m.case_min_key or "–"] for m in METRICS]
    assert rows == expected


def test_every_option_is_documented():
    text = DOC.read_text(encoding="utf-8")
    plugin = (Path(__file__).resolve().parents[1] / "pipeline" / "harness" / "plugin.py").read_text(encoding="utf-8")
    for option in re.findall(r'addoption\("(--rc-[a-z-]+)"', plugin):
        assert f"`{option}" in text, option
