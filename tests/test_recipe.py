"""Recipes: typed validation with errors that name the file, the key and the valid choices."""

from pathlib import Path

import pytest

from colorkit.errors import RecipeError
from colorkit.recipe import Recipe, apply_overrides, load_recipe, read_toml, validate_file
from colorkit.training.compare import load_compare

RECIPES = sorted((Path(__file__).parents[1] / "recipes").glob("*.toml"))


@pytest.mark.parametrize("path", RECIPES, ids=[p.name for p in RECIPES])
def test_every_shipped_recipe_validates_and_names_its_command(path, colorkit_host):
    missing = [s.get("name") for s in read_toml(path).get("preprocess", []) if s.get("name") not in colorkit_host.preprocessors]
    if missing:  # CI validates these in the venv with the plugin (.ci/run)
        pytest.skip(f"needs the preprocessor {', '.join(missing)} of a plugin not installed here (plugins/colorkit-faces)")
    if "base" in read_toml(path):
        spec = load_compare(path, vary=[], overrides=[], host=colorkit_host, evaluate_override={})
        assert spec.variants
    else:
        assert isinstance(validate_file(path, colorkit_host), Recipe)
    first = path.read_text().splitlines()[0]
    assert first.startswith("# colorkit ") and str(path.relative_to(path.parents[1])) in first


def write(tmp_path, text, name="r.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_defaults_fill_in(tmp_path):
    r = load_recipe(write(tmp_path, 'name = "x"\n'))
    assert r.data.size == 256 and r.model.name == "cunet" and [t.name for t in r.loss] == ["mse"]
    assert r.optim.lr == 1e-3 and r.schedule.name == "plateau" and r.schedule.min_lr == 1e-4


def test_unknown_key_names_file_key_and_valid_keys(tmp_path):
    p = write(tmp_path, 'name = "x"\n[train]\nbatchsize = 4\n')
    with pytest.raises(RecipeError) as exc:
        load_recipe(p)
    msg = str(exc.value)
    assert str(p) in msg and "train.batchsize" in msg and "batch_size" in msg and "Did you mean 'batch_size'" in msg


def test_wrong_type_and_range(tmp_path):
    with pytest.raises(RecipeError, match=r"key 'data.size'.*integer"):
        load_recipe(write(tmp_path, 'name = "x"\n[data]\nsize = "big"\n'))
    with pytest.raises(RecipeError, match=r"key 'optim.lr'.*greater than 0.*-0.1"):
        load_recipe(write(tmp_path, 'name = "x"\n[optim]\nlr = -0.1\n'))


def test_syntax_error_names_file_and_line(tmp_path):
    p = write(tmp_path, 'name = "x"\n[train\n')
    with pytest.raises(RecipeError, match=r"r.toml: TOML syntax error.*line 2"):
        load_recipe(p)


def test_missing_file():
    with pytest.raises(RecipeError, match="no such recipe file"):
        load_recipe("does/not/exist.toml")


def test_budget_required(tmp_path):
    with pytest.raises(RecipeError, match="set at least one budget"):
        load_recipe(write(tmp_path, 'name = "x"\n[train]\nbatch_size = 2\n'))


def test_overrides_parse_values_and_address_lists():
    raw = {"name": "x", "loss": [{"name": "mse"}]}
    apply_overrides(raw, ["train.lr=1e-4", "loss.0.weight=2", "data.flip=false", "model.args.dilations=[1, 2]", "name=plain"])
    assert raw["train"]["lr"] == 1e-4 and raw["loss"][0]["weight"] == 2
    assert raw["data"]["flip"] is False and raw["model"]["args"]["dilations"] == [1, 2] and raw["name"] == "plain"
    with pytest.raises(RecipeError, match="KEY=VALUE"):
        apply_overrides({}, ["train.lr"])
    with pytest.raises(RecipeError, match="out of range"):
        apply_overrides({"loss": [{}]}, ["loss.3.weight=1"])


def test_override_typo_is_reported_like_a_file_typo(tmp_path):
    p = write(tmp_path, 'name = "x"\n')
    with pytest.raises(RecipeError, match="unknown key 'train.lrr'"):
        load_recipe(p, ["train.lrr=1"])


def test_registry_names_and_model_options_are_checked(tmp_path, builtin_host):
    p = write(tmp_path, 'name = "x"\n[model]\nname = "cunett"\n')
    with pytest.raises(RecipeError, match=r"model.name.*unknown model 'cunett'.*valid: cunet, eccv16, patchgan, smp_unet, unet"):
        validate_file(p, builtin_host)
    p = write(tmp_path, 'name = "x"\n[[loss]]\nname = "msee"\n')
    with pytest.raises(RecipeError, match=r"loss.0.name.*unknown loss 'msee'.*Did you mean 'mse'"):
        validate_file(p, builtin_host)
    p = write(tmp_path, 'name = "x"\n[model]\nname = "unet"\nargs = { widht = 8 }\n')
    with pytest.raises(RecipeError, match=r"model.args.widht.*unknown option.*width"):
        validate_file(p, builtin_host)


def test_size_must_fit_the_model_stride(tmp_path, builtin_host):
    p = write(tmp_path, 'name = "x"\n[data]\nsize = 100\n[model]\nname = "unet"\nargs = { depth = 4 }\n')
    with pytest.raises(RecipeError, match=r"data.size.*100 is not divisible by the stride 16.*try 96 or 112"):
        validate_file(p, builtin_host)


def test_to_toml_round_trips(tmp_path):
    r = load_recipe(write(tmp_path, 'name = "x"\nseed = 3\n[[loss]]\nname = "mse"\nweight = 0.5\n'))
    again = load_recipe(write(tmp_path, r.to_toml("colorkit run again.toml"), "again.toml"))
    assert again == r


def test_recipe_reference_page_matches_the_schema():
    from colorkit.devtools.recipe_reference import reference

    page = Path(__file__).parents[1] / "docs" / "recipe-reference.md"
    assert page.read_text() == reference(), "regenerate: python -m colorkit.devtools.recipe_reference > docs/recipe-reference.md"


def test_a_discriminator_is_not_a_colorizer(tmp_path, builtin_host):
    p = write(tmp_path, 'name = "x"\n[model]\nname = "patchgan"\n')
    with pytest.raises(RecipeError, match=r"model.name.*'patchgan' is a discriminator.*valid: cunet, eccv16, smp_unet, unet"):
        validate_file(p, builtin_host)
