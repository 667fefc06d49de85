from pathlib import Path

import numpy as np
import pytest

from aligngemini.config import load_params
from aligngemini.errors import ConfigError
from aligngemini.evaluation.config import EvaluationConfig
from aligngemini.evaluation.perturb import PERTURBATIONS, PerturbationSpec, PerturbationTextError, apply, condition_name, conditions, parse_perturbation

ROOT = Path(__file__).resolve().parents[2]
VALUES = {"jpeg": 50, "resize": 0.5, "blur": 1.5}


def test_every_registered_kind_has_a_test_value():
    assert set(VALUES) == set(PERTURBATIONS.names())


@pytest.mark.parametrize("kind", PERTURBATIONS.names())
def test_perturbation_is_deterministic_rgb_and_changes_the_image(kind, photo):
    spec = PerturbationSpec(kind=kind, value=VALUES[kind])
    first, second = apply(photo, spec), apply(photo.copy(), spec)
    assert first.mode == "RGB"
    assert np.array_equal(np.asarray(first), np.asarray(second))
    if first.size == photo.size:
        assert not np.array_equal(np.asarray(first), np.asarray(photo))


@pytest.mark.parametrize("factor, size", [(0.5, (32, 24)), (2, (128, 96)), (0.01, (1, 1))])
def test_resize_scales_by_the_factor_never_below_one_pixel(factor, size, photo):
    assert apply(photo, PerturbationSpec(kind="resize", value=factor)).size == size


def test_lower_jpeg_quality_loses_more(photo):
    original = np.asarray(photo, dtype=float)
    error = {q: np.abs(np.asarray(apply(photo, PerturbationSpec(kind="jpeg", value=q)), dtype=float) - original).mean() for q in (95, 50)}
    assert 0 < error[95] < error[50]


def test_non_rgb_input_comes_back_rgb(photo):
    assert apply(photo.convert("L"), PerturbationSpec(kind="blur", value=1)).mode == "RGB"


def test_condition_names_are_stable_and_file_safe():
    names = [condition_name(PerturbationSpec(kind=k, value=v)) for k, v in [("jpeg", 95), ("resize", 0.5), ("resize", 2), ("blur", 1)]]
    assert names == ["jpeg_q95", "resize_x0.5", "resize_x2", "blur_s1"]
    assert all(set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789_.") for name in names)


def test_conditions_start_clean_then_follow_the_config(photo):
    config = EvaluationConfig(perturbations=[{"kind": "blur", "value": 2}, {"kind": "jpeg", "value": 75}], batch_size=4, threads=1, image_size=64, generalisation_conditions=["clean"])
    grid = conditions(config.perturbations)
    assert [name for name, _ in grid] == ["clean", "blur_s2", "jpeg_q75"]
    assert grid[0][1] is None
    assert np.array_equal(np.asarray(grid[1][1](photo)), np.asarray(apply(photo, config.perturbations[0])))


def test_unknown_kind_names_the_registered_ones():
    with pytest.raises(ValueError, match="registered: blur, jpeg, resize"):
        PerturbationSpec(kind="rotate", value=90)


@pytest.mark.parametrize("kind, value", [("jpeg", 0), ("jpeg", 75.5), ("jpeg", 101), ("resize", 0), ("blur", -1), ("blur", float("inf"))])
def test_invalid_values_are_refused(kind, value):
    with pytest.raises(ValueError, match=f"{kind} value"):
        PerturbationSpec(kind=kind, value=value)


def test_repeated_condition_is_refused():
    with pytest.raises(ValueError, match="jpeg_q75"):
        EvaluationConfig(perturbations=[{"kind": "jpeg", "value": 75}, {"kind": "jpeg", "value": 75.0}], batch_size=4, threads=1, image_size=64, generalisation_conditions=["clean"])


def test_params_yaml_carries_the_robustness_grid():
    grid = [name for name, _ in conditions(load_params(ROOT / "params.yaml").evaluation.perturbations)]
    assert grid == ["clean", "jpeg_q95", "jpeg_q75", "jpeg_q50", "resize_x0.5", "resize_x2", "blur_s1", "blur_s2"]


def test_bad_kind_in_params_file_names_the_key(new_project):
    def edit(params):
        params["evaluation"]["perturbations"][1]["kind"] = "sharpen"

    with pytest.raises(ConfigError, match=r"evaluation\.perturbations\.1\.kind.*registered: blur, jpeg, resize"):
        load_params(new_project(edit))


@pytest.mark.parametrize("kind", PERTURBATIONS.names())
def test_a_command_line_perturbation_parses_to_its_spec(kind):
    assert parse_perturbation(f"{kind}:{VALUES[kind]:g}") == PerturbationSpec(kind=kind, value=VALUES[kind])


@pytest.mark.parametrize(("text", "problem"), [("jpeg", "expected KIND:VALUE"), ("jpeg:high", "could not convert"), ("jpeg:0", "expected an integer quality"), ("rotate:90", "unknown perturbation 'rotate'")])
def test_a_bad_command_line_perturbation_names_itself_and_the_problem(text, problem):
    with pytest.raises(PerturbationTextError, match=f"perturbation '{text}': .*{problem}"):
        parse_perturbation(text)
