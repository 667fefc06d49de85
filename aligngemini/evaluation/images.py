"""Which untouched images the fused detector is evaluated on, and how real and fake ones are
brought to one format and size history.

The detector meets raw images, so it is evaluated on raw images, never on the datasets'
aligned copies: real tiles and generated images as the ingest and generate stages stored
them, and the held-out reconstructors' reconstructions of test tiles. Splits follow the
datasets' own plan (`plan_splits` over the same stage manifests, seed and fractions), so no
image of a group the branches trained on is evaluated. Each image's `split` says what it is:
- `val`: real tiles and generated images of validation groups (the fusion is fitted here);
- `test`: real tiles and generated images (training generators) of test groups;
- `heldout_generators`: every image of the held-out generators (leave-one-generator-out);
- `heldout_reconstructors`: the held-out reconstructors' reconstructions of the test tiles
  (leave-one-family-out: no branch trained on those decoders).
The evaluation pairs every fake set with the reals of `test`. Whole photos are left out:
their tiles stand for them.

Matching (DDA's warning: a detector can score well by reading the format): every evaluated
image is centre-cropped to `size` x `size` (never resampled, so pixel traces stay; a crop
offset is kept a multiple of 8 so a real's JPEG grid stays where it was), and every fake is
JPEG-compressed at the quality of a real partner whenever that partner came from a JPEG
file, so both classes share one compression history and one size. A reconstruction's
partner is the tile it reconstructs; any other fake draws its partner among the reals of its
own pool (val or test) by a seeded hash of its sha256. Images smaller than `size` are left
out (counted)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from PIL import Image

from aligngemini.datasets.align import jpeg, parse_reconstruction_transform, seeded_key
from aligngemini.datasets.splits import group_of, index_rows, plan_splits

EVALUATED_SPLITS = ("val", "test", "heldout_generators", "heldout_reconstructors")
HELDOUT_SPLITS = ("heldout_generators", "heldout_reconstructors")
_GRID = 8


@dataclass(frozen=True)
class EvalImage:
    sha256: str
    path: str  # project-relative, inside the data root
    label: str  # "real" or "fake"
    split: str  # one of EVALUATED_SPLITS
    generator: str | None  # fakes: the generator or reconstructor that made it
    family: str | None  # fakes: the generator's or reconstructor's family
    jpeg_quality: int | None  # matching: compress at this quality after the crop (fakes only)
    size: int  # matching: the centre crop's side


@dataclass(frozen=True)
class EvalSelection:
    images: list[EvalImage]
    too_small: int  # images left out for a side below the matching size

    def matching_text(self) -> str:
        size = self.images[0].size if self.images else 0
        compressed = sum(1 for image in self.images if image.jpeg_quality is not None)
        fakes = sum(1 for image in self.images if image.label == "fake")
        return (
            f"every image centre-cropped to {size}x{size} px (no resampling); each fake JPEG-compressed at its real "
            f"partner's source quality when the partner came from a JPEG ({compressed} of {fakes} fakes), so both "
            f"classes share one size and compression history; {self.too_small} image(s) below {size} px left out"
        )


def evaluation_images(
    real_rows: Iterable[Mapping],
    generated_rows: Iterable[Mapping],
    recon_rows: Iterable[Mapping],
    *,
    split_fractions: Mapping[str, float],
    seed: int,
    heldout_generators: Collection[str],
    heldout_reconstructors: Collection[str],
    families: Mapping[str, str],
    size: int,
) -> EvalSelection:
    """The evaluated images of the stage manifests' rows (rules in the module docstring),
    sorted by (split, label, sha256). `families` maps generator and reconstructor names to
    their family (a name missing from it is its own family)."""
    real_rows, generated_rows = list(real_rows), list(generated_rows)
    rows = [*real_rows, *generated_rows]
    plan = plan_splits(rows, split_fractions, seed, heldout_generators)
    index = index_rows(rows)
    reals: dict[str, list[Mapping]] = {"val": [], "test": []}
    fakes: list[tuple[Mapping, str, Mapping | None]] = []  # (row, split, fixed partner)
    for row in rows:
        split = plan[group_of(row, index, heldout_generators)]
        if row["kind"] == "real" and row["parent_sha256"] is not None and split in reals:
            reals[split].append(row)
        elif row["kind"] == "generated" and split in ("val", "test", "heldout"):
            fakes.append((row, "heldout_generators" if split == "heldout" else split, None))
    for members in reals.values():
        members.sort(key=lambda real: real["sha256"])
    test_tiles = {row["sha256"]: row for row in reals["test"]}
    for recon in recon_rows:
        parsed = parse_reconstruction_transform(recon["transform"])
        if parsed and parsed[1] is None and parsed[0] in heldout_reconstructors and recon["parent_sha256"] in test_tiles:
            fakes.append((recon, "heldout_reconstructors", test_tiles[recon["parent_sha256"]]))

    chosen = [_image(row, "real", split, None, None, size) for split, members in reals.items() for row in members]
    for row, split, partner in fakes:
        partner = partner or _partner(row["sha256"], reals["val" if split == "val" else "test"], seed)
        maker = row["generator"] if row["kind"] == "generated" else row["source"]
        chosen.append(_image(row, "fake", split, maker, families.get(maker, maker), size, _source_quality(partner)))
    kept = [image for image, fits in chosen if fits]
    return EvalSelection(sorted(kept, key=lambda i: (i.split, i.label, i.sha256)), len(chosen) - len(kept))


def matched(image: EvalImage, pixels: Image.Image) -> Image.Image:
    """`pixels` of `image` under its matching: the centre crop, then the partner's JPEG."""
    rgb = pixels if pixels.mode == "RGB" else pixels.convert("RGB")
    left, top = (_offset(side, image.size) for side in rgb.size)
    cropped = rgb.crop((left, top, left + image.size, top + image.size))
    return cropped if image.jpeg_quality is None else jpeg(cropped, image.jpeg_quality)[0]


def _offset(side: int, size: int) -> int:
    return (side - size) // 2 // _GRID * _GRID


def _image(row: Mapping, label: str, split: str, maker: str | None, family: str | None, size: int, quality: int | None = None) -> tuple[EvalImage, bool]:
    fits = min(row["width"], row["height"]) >= size
    return EvalImage(row["sha256"], row["path"], label, split, maker, family, quality, size), fits


def _partner(sha256: str, reals: Sequence[Mapping], seed: int) -> Mapping | None:
    """A real drawn by the fake's own hash among `reals` (in sha256 order, so the manifests'
    row order does not matter)."""
    if not reals:
        return None
    return reals[int(seeded_key(seed, "evaluation-partner", sha256), 16) % len(reals)]


def _source_quality(real: Mapping | None) -> int | None:
    if real is None or real["source_format"] != "JPEG":
        return None
    return real["jpeg_quality"]
