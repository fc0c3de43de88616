"""Match fields of neural patches: which known patch each hole patch copies, on one feature layer.

Used by the synthesis step (`nps_core.synthesis`), one image and one level at a time:

- `patch_descriptors`: every cell's k x k x C patch, unit-normalised, as rows of one matrix;
- `hole_cells`: the cells whose patch touches the hole (queries) and those wholly known (sources);
- `exhaustive_field`: each hole patch's nearest source patch by normalised cross-correlation (the
  paper's matching), used at the coarsest level and wherever no coarser field is available;
- `upsample_field`: a coarser level's field carried to this level (offsets scaled);
- `refine_field`: PatchMatch-style rounds: each hole patch compares its source with its neighbours'
  offsets and with random nearby sources, scored by cross-correlation plus a bonus for offsets its
  neighbours share, so regions copy contiguous source areas.

Positions are long `[N, 2]` (row, col) cell indices on the feature map; descriptors are float
`[h*w, D]` on the feature map's device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .patches import feature_mask, patch_centres, subsample

_NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1))


@dataclass
class MatchField:
    """Matches of one image on one feature layer at one level.

    queries / sources: long [Q,2] cell positions (row, col) of hole patch centres and their matched
    source centres; similarity: float [Q] descriptor similarity of each pair; shape: (h, w) of the
    map; stride: px per cell; shift: long [Q,2] pixel displacement query -> source used for voting
    ((sources - queries) x stride, refined to single pixels by `refine_shifts`; None = unrefined).
    """

    queries: torch.Tensor
    sources: torch.Tensor
    similarity: torch.Tensor
    shape: tuple
    stride: int
    shift: torch.Tensor | None = None

    def pixel_shift(self) -> torch.Tensor:
        return (self.sources - self.queries) * self.stride if self.shift is None else self.shift


def patch_descriptors(feat: torch.Tensor, image: torch.Tensor, stride: int, k: int,
                      colour_weight: float) -> torch.Tensor:
    """Descriptors of every cell's k x k patch: [h*w, C*k*k + 3*k*k] float32, row = y*w + x.

    feat [C,h,w]; image [3,H,W] 0..1 (H, W >= h*stride, w*stride). A row is the unit-norm neural
    patch followed by colour_weight x the patch's cell colours (s x s block means), so that
    -|a - b|^2 / 2 = cross-correlation - 1 - colour_weight^2 |colour difference|^2 / 2: neural
    patches pick the structure, the colours stop flat sky matching a flat blur of another colour.
    Patches are zero-padded at the border.
    """
    r = k // 2
    c, h, w = feat.shape
    dn = c * k * k
    colour_dims = 3 * k * k if colour_weight > 0 else 0
    out = torch.empty(h, w, dn + colour_dims, dtype=torch.float32, device=feat.device)
    padded = F.pad(feat.float(), (r, r, r, r)).permute(1, 2, 0)               # [h+2r, w+2r, C] view
    if colour_dims:
        cells = F.avg_pool2d(image[None, :, : h * stride, : w * stride].float(), stride)[0]
        cells = F.pad(cells * colour_weight, (r, r, r, r)).permute(1, 2, 0)  # [h+2r, w+2r, 3]
    j = 0
    for dy in range(k):  # rows written in place, block by block: no [D, h*w] layout to transpose
        for dx in range(k):
            out[:, :, j * c : (j + 1) * c] = padded[dy : dy + h, dx : dx + w]
            if colour_dims:
                out[:, :, dn + 3 * j : dn + 3 * (j + 1)] = cells[dy : dy + h, dx : dx + w]
            j += 1
    out = out.view(h * w, dn + colour_dims)
    neural = out[:, :dn]
    neural /= torch.linalg.vector_norm(neural, dim=1, keepdim=True).clamp_min(1e-8)
    return out


def pair_similarity(desc: torch.Tensor, w: int, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """-|d_a - d_b|^2 / 2 of the descriptor rows at cells a [N,2] and b [N,2] -> [N] (higher = closer)."""
    return -0.5 * (desc[a[:, 0] * w + a[:, 1]] - desc[b[:, 0] * w + b[:, 1]]).pow(2).sum(dim=1)


class _Scorer:
    """pair_similarity against fixed query cells, for many candidate sets.

    -|q - c|^2 / 2 = q.c - |q|^2 / 2 - |c|^2 / 2: the query rows are gathered once and every cell's
    squared norm is computed once, so each candidate set costs one gather and one dot product per
    query (about a third of the memory traffic of the difference form; the same value up to
    rounding).
    """

    def __init__(self, desc: torch.Tensor, w: int, queries: torch.Tensor):
        self.desc, self.w = desc, w
        self.half = 0.5 * torch.linalg.vector_norm(desc, dim=1).pow(2)     # [h*w]
        idx = queries[:, 0] * w + queries[:, 1]
        self.rows = desc.index_select(0, idx)                                 # [Q,D]
        self.query_half = self.half[idx]

    def __call__(self, cells: torch.Tensor, current: torch.Tensor | None = None,
                 current_score: torch.Tensor | None = None) -> torch.Tensor:
        """Scores [Q] of cells [Q,2]; rows whose cell equals `current` [Q,2] reuse current_score [Q]."""
        if current is not None:
            changed = (cells != current).any(dim=1)
            rows = changed.nonzero()[:, 0]
            if rows.numel() < cells.shape[0] // 2:  # in a coherent field most candidates are the current source
                out = current_score.clone()
                idx = cells[rows, 0] * self.w + cells[rows, 1]
                dot = torch.einsum("qd,qd->q", self.desc.index_select(0, idx), self.rows.index_select(0, rows))
                out[rows] = dot - self.half[idx] - self.query_half[rows]
                return out
        idx = cells[:, 0] * self.w + cells[:, 1]
        dot = torch.einsum("qd,qd->q", self.desc.index_select(0, idx), self.rows)
        return dot - self.half[idx] - self.query_half


def nearest_rows(queries: torch.Tensor, bank: torch.Tensor, chunk_elements: int = 1 << 24) -> torch.Tensor:
    """Index of the bank row [S,D] nearest (L2) to each query row [Q,D] -> long [Q]; chunked products."""
    bias = 0.5 * bank.pow(2).sum(dim=1)
    step = max(1, int(chunk_elements) // max(1, bank.shape[0]))
    out = torch.empty(queries.shape[0], dtype=torch.long, device=queries.device)
    for start in range(0, queries.shape[0], step):
        out[start : start + step] = (queries[start : start + step] @ bank.t() - bias).argmax(dim=1)
    return out


def hole_cells(hole_px: torch.Tensor, shape: tuple, k: int, blocked_px: torch.Tensor | None = None):
    """Pixel hole bool [H,W] -> (queries [Q,2], sources [S,2], valid source centres bool [h,w]) on an (h, w) map.

    blocked_px: optional bool [H,W] of pixels that are neither queries nor sources (holes outside
    the window of a `nps_core.source_region` canvas)."""
    hole = feature_mask(hole_px[None, None].float(), shape)[0]
    query, source = patch_centres(hole, k)
    if blocked_px is not None:
        source = patch_centres(hole | feature_mask(blocked_px[None, None].float(), shape)[0], k)[1]
    valid = torch.zeros_like(hole)
    valid[source[:, 0], source[:, 1]] = True
    return query, source, valid


def exhaustive_field(desc, shape, queries, source, max_sources, chunk_elements=1 << 24):
    """Best source (of `source` [S,2], evenly subsampled to max_sources) for each query [Q,2]."""
    w = shape[1]
    bank_pos = subsample(source, max_sources)
    bank = desc[bank_pos[:, 0] * w + bank_pos[:, 1]]
    q = desc[queries[:, 0] * w + queries[:, 1]]
    return bank_pos[nearest_rows(q, bank, chunk_elements)]


def upsample_field(coarse: MatchField, queries: torch.Tensor, shape: tuple, valid: torch.Tensor):
    """Carry a coarser field to this level's queries [Q,2] on an (h, w) map.

    A query takes the offset of the coarse query covering it, scaled by the size ratio. Returns
    (sources [Q,2], ok bool [Q]); ok is False where no coarse offset lands on a valid source.
    """
    h, w = shape
    ch, cw = coarse.shape
    offset = torch.zeros(ch, cw, 2, dtype=torch.long, device=queries.device)
    known = torch.zeros(ch, cw, dtype=torch.bool, device=queries.device)
    offset[coarse.queries[:, 0], coarse.queries[:, 1]] = coarse.sources - coarse.queries
    known[coarse.queries[:, 0], coarse.queries[:, 1]] = True
    cy = (queries[:, 0] * ch // h).clamp(0, ch - 1)
    cx = (queries[:, 1] * cw // w).clamp(0, cw - 1)
    scale = torch.tensor([h / ch, w / cw], device=queries.device)
    cand = queries + (offset[cy, cx].float() * scale).round().long()
    inside = (cand[:, 0] >= 0) & (cand[:, 0] < h) & (cand[:, 1] >= 0) & (cand[:, 1] < w)
    ok = known[cy, cx] & inside & valid[cand[:, 0].clamp(0, h - 1), cand[:, 1].clamp(0, w - 1)]
    return cand, ok


def refine_field(desc, shape, queries, sources, valid, rounds=4, bonus=0.05, random_candidates=2,
                 generator=None):
    """PatchMatch-style refinement favouring offsets shared with neighbours.

    desc [h*w, D] (patch_descriptors), queries/sources [Q,2], valid bool [h,w] (allowed source
    centres). Each round every query scores its source, each 4-neighbour's offset, and
    `random_candidates` random sources around its own (radius halving from the map size), by
    cross-correlation + bonus x (fraction of neighbours with the same offset), and keeps the best
    (all queries at once). Returns (sources [Q,2], similarity [Q]).
    """
    h, w = shape
    device = queries.device
    ys, xs = queries[:, 0], queries[:, 1]
    slot = torch.full((h, w), -1, dtype=torch.long, device=device)
    slot[ys, xs] = torch.arange(queries.shape[0], device=device)
    neighbour = []
    for dy, dx in _NEIGHBOURS:
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        neighbour.append(torch.where(inside, slot[ny.clamp(0, h - 1), nx.clamp(0, w - 1)], torch.full_like(ys, -1)))
    neighbour = torch.stack(neighbour, dim=1)              # [Q,4], -1 = not a query
    has = neighbour >= 0
    nb = neighbour.clamp_min(0)
    score = _Scorer(desc, w, queries)
    sim = score(sources)
    pick = torch.arange(queries.shape[0], device=device)
    radius = max(h, w)
    for _ in range(rounds):
        offset = sources - queries
        cands = [sources] + [queries + offset[nb[:, j]] for j in range(4)]
        for _ in range(random_candidates):
            jitter = torch.randint(-radius, radius + 1, sources.shape, device=device, generator=generator)
            cands.append(sources + jitter)
        radius = max(1, radius // 2)
        cands = torch.stack(cands, dim=1)                  # [Q,N,2]
        cy, cx = cands[..., 0], cands[..., 1]
        ok = (cy >= 0) & (cy < h) & (cx >= 0) & (cx < w)
        ok = ok & valid[cy.clamp(0, h - 1), cx.clamp(0, w - 1)]
        ok[:, 1:5] &= has
        ok[:, 0] = True
        cands = torch.where(ok[..., None], cands, sources[:, None])
        sims = torch.stack([sim] + [score(cands[:, c], sources, sim) for c in range(1, cands.shape[1])], dim=1)
        cand_off = cands - queries[:, None]
        agree = ((cand_off[:, :, None] == offset[nb][:, None]).all(-1) & has[:, None]).float().sum(-1)
        best = (sims + bonus * agree / 4.0).argmax(dim=1)
        sources, sim = cands[pick, best], sims[pick, best]
    return sources, sim
