"""Hole-only reconstruction metrics.

All functions take prediction and truth `[B, 3, H, W]` in 0..1 and a mask `[B, 1, H, W]`
(1 = hole) on the same device, and measure only hole pixels.
"""

from __future__ import annotations

import torch


def hole_errors(pred: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-sample hole L1 (mean |error|), L2 (mean squared error) and PSNR in dB (peak 1.0): each `[B]`."""
    hole = (mask > 0.5).to(pred.dtype)
    count = (hole.sum(dim=(1, 2, 3)) * pred.shape[1]).clamp_min(1.0)
    diff = (pred.float() - truth.float()) * hole
    l1 = diff.abs().sum(dim=(1, 2, 3)) / count
    l2 = diff.pow(2).sum(dim=(1, 2, 3)) / count
    psnr = 10.0 * torch.log10(1.0 / l2.clamp_min(1e-10))
    return {"l1": l1, "l2": l2, "psnr": psnr}


def summarise(errors: dict[str, torch.Tensor]) -> dict[str, float]:
    """Means over the batch of the per-sample errors (PSNR is the mean of per-sample PSNRs)."""
    return {k: float(v.float().mean()) for k, v in errors.items()}
