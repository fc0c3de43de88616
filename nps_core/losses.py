"""Content and total-variation terms of the per-scale objective (pixels in 0..1).

Both are normalised (means, not sums) so their weights do not depend on the image size.
"""

import torch

from .filters import gaussian_blur


def content_loss(x: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, sigma: float = 0.0) -> torch.Tensor:
    """Mean squared difference between x and target over hole pixels.

    x, target: [B,3,h,w]; mask: [B,1,h,w] in {0,1}. sigma > 0 compares only the low band: the
    difference is Gaussian-blurred (sigma px) first, so detail finer than the coarser level knew is
    left to the texture term. Returns a 0-dim tensor (0 when the mask is empty).
    """
    diff = x - target
    if sigma > 0:
        diff = gaussian_blur(diff, sigma)
    diff = diff ** 2 * mask
    return diff.sum() / (3.0 * mask.sum()).clamp_min(1.0)


def tv_loss(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of horizontally and vertically adjacent pixels, over pairs touching the hole.

    x: [B,3,h,w]; mask: [B,1,h,w] in {0,1}. Pairs with both pixels known are constant and left out.
    """
    dx = (x[..., :, 1:] - x[..., :, :-1]) ** 2
    dy = (x[..., 1:, :] - x[..., :-1, :]) ** 2
    mx = torch.maximum(mask[..., :, 1:], mask[..., :, :-1])
    my = torch.maximum(mask[..., 1:, :], mask[..., :-1, :])
    total = (dx * mx).sum() + (dy * my).sum()
    return total / (3.0 * (mx.sum() + my.sum())).clamp_min(1.0)
