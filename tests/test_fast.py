"""Inference fast paths: BatchNorm folding keeps the output (to 1e-4), channels_last, the autocast choice."""

import numpy as np
import pytest
import torch
from torch import nn

from colorkit.inference.fast import FastOptions, amp_dtype, fold_batchnorm, prepare_for_inference
from colorkit.testing import TINY_ARGS, tiny_spec


def _trained_stats(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm non-trivial statistics and affine parameters, as after training."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.5)
            m.running_var.copy_(torch.rand(n, generator=g) * 2 + 0.1)
            m.weight.data.copy_(torch.randn(n, generator=g))
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.5)
    return model.eval()


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal to 1e-4 of the output's scale (deep nets with random statistics reach outputs of ~100)."""
    return float((a - b).abs().max()) <= 1e-4 * max(1.0, float(b.abs().max()))


def _count(model: nn.Module, kind=nn.BatchNorm2d) -> int:
    return sum(isinstance(m, kind) for m in model.modules())


@pytest.mark.parametrize("name,args", [
    *TINY_ARGS.items(),
    ("smp_unet", {"encoder_depth": 3}),
])
def test_folding_keeps_the_output(name, args, builtin_host):
    torch.manual_seed(0)
    model = _trained_stats(builtin_host.models.build(name, in_channels=1, out_channels=2, **args))
    x = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        before = model(x)
    norms = _count(model)
    folded = fold_batchnorm(model, x[:1])
    assert folded > 0 and _count(model) == norms - folded
    with torch.no_grad():
        after = model(x)
    assert _same(after, before)


def test_batchnorm_after_an_inplace_relu_is_not_folded(builtin_host):
    """eccv16 puts BatchNorm after ReLU(inplace=True): the ReLU returns the conv's own tensor, changed."""
    model = _trained_stats(builtin_host.models.build("eccv16", in_channels=1, out_channels=2, width=4))
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        before = model(x)
        assert fold_batchnorm(model, x) == 0
        assert torch.equal(model(x), before)


class SharedOutput(nn.Module):
    """A conv output that feeds a BatchNorm and is used again: folding would change the second use."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4)

    def forward(self, x):
        y = self.conv(x)
        return self.bn(y) + y


def test_folding_is_undone_when_the_output_changes():
    model = _trained_stats(SharedOutput())
    x = torch.randn(1, 1, 16, 16)
    with torch.no_grad():
        before = model(x)
        assert fold_batchnorm(model, x) == 0
        assert isinstance(model.bn, nn.BatchNorm2d) and torch.equal(model(x), before)


def test_folding_needs_eval_mode():
    with pytest.raises(ValueError, match="eval mode"):
        fold_batchnorm(SharedOutput().train(), torch.randn(1, 1, 8, 8))


def test_prepare_for_inference_channels_last_keeps_the_output(builtin_host):
    torch.manual_seed(0)
    model = _trained_stats(builtin_host.models.build("cunet", in_channels=1, out_channels=2, **TINY_ARGS["cunet"]))
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        before = model(x)
    fast = prepare_for_inference(model.train(), x[:1], FastOptions(fold_bn=True, channels_last=True))
    assert not fast.training and _count(fast) == 0
    conv = next(m for m in fast.modules() if isinstance(m, nn.Conv2d) and m.in_channels > 1)
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        assert _same(fast(x), before)


def test_amp_choices():
    cpu = torch.device("cpu")
    assert amp_dtype(None, cpu) is None and amp_dtype("bf16", cpu) == torch.bfloat16
    with pytest.raises(ValueError, match="needs CUDA"):
        amp_dtype("fp16", cpu)
    with pytest.raises(ValueError, match="bf16"):
        amp_dtype("int8", cpu)


def test_colorizer_load_folds_and_keeps_the_colours(tmp_path, builtin_host):
    from colorkit.checkpoint import save_checkpoint
    from colorkit.inference.colorizer import Colorizer

    spec = tiny_spec("cunet")
    torch.manual_seed(0)
    model = _trained_stats(builtin_host.models.build("cunet", in_channels=1, out_channels=2, **spec["args"]))
    path = tmp_path / "tiny.safetensors"
    save_checkpoint(path, modules={"model": model}, meta={"model": spec, "decoder": None, "size": 32})
    fast = Colorizer.load(path, device="cpu", host=builtin_host)
    plain = Colorizer.load(path, device="cpu", host=builtin_host, fast=None)
    assert _count(fast.model) == 0 and _count(plain.model) == _count(model) > 0
    rgbs = [np.random.default_rng(i).integers(0, 256, (40, 48, 3), dtype=np.uint8) for i in range(2)]
    assert _same(fast.predict_many(rgbs), plain.predict_many(rgbs))


def test_bf16_autocast_wrapper_returns_float32_close_to_float32(builtin_host):
    torch.manual_seed(0)
    model = _trained_stats(builtin_host.models.build("unet", in_channels=1, out_channels=2, **TINY_ARGS["unet"]))
    x = torch.randn(2, 1, 32, 32)
    with torch.inference_mode():
        before = model(x)
        fast = prepare_for_inference(model, x[:1], FastOptions(amp="bf16"))
        after = fast(x)
    assert after.dtype == torch.float32 and after.shape == before.shape
    assert float((after - before).abs().max()) <= 0.05 * float(before.abs().max())
    assert not _same(after, before)  # it did run in bfloat16
