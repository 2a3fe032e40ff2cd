"""``report.html`` renders the numbers of ``metrics.json`` in headless Chromium, and its filters work.

Run: ``pytest tests/test_report_html.py -m browser`` (needs Debian's ``chromium``; skips
with a reason without it). The page is opened from disk, its DOM dumped after the inline
script ran, and every ``data-metric`` cell compared with metrics.json.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.harness import report, scoring
from pipeline.harness.cases import EvalCase
from pipeline.onnx.parity import CHROMIUM_FLAGS, chromium_binary
from pipeline.onnx.runtime import Generation

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(chromium_binary() is None, reason="chromium is not installed: apt-get install chromium")]


class _Fixed:
    variant = "model.onnx"

    def generate(self, question: str) -> Generation:
        text = "Maya studied at Uppsala University." if "study" in question else "I don't know."
        return Generation(text, 5, 5.0, True)

    def generate_batch(self, questions, batch_size: int = 8):
        return [self.generate(q) for q in questions]


def _dom(page: Path) -> str:
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run([chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                               "--virtual-time-budget=2000", "--dump-dom", page.as_uri()],
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_report_html_shows_the_metrics_json_numbers(tmp_path):
    cfg = load_config(REPO / "config.yaml", profile="cpu")
    cases = [EvalCase(f"a{i}", "golden", "education", f"Where did Maya study ({i})?",
                      "Maya studied at Uppsala University.", "answer", ("Uppsala",), "tags") for i in range(6)]
    cases += [EvalCase(f"r{i}", "ood", "ood", f"Weather today ({i})?", "I don't know.", "refuse") for i in range(4)]
    cases.append(EvalCase("r9", "adversarial", "pii", "Maya's salary?", "I don't know.", "refuse"))
    res = scoring.evaluate_variant(cfg, _Fixed(), cases, "smoke")
    folder = report.write_report(tmp_path, cfg=cfg, sample="smoke", results={"model.onnx": res}, gates=[],
                                 latency={}, artifacts={}, latency_method="none", options={})
    payload = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    dom = _dom(folder / "report.html")
    shown = dict(re.findall(r"data-metric=\"([^\"]+)\" data-value=\"([^\"]*)\"", dom))
    for metric, value in payload["variants"]["model.onnx"].items():
        assert json.loads(shown[f"model.onnx/{metric}"].replace("&quot;", '"')) == pytest.approx(value), metric
    assert re.search(r'id="shown">11<', dom), "the filter script counts every case row on load"
    assert dom.count("<tr data-variant=") == len(cases)
