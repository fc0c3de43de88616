"""Convolutional discriminator for the adversarial term of the content-network loss.

It sees the window with the predicted hole composited in (RGB) plus the hole mask, shrunk by
`downsample` (area average for RGB, max for the mask) to keep it cheap on CPUs, and returns a
map of real/fake logits (PatchGAN style), so it judges the hole and its seam.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class HoleDiscriminator(nn.Module):
    """forward(image `[B,3,S,S]` 0..1, mask `[B,1,S,S]` 1=hole) -> logits `[B,1,S/(d*2**n),S/(d*2**n)]`
    (d = downsample, n = len(channels)). Spectral-normalised 4x4 stride-2 convs, LeakyReLU."""

    def __init__(self, channels: tuple[int, ...] = (32, 64, 128, 256), downsample: int = 2) -> None:
        super().__init__()
        self.downsample = int(downsample)
        layers: list[nn.Module] = []
        prev = 4
        for ch in channels:
            conv = nn.Conv2d(prev, ch, 4, stride=2, padding=1)
            layers += [nn.utils.parametrizations.spectral_norm(conv), nn.LeakyReLU(0.2, inplace=True)]
            prev = ch
        layers.append(nn.Conv2d(prev, 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.downsample > 1:
            image = F.avg_pool2d(image, self.downsample)
            mask = F.max_pool2d(mask, self.downsample)
        return self.net(torch.cat([image * 2.0 - 1.0, mask], dim=1))
