"""Shortcut statistics of the pixel dataset: simple per-image numbers that must not tell a
real image from its reconstruction.

A pixel pair shares its content, so only decoder traces should separate real from fake; if
one number (sharpness, a colour cast, ...) separates them, the expert learns that number
instead of the traces. Each statistic of `STATISTICS` is measured on the RGB pixels as
stored, over a seeded sample of complete pairs, and judged by its single-statistic AUROC
(fakes the positive class, so above 0.5 means fakes score higher): its separability
max(auroc, 1 - auroc) must not exceed `ShortcutPolicy.max_separability`. That verdict is a
Great Expectations expectation on the `shortcut_frame` (see `expectations.checks_for`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.metrics import roc_auc_score

from aligngemini.errors import FileProblem
from aligngemini.registry import Registry

Statistic = Callable[[np.ndarray], float]  # H x W x 3 float RGB in 0..255 -> one number
STATISTICS: Registry[Statistic] = Registry("image statistic")
TABLE_COLUMNS = ["statistic", "auroc", "separability", "real_mean", "fake_mean", "pairs"]

BLOCK = 8  # JPEG's block side
HIGH_BAND = (0.25, 0.5)  # cycles per pixel: the upper half of the frequencies up to Nyquist
_EPS = 1e-12
_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601, as Pillow's "L" conversion


@dataclass(frozen=True)
class ShortcutPolicy:
    """How the shortcut check samples and judges (params `validation.shortcut_*`).

    `load` gives the pixels of a manifest path (the project's defensive loader).
    """

    load: Callable[[str], Image.Image]
    margin: float
    max_pairs: int | None
    splits: frozenset[str]
    seed: int
    blocking: bool = True

    @property
    def max_separability(self) -> float:
        return 0.5 + self.margin


def _grey(rgb: np.ndarray) -> np.ndarray:
    return rgb @ _LUMA


@STATISTICS.register("sharpness")
def sharpness(rgb: np.ndarray) -> float:
    """Mean |4-neighbour Laplacian| of the grey image."""
    g = _grey(rgb)
    laplacian = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
    return float(np.abs(laplacian).mean())


def channel_mean(rgb: np.ndarray, channel: int) -> float:
    return float(rgb[..., channel].mean())


for _index, _name in enumerate(("mean_red", "mean_green", "mean_blue")):
    STATISTICS.register(_name)(partial(channel_mean, channel=_index))


@STATISTICS.register("saturation")
def saturation(rgb: np.ndarray) -> float:
    """Mean HSV saturation (max - min) / max, 0 for black pixels."""
    high, low = rgb.max(axis=-1), rgb.min(axis=-1)
    return float(np.divide(high - low, high, out=np.zeros_like(high), where=high > 0).mean())


@STATISTICS.register("spectrum_slope")
def spectrum_slope(rgb: np.ndarray) -> float:
    """Slope of log radial power vs log frequency over `HIGH_BAND` (grey image, Hann
    window, rings 1/min(H, W) wide); more negative when high frequencies fade faster.
    A strong blur (Gaussian sigma above about 1 px) leaves only 8-bit rounding noise in that
    band, which is white: the slope flattens again, and `sharpness` is what catches it."""
    g = _grey(rgb)
    h, w = g.shape
    # The window keeps the tile's borders from adding a 1/f^2 cross to every frequency.
    power = np.abs(np.fft.fft2((g - g.mean()) * np.outer(np.hanning(h), np.hanning(w)))) ** 2
    side = min(h, w)
    ring = np.rint(np.hypot(*np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")) * side).astype(int)
    total, count = np.bincount(ring.ravel(), power.ravel()), np.bincount(ring.ravel())
    rings = np.arange(len(total))
    band = (rings >= HIGH_BAND[0] * side) & (rings <= HIGH_BAND[1] * side) & (count > 0)
    return float(np.polyfit(np.log(rings[band] / side), np.log(total[band] / count[band] + _EPS), 1)[0])


@STATISTICS.register("jpeg_grid_energy")
def jpeg_grid_energy(rgb: np.ndarray) -> float:
    """Mean |difference| of neighbouring grey pixels across 8-px block boundaries (aligned
    at the image origin, as JPEG's grid) over the same inside blocks; about 1 without
    blocking, above 1 with it. Needs at least 9 pixels per side."""
    g = _grey(rgb)
    across, inside = [], []
    for diff in (np.abs(np.diff(g, axis=1)), np.abs(np.diff(g, axis=0)).T):
        # difference k lies between pixels k and k + 1: across a boundary when k + 1 is a multiple of 8
        boundary = (np.arange(diff.shape[1]) + 1) % BLOCK == 0
        across.append(diff[:, boundary].ravel())
        inside.append(diff[:, ~boundary].ravel())
    return float((np.concatenate(across).mean() + _EPS) / (np.concatenate(inside).mean() + _EPS))


def sample_pairs(manifest: pd.DataFrame, policy: ShortcutPolicy) -> pd.DataFrame:
    """The rows of the complete pairs (one real, one fake) in `policy.splits`, at most
    `policy.max_pairs` of them drawn with `policy.seed`; incomplete pairs are the
    `pair_complete` check's to report."""
    rows = manifest[manifest["split"].isin(policy.splits) & manifest["pair_id"].notna()]
    labels = rows.groupby(["pair_id", "label"]).size().unstack(fill_value=0).reindex(columns=["real", "fake"], fill_value=0)
    complete = sorted(labels.index[(labels["real"] == 1) & (labels["fake"] == 1)])
    if policy.max_pairs is not None and len(complete) > policy.max_pairs:
        complete = np.random.default_rng(policy.seed).choice(complete, policy.max_pairs, replace=False).tolist()
    return rows[rows["pair_id"].isin(complete)]


def image_statistics(rows: pd.DataFrame, load: Callable[[str], Image.Image]) -> pd.DataFrame:
    """One row per image of `rows`: pair_id, label and every statistic. A pair with a file
    that cannot be read is left out (a missing file fails `file_present`); it lowers the
    table's `pairs`."""
    names = STATISTICS.names()
    records = []
    for pair_id, pair in rows.groupby("pair_id", sort=True):
        try:
            images = [(label, np.asarray(load(path), dtype=np.float64)) for path, label in zip(pair["path"], pair["label"])]
        except FileProblem:
            continue
        records += [{"pair_id": pair_id, "label": label, **{n: STATISTICS.get(n)(rgb) for n in names}} for label, rgb in images]
    return pd.DataFrame(records, columns=["pair_id", "label", *names])


def shortcut_table(values: pd.DataFrame) -> pd.DataFrame:
    """One row per statistic of `values` (as `image_statistics` makes): its AUROC, its
    separability, the real and fake means, and the number of pairs; no rows without a pair."""
    is_fake = values["label"] == "fake"
    if is_fake.all() or not is_fake.any():
        return pd.DataFrame(columns=TABLE_COLUMNS)
    rows = []
    for name in STATISTICS.names():
        auroc = float(roc_auc_score(is_fake, values[name]))
        rows.append([name, auroc, max(auroc, 1 - auroc), values.loc[~is_fake, name].mean(),
                     values.loc[is_fake, name].mean(), values["pair_id"].nunique()])
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def shortcut_frame(manifest: pd.DataFrame, policy: ShortcutPolicy) -> pd.DataFrame:
    """The per-statistic table of the pixel manifest's sampled pairs."""
    return shortcut_table(image_statistics(sample_pairs(manifest, policy), policy.load))
