"""Evaluation metrics, registered through ``colorkit_register_metrics`` like a third-party plugin's.

The protocol these reproduce (``../shared/data/utkface/README.md``, the reference table): each
photo is resized to 256x256 (bicubic); the prediction keeps the photo's true L and replaces ab; the
metrics are computed per image and averaged over images.

- ``psnr`` and ``ssim``: as scikit-image computes them on sRGB in [0, 1] (``data_range=1``, ``channel_axis=2``, the
  default 7x7 uniform window). Identical images have PSNR ``inf`` (not an error, not a large
  finite number), so a mean over images that includes a perfect one is ``inf`` too.
- ``ab_mse``: mean over pixels of ``(da**2 + db**2) / 2``, i.e. the mean squared error over both ab
  channels, in raw LAB units. This (not the sum ``da**2 + db**2``, which doubles it) reproduces the
  reference table: 326.0 for ab = 0 and 108.1 for the constant tint. The reference measures the ab
  the prediction *specifies*, before the gamut clamp of LAB -> sRGB; the ab recomputed from the
  clamped RGB is smaller for out-of-gamut predictions (103.0 instead of 108.1 for the tint). So pass
  the predicted ab as ``pred_ab=`` when you have it (:func:`score_prediction` does); without it the
  ab of ``pred`` itself is used.
- ``colorfulness``: Hasler and Suesstrunk (2003) on 0-255 sRGB: ``rg = R - G``,
  ``yb = (R + G) / 2 - B``, ``sigma_rgyb + 0.3 * mu_rgyb`` with
  ``sigma_rgyb = sqrt(std(rg)**2 + std(yb)**2)`` (population std) and
  ``mu_rgyb = sqrt(mean(rg)**2 + mean(yb)**2)``. A gray image scores 0.
- ``colorfulness_gap``: colourfulness of the prediction minus that of the truth (negative: too dull).
- ``lpips`` (only where its weights are already on this machine): LPIPS distance (Zhang et al.
  2018, AlexNet trunk, v0.1) between prediction and truth; lower is closer. The ``lpips`` package
  ships its calibrated layers, but the AlexNet trunk is torchvision's ImageNet checkpoint in the
  torch hub cache (``$TORCH_HOME/hub/checkpoints``). The metric is registered only when that file
  is there (a file check, never a download); building any ``lpips.LPIPS(net="alex")`` once online
  fetches it.

Registered metrics follow the hook's signature ``fn(pred_rgb, true_rgb) -> float`` with
``(H, W, 3)`` arrays in [0, 1] (uint8 is accepted too and divided by 255). Each carries its
:class:`~colorkit.metric_info.MetricInfo` (which value is best, unit, format, plotted or not), which
the ``colorkit compare`` report reads; :data:`BUILTIN_METRICS` names them all.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from colorkit.data.lab import join_lab_np, rgb_to_lab_np, to_float_rgb
from colorkit.hookspecs import hookimpl
from colorkit.metric_info import metric

__all__ = [
    "psnr",
    "psnr_batch",
    "ssim",
    "ab_mse",
    "ab_mse_lab",
    "colorfulness",
    "colorfulness_gap",
    "masked_ab_error",
    "prediction_colorfulness",
    "protocol_prediction",
    "score_prediction",
    "lpips_distance",
    "lpips_weights_available",
    "METRIC_NAMES",
    "BUILTIN_METRICS",
]

METRIC_NAMES = ("psnr", "ssim", "ab_mse", "colorfulness", "colorfulness_gap")
"""The built-in metrics, in the order reports show them."""


def _pair(pred: np.ndarray, true: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    p, t = to_float_rgb(pred), to_float_rgb(true)
    if p.shape != t.shape:
        raise ValueError(f"{what}: prediction {p.shape} and truth {t.shape} differ in shape")
    return p, t


def psnr_batch(pred: torch.Tensor, true: torch.Tensor, min_mse: float = 0.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB of each image of two ``(N, C, H, W)`` batches in [0, 1]:
    ``10 log10(1 / MSE)``, the MSE floored at ``min_mse`` (validation floors it at 1e-10: 100 dB).
    The one PSNR formula: :func:`psnr` and the trainer's validation both use it."""
    mse = (pred - true).pow(2).mean(dim=(1, 2, 3)).clamp_min(min_mse)
    return 10 * torch.log10(1 / mse)


@metric(better="high", unit="dB", fmt=".2f", label="PSNR", header="PSNR dB", plot=True, perfect=math.inf)
def psnr(pred: np.ndarray, true: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB on sRGB in [0, 1] (:func:`psnr_batch` in float64, as
    scikit-image's ``data_range=1``); ``inf`` for identical images."""
    p, t = _pair(pred, true, "psnr")
    if np.array_equal(p, t):
        return math.inf
    batch = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float64)).movedim(-1, 0)[None]  # noqa: E731
    return float(psnr_batch(batch(p), batch(t)))


@metric(better="high", fmt=".4f", label="SSIM", plot=True, plot_fmt=".3f", perfect=1.0)
def ssim(pred: np.ndarray, true: np.ndarray) -> float:
    """Structural similarity on sRGB in [0, 1]: scikit-image's default SSIM, computed with torch.

    scikit-image (7x7 uniform window, sample covariance, K1 = 0.01, K2 = 0.03, data_range 1, the
    3-pixel border cropped, mean over the channels) gives the reference protocol's numbers; the
    cropped border means only windows inside the image count, so ``avg_pool2d`` without padding
    reproduces it exactly (to float64 rounding; tests compare them) at a fraction of the time.
    """
    p, t = _pair(pred, true, "ssim")
    if min(p.shape[:2]) < 7:
        raise ValueError(f"ssim: images must be at least 7x7 (the window), got {p.shape[0]}x{p.shape[1]}")
    x = torch.from_numpy(np.ascontiguousarray(t.transpose(2, 0, 1)))[None]
    y = torch.from_numpy(np.ascontiguousarray(p.transpose(2, 0, 1)))[None]
    win, n = 7, 49
    mean = lambda z: F.avg_pool2d(z, win, stride=1)  # noqa: E731
    ux, uy = mean(x), mean(y)
    cov = n / (n - 1)
    vx, vy, vxy = cov * (mean(x * x) - ux * ux), cov * (mean(y * y) - uy * uy), cov * (mean(x * y) - ux * uy)
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return float(s.mean(dim=(2, 3)).mean())


def ab_mse_lab(pred_ab: np.ndarray, true_ab: np.ndarray) -> float:
    """Mean squared ab error in LAB units of two raw ab arrays ``(..., 2)``: mean of ``(da**2 + db**2) / 2``."""
    p = np.asarray(pred_ab, dtype=np.float64)
    t = np.asarray(true_ab, dtype=np.float64)
    if t.shape[-1] != 2:
        raise ValueError(f"ab_mse: expected ab arrays of shape (..., 2), got {t.shape}")
    p = np.broadcast_to(p, t.shape)
    return float(np.mean((p - t) ** 2))


@metric(better="low", unit="LAB units\u00b2", fmt=".2f", label="ab-MSE", plot=True, plot_fmt=".1f", perfect=0.0)
def ab_mse(
    pred: np.ndarray,
    true: np.ndarray,
    *,
    pred_ab: np.ndarray | None = None,
    true_ab: np.ndarray | None = None,
) -> float:
    """Mean squared ab error in LAB units, mean over pixels of ``(da**2 + db**2) / 2``.

    ``pred_ab`` / ``true_ab`` (raw LAB, ``(H, W, 2)``) replace the ab derived from ``pred`` /
    ``true``: give the predicted ab to score it before the gamut clamp, as the reference protocol does.
    """
    p, t = _pair(pred, true, "ab_mse")
    if pred_ab is None:
        pred_ab = rgb_to_lab_np(p)[..., 1:]
    if true_ab is None:
        true_ab = rgb_to_lab_np(t)[..., 1:]
    if np.shape(true_ab) != p.shape[:2] + (2,):
        raise ValueError(f"ab_mse: true_ab must have shape {p.shape[:2] + (2,)}, got {np.shape(true_ab)}")
    return ab_mse_lab(pred_ab, true_ab)


def masked_ab_error(pred_ab: np.ndarray, true_ab: np.ndarray, mask: np.ndarray) -> float:
    """Mean ab distance ``sqrt(da**2 + db**2)`` in LAB units inside a soft ``(H, W)`` mask in [0, 1].

    Each pixel counts by its mask value; an empty mask (no face found, say) gives ``nan``, which
    ``colorkit evaluate`` leaves out of the mean for that metric.
    """
    p, t, m = (np.asarray(x, dtype=np.float64) for x in (pred_ab, true_ab, mask))
    if t.shape[-1] != 2 or m.shape != t.shape[:-1]:
        raise ValueError(f"masked_ab_error: expected ab (H, W, 2) and mask (H, W), got {t.shape} and {m.shape}")
    total = float(m.sum())
    if total <= 0:
        return math.nan
    return float((np.linalg.norm(np.broadcast_to(p, t.shape) - t, axis=-1) * m).sum() / total)


def colorfulness(img: np.ndarray) -> float:
    """Hasler and Suesstrunk (2003) colourfulness of one ``(H, W, 3)`` sRGB image in [0, 1], on 0-255 units."""
    x = to_float_rgb(img) * 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    sigma = math.sqrt(float(np.var(rg)) + float(np.var(yb)))
    mu = math.hypot(float(np.mean(rg)), float(np.mean(yb)))
    return sigma + 0.3 * mu


@metric(fmt=".2f", label="Colourfulness", header="colour", plot=True, plot_fmt=".1f")
def prediction_colorfulness(pred: np.ndarray, true: np.ndarray | None = None) -> float:
    """Colourfulness (Hasler and Suesstrunk) of the prediction; the truth is not used."""
    return colorfulness(pred)


@metric(better="abs_low", fmt="+.2f", label="colourfulness gap", header="gap", perfect=0.0)
def colorfulness_gap(pred: np.ndarray, true: np.ndarray) -> float:
    """Colourfulness of the prediction minus that of the truth (negative: duller than the photo)."""
    p, t = _pair(pred, true, "colorfulness_gap")
    return colorfulness(p) - colorfulness(t)


def protocol_prediction(true_rgb: np.ndarray, pred_ab: np.ndarray) -> np.ndarray:
    """The protocol's predicted image: ``true_rgb``'s own L joined with ``pred_ab`` (raw LAB units).

    ``pred_ab`` is ``(H, W, 2)`` or one ``(2,)`` ab for every pixel. Returns sRGB ``(H, W, 3)`` float64
    in [0, 1] (out-of-gamut colours clamped).
    """
    lab = rgb_to_lab_np(true_rgb)
    return join_lab_np(lab[..., 0], pred_ab)


def score_prediction(true_rgb: np.ndarray, pred_ab: np.ndarray) -> dict[str, float]:
    """All built-in metrics of one image by the reference protocol: true L kept, ab replaced by ``pred_ab``.

    ``true_rgb`` is the (already resized) photo, ``(H, W, 3)`` uint8 or float in [0, 1]; ``pred_ab``
    raw LAB ``(H, W, 2)`` or ``(2,)``. ab-MSE is taken on ``pred_ab`` itself (before the gamut clamp).
    """
    t = to_float_rgb(true_rgb)
    lab = rgb_to_lab_np(t)
    ab = np.broadcast_to(np.asarray(pred_ab, dtype=np.float64), t.shape[:2] + (2,))
    pred = join_lab_np(lab[..., 0], ab)
    return {
        "psnr": psnr(pred, t),
        "ssim": ssim(pred, t),
        "ab_mse": ab_mse_lab(ab, lab[..., 1:]),
        "colorfulness": colorfulness(pred),
        "colorfulness_gap": colorfulness_gap(pred, t),
    }


LPIPS_BACKBONE_FILE = "alexnet-owt-7be5be79.pth"
"""torchvision's AlexNet ImageNet checkpoint (``AlexNet_Weights.IMAGENET1K_V1``), LPIPS's trunk."""


def lpips_weights_available() -> bool:
    """Whether LPIPS can be built without a download: the package is installed and its AlexNet
    trunk is in the torch hub cache. Only looks for files; imports and downloads nothing."""
    if importlib.util.find_spec("lpips") is None:
        return False
    return (Path(torch.hub.get_dir()) / "checkpoints" / LPIPS_BACKBONE_FILE).is_file()


@functools.lru_cache(maxsize=1)
def _lpips_model() -> torch.nn.Module:
    """The LPIPS network, built once on first use (from the cached trunk, see :func:`lpips_weights_available`)."""
    import warnings

    import lpips

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchvision's deprecation of `pretrained=`
        model = lpips.LPIPS(net="alex", verbose=False)
    return model.eval().requires_grad_(False)


@metric(better="low", fmt=".4f", label="LPIPS", plot=True, plot_fmt=".3f", perfect=0.0)
def lpips_distance(pred: np.ndarray, true: np.ndarray) -> float:
    """LPIPS distance (AlexNet, v0.1) between two sRGB images in [0, 1]; 0 for identical images."""
    p, t = _pair(pred, true, "lpips")

    def batch(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).permute(2, 0, 1)[None] * 2 - 1

    with torch.no_grad():
        return float(_lpips_model()(batch(p), batch(t)).mean())


BUILTIN_METRICS = {
    "psnr": psnr,
    "ssim": ssim,
    "ab_mse": ab_mse,
    "colorfulness": prediction_colorfulness,
    "colorfulness_gap": colorfulness_gap,
    "lpips": lpips_distance,
}
"""Every built-in metric by its registered name (``lpips`` is registered only where its weights are)."""


@hookimpl
def colorkit_register_metrics(register):
    for name, fn in BUILTIN_METRICS.items():
        if name != "lpips" or lpips_weights_available():  # a file check: never downloads
            register(name, fn)
