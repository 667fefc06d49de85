from __future__ import annotations

import io
import os
import random
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from aligngemini.errors import (
    AnimatedImageError,
    CorruptImageError,
    FileProblem,
    ImageMemoryError,
    ImageTooLargeError,
    ImageTooSmallError,
    NotAnImageError,
    TruncatedImageError,
    UnsupportedFormatError,
    UnsupportedModeError,
)
from aligngemini.images.loader import decode_image, load_image

REFUSED = {
    "truncated_jpeg": TruncatedImageError,
    "text_png": NotAnImageError,
    "bomb_png": ImageTooLargeError,
    "big_header_png": ImageTooLargeError,
    "animated_gif": AnimatedImageError,
}


def test_fixture_cases_match_this_table(hostile_folder):
    assert {name: error.reason for name, error in REFUSED.items()} == hostile_folder.refused


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_bad_file_gives_typed_error_naming_the_file(hostile_folder, image_limits, case):
    path = hostile_folder.files[case]
    with pytest.raises(REFUSED[case]) as caught:
        load_image(path, image_limits)
    assert caught.value.path == str(path)
    assert str(path) in str(caught.value)
    assert caught.value.reason in str(caught.value)


@pytest.mark.parametrize("case", ["good_jpeg", "good_png", "cmyk_jpeg", "png16", "exif_rotated"])
def test_accepted_file_becomes_bare_rgb(hostile_folder, image_limits, case):
    loaded = load_image(hostile_folder.files[case], image_limits)
    assert loaded.image.mode == "RGB"
    assert loaded.image.size == (loaded.width, loaded.height)
    assert loaded.image.info == {}


def test_source_format_and_jpeg_quality(hostile_folder, image_limits):
    jpeg = load_image(hostile_folder.files["good_jpeg"], image_limits)
    png = load_image(hostile_folder.files["good_png"], image_limits)
    assert (jpeg.source_format, jpeg.jpeg_quality) == ("JPEG", 90)
    assert (png.source_format, png.jpeg_quality) == ("PNG", None)


def test_cmyk_jpeg_keeps_its_colours(hostile_folder, image_limits):
    loaded = np.asarray(load_image(hostile_folder.files["cmyk_jpeg"], image_limits).image, dtype=float)
    original = np.asarray(load_image(hostile_folder.files["good_png"], image_limits).image.crop((0, 0, 256, 192)), dtype=float)
    assert np.abs(loaded - original).mean() < 4


def test_16_bit_gradient_keeps_its_full_range(hostile_folder, image_limits):
    pixels = np.asarray(load_image(hostile_folder.files["png16"], image_limits).image).astype(int)
    row = pixels[0, :, 0]
    assert (row[0], row[-1]) == (0, 255)
    assert np.all(np.diff(row) >= 0) and len(np.unique(row)) == 256
    assert np.all(pixels == pixels[:1, :, :1])  # grey in all channels, same in every row


def test_exif_orientation_is_applied(hostile_folder, image_limits):
    path = hostile_folder.files["exif_rotated"]
    loaded = load_image(path, image_limits)
    with Image.open(path) as raw:
        stored = np.asarray(raw.convert("RGB"))
    assert stored.shape[:2] == (192, 320)
    assert (loaded.width, loaded.height) == (192, 320)
    np.testing.assert_array_equal(np.asarray(loaded.image), np.rot90(stored, k=-1))  # clockwise


def test_first_frame_policy_keeps_frame_one(hostile_folder, image_limits):
    limits = image_limits.model_copy(update={"animated": "first_frame"})
    loaded = load_image(hostile_folder.files["animated_gif"], limits)
    assert (loaded.width, loaded.height) == (160, 160)
    red, green, blue = np.asarray(loaded.image).reshape(-1, 3).mean(axis=0)
    assert red > 250 and green < 5 and blue < 5


@pytest.mark.parametrize("case", ["bomb_png", "big_header_png"])
def test_oversized_header_is_refused_before_decoding(hostile_folder, image_limits, monkeypatch, case):
    def must_not_decode(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", must_not_decode)
    started = time.perf_counter()
    with pytest.raises(ImageTooLargeError):
        load_image(hostile_folder.files[case], image_limits)
    assert time.perf_counter() - started < 1.0


def test_max_bytes_is_checked(hostile_folder, image_limits):
    limits = image_limits.model_copy(update={"max_bytes": 1000})
    with pytest.raises(ImageTooLargeError, match="max_bytes=1000"):
        load_image(hostile_folder.files["good_png"], limits)


def test_min_side_is_checked(hostile_folder, image_limits):
    limits = image_limits.model_copy(update={"min_side": 300})  # good_jpeg is 320x256
    with pytest.raises(ImageTooSmallError, match="320x256"):
        load_image(hostile_folder.files["good_jpeg"], limits)


def test_missing_file_and_fifo_are_not_images(tmp_path, image_limits):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    for path in (tmp_path / "missing.png", fifo, tmp_path):
        with pytest.raises(NotAnImageError):
            load_image(path, image_limits)


def _saved(tmp_path: Path, image: Image.Image, name: str, **options) -> Path:
    path = tmp_path / name
    image.save(path, **options)
    return path


def test_transparency_is_composited_on_white(tmp_path, image_limits):
    rgba = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    rgba.paste((0, 0, 0, 128), (0, 0, 16, 32))  # left half: half-transparent black
    palette = Image.new("P", (32, 32), 1)
    palette.putpalette([255, 0, 0, 0, 0, 255])
    cases = {
        "rgba.png": (rgba, {}),
        "la.png": (rgba.convert("LA"), {}),
        "palette.png": (palette, {"transparency": 1}),
        "pa.tif": (rgba.convert("PA"), {}),
    }
    for name, (image, options) in cases.items():
        pixels = np.asarray(load_image(_saved(tmp_path, image, name, **options), image_limits).image).astype(int)
        assert np.all(pixels[:, 16:] == 255), name  # fully transparent -> white
        if name != "palette.png":
            assert np.all(np.abs(pixels[:, :16] - 127) <= 1), name


def test_bilevel_float_and_int32_modes(tmp_path, image_limits):
    bilevel = Image.new("1", (32, 32), 0)
    bilevel.paste(1, (0, 0, 16, 32))
    floats = Image.fromarray(np.linspace(-2.0, 6.0, 32 * 32, dtype=np.float32).reshape(32, 32))
    int32 = Image.fromarray(np.full((32, 32), 70000, dtype=np.int32))
    int32.paste(32768, (0, 0, 16, 32))

    bits = np.asarray(load_image(_saved(tmp_path, bilevel, "bits.png"), image_limits).image)
    scaled = np.asarray(load_image(_saved(tmp_path, floats, "float.tif"), image_limits).image)
    clipped = np.asarray(load_image(_saved(tmp_path, int32, "int32.tif"), image_limits).image)

    assert bits[0, 0].tolist() == [255] * 3 and bits[0, -1].tolist() == [0] * 3
    assert (scaled.min(), scaled.max()) == (0, 255)
    assert clipped[0, 0, 0] == 128 and clipped[0, -1, 0] == 255


def test_unsupported_mode_is_named(tmp_path, image_limits):
    path = _saved(tmp_path, Image.new("LAB", (32, 32)), "lab.tif")
    with pytest.raises(UnsupportedModeError, match="LAB"):
        load_image(path, image_limits)


@pytest.mark.parametrize("case", ["good_jpeg", "good_png", "animated_gif", "png16"])
def test_damaged_bytes_never_leak_a_pillow_exception(hostile_folder, image_limits, tmp_path, case):
    data = hostile_folder.files[case].read_bytes()
    rng = random.Random(case)
    outcomes = set()
    for attempt in range(40):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if attempt % 4 == 0:
            damaged = damaged[: rng.randrange(len(damaged))]
        path = tmp_path / f"damaged{attempt}{hostile_folder.files[case].suffix}"
        path.write_bytes(bytes(damaged))
        try:
            load_image(path, image_limits)
            outcomes.add("loaded")
        except FileProblem as err:
            assert err.path == str(path)
            outcomes.add(err.reason)
    assert outcomes - {"loaded"}, "damage was never detected"


def test_mpo_is_a_jpeg_not_an_animation(hostile_folder, image_limits, tmp_path):
    with Image.open(hostile_folder.files["good_jpeg"]) as photo:
        primary = photo.convert("RGB")
    path = _saved(tmp_path, primary, "phone.mpo", format="MPO", save_all=True, append_images=[primary.resize((64, 64))], quality=80)
    with Image.open(path) as raw:
        assert (raw.format, raw.n_frames) == ("MPO", 2)
    loaded = load_image(path, image_limits)
    assert (loaded.source_format, loaded.jpeg_quality, loaded.width) == ("JPEG", 80, 320)


def _encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(buffer, format=fmt)
    return buffer.getvalue()


def _damaged_png() -> bytes:
    data = bytearray(_encoded("PNG"))
    for i in range(len(data) // 3, len(data) // 3 + 200):  # inside IDAT: the CRCs are not checked, inflate fails
        data[i] = (data[i] * 7 + 13) % 256
    return bytes(data)


def _bmp_with_jpeg_compression() -> bytes:
    data = bytearray(_encoded("BMP"))
    data[30:34] = struct.pack("<I", 4)  # BI_JPEG: a valid BMP header Pillow cannot decode
    return bytes(data)


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda: _encoded("PNG")[:-200], TruncatedImageError),
        (_damaged_png, CorruptImageError),
        (_bmp_with_jpeg_compression, UnsupportedFormatError),
    ],
    ids=["truncated", "corrupt", "unsupported_format"],
)
def test_decoding_errors_are_told_apart_by_cause(image_limits, make, error):
    with pytest.raises(error) as caught:
        decode_image(make(), "upload.img", image_limits)
    assert str(caught.value).startswith(f"upload.img: {error.reason}: ")


def test_running_out_of_memory_is_not_reported_as_a_damaged_file(image_limits, monkeypatch):
    def exhausted(self):
        raise MemoryError

    data = _encoded("PNG")
    monkeypatch.setattr(ImageFile.ImageFile, "load", exhausted)
    with pytest.raises(ImageMemoryError, match="upload.png: out_of_memory"):
        decode_image(data, "upload.png", image_limits)
