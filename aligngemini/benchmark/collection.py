"""The labelled members of an image collection on disk, in the layouts the field's benchmarks
use: class folders (`real/` and `fake/`, CNNDetection's `0_real/` and `1_fake/`, GenImage's
`nature/` and `ai/`) at any depth, or a CSV/Parquet manifest of paths and labels.

Nothing here opens an image or hashes a file: scoring does that, and reports the files it
cannot read. What is decided here is which files belong to the collection, and a symlink
that leads out of it is a member with an error, never followed, so a collection cannot make
the benchmark read files outside it."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from aligngemini.errors import AlignGeminiError
from aligngemini.registry import Registry

MANIFEST = "manifest"
MANIFEST_SUFFIXES = (".csv", ".parquet")
MANIFEST_FORM = "a .csv or .parquet file with columns path,label[,subset] (label real/fake or 0/1)"
MANIFEST_LABELS = {"real": "real", "fake": "fake", "0": "real", "1": "fake"}
SHOWN_FOLDERS = 10


class CollectionError(AlignGeminiError):
    """A collection cannot be read: names the root (or manifest) and the problem."""


@dataclass(frozen=True)
class Member:
    path: str  # as found under the root given, not resolved, so reports show the user's own paths
    label: str  # "real" or "fake"
    subset: str  # e.g. "wildrf/reddit"
    error: str | None = None  # why it cannot be scored; it is still reported


@dataclass(frozen=True)
class Collection:
    root: str  # the argument as given
    layout: str
    members: list[Member]  # sorted by path


@dataclass(frozen=True)
class Layout:
    labels: dict[str, str]  # folder name (any case) -> "real"/"fake"
    description: str  # one line, for error messages and the README


LAYOUTS: Registry[Layout] = Registry("collection layout")
LAYOUTS.register("real_fake")(Layout({"real": "real", "fake": "fake"}, "plain class folders"))
LAYOUTS.register("numbered")(Layout({"0_real": "real", "1_fake": "fake"}, "the CNNDetection convention, also used by UnivFD, NPR and Chameleon"))
LAYOUTS.register("nature_ai")(Layout({"nature": "real", "ai": "fake"}, "the GenImage convention"))


@dataclass(frozen=True)
class _Folder:
    path: str  # as os.walk gives it, under the root given
    parts: tuple[str, ...]  # folder names from the root down to this folder
    files: list[str]  # regular files
    file_links: list[str]  # symlinks that are not to folders, checked before they become members
    folder_links: list[str]  # symlinked folders, never entered


def find_collection(root: str | Path, layout: str | None = None) -> Collection:
    """The members of the collection at `root`: a folder in a registered layout (detected when
    `layout` is None) or a manifest file."""
    given = str(root)
    if layout is not None and layout != MANIFEST and layout not in LAYOUTS:
        raise CollectionError(f"unknown collection layout '{layout}' (known: {', '.join(sorted([MANIFEST, *LAYOUTS.names()]))})")
    if not os.path.exists(given):
        raise CollectionError(f"{given}: no such file or folder")
    is_manifest = os.path.isfile(given) and given.lower().endswith(MANIFEST_SUFFIXES)
    if layout == MANIFEST or (layout is None and is_manifest):
        if not is_manifest:
            raise CollectionError(f"{given}: a manifest must be {MANIFEST_FORM}")
        return Collection(given, MANIFEST, sorted(_manifest_members(given), key=lambda member: member.path))
    if not os.path.isdir(given):
        raise CollectionError(f"{given}: not a folder" + ("" if layout else f", nor a manifest, which is {MANIFEST_FORM}"))
    folders, names = _list(given)
    name = layout or _detect(given, names)
    members = _folder_members(given, folders, LAYOUTS.get(name))
    if not members:
        raise CollectionError(f"{given}: no files in the {_folders(LAYOUTS.get(name))} folders of layout '{name}'")
    return Collection(given, name, sorted(members, key=lambda member: member.path))


def find_collections(roots: Sequence[str | Path], layout: str | None = None) -> list[Collection]:
    """One collection per root, in order."""
    return [find_collection(root, layout) for root in roots]


def collection_fingerprint(sha256s: Iterable[str]) -> str:
    """Identifies a collection by its content: the same images give the same fingerprint
    whatever their paths, order or copies."""
    return hashlib.sha256("\n".join(sorted(set(sha256s))).encode()).hexdigest()


def _list(root: str) -> tuple[list[_Folder], set[str]]:
    """`root` and every non-hidden folder below it, with their entries, and the names of all folders seen."""
    folders, names = [], set()
    for path, dirs, files in os.walk(root, onerror=_unlistable, followlinks=False):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        links = [name for name in dirs if os.path.islink(os.path.join(path, name))]
        names.update(dirs)
        dirs[:] = [name for name in dirs if name not in links]
        regular, file_links = [], []
        for name in sorted(files):
            if not name.startswith("."):
                mode = os.lstat(os.path.join(path, name)).st_mode  # lstat: never touches a link's target
                if stat.S_ISREG(mode):
                    regular.append(name)
                elif stat.S_ISLNK(mode):
                    file_links.append(name)
        parts = Path(os.path.relpath(path, root)).parts if path != root else ()
        folders.append(_Folder(path, parts, regular, file_links, links))
    return folders, names


def _unlistable(exc: OSError) -> None:
    # os.walk would skip an unreadable folder silently, and the benchmark then misses its images
    raise CollectionError(f"{exc.filename}: cannot be listed: {exc.strerror}")


def _detect(root: str, names: set[str]) -> str:
    lowered = {name.lower() for name in names}
    found = {name: sorted(set(LAYOUTS.get(name).labels) & lowered) for name in LAYOUTS.names()}
    found = {name: folders for name, folders in found.items() if folders}
    if len(found) > 1:
        seen = "; ".join(f"{name} ({', '.join(folders)})" for name, folders in found.items())
        raise CollectionError(f"{root}: label folders of several layouts found: {seen}; pass the layout explicitly")
    if not found:
        shown = sorted(names)[:SHOWN_FOLDERS]
        listed = ", ".join(shown) + (f" and {len(names) - len(shown)} more" if len(names) > len(shown) else "")
        accepted = [f"{name}: {_folders(LAYOUTS.get(name))} folders ({LAYOUTS.get(name).description})" for name in LAYOUTS.names()]
        accepted.append(f"or {MANIFEST}: {MANIFEST_FORM}")
        raise CollectionError(f"{root}: no label folders found (folders found: {listed or 'none'}); accepted layouts: {'; '.join(accepted)}")
    return next(iter(found))


def _folders(layout: Layout) -> str:
    return " and ".join(f"{folder}/" for folder in layout.labels)


def _folder_members(root: str, folders: list[_Folder], layout: Layout) -> list[Member]:
    labels = {folder.lower(): label for folder, label in layout.labels.items()}
    real_root = os.path.realpath(root)
    top = Path(root).name
    if top in ("", ".", ".."):
        top = Path(real_root).name
    members = []
    for folder in folders:
        if labelled := _innermost(folder.parts, labels, top):
            members += [Member(os.path.join(folder.path, name), *labelled) for name in folder.files]
            for name in folder.file_links:
                path = os.path.join(folder.path, name)
                members.append(Member(path, *labelled, _escaping(path, real_root)))
        for name in folder.folder_links:
            if labelled := _innermost((*folder.parts, name), labels, top):
                path = os.path.join(folder.path, name)
                error = _escaping(path, real_root) or f"{path}: symlinked folder not followed ({os.path.realpath(path)})"
                members.append(Member(path, *labelled, error))
    return members


def _innermost(parts: tuple[str, ...], labels: dict[str, str], top: str) -> tuple[str, str] | None:
    """(label, subset) from the innermost label folder among `parts`; None outside any."""
    for index in range(len(parts) - 1, -1, -1):
        if label := labels.get(parts[index].lower()):
            return label, "/".join((top, *parts[:index]))
    return None


def _escaping(path: str, real_root: str) -> str | None:
    """The error of a path that symlinks lead out of `real_root`; None when it has no symlink
    or stays inside. Resolving reads the links, never opens their targets."""
    target = os.path.realpath(path)
    if target == os.path.abspath(path) or Path(target).is_relative_to(real_root):
        return None
    return f"{path}: symlink leaves the collection ({target})"


def _manifest_members(manifest: str) -> list[Member]:
    table = _read_manifest(manifest)
    missing = [column for column in ("path", "label") if column not in table.columns]
    if missing:
        raise CollectionError(f"{manifest}: missing column {', '.join(missing)} (expected path,label[,subset])")
    if table.empty:
        raise CollectionError(f"{manifest}: the manifest has no rows")
    folder = os.path.dirname(manifest)  # relative paths are the manifest's own, not the working directory's
    real_folder = os.path.realpath(folder)
    stem = Path(manifest).stem
    subsets = table["subset"] if "subset" in table.columns else [stem] * len(table)
    members = []
    for row, (path, label, subset) in enumerate(zip(table["path"], table["label"], subsets, strict=True), start=1):  # data rows, after the header
        path, label = _cell(path), _cell(label).lower()
        if label not in MANIFEST_LABELS:
            raise CollectionError(f"{manifest}: row {row}: unknown label {label!r} (expected real, fake, 0 or 1)")
        if not path:
            raise CollectionError(f"{manifest}: row {row}: empty path")
        path = os.path.join(folder, path)
        members.append(Member(path, MANIFEST_LABELS[label], _cell(subset) or stem, _escaping(path, real_folder)))
    return members


def _read_manifest(manifest: str) -> pd.DataFrame:
    try:
        if manifest.lower().endswith(".parquet"):
            return pd.read_parquet(manifest)
        # as text: "0" stays a label and "" stays empty; utf-8-sig: spreadsheets start the header with a BOM
        return pd.read_csv(manifest, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise CollectionError(f"{manifest}: the manifest is empty") from None
    except (OSError, ValueError) as exc:  # pyarrow's and pandas' parse errors are ValueErrors
        raise CollectionError(f"{manifest}: cannot be read as a manifest: {exc}") from None


def _cell(value: object) -> str:
    return "" if pd.isna(value) else str(value).strip()
