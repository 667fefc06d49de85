"""Groups (the units that are never divided between splits) and their split assignment.

Group rules, for any row of the stage manifests (real, generated, reconstruction):
- lineage is followed upwards through `parent_sha256` as far as the rows know it, stopping
  at a generated image: a reconstruction, a crop or any image derived from another belongs
  to the group of what it came from;
- a real image's group is its photo, `photo:<sha256 of the whole photo>`: a whole photo is
  its own photo, a tile's photo is its parent (whether or not the photo's row is listed);
- a generated image's group is its prompt, `prompt:<first 16 hex digits of sha256(prompt)>`,
  so images of one prompt (by any generator) never span splits; an image without a prompt
  (unconditional generator) is its own group, `image:<sha256>`;
- an image of a held-out generator belongs to `generator:<name>`: all its samples go to the
  `heldout` split regardless of prompt, so its group must not be one of the prompt groups
  that train/val/test divide.

Assignment: `plan_splits` gives held-out generators' groups `heldout` and divides the other
groups among train/val/test by `split_fractions`, each kind of group (photos, prompts,
single images) on its own, so every split gets its share of real photos and of prompts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping

from aligngemini.datasets.align import seeded_key
from aligngemini.datasets.schema import SPLITS

HELDOUT = "heldout"
ASSIGNED_SPLITS = tuple(split for split in SPLITS if split != HELDOUT)
_HELDOUT_KIND = "generator"  # the kind of group (text before ':') of a held-out generator's images


def index_rows(*row_sets: Iterable[Mapping]) -> dict[str, Mapping]:
    """Rows of the stage manifests by sha256, for following lineage."""
    return {row["sha256"]: row for rows in row_sets for row in rows}


def group_of(row: Mapping, index: Mapping[str, Mapping], heldout_generators: Collection[str]) -> str:
    """The group of `row` under the rules of the module docstring."""
    origin = row
    while origin["kind"] != "generated" and origin["parent_sha256"] in index:
        origin = index[origin["parent_sha256"]]
    if origin["kind"] == "generated":
        if origin["generator"] in heldout_generators:
            return f"{_HELDOUT_KIND}:{origin['generator']}"
        prompt = origin["prompt"]
        if prompt is None:
            return f"image:{origin['sha256']}"
        return f"prompt:{hashlib.sha256(prompt.encode()).hexdigest()[:16]}"
    if origin["kind"] == "real":
        return f"photo:{origin['parent_sha256'] or origin['sha256']}"
    raise ValueError(
        f"image {row['sha256']} descends from {origin['sha256']} ({origin['kind']}), whose parent "
        f"{origin['parent_sha256']} is in none of the given rows: its group is unknown"
    )


def assign_splits(groups: Iterable[str], fractions: Mapping[str, float], seed: int) -> dict[str, str]:
    """The split of each group, deterministic and independent of the order of `groups`.

    Groups are ordered by `seeded_key(seed, group)` and cut into consecutive blocks, one per
    split in `SPLITS` order, sized by the largest-remainder rounding of `n * fraction`.
    When there are at least as many groups as splits with a non-zero fraction, each of those
    splits gets at least one group (taken from the largest). Adding groups moves only
    groups near the block boundaries.
    """
    unknown = set(fractions) - set(ASSIGNED_SPLITS)
    if unknown:
        raise ValueError(f"cannot assign groups to {sorted(unknown)}: splits are {ASSIGNED_SPLITS}")
    ordered = sorted(set(groups), key=lambda group: (seeded_key(seed, group), group))
    counts = _block_sizes(len(ordered), fractions)
    assignment: dict[str, str] = {}
    start = 0
    for split, count in counts.items():
        assignment.update((group, split) for group in ordered[start : start + count])
        start += count
    return assignment


def plan_splits(
    rows: Iterable[Mapping], fractions: Mapping[str, float], seed: int, heldout_generators: Collection[str]
) -> dict[str, str]:
    """The split of every group of `rows` (any stage-manifest rows; reconstructions add no
    group of their own). Held-out generators' groups get `heldout`; the others are assigned
    by `assign_splits` one kind at a time (photos, prompts, single images), so every split
    gets its fraction of the real photos and of the prompts, not of their mixture. Both
    datasets take this one plan, so a real tile is in the same split in each."""
    rows = list(rows)
    index = index_rows(rows)
    by_kind: dict[str, set[str]] = {}
    for row in rows:
        group = group_of(row, index, heldout_generators)
        by_kind.setdefault(group.split(":", 1)[0], set()).add(group)
    plan = dict.fromkeys(by_kind.pop(_HELDOUT_KIND, ()), HELDOUT)
    for groups in by_kind.values():
        plan.update(assign_splits(groups, fractions, seed))
    return plan


def split_of(group: str, splits: Mapping[str, str]) -> str:
    """The planned split of `group`; a clear error if the plan was made from other rows."""
    try:
        return splits[group]
    except KeyError:
        raise ValueError(f"group {group!r} has no split: plan the splits from the same rows") from None


def _block_sizes(n: int, fractions: Mapping[str, float]) -> dict[str, int]:
    """How many of `n` groups each split gets (see `assign_splits`)."""
    splits = [split for split in ASSIGNED_SPLITS if split in fractions]
    total = sum(fractions[split] for split in splits)
    if total <= 0 or any(fractions[split] < 0 for split in splits):
        raise ValueError(f"split fractions must be non-negative with a positive sum, got {dict(fractions)}")
    exact = {split: n * fractions[split] / total for split in splits}
    counts = {split: int(exact[split]) for split in splits}
    by_remainder = sorted(splits, key=lambda split: (-(exact[split] - counts[split]), splits.index(split)))
    for split in by_remainder[: n - sum(counts.values())]:
        counts[split] += 1
    wanted = [split for split in splits if fractions[split] > 0]
    if n >= len(wanted):
        for split in wanted:
            if counts[split] == 0:
                largest = max(splits, key=lambda other: (counts[other], -splits.index(other)))
                counts[largest] -= 1
                counts[split] = 1
    return counts
