"""LAB conversion (kornia) against scikit-image, round trips, gray pixels, normalization inverses."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from skimage import data as skdata
from skimage.color import lab2rgb as sk_lab2rgb
from skimage.color import rgb2lab as sk_rgb2lab

from colorkit.data import lab as L

# Tolerances, in raw LAB units (L in 0..100, a/b about +-110) and RGB in [0, 1].
LAB_TOL_F32 = 2e-3  # kornia in float32 vs scikit-image in float64 (measured: about 1e-4)
LAB_TOL_F64 = 1e-8  # the same computation in float64 (measured: about 1e-13)
RGB_TOL_F32 = 1e-5  # lab_to_rgb in float32 vs lab2rgb (measured: about 1e-6)
RGB_TOL_F64 = 1e-10


def to_batch(img: np.ndarray, dtype=torch.float32) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].to(dtype)


def from_batch(t: torch.Tensor) -> np.ndarray:
    return t[0].permute(1, 2, 0).double().numpy()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    img = skdata.astronaut()[::4, ::4]  # 128x128, real photographic pixels
    return img.astype(np.float64) / 255.0


@pytest.fixture(scope="module")
def random_rgb() -> np.ndarray:
    rng = np.random.default_rng(0)
    img = rng.random((32, 48, 3))
    img[0, :8] = [[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]]
    return img


@pytest.mark.parametrize("which", ["random_rgb", "astronaut"])
def test_rgb_to_lab_matches_skimage_float32(which, request):
    rgb = request.getfixturevalue(which)
    ours = from_batch(L.rgb_to_lab(to_batch(rgb)))
    assert np.abs(ours - sk_rgb2lab(rgb)).max() < LAB_TOL_F32


@pytest.mark.parametrize("which", ["random_rgb", "astronaut"])
def test_rgb_to_lab_matches_skimage_float64(which, request):
    rgb = request.getfixturevalue(which)
    ours = from_batch(L.rgb_to_lab(to_batch(rgb, torch.float64)))
    assert np.abs(ours - sk_rgb2lab(rgb)).max() < LAB_TOL_F64


@pytest.mark.parametrize("which", ["random_rgb", "astronaut"])
def test_lab_to_rgb_matches_skimage(which, request):
    lab = sk_rgb2lab(request.getfixturevalue(which))
    expected = sk_lab2rgb(lab)
    assert np.abs(from_batch(L.lab_to_rgb(to_batch(lab))) - expected).max() < RGB_TOL_F32
    assert np.abs(from_batch(L.lab_to_rgb(to_batch(lab, torch.float64))) - expected).max() < RGB_TOL_F64


def test_lab_to_rgb_out_of_gamut_is_clamped_like_skimage():
    rng = np.random.default_rng(1)
    lab = np.stack(
        [rng.uniform(0, 100, (16, 16)), rng.uniform(-128, 127, (16, 16)), rng.uniform(-128, 127, (16, 16))], -1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skimage warns about negative Z, which both clamp to 0
        expected = sk_lab2rgb(lab)
    ours = from_batch(L.lab_to_rgb(to_batch(lab, torch.float64)))
    assert ours.min() >= 0.0 and ours.max() <= 1.0
    assert np.abs(ours - expected).max() < RGB_TOL_F64
    raw = from_batch(L.lab_to_rgb(to_batch(lab, torch.float64), clip=False))
    assert raw.min() < 0.0 or raw.max() > 1.0


def test_round_trip(random_rgb, astronaut):
    for rgb in (random_rgb, astronaut):
        t = to_batch(rgb)
        back = L.lab_to_rgb(L.rgb_to_lab(t))
        assert (back - t).abs().max().item() < 1e-4


def test_batched_and_leading_dims():
    rgb = torch.rand(3, 3, 8, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    lab = L.rgb_to_lab(rgb)
    assert lab.shape == rgb.shape
    for i in range(3):
        assert torch.allclose(L.rgb_to_lab(rgb[i : i + 1]), lab[i : i + 1], atol=1e-9)
        assert torch.allclose(L.rgb_to_lab(rgb[i : i + 1].float()).double(), lab[i : i + 1], atol=1e-3)
    assert L.rgb_to_lab(torch.rand(2, 5, 3, 4, 4)).shape == (2, 5, 3, 4, 4)
    with pytest.raises(ValueError, match=r"\(\*, 3, H, W\)"):
        L.rgb_to_lab(torch.rand(2, 4, 8, 8))
    with pytest.raises(TypeError):
        L.rgb_to_lab(np.zeros((1, 3, 4, 4)))


def test_gray_pixels_have_zero_ab():
    # Not exactly 0: the D65 white (0.95047, 1, 1.08883) is rounded differently from the rows of the
    # sRGB -> XYZ matrix, so gray comes out at |a|, |b| < 0.005 LAB units, in scikit-image as well.
    levels = torch.linspace(0, 1, 21, dtype=torch.float64)
    rgb = levels.view(1, 1, 1, -1).expand(1, 3, 1, -1)
    lab = L.rgb_to_lab(rgb)
    assert lab[:, 1:].abs().max().item() < 0.01
    assert np.abs(lab[0, 1:, 0].T.numpy() - sk_rgb2lab(np.repeat(levels.numpy()[:, None], 3, 1))[:, 1:]).max() < 1e-9
    assert lab[0, 0, 0, 0].item() == pytest.approx(0.0, abs=1e-9)
    assert lab[0, 0, 0, -1].item() == pytest.approx(100.0, abs=1e-6)
    # and back: ab = 0 gives R = G = B (to 5e-5, for the same reason)
    zero_ab = torch.cat([lab[:, :1], torch.zeros_like(lab[:, 1:])], 1)
    back = L.lab_to_rgb(zero_ab)
    assert (back - back[:, :1]).abs().max().item() < 5e-5
    # float32 too
    lab32 = L.rgb_to_lab(rgb.float())
    assert lab32[:, 1:].abs().max().item() < 0.01


def test_normalization_inverses_and_ranges():
    Lraw = torch.tensor([0.0, 25.0, 50.0, 100.0])
    assert torch.allclose(L.normalize_l(Lraw), torch.tensor([-1.0, -0.5, 0.0, 1.0]))
    assert torch.allclose(L.denormalize_l(L.normalize_l(Lraw)), Lraw)
    ab = torch.tensor([-110.0, -55.0, 0.0, 11.0, 110.0])
    assert torch.allclose(L.normalize_ab(ab), ab / L.AB_SCALE)
    assert torch.allclose(L.denormalize_ab(L.normalize_ab(ab)), ab)
    x = torch.randn(100, dtype=torch.float64)
    assert torch.allclose(L.normalize_l(L.denormalize_l(x)), x)
    assert torch.allclose(L.normalize_ab(L.denormalize_ab(x)), x)


def test_ab_scale_covers_the_srgb_gamut():
    g = torch.linspace(0, 1, 33, dtype=torch.float64)
    cube = torch.stack(torch.meshgrid(g, g, g, indexing="ij")).reshape(1, 3, 1, -1)
    ab = L.normalize_ab(L.rgb_to_lab(cube)[:, 1:])
    assert ab.abs().max().item() <= 1.0
    assert ab.abs().max().item() > 0.95  # and does not waste much of [-1, 1]


def test_rgb_to_model_io(astronaut):
    rgb = to_batch(astronaut).repeat(2, 1, 1, 1)
    l_norm, ab_norm = L.rgb_to_model_io(rgb)
    assert l_norm.shape == (2, 1, 128, 128) and ab_norm.shape == (2, 2, 128, 128)
    assert l_norm.min() >= -1.0 and l_norm.max() <= 1.0
    assert ab_norm.abs().max() <= 1.0
    lab = sk_rgb2lab(astronaut)
    assert np.abs(from_batch(l_norm) - (lab[..., :1] / 50 - 1)).max() < LAB_TOL_F32 / 50
    assert np.abs(from_batch(ab_norm) - lab[..., 1:] / L.AB_SCALE).max() < LAB_TOL_F32 / 100
    back = L.model_io_to_rgb(l_norm, ab_norm)
    assert (back - rgb).abs().max().item() < 1e-4


def test_join_lab_reassembles_and_upsamples(astronaut):
    rgb = to_batch(astronaut)
    lab = L.rgb_to_lab(rgb)
    assert (L.join_lab(lab[:, :1], lab[:, 1:]) - rgb).abs().max().item() < 1e-4
    # constant ab at low resolution, upsampled onto full-resolution L
    ab_small = torch.tensor([12.8, 15.5]).view(1, 2, 1, 1).expand(1, 2, 8, 8)
    out = L.join_lab(lab[:, :1], ab_small)
    assert out.shape == rgb.shape
    expected = L.lab_to_rgb(torch.cat([lab[:, :1], ab_small[..., :1, :1].expand(1, 2, 128, 128)], 1))
    assert torch.allclose(out, expected, atol=1e-6)
    # the L of the result is the input's L wherever the colour is inside the gamut
    out_lab = L.rgb_to_lab(out)
    inside = ((out > 1e-3) & (out < 1 - 1e-3)).all(1, keepdim=True)
    assert (out_lab[:, :1] - lab[:, :1])[inside].abs().max().item() < 1e-2
    with pytest.raises(ValueError):
        L.join_lab(lab[:, 1:], lab[:, 1:])
    with pytest.raises(ValueError, match="batch"):
        L.join_lab(lab[:, :1], torch.zeros(2, 2, 128, 128))


def test_numpy_helpers(astronaut):
    u8 = skdata.astronaut()[::8, ::8]
    assert np.abs(L.rgb_to_lab_np(u8) - sk_rgb2lab(u8)).max() < LAB_TOL_F64
    assert np.abs(L.rgb_to_lab_np(astronaut) - sk_rgb2lab(astronaut)).max() < LAB_TOL_F64
    lab = sk_rgb2lab(astronaut)
    assert np.abs(L.lab_to_rgb_np(lab) - sk_lab2rgb(lab)).max() < RGB_TOL_F64
    rgb = L.join_lab_np(lab[..., 0], lab[..., 1:])
    assert np.abs(rgb - astronaut).max() < 1e-9
    gray = L.join_lab_np(lab[..., 0], (0.0, 0.0))
    assert np.abs(gray - gray[..., :1]).max() < 5e-5
    assert L.to_float_rgb(np.full((2, 2, 3), 255, np.uint8)).max() == 1.0
    with pytest.raises(ValueError):
        L.to_float_rgb(np.zeros((4, 4)))
    with pytest.raises(TypeError):
        L.to_float_rgb(np.zeros((4, 4, 3), dtype=np.int64))
