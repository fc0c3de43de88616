"""Resize helpers shared by the nodes (thin wrappers over nps_core.pyramid)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nps_core.pyramid import resize_image


def resize_to(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Resize a core image `[B,3,h,w]` to `height x width` (antialiased when shrinking); same device."""
    if tuple(image.shape[-2:]) == (height, width):
        return image
    if height == width:
        return resize_image(image, width)
    shrinking = height < image.shape[-2] or width < image.shape[-1]
    out = F.interpolate(image, size=(height, width), mode="bilinear", align_corners=False, antialias=shrinking)
    return out.clamp(0.0, 1.0)
