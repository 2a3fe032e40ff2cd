"""Quantization settings compared on a real exported model: size, fp32 alignment, latency.

Run: ``python benchmarks/quant_bench.py EXPORTED_DIR [--out quant_bench.json] [--latency-questions 4]
[--questions-from data/dev/maya --system-prompt "Questions about Maya Okonkwo-Lindqvist's resume."]``
where EXPORTED_DIR is an export (``onnx/model.onnx`` inside, e.g. ``artifacts/cache/exported/latest``).
With ``--questions-from`` the questions are a dev split's (for a fine-tuned model; never the gate sets).

For each candidate setting it writes the int8/uint8/q4 file into a scratch folder, answers
the same questions greedily with :class:`pipeline.onnx.runtime.Generator` and prints JSON with,
per setting: file size, fp32_alignment (mean token F1 of each answer against model.onnx's
answer to the same question, the harness's definition), the share of answers identical to
fp32, and mean per-answer latency measured one request at a time, the fp32 baseline measured
in the same run (``latency_ratio`` = variant / fp32), and ``size_ratio_vs_int8`` (bytes over
the chosen int8 recipe's: the q4 target is <= 0.60). The ``default`` rows are onnxruntime's
``quantize_dynamic`` defaults, the baseline the chosen settings are compared with; the ``old``
rows the recipe before SmoothQuant. ``--calibration DIR`` (a dataset folder) calibrates
SmoothQuant on its training split, as ``python -m pipeline quantize`` does.
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

from pipeline.config import QuantizationSection  # noqa: E402
from pipeline.onnx.quantize import (  # noqa: E402
    prepare_source,
    q4_model,
    quantize_dynamic_variant,
    save_model,
    variant_bytes,
)
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


def _old_q4(source: Path, dest: Path, block_size: int, accuracy_level: int) -> None:
    """The q4 recipe before this benchmark's ablations: MatMulNBits for every constant-weight
    MatMul but down_proj, fp32 embedding and tied fp32 lm_head."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    model = onnx.load(str(source))
    excluded = [n.name for n in model.graph.node if "down_proj" in n.name]
    qz = MatMulNBitsQuantizer(model, bits=4, block_size=block_size, is_symmetric=False,
                              accuracy_level=accuracy_level, nodes_to_exclude=excluded)
    qz.process()
    save_model(qz.model.model, dest)


CHOSEN_INT8 = "int8:chosen (smoothquant down_proj, untied int8 lm_head)"


def _candidates(source: Path, work: Path, block_size: int, accuracy_level: int,
                calibration: Path | None = None) -> dict[str, Path]:
    """The settings compared: onnxruntime defaults, the int8/uint8 recipes, and q4 ablations.

    ``calibration`` is a dataset folder (``train.jsonl``) for SmoothQuant; None uses the
    generic conversations of :mod:`pipeline.onnx.smooth`."""
    made: dict[str, Path] = {}
    knobs = QuantizationSection()  # the chosen recipe: the config's defaults
    prepared, _ = prepare_source(source, work / "prepared", untie=True, alpha=knobs.smooth_alpha,
                                 calibration=calibration, samples=knobs.calibration_samples)
    untied_only, _ = prepare_source(source, work / "untied", untie=True, alpha=0.0, calibration=None, samples=1)
    q4_prepared, _ = prepare_source(source, work / "q4_prepared", untie=False, alpha=knobs.q4_smooth_alpha,
                                    calibration=calibration, samples=knobs.calibration_samples)
    for signed, tag in ((True, "int8"), (False, "uint8")):
        made[f"{tag}:default"] = work / f"{tag}_default.onnx"
        _default_dynamic(source, made[f"{tag}:default"], signed)
        name = f"{tag}:old (matmul_constB, per_channel, down_proj and tied lm_head fp32)"
        made[name] = work / f"{tag}_old.onnx"
        quantize_dynamic_variant(source, made[name], signed=signed, per_channel=True, reduce_range=False,
                                 op_types=("MatMul",), exclude=("down_proj",))
        name = f"{tag}:untied int8 lm_head, down_proj fp32"
        made[name] = work / f"{tag}_head.onnx"
        quantize_dynamic_variant(untied_only, made[name], signed=signed, per_channel=True, reduce_range=False,
                                 op_types=("MatMul",), exclude=("down_proj",))
        name = f"{tag}:untied int8 lm_head, int8 down_proj without smoothing"
        made[name] = work / f"{tag}_all.onnx"
        quantize_dynamic_variant(untied_only, made[name], signed=signed, per_channel=True, reduce_range=False,
                                 op_types=("MatMul",), exclude=())
        name = CHOSEN_INT8 if signed else "uint8:chosen (smoothquant down_proj, untied int8 lm_head)"
        made[name] = work / f"{tag}_chosen.onnx"
        quantize_dynamic_variant(prepared, made[name], signed=signed, per_channel=True, reduce_range=False,
                                 op_types=("MatMul",), exclude=())
    made["q4:old(down_proj fp32, embedding fp32, tied lm_head fp32)"] = work / "q4_old.onnx"
    _old_q4(source, work / "q4_old.onnx", block_size, accuracy_level)
    ablations = {
        "q4:all 4-bit (embedding, lm_head, down_proj)": dict(embedding=True),
        "q4:4-bit down_proj without smoothing, int8 lm_head": dict(embedding=True, int8_nodes=("lm_head",)),
        "q4:chosen (4-bit embedding, smoothquant 4-bit down_proj, int8 lm_head)": dict(
            embedding=True, int8_nodes=("lm_head",)),
        "q4:session 12 (4-bit embedding, fp16 down_proj, int8 lm_head)": dict(
            embedding=True, int8_nodes=("lm_head",), fp16_nodes=("down_proj",)),
        "q4:fp32 embedding, fp16 down_proj, int8 lm_head": dict(
            embedding=False, int8_nodes=("lm_head",), fp16_nodes=("down_proj",)),
        "q4:fp16 down_proj and lm_head": dict(embedding=True, fp16_nodes=("down_proj", "lm_head")),
        "q4:smoothquant int8 down_proj, int8 lm_head": dict(embedding=True, int8_nodes=("lm_head", "down_proj")),
    }
    for i, (name, kw) in enumerate(ablations.items()):
        made[name] = work / f"q4_{i}.onnx"
        src = q4_prepared if "smoothquant" in name else source  # as the pipeline: q4_smooth_alpha
        save_model(q4_model(src, block_size=block_size, accuracy_level=accuracy_level, **kw), made[name])
    return made


def _questions(folder: Path | None) -> tuple[str, ...]:
    """The generic QUESTIONS, or every ``question`` of the ``*.jsonl`` files in ``folder`` (a dev split)."""
    if folder is None:
        return QUESTIONS
    return tuple(json.loads(line)["question"] for f in sorted(folder.glob("*.jsonl"))
                 for line in f.read_text(encoding="utf-8").splitlines() if line.strip())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("exported", type=Path)
    ap.add_argument("--out", type=Path, default=Path("quant_bench.json"))
    ap.add_argument("--max-new-tokens", type=int, default=40)
    ap.add_argument("--latency-questions", type=int, default=3)
    ap.add_argument("--repetition-penalty", type=float, default=1.2)
    ap.add_argument("--block-size", type=int, default=32)
    ap.add_argument("--accuracy-level", type=int, default=4)
    ap.add_argument("--questions-from", type=Path, default=None,
                    help="a dev split folder (*.jsonl with a question field) instead of the generic questions; "
                         "never the gate sets")
    ap.add_argument("--system-prompt", default=SYSTEM)
    ap.add_argument("--calibration", type=Path, default=None,
                    help="dataset folder whose train.jsonl calibrates SmoothQuant (default: generic conversations)")
    args = ap.parse_args(argv)
    questions = _questions(args.questions_from)
    work = Path(tempfile.mkdtemp(prefix="quant_bench-"))
    try:
        for name in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                     "special_tokens_map.json"):
            shutil.copy2(args.exported / name, work / name)
        (work / "onnx").mkdir()
        source = args.exported / "onnx" / "model.onnx"
        (work / "onnx" / "model.onnx").symlink_to(source.resolve())
        t = time.perf_counter()
        files = {"fp32": work / "onnx" / "model.onnx",
                 **_candidates(source, work / "onnx", args.block_size, args.accuracy_level, args.calibration)}
        print(f"quantized {len(files) - 1} candidates in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        rows: dict[str, dict] = {}
        ref: list[str] = []
        for name, path in files.items():
            gen = Generator(work, path.name, system_prompt=args.system_prompt, max_new_tokens=args.max_new_tokens,
                            repetition_penalty=args.repetition_penalty)
            answers = [g.text for g in gen.generate_batch(questions, batch_size=10)]
            if name == "fp32":
                ref = answers
            lat = [gen.generate(q).latency_ms for q in questions[:args.latency_questions]]
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
        int8 = rows[CHOSEN_INT8]["bytes"]
        for row in rows.values():
            row["latency_ratio"] = round(row["mean_latency_ms"] / base, 3)
            row["size_ratio_vs_int8"] = round(row["bytes"] / int8, 3)
        result = {"questions": len(questions), "question_source": str(args.questions_from or "generic"), "max_new_tokens": args.max_new_tokens,
                  "latency_questions": args.latency_questions, "variants": rows}
        args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
