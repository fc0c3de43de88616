"""Directional line fills: each hole pixel interpolated between the nearest known pixels on a
straight line through it, for a fixed set of line directions.

A straight edge that crosses the hole (a horizon, a leaf's border, a collar) is continued exactly
by the fill whose direction matches it, which a membrane (harmonic) fill cannot do: it smears
the edge. The content network with `residual_base="directional"` learns, per pixel, how to mix
these fills and the harmonic fill (`lite_net`), which gives it straight-structure
continuation without having to learn geometry from scratch.

Directions (`DIRECTIONS`): lines y = y0 + slope * x or, on the transposed image, x = x0 + slope * y.
Shifting column x by round(slope * x) pixels (a skew) turns such a line into a row, which is
interpolated and skewed back. Angles: 0, +-26.6, +-45 degrees from horizontal, and 90, +-63.4
degrees.
"""

from __future__ import annotations

import torch

# (transpose, slope): transpose False interpolates along (skewed) rows, True along columns.
# Angles from horizontal: 0, +-45, +-26.6 degrees for rows; 90, +-63.4 degrees for columns.
DIRECTIONS: tuple[tuple[bool, float], ...] = (
    (False, 0.0), (False, 1.0), (False, -1.0), (False, 0.5), (False, -0.5),
    (True, 0.0), (True, 0.5), (True, -0.5),
)


def _interpolate_rows(values: torch.Tensor, known: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Linear interpolation along the last axis between the nearest known entries on each side.

    values `[B, C, H, W]`, known `[B, 1, H, W]` bool. Returns (filled `[B, C, H, W]`, found
    `[B, 1, H, W]` bool: False where a row holds no known entry at all). Entries with a known
    neighbour on one side only take that neighbour's value; known entries keep their value.
    """
    width = values.shape[-1]
    pos = torch.arange(width, device=values.device).view(1, 1, 1, width).expand_as(known)
    left = torch.where(known, pos, torch.full_like(pos, -1)).cummax(dim=-1).values
    right = torch.where(known, pos, torch.full_like(pos, width)).flip(-1).cummin(dim=-1).values.flip(-1)
    has_left, has_right = left >= 0, right < width
    left_c = left.clamp(0, width - 1).expand(-1, values.shape[1], -1, -1)
    right_c = right.clamp(0, width - 1).expand(-1, values.shape[1], -1, -1)
    v_left = values.gather(-1, left_c)
    v_right = values.gather(-1, right_c)
    d_left = (pos - left).to(values.dtype)
    d_right = (right - pos).to(values.dtype)
    both = (has_left & has_right).to(values.dtype)
    t = d_left / (d_left + d_right).clamp_min(1.0)
    blended = v_left * (1 - t) + v_right * t
    one_sided = torch.where(has_left, v_left, v_right)
    filled = both * blended + (1 - both) * one_sided
    return torch.where(known, values, filled), has_left | has_right


def _skew_index(length: int, slope: float, device) -> tuple[torch.Tensor, int]:
    """Per-column shifts round(slope * x) made non-negative, and the skewed canvas height."""
    shifts = torch.round(slope * torch.arange(length, device=device, dtype=torch.float32)).long()
    shifts = shifts - shifts.min()
    return shifts, int(shifts.max())


def _line_fill(image: torch.Tensor, known: torch.Tensor, slope: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Fill along lines y = y0 + slope * x: image `[B, C, H, W]`, known `[B, 1, H, W]` bool.

    Column x is shifted down by round(slope * x) (made non-negative) onto a taller canvas, where
    those lines are rows; rows are interpolated and the canvas is shifted back.
    """
    if slope == 0.0:  # the lines already are rows
        return _interpolate_rows(image, known)
    b, c, h, w = image.shape
    shifts, extra = _skew_index(w, slope, image.device)
    canvas_h = h + extra
    v = torch.arange(canvas_h, device=image.device).view(canvas_h, 1)
    src_y = v - (extra - shifts.view(1, w))  # canvas row v of column x holds image row v - (extra - shift_x)
    inside = (src_y >= 0) & (src_y < h)
    gather_y = src_y.clamp(0, h - 1).view(1, 1, canvas_h, w)
    canvas = image.gather(-2, gather_y.expand(b, c, -1, -1))
    canvas_known = known.gather(-2, gather_y.expand(b, 1, -1, -1)) & inside.view(1, 1, canvas_h, w)
    filled, found = _interpolate_rows(canvas, canvas_known)
    back_y = (torch.arange(h, device=image.device).view(h, 1) + (extra - shifts.view(1, w))).view(1, 1, h, w)
    return filled.gather(-2, back_y.expand(b, c, -1, -1)), found.gather(-2, back_y.expand(b, 1, -1, -1))


def directional_fills(image: torch.Tensor, mask: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    """One fill of the hole per direction in `DIRECTIONS`.

    image `[B, 3, H, W]`, mask `[B, 1, H, W]` (> 0.5 = hole), fallback `[B, 3, H, W]` (used where a
    line meets no known pixel, e.g. the harmonic fill); any device and float dtype.
    Returns `[B, len(DIRECTIONS), 3, H, W]`; known pixels hold `image` in every fill.
    """
    known = mask <= 0.5
    fills = []
    for transpose, slope in DIRECTIONS:
        img, kn = (image.transpose(-1, -2), known.transpose(-1, -2)) if transpose else (image, known)
        filled, found = _line_fill(img, kn, slope)
        if transpose:
            filled, found = filled.transpose(-1, -2), found.transpose(-1, -2)
        fills.append(torch.where(found, filled, fallback))
    return torch.stack(fills, dim=1)
