"""Neural patch matching against a brute-force reference; loss terms and their gradients."""

import pytest
import torch

from nps_core.errors import NPSInputError
from nps_core.losses import content_loss, tv_loss
from nps_core.patches import (
    feature_mask,
    gather_patches,
    nearest_sources,
    normalise_rows,
    patch_centres,
    projection_basis,
)


def brute_force_nn(feat, queries, sources, k):
    r = k // 2
    best = []
    for qy, qx in queries.tolist():
        q = feat[:, qy - r:qy + r + 1, qx - r:qx + r + 1].flatten()
        scores = []
        for sy, sx in sources.tolist():
            s = feat[:, sy - r:sy + r + 1, sx - r:sx + r + 1].flatten()
            scores.append(float(torch.dot(q, s) / (q.norm() * s.norm())))
        best.append(max(range(len(scores)), key=scores.__getitem__))
    return torch.tensor(best)


def test_patch_centres_split_hole_and_sources():
    hole = torch.zeros(10, 10, dtype=torch.bool)
    hole[4:6, 4:6] = True
    q, s = patch_centres(hole, 3)
    assert sorted(map(tuple, q.tolist())) == [(4, 4), (4, 5), (5, 4), (5, 5)]
    for y, x in s.tolist():  # whole 3x3 patch outside the hole and inside the map
        assert 1 <= y <= 8 and 1 <= x <= 8
        assert not hole[y - 1:y + 2, x - 1:x + 2].any()
    assert len(s) == 64 - 16


def matching_case(seed, channels, size, rows, cols):
    """Random feature map [channels,size,size] with a rectangular hole
    -> (feat, query/source centres, queries, unit bank)."""
    torch.manual_seed(seed)
    feat = torch.randn(channels, size, size)
    hole = torch.zeros(size, size, dtype=torch.bool)
    hole[rows, cols] = True
    q, s = patch_centres(hole, 3)
    return feat, q, s, gather_patches(feat, q, 3), normalise_rows(gather_patches(feat, s, 3))


def test_nearest_sources_matches_brute_force_in_any_chunking():
    feat, q, s, queries, bank = matching_case(0, 5, 12, slice(3, 8), slice(4, 9))
    expected = brute_force_nn(feat, q, s, 3)
    for chunk in (1, 7, 10_000_000):
        assert torch.equal(nearest_sources(queries, bank, chunk_elements=chunk), expected)


def test_gather_patches_layout_is_row_column_channel():
    # element (dy, dx, c) of a flattened patch is feat[c, y + dy, x + dx]: rows outer, then columns, then channels
    feat = torch.randn(2, 7, 6)
    centres = torch.tensor([[2, 3], [4, 1]])
    p = gather_patches(feat, centres, 3)
    assert p.shape == (2, 18)
    for n, (y, x) in enumerate(centres.tolist()):
        expected = feat[:, y - 1:y + 2, x - 1:x + 2].permute(1, 2, 0).reshape(-1)
        assert torch.equal(p[n], expected)


def test_feature_mask_marks_any_touched_cell():
    m = torch.zeros(1, 1, 32, 32)
    m[..., 9, 17] = 1
    fm = feature_mask(m, (4, 4))
    assert fm.shape == (1, 4, 4) and fm.sum() == 1 and fm[0, 1, 2]


def test_content_loss_value_and_gradient_only_in_hole():
    x = torch.zeros(1, 3, 4, 4, requires_grad=True)
    t = torch.ones(1, 3, 4, 4)
    m = torch.zeros(1, 1, 4, 4)
    m[..., :2, :] = 1
    loss = content_loss(x, t, m)
    assert abs(float(loss.detach()) - 1.0) < 1e-6
    loss.backward()
    assert (x.grad[..., 2:, :] == 0).all() and (x.grad[..., :2, :] < 0).all()


def test_tv_loss_zero_on_flat_and_gradcheck():
    m = torch.ones(1, 1, 5, 5)
    assert float(tv_loss(torch.full((1, 3, 5, 5), 0.3), m)) == 0.0
    x = torch.rand(1, 3, 5, 5, dtype=torch.float64, requires_grad=True)
    mm = torch.zeros(1, 1, 5, 5, dtype=torch.float64)
    mm[..., 1:3, 1:4] = 1
    assert torch.autograd.gradcheck(lambda v: tv_loss(v, mm), (x,))
    assert torch.autograd.gradcheck(lambda v: content_loss(v, torch.zeros_like(v), mm), (x,))


def test_reduced_precision_matching_picks_a_near_best_source():
    feat, q, s, queries, bank = matching_case(1, 8, 16, slice(5, 11), slice(5, 11))
    exact = nearest_sources(queries, bank)
    approx = nearest_sources(queries, bank.bfloat16(), chunk_elements=50)
    sims = normalise_rows(queries) @ bank.t()
    best = sims.gather(1, exact[:, None])[:, 0]
    got = sims.gather(1, approx[:, None])[:, 0]
    assert approx.dtype == torch.long and approx.shape == exact.shape
    assert (best - got).max() < 2e-2  # any difference is a near-tie within bf16 rounding


def test_projection_basis_is_orthonormal_and_off_where_it_cannot_pay():
    bank = normalise_rows(torch.randn(300, 40))
    basis = projection_basis(bank, 8)
    assert basis.shape == (40, 8)
    assert torch.allclose(basis.t() @ basis, torch.eye(8), atol=1e-5)
    assert projection_basis(bank, 0) is None
    assert projection_basis(bank, 20) is None  # 2 x dims >= D: the full patches are as cheap
    assert torch.equal(projection_basis(bank, 8), basis)  # deterministic, global RNG untouched
    state = torch.random.get_rng_state()
    projection_basis(bank, 8)
    assert torch.equal(torch.random.get_rng_state(), state)


def low_rank_patches(seed, n, dims, rank):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, rank, generator=g) @ torch.randn(rank, dims, generator=g)


def test_projected_search_is_exact_when_the_patches_span_few_directions():
    # every patch lies in a 6-dim subspace: projecting on 8 principal directions loses nothing
    mixed = low_rank_patches(0, 700, 64, 6)
    queries, bank = mixed[:200], normalise_rows(mixed[200:])
    basis = projection_basis(bank, 8)
    assert torch.equal(nearest_sources(queries, bank @ basis, chunk_elements=999, basis=basis),
                       nearest_sources(queries, bank))


def test_projected_search_finds_a_near_best_source_on_redundant_patches():
    # real neural patches: a few strong directions plus weak detail
    g = torch.Generator().manual_seed(1)
    mixed = low_rank_patches(1, 1500, 96, 12) + 0.05 * torch.randn(1500, 96, generator=g)
    queries, bank = mixed[:500], normalise_rows(mixed[500:])
    basis = projection_basis(bank, 24)
    picked = nearest_sources(queries, bank @ basis, basis=basis)
    sims = normalise_rows(queries) @ bank.t()
    best, got = sims.max(dim=1).values, sims.gather(1, picked[:, None])[:, 0]
    assert float((best - got).mean()) < 2e-3 and float((best - got).max()) < 2e-2
    assert float((picked == sims.argmax(dim=1)).float().mean()) > 0.7


def test_texture_settings_reject_negative_match_dims():
    from nps_core.texture import make_texture_settings

    with pytest.raises(NPSInputError, match="match_dims"):
        make_texture_settings(match_dims=-1)
