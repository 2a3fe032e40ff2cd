"""Merge the LoRA adapter into the base model in float32 (stage ``merged``).

Run ``python -m pipeline merge`` (or ``python -m pipeline train`` for the whole chain).

PEFT's ``merge_and_unload`` folds ``B @ A * alpha / r`` into each target weight. LoRA never
touches the embeddings, so SmolLM2's tied input/output embedding stays one tensor: the
merged folder keeps ``tie_word_embeddings: true`` and stores it once. After saving, the
merged model is reloaded and its logits on a probe prompt compared with the adapter
model's (``max_logit_diff`` in the artifact numbers); a mismatch fails the stage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.cache import Artifact, build, make_key, read_manifest
from pipeline.config import Config
from pipeline.errors import ModelError

# Largest |logit difference| accepted between the adapter model and the reloaded merged
# model; fp32 merging reorders a few additions, which moves logits by ~1e-5.
MAX_LOGIT_DIFF = 1e-3
_PROBE = "What did you work on most recently?"


def merge(cfg: Config, adapter: Artifact, base: Artifact, *, force: bool = False) -> Artifact:
    """Merge ``adapter`` into ``base`` and save a standalone float32 model.

    Args:
        cfg: resolved configuration (``system_prompt`` is used for the probe prompt).
        adapter: the ``adapter`` artifact from :func:`pipeline.train.sft.train`.
        base: the ``base`` artifact the adapter was trained on.
        force: rebuild even when cached.

    Returns:
        The ``merged`` artifact (root ``cfg.merged_output``): ``model.safetensors``,
        ``config.json``, ``generation_config.json``, tokenizer files with the chat template;
        numbers include ``max_logit_diff`` and ``tied_embeddings``.

    Raises:
        ModelError: the adapter was trained for another base model, its files are missing,
            corrupt or truncated, or the reloaded merged model disagrees with the adapter.
    """
    _check_adapter(adapter, base)
    key = make_key("merged", {"merge": {"dtype": "float32"}},
                   upstream={"adapter": adapter.key, "base": base.key})
    return build("merged", cfg.path(cfg.merged_output), key,
                 lambda out: _merge(cfg, adapter, base, out), force=force,
                 inputs={"adapter_key": adapter.key, "base_key": base.key})


def _check_adapter(adapter: Artifact, base: Artifact) -> None:
    manifest = read_manifest(adapter.path)
    fix = "rerun `python -m pipeline sft --force`"
    if manifest is None:
        raise ModelError(f"adapter {adapter.path} has no manifest (an interrupted run); {fix}")
    recorded = manifest.get("inputs", {})
    if recorded.get("base_key") not in (None, base.key):
        raise ModelError(
            f"adapter {adapter.path} was trained for another base model "
            f"({recorded.get('base_architecture')} at {recorded.get('base_path')}), not {base.path}; "
            f"{fix} with the current model.base"
        )
    arch = recorded.get("base_architecture")
    if arch and base.numbers.get("architecture") and arch != base.numbers["architecture"]:
        raise ModelError(f"adapter {adapter.path} was trained for {arch}, but the base model is "
                         f"{base.numbers['architecture']}; {fix}")
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        if not (adapter.path / name).is_file():
            raise ModelError(f"adapter {adapter.path} lacks {name}; {fix}")


def _load_adapter_model(adapter: Artifact, base: Artifact, trust_remote_code: bool):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base.path, dtype=torch.float32,
                                                 trust_remote_code=trust_remote_code)
    try:
        return PeftModel.from_pretrained(model, adapter.path).eval()
    except Exception as exc:  # safetensors/json/shape errors all mean the same thing here
        raise ModelError(f"adapter {adapter.path} is corrupt or truncated, or does not fit {base.path} "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}); "
                         "rerun `python -m pipeline sft --force`") from exc


def _merge(cfg: Config, adapter: Artifact, base: Artifact, out: Path) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    tokenizer = AutoTokenizer.from_pretrained(adapter.path)
    peft_model = _load_adapter_model(adapter, base, cfg.model.trust_remote_code)
    probe = tokenizer.apply_chat_template(
        [{"role": "system", "content": cfg.system_prompt}, {"role": "user", "content": _PROBE}],
        add_generation_prompt=True, return_tensors="pt")
    with torch.no_grad():
        expected = peft_model(probe).logits
    merged = peft_model.merge_and_unload()
    merged.generation_config = GenerationConfig.from_pretrained(base.path)
    merged.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    reloaded = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32,
                                                    trust_remote_code=cfg.model.trust_remote_code).eval()
    with torch.no_grad():
        diff = float((reloaded(probe).logits - expected).abs().max())
    tied = bool(reloaded.config.tie_word_embeddings)
    if tied and reloaded.get_output_embeddings().weight.data_ptr() != reloaded.get_input_embeddings().weight.data_ptr():
        raise ModelError(f"merged model {out}: input/output embeddings came back untied; rerun with --force")
    if diff > MAX_LOGIT_DIFF:
        raise ModelError(f"merged model {out} differs from the adapter model (max |logit diff| {diff:.2e} > "
                         f"{MAX_LOGIT_DIFF}); rerun `python -m pipeline merge --force`")
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    return {"max_logit_diff": diff, "tied_embeddings": tied, "torch_dtype": config.get("dtype", "float32"),
            "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id}
