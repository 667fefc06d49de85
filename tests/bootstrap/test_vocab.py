"""The locally built tokenizers: whole-word tokens for corpus words, a fallback for any
other text, and a save/load round trip through `from_pretrained` with no hub."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import CLIPTokenizer, T5Tokenizer

from aligngemini.bootstrap.vocab import caption_words, clip_tokenizer, t5_tokenizer

CAPTIONS = [
    "a photograph of a cat",
    "A cat at the table",
    "an astronaut in a white space suit",
    "tables, cats and a Rocket",
]


def test_caption_words_are_sorted_and_unique() -> None:
    words = caption_words(CAPTIONS, lower=True)
    assert words == sorted(set(words))
    assert {"cat", "cats", "table", "tables", "rocket"} <= set(words)
    assert "Rocket" in caption_words(CAPTIONS, lower=False)


def test_clip_gives_every_corpus_word_one_token() -> None:
    tokenizer = clip_tokenizer(CAPTIONS, 77)
    for word in caption_words(CAPTIONS, lower=True):
        assert tokenizer.tokenize(word) == [word + "</w>"]


def test_t5_gives_every_corpus_word_one_token() -> None:
    tokenizer = t5_tokenizer(CAPTIONS, 120)
    for word in caption_words(CAPTIONS, lower=False):
        assert tokenizer.tokenize(word) == ["▁" + word]


@pytest.mark.parametrize("build", [clip_tokenizer, t5_tokenizer])
def test_unseen_text_tokenizes_without_unknowns(build) -> None:
    tokenizer = build(CAPTIONS, 64)
    ids = tokenizer("A zebra, 3 giraffes & 1 okapi!", add_special_tokens=False).input_ids
    assert len(ids) > 3
    assert tokenizer.unk_token_id not in ids


def test_vocabulary_does_not_depend_on_caption_order() -> None:
    assert clip_tokenizer(CAPTIONS, 77).get_vocab() == clip_tokenizer(CAPTIONS[::-1], 77).get_vocab()
    assert t5_tokenizer(CAPTIONS, 120).get_vocab() == t5_tokenizer(CAPTIONS[::-1], 120).get_vocab()


@pytest.mark.parametrize("build, cls", [(clip_tokenizer, CLIPTokenizer), (t5_tokenizer, T5Tokenizer)])
def test_saved_tokenizer_reloads_identically(build, cls, tmp_path: Path) -> None:
    tokenizer = build(CAPTIONS, 32)
    tokenizer.save_pretrained(tmp_path)
    reloaded = cls.from_pretrained(tmp_path)
    text = ["a cat at the table", "an unseen zebra"]
    assert reloaded(text, padding="max_length").input_ids == tokenizer(text, padding="max_length").input_ids
    assert reloaded.model_max_length == 32
