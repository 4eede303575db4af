"""The built-in losses against hand-computed values, and rebalanced_ce from prior to colorizing."""

import math

import numpy as np
import pytest
import torch
from rich.console import Console

from colorkit.build import LossSet
from colorkit.errors import ColorkitError
from colorkit.data.lab import AB_SCALE, denormalize_l, lab_to_rgb, normalize_l, rgb_to_lab
from colorkit.losses import ChromaWeightedLoss, ColorfulnessLoss, L1Loss, MSELoss, PSNRLoss, RebalancedCELoss
from colorkit.losses.ab_bins import GAMUT_RADIUS, bin_centres, nearest_bins, soft_encode
from colorkit.losses.colorfulness import hasler_susstrunk
from colorkit.losses.rebalanced_ce import PRIOR_FILE, rebalancing_weights
from colorkit.metrics import colorfulness as colorfulness_metric
from colorkit.metrics import psnr as psnr_metric
from colorkit.plugins import create_host

Q = 313


def ab_map(*pixels):
    """Normalised ab ``(1, 2, 1, N)`` from raw LAB (a, b) pairs."""
    return torch.tensor(pixels, dtype=torch.float32).T.reshape(1, 2, 1, -1) / AB_SCALE


def bin_index(a, b):
    centres = bin_centres()
    (i,) = torch.nonzero((centres == torch.tensor([float(a), float(b)])).all(1)).flatten().tolist()
    return i


# --- mse, l1 ------------------------------------------------------------------------------------


def test_mse_and_l1_by_hand():
    pred = torch.tensor([0.1, -0.2, 0.3, 0.0]).reshape(1, 2, 1, 2)
    target = torch.tensor([0.0, 0.2, 0.1, 0.5]).reshape(1, 2, 1, 2)
    # errors 0.1, -0.4, 0.2, -0.5
    assert MSELoss()(pred, target)["mse"].item() == pytest.approx((0.01 + 0.16 + 0.04 + 0.25) / 4)
    assert L1Loss()(pred, target)["l1"].item() == pytest.approx((0.1 + 0.4 + 0.2 + 0.5) / 4)


# --- chroma_weighted ----------------------------------------------------------------------------


def test_chroma_weighted_by_hand():
    # pixel 1 gray (C = 0, weight 1); pixel 2 has C = hypot(30, 40) = 50 -> weight 1 + 3 * 0.5 = 2.5
    target = ab_map((0, 0), (30, 40))
    pred = target + torch.tensor([0.1, 0.3, -0.2, 0.0]).reshape(1, 2, 1, 2)  # a errs 0.1, 0.3; b errs -0.2, 0
    err_l1 = [(0.1 + 0.2) / 2, (0.3 + 0.0) / 2]
    err_mse = [(0.01 + 0.04) / 2, (0.09 + 0.0) / 2]
    l1 = ChromaWeightedLoss()(pred, target)["chroma_weighted"].item()
    mse = ChromaWeightedLoss(base="mse")(pred, target)["chroma_weighted"].item()
    assert l1 == pytest.approx((1 * err_l1[0] + 2.5 * err_l1[1]) / 3.5)
    assert mse == pytest.approx((1 * err_mse[0] + 2.5 * err_mse[1]) / 3.5)
    capped = ChromaWeightedLoss(max_weight=2.0)(pred, target)["chroma_weighted"].item()
    assert capped == pytest.approx((1 * err_l1[0] + 2.0 * err_l1[1]) / 3.0)


def test_chroma_weights_grow_with_chroma_and_reduce_to_the_base_loss():
    loss = ChromaWeightedLoss()
    w = loss.weights(ab_map((0, 0), (10, 0), (0, -30), (40, 30), (-60, 80))).flatten()
    assert torch.all(w[1:] > w[:-1]) and w[0] == 1.0 and w[-1] == 4.0  # C = 0, 10, 30, 50, 100
    torch.manual_seed(0)
    pred, target = torch.randn(2, 2, 8, 8) * 0.3, torch.randn(2, 2, 8, 8) * 0.3
    assert ChromaWeightedLoss(alpha=0)(pred, target)["chroma_weighted"].item() == pytest.approx(L1Loss()(pred, target)["l1"].item())
    same_chroma = torch.stack([torch.full((8, 8), 0.3), torch.full((8, 8), -0.4)])[None]
    assert ChromaWeightedLoss(base="mse")(pred[:1], same_chroma)["chroma_weighted"].item() == pytest.approx(
        MSELoss()(pred[:1], same_chroma)["mse"].item()
    )


@pytest.mark.parametrize(
    "kwargs, option",
    [({"base": "huber"}, "base"), ({"alpha": -1}, "alpha"), ({"max_weight": 0.5}, "max_weight"), ({"alpha": "x"}, "alpha")],
)
def test_chroma_weighted_rejects_bad_options(kwargs, option):
    with pytest.raises(ValueError, match=f"'{option}'"):
        ChromaWeightedLoss(**kwargs)


# --- the 313 bins -------------------------------------------------------------------------------


def test_313_bins_on_the_10_grid_covering_the_srgb_gamut():
    centres = bin_centres()
    assert centres.shape == (Q, 2) and len({tuple(c) for c in centres.tolist()}) == Q
    assert torch.all(centres % 10 == 0) and centres.abs().max() <= 120
    # an independent sampling of the sRGB cube, 33 levels a channel
    v = torch.linspace(0, 1, 33, dtype=torch.float64)
    rgb = torch.cartesian_prod(v, v, v).T.reshape(3, 1, -1)
    ab = rgb_to_lab(rgb)[1:, 0].T.float()
    # every bin lies near some sRGB colour (the rule is 13.5; the coarse sampling adds at most ~2)
    assert torch.cdist(centres, ab).min(1).values.max() <= GAMUT_RADIUS + 2.5
    # every sRGB colour rounds to a bin, so the nearest bin of a real colour is its own grid cell
    assert torch.cdist(ab, centres).min(1).values.max() <= 5 * math.sqrt(2) + 1e-4
    assert centres[:, 0].min() == -90 and centres[:, 0].max() == 110  # green a = -86, magenta a = 98


def test_soft_encoding_by_hand():
    idx, w = soft_encode(ab_map((0, 0), (3, 0)) * AB_SCALE, bin_centres(), k=5, sigma=5.0)
    assert idx.shape == w.shape == (1, 5, 1, 2)
    # at a bin centre: itself and its 4 neighbours at distance 10, weights 1 : exp(-100 / 50)
    assert idx[0, 0, 0, 0] == bin_index(0, 0)
    assert {tuple(bin_centres()[i].tolist()) for i in idx[0, 1:, 0, 0].tolist()} == {(10, 0), (-10, 0), (0, 10), (0, -10)}
    e = math.exp(-2.0)
    assert w[0, :, 0, 0].tolist() == pytest.approx([1 / (1 + 4 * e)] + [e / (1 + 4 * e)] * 4)
    assert w[0, :, 0, 1].sum().item() == pytest.approx(1.0)
    assert nearest_bins(ab_map((3, 0), (-6, 14)) * AB_SCALE, bin_centres()).flatten().tolist() == [bin_index(0, 0), bin_index(-10, 10)]


def test_fast_neighbour_search_is_exact():
    torch.manual_seed(0)
    centres = bin_centres()
    real = rgb_to_lab(torch.rand(1, 3, 40, 50))[:, 1:]  # displayable colours take the fast path
    wild = torch.rand(1, 2, 20, 50) * 400 - 200  # out-of-gamut and out-of-range ab fall back
    for ab in (real, wild):
        for k in (1, 5, 9):
            idx, _ = soft_encode(ab, centres, k=k)
            flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
            ref = torch.cdist(flat, centres).topk(k, dim=1, largest=False).values
            got = (flat[:, None, :] - centres[idx.permute(0, 2, 3, 1).reshape(-1, k)]).norm(dim=-1)
            assert torch.allclose(got, ref, atol=1e-2)  # cdist is float32 matmul-based


# --- rebalanced_ce ------------------------------------------------------------------------------


def test_rebalanced_ce_by_hand():
    loss = RebalancedCELoss()
    assert loss.out_channels == Q and RebalancedCELoss.needs_prepare
    target = ab_map((0, 0))
    logits = torch.zeros(1, Q, 1, 1)
    assert loss(logits, target)["rebalanced_ce"].item() == pytest.approx(math.log(Q), rel=1e-5)
    logits[0, bin_index(0, 0)] = 2.0
    lse = math.log(Q - 1 + math.exp(2.0))
    w0 = 1 / (1 + 4 * math.exp(-2.0))  # the soft target's weight on the pixel's own bin
    assert loss(logits, target)["rebalanced_ce"].item() == pytest.approx(lse - 2 * w0, rel=1e-5)
    hard = RebalancedCELoss(soft_neighbours=1)
    assert hard(logits, target)["rebalanced_ce"].item() == pytest.approx(lse - 2, rel=1e-5)
    loss.class_weights[bin_index(0, 0)] = 3.0  # the pixel's weight is its nearest bin's class weight
    assert loss(logits, target)["rebalanced_ce"].item() == pytest.approx(3 * (lse - 2 * w0), rel=1e-5)


def test_decode_annealed_mean():
    loss = RebalancedCELoss(temperature=0.01)
    centres = bin_centres()
    logits = torch.zeros(2, Q, 3, 4)
    for i, (a, b) in enumerate([(60, -110), (-90, 80)]):
        logits[i, bin_index(a, b)] = 1.0  # one-hot-ish: at T = 0.01 the others weigh e**-100
    ab = loss.decode(logits)
    assert ab.shape == (2, 2, 3, 4)
    assert torch.allclose(ab[0] * AB_SCALE, torch.tensor([60.0, -110.0]).view(2, 1, 1).expand(2, 3, 4), atol=1e-3)
    assert torch.allclose(ab[1] * AB_SCALE, torch.tensor([-90.0, 80.0]).view(2, 1, 1).expand(2, 3, 4), atol=1e-3)
    # T = 1 is the plain mean of the predicted distribution; uniform logits give the centres' mean
    torch.manual_seed(0)
    logits = torch.randn(2, Q, 5, 5) * 3
    mean = torch.einsum("bqhw,qc->bchw", logits.softmax(1), centres) / AB_SCALE
    assert torch.allclose(RebalancedCELoss(temperature=1.0).decode(logits), mean, atol=1e-5)
    assert torch.allclose(RebalancedCELoss().decode(torch.zeros(1, Q, 1, 1)).flatten(), centres.mean(0) / AB_SCALE, atol=1e-6)
    # the default temperature 0.38 sharpens: the decoded colour moves towards the most likely bin
    logits = torch.zeros(1, Q, 1, 1)
    logits[0, bin_index(60, 60)] = 4.0
    c1 = RebalancedCELoss(temperature=1.0).decode(logits).flatten() * AB_SCALE
    c038 = RebalancedCELoss().decode(logits).flatten() * AB_SCALE
    target = torch.tensor([60.0, 60.0])
    assert (c038 - target).norm() < (c1 - target).norm()


def mostly_gray_batches():
    """Normalised ab batches: 90% gray pixels, 9% skin-like, 1% vivid blue."""
    ab = torch.zeros(2, 2, 10, 10)
    ab[:, 0], ab[:, 1] = 2.0, -1.0
    ab[:, :, 0, :9] = torch.tensor([15.0, 20.0]).view(2, 1, 1)  # 18 pixels, skin
    ab[0, :, 0, 9] = torch.tensor([70.0, -100.0])  # 1 pixel, vivid blue
    ab[1, :, 0, 9] = torch.tensor([15.0, 20.0])
    return [ab[:1] / AB_SCALE, ab[1:] / AB_SCALE]


def test_prior_weights_rare_colours_and_caches(tmp_path):
    loss = RebalancedCELoss()
    assert torch.all(loss.class_weights == 1)  # uniform before prepare
    loss.prepare(iter(mostly_gray_batches()), tmp_path)
    prior = torch.from_numpy(np.load(tmp_path / PRIOR_FILE))
    assert prior.shape == (Q,) and prior.sum().item() == pytest.approx(1.0) and torch.all(prior > 0)
    w = loss.class_weights.double()
    gray, skin, blue = bin_index(0, 0), bin_index(20, 20), bin_index(70, -100)
    assert prior[gray] > prior[skin] > prior[blue] > prior[bin_index(-80, 80)]
    assert w[gray] < w[skin] < w[blue] < w[bin_index(-80, 80)]
    assert (prior * w).sum().item() == pytest.approx(1.0, rel=1e-5)  # expected weight under the prior
    # Gaussian smoothing (sigma 5) spreads the gray mass to the neighbours: 1 : e**-2 before renormalising
    assert prior[bin_index(10, 0)] > 0.05 * prior[gray]
    # re-used from the cache: the batches are not even read
    again = RebalancedCELoss()

    def must_not_run():
        raise AssertionError("the cached prior should have been used")
        yield

    again.prepare(must_not_run(), tmp_path)
    assert torch.equal(again.class_weights, loss.class_weights)
    assert "class_weights" in again.state_dict() and "centres" not in again.state_dict()


def test_rebalancing_weights_by_hand():
    p = torch.tensor([0.5, 0.3, 0.2] + [0.0] * (Q - 3), dtype=torch.float64)
    w = rebalancing_weights(p, 0.5)
    raw = [1 / (0.5 * 0.5 + 0.5 / Q), 1 / (0.5 * 0.3 + 0.5 / Q), 1 / (0.5 * 0.2 + 0.5 / Q), Q / 0.5]
    norm = 0.5 * raw[0] + 0.3 * raw[1] + 0.2 * raw[2]
    assert w[:4].tolist() == pytest.approx([r / norm for r in raw])
    assert torch.allclose(rebalancing_weights(p, 1.0), torch.ones(Q, dtype=torch.float64))  # lam = 1: no rebalancing


def test_a_corrupt_cache_is_a_clear_error(tmp_path):
    np.save(tmp_path / PRIOR_FILE, np.ones(7))
    with pytest.raises(ValueError, match="ab_prior.npy.*delete it"):
        RebalancedCELoss().prepare(iter([]), tmp_path)


@pytest.mark.parametrize(
    "kwargs, option",
    [
        ({"lam": 1.5}, "lam"),
        ({"sigma": 0}, "sigma"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"soft_neighbours": 0}, "soft_neighbours"),
        ({"soft_neighbours": 2.5}, "soft_neighbours"),
    ],
)
def test_rebalanced_ce_rejects_bad_options(kwargs, option):
    with pytest.raises(ValueError, match=f"'{option}'"):
        RebalancedCELoss(**kwargs)


def test_rebalanced_ce_decodes_for_the_other_losses():
    losses = LossSet(
        [("rebalanced_ce", 1.0, RebalancedCELoss()), ("colorfulness", 0.5, ColorfulnessLoss()), ("l1", 1.0, L1Loss())],
        [{"name": "rebalanced_ce", "args": {}}, {"name": "colorfulness", "args": {}}, {"name": "l1", "args": {}}],
    )
    assert losses.out_channels == Q and losses.decoder_spec["name"] == "rebalanced_ce"
    torch.manual_seed(0)
    logits = torch.randn(2, Q, 8, 8, requires_grad=True)
    target = torch.rand(2, 2, 8, 8) * 0.6 - 0.3
    total, logs = losses(logits, target, L=torch.rand(2, 1, 8, 8) * 2 - 1)
    assert set(logs) == {"rebalanced_ce", "colorfulness", "l1", "total"}
    total.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


def test_rebalanced_ce_trains_and_colorizes(tmp_path):
    from colorkit.checkpoint import read_checkpoint
    from colorkit.inference.colorizer import Colorizer
    from colorkit.training.trainer import read_metrics, resume_run, start_run
    from colorkit.recipe import load_recipe
    from colorkit.testing import make_images, write_recipe

    host = create_host(entry_points=False)
    paths = make_images(tmp_path / "photos", count=8)
    recipe = write_recipe(tmp_path / "tiny.toml", tmp_path / "photos", tmp_path / "runs", model="cunet", loss="rebalanced_ce")
    quiet = Console(stderr=True, quiet=True)
    result = start_run(load_recipe(recipe), source=str(recipe), host=host, console=quiet).run()
    run = result.run_dir
    assert (run / PRIOR_FILE).is_file()
    prior = np.load(run / PRIOR_FILE)
    assert prior.shape == (Q,) and prior.sum() == pytest.approx(1.0)
    tensors, meta = read_checkpoint(run / "checkpoints" / "last.safetensors")
    assert meta["decoder"] == {"name": "rebalanced_ce", "args": {}} and meta["model"]["out_channels"] == Q
    weights = tensors["losses.losses.0.class_weights"].double()
    assert (weights * torch.from_numpy(prior)).sum().item() == pytest.approx(1.0, rel=1e-5)
    records = read_metrics(run)
    assert all("rebalanced_ce" in r["terms"] and math.isfinite(r["train_loss"]) for r in records)

    # resume: the cached prior is reused and the checkpointed weights fit
    stamp = (run / PRIOR_FILE).stat().st_mtime_ns
    resume_run(run, overrides=["train.epochs=3"], host=host, console=quiet).run()
    assert (run / PRIOR_FILE).stat().st_mtime_ns == stamp and len(read_metrics(run)) == 3

    colorizer = Colorizer.load(run, device="cpu", host=host)
    from PIL import Image

    photo = np.array(Image.open(paths[0]).convert("RGB"))
    out = colorizer.colorize(photo)
    assert out.shape == photo.shape and out.dtype == np.uint8
    # the output keeps the photo's lightness
    L_in = rgb_to_lab(torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 255)[:, :1]
    L_out = rgb_to_lab(torch.from_numpy(out).permute(2, 0, 1)[None].float() / 255)[:, :1]
    assert (L_in - L_out).abs().mean() < 2.0


# --- colorfulness -------------------------------------------------------------------------------


def test_hasler_susstrunk_by_hand():
    rgb = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]).T.reshape(1, 3, 1, 2)  # a red and a blue pixel
    rg, yb = [255.0, 0.0], [127.5, -255.0]
    sigma = math.sqrt(np.var(rg) + np.var(yb))  # sqrt(127.5**2 + 191.25**2)
    mu = math.hypot(np.mean(rg), np.mean(yb))  # hypot(127.5, -63.75)
    assert sigma == pytest.approx(math.hypot(127.5, 191.25)) and mu == pytest.approx(math.hypot(127.5, 63.75))
    assert hasler_susstrunk(rgb).item() == pytest.approx(sigma + 0.3 * mu, rel=1e-5)
    torch.manual_seed(0)
    img = torch.rand(1, 3, 6, 7, dtype=torch.float64)
    assert hasler_susstrunk(img).item() == pytest.approx(colorfulness_metric(img[0].permute(1, 2, 0).numpy()), rel=1e-6)


def colourful_batch():
    torch.manual_seed(1)
    rgb = torch.rand(2, 3, 8, 8)
    lab = rgb_to_lab(rgb)
    return normalize_l(lab[:, :1]), lab[:, 1:] / AB_SCALE, rgb


def test_colorfulness_loss():
    L, ab, rgb = colourful_batch()
    loss = ColorfulnessLoss()
    assert loss(ab, ab, L=L)["colorfulness"].item() == 0.0
    gray = torch.zeros_like(ab, requires_grad=True)
    value = loss(gray, ab, L=L)["colorfulness"]
    truth = np.mean([colorfulness_metric(rgb[i].permute(1, 2, 0).numpy()) for i in range(2)])
    assert value.item() == pytest.approx(truth / 100, rel=1e-3)  # a gray image has colourfulness ~0
    value.backward()
    assert torch.isfinite(gray.grad).all() and gray.grad.abs().sum() > 0
    # only_below ignores a prediction more colourful than the truth
    vivid = ab * 1.5
    assert ColorfulnessLoss(only_below=True)(vivid, ab, L=L)["colorfulness"].item() == 0.0
    assert loss(vivid, ab, L=L)["colorfulness"].item() > 0
    assert ColorfulnessLoss(only_below=True)(gray, ab, L=L)["colorfulness"].item() == pytest.approx(value.item())


def test_colorfulness_needs_l():
    _, ab, _ = colourful_batch()
    with pytest.raises(ValueError, match="L="):
        ColorfulnessLoss()(ab, ab)
    with pytest.raises(ValueError, match="shape"):
        ColorfulnessLoss()(ab, ab, L=torch.zeros(2, 1, 4, 4))
    with pytest.raises(ValueError, match="'only_below'"):
        ColorfulnessLoss(only_below="yes")


# --- psnr ---------------------------------------------------------------------------------------


def test_psnr_loss_is_the_metrics_mean_psnr_short_of_the_cap_in_tens_of_db():
    L, ab, rgb = colourful_batch()
    torch.manual_seed(2)
    pred = (ab + 0.05 * torch.randn_like(ab)).double()
    shown = lab_to_rgb(torch.cat([denormalize_l(L.double()), pred * AB_SCALE], dim=1))
    truth = lab_to_rgb(torch.cat([denormalize_l(L.double()), ab.double() * AB_SCALE], dim=1))
    by_metric = np.mean([psnr_metric(shown[i].permute(1, 2, 0).numpy(), truth[i].permute(1, 2, 0).numpy()) for i in range(2)])
    value = PSNRLoss(eps=1e-12)(pred.float(), ab, L=L)["shortfall"].item()
    assert value == pytest.approx((120 - by_metric) / 10, rel=1e-4)  # eps 1e-12: a 120 dB cap
    assert PSNRLoss()(ab, ab, L=L)["shortfall"].item() == pytest.approx(0.0, abs=1e-4)  # perfect: nothing short


def test_psnr_loss_weighs_each_image_by_its_own_error():
    """MSE pulls hardest on the worse image; the mean log MSE pulls on each in proportion to its own error."""
    L, ab, _ = colourful_batch()
    offset = torch.tensor([0.02, 0.08]).view(2, 1, 1, 1)  # the second image four times further off
    grads = {}
    for loss in (MSELoss(), PSNRLoss(eps=1e-12)):
        pred = (ab + offset).requires_grad_()
        sum(loss(pred, ab, L=L).values()).backward()
        grads[type(loss).__name__] = pred.grad.flatten(1).norm(dim=1)
    mse_ratio = (grads["MSELoss"][1] / grads["MSELoss"][0]).item()
    psnr_ratio = (grads["PSNRLoss"][1] / grads["PSNRLoss"][0]).item()
    assert mse_ratio == pytest.approx(4.0, rel=1e-3)
    assert 0.15 < psnr_ratio < 0.3  # about err / err**2 = 1/4; sRGB is not linear in ab


def test_psnr_loss_logs_beside_validations_psnr_and_no_term_may_take_that_name():
    L, ab, _ = colourful_batch()
    _, logs = LossSet([("psnr", 0.1, PSNRLoss())], [{"name": "psnr", "args": {}}])(ab * 0.5, ab, L=L)
    assert set(logs) == {"psnr.shortfall", "total"} and logs["total"] == pytest.approx(0.1 * logs["psnr.shortfall"])

    class Clashing(L1Loss):
        def terms(self, pred, target, **context):
            return {"psnr": super().terms(pred, target)["l1"]}

    fine = LossSet([("mine", 1.0, Clashing())], [{}])(ab, ab, L=L)[1]
    assert set(fine) == {"mine.psnr", "total"}
    with pytest.raises(ColorkitError, match=r"loss.1 \('psnr'\): its term 'psnr' would log as 'psnr'"):
        LossSet([("l1", 1.0, L1Loss()), ("psnr", 1.0, Clashing())], [{}, {}])(ab, ab, L=L)


def test_psnr_loss_needs_l_and_a_positive_eps():
    _, ab, _ = colourful_batch()
    with pytest.raises(ValueError, match="psnr: needs the input lightness"):
        PSNRLoss()(ab, ab)
    for eps in (0, -1.0, "small", True):
        with pytest.raises(ValueError, match="'eps'"):
            PSNRLoss(eps=eps)


def test_builtin_losses_are_registered_with_a_one_line_doc():
    host = create_host(entry_points=False)
    for name in ("mse", "l1", "chroma_weighted", "rebalanced_ce", "colorfulness", "psnr"):
        entry = host.losses.get(name)
        assert entry.plugin == "colorkit.losses" and entry.doc and "\n" not in entry.doc
