"""Small image filters shared by the synthesis step and the losses (plain PyTorch, differentiable)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of [B,C,H,W] (reflect padding, radius 3 sigma); sigma <= 0 -> copy."""
    if sigma <= 0:
        return x.clone()
    radius = max(1, int(3 * sigma + 0.5))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    pad_h, pad_w = min(radius, x.shape[-2] - 1), min(radius, x.shape[-1] - 1)
    y = F.pad(x, (pad_w, pad_w, 0, 0), mode="reflect" if pad_w > 0 else "replicate")
    y = F.conv2d(y, kernel[radius - pad_w : radius + pad_w + 1].view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    y = F.pad(y, (0, 0, pad_h, pad_h), mode="reflect" if pad_h > 0 else "replicate")
    return F.conv2d(y, kernel[radius - pad_h : radius + pad_h + 1].view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
