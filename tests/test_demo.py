"""``python -m pipeline demo``: the chat page driven in headless Chromium, and its bad input.

Run: ``pytest tests/test_demo.py`` (the Chromium half needs ``npm ci --prefix js`` and Debian's
``chromium``; it skips with the reason otherwise). The screenshot goes to ``reports/demo/``.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pipeline.onnx import demo, parity
from pipeline.onnx.runtime import Generator

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.browser
def test_page_streams_the_python_greedy_answer(tiny_onnx):
    """Type a question, wait for the streamed answer: it is token for token what Python's greedy
    decoding of the same file gives; headless Chromium has no WebGPU, so the page says WASM."""
    reason = parity.chromium_unavailable()
    if reason:
        pytest.skip(reason)
    model_dir, cfg = tiny_onnx
    question = "Where does Maya work now?"
    shot = REPO / "reports" / "demo" / "chat-page-model.onnx.png"
    with demo.serve(cfg, model_dir, "model_q4.onnx") as site:
        assert [v["file"] for v in site.config["variants"]][0] == "model.onnx"
        assert all(v["bytes"] > 0 for v in site.config["variants"])
        out = demo.drive(site.url, [question], dtype="fp32", screenshot=shot)
    python = Generator(model_dir, "model.onnx", system_prompt=cfg.system_prompt,
                       max_new_tokens=cfg.inference.max_new_tokens,
                       repetition_penalty=cfg.inference.repetition_penalty).generate(question)
    answer = out["answers"][0]
    assert out["selected"] == "fp32" and len(out["answers"]) == 1 and out["load_s"] > 0
    assert answer["token_ids"] == list(python.token_ids)
    assert answer["text"] == python.text
    assert out["pieces"][0] > 1  # streamed, not delivered at the end
    assert answer["first_token_ms"] <= answer["total_ms"] and answer["tokens_per_s"] > 0
    assert out["device"] == "wasm" and "no WebGPU" in out["device_note"]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_or_unbuilt_variant_names_the_choices(tiny_onnx, tmp_path):
    model_dir, cfg = tiny_onnx
    with pytest.raises(demo.DemoError, match=r"--variant model_q5.onnx: not a transformers.js file name.*model.onnx"):
        demo.demo_config(cfg, model_dir, "model_q5.onnx")
    only = tmp_path / "m"
    (only / "onnx").mkdir(parents=True)
    (only / "config.json").write_text("{}")
    (only / "onnx" / "model.onnx").write_bytes(b"x")
    with pytest.raises(demo.DemoError, match=r"--variant model_q4.onnx: not built.*choose one of model.onnx"):
        demo.demo_config(cfg, only, "model_q4.onnx")
    with pytest.raises(demo.DemoError, match=r"has no onnx/ folder"):
        demo.demo_config(cfg, tmp_path, "model.onnx")


def test_port_in_use_and_missing_node_modules(tiny_onnx, monkeypatch):
    model_dir, cfg = tiny_onnx
    if parity.node_unavailable() is None:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            with pytest.raises(demo.DemoError, match=rf"port {port} is in use; pass another with --port"):
                with demo.serve(cfg, model_dir, "model.onnx", port=port):
                    pass
    monkeypatch.setattr(demo, "_TRANSFORMERS", Path("/nonexistent/transformers"))
    with pytest.raises(demo.DemoError, match=r"npm ci --prefix js"):
        with demo.serve(cfg, model_dir, "model.onnx"):
            pass


def test_cli_rejects_a_bad_port(capsys):
    from pipeline.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["demo", "--port", "99999"])
    assert exc.value.code == 2 and "not a port" in capsys.readouterr().err
