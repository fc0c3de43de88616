"""Neural patch matching against a brute-force reference; loss terms and their gradients."""

import torch

from nps_core.losses import content_loss, tv_loss
from nps_core.patches import feature_mask, gather_patches, nearest_sources, normalise_rows, patch_centres


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
