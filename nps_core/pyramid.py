"""Image pyramid for the coarse-to-fine optimisation.

The coarsest level matches the content network (128 px); each finer level doubles up to the
window's own side. Images are resized with antialiasing; masks are resized conservatively (a low-
resolution pixel is hole if any pixel of its footprint is), so the hole never shrinks and every
"known" low-resolution pixel is made of known pixels only.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import defaults
from .errors import NPSInputError


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


def _check(x: torch.Tensor, name: str) -> None:
    if x.dim() != 4:
        raise NPSInputError(f"{name} must be [B,C,H,W], got {tuple(x.shape)}.")


def _hw(size) -> tuple:
    """int side or (height, width) -> (height, width)."""
    return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))


def resize_image(image: torch.Tensor, size) -> torch.Tensor:
    """Image [B,C,h,w] -> [B,C,H,W] for size = side or (H, W): bilinear, antialiased when shrinking,
    clamped to 0..1; a new tensor on the same device."""
    _check(image, "image")
    hw = _hw(size)
    if tuple(image.shape[-2:]) == hw:
        return image.clone()
    down = hw[0] < image.shape[-2] or hw[1] < image.shape[-1]
    out = F.interpolate(image, size=hw, mode="bilinear", align_corners=False, antialias=down)
    return out.clamp(0.0, 1.0)


def downsample_image(image: torch.Tensor, size: int) -> torch.Tensor:
    """Antialiased down-sampling of [B,3,h,w] to [B,3,size,size]."""
    return resize_image(image, size)


def upsample_image(image: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear up-sampling of a level's result [B,3,h,w] to initialise the next level [B,3,size,size]."""
    return resize_image(image, size)


def downsample_mask(mask: torch.Tensor, size) -> torch.Tensor:
    """Conservative mask resize [B,1,h,w] -> [B,1,H,W] in {0,1} (size = side or (H, W)): any hole
    pixel in a footprint makes a hole.

    Down-sampling uses adaptive max pooling (footprints cover every source pixel); up-sampling uses
    nearest neighbour, which keeps the same region.
    """
    _check(mask, "mask")
    hw = _hw(size)
    m = (mask > 0.5).to(torch.float32)
    if tuple(m.shape[-2:]) == hw:
        return m.clone()
    if hw[0] <= m.shape[-2] and hw[1] <= m.shape[-1]:
        return F.adaptive_max_pool2d(m, hw)
    return F.interpolate(m, size=hw, mode="nearest")
