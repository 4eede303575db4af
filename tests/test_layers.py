"""Imports only point down (issue 13): a module of colorkit may import from its own layer and the
layers below it, never from one above. The layers are written once, here, bottom to top;
docs/architecture.md says what each holds and why it sits where it does.

Every import counts, wherever it is written (module level, inside a function, under
``TYPE_CHECKING``), in every form: ``import a.b``, ``from a import b``, ``from .b import c``.
``plugins.py`` loading the built-in plugins by name (``importlib.import_module``) is not an import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "colorkit"
ROOT = "colorkit"
"""The package root (``colorkit/__init__.py``: ``__version__``) sits on the ground floor; as a
prefix below it names itself only, never every module."""

LAYERS: list[tuple[str, list[str]]] = [
    ("ground", [ROOT, "colorkit.errors", "colorkit.registry", "colorkit.hookspecs", "colorkit.contracts", "colorkit.metric_info", "colorkit.files", "colorkit.outputs"]),
    ("data", ["colorkit.data"]),
    ("zoo", ["colorkit.zoo"]),
    ("components", ["colorkit.models", "colorkit.losses", "colorkit.preprocess", "colorkit.hints", "colorkit.metrics", "colorkit.loggers"]),
    ("plugins and recipes", ["colorkit.plugins", "colorkit.recipe"]),
    ("assembly", ["colorkit.build", "colorkit.checkpoint"]),
    ("report", ["colorkit.report"]),
    ("inference", ["colorkit.inference"]),
    ("training", ["colorkit.training"]),
    ("video", ["colorkit.video"]),
    ("bench", ["colorkit.bench"]),
    ("api", ["colorkit.api"]),
    ("scaffold", ["colorkit.scaffold"]),
    ("serve", ["colorkit.serve"]),
    ("cli", ["colorkit.cli", "colorkit.__main__"]),
    ("devtools", ["colorkit.devtools"]),
    ("testing", ["colorkit.testing"]),
]
"""Bottom to top: (name, module prefixes). A prefix names a module and everything inside it."""

EXCEPTIONS: dict[tuple[str, str], str] = {
    (ROOT, "colorkit.api"): "the root re-exports the public API on first use (PEP 562), so `import colorkit` stays cheap",
    ("colorkit.losses.adversarial", "colorkit.plugins"): (
        "builds its discriminator by registered name from the global plugin host, inside __init__; "
        "goes once a loss factory is handed the host"
    ),
}
"""Upward imports allowed by name, each with its reason (a test fails once one is no longer used)."""

PACKAGE_DATA = ("colorkit/scaffold/templates/",)
"""Files that are not modules of colorkit: the plugin files ``colorkit plugin new`` fills in."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    files = [p for p in PACKAGE.rglob("*.py") if not any(d in p.relative_to(PACKAGE.parent).as_posix() for d in PACKAGE_DATA)]
    return {module_name(p): p for p in sorted(files)}


def imported_modules(source: str, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The colorkit modules that ``source`` (the text of ``module``) imports anywhere in it: each
    imported name resolved to the longest known module that holds it."""

    def known_module(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name == ROOT or name.startswith(ROOT + "."):
                target = known_module(name)
                if target and target != module:
                    found.add(target)
    return found


def layer_of(module: str) -> int | None:
    """The index in :data:`LAYERS` of the longest prefix that names ``module``."""
    best, length = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            hit = module == prefix if prefix == ROOT else module == prefix or module.startswith(prefix + ".")
            if hit and len(prefix) > length:
                best, length = index, len(prefix)
    return best


def upward_imports() -> list[tuple[str, str]]:
    """(importer, imported) for every import from a layer above the importer's."""
    modules = package_modules()
    known = set(modules)
    found = []
    for module, path in modules.items():
        for target in sorted(imported_modules(path.read_text(encoding="utf-8"), module, path.name == "__init__.py", known)):
            if layer_of(target) > layer_of(module):
                found.append((module, target))
    return found


def test_every_module_has_a_layer():
    unplaced = [m for m in package_modules() if layer_of(m) is None]
    assert not unplaced, f"add these modules to a layer in tests/test_layers.py (and docs/architecture.md): {unplaced}"


def test_each_prefix_is_written_once():
    prefixes = [p for _, ps in LAYERS for p in ps]
    assert len(prefixes) == len(set(prefixes))


def test_imports_only_point_down():
    wrong = [
        f"{importer} ({LAYERS[layer_of(importer)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for importer, target in upward_imports()
        if (importer, target) not in EXCEPTIONS
    ]
    assert not wrong, "imports from a layer above:\n" + "\n".join(wrong)


def test_every_exception_is_still_needed():
    used = set(upward_imports())
    assert not [pair for pair in EXCEPTIONS if pair not in used], "remove exceptions that no longer happen"


def test_the_architecture_page_shows_these_layers():
    """docs/architecture.md's layer table lists the same layers, in the same order."""
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1:4] for line in page.splitlines() if line.startswith("| ") and line.split("|")[1].strip().isdigit()]
    assert [(int(n), name.strip()) for n, name, _ in rows] == [(i + 1, name) for i, (name, _) in enumerate(LAYERS)]


@pytest.mark.parametrize(
    "line",
    [
        "import colorkit.cli",
        "import colorkit.cli.common as common",
        "from colorkit import cli",
        "from colorkit.cli import create_app",
        "from colorkit.cli.common import err",
        "from ..cli import common",
        "from ...cli import common",  # written in colorkit/data/x/y.py: three dots lead to colorkit
        "def f():\n    from colorkit.cli import create_app",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from colorkit.cli import create_app",
    ],
)
def test_the_check_sees_every_form_of_import(line):
    """An import of the CLI from the data layer is found however it is written."""
    known = {ROOT, "colorkit.cli", "colorkit.cli.common", "colorkit.data", "colorkit.data.images", "colorkit.data.x.y"}
    module = "colorkit.data.x.y" if line.startswith("from ...") else "colorkit.data.images"
    targets = imported_modules(line, module, False, known)
    assert targets & {"colorkit.cli", "colorkit.cli.common"}, targets
    assert all(layer_of(t) > layer_of(module) for t in targets)
