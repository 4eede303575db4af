"""Property: for every recipe key (walked from the Recipe schema, nested sections and list items
included, plus the default model's options and keys that do not exist), any value (wrong types,
huge and negative numbers, nan and inf, empty, very long, unicode and NUL strings, deep nesting,
garbage TOML) makes `colorkit validate` either accept the recipe (exit 0) or print exactly one line
and exit 2. Never a traceback. Seeded, so CI sees the same cases every time (docs/reliability.md
records the count and the seed)."""

import inspect
import typing
from pathlib import Path

import tomli_w
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from typer.testing import CliRunner

from colorkit.cli import create_app
from colorkit.plugins import get_host
from colorkit.recipe import Recipe, read_toml

RECIPE = Path(__file__).parents[1] / "recipes" / "cunet_mse.toml"
CASES = 300
SEED = 12


def _model_of(annotation) -> tuple[type[BaseModel] | None, bool]:
    """The section model behind a field's annotation, and whether it is a list of them."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is list and args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0], True
    for arg in (annotation, *args):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg, False
    return None, False


def schema_keys(model: type[BaseModel] = Recipe, prefix: str = "") -> list[str]:
    """Every key of the schema: sections, their fields, and the fields of a list's first item."""
    keys = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        keys.append(key)
        section, is_list = _model_of(field.annotation)
        if section is not None:
            keys += schema_keys(section, f"{key}.0." if is_list else f"{key}.")
    return keys


def model_option_keys() -> list[str]:
    factory = get_host().models.get(read_toml(RECIPE)["model"]["name"]).factory
    params = inspect.signature(factory).parameters
    return [f"model.args.{p}" for p in params if p not in ("in_channels", "out_channels")]


KEYS = schema_keys() + model_option_keys() + ["loss.7.weight", "loss.x.name", "nosuch", "train.nosuch", "loss.0.args.nosuch"]

EXTREMES = st.sampled_from(
    [0, -1, 1, 7, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, -(2**63), 10**30, 0.0, -0.0, 1e-300, 1e308,
     float("nan"), float("inf"), float("-inf"), "", " ", "x" * 100_000, "\x00", "\n", "..", "../../up", "/", "[/x]",
     "caf\u00e9", "\u202e", "\ud7ff", "🎨", True, False, [], {}, [[]], {"": {}}]
)
LEAVES = st.one_of(
    EXTREMES,
    st.integers(),
    st.floats(),
    st.booleans(),
    st.text(max_size=40),
    st.dates(),
    st.datetimes(),
)
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12)
SET_TEXT = st.one_of(
    st.text(max_size=60),
    st.integers(1, 6000).map(lambda n: "[" * n + "1" + "]" * n),
    st.integers(1, 6000).map(lambda n: "{a=" * n + "1" + "}" * n),
    VALUES.map(lambda v: tomli_w.dumps({"v": v}).partition("=")[2].strip() if not isinstance(v, dict) else "{}"),
)


def _set(raw: dict, key: str, value) -> None:
    *path, last = key.split(".")
    node = raw
    for part in path:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _file_with(tmp: Path, key: str, value) -> Path | None:
    """The shipped recipe with ``key`` set to ``value``, written as TOML (None: not expressible)."""
    raw = read_toml(RECIPE)
    try:
        _set(raw, key, value)
        text = tomli_w.dumps(raw)
    except Exception:  # the key walks through a list that is too short, or TOML cannot hold the value
        return None
    path = tmp / "fuzz.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _ok_or_one_line(result) -> None:
    assert "Traceback" not in result.output, result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{type(result.exception).__name__}: {result.exception}")
    if result.exit_code == 0:
        assert result.output.startswith("ok "), result.output
        return
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("invalid: "), result.output


@seed(SEED)
@settings(max_examples=CASES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(key=st.sampled_from([*KEYS, None]).flatmap(lambda k: st.just(k) if k else st.text(max_size=20)), value=VALUES, text=SET_TEXT, how=st.sampled_from(["file", "set"]))
def test_validate_is_ok_or_one_line_for_any_value_of_any_key(tmp_path_factory, key, value, text, how):
    runner = CliRunner()
    if how == "file":
        path = _file_with(tmp_path_factory.mktemp("fuzz"), key, value)
        if path is None:
            return
        result = runner.invoke(create_app(), ["validate", str(path)])
    else:
        result = runner.invoke(create_app(), ["validate", str(RECIPE), "--set", f"{key}={text}"])
    _ok_or_one_line(result)


def test_the_fuzzed_keys_cover_the_whole_schema():
    keys = set(KEYS)
    assert {"name", "seed", "data.size", "data.sources.0.weight", "loss.0.weight", "loss.0.part_weights", "optim.betas",
            "train.device", "output.dir", "log.args", "preprocess.0.name", "model.args.depth"} <= keys
