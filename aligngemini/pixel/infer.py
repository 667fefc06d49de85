"""`p_fake` of images of any size, at native resolution.

Multi-crop rule (`aligngemini.pixel.crops.crop_boxes`): crops of the training crop size,
never a resize of the whole image; the centre crop plus an evenly spaced grid that covers
the image with at most `inference.grid` crops per axis (so a 128 px tile with 96 px crops
gets 5 crops; a 1024 px photo with grid 3 gets a 3x3 grid, whose middle is the centre crop). The expert's logits of an image's
crops are averaged and the mean goes through a sigmoid: averaging logits lets one crop
with strong evidence count for more than one near 0.5.

Size rule: a shorter side below `inference.min_side` is refused with
`ImageTooSmallError` naming the image and its size; a side from `min_side` up to the crop
size is reflect-padded (`aligngemini.pixel.crops.pad_to_crop`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from PIL import Image

from aligngemini.errors import ImageTooSmallError
from aligngemini.pixel.config import InferenceConfig
from aligngemini.pixel.crops import crop_boxes, pad_to_crop
from aligngemini.pixel.model import PixelExpert


def image_crops(image: Image.Image, crop: int, config: InferenceConfig, name: str = "<image>") -> torch.Tensor:
    """The multi-crop rule's crops of `image` as a uint8 `(K, 3, crop, crop)` tensor."""
    if min(image.size) < config.min_side:
        raise ImageTooSmallError(
            name, f"{image.width}x{image.height} has a side below the pixel expert's minimum of {config.min_side} px"
        )
    pixels = pad_to_crop(np.asarray(image.convert("RGB")), crop)
    height, width = pixels.shape[:2]
    crops = np.stack([pixels[y : y + crop, x : x + crop] for y, x in crop_boxes(height, width, crop, config.grid)])
    return torch.from_numpy(crops).permute(0, 3, 1, 2)


@torch.inference_mode()
def predict_logits(
    expert: PixelExpert, images: Iterable[Image.Image], config: InferenceConfig, names: Sequence[str] | None = None
) -> np.ndarray:
    """The mean crop logit of each image, batched `config.batch_size` crops at a time
    across image boundaries."""
    expert.eval()
    batch_size = config.batch_size
    pending: list[torch.Tensor] = []  # crops not run yet; concatenated once a batch is full, not per image
    waiting = 0
    owners: list[int] = []
    logits: list[torch.Tensor] = []
    count = 0
    for count, image in enumerate(images, start=1):
        name = names[count - 1] if names is not None else f"<image {count - 1}>"
        crops = image_crops(image, expert.crop_size, config, name)
        pending.append(crops)
        waiting += len(crops)
        owners.extend([count - 1] * len(crops))
        if waiting >= batch_size:
            queued = torch.cat(pending)
            full = waiting - waiting % batch_size
            logits.extend(expert(queued[start : start + batch_size]) for start in range(0, full, batch_size))
            pending, waiting = [queued[full:]], waiting - full
    if waiting:
        logits.append(expert(torch.cat(pending)))
    if not count:
        return np.zeros(0, dtype=np.float32)
    index = torch.tensor(owners)
    totals = torch.zeros(count).index_add_(0, index, torch.cat(logits).float().cpu())
    return (totals / torch.bincount(index, minlength=count)).numpy()


def p_fake(
    expert: PixelExpert, images: Iterable[Image.Image], config: InferenceConfig, names: Sequence[str] | None = None
) -> np.ndarray:
    """Probability that each image is fake (rules in the module docstring); `names` (one
    per image, e.g. paths) name an image in errors."""
    logits = predict_logits(expert, images, config, names)
    return torch.sigmoid(torch.from_numpy(logits)).numpy()
