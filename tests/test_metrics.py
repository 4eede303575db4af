"""Metrics against values worked out by hand on tiny images, and their registration through the hook."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage import data as skdata
from skimage.color import lab2rgb as sk_lab2rgb
from skimage.color import rgb2lab as sk_rgb2lab

from colorkit import metrics as M
from colorkit.plugins import create_host

C1, C2 = (0.01 * 1.0) ** 2, (0.03 * 1.0) ** 2  # SSIM constants for data_range 1


# ------------------------------------------------------------------------------------------ PSNR


def test_psnr_by_hand():
    true = np.zeros((2, 2, 3))
    pred = true.copy()
    pred[0, 0, 0] = 0.5  # one of 12 values off by 0.5: MSE = 0.25 / 12
    assert M.psnr(pred, true) == pytest.approx(10 * math.log10(1 / (0.25 / 12)))  # = 10 log10(48)
    pred = np.full((2, 2, 3), 0.1)  # every value off by 0.1: MSE = 0.01 -> 20 dB
    assert M.psnr(pred, true) == pytest.approx(20.0)


def test_psnr_identical_is_inf():
    img = np.random.default_rng(0).random((4, 4, 3))
    assert M.psnr(img, img.copy()) == math.inf


def test_psnr_accepts_uint8_and_checks_shapes():
    a = np.zeros((2, 2, 3), np.uint8)
    b = np.full((2, 2, 3), 51, np.uint8)  # 51 / 255 = 0.2 -> MSE 0.04
    assert M.psnr(b, a) == pytest.approx(10 * math.log10(1 / 0.04))
    with pytest.raises(ValueError, match="shape"):
        M.psnr(np.zeros((2, 2, 3)), np.zeros((2, 3, 3)))


# ------------------------------------------------------------------------------------------ SSIM


def test_ssim_constant_images_by_hand():
    a, b = 0.2, 0.6
    pred, true = np.full((7, 7, 3), a), np.full((7, 7, 3), b)
    # no variance: SSIM = (2ab + C1) / (a^2 + b^2 + C1) * (C2 / C2)
    assert M.ssim(pred, true) == pytest.approx((2 * a * b + C1) / (a**2 + b**2 + C1))


def test_ssim_on_one_window_by_hand():
    # On a 7x7 image the 7x7 window fits once (scikit-image crops the border), so SSIM is the global
    # formula with sample (n - 1) statistics, averaged over the channels.
    rng = np.random.default_rng(3)
    x, y = rng.random((7, 7, 3)), rng.random((7, 7, 3))
    expected = []
    for c in range(3):
        xc, yc = x[..., c].ravel(), y[..., c].ravel()
        mx, my = xc.mean(), yc.mean()
        vx, vy = xc.var(ddof=1), yc.var(ddof=1)
        cxy = ((xc - mx) * (yc - my)).sum() / (49 - 1)
        expected.append((2 * mx * my + C1) * (2 * cxy + C2) / ((mx**2 + my**2 + C1) * (vx + vy + C2)))
    assert M.ssim(x, y) == pytest.approx(np.mean(expected), rel=1e-9)
    assert M.ssim(x, x) == pytest.approx(1.0)


def test_ssim_rejects_images_smaller_than_the_window():
    with pytest.raises(ValueError, match="7x7"):
        M.ssim(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)))


# ---------------------------------------------------------------------------------------- ab-MSE


def test_ab_mse_lab_by_hand():
    true = np.zeros((2, 2, 2))
    pred = np.zeros((2, 2, 2))
    pred[0, 0] = (3.0, 4.0)  # one pixel: da^2 + db^2 = 25; mean over 4 pixels of (da^2 + db^2) / 2
    assert M.ab_mse_lab(pred, true) == pytest.approx(25 / 2 / 4)
    assert M.ab_mse_lab(np.array([12.8, 15.5]), true) == pytest.approx((12.8**2 + 15.5**2) / 2)


def test_ab_mse_from_rgb_by_hand():
    true_lab = np.array([[[50.0, 20.0, -10.0], [60.0, 0.0, 30.0]]])  # in gamut
    true = sk_lab2rgb(true_lab)
    gray = sk_lab2rgb(true_lab * [1, 0, 0])
    # pixel 1: 20^2 + 10^2 = 500; pixel 2: 30^2 = 900; mean over 2 pixels of half of each
    assert M.ab_mse(gray, true) == pytest.approx((500 / 2 + 900 / 2) / 2, abs=1e-6)
    assert M.ab_mse(true, true) == pytest.approx(0.0, abs=1e-12)


def test_ab_mse_uses_the_given_ab_before_the_gamut_clamp():
    true_lab = np.array([[[50.0, 20.0, -10.0], [60.0, 0.0, 30.0]]])
    true = sk_lab2rgb(true_lab)
    pred_ab = np.array([[[100.0, 100.0], [0.0, 30.0]]])  # pixel 1 is far outside the sRGB gamut
    pred = sk_lab2rgb(np.concatenate([true_lab[..., :1], pred_ab], -1))
    by_hand = ((80**2 + 110**2) / 2 + 0) / 2
    assert M.ab_mse(pred, true, pred_ab=pred_ab) == pytest.approx(by_hand, rel=1e-9)
    assert M.ab_mse(pred, true, pred_ab=pred_ab, true_ab=true_lab[..., 1:]) == pytest.approx(by_hand)
    assert M.ab_mse(pred, true) < by_hand  # the clamped colour has less chroma than was asked for


# --------------------------------------------------------------------------------- colourfulness


def test_colorfulness_of_gray_is_zero():
    levels = np.linspace(0, 1, 12).reshape(3, 4, 1)
    assert M.colorfulness(np.repeat(levels, 3, axis=2)) == 0.0


def test_colorfulness_two_pixels_by_hand():
    img = np.array([[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])  # pure red, pure blue
    # on 0-255: rg = (255, 0), yb = (127.5, -255)
    # std(rg) = 127.5, std(yb) = 191.25 (population); mean(rg) = 127.5, mean(yb) = -63.75
    expected = math.sqrt(127.5**2 + 191.25**2) + 0.3 * math.sqrt(127.5**2 + 63.75**2)
    assert M.colorfulness(img) == pytest.approx(expected)


def test_colorfulness_uniform_colour_by_hand():
    img = np.zeros((3, 3, 3))
    img[..., 0] = 1.0  # red everywhere: no spread, rg = 255, yb = 127.5
    assert M.colorfulness(img) == pytest.approx(0.3 * math.sqrt(255**2 + 127.5**2))


def test_colorfulness_gap_and_prediction_colorfulness():
    true = np.array([[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    gray = np.full_like(true, 0.5)
    assert M.colorfulness_gap(gray, true) == pytest.approx(-M.colorfulness(true))
    assert M.colorfulness_gap(true, gray) == pytest.approx(M.colorfulness(true))
    assert M.colorfulness_gap(true, true) == 0.0
    assert M.prediction_colorfulness(true, gray) == M.colorfulness(true)


# ---------------------------------------------------------------------------------- the protocol


def test_score_prediction_follows_the_protocol():
    true = skdata.astronaut()[::16, ::16]  # 32x32 uint8
    lab = sk_rgb2lab(true)
    gray = M.score_prediction(true, (0.0, 0.0))
    assert set(gray) == set(M.METRIC_NAMES)
    assert gray["ab_mse"] == pytest.approx(np.mean(lab[..., 1] ** 2 + lab[..., 2] ** 2) / 2, rel=1e-9)
    # ab = 0 is gray to 5e-5 (see test_lab.py::test_gray_pixels_have_zero_ab): colourfulness < 0.01
    assert gray["colorfulness"] == pytest.approx(0.0, abs=0.01)
    assert gray["colorfulness_gap"] == pytest.approx(-M.colorfulness(true), abs=0.01)
    expected_pred = sk_lab2rgb(lab * [1, 0, 0])
    assert gray["psnr"] == pytest.approx(M.psnr(expected_pred, true / 255.0), rel=1e-9)
    assert np.abs(M.protocol_prediction(true, (0.0, 0.0)) - expected_pred).max() < 1e-9
    perfect = M.score_prediction(true, lab[..., 1:])
    assert perfect["psnr"] > 100 and perfect["ssim"] == pytest.approx(1.0)
    assert perfect["ab_mse"] == pytest.approx(0.0, abs=1e-12)


# ------------------------------------------------------------------------------------- registry


def test_metrics_are_registered_through_the_hook():
    host = create_host(entry_points=False)
    names = host.metrics.names()
    for name in M.METRIC_NAMES:
        assert name in names
        assert host.metrics.get(name).plugin == "colorkit.metrics"
        assert host.metrics.get(name).doc
    info = {p.name: p for p in host.plugins}["colorkit.metrics"]
    assert not info.errors
    true = np.array([[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    gray = np.full_like(true, 0.5)
    assert host.metrics.get("colorfulness").factory(true, gray) == M.colorfulness(true)
    assert host.metrics.get("colorfulness_gap").factory(gray, true) == pytest.approx(-M.colorfulness(true))
    assert host.metrics.get("psnr").factory(true, true) == math.inf


def test_ssim_matches_scikit_image_exactly():
    from skimage.data import astronaut
    from skimage.metrics import structural_similarity

    from colorkit.metrics import ssim

    rng = np.random.default_rng(0)
    true = astronaut()[100:164, 150:230] / 255.0
    for pred in (np.clip(true + rng.normal(0, 0.05, true.shape), 0, 1), rng.uniform(0, 1, true.shape), true[..., ::-1]):
        expected = structural_similarity(true, pred, channel_axis=2, data_range=1.0)
        assert ssim(pred, true) == pytest.approx(expected, abs=1e-12)
