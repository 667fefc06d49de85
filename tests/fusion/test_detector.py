import dataclasses
import json
import logging
import shutil
from dataclasses import fields

import numpy as np
import pytest
import torch
from PIL import Image

from aligngemini import devices
from aligngemini.fusion.detector import Detection, FusedDetector
from aligngemini.images.loader import load_image
from aligngemini.pixel.checkpoint import load_checkpoint
from aligngemini.pixel.infer import p_fake
from aligngemini.semantic.model import VLMLoadError, load_detector
from aligngemini.semantic.score import score
from tests.fusion.tiny_models import BAD, BASE_MODEL, GOOD, OR_FIXED, write_detect_folder


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


def test_the_base_vlm_is_loaded_at_the_commit_model_json_records(fused_project, detector, folder, image_limits, tmp_path, hub_cache):
    revision = "c" * 40
    hub_cache.pin("org/tiny-vlm", revision, fused_project.root / BASE_MODEL)  # the hub's main branch has nothing
    model_dir = tmp_path / "pinned-model"
    shutil.copytree(fused_project.model_dir, model_dir)
    info = json.loads((model_dir / "model.json").read_text())
    (model_dir / "model.json").write_text(json.dumps(info | {"semantic_base_model": "org/tiny-vlm", "semantic_base_revision": revision}))
    pinned = FusedDetector.load(model_dir, tmp_path)
    images = [load_image(folder[name], image_limits).image for name in sorted(GOOD)]
    np.testing.assert_allclose(pinned.branch_scores(images)[1], detector.branch_scores(images)[1], atol=1e-6)
    (model_dir / "model.json").write_text(json.dumps(info | {"semantic_base_model": "org/tiny-vlm"}))
    with pytest.raises(VLMLoadError, match="org/tiny-vlm"):
        FusedDetector.load(model_dir, tmp_path)


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


def test_files_are_scored_in_chunks_bounded_by_decoded_pixels(detector, folder, image_limits, monkeypatch):
    names = sorted(folder)
    whole = detector.detect_paths([folder[name] for name in names], image_limits)
    chunks: list[list[int]] = []
    real_detect_images = FusedDetector.detect_images

    def spy(self, chunk_names, images):
        chunks.append([image.width * image.height for image in images])
        return real_detect_images(self, chunk_names, images)

    monkeypatch.setattr(FusedDetector, "detect_images", spy)
    bound = 2 * 96 * 96  # two of the 96x96 photos; the 64x13000 strip exceeds it alone
    bounded = detector.detect_paths([folder[name] for name in names], image_limits.model_copy(update={"max_batch_pixels": bound}))
    assert [(d.path, d.label, d.error) for d in bounded] == [(d.path, d.label, d.error) for d in whole]  # same answers, same order
    for a, b in zip(bounded, whole):  # batch composition moves float sums in the last digits only
        assert (a.p_fake is None) == (b.p_fake is None)
        if a.p_fake is not None:
            np.testing.assert_allclose([a.p_fake, a.p_semantic, a.p_pixel], [b.p_fake, b.p_semantic, b.p_pixel], atol=1e-5)
    assert len(chunks) >= 3
    assert all(sum(sizes) <= bound or len(sizes) == 1 for sizes in chunks), chunks


def test_the_vlm_sees_images_no_larger_than_the_cap_and_the_pixel_expert_sees_them_whole(detector, folder, image_limits, monkeypatch):
    image = load_image(folder["astronaut.png"], image_limits).image.resize((480, 240))
    seen: dict[str, list[tuple[int, int]]] = {"semantic": [], "pixel": []}
    real_score, real_p_fake = score, p_fake

    def semantic_spy(vlm, images, *args, **kwargs):
        seen["semantic"] += [i.size for i in images]
        return real_score(vlm, images, *args, **kwargs)

    def pixel_spy(expert, images, *args, **kwargs):
        images = list(images)
        seen["pixel"] += [i.size for i in images]
        return real_p_fake(expert, images, *args, **kwargs)

    monkeypatch.setattr("aligngemini.fusion.detector.score", semantic_spy)
    monkeypatch.setattr("aligngemini.fusion.detector.p_fake", pixel_spy)
    capped = dataclasses.replace(detector, semantic_max_side=120)
    (detection,) = capped.detect_images(["wide.png"], [image])
    assert seen == {"semantic": [(120, 60)], "pixel": [(480, 240)]}
    assert detection.p_semantic == pytest.approx(real_score(detector.vlm, [image.resize((120, 60), Image.Resampling.BICUBIC)], detector.prompt, 1)[0], abs=1e-5)
