"""Resize helper shared by the nodes (a thin wrapper over nps_core.pyramid)."""

from __future__ import annotations

import torch

from ..nps_core.pyramid import resize_image


def resize_to(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Resize a core image `[B,3,h,w]` to `height x width` (antialiased when shrinking); same device.

    Returns the input itself when it already has that size (callers never modify it).
    """
    if tuple(image.shape[-2:]) == (height, width):
        return image
    return resize_image(image, (height, width))
