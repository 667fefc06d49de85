import json

import numpy as np
import pytest
import yaml

from aligngemini.config import params_from_dict
from aligngemini.errors import AlignGeminiError, ConfigError
from aligngemini.fusion.rules import FUSION_RULES, FusionError, FusionModel, fit_fusion
from tests.conftest import ROOT


def balanced_accuracy(is_fake: np.ndarray, labels: np.ndarray) -> float:
    fake = labels == "fake"
    return (np.mean(~is_fake[~fake]) + np.mean(is_fake[fake])) / 2


def best_single_branch(scores: np.ndarray, labels: np.ndarray) -> float:
    """The best balanced accuracy one branch reaches at any threshold."""
    return max(balanced_accuracy(scores > t, labels) for t in np.concatenate([[-1.0], scores]))


@pytest.mark.parametrize("rule", FUSION_RULES.names())
def test_round_trip_through_json_gives_identical_scores(rule, fusion_config, make_scores):
    p_pixel, p_semantic, labels = make_scores(40, 40, seed=1)
    model = fit_fusion(fusion_config, p_pixel, p_semantic, labels, rule=rule)
    restored = FusionModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert restored == model
    np.testing.assert_array_equal(restored.p_fake(p_pixel, p_semantic), model.p_fake(p_pixel, p_semantic))


@pytest.mark.parametrize("rule", FUSION_RULES.names())
def test_scores_are_probabilities_even_at_the_extremes(rule, fusion_config, make_scores):
    model = fit_fusion(fusion_config, *make_scores(40, 40, seed=2), rule=rule)
    grid = np.linspace(0, 1, 21)
    p_pixel, p_semantic = (axis.ravel() for axis in np.meshgrid(grid, grid))
    fused = model.p_fake(p_pixel, p_semantic)
    assert fused.shape == p_pixel.shape and np.all((fused >= 0) & (fused <= 1))
    np.testing.assert_array_equal(model.is_fake(p_pixel, p_semantic), fused > 0.5)


@pytest.mark.parametrize("rule", FUSION_RULES.names())
def test_fused_rule_beats_either_branch_when_each_catches_half_the_fakes(rule, fusion_config, make_scores):
    # a 5 % false-alarm budget per branch: the embedded profile's 20 % is tuned to its own branches
    config = fusion_config.model_copy(update={"target_fpr": 0.05})
    model = fit_fusion(config, *make_scores(100, 100, seed=3), rule=rule)
    p_pixel, p_semantic, labels = make_scores(200, 200, seed=4)  # fresh test scores
    fused = balanced_accuracy(model.is_fake(p_pixel, p_semantic), labels)
    assert fused > max(best_single_branch(p_pixel, labels), best_single_branch(p_semantic, labels)) + 0.1


def test_or_fixed_is_exactly_the_or_rule(fusion_config):
    t = 0.37
    config = fusion_config.model_copy(update={"threshold": t})
    rng = np.random.default_rng(0)
    edges = np.array([0.0, t, np.nextafter(t, 0), np.nextafter(t, 1), 1.0])  # ties and the nearest floats around t
    p_pixel = np.concatenate([rng.uniform(size=500), np.repeat(edges, 5)])
    p_semantic = np.concatenate([rng.uniform(size=500), np.tile(edges, 5)])
    model = fit_fusion(config, p_pixel, p_semantic, ["real"] * len(p_pixel), rule="or_fixed")
    np.testing.assert_array_equal(model.is_fake(p_pixel, p_semantic), (p_pixel > t) | (p_semantic > t))


@pytest.mark.parametrize("target", [0.01, 0.05, 0.29])
@pytest.mark.parametrize("n_real", [7, 100, 333])
def test_or_calibrated_holds_each_branch_false_positive_rate(target, n_real, fusion_config, make_scores):
    p_pixel, p_semantic, labels = make_scores(n_real, 50, seed=n_real)
    p_pixel[:n_real:3] = p_pixel[0]  # ties among the real scores
    config = fusion_config.model_copy(update={"target_fpr": target})
    model = fit_fusion(config, p_pixel, p_semantic, labels, rule="or_calibrated")
    real = labels == "real"
    for branch, scores in (("t_pixel", p_pixel), ("t_semantic", p_semantic)):
        above = scores[real] > model.params[branch]
        assert above.mean() <= target
        # the threshold is as low as the target allows: the next lower real score would break it or not exist
        lower = np.sort(scores[real])[np.sort(scores[real]) < model.params[branch]]
        assert len(lower) == 0 or (scores[real] > lower[-1]).mean() > target


@pytest.mark.parametrize(
    ("rule", "labels", "missing"), [("logistic", ["real"] * 4, "fake"), ("logistic", ["fake"] * 4, "real"), ("or_calibrated", ["fake"] * 4, "real")]
)
def test_fit_names_the_missing_class(rule, labels, missing, fusion_config):
    with pytest.raises(FusionError, match=f"'{rule}' needs {missing} images in the validation split"):
        fit_fusion(fusion_config, [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1], labels, rule=rule)


def test_fit_refuses_bad_inputs(fusion_config):
    with pytest.raises(FusionError, match="labels must be 'real' or 'fake'"):
        fit_fusion(fusion_config, [0.1, 0.9], [0.2, 0.8], ["real", "AI"])
    with pytest.raises(FusionError, match="3 labels for 2 scores"):
        fit_fusion(fusion_config, [0.1, 0.9], [0.2, 0.8], ["real", "fake", "fake"])
    with pytest.raises(FusionError, match="p_semantic must hold probabilities"):
        fit_fusion(fusion_config, [0.1, 0.9], [0.2, np.nan], ["real", "fake"])
    with pytest.raises(AlignGeminiError, match="unknown fusion rule 'vote'"):
        fit_fusion(fusion_config, [0.1, 0.9], [0.2, 0.8], ["real", "fake"], rule="vote")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"rule": "or_fixed"}, "exactly the keys 'rule' and 'params'"),
        ({"rule": "majority", "params": {}}, "key 'rule': unknown fusion rule 'majority' (registered: logistic, or_calibrated, or_fixed)"),
        ({"rule": "or_fixed", "params": {"t_pixel": 0.5}}, "key 'params.t_semantic': missing"),
        ({"rule": "or_fixed", "params": {"t_pixel": 0.5, "t_semantic": 0.5, "bias": 1}}, "key 'params.bias': unknown for rule 'or_fixed'"),
        ({"rule": "or_fixed", "params": {"t_pixel": "0.5", "t_semantic": 0.5}}, "key 'params.t_pixel': expected a finite number"),
        ({"rule": "or_fixed", "params": [0.5, 0.5]}, "key 'params': expected a mapping"),
    ],
)
def test_from_dict_names_the_bad_key(document, message):
    with pytest.raises(FusionError) as err:
        FusionModel.from_dict(document)
    assert message in str(err.value)


def test_params_refuse_an_unregistered_rule(tmp_path):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["fusion"]["rule"] = "average"
    with pytest.raises(ConfigError) as err:
        params_from_dict(raw, "params.yaml")
    assert err.value.key == "fusion.rule"
    assert "'average'" in str(err.value) and all(name in str(err.value) for name in FUSION_RULES.names())
