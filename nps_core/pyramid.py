"""Image pyramid for the coarse-to-fine optimisation.

The coarsest level matches the content network (128 px); each finer level doubles up to the
window's own side. Images are resized with antialiasing; masks are resized conservatively (a low-
resolution pixel is hole if any pixel of its footprint is), so the hole never shrinks.

Given the hole mask, image resizing is hole-agnostic: a normalised, mask-weighted filter
`R(image * known) / R(known)` (R = the same antialiased bilinear resize, known = 1 - hole at the
source resolution), so every output pixel is an average of known source pixels only and the
pixels under the hole never reach the result, whatever they hold. The antialiasing filter is wider
than the conservative mask's footprint, so a plain resize would blend hole pixels into the known
low-resolution pixels next to the hole.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import defaults
from .errors import NPSInputError
from .validation import check_bchw, check_mask, check_same_size


def _round_to(value: float, multiple: int) -> int:
    return max(multiple, int(round(value / multiple)) * multiple)


def level_sizes(size: int, coarsest: int = defaults.COARSEST, multiple: int = defaults.MULTIPLE) -> list:
    """Square sides of the pyramid levels, coarse to fine.

    size: the window side S (>= coarsest). The number of levels is round(log2(S / coarsest)) + 1;
    the finest level is S itself, each coarser one half the next (rounded to `multiple`), and the
    coarsest is exactly `coarsest`. Examples: 512 -> [128, 256, 512]; 2048 -> 5 levels; 128 -> [128].
    """
    if size < coarsest:
        raise NPSInputError(f"window size {size} is smaller than the coarsest level {coarsest}.")
    count = max(1, int(round(math.log2(size / coarsest))) + 1)
    sizes = [_round_to(size / 2 ** (count - 1 - i), multiple) for i in range(count)]
    sizes[0] = coarsest
    sizes[-1] = size
    return sizes


def _hw(size) -> tuple:
    """int side or (height, width) -> (height, width)."""
    return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))


HOLE_FILL = 0.5
"""Value of a resized pixel with no known source pixel under its filter (mask-aware resizing only):
mid grey. Such pixels lie deep inside the hole, where `downsample_mask` marks them hole too."""

_MIN_SUPPORT = 1e-6  # known filter weight below which a resized pixel counts as having no support


def _known_weight(mask: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Hole mask [B or 1,1,h,w] (1 = hole, > 0.5 counts) -> known weight [B,1,h,w] in {0,1}, image's dtype/device."""
    check_mask(mask)
    check_same_size(mask, image, batch="same_or_one")
    known = (mask.to(image.device) <= 0.5).to(image.dtype)
    return known.expand(image.shape[0], -1, -1, -1)


def resize_image(image: torch.Tensor, size, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Image [B,C,h,w] -> [B,C,H,W] for size = side or (H, W): bilinear, antialiased when shrinking,
    clamped to 0..1; a new tensor on the image's device and dtype.

    mask: optional hole mask [B,1,h,w] (or [1,1,h,w]; 1 = hole, values > 0.5 count), any device.
    With it the resize is hole-agnostic: out = R(image * known) / R(known) where the known weight
    R(known) > 0 (R = the resize above, known = 1 - hole), so each output pixel is a weighted mean of
    known source pixels only and the result is identical whatever the hole holds. Output pixels with
    no known source pixel under their filter get HOLE_FILL (0.5 grey); when shrinking, those are
    always hole in `downsample_mask(mask, size)`. At the same size, known pixels are copied and hole
    pixels become HOLE_FILL.
    """
    check_bchw(image, "image")
    hw = _hw(size)
    if mask is None:
        if tuple(image.shape[-2:]) == hw:
            return image.clone()
        down = hw[0] < image.shape[-2] or hw[1] < image.shape[-1]
        out = F.interpolate(image, size=hw, mode="bilinear", align_corners=False, antialias=down)
        return out.clamp(0.0, 1.0)
    known = _known_weight(mask, image)
    grey = torch.full((), HOLE_FILL, dtype=image.dtype, device=image.device)
    if tuple(image.shape[-2:]) == hw:
        return torch.where(known > 0.5, image, grey)
    down = hw[0] < image.shape[-2] or hw[1] < image.shape[-1]
    # torch.where, not a product: hole pixels become exact zeros even if they hold inf/NaN.
    both = torch.cat([torch.where(known > 0.5, image, torch.zeros_like(grey)), known], dim=1)
    both = F.interpolate(both, size=hw, mode="bilinear", align_corners=False, antialias=down)
    colour, weight = both[:, :-1], both[:, -1:]
    supported = weight > _MIN_SUPPORT
    out = torch.where(supported, colour / weight.clamp_min(_MIN_SUPPORT), grey)
    return out.clamp(0.0, 1.0)


def downsample_mask(mask: torch.Tensor, size) -> torch.Tensor:
    """Conservative mask resize [B,1,h,w] -> [B,1,H,W] in {0,1} (size = side or (H, W)): any hole
    pixel in a footprint makes a hole.

    Down-sampling uses adaptive max pooling (footprints cover every source pixel); up-sampling uses
    nearest neighbour, which keeps the same region.
    """
    check_bchw(mask, "mask")
    hw = _hw(size)
    m = (mask > 0.5).to(torch.float32)
    if tuple(m.shape[-2:]) == hw:
        return m.clone()
    if hw[0] <= m.shape[-2] and hw[1] <= m.shape[-1]:
        return F.adaptive_max_pool2d(m, hw)
    return F.interpolate(m, size=hw, mode="nearest")
