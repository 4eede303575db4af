"""The 313 quantised ab bins of Zhang, Isola and Efros (2016), computed here rather than downloaded.

Zhang et al. quantise ab on a grid of 10 LAB units and "keep the Q = 313 values which are in-gamut",
without saying what "in-gamut" means for a grid cell. Counted literally (the centres that the
round-to-nearest quantisation of some displayable sRGB colour lands on) there are only 262 such
centres; their published ``pts_in_hull.npy`` is a band around that footprint.

Our definition: **a grid centre (multiple of 10 in a and b) is a bin when some in-gamut sRGB colour, at
any L, lies within ΔE_ab 13.5 of it** (Euclidean distance in the ab plane). This gives exactly 313
centres; every radius in [13.25, 13.72) does, and 13.5 sits in the middle of that gap so sampling
error cannot change the count. 309 of the 313 coincide with Zhang's published points (ours add
(-60, 100), (80, 80), (80, -120), (110, -60); theirs add (-30, -50), (40, 90), (100, -90), (100, 0)).

How the distance is computed: the outline of the ab footprint of the sRGB cube (over all L) is the
image of the six cube edges R-Y-G-C-B-M-R (one channel 0, one 1; the chroma maxima), sampled every
1/1000 along each edge (a few hundredths of a LAB unit apart); the inside of the footprint is
covered by a coarse sampling of the cube's faces. The conversion is :func:`colorkit.data.lab.rgb_to_lab`
(D65, 2 degrees, as scikit-image), in float64. It takes about 0.3 s on a CPU and is cached per process.

All ab here are raw LAB units unless a name says ``norm``; the network's targets are ab / ``AB_SCALE``.
"""

from __future__ import annotations

import functools
import math

import torch

from colorkit.data.lab import rgb_to_lab

__all__ = ["GRID", "GAMUT_RADIUS", "NUM_BINS", "bin_centres", "nearest_bins", "soft_encode", "gaussian_smooth"]

GRID = 10.0
"""Spacing of the ab grid, LAB units."""

GAMUT_RADIUS = 13.5
"""A grid centre is a bin when an sRGB colour lies within this ΔE_ab of it (see the module doc)."""

NUM_BINS = 313
"""Number of bins, Q; :func:`bin_centres` checks that the definition gives this many."""

_CHUNK = 65536
"""Pixels per chunk when measuring distances to all bins, to keep memory flat on large batches."""


@functools.lru_cache(maxsize=1)
def _centres_float64() -> torch.Tensor:
    edge = torch.linspace(0.0, 1.0, 1001, dtype=torch.float64)
    one, zero = torch.ones_like(edge), torch.zeros_like(edge)
    # R->Y, Y->G, G->C, C->B, B->M, M->R: the hue loop along which sRGB reaches its highest chroma.
    loop = [(one, edge, zero), (1 - edge, one, zero), (zero, one, edge), (zero, 1 - edge, one), (edge, zero, one), (one, zero, 1 - edge)]
    outline = torch.cat([torch.stack(e) for e in loop], dim=1)
    v = torch.linspace(0.0, 1.0, 33, dtype=torch.float64)
    g, b = torch.meshgrid(v, v, indexing="ij")
    faces = []
    for fixed in (0.0, 1.0):
        f = torch.full_like(g, fixed)
        faces += [torch.stack([f, g, b]), torch.stack([g, f, b]), torch.stack([g, b, f])]
    inside = torch.stack(faces, dim=1).reshape(3, -1)
    rgb = torch.cat([outline, inside], dim=1)[:, None, :]  # (3, 1, N): an image one pixel high
    ab = rgb_to_lab(rgb)[1:, 0].T  # (N, 2)
    steps = torch.arange(-13, 14, dtype=torch.float64) * GRID  # -130..130 covers |ab| <= 108 + 13.5
    grid = torch.cartesian_prod(steps, steps)  # sorted by a, then b (Zhang's order)
    dist = torch.cdist(grid, ab).min(dim=1).values
    centres = grid[dist <= GAMUT_RADIUS]
    if centres.shape[0] != NUM_BINS:  # pragma: no cover - guards the definition above
        raise RuntimeError(f"ab bins: the in-gamut rule gave {centres.shape[0]} bins, expected {NUM_BINS}")
    return centres


def bin_centres() -> torch.Tensor:
    """The 313 bin centres, ``(313, 2)`` float32 in raw LAB units (a, b), sorted by a then b."""
    return _centres_float64().float().clone()


def _flat_ab(ab: torch.Tensor) -> torch.Tensor:
    """``(B, 2, H, W)`` -> ``(B*H*W, 2)``."""
    return ab.permute(0, 2, 3, 1).reshape(-1, 2)


_CELL = GRID / 2
"""Side of the lookup table's square cells, LAB units."""

_REACH = 150.0
"""The lookup table covers ab in [-150, 150)^2 (sRGB colours stay within about 110); beyond it every bin is searched."""


@functools.lru_cache(maxsize=None)
def _tables(k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Candidate bins per cell of a lookup table, for an exact search of the ``k`` nearest.

    The table cuts [-150, 150)^2 into square cells of side ``h = 5`` (row ``i * 60 + j`` for the
    cell ``i`` steps along a and ``j`` along b). A pixel ``x`` in the cell with centre ``z`` lies
    within ``h / sqrt(2)`` of ``z``, so its k-th nearest bin lies within ``d_k(z) + h / sqrt(2)`` of it
    (``d_k(z)``: the distance from ``z`` to its own k-th nearest bin), and each of its ``k`` nearest
    bins within ``d_k(z) + h * sqrt(2)`` of ``z``. A cell's candidates are all the bins within that
    radius (plus 1e-3 for rounding), so searching them alone is exact, ties included.

    Returns ``cand`` ``(3600, M)``: the candidates' indices per cell, nearest the centre first, padded
    with -1; and ``cand_ab`` ``(3600, M, 2)``: their centres, the padding far away. With k = 5, M is
    14 instead of 313.
    """
    c = _centres_float64()
    v = torch.arange(-_REACH, _REACH, _CELL, dtype=torch.float64) + _CELL / 2
    d = torch.cdist(torch.cartesian_prod(v, v), c)
    radius = d.sort(dim=1).values[:, k - 1] + _CELL * math.sqrt(2.0) + 1e-3
    near = d <= radius[:, None]
    width = int(near.sum(dim=1).max())
    order = torch.where(near, d, torch.full_like(d, math.inf)).argsort(dim=1)[:, :width]
    valid = torch.gather(near, 1, order)
    cand = torch.where(valid, order, torch.full_like(order, -1))
    cand_ab = torch.where(valid[..., None], c[order], torch.full_like(c[order], 1e4)).float()
    return cand, cand_ab


_DEVICE_TABLES: dict[tuple[int, str], tuple[torch.Tensor, ...]] = {}


def _tables_on(k: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    key = (k, str(device))
    if key not in _DEVICE_TABLES:
        _DEVICE_TABLES[key] = tuple(t.to(device) for t in _tables(k))
    return _DEVICE_TABLES[key]


def _search_all(x: torch.Tensor, centres: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.cdist(x, centres).square().topk(k, dim=1, largest=False, sorted=True)


def _knn(x: torch.Tensor, centres: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared distances and indices of the ``k`` nearest bins of each row of ``x`` ``(N, 2)``, nearest first.

    Pixels inside the lookup table search only their cell's candidates (see :func:`_tables`); the
    others (ab far beyond any colour) are compared with all bins, as is everything when ``k`` is
    so large that the candidates would be most of the bins.
    """
    cand, cand_ab = _tables_on(k, x.device)
    cells = round(2 * _REACH / _CELL)
    d2_parts, idx_parts = [], []
    for chunk in x.split(_CHUNK):
        if k >= cand.shape[1]:
            dk, ik = _search_all(chunk, centres, k)
        else:
            cell = ((chunk + _REACH) / _CELL).floor()
            inside = ((cell >= 0) & (cell < cells)).all(dim=1)
            row = torch.where(inside, cell[:, 0] * cells + cell[:, 1], 0).long()
            ab = cand_ab.index_select(0, row).to(chunk.dtype)  # (n, M, 2)
            dist = (chunk[:, :1] - ab[..., 0]).square_().add_((chunk[:, 1:] - ab[..., 1]).square_())
            dk, pos = dist.min(dim=1, keepdim=True) if k == 1 else dist.topk(k, dim=1, largest=False, sorted=True)
            ik = torch.gather(cand.index_select(0, row), 1, pos)
            far = (~inside).nonzero().flatten()
            if far.numel():
                dk[far], ik[far] = _search_all(chunk[far], centres, k)
        d2_parts.append(dk)
        idx_parts.append(ik)
    if not d2_parts:
        return x.new_zeros(0, k), torch.zeros(0, k, dtype=torch.long, device=x.device)
    return torch.cat(d2_parts), torch.cat(idx_parts)


@torch.no_grad()
def soft_encode(ab: torch.Tensor, centres: torch.Tensor, k: int = 5, sigma: float = 5.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Zhang's soft encoding: the ``k`` nearest bins of each pixel with Gaussian weights.

    ``ab``: raw LAB ``(B, 2, H, W)``; ``centres``: the bins of :func:`bin_centres` (on ``ab``'s
    device). Returns ``(index, weight)``, both ``(B, k, H, W)``: bin indices ordered nearest first
    (so ``index[:, 0]`` is the nearest bin, the hard encoding) and weights
    ``exp(-d**2 / (2 sigma**2))`` normalised to sum to 1 over the ``k``. Exact, and cheap: most
    pixels are compared with about 14 candidate bins, in chunks, so memory stays small.
    """
    B, _, H, W = ab.shape
    d2, idx = _knn(_flat_ab(ab.to(centres.dtype)), centres, k)
    # subtracting the nearest distance first keeps far-off (out-of-gamut) targets from underflowing
    w = torch.exp(-(d2 - d2[:, :1]) / (2.0 * sigma * sigma))
    w = w / w.sum(dim=1, keepdim=True)

    def to_map(x: torch.Tensor) -> torch.Tensor:
        return x.reshape(B, H, W, k).permute(0, 3, 1, 2)

    return to_map(idx), to_map(w)


@torch.no_grad()
def nearest_bins(ab: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Index of the nearest bin of each pixel: raw LAB ``(B, 2, H, W)`` -> ``(B, H, W)`` long."""
    B, _, H, W = ab.shape
    return _knn(_flat_ab(ab.to(centres.dtype)), centres, 1)[1].reshape(B, H, W)


def gaussian_smooth(p: torch.Tensor, centres: torch.Tensor, sigma: float) -> torch.Tensor:
    """Smooth a distribution over the bins with a Gaussian of ``sigma`` LAB units; sums to 1.

    Each bin's mass is spread over the bins around it in proportion to ``exp(-d**2 / (2 sigma**2))``
    (each source's kernel normalised, so no mass is created or lost); ``sigma = 0`` returns ``p``.
    """
    p = p.to(torch.float64)
    if sigma > 0:
        c = centres.to(torch.float64)
        kernel = torch.exp(-torch.cdist(c, c).square() / (2.0 * sigma * sigma))  # symmetric (Q, Q)
        kernel = kernel / kernel.sum(dim=1, keepdim=True)  # row j: where bin j's mass goes
        p = p @ kernel
    return p / p.sum()
