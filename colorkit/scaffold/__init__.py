"""``colorkit plugin new``: write a complete, installable plugin package from a template.

The package has a ``pyproject.toml`` with its ``colorkit`` entry point, a module whose hook
implementation registers a working example, a README, tests that use the ``colorkit.testing``
fixtures, and a recipe that uses the plugin.

The templates are package data under ``colorkit/scaffold/templates/``: the shared files, then one
folder per kind. Their placeholders are upper-case dunder names (``__NAME__``, ``__CLS__``,
``__MODULE__``, ...) that are valid Python identifiers and TOML keys, so every template is a valid
Python or TOML file as it stands and linters and tests read them like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from colorkit import __version__
from colorkit.errors import ColorkitError

KINDS = ("loss", "model", "preprocessor")
"""What ``--kind`` accepts: the registry each kind of plugin fills."""

_REGISTRY = {"loss": "losses", "model": "models", "preprocessor": "preprocessors"}
_SUFFIX = {"loss": "Loss", "model": "Net", "preprocessor": "Preprocessor"}
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$")
_PLACEHOLDER = re.compile(r"__([A-Z][A-Z0-9_]*?)__")
_DESCRIPTION = {
    "loss": "A colorkit plugin: the loss '__NAME__' (a chroma-weighted L1 on ab, as a starting point).",
    "model": "A colorkit plugin: the model '__NAME__' (a small encoder-decoder, as a starting point).",
    "preprocessor": "A colorkit plugin: the preprocessor '__NAME__' (edge strength of the lightness, as a starting point).",
}


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


def template(rel: str) -> str:
    """The text of ``templates/REL`` (``rel`` uses ``/``), read through importlib.resources."""
    path = files(__package__) / "templates"
    for part in rel.split("/"):
        path = path / part
    return path.read_text(encoding="utf-8")


def render(text: str, values: dict[str, str]) -> str:
    """Replace every ``__KEY__`` by ``values["key"]``; a placeholder without a value is a bug in the template."""

    def value(match: re.Match) -> str:
        key = match.group(1).lower()
        if key not in values:
            raise AssertionError(f"template placeholder {match.group(0)} has no value")
        return values[key]

    return _PLACEHOLDER.sub(value, text)


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
    values["description"] = render(_DESCRIPTION[kind], values)
    sources = {
        "pyproject.toml": ["pyproject.toml"],
        ".gitignore": ["gitignore"],
        "README.md": ["README.md", f"{kind}/README.md"],
        f"{n.module}/__init__.py": [f"{kind}/module.py"],
        "tests/test_plugin.py": [f"{kind}/tests.py"],
        f"{n.name}.toml": [f"{kind}/recipe.toml"],
    }
    return {path: render("".join(map(template, rels)), values) for path, rels in sources.items()}


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
