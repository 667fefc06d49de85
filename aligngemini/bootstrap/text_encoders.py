"""Tiny text encoder configs of the text-conditioned builders, sized to the locally built
tokenizers."""

from __future__ import annotations

from transformers import CLIPTextConfig, CLIPTokenizer, T5Config, T5Tokenizer

CLIP_MAX_TOKENS = 77  # CLIP's context length, which the pipelines pad every prompt to


def clip_text_config(tokenizer: CLIPTokenizer, width: int, projection_dim: int | None = None) -> CLIPTextConfig:
    """Two layers; `projection_dim` sizes `CLIPTextModelWithProjection`'s pooled output."""
    extra = {} if projection_dim is None else {"projection_dim": projection_dim}
    return CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=width,
        intermediate_size=2 * width,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=CLIP_MAX_TOKENS,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **extra,
    )


def t5_config(tokenizer: T5Tokenizer, width: int) -> T5Config:
    """Two layers, few relative-position buckets: the captions are short."""
    return T5Config(
        vocab_size=len(tokenizer),
        d_model=width,
        d_kv=width // 2,
        d_ff=2 * width,
        num_layers=2,
        num_heads=2,
        relative_attention_num_buckets=8,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
