"""Training benchmark: stage wall times, training tokens/s and peak memory, against plain TRL.

Run ``python benchmarks/train_bench.py [--config config.yaml] [--profile cpu] [--until merged]
[--epochs 0.2] [--plain-steps 20] [--out bench.json]``.

Part 1 runs the project chain (dataset → base → adapter → merged, or up to ``--until``) into a
fresh temporary folder, so nothing is a cache hit, and records each stage's wall time, the
SFT tokens/s the stage logged, and the process's peak resident memory. Part 2 is the
baseline: a plain TRL ``SFTTrainer`` + PEFT run written the way the TRL docs show it, on the
same ``dataset_dict`` and base weights with the same lora/sft knob values, for
``--plain-steps`` optimizer steps (tokens/s does not depend on the run length; ``--epochs``
shortens the project's run the same way by overriding ``sft.epochs``). Each part
runs in its own spawned process so peak memory is per part. Prints one JSON object with
``ratio_tokens_per_s`` = project / plain (≥ 0.9 means the wrapper costs under 10%) and
``ratio_peak_rss`` = project / plain.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # same as the CLI (see pipeline/__main__.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _project(config: str, profile: str | None, until: str, work: str, epochs: float | None = None) -> dict:
    from pipeline.chain import run_chain
    from pipeline.config import load_config

    keys = ("dataset_output", "model_output", "merged_output", "onnx_output", "cache_dir")
    overrides = {k: str(Path(work) / k) for k in keys}
    overrides["evaluation"] = {"eval_data_dir": str(Path(work) / "eval")}
    if epochs is not None:
        overrides["sft"] = {"epochs": epochs}
    cfg = load_config(config, profile=profile, overrides=overrides)
    times: dict[str, float] = {}
    last = [time.perf_counter()]

    def on_stage(art) -> None:
        now = time.perf_counter()
        times[art.stage] = round(now - last[0], 1)
        last[0] = now

    started = time.perf_counter()
    arts = run_chain(cfg, until=until, on_stage=on_stage)
    adapter = arts["adapter"].numbers
    return {"stage_seconds": times, "total_seconds": round(time.perf_counter() - started, 1),
            "tokens_per_s": adapter["tokens_per_s"], "train_tokens": adapter["train_tokens"],
            "train_seconds": adapter["train_seconds"], "steps": adapter["steps"],
            "peak_rss_mib": round(_peak_rss_mib(), 1), "dataset": str(arts["dataset"].path),
            "base": str(arts["base"].path), "profile": cfg.profile}


def _plain(config: str, profile: str | None, dataset: str, base: str, steps: int, work: str) -> dict:
    """The baseline: TRL + PEFT used directly, no project code except reading the knob values."""
    import torch
    from datasets import load_from_disk
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from pipeline.config import load_config
    from pipeline.train.sft import cpu_has_native_bf16

    cfg = load_config(config, profile=profile)
    s, lo = cfg.sft, cfg.lora
    train = load_from_disk(str(Path(dataset) / "dataset_dict"))["train"].select_columns(["messages"])
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    bf16 = cpu_has_native_bf16() if s.cpu_bf16 == "auto" else s.cpu_bf16
    args = SFTConfig(output_dir=work, max_steps=steps, per_device_train_batch_size=s.batch_size,
                     gradient_accumulation_steps=s.gradient_accumulation, learning_rate=s.learning_rate,
                     max_length=s.max_length, warmup_ratio=s.warmup_ratio, weight_decay=s.weight_decay,
                     gradient_checkpointing=s.gradient_checkpointing, packing=s.packing, seed=s.seed,
                     logging_steps=s.logging_steps, bf16=bf16, use_cpu=True, save_strategy="no",
                     report_to="none", include_num_input_tokens_seen="non_padding")
    peft = LoraConfig(r=lo.r, lora_alpha=lo.alpha, lora_dropout=lo.dropout,
                      target_modules=list(lo.target_modules), task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=model, args=args, train_dataset=train, processing_class=tokenizer,
                         peft_config=peft)
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    tokens = int(trainer.state.num_input_tokens_seen)
    return {"tokens_per_s": round(tokens / seconds, 1), "train_tokens": tokens, "steps": steps,
            "train_seconds": round(seconds, 1), "peak_rss_mib": round(_peak_rss_mib(), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--until", default="merged", choices=("adapter", "merged", "exported", "onnx"))
    parser.add_argument("--plain-steps", type=int, default=20, help="optimizer steps of the plain TRL run")
    parser.add_argument("--epochs", type=float, default=None,
                        help="sft.epochs of the project run (default: the profile's; a fraction gives a short probe)")
    parser.add_argument("--out", default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="train-bench-") as work:
        with ctx.Pool(1) as pool:
            project = pool.apply(_project, (args.config, args.profile, args.until, work, args.epochs))
        with ctx.Pool(1) as pool:
            plain = pool.apply(_plain, (args.config, args.profile, project["dataset"], project["base"],
                                        args.plain_steps, str(Path(work) / "plain")))
    result = {
        "project": project, "plain_trl": plain, "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "ratio_tokens_per_s": round(project["tokens_per_s"] / plain["tokens_per_s"], 3),
        "ratio_peak_rss": round(project["peak_rss_mib"] / plain["peak_rss_mib"], 3),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
