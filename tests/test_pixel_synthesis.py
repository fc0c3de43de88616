"""Pixel-level patch synthesis (nps_core.pixel_synthesis) and the level hand-over (nps_core.border_match)."""

from __future__ import annotations

import math

import torch

from nps_core.border_match import match_border
from nps_core.pixel_synthesis import (
    QueryPatches,
    field_from_cells,
    refine_pixel_field,
    source_centres,
    synthesise_pixels,
    vote_pixel_field,
)


def stripes(size: int, period: int) -> torch.Tensor:
    """[3,size,size] vertical sinusoidal stripes with three colour phases, 0..1."""
    x = torch.arange(size, dtype=torch.float32)
    phase = torch.tensor([0.0, 1.0, 2.0])[:, None, None]
    return (0.5 + 0.4 * torch.sin(2 * math.pi * x[None, None, :] / period + phase)).expand(3, size, size).clone()


def psnr(a: torch.Tensor, b: torch.Tensor, hole: torch.Tensor) -> float:
    mse = float(((a - b) ** 2)[:, hole].mean())
    return 10 * math.log10(1 / max(mse, 1e-10))


def square(size: int, top: int, side: int) -> torch.Tensor:
    hole = torch.zeros(size, size, dtype=torch.bool)
    hole[top : top + side, top : top + side] = True
    return hole


def test_source_centres_excludes_patches_that_touch_the_hole_or_leave_the_image():
    hole = square(32, 10, 4)
    valid = source_centres(hole, 2)
    assert not valid[:2].any() and not valid[-2:].any() and not valid[:, :2].any() and not valid[:, -2:].any()
    assert not valid[8:16, 8:16].any()          # within 2 px of the hole
    assert valid[7, 20] and valid[20, 20] and not valid[8, 8]


def test_patch_distance_is_zero_for_identical_patches_and_grows_with_difference():
    image = stripes(32, 8).permute(1, 2, 0).contiguous()
    queries = torch.tensor([[10, 10], [10, 10], [10, 10]])
    patches = QueryPatches(image, queries, 2)
    same = torch.tensor([[10, 18], [10, 14], [10, 12]])  # one period, half a period, a quarter
    d = patches.distance(same)
    assert float(d[0]) < 1e-10
    assert float(d[1]) > float(d[2]) > 0
    # principal components keep the ranking
    d24 = QueryPatches(image, queries, 2, dims=8).distance(same)
    assert float(d24[0]) < 1e-8 and float(d24[1]) > float(d24[2])


def test_vote_with_a_constant_offset_copies_the_source():
    image = torch.rand(40, 40, 3, generator=torch.Generator().manual_seed(0))
    hole = square(40, 12, 8)
    queries = hole.nonzero()
    offsets = torch.tensor([[0, 16]]).expand(queries.shape[0], 2)
    out = vote_pixel_field(image, hole, offsets, 2)
    assert torch.allclose(out[12:20, 12:20], image[12:20, 28:36])
    assert torch.equal(out[~hole], image[~hole])


def test_refine_pixel_field_finds_the_matching_shift_and_only_valid_sources():
    truth = stripes(64, 8)
    hole = square(64, 24, 12)
    pixels = truth.permute(1, 2, 0).contiguous()
    queries = hole.nonzero()
    start = torch.zeros_like(queries)
    start[:, 1] = 3                       # off by 3 px: a phase error
    offsets, dist = refine_pixel_field(pixels, hole, start, 3, 3, torch.Generator().manual_seed(0))
    valid = source_centres(hole, 3)
    src = queries + offsets
    assert bool(valid[src[:, 0], src[:, 1]].all())
    assert float((offsets[:, 1] % 8 == 0).float().mean()) > 0.95   # whole periods
    assert float(dist.mean()) < 1e-3


def test_synthesis_continues_stripes_from_a_blurred_start_and_beats_the_blur():
    truth = stripes(96, 8)
    hole = square(96, 30, 36)
    blurred = truth.clone()
    blurred[:, hole] = truth[:, hole].mean(dim=1, keepdim=True)   # flat colour: no stripe left
    queries = hole.nonzero()
    out, _ = synthesise_pixels(blurred, hole, torch.zeros_like(queries), radius=3, steps=4, rounds=3,
                               generator=torch.Generator().manual_seed(1), dims=0)
    assert psnr(out, truth, hole) > psnr(blurred, truth, hole) + 9
    assert torch.equal(out[:, ~hole], blurred[:, ~hole])


def test_field_from_cells_gives_each_pixel_its_cells_shift():
    cells = torch.tensor([[1, 1], [1, 2]])
    shift = torch.tensor([[4, -8], [0, 12]])
    pixels = torch.tensor([[4, 4], [7, 7], [5, 9], [0, 0]])
    got = field_from_cells(pixels, cells, shift, 4, (16, 16))
    assert got.tolist() == [[4, -8], [4, -8], [0, 12], [0, 0]]


def test_match_border_makes_a_fill_meet_the_border_and_interpolates_a_thin_hole():
    y, x = torch.meshgrid(torch.linspace(0, 1, 48), torch.linspace(0, 1, 48), indexing="ij")
    image = torch.stack([0.2 + 0.6 * x, 0.3 + 0.4 * y, 0.5 + 0.2 * x * 0 + 0.1 * y])[None]
    mask = torch.zeros(1, 1, 48, 48)
    mask[..., 20:23, 5:43] = 1                       # a 3 px high stroke
    fill = torch.full_like(image, 0.5)               # a wrong, flat fill (a coarse level's blur)
    before = (fill, image, mask)
    snapshot = [t.clone() for t in before]
    out = match_border(fill, image, mask)
    hole = mask[0, 0] > 0.5
    assert float((out - image)[0][:, hole].abs().max()) < 0.02     # a linear ramp is harmonic: recovered
    assert torch.equal(out[0][:, ~hole], image[0][:, ~hole])
    assert all(torch.equal(a, b) for a, b in zip(before, snapshot, strict=True))   # inputs untouched


def test_synthesis_without_any_known_patch_returns_the_image():
    image = torch.rand(3, 12, 12, generator=torch.Generator().manual_seed(0))
    hole = torch.zeros(12, 12, dtype=torch.bool)
    hole[2:10, 2:10] = True                      # every 7x7 patch touches the hole or the border
    out, _ = synthesise_pixels(image, hole, torch.zeros(int(hole.sum()), 2, dtype=torch.long))
    assert torch.equal(out, image) and out is not image
