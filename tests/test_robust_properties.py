"""Property and fuzz tests (hypothesis): LAB round trips, colorize keeps size and lightness, every
registered loss is finite and non-negative, and the image loader survives mutated JPEG and PNG bytes
with no error other than ImageError."""

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from colorkit.build import build_model
from colorkit.data.images import open_image
from colorkit.data.lab import lab_to_rgb, lab_to_rgb_np, rgb_to_lab, rgb_to_lab_np
from colorkit.errors import ColorkitError, ImageError
from colorkit.inference.colorizer import Colorizer
from colorkit.plugins import create_host
from colorkit.testing import tiny_spec

FAST = settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def images(max_side: int = 24, dtype=np.uint8):
    shapes = st.tuples(st.integers(1, max_side), st.integers(1, max_side), st.just(3))
    if dtype == np.uint8:
        return arrays(np.uint8, shapes)
    return arrays(np.float64, shapes, elements=st.floats(0.0, 1.0, allow_nan=False))


# --- LAB --------------------------------------------------------------------------------------------------


@FAST
@given(images(dtype=np.float64))
def test_lab_round_trip_float64(rgb):
    lab = rgb_to_lab_np(rgb)
    assert np.isfinite(lab).all() and (lab[..., 0] >= -1e-9).all() and (lab[..., 0] <= 100 + 1e-9).all()
    assert np.abs(lab_to_rgb_np(lab) - rgb).max() < 1e-9


@FAST
@given(images())
def test_lab_round_trip_uint8_and_float32(rgb):
    back = np.clip(lab_to_rgb_np(rgb_to_lab_np(rgb)) * 255 + 0.5, 0, 255).astype(np.uint8)
    assert np.array_equal(back, rgb)  # exact after rounding
    t = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
    assert (lab_to_rgb(rgb_to_lab(t)) - t).abs().max() < 1e-4


# --- colorize ---------------------------------------------------------------------------------------------

_colorizers: dict[float, Colorizer] = {}


def colorizer(ab_scale: float) -> Colorizer:
    """An untrained tiny CU-net (its ab output scaled by ``ab_scale``): properties hold for any weights."""
    if ab_scale not in _colorizers:
        torch.manual_seed(0)
        _colorizers[ab_scale] = Colorizer(build_model(tiny_spec("cunet"), create_host(entry_points=False)), lambda out: out * ab_scale, 32, torch.device("cpu"))
    return _colorizers[ab_scale]


@settings(max_examples=30, deadline=None, database=None)
@given(rgb=images(max_side=48), gray=st.booleans(), ab_scale=st.sampled_from([0.05, 1.0]))
def test_colorize_keeps_size_and_lightness(rgb, gray, ab_scale):
    """Same size; L unchanged (up to 8-bit rounding) wherever the new colour is inside the sRGB gamut.
    Out-of-gamut colours are clamped per channel (so a channel sits at 0 or 255), which moves L."""
    if gray:
        rgb = np.repeat(rgb[..., :1], 3, axis=-1)
    out = colorizer(ab_scale).colorize(rgb)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    inside = ((out > 0) & (out < 255)).all(-1)
    dl = np.abs(rgb_to_lab_np(out)[..., 0] - rgb_to_lab_np(rgb)[..., 0])
    assert (dl[inside] <= 0.5).all()


# --- losses -------------------------------------------------------------------------------------------------


def check_loss_is_finite_and_non_negative(loss, name: str) -> None:
    @settings(max_examples=12, deadline=None, database=None)
    @given(
        batch=st.integers(1, 2),
        side=st.sampled_from([24, 32]),  # the smallest a patch discriminator accepts is 24
        scale=st.sampled_from([0.0, 0.01, 1.0, 5.0]),
        same=st.booleans(),
        seed=st.integers(0, 2**16),
    )
    def check(batch, side, scale, same, seed):
        g = torch.Generator().manual_seed(seed)
        target = (torch.rand(batch, 2, side, side, generator=g) * 2 - 1).clamp(-1, 1)
        pred = (torch.randn(batch, loss.out_channels, side, side, generator=g) * scale).requires_grad_()
        if same and loss.out_channels == 2:  # a perfect prediction
            pred = target.clone().requires_grad_()
        L = torch.rand(batch, 1, side, side, generator=g) * 2 - 1
        terms = loss(pred, target, L=L)
        for key, value in terms.items():
            assert torch.isfinite(value).all(), (name, key, value)
            assert (value >= -1e-6).all(), (name, key, float(value))
        sum(terms.values()).backward()
        assert pred.grad is None or torch.isfinite(pred.grad).all()

    check()


def test_every_loss_is_finite_and_non_negative_on_random_input(builtin_loss, builtin_host):
    check_loss_is_finite_and_non_negative(builtin_host.losses.build(builtin_loss), builtin_loss)


def test_every_installed_plugin_loss_is_finite_and_non_negative(colorkit_host, builtin_host):
    for name in colorkit_host.losses.names():
        if name not in builtin_host.losses:
            check_loss_is_finite_and_non_negative(colorkit_host.losses.build(name), name)


# --- fuzzing the image loader ------------------------------------------------------------------------------


def _seeds() -> list[bytes]:
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    out = []
    for img, fmt, options in [
        (photo, "JPEG", {}),
        (photo, "JPEG", {"progressive": True}),
        (photo.convert("L"), "JPEG", {}),
        (photo, "PNG", {}),
        (photo.convert("P"), "PNG", {"transparency": 0}),
        (photo.convert("LA"), "PNG", {}),
    ]:
        buf = io.BytesIO()
        img.save(buf, format=fmt, **options)
        out.append(buf.getvalue())
    return out


SEEDS = _seeds()
MUTATION = st.tuples(st.sampled_from(["set", "insert", "delete", "truncate", "splice"]), st.integers(0, 10**6), st.binary(min_size=1, max_size=8))


def mutate(data: bytes, mutations) -> bytes:
    out = bytearray(data)
    for kind, where, chunk in mutations:
        if not out:
            break
        i = where % len(out)
        if kind == "set":
            out[i : i + len(chunk)] = chunk[: len(out) - i]
        elif kind == "insert":
            out[i:i] = chunk
        elif kind == "delete":
            del out[i : i + len(chunk)]
        elif kind == "truncate":
            del out[i:]
        else:  # copy a piece of the file elsewhere (marker and length confusion)
            j = (where // 7) % len(out)
            out[i : i + len(chunk)] = out[j : j + len(chunk)]
    return bytes(out)


@pytest.fixture(scope="module")
def fuzz_dir():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


@settings(max_examples=1500, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(range(len(SEEDS))), mutations=st.lists(MUTATION, min_size=1, max_size=6), draft=st.sampled_from([None, 16]))
def test_fuzzed_jpeg_and_png_bytes_give_an_image_or_image_error(fuzz_dir, seed, mutations, draft):
    path = fuzz_dir / ("fuzz.jpg" if SEEDS[seed][:2] == b"\xff\xd8" else "fuzz.png")
    path.write_bytes(mutate(SEEDS[seed], mutations))
    try:
        img = open_image(path, draft_size=draft)
    except ImageError as exc:
        assert str(path) in str(exc) and exc.reason
        return
    except ColorkitError as exc:  # pragma: no cover - any other error is a bug to fix in open_image
        pytest.fail(f"unexpected {type(exc).__name__}: {exc}")
    assert img.mode == "RGB" and img.width >= 1 and img.height >= 1
    assert np.asarray(img).shape == (img.height, img.width, 3)
