"""Finding the labelled members of a collection: folder layouts, detection, manifests, symlinks."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from aligngemini.benchmark.collection import (
    LAYOUTS,
    MANIFEST,
    CollectionError,
    Member,
    collection_fingerprint,
    find_collection,
    find_collections,
)


def touch(*paths: Path) -> None:
    for path in paths:  # nothing is decoded, so any bytes stand for an image
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not decoded")


def summary(root: str | Path, layout: str | None = None) -> list[tuple[str, str, str]]:
    """(path relative to the root's parent, label, subset) per member."""
    base = Path(root).parent
    return [(os.path.relpath(m.path, base), m.label, m.subset) for m in find_collection(root, layout).members]


@pytest.mark.parametrize("name", LAYOUTS.names())
def test_each_layout_is_detected_at_any_depth(tmp_path: Path, name: str) -> None:
    labels = LAYOUTS.get(name).labels
    for folder in labels:
        touch(tmp_path / "coll" / "gen" / folder / "b.png", tmp_path / "coll" / folder.upper() / "a.png")
    collection = find_collection(tmp_path / "coll")
    assert (collection.root, collection.layout) == (str(tmp_path / "coll"), name)
    expected = [(f"coll/{folder.upper()}/a.png", label, "coll") for folder, label in labels.items()]
    expected += [(f"coll/gen/{folder}/b.png", label, "coll/gen") for folder, label in labels.items()]
    assert summary(tmp_path / "coll") == sorted(expected)
    assert all(m.error is None for m in collection.members)


def test_subsets_come_from_the_path_down_to_the_innermost_label_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "wildrf"
    touch(root / "README.md", root / "reddit/fake/x.png", root / "reddit/real/y.png", root / "twitter/fake/deep/z.png")
    touch(root / "twitter/fake/real/w.png", root / "reddit/real/.DS_Store", root / "reddit/.cache/fake/h.png")
    assert summary(root) == [
        ("wildrf/reddit/fake/x.png", "fake", "wildrf/reddit"),
        ("wildrf/reddit/real/y.png", "real", "wildrf/reddit"),
        ("wildrf/twitter/fake/deep/z.png", "fake", "wildrf/twitter"),
        ("wildrf/twitter/fake/real/w.png", "real", "wildrf/twitter/fake"),
    ]
    monkeypatch.chdir(root / "reddit")
    assert [(m.path, m.subset) for m in find_collection(".").members] == [("./fake/x.png", "reddit"), ("./real/y.png", "reddit")]


def test_no_label_folders_names_the_folders_found_and_the_layouts_accepted(tmp_path: Path) -> None:
    for index in range(12):
        touch(tmp_path / "coll" / f"gen{index:02d}" / "a.png")
    with pytest.raises(CollectionError) as error:
        find_collection(tmp_path / "coll")
    message = str(error.value)
    assert str(tmp_path / "coll") in message
    assert "gen09" in message and "gen10" not in message and "2 more" in message
    for name in LAYOUTS.names():
        assert name in message and all(folder in message for folder in LAYOUTS.get(name).labels)
    assert MANIFEST in message and ".csv" in message and ".parquet" in message


def test_two_layouts_are_ambiguous_unless_one_is_named(tmp_path: Path) -> None:
    touch(tmp_path / "coll/a/real/r.png", tmp_path / "coll/b/0_real/n.png", tmp_path / "coll/b/1_fake/f.png")
    with pytest.raises(CollectionError, match="numbered.*real_fake"):
        find_collection(tmp_path / "coll")
    assert summary(tmp_path / "coll", "numbered") == [("coll/b/0_real/n.png", "real", "coll/b"), ("coll/b/1_fake/f.png", "fake", "coll/b")]
    assert find_collection(tmp_path / "coll", "real_fake").layout == "real_fake"
    with pytest.raises(CollectionError, match="known: manifest, nature_ai, numbered, real_fake"):
        find_collection(tmp_path / "coll", "imagenet")


def test_one_class_is_enough_but_no_files_is_an_error(tmp_path: Path) -> None:
    touch(tmp_path / "only/fake/f.png")
    assert summary(tmp_path / "only") == [("only/fake/f.png", "fake", "only")]
    (tmp_path / "empty/real").mkdir(parents=True)
    with pytest.raises(CollectionError, match=re.escape(f"{tmp_path / 'empty'}: no files")):
        find_collection(tmp_path / "empty")
    with pytest.raises(CollectionError, match="no such file or folder"):
        find_collection(tmp_path / "absent")


def test_csv_manifest(tmp_path: Path) -> None:
    touch(tmp_path / "m/imgs/a.png", tmp_path / "m/imgs/b.png")
    elsewhere = tmp_path / "other/c.png"
    rows = f"path,label\nimgs/a.png,0\nimgs/b.png,FAKE\n{elsewhere},Real\n"
    (tmp_path / "m/list.csv").write_text(rows, encoding="utf-8-sig")  # as spreadsheets save it, BOM first
    collection = find_collection(tmp_path / "m/list.csv")
    assert collection.layout == MANIFEST
    assert collection.members == [
        Member(str(tmp_path / "m/imgs/a.png"), "real", "list"),
        Member(str(tmp_path / "m/imgs/b.png"), "fake", "list"),
        Member(str(elsewhere), "real", "list"),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("path,label\na.png,real\nb.png,maybe\n", "row 2: unknown label 'maybe'"),
        ("path,subset\na.png,x\n", "missing column label"),
        ("path,label\n", "no rows"),
        ("", "empty"),
    ],
)
def test_bad_csv_manifest_names_the_file_and_problem(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(CollectionError) as error:
        find_collection(tmp_path / "bad.csv")
    assert str(error.value).startswith(f"{tmp_path / 'bad.csv'}: ") and problem in str(error.value)


def test_parquet_manifest_with_numeric_labels_and_subsets(tmp_path: Path) -> None:
    pd.DataFrame({"path": ["b.png", "a.png"], "label": [1, 0], "subset": ["gen", None]}).to_parquet(tmp_path / "set.parquet")
    assert find_collection(tmp_path / "set.parquet").members == [
        Member(str(tmp_path / "a.png"), "real", "set"),
        Member(str(tmp_path / "b.png"), "fake", "gen"),
    ]


def test_symlinks_out_of_the_collection_are_errors_and_not_followed(tmp_path: Path) -> None:
    touch(tmp_path / "secret/key.png", tmp_path / "secret/dir/inner.png", tmp_path / "coll/real/r.png")
    fake = tmp_path / "coll/fake"
    fake.mkdir()
    (fake / "leak.png").symlink_to(tmp_path / "secret/key.png")
    (fake / "dir").symlink_to(tmp_path / "secret/dir")
    (fake / "same.png").symlink_to(tmp_path / "coll/real/r.png")
    (fake / "mirror").symlink_to(tmp_path / "coll/real")
    secret = os.path.realpath(tmp_path / "secret")
    members = {os.path.basename(m.path): m for m in find_collection(tmp_path / "coll").members}
    assert sorted(members) == ["dir", "leak.png", "mirror", "r.png", "same.png"]  # nothing from inside either folder link
    assert members["leak.png"].error == f"{fake / 'leak.png'}: symlink leaves the collection ({secret}/key.png)"
    assert members["dir"] == Member(str(fake / "dir"), "fake", "coll", f"{fake / 'dir'}: symlink leaves the collection ({secret}/dir)")
    assert members["mirror"].error == f"{fake / 'mirror'}: symlinked folder not followed ({os.path.realpath(tmp_path / 'coll/real')})"
    assert members["same.png"] == Member(str(fake / "same.png"), "fake", "coll")


def test_manifest_symlink_out_of_its_folder_is_an_error(tmp_path: Path) -> None:
    touch(tmp_path / "secret.png", tmp_path / "m/in.png")
    (tmp_path / "m/leak.png").symlink_to(tmp_path / "secret.png")
    (tmp_path / "m/same.png").symlink_to(tmp_path / "m/in.png")
    (tmp_path / "m/list.csv").write_text("path,label\nleak.png,1\nsame.png,0\n")
    errors = {os.path.basename(m.path): m.error for m in find_collection(tmp_path / "m/list.csv").members}
    assert errors == {
        "leak.png": f"{tmp_path / 'm/leak.png'}: symlink leaves the collection ({os.path.realpath(tmp_path / 'secret.png')})",
        "same.png": None,
    }


def test_find_collections_keeps_the_order_of_roots(tmp_path: Path) -> None:
    touch(tmp_path / "b/real/r.png", tmp_path / "a/ai/f.png")
    assert [(c.root, c.layout) for c in find_collections([tmp_path / "b", str(tmp_path / "a")])] == [
        (str(tmp_path / "b"), "real_fake"),
        (str(tmp_path / "a"), "nature_ai"),
    ]


def test_fingerprint_ignores_order_and_copies() -> None:
    hashes = [hashlib.sha256(bytes([i])).hexdigest() for i in range(3)]
    assert collection_fingerprint(hashes) == collection_fingerprint([*reversed(hashes), hashes[0]])
    assert collection_fingerprint(hashes) == hashlib.sha256("\n".join(sorted(hashes)).encode()).hexdigest()
    assert collection_fingerprint(hashes) != collection_fingerprint(hashes[:2])
