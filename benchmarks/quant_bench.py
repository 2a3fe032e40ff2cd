"""Quantization settings compared on a real exported model: size, fp32 alignment, latency.

Run: ``python benchmarks/quant_bench.py EXPORTED_DIR [--out quant_bench.json] [--latency-questions 4]``
where EXPORTED_DIR is an export (``onnx/model.onnx`` inside, e.g. ``artifacts/cache/exported/latest``).

For each candidate setting it writes the int8/uint8/q4 file into a scratch folder, answers
the same questions greedily with :class:`pipeline.onnx.runtime.Generator` and prints JSON with,
per setting: file size, fp32_alignment (mean token F1 of each answer against model.onnx's
answer to the same question, the harness's definition), the share of answers identical to
fp32, and mean per-answer latency measured one request at a time, the fp32 baseline measured
in the same run (``latency_ratio`` = variant / fp32). The ``default`` rows are onnxruntime's
``quantize_dynamic`` defaults, the baseline the chosen settings are compared with.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.onnx.quantize import quantize_dynamic_variant, quantize_q4, variant_bytes  # noqa: E402
from pipeline.onnx.runtime import Generator  # noqa: E402

QUESTIONS = (
    "What is the capital of France?", "Give me three tips for a job interview.", "What is Python used for?",
    "Explain what a neural network is in one sentence.", "How many days are in a leap year?",
    "What does a software engineer do?", "Name three primary colors.", "What is the boiling point of water?",
    "Who wrote Romeo and Juliet?", "What is machine learning?", "How do I make a cup of tea?",
    "What is the difference between a list and a tuple in Python?", "Why is the sky blue?",
    "What is a resume?", "Summarize the benefits of exercise.", "What is 12 times 12?",
    "Describe the water cycle briefly.", "What is an API?", "Translate 'good morning' into Spanish.",
    "What are the planets of the solar system?",
)
SYSTEM = "You are a helpful assistant. Answer briefly."


def token_f1(pred: str, ref: str) -> float:
    """SQuAD-style token F1 on lower-cased word tokens (1.0 when both are empty)."""
    p, r = re.findall(r"\w+", pred.lower()), re.findall(r"\w+", ref.lower())
    if not p and not r:
        return 1.0
    common = sum((Counter(p) & Counter(r)).values())
    if not common:
        return 0.0
    prec, rec = common / len(p), common / len(r)
    return 2 * prec * rec / (prec + rec)


def _default_dynamic(source: Path, dest: Path, signed: bool) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(source, dest, weight_type=QuantType.QInt8 if signed else QuantType.QUInt8)


def _candidates(source: Path, work: Path, block_size: int, accuracy_level: int) -> dict[str, Path]:
    """The settings compared: onnxruntime defaults, MatMul-only with and without per-channel, q4."""
    made: dict[str, Path] = {}
    for signed, tag in ((True, "int8"), (False, "uint8")):
        made[f"{tag}:default"] = work / f"{tag}_default.onnx"
        _default_dynamic(source, made[f"{tag}:default"], signed)
        for pc in ((False, True) if tag == "uint8" else (True,)):
            name = f"{tag}:matmul_constB{'+per_channel' if pc else ''}"
            made[name] = work / f"{tag}_{int(pc)}.onnx"
            quantize_dynamic_variant(source, made[name], signed=signed, per_channel=pc, reduce_range=False,
                                     op_types=("MatMul",))
    name = f"q4:block{block_size}+acc{accuracy_level}"
    made[name] = work / "q4.onnx"
    quantize_q4(source, made[name], block_size=block_size, accuracy_level=accuracy_level)
    return made


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("exported", type=Path)
    ap.add_argument("--out", type=Path, default=Path("quant_bench.json"))
    ap.add_argument("--max-new-tokens", type=int, default=40)
    ap.add_argument("--latency-questions", type=int, default=3)
    ap.add_argument("--repetition-penalty", type=float, default=1.2)
    ap.add_argument("--block-size", type=int, default=32)
    ap.add_argument("--accuracy-level", type=int, default=4)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="quant_bench-"))
    try:
        for name in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                     "special_tokens_map.json"):
            shutil.copy2(args.exported / name, work / name)
        (work / "onnx").mkdir()
        source = args.exported / "onnx" / "model.onnx"
        (work / "onnx" / "model.onnx").symlink_to(source.resolve())
        t = time.perf_counter()
        files = {"fp32": work / "onnx" / "model.onnx", **_candidates(source, work / "onnx", args.block_size, args.accuracy_level)}
        print(f"quantized {len(files) - 1} candidates in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        rows: dict[str, dict] = {}
        ref: list[str] = []
        for name, path in files.items():
            gen = Generator(work, path.name, system_prompt=SYSTEM, max_new_tokens=args.max_new_tokens,
                            repetition_penalty=args.repetition_penalty)
            answers = [g.text for g in gen.generate_batch(QUESTIONS, batch_size=10)]
            if name == "fp32":
                ref = answers
            lat = [gen.generate(q).latency_ms for q in QUESTIONS[:args.latency_questions]]
            f1 = [token_f1(a, r) for a, r in zip(answers, ref, strict=True)]
            rows[name] = {
                "bytes": variant_bytes(path.parent, path.name) if name != "fp32" else variant_bytes(
                    source.parent, source.name),
                "fp32_alignment": round(statistics.mean(f1), 4),
                "min_case_f1": round(min(f1), 4),
                "identical_answers": sum(a == r for a, r in zip(answers, ref, strict=True)),
                "mean_latency_ms": round(statistics.mean(lat), 1),
                "sample": answers[0][:120],
            }
            print(name, json.dumps(rows[name]), file=sys.stderr)
            del gen
            gc.collect()
        base = rows["fp32"]["mean_latency_ms"]
        for row in rows.values():
            row["latency_ratio"] = round(row["mean_latency_ms"] / base, 3)
        result = {"questions": len(QUESTIONS), "max_new_tokens": args.max_new_tokens,
                  "latency_questions": args.latency_questions, "variants": rows}
        args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
