from __future__ import annotations

import pytest
import torch

from aligngemini.errors import AlignGeminiError
from aligngemini.pixel.backbones import (
    BACKBONES,
    WeightMappingError,
    build_backbone,
    map_packaged_lite0,
    packaged_lite0_weights_path,
)


@pytest.fixture(scope="module")
def packaged() -> dict[str, torch.Tensor]:
    return torch.load(packaged_lite0_weights_path(), map_location="cpu", weights_only=True)


def test_registry_lists_both_backbones():
    assert {"efficientnet_lite0", "timm_vit_lora"} <= set(BACKBONES.names())


def test_packaged_imagenet_weights_are_loaded_exactly(packaged):
    model = build_backbone("efficientnet_lite0", crop_size=32, pretrained=True, options={}).module
    loaded = model.state_dict()
    # the package's tensors line up with timm's in order; only the 1000-class head is replaced
    assert len(packaged) == len(loaded)
    for (src_key, src), (dst_key, dst) in zip(packaged.items(), loaded.items()):
        if dst_key.startswith("classifier."):
            assert src_key.startswith("_fc.") and dst.shape[0] == 1 and src.shape[0] == 1000
        else:
            assert torch.equal(src, dst), (src_key, dst_key)
    assert model.classifier.out_features == 1


def test_random_init_shares_no_packaged_weights(packaged):
    torch.manual_seed(0)
    model = build_backbone("efficientnet_lite0", crop_size=32, pretrained=False, options={}).module
    assert not torch.equal(model.conv_stem.weight, packaged["_conv_stem.weight"])


def test_mapping_is_verified_not_trusted(packaged):
    target = dict(packaged)  # same names: stands in for timm's keys
    with pytest.raises(WeightMappingError, match="hold 295 tensors, timm's model 296"):
        map_packaged_lite0(dict(list(packaged.items())[:-1]), target)
    swapped = list(packaged.items())
    swapped[0], swapped[1] = swapped[1], swapped[0]
    with pytest.raises(WeightMappingError, match="tensor 0: packaged '_bn0.weight' \\(32,\\)"):
        map_packaged_lite0(dict(swapped), target)


def test_unknown_option_names_the_accepted_ones():
    with pytest.raises(AlignGeminiError, match="unknown option\\(s\\) lora_rank \\(accepted: drop_rate\\)"):
        build_backbone("efficientnet_lite0", crop_size=32, pretrained=False, options={"lora_rank": 4})


def tiny_vit(crop_size: int = 32):
    return build_backbone(
        "timm_vit_lora", crop_size=crop_size, pretrained=False,
        options={"model": "vit_tiny_patch16_224", "lora_rank": 4, "lora_targets": ["qkv"]},
    )  # fmt: skip


def test_vit_lora_trains_only_adapters_and_head():
    backbone = tiny_vit()
    trainable = [name for name, p in backbone.module.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name or "modules_to_save" in name for name in trainable)
    assert any(".qkv.lora_A." in name for name in trainable) and any("head" in name for name in trainable)
    assert backbone.module(torch.rand(2, 3, 32, 32)).shape == (2, 1)


def test_vit_crop_must_be_a_multiple_of_the_patch():
    with pytest.raises(AlignGeminiError, match="crop_size 40 is not a multiple of vit_tiny_patch16_224's patch size 16"):
        tiny_vit(40)


def test_vit_pretrained_weights_come_from_the_pinned_commit(hub_cache, tmp_path):
    import timm
    from safetensors.torch import save_file

    revision = "b" * 40
    torch.manual_seed(1)
    hub_weights = timm.create_model("vit_tiny_patch16_224", pretrained=False).state_dict()
    (tmp_path / "weights").mkdir()
    save_file(hub_weights, tmp_path / "weights" / "model.safetensors")
    hub_id = timm.models.get_pretrained_cfg("vit_tiny_patch16_224").hf_hub_id
    hub_cache.pin(hub_id, revision, tmp_path / "weights")  # the repo's main branch has no weights
    options = {"model": "vit_tiny_patch16_224", "lora_rank": 4, "revision": revision}
    vit = build_backbone("timm_vit_lora", crop_size=224, pretrained=True, options=options).module.base_model.model
    assert torch.equal(vit.patch_embed.proj.weight, hub_weights["patch_embed.proj.weight"])
    with pytest.raises(AlignGeminiError, match="pixel.backbone.options.revision: 'main' is not a hub commit"):
        build_backbone("timm_vit_lora", crop_size=224, pretrained=True, options=options | {"revision": "main"})
