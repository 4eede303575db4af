"""Name -> factory registries, one per kind, filled by plugins through ``register`` callbacks."""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

from colorkit.errors import RegistryError


def first_line(obj: Any) -> str:
    """The first line of an object's docstring, or an empty string."""
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


@dataclass
class Entry:
    name: str
    factory: Callable
    plugin: str
    doc: str = ""


@dataclass
class Registry:
    """Entries of one kind. A name registered twice is kept as a conflict that names both plugins."""

    kind: str
    entries: dict[str, Entry] = field(default_factory=dict)
    conflicts: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, factory: Callable, *, plugin: str) -> None:
        if not isinstance(name, str) or not name or not name.isprintable():
            raise RegistryError(f"plugin '{plugin}' registered a {self.singular} with an invalid name {name!r}")
        if not callable(factory):
            raise RegistryError(
                f"plugin '{plugin}' registered {self.singular} '{name}' as {type(factory).__name__}, "
                "which is not callable"
            )
        if name in self.entries or name in self.conflicts:
            owners = self.conflicts.setdefault(name, [self.entries.pop(name).plugin] if name in self.entries else [])
            owners.append(plugin)
            raise RegistryError(
                f"{self.singular} '{name}' is registered by both '{owners[0]}' and '{plugin}'; "
                "disable one of them with COLORKIT_DISABLE_PLUGINS"
            )
        self.entries[name] = Entry(name, factory, plugin, first_line(factory))

    @property
    def singular(self) -> str:
        return {"losses": "loss", "models": "model", "metrics": "metric", "pretrained": "pretrained model", "hint_samplers": "hint sampler"}.get(self.kind, self.kind.rstrip("s"))

    def names(self) -> list[str]:
        return sorted(self.entries)

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def unknown_message(self, name: str) -> str:
        """Why ``name`` cannot be used: a conflict, or unknown with the valid names and a suggestion."""
        if name in self.conflicts:
            owners = self.conflicts[name]
            return (
                f"{self.singular} '{name}' is registered by both '{owners[0]}' and '{owners[1]}'; "
                "disable one of them with COLORKIT_DISABLE_PLUGINS"
            )
        valid = ", ".join(self.names()) or "none registered"
        close = difflib.get_close_matches(name, self.names(), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return f"unknown {self.singular} {name!r}; valid: {valid}.{hint}"  # repr: a user's name stays on one line

    def get(self, name: str) -> Entry:
        if name not in self.entries:
            raise RegistryError(self.unknown_message(name))
        return self.entries[name]

    def build(self, name: str, /, **kwargs: Any) -> Any:
        return self.get(name).factory(**kwargs)
