"""Classical hole fills (no learning) and the registry of the content networks' base fills.

All take image `[B, 3, H, W]` and mask `[B, 1, H, W]` (> 0.5 = hole) on one device, any float
dtype, and return a new `[B, 3, H, W]` of the same device and dtype whose known pixels are the
image's; images with no known pixel get 0.5 grey.

- `mean_fill`: the hole holds the mean colour of the known pixels (the network's input fill).
- `smooth_fill`: push-pull diffusion of the known pixels (fast, smooth, Telea-like).
- `harmonic_fill`: multigrid membrane (Laplace) interpolation of the hole's border.

`BASE_FILLS` maps `ContentNetConfig.residual_base` names to the fill a residual network
corrects ("directional" is a learnt mix built by `lite_net` on top of "harmonic").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..validation import check_image_mask


def known_mean_colour(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-image mean colour of the known pixels (mask <= 0.5): `[B, 3, 1, 1]`.

    Images with no known pixel get mid grey (0.5).
    """
    known = (mask <= 0.5).to(image.dtype)
    count = known.sum(dim=(2, 3), keepdim=True)
    total = (image * known).sum(dim=(2, 3), keepdim=True)
    mean = total / count.clamp_min(1.0)
    return torch.where(count > 0, mean, torch.full_like(mean, 0.5))


def mean_fill(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Return a copy of `image` [B,3,H,W] whose hole pixels (mask [B,1,H,W] > 0.5) hold the
    per-image mean colour of the known pixels (0.5 grey if nothing is known). Same device/dtype."""
    check_image_mask(image, mask, "mean_fill")
    hole = mask > 0.5
    return torch.where(hole, known_mean_colour(image, mask), image)


def _pull_known(image: torch.Tensor, known: torch.Tensor):
    """Average the known pixels down a 2x pyramid to 1x1.

    image `[B, 3, H, W]`, known `[B, 1, H, W]` in {0, 1}. Returns (levels, coarsest fill): levels is
    a list of (known-weighted colour sum, known coverage) from full resolution down to 1x1; the
    fill is the 1x1 mean known colour (0.5 grey where nothing is known).
    """
    levels = [(image * known, known)]
    colour, weight = levels[0]
    while min(colour.shape[-2:]) > 1:
        colour = F.avg_pool2d(colour, 2, ceil_mode=True)
        weight = F.avg_pool2d(weight, 2, ceil_mode=True)
        levels.append((colour, weight))
    fill = torch.where(weight > 0, colour / weight.clamp_min(1e-6), torch.full_like(colour, 0.5))
    return levels, fill


def smooth_fill(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Fill the hole by push-pull diffusion of the known pixels (a fast, smooth, Telea-like fill).

    Known pixels and their coverage are averaged down a 2x pyramid to 1x1 (pull), then the hole is
    filled from coarse to fine, each level blending its own estimate with the upsampled coarser one
    by the fraction of known pixels it covers (push). Shapes and devices: see the module docstring.
    """
    hole = (mask > 0.5).to(image.dtype)
    known = 1.0 - hole
    levels, fill = _pull_known(image, known)
    for colour, weight in reversed(levels[:-1]):
        coarse = F.interpolate(fill, size=colour.shape[-2:], mode="bilinear", align_corners=False)
        fill = weight * (colour / weight.clamp_min(1e-6)) + (1.0 - weight) * coarse
    return image * known + fill * hole


def _jacobi(fill: torch.Tensor, fixed_values: torch.Tensor, fixed: torch.Tensor, iterations: int) -> torch.Tensor:
    """Jacobi iterations of the discrete Laplace equation on the non-fixed pixels (replicate borders)."""
    for _ in range(iterations):
        p = F.pad(fill, (1, 1, 1, 1), mode="replicate")
        avg = (p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:]) * 0.25
        fill = torch.where(fixed, fixed_values, avg)
    return fill


def harmonic_fill(image: torch.Tensor, mask: torch.Tensor, iterations: tuple[int, int] = (24, 12)) -> torch.Tensor:
    """Fill the hole with an approximately harmonic (membrane) interpolation of its border.

    Coarse to fine over a 2x pyramid of the known pixels: each level starts from the upsampled
    coarser solution, fixes the cells that are mostly known and runs Jacobi iterations of Laplace's
    equation on the rest (`iterations` = (finest level, other levels)). Smooth like Telea's method
    and about as cheap as a few convolutions. Shapes and devices: see the module docstring.
    """
    hole = (mask > 0.5).to(image.dtype)
    known = 1.0 - hole
    levels, fill = _pull_known(image, known)
    finer = list(reversed(levels[:-1]))
    for i, (colour, weight) in enumerate(finer):
        fill = F.interpolate(fill, size=colour.shape[-2:], mode="bilinear", align_corners=False)
        fixed = (weight > 0.5).expand_as(fill)
        estimate = colour / weight.clamp_min(1e-6)
        fill = torch.where(fixed, estimate, fill)
        fill = _jacobi(fill, estimate, fixed, iterations[0] if i == len(finer) - 1 else iterations[1])
    return image * known + fill * hole


BASE_FILLS = {
    "mean": lambda rgb, mask: rgb,  # the network input is already mean-filled
    "smooth": smooth_fill,
    "harmonic": harmonic_fill,
}
