"""``colorkit bench``: FLOPs against a hand count, and every reported number present and sane."""

import json

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from colorkit.bench import BenchConfig, run_bench
from colorkit.bench.flops import forward_flops, train_flops
from colorkit.cli import create_app
from colorkit.recipe import DataConfig

# Conv2d(1 -> 2, 3x3) at 32x32: each of the 2 * 32 * 32 outputs is 9 multiply-adds (2 FLOPs each).
ONE_CONV_FLOPS = 2 * (2 * 32 * 32) * (1 * 3 * 3)


def one_conv() -> nn.Module:
    return nn.Conv2d(1, 2, 3, padding=1)


def test_flops_match_a_hand_count():
    x = torch.randn(3, 1, 32, 32)
    assert forward_flops(one_conv(), x) == ONE_CONV_FLOPS
    # backward: the weight gradient costs as much as the forward; the input needs no gradient
    assert train_flops(one_conv(), x, torch.zeros(3, 2, 32, 32)) == 2 * ONE_CONV_FLOPS


def _check_model(result: dict, train: bool = True) -> None:
    inf = result["inference"]
    assert inf["images_per_s"] > 0 and inf["seconds_per_batch"] > 0
    assert 0 < inf["peak_fraction"] <= 1
    assert inf["memory_bytes"] >= 0
    if train:
        tr = result["train"]
        assert tr["images_per_s"] > 0 and tr["flops_per_image"] > inf["flops_per_image"]
        assert 0 < tr["peak_fraction"] <= 1
        assert 0 <= tr["data_wait_share"] <= 1
        assert tr["memory_bytes"] >= 0


def test_run_bench_one_conv():
    cfg = BenchConfig(size=32, batch=4, repeats=2, warmup=1, data=DataConfig(source="sample"))
    report = run_bench({"one_conv": one_conv}, cfg)
    peak = report["matmul_peak"]
    assert peak["gflops_per_s"] > 1 and peak["dtype"] == "float32" and peak["threads"] == torch.get_num_threads()
    (model,) = report["models"]
    assert model["params"] == 2 * 9 + 2
    assert model["inference"]["flops_per_image"] == ONE_CONV_FLOPS
    assert model["train"]["flops_per_image"] == 2 * ONE_CONV_FLOPS
    assert model["inference"]["gflops_per_s"] == pytest.approx(ONE_CONV_FLOPS * model["inference"]["images_per_s"] / 1e9)
    _check_model(model)
    assert report["machine"]["torch_threads"] == torch.get_num_threads()


def test_data_wait_grows_with_slow_data(tmp_path, monkeypatch):
    """Data that takes 200 ms a batch dominates a one-conv training step (even on a loaded machine)."""
    import colorkit.bench.runner as runner

    slow = runner._Batches.__next__

    def next_slowly(self):
        import time

        time.sleep(0.2)
        return slow(self)

    monkeypatch.setattr(runner._Batches, "__next__", next_slowly)
    cfg = BenchConfig(size=32, batch=2, repeats=2, warmup=0, data=DataConfig(source="sample"))
    share = run_bench({"one_conv": one_conv}, cfg)["models"][0]["train"]["data_wait_share"]
    assert 0.5 < share <= 1


def test_bench_command_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(create_app(), [
        "bench", "--model", "cunet", "--set", "cunet.width=4", "--set", "cunet.depth=3", "--set", "cunet.dilations=[1]",
        "--model", "eccv16", "--set", "eccv16.width=4", "--size", "32", "--batch", "2", "--repeats", "1", "--warmup", "0",
        "-o", str(out),
    ])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert [m["name"] for m in report["models"]] == ["cunet", "eccv16"]
    for model in report["models"]:
        _check_model(model)
    assert report["models"][0]["inference"]["folded_batchnorms"] > 0
    assert report["settings"]["size"] == 32 and report["settings"]["data"]["size"] == 32
    assert "cunet" in result.output and "eccv16" in result.output


@pytest.mark.parametrize("args,message", [
    (["--model", "nope"], "nope"),
    (["--set", "unet.width=4"], "neither data nor one of the --model names"),
    (["--set", "width=4"], "MODEL.KEY=VALUE"),
    (["--set", "cunet.width=0"], "width"),
    (["--set", "data.workers=-1"], "data.workers"),
])
def test_bench_command_rejects_bad_options(args, message):
    result = CliRunner().invoke(create_app(), ["bench", "--size", "32", "--batch", "1", *args])
    assert result.exit_code == 2
    assert message in result.output
