"""``colorkit plugin new``: write a complete, installable plugin package from a template.

The package has a ``pyproject.toml`` with its ``colorkit`` entry point, a module whose hook
implementation registers a working example, a README, tests that use the ``colorkit.testing``
fixtures, and a recipe that uses the plugin. Templates are plain strings in
:mod:`colorkit.scaffold.templates`, with ``{{key}}`` placeholders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from colorkit import __version__
from colorkit.errors import ColorkitError
from colorkit.scaffold import templates

KINDS = ("loss", "model", "preprocessor")
"""What ``--kind`` accepts: the registry each kind of plugin fills."""

_REGISTRY = {"loss": "losses", "model": "models", "preprocessor": "preprocessors"}
_SUFFIX = {"loss": "Loss", "model": "Net", "preprocessor": "Preprocessor"}
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$")


@dataclass
class Names:
    name: str  # registered name and entry-point name, e.g. "weighted_l1"
    dist: str  # distribution and folder, e.g. "colorkit-weighted-l1"
    module: str  # import name, e.g. "colorkit_weighted_l1"
    cls: str  # the example's class, e.g. "WeightedL1Loss"


def names_for(name: str, kind: str) -> Names:
    """Every name of a new plugin, from what the user typed (``colorkit-`` prefix optional)."""
    if kind not in KINDS:
        raise ColorkitError(f"--kind {kind!r}: choose one of {', '.join(KINDS)}")
    raw = name.strip().lower()
    for prefix in ("colorkit-", "colorkit_"):
        raw = raw.removeprefix(prefix)
    if not _NAME.match(raw):
        raise ColorkitError(
            f"plugin name {name!r}: use lowercase letters and digits, words joined by '-' or '_', "
            "starting with a letter (e.g. weighted-l1)"
        )
    reg = raw.replace("-", "_")
    cls = "".join(part.capitalize() for part in reg.split("_")) + _SUFFIX[kind]
    return Names(reg, "colorkit-" + reg.replace("_", "-"), "colorkit_" + reg, cls)


def render(text: str, values: dict[str, str]) -> str:
    """Replace every ``{{key}}``; a placeholder left over is a bug in the template."""
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    left = re.findall(r"\{\{\w+\}\}", text)
    if left:
        raise AssertionError(f"template placeholders without a value: {sorted(set(left))}")
    return text


def files_for(n: Names, kind: str) -> dict[str, str]:
    """Relative path -> content of every file of the new package."""
    values = {
        "name": n.name,
        "dist": n.dist,
        "module": n.module,
        "cls": n.cls,
        "kind": kind,
        "registry": _REGISTRY[kind],
        "hook": f"colorkit_register_{_REGISTRY[kind]}",
        "colorkit_version": __version__,
    }
    values["description"] = render(templates.DESCRIPTION[kind], values)
    parts = templates.KIND[kind]
    files = {
        "pyproject.toml": templates.PYPROJECT,
        ".gitignore": templates.GITIGNORE,
        "README.md": templates.README + parts["readme"],
        f"{n.module}/__init__.py": parts["module"],
        "tests/test_plugin.py": parts["tests"],
        f"{n.name}.toml": parts["recipe"],
    }
    return {path: render(text, values) for path, text in files.items()}


def new_plugin(name: str, kind: str, out_dir: str | Path = ".", *, host=None) -> Path:
    """Write the package into ``out_dir/colorkit-NAME`` and return that folder.

    Refuses a name that the installed colorkit already registers for that kind, and a folder that
    exists and is not empty.
    """
    n = names_for(name, kind)
    if host is not None:
        registry = host.registries[_REGISTRY[kind]]
        if n.name in registry:
            raise ColorkitError(f"{kind} '{n.name}' is already registered by '{registry.get(n.name).plugin}'; choose another name")
    target = Path(out_dir) / n.dist
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ColorkitError(f"{target}: already exists and is not empty; choose another name or -o folder")
    for rel, content in files_for(n, kind).items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return target
