"""Loading a staged model repo as from the Hub: the model card's snippet, no dtype, Node and Chromium.

Run: ``pytest tests/test_hub_local.py -m browser`` (needs ``npm ci --prefix js``; Chromium from
Debian's ``chromium`` package for the browser half).
"""

from __future__ import annotations

import json

import pytest

from pipeline.config import VARIANTS
from pipeline.metrics import token_f1
from pipeline.onnx import parity
from pipeline.onnx.runtime import Generator
from pipeline.publish.cards import EvalReport
from pipeline.publish.hub_local import HubLoadError, card_snippet, run_card_snippet, serve
from pipeline.publish.publish import device_dtypes, stage_model

REPO_ID = "maya/resume-chat"


def _report(tmp_path, failed=()) -> EvalReport:
    return EvalReport(path=tmp_path, timestamp="20261202T000000Z", metrics={v: {"token_f1": 0.5} for v in VARIANTS},
                      passed=not failed, failed_gates=tuple(failed))


def test_device_dtypes_follow_the_gates(tmp_path):
    every = list(VARIANTS)
    assert device_dtypes(_report(tmp_path), every) == {"wasm": "q4", "cpu": "q4", "webgpu": "q4f16"}
    failed = ["test_gate[model_q4.onnx-token_f1]", "test_fp32_alignment[model_q4f16.onnx]",
              "test_p95_latency[model_quantized.onnx]"]  # latency is not a browser measurement
    assert device_dtypes(_report(tmp_path, failed), every) == {"wasm": "q8", "cpu": "q8", "webgpu": "fp16"}
    everything_fails = [f"test_gate[{v}-token_f1]" for v in VARIANTS] + ["test_gate[model_q4.onnx-exact_match_rate]"]
    assert device_dtypes(_report(tmp_path, everything_fails), every)["wasm"] == "q8"  # fewest failures, smallest
    assert device_dtypes(_report(tmp_path), ["model.onnx", "model_int8.onnx"]) == {
        "wasm": "int8", "cpu": "int8", "webgpu": "fp32"}
    assert device_dtypes(None, every) == {}


@pytest.fixture(scope="module")
def staged(tiny_onnx, tiny_model_dir, tmp_path_factory):
    """A staged model repo of the tiny model whose report failed q4 and q4f16 (so q8 is the default)."""
    model_dir, cfg = tiny_onnx
    tree = tmp_path_factory.mktemp("staged")
    report = _report(tree, ["test_gate[model_q4.onnx-token_f1]", "test_gate[model_q4f16.onnx-token_f1]"])
    stage_model(cfg, model_dir, tiny_model_dir, report, tree, repo_id=REPO_ID, allow_failing=True)
    return tree, model_dir, cfg


def test_staged_config_names_device_defaults_and_leaves_the_artifact_alone(staged):
    tree, model_dir, _ = staged
    tjs = json.loads((tree / "config.json").read_text())["transformers.js_config"]
    assert tjs["device_config"] == {"wasm": {"dtype": "q8"}, "cpu": {"dtype": "q8"}, "webgpu": {"dtype": "fp16"}}
    assert "device_config" not in json.loads((model_dir / "config.json").read_text())["transformers.js_config"]
    card = (tree / "README.md").read_text()
    assert "q8 on wasm" in card and f'pipeline("text-generation", "{REPO_ID}");' in card


def test_local_hub_serves_the_repo_layout_only(staged):
    import urllib.error
    import urllib.request

    tree, _, _ = staged
    with serve(tree, REPO_ID) as hub:
        body = urllib.request.urlopen(f"{hub.url}{REPO_ID}/resolve/main/config.json").read()
        assert json.loads(body) == json.loads((tree / "config.json").read_text())
        for path in (f"{REPO_ID}/resolve/main/../../../etc/passwd", "config.json", f"{REPO_ID}/resolve/main/nope"):
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(hub.url + path)
    assert hub.requested[0] == "config.json"
    with pytest.raises(HubLoadError, match="no config.json"):
        with serve(tree / "onnx", REPO_ID):
            pass
    with pytest.raises(HubLoadError, match="no ```js"):
        card_snippet("# no code here")


@pytest.mark.browser
@pytest.mark.parametrize("runtime", ["node", "chromium"])
def test_card_snippet_loads_the_default_dtype_like_the_hub(staged, runtime):
    """The card's own snippet, no dtype: transformers.js fetches the file config.json names for its
    device (cpu in Node, wasm in Chromium) and answers as Python does with that file."""
    reason = parity.node_unavailable() if runtime == "node" else parity.chromium_unavailable()
    if reason:
        pytest.skip(reason)
    tree, model_dir, cfg = staged
    out = run_card_snippet(tree, REPO_ID, runtime=runtime)
    onnx_files = [r for r in out["requested"] if r.startswith("onnx/")]
    assert onnx_files == ["onnx/model_quantized.onnx"], out["requested"]
    question = f"Where does {cfg.person_name} work now?"
    python = Generator(model_dir, "model_quantized.onnx", system_prompt=cfg.system_prompt,
                       max_new_tokens=cfg.inference.max_new_tokens,
                       repetition_penalty=cfg.inference.repetition_penalty,
                       # int8 as the runtime computes it: exact in WASM, ORT's default in Node
                       exact_int8=runtime == "chromium").generate(question).text
    printed = "\n".join(out["printed"]).strip()
    assert printed and token_f1(python, printed) >= cfg.evaluation.thresholds.fp32_alignment_min, (python, printed)
