import json

import pytest

from aligngemini.evaluation.summary import SETS, ScoresTableError, UnknownNameError, summarise


def test_each_set_pairs_its_fakes_with_all_reals(detectors, scores_table):
    evaluation = summarise(scores_table(), detectors)
    counts = {name: (evaluation.metrics[name]["clean"]["pixel"]["n_real"], evaluation.metrics[name]["clean"]["pixel"]["n_fake"]) for name in SETS}
    assert counts == {"heldout": (4, 8), "heldout_reconstructors": (4, 3), "heldout_generators": (4, 5), "test": (4, 5), "all": (4, 13)}


def test_metrics_follow_each_detector(detectors, scores_table):
    metrics = summarise(scores_table(), detectors).metrics
    assert metrics["heldout"]["clean"]["pixel"]["balanced_accuracy"] == 1.0
    assert metrics["test"]["clean"]["semantic"]["balanced_accuracy"] == 1.0
    assert metrics["heldout"]["clean"]["semantic"]["fake_accuracy"] == 0.0
    assert metrics["all"]["clean"]["semantic"]["fake_accuracy"] == 5 / 13
    assert metrics["test"]["jpeg_q50"]["fused"]["real_accuracy"] == 0.0
    assert metrics["test"]["jpeg_q50"]["fused"]["balanced_accuracy"] == 0.5


def test_per_generator_pairs_each_generator_with_all_reals(detectors, scores_table):
    evaluation = summarise(scores_table(), detectors)
    assert evaluation.generators == ["gen-a", "gen-b", "gen-h", "rec-r"]
    counts = {g: (m["pixel"]["n_real"], m["pixel"]["n_fake"]) for g, m in evaluation.per_generator["clean"].items()}
    assert counts == {"gen-a": (4, 3), "gen-b": (4, 2), "gen-h": (4, 5), "rec-r": (4, 3)}
    rows = evaluation.generator_rows()
    assert [(r["generator"], r["detector"]) for r in rows][:3] == [("gen-a", "pixel"), ("gen-a", "semantic"), ("gen-a", "fused")]
    assert {r["generator"]: r["balanced_accuracy"] for r in rows if r["detector"] == "semantic"} == {"gen-a": 1.0, "gen-b": 1.0, "gen-h": 0.5, "rec-r": 0.5}


def test_each_heldout_family_is_measured_alone_with_the_test_reals(detectors, scores_table):
    evaluation = summarise(scores_table(), detectors)
    assert evaluation.families == {"fam-h": "heldout_generators", "fam-r": "heldout_reconstructors"}
    table = evaluation.generalisation(["clean", "jpeg_q50"])
    assert list(table) == ["fam-h", "fam-r"]
    assert table["fam-r"]["kind"] == "heldout_reconstructors"
    assert (table["fam-r"]["clean"]["pixel"]["n_real"], table["fam-r"]["clean"]["pixel"]["n_fake"]) == (4, 3)
    assert table["fam-h"]["jpeg_q50"]["semantic"]["balanced_accuracy"] == 0.5
    with pytest.raises(UnknownNameError, match="blur_s9"):
        evaluation.generalisation(["blur_s9"])


def test_conditions_clean_first_or_in_the_given_order(detectors, scores_table):
    table = scores_table(conditions=("jpeg_q50", "blur_s1", "clean"))
    assert summarise(table, detectors).conditions == ["clean", "blur_s1", "jpeg_q50"]
    assert summarise(table, detectors, conditions=["clean", "jpeg_q50", "blur_s1"]).conditions == ["clean", "jpeg_q50", "blur_s1"]
    with pytest.raises(ScoresTableError, match="differ"):
        summarise(table, detectors, conditions=["clean", "jpeg_q50"])


def test_rows_are_flat_and_complete(detectors, scores_table):
    evaluation = summarise(scores_table(), detectors)
    ablation = evaluation.ablation_rows()
    assert [row["detector"] for row in ablation] == detectors
    assert ablation[1]["test_balanced_accuracy"] == 1.0 and ablation[1]["heldout_balanced_accuracy"] == 0.5
    assert ablation[1]["heldout_roc_auc"] == 3 / 8  # only the 3 reconstructions (0.3) score above the reals (0.2)
    robustness = evaluation.robustness_rows("fused")
    assert [(r["condition"], r["set"]) for r in robustness] == [(c, s) for c in ("clean", "jpeg_q50") for s in SETS]
    roc = evaluation.roc_rows()
    assert {(r["set"], r["detector"]) for r in roc} == {(s, d) for s in SETS for d in detectors}
    assert all(set(r) == {"detector", "set", "fpr", "tpr"} for r in roc)


def test_whole_evaluation_is_valid_deterministic_json(detectors, scores_table):
    table = scores_table()
    first = json.dumps(summarise(table, detectors).to_dict(), allow_nan=False)
    shuffled = table.sample(frac=1, random_state=3)
    assert json.dumps(summarise(shuffled, detectors).to_dict(), allow_nan=False) == first


def test_set_without_fakes_gives_none_not_nan(detectors, scores_table):
    table = scores_table()
    evaluation = summarise(table[~table["split"].str.startswith("heldout")], detectors)
    assert evaluation.metrics["heldout"]["clean"]["pixel"]["balanced_accuracy"] is None
    assert evaluation.roc["heldout"]["pixel"] == []
    assert evaluation.families == {} and evaluation.generalisation(["clean"]) == {}
    json.dumps(evaluation.to_dict(), allow_nan=False)


def test_unknown_names_are_refused_with_the_known_ones(detectors, scores_table):
    evaluation = summarise(scores_table(), detectors)
    with pytest.raises(UnknownNameError, match="evaluated: pixel, semantic, fused"):
        evaluation.robustness_rows("oracle")
    with pytest.raises(UnknownNameError, match="evaluated: clean, jpeg_q50"):
        evaluation.generator_rows("blur_s9")


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda t: t.drop(columns="semantic"), "lacks column.*semantic"),
        (lambda t: t.assign(pixel=t["pixel"].where(t.index != 0)), "'pixel' has 1 missing"),
        (lambda t: t.assign(label=t["label"].replace("fake", "ai")), "'label' holds ai"),
        (lambda t: t.assign(generator=None), "have no 'generator'"),
        (lambda t: t.iloc[[0, 0]], r"repeats \(sha256, condition\)"),
        (lambda t: t[t["condition"] != "clean"], "no 'clean' condition"),
    ],
)
def test_malformed_tables_are_refused(detectors, scores_table, spoil, message):
    with pytest.raises(ScoresTableError, match=message):
        summarise(spoil(scores_table()), detectors)
