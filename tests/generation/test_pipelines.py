from pathlib import Path

import numpy as np
import pytest

from aligngemini.bootstrap.quality import smoothness_ratio
from aligngemini.config import load_params
from aligngemini.generation.pipelines import CONVENTIONS, GeneratorLoadError, convention_of, load_pipeline, run_pipeline
from aligngemini.images.store import encode_png

ROOT = Path(__file__).resolve().parents[2]
GENERATORS = [g.name for g in load_params(ROOT / "params.yaml").generators]
PROMPTS = ["a cat on a table", "a rocket at dawn", "a red flower", "a city at night"]


@pytest.fixture(scope="module")
def embedded(embedded_project):
    return embedded_project.parent, load_params(embedded_project)


@pytest.mark.parametrize("name", GENERATORS)
def test_outputs_are_image_like(embedded, name):
    root, params = embedded
    entry = params.generator(name)
    pipe = load_pipeline(entry, root, "cpu")
    images = run_pipeline(pipe, entry, PROMPTS, [1, 2, 3, 4], batch_size=4)
    assert [im.size for im in images] == [(entry.resolution, entry.resolution)] * 4
    arrays = [np.asarray(im, dtype=np.float32) / 255 for im in images]
    assert np.mean([smoothness_ratio(a) for a in arrays]) < 0.5, "outputs look like noise"
    assert np.mean([a.std() for a in arrays]) > 0.02, "outputs are flat"
    assert len({encode_png(im) for im in images}) == 4, "different seeds gave identical images"


@pytest.mark.parametrize("name", GENERATORS)
def test_an_image_does_not_depend_on_its_batch(embedded, name):
    root, params = embedded
    entry = params.generator(name)
    pipe = load_pipeline(entry, root, "cpu")
    alone = run_pipeline(pipe, entry, PROMPTS[1:2], [7], batch_size=4)[0]
    together = run_pipeline(pipe, entry, PROMPTS[:3], [5, 7, 9], batch_size=4)[1]
    assert encode_png(alone) == encode_png(together)


def test_every_call_convention_is_exercised_by_an_embedded_generator(embedded):
    root, params = embedded
    used = {type(load_pipeline(g, root, "cpu")).__name__ for g in params.generators}
    # the full profile's other classes (SDXL, Flux) run on tiny builds in tests/test_full_profile.py
    assert used <= set(CONVENTIONS.names())
    assert {convention_of(load_pipeline(g, root, "cpu"), g).conditioning for g in params.generators} == {"text", "none"}


def test_unloadable_generator_is_named(embedded):
    root, params = embedded
    missing = params.generators[0].model_copy(update={"name": "ghost", "model": "nobody/no-such-model"})
    with pytest.raises(GeneratorLoadError, match="generator 'ghost'"):
        load_pipeline(missing, root, "cpu")
    wrong_class = params.generators[0].model_copy(update={"name": "odd", "pipeline": "NoSuchPipeline"})
    with pytest.raises(GeneratorLoadError, match="no pipeline class 'NoSuchPipeline'"):
        load_pipeline(wrong_class, root, "cpu")
