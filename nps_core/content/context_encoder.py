"""`ContentNet`: the paper's Context-Encoder content network (Yang et al., CVPR 2017).

The network sees a square RGB window whose hole was filled with the mean colour of the known
pixels, with the hole mask as a fourth channel, and predicts the whole window's RGB:
encoder (4x4 stride-2 convs) -> fully connected bottleneck -> mirrored transposed-conv decoder.
`ContentNetConfig(encoder="conv")` builds it; the optional `skips` / `residual` extras are
described there. (The shipped file is the other network, `lite_net.LiteEncoderContentNet`.)

Tensors: input `[B, 4, size, size]` (mean-filled RGB in 0..1 + mask, 1 = hole), output
`[B, 3, size, size]` in 0..1 (sigmoid), on the module's device.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .blocks import check_network_input, logit, norm_layer
from .config import ContentNetConfig
from .fills import BASE_FILLS


class ContentNet(nn.Module):
    """Encoder (4x4 stride-2 convs) -> fully connected bottleneck -> mirrored transposed-conv decoder.

    forward(x `[B, 4, size, size]`, any float dtype, on the module's device)
        -> `[B, 3, size, size]` in `0..1`.
    """

    def __init__(self, config: ContentNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or ContentNetConfig()
        cfg = self.config
        enc: list[nn.Module] = []
        prev = cfg.in_channels
        for i, ch in enumerate(cfg.channels):
            enc.append(nn.Conv2d(prev, ch, 4, stride=2, padding=1, bias=(i == 0 or cfg.norm == "none")))
            if i > 0:
                enc.append(norm_layer(cfg.norm, ch))
            enc.append(nn.ELU(inplace=True))
            prev = ch
        self.encoder = nn.Sequential(*enc)
        flat = cfg.channels[-1] * cfg.bottom_size**2
        self.bottleneck = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, cfg.bottleneck),
            nn.ELU(inplace=True),
            nn.Linear(cfg.bottleneck, flat),
        )
        self.bottleneck_act = nn.Sequential(norm_layer(cfg.norm, cfg.channels[-1]), nn.ELU(inplace=True))
        dec: list[nn.Module] = []
        widths = list(cfg.channels)
        for i in range(len(widths) - 1, 0, -1):
            dec.append(nn.ConvTranspose2d(widths[i], widths[i - 1], 4, stride=2, padding=1, bias=cfg.norm == "none"))
            dec.append(norm_layer(cfg.norm, widths[i - 1]))
            dec.append(nn.ELU(inplace=True))
        dec.append(nn.ConvTranspose2d(widths[0], 3, 4, stride=2, padding=1))
        self.decoder = nn.Sequential(*dec)
        if cfg.residual:
            self.reset_output()

    def reset_output(self) -> None:
        """Zero the last decoder layer (a residual network then returns its base fill)."""
        with torch.no_grad():
            self.decoder[-1].weight.zero_()
            self.decoder[-1].bias.zero_()

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Every parameter (this network has no frozen part)."""
        return list(self.parameters())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        check_network_input(x, cfg)
        skips: list[torch.Tensor] = []
        h = x
        for layer in self.encoder:
            h = layer(h)
            if isinstance(layer, nn.ELU):
                skips.append(h)
        b = self.bottleneck(h).reshape(h.shape)
        h = self.bottleneck_act(b)
        if cfg.skips:
            level = len(skips) - 2  # encoder stage whose resolution the next decoder stage reaches
            for layer in self.decoder:
                h = layer(h)
                if isinstance(layer, nn.ELU):
                    h = h + skips[level]
                    level -= 1
        else:
            h = self.decoder(h)
        if cfg.residual:
            h = h + logit(BASE_FILLS[cfg.residual_base](x[:, :3], x[:, 3:]))
        return torch.sigmoid(h)
