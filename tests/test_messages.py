"""Messages: results on stdout, progress on stderr, ``--quiet`` silences progress but not errors,
``--json`` where a result is data, and an expected error is one line with a documented exit code."""

import json

import pytest
from typer.testing import CliRunner

from colorkit.cli import create_app
from colorkit.cli.common import EXIT_CODES
from colorkit.testing import make_images, write_recipe

runner = CliRunner()


def cli(*args):
    return runner.invoke(create_app(), [str(a) for a in args])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("messages")
    make_images(root / "photos", count=8)
    recipe = write_recipe(root / "tiny.toml", root / "photos", root / "runs", extra="[log]\ntensorboard = false\n")
    result = cli("run", recipe, "--set", "train.max_steps=1")
    assert result.exit_code == 0, result.output
    assert "tiny" in result.stdout and "run directory" in result.stdout  # the summary is a result
    assert "run directory" in result.stderr  # ... and the announcement is information
    (run_dir,) = (root / "runs").iterdir()
    return root, run_dir


def test_evaluate_json_on_stdout_and_quiet_stderr(run):
    root, run_dir = run
    result = cli("--quiet", "evaluate", run_dir, "--data", root / "photos", "--size", "32", "--limit", "3", "--json", "-")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["n"] == 3 and {"model", "truth"} <= set(data["overall"]) and len(data["overall"]) == 3 and data["size"] == 32
    assert result.stderr == ""
    assert not list(run_dir.glob("evaluate-*.json"))  # "-" prints instead of writing


def test_validate_json_reports_every_recipe_and_exits_2_when_one_is_bad(run, tmp_path):
    root, _ = run
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[train]\nepochs = 1\nlrr = 3\n')
    result = cli("validate", root / "tiny.toml", bad, "--json")
    assert result.exit_code == 2
    records = json.loads(result.stdout)
    assert [r["ok"] for r in records] == [True, False] and "unknown key 'train.lrr'" in records[1]["error"]


def test_quiet_keeps_errors_as_one_line_without_traceback(tmp_path):
    for args in (("run", tmp_path / "missing.toml"), ("validate", tmp_path / "missing.toml"), ("colorize", tmp_path / "none", tmp_path, "-o", tmp_path / "o")):
        result = cli("--quiet", *args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.output and str(tmp_path) in lines[0], (args, result.stderr)
    assert set(EXIT_CODES) == {0, 1, 2, 130, 143}


def test_plugins_json_lists_every_registry():
    data = json.loads(cli("plugins", "--json").stdout)
    assert {"models", "losses", "preprocessors", "metrics", "loggers"} <= set(data["registries"])
    assert data["registries"]["loggers"]["tensorboard"]["plugin"] == "colorkit.loggers"
