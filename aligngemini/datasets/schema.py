"""The dataset manifest: one row per sample of a dataset (pixel-artifact or semantic)."""

from __future__ import annotations

import pyarrow as pa

LABELS = ("real", "fake")
SPLITS = ("train", "val", "test", "heldout")  # heldout: images of the held-out generators only

MANIFEST_SCHEMA = pa.schema(
    [
        ("sha256", pa.string()),      # content hash of the sample's image file
        ("path", pa.string()),        # posix path relative to the project root, inside paths.data_root
        ("label", pa.string()),       # "real" or "fake"
        ("dataset", pa.string()),     # "pixel" or "semantic"
        ("split", pa.string()),       # one of SPLITS
        ("group", pa.string()),       # split unit: a real photo, its tiles, reconstructions and crops share it
        ("generator", pa.string()),   # fakes: the generator (semantic) or reconstructor (pixel); reals: null
        ("pair_id", pa.string()),     # pixel dataset: shared by a real image and its reconstruction; semantic: null
        ("transform", pa.string()),   # the treatment applied when building (resize/JPEG), or null
        ("width", pa.int32()),
        ("height", pa.int32()),
    ]
)
COLUMNS = MANIFEST_SCHEMA.names
