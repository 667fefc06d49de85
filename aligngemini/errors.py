"""Typed errors. Every error about a file names the file and the reason, so a per-file
quarantine record can be written and the run can go on."""

from __future__ import annotations

from pathlib import Path


class AlignGeminiError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(AlignGeminiError):
    """A parameter file is malformed: names the file and the offending key."""

    def __init__(self, file: str | Path, key: str, problem: str):
        self.file, self.key, self.problem = str(file), key, problem
        super().__init__(f"{self.file}: key '{key}': {problem}")


class FileProblem(AlignGeminiError):
    """A problem with one input file. `reason` is a short machine-readable tag."""

    reason = "file_problem"

    def __init__(self, path: str | Path, detail: str):
        self.path, self.detail = str(path), detail
        super().__init__(f"{self.path}: {self.reason}: {detail}")


class NotAnImageError(FileProblem):
    reason = "not_an_image"


class TruncatedImageError(FileProblem):
    """The data ends before the image does (an interrupted download or copy)."""

    reason = "truncated"


class CorruptImageError(FileProblem):
    """The data is complete but does not decode (damaged bytes)."""

    reason = "corrupt"


class UnsupportedFormatError(FileProblem):
    """A known container whose variant Pillow cannot decode (a compression or raw mode)."""

    reason = "unsupported_format"


class ImageMemoryError(FileProblem):
    """Decoding ran out of memory: the file may be fine, this process could not hold it."""

    reason = "out_of_memory"


class ImageTooLargeError(FileProblem):
    reason = "too_large"


class ImageTooSmallError(FileProblem):
    reason = "too_small"


class AnimatedImageError(FileProblem):
    reason = "animated"


class UnsupportedModeError(FileProblem):
    reason = "unsupported_mode"


class UnsafePathError(FileProblem):
    reason = "path_outside_root"
