"""The prompt bank: a git-tracked text file, one prompt per line."""

from __future__ import annotations

from pathlib import Path

from aligngemini.errors import AlignGeminiError


class PromptBankError(AlignGeminiError):
    pass


def load_prompts(path: str | Path) -> list[str]:
    """Prompts in file order; blank lines and lines starting with '#' are skipped. A repeated
    prompt is refused: it would silently double that prompt's share of the dataset."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise PromptBankError(f"{path}: prompt bank not found") from None
    except UnicodeDecodeError as exc:
        raise PromptBankError(f"{path}: not UTF-8 text ({exc.reason})") from None
    prompts: list[str] = []
    for number, line in enumerate(lines, start=1):
        prompt = line.strip()
        if not prompt or prompt.startswith("#"):
            continue
        if prompt in prompts:
            raise PromptBankError(f"{path}:{number}: prompt repeated: {prompt!r}")
        prompts.append(prompt)
    if not prompts:
        raise PromptBankError(f"{path}: prompt bank holds no prompt")
    return prompts
