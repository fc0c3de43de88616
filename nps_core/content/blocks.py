"""Pieces both content networks share: the input check, the norm layer and the residual output."""

from __future__ import annotations

import torch
import torch.nn as nn

from ..errors import NPSInputError
from .config import ContentNetConfig

BASE_CLAMP = (0.01, 0.99)  # a base fill is clamped to this before its logit is taken


def check_network_input(x: torch.Tensor, cfg: ContentNetConfig) -> None:
    """Raise NPSInputError unless x is `[B, in_channels, size, size]`."""
    if x.dim() != 4 or x.shape[1] != cfg.in_channels or x.shape[2] != cfg.size or x.shape[3] != cfg.size:
        raise NPSInputError(
            f"Content network input has shape {tuple(x.shape)}; expected [B, {cfg.in_channels}, {cfg.size}, "
            f"{cfg.size}]. Use predict_content() for images of other sizes."
        )


def norm_layer(kind: str, channels: int) -> nn.Module:
    """BatchNorm2d for norm "batch", identity for "none"."""
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.Identity()


def logit(base: torch.Tensor) -> torch.Tensor:
    """log(p / (1 - p)) of a base fill in 0..1 after clamping it to `BASE_CLAMP` (same shape)."""
    p = base.clamp(*BASE_CLAMP)
    return torch.log(p / (1.0 - p))
