"""Bad values and odd paths through the command line (issue 12, items 5 to 7):

- names from recipes and the CLI stay one folder name inside the output folder;
- every bad value is one line with exit 2, never a traceback, and `validate` refuses what `run` would;
- --data, --split and --out reach the recipe as typed: backslashes, both quote kinds and bytes that
  are not UTF-8 survive a real (tiny) training and its resume.
"""

import os
import sys
from pathlib import Path

import pytest

from colorkit.recipe import read_toml, set_values
from colorkit.testing import cli, make_images, write_recipe

RECIPE = Path(__file__).parents[1] / "recipes" / "cunet_mse.toml"


def one_line(result, code=2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    """A tiny recipe whose data and output folders come from --data and --out."""
    root = tmp_path_factory.mktemp("values")
    return write_recipe(root / "tiny.toml", Path("no-such-folder"), Path("no-such-runs"), extra="")


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


# --- 6. one line, never a traceback, for every bad value ------------------------------------------

BAD_VALUES = {
    "betas": ("optim.betas=[2,5]", "key 'optim.betas'", "[0, 1)"),
    "device": ("train.device=banana", "key 'train.device'", '"cuda:N"'),
    "seed_int64": (f"seed={2**63 - 1}", "key 'seed'", "4294967295"),
    "seed_uint32": (f"seed={2**32}", "key 'seed'", "4294967295"),
    "size": ("data.size=100000", "key 'data.size'", "4096"),
    "lr_inf": ("optim.lr=inf", "key 'optim.lr'", "finite"),
    "lr_beyond_float32": ("optim.lr=1e38", "key 'optim.lr'", "less than or equal to 10"),
    "batch_beyond_sys_maxsize": (f"train.batch_size={2**70}", "key 'train.batch_size'", "65536"),
    "weight_nan": ("loss.0.weight=nan", "key 'loss.0.weight'", "finite"),
    "part_weight_inf": ("loss.0.part_weights={lips=inf}", "key 'loss.0.part_weights.lips'", "finite"),
    "deep_value": ("model.args.x=" + "[" * 40 + "1" + "]" * 40, "key 'model.args.x.0.0", "32"),
    "deeper_than_python": ("model.args.x=" + "[" * 5000 + "1" + "]" * 5000, "--set value", "nested too deeply"),
    "newline_in_model": ("model.name=\"a\\nb\"", "key 'model.name'", "unknown model 'a\\nb'"),
    "unicode_index": ("loss.\u00b2.weight=1", "'loss.\u00b2'", "addressed by index"),
    "loss_option_value": ('loss.0={name="chroma_weighted", args={base="huber"}}', "chroma_weighted", "'l1', 'mse'"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_a_bad_value_is_one_line_from_validate_and_from_run(tmp_path, case):
    override, key, why = BAD_VALUES[case]
    for command in (["validate", RECIPE], ["run", RECIPE, "--out", tmp_path / "runs"]):
        line = one_line(cli(*command, "--set", override))
        assert key in line and why in line, line
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_a_recipe_nested_5000_deep_is_one_line(tmp_path):
    for nested in ("[" * 5000 + "]" * 5000, "{a = " * 5000 + "1" + "}" * 5000):
        path = tmp_path / "deep.toml"
        path.write_text(f'name = "deep"\n[model]\nargs = {{ x = {nested} }}\n')
        for command in (["validate", path], ["run", path, "--out", tmp_path / "runs"]):
            line = one_line(cli(*command))
            assert str(path) in line and "nested too deeply" in line, line
    assert not (tmp_path / "runs").exists()


def test_every_cuda_index_and_the_usual_devices_are_accepted():
    for device in ("auto", "cpu", "cuda", "cuda:0", "cuda:15", "mps"):
        assert cli("validate", RECIPE, "--set", f"train.device='{device}'").exit_code == 0, device
    for device in ("cuda:", "cuda:-1", "gpu", "CPU", "cuda:0 "):
        assert "key 'train.device'" in one_line(cli("validate", RECIPE, "--set", f"train.device='{device}'"))


@pytest.mark.parametrize("name", ["/etc/passwd", "../outside.png", "nested/../../outside.png"])
def test_a_split_file_names_images_inside_the_data_folder_only(tmp_path, recipe, name):
    photos = tmp_path / "photos"
    make_images(photos, count=4)
    split = tmp_path / "split.txt"
    split.write_text(f"img_001.jpg\n{name}\n")
    line = one_line(cli("run", recipe, "--data", photos, "--split", split, "--out", tmp_path / "runs"))
    assert str(split) in line and repr(name) in line and "stay inside" in line, line
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_bench_bounds_its_size_and_device():
    assert "must be" in one_line(cli("bench", "--device", "banana"))
    result = cli("bench", "--size", "100000")
    assert result.exit_code == 2 and "4096" in result.output and "Traceback" not in result.output


# --- 7. paths pass through untouched --------------------------------------------------------------

FOLDERS = {
    "backslash": "back\\slash",
    "both_quotes": "it's \"quoted\"",
    "not_utf8": os.fsdecode(b"caf\xe9"),
}


def test_typed_values_are_not_parsed_as_toml():
    raw = set_values({"data": {}}, {"data.source": "a\\b 'c' \"d\"", "output.dir": "x = [1]"})
    assert raw == {"data": {"source": "a\\b 'c' \"d\""}, "output": {"dir": "x = [1]"}}


@pytest.mark.parametrize("case", list(FOLDERS))
def test_data_split_and_out_paths_survive_a_training_and_its_resume(tmp_path, recipe, case):
    folder = FOLDERS[case]
    try:
        (tmp_path / folder).mkdir()
    except (OSError, UnicodeEncodeError):
        pytest.skip(f"this file system cannot name a folder {folder!r}")
    photos = tmp_path / folder / "photos"
    make_images(photos, count=6)
    split = tmp_path / folder / "train.txt"
    split.write_text("img_001.jpg\nimg_002.png\nimg_004.png\nimg_005.jpg\nnested/img_000.png\n", encoding="utf-8", errors="surrogateescape")
    out = tmp_path / (folder if case != "not_utf8" else "runs") / "runs"
    result = cli("run", recipe, "--data", photos, "--split", split, "--out", out, "--set", "train.epochs=1", "--set", "log.tensorboard=false")
    assert result.exit_code == 0, result.output
    (run,) = out.iterdir()
    data = read_toml(run / "recipe.toml")["data"]
    assert data["source"] == str(photos.resolve()) and data["train_split"] == str(split.resolve())
    assert read_toml(run / "recipe.toml")["output"]["dir"] == str(out)
    resumed = cli("run", "--resume", run, "--set", "train.epochs=2")
    assert resumed.exit_code == 0, resumed.output
    assert read_toml(run / "recipe.toml")["data"]["source"] == str(photos.resolve())


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse names that are not UTF-8")
def test_an_output_folder_that_is_not_utf8_is_refused_with_one_line(tmp_path, recipe):
    photos = tmp_path / "photos"
    make_images(photos, count=4)
    out = tmp_path / os.fsdecode(b"caf\xe9")
    line = one_line(cli("run", recipe, "--data", photos, "--out", out))
    assert "key 'output.dir'" in line and "not UTF-8" in line and "caf\\udce9" in line, line
    assert not out.exists()


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["colorize", "CKPT", "PHOTO", "-o", "OUT/x.png", "--size", "100000"], "--size 100000: must be from 8 to 4096"),
        (["colorize", "CKPT", "PHOTO", "-o", "OUT/x.png", "--size", "2"], "--size 2: must be from 8 to 4096"),
        (["evaluate", "CKPT", "--data", "DATA", "--size", "100000"], "--size 100000: must be from 8 to 4096"),
        (["export", "CKPT", "-o", "OUT/m.onnx", "--size", "0"], "--size 0: must be from 8 to 4096"),
        (["colorize", "CKPT", "PHOTO", "-o", "OUT/x.png", "--device", "banana"], "device 'banana': must be"),
        (["evaluate", "CKPT", "--data", "DATA", "--device", "cuda:x", "--json", "OUT/e.json"], "device 'cuda:x': must be"),
    ],
)
def test_command_line_sizes_and_devices_are_one_line(tmp_path, tiny_checkpoint, args, fragment):
    photos = tmp_path / "photos"
    (photo,) = make_images(photos, count=1)
    (tmp_path / "out").mkdir()
    swap = {"CKPT": tiny_checkpoint, "PHOTO": photo, "DATA": photos}
    args = [str(swap.get(a, a)).replace("OUT", str(tmp_path / "out")) for a in args]
    assert fragment in one_line(cli(*args))
    assert not any((tmp_path / "out").iterdir())
