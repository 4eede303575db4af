"""Bad values and odd paths through the command line (issue 12, items 5 to 7):

- names from recipes and the CLI stay one folder name inside the output folder;
- every bad value is one line with exit 2, never a traceback, and `validate` refuses what `run` would;
- --data, --split and --out reach the recipe as typed: backslashes, both quote kinds and bytes that
  are not UTF-8 survive a real (tiny) training and its resume.
"""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from colorkit.cli import create_app

RECIPE = Path(__file__).parents[1] / "recipes" / "cunet_mse.toml"


def cli(*args):
    return CliRunner().invoke(create_app(), [str(a) for a in args])


def one_line(result, code=2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


# --- 5. names stay inside the output folder -------------------------------------------------------

BAD_NAMES = {
    "parent": ("'../../escape'", "must not start with '.'"),
    "separator": ("'a/b'", "one folder name"),
    "backslash": ("'a\\b'", "one folder name"),
    "dot": ("'.'", "must not start with '.'"),
    "hidden": ("'.hidden'", "must not start with '.'"),
    "space": ("'a b'", "one folder name"),
    "nul": ('"a\\u0000b"', "one folder name"),
    "newline": ('"a\\nb"', "one folder name"),
    "empty": ("''", "non-empty"),
    "long": ("'" + "x" * 101 + "'", "at most 100 characters"),
    "not_a_string": ("5", "valid string"),
}


@pytest.mark.parametrize("case", list(BAD_NAMES))
def test_a_run_name_that_is_not_one_folder_name_is_refused_before_anything_is_written(tmp_path, case):
    value, why = BAD_NAMES[case]
    for command in (["validate", RECIPE], ["run", RECIPE, "--out", tmp_path / "runs" / "deep"]):
        line = one_line(cli(*command, "--set", f"name={value}"))
        assert "key 'name'" in line and why in line, line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["mse", "l1+colorfulness", "lr=1e-4", "visage-été", "Run_2.v3"])
def test_ordinary_names_pass(name):
    assert cli("validate", RECIPE, "--set", f"name='{name}'").exit_code == 0


def compare_file(tmp_path, name="cmp", variant="mse") -> Path:
    (tmp_path / "base.toml").write_text(RECIPE.read_text())
    path = tmp_path / "compare.toml"
    path.write_text(f'name = "{name}"\nbase = "base.toml"\n[[variant]]\nname = "{variant}"\n[[variant]]\nname = "l1"\nloss = [{{ name = "l1" }}]\n')
    return path


def test_compare_and_variant_names_are_checked_like_run_names(tmp_path):
    assert cli("validate", compare_file(tmp_path)).exit_code == 0
    line = one_line(cli("validate", compare_file(tmp_path, variant="../../up")))
    assert "[variant '../../up']" in line and "key 'name'" in line
    line = one_line(cli("compare", compare_file(tmp_path, name="../../up")))
    assert "key 'name'" in line and "../../up" in line
    assert {p.name for p in tmp_path.iterdir()} == {"base.toml", "compare.toml"}


def test_vary_refuses_a_base_name_that_leaves_the_compare_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = tmp_path / "base.toml"
    base.write_text(RECIPE.read_text().replace('name = "cunet_mse"', 'name = "../../up"'))
    line = one_line(cli("compare", base, "--vary", "loss=mse,l1"))
    assert "key 'name'" in line and "../../up-compare" in line
    assert [p.name for p in tmp_path.iterdir()] == ["base.toml"]
