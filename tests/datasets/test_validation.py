"""Great Expectations validation of dataset manifests: a clean manifest of each dataset
passes, and each injected fault fails the expectation named for it, with an example."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from aligngemini.datasets.expectations import files_frame
from aligngemini.datasets.schema import COLUMNS
from aligngemini.datasets.validation import ValidationPolicy, build_data_docs, validate_manifest

# 12 units per dataset: 6 train, 2 val, 2 test, 2 heldout. A pixel unit is one pair (a
# real and its reconstruction, one group); a semantic unit is a real and a fake image,
# each its own group.
UNIT_SPLITS = ["train"] * 6 + ["val"] * 2 + ["test"] * 2 + ["heldout"] * 2
GENERATORS = {"pixel": "vae-a", "semantic": "tiny-sd"}
HELD_OUT = {"pixel": "vae-held", "semantic": "tiny-held"}


def _row(project: Path, dataset: str, name: str, label: str, split: str, group: str, pair_id: str | None) -> dict:
    """A manifest row whose image file (a few unique bytes) is written under data/."""
    content = f"{dataset} {name}".encode()
    sha = hashlib.sha256(content).hexdigest()
    path = f"data/{dataset}/{sha[:2]}/{sha}.png"
    (project / path).parent.mkdir(parents=True, exist_ok=True)
    (project / path).write_bytes(content)
    generator = None if label == "real" else (HELD_OUT if split == "heldout" else GENERATORS)[dataset]
    return {"sha256": sha, "path": path, "label": label, "dataset": dataset, "split": split, "group": group,
            "generator": generator, "pair_id": pair_id, "transform": "jpeg95", "width": 64, "height": 48}


def _clean_manifest(project: Path, dataset: str) -> pd.DataFrame:
    rows = []
    for unit, split in enumerate(UNIT_SPLITS):
        for label in ("real", "fake"):
            if dataset == "pixel":
                rows.append(_row(project, dataset, f"{unit}{label}", label, split, f"g{unit}", f"p{unit}"))
            else:
                rows.append(_row(project, dataset, f"{unit}{label}", label, split, f"g{unit}{label}", None))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"width": "int32", "height": "int32"})


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project root with data/ (the data root), a file beside it and a symlink out of it."""
    root = tmp_path_factory.mktemp("validation")
    (root / "data").mkdir()
    (root / "outside.png").write_bytes(b"not in the data root")
    (root / "data" / "escape.png").symlink_to(root / "outside.png")
    return root


@pytest.fixture(scope="module")
def manifests(project) -> dict[str, pd.DataFrame]:
    return {dataset: _clean_manifest(project, dataset) for dataset in ("pixel", "semantic")}


@pytest.fixture(scope="module")
def policy(project) -> ValidationPolicy:
    return ValidationPolicy(
        allowed_generators=frozenset({*GENERATORS.values(), *HELD_OUT.values()}),
        balance_tolerance=0.05,
        min_side=16,
        max_side=4096,
        project_root=project,
        data_root=Path("data"),
    )


def _set(column: str, value, label: str | None = None) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """A fault: `column` of the first row (with `label`, if given) set to `value`."""

    def fault(df: pd.DataFrame) -> pd.DataFrame:
        row = df.index[0] if label is None else df.index[df["label"] == label][0]
        df.loc[row, column] = value
        return df

    return fault


def _group_in_two_splits(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[df.index[df["split"] == "val"][0], "group"] = df.loc[0, "group"]
    return df


def _duplicate_sha256(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[1, "sha256"] = df.loc[0, "sha256"]
    return df


def _drop_first_fake(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(index=df.index[df["label"] == "fake"][0])


def _drop_two_train_reals(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(index=df.index[(df["label"] == "real") & (df["split"] == "train")][:2])


# fault id -> (fault, datasets it applies to, check, GX expectation type, text in the examples)
FAULTS = {
    "label_outside_set": (_set("label", "maybe"), "both", "label_in_set", "expect_column_values_to_be_in_set", "maybe"),
    "group_in_two_splits": (_group_in_two_splits, "both", "group_in_one_split", "expect_column_values_to_be_between",
                            '"splits":"train,val"'),
    "pair_missing_partner": (_drop_first_fake, "pixel", "pair_complete", "expect_column_values_to_be_in_set",
                             '"pair_id":"p0"'),
    "unknown_generator": (_set("generator", "mystery-gen", label="fake"), "both", "generator_in_registry",
                          "expect_column_values_to_be_in_set", "mystery-gen"),
    "duplicate_sha256": (_duplicate_sha256, "both", "sha256_unique", "expect_column_values_to_be_unique", '"sha256"'),
    "missing_file": (_set("path", "data/pixel/no/such.png"), "both", "file_present",
                     "expect_column_values_to_be_in_set", '"problem":"missing"'),
    "path_escaping_root": (_set("path", "data/../outside.png"), "both", "file_present",
                           "expect_column_values_to_be_in_set", "outside the data root"),
    "symlink_escaping_root": (_set("path", "data/escape.png"), "both", "file_present",
                              "expect_column_values_to_be_in_set", "outside the data root"),
    "width_out_of_range": (_set("width", 10_000), "both", "size_in_range", "expect_column_values_to_be_between",
                           '"width":10000'),
    "class_imbalance": (_drop_two_train_reals, "both", "class_balance", "expect_column_values_to_be_between",
                        '"split":"train"'),
    "missing_column": (lambda df: df.drop(columns="height"), "both", "schema", "expect_table_columns_to_match_set",
                       '{"column":"height","problem":"missing"}'),
}
CASES = [
    pytest.param(dataset, fault, check, expectation, text, id=f"{dataset}-{fault_id}")
    for fault_id, (fault, applies, check, expectation, text) in FAULTS.items()
    for dataset in ("pixel", "semantic")
    if applies in ("both", dataset)
]


@pytest.mark.parametrize("dataset", ["pixel", "semantic"])
def test_clean_manifest_passes(manifests, policy, dataset):
    report = validate_manifest(manifests[dataset], policy)
    assert report.success, report.render()
    assert report.failures == [] and report.skipped == []
    assert report.statistics["evaluated_expectations"] == report.statistics["successful_expectations"] > 15
    assert report.render().startswith(f"{dataset} manifest: PASSED")


@pytest.mark.parametrize(("dataset", "fault", "check", "expectation", "example_text"), CASES)
def test_each_fault_fails_its_expectation(manifests, policy, dataset, fault, check, expectation, example_text):
    report = validate_manifest(fault(manifests[dataset].copy()), policy)

    assert not report.success
    named = [failure for failure in report.failures if failure["check"] == check]
    assert named, f"{check} did not fail:\n{report.render()}"
    failure = named[0]
    assert failure["expectation"] == expectation
    assert 1 <= len(failure["examples"]) <= 5
    assert example_text in json.dumps(failure["examples"], separators=(",", ":")), failure["examples"]
    rendered = report.render()
    assert f"- {check}: {expectation}" in rendered and "FAILED" in rendered
    as_json = report.to_json_dict()
    assert json.loads(json.dumps(as_json)) == as_json
    assert as_json["gx_results"][failure["frame"]]["success"] is False


def test_missing_column_skips_the_checks_that_read_it(manifests, policy):
    report = validate_manifest(manifests["semantic"].drop(columns="height"), policy)
    assert report.skipped == ["not_null", "size_in_range", "size_is_integer"]
    assert "not evaluated (a column they read is missing): not_null, size_in_range, size_is_integer" in report.render()


def test_rows_of_another_dataset_are_flagged(manifests, policy):
    mixed = pd.concat([manifests["semantic"], manifests["pixel"].head(2)], ignore_index=True)
    report = validate_manifest(mixed, policy)
    assert report.dataset == "semantic"
    assert "dataset_in_set" in {failure["check"] for failure in report.failures}


def test_splits_left_out_of_the_balance_may_hold_fakes_only(manifests, policy):
    semantic = manifests["semantic"]
    fakes_only = semantic[~((semantic["split"] == "heldout") & (semantic["label"] == "real"))]
    assert not validate_manifest(fakes_only, policy).success
    lenient = dataclasses.replace(policy, balance_splits=frozenset({"train", "val", "test"}))
    assert validate_manifest(fakes_only, lenient).success


def test_files_frame_says_why_a_file_is_absent(project):
    (project / "data" / "folder").mkdir(exist_ok=True)
    (project / "data" / "inner.png").symlink_to(project / "data" / "folder" / "kept.png")
    (project / "data" / "folder" / "kept.png").write_bytes(b"x")
    paths = ["data/folder/kept.png", "data/inner.png", "data/folder", None, str(project / "outside.png"), "data/gone.png",
             "data/no/folder.png", "data/folder/"]
    frame = files_frame(pd.Series(paths), Path("data"), project)
    assert frame["file_present"].tolist() == [True, True] + [False] * 6
    assert frame["problem"].tolist()[:4] == ["", "", "not a regular file", "no path"]
    assert frame["problem"][4].startswith("outside the data root: resolves to ")
    assert frame["problem"].tolist()[5:] == ["missing", "missing", "not a regular file"]


def test_data_docs_show_the_validations(manifests, policy, tmp_path):
    validate_manifest(manifests["pixel"], policy)
    index = build_data_docs(tmp_path / "reports" / "validation")
    assert index == tmp_path / "reports" / "validation" / "index.html"
    html = index.read_text()
    assert "pixel.manifest" in html and "pixel.pairs" in html
