"""Seamless hand-over between pyramid levels: the up-sampled coarser fill meets this level's border.

The coarser level only knows the coarse band, so its up-sampled fill differs from this level's
known pixels right at the hole's edge by their fine detail and by any colour drift (a faint seam,
and for thin holes most of the hole). `match_border` adds to the fill the membrane (harmonic)
interpolation of that difference, as in seamless cloning: the fill keeps its own structure inside
and meets every border pixel exactly, and a hole a few pixels wide becomes the smooth interpolation
of its two sides at this level's resolution instead of the blur of a coarser one.
"""

from __future__ import annotations

import torch

from .content.fills import harmonic_fill


def match_border(fill: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Correct a fill so that it continues the known pixels without a step.

    fill [B,3,H,W] float (this level's start: the up-sampled coarser result, hole and known pixels),
    image [B,3,H,W] float 0..1 (this level's known pixels), mask [B,1,H,W] (1 = hole, > 0.5 counts);
    one device. Returns a new [B,3,H,W] clamped to 0..1: known pixels from image, hole = fill + the
    harmonic interpolation of (image - fill) from the known pixels into the hole.
    """
    hole = mask > 0.5
    residual = torch.where(hole, torch.zeros_like(fill), image - fill)
    correction = harmonic_fill(residual, mask.to(fill.dtype))
    return torch.where(hole, (fill + correction).clamp(0, 1), image)
