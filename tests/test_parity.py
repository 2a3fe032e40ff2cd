"""transformers.js parity on a tiny exported model: Node (onnxruntime-node) and headless Chromium
(onnxruntime-web WASM) against pipeline.onnx.runtime.Generator, per ONNX variant.

Run: ``pytest tests/test_parity.py -m browser`` (needs ``npm ci --prefix js``; Chromium from the
Debian ``chromium`` package for the browser half). The embedded default's variants are checked
with ``python -m pipeline.onnx.parity`` on the real artifacts.

The tiny model's weights are scaled up so its greedy output varies from token to token and
from question to question (the plain random init repeats one token); any difference in
tokenizer, chat template, repetition penalty or KV-cache handling then changes the text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cache import Artifact
from pipeline.config import VARIANTS, load_config
from pipeline.onnx import parity

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
# Inputs only (the outputs compared are whatever the model says): used when the repo's eval
# sets (data/eval/*.jsonl, bootstrapped by `python -m pipeline dataset`) are absent.
_FALLBACK_QUESTIONS = (
    "Where does Maya work now?", "What did Maya study, and where?", "Which programming languages does Maya use?",
    "What is Maya's favourite movie?", "Tell me about Maya's leadership experience.",
)
_N = 5


@pytest.fixture(scope="session")
def tiny_onnx(tiny_model_dir, tmp_path_factory) -> tuple[Path, object]:
    """(folder with onnx/model*.onnx, config) for the tiny model: export + quantize stage functions."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pipeline.onnx.export import export
    from pipeline.onnx.quantize import quantize

    root = tmp_path_factory.mktemp("parity")
    sharp = root / "sharp-model"
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.mul_(4.0)
    model.save_pretrained(sharp)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(sharp)
    cfg_file = root / "config.yaml"
    cfg_file.write_text(
        "person_name: Maya\nperson_full_name: Maya Okonkwo-Lindqvist\nresume_path: r.md\n"
        f"cache_dir: {root / 'cache'}\nonnx_output: {root / 'onnx'}\n"
        f"evaluation:\n  eval_data_dir: {REPO / 'data' / 'eval'}\n"
        "inference:\n  max_new_tokens: 16\n  repetition_penalty: 1.2\n"
        # Larger logits than a real model: the fp32 export's absolute logit error grows with them.
        "export:\n  logit_tolerance: 1.0\n", encoding="utf-8")
    cfg = load_config(cfg_file)
    exported = export(cfg, Artifact("merged", "s" * 64, sharp))
    return quantize(cfg, exported).path, cfg


def _questions(cfg) -> list[str]:
    try:
        return parity.eval_questions(cfg, _N)
    except parity.ParityError:
        return list(_FALLBACK_QUESTIONS)


def _skip_unless(reason: str | None) -> None:
    if reason:
        pytest.skip(reason)


@pytest.mark.parametrize("variant", VARIANTS)
def test_node_parity(tiny_onnx, variant):
    _skip_unless(parity.node_unavailable())
    model_dir, cfg = tiny_onnx
    res = parity.check_variant(cfg, model_dir, variant, _questions(cfg), runtime="node")
    print(res.summary())
    assert len(res.cases) >= _N
    assert len({c["python"] for c in res.cases}) > 1, "degenerate model: every answer is the same"
    assert res.passed, res.summary() + "\n" + json.dumps(res.cases, indent=1)


@pytest.mark.parametrize("variant", VARIANTS)
def test_chromium_parity(tiny_onnx, variant):
    _skip_unless(parity.chromium_unavailable())
    model_dir, cfg = tiny_onnx
    res = parity.check_variant(cfg, model_dir, variant, _questions(cfg), runtime="chromium")
    print(res.summary())
    assert res.passed, res.summary() + "\n" + json.dumps(res.cases, indent=1)


def test_compare_rules():
    """fp32 needs identical text; quantized variants pass on mean token F1 >= threshold."""
    js = {"results": [{"question": "q1", "text": "led a team of six"}, {"question": "q2", "text": "Gothenburg"}]}
    same = parity.compare("model.onnx", "node", ["led a team of six", "Gothenburg"], js, 0.7)
    assert same.passed and same.identical == 2 and same.agreement == 1.0
    near = parity.compare("model.onnx", "node", ["led a team of seven", "Gothenburg"], js, 0.7)
    assert not near.passed and near.identical == 1
    assert parity.compare("model_q4.onnx", "node", ["led a team of seven", "Gothenburg"], js, 0.7).passed
    assert not parity.compare("model_q4.onnx", "node", ["nothing alike", "Stockholm"], js, 0.7).passed
    with pytest.raises(parity.ParityError):
        parity.compare("model_q4.onnx", "node", ["only one"], js, 0.7)


def test_missing_node_modules_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(parity, "JS_DIR", tmp_path)
    reason = parity.node_unavailable()
    assert reason is not None and ("npm ci --prefix js" in reason or "node is not on PATH" in reason)
