"""Random changes to a training batch: horizontal flips (``data.flip``) and zoomed crops
(``data.crop_scale``).

Each draw comes from a generator seeded by the run's seed and the step, and covers the whole global
batch, of which a rank keeps its own slice (``lo``): a resumed run, and several processes together,
draw exactly what one uninterrupted process would.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

_CROPS = 3
"""Keeps the crops' draws apart from the flips' and the hints' (see ``Trainer._sample_hints``)."""


def random_flips(tensors: tuple[torch.Tensor | None, ...], seed: int, step: int, lo: int) -> tuple:
    """Flip the same random half of the batch in every tensor (L, ab, extra channels; None stays None)."""
    n = tensors[0].shape[0]
    g = torch.Generator().manual_seed(seed * 7_919 + step)
    mask = (torch.rand(lo + n, generator=g)[lo:] < 0.5).to(tensors[0].device).view(-1, 1, 1, 1)
    return tuple(None if t is None else torch.where(mask, t.flip(-1), t) for t in tensors)


def crop_boxes(n: int, min_area: float, seed: int, step: int, lo: int) -> torch.Tensor:
    """``(n, 3)``: each image's square crop as (side, x centre, y centre): the side a share of the
    image's width, between sqrt(min_area) and 1; the centre in half-widths from the image's centre,
    so that the crop lies inside the image."""
    g = torch.Generator().manual_seed(int(np.random.SeedSequence([seed, _CROPS, step]).generate_state(1)[0]))
    u = torch.rand(lo + n, 3, generator=g, dtype=torch.float64)[lo:]
    side = torch.sqrt(min_area + (1 - min_area) * u[:, 0])
    room = 1 - side
    return torch.stack([side, room * (2 * u[:, 1] - 1), room * (2 * u[:, 2] - 1)], 1)


def random_crops(tensors: tuple[torch.Tensor | None, ...], min_area: float, seed: int, step: int, lo: int) -> tuple:
    """Crop every image to a random square covering ``min_area`` to all of it and resize it back
    (bilinear), the same crop in every tensor (RGB, extra channels; None stays None)."""
    first = tensors[0]
    box = crop_boxes(first.shape[0], min_area, seed, step, lo).to(first.device, torch.float32)
    theta = torch.zeros(first.shape[0], 2, 3, device=first.device)
    theta[:, 0, 0] = theta[:, 1, 1] = box[:, 0]
    theta[:, :, 2] = box[:, 1:]
    grid = F.affine_grid(theta, list(first.shape[:1]) + [1] + list(first.shape[2:]), align_corners=False)
    return tuple(
        None if t is None else F.grid_sample(t.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)
        for t in tensors
    )
