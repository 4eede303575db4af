"""rebalanced_ce's fast paths against straightforward reference implementations kept here.

The loss (one fused cross-entropy with a hand-written gradient), the annealed-mean decoding (no
normalised softmax, one product with the centres) and the soft encoding (a lookup table of
candidate bins) must give what the textbook formulas give: the same values and gradients within
float32 tolerance, the same bins up to ties.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from colorkit.build import LossSet
from colorkit.data.lab import AB_SCALE, rgb_to_lab
from colorkit.losses import L1Loss, RebalancedCELoss
from colorkit.losses import rebalanced_ce
from colorkit.losses.ab_bins import bin_centres, nearest_bins, soft_encode

Q = 313


def reference_soft_encode(ab, k, sigma, extra=0):
    """Every pixel against all 313 centres in float64: squared distances and indices nearest first
    (``k + extra`` of them), and the Gaussian weights of the first ``k``."""
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2).double()
    centres = bin_centres().double()
    parts = [torch.cdist(chunk, centres).square().topk(k + extra, dim=1, largest=False) for chunk in flat.split(8192)]
    d2, idx = torch.cat([p.values for p in parts]), torch.cat([p.indices for p in parts])
    w = torch.exp(-(d2[:, :k] - d2[:, :1]) / (2 * sigma * sigma))
    return d2, idx, w / w.sum(dim=1, keepdim=True)


def reference_loss(pred, target, loss):
    """The loss as written in Zhang et al.: log-softmax, soft target, class weight of the nearest bin."""
    _, idx, w = reference_soft_encode(target * AB_SCALE, loss.soft_neighbours, loss.sigma)
    B, _, H, W = pred.shape
    logp = F.log_softmax(pred, dim=1).permute(0, 2, 3, 1).reshape(-1, Q)
    ce = -(w.float() * logp.gather(1, idx)).sum(dim=1)
    return (loss.class_weights[idx[:, 0]] * ce).mean()


def reference_decode(logits, temperature):
    return torch.einsum("bqhw,qc->bchw", torch.softmax(logits / temperature, dim=1), bin_centres()) / AB_SCALE


def real_ab(batch=2, size=12, seed=0):
    """Normalised ab of random displayable colours, plus a few far out of gamut."""
    g = torch.Generator().manual_seed(seed)
    ab = rgb_to_lab(torch.rand(batch, 3, size, size, generator=g))[:, 1:]
    ab[:, :, 0, :3] = torch.tensor([[150.0, -140.0, 300.0], [-150.0, 200.0, -5.0]])
    return ab / AB_SCALE


def prepared_loss(**options):
    loss = RebalancedCELoss(**options)
    prior = torch.rand(Q, generator=torch.Generator().manual_seed(1), dtype=torch.float64) + 0.01
    loss.set_prior(prior / prior.sum())
    return loss


def logits_like(target, scale=4.0, channels_last=False, seed=2):
    B, _, H, W = target.shape
    x = torch.randn(B, Q, H, W, generator=torch.Generator().manual_seed(seed)) * scale
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def value_and_grad(fn, logits):
    x = logits.clone().requires_grad_()
    value = fn(x)
    value.backward()
    return value.detach(), x.grad


def close(got, want, rtol=1e-5):
    return torch.allclose(got, want, rtol=rtol, atol=rtol * float(want.abs().max()))


# --- the loss and its gradient --------------------------------------------------------------------


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("options", [{}, {"soft_neighbours": 1}, {"soft_neighbours": 9, "sigma": 12.0, "lam": 0.2}])
def test_loss_and_gradient_match_log_softmax_reference(channels_last, options):
    loss = prepared_loss(**options)
    target = real_ab()
    logits = logits_like(target, channels_last=channels_last)
    want, want_grad = value_and_grad(lambda x: reference_loss(x, target, loss), logits)
    got, got_grad = value_and_grad(lambda x: loss(x, target)["rebalanced_ce"], logits)
    assert got.item() == pytest.approx(want.item(), rel=1e-5)
    assert got_grad.shape == logits.shape and got_grad.stride() == logits.stride()
    assert close(got_grad, want_grad)


def test_loss_matches_for_confident_and_extreme_logits():
    loss = prepared_loss()
    target = real_ab(seed=3)
    _, idx, _ = reference_soft_encode(target * AB_SCALE, 5, 5.0)
    B, _, H, W = target.shape
    logits = logits_like(target, scale=1.0)
    logits.permute(0, 2, 3, 1).reshape(-1, Q)[torch.arange(B * H * W), idx[:, 0]] += 40.0  # near-zero CE
    logits[:, :, :, 0] *= 300.0  # logits in the thousands: exp overflows without the max shift
    want, want_grad = value_and_grad(lambda x: reference_loss(x, target, loss), logits)
    got, got_grad = value_and_grad(lambda x: loss(x, target)["rebalanced_ce"], logits)
    assert torch.isfinite(got) and got.item() == pytest.approx(want.item(), rel=1e-5, abs=1e-6)
    assert close(got_grad, want_grad)


def test_gradient_scales_with_the_incoming_gradient():
    loss = prepared_loss()
    target = real_ab(batch=1, size=6)
    logits = logits_like(target)
    _, grad = value_and_grad(lambda x: loss(x, target)["rebalanced_ce"], logits)
    _, scaled = value_and_grad(lambda x: -2.5 * loss(x, target)["rebalanced_ce"], logits)
    assert close(scaled, -2.5 * grad)


def test_float64_gradient_matches_reference_to_rounding():
    loss = prepared_loss()
    target = real_ab(batch=1, size=5)
    _, ref_idx, ref_w = reference_soft_encode(target * AB_SCALE, 5, 5.0)
    logits = logits_like(target, scale=3.0).double()
    idx, w = soft_encode(target * AB_SCALE, loss.centres, 5, 5.0)
    weight = loss.class_weights[idx[:, 0]].double()

    def reference(x):
        logp = F.log_softmax(x, dim=1).permute(0, 2, 3, 1).reshape(-1, Q)
        return (weight.flatten() * -(ref_w * logp.gather(1, ref_idx)).sum(dim=1)).mean()

    want, want_grad = value_and_grad(reference, logits)
    got, got_grad = value_and_grad(lambda x: rebalanced_ce._SoftCrossEntropy.apply(x, idx, w.double(), weight), logits)
    assert got.item() == pytest.approx(want.item(), rel=1e-6)  # w is float32: 1e-7 relative
    assert close(got_grad, want_grad, rtol=1e-6)


def test_a_second_backward_is_refused_not_wrong():
    loss = prepared_loss()
    target = real_ab(batch=1, size=4)
    x = logits_like(target).requires_grad_()
    value = loss(x, target)["rebalanced_ce"]
    value.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="second time"):
        value.backward()


# --- decoding -------------------------------------------------------------------------------------


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("temperature", [0.38, 1.0, 0.05])
def test_decode_matches_softmax_reference(channels_last, temperature):
    logits = logits_like(real_ab(batch=3, size=7), scale=5.0, channels_last=channels_last)
    got = RebalancedCELoss(temperature=temperature).decode(logits)
    assert got.shape == (3, 2, 7, 7)
    assert close(got, reference_decode(logits, temperature))


def test_decode_in_chunks_matches_and_keeps_half_precision(monkeypatch):
    logits = logits_like(real_ab(batch=5, size=4), scale=5.0)
    monkeypatch.setattr(rebalanced_ce, "_DECODE_ELEMENTS", Q * 4 * 4 * 2)  # two images a chunk
    loss = RebalancedCELoss()
    assert close(loss.decode(logits), reference_decode(logits, 0.38))
    half = loss.decode(logits.half())
    assert half.dtype == torch.float16
    assert torch.allclose(half.float(), reference_decode(logits.half().float(), 0.38), atol=2e-3)


@pytest.mark.parametrize("channels_last", [False, True])
def test_decode_gradient_matches_reference(channels_last):
    logits = logits_like(real_ab(batch=2, size=5), channels_last=channels_last)
    weights = torch.randn(2, 2, 5, 5, generator=torch.Generator().manual_seed(4))
    _, want = value_and_grad(lambda x: (reference_decode(x, 0.38) * weights).sum(), logits)
    _, got = value_and_grad(lambda x: (RebalancedCELoss().decode(x) * weights).sum(), logits)
    assert close(got, want)


def test_loss_set_decodes_only_for_losses_that_need_ab(monkeypatch):
    calls = []
    original = RebalancedCELoss.decode
    monkeypatch.setattr(RebalancedCELoss, "decode", lambda self, out: calls.append(1) or original(self, out))
    target = real_ab(batch=1, size=4)
    logits = logits_like(target).requires_grad_()
    alone = LossSet([("rebalanced_ce", 1.0, prepared_loss())], [{"name": "rebalanced_ce", "args": {}}])
    total, _ = alone(logits, target)
    alone.auxiliary_step(logits, target)
    assert calls == []  # the classification loss alone never needs ab
    both = LossSet(
        [("rebalanced_ce", 1.0, prepared_loss()), ("l1", 0.5, L1Loss())],
        [{"name": "rebalanced_ce", "args": {}}, {"name": "l1", "args": {}}],
    )
    total, logs = both(logits, target)
    assert calls == [1] and set(logs) == {"rebalanced_ce", "l1", "total"}
    total.backward()
    assert torch.isfinite(logits.grad).all()


# --- soft encoding --------------------------------------------------------------------------------


def fine_grid(step, offset=(0.0, 0.0), reach=160.0):
    """Every ab on a grid of ``step`` LAB units over [-reach, reach]^2, as raw LAB ``(1, 2, 1, N)``."""
    v = torch.arange(-reach, reach + step / 2, step, dtype=torch.float64)
    return (torch.cartesian_prod(v + offset[0], v + offset[1]).T.float()).reshape(1, 2, 1, -1)


@pytest.mark.parametrize("k", [1, 5, 9])
def test_soft_encode_is_exact_on_a_fine_grid_inside_and_far_outside_the_gamut(k):
    # every LAB unit up to 160 (bins reach 110, the lookup table 150, beyond it all bins are searched):
    # the integer grid holds many exact ties between bins and hits every cell edge; the shifted one has few ties
    for ab in (fine_grid(1.0), fine_grid(1.0, offset=(0.123, 0.0456))):
        idx, w = soft_encode(ab, bin_centres(), k=k, sigma=5.0)
        flat = ab[0, :, 0].T.double()
        d2, ref_idx, ref_w = reference_soft_encode(ab, k, 5.0, extra=1)
        got_idx = idx[0, :, 0].T
        got_d2 = (flat[:, None, :] - bin_centres().double()[got_idx]).square().sum(-1)
        assert torch.allclose(got_d2, d2[:, :k], rtol=0, atol=1e-6 * float(d2.max()))  # the same bins up to ties
        assert torch.allclose(w[0, :, 0].T.double(), ref_w, rtol=1e-4, atol=5e-5)  # float32 distances of up to 4e4
        unique = (d2.diff(dim=1) > 1e-3).all(dim=1)  # no two of the k + 1 nearest at one distance
        assert torch.equal(got_idx[unique], ref_idx[unique, :k])
        assert unique.float().mean() > 0.3
    assert torch.equal(nearest_bins(ab, bin_centres())[0, 0], soft_encode(ab, bin_centres(), k=1)[0][0, 0, 0])
