"""Training speed switches: DataLoader workers, the decoded-image cache, autocast, channels_last."""

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from colorkit.cli import create_app
from colorkit.testing import make_images, write_recipe


def cli(*args):
    return CliRunner().invoke(create_app(), [str(a) for a in args])


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("speed")
    make_images(root / "photos", count=12, size=32)
    (root / "photos" / "broken.jpg").write_bytes(b"not a jpeg")
    return write_recipe(root / "tiny.toml", root / "photos", root / "runs")


def _train(recipe: Path, out: str, *sets: str) -> list[dict]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = cli("run", recipe, "--out", recipe.parent / out, "--json", *[a for s in sets for a in ("--set", s)])
    finally:
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    (run,) = (recipe.parent / out).iterdir()
    return [json.loads(line) for line in (run / "metrics.jsonl").open()]


@pytest.mark.slow
def test_workers_and_the_cache_do_not_change_what_is_trained(recipe):
    plain = _train(recipe, "plain", "data.cache=false", "data.workers=0")
    fast = _train(recipe, "fast", "data.cache=true", "data.workers=2", "data.prefetch=3")
    again = _train(recipe, "again", "data.cache=true", "data.workers=2")  # now read from the cache
    for a, b, c in zip(plain, fast, again):
        assert a["train_loss"] == b["train_loss"] == c["train_loss"]
        assert a["val_total"] == b["val_total"] == c["val_total"]
        assert a["bad_files"] == b["bad_files"] == c["bad_files"] == 1  # the broken file is still reported
        assert b["data_wait_s"] >= 0


@pytest.mark.slow
def test_bf16_autocast_and_channels_last_train_on_cpu(recipe):
    records = _train(recipe, "bf16", "train.amp=bf16", "train.channels_last=true")
    plain = _train(recipe, "fp32", "train.amp=off")
    assert all(torch.isfinite(torch.tensor(r["train_loss"])) for r in records)
    assert records[-1]["train_loss"] != plain[-1]["train_loss"]  # autocast really ran in bf16
    assert records[-1]["train_loss"] == pytest.approx(plain[-1]["train_loss"], rel=0.1)


def test_fp16_on_a_cpu_is_refused_naming_the_key(recipe):
    result = cli("run", recipe, "--out", recipe.parent / "fp16", "--set", "train.amp=fp16", "--set", "train.device=cpu")
    assert result.exit_code != 0
    assert "train.amp = 'fp16'" in result.output and "CUDA" in result.output
    assert not (recipe.parent / "fp16").exists() or not any((recipe.parent / "fp16").iterdir())
