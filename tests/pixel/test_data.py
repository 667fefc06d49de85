from __future__ import annotations

import pytest
import torch

from aligngemini.pixel.data import AugmentedPairs, Pair, collate_pairs, pairs_of_split


def test_pairs_are_matched_by_pair_id(make_dataset):
    rows, _ = make_dataset({"train": 3, "val": 1})
    pairs = pairs_of_split(reversed(rows), "train")
    assert [pair.pair_id for pair in pairs] == ["train-000", "train-001", "train-002"]
    assert pairs[0] == Pair("train-000", "data/synthetic/real/train-000.png", "data/synthetic/fake/train-000.png")


def test_incomplete_pair_is_named(make_dataset):
    rows, _ = make_dataset({"train": 2})
    with pytest.raises(ValueError, match="pair train-001 in split 'train' has 1 real and 0 fake images"):
        pairs_of_split([row for row in rows if row["path"] != "data/synthetic/fake/train-001.png"], "train")


def test_items_hold_the_real_then_the_fake_crop(make_config, make_dataset):
    rows, images = make_dataset({"train": 3})
    config = make_config()
    dataset = AugmentedPairs(pairs_of_split(rows, "train"), images, config.augment, 32, seed=0)
    crops, labels = collate_pairs([dataset[0], dataset[1]])
    assert crops.shape == (4, 3, 32, 32) and crops.dtype == torch.uint8
    assert labels.tolist() == [0.0, 1.0, 0.0, 1.0]
    again = dataset[0][0]
    dataset.epoch = 1
    assert torch.equal(again, crops[:2]) and not torch.equal(dataset[0][0], again)


def test_resized_copies_and_mixed_fakes_keep_their_labels(make_config, make_dataset):
    rows, images = make_dataset({"train": 2})
    pairs = pairs_of_split(rows, "train")
    always = {"pixel_mix_probability": 1.0, "freq_mix_probability": 1.0, "resized_copies_probability": 1.0}
    dataset = AugmentedPairs(pairs, images, make_config(augment=always).augment, 32, seed=0)
    plain = AugmentedPairs(pairs, images, make_config(augment={"resized_copies_probability": 0.0}).augment, 32, seed=0)
    assert dataset[0][0].shape == (6, 3, 32, 32) and dataset[0][1].tolist() == [0.0, 1.0] * 3
    crops, labels = collate_pairs([dataset[0], plain[1]])
    assert crops.shape == (8, 3, 32, 32) and labels.tolist() == [0.0, 1.0] * 4
