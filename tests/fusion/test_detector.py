import json
import logging
import shutil
from dataclasses import fields

import numpy as np
import pytest
import torch

from aligngemini import devices
from aligngemini.fusion.detector import Detection, FusedDetector
from aligngemini.images.loader import load_image
from aligngemini.pixel.checkpoint import load_checkpoint
from aligngemini.pixel.infer import p_fake
from aligngemini.semantic.model import VLMLoadError, load_detector
from aligngemini.semantic.score import score
from tests.fusion.tiny_models import BAD, GOOD, OR_FIXED, write_detect_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_detect_folder(tmp_path_factory.mktemp("detect"))


def test_branch_scores_equal_the_branch_functions(detector, fused_project, folder, image_limits):
    images = [load_image(folder[name], image_limits).image for name in GOOD]
    p_pixel, p_semantic = detector.branch_scores(images)
    expert, _ = load_checkpoint(fused_project.pixel_checkpoint)
    vlm = load_detector(fused_project.root / fused_project.semantic.model, fused_project.semantic_adapter)
    np.testing.assert_allclose(p_pixel, p_fake(expert, images, fused_project.pixel.inference), rtol=0, atol=1e-6)
    np.testing.assert_allclose(p_semantic, score(vlm, images, fused_project.semantic.prompt, 1), rtol=0, atol=1e-5)
    assert np.ptp(p_semantic) > 0  # the adapter and the images matter: not a constant answer


def test_detection_has_exactly_the_documented_fields():
    assert [f.name for f in fields(Detection)] == ["path", "label", "p_fake", "p_semantic", "p_pixel", "error"]


def test_bad_files_get_errors_and_good_ones_are_scored(detector, folder, image_limits):
    names = sorted(folder)
    detections = detector.detect_paths([folder[name] for name in names], image_limits)
    assert [d.path for d in detections] == [str(folder[name]) for name in names]
    for name, detection in zip(names, detections):
        if name in BAD:
            assert detection.label is None and detection.p_fake is None and detection.p_pixel is None
            assert str(folder[name]) in detection.error and BAD[name] in detection.error, detection.error
        else:
            assert detection.error is None
            assert detection.label == ("fake" if detection.p_fake > 0.5 else "real")
            expected = OR_FIXED.p_fake([detection.p_pixel], [detection.p_semantic])[0]
            assert detection.p_fake == pytest.approx(expected, abs=1e-12)
    good = [d for name, d in zip(names, detections) if name in GOOD]
    images = [load_image(folder[name], image_limits).image for name in sorted(GOOD)]
    p_pixel, p_semantic = detector.branch_scores(images)
    np.testing.assert_allclose([d.p_pixel for d in good], p_pixel, atol=1e-6)
    np.testing.assert_allclose([d.p_semantic for d in good], p_semantic, atol=1e-5)


def test_load_resolves_the_base_model_against_the_project_root(fused_project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # from_pretrained would find a relative id below the working directory
    with pytest.raises(VLMLoadError, match="models/embedded/tiny-vlm"):
        FusedDetector.load(fused_project.model_dir, tmp_path)  # no such folder there: taken as a hub id, offline


def test_a_model_trained_on_cuda_loads_on_the_cpu_with_one_warning(fused_project, tmp_path, monkeypatch, caplog):
    model_dir = tmp_path / "gpu-model"
    shutil.copytree(fused_project.model_dir, model_dir)
    info = json.loads((model_dir / "model.json").read_text())
    info["trained_on"] = {"pixel": {"device": "cuda", "dtype": "bfloat16"}, "semantic": {"device": "cuda", "dtype": "float32"}}
    (model_dir / "model.json").write_text(json.dumps(info))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="aligngemini"):
        detector = FusedDetector.load(model_dir, fused_project.root)
    assert [r.getMessage() for r in caplog.records] == ["device 'cuda' requested but this machine has no CUDA device: running on the CPU"]
    assert detector.expert.device.type == "cpu" and detector.expert.compute_dtype == "bfloat16"
    forced = FusedDetector.load(model_dir, fused_project.root, device="cpu", dtype="float32")
    assert forced.expert.compute_dtype == "float32"
