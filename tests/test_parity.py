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
from pipeline.config import VARIANTS
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


@pytest.fixture(scope="module")
def external_onnx(tiny_onnx, tmp_path_factory):
    """The tiny model's variants written with external data (the >2 GB path, forced by a low
    limit): ``onnx/<file>_data`` beside each graph and ``use_external_data_format`` in config.json."""
    from pipeline.onnx import quantize as quantize_mod

    model_dir, cfg = tiny_onnx
    export_dir = tmp_path_factory.mktemp("external-export")
    for f in model_dir.iterdir():
        if f.is_file() and f.name != "manifest.json":
            (export_dir / f.name).write_bytes(f.read_bytes())
    (export_dir / "onnx").mkdir()
    (export_dir / "onnx" / "model.onnx").write_bytes((model_dir / "onnx" / "model.onnx").read_bytes())
    cfg = cfg.model_copy(update={"onnx_output": str(tmp_path_factory.mktemp("external-onnx")),
                                 "quantization": cfg.quantization.model_copy(update={"variants": ("fp32", "fp16", "int8", "q4")})})
    mp = pytest.MonkeyPatch()
    mp.setattr(quantize_mod, "_EXTERNAL_DATA_BYTES", 1000)
    try:
        art = quantize_mod.quantize(cfg, Artifact("exported", "external-" + "e" * 56, export_dir))
    finally:
        mp.undo()
    return art.path, cfg


@pytest.mark.parametrize("variant", ["model_fp16.onnx", "model_int8.onnx", "model_q4.onnx"])
def test_node_loads_external_data(external_onnx, variant):
    _skip_unless(parity.node_unavailable())
    model_dir, cfg = external_onnx
    assert (model_dir / "onnx" / f"{variant}_data").is_file()
    tjs = json.loads((model_dir / "config.json").read_text())["transformers.js_config"]
    assert tjs["use_external_data_format"][variant] == 1
    res = parity.check_variant(cfg, model_dir, variant, _questions(cfg), runtime="node")
    assert res.passed, res.summary() + "\n" + json.dumps(res.cases, indent=1)
