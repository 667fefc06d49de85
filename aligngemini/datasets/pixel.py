"""The pixel-artifact dataset: pairs `(x, R(x))` of a real image and its reconstruction at
native size, aligned (as in DDA) so that only the decoder's pixel traces tell them apart.

Rules:
- every real image with a native-size reconstruction (transform `vae(<name>)`, see
  `align.reconstruction_transform`, or `resize(N)+vae(<name>)` of an N x N real, which the
  reconstruct stage plans instead when N is also the semantic size) by a reconstructor that
  is not held out gives one pair. The reconstruct stage makes one such reconstruction per
  tile, by the training reconstructor drawn for it; should there be several, a native one
  comes before a resized one, then the one whose name sorts first (then the smallest
  sha256), so each real is in one pair. Held-out reconstructors' reconstructions never
  enter the dataset: they are the evaluation's;
- both rows share `pair_id` = the real image's sha256, and the real's group and split;
  the fake's `generator` is the reconstructor (the reconstruction's `source`);
- real and fake must have the same size and mode before and after alignment (else
  `ValueError`: a reconstruction stage that changed the size is a bug to surface);
- JPEG alignment: when the real came from a JPEG file of estimated quality q, the fake is
  JPEG-compressed at q with probability `jpeg_align_probability` (drawn per pair; DDA uses
  0.5), so JPEG traces point to neither class;
- sharpness matching (`sharpness_tolerance`, see `aligngemini.datasets.sharpness`): after
  the JPEG alignment, the sharper member is blurred until both have the same mean
  |Laplacian|; a member with a JPEG history (a real from a JPEG, an aligned fake) is
  JPEG-compressed again at its quality, so the blur does not erase its block grid;
- with probability `resample_probability` (seeded per pair) both get the SAME resampling,
  down ~ U(resample_down) then up ~ U(resample_up), after the fake's JPEG alignment;
- a pair whose two images end up pixel-identical (e.g. a flat tile the autoencoder
  reproduces exactly) is left out: it teaches nothing and would list one file twice.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from functools import partial

from PIL import Image

from aligngemini.config import DatasetsConfig, PixelDatasetConfig
from aligngemini.datasets.align import Step, apply_steps, blur, jpeg, parse_reconstruction_transform, resample, sample_rng
from aligngemini.datasets.build import DATASET_BUILDERS, DatasetAssembly, DatasetBuild, DatasetInputs, Loader
from aligngemini.datasets.sharpness import sharpness_match
from aligngemini.datasets.splits import group_of, index_rows, split_of
from aligngemini.images.store import ImageStore

DATASET = "pixel"


def build_pixel_dataset(
    real_rows: Iterable[Mapping],
    recon_rows: Iterable[Mapping],
    splits: Mapping[str, str],
    config: PixelDatasetConfig,
    seed: int,
    store: ImageStore,
    load: Loader,
    *,
    created_at: str,
    flow_run_id: str | None = None,
    heldout_reconstructors: Collection[str] = (),
) -> DatasetBuild:
    """The pixel dataset of the real images in `real_rows` and their reconstructions in
    `recon_rows` (rules in the module docstring); derived images go to `store`."""
    reals = index_rows(real_rows)
    assembly = DatasetAssembly(DATASET, store, created_at, flow_run_id)
    trained_on = [row for row in recon_rows if row["source"] not in heldout_reconstructors]
    for real_sha, fake in sorted(native_reconstructions(trained_on, reals).items()):
        real = reals[real_sha]
        real_image, fake_image = load(real), load(fake)
        _require_aligned(real_sha, real_image, fake_image, "before alignment")
        real_steps, fake_steps = alignment_steps(real, real_image, fake_image, config, seed)
        real_derived, fake_derived = apply_steps(real_image, real_steps), apply_steps(fake_image, fake_steps)
        real_final = real_derived[0] if real_derived else real_image
        fake_final = fake_derived[0] if fake_derived else fake_image
        _require_aligned(real_sha, real_final, fake_final, "after alignment")
        if real_final.tobytes() == fake_final.tobytes():
            continue
        group = group_of(real, reals, ())
        sample = partial(assembly.add, split=split_of(group, splits), group=group, pair_id=real_sha)
        sample(real, real_derived, label="real", generator=None)
        sample(fake, fake_derived, label="fake", generator=fake["source"])
    return assembly.result()


def native_reconstructions(recon_rows: Iterable[Mapping], reals: Mapping[str, Mapping]) -> dict[str, Mapping]:
    """The native-size reconstruction of each real image that has one, by the real's sha256."""
    found = []
    for recon in recon_rows:
        parsed, real = parse_reconstruction_transform(recon["transform"]), reals.get(recon["parent_sha256"])
        if parsed is not None and real is not None and parsed[1] in (None, _square_side(real)):
            found.append(((parsed[1] is not None, recon["source"] or "", recon["sha256"]), recon))
    partners: dict[str, Mapping] = {}
    for _, recon in sorted(found, key=lambda item: item[0]):
        partners.setdefault(recon["parent_sha256"], recon)
    return partners


def _square_side(row: Mapping) -> int | None:
    return row["width"] if row["width"] == row["height"] else None


def alignment_steps(
    real: Mapping, real_image: Image.Image, fake_image: Image.Image, config: PixelDatasetConfig, seed: int
) -> tuple[list[Step], list[Step]]:
    """The steps applied to the real image of a pair and to its fake, drawn from the pair's
    own random stream (the sharpness match also reads the pixels)."""
    rng = sample_rng(seed, DATASET, real["sha256"])
    recompress = partial(jpeg, quality=real["jpeg_quality"])
    from_jpeg = real["source_format"] == "JPEG" and real["jpeg_quality"] is not None
    aligned = rng.random() < config.jpeg_align_probability and from_jpeg
    real_steps: list[Step] = []
    fake_steps: list[Step] = [recompress] if aligned else []
    if config.sharpness_tolerance is not None:
        fake_now = apply_steps(fake_image, fake_steps)
        match = sharpness_match(real_image, fake_now[0] if fake_now else fake_image, config.sharpness_tolerance)
        if match is not None:
            side, sigma = match
            steps, had_jpeg = (real_steps, from_jpeg) if side == "real" else (fake_steps, aligned)
            steps.extend([partial(blur, sigma=sigma), *([recompress] if had_jpeg else [])])
    if rng.random() < config.resample_probability:
        both = partial(resample, down=rng.uniform(*config.resample_down), up=rng.uniform(*config.resample_up))
        return [*real_steps, both], [*fake_steps, both]
    return real_steps, fake_steps


def _require_aligned(pair_id: str, real: Image.Image, fake: Image.Image, when: str) -> None:
    if real.size != fake.size or real.mode != fake.mode:
        raise ValueError(
            f"pixel pair {pair_id} {when}: real is {real.width}x{real.height} {real.mode}, fake is "
            f"{fake.width}x{fake.height} {fake.mode}; a pair must match in size and mode"
        )


@DATASET_BUILDERS.register(DATASET)
def build_registered(
    inputs: DatasetInputs,
    config: DatasetsConfig,
    store: ImageStore,
    load: Loader,
    *,
    created_at: str,
    flow_run_id: str | None,
) -> DatasetBuild:
    return build_pixel_dataset(
        inputs.real_rows, inputs.recon_rows, inputs.splits, config.pixel, config.seed, store, load,
        created_at=created_at, flow_run_id=flow_run_id, heldout_reconstructors=config.heldout_reconstructors,
    )  # fmt: skip
