"""Tokenizers built locally from the caption corpus, so no vocabulary file is downloaded.

Both keep a character fallback, so any prompt tokenizes, and give every word of the
corpus its own token, so training captions are short sequences of whole words."""

from __future__ import annotations

import re
import string
from typing import Iterable, Sequence

from tokenizers import pre_tokenizers
from transformers import CLIPTokenizer, T5Tokenizer

CLIP_BOS, CLIP_EOS = "<|startoftext|>", "<|endoftext|>"
_CLIP_WORD_END = "</w>"  # CLIP's BPE marks the last symbol of a word with this suffix


def caption_words(captions: Iterable[str], lower: bool) -> list[str]:
    """Letter runs of the captions, as the pre-tokenizers split them; sorted so the
    vocabulary does not depend on caption order."""
    return sorted({word for text in captions for word in re.findall(r"[^\W\d_]+", text.lower() if lower else text)})


def _bpe_segments(symbols: list[str], ranks: dict[tuple[str, str], int]) -> list[str]:
    """Apply BPE merges lowest rank first, as the tokenizers library does."""
    while len(symbols) > 1:
        pairs = [(ranks.get(pair, len(ranks)), i) for i, pair in enumerate(zip(symbols, symbols[1:]))]
        rank, i = min(pairs)
        if rank == len(ranks):
            break
        symbols = [*symbols[:i], symbols[i] + symbols[i + 1], *symbols[i + 2 :]]
    return symbols


def clip_tokenizer(captions: Sequence[str], max_length: int) -> CLIPTokenizer:
    """A byte-level BPE CLIP tokenizer: all 256 byte symbols, plus merges that spell each
    corpus word. Each word's merges join what the earlier merges leave of it, and come
    after them, so every corpus word ends as one token; other words fall back to pieces."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab: dict[str, int] = {}
    for token in [CLIP_BOS, CLIP_EOS, *alphabet, *(c + _CLIP_WORD_END for c in alphabet)]:
        vocab.setdefault(token, len(vocab))
    ranks: dict[tuple[str, str], int] = {}
    for word in caption_words(captions, lower=True):  # CLIP lower-cases its input
        segments = _bpe_segments([*word[:-1], word[-1] + _CLIP_WORD_END], ranks)
        joined = segments[0]
        for segment in segments[1:]:
            ranks[(joined, segment)] = len(ranks)
            joined += segment
            vocab.setdefault(joined, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=list(ranks), model_max_length=max_length)


def t5_tokenizer(captions: Sequence[str], max_length: int) -> T5Tokenizer:
    """A Unigram T5 tokenizer: T5's special ids (<pad>=0, </s>=1, <unk>=2), printable ASCII
    characters, and one likelier piece per corpus word."""
    words = caption_words(captions, lower=False)  # T5 keeps case
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(char, -10.0) for char in sorted(set(string.printable) - set(string.whitespace))]
    pieces += [("▁" + word, -1.0) for word in words]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=max_length)
