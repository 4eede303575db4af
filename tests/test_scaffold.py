"""``colorkit plugin new``: generated packages install with pip, pass their own tests, and their recipes validate."""

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import colorkit.scaffold
from colorkit.cli import create_app
from colorkit.scaffold import KINDS, files_for, names_for, render

TEMPLATES = Path(colorkit.scaffold.__file__).parent / "templates"
ROOT = Path(__file__).resolve().parents[1]

runner = CliRunner()


def cli(*args):
    return runner.invoke(create_app(), [str(a) for a in args])


def test_names_follow_one_pattern():
    n = names_for("colorkit-Weighted-L1", "loss")
    assert (n.name, n.dist, n.module, n.cls) == ("weighted_l1", "colorkit-weighted-l1", "colorkit_weighted_l1", "WeightedL1Loss")
    assert names_for("tiny", "model").cls == "TinyNet" and names_for("edges", "preprocessor").cls == "EdgesPreprocessor"


@pytest.mark.parametrize("kind", KINDS)
def test_every_file_is_complete(kind):
    files = files_for(names_for("shiny", kind), kind)
    assert set(files) == {"pyproject.toml", ".gitignore", "README.md", "colorkit_shiny/__init__.py", "tests/test_plugin.py", "shiny.toml"}
    assert 'shiny = "colorkit_shiny"' in files["pyproject.toml"] and "[project.entry-points.colorkit]" in files["pyproject.toml"]
    assert files["shiny.toml"].startswith("# colorkit run shiny.toml")
    hook = {"loss": "colorkit_register_losses", "model": "colorkit_register_models", "preprocessor": "colorkit_register_preprocessors"}[kind]
    assert f"def {hook}(register)" in files["colorkit_shiny/__init__.py"]
    for path, text in files.items():
        if path.endswith(".py"):
            compile(text, path, "exec")
            ast.parse(text, path)
        elif path.endswith(".toml"):
            tomllib.loads(text)


def test_templates_are_valid_python_and_toml_as_they_stand():
    """The placeholders (``__NAME__``, ``__CLS__``, ...) are identifiers, so linters and pip's byte-compiler see real files."""
    found = {p.suffix for p in TEMPLATES.rglob("*") if p.is_file()}
    assert {".py", ".toml", ".md"} <= found
    for path in TEMPLATES.rglob("*.py"):
        ast.parse(path.read_text(encoding="utf-8"), str(path))
    for path in TEMPLATES.rglob("*.toml"):
        tomllib.loads(path.read_text(encoding="utf-8"))


def test_every_template_is_package_data():
    """What pyproject.toml ships under colorkit.scaffold is every template file (a new subfolder needs a new glob)."""
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["colorkit.scaffold"]
    shipped = {p for pattern in globs for p in TEMPLATES.parent.glob(pattern) if p.is_file()}
    assert shipped == {p for p in TEMPLATES.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_a_placeholder_without_a_value_is_refused():
    assert render("class __CLS__:  # __version__ stays", {"cls": "TinyNet"}) == "class TinyNet:  # __version__ stays"
    with pytest.raises(AssertionError, match="__NAEM__"):
        render('register("__NAEM__")', {"name": "x"})


def test_bad_names_and_taken_names_are_one_line_errors(tmp_path):
    for args, message in (
        (["Bad Name!", "--kind", "loss"], "plugin name 'Bad Name!'"),
        (["mse", "--kind", "loss"], "loss 'mse' is already registered by 'colorkit.losses'"),
        (["x", "--kind", "metric"], "metric"),
    ):
        result = cli("plugin", "new", *args, "-o", tmp_path)
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, result.output
    assert cli("plugin", "new", "twice", "--kind", "loss", "-o", tmp_path).exit_code == 0
    again = cli("plugin", "new", "twice", "--kind", "loss", "-o", tmp_path)
    assert again.exit_code == 2 and "already exists" in again.output


@pytest.mark.slow
def test_generated_plugins_install_pass_their_tests_and_validate(tmp_path):
    """One package per kind, installed with pip into a private folder (the venv is left untouched)."""
    folders = []
    for name, kind in (("bright", "loss"), ("tiny-net", "model"), ("edges", "preprocessor")):
        result = cli("plugin", "new", name, "--kind", kind, "-o", tmp_path, "--json")
        assert result.exit_code == 0, result.output
        folders.append(Path(json.loads(result.stdout)["folder"]))
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", "--target", site]
    done = subprocess.run([*map(str, pip), *map(str, folders)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {p.name for p in site.glob("*.dist-info")} == {"colorkit_bright-0.1.0.dist-info", "colorkit_tiny_net-0.1.0.dist-info", "colorkit_edges-0.1.0.dist-info"}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib", *(str(f / "tests") for f in folders)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600,
    )
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    recipes = [f / f"{f.name.removeprefix('colorkit-').replace('-', '_')}.toml" for f in folders]
    check = subprocess.run([sys.executable, "-m", "colorkit", "validate", *map(str, recipes)], capture_output=True, text=True, env=env, timeout=600)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("ok ") == 3 and "model tiny_net" in check.stdout and "loss 1*bright" in check.stdout
