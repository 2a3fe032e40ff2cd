"""Tiny smokes of the speed benchmarks (``benchmarks/train_bench.py``, ``benchmarks/eval_throughput.py``)
on the tiny model: their JSON has every field the README and docs/experiments.md quote, with sane
values. Speed is never asserted here (benchmarks, not timed tests).

Run: ``pytest tests/test_benchmarks_smoke.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _tiny_config(write_config, tiny_model_dir) -> Path:
    return write_config({"model": {"base": str(tiny_model_dir)},
                         "dataset": {"samples_per_category": 4, "variations_per_question": 1},
                         "lora": {"r": 4, "alpha": 8},
                         "sft": {"epochs": 1, "batch_size": 8, "max_length": 128, "logging_steps": 1},
                         "quantization": {"variants": ["fp32", "int8"]},
                         "evaluation": {"max_new_tokens": 4, "batch_size": 4, "smoke_samples": 6}})


def test_train_bench_prints_ratios_and_peak_memory(write_config, tiny_model_dir, tmp_path, capsys, monkeypatch):
    import importlib

    # The spawned workers unpickle the script's functions by module name, so import it as a module.
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    bench = importlib.import_module("train_bench")
    out_file = tmp_path / "bench.json"
    code = bench.main(["--config", str(_tiny_config(write_config, tiny_model_dir)), "--until", "adapter",
                       "--epochs", "0.5", "--plain-steps", "2", "--out", str(out_file)])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result == json.loads(out_file.read_text(encoding="utf-8"))
    for part in ("project", "plain_trl"):
        assert result[part]["tokens_per_s"] > 0 and result[part]["peak_rss_mib"] > 100, result[part]
    assert result["ratio_tokens_per_s"] > 0 and result["ratio_peak_rss"] > 0
    assert result["plain_trl"]["steps"] == 2 and result["project"]["steps"] >= 1


def test_eval_throughput_reports_identical_answers_and_memory(write_config, tiny_model_dir, capsys, load_benchmark):
    bench = load_benchmark("eval_throughput")
    code = bench.main(["--config", str(_tiny_config(write_config, tiny_model_dir)), "--sample", "smoke",
                       "--variants", "model.onnx,model_int8.onnx"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["variants"]) == {"model.onnx", "model_int8.onnx"} and result["cases"] > 0
    # batched answers must be the one-at-a-time answers, for fp32 and for dynamic int8 alike
    assert result["identical_responses"] is True, result
    assert result["ratio"] > 0 and result["peak_rss_mib"] > 100


def test_quant_bench_compares_the_chosen_recipe_with_the_old_one(tiny_onnx, tmp_path, capsys, load_benchmark):
    """``benchmarks/quant_bench.py`` on the tiny export: every recipe row, sizes against the
    chosen int8 file, alignment in [0, 1] and the fp32 row aligned with itself."""
    bench = load_benchmark("quant_bench")
    model_dir, _ = tiny_onnx
    out_file = tmp_path / "quant.json"
    assert bench.main([str(model_dir), "--out", str(out_file), "--max-new-tokens", "4", "--latency-questions", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result == json.loads(out_file.read_text(encoding="utf-8"))
    rows = result["variants"]
    assert rows["fp32"]["fp32_alignment"] == 1.0 and rows["fp32"]["identical_answers"] == result["questions"]
    assert rows[bench.CHOSEN_INT8]["size_ratio_vs_int8"] == 1.0
    assert {"int8:old (matmul_constB, per_channel, down_proj and tied lm_head fp32)",
            "q4:smoothquant int8 down_proj, int8 lm_head"} <= set(rows)
    assert all(0.0 <= r["fp32_alignment"] <= 1.0 and r["bytes"] > 0 for r in rows.values())
