"""Straight-line fills (nps_core.content.directional_fill) used by the "directional" content-net base."""

import pytest
import torch

from nps_core.content.directional_fill import DIRECTIONS, directional_fills

SIZE = 64


def _grid():
    y = torch.arange(SIZE, dtype=torch.float32).view(SIZE, 1).expand(SIZE, SIZE)
    x = torch.arange(SIZE, dtype=torch.float32).view(1, SIZE).expand(SIZE, SIZE)
    return y, x


def _hole():
    mask = torch.zeros(1, 1, SIZE, SIZE)
    mask[..., 20:44, 16:48] = 1.0
    return mask


def _stripes(transpose: bool, slope: float) -> torch.Tensor:
    """Stripes 6 px wide running along the lines of DIRECTIONS entry (transpose, slope)."""
    y, x = _grid()
    if transpose:
        y, x = x, y
    phase = y - slope * x  # constant along y = y0 + slope * x
    return ((torch.floor(phase / 6) % 2).float()).view(1, 1, SIZE, SIZE).expand(1, 3, SIZE, SIZE)


def _hole_errors(image, mask):
    fills = directional_fills(image, mask, torch.zeros_like(image))
    return [float(((fills[:, k] - image).abs() * mask).sum() / (mask.sum() * 3)) for k in range(len(DIRECTIONS))]


@pytest.mark.parametrize("index", range(len(DIRECTIONS)))
def test_the_matching_direction_continues_straight_stripes(index):
    image = _stripes(*DIRECTIONS[index])
    errors = _hole_errors(image, _hole())
    best = min(range(len(errors)), key=errors.__getitem__)
    assert best == index, errors
    assert errors[index] < 0.2 < min(e for k, e in enumerate(errors) if k != index)


def test_axis_aligned_stripes_are_continued_exactly():
    mask = _hole()
    errors = _hole_errors(_stripes(False, 0.0), mask)
    assert errors[DIRECTIONS.index((False, 0.0))] == 0.0
    errors = _hole_errors(_stripes(True, 0.0), mask)
    assert errors[DIRECTIONS.index((True, 0.0))] == 0.0


def test_a_linear_ramp_is_reproduced_by_interpolation():
    y, _ = _grid()
    image = (y / SIZE).view(1, 1, SIZE, SIZE).expand(1, 3, SIZE, SIZE)
    fills = directional_fills(image, _hole(), torch.zeros_like(image))
    assert torch.allclose(fills[:, DIRECTIONS.index((True, 0.0))], image, atol=1e-6)


def test_known_pixels_are_kept_and_unreachable_pixels_take_the_fallback():
    image = torch.rand(2, 3, SIZE, SIZE)
    mask = torch.zeros(2, 1, SIZE, SIZE)
    mask[..., 10:20, :] = 1.0  # whole rows missing: horizontal lines meet no known pixel
    fallback = torch.full_like(image, 0.25)
    image_copy = image.clone()
    fills = directional_fills(image, mask, fallback)
    assert fills.shape == (2, len(DIRECTIONS), 3, SIZE, SIZE)
    known = (mask <= 0.5).expand(-1, 3, -1, -1)
    for k in range(len(DIRECTIONS)):
        assert torch.equal(fills[:, k][known], image[known])
    horizontal = fills[:, DIRECTIONS.index((False, 0.0))]
    assert torch.equal(horizontal[..., 10:20, :], fallback[..., 10:20, :])
    vertical = fills[:, DIRECTIONS.index((True, 0.0))]
    assert not torch.equal(vertical[..., 10:20, :], fallback[..., 10:20, :])
    assert torch.equal(image, image_copy)


def test_one_sided_lines_copy_their_only_known_neighbour():
    image = torch.rand(1, 3, SIZE, SIZE)
    mask = torch.zeros(1, 1, SIZE, SIZE)
    mask[..., 30:40, 50:] = 1.0  # touches the right border
    fills = directional_fills(image, mask, torch.zeros_like(image))
    horizontal = fills[:, DIRECTIONS.index((False, 0.0))]
    assert torch.equal(horizontal[..., 30:40, 50:], image[..., 30:40, 49:50].expand(-1, -1, -1, SIZE - 50))
