"""Neural patches on feature maps and their nearest-neighbour matching.

A neural patch is the k x k x C block of a feature map around a centre cell. Query patches are
those whose centre lies in the (feature-resolution) hole; source patches are those lying entirely
outside it. Each query is matched to the source with the highest normalised cross-correlation
(cosine similarity of the flattened patches), computed as chunked matrix products so the full
query-by-source similarity matrix never exists at once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def feature_mask(mask: torch.Tensor, feat_hw: tuple) -> torch.Tensor:
    """Pixel mask [B,1,H,W] (1 = hole) -> bool hole map [B,h,w] at feature resolution.

    A feature cell is hole if any pixel of its footprint is (adaptive max pooling).
    """
    return F.adaptive_max_pool2d((mask > 0.5).float(), tuple(feat_hw))[:, 0] > 0.5


def patch_centres(hole: torch.Tensor, patch_size: int):
    """Valid patch centres of one map. hole: bool [h,w].

    Returns (query_yx, source_yx), each a long tensor [N,2] of (row, col): queries are centres in the
    hole, sources are centres whose whole k x k patch is outside it. Only centres whose patch fits
    inside the map are used.
    """
    r = patch_size // 2
    h, w = hole.shape
    valid = torch.zeros_like(hole)
    if h > 2 * r and w > 2 * r:
        valid[r : h - r, r : w - r] = True
    touched = F.max_pool2d(hole[None, None].float(), patch_size, stride=1, padding=r)[0, 0] > 0.5
    query = torch.nonzero(valid & hole)
    source = torch.nonzero(valid & ~touched)
    return query, source


def subsample(positions: torch.Tensor, limit: int) -> torch.Tensor:
    """Keep at most `limit` rows of positions [N,2], evenly spaced (deterministic)."""
    n = positions.shape[0]
    if limit <= 0 or n <= limit:
        return positions
    idx = torch.linspace(0, n - 1, limit, device=positions.device).round().long()
    return positions[idx]


def gather_patches(feat: torch.Tensor, centres: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Flattened patches of one feature map. feat [C,h,w], centres [N,2] -> [N, k*k*C].

    Differentiable w.r.t. feat (plain indexing), so it serves the loss as well as the source bank.
    Centres must be at least k//2 cells from the border. The result is contiguous (row-major);
    a channels-last map (the extractor's) is gathered as whole C-vectors.
    """
    r = patch_size // 2
    ys, xs = centres[:, 0], centres[:, 1]
    cells = feat.permute(1, 2, 0)  # [h,w,C] view
    blocks = []
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            blocks.append(cells[ys + dy, xs + dx])  # [N, C]
    return torch.cat(blocks, dim=1)


def normalise_rows(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Rows of x [N,D] scaled to unit L2 norm (zero rows stay zero)."""
    return x / x.norm(dim=1, keepdim=True).clamp_min(eps)


def projection_basis(bank: torch.Tensor, dims: int, sample: int = 4096) -> torch.Tensor | None:
    """Orthonormal basis [D, dims] of the dominant (uncentred) directions of the rows of bank [S,D].

    Products of unit-norm patches barely change when both are projected on it: neural patches are
    highly redundant (9 overlapping cells of correlated channels; 64 of 1296 dimensions hold ~97%
    of efficientnet_lite0's stride-4 patch energy). Found by a randomised range finder with two
    power iterations on at most `sample` evenly spaced rows, with a fixed-seed generator (the
    global RNG is untouched, results are deterministic). None when dims <= 0 or dims >= D / 2
    (no gain: search the full patches). Float32, on the bank's device.
    """
    d_full = bank.shape[1]
    if dims <= 0 or 2 * dims >= d_full or bank.shape[0] == 0:
        return None
    rows = bank.float()
    if rows.shape[0] > sample:
        rows = rows[torch.linspace(0, rows.shape[0] - 1, sample, device=rows.device).round().long()]
    g = torch.Generator(device="cpu").manual_seed(0)
    basis = torch.randn(d_full, dims, generator=g).to(rows.device)
    for _ in range(3):  # range finding + 2 power iterations: span of the top right-singular vectors
        basis = torch.linalg.qr(rows.t() @ (rows @ basis)).Q
    return basis.contiguous()


def nearest_sources(
    queries: torch.Tensor,
    sources_normed: torch.Tensor,
    chunk_elements: int = 1 << 24,
    basis: torch.Tensor | None = None,
) -> torch.Tensor:
    """Index of the best source for each query by normalised cross-correlation.

    queries [Q,D] (any scale), sources_normed [S,D] (rows already unit norm, see normalise_rows).
    Returns long [Q] on the queries' device. Works in chunks of queries so that at most
    `chunk_elements` similarities exist at once (the full query-by-source matrix never does);
    queries are normalised and cast to the sources' dtype chunk by chunk too (no full copies).
    The products run in the sources' dtype (bf16/fp16 banks give reduced-precision matching).

    basis [D,d] (see `projection_basis`): the search runs on projections, sources_normed is then
    the projected bank [S,d] (`unit rows @ basis`) and each normalised query is projected the same
    way: D/d times fewer operations, an approximate argmax (the measured loss of similarity is
    ~1e-4 of a mean 0.95 at d = 128, bench/README.md).
    """
    queries = queries.detach()
    n_src = sources_normed.shape[0]
    step = max(1, int(chunk_elements) // max(1, n_src))
    out = torch.empty(queries.shape[0], dtype=torch.long, device=queries.device)
    bank_t = sources_normed.t()
    for start in range(0, queries.shape[0], step):
        q = normalise_rows(queries[start : start + step])
        if basis is not None:
            q = q.float() @ basis
        out[start : start + step] = (q.to(sources_normed.dtype) @ bank_t).argmax(dim=1)
    return out
