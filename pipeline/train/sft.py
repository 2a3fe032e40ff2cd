"""LoRA supervised fine-tuning of the base model on the Q/A dataset (stage ``adapter``).

Run ``python -m pipeline sft`` (or ``python -m pipeline train`` for the whole chain).

TRL's ``SFTTrainer`` with a PEFT ``LoraConfig``; every ``lora.*`` and ``sft.*`` knob is
mapped in :func:`trainer_configs`. Each chat row (system, user, assistant) becomes a
conversational prompt/completion pair, so the loss covers only the assistant reply and its
end-of-turn token (pad is a distinct token, so that EOS label is never masked). Packing
uses TRL's best-fit-decreasing packing in padding-free form: the collator emits
``position_ids`` that restart at every sample and transformers turns them into a
block-diagonal attention mask for SDPA/eager attention, so packed samples never attend to
each other (``tests/test_train.py`` checks it). The LM head and the loss run only on the
positions that carry a label (:func:`label_positions_only`); TRL does that on Triton devices
and scores every position elsewhere. Checkpoints (when ``sft.save_strategy``
writes them) live in ``<model_output>/.work-<key>/`` until the adapter is complete, so a
rerun after a kill resumes from the last one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from pipeline.cache import Artifact, build, make_key
from pipeline.config import Config
from pipeline.errors import DatasetError, ModelError

log = logging.getLogger(__name__)

TRAIN_LOG = "train_log.jsonl"


@dataclass(frozen=True)
class TrainerConfigs:
    """What :func:`trainer_configs` maps the ``lora`` and ``sft`` sections onto.

    Attributes:
        sft: TRL ``SFTConfig``.
        lora: PEFT ``LoraConfig``.
        notes: each device override, with its reason (also logged and written to the log).
    """

    sft: Any
    lora: Any
    notes: tuple[str, ...]


def train(cfg: Config, dataset: Artifact, base: Artifact, *, force: bool = False) -> Artifact:
    """Train (or reuse) the LoRA adapter for ``base`` on ``dataset``.

    Args:
        cfg: resolved :class:`~pipeline.config.Config`; reads ``lora``, ``sft``.
        dataset: the ``dataset`` artifact; its ``dataset_dict/`` has ``train`` (and
            ``validation``) splits with a ``messages`` column [system, user, assistant].
        base: the ``base`` artifact from :func:`pipeline.train.base.resolve_base`.
        force: retrain from scratch (drops any checkpoint left by an interrupted run).

    Returns:
        The ``adapter`` artifact (root ``cfg.model_output``): ``adapter_model.safetensors``,
        ``adapter_config.json``, tokenizer files, ``train_log.jsonl``; numbers include
        ``train_tokens``, ``tokens_per_s``, ``train_seconds``, ``final_loss``, ``device``.

    Raises:
        DatasetError: the dataset folder is missing or lacks a ``messages`` column.
        ModelError: ``lora.target_modules`` names no module of the base model, or a
            checkpoint to resume from is corrupt.
    """
    root = cfg.path(cfg.model_output)
    key = make_key("adapter", {"lora": cfg.lora.model_dump(mode="json"), "sft": cfg.sft.model_dump(mode="json")},
                   upstream={"dataset": dataset.key, "base": base.key})
    work = root / f".work-{key[:16]}"
    base_numbers = dict(base.numbers)
    inputs = {"dataset_key": dataset.key, "base_key": base.key,
              "base_architecture": base_numbers.get("architecture"), "base_path": str(base.path)}

    def _build(out: Path) -> dict[str, Any]:
        if force:
            shutil.rmtree(work, ignore_errors=True)
        recipe = SFTRecipe(cfg, dataset, base, work).setup()
        numbers = recipe.train()
        recipe.save(out)
        shutil.rmtree(work, ignore_errors=True)
        return numbers

    return build("adapter", root, key, _build, force=force, inputs=inputs)


class SFTRecipe:
    """One LoRA SFT run, read top to bottom: :meth:`setup` (splits, device, configs, tokenizer,
    model, trainer, in dependency order), :meth:`train` (resuming from the last checkpoint in
    ``work``), :meth:`save` (adapter, tokenizer and training log into ``out``).

    State lives on the object (``trainer``, ``tokenizer``, ``logger``, ``device``, ``configs``);
    :func:`train` drives it inside the cache's temporary folder.
    """

    def __init__(self, cfg: Config, dataset: Artifact, base: Artifact, work: Path) -> None:
        self.cfg, self.dataset, self.base, self.work = cfg, dataset, base, work
        self.trainer: Any = None
        self.tokenizer: Any = None
        self.logger: _JsonlLog | None = None
        self.device = ""
        self.configs: TrainerConfigs | None = None

    def setup(self) -> SFTRecipe:
        """Build the ``SFTTrainer`` (tokenized, masked, packed dataset inside) writing into ``work``.

        Raises:
            DatasetError: the dataset folder is missing or malformed.
            ModelError: the base model's pad token equals EOS, or ``lora.target_modules``
                names no linear module.
        """
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from trl import SFTTrainer

        cfg, base, work = self.cfg, self.base, self.work
        train_split, val_split = _load_splits(self.dataset)
        self.device = pick_device()
        self.configs = trainer_configs(cfg, self.device, work, has_eval=val_split is not None)
        for note in self.configs.notes:
            log.warning("sft: %s", note)
        tokenizer = AutoTokenizer.from_pretrained(base.path)
        if tokenizer.pad_token_id is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
            raise ModelError(f"base model {base.path}: pad token equals EOS; rebuild it with "
                             "`python -m pipeline sft --force` (resolve_base sets a distinct pad token)")
        model = AutoModelForCausalLM.from_pretrained(base.path, dtype=torch.float32,
                                                     trust_remote_code=cfg.model.trust_remote_code)
        model.config.use_cache = False  # a KV cache in training disables the packed-sequence mask
        _check_targets(model, cfg.lora.target_modules)
        work.mkdir(parents=True, exist_ok=True)
        self.logger = _JsonlLog(work / TRAIN_LOG)
        sft_config = self.configs.sft
        self.trainer = SFTTrainer(model=model, args=sft_config, train_dataset=train_split,
                                  eval_dataset=val_split if sft_config.eval_strategy != "no" else None,
                                  processing_class=tokenizer, peft_config=self.configs.lora,
                                  callbacks=[self.logger, *_callbacks()])
        self.tokenizer = tokenizer
        return self

    def train(self) -> dict[str, Any]:
        """Run the trainer, resuming from the newest checkpoint in ``work``.

        Returns:
            The stage's numbers: device, train_sequences, steps, train_tokens, train_seconds,
            tokens_per_s (non-padding input tokens per wall second), final_loss,
            resumed_from_step, packing, base_architecture.

        Raises:
            ModelError: the checkpoint to resume from is corrupt or truncated.
        """
        from transformers.trainer_utils import get_last_checkpoint

        trainer, logger, work = self.trainer, self.logger, self.work
        train_rows, packing = len(trainer.train_dataset), trainer.args.packing
        checkpoint = get_last_checkpoint(str(work)) if work.is_dir() else None
        if checkpoint:
            log.warning("sft: resuming from %s", checkpoint)
        logger.write({"event": "start", "device": self.device, "resume_from": checkpoint,
                      "notes": list(self.configs.notes), "train_sequences": train_rows, "packing": packing})
        started = time.time()
        try:
            with label_positions_only():
                result = trainer.train(resume_from_checkpoint=checkpoint)
        except Exception as exc:  # any failure to restore (safetensors, torch.load, json) means the same
            if checkpoint is None or trainer.state.global_step > int(Path(checkpoint).name.split("-")[-1]):
                raise
            raise ModelError(f"checkpoint {checkpoint} is corrupt or truncated ({type(exc).__name__}); "
                             f"delete {work} or rerun with --force") from exc
        seconds = time.time() - started
        tokens = int(trainer.state.num_input_tokens_seen) - logger.tokens_at_start
        resumed_step = int(Path(checkpoint).name.split("-")[-1]) if checkpoint else 0
        numbers = {
            "device": self.device, "train_sequences": train_rows, "steps": trainer.state.global_step,
            "train_tokens": tokens, "train_seconds": round(seconds, 2),
            "tokens_per_s": round(tokens / seconds, 1) if seconds > 0 else 0.0,
            "final_loss": round(float(result.training_loss), 4), "resumed_from_step": resumed_step,
            "packing": packing, "base_architecture": self.base.numbers.get("architecture"),
        }
        logger.write({"event": "end", **numbers})
        return numbers

    def save(self, out: Path) -> None:
        """Write ``adapter_model.safetensors``, the adapter config, the tokenizer and the
        training log into ``out``.

        Raises:
            ModelError: the adapter file did not appear (disk full).
        """
        self.trainer.model.save_pretrained(out, safe_serialization=True)
        self.tokenizer.save_pretrained(out)
        shutil.copy2(self.work / TRAIN_LOG, out / TRAIN_LOG)
        if not (out / "adapter_model.safetensors").is_file():
            raise ModelError(f"adapter save into {out} failed; check free disk space and rerun")


def _load_splits(dataset: Artifact):
    from datasets import DatasetDict, load_from_disk

    folder = dataset.path / "dataset_dict"
    fix = "run `python -m pipeline dataset --force` to rebuild it"
    try:
        data = load_from_disk(str(folder))
    except (FileNotFoundError, ValueError, OSError) as exc:
        raise DatasetError(f"dataset {folder} is missing or unreadable ({type(exc).__name__}); {fix}") from exc
    if not isinstance(data, DatasetDict) or "train" not in data or len(data["train"]) == 0:
        raise DatasetError(f"dataset {folder} has no non-empty 'train' split; {fix}")
    if "messages" not in data["train"].column_names:
        raise DatasetError(f"dataset {folder} has no 'messages' column; {fix}")

    def to_pair(row):
        return {"prompt": row["messages"][:-1], "completion": row["messages"][-1:]}

    def convert(split):
        return split.map(to_pair, remove_columns=split.column_names)

    train_split = convert(data["train"])
    val = data.get("validation")
    return train_split, (convert(val) if val is not None and len(val) else None)


@contextlib.contextmanager
def label_positions_only() -> Iterator[bool]:
    """Within the block, TRL's fused LM head scores only the positions that carry a label.

    TRL's ``add_fused_lm_head`` (``trl.trainer.utils``) projects the hidden states through the
    49,152-way LM head and takes the log-softmax in chunks. On devices with Triton it keeps
    only the positions whose label is not -100 (``hidden_states[mask]``); elsewhere, CPU
    included, it scores every position and masks afterwards, so the system prompt and the
    question (about 70% of a packed row here) pay for the head and its backward too. The
    per-token log-probabilities of the labelled positions, and so the loss and its gradient,
    are the same either way up to float rounding (``tests/test_train.py`` compares them on a
    fixed batch); only the work on unlabelled positions goes. TRL decides per call through
    its module-level ``_use_triton``; this block makes that test true for CPU tensors and
    restores it after. The CPU path of the chunked kernel itself stays torch ops (the kernel
    module keeps its own reference). Measured: 8-step probes on 2 cores (AMX, bf16), 124-132
    -> 150-159 tokens/s (docs/experiments.md, "SFT step profile").

    Yields:
        True when TRL exposes the switch, False (and nothing changes) on a TRL without it.
    """
    try:
        import trl.trainer.utils as trl_utils
    except ImportError:  # pragma: no cover - TRL is a dependency
        yield False
        return
    original = getattr(trl_utils, "_use_triton", None)
    if original is None:
        log.warning("sft: this TRL has no trl.trainer.utils._use_triton; the LM head scores every position")
        yield False
        return

    def compact(device) -> bool:
        return getattr(device, "type", None) == "cpu" or original(device)

    trl_utils._use_triton = compact
    try:
        yield True
    finally:
        trl_utils._use_triton = original


def pick_device() -> str:
    """``cuda`` when available, else ``mps`` (Apple), else ``cpu``."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes bf16 natively (the ``avx512_bf16`` or ``amx_bf16`` flag).

    Args:
        cpuinfo: text of ``/proc/cpuinfo`` (read when None; tests pass their own).

    Returns:
        True when a ``flags`` line lists ``avx512_bf16`` or ``amx_bf16``. False elsewhere,
        including where ``/proc/cpuinfo`` does not exist (macOS, Windows): there PyTorch's CPU
        autocast emulates bf16, measured at 5.9 vs 72.9 tokens/s for fp32 on an AVX2-only
        EPYC (docs/knobs.md, ``sft.cpu_bf16``).
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            return bool(flags & {"avx512_bf16", "amx_bf16"})
    return False


def trainer_configs(cfg: Config, device: str, output_dir: Path, *, has_eval: bool = True) -> TrainerConfigs:
    """Map the ``lora`` and ``sft`` sections onto TRL/PEFT configs (pure: no model, no I/O).

    Args:
        cfg: resolved configuration.
        device: ``cuda`` (bf16 when supported, else fp16), ``mps`` (fp16 plus memory-safe
            overrides: per-device batch ≤ 4 with the accumulation raised to keep the effective
            batch, gradient checkpointing on, no pinned memory or worker processes) or ``cpu``
            (fp32, or bf16 autocast per ``sft.cpu_bf16``: ``auto`` turns it on only where
            :func:`cpu_has_native_bf16`).
        output_dir: where the trainer writes checkpoints.
        has_eval: False when the dataset has no validation split (evaluation is then off).

    Returns:
        A :class:`TrainerConfigs`; its ``notes`` list each override with its reason.
    """
    from peft import LoraConfig
    from trl import SFTConfig

    s, notes = cfg.sft, []
    batch, accumulation, checkpointing = s.batch_size, s.gradient_accumulation, s.gradient_checkpointing
    precision: dict[str, Any] = {"bf16": False, "fp16": False}
    extra: dict[str, Any] = {}
    if device == "cuda":
        import torch

        precision["bf16" if torch.cuda.is_bf16_supported() else "fp16"] = True
    elif device == "mps":
        precision["fp16"] = True
        if batch > 4:
            accumulation = accumulation * -(-batch // 4)
            batch = 4
            notes.append(f"mps: per-device batch {s.batch_size} -> 4, gradient_accumulation "
                         f"{s.gradient_accumulation} -> {accumulation} (unified-memory limit)")
        if not checkpointing:
            checkpointing = True
            notes.append("mps: gradient_checkpointing on (activation memory)")
        extra["dataloader_pin_memory"] = False
    else:
        extra["use_cpu"] = True
        native = cpu_has_native_bf16()
        if s.cpu_bf16 == "auto":
            precision["bf16"] = native
            notes.append("cpu: bfloat16 autocast (sft.cpu_bf16: auto, the CPU has native bf16), LoRA weights "
                         "and optimizer stay fp32" if native else
                         "cpu: fp32 (sft.cpu_bf16: auto; this CPU has no avx512_bf16/amx_bf16, where bf16 "
                         "autocast is emulated and about 12x slower)")
        elif s.cpu_bf16:
            precision["bf16"] = True
            notes.append("cpu: bfloat16 autocast (sft.cpu_bf16), LoRA weights and optimizer stay fp32"
                         + ("" if native else "; this CPU has no avx512_bf16/amx_bf16, so bf16 is emulated "
                            "and about 12x slower than fp32: set sft.cpu_bf16: auto"))
    workers = s.dataloader_num_workers
    if device == "mps" and workers:
        workers = 0
        notes.append("mps: dataloader_num_workers -> 0 (worker processes duplicate the model's memory)")
    evaluate = s.eval_strategy if has_eval else "no"
    if evaluate != s.eval_strategy:
        notes.append("eval_strategy -> no: the dataset has no validation split")
    sft_config = SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=s.epochs,
        per_device_train_batch_size=batch,
        per_device_eval_batch_size=batch,
        gradient_accumulation_steps=accumulation,
        learning_rate=s.learning_rate,
        lr_scheduler_type="linear",
        max_length=s.max_length,
        warmup_ratio=s.warmup_ratio,
        weight_decay=s.weight_decay,
        gradient_checkpointing=checkpointing,
        packing=s.packing,
        packing_strategy="bfd",
        padding_free=s.packing,
        group_by_length=s.group_by_length and not s.packing,
        dataloader_num_workers=workers,
        eval_strategy=evaluate,
        save_strategy=s.save_strategy,
        save_steps=s.save_steps,
        eval_steps=s.save_steps,
        load_best_model_at_end=s.load_best_model_at_end and evaluate != "no",
        save_total_limit=s.save_total_limit,
        seed=s.seed,
        data_seed=s.seed,
        logging_steps=s.logging_steps,
        completion_only_loss=True,
        assistant_only_loss=False,
        include_num_input_tokens_seen="non_padding",
        report_to="none",
        disable_tqdm=False,
        save_only_model=False,
        **precision, **extra,
    )
    if s.packing and s.group_by_length:
        notes.append("group_by_length off: sft.packing replaces it (packed rows hold no padding to cut); "
                     "set sft.packing: false to batch by length instead")
    lora_config = LoraConfig(
        r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
        target_modules=list(cfg.lora.target_modules), bias="none", task_type="CAUSAL_LM",
    )
    return TrainerConfigs(sft_config, lora_config, tuple(notes))


def _check_targets(model, targets) -> None:
    import torch

    leaves = sorted({name.rsplit(".", 1)[-1] for name, mod in model.named_modules()
                     if isinstance(mod, torch.nn.Linear)})
    missing = [t for t in targets if t not in leaves]
    if missing:
        raise ModelError(f"lora.target_modules: {missing} match no linear module of the base model; "
                         f"choose from {leaves}")


def _callbacks() -> list:
    """Extra trainer callbacks (none in production; tests patch this to simulate a kill)."""
    return []


class _JsonlLog(TrainerCallback):
    """Trainer callback appending each log record (loss, lr, tokens/s) to a JSON-lines file.

    ``tokens_per_s`` counts the non-padding input tokens seen since this process started
    training (a resumed run does not count the tokens of the checkpoint it resumed from).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.started = time.time()
        self.tokens_at_start = 0

    def write(self, record: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, default=str) + "\n")

    def on_train_begin(self, args, state, control, **kwargs):
        self.started, self.tokens_at_start = time.time(), int(state.num_input_tokens_seen)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs:
            return
        elapsed = time.time() - self.started
        record = {"step": state.global_step, "epoch": state.epoch, **logs,
                  "tokens_seen": int(state.num_input_tokens_seen)}
        if "loss" in logs and elapsed > 0:
            record["tokens_per_s"] = round((state.num_input_tokens_seen - self.tokens_at_start) / elapsed, 1)
        self.write(record)
