"""Shared fixtures: small synthetic images, seeded random models (no downloads, CPU only)."""

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


def striped_image(size: int = 128, batch: int = 1, seed: int = 0) -> torch.Tensor:
    """Deterministic textured test image [batch,3,size,size] in 0..1 (stripes, gradient, noise)."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32),
                            torch.arange(size, dtype=torch.float32), indexing="ij")
    base = torch.stack([0.5 + 0.35 * torch.sin(xx / 3.0),
                        0.5 + 0.35 * torch.cos((xx + yy) / 5.0),
                        yy / size], dim=0)
    out = base[None].repeat(batch, 1, 1, 1) + 0.05 * torch.rand(batch, 3, size, size, generator=g)
    return out.clamp(0, 1)


def square_mask(size: int = 128, top: int = 32, left: int = 32, side: int = 64, batch: int = 1) -> torch.Tensor:
    m = torch.zeros(batch, 1, size, size)
    m[..., top:top + side, left:left + side] = 1.0
    return m


@pytest.fixture(scope="session")
def random_texture():
    from nps_core.texture import make_texture_settings

    return make_texture_settings("vgg19_random", seed=0)


@pytest.fixture(scope="session")
def content_net():
    from nps_core.content import random_content_net

    return random_content_net(seed=0)
