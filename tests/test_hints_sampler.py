"""The built-in hint sampler "points": its statistics, its patches and its reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colorkit.hints import HINT_CHANNELS
from colorkit.hints.sampler import PointsSampler

pytestmark = pytest.mark.usefixtures("one_thread")


def sample(size: int = 16, batch: int = 64, seed: int = 0, ab: torch.Tensor | None = None, **options) -> tuple[torch.Tensor, torch.Tensor]:
    """The truth (random ab in [-1, 1], unless given) and the hints drawn from it."""
    gen = torch.Generator().manual_seed(seed + 1000)
    ab = torch.rand(batch, 2, size, size, generator=gen) * 2 - 1 if ab is None else ab
    L = torch.rand(batch, 1, size, size, generator=gen) * 2 - 1
    return ab, PointsSampler(**options)(ab, L, torch.Generator().manual_seed(seed))


def test_the_output_is_the_three_hint_channels_and_values_only_under_the_mask():
    ab, hints = sample(max_patch=4)
    assert hints.shape == (64, len(HINT_CHANNELS), 16, 16) and hints.dtype == ab.dtype
    mask = hints[:, 2]
    assert set(mask.unique().tolist()) <= {0.0, 1.0} and mask.any()
    assert not hints[:, :2][(mask == 0)[:, None].expand(-1, 2, -1, -1)].any()  # no value without the mask
    assert hints[:, :2].abs().max() <= 1  # means of ab in [-1, 1]


@pytest.mark.parametrize("p_none", [0.0, 0.3, 1.0])
def test_p_none_is_the_share_of_images_without_a_hint(p_none):
    _, hints = sample(size=8, batch=4000, p_none=p_none)
    share = float((hints[:, 2].flatten(1).sum(1) == 0).float().mean())
    assert share == pytest.approx(p_none, abs=0.03)


def test_counts_follow_the_geometric_mean_and_the_cap():
    # one-pixel patches on a large image: the masked pixels count the points (collisions are rare)
    _, hints = sample(size=64, batch=4000, p_none=0.0, mean_points=4, max_points=256, max_patch=1)
    counts = hints[:, 2].flatten(1).sum(1)
    assert counts.min() >= 1 and float(counts.mean()) == pytest.approx(4.0, rel=0.06)
    assert float((counts == 1).float().mean()) == pytest.approx(0.25, abs=0.03)  # P(n = 1) = 1 / mean
    _, capped = sample(size=64, batch=500, p_none=0.0, mean_points=50, max_points=3, max_patch=1)
    capped = capped[:, 2].flatten(1).sum(1)
    assert capped.max() == 3 and float((capped == 3).float().mean()) > 0.9


def test_a_patch_reveals_the_truths_mean_over_it():
    ab, hints = sample(size=20, batch=200, p_none=0.0, mean_points=1, max_points=1, max_patch=7)
    sides = set()
    for i in range(ab.shape[0]):
        mask = hints[i, 2] > 0
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        assert mask.sum() == len(rows) * len(cols)  # one square (clipped to a rectangle at the edges)
        assert rows.diff().eq(1).all() and cols.diff().eq(1).all()
        for c in range(2):
            assert torch.allclose(hints[i, c][mask], ab[i, c][mask].mean(), atol=1e-6)
        if 0 < rows[0] and rows[-1] < 19 and 0 < cols[0] and cols[-1] < 19:
            assert len(rows) == len(cols)
            sides.add(len(rows))
    assert sides == set(range(1, 8))  # every side in 1..max_patch


def test_one_pixel_points_reveal_the_truth_there():
    ab, hints = sample(size=24, batch=20, p_none=0.0, max_patch=1)
    mask = (hints[:, 2] > 0)[:, None].expand(-1, 2, -1, -1)
    assert torch.equal(hints[:, :2][mask], ab[mask])


def reference_points(ab: torch.Tensor, seed: int, p_none: float, mean_points: float, max_points: int, max_patch: int) -> torch.Tensor:
    """The points sampler written point by point, drawing the same numbers in the same order (uniform places)."""
    b, _, h, w = ab.shape
    gen = torch.Generator().manual_seed(seed)
    none = torch.rand(b, generator=gen) < p_none
    u = torch.rand(b, generator=gen)
    sides = torch.randint(1, max_patch + 1, (b, max_points), generator=gen)
    ys = torch.randint(0, h, (b, max_points), generator=gen)
    xs = torch.randint(0, w, (b, max_points), generator=gen)
    out = torch.zeros(b, 3, h, w)
    for i in range(b):
        n = 0 if none[i] else min(max_points, 1 + int(np.floor(np.log1p(-float(u[i])) / np.log1p(-1 / mean_points))))
        for k in range(n):
            side, y, x = int(sides[i, k]), int(ys[i, k]), int(xs[i, k])
            top, left = y - (side - 1) // 2, x - (side - 1) // 2  # an odd side centred, as render_hints does
            rows, cols = slice(max(top, 0), min(top + side, h)), slice(max(left, 0), min(left + side, w))
            out[i, :2, rows, cols] = ab[i, :, rows, cols].mean(dim=(1, 2))[:, None, None]  # later points overwrite
            out[i, 2, rows, cols] = 1
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_it_matches_the_sampler_written_point_by_point(seed):
    options = {"p_none": 0.2, "mean_points": 6.0, "max_points": 10, "max_patch": 5}
    ab, hints = sample(size=12, batch=40, seed=seed, **options)
    assert torch.allclose(hints, reference_points(ab, seed, **options), atol=1e-6)


def test_gaussian_places_gather_around_the_centre():
    def spread(**options) -> float:
        _, hints = sample(size=64, batch=300, p_none=0.0, max_patch=1, **options)
        ys, xs = (hints[:, 2] > 0).nonzero()[:, 1:].float().unbind(1)
        return float(((ys - 31.5) ** 2 + (xs - 31.5) ** 2).sqrt().mean())

    assert spread(placement="gaussian", sigma=0.1) < 0.5 * spread(placement="uniform")


def test_the_same_generator_state_gives_the_same_hints():
    ab, first = sample(seed=3)
    _, again = sample(seed=3)
    _, other = sample(seed=4)
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_no_hint_at_all_is_all_zero():
    _, hints = sample(p_none=1.0)
    assert not hints.any()


@pytest.mark.parametrize(
    "options, message",
    [
        ({"p_none": 1.5}, r"option 'p_none'.*less than or equal to 1"),
        ({"mean_points": 0.5}, r"option 'mean_points'.*greater than or equal to 1"),
        ({"max_points": 0}, r"option 'max_points'"),
        ({"max_patch": 2.5}, r"option 'max_patch'.*integer"),
        ({"placement": "edges"}, r"option 'placement'.*'uniform' or 'gaussian'"),
    ],
)
def test_bad_options_name_the_option(options, message):
    with pytest.raises(ValueError, match=message):
        PointsSampler(**options)


def test_an_unknown_option_lists_the_valid_ones():
    with pytest.raises(TypeError, match=r"points: option 'points'.*unknown.*valid: p_none, mean_points, max_points"):
        PointsSampler(points=3)
