"""Loading the VLM: clear errors for what cannot be loaded or scored."""

from __future__ import annotations

from pathlib import Path

import pytest

from aligngemini.semantic.model import AnswerTokenError, VLMLoadError, load_vlm


def test_load_gives_single_token_answers_in_eval_mode(vlm_dir: Path) -> None:
    vlm = load_vlm(str(vlm_dir))
    tokenizer = vlm.processor.tokenizer
    assert [tokenizer.decode([i]) for i in vlm.answer_ids] == ["real", "fake"]
    assert not vlm.model.training
    assert str(vlm.device) == "cpu"


def test_answer_split_into_several_tokens_is_refused(build_vlm) -> None:
    directory = build_vlm("no-answers", answer_words=[])
    with pytest.raises(AnswerTokenError, match="'real' is [2-9] tokens .*must be a single token"):
        load_vlm(str(directory))


@pytest.mark.parametrize("source", ["no/such-model-here", "/nonexistent/tiny-vlm"])
def test_unloadable_source_fails_clearly(source: str) -> None:
    with pytest.raises(VLMLoadError, match="cannot load the VLM"):
        load_vlm(source)
