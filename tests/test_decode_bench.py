"""A tiny smoke of benchmarks/decode_bench.py: both speed probes on small models, and the summary.

Run: ``pytest tests/test_decode_bench.py`` (the llama.cpp half needs llama-cpp-python, which
``tox -e py`` installs; the GGUF conversion itself is exercised by running the benchmark).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]



def test_summary_median_and_spread(load_benchmark):
    out = load_benchmark("decode_bench")._summary([{"prefill_ms": 10.0, "decode_tokens_per_s": 50.0},
                             {"prefill_ms": 14.0, "decode_tokens_per_s": 40.0},
                             {"prefill_ms": 12.0, "decode_tokens_per_s": 45.0}])
    assert (out["prefill_ms"], out["decode_tokens_per_s"]) == (12.0, 45.0)
    assert out["prefill_ms_spread"] == pytest.approx(4 / 12, abs=1e-3) and out["decode_tokens_per_s_spread"] == 0.222


def test_onnx_probe_decodes_exactly_the_asked_tokens(tiny_onnx, load_benchmark):
    from pipeline.onnx.runtime import Generator

    model_dir, cfg = tiny_onnx
    gen = Generator(model_dir, "model_q4.onnx", system_prompt=cfg.system_prompt, intra_op_threads=1)
    row = load_benchmark("decode_bench").onnx_speed(gen, "Where does Maya work now?", 6)
    assert row["new_tokens"] == 6 and row["prefill_ms"] > 0 and row["decode_tokens_per_s"] > 0
    assert gen.eos_ids  # restored after the forced-length run


def test_llama_probe_on_the_embedded_gguf(load_benchmark):
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed: pip install -e '.[llm]'")
    import llama_cpp

    from pipeline.embedded import embedded_gguf_path

    llm = llama_cpp.Llama(str(embedded_gguf_path()), n_ctx=256, n_threads=1, n_threads_batch=1, verbose=False)
    ids = llm.tokenize(b"Where does Maya work now?")
    row = load_benchmark("decode_bench").llama_speed(llm, ids, 5)
    assert row["new_tokens"] == 5 and row["prefill_ms"] > 0 and row["decode_tokens_per_s"] > 0
