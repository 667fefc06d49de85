import hashlib
import json
from pathlib import Path

import pytest

from aligngemini.config import load_params
from aligngemini.fusion.model_dir import FusedModelError, read_model_info, write_fused_model
from aligngemini.fusion.rules import FusionModel
from tests.conftest import ROOT

FUSION = FusionModel("or_calibrated", {"t_pixel": 0.61, "t_semantic": 0.42})


@pytest.fixture
def branches(tmp_path) -> tuple[Path, Path]:
    """Stand-ins for the two branch folders: the writer only copies them."""
    pixel, semantic = tmp_path / "pixel-ckpt", tmp_path / "adapter"
    (semantic / "nested").mkdir(parents=True)
    pixel.mkdir()
    (pixel / "model.safetensors").write_bytes(b"pixel weights")
    (pixel / "pixel.json").write_text("{}")
    (semantic / "adapter_model.safetensors").write_bytes(b"lora weights")
    (semantic / "nested" / "extra.json").write_text("[]")
    return pixel, semantic


def write(out_dir: Path, branches: tuple[Path, Path], base_model: str = "models/embedded/tiny-vlm", revision: str | None = None) -> Path:
    params = load_params(ROOT / "params.yaml")
    return write_fused_model(
        out_dir, pixel_checkpoint=branches[0], semantic_adapter=branches[1], semantic_base_model=base_model,
        semantic=params.semantic.model_copy(update={"revision": revision}), pixel=params.pixel, fusion=FUSION,
    )  # fmt: skip


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_folder_holds_both_branches_and_the_info(tmp_path, branches):
    out = write(tmp_path / "fused", branches)
    assert set(digest(out)) == {"model.json", "pixel/model.safetensors", "pixel/pixel.json", "semantic/adapter_model.safetensors", "semantic/nested/extra.json"}
    info = read_model_info(out)
    params = load_params(ROOT / "params.yaml")
    assert info.fusion_model == FUSION
    assert (info.semantic_base_model, info.semantic_base_revision) == ("models/embedded/tiny-vlm", None)
    assert read_model_info(write(tmp_path / "pinned", branches, "Qwen/Qwen2.5-VL-7B-Instruct", "c" * 40)).semantic_base_revision == "c" * 40
    assert (info.prompt, info.dtype, info.eval_batch_size) == (params.semantic.prompt, params.semantic.dtype, params.semantic.eval_batch_size)
    assert info.pixel_inference == params.pixel.inference
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging folder left behind


def test_same_inputs_give_the_same_bytes_wherever_written(tmp_path, branches):
    first, second = write(tmp_path / "a" / "fused", branches), write(tmp_path / "b" / "fused", branches)
    assert digest(first) == digest(second)
    assert "Qwen/Qwen2.5-VL-7B-Instruct" in (write(tmp_path / "c", branches, "Qwen/Qwen2.5-VL-7B-Instruct") / "model.json").read_text()


def test_rewriting_replaces_the_whole_folder(tmp_path, branches):
    out = write(tmp_path / "fused", branches)
    (out / "stale.txt").write_text("from an older model")
    (branches[0] / "model.safetensors").write_bytes(b"retrained pixel weights")
    write(out, branches)
    assert not (out / "stale.txt").exists()
    assert (out / "pixel" / "model.safetensors").read_bytes() == b"retrained pixel weights"


def test_missing_branch_folder_is_named_and_nothing_is_written(tmp_path, branches):
    with pytest.raises(FusedModelError, match="adapter-missing: the semantic branch folder does not exist"):
        write(tmp_path / "fused", (branches[0], tmp_path / "adapter-missing"))
    assert not (tmp_path / "fused").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda doc: doc.pop("prompt"), "key 'prompt': required key is missing"),
        (lambda doc: doc.update(format="aligngemini-fused-model/9"), "key 'format'"),
        (lambda doc: doc["fusion"]["params"].pop("t_pixel"), "key 'params.t_pixel': missing"),
        (lambda doc: doc["pixel_inference"].update(grid=0), "key 'pixel_inference.grid'"),
    ],
)
def test_malformed_info_names_the_file_and_key(tmp_path, branches, edit, message):
    out = write(tmp_path / "fused", branches)
    document = json.loads((out / "model.json").read_text())
    edit(document)
    (out / "model.json").write_text(json.dumps(document))
    with pytest.raises(FusedModelError) as err:
        read_model_info(out)
    assert str(out / "model.json") in str(err.value) and message in str(err.value)


def test_not_a_model_folder(tmp_path):
    with pytest.raises(FusedModelError, match="not a fused model folder"):
        read_model_info(tmp_path)
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(FusedModelError, match=r"model\.json: not valid JSON"):
        read_model_info(tmp_path)
