"""The documentation cannot drift: generated pages match the code, every hook is documented and
tested, every command and option explains itself, and the site builds with ``mkdocs build --strict``."""

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from colorkit import hookspecs
from colorkit.devtools.docs_pages import hook_signature, hook_specs, pages

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("page", sorted(pages()))
def test_generated_page_matches_the_code(page):
    assert (ROOT / page).read_text(encoding="utf-8") == pages()[page], f"{page} is stale: run python -m colorkit.devtools.docs_pages"


def test_every_hook_is_a_kind_and_every_kind_a_hook():
    names = {f.__name__ for f in hook_specs()}
    assert names == {f"colorkit_register_{kind}" for kind in hookspecs.KINDS}


@pytest.mark.parametrize("hook", [f.__name__ for f in hook_specs()])
def test_every_hook_is_documented_with_its_exact_signature_and_has_a_test(hook):
    fn = getattr(hookspecs, hook)
    assert (inspect.getdoc(fn) or "").strip(), f"{hook} has no docstring"
    page = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    assert f"## {hook}\n" in page and hook_signature(fn) in page
    tests = [p for p in [*ROOT.glob("tests/test_*.py"), *ROOT.glob("plugins/*/tests/test_*.py")] if p.name != "test_docs.py"]
    assert any(re.search(rf"\b{hook}\b", p.read_text(encoding="utf-8")) for p in tests), f"no test mentions {hook}"


def _commands():
    import typer
    import typer._click as click

    from colorkit.cli import create_app

    root = typer.main.get_command(create_app())
    stack = [(root, click.Context(root, info_name="colorkit"), "colorkit")]
    while stack:
        cmd, ctx, path = stack.pop()
        yield cmd, ctx, path
        for name, sub in getattr(cmd, "commands", {}).items():
            stack.append((sub, click.Context(sub, info_name=name, parent=ctx), f"{path} {name}"))


def test_every_command_and_option_has_help_text():
    missing = []
    for cmd, ctx, path in _commands():
        if not (cmd.help or "").strip():
            missing.append(path)
        missing += [f"{path} {p.name}" for p in cmd.params if not (getattr(p, "help", None) or "").strip()]
    assert not missing, f"no help text: {missing}"


def test_data_commands_offer_json_and_the_root_offers_quiet():
    options = {path: {o for p in cmd.params for o in getattr(p, "opts", [])} for cmd, _, path in _commands()}
    assert {"--quiet", "-q"} <= options["colorkit"]
    for path in ("colorkit run", "colorkit compare", "colorkit validate", "colorkit evaluate", "colorkit plugins", "colorkit plugin new"):
        assert "--json" in options[path], path


def test_site_navigation_names_pages_that_exist():
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def leaves(node):
        if isinstance(node, str):
            yield node
        elif isinstance(node, list):
            for item in node:
                yield from leaves(item)
        elif isinstance(node, dict):
            for value in node.values():
                yield from leaves(value)

    missing = [p for p in leaves(config["nav"]) if not (ROOT / "docs" / p).is_file()]
    assert not missing, missing
    assert {"getting-started.md", "recipe-reference.md", "losses.md", "plugins.md", "hooks.md", "cli.md", "tracking.md"} <= set(leaves(config["nav"]))


def test_site_builds_strictly(tmp_path):
    if not _has_module("mkdocs"):
        pytest.skip("mkdocs is not installed (pip install -e '.[dev]')")
    if not _has_module("material"):
        pytest.skip("mkdocs-material is not installed (pip install -e '.[dev]')")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
        capture_output=True, text=True, cwd=ROOT, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    site = tmp_path / "site"
    for page in ("cli", "hooks", "recipe-reference", "losses", "results", "tracking", "getting-started", "plugins"):
        assert (site / page / "index.html").is_file(), page
    assert "colorkit_register_loggers" in (site / "hooks" / "index.html").read_text()


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_getting_started_and_home_start_with_the_readmes_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line for line in re.findall(r"```bash\n(.*?)```", readme, re.S)[0].splitlines() if line.startswith("python3 ")]
    assert len(commands) == 2
    for page in ("getting-started.md", "index.md"):
        text = (ROOT / "docs" / page).read_text(encoding="utf-8")
        assert all(c in text for c in commands), page
