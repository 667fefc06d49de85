"""The rules a dataset manifest must satisfy, each one a named Great Expectations expectation.

Rules that GX has no single expectation for (no group in two splits, complete pixel pairs,
files on disk, class balance per split, no simple statistic separating the pixel pairs) are
checked on a small frame derived from the manifest with pandas (e.g. one row per group with
its number of splits), so that each rule is still one built-in expectation whose failures
point at example rows of that frame.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.expectations.row_conditions import Column

from aligngemini.datasets.schema import COLUMNS, LABELS, SPLITS
from aligngemini.datasets.shortcuts import STATISTICS, ShortcutPolicy, shortcut_frame
from aligngemini.errors import UnsafePathError
from aligngemini.paths import resolve_inside

DATASETS = ("pixel", "semantic")
NOT_NULL = ("sha256", "path", "label", "dataset", "split", "group", "width", "height")
COMPLETE_PAIR = "1 real, 1 fake"  # the pairs frame's `members` of a complete pair
OVERALL = "(overall)"  # the balance frame's row for all balanced splits together
# pandas dtypes a width or height may have (the nullable ones when read from Parquet with nulls)
INTEGER_TYPES = ("int16", "int32", "int64", "uint16", "uint32", "Int16", "Int32", "Int64", "UInt16", "UInt32")


@dataclass(frozen=True)
class ValidationPolicy:
    """What a valid manifest looks like, beyond the schema.

    `balance_splits` names the splits whose share of reals must be near one half (each alone
    and all together); a split that holds fakes only by design can be left out of it.
    `shortcuts` configures the pixel dataset's shortcut check (it decodes every sampled
    image); None leaves that check out.
    """

    allowed_generators: frozenset[str]
    balance_tolerance: float
    min_side: int
    max_side: int
    project_root: Path
    data_root: Path
    balance_splits: frozenset[str] = field(default_factory=lambda: frozenset(SPLITS))
    shortcuts: ShortcutPolicy | None = None


@dataclass(frozen=True)
class DerivedFrame:
    """A frame computed from the manifest's `needs` columns, for rules about groups of rows."""

    needs: tuple[str, ...]
    build: Callable[[pd.DataFrame, ValidationPolicy], pd.DataFrame]


@dataclass(frozen=True)
class Check:
    """One rule: a GX expectation evaluated on one frame (the manifest or a derived frame).

    `needs` are the manifest columns the rule reads: without one of them it cannot be evaluated
    (the schema check reports the missing column).
    """

    name: str
    frame: str
    needs: tuple[str, ...]
    expectation: gxe.Expectation


def groups_frame(manifest: pd.DataFrame) -> pd.DataFrame:
    """One row per group: how many distinct splits its rows are in, and which (for the
    offending groups only: listing every group's splits costs seconds on 100k rows)."""
    counts = manifest.groupby("group", dropna=True)["split"].nunique().rename("n_splits")
    frame = counts.reset_index()
    shared = frame["n_splits"] > 1
    offending = manifest[manifest["group"].isin(frame.loc[shared, "group"])]
    listing = offending.groupby("group")["split"].agg(lambda splits: ",".join(sorted(splits.dropna().unique())))
    frame["splits"] = ""
    frame.loc[shared, "splits"] = frame.loc[shared, "group"].map(listing)
    return frame


def pairs_frame(manifest: pd.DataFrame) -> pd.DataFrame:
    """One row per pair_id: its numbers of real rows, fake rows and distinct groups, and
    `members` (e.g. "1 real, 1 fake") spelling the first two out.

    `members` lets one vectorised in-set expectation judge a pair: GX's column-pair in-set
    expectation loops over rows in Python (seconds on 50k pairs).
    """
    paired = manifest[manifest["pair_id"].notna()]
    labels = paired.groupby(["pair_id", "label"]).size().unstack(fill_value=0)
    counts = labels.reindex(columns=list(LABELS), fill_value=0).rename(columns=lambda label: f"n_{label}")
    counts["n_groups"] = paired.groupby("pair_id")["group"].nunique()
    counts["members"] = counts["n_real"].astype(str) + " real, " + counts["n_fake"].astype(str) + " fake"
    return counts.reset_index().rename_axis(columns=None)


def balance_frame(manifest: pd.DataFrame, splits: frozenset[str]) -> pd.DataFrame:
    """One row per balanced split, and one for them all: real and fake counts, share of reals."""
    rows = manifest[manifest["split"].isin(splits) & manifest["label"].isin(LABELS)]
    counts = rows.groupby(["split", "label"]).size().unstack(fill_value=0)
    per_split = counts.reindex(columns=list(LABELS), fill_value=0)
    per_split.loc[OVERALL] = per_split.sum()
    frame = per_split.rename(columns=lambda label: f"n_{label}").reset_index().rename_axis(columns=None)
    frame["real_share"] = frame["n_real"] / (frame["n_real"] + frame["n_fake"])
    return frame


def files_frame(paths: pd.Series, data_root: Path, project_root: Path) -> pd.DataFrame:
    """One row per manifest row: whether its path names a regular file inside `data_root`,
    and if not, why.

    Fast path: each distinct folder is vetted with `resolve_inside` and listed once; a name
    listed there as a plain file is present, an unlisted one is missing. The rest (null
    paths, symlinks, `.`/`..` names, folders outside the root) go through `resolve_inside`
    one by one, which is also what says why a path escapes the root.
    """
    listings: dict[str, _Listing | None] = {}
    present: list[bool] = []
    problems: list[str] = []
    for path in paths.tolist():
        if not isinstance(path, str) or not path:
            problem = "no path"
        else:
            folder, name = posixpath.split(path)
            if folder not in listings:
                listings[folder] = _list_folder(folder, data_root, project_root)
            listing = listings[folder]
            if listing is not None and name in listing.files:
                problem = ""
            elif listing is not None and name not in listing.entries and name not in ("", ".", ".."):
                problem = "missing"
            else:
                problem = _why_absent(path, data_root, project_root)
        present.append(not problem)
        problems.append(problem)
    return pd.DataFrame({"path": paths.to_numpy(), "file_present": present, "problem": problems})


@dataclass(frozen=True)
class _Listing:
    """The names in a folder inside the data root: its regular files (not symlinks), and all."""

    files: frozenset[str]
    entries: frozenset[str]


def _list_folder(folder: str, data_root: Path, project_root: Path) -> _Listing | None:
    """The listing of `folder` (empty if it does not exist), or None if it is outside the
    data root or cannot be listed."""
    try:
        real = resolve_inside(data_root, folder or ".", base=project_root)
        with os.scandir(real) as scan:
            entries = list(scan)
    except (FileNotFoundError, NotADirectoryError):
        return _Listing(frozenset(), frozenset())
    except (UnsafePathError, OSError):
        return None
    files = frozenset(entry.name for entry in entries if entry.is_file(follow_symlinks=False))
    return _Listing(files, frozenset(entry.name for entry in entries))


def _why_absent(path: str, data_root: Path, project_root: Path) -> str:
    """'' if `path` resolves to a regular file inside the data root, else the reason."""
    try:
        real = resolve_inside(data_root, path, base=project_root)
    except UnsafePathError as exc:
        return f"outside the data root: {exc.detail}"
    if real.is_file():
        return ""
    return "not a regular file" if real.exists() else "missing"


DERIVED: dict[str, DerivedFrame] = {
    "groups": DerivedFrame(("group", "split"), lambda manifest, _: groups_frame(manifest)),
    "pairs": DerivedFrame(("pair_id", "label", "group"), lambda manifest, _: pairs_frame(manifest)),
    "files": DerivedFrame(
        ("path",), lambda manifest, policy: files_frame(manifest["path"], policy.data_root, policy.project_root)
    ),
    "balance": DerivedFrame(
        ("split", "label"), lambda manifest, policy: balance_frame(manifest, policy.balance_splits)
    ),
    "shortcuts": DerivedFrame(
        ("path", "label", "pair_id", "split"), lambda manifest, policy: shortcut_frame(manifest, policy.shortcuts)
    ),
}
FRAMES = ("manifest", *DERIVED)  # the order in which frames are validated and reported


def _check(name: str, frame: str, notes: str, expectation: type[gxe.Expectation], **kwargs) -> Check:
    """A Check whose expectation carries our rule name (in `meta`) and its purpose (in
    `notes`, which Data Docs show). On the manifest it reads its `column` and the column of
    its `row_condition`; on a derived frame, what that frame is built from."""
    if frame in DERIVED:
        needs = DERIVED[frame].needs
    else:
        condition = kwargs.get("row_condition")
        needs = tuple(filter(None, (kwargs.get("column"), condition and condition.column.name)))
    return Check(name, frame, needs, expectation(**kwargs, meta={"check": name}, notes=notes))


def checks_for(dataset: str, policy: ValidationPolicy) -> list[Check]:
    """Every rule of the `dataset` manifest ("pixel" or "semantic") under `policy`."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: expected one of {DATASETS}")
    not_null = NOT_NULL + (("pair_id",) if dataset == "pixel" else ())
    low, high = 0.5 - policy.balance_tolerance, 0.5 + policy.balance_tolerance
    fakes, reals = Column("label") == "fake", Column("label") == "real"
    sizes = ("width", "height")
    checks = [
        _check("schema", "manifest", "The columns are exactly the manifest schema's.",
               gxe.ExpectTableColumnsToMatchSet, column_set=list(COLUMNS), exact_match=True),
        _check("not_empty", "manifest", "The manifest has rows.", gxe.ExpectTableRowCountToBeBetween, min_value=1),
        *(_check("not_null", "manifest", f"Every row has a {column}.", gxe.ExpectColumnValuesToNotBeNull,
                 column=column) for column in not_null),
        _check("dataset_in_set", "manifest", f"Every row belongs to the {dataset} dataset.",
               gxe.ExpectColumnValuesToBeInSet, column="dataset", value_set=[dataset]),
        _check("label_in_set", "manifest", "Labels are real or fake.",
               gxe.ExpectColumnValuesToBeInSet, column="label", value_set=list(LABELS)),
        _check("split_in_set", "manifest", "Splits are the known ones.",
               gxe.ExpectColumnValuesToBeInSet, column="split", value_set=list(SPLITS)),
        _check("sha256_format", "manifest", "sha256 is 64 lowercase hex digits.",
               gxe.ExpectColumnValuesToMatchRegex, column="sha256", regex=r"^[0-9a-f]{64}$"),
        _check("sha256_unique", "manifest", "No image appears twice in the dataset.",
               gxe.ExpectColumnValuesToBeUnique, column="sha256"),
        _check("path_unique", "manifest", "No file is listed twice.", gxe.ExpectColumnValuesToBeUnique, column="path"),
        _check("generator_in_registry", "manifest", "Fakes come from a registered generator.",
               gxe.ExpectColumnValuesToBeInSet, column="generator", value_set=sorted(policy.allowed_generators),
               row_condition=fakes),
        _check("fake_has_generator", "manifest", "Every fake names its generator.",
               gxe.ExpectColumnValuesToNotBeNull, column="generator", row_condition=fakes),
        _check("real_has_no_generator", "manifest", "Reals name no generator.",
               gxe.ExpectColumnValuesToBeNull, column="generator", row_condition=reals),
        *(_check("size_is_integer", "manifest", f"{column} is an integer column.",
                 gxe.ExpectColumnValuesToBeInTypeList, column=column, type_list=list(INTEGER_TYPES))
          for column in sizes),
        *(_check("size_in_range", "manifest", f"{column} is within [{policy.min_side}, {policy.max_side}].",
                 gxe.ExpectColumnValuesToBeBetween, column=column, min_value=policy.min_side, max_value=policy.max_side)
          for column in sizes),
        _check("group_in_one_split", "groups", "No group (split unit) is in two splits.",
               gxe.ExpectColumnValuesToBeBetween, column="n_splits", max_value=1),
        _check("file_present", "files", "Every path is a file inside the data root.",
               gxe.ExpectColumnValuesToBeInSet, column="file_present", value_set=[True]),
        _check("class_balance", "balance", f"The share of reals is within {low:g}..{high:g} per split and overall.",
               gxe.ExpectColumnValuesToBeBetween, column="real_share", min_value=low, max_value=high),
    ]
    if dataset == "pixel":
        checks += [
            _check("pair_complete", "pairs", "Every pair has exactly one real and one fake row.",
                   gxe.ExpectColumnValuesToBeInSet, column="members", value_set=[COMPLETE_PAIR]),
            _check("pair_in_one_group", "pairs", "Both rows of a pair share a group, hence a split.",
                   gxe.ExpectColumnValuesToBeBetween, column="n_groups", max_value=1),
        ]
    if dataset == "pixel" and policy.shortcuts is not None:
        bound = policy.shortcuts.max_separability
        checks.append(_check(
            "no_shortcut", "shortcuts",
            f"No simple image statistic ({', '.join(STATISTICS.names())}) tells reals from fakes: "
            f"each one's AUROC lies within {1 - bound:g}..{bound:g} (separability = max(auroc, 1 - auroc)).",
            gxe.ExpectColumnValuesToBeBetween, column="separability", max_value=bound))
    return checks
