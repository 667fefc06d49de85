"""`qwen2_5_vl` builder: a tiny, randomly initialised `Qwen2_5_VLForConditionalGeneration`
with its `Qwen2_5_VLProcessor` (a byte-level BPE `Qwen2Tokenizer` trained here on the caption
corpus, Qwen2-VL's chat template, `Qwen2VLImageProcessor` and video processor), saved so that
`AutoModelForImageTextToText.from_pretrained(dir)` and `AutoProcessor.from_pretrained(dir)`
load it offline, exactly as they load `Qwen/Qwen2.5-VL-7B-Instruct`.

Nothing is trained here (`train_steps` must be 0): the semantic branch fine-tunes the model
on its own dataset. The processor resizes every image to about `resolution`² pixels, so a
`resolution`-sided image becomes (resolution / patch_size / merge_size)² image tokens.

Options: `hidden_size` (128), `layers` (2), `heads` (4), `kv_heads` (2), `vision_hidden_size`
(64), `vision_depth` (2), `vision_heads` (4), `patch_size` (8), `merge_size` (2),
`vocab_size` (1024: BPE target; a small corpus ends below it), `answer_words` (["real",
"fake"]: words the tokenizer must hold as single tokens, added to the corpus)."""

from __future__ import annotations

import json
from typing import Sequence

from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import (
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLProcessor,
    Qwen2Tokenizer,
    Qwen2VLImageProcessor,
    Qwen2VLVideoProcessor,
)
from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

from aligngemini.bootstrap.registry import BUILDERS, BuildContext
from aligngemini.errors import AlignGeminiError

PAD, END = "<|endoftext|>", "<|im_end|>"
IMAGE, VIDEO, VISION_START, VISION_END = "<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>"
# Qwen2-VL's special tokens, so the processor, the chat template and grounding prompts of the
# full model all tokenize the same way here.
SPECIAL_TOKENS = [
    PAD, "<|im_start|>", END, "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>",
    "<|quad_start|>", "<|quad_end|>", VISION_START, VISION_END, "<|vision_pad|>", IMAGE, VIDEO,
]  # fmt: skip

# Qwen2-VL-7B-Instruct's chat template, verbatim.
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}"
    "<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: "
    "{% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: "
    "{% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}"
    "{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% endif %}"
)
# The template's fixed words: in the corpus so every prompt spends few tokens on them.
_TEMPLATE_TEXT = ["system", "user", "assistant", "You are a helpful assistant."]


def qwen_tokenizer(corpus: Sequence[str], vocab_size: int) -> Qwen2Tokenizer:
    """A byte-level BPE trained on `corpus` with Qwen2's normaliser and pre-tokenizer, wrapped
    in `Qwen2Tokenizer` so it saves and loads as Qwen's own tokenizer class. The trainer runs
    until `vocab_size` or until every corpus word is one token, whichever comes first."""
    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(sorted(set(corpus)), trainer)
    model = json.loads(bpe.to_str())["model"]
    tokenizer = Qwen2Tokenizer(
        vocab=model["vocab"],
        merges=[tuple(pair) for pair in model["merges"]],
        eos_token=END,
        pad_token=PAD,
        chat_template=CHAT_TEMPLATE,
    )
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS})
    return tokenizer


@BUILDERS.register("qwen2_5_vl")
def build_qwen2_5_vl(ctx: BuildContext) -> None:
    spec, options = ctx.spec, ctx.spec.options
    if spec.train_steps:
        raise AlignGeminiError(f"{spec.name}: the qwen2_5_vl builder trains nothing; set train_steps to 0")
    patch, merge = options.get("patch_size", 8), options.get("merge_size", 2)
    if spec.resolution % (patch * merge):
        raise AlignGeminiError(f"{spec.name}: resolution {spec.resolution} is not a multiple of patch_size * merge_size = {patch * merge}")
    answer_words = list(options.get("answer_words", ["real", "fake"]))
    tokenizer = qwen_tokenizer([*ctx.prompts, *_TEMPLATE_TEXT, *answer_words], options.get("vocab_size", 1024))
    size = {"shortest_edge": (patch * merge) ** 2, "longest_edge": spec.resolution**2}
    vision = {"patch_size": patch, "merge_size": merge, "temporal_patch_size": 2, "size": size}
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(**vision),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(**vision),
        chat_template=CHAT_TEMPLATE,
    )

    hidden, heads = options.get("hidden_size", 128), options.get("heads", 4)
    head_dim = hidden // heads
    # M-RoPE splits half the head dimension over (time, height, width): Qwen's own 16/24/24
    # of 64, scaled to this head size.
    height_width = 3 * head_dim // 16
    token_id = tokenizer.convert_tokens_to_ids
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "num_hidden_layers": options.get("layers", 2),
            "num_attention_heads": heads,
            "num_key_value_heads": options.get("kv_heads", 2),
            "max_position_embeddings": 1024,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [head_dim // 2 - 2 * height_width, height_width, height_width],
            },
            "bos_token_id": None,
            "eos_token_id": token_id(END),
            "pad_token_id": token_id(PAD),
        },
        vision_config={
            "depth": (depth := options.get("vision_depth", 2)),
            "hidden_size": (vision_hidden := options.get("vision_hidden_size", 64)),
            "intermediate_size": 2 * vision_hidden,
            "num_heads": options.get("vision_heads", 4),
            "patch_size": patch,
            "spatial_merge_size": merge,
            "temporal_patch_size": 2,
            # one attention window covers a whole image at the model's resolution; the last
            # block attends globally, as Qwen2.5-VL's full-attention blocks do
            "window_size": spec.resolution,
            "fullatt_block_indexes": [depth - 1],
            "out_hidden_size": hidden,
        },
        image_token_id=token_id(IMAGE),
        video_token_id=token_id(VIDEO),
        vision_start_token_id=token_id(VISION_START),
        vision_end_token_id=token_id(VISION_END),
    )
    model = Qwen2_5_VLForConditionalGeneration(config)
    model.generation_config.pad_token_id = token_id(PAD)
    model.save_pretrained(ctx.out_dir)
    processor.save_pretrained(ctx.out_dir)
