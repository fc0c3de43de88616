"""Building a content network from its config: `build_content_net`, `random_content_net`.

`ContentNetwork` is the type every loader and predictor works with: the paper's `ContentNet`
(encoder "conv") or `LiteEncoderContentNet` (encoder "efficientnet_lite0", the shipped file).
"""

from __future__ import annotations

from typing import Union

import torch
import torch.nn as nn

from .config import ContentNetConfig
from .context_encoder import ContentNet
from .lite_net import LiteEncoderContentNet

ContentNetwork = Union[ContentNet, LiteEncoderContentNet]


def build_content_net(config: ContentNetConfig | None = None) -> ContentNetwork:
    """A freshly initialised content network of `config`'s architecture (CPU, float32, train mode):
    `ContentNet` for encoder "conv", `LiteEncoderContentNet` for "efficientnet_lite0" (whose
    encoder then holds untrained weights until `load_imagenet_encoder` or a state dict fills it)."""
    config = config or ContentNetConfig()
    if config.encoder == "efficientnet_lite0":
        return LiteEncoderContentNet(config)
    return ContentNet(config)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable-or-frozen parameters (buffers excluded)."""
    return sum(p.numel() for p in model.parameters())


def random_content_net(seed: int = 0, config: ContentNetConfig | None = None) -> ContentNetwork:
    """A content network of `config` (default: the paper's `ContentNet`) with weights drawn
    deterministically from `seed` (CPU, float32, eval mode); the global RNG is left untouched.

    For tests and placeholders only: its predictions are meaningless.
    """
    gen_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = build_content_net(config)
    finally:
        torch.random.set_rng_state(gen_state)
    return model.eval()
