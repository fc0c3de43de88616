"""Pixel-level patch synthesis: the neural-patch copies of a level refined to single-pixel patches.

The neural match field (`nps_core.match_field`) places copies to within one feature cell (4 px at
the finest EfficientNet-Lite0 layer) and votes whole cells, so a hole a few cells wide is rebuilt
from blocks that do not quite line up with its border. This step does what the classic patch
methods do, starting from the neural field instead of from noise:

- every hole pixel gets a pixel offset to a known source pixel (initially its cell's neural match);
- PatchMatch rounds (the offsets of the 4 neighbours 4, 2 and 1 px away, then random offsets
  around the current one with a radius halving from `search` px: the neural field already put each
  copy near its place) keep, per pixel, the offset whose (2r+1)^2 colour patch around the source
  best fits the patch around the hole pixel in the current image (sum of squared differences over
  the first principal components; the hole pixel's patch includes the known pixels beside the
  hole, so copies continue the border);
- every hole pixel becomes the mean of what the patches covering it propose (a coherent field
  proposes one value, so the copy stays sharp).

One image at a time; positions are long [N, 2] (row, col) pixel indices.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1))
_PROPAGATION_STEPS = (4, 2, 1)  # px: each round tries the offsets of the neighbours this far away (jump flooding)


def source_centres(hole_px: torch.Tensor, radius: int) -> torch.Tensor:
    """bool [H,W]: pixels whose (2 radius + 1)^2 patch lies inside the image and holds no hole pixel."""
    H, W = hole_px.shape
    near_hole = F.max_pool2d(hole_px[None, None].float(), 2 * radius + 1, stride=1, padding=radius)[0, 0] > 0
    valid = ~near_hole
    valid[:radius], valid[H - radius :], valid[:, :radius], valid[:, W - radius :] = False, False, False, False
    return valid


def _patch_offsets(radius: int, device) -> torch.Tensor:
    a = torch.arange(-radius, radius + 1, device=device)
    return torch.stack(torch.meshgrid(a, a, indexing="ij"), dim=-1).reshape(-1, 2)  # [P,2]


class QueryPatches:
    """Colour patches of one image for a field refinement: every pixel's patch, gathered once.

    pixels [H,W,3] float (channel last), queries long [N,2], radius r (P = (2r+1)^2 elements).
    bank [H*W, 3P]: the zero-padded patch around every pixel (row y*W + x); values [N,3P]: the
    queries' patches. `distance(sources, rows)` is the mean squared difference between the query
    patches (all, or the subset `rows`) and the patches around sources [n,2] (inside the image),
    over the query elements that lie inside the image.
    """

    def __init__(self, pixels: torch.Tensor, queries: torch.Tensor, radius: int, dims: int = 0):
        H, W, _ = pixels.shape
        side = 2 * radius + 1
        self.W = W
        d = _patch_offsets(radius, queries.device)
        rows = (queries[:, 0] + radius).clamp(max=H - 1) - (queries[:, 0] - radius).clamp(min=0) + 1
        cols = (queries[:, 1] + radius).clamp(max=W - 1) - (queries[:, 1] - radius).clamp(min=0) + 1
        inside_count = rows * cols                                   # patch elements inside the image
        self.norm = 3.0 * inside_count.clamp_min(1).to(pixels.dtype)
        self.weight = None
        chw = pixels.permute(2, 0, 1)[None]
        if 0 < dims < 3 * side * side:  # principal components: nearly the same ranking at a fraction of the cost
            pick = torch.linspace(0, H * W - 1, min(H * W, 8192), device=pixels.device).long()
            centres = torch.stack([pick // W, pick % W], 1)[:, None] + d                     # [n,P,2]
            sample = chw[0][:, centres[..., 0].clamp(0, H - 1), centres[..., 1].clamp(0, W - 1)]  # [3,n,P]
            sample = sample.permute(1, 0, 2).reshape(len(pick), -1)                         # unfold's order
            _, _, basis = torch.linalg.svd(sample - sample.mean(0), full_matrices=False)
            weight = basis[:dims].reshape(dims, 3, side, side).contiguous()
            bank = F.conv2d(chw, weight, padding=radius)[0].flatten(1).t()                 # [H*W, dims]
            self.norm = torch.full_like(self.norm, 3.0 * side * side)
        else:
            bank = F.unfold(chw, side, padding=radius)[0].t()                                # [H*W, 3P]
            if bool((inside_count < side * side).any()):
                q = queries[:, None] + d
                inside = (q[..., 0] >= 0) & (q[..., 0] < H) & (q[..., 1] >= 0) & (q[..., 1] < W)
                self.weight = inside.to(pixels.dtype).repeat(1, 3)  # [N,3P], unfold's channel-major order
        self.bank = bank.contiguous()
        self.values = self.bank[queries[:, 0] * W + queries[:, 1]]

    def distance(self, sources: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        patches = self.bank[sources[:, 0] * self.W + sources[:, 1]]
        values = self.values if rows is None else self.values[rows]
        if self.weight is not None:
            patches = patches * (self.weight if rows is None else self.weight[rows])
        return (patches - values).pow(2).sum(1) / (self.norm if rows is None else self.norm[rows])


def field_from_cells(queries: torch.Tensor, cell_queries: torch.Tensor, cell_shift: torch.Tensor,
                     stride: int, shape: tuple) -> torch.Tensor:
    """Pixel offsets [N,2] for hole pixels queries [N,2] from a cell field (cell_queries [Q,2],
    cell_shift [Q,2] px): each pixel takes its cell's shift (0 where its cell has none)."""
    ch, cw = -(-shape[0] // stride), -(-shape[1] // stride)
    table = torch.zeros(ch, cw, 2, dtype=torch.long, device=queries.device)
    table[cell_queries[:, 0], cell_queries[:, 1]] = cell_shift
    cy = (queries[:, 0] // stride).clamp(0, ch - 1)
    cx = (queries[:, 1] // stride).clamp(0, cw - 1)
    return table[cy, cx]


def _valid_at(valid: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    H, W = valid.shape
    inside = (pos[:, 0] >= 0) & (pos[:, 0] < H) & (pos[:, 1] >= 0) & (pos[:, 1] < W)
    return inside & valid[pos[:, 0].clamp(0, H - 1), pos[:, 1].clamp(0, W - 1)]


def refine_pixel_field(pixels, hole_px, offsets, radius, rounds, generator=None, search=16, dims=24, valid=None):
    """PatchMatch on pixel patches. pixels [H,W,3], hole_px bool [H,W] (its True pixels are the
    queries, row-major), offsets long [N,2] initial query -> source shifts; needs at least one
    valid source centre (`source_centres`; pass it as valid to skip recomputing it). Returns
    (offsets [N,2], distance [N]) with every source centre valid."""
    H, W = hole_px.shape
    device = pixels.device
    queries = hole_px.nonzero()
    valid = source_centres(hole_px, radius) if valid is None else valid
    pool = valid.nonzero()
    bad = ~_valid_at(valid, queries + offsets)
    if bool(bad.any()):  # start those from random known patches
        pick = torch.randint(0, pool.shape[0], (int(bad.sum()),), device=device, generator=generator)
        offsets = offsets.clone()
        offsets[bad] = pool[pick] - queries[bad]
    patches = QueryPatches(pixels, queries, radius, dims)
    dist = patches.distance(queries + offsets)
    slot = torch.full((H, W), -1, dtype=torch.long, device=device)
    slot[queries[:, 0], queries[:, 1]] = torch.arange(queries.shape[0], device=device)
    neighbours = []
    for (dy, dx), step in ((n, k) for k in _PROPAGATION_STEPS for n in _NEIGHBOURS):
        ny, nx = queries[:, 0] + dy * step, queries[:, 1] + dx * step
        inside = (ny >= 0) & (ny < H) & (nx >= 0) & (nx < W)
        neighbours.append(torch.where(inside, slot[ny.clamp(0, H - 1), nx.clamp(0, W - 1)], torch.full_like(ny, -1)))

    def consider(candidate, allowed):
        nonlocal offsets, dist
        ok = allowed & (candidate != offsets).any(1) & _valid_at(valid, queries + candidate)
        if not bool(ok.any()):
            return
        idx = ok.nonzero()[:, 0]
        d = patches.distance(queries[idx] + candidate[idx], idx)
        better = d < dist[idx]
        idx = idx[better]
        offsets[idx] = candidate[idx]
        dist[idx] = d[better]

    offsets = offsets.clone()
    for _ in range(rounds):
        for nb in neighbours:
            has = nb >= 0
            consider(offsets[nb.clamp_min(0)], has)
        span = search
        while span >= 1:
            jitter = torch.randint(-span, span + 1, offsets.shape, device=device, generator=generator)
            consider(offsets + jitter, torch.ones_like(dist, dtype=torch.bool))
            span //= 2
    return offsets, dist


def vote_pixel_field(pixels, hole_px, offsets, radius, weights=None):
    """Rebuild the hole from a pixel field: each hole pixel = mean of the source pixels that the
    patches of the hole pixels covering it propose, weighted by weights [N] (None = equal).
    pixels [H,W,3]; returns a new [H,W,3]."""
    H, W, _ = pixels.shape
    queries = hole_px.nonzero()
    flat = pixels.reshape(-1, 3)
    acc = torch.zeros_like(flat)
    count = torch.zeros(H * W, dtype=pixels.dtype, device=pixels.device)
    for d in _patch_offsets(radius, pixels.device):
        t = queries + d
        ok = (t[:, 0] >= 0) & (t[:, 0] < H) & (t[:, 1] >= 0) & (t[:, 1] < W)
        ok &= hole_px[t[:, 0].clamp(0, H - 1), t[:, 1].clamp(0, W - 1)]
        s = t + offsets
        t_idx = (t[:, 0] * W + t[:, 1])[ok]
        w = torch.ones_like(t_idx, dtype=pixels.dtype) if weights is None else weights[ok]
        acc.index_add_(0, t_idx, flat[(s[:, 0] * W + s[:, 1])[ok]] * w[:, None])
        count.index_add_(0, t_idx, w)
    voted = acc / count.clamp_min(1e-12)[:, None]
    keep = hole_px.reshape(-1) & (count > 0)
    return torch.where(keep[:, None], voted, flat).reshape(H, W, 3)


def synthesise_pixels(image, hole_px, offsets, radius=3, steps=2, rounds=2, generator=None, dims=24,
                      weighted=True, sharpness=1.0, blocked_px=None):
    """EM on pixel patches for one image: (refine field -> vote) x steps.

    image [3,H,W] float 0..1 (current estimate, hole filled), hole_px bool [H,W], offsets long [N,2]
    initial shifts of the hole pixels (row-major order of hole_px.nonzero()). Returns
    ([3,H,W] new image, offsets [N,2]); known pixels unchanged; the image as it is when no
    (2 radius + 1)^2 patch of the image is wholly known (nothing to copy). weighted: each patch's vote counts
    exp(-sharpness x d / mean d) by its patch distance d, so poor matches blur the copy less (a
    larger sharpness lets the best of the overlapping copies decide more of each pixel). blocked_px:
    optional bool [H,W] of pixels that no copied patch may touch (they are not filled either).
    """
    valid = source_centres(hole_px if blocked_px is None else hole_px | blocked_px, radius)
    if not bool(valid.any()):
        return image.clone(), offsets
    pixels = image.permute(1, 2, 0).contiguous()
    for _ in range(steps):
        offsets, dist = refine_pixel_field(pixels, hole_px, offsets, radius, rounds, generator, dims=dims,
                                           valid=valid)
        weights = torch.exp(-sharpness * dist / dist.mean().clamp_min(1e-12)) if weighted else None
        pixels = vote_pixel_field(pixels, hole_px, offsets, radius, weights)
    return pixels.permute(2, 0, 1).contiguous(), offsets
