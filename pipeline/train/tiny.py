"""A tiny random Llama-architecture model with the embedded SmolLM2 tokenizer, for fast tests.

``python -m pipeline.train.tiny OUT_DIR`` writes one. With 2 layers and hidden size 64 it trains,
merges, exports and quantizes in seconds on a CPU, so unit tests and the harness's
end-to-end test can run the whole chain (``model.base: OUT_DIR``) without the real model.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.embedded import load_embedded_tokenizer


def make_tiny_model(out_dir: Path, *, hidden_size: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """Write a tiny random ``LlamaForCausalLM`` plus the embedded tokenizer to ``out_dir``.

    Args:
        out_dir: destination folder (created).
        hidden_size: model width; heads = hidden_size // 16.
        layers: decoder layers.
        seed: torch seed for the random weights.

    Returns:
        ``out_dir``, loadable with ``from_pretrained``; input/output embeddings are tied as
        in SmolLM2 and the tokenizer's pad token differs from its EOS token.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM


    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = load_embedded_tokenizer()
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=hidden_size * 2,
        num_hidden_layers=layers, num_attention_heads=max(1, hidden_size // 16),
        num_key_value_heads=max(1, hidden_size // 32), max_position_embeddings=512,
        tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


if __name__ == "__main__":
    print(make_tiny_model(Path(sys.argv[1] if len(sys.argv) > 1 else "artifacts/tiny")))
