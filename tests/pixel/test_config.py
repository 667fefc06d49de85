from __future__ import annotations

import pydantic
import pytest

from aligngemini.pixel.config import PixelConfig


def test_every_field_is_documented():
    def undocumented(model: type[pydantic.BaseModel]) -> list[str]:
        missing = [f"{model.__name__}.{name}" for name, field in model.model_fields.items() if not field.description]
        for field in model.model_fields.values():
            if isinstance(field.annotation, type) and issubclass(field.annotation, pydantic.BaseModel):
                missing += undocumented(field.annotation)
        return missing

    assert undocumented(PixelConfig) == []


def test_unknown_key_is_refused(make_config):
    with pytest.raises(pydantic.ValidationError, match="extra_forbidden|Extra inputs"):
        make_config(augment={"blur_probabilty": 0.1})


@pytest.mark.parametrize("min_side", [16, 33])
def test_min_side_must_keep_padding_below_the_image(make_config, min_side):
    with pytest.raises(pydantic.ValidationError, match="min_side must be within \\(16, 32\\]"):
        make_config(inference={"min_side": min_side})


@pytest.mark.parametrize(
    ("key", "value"),
    [("jpeg_quality", [90, 80]), ("resample_down", [0.1, 1.2]), ("pixel_mix_max_ratio", 1.5),
     ("freq_mix_probability", -0.1), ("resized_copies_probability", 2.0), ("vflip_probability", 1.1)],
)  # fmt: skip
def test_ranges_are_checked(make_config, key, value):
    with pytest.raises(pydantic.ValidationError, match=key):
        make_config(augment={key: value})
