"""A tiny named registry, in the spirit of timm's `register_model`/`create_model`:
generators, real-image sources, bootstrap builders and task runners are data (a params
entry naming a key) plus a builder registered under that key."""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

from aligngemini.errors import AlignGeminiError

T = TypeVar("T")


class UnknownEntryError(AlignGeminiError, KeyError):
    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._entries:
                raise AlignGeminiError(f"{self.kind} '{name}' is registered twice")
            self._entries[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise UnknownEntryError(f"unknown {self.kind} '{name}' (registered: {known})") from None

    def validate(self, name: str) -> str:
        """`name` if registered, else a ValueError naming the registered entries: what a
        pydantic validator raises, so the config error names the key."""
        if name not in self._entries:
            raise ValueError(f"unknown {self.kind} '{name}' (registered: {', '.join(self.names()) or 'none'})")
        return name

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries
