"""Defensive decoding of untrusted image files.

Every failure becomes a typed `FileProblem` naming the file and the reason; no Pillow
exception escapes. Checks run cheapest first and all size checks happen before any pixel
is decoded:

1. file size above `max_bytes` -> `ImageTooLargeError` (at most `max_bytes + 1` bytes are
   ever read, so a file that grows meanwhile cannot slip through);
2. not a BMP/GIF/JPEG/MPO/PNG/TIFF/WebP file -> `NotAnImageError` (other Pillow plugins,
   e.g. EPS which shells out to Ghostscript, are never tried); so is a missing or
   unreadable path, or one that is not a regular file (a FIFO would block forever);
3. header size above `max_pixels`, or Pillow's own decompression-bomb error ->
   `ImageTooLargeError`;
4. shorter side below `min_side` -> `ImageTooSmallError`;
5. several frames (animated GIF/PNG/WebP, multi-page TIFF) -> `AnimatedImageError` when
   `limits.animated == "refuse"`, else the first frame is kept. An MPO file (the JPEG
   variant phone cameras write, with a depth map or preview as extra pictures) is not
   animation: its primary picture is kept and it is reported as "JPEG";
6. decoding errors, by cause (`LOAD_TRUNCATED_IMAGES` stays off): data that ends early ->
   `TruncatedImageError`; a compression or raw mode Pillow cannot decode ->
   `UnsupportedFormatError`; any other damage -> `CorruptImageError`; running out of memory
   -> `ImageMemoryError` (the file may be fine: this process could not hold it).

Mode policy (the result is always RGB, 8 bits per channel, EXIF orientation applied):
- `1`, `L`, `RGB`, `YCbCr` (some TIFFs): Pillow's exact conversion; `CMYK`: Pillow's naive
  CMYK->RGB (no ICC colour management anywhere; embedded profiles are ignored);
- anything with transparency (`RGBA`, `LA`, `P`/`PA` with transparency, a `tRNS` colour)
  is composited on white;
- 16-bit `I;16*` and 32-bit `I`: the full 0..65535 range maps linearly onto 0..255 (`I`
  values outside it are clipped), so a dark 16-bit photo stays dark;
- `F` (float): rescaled from its own finite min..max onto 0..255 (a constant image
  becomes black), since float images carry no standard range;
- any other mode -> `UnsupportedModeError`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from aligngemini.config import ImageLimits
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
from aligngemini.images.jpeg import estimate_jpeg_quality

ALLOWED_FORMATS = ("BMP", "GIF", "JPEG", "MPO", "PNG", "TIFF", "WEBP")
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_WITH_ALPHA = ("RGBA", "LA", "P", "PA")


@dataclass(frozen=True)
class LoadedImage:
    image: Image.Image  # mode RGB, EXIF orientation applied, no metadata attached
    source_format: str  # container format of the file: "JPEG", "PNG", ...
    jpeg_quality: int | None  # estimated from the quantisation tables; None if not JPEG
    width: int
    height: int


def load_image(path: Path, limits: ImageLimits) -> LoadedImage:
    """Decode `path` under `limits` (policies in the module docstring)."""
    return decode_image(_read_capped(path, limits.max_bytes), path, limits)


def decode_image(data: bytes, path: str | Path, limits: ImageLimits) -> LoadedImage:
    """Decode the bytes of a file (an upload, say) under `limits`; errors name `path`."""
    if len(data) > limits.max_bytes:
        raise ImageTooLargeError(path, f"file is larger than max_bytes={limits.max_bytes}")
    Image.init()
    formats = [name for name in ALLOWED_FORMATS if name in Image.OPEN]
    try:
        image = Image.open(io.BytesIO(data), formats=formats)  # parses the header only
        _check_header(path, image, limits)
        image.load()
        rgb = _to_rgb(path, ImageOps.exif_transpose(image))
    except FileProblem:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(path, f"refused by Pillow's bomb check: {exc}") from None
    except UnidentifiedImageError:
        raise NotAnImageError(path, f"not a recognised image ({', '.join(ALLOWED_FORMATS)})") from None
    except MemoryError:
        raise ImageMemoryError(path, "not enough memory to decode it") from None
    except Exception as exc:  # plugins and decoders raise OSError, SyntaxError, ValueError, EOFError, zlib.error...
        raise _decoding_problem(path, exc) from None
    rgb.info = {}  # nothing from the file (ICC, EXIF, text) travels with the pixels
    fmt = "JPEG" if image.format == "MPO" else str(image.format)
    quality = estimate_jpeg_quality(image.quantization) if fmt == "JPEG" else None
    return LoadedImage(rgb, fmt, quality, rgb.width, rgb.height)


def _decoding_problem(path: str | Path, exc: Exception) -> FileProblem:
    """Pillow reports every decoding failure as a generic exception; its message tells the cause."""
    message = str(exc).lower()
    if isinstance(exc, EOFError) or "truncated" in message:
        return TruncatedImageError(path, f"the data ends early: {exc}")
    if isinstance(exc, NotImplementedError) or any(word in message for word in ("unsupported", "not supported", "unknown raw mode", "not available")):
        return UnsupportedFormatError(path, f"cannot decode this variant: {exc}")
    return CorruptImageError(path, f"damaged data: {exc!r}")


def _read_capped(path: Path, max_bytes: int) -> bytes:
    if not Path(path).is_file():  # a FIFO or device would block or never end
        raise NotAnImageError(path, "not an existing regular file")
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise NotAnImageError(path, f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise ImageTooLargeError(path, f"file is larger than max_bytes={max_bytes}")
    return data


def _check_header(path: Path, image: Image.Image, limits: ImageLimits) -> None:
    """Size and frame checks from the header, before any pixel is decoded."""
    width, height = image.size
    if width * height > limits.max_pixels:
        raise ImageTooLargeError(path, f"{width}x{height} exceeds max_pixels={limits.max_pixels}")
    if min(width, height) < limits.min_side:
        raise ImageTooSmallError(path, f"{width}x{height}: shorter side below min_side={limits.min_side}")
    animated = image.format != "MPO" and getattr(image, "is_animated", False)
    if animated and limits.animated == "refuse":
        raise AnimatedImageError(path, f"{image.n_frames} frames (policy: refuse)")


def _to_rgb(path: Path, image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in _WITH_ALPHA or (mode in ("L", "RGB") and "transparency" in image.info):
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")
    if mode in ("1", "L", "RGB", "CMYK", "YCbCr"):
        return image.convert("RGB")
    if mode in _SIXTEEN_BIT:
        values = np.clip(np.asarray(image, dtype=np.int64), 0, 65535)
        return _grey_to_rgb((values * 255 + 32767) // 65535)
    if mode == "F":
        return _grey_to_rgb(_rescale_float(np.asarray(image, dtype=np.float64)))
    raise UnsupportedModeError(path, f"mode {mode!r} is not supported")


def _rescale_float(values: np.ndarray) -> np.ndarray:
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(values.shape)
    low, high = values[finite].min(), values[finite].max()
    span = high - low if high > low else 1.0
    return np.round(np.where(finite, (values - low) / span, 0.0) * 255)


def _grey_to_rgb(values: np.ndarray) -> Image.Image:
    return Image.fromarray(values.astype(np.uint8)).convert("RGB")
